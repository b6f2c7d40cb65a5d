"""A review session, free of any user interface: the terminal front end (or a test) drives it.

It picks the next card from the store each time (so a second session's answers are
seen at once), applies the learner-day limits, schedules answers with FSRS and
commits each answer before the next card is picked. Queue order: learning cards due
now, then due reviews (most overdue first), then new cards in deck order; when
nothing else is left, learning cards due within the next 20 minutes (Anki's "learn
ahead" limit). A review card is due from the start of its learner day (as Anki shows it).

The review rules of each card kind (`srs.kinds`) are applied here, not in a front end:
`ask(card)` says what to show and how the learner answers (reveal, choose an option, type a
line), `check(asked, response)` whether the response is right, which rating Enter gives
(right: Good, wrong: Again) and the answer side to show; `answer` keeps the response and
its verdict in the log.

`show(card)` computes the card's four next states when it is shown; `answer` applies the
one shown for the rating given, even when the learner day changed while the card was on
screen (the interval is the one shown, counted from the answer's day; the log keeps the
real answer time). `due_by_deck` and `next_due` read the queue with the same rules as
`next_card`, so `srs status`, the session summary and `srs review` agree.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from typing import TYPE_CHECKING

from srs import clock, scheduling
from srs.model import Progress, Review, SrsError, StoredCard

if TYPE_CHECKING:
    from srs.kinds import Graded
from srs.scheduling import Settings
from srs.store import Store

LEARN_AHEAD = timedelta(minutes=20)
AHEAD_LIMIT = 1_000_000  # reviews a session studying ahead may show (no daily limit)
CRAM_TEXT = "no change"  # what a rating gives a card being practised (`--cram`): its schedule stays
CHECKPOINT_EVERY = 50  # answers between WAL checkpoints: a copy of the .db alone lags by at most this many
RECOUNT_SECONDS = 30  # how often today's answers are counted again from the store


class _CtrlCAfterCommit:
    """An answer's commit and the session's record of it (its summary, its undo) as one step for Ctrl-C.

    Until the store has committed, Ctrl-C stops the answer as Python's own handler does (the write rolls
    back whole, a wait for a busy database ends); from the COMMIT on, it is held back until the `with`
    block has recorded the answer, then raised. The commit is seen from the connection (no transaction
    open, rows changed since the block began) for a Ctrl-C that lands between COMMIT and the store's
    return, and from `committed()` once it has returned. Only where Ctrl-C is Python's KeyboardInterrupt,
    in the main thread; elsewhere the block runs as it is."""

    def __init__(self, store: Store) -> None:
        self.conn = store.conn
        self.done = False  # the store's write returned
        self.heard = False  # a Ctrl-C held back
        self.previous = None

    def committed(self) -> None:
        self.done = True

    def _on_ctrl_c(self, signum, frame) -> None:
        if self.done or (not self.conn.in_transaction and self.conn.total_changes > self.start):
            self.heard = True
            return
        raise KeyboardInterrupt

    def __enter__(self) -> "_CtrlCAfterCommit":
        import signal

        self.start = self.conn.total_changes
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self.previous = signal.signal(signal.SIGINT, self._on_ctrl_c)
        except ValueError:  # not the main thread: no handler can be set
            pass
        return self

    def __exit__(self, *error) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)  # (runs a pending Ctrl-C first: held back too)
        if self.heard:
            raise KeyboardInterrupt  # the answer is committed and recorded: now it stops the session


@dataclass
class Answered:
    review_id: int
    card_id: int
    rating: int
    right: bool
    duration_ms: int
    balanced_day: int | None = None  # the learner day its new due was counted on in the deck's load balancer
    cram: bool = False  # a practice answer (the card's state untouched)


@dataclass
class Effects:
    """What an answer did besides scheduling its card: siblings buried for the day, the card made a
    leech (tagged `leech`, and suspended when the deck's `leech_action` says so)."""

    buried: list[int] = field(default_factory=list)  # siblings buried by it, until `until`
    until: str | None = None
    leech: bool = False
    tagged: bool = False  # the `leech` tag was added by it
    suspended: bool = False  # the leech was suspended by it
    before: tuple | None = None  # the card's (suspended, buried_until) before it was suspended as a leech


@dataclass
class Action:
    """One thing the learner did in this session, as `undo` takes it back: an answer (with its
    effects), or a suspension, a burial or a flag of one card (with what it changed)."""

    what: str  # "answer", "suspend", "bury", "flag"
    card_id: int
    answered: Answered | None = None
    effects: Effects | None = None
    before: tuple | None = None  # (suspended, buried_until, flag) before the action
    after: tuple | None = None  # (suspended, buried_until) or (flag,) as the action left it


@dataclass
class Undone:
    """What `undo` took back (`done`), or could not (another session changed the card since)."""

    what: str
    card: StoredCard | None
    done: bool = True


@dataclass
class EditTarget:
    """Where to edit a card: its deck file and the line of its question (`path` None: `message` says where)."""

    path: str | None
    line: int | None = None
    message: str = ""


@dataclass
class Summary:
    cards: int
    right: int
    seconds: float
    next_due: datetime | None
    leeches: list[int] = field(default_factory=list)  # cards that became leeches in this session

    @property
    def percent_right(self) -> float | None:
        return None if not self.cards else 100.0 * self.right / self.cards


@dataclass
class Shown:
    """A card as shown: the states each rating gives (computed when shown) and their button texts."""

    card: StoredCard
    at: datetime
    states: dict[int, Progress]
    texts: dict[int, str]


@dataclass
class Asked:
    """What the learner is asked about a card (the review rules of its kind, `srs.kinds`): `how` they
    answer ("reveal": Enter shows the answer; "choose" one of `options`, shuffled afresh; "type" a
    line), the question `text` (a cloze card's deletion as `[...]`), the hint kept behind a key, and
    whether srs must first ask for the key (an unkeyed choice card)."""

    card: StoredCard
    kind: str
    how: str
    text: str
    options: list[str] = field(default_factory=list)
    hint: str | None = None
    needs_key: bool = False
    answers: list[str] = field(default_factory=list)  # a typed card's right answers (a line that is one is no command)
    format: str | None = None  # how it is asked (`srs.kinds.FORMATS`): a choice card "options", "recall_first"
    #                            (the question alone, the options on request) or "typed" (`how` is then "type")


@dataclass
class Checked:
    """An answer judged: `graded` (right or not, the rating Enter gives, a typed near miss's diff)
    and the answer side as (piece, marked) pieces, then the explanation."""

    graded: Graded
    answer: list[tuple[str, bool]]
    explanation: str | None = None
    unsure: bool = False  # a pick marked unsure (right: Hard)
    option_note: str | None = None  # the explanation of the option chosen (the deck's `  > ` line under it)
    right_note: str | None = None  # after a wrong pick, the explanation of the right option

    @property
    def sure_wrong(self) -> bool:
        """A wrong answer given as sure: its feedback is emphasised (confident errors, once corrected, are
        the ones best remembered)."""
        return self.graded.correct is False and not self.unsure

    @property
    def suggested(self) -> int:
        return self.graded.suggested


@dataclass
class _Deck:
    id: int
    settings: Settings


@dataclass
class ReviewSession:
    store: Store
    deck_id: int | None = None  # alone: only this deck (`srs key`, a card shown by `srs card`)
    # a deck with its subdecks (`Store.deck_tree`: `srs review DECK`); `deck_id` is then its own deck, if any
    deck_ids: tuple[int, ...] | None = field(default=None, kw_only=True)
    now: Callable[[], datetime] = clock.now
    answered: list[Answered] = field(default_factory=list)
    balancer: scheduling.Balancer | None = None  # chooses the day inside the fuzz window; None: each deck's own
    read_only: bool = False  # only reads the queue (status): leaves the store's checkpoints alone
    extra_new: int = 0  # new cards allowed today beyond the limits (`srs review --new N`), for this session
    ahead_days: int = 0  # also review cards due within this many learner days (`srs review --ahead N`)
    cram: list[int] | None = None  # practice these cards, states untouched (`srs review --cram QUERY`)
    cram_left_out: int = 0  # cards of `cram` left out of the practice: suspended or buried (`_practisable`)
    _returning: int | None = None  # a card brought back by undo, shown next
    notices: list[str] = field(default_factory=list)  # races lost, for the learner: see take_notice
    actions: list[Action] = field(default_factory=list)  # what `undo` takes back, last first
    effects: Effects | None = None  # what the last answer did besides scheduling its card

    def __post_init__(self) -> None:
        if self.deck_id is not None and self.deck_ids is None:
            self.decks = [_Deck(self.deck_id, Settings.from_dict(self.store.deck_settings(self.deck_id)))]
            self._limits, self._limits_of = [], {}
        else:
            shared = self.store.global_settings()
            chosen = self.store.decks()
            if self.deck_ids is not None:
                wanted = set(self.deck_ids)
                chosen = [d for d in chosen if d["id"] in wanted]
            self.decks = [_Deck(d["id"], Settings.from_dict({**shared, **d["settings"]})) for d in chosen]
            self._limit_groups(chosen, Settings.from_dict(shared))
        self._shuffle = random.Random()
        self._cram = None if self.cram is None else self._practisable(self.cram)  # the practice queue still to show
        self._done: dict = {}  # today's answer counts per deck, see _answered_by_deck
        self._shown: Shown | None = None  # the card on screen
        self._unfolded = 0  # answers committed since the last WAL checkpoint
        self._asked: Asked | None = None  # what was last asked (`ask`): its format goes into the log
        self._balancers: dict[int, object] = {}  # deck id -> its load balancer (read when first needed)
        if not self.read_only:
            self.store.hold_checkpoints()  # answers commit without a WAL checkpoint inside; see close()

    # -- the queue ------------------------------------------------------------------

    def _practisable(self, card_ids: list[int]) -> list[int]:
        """The cards a practice session (`--cram`) takes: those found that are neither suspended nor buried
        (a burial whose learner day is over no longer counts), as Anki's filtered decks never take either,
        whatever the search says. `cram_left_out` counts the others; none left is an error."""
        stamp = clock.to_text(self.now())
        kept = []
        flags = self.store.cards_flags(card_ids)  # one query per 500 cards, not one per card
        for card_id in card_ids:
            suspended, buried_until, _ = flags[card_id]
            if not suspended or (suspended == 2 and buried_until is not None and buried_until <= stamp):
                kept.append(card_id)
        self.cram_left_out = len(card_ids) - len(kept)
        if card_ids and not kept:
            raise SrsError(f"the {len(card_ids):,} card(s) found are all suspended or buried, and practice leaves "
                           "those out (as Anki's filtered decks do): unsuspend or unbury them first")
        return kept

    def _limit_groups(self, decks: list[dict], shared: Settings) -> None:
        """The limits that bound several decks together, as Anki's parent decks do: every deck chosen
        bounds itself and its chosen subdecks (`A` bounds `A` and `A::...`), and the whole choice is
        bounded by the collection's limits (`srs config new_per_day N` without a deck) when reviewing all
        decks or a parent that is no deck of its own (whose settings are the collection's, as any deck's
        it does not set). `_limits`: (settings, deck ids) each; `_limits_of`: deck id -> its groups."""
        from srs.store import deck_key

        settings = {deck.id: deck.settings for deck in self.decks}
        ids = tuple(d["id"] for d in decks)
        by_key: dict[str, int] = {}
        for d in decks:
            by_key.setdefault(deck_key(d["name"]), d["id"])
        members: dict[int, list[int]] = {}  # a deck with subdecks chosen -> itself and those subdecks
        for d in decks:
            parts = deck_key(d["name"]).split("::")
            for depth in range(1, len(parts)):
                parent = by_key.get("::".join(parts[:depth]))
                if parent is not None and parent != d["id"]:
                    members.setdefault(parent, [parent]).append(d["id"])
        self._limits = [(settings[parent], tuple(group)) for parent, group in members.items()]
        if self.deck_id is None:  # all decks, or a parent known only by its subdecks' names
            self._limits.append((shared, ids))
        self._limits_of = {}
        for index, (_, group) in enumerate(self._limits):
            for deck_id in group:
                self._limits_of.setdefault(deck_id, []).append(index)

    def _today(self, now: datetime) -> dict[int, tuple[str, int, int]]:
        """Per deck: the end of its learner day, and how many new cards and reviews it may still show today.

        Every limit holds at once: the deck's own, and those of the groups it is in (`_limit_groups`:
        its parent decks', and reviewing all decks the collection's): a deck's allowance is at most
        what each of them has left, and `_groups_left` says how much that is. Today's answers are read
        once for all decks that share a day-start hour."""
        out = {}
        for hour in {deck.settings.day_start_hour for deck in self.decks}:
            start, end = (clock.to_text(t) for t in clock.day_bounds(now, hour))
            done = self._answered_by_deck(start, end)
            if self.ahead_days:  # studying ahead: reviews due up to the end of that day, with no limit
                end = clock.to_text(clock.day_start(clock.day_number(now, hour) + self.ahead_days + 1, hour))
            for deck in self.decks:
                if deck.settings.day_start_hour == hour:
                    new_done, reviews_done = done.get(deck.id, (0, 0))
                    out[deck.id] = (end, max(deck.settings.new_per_day + self.extra_new - new_done, 0),
                                    AHEAD_LIMIT if self.ahead_days else
                                    max(deck.settings.reviews_per_day - reviews_done, 0))
        lefts = self._groups_left(now)
        for deck, groups in self._limits_of.items():
            end, new, reviews = out[deck]
            out[deck] = (end, min([new] + [lefts[g][0] for g in groups]),
                         min([reviews] + [lefts[g][1] for g in groups]))
        return out

    def _ahead(self, deck, now: datetime) -> tuple[str, str] | None:
        """Studying ahead: (end, start) of the deck's learner day today, so that a card answered today
        is not shown again though its new due date still falls in the window; None otherwise."""
        if not self.ahead_days:
            return None
        start, end = clock.day_bounds(now, deck.settings.day_start_hour)
        return clock.to_text(end), clock.to_text(start)

    def _groups_left(self, now: datetime) -> list[tuple[int, int]]:
        """(new cards, reviews) each group of `_limit_groups` may still show today: its limits less today's
        answers in its decks, over its learner day (studying ahead: no review limit)."""
        out = []
        for settings, group in self._limits:
            start, end = (clock.to_text(t) for t in clock.day_bounds(now, settings.day_start_hour))
            done = self._answered_by_deck(start, end)
            new_done = sum(done[d][0] for d in group if d in done)
            reviews_done = sum(done[d][1] for d in group if d in done)
            out.append((max(settings.new_per_day + self.extra_new - new_done, 0),
                        AHEAD_LIMIT if self.ahead_days else max(settings.reviews_per_day - reviews_done, 0)))
        return out

    def _shared(self, counts: list[int], which: int, lefts: list[tuple[int, int]]) -> list[int]:
        """Per-deck counts (each within its deck's limit) cut so that each group's sum stays within what
        it has left (`lefts`, from `_groups_left`; `which`: 0 new cards, 1 reviews), decks in order."""
        room = [left[which] for left in lefts]
        out = []
        for deck, count in zip(self.decks, counts):
            groups = self._limits_of.get(deck.id, ())
            count = min([count] + [room[g] for g in groups])
            for g in groups:
                room[g] -= count
            out.append(count)
        return out

    def _answered_by_deck(self, start: str, end: str) -> dict[int, list[int]]:
        """Today's (new cards, reviews) per deck: read from the store, then kept up to date by this
        session's own answers; read again every RECOUNT_SECONDS (to see other sessions' answers),
        when the day changes and after an undo."""
        cached = self._done.get((start, end))
        if cached is None or time.monotonic() - cached[0] > RECOUNT_SECONDS:
            counts = {deck: list(pair) for deck, pair in self.store.answered_by_deck(start, end).items()}
            self._done[(start, end)] = (time.monotonic(), counts)
            return counts
        return cached[1]

    def _count_answer(self, card: StoredCard, when: datetime) -> None:
        for (start, end), (_, counts) in self._done.items():
            if start <= clock.to_text(when) < end:
                pair = counts.setdefault(card.deck_id, [0, 0])
                pair[0] += card.progress.state == "new"
                pair[1] += card.progress.state == "review"

    def next_card(self) -> StoredCard | None:
        """The card to show now, or None when the session is done."""
        if self._returning is not None:
            card_id, self._returning = self._returning, None
            return self.store.card(card_id)
        if self._cram is not None:
            return self.store.card(self._cram[0]) if self._cram else None
        now = self.now()
        store = self.store
        # each kind of card is looked for only when no card of an earlier kind is ready
        learning = sorted(row for deck in self.decks if (row := store.first_learning(deck.id)))
        if learning and learning[0][0] <= clock.to_text(now):
            return store.card(learning[0][1])
        today = self._today(now)
        review = [row for deck in self.decks if today[deck.id][2]
                  and (row := store.first_due_review(deck.id, today[deck.id][0], self._ahead(deck, now)))]
        if review:
            return store.card(min(review)[1])
        for deck in self.decks:  # new cards: decks in order, each within its day's limit
            if today[deck.id][1] and (row := store.first_new(deck.id)):
                return store.card(row[1])
        if learning and learning[0][0] <= clock.to_text(now + LEARN_AHEAD):
            return store.card(learning[0][1])
        return None

    def remaining(self) -> dict[str, int]:
        """What is left today: new cards (within the limit), learning cards due today, due reviews (within the limit).

        Each count reads the queue index and stops at the day's limit, so it costs the
        same for a hundred cards or a hundred thousand.
        """
        counts = {"new": 0, "learning": 0, "review": 0}
        if self._cram is not None:  # practice: what the practice queue still holds, by each card's state
            for card_id in self._cram:
                counts[self._cram_bucket(card_id)] += 1
            return counts
        now = self.now()
        store = self.store
        today = self._today(now)
        ahead_text = clock.to_text(now + LEARN_AHEAD)
        news, reviews = [], []
        for deck in self.decks:
            _, new_left, reviews_left = today[deck.id]
            news.append(store.count_new(deck.id, new_left))
            reviews.append(store.count_due_reviews(deck.id, today[deck.id][0], reviews_left, self._ahead(deck, now)))
            # learning cards as next_card shows them: those due within the learn-ahead (due_by_deck too)
            counts["learning"] += store.count_due_learning(deck.id, ahead_text, inclusive=True)
        lefts = self._groups_left(now)  # the groups' allowances (studying ahead has no review limit, as _today)
        counts["new"] = sum(self._shared(news, 0, lefts))
        counts["review"] = sum(self._shared(reviews, 1, lefts))
        return counts

    def _cram_bucket(self, card_id: int) -> str:
        """The header count a practice card falls in (new, learning or review), read once per card: a
        practice answer leaves the card's state as it is."""
        buckets = self.__dict__.setdefault("_cram_buckets", {})
        if card_id not in buckets:
            state = self.store.card_row(card_id)[10]  # STATE_NAMES: new, learning, review, relearning
            buckets[card_id] = ("new", "learning", "review", "learning")[state]
        return buckets[card_id]

    def due_by_deck(self) -> dict[int, dict[str, int]]:
        """Per deck, what a review of that deck started now would show, by the rules of `next_card`:
        `review` (due before the end of the learner day, within the day's limit), `new` (within the
        limit), `learning` (due within the learn-ahead: shown first when due, else once nothing else is
        left) and `due_now` = review + learning."""
        now = self.now()
        store = self.store
        today = self._today(now)
        ahead_text = clock.to_text(now + LEARN_AHEAD)
        reviews = [store.count_due_reviews(deck.id, today[deck.id][0], today[deck.id][2]) for deck in self.decks]
        news = [store.count_new(deck.id, today[deck.id][1]) for deck in self.decks]
        lefts = self._groups_left(now)  # the collection's and parent decks' allowances shared out in deck order
        reviews = self._shared(reviews, 1, lefts)
        news = self._shared(news, 0, lefts)
        out = {}
        for deck, review, new in zip(self.decks, reviews, news):
            # next_card shows learning cards due now first, and those due within the learn-ahead once no
            # review or new card is left: a review started now shows them all
            learning = store.count_due_learning(deck.id, ahead_text, inclusive=True)
            out[deck.id] = {"review": review, "new": new, "learning": learning, "due_now": review + learning}
        return out

    def next_due(self, due: dict[int, dict[str, int]] | None = None) -> datetime | None:
        """The moment the next studied (not new) card would appear in a review: now when one is due now;
        a review card from the start of its learner day (the next day's when today's limit is used up);
        a learning card the learn-ahead before its due (nothing else is left then, or it would be now).
        `due`: `due_by_deck()` when the caller has it already."""
        now = self.now()
        if due is None:
            due = self.due_by_deck()
        if any(counts["due_now"] for counts in due.values()):
            return now
        store = self.store
        today = self._today(now)
        moments = []
        for deck in self.decks:
            hour = deck.settings.day_start_hour
            end, _, reviews_left = today[deck.id]
            row = store.first_review_due_from(deck.id, end if reviews_left else None)
            if row is not None:
                day = max(scheduling.day_of(clock.from_text(row[0]), deck.settings), clock.day_number(now, hour))
                start = clock.day_start(day, hour)
                moments.append(start if start > now else clock.day_start(clock.day_number(now, hour) + 1, hour))
            if (row := store.first_learning(deck.id)) is not None:
                moments.append(max(clock.from_text(row[0]) - LEARN_AHEAD, now))
        return min(moments, default=None)

    # -- one card -------------------------------------------------------------------

    def shuffled_options(self, card: StoredCard) -> list[str]:
        """A choice card's options in a fresh random order (every time the card is shown)."""
        from srs import kinds  # (imported when a card is shown: `srs status` reads the queue without it)

        options = kinds.of(card.spec).options(card.spec)
        self._shuffle.shuffle(options)
        return options

    # -- the review rules of each kind (srs.kinds): front ends only draw them and read keys --------

    def ask(self, card: StoredCard) -> Asked:
        """What to show and ask for this card."""
        from srs import kinds

        kind = kinds.of(card.spec)
        fmt = self.format_for(card)
        if fmt == "typed" and kind.how == "choose":  # escalated: the right option's text is the answer to type
            asked = Asked(card, kind.name, "type", kind.asked(card.spec), [], card.spec.hint, False,
                          [card.spec.answer], fmt)
        else:
            asked = Asked(card, kind.name, kind.how, kind.asked(card.spec),
                          self.shuffled_options(card) if kind.how == "choose" else [],
                          card.spec.hint, kind.needs_key(card.spec),
                          kinds.accepted(card.spec) if kind.how == "type" else [], fmt)
        self._asked = asked
        return asked

    def format_for(self, card: StoredCard) -> str:
        """How the card is asked (`srs.kinds.FORMATS`): a keyed choice card by `kinds.choice_format` from its
        stability, its history and its deck's `recall_first` and `typed_after_days`; an unkeyed one with its
        options; a typed card "typed"; basic and cloze cards "recall"."""
        from srs import kinds

        kind = kinds.of(card.spec)
        if kind.how == "type":
            return "typed"
        if kind.how != "choose":
            return "recall"
        if kind.needs_key(card.spec):
            return "options"
        settings = self.settings_for(card)
        history = [(r.format, r.choice, r.correct) for r in self.store.reviews_of(card.id)]
        return kinds.choice_format(card.progress.stability, history, settings.recall_first,
                                   settings.typed_after_days)

    def check(self, asked: Asked, response: str | None = None, unsure: bool = False) -> Checked:
        """Judge a response (the option chosen, the line typed; None for a card whose answer is only
        revealed): whether it is right, the rating suggested (right: Good, a right pick marked `unsure`:
        Hard, wrong: Again; a card that cannot be judged: Good) and the answer side to show, with the
        explanation of the option chosen (and of the right one after a wrong pick)."""
        from srs import kinds

        spec = asked.card.spec
        kind = kinds.of(spec)
        accents = not self.accents_optional(asked.card)
        if kind.name != "choice":
            return Checked(kind.grade(spec, response, accents=accents), kind.shown_answer(spec), spec.explanation)
        if asked.format == "typed":
            graded = kind.grade_typed(spec, response, accents)
            unsure = False
        else:
            graded = kind.grade(spec, response, accents, unsure=unsure)
        notes = spec.option_notes or {}
        chosen = notes.get(response) if response is not None and asked.format != "typed" else None
        right = notes.get(spec.answer) if graded.correct is False and spec.answer is not None else None
        return Checked(graded, kind.shown_answer(spec), spec.explanation, unsure, chosen,
                       right if right != chosen else None)

    def accents_optional(self, card: StoredCard) -> bool:
        """Whether a typed answer may leave out accents (a deck file's `<!-- srs: accents optional -->`)."""
        return bool(self.store.deck_settings(card.deck_id).get("accents_optional", False))

    def settings_for(self, card: StoredCard) -> Settings:
        for deck in self.decks:
            if deck.id == card.deck_id:
                return deck.settings
        return Settings.from_dict(self.store.deck_settings(card.deck_id))

    def show(self, card: StoredCard) -> Shown:
        """The card is on screen: compute what each rating gives now; `answer` applies exactly that."""
        settings = self.settings_for(card)
        now = self._not_before_last_answer(card, self.now())
        states = scheduling.next_states(settings, card.id, card.progress, now, self._balancer_for(card, now))
        self._shown = Shown(card, now, states,
                            {rating: CRAM_TEXT if self._cram is not None else scheduling.interval_text(settings, state)
                             for rating, state in states.items()})
        return self._shown

    def _balancer_for(self, card: StoredCard, now: datetime):
        """The load balancer of the card's deck (Anki 24.11's, `srs.load_balance`), or None when the deck's
        settings turn it (or fuzz) off. Its counts of cards due per day are read once per deck and
        session, then kept up to date by this session's answers."""
        if self.balancer is not None:
            return self.balancer
        if card.deck_id not in self._balancers:
            from srs import load_balance

            settings = self.settings_for(card)
            self._balancers[card.deck_id] = (load_balance.LoadBalancer.from_store(
                self.store, [card.deck_id], now, settings) if load_balance.enabled(settings) else None)
        return self._balancers[card.deck_id]

    def preview(self, card: StoredCard) -> dict[int, str]:
        """The interval each rating would give, as short text ("1m", "10m", "8d"): `show(card).texts`."""
        return self.show(card).texts

    @staticmethod
    def _not_before_last_answer(card: StoredCard, now: datetime) -> datetime:
        if card.progress.last_review is not None and now < card.progress.last_review:
            return card.progress.last_review  # the clock moved backwards: never answer before the last answer
        return now

    def is_right(self, card: StoredCard, choice: str, fmt: str | None = None) -> bool | None:
        """Whether a response (an option, a typed answer; `fmt` "typed": a choice card's option typed) is
        right; None when it cannot be told."""
        from srs import kinds

        kind = kinds.of(card.spec)
        if fmt == "typed" and kind.name == "choice":
            return kind.grade_typed(card.spec, choice, accents=not self.accents_optional(card)).correct
        return kind.grade(card.spec, choice, accents=not self.accents_optional(card)).correct

    def answer(self, card: StoredCard | Shown, rating: int, duration_ms: int, choice: str | None = None,
               fmt: str | None = None) -> bool:
        """Commit an answer: the state shown for this rating (see `show`; a card not shown yet is shown now),
        at the real answer time. `choice` is the learner's response (the option chosen, the text typed),
        judged by the card's kind and kept in the log, with the format the card was asked in (`fmt`; by
        default the format of the card's last `ask`). False when another session answered the card first."""
        if rating not in scheduling.RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating}")
        if isinstance(card, Shown):
            shown = card
        elif (self._shown is not None and self._shown.card.id == card.id
              and self._shown.card.progress == card.progress):
            shown = self._shown
        else:
            shown = self.show(card)
        card = shown.card
        self._shown = None
        if self._cram is not None:
            return self._practise(card, rating, duration_ms, choice)
        now = self._not_before_last_answer(card, self.now())
        after = scheduling.applied_at(self.settings_for(card), shown.states[rating], now)
        if fmt is None and self._asked is not None and self._asked.card.id == card.id:
            fmt = self._asked.format
        correct = None if choice is None else self.is_right(card, choice, fmt)
        review = Review(reviewed_at=now, rating=rating, kind=scheduling.review_kind(card.progress),
                        duration_ms=duration_ms, choice=choice, correct=correct, due_after=after.due, format=fmt)
        with _CtrlCAfterCommit(self.store) as step:  # committed and recorded here, or neither
            review_id = self.store.record_answer(card.id, card.progress, review, after)
            step.committed()
            if review_id is None:
                return False
            right = correct if correct is not None else rating > 1
            balanced_day = None
            balancer = self._balancers.get(card.deck_id) if self.balancer is None else self.balancer
            if balancer is not None and after.state == "review":
                balanced_day = scheduling.day_of(after.due, self.settings_for(card))
                balancer.add(balanced_day)  # the next answers see this card on its new day
            self.answered.append(Answered(review_id, card.id, rating, right, duration_ms, balanced_day))
            self._count_answer(card, now)
            self.effects = Effects()  # filled in by _after_answer, as its writes are made
            self.actions.append(Action("answer", card.id, answered=self.answered[-1], effects=self.effects))
        if self.store.card_flags(card.id)[0] and not card.progress.suspended:
            self.notices.append("This card was suspended or buried elsewhere while shown: your answer is kept, "
                                "and the card stays out of review.")
        self._after_answer(card, after, rating, now, self.effects)
        self._unfolded += 1
        if self._unfolded >= CHECKPOINT_EVERY:
            self.checkpoint()
        return True

    def _practise(self, card: StoredCard, rating: int, duration_ms: int, choice: str | None) -> bool:
        """A practice answer (`cram`): logged, the card's state untouched; Again shows the card again later."""
        correct = None if choice is None else self.is_right(card, choice)
        review = Review(reviewed_at=self.now(), rating=rating, kind="cram", duration_ms=duration_ms, choice=choice,
                        correct=correct)
        with _CtrlCAfterCommit(self.store) as step:  # committed and recorded here, or neither
            review_id = self.store.record_cram(card.id, review)
            step.committed()
            if self._cram and self._cram[0] == card.id:
                self._cram.pop(0)
            if rating == 1:
                self._cram.append(card.id)
            self.answered.append(Answered(review_id, card.id, rating, correct if correct is not None else rating > 1,
                                          duration_ms, cram=True))
            self.effects = None
            self.actions.append(Action("answer", card.id, answered=self.answered[-1]))
        return True

    def checkpoint(self) -> None:
        """Fold the answers given since the last checkpoint from the WAL into the database file, in a
        thread of its own (the next answer does not wait). Called every CHECKPOINT_EVERY answers, and
        meant for the front end to call when the learner pauses (no key for a few seconds), so that a
        copy of the .db alone (a sync tool that skips the -wal) lags the answers given by little."""
        if self._unfolded:
            self._unfolded = 0
            self.store.checkpoint_in_background()

    def _after_answer(self, card: StoredCard, after: Progress, rating: int, now: datetime,
                      effects: Effects) -> Effects:
        """Bury the card's siblings until the next learner day (by the deck's three switches, as Anki's),
        and make it a leech when this lapse reaches `leech_threshold` (then every half of it, as Anki):
        each written in `effects` (the answer's record, already kept) as it is done."""
        settings = self.settings_for(card)
        if settings.bury_new_siblings or settings.bury_review_siblings or settings.bury_learning_siblings:
            end = clock.to_text(clock.day_bounds(now, settings.day_start_hour)[1])
            chosen = [card_id for card_id, state, due in self.store.siblings(card.id)
                      if (state == 0 and settings.bury_new_siblings)
                      or (state == 2 and settings.bury_review_siblings and due is not None and due < end)
                      or (state in (1, 3) and settings.bury_learning_siblings and due is not None and due >= end)]
            if chosen:
                effects.buried, effects.until = self.store.set_buried(chosen, end), end
        threshold = settings.leech_threshold
        if rating == 1 and after.lapses > card.progress.lapses and after.lapses >= threshold and (
                after.lapses - threshold) % max(threshold // 2, 1) == 0:
            effects.leech = True
            effects.tagged = self.store.set_learner_tag(card.id, "leech")
            if settings.leech_action == "suspend":
                effects.before = self.store.card_flags(card.id)[:2]
                effects.suspended = effects.before[0] != 1 and self.store.restore_suspension(card.id, 1, None)
        return effects

    def close(self) -> None:
        """End the session: fold its answers from the WAL into the database file."""
        self.store.checkpoint()

    def undo(self) -> Undone | None:
        """Take back the last thing done in this session: an answer (with the siblings it buried and its
        leech tag and suspension), a suspension, a burial or a flag. The card of an answer, suspension or
        burial is shown again next. None when nothing is left to undo; `done` False when another session
        changed the card since (then nothing is changed)."""
        if not self.actions:
            return None
        action = self.actions.pop()
        store = self.store
        if action.what == "answer":
            last = action.answered
            if last.cram:  # a practice answer: its log line goes, the card comes back first in the practice queue
                with _CtrlCAfterCommit(store) as step:  # taken back in the store and in the summary, or neither
                    card_id = store.undo_cram(last.review_id)
                    step.committed()
                    if card_id is not None and last in self.answered:
                        self.answered.remove(last)
                if card_id is None:
                    return Undone("answer", store.card(action.card_id), done=False)
                if last.rating == 1 and self._cram and self._cram[-1] == card_id:
                    self._cram.pop()  # the copy Again put at the end
                self._cram.insert(0, card_id)
                return Undone("answer", store.card(card_id))
            with _CtrlCAfterCommit(store) as step:  # taken back in the store and in the summary, or neither
                card_id = store.undo_answer(last.review_id)
                step.committed()
                self._done = {}  # counted again from the store
                if card_id is not None and last in self.answered:
                    self.answered.remove(last)
            if card_id is None:
                return Undone("answer", store.card(action.card_id), done=False)
            if last.balanced_day is not None:
                balancer = self.balancer or self._balancers.get(store.card(card_id).deck_id)
                if balancer is not None and hasattr(balancer, "remove"):
                    balancer.remove(last.balanced_day)
            effects = action.effects or Effects()
            for sibling in effects.buried:
                store.restore_suspension(sibling, 0, None, only_if=(2, effects.until))
            if effects.tagged:
                store.set_learner_tag(card_id, "leech", present=False)
            if effects.suspended:
                store.restore_suspension(card_id, *effects.before, only_if=(1, None))
            self._returning = card_id
            return Undone("answer", store.card(card_id))
        if action.what == "flag":
            store.set_flag(action.card_id, action.before[2])
            return Undone("flag", store.card(action.card_id))
        done = store.restore_suspension(action.card_id, *action.before[:2], only_if=action.after)
        if done:
            self._returning = action.card_id
        return Undone(action.what, store.card(action.card_id), done)

    def take_notice(self) -> str | None:
        """One line for the learner about a race this session lost (an undo refused, a card suspended
        elsewhere while shown), or None; each notice is given once."""
        return self.notices.pop(0) if self.notices else None

    def suspend(self, card: StoredCard) -> None:
        before = self.store.card_flags(card.id)
        self.store.suspend_cards([card.id], True)
        self.actions.append(Action("suspend", card.id, before=before, after=(1, None)))
        if self._cram:  # leaves the practice queue too
            self._cram = [card_id for card_id in self._cram if card_id != card.id]

    def bury(self, card: StoredCard) -> bool:
        """Bury the card until its deck's next learner day starts; False when it is suspended (or buried)."""
        before = self.store.card_flags(card.id)
        until = clock.to_text(clock.day_bounds(self.now(), self.settings_for(card).day_start_hour)[1])
        if not self.store.set_buried([card.id], until):
            return False
        self.actions.append(Action("bury", card.id, before=before, after=(2, until)))
        return True

    def flag(self, card: StoredCard) -> bool:
        """Flag the card, or take its flag off; True when it is flagged now."""
        before = self.store.card_flags(card.id)
        flag = 0 if before[2] else 1
        self.store.set_flag(card.id, flag)
        self.actions.append(Action("flag", card.id, before=before, after=(flag,)))
        return bool(flag)

    def flagged(self, card: StoredCard) -> bool:
        return bool(self.store.card_flags(card.id)[2])

    def last_lapses(self) -> int:
        """The lapses of the card answered last (for the leech notice)."""
        last = next((a for a in reversed(self.actions) if a.what == "answer"), None)
        return 0 if last is None else self.store.card(last.card_id).progress.lapses

    def reload(self, card: StoredCard) -> StoredCard | None:
        """The card as stored now (after an edit), or None when it was retired."""
        return None if self.store.is_retired(card.id) else self.store.card(card.id)

    def edit_target(self, card: StoredCard) -> EditTarget:
        """Where the learner edits this card: a deck file (.md) or lesson (.txt) at the line of its question;
        for a card from an Anki package or a CSV/TSV table, a message saying where to edit it instead."""
        from pathlib import Path

        from srs.sources import KINDS, read_source

        source, position, deck = self.store.card_source(card.id)
        if not source:
            return EditTarget(None, message=f"Card #{card.id} has no source file to edit (deck {deck!r}).")
        package = source.rsplit("#", 1)[0]  # an Anki package's deck: "<package>#<Anki deck id>"
        if "#" in source and Path(package).suffix.lower() in (".apkg", ".colpkg"):
            source = package
        path = Path(source)
        kind = KINDS.get(path.suffix.lower())
        if kind not in ("deck", "lesson") or not path.is_file():
            if kind == "anki" or not path.suffix:
                where = f"in Anki (the package {source}), then export it and run: srs import {source}"
            elif kind == "table":
                where = f"in the table {source} (a row of its), then run: srs import {source}"
            else:
                where = f"in {source}, then import it again"
            if not path.is_file() and kind in ("deck", "lesson"):
                return EditTarget(None, message=f"The deck file {source} is gone; card #{card.id} cannot be "
                                                "edited from here.")
            return EditTarget(None, message=f"Card #{card.id} came from outside srs: edit it {where}.")
        line = None
        try:
            specs = read_source(path)
            cards = specs[0].cards if specs else []
            if 0 <= position < len(cards) and cards[position].question == card.spec.question:
                line = cards[position].line
            else:
                line = next((c.line for c in cards if c.question == card.spec.question and c.ord == card.spec.ord),
                            None)
        except SrsError:  # a file broken since its import: open it at the top
            line = None
        return EditTarget(str(path), line)

    def reimport(self, path: str) -> str:
        """Import a deck file again (after an edit): every card matched keeps its id and history.
        Returns the import's one-line report."""
        from srs.media import import_media
        from srs.sources import read_sources

        specs, _ = read_sources([path])
        media = import_media(self.store.path, specs, self.store.media_rows)
        results = self.store.sync_decks(specs, self.now(), media.rows)
        self._done = {}
        return "; ".join(f"{r.deck}: {r.added} added, {r.updated} updated, {r.unchanged} unchanged, "
                         f"{r.retired} retired" for r in results)

    def set_key(self, card: StoredCard, option: str) -> StoredCard:
        """Record which option of an unkeyed choice card is right, once; returns the card as now stored
        (with the key another session gave meanwhile, if one did: that one stays)."""
        if self.store.set_answer(card.id, option, "learner"):
            card.spec.answer = option
            card.spec.key_source = "learner"
            return card
        stored = self.store.card(card.id)
        self.notices.append("The key was given in another session meanwhile; that one is kept.")
        card.spec.answer, card.spec.key_source = stored.spec.answer, stored.spec.key_source
        return card

    def unkeyed(self) -> list[StoredCard]:
        """The cards srs cannot grade yet (choice cards without a key, basic cards without an answer)."""
        return self.store.unkeyed_cards(self.deck_id, blank_answers=True)

    def give_answer(self, card: StoredCard, answer: str) -> None:
        """Record the learner's key (a choice card) or answer (a basic card)."""
        self.store.set_answer(card.id, answer, "learner")

    def summary(self) -> Summary:
        return Summary(cards=len(self.answered), right=sum(a.right for a in self.answered),
                       seconds=sum(a.duration_ms for a in self.answered) / 1000,
                       next_due=self.next_due(),
                       leeches=[a.card_id for a in self.actions
                                if a.what == "answer" and a.effects is not None and a.effects.leech])

    def media(self, card: StoredCard):
        """The images and sounds a card shows: (question, answer) lists of `srs.media.MediaFile`, and
        whether the card's deck plays audio when a side is shown."""
        from srs.media import card_files, image_files

        from srs import kinds

        if card.spec.images:  # a deck file's images: on the side whose text shows them
            asked = {path for _, path in kinds.image_refs(kinds.of(card.spec).asked(card.spec))}
            question, answer = image_files(self.store, card.spec.images, asked)
        else:
            question, answer = card_files(self.store, card.id)
        return question, answer, self.settings_for(card).autoplay_audio
