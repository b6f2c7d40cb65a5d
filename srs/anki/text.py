"""Anki's HTML as plain text: fields, card templates and cloze deletions.

Our cards are plain text, so a card read from an Anki package is rendered the way Anki
renders it and then reduced to readable text. Two halves:

- `render_card` is a port of Anki's template renderer (rslib `template.rs`,
  `template_filters.rs`, `cloze.rs`): field replacements, `{{FrontSide}}`, conditionals,
  the built-in filters (`text`, `furigana`, `kana`, `kanji`, `hint`, `type`, `cloze`,
  `cloze-only`, `tts`; unknown filters stop the chain as in Anki without add-ons) and
  the special fields (`Tags`, `Deck`, `Subdeck`, `Card`, `Type`, ...). Its output is the
  HTML that the official `anki` library's `card.question()` / `card.answer()` return
  (without the `<style>` and with `[sound:...]` where Anki puts `[anki:play:...]`).
  Templates are parsed once per note type (`parse_template`) and each note's fields
  prepared once (`NoteFields`), whatever its number of cards.
- `html_to_text` reduces HTML to text the way a browser lays it out (tags dropped, `<br>`
  and blocks as line breaks, whitespace folded except in `<pre>`, `&nbsp;` kept as
  spaces so that indentation survives, elements with `display: none` hidden, images as
  `[image: ...]`). Ruby (furigana) shows its reading in parentheses after the base text,
  or not at all with `ruby=False` (the question side: a reading above the kanji is a
  hint a learner can ignore in Anki, inline it would give the answer away).
  `learner_text` is what srs shows: `html_to_text` with Anki's hint links as
  "[hint: press h]" (the hints returned apart) and type-in boxes as the expected answer
  on the back and nothing on the front.

Everything here runs in time linear in its input: no regular expression that can
backtrack over a whole field, since fields come from untrusted packages.
"""

from __future__ import annotations

import functools
import hashlib
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
_TAG_START = re.compile(r"<(?:(/?)([A-Za-z][^\t\n\f\r />]*)|(!--)|[!?/])")
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r" {2,}")  # folded across tags too (spaces inside <pre> are kept as U+00A0 until the end)
_CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _RAW_TEXT}
HINT_PROMPT = "[hint: press h]"


def _attributes(text: str) -> dict[str, str]:
    out = {}
    for match in _ATTRIBUTE.finditer(text):
        name = match.group(1).lower()
        if name not in out:
            value = match.group(2) if match.group(2) is not None else match.group(3)
            if value is None:
                value = match.group(4) or ""
            out[name] = html.unescape(value)
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
_NEWLINES = re.compile("\n\n\n+")


def _finish(text: str, collapse: bool) -> str:
    """The collected text folded, decoded and cut into lines: string operations only, all in C."""
    if not collapse:
        if "&" in text:
            text = html.unescape(text)
        if _BLOCK in text:
            text = _BLOCK_AFTER_BREAK.sub(r"\1", _BLOCK_RUN.sub(_BLOCK, text)).replace(_BLOCK, "\n")
        return text.replace(_BREAK, "\n").replace(_TAB, "\t").replace("\xa0", " ").strip("\n")
    text = _SPACE_RUN.sub(" ", _fold(text))
    if "&" in text:
        text = _SPACE_RUN.sub(" ", _fold(html.unescape(text)))
    if _BLOCK in text:  # a block boundary is one line break, however many blocks open or close there
        text = _BLOCK_RUNS.sub(_BLOCK, text.replace(" " + _BLOCK, _BLOCK).replace(_BLOCK + " ", _BLOCK))
        text = text.replace(_BREAK + _BLOCK, _BREAK)
        if text.startswith(_BLOCK):
            text = text[1:]
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


