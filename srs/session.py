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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from srs import clock, scheduling
from srs.model import Review, StoredCard
from srs.scheduling import Settings
from srs.store import Store

LEARN_AHEAD = timedelta(minutes=20)


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

    # -- the queue ------------------------------------------------------------------

    def _today(self, deck: _Deck, now: datetime) -> tuple[str, str, int, int]:
        """Day bounds and how many new cards and reviews the deck may still show today."""
        start, end = clock.day_bounds(now, deck.settings.day_start_hour)
        start_text, end_text = clock.to_text(start), clock.to_text(end)
        new_done, reviews_done = self.store.conn.execute(
            "SELECT coalesce(sum(r.prev_state = 0), 0), coalesce(sum(r.kind = 1), 0) FROM reviews r "
            "JOIN card_state s ON s.card_id = r.card_id WHERE r.reviewed_at >= ? AND r.reviewed_at < ? "
            "AND s.deck_id = ? AND r.source IS NULL", (start_text, end_text, deck.id)).fetchone()
        return (start_text, end_text, max(deck.settings.new_per_day - new_done, 0),
                max(deck.settings.reviews_per_day - reviews_done, 0))

    def next_card(self) -> StoredCard | None:
        """The card to show now, or None when the session is done."""
        if self._returning is not None:
            card_id, self._returning = self._returning, None
            return self.store.card(card_id)
        now = self.now()
        now_text = clock.to_text(now)
        conn = self.store.conn
        learning, review, new = [], [], []
        for deck in self.decks:
            _, end, new_left, reviews_left = self._today(deck, now)
            row = conn.execute(
                "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
                "AND state IN (1, 3) ORDER BY due LIMIT 1", (deck.id,)).fetchone()
            if row:
                learning.append(row)
            if reviews_left:
                row = conn.execute(
                    "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
                    "AND state = 2 AND due < ? ORDER BY due LIMIT 1", (deck.id, end)).fetchone()
                if row:
                    review.append(row)
            if new_left and not new:
                row = conn.execute(
                    "SELECT position, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
                    "AND state = 0 ORDER BY position LIMIT 1", (deck.id,)).fetchone()
                if row:
                    new.append(row)
        learning.sort()
        if learning and learning[0][0] <= now_text:
            return self.store.card(learning[0][1])
        if review:
            return self.store.card(min(review)[1])
        if new:
            return self.store.card(new[0][1])
        if learning and learning[0][0] <= clock.to_text(now + LEARN_AHEAD):
            return self.store.card(learning[0][1])
        return None

    def remaining(self) -> dict[str, int]:
        """What is left today: new cards (within the limit), learning cards due today, due reviews (within the limit).

        Each count reads the queue index and stops at the day's limit, so it costs the
        same for a hundred cards or a hundred thousand.
        """
        now = self.now()
        counts = {"new": 0, "learning": 0, "review": 0}
        conn = self.store.conn
        active = "FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 AND "
        for deck in self.decks:
            _, end, new_left, reviews_left = self._today(deck, now)
            counts["new"] += conn.execute(
                f"SELECT count(*) FROM (SELECT 1 {active} state = 0 LIMIT ?)", (deck.id, new_left)).fetchone()[0]
            counts["review"] += conn.execute(
                f"SELECT count(*) FROM (SELECT 1 {active} state = 2 AND due < ? LIMIT ?)",
                (deck.id, end, reviews_left)).fetchone()[0]
            counts["learning"] += sum(conn.execute(
                f"SELECT count(*) {active} state = ? AND due < ?", (deck.id, state, end)).fetchone()[0]
                for state in (1, 3))
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
        return True

    def undo(self) -> StoredCard | None:
        """Take back the last answer of this session; the card is shown again next."""
        while self.answered:
            last = self.answered.pop()
            card_id = self.store.undo_answer(last.review_id)
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
        deck_ids = [d.id for d in self.decks]
        marks = ",".join("?" * len(deck_ids)) or "NULL"
        row = self.store.conn.execute(
            f"SELECT min(due) FROM card_state WHERE deck_id IN ({marks}) AND retired = 0 AND suspended = 0 "
            "AND state > 0", deck_ids).fetchone()
        return Summary(cards=len(self.answered), right=sum(a.right for a in self.answered),
                       seconds=sum(a.duration_ms for a in self.answered) / 1000, next_due=clock.from_text(row[0]))
