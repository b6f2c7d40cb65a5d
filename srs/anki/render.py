"""Anki's card templates rendered as Anki renders them: a port of rslib's `template.rs`,
`template_filters.rs` and `cloze.rs`.

Field replacements (field names matched exactly), `{{FrontSide}}`, conditionals with
Anki's rule of what is empty, the built-in filters (`text`, `furigana`, `kana`, `kanji`,
`hint`, `type`, `cloze`, `cloze-only`, `tts`; an unknown filter stops the chain, as in
Anki without the add-on that defines it) and the special fields (`Tags`, `Type`, `Deck`,
`Subdeck`, `Card`, `CardFlag`, `CardID`). `render_card` returns the HTML that the official
`anki` library's `card.question()` / `card.answer()` return (without the `<style>` and with
`[sound:...]` where Anki puts `[anki:play:...]`); `anki.text` turns it into what srs shows.
Templates are parsed once per note type (`parse_template`), each note's fields prepared
once (`NoteFields`) and its cloze fields parsed once, whatever its number of cards.

Linear time throughout (fields come from untrusted packages).
"""

from __future__ import annotations

import functools
import hashlib
import re

from srs.anki.text import html_to_text, strip_html

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
    if "{{c" not in text:  # most fields of a cloze note have no deletion: nothing to parse
        return out

    def walk(nodes):
        for node in nodes:
            if isinstance(node, _Cloze):
                out.update(o for o in node.ordinals if o)
                walk(node.nodes)

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


MAX_SIDE_CHARS = 8_000_000  # a rendered side longer than this is refused (a template can repeat a field)


class CardTooLarge(TemplateError):
    """A card whose rendered side would pass MAX_SIDE_CHARS: a few kilobytes of template repeating
    a long field can ask for gigabytes, so rendering stops there and the card is skipped."""


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
    __slots__ = ("fields", "nonempty", "ordinal", "front", "size")

    def __init__(self, fields: dict, nonempty: set, ordinal: int, front: str | None):
        self.fields, self.nonempty, self.ordinal, self.front = fields, nonempty, ordinal, front
        self.size = 0  # characters rendered so far on this side (hidden branches included)


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
                value = context.front or ""
            elif key == "" and filters:
                continue
            else:
                value = context.fields.get(key)
                if value is None:
                    raise TemplateError(f"no field named {key!r}")
                if filters:
                    value = _apply_filters(value, filters, key, context)
            context.size += len(value)
            if context.size > MAX_SIDE_CHARS:
                raise CardTooLarge(f"it renders to more than {MAX_SIDE_CHARS:,} characters")
            out.append(value)
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
            if name not in note.values and "{{c" in value:  # (cloze_numbers' own first test, without a call)
                numbers |= cloze_numbers(value)
        if ordinal + 1 not in numbers:
            return None
    elif not template_renders(qnodes, nonempty):
        return None
    context.front = question
    context.size = 0
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
