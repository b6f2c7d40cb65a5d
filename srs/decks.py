"""Plain-text deck files: read them into `DeckSpec`s and write them back.

The format (Markdown, one file a deck)::

    # Deck name

    Optional notes about the deck.

    ## What does FSRS stand for?
    Free Spaced Repetition Scheduler

    ## Which one is a scheduling algorithm?
    - [ ] SQLite
    - [x] FSRS
    - [ ] genanki
    > Optional explanation shown after answering.

A `## ` heading starts a card. A body of `- [ ]` / `- [x]` items makes a choice
card whose `[x]` item is correct (all `[ ]`: the key is not known yet); any other
body is the answer of a basic card; `> ` lines are the explanation. HTML comments
(`<!-- ... -->`) are notes for the author and are ignored, so are lines inside
fenced code blocks when looking for headings. A deck whose text is meant as HTML
says so before its first card with the comment `<!-- srs: html -->`; otherwise any
HTML in it is plain text, escaped when exported.
"""

from __future__ import annotations

import re
from pathlib import Path

from srs.model import CardSpec, DeckSpec, SrsError

_OPTION = re.compile(r"^\s*[-*] \[( |x|X)\]\s?(.*)$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_DIRECTIVE = re.compile(r"<!--\s*srs:\s*html\s*-->", re.I)
HAND_KEY_NOTE = "<!-- key added by hand: the lesson does not decide it -->"


def read_text(path: str | Path) -> str:
    """A source file's text: UTF-8 (a BOM is dropped), any line ending. Errors name the file."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SrsError("no such file", name) from None
    except IsADirectoryError:
        raise SrsError("is a directory", name) from None
    except OSError as error:
        raise SrsError(f"cannot read: {error.strerror}", name) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SrsError(f"not UTF-8 text (byte 0x{data[error.start]:02x})", name, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_deck(path: str | Path) -> DeckSpec:
    return parse_deck(read_text(path), str(path))


def parse_deck(text: str, path: str | None = None) -> DeckSpec:
    """Parse a deck file's text. Raises SrsError naming the line of the first problem."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    head = re.split(r"^## ", text, maxsplit=1, flags=re.M)[0]
    html = bool(_HTML_DIRECTIVE.search(head))
    lines = _without_comments(text).split("\n")
    name: str | None = None
    notes: list[str] = []
    cards: list[CardSpec] = []
    body: list[tuple[int, str]] = []
    heading: tuple[int, str] | None = None
    in_fence = False
    seen: dict[str, int] = {}

    def finish() -> None:
        if heading is not None:
            card = _card(heading, body, path)
            first = seen.setdefault(_norm(card.question), heading[0])
            if first != heading[0]:
                raise SrsError(f"the same question is already at line {first}", path, heading[0])
            cards.append(card)

    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            finish()
            heading, body = (number, line[3:].strip()), []
            if not heading[1]:
                raise SrsError("empty question after '## '", path, number)
            continue
        if not in_fence and re.match(r"^##\s*$", line):
            raise SrsError("empty question after '##'", path, number)
        if not in_fence and line.startswith("# ") and heading is None:
            if name is not None:
                raise SrsError("a second '# ' deck title; one deck per file", path, number)
            name = line[2:].strip()
            if not name:
                raise SrsError("empty deck name after '# '", path, number)
            continue
        if heading is None:
            if stripped and name is None:
                raise SrsError("a deck file starts with '# Deck name'", path, number)
            notes.append(line)
        else:
            body.append((number, line))
    if in_fence:
        raise SrsError("a code block (```) is never closed", path, len(lines))
    finish()
    if name is None:
        raise SrsError("not a deck: no '# Deck name' line", path, 1)
    if not cards:
        raise SrsError("the deck has no cards ('## question' headings)", path, 1)
    return DeckSpec(name=name, cards=cards, source=path, notes="\n".join(notes).strip() or None, html=html)


def _without_comments(text: str) -> str:
    """Drop HTML comments but keep line numbers (a comment's newlines stay)."""
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _card(heading: tuple[int, str], body: list[tuple[int, str]], path: str | None) -> CardSpec:
    line_no, question = heading
    options: list[str] = []
    key: str | None = None
    key_line = 0
    answer: list[str] = []
    explanation: list[str] = []
    first_text_line = None
    for number, line in body:
        option = _OPTION.match(line)
        if option and not any(text.strip() for text in answer):
            text = option.group(2).strip()
            if not text:
                raise SrsError("empty option", path, number)
            if text in options:
                raise SrsError("the same option twice in one card", path, number)
            if option.group(1) != " ":
                if key is not None:
                    raise SrsError(f"a second [x]: a choice card has one correct option (first at line {key_line})", path, number)
                key, key_line = text, number
            options.append(text)
        elif line.startswith(">"):
            explanation.append(line[1:].removeprefix(" "))
        elif options and line.strip():
            raise SrsError("text after the options of a choice card (use '> ' for an explanation)", path, number)
        else:
            if first_text_line is None and line.strip():
                first_text_line = number
            answer.append(line)
    explanation_text = "\n".join(explanation).strip() or None
    if options:
        if len(options) < 2:
            raise SrsError("a choice card needs at least two options", path, line_no)
        return CardSpec(question=question, answer=key, options=options, explanation=explanation_text,
                        line=line_no, key_source="deck" if key is not None else None)
    return CardSpec(question=question, answer="\n".join(answer).strip(), explanation=explanation_text,
                    line=line_no, key_source="deck")


def format_deck(deck: DeckSpec, hand_keyed: set[str] = frozenset()) -> str:
    """A deck as deck-file text; `parse_deck(format_deck(d))` gives back the same cards.

    Questions in `hand_keyed` get a comment saying their key was added by hand.
    """
    out = [f"# {_one_line(deck.name)}", ""]
    if deck.html:
        out += ["<!-- srs: html -->", ""]
    if deck.notes:
        out += [deck.notes.strip(), ""]
    for card in deck.cards:
        out.append(f"## {_one_line(card.question)}")
        if card.options is not None:
            if card.question in hand_keyed:
                out.append(HAND_KEY_NOTE)
            for option in card.options:
                mark = "x" if option == card.answer else " "
                out.append(f"- [{mark}] {_one_line(option)}")
        elif card.answer:
            out.append(card.answer)
        if card.explanation:
            out += ["> " + line for line in card.explanation.split("\n")]
        out.append("")
    return "\n".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())
