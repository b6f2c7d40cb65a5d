"""Anki's HTML as plain text: what srs shows of a card that Anki renders as HTML.

- `html_to_text` reduces HTML to text the way a browser lays it out (tags dropped, `<br>`
  and blocks as line breaks, whitespace folded except in `<pre>`, `&nbsp;` kept as
  spaces so that indentation survives, elements with `display: none` hidden, images as
  `[image: ...]`). Ruby (furigana) shows its reading in parentheses after the base text,
  or not at all with `ruby=False` (the question side: a reading above the kanji is a
  hint a learner can ignore in Anki, inline it would give the answer away).
- `learner_text` is what srs shows of one side of a card rendered by `anki.render`:
  `html_to_text` with Anki's hint links as "[hint: press h]" (the hints returned apart),
  type-in boxes as the expected answer on the back and nothing on the front, and LaTeX as
  its source.
- `strip_html` is Anki's own (its `text:` filter); `field_text` and `choices_from_html`
  read the fields of our own note types.

Everything here runs in time linear in its input: no regular expression that can
backtrack over a whole field, since fields come from untrusted packages.
"""

from __future__ import annotations

import html
import re

# -- HTML to text ---------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math", "object"})
_RAW_TEXT = frozenset({"script", "style"})  # their content is not HTML: it ends at the closing tag only
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                        "source", "track", "wbr"})
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _RAW_TEXT}
HINT_PROMPT = "[hint: press h]"


def _attributes(text: str, names: tuple[str, ...]) -> dict[str, str]:
    """These attributes of a tag, decoded, those it has (the first of a name wins); read
    no further than the last of them (a hint link's long `onclick` comes after its class)."""
    out = {}
    for match in _ATTRIBUTE.finditer(text):
        name = match.group(1).lower()
        if name in names and name not in out:
            value = match.group(2) if match.group(2) is not None else match.group(3)
            if value is None:
                value = match.group(4) or ""
            out[name] = html.unescape(value)
            if len(out) == len(names):
                break
    return out


# Marks written while reading tags, resolved once at the end (so that the text between tags
# is folded and decoded in one pass): a line break (<br>, or a newline inside <pre>), a block
# boundary, a tab inside <pre>. Input characters equal to them are dropped first.
_BREAK, _BLOCK, _TAB = "\x1e", "\x1d", "\x1f"
_MARKS = str.maketrans("", "", _BREAK + _BLOCK + _TAB)
_BLOCK_RUN = re.compile("\x1d[\x1d ]*")
_BLOCK_AFTER_BREAK = re.compile("(\\A *|[\n\x1e] *)\x1d")




def _fold(text: str) -> str:
    """HTML whitespace as spaces (str.replace: much faster than str.translate on non-ASCII text)."""
    text = text.replace("\n", " ")
    for space in ("\t", "\r", "\f"):
        if space in text:
            text = text.replace(space, " ")
    return text

_SPACE_RUN = re.compile("  +")
_BLOCK_RUNS = re.compile("\x1d\x1d+")
_BLOCK_AND_SPACES = re.compile("\x1d[\x1d ]*")  # (spaces are single here: runs are folded first)
_NEWLINES = re.compile("\n\n\n+")


