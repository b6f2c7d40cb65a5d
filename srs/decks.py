"""Plain-text deck files: read them into `DeckSpec`s and write them back.

The format (Markdown, one file a deck)::

    # Deck name

    Optional notes about the deck.

    ## What does FSRS stand for?
    Free Spaced Repetition Scheduler

    ## Which one is a scheduling algorithm?
    - [ ] SQLite
    - [x] FSRS
      > An indented `> ` line under an option explains that option.
    > Optional explanation shown after answering.

A `## ` heading starts a card. A body of `- [ ]` / `- [x]` items makes a choice
card whose `[x]` item is correct (all `[ ]`: the key is not known yet); any other
body is the answer of a basic card; `> ` lines are the explanation (indented under
an option: that option's own explanation, shown after it is picked). The other kinds
(`srs.kinds`; the README shows each): lines between the heading and the options, a
`---`, a `<->` (reversed: asked both ways) or an `= answer | alternative` line (typed)
are the question's body (paragraphs, fenced code, `![alt](path)` images, read relative
to the deck file); `{{c1::text}}` / `{{c1::text::hint}}` anywhere in a card's text makes
one cloze card per number. A `\\` at the start of a line that would read as one of these
constructs makes it text (`\\---`, `\\- [ ] 42`, `\\> ...`); `format_deck` writes one where a
card's text needs it. A malformed construct is an `SrsError` naming its line. HTML comments
(`<!-- ... -->`) are notes for the author and are ignored, so are lines inside
fenced code blocks when looking for headings. A deck whose text is meant as HTML
says so before its first card with the comment `<!-- srs: html -->`; otherwise any
HTML in it is plain text, escaped when exported.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from srs import kinds
from srs.kinds import ALTERNATIVES, MAX_OPTIONS, cloze_cards, cloze_problem, has_cloze, image_refs
from srs.media import stored_name
from srs.model import CardSpec, DeckSpec, SrsError

_OPTION = re.compile(r"^\s*[-*] \[( |x|X)\]\s?(.*)$")
_OPTION_NOTE = re.compile(r"^[ \t]+>(?: |$)(.*)$")  # an indented `  > ` line under an option: that option's note
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_DIRECTIVE = re.compile(r"<!--\s*srs:\s*html\s*-->", re.I)
_ACCENTS_DIRECTIVE = re.compile(r"<!--\s*srs:\s*accents\s+optional\s*-->", re.I)
ACCENTS_NOTE = "<!-- srs: accents optional -->"
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
    accents_optional = bool(_ACCENTS_DIRECTIVE.search(head))
    lines = _without_comments(text).split("\n")
    name: str | None = None
    notes: list[str] = []
    cards: list[CardSpec] = []
    body: list[tuple[int, str]] = []
    heading: tuple[int, str] | None = None
    in_fence = False
    seen: dict[str, int] = {}
    base = Path(path).parent if path else None
    files: dict[str, str] = {}
    read: dict[str, str] = {}

    def finish() -> None:
        if heading is not None:
            made = _card(heading, body, path, base, files, read)
            first = seen.setdefault(_norm(made[0].question), heading[0])
            if first != heading[0]:
                raise SrsError(f"the same question is already at line {first}", path, heading[0])
            cards.extend(made)

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
    return DeckSpec(name=name, cards=cards, source=path, notes="\n".join(notes).strip() or None, html=html,
                    files=files, accents_optional=accents_optional)


def _without_comments(text: str) -> str:
    """Drop HTML comments but keep line numbers (a comment's newlines stay)."""
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _card(heading: tuple[int, str], body: list[tuple[int, str]], path: str | None,
          base: Path | None = None, files: dict[str, str] | None = None,
          read: dict[str, str] | None = None) -> list[CardSpec]:
    """The card (or sibling cards) of one `## ` heading and the lines below it."""
    line_no, first = heading
    pre: list[tuple[int, str]] = []  # the question body (before any answer marker)
    post: list[tuple[int, str]] = []  # after `---` / `<->`: the answer
    options: list[str] = []
    key: str | None = None
    key_line = 0
    typed: list[str] | None = None
    explanation: list[str] = []
    notes: dict[str, list[str]] = {}  # option -> its own explanation lines
    mode = "question"  # -> "options", "answer", "typed"
    separator = ""
    in_fence = False
    for number, line in body:
        stripped = line.strip()
        fence = stripped.startswith("```") or stripped.startswith("~~~")
        if in_fence or fence:
            if fence:
                in_fence = not in_fence
            if mode in ("options", "typed"):
                raise SrsError(_after(mode), path, number)
            (post if mode == "answer" else pre).append((number, line))
            continue
        if _escaped(line):  # `\` before what would be read as a construct: that line as text
            if mode in ("options", "typed"):
                raise SrsError(_after(mode), path, number)
            (post if mode == "answer" else pre).append((number, line[1:]))
            continue
        if line.startswith(">"):
            explanation.append(line[1:].removeprefix(" "))
            continue
        note = _OPTION_NOTE.match(line) if mode == "options" and options else None
        if note:
            if explanation:
                raise SrsError("an option's explanation ('  > ') after the card's explanation ('> '): "
                               "put it right under its option", path, number)
            notes.setdefault(options[-1], []).append(note.group(1))
            continue
        if mode == "answer":
            post.append((number, line))
            continue
        option = _OPTION.match(line)
        if option and mode in ("question", "options"):
            mode = "options"
            text = option.group(2).strip()
            if not text:
                raise SrsError("empty option", path, number)
            if text in options:
                raise SrsError("the same option twice in one card", path, number)
            if len(options) == MAX_OPTIONS:
                raise SrsError(f"more than {MAX_OPTIONS} options (a choice card has one letter a-z per option)",
                               path, number)
            if option.group(1) != " ":
                if key is not None:
                    raise SrsError(f"a second [x]: a choice card has one correct option (first at line {key_line})",
                                   path, number)
                key, key_line = text, number
            options.append(text)
        elif mode == "question" and stripped in ("---", "<->"):
            mode, separator = "answer", stripped
        elif (line.startswith("= ") or stripped == "=") and mode in ("question", "typed"):
            if typed is not None:
                raise SrsError("a second '= ' answer line (alternatives go on one line, separated by ' | ')",
                               path, number)
            typed = [alt.strip() for alt in line[1:].split(ALTERNATIVES.strip())]
            if not any(typed):
                raise SrsError("an empty typed answer after '='", path, number)
            if not all(typed):
                raise SrsError("an empty alternative in a typed answer ('a | b')", path, number)
            mode = "typed"
        elif mode in ("options", "typed") and stripped:
            raise SrsError(_after(mode), path, number)
        else:
            pre.append((number, line))
    explanation_text = "\n".join(explanation).strip() or None
    lines = [(line_no, first)] + pre
    images = _images(lines + post, path, base, files, read)
    common = dict(explanation=explanation_text, line=line_no, images=images)
    if mode == "question":  # no marker: the heading is the question, the body its answer (or a cloze text)
        text = _join(lines)
        if has_cloze(text):
            return _cloze(text, lines, path, common)
        return [CardSpec(question=first, answer=_join(pre).strip(), key_source="deck", **common)]
    question = _join(lines)
    if has_cloze(question):
        raise SrsError("a cloze card has no separate answer ('---', options or '= '); "
                       "use '> ' for notes shown after", path, line_no)
    if mode == "options":
        if len(options) < 2:
            raise SrsError("a choice card needs at least two options", path, line_no)
        option_notes = {option: text for option, lines_ in notes.items() if (text := "\n".join(lines_).strip())}
        return [CardSpec(question=question, answer=key, options=options, line=line_no,
                         key_source="deck" if key is not None else None, explanation=explanation_text, images=images,
                         option_notes=option_notes)]
    if mode == "typed":
        return [CardSpec(question=question, answer=ALTERNATIVES.join(typed), kind="typed", key_source="deck",
                         **common)]
    answer = _join(post)
    if separator == "<->":
        if not answer:
            raise SrsError("a reversed card ('<->') needs an answer to ask back", path, line_no)
        return [CardSpec(question=question, answer=answer, key_source="deck", ord=ord_, **common)
                for ord_ in (0, 1)]
    return [CardSpec(question=question, answer=answer, key_source="deck", **common)]


def _construct(line: str, in_answer: bool = False) -> bool:
    """Whether `_card` (and the heading search) reads a line of a card's body as something other than
    text: an option, `---`, `<->`, `= `, `>`, a `## ` heading; after the answer marker, only the last two."""
    if line.startswith(">") or line.startswith("## ") or re.match(r"^##\s*$", line):
        return True
    if in_answer:
        return False
    return bool(_OPTION.match(line)) or line.strip() in ("---", "<->") or line.startswith("= ") or line.strip() == "="


def _escaped(line: str) -> bool:
    """A line written with a `\\` before a construct (`\\- [ ] text`, `\\---`, `\\> text`, `\\## text`...), or
    before such a line itself (`\\\\---` is the text `\\---`): text, one backslash less."""
    return line.startswith("\\") and (_construct(line[1:]) or _escaped(line[1:]))


def _text_lines(text: str, first: bool = False, in_answer: bool = False) -> str:
    """Text of a card as `format_deck` writes it: each line that `parse_deck` would read as a construct
    (or as an escaped one) gets a `\\` before it; the first line of a question (the `## ` line) and the
    lines of fenced code are written as they are."""
    out = []
    in_fence = False
    for number, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if (number or not first) and stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif (number or not first) and not in_fence and (_construct(line, in_answer) or _escaped(line)):
            line = "\\" + line
        out.append(line)
    return "\n".join(out)


def _after(mode: str) -> str:
    if mode == "options":
        return "text after the options of a choice card (use '> ' for an explanation)"
    return "text after the typed answer (use '> ' for an explanation)"


def _join(lines: list[tuple[int, str]]) -> str:
    """Lines as one text, without the blank lines around it (a code block's first indentation stays)."""
    texts = [line for _, line in lines]
    while texts and not texts[0].strip():
        texts.pop(0)
    return "\n".join(texts).rstrip()


def _cloze(text: str, lines: list[tuple[int, str]], path: str | None, common: dict) -> list[CardSpec]:
    problem = cloze_problem(text)
    if problem is not None:
        offset, message = problem
        at = text.count("\n", 0, offset)  # the text starts with the heading's line
        raise SrsError(message, path, lines[min(at, len(lines) - 1)][0])
    return cloze_cards(text, key_source="deck", **common)


def _images(lines: list[tuple[int, str]], path: str | None, base: Path | None,
            files: dict[str, str] | None, read: dict[str, str] | None = None) -> dict[str, str]:
    """{path as written: media name} of the card's `![alt](path)` images, read relative to the deck file
    (each file once a parse: `read` keeps {file: media name})."""
    found: dict[str, str] = {}
    for number, line in lines:
        for _, written in image_refs(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", written, re.I) or written in found:
                continue  # a URL: not a file of the deck
            target = ((base or Path(".")) / written)
            known = read.get(str(target)) if read is not None else None
            if known is None:
                try:
                    data = target.read_bytes()
                except FileNotFoundError:
                    raise SrsError(f"image file not found: {written}", path, number) from None
                except OSError as error:
                    raise SrsError(f"cannot read image {written}: {error.strerror or error}", path, number) from None
                known = stored_name(hashlib.sha256(data).hexdigest(), written)
                if read is not None:
                    read[str(target)] = known
            found[written] = known
            if files is not None:
                files[known] = str(target.resolve())
    return found


def format_deck(deck: DeckSpec, hand_keyed: set[str] = frozenset()) -> str:
    """A deck as deck-file text; `parse_deck(format_deck(d))` gives back the same cards.

    Questions in `hand_keyed` get a comment saying their key was added by hand.
    """
    out = [f"# {_one_line(deck.name)}", ""]
    if deck.html:
        out += ["<!-- srs: html -->", ""]
    if deck.accents_optional:
        out += [ACCENTS_NOTE, ""]
    if deck.notes:
        out += [deck.notes.strip(), ""]
    groups: dict[tuple, list[CardSpec]] = {}
    for card in deck.cards:  # siblings (cloze numbers of one text, a card and its reverse) are written once
        groups.setdefault(kinds.of(card).sibling_key(card), []).append(card)
    for group in groups.values():
        card = group[0]
        lines = kinds.of(card).deck_lines(_written(card, group), group)
        out.append(lines[0])
        if card.kind == "choice" and card.question in hand_keyed:
            out.append(HAND_KEY_NOTE)
        out += lines[1:]
        if card.explanation:
            out += ["> " + line for line in card.explanation.split("\n")]
        out.append("")
    return "\n".join(out)


def _written(card: CardSpec, siblings: list[CardSpec]) -> CardSpec:
    """The card with its question's body and a basic card's answer escaped (`_text_lines`) where a line
    would read as a construct: the writer of each kind (`srs.kinds`) then writes them as they are. A
    basic answer after `---` or `<->` (a question of several lines, a reversed card, an answer that
    `kinds` writes after `---` as it looks like a construct) is read as the answer whatever its lines
    look like, but for `> ` and `## `; one without is read as the heading's body: all are escaped."""
    from dataclasses import replace

    changes = {"question": _text_lines(card.question, first=True)}
    if kinds.of(card).name == "basic" and card.answer:
        separated = ("\n" in card.question or any(sibling.ord == 1 for sibling in siblings)
                     or kinds._looks_special(card.answer))
        changes["answer"] = _text_lines(card.answer, in_answer=separated)
    return replace(card, **changes)


def _one_line(text: str) -> str:
    return " ".join(text.split())
