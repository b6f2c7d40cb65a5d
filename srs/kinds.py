"""Card kinds, each defined once: basic (and its reversed sibling), choice, cloze, typed.

Everything that depends on what kind a card is asks here instead of branching on its fields:
the deck parser (`srs.decks` finds the constructs; `has_cloze`, `cloze_problem`, `cloze_cards`,
`ALTERNATIVES`, `MAX_OPTIONS` say what makes a card of a kind and what is wrong with one), the
review session (`Kind.how`: what the learner is asked to do; `Kind.asked`: the
question; `Kind.grade`: whether an answer is right and which rating is suggested;
`Kind.shown_answer`: the answer as shown), the read-outs (`Kind.asked`, `Kind.right_answer`),
the deck writer (`Kind.deck_lines`, `Kind.sibling_key`), the Anki export (`Kind.anki`: the note
type and the card's ord in it) and the Anki reader for our own note types (`from_anki`).

The kinds:

- **basic**: a question and its answer; Enter shows the answer. A basic card with `ord` 1 is
  the reversed sibling of the basic card with the same text: asked its answer, it shows the
  question ("reversed cards are basic").
- **choice**: options, one of them right (the key; None while unknown: the learner is asked
  for it once), each with an optional explanation of its own (`option_notes`, a deck's indented
  `  > ` lines under the option). A sure right pick suggests Good, an unsure one (`UNSURE`, `?`
  before the letter) Hard, a wrong one Again. How a keyed card is asked (`choice_format`): with its
  options, recall first (the question alone, the options on request) once answered right, or as a
  typed answer (the right option's text; a long option matched on its key words) once well known
  or after the same wrong option twice; `FORMATS` names the formats kept with each review.
- **cloze**: a text with Anki's deletions `{{c1::text}}` / `{{c1::text::hint}}`; one card per
  cloze number (siblings, `ord` = number - 1). Asked with its own deletions shown as `[...]`
  or `[hint]` (the others shown as their text); the answer is the whole text with the
  deletion marked. A card of an Anki cloze note comes already rendered (no markup left).
- **typed**: an answer to type (alternatives separated by " | "); graded after folding case,
  whitespace, punctuation and Unicode form (accents optional per deck), a near miss shown as
  a character diff as Anki's type-in answer does. Right suggests Good, wrong Again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from srs.model import CardSpec

KINDS = ("basic", "choice", "cloze", "typed")
AGAIN, HARD, GOOD = 1, 2, 3
MAX_OPTIONS = 26  # a..z: one key each

CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::((?:(?!\}\}).)*?))?\}\}", re.S)
_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::")
IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]+)\)")  # ![alt](path)
ALTERNATIVES = " | "


# -- cloze text ------------------------------------------------------------------------------


def cloze_numbers(text: str) -> list[int]:
    """The cloze numbers a text uses, in order."""
    return sorted({int(m.group(1)) for m in CLOZE.finditer(text)})


def has_cloze(text: str) -> bool:
    return bool(_CLOZE_OPEN.search(text))


def cloze_problem(text: str) -> tuple[int, str] | None:
    """(offset, message) of the first malformed deletion in a text, or None."""
    ends = {}
    for m in CLOZE.finditer(text):
        ends[m.start()] = m
    for opening in _CLOZE_OPEN.finditer(text):
        number = int(opening.group(1))
        if number < 1:
            return opening.start(), f"cloze numbers start at 1: {{{{c{opening.group(1)}::"
        m = ends.get(opening.start())
        if m is None:
            return opening.start(), "a cloze deletion '{{c%s::' is never closed with '}}'" % opening.group(1)
        if not m.group(2).strip():
            return opening.start(), "an empty cloze deletion"
        if _CLOZE_OPEN.search(m.group(2)):
            return opening.start(), "a cloze deletion inside another one"
    return None


def cloze_question(text: str, number: int) -> str:
    """The text with deletion `number` hidden as `[...]` (or `[hint]`), the others shown."""
    def one(m: re.Match) -> str:
        if int(m.group(1)) != number:
            return m.group(2)
        return f"[{m.group(3)}]" if m.group(3) else "[...]"

    return CLOZE.sub(one, text)


def cloze_parts(text: str, number: int) -> list[tuple[str, bool]]:
    """The whole text as (piece, is the deletion asked) pieces: the answer side of a cloze card."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for m in CLOZE.finditer(text):
        parts.append((text[at:m.start()], False))
        parts.append((m.group(2), int(m.group(1)) == number))
        at = m.end()
    parts.append((text[at:], False))
    return [(piece, marked) for piece, marked in parts if piece]