def _finish(text: str, collapse: bool) -> str:
    """The collected text folded, decoded and cut into lines: string operations only, all in C."""
    if not collapse:
        if "&" in text:
            text = html.unescape(text)
        if _BLOCK in text:
            text = _BLOCK_AFTER_BREAK.sub(r"\1", _BLOCK_RUN.sub(_BLOCK, text)).replace(_BLOCK, "\n")
        return text.replace(_BREAK, "\n").replace(_TAB, "\t").replace("\xa0", " ").strip("\n")
    if text.isprintable() and "&" not in text and "  " not in text:
        return text.strip(" ")  # nothing to fold, decode or cut into lines (a hint's text, often)
    if "&" in text:  # decoded before folding: whitespace is folded once (an entity spans no
        text = html.unescape(text)  # whitespace but \r, and one cut by a \r decodes the same)
    text = _SPACE_RUN.sub(" ", _fold(text))
    if _BLOCK in text:
        # A block boundary is one line break, however many blocks open or close there, with the
        # spaces around it; right after a <br> it adds none. (A boundary that starts the text is
        # a line break the final strip removes.)
        text = _BLOCK_AND_SPACES.sub(_BLOCK, text.replace(" " + _BLOCK, _BLOCK))
        if _BREAK in text:
            text = text.replace(_BREAK + _BLOCK, _BREAK)
        text = text.replace(_BLOCK, "\n")
    if _BREAK in text:
        text = text.replace(_BREAK, "\n")
    if _TAB in text:
        text = text.replace(_TAB, "\t")
    if "\n" in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    text = _NEWLINES.sub("\n\n", text).strip(" \n")
    return text.replace("\xa0", " ").rstrip()


_END_OF_NAME = r"(?:[\t\n\f\r /][^>]*)?>"


def _may_hide(fragment: str) -> bool:
    """Whether an element may be hidden by its style or be one of Anki's hints (which it writes
    in lower case). `in` runs in C; a case-insensitive regex would try every character."""
    return "display" in fragment or "hint" in fragment or "DISPLAY" in fragment or "Display" in fragment


# Lower-case tags only (case-insensitive patterns are much slower to scan); the loop reads the rest.
_BLOCK_TAG = re.compile(r"</?(?:%s)%s" % ("|".join(sorted(_BLOCK_TAGS - {"pre"}, key=lambda n: -len(n))), _END_OF_NAME))
_BREAK_TAG = re.compile(r"<br" + _END_OF_NAME)
_CELL_TAG = re.compile(r"<t[dh]" + _END_OF_NAME)
_KEPT = ("pre", "img", "rt", "rp", "ruby", *sorted(_SKIP_TAGS))
_INLINE_TAG = re.compile(r"</?(?!(?:%s)(?![^\t\n\f\r />]))[a-z][^\t\n\f\r />A-Z]*%s" % ("|".join(_KEPT), _END_OF_NAME))
_TAG = re.compile(r"<(?:(/?)([A-Za-z][^\t\n\f\r />]*)([^>]*)>|(!--)|[!?/][^>]*>)")
# A lower-case tag name with a '<' in it (`<a<a<a...B>`): rewriting those in C would read the
# name again from each '<' (30 s on 40 kB), so the loop reads such a fragment, in linear time.
_LT_IN_NAME = re.compile(r"</?[a-z][^\t\n\f\r />A-Z<]*<")