def _reduce(fragment: str, collapse: bool, ruby: bool, hints: list[str] | None, reveal_hints: bool = False) -> str:
    """The tokenizer behind html_to_text: one pass, each character looked at a bounded number of times.

    Text between tags is collected as it is and folded, decoded and split into lines once
    at the end (`_finish`); tags leave marks for line breaks and block boundaries.
    """
    if _BREAK in fragment or _BLOCK in fragment or _TAB in fragment:
        fragment = fragment.translate(_MARKS)
    last_gt = fragment.rfind(">")  # a tag needs a '>': past the last one, everything is text
    if last_gt > 0 and not _may_hide(fragment):
        # Nothing hidden by style and no hint: line breaks, blocks, cells and inline tags are
        # rewritten in C first, and the loop below only sees the few tags left (pre, img, ruby...).
        head = fragment[:last_gt + 1]
        head = _INLINE_TAG.sub("", _CELL_TAG.sub(" ", _BREAK_TAG.sub(_BREAK, _BLOCK_TAG.sub(_BLOCK, head))))
        fragment = head + fragment[last_gt + 1:]
        last_gt = len(head) - 1
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
            attrs = _attributes(attributes)
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
                "hint" in _attributes(attributes).get("class", "").split():
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
    attrs = _attributes(attributes)
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


def after_answer_rule(back_html: str) -> str:
    """The part of a card's back after its `<hr id=answer>` (the whole back when it has none)."""
    if "answer" not in back_html:
        return back_html
    start = 0
    for match in re.finditer(r"<hr\b[^>]{0,200}>", back_html, flags=re.IGNORECASE):
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


# -- furigana (Anki's regex ` ?([^ >]+?)\[(.+?)\]`, matched without backtracking) ------


def _furigana(text: str, replace) -> str:
    """Each `base[reading]` of `text` replaced by replace(whole, base, reading).

    Same matches as Anki's regex: a base is a run of characters other than space and
    `>` (from the start of its run, a space before it included), a reading the shortest
    text up to a `]` on the same line.
    """
    text = text.replace("&nbsp;", " ")
    if "[" not in text:
        return text
    out = []
    done = 0  # end of the last match
    boundary = -1  # last space or '>' seen before `scanned`
    scanned = 0
    bracket = text.find("[")
    while bracket >= 0:
        if bracket > scanned:
            last = max(text.rfind(" ", scanned, bracket), text.rfind(">", scanned, bracket))
            if last >= 0:
                boundary = last
            scanned = bracket
        start = max(boundary + 1, done)
        if bracket - start >= 1:
            close = text.find("]", bracket + 2)
            if close < 0:
                break
            if text.find("\n", bracket + 1, close) < 0:
                whole_start = start - 1 if start - 1 >= done and start >= 1 and text[start - 1] == " " else start
                out.append(text[done:whole_start])
                out.append(replace(text[whole_start:close + 1], text[start:bracket], text[bracket + 1:close]))
                done = close + 1
                boundary = max(boundary, text.rfind(" ", bracket, close + 1), text.rfind(">", bracket, close + 1))
                scanned = close + 1
                bracket = text.find("[", done)
                continue
        bracket = text.find("[", bracket + 1)
    out.append(text[done:])
    return "".join(out)


def _ruby(replacement):
    def replace(whole, base, reading):
        return whole if reading.startswith("sound:") else replacement(base, reading)
    return replace


def furigana_filter(text: str) -> str:
    return _furigana(text, _ruby(lambda base, reading: f"<ruby><rb>{base}</rb><rt>{reading}</rt></ruby>"))


def kanji_filter(text: str) -> str:
    return _furigana(text, _ruby(lambda base, reading: base))


def kana_filter(text: str) -> str:
    return _furigana(text, _ruby(lambda base, reading: reading))


def hint_filter(text: str, field_name: str) -> str:
    if not text.strip():
        return text
    digest = hashlib.blake2b(text.encode() + field_name.encode(), digest_size=8).hexdigest()
    return (f'\n<a class=hint href="#"\nonclick="this.style.display=\'none\';\n'
            f"document.getElementById('hint{digest}').style.display='block';\nreturn false;\" draggable=false>\n"
            f'{field_name}</a>\n<div id="hint{digest}" class=hint style="display: none">{text}</div>\n')


# -- clozes (Anki's cloze.rs) ----------------------------------------------------------