def cloze_deleted(text: str, number: int) -> str:
    """The text of deletion `number` (Anki joins several deletions of one number with ", ")."""
    return ", ".join(m.group(2) for m in CLOZE.finditer(text) if int(m.group(1)) == number)


def cloze_cards(text: str, **fields) -> list[CardSpec]:
    """One card per cloze number of a text (siblings)."""
    return [CardSpec(question=text, answer=cloze_deleted(text, n), kind="cloze", ord=n - 1, **fields)
            for n in cloze_numbers(text)]


# -- typed answers ---------------------------------------------------------------------------


def fold(text: str, accents: bool = True) -> str:
    """A typed answer as it is compared: Unicode form, case, punctuation and spacing folded;
    accents dropped too when `accents` is False."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return " ".join(text.split())


def accepted(spec: CardSpec) -> list[str]:
    """The answers a typed card takes: Anki's answer to type as it is, a deck's alternatives split."""
    if spec.typed_answer is not None:
        return [spec.typed_answer]
    return [a.strip() for a in (spec.answer or "").split(ALTERNATIVES.strip()) if a.strip()]


def char_diff(typed: str, expected: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Anki's type-in comparison: the typed text with its wrong characters marked ("bad"), and the
    expected text with the characters missing from the typed one marked ("missing"); the rest "good"."""
    matcher = SequenceMatcher(None, typed, expected, autojunk=False)
    given: list[tuple[str, str]] = []
    wanted: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            given.append((typed[i1:i2], "good"))
            wanted.append((expected[j1:j2], "good"))
            continue
        if i2 > i1:
            given.append((typed[i1:i2], "bad"))
        if j2 > j1:
            wanted.append((expected[j1:j2], "missing"))
    return given, wanted


# -- multiple choice that measures recall (issue 16) -------------------------------------------

OPTION_NOTE = ">"  # an indented `  > ` line under an option: that option's own explanation
UNSURE = "?"  # typed before an option's letter: the pick is unsure (never an option letter)
FORMATS = ("options", "recall_first", "typed", "recall")  # how a card was asked, kept with each review
FROM_OPTIONS = ("options", "recall_first")  # a choice card answered by picking among its options
LONG_OPTION = 5  # an option of this many words or more is matched on its key words when typed
KEY_WORDS_NEEDED = 0.75  # the share of a long option's key words a typed line must have
_SMALL_WORDS = frozenset("""a an the and or but of to in on at by for with from as is are was were be been it its
this that these those into than then so not no do does did can could will would should may might must
you your they their them we our he she his her which what who when where why how all any each more most
le la les un une des de du et ou en au aux der die das ein eine und oder el los las y""".split())


def key_words(text: str, accents: bool = True) -> list[str]:
    """The words of a text that carry its meaning: folded, without the small words (articles,
    prepositions, pronouns...), one letter words and repeats."""
    seen: list[str] = []
    for word in fold(text, accents).split():
        if len(word) > 1 and word not in _SMALL_WORDS and word not in seen:
            seen.append(word)
    return seen


def key_words_match(typed: str, option: str, accents: bool = True) -> bool:
    """Whether a typed line answers a long option (LONG_OPTION words or more): it has at least
    KEY_WORDS_NEEDED of the option's key words, each typed exactly or nearly (a word matches a typed
    word of at least 0.8 similarity, so one typo in a long word passes), in any order."""
    if len(fold(option, accents).split()) < LONG_OPTION:
        return False
    wanted = key_words(option, accents)
    given = key_words(typed, accents)
    if not wanted or not given:
        return False
    found = sum(any(w == g or (len(w) > 4 and SequenceMatcher(None, w, g, autojunk=False).ratio() >= 0.8)
                    for g in given) for w in wanted)
    return found >= KEY_WORDS_NEEDED * len(wanted)