def _reduce(fragment: str, collapse: bool, ruby: bool, hints: list[str] | None, reveal_hints: bool = False) -> str:
    """The tokenizer behind html_to_text: one pass, each character looked at a bounded number of times.

    Text between tags is collected as it is and folded, decoded and split into lines once
    at the end (`_finish`); tags leave marks for line breaks and block boundaries.
    """
    if _BREAK in fragment or _BLOCK in fragment or _TAB in fragment:
        fragment = fragment.translate(_MARKS)
    last_gt = fragment.rfind(">")  # a tag needs a '>': past the last one, everything is text
    if last_gt > 0 and not _may_hide(fragment) and _LT_IN_NAME.search(fragment, 0, last_gt) is None:
        # Nothing hidden by style and no hint: line breaks, blocks, cells and inline tags are
        # rewritten in C first, and the loop below only sees the few tags left (pre, img, ruby...).
        # Each pass reads up to the last '>' left (a pass may take the last ones), so that every
        # tag it tries ends on one; with no '<' inside a tag's name, no two tries read the same name.
        head = fragment[:last_gt + 1]
        for pattern, mark in ((_BLOCK_TAG, _BLOCK), (_BREAK_TAG, _BREAK), (_CELL_TAG, " "), (_INLINE_TAG, "")):
            end = head.rfind(">") + 1
            head = pattern.sub(mark, head[:end]) + head[end:] if end < len(head) else pattern.sub(mark, head)
        fragment = head + fragment[last_gt + 1:]
        # The tags left need a '>' as before. (Past the last one, the pattern of a tag, which reads
        # `<` in a name, would try every split of the rest: cubic time on `td<hr>rp<` repeated.)
        last_gt = head.rfind(">")
    out: list[str] = []
    parts = out
    hidden: list[list] = []  # [tag, depth, hint parts or None] of elements whose text is not shown
    pre = 0
    pos = 0
    no_close: set[str] = set()  # raw-text closings known to be absent from the rest of the fragment
    search = _TAG.search
    while pos <= last_gt:
        match = search(fragment, pos, last_gt + 1)
        if match is None:
            break
        start = match.start()
        if start > pos and not (hidden and hidden[-1][2] is None):
            chunk = fragment[pos:start]
            if pre and collapse:
                chunk = html.unescape(chunk).replace("&", "&amp;").replace("<", "&lt;")
                chunk = chunk.replace("\r\n", "\n").replace(" ", "\xa0").replace("\n", _BREAK).replace("\t", _TAB)
            parts.append(chunk)
        pos = match.end()
        if match.group(4):  # a comment
            end = -1 if "-->" in no_close else fragment.find("-->", pos)
            if end >= 0:
                pos = end + 3
            else:
                no_close.add("-->")
                gt = fragment.find(">", pos)  # an unclosed comment: as Anki's strip_html, a tag up to '>'
                pos = gt + 1 if gt >= 0 else len(fragment)
            continue
        name = match.group(2)
        if name is None:
            continue  # <!doctype>, <?xml>, </ >: nothing to show
        name = name.lower()
        closing = match.group(1)
        if hidden:
            top = hidden[-1]
            if name == top[0]:
                if closing:
                    top[1] -= 1
                    if top[1] == 0:
                        hidden.pop()
                        if top[2] is not None:
                            hints.append(_finish("".join(top[2]), collapse))
                            parts = hidden[-1][2] if hidden and hidden[-1][2] is not None else out
                        continue
                elif name not in _VOID_TAGS:
                    top[1] += 1
            elif closing and name == "ruby" and top[0] in ("rt", "rp"):
                hidden.pop()  # <rt> left open up to </ruby>
            if top[2] is None:
                continue
        if closing:
            if name in _BLOCK_TAGS:
                parts.append(_BLOCK)
                if name == "pre":
                    pre = max(0, pre - 1)
            elif name == "rt" and ruby:
                parts.append(")")
            continue
        if name == "br":
            parts.append(_BREAK)
            continue
        if name in _BLOCK_TAGS:
            parts.append(_BLOCK)
            if name == "pre":
                pre += 1
            elif name != "hr":
                attributes = match.group(3)
                if "display" in attributes or ("hint" in attributes and (hints is not None or reveal_hints)):
                    hidden_parts = _hide(attributes, hints, reveal_hints)
                    if hidden_parts is not False:
                        hidden.append([name, 1, hidden_parts])
                        if hidden_parts is not None:
                            parts = hidden_parts
            continue
        attributes = match.group(3)
        if name in _SKIP_TAGS:
            if name in _RAW_TEXT:
                if name in no_close:
                    pos = len(fragment)
                    break
                close = _CLOSING[name].search(fragment, pos)
                if close is None:
                    no_close.add(name)
                    pos = len(fragment)
                    break
                pos = close.end()
            elif not attributes.rstrip().endswith("/"):
                hidden.append([name, 1, None])
            continue
        if name == "img":
            attrs = _attributes(attributes, ("alt", "title", "src"))
            label = attrs.get("alt") or attrs.get("title") or attrs.get("src") or ""
            parts.append(f"[image: {html.escape(label, quote=False)}]" if label else "[image]")
        elif name in ("td", "th"):
            parts.append(" ")
        elif name in ("rt", "rp"):
            if not ruby or name == "rp":
                hidden.append([name, 1, None])
            else:
                parts.append("(")
        elif name == "a" and "hint" in attributes and (hints is not None or reveal_hints) and \
                "hint" in _attributes(attributes, ("class",)).get("class", "").split():
            if not reveal_hints:
                parts.append(HINT_PROMPT)
            hidden.append([name, 1, None])
        elif "display" in attributes and name not in _VOID_TAGS:
            hidden_parts = _hide(attributes, hints, reveal_hints)
            if hidden_parts is not False:
                hidden.append([name, 1, hidden_parts])
                if hidden_parts is not None:
                    parts = hidden_parts
    if pos < len(fragment) and not (hidden and hidden[-1][2] is None):
        parts.append(fragment[pos:])
    for _name, _depth, capture in hidden:  # hints left open up to the end
        if capture is not None:
            hints.append(_finish("".join(capture), collapse))
    return _finish("".join(out), collapse)