_CLOZE_TOKEN = re.compile(r"\{\{c([\d,]*)::|\}\}")


class _Cloze:
    __slots__ = ("ordinals", "nodes", "hint")

    def __init__(self, ordinals: list[int]):
        self.ordinals = ordinals
        self.nodes: list = []
        self.hint: str | None = None

    def clozed_text(self) -> str:
        return "".join(node if isinstance(node, str) else node.clozed_text() for node in self.nodes)

    def image_occlusion(self) -> bool:
        return bool(self.nodes) and isinstance(self.nodes[0], str) and self.nodes[0].startswith("image-occlusion:")


def _ordinals(text: str) -> list[int]:
    out = set()
    for piece in text.split(","):
        if piece.isdigit() and piece.isascii() and int(piece) < 65536:
            out.add(int(piece))
    return sorted(out)


@functools.lru_cache(maxsize=1024)
def parse_clozes(text: str) -> tuple:
    """Text and `_Cloze` nodes, as Anki's parse_text_with_clozes (unclosed deletions dropped).

    Remembered: a note's cloze field is parsed once for all its cards, both sides (the nodes
    are never changed once made)."""
    output: list = []
    open_clozes: list[_Cloze] = []
    pos = 0

    def add_text(chunk: str):
        if not chunk:
            return
        if open_clozes:
            cloze = open_clozes[-1]
            if not chunk.startswith("image-occlusion:") and "::" in chunk:
                chunk, cloze.hint = chunk.split("::", 1)
            cloze.nodes.append(chunk)
        else:
            output.append(chunk)

    for match in _CLOZE_TOKEN.finditer(text):
        if match.group(0) == "}}":
            add_text(text[pos:match.start()])
            pos = match.end()
            if open_clozes:
                cloze = open_clozes.pop()
                (open_clozes[-1].nodes if open_clozes else output).append(cloze)
            else:
                output.append("}}")
            continue
        ordinals = _ordinals(match.group(1))
        if not ordinals:
            continue  # not an opening: stays part of the text
        add_text(text[pos:match.start()])
        pos = match.end()
        if len(open_clozes) < 10:
            open_clozes.append(_Cloze(ordinals))
    add_text(text[pos:])
    return tuple(output)


def cloze_numbers(text: str) -> set[int]:
    out: set[int] = set()

    def walk(nodes):
        for node in nodes:
            if isinstance(node, _Cloze):
                out.update(o for o in node.ordinals if o)
                walk(node.nodes)

    if "{{c" in text:
        walk(parse_clozes(text))
    return out


def _ordinals_text(ordinals: list[int]) -> str:
    return ",".join(map(str, ordinals))


_ATTRIBUTE_ESCAPED = re.compile(r"[^A-Za-z0-9\u0100-\U0010ffff]")


def _attribute(text: str) -> str:
    """As htmlescape's encode_attribute (Anki's): every other character below U+0100 as &#xHH;,
    so that nothing in the attribute (a `\\(` of MathJax...) is read as the text around it."""
    return _ATTRIBUTE_ESCAPED.sub(lambda m: _NAMED.get(m.group()) or f"&#x{ord(m.group()):X};", text)


_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def _reveal(cloze: _Cloze, ordinal: int, question: bool, found: list[bool], buf: list[str]) -> None:
    active = ordinal in cloze.ordinals
    if active:
        found[0] = True
    if cloze.image_occlusion():
        kind = "cloze" if (question and active) or 0 in cloze.ordinals else (
            "cloze-inactive" if not active else "cloze-highlight")
        buf.append(f'<div class="{kind}" data-ordinal="{_ordinals_text(cloze.ordinals)}"></div>')
        return
    if question and active:
        inner: list[str] = []
        for node in cloze.nodes:
            if isinstance(node, str):
                inner.append(node)
            else:
                _reveal(node, ordinal, question, found, inner)
        buf.append(f'<span class="cloze" data-cloze="{_attribute("".join(inner))}" '
                   f'data-ordinal="{_ordinals_text(cloze.ordinals)}">[{cloze.hint if cloze.hint is not None else "..."}]'
                   "</span>")
        return
    css = "cloze" if active else "cloze-inactive"
    buf.append(f'<span class="{css}" data-ordinal="{_ordinals_text(cloze.ordinals)}">')
    for node in cloze.nodes:
        if isinstance(node, str):
            buf.append(node)
        else:
            _reveal(node, ordinal, question, found, buf)
    buf.append("</span>")


