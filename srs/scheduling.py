"""Scheduling with FSRS (the `fsrs` package): settings, answering, previews and replays.

Our own state adds to fsrs's: "new" (never reviewed), review and lapse counts. fsrs's
fuzz draws from the global `random`; we seed it from the card id and its review
count around each call, as Anki does, so the interval shown on a button before an
answer is the one the answer gives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import lru_cache

from srs.model import Progress, Review, SrsError

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@dataclass(frozen=True)
class Settings:
    """What a deck's scheduling depends on. Defaults: FSRS-6 as Anki ships it."""

    desired_retention: float = 0.9
    learning_steps: tuple[float, ...] = (1.0, 10.0)  # minutes
    relearning_steps: tuple[float, ...] = (10.0,)  # minutes
    new_per_day: int = 20
    reviews_per_day: int = 200
    day_start_hour: int = 4
    maximum_interval: int = 36500  # days
    fuzz: bool = True
    parameters: tuple[float, ...] | None = None  # None: fsrs's defaults
    autoplay_audio: bool = True  # review plays a side's audio when it is shown (as Anki does); not scheduling

    @classmethod
    def from_dict(cls, values: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        clean = {}
        for key, value in values.items():
            if key not in known:
                continue
            if isinstance(value, list):
                value = tuple(value)
            clean[key] = value
        return cls(**clean)


SETTING_HELP = {
    "desired_retention": "chance of recall to schedule for, 0.70-0.99 (default 0.9)",
    "new_per_day": "new cards a learner day (default 20)",
    "reviews_per_day": "reviews a learner day (default 200)",
    "learning_steps": "minutes between first answers, e.g. '1 10' (default 1 10)",
    "relearning_steps": "minutes between answers after a lapse, e.g. '10' (default 10)",
    "day_start_hour": "local hour the learner day starts, 0-23 (default 4)",
    "maximum_interval": "longest interval in days (default 36500)",
    "fuzz": "spread intervals a little, true/false (default true)",
    "autoplay_audio": "play a card's audio when it is shown in review, true/false (default true)",
}


def parse_setting(key: str, text: str):
    """A setting's value from the command line, checked. Raises SrsError with the allowed form."""
    if key not in SETTING_HELP:
        raise SrsError(f"unknown setting {key!r}; settings: {', '.join(SETTING_HELP)}")
    try:
        if key == "desired_retention":
            value = float(text)
            ok = 0.7 <= value <= 0.99
        elif key in ("new_per_day", "reviews_per_day", "maximum_interval"):
            value = int(text)
            ok = value >= (1 if key == "maximum_interval" else 0)
        elif key == "day_start_hour":
            value = int(text)
            ok = 0 <= value <= 23
        elif key in ("learning_steps", "relearning_steps"):
            value = [float(part) for part in text.replace(",", " ").split()]
            ok = all(0 < v <= 60 * 24 for v in value)
        else:
            lowered = text.strip().lower()
            ok = lowered in ("true", "false", "yes", "no", "on", "off", "1", "0")
            value = lowered in ("true", "yes", "on", "1")
    except ValueError:
        ok = False
    if not ok:
        raise SrsError(f"bad value {text!r} for {key}: {SETTING_HELP[key]}")
    return value


@lru_cache(maxsize=32)
def scheduler(settings: Settings):
    import fsrs

    kwargs = dict(
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(minutes=m) for m in settings.learning_steps),
        relearning_steps=tuple(timedelta(minutes=m) for m in settings.relearning_steps),
        maximum_interval=settings.maximum_interval,
        enable_fuzzing=settings.fuzz,
    )
    if settings.parameters is not None:
        kwargs["parameters"] = settings.parameters
    return fsrs.Scheduler(**kwargs)


def to_fsrs(card_id: int, progress: Progress, now: datetime):
    import fsrs

    if progress.state == "new":
        return fsrs.Card(card_id=card_id, due=now)
    return fsrs.Card(card_id=card_id, state=fsrs.State[progress.state.capitalize()], step=progress.step,
                     stability=progress.stability, difficulty=progress.difficulty, due=progress.due,
                     last_review=progress.last_review)


def review_kind(progress: Progress) -> str:
    """The answer's kind, as Anki's revlog type: the state before the answer."""
    return {"new": "learn", "learning": "learn", "review": "review", "relearning": "relearn"}[progress.state]


def answer(settings: Settings, card_id: int, progress: Progress, rating: int, when: datetime) -> Progress:
    """The card's progress after answering `rating` at `when`."""
    import fsrs

    # fsrs draws its fuzz from the global `random`; seeding it per card and answer makes the
    # interval shown before an answer the one given. (srs itself draws nothing else from it.)
    random.seed(card_id * 1_000_003 + progress.reps)
    card, _ = scheduler(settings).review_card(to_fsrs(card_id, progress, when), fsrs.Rating(rating), when)
    lapse = progress.state == "review" and rating == 1
    return Progress(state=card.state.name.lower(), step=card.step, stability=card.stability,
                    difficulty=card.difficulty, due=card.due, last_review=card.last_review,
                    reps=progress.reps + 1, lapses=progress.lapses + lapse, suspended=progress.suspended)


def preview(settings: Settings, card_id: int, progress: Progress, when: datetime) -> dict[int, timedelta]:
    """The interval each rating would give now (exactly what `answer` gives)."""
    return {rating: answer(settings, card_id, progress, rating, when).due - when for rating in RATINGS}


def replay(card_id: int, reviews: list[Review], settings_values: dict) -> tuple[list[tuple], Progress]:
    """Rebuild a card's state from a history; returns review-log rows (as the store inserts them) and the state."""
    from srs.clock import to_text

    settings = Settings.from_dict(settings_values)
    progress = Progress()
    rows = []
    due_text = last_text = None  # the previous answer's times, already formatted
    for review in sorted(reviews, key=lambda r: r.reviewed_at):
        before = progress
        progress = answer(settings, card_id, before, review.rating, review.reviewed_at)
        kind = review_kind(before)
        reviewed_text, next_due_text = to_text(review.reviewed_at), to_text(progress.due)
        rows.append((card_id, reviewed_text, review.rating, ("learn", "review", "relearn").index(kind),
                     review.duration_ms, review.choice, None if review.correct is None else int(review.correct),
                     next_due_text, getattr(review, "source", None) or "import",
                     ("new", "learning", "review", "relearning").index(before.state), before.step, before.stability,
                     before.difficulty, due_text, last_text, before.reps, before.lapses))
        due_text, last_text = next_due_text, reviewed_text  # an answer is the card's last review
    return rows, progress


def format_interval(delta: timedelta) -> str:
    """Anki-style short interval: 1m, 10m, 3h, 8d, 1.5mo, 2.1y."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 60:
        return "<1m"
    minutes = seconds / 60
    if minutes < 60:
        return f"{round(minutes)}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y".replace(".0y", "y")