def _hide(attributes: str, hints: list[str] | None, reveal_hints: bool):
    """For an element with these attributes: False when shown, None when hidden, or a list
    to collect its text into when it is one of Anki's hints (hidden until asked for)."""
    attrs = _attributes(attributes, ("class", "style"))
    is_hint = "hint" in attrs.get("class", "").split()
    if reveal_hints and is_hint:
        return False
    if "display:none" not in attrs.get("style", "").replace(" ", "").lower():
        return False
    return [] if hints is not None and is_hint else None


def html_to_text(fragment: str, *, collapse: bool = True, ruby: bool = True) -> str:
    """Readable text from an HTML fragment: tags dropped, <br> and blocks as line breaks.

    `collapse` folds HTML whitespace (runs of spaces and newlines) as a browser would,
    except inside <pre>; non-breaking spaces are kept as spaces (code indentation).
    Without it, the text between tags is kept as is (for fields we wrote ourselves).
    `ruby=False` drops ruby readings (<rt>) instead of showing them in parentheses.
    Linear in the length of `fragment`.
    """
    if not fragment:
        return ""
    return _reduce(fragment, collapse, ruby, None)


_TYPE_BOX = re.compile(r"\[\[type:(?:cloze:|nc:)?([^\]]{1,300})\]\]")  # bounded: linear on `[[type:` repeated


_LATEX_OPEN = re.compile(r"\[(latex|\$\$|\$)\]", re.IGNORECASE)
_LATEX_CLOSE = {"latex": re.compile(r"\[/latex\]", re.IGNORECASE), "$": re.compile(r"\[/\$\]"),
                "$$": re.compile(r"\[/\$\$\]")}
_LATEX_NEWLINES = re.compile(r"<br(?: /)?>|<div>", re.IGNORECASE)


def latex_as_text(card_html: str) -> str:
    """LaTeX (`[latex]..[/latex]`, `[$]..[/$]`, `[$$]..[/$$]`) as its source, where Anki shows
    an image made from it: the text Anki puts in that image's alt (`$..$` for inline math;
    `$$..$$` for a math environment, where Anki writes `\\begin{displaymath}`)."""
    if "[" not in card_html:
        return card_html
    out = []
    pos = 0
    absent: set[str] = set()
    while True:
        opening = _LATEX_OPEN.search(card_html, pos)
        if opening is None:
            break
        kind = opening.group(1).lower()
        closing = None if kind in absent else _LATEX_CLOSE[kind].search(card_html, opening.end() + 1)
        if closing is None:
            absent.add(kind)
            out.append(card_html[pos:opening.end()])
            pos = opening.end()
            continue
        source = card_html[opening.end():closing.start()]
        source = strip_html(_LATEX_NEWLINES.sub("\n", source))
        wrapped = source if kind == "latex" else f"${source}$" if kind == "$" else f"$${source}$$"
        out.append(card_html[pos:opening.start()])
        out.append(html.escape(wrapped, quote=False).replace("\n", "<br>"))
        pos = closing.end()
    out.append(card_html[pos:])
    return "".join(out)