def reveal_cloze(text: str, ordinal: int, question: bool) -> str:
    """Anki's reveal_cloze_text: deletion `ordinal` hidden (question) or highlighted; "" when absent."""
    buf: list[str] = []
    found = [False]
    for node in parse_clozes(text):
        if isinstance(node, str):
            buf.append(node)
        else:
            _reveal(node, ordinal, question, found, buf)
    return "".join(buf) if found[0] else ""


def _active_texts(nodes, ordinal: int, question: bool, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Cloze):
            if ordinal in node.ordinals:
                out.append((node.hint if node.hint is not None else "...") if question else node.clozed_text())
            _active_texts(node.nodes, ordinal, question, out)


def reveal_cloze_only(text: str, ordinal: int, question: bool) -> str:
    out: list[str] = []
    _active_texts(parse_clozes(text), ordinal, question, out)
    return ", ".join(out)


def cloze_for_typing(text: str, ordinal: int) -> str:
    """Anki's extract_cloze_for_typing: the text of deletion `ordinal` (one if all the same)."""
    out: list[str] = []
    _active_texts(parse_clozes(text), ordinal, False, out)
    if not out:
        return ""
    return out[0] if min(out) == max(out) else ", ".join(out)


def cloze_text(text: str, active: int | None) -> str:
    """A cloze field as HTML, deletion `active` hidden; all shown when None."""
    if active is None:
        return "".join(node if isinstance(node, str) else node.clozed_text() for node in parse_clozes(text))
    return reveal_cloze(text, active, True)


_MATHJAX_OPEN = re.compile(r"\\[(\[]")
_MATHJAX_CLOSE = re.compile(r"\\[)\]]")


