"""Parse a published AI-literacy lesson (plain text) into a deck of choice cards.

The format, one item per line (blank lines, trailing spaces, CRLF and a BOM are ignored):

    <title>
    <subtitle: the lesson's main idea>
    9 min · Reviewed 2026                       (reading-time line, optional)
    The premise
    <premise text>
    What AI does well here
    <one item per line>
    What AI cannot do
    <one item per line>
    End-of-lesson check
    N questions · take it digitally ...
    <question>                                  (ends in "?", or an imperative prompt
    <option>                                     "Name/Explain/Describe/List ... ." )
    ...                                         (usually four options; none = free response)

The publisher cuts long options and ends them with "." (or "..."); such an option is
matched against the lesson's items by prefix. Keys are set only where the lesson's own
text decides them (see `_key`); everything else stays unkeyed (answer None).
"""

from __future__ import annotations

import re

from srs.decks import read_text
from srs.model import CardSpec, DeckSpec, SrsError

_HEADINGS = {  # normalised, spaces removed
    "thepremise": "premise",
    "whataidoeswellhere": "well",
    "whataicannotdo": "cannot",
    "whataican'tdo": "cannot",
    "end-of-lessoncheck": "check",
    "endoflessoncheck": "check",
}
_COUNT = re.compile(r"([0-9]{1,6})\s+questions?\b", re.I)
_READING_TIME = re.compile(r"[0-9]{1,4}\s*min\b", re.I)
_QUESTION_END = re.compile(r"\?[\"'”’»)\]]*$")
_PROMPT = re.compile(
    r"(name|list|explain|describe|give|state|define|summari[sz]e|outline|compare|write)\b.*\.$", re.I
)
_NEGATION = re.compile(r"\b(not|except|least|never|worst|wrong)\b|n't\b")
_KINDS = (  # (kind, pattern on the normalised question); kind "main" keys from the subtitle
    ("main", re.compile(r"what is the main idea of\b(.*)\?$")),
    ("well", re.compile(r"which use of ai fits\b.*\bbest\?$")),
    ("well", re.compile(r"which action (would|will|could) help you apply\b.*\bresponsibly\?$")),
    ("cannot", re.compile(r"which limitation (should|must|would) you watch (out )?for\b.*\?$")),
    ("cannot", re.compile(r"which (choice|option|use) is a bad use of ai\b.*\?$")),
)
_TRANS = str.maketrans(
    {c: "'" for c in "‘’‚‛′`"} | {c: '"' for c in "“”„‟″«»"} | {c: " - " for c in "‐‑‒–—―−-"}
)
_MIN_PREFIX = 12  # a cut option shorter than this (normalised) is too weak to match anything


def _norm(s: str) -> str:
    """Quotes and dashes unified, whitespace collapsed, case folded, trailing dots dropped."""
    s = " ".join(s.translate(_TRANS).split()).casefold()
    return s.rstrip(".… ")


def _is_cut(option: str) -> bool:
    return option.endswith((".", "…"))


def _matches(option: str, target: str) -> bool:
    """Does `option` print `target` (whole, or cut short with a trailing '.')?"""
    o, t = _norm(option), _norm(target)
    if not o:
        return False
    return o == t or (_is_cut(option) and len(o) >= _MIN_PREFIX and t.startswith(o))


def _item_of(option: str, items: list[tuple[str, str]]) -> str | None:
    """The list ("well"/"cannot") of the single item `option` prints, or None if none or ambiguous."""
    exact = {kind for kind, text in items if _norm(text) == _norm(option) and _norm(option)}
    if exact:
        return exact.pop() if len(exact) == 1 else None
    hits = [kind for kind, text in items if _matches(option, text)]
    return hits[0] if len(hits) == 1 else None


def _key(question: str, options: list[str], title: str, subtitle: str | None,
         items: list[tuple[str, str]]) -> str | None:
    """The correct option's text when the lesson's text decides it, else None."""
    q = re.sub(r"\?[\"')\]]*$", "?", _norm(question))
    if _NEGATION.search(re.sub(r'"[^"]*"', '""', q)):  # "which is NOT ..." inverts the key
        return None
    for kind, pattern in _KINDS:
        m = pattern.match(q)
        if not m:
            continue
        if kind == "main":
            about = m.group(1).strip()  # "<title>" or "this lesson"; a quoted other title: no key
            if subtitle is None or ('"' in about and about.strip("\"' ") != _norm(title)):
                return None
            hits = [o for o in options if _matches(o, subtitle)]
        else:
            hits = [o for o in options if _item_of(o, items) == kind]
        return hits[0] if len(hits) == 1 else None
    return None


_LISTS = {"well": "What AI does well here", "cannot": "What AI cannot do"}


def _option_notes(options: list[str], subtitle: str | None, items: list[tuple[str, str]]) -> dict[str, str]:
    """The lesson's own explanation of an option, where it has one: the option is its subtitle (its main idea)
    or one of the items of its "What AI does well here" / "What AI cannot do" lists."""
    notes = {}
    for option in options:
        if subtitle is not None and _matches(option, subtitle):
            notes[option] = "This is the lesson's subtitle: its main idea."
        elif (kind := _item_of(option, items)) is not None:
            notes[option] = f'The lesson lists this under "{_LISTS[kind]}".'
    return notes