def learner_text(card_html: str, *, question: bool, typed: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What srs shows of one side of a rendered Anki card, and the hints kept apart.

    Differences from `html_to_text` (what a browser shows), each on purpose:
    - a hint (`{{hint:Field}}`: a link that reveals hidden text) reads "[hint: press h]"
      on the question, its text returned in the list for review to reveal on a key; on
      the back (the answer is out anyway) its text is shown in place of the link;
    - a type-in box (`[[type:Field]]`) is dropped from the question (srs asks for the
      answer anyway) and replaced on the back by the expected answer, as Anki's reviewer
      shows it (`typed` maps the field name to that answer);
    - ruby readings are hidden on the question, shown in parentheses on the back;
    - LaTeX reads as its source (`latex_as_text`), where Anki shows an image of it.
    """
    hints: list[str] = []
    card_html = latex_as_text(card_html)
    if "[[type:" in card_html:
        if question:
            card_html = _TYPE_BOX.sub("", card_html)
        else:
            card_html = _TYPE_BOX.sub(lambda m: html.escape((typed or {}).get(m.group(1), "")), card_html)
    text = _reduce(card_html, True, not question, hints if question else None, not question) if card_html else ""
    return text, [hint for hint in hints if hint]


def field_text(fragment: str) -> str:
    """Text of a field we wrote: escaped text with <br> for newlines (tags from edits dropped)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    return html_to_text(fragment, collapse=False)


_LI_OPEN = re.compile(r"<li\b[^>]{0,1000}>", re.IGNORECASE)
_LI_CLOSE = re.compile(r"</li\s{0,100}>", re.IGNORECASE)


def choices_from_html(fragment: str, as_html: bool = False) -> list[str]:
    """The options of our Choices field: the text (or the HTML) of each <li> (up to its </li>)."""
    items = []
    pos = 0
    while (opening := _LI_OPEN.search(fragment, pos)) is not None:
        closing = _LI_CLOSE.search(fragment, opening.end())
        if closing is None:
            break
        items.append(fragment[opening.end():closing.start()])
        pos = closing.end()
    return items if as_html else [field_text(item) for item in items]


ANSWER_RULE = re.compile(r"<hr[^>]*\bid\s*=\s*[\"']?answer[\"']?[^>]*>", re.IGNORECASE)
_RULE = re.compile(r"<hr\b[^>]{0,200}>", re.IGNORECASE)


def after_answer_rule(back_html: str) -> str:
    """The part of a card's back after its `<hr id=answer>` (the whole back when it has none)."""
    if "answer" not in back_html:
        return back_html
    start = 0
    for match in _RULE.finditer(back_html):
        if ANSWER_RULE.fullmatch(match.group()):
            start = match.end()
    return back_html[start:]


# -- Anki's strip_html (the `text:` filter) -------------------------------------------


def strip_html(text: str, *, decode: bool = True) -> str:
    """Anki's `strip_html`: comments, <style>, <script> and tags removed, entities decoded.

    Its regex is `<!--.*?-->|<style.*?>.*?</style>|<script.*?>.*?</script>|<.*?>`;
    this is the same, leftmost first, without backtracking (linear time).
    """
    if "<" not in text:
        return _decode_entities(text) if decode else text
    out = []
    pos = 0
    absent: set[str] = set()
    while True:
        start = text.find("<", pos)
        if start < 0:
            break
        gt = text.find(">", start)
        if gt < 0:
            break
        end = gt + 1
        if text.startswith("<!--", start) and "-->" not in absent:
            close = text.find("-->", start + 4)
            if close >= 0:
                end = close + 3
            else:
                absent.add("-->")
        else:
            head = text[start + 1:start + 7].lower()
            for name in _RAW_TEXT:
                if head.startswith(name) and name not in absent and gt >= start + 1 + len(name):
                    close = _CLOSING_EXACT[name].search(text, gt + 1)
                    if close is None:
                        absent.add(name)
                    else:
                        end = close.end()
                    break
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    joined = "".join(out)
    return _decode_entities(joined) if decode else joined


_CLOSING_EXACT = {name: re.compile(rf"</{name}>", re.IGNORECASE) for name in _RAW_TEXT}


def _decode_entities(text: str) -> str:
    if "&" not in text:
        return text
    return html.unescape(text).replace("\xa0", " ")


