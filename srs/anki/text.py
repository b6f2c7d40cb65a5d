"""Anki's HTML as plain text: fields, card templates and cloze deletions.

Our cards are plain text, so a card read from an Anki package is rendered the way Anki
would show it (its note type's templates, cloze deletions hidden or shown) and then
reduced to readable text: tags dropped, `<br>` and block elements as line breaks,
entities decoded, images as `[image: ...]`. Only what is needed to read a card is
implemented of Anki's template language. `html_to_text` is also what CSV import uses.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript", "svg", "math", "object"}


class _TextExtractor(HTMLParser):
    def __init__(self, collapse: bool):
        super().__init__(convert_charrefs=True)
        self.collapse = collapse
        self.parts: list[str] = []
        self.skip = 0

    def _newline(self):
        self.parts.append("\n")

    def _block(self):
        """A block boundary: one line break, however many blocks open or close there."""
        text = "".join(self.parts[-3:])
        if text and not (text.rstrip(" ") if self.collapse else text).endswith("\n"):
            self.parts.append("\n")

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._newline()
        elif tag == "img":
            attributes = dict(attrs)
            label = attributes.get("alt") or attributes.get("title") or attributes.get("src") or ""
            self.parts.append(f"[image: {label}]" if label else "[image]")
        elif tag in _BLOCK_TAGS:
            self._block()
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif not self.skip and tag in _BLOCK_TAGS:
            self._block()

    def handle_data(self, data):
        if self.skip:
            return
        if self.collapse:
            data = re.sub(r"[ \t\r\n\f\v]+", " ", data)
        self.parts.append(data)


def html_to_text(fragment: str, *, collapse: bool = True) -> str:
    """Readable text from an HTML fragment: tags dropped, <br> and blocks as line breaks.

    `collapse` folds HTML whitespace (runs of spaces and newlines) as a browser would;
    without it, the text between tags is kept as is (for fields we wrote ourselves).
    """
    if not fragment:
        return ""
    parser = _TextExtractor(collapse)
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient; this is only a last resort
        return html.unescape(re.sub(r"<[^>]*>", " ", fragment)).strip()
    text = "".join(parser.parts).replace("\xa0", " ")
    if not collapse:
        return text.strip("\n")
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def field_text(fragment: str) -> str:
    """Text of a field we wrote: escaped text with <br> for newlines (tags from edits dropped)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    return html_to_text(fragment, collapse=False)


def choices_from_html(fragment: str, as_html: bool = False) -> list[str]:
    """The options of our Choices field: the text (or the HTML) of each <li>."""
    items = re.findall(r"<li\b[^>]*>(.*?)</li\s*>", fragment, flags=re.IGNORECASE | re.DOTALL)
    return items if as_html else [field_text(item) for item in items]


# -- templates and clozes (just enough of Anki's template language to read a card) --------


_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::")


def _parse_cloze(text: str):
    """Nodes of a cloze field: strings and (number, children, hint) tuples."""
    root: list = []
    stack: list[tuple[int, list]] = []
    current = root
    i = 0
    buffer: list[str] = []

    def flush():
        if buffer:
            current.append("".join(buffer))
            buffer.clear()

    while i < len(text):
        match = _CLOZE_OPEN.match(text, i)
        if match:
            flush()
            stack.append((int(match.group(1)), current))
            current = []
            i = match.end()
            continue
        if text.startswith("}}", i) and stack:
            flush()
            number, parent = stack.pop()
            children, hint = _split_hint(current)
            parent.append((number, children, hint))
            current = parent
            i += 2
            continue
        buffer.append(text[i])
        i += 1
    flush()
    while stack:  # unclosed: keep the text as it was
        number, parent = stack.pop()
        parent.append(f"{{{{c{number}::")
        parent.extend(current)
        current = parent
    return current


def _split_hint(children: list):
    """The last top-level `::` in a cloze separates its hint."""
    for index in range(len(children) - 1, -1, -1):
        child = children[index]
        if isinstance(child, str) and "::" in child:
            before, hint = child.rsplit("::", 1)
            return children[:index] + ([before] if before else []), hint
    return children, None


def _render_cloze(nodes, active: int | None) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        number, children, hint = node
        if active is not None and number == active:
            out.append(f"[{hint}]" if hint else "[...]")
        else:
            out.append(_render_cloze(children, active))
    return "".join(out)


def cloze_text(text: str, active: int | None) -> str:
    """A cloze field with deletion `active` hidden ([...] or [hint]); all shown when None."""
    return _render_cloze(_parse_cloze(text), active)


def cloze_numbers(text: str) -> set[int]:
    return {int(n) for n in _CLOZE_OPEN.findall(text)}


TEMPLATE_TAG = re.compile(r"\{\{([^{}]*)\}\}")


def _field_is_empty(value: str) -> bool:
    return not html_to_text(value).strip()


def render_template(template: str, fields: dict[str, str], *, front: str | None, cloze: int | None,
                     answer_side: bool, omit_cloze: bool = False) -> str:
    """Render an Anki card template to HTML with `fields` (names compared as Anki does)."""
    tokens = TEMPLATE_TAG.split(template)
    # tokens alternate: text, tag, text, tag, ...

    def lookup(name: str) -> str | None:
        name = name.strip()
        if name in fields:
            return fields[name]
        return None

    def render(start: int, closing: str | None) -> tuple[str, int]:
        out: list[str] = []
        i = start
        while i < len(tokens):
            if i % 2 == 0:
                out.append(tokens[i])
                i += 1
                continue
            tag = tokens[i].strip()
            i += 1
            if tag.startswith("/"):
                if closing is not None and tag[1:].strip() == closing:
                    return "".join(out), i
                continue  # stray closing tag
            if tag.startswith("#") or tag.startswith("^"):
                name = tag[1:].strip()
                inner, i = render(i, name)
                value = lookup(name)
                filled = value is not None and not _field_is_empty(value)
                if (tag[0] == "#") == filled:
                    out.append(inner)
                continue
            if tag.startswith("!"):
                continue
            out.append(substitute(tag))
        return "".join(out), i

    def substitute(tag: str) -> str:
        if tag == "FrontSide":
            return front or ""
        parts = tag.split(":")
        name, filters = parts[-1], [f.strip() for f in parts[:-1]]
        value = lookup(name)
        if value is None:
            return ""
        for filter_ in reversed(filters):
            if filter_ == "type":
                return value if answer_side else ""
            if filter_ == "cloze":
                if omit_cloze:
                    return ""
                value = cloze_text(value, None if answer_side else cloze)
            elif filter_ == "hint":
                value = value if answer_side else ""
            elif filter_ in ("text",):
                value = html.escape(html_to_text(value))
            # furigana, kana, kanji, tts...: the field content itself is close enough
        return value

    rendered, _ = render(0, None)
    return rendered


ANSWER_RULE = re.compile(r"<hr[^>]*\bid\s*=\s*[\"']?answer[\"']?[^>]*>", re.IGNORECASE)