def _strip_html_inside_mathjax(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    pos = 0
    while True:
        opening = _MATHJAX_OPEN.search(text, pos)
        if opening is None:
            break
        closing = _MATHJAX_CLOSE.search(text, opening.end())
        if closing is None:
            break
        out.append(text[pos:opening.end()])
        out.append(strip_html(text[opening.end():closing.start()], decode=False))
        out.append(closing.group())
        pos = closing.end()
    out.append(text[pos:])
    return "".join(out)


# -- templates (Anki's template.rs) ----------------------------------------------------


class TemplateError(ValueError):
    """A template Anki cannot render either (it shows an error in place of the card)."""


_ALT_SYNTAX = "{{=<% %>=}}"


def _template_tokens(template: str):
    opening, closing = "{{", "}}"
    if template.lstrip().startswith(_ALT_SYNTAX):
        template = template.lstrip()[len(_ALT_SYNTAX):]
        opening, closing = "<%", "%>"
    pos = 0
    length = len(template)
    no_handle = no_comment = False
    while pos < length:
        handle = -1 if no_handle else template.find(opening, pos)
        handle_end = template.find(closing, handle + 2) if handle >= 0 else -1
        if handle_end < 0:
            no_handle, handle = True, -1
        comment = -1 if no_comment else template.find("<!--", pos)
        comment_end = template.find("-->", comment + 4) if comment >= 0 else -1
        if comment_end < 0:
            no_comment, comment = True, -1
        candidates = [p for p in (handle, comment) if p >= 0]
        if not candidates:
            yield "text", template[pos:]
            return
        first = min(candidates)
        if first > pos:
            yield "text", template[pos:first]
        if first == handle:
            yield _classify(template[handle + 2:handle_end])
            pos = handle_end + 2
        else:
            yield "text", template[comment:comment_end + 3]
            pos = comment_end + 3


def _classify(handle: str):
    start = handle.lstrip("{").strip()
    if len(start.encode()) < 2:
        return "field", start
    if start[0] == "#":
        return "if", start[1:].lstrip()
    if start[0] == "/":
        return "end", start[1:].lstrip()
    if start[0] == "^":
        return "unless", start[1:].lstrip()
    return "field", start


def parse_template(template: str) -> list:
    """Nodes of a template: ("text", s), ("field", key, filters in the order applied),
    ("if"/"unless", key, children). Raises TemplateError as Anki does."""
    tokens = _template_tokens(template)

    def parse(open_tag: str | None) -> list:
        nodes: list = []
        for kind, value in tokens:
            if kind == "text":
                if nodes and nodes[-1][0] == "text":
                    nodes[-1] = ("text", nodes[-1][1] + value)
                else:
                    nodes.append(("text", value))
            elif kind == "field":
                parts = value.split(":")
                nodes.append(("field", parts[-1], _filter_chain(parts[-2::-1])))
            elif kind in ("if", "unless"):
                nodes.append((kind, value, parse(value)))
            elif open_tag is not None and value == open_tag:
                return nodes
            else:
                raise TemplateError(f"{{{{/{value}}}}} closes no open conditional")
        if open_tag is not None:
            raise TemplateError(f"{{{{#{open_tag}}}}} is never closed")
        return nodes

    try:
        return parse(None)
    except RecursionError:
        raise TemplateError("conditionals nested too deep") from None


def template_renders(nodes: list, nonempty: set[str]) -> bool:
    """Anki's renders_with_fields: does the template show at least one non-empty field?"""
    for node in nodes:
        kind = node[0]
        if kind == "field":
            if node[1] in nonempty:
                return True
        elif kind == "if":
            if node[1] in nonempty and template_renders(node[2], nonempty):
                return True
        elif kind == "unless":
            if node[1] not in nonempty and template_renders(node[2], nonempty):
                return True
    return False


_EMPTY_FIELD = re.compile(r"(?:[\t\n\x0b\f\r ]|</?(?:br|div) ?/?>)*", re.IGNORECASE)


def field_is_empty(value: str) -> bool:
    """Anki's rule: only whitespace and empty <br>/<div> tags."""
    stripped = value.lstrip(" \t\n\r\f\v")
    if not stripped:
        return True
    return stripped[0] == "<" and _EMPTY_FIELD.fullmatch(value) is not None


def _is_cloze_conditional(key: str) -> bool:
    return key.startswith("c") and key[1:].isdigit() and key[1:].isascii()


class NoteFields:
    """A note's fields as Anki's renderer sees them, prepared once for all its cards."""

    __slots__ = ("values", "nonempty", "_clozes")

    def __init__(self, names: list[str], values: list[str]):
        self.values = dict(zip(names, values + [""] * (len(names) - len(values))))
        self.nonempty = {name for name, value in self.values.items() if not field_is_empty(value)}
        self._clozes: set[int] | None = None

    def cloze_numbers(self) -> set[int]:
        if self._clozes is None:
            self._clozes = set()
            for value in self.values.values():
                self._clozes |= cloze_numbers(value)
        return self._clozes


class _Context:
    __slots__ = ("fields", "nonempty", "ordinal", "front")

    def __init__(self, fields: dict, nonempty: set, ordinal: int, front: str | None):
        self.fields, self.nonempty, self.ordinal, self.front = fields, nonempty, ordinal, front


def _filter_chain(filters: list[str]) -> list[str]:
    """Anki's special cases of `type:` (decided once, when the template is parsed)."""
    if filters == ["cloze", "type"]:
        return ["type-cloze"]
    if filters == ["nc", "type"]:
        return ["type-nc"]
    if filters and filters[-1] == "type":
        return ["type"]
    return filters


def _apply_filters(text: str, filters: list[str], name: str, context: _Context) -> str:
    question = context.front is None
    for filter_ in filters:
        if filter_ == "text":
            text = strip_html(text)
        elif filter_ == "furigana":
            text = furigana_filter(text)
        elif filter_ == "kanji":
            text = kanji_filter(text)
        elif filter_ == "kana":
            text = kana_filter(text)
        elif filter_ == "type":
            text = f"[[type:{name}]]"
        elif filter_ == "type-cloze":
            text = f"[[type:cloze:{name}]]"
        elif filter_ == "type-nc":
            text = f"[[type:nc:{name}]]"
        elif filter_ == "hint":
            text = hint_filter(text, name)
        elif filter_ == "cloze":
            text = _strip_html_inside_mathjax(reveal_cloze(text, context.ordinal + 1, question))
        elif filter_ == "cloze-only":
            text = reveal_cloze_only(text, context.ordinal + 1, question)
        elif filter_ == "":
            pass
        elif filter_.startswith("tts "):
            text = f"[anki:tts lang={filter_[4:]}]{text}[/anki:tts]"
        else:
            break  # an add-on's filter: without the add-on, Anki skips it and every filter after it
    return text


def _render(nodes: list, context: _Context, out: list[str]) -> None:
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "field":
            key, filters = node[1], node[2]
            if key == "FrontSide":
                out.append(context.front or "")
            elif key == "" and filters:
                pass
            else:
                value = context.fields.get(key)
                if value is None:
                    raise TemplateError(f"no field named {key!r}")
                out.append(_apply_filters(value, filters, key, context) if filters else value)
        else:
            key = node[1]
            if key in context.nonempty:
                shown = kind == "if"
            elif key in context.fields or _is_cloze_conditional(key):
                shown = kind == "unless"
            else:
                raise TemplateError(f"no field named {key!r}")
            _render(node[2], context, out if shown else [])


SPECIAL_FIELDS = ("Tags", "Type", "Deck", "Subdeck", "CardFlag", "Card", "CardID")


def render_card(qnodes: list, anodes: list, note: NoteFields, ordinal: int, *, cloze: bool,
                specials: dict[str, str]) -> tuple[str, str] | None:
    """Question and answer HTML of one card, as Anki renders them; None for a card Anki
    renders as empty (no such cloze deletion, or a front that shows no field).

    `qnodes`/`anodes` come from `parse_template`; `specials` gives Tags, Type, Deck,
    Subdeck, CardFlag, Card and CardID (note fields of those names win, as in Anki).
    Raises TemplateError for a template Anki cannot render.
    """
    fields = dict(specials)
    fields.update(note.values)
    nonempty = set(note.nonempty)
    nonempty.update(name for name, value in specials.items() if name not in note.values and
                    not field_is_empty(value))
    card_key = f"c{ordinal + 1}"
    if card_key not in fields:
        fields[card_key] = "1"
        nonempty.add(card_key)
    try:
        return _render_sides(qnodes, anodes, note, ordinal, cloze, specials, fields, nonempty)
    except RecursionError:
        raise TemplateError("conditionals nested too deep") from None


def _render_sides(qnodes, anodes, note, ordinal, cloze, specials, fields, nonempty):
    context = _Context(fields, nonempty, ordinal, None)
    out: list[str] = []
    _render(qnodes, context, out)
    question = "".join(out)
    if cloze:
        numbers = set(note.cloze_numbers())
        for name, value in specials.items():
            if name not in note.values:
                numbers |= cloze_numbers(value)
        if ordinal + 1 not in numbers:
            return None
    elif not template_renders(qnodes, nonempty):
        return None
    context.front = question
    out = []
    _render(anodes, context, out)
    return question, "".join(out)


def typed_answers(nodes: list, note: NoteFields, ordinal: int) -> dict[str, str]:
    """The expected answer of each type-in box of a template, by field name, as Anki's
    reviewer compares it: the field's text (for `type:cloze:`, the active deletion's)."""
    out: dict[str, str] = {}

    def walk(children):
        for node in children:
            if node[0] == "field":
                filters = node[2]
                if filters and filters[0] in ("type", "type-cloze", "type-nc"):
                    value = note.values.get(node[1], "")
                    if filters[0] == "type-cloze":
                        value = cloze_for_typing(value, ordinal + 1)
                    out[node[1]] = html_to_text(value)
            elif node[0] in ("if", "unless"):
                walk(node[2])

    walk(nodes)
    return out