def choice_format(stability: float | None, history: list[tuple[str | None, str | None, bool | None]],
                  recall_first: bool = True, typed_after_days: float = 21.0) -> str:
    """How a keyed choice card is asked next, from its memory stability and its history, oldest first, as
    (format, option chosen or line typed, right) per review (a format None is a review logged before
    formats were kept: asked with its options):

    - a wrong typed answer brings the options back for the next review;
    - a wrong option chosen twice (since the card was last asked typed) makes the next review typed, so
      the lure is not shown again;
    - a card whose stability passed `typed_after_days` is asked typed;
    - a card answered right at least once is asked recall first (the question alone, the options on
      request) when the deck's `recall_first` is on;
    - else with its options."""
    last = history[-1] if history else None
    if last is not None and last[0] == "typed" and last[2] is False:
        return "options"
    since_typed = []
    for fmt, response, right in history:
        if fmt == "typed":
            since_typed = []
        elif right is False and response is not None:
            since_typed.append(response)
    if any(since_typed.count(wrong) >= 2 for wrong in since_typed):
        return "typed"
    if stability is not None and stability >= typed_after_days:
        return "typed"
    if recall_first and any(right for _, _, right in history):
        return "recall_first"
    return "options"


# -- what the kinds share --------------------------------------------------------------------


@dataclass
class Graded:
    """What an answer was worth: right (None: cannot tell), the rating suggested, and for a typed
    answer the character diff of a near miss."""

    correct: bool | None
    suggested: int
    response: str | None = None  # what is kept in the log as the answer given (choice, typed text)
    diff: tuple | None = None
    expected: str | None = None  # the answer the typed text was compared with


@dataclass(frozen=True)
class Anki:
    """How a kind is written to Anki: the note type (`srs.anki.format`) and, for cards that share a
    note (siblings), the card's template ord in it."""

    model: str  # "basic", "choice", "cloze", "typed", "reversed"
    ord: int = 0


class Kind:
    name = "basic"
    how = "reveal"  # what the learner does: "reveal" (Enter shows the answer), "choose" a letter, "type" a line

    def asked(self, spec: CardSpec) -> str:
        """The text the learner is asked."""
        return spec.question

    def right_answer(self, spec: CardSpec) -> str | None:
        """The text that counts as right (None: not known yet)."""
        return spec.answer or None

    def shown_answer(self, spec: CardSpec) -> list[tuple[str, bool]]:
        """The answer side as (piece, marked) pieces."""
        return [(spec.answer, False)] if spec.answer else []

    def options(self, spec: CardSpec) -> list[str]:
        return []

    def needs_key(self, spec: CardSpec) -> bool:
        """Whether srs must ask the learner for the right answer before it can grade."""
        return False

    def grade(self, spec: CardSpec, response: str | None, accents: bool = True) -> Graded:
        return Graded(None, GOOD)

    def anki(self, spec: CardSpec) -> Anki:
        return Anki("basic")

    def sibling_key(self, spec: CardSpec) -> tuple:
        """Cards with the same key are siblings (one note in Anki, one text in a deck file)."""
        return ("card", id(spec))

    def deck_lines(self, spec: CardSpec, siblings: list[CardSpec] = ()) -> list[str]:
        """The lines of a card and its siblings in a deck file (`srs.decks.format_deck`), without
        the explanation."""
        return _basic_lines(spec, reversed_=False)


