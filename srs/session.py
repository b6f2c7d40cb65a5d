"""A review session, free of any user interface: the terminal front end (or a test) drives it.

It picks the next card from the store each time (so a second session's answers are
seen at once), applies the learner-day limits, schedules answers with FSRS and
commits each answer before the next card is picked. Queue order: learning cards due
now, then due reviews (most overdue first), then new cards in deck order; when
nothing else is left, learning cards due within the next 20 minutes (Anki's "learn
ahead" limit).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from srs import clock, scheduling
from srs.model import Review, StoredCard
from srs.scheduling import Settings
from srs.store import Store

LEARN_AHEAD = timedelta(minutes=20)
CHECKPOINT_EVERY = 200  # answers between WAL checkpoints in a long session
RECOUNT_SECONDS = 30  # how often today's answers are counted again from the store


@dataclass
class Answered:
    review_id: int
    card_id: int
    rating: int
    right: bool
    duration_ms: int


@dataclass
class Summary:
    cards: int
    right: int
    seconds: float
    next_due: datetime | None

    @property
    def percent_right(self) -> float | None:
        return None if not self.cards else 100.0 * self.right / self.cards


@dataclass
class _Deck:
    id: int
    settings: Settings


@dataclass
class ReviewSession:
    store: Store
    deck_id: int | None = None
    now: Callable[[], datetime] = clock.now
    answered: list[Answered] = field(default_factory=list)
    _returning: int | None = None  # a card brought back by undo, shown next

    def __post_init__(self) -> None:
        ids = [self.deck_id] if self.deck_id is not None else [d["id"] for d in self.store.decks()]
        self.decks = [_Deck(i, Settings.from_dict(self.store.deck_settings(i))) for i in ids]
        self._shuffle = random.Random()
        self._done: dict = {}  # today's answer counts per deck, see _answered_by_deck
        self.store.hold_checkpoints()  # answers commit without a WAL checkpoint inside; see close()

    # -- the queue ------------------------------------------------------------------

    def _today(self, now: datetime) -> dict[int, tuple[str, int, int]]:
        """Per deck: the end of its learner day, and how many new cards and reviews it may still show today.

        Today's answers are read once for all decks that share a day-start hour."""
        out = {}
        for hour in {deck.settings.day_start_hour for deck in self.decks}:
            start, end = (clock.to_text(t) for t in clock.day_bounds(now, hour))
            done = self._answered_by_deck(start, end)
            for deck in self.decks:
                if deck.settings.day_start_hour == hour:
                    new_done, reviews_done = done.get(deck.id, (0, 0))
                    out[deck.id] = (end, max(deck.settings.new_per_day - new_done, 0),
                                    max(deck.settings.reviews_per_day - reviews_done, 0))
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
        now = self.now()
        store = self.store
        # each kind of card is looked for only when no card of an earlier kind is ready
        learning = sorted(row for deck in self.decks if (row := store.first_learning(deck.id)))
        if learning and learning[0][0] <= clock.to_text(now):
            return store.card(learning[0][1])
        today = self._today(now)
        review = [row for deck in self.decks if today[deck.id][2]
                  and (row := store.first_due_review(deck.id, today[deck.id][0]))]
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
        now = self.now()
        counts = {"new": 0, "learning": 0, "review": 0}
        store = self.store
        today = self._today(now)
        for deck in self.decks:
            end, new_left, reviews_left = today[deck.id]
            counts["new"] += store.count_new(deck.id, new_left)
            counts["review"] += store.count_due_reviews(deck.id, end, reviews_left)
            counts["learning"] += store.count_due_learning(deck.id, end)
        return counts

    # -- one card -------------------------------------------------------------------

    def shuffled_options(self, card: StoredCard) -> list[str]:
        """A choice card's options in a fresh random order (every time the card is shown)."""
        options = list(card.spec.options or [])
        self._shuffle.shuffle(options)
        return options

    def settings_for(self, card: StoredCard) -> Settings:
        for deck in self.decks:
            if deck.id == card.deck_id:
                return deck.settings
        return Settings.from_dict(self.store.deck_settings(card.deck_id))

    def preview(self, card: StoredCard) -> dict[int, str]:
        """The interval each rating would give, as short text ("1m", "10m", "8d")."""
        intervals = scheduling.preview(self.settings_for(card), card.id, card.progress, self.now())
        return {rating: scheduling.format_interval(delta) for rating, delta in intervals.items()}

    def is_right(self, card: StoredCard, choice: str) -> bool | None:
        """Whether an option is the card's key; None while the key is unknown."""
        return None if card.spec.answer is None else choice == card.spec.answer

    def answer(self, card: StoredCard, rating: int, duration_ms: int, choice: str | None = None) -> bool:
        """Schedule and commit an answer. False when another session answered the card first."""
        if rating not in scheduling.RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating}")
        now = self.now()
        if card.progress.last_review is not None and now < card.progress.last_review:
            now = card.progress.last_review  # the clock moved backwards: never answer before the last answer
        after = scheduling.answer(self.settings_for(card), card.id, card.progress, rating, now)
        correct = None if choice is None else self.is_right(card, choice)
        review = Review(reviewed_at=now, rating=rating, kind=scheduling.review_kind(card.progress),
                        duration_ms=duration_ms, choice=choice, correct=correct, due_after=after.due)
        review_id = self.store.record_answer(card.id, card.progress, review, after)
        if review_id is None:
            return False
        right = correct if correct is not None else rating > 1
        self.answered.append(Answered(review_id, card.id, rating, right, duration_ms))
        self._count_answer(card, now)
        if len(self.answered) % CHECKPOINT_EVERY == 0:
            self.store.checkpoint_in_background()
        return True

    def close(self) -> None:
        """End the session: fold its answers from the WAL into the database file."""
        self.store.checkpoint()

    def undo(self) -> StoredCard | None:
        """Take back the last answer of this session; the card is shown again next."""
        while self.answered:
            last = self.answered.pop()
            card_id = self.store.undo_answer(last.review_id)
            self._done = {}  # counted again from the store
            if card_id is not None:
                self._returning = card_id
                return self.store.card(card_id)
        return None

    def suspend(self, card: StoredCard) -> None:
        self.store.set_suspended(card.id, True)

    def set_key(self, card: StoredCard, option: str) -> StoredCard:
        """Record which option of an unkeyed choice card is right, once; returns the card as now stored."""
        self.store.set_answer(card.id, option, "learner")
        card.spec.answer = option
        card.spec.key_source = "learner"
        return card

    def summary(self) -> Summary:
        return Summary(cards=len(self.answered), right=sum(a.right for a in self.answered),
                       seconds=sum(a.duration_ms for a in self.answered) / 1000,
                       next_due=self.store.next_due([d.id for d in self.decks]))

    def media(self, card: StoredCard):
        """The images and sounds a card shows: (question, answer) lists of `srs.media.MediaFile`, and
        whether the card's deck plays audio when a side is shown."""
        from srs.media import card_files

        question, answer = card_files(self.store, card.id)
        return question, answer, self.settings_for(card).autoplay_audio