def _lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of every non-blank line."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [(n, s.strip()) for n, s in enumerate(text.split("\n"), 1) if s.strip()]


def _heading(line: str) -> str | None:
    return _HEADINGS.get(_norm(line).replace(" ", ""))


def looks_like_lesson(text: str) -> bool:
    """Cheap check: a title, an 'End-of-lesson check' line and a question-count line after it."""
    if not isinstance(text, str):
        return False
    lines = [s for _, s in _lines(text)]
    for i, line in enumerate(lines):
        if _heading(line) == "check":
            return i > 0 and i + 1 < len(lines) and bool(_COUNT.match(lines[i + 1]))
    return False


def parse_lesson(text: str, path: str | None = None) -> DeckSpec:
    """Parse a lesson's text into a DeckSpec; SrsError (one line, with a line number) if it isn't one."""
    src = None if path is None else str(path)
    if not isinstance(text, str):
        raise SrsError("not a lesson: not text", src)
    lines = _lines(text)
    if not lines:
        raise SrsError("not a lesson: the text is empty", src)
    check = next((i for i, (_, s) in enumerate(lines) if _heading(s) == "check"), None)
    if check is None:
        raise SrsError("not a lesson: no 'End-of-lesson check' section", src)
    if check == 0 or _heading(lines[0][1]):
        raise SrsError("not a lesson: no title before the lesson's sections", src, lines[0][0])

    title, intro, sections, current = lines[0][1], [], {}, None
    for _, s in lines[1:check]:
        kind = _heading(s)
        if kind:
            current = sections.setdefault(kind, [])
        elif current is None:
            if not _READING_TIME.match(s):
                intro.append(s)
        else:
            current.append(s)
    subtitle = " ".join(intro) or None
    premise = "\n".join(sections.get("premise", [])) or None
    items = [("well", s) for s in sections.get("well", [])] + [("cannot", s) for s in sections.get("cannot", [])]

    check_line = lines[check][0]
    if check + 1 >= len(lines) or not _COUNT.match(lines[check + 1][1]):
        raise SrsError("not a lesson: no 'N questions' line after 'End-of-lesson check'", src, check_line)
    header_line, expected = lines[check + 1][0], int(_COUNT.match(lines[check + 1][1]).group(1))
    groups = _group(lines[check + 2:], items, subtitle, src)
    if not groups:
        raise SrsError("not a lesson: no questions after the 'N questions' line", src, header_line)
    if len(groups) != expected:
        raise SrsError(f"the header announces {expected} questions but the lesson has {len(groups)}",
                       src, header_line)

    cards, unkeyed = [], []
    for line, question, options in groups:
        if not options:
            cards.append(CardSpec(question=question, answer="", options=None, line=line))
            continue
        answer = _key(question, options, title, subtitle, items)
        cards.append(CardSpec(question=question, answer=answer, options=options, line=line,
                              key_source="lesson" if answer is not None else None,
                              option_notes=_option_notes(options, subtitle, items)))
        if answer is None:
            unkeyed.append(question)
    free = sum(1 for c in cards if c.kind != "choice")
    report = {"cards": len(cards), "keyed": len(cards) - free - len(unkeyed), "unkeyed": len(unkeyed),
              "free_response": free, "unkeyed_questions": unkeyed}
    notes = "\n\n".join(p for p in (subtitle, premise) if p) or None
    return DeckSpec(name=title, cards=cards, source=src, notes=notes, report=report)


def _group(body: list[tuple[int, str]], items: list[tuple[str, str]], subtitle: str | None,
           src: str | None) -> list[tuple[int, str, list[str]]]:
    """Split the question block into (line, question, options) groups.

    A line ending in '?' is a question. An imperative prompt ending in '.' ("Name one way
    to ...", "Explain ...") is a question unless it prints one of the lesson's own items
    (then it is a cut option), and only when it is followed by another question or the end
    of the text (a free-response prompt has no options), opens the block, or comes after a
    question that already has its four options.
    """
    targets = [t for _, t in items] + ([subtitle] if subtitle else [])

    def prompt(s: str) -> bool:
        return bool(_PROMPT.match(s)) and not any(_matches(s, t) for t in targets)

    # shape[i]: line i (or the end, i == len) starts a run of question-shaped lines
    shape = [False] * (len(body) + 1)
    shape[len(body)] = True  # the end of the text
    for i in range(len(body) - 1, -1, -1):
        s = body[i][1]
        shape[i] = bool(_QUESTION_END.search(s)) or (prompt(s) and shape[i + 1])

    groups: list[tuple[int, str, list[str]]] = []
    for i, (line, s) in enumerate(body):
        full = bool(groups) and len(groups[-1][2]) >= 4
        if _QUESTION_END.search(s) or (prompt(s) and (not groups or shape[i + 1] or full)):
            groups.append((line, s, []))
        elif not groups:
            raise SrsError("expected a question after the 'N questions' line", src, line)
        else:
            groups[-1][2].append(s)
    return groups


def read_lesson(path) -> DeckSpec:
    """Read and parse a lesson file (UTF-8, a BOM is fine), as `srs.decks.read_text` reads any source."""
    return parse_lesson(read_text(path), str(path))