class Basic(Kind):
    def asked(self, spec: CardSpec) -> str:
        return (spec.answer or "") if spec.ord == 1 else spec.question

    def right_answer(self, spec: CardSpec) -> str | None:
        return spec.question if spec.ord == 1 else (spec.answer or None)

    def shown_answer(self, spec: CardSpec) -> list[tuple[str, bool]]:
        if spec.ord == 1:
            return [(spec.question, False)]
        return super().shown_answer(spec)

    def anki(self, spec: CardSpec) -> Anki:
        """A reversed card (ord 1) and its forward sibling are one "reversed" note with two cards; the
        export makes the forward card's note "reversed" when its sibling is exported with it."""
        return Anki("reversed", 1) if spec.ord == 1 else Anki("basic")

    def sibling_key(self, spec: CardSpec) -> tuple:
        return ("reversed", spec.question, spec.answer)

    def deck_lines(self, spec: CardSpec, siblings: list[CardSpec] = ()) -> list[str]:
        return _basic_lines(spec, reversed_=any(s.ord == 1 for s in siblings))


def _basic_lines(spec: CardSpec, reversed_: bool) -> list[str]:
    lines = question_lines(spec.question)
    if reversed_:
        lines.append("<->")
    elif len(lines) > 1 or (spec.answer and _looks_special(spec.answer)):
        lines.append("---")
    if spec.answer:
        lines += spec.answer.split("\n")
    return lines


_SPECIAL = re.compile(r"^(\s*[-*] \[( |x|X)\]|=( |$)|\s*---\s*$|\s*<->\s*$)")


def _looks_special(answer: str) -> bool:
    """An answer with a line that would read as another construct (an option, `= `, `---`, `<->`,
    a cloze deletion) unless a `---` comes before it."""
    if has_cloze(answer):
        return True
    in_fence = False
    for line in answer.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            in_fence = not in_fence
        elif not in_fence and _SPECIAL.match(line):
            return True
    return False


class Choice(Kind):
    name = "choice"
    how = "choose"

    def right_answer(self, spec: CardSpec) -> str | None:
        return spec.answer

    def shown_answer(self, spec: CardSpec) -> list[tuple[str, bool]]:
        return [(spec.answer, True)] if spec.answer else []

    def options(self, spec: CardSpec) -> list[str]:
        return list(spec.options or [])

    def needs_key(self, spec: CardSpec) -> bool:
        return spec.answer is None

    def grade(self, spec: CardSpec, response: str | None, accents: bool = True, unsure: bool = False) -> Graded:
        """A pick: sure and right suggests Good, unsure and right Hard, wrong Again (never Hard)."""
        if response is None or spec.answer is None:
            return Graded(None, GOOD, response)
        right = response == spec.answer
        return Graded(right, (HARD if unsure else GOOD) if right else AGAIN, response)

    def grade_typed(self, spec: CardSpec, response: str | None, accents: bool = True) -> Graded:
        """A choice card asked as a typed answer (escalated, see `choice_format`): the right option's text is
        the answer, graded as a typed card's (folded, near miss diffed). A long option (`LONG_OPTION` words or
        more) is also right when the line has most of its key words (`key_words_match`)."""
        graded = _KINDS["typed"].grade(CardSpec(question=spec.question, answer=spec.answer or "", kind="typed"),
                                       response, accents)
        if graded.correct is False and response and key_words_match(response, spec.answer or "", accents):
            return Graded(True, GOOD, response)
        return graded

    def anki(self, spec: CardSpec) -> Anki:
        return Anki("choice")

    def deck_lines(self, spec: CardSpec, siblings: list[CardSpec] = ()) -> list[str]:
        lines = question_lines(spec.question)
        notes = spec.option_notes or {}
        for option in spec.options or []:
            mark = "x" if option == spec.answer else " "
            lines.append(f"- [{mark}] {' '.join(option.split())}")
            if notes.get(option):
                lines += [f"  {OPTION_NOTE} {line}".rstrip() for line in notes[option].split("\n")]
        return lines


