"""Plain domain objects shared by the parsers, the store and the front ends.

Parsers (deck files, lessons, CSV, .apkg) produce `DeckSpec`s; the store turns them
into rows; nothing here touches the database or the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class SrsError(Exception):
    """An error meant for the learner: one line, naming the file and line where there is one."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return where + self.message


@dataclass
class CardSpec:
    """A card as a source (deck file, lesson, CSV, Anki package) describes it.

    `kind` is one of `srs.kinds.KINDS` ("basic", "choice", "cloze", "typed"); left out, it
    follows from the other fields (options: choice; an answer to type: typed; a card of an
    Anki cloze note: cloze; else basic). What each kind means is defined in `srs.kinds`:
    a choice card has `options` and its `answer` is the correct option (None while the key
    is unknown); a basic card's `answer` is its answer text ("" when still to be written);
    a cloze card's `question` is the whole text with its `{{cN::...}}` deletions and `ord`
    its cloze number - 1; a typed card's `answer` is what counts as right
    (alternatives separated by " | "). Siblings share their text and differ by `ord`:
    the cloze numbers of one text, or a basic card (0) and its reversed card (1).
    """

    question: str
    answer: str | None = None
    options: list[str] | None = None
    explanation: str | None = None
    line: int | None = None  # line of the question in its source, for messages
    key_source: str | None = None  # who gave the key: "deck", "lesson", "learner", "anki"...
    tags: list[str] = field(default_factory=list)
    source_id: str | None = None  # a stable id the source gives (an Anki note guid...)
    reviews: list[Review] = field(default_factory=list)  # history a source brings along
    schedule: ImportedSchedule | None = None  # the card's schedule as the source keeps it (Anki)
    hint: str | None = None  # shown on request before the answer (Anki's {{hint:Field}})
    typed_answer: str | None = None  # the answer to type, when the source asks for one (Anki's {{type:Field}})
    note: NoteSpec | None = None  # the Anki note this card is one card of (kept to write it back as the same note)
    kind: str = ""  # "basic", "choice", "cloze" or "typed" (see srs.kinds); "" = from the fields above
    ord: int = 0  # which sibling: cloze number - 1, or 1 for the reversed card of a basic card
    images: dict[str, str] = field(default_factory=dict)  # image path as the text writes it -> media name
    option_notes: dict[str, str] = field(default_factory=dict)  # a choice card's option -> why it is wrong or right
    anki_card_id: int | None = None  # the Anki card id of a package's card (what an FSRS review log calls card_id)

    def __post_init__(self) -> None:
        if not self.kind:
            if self.options is not None:
                self.kind = "choice"
            elif self.typed_answer is not None:
                self.kind = "typed"
            elif self.note is not None and self.note.note_type.kind == 1:
                self.kind = "cloze"
            else:
                self.kind = "basic"

    @property
    def keyed(self) -> bool:
        return self.kind != "choice" or self.answer is not None


@dataclass
class DeckSpec:
    """A deck as a source describes it: a name, optional notes and its cards in order."""

    name: str
    cards: list[CardSpec] = field(default_factory=list)
    source: str | None = None  # path of the file it came from
    notes: str | None = None  # free text kept with the deck (a lesson's premise...)
    report: dict = field(default_factory=dict)  # parser's own figures for the import report
    settings: dict = field(default_factory=dict)  # scheduling settings the source gives (Anki's deck options)
    html: bool = False  # the deck's text is HTML on purpose (exported as is, not escaped)
    partial: bool = False  # the source lists only some of the deck's cards: the others are not retired
    media: object | None = None  # where the media files its notes reference can be read (`anki.package.PackageMedia`)
    files: dict[str, str] = field(default_factory=dict)  # media name -> file to read it from (a deck file's images)
    accents_optional: bool = False  # typed answers may leave out accents (a deck file's directive)


@dataclass(frozen=True)
class NoteType:
    """An Anki note type as its package defines it, kept whole so that notes go back as they came."""

    id: int  # Anki's note type id
    name: str
    kind: int  # 0 standard, 1 cloze
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, question format, answer format), by ord
    css: str = ""
    sort_field: int = 0


@dataclass
class NoteSpec:
    """The Anki note a card comes from: its identity (guid), note type, raw fields and tags.

    Every card of a note (siblings: reversed cards, cloze deletions) carries the same
    note, with its own `ord` (template index, or cloze number - 1)."""

    guid: str
    note_type: NoteType
    fields: list[str]  # raw field values (HTML), in the note type's field order
    tags: list[str] = field(default_factory=list)
    ord: int = 0
    media: list[str] = field(default_factory=list)  # media file names the fields reference
    mod: int | None = None  # Anki's note modification time (seconds): an import keeps the newer note


@dataclass
class Review:
    """One answer in a card's history (a row of the review log)."""

    reviewed_at: datetime  # UTC
    rating: int  # 1 Again, 2 Hard, 3 Good, 4 Easy
    kind: str = "review"  # "learn", "review" or "relearn" (the state before the answer, as Anki's revlog type)
    duration_ms: int | None = None
    choice: str | None = None  # for choice cards, the option chosen
    correct: bool | None = None
    due_after: datetime | None = None  # when the answer made the card due next
    card_id: int | None = None
    anki_id: int | None = None  # the Anki revlog id (Unix ms) of an answer imported from Anki
    format: str | None = None  # how the card was asked: "options", "recall_first", "typed" or "recall" (srs.kinds)


STATES = ("new", "learning", "review", "relearning")


@dataclass
class Progress:
    """A card's scheduling: FSRS memory state plus our own counters."""

    state: str = "new"  # one of STATES; "new" means never reviewed
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False


@dataclass
class ImportedSchedule:
    """A card's schedule as its source (an Anki collection) keeps it, in srs's terms.

    `due_day` is a learner day number (`clock.day_number`) for review and day-learning
    cards; `due_at` an exact time for learning steps within a day. `reset_at` is the time
    of the card's last reset to new ("Forget"): answers before it do not count.
    """

    state: str = "new"  # one of STATES
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due_day: int | None = None
    due_at: datetime | None = None
    last_review: datetime | None = None
    interval: int = 0  # days, as the source gives it (review cards)
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until_day: int | None = None  # buried until this learner day starts
    reset_at: datetime | None = None
    progress: bool = True  # False: only the suspension and burying came (an import without progress)


@dataclass
class StoredCard:
    """A card as the store holds it: its id, deck, content, progress and (when asked for) history."""

    id: int
    deck: str
    spec: CardSpec
    progress: Progress = field(default_factory=Progress)
    reviews: list[Review] = field(default_factory=list)
    deck_id: int | None = None