class Cloze(Kind):
    name = "cloze"

    def _raw(self, spec: CardSpec) -> bool:
        return has_cloze(spec.question)

    def asked(self, spec: CardSpec) -> str:
        return cloze_question(spec.question, spec.ord + 1) if self._raw(spec) else spec.question

    def right_answer(self, spec: CardSpec) -> str | None:
        return spec.answer or None

    def shown_answer(self, spec: CardSpec) -> list[tuple[str, bool]]:
        if self._raw(spec):
            return cloze_parts(spec.question, spec.ord + 1)
        return super().shown_answer(spec)  # an Anki cloze card: its back as Anki rendered it

    def anki(self, spec: CardSpec) -> Anki:
        return Anki("cloze", spec.ord)

    def sibling_key(self, spec: CardSpec) -> tuple:
        return ("cloze", spec.question)

    def deck_lines(self, spec: CardSpec, siblings: list[CardSpec] = ()) -> list[str]:
        return question_lines(spec.question)


class Typed(Kind):
    name = "typed"
    how = "type"

    def right_answer(self, spec: CardSpec) -> str | None:
        return spec.typed_answer if spec.typed_answer is not None else (spec.answer or None)

    def shown_answer(self, spec: CardSpec) -> list[tuple[str, bool]]:
        answers = accepted(spec)
        if spec.typed_answer is not None and spec.answer and spec.answer != spec.typed_answer:
            return [(spec.answer, False)]  # an Anki card's back, the answer to type included
        return [(ALTERNATIVES.join(answers), True)] if answers else []

    def grade(self, spec: CardSpec, response: str | None, accents: bool = True) -> Graded:
        answers = accepted(spec)
        if response is None or not answers:
            return Graded(None, GOOD, response)
        typed = fold(response, accents)
        if any(typed == fold(answer, accents) for answer in answers):
            return Graded(True, GOOD, response)
        best = max(answers, key=lambda a: SequenceMatcher(None, typed, fold(a, accents), autojunk=False).ratio())
        near = SequenceMatcher(None, fold(response), fold(best), autojunk=False).ratio() >= 0.5
        return Graded(False, AGAIN, response, char_diff(response.strip(), best) if near and response.strip() else None,
                      best)

    def anki(self, spec: CardSpec) -> Anki:
        return Anki("typed")

    def deck_lines(self, spec: CardSpec, siblings: list[CardSpec] = ()) -> list[str]:
        return question_lines(spec.question) + ["= " + ALTERNATIVES.join(accepted(spec))]


def from_anki(model: str, question: str, answer: str, explanation: str | None, ord_: int,
              extra: list[str]) -> CardSpec:
    """A card of one of our own Anki note types (`srs.anki.format`: "cloze", "typed", "reversed") as
    the srs card it was written from: its kind, sibling ord and answer."""
    if model == "cloze":
        return CardSpec(question=question, answer=cloze_deleted(question, ord_ + 1), kind="cloze", ord=ord_,
                        explanation=explanation)
    if model == "typed":
        others = extra[0].strip() if extra else ""
        return CardSpec(question=question, answer=answer + (ALTERNATIVES + others if others else ""), kind="typed",
                        explanation=explanation)
    return CardSpec(question=question, answer=answer, ord=ord_, explanation=explanation)


def question_lines(question: str) -> list[str]:
    """A question as deck-file lines: its first line after `## `, the rest as the question body."""
    first, _, rest = question.partition("\n")
    return [f"## {first}"] + (rest.split("\n") if rest else [])


_KINDS = {"basic": Basic(), "choice": Choice(), "cloze": Cloze(), "typed": Typed()}


def of(spec: CardSpec) -> Kind:
    """The kind of a card."""
    return _KINDS.get(spec.kind) or _KINDS["basic"]


# -- images ----------------------------------------------------------------------------------


def image_refs(text: str) -> list[tuple[str, str]]:
    """(alt, path) of each `![alt](path)` in a text."""
    return [(m.group(1), m.group(2).strip()) for m in IMAGE.finditer(text or "")]


def with_image_marks(text: str) -> str:
    """A text with its `![alt](path)` images as `[image: path]` marks (how review names them)."""
    return IMAGE.sub(lambda m: f"[image: {m.group(2).strip()}]", text or "")

