"""Scheduling with FSRS (the `fsrs` package): settings, answering, previews and replays.

The learner's day, not the 24-hour block
----------------------------------------
`fsrs.Scheduler` counts elapsed time as `(now - card.last_review).days` (24-hour blocks)
and gives `due = now + timedelta(days=interval)`. Anki, fsrs-rs and our optimizer count
learner days (a day starts at `day_start_hour` local time, `srs.clock`). So `fsrs` is
kept as the memory model and fed *virtual times*: the card's last review and the answer
time are each mapped to midnight UTC of their learner-day numbers
(`1970-01-01 UTC + day_number days`). Every place py-fsrs 6.3 reads elapsed time sees
exactly the learner-day difference (`elapsed_days`):

* `review_card`'s `days_since_last_review` (learning, relearning and review states alike):
  below 1, i.e. the same learner day, it uses FSRS-6's short-term stability; otherwise
  the long-term update with
* `get_card_retrievability` at the answer time: R after that many learner days.

The result is converted back:

* a result in the review state has an interval of N whole learner days: it is due from
  the start of learner day `today + N` (`clock.day_start`), so a card "due in 3 days" shows
  at 4 a.m. of that day, whatever the hour of the answer;
* a learning or relearning result (a step in minutes) is due at the real answer time plus
  the step;
* the stored `last_review` is always the real answer time (the log keeps it too).

Intervals, fuzz and order
-------------------------
py-fsrs's own fuzz is off: its rounding lengthens intervals by half a day on average.
The interval of a review-state result is computed here from the new stability
(unrounded, as fsrs-rs gives it to Anki) and fuzzed as Anki does (rslib
`scheduler/states/fuzz.rs`): a window of +-(1 day + 15% of the part between 2.5 and 7 days
+ 10% of 7-20 + 5% above 20), `lower = round(ivl - delta)`, `upper = round(ivl + delta)`,
kept within [minimum, maximum_interval], and the day `floor(lower + f * (1 + upper - lower))`
for a factor `f` drawn from a `random.Random` seeded by the card id and its review count,
so that what a button shows is what the answer gives. A load balancer may choose the day
in the window instead (`balancer.pick(lower, upper, interval, today, rng)`).

All four outcomes are computed together (`next_states`) and the passing ones are ordered
as Anki's `passing_fsrs_review_intervals` (`scheduler/states/review.rs`) orders them:
Hard >= 1 day, Good >= Hard + 1, Easy >= Good + 1 whenever the earlier outcome is itself an
interval in days (and Hard >= Again + 1 when Again is one, i.e. with no relearning steps);
all at most `maximum_interval`. So for a card in review: Again < Hard < Good < Easy.

Our own state adds to fsrs's: "new" (never reviewed), review and lapse counts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Protocol

from srs import clock
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
    load_balance: bool = True  # pick the day in the fuzz window by the load (srs.load_balance)
    easy_days: tuple[float, ...] = (1.0,) * 7  # Monday..Sunday: 1 normal, 0.5 reduced, 0 minimum
    autoplay_audio: bool = True  # review plays a side's audio when it is shown (as Anki does); not scheduling
    recall_first: bool = True  # choice cards answered right once are asked without their options first (srs.kinds)
    typed_after_days: float = 21  # a choice card whose stability passes this many days is asked typed (srs.kinds)
    bury_new_siblings: bool = True  # answering a card buries its new siblings until the next learner day
    bury_review_siblings: bool = True  # ... its review siblings due today
    bury_learning_siblings: bool = True  # ... its (re)learning siblings due on a later day (Anki's interday learning)
    leech_threshold: int = 8  # lapses that make a card a leech (then again every half of it, as Anki)
    leech_action: str = "suspend"  # a leech is tagged `leech` and suspended ("suspend") or only tagged ("tag")

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
    "new_per_day": "new cards a learner day, 0-100000 (default 20)",
    "reviews_per_day": "reviews a learner day, 0-100000 (default 200)",
    "learning_steps": "minutes between first answers, up to 20 steps of at most 1440, e.g. '1 10' (default 1 10)",
    "relearning_steps": "minutes between answers after a lapse, up to 20 steps of at most 1440, e.g. '10' "
                        "(default 10)",
    "day_start_hour": "local hour the learner day starts, 0-23 (default 4)",
    "maximum_interval": "longest interval in days, 1-36500 (default 36500)",
    "fuzz": "spread intervals a little, true/false (default true)",
    "load_balance": "spread reviews evenly over the days of the fuzz range, true/false (default true)",
    "easy_days": ("weekdays with fewer reviews: 'sat sun' (minimum), 'sat:0 sun:0.5' or 'sun:reduced', "
                  "7 levels Mon..Sun '1 1 1 1 1 0 0.5', or 'none' (default none)"),
    "autoplay_audio": "play a card's audio when it is shown in review, true/false (default true)",
    "recall_first": ("ask a choice card answered right before without its options first, the options on a key, "
                     "true/false (default true)"),
    "typed_after_days": "ask a choice card as a typed answer once its stability passes these days (default 21)",
    "bury_new_siblings": "answering a card buries its new siblings until tomorrow, true/false (default true)",
    "bury_review_siblings": "answering a card buries its review siblings until tomorrow, true/false (default true)",
    "bury_learning_siblings": ("answering a card buries its learning siblings due on a later day, true/false "
                               "(default true)"),
    "leech_threshold": "lapses that make a card a leech, 1-99 (default 8)",
    "leech_action": "what a leech gets: 'suspend' (tagged leech and suspended) or 'tag' (default suspend)",
}


MAX_PER_DAY = 100_000  # new cards or reviews a day
MAX_INTERVAL_DAYS = 36_500  # Anki's largest maximum interval (100 years)
MAX_STEPS = 20  # learning or relearning steps


def parse_setting(key: str, text: str):
    """A setting's value from the command line, checked. Raises SrsError with the allowed form."""
    if key not in SETTING_HELP:
        raise SrsError(f"unknown setting {key!r}; settings: {', '.join(SETTING_HELP)}")
    if key == "easy_days":
        from srs.load_balance import parse_easy_days

        try:
            return parse_easy_days(text)
        except ValueError as error:
            raise SrsError(f"bad value {text!r} for easy_days: {error}") from None
    try:
        if key == "desired_retention":
            value = float(text)
            ok = 0.7 <= value <= 0.99
        elif key in ("new_per_day", "reviews_per_day"):
            value = int(text)
            ok = 0 <= value <= MAX_PER_DAY
        elif key == "maximum_interval":
            value = int(text)
            ok = 1 <= value <= MAX_INTERVAL_DAYS
        elif key == "typed_after_days":
            value = float(text)
            ok = 0 < value <= MAX_INTERVAL_DAYS
            value = int(value) if ok and value.is_integer() else value
        elif key == "day_start_hour":
            value = int(text)
            ok = 0 <= value <= 23
        elif key == "leech_threshold":
            value = int(text)
            ok = 1 <= value <= 99
        elif key == "leech_action":
            value = text.strip().lower()
            ok = value in ("suspend", "tag")
        elif key in ("learning_steps", "relearning_steps"):
            value = [float(part) for part in text.replace(",", " ").split()]
            ok = len(value) <= MAX_STEPS and all(0 < v <= 60 * 24 for v in value)  # NaN and inf fail too
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
    """The `fsrs.Scheduler` for these settings, with its own fuzz off (srs draws the fuzz, see above)."""
    import fsrs

    kwargs = dict(
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(minutes=m) for m in settings.learning_steps),
        relearning_steps=tuple(timedelta(minutes=m) for m in settings.relearning_steps),
        maximum_interval=settings.maximum_interval,
        enable_fuzzing=False,
    )
    if settings.parameters is not None:
        kwargs["parameters"] = settings.parameters
    return fsrs.Scheduler(**kwargs)


class Balancer(Protocol):
    """Chooses the day inside a fuzz window instead of the random factor (a load balancer)."""

    def pick(self, lower: int, upper: int, interval: float, today: int, rng: random.Random) -> int: ...


# -- the learner's day as FSRS sees it ------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def day_of(moment: datetime, settings: Settings) -> int:
    """The learner day number of a moment in these settings (the learner's local zone)."""
    return clock.day_number(moment, settings.day_start_hour)


def elapsed_days(last_review: datetime | None, when: datetime, settings: Settings) -> int:
    """The learner days from a card's last review to `when`: what FSRS sees (0 for a card never reviewed)."""
    if last_review is None:
        return 0
    return max(0, day_of(when, settings) - day_of(last_review, settings))


def _virtual(day: int) -> datetime:
    """Midnight UTC of a learner day number: the time fsrs is given for any moment of that day."""
    return _EPOCH + timedelta(days=day)


def to_fsrs(card_id: int, progress: Progress, now: datetime):
    """An `fsrs.Card` for a progress, its times as they are (for a read of the memory state)."""
    import fsrs

    if progress.state == "new":
        return fsrs.Card(card_id=card_id, due=now)
    return fsrs.Card(card_id=card_id, state=fsrs.State[progress.state.capitalize()], step=progress.step,
                     stability=progress.stability, difficulty=progress.difficulty, due=progress.due,
                     last_review=progress.last_review)


def review_kind(progress: Progress) -> str:
    """The answer's kind, as Anki's revlog type: the state before the answer."""
    return {"new": "learn", "learning": "learn", "review": "review", "relearning": "relearn"}[progress.state]


# -- fuzz, as Anki's rslib/src/scheduler/states/fuzz.rs ---------------------------------------

_FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.10), (20.0, math.inf, 0.05))


def fuzz_delta(interval: float) -> float:
    """Days of fuzz each way: none under 2.5 days, else 1 day plus a share of each range."""
    if interval < 2.5:
        return 0.0
    return 1.0 + sum(factor * max(min(interval, end) - start, 0.0) for start, end, factor in _FUZZ_RANGES)


def _round(value: float) -> int:
    """Round half away from zero, as Rust's f32::round (Python's round() rounds half to even)."""
    return int(math.floor(value + 0.5))


def fuzz_bounds(interval: float, minimum: int, maximum: int) -> tuple[int, int]:
    """The fuzz window [lower, upper] of an interval, within [minimum, maximum] (Anki's constrained_fuzz_bounds)."""
    minimum = min(minimum, maximum)
    interval = min(max(interval, minimum), maximum)
    delta = fuzz_delta(interval)
    lower = min(max(_round(interval - delta), minimum), maximum)
    upper = min(max(_round(interval + delta), minimum), maximum)
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


def fuzzed_interval(interval: float, minimum: int, maximum: int, factor: float) -> int:
    """Anki's pick in the window: every day of [lower, upper] equally likely for a uniform factor in [0, 1)."""
    lower, upper = fuzz_bounds(interval, minimum, maximum)
    return min(int(math.floor(lower + factor * (1 + upper - lower))), upper)


def _seed(card_id: int, reps: int) -> int:
    return card_id * 1_000_003 + reps


# -- answering ----------------------------------------------------------------------------

def next_states(settings: Settings, card_id: int, progress: Progress, when: datetime,
                balancer: Balancer | None = None) -> dict[int, Progress]:
    """The card's progress after each rating (1-4) answered at `when`: what the buttons show and give."""
    return _outcomes(settings, card_id, progress, when, balancer, 4, every=True)


def _outcomes(settings: Settings, card_id: int, progress: Progress, when: datetime, balancer: Balancer | None,
              upto: int, every: bool) -> dict[int, Progress]:
    """The outcomes of ratings 1 to `upto`; unless `every`, only `upto`'s and those it is ordered after (the
    lower ratings that give an interval in days), as answering needs."""
    import fsrs

    sched = scheduler(settings)
    today = day_of(when, settings)
    last_day = day_of(progress.last_review, settings) if progress.last_review is not None else None
    virtual_now = _virtual(max(today, last_day) if last_day is not None else today)
    if progress.state == "new":
        card = fsrs.Card(card_id=card_id, due=virtual_now)
    else:
        card = fsrs.Card(card_id=card_id, state=fsrs.State[progress.state.capitalize()], step=progress.step,
                         stability=progress.stability, difficulty=progress.difficulty, due=virtual_now,
                         last_review=None if last_day is None else _virtual(last_day))
    rng = factor = None  # drawn when a fuzzed interval needs them
    maximum = max(settings.maximum_interval, 1)
    floor_days = 1  # the least interval in days the next passing rating may get (Anki: previous + 1)
    out: dict[int, Progress] = {}
    for rating in range(1, upto + 1):
        if not every and rating < upto and not _may_give_days(settings, progress, rating):
            continue  # a step in minutes: it bounds no later rating, and it is not asked for
        after, _ = sched.review_card(card, fsrs.Rating(rating), virtual_now)
        if after.state == fsrs.State.Review:
            interval = _unrounded_interval(sched, after.stability)
            if rating == 1:  # Again in days (no relearning steps): not fuzzed, as in Anki
                days = min(max(_round(interval), 1), maximum)
            elif not settings.fuzz:
                days = min(max(_round(interval), floor_days, 1), maximum)
            else:
                if rng is None:
                    rng = random.Random(_seed(card_id, progress.reps))
                    factor = rng.random()
                if balancer is not None:
                    lower, upper = fuzz_bounds(interval, floor_days, maximum)
                    days = min(max(int(balancer.pick(lower, upper, interval, today, rng)), lower), upper)
                else:
                    days = fuzzed_interval(interval, floor_days, maximum, factor)
            due = clock.day_start(today + days, settings.day_start_hour)
            floor_days = days + 1
        else:
            due = when + (after.due - virtual_now)  # a step in minutes, from the real answer time
        lapse = progress.state == "review" and rating == 1
        out[rating] = Progress(state=after.state.name.lower(), step=after.step, stability=after.stability,
                               difficulty=after.difficulty, due=due, last_review=when, reps=progress.reps + 1,
                               lapses=progress.lapses + lapse, suspended=progress.suspended)
    return out


def _may_give_days(settings: Settings, progress: Progress, rating: int) -> bool:
    """Whether a rating may put the card in the review state (an interval in days), as fsrs decides it;
    when not, the outcome is a learning step. (True when in doubt.)"""
    if progress.state == "review":
        return rating > 1 or not settings.relearning_steps
    steps = settings.relearning_steps if progress.state == "relearning" else settings.learning_steps
    step = progress.step or 0
    if not steps or rating == 4:
        return True
    return {1: False, 2: step >= len(steps), 3: step + 1 >= len(steps)}[rating]


def _unrounded_interval(sched, stability: float) -> float:
    """FSRS's interval for a stability at the desired retention, in days, before rounding (as fsrs-rs gives it)."""
    return stability / sched._FACTOR * (sched.desired_retention ** (1 / sched._DECAY) - 1)


def answer(settings: Settings, card_id: int, progress: Progress, rating: int, when: datetime,
           balancer: Balancer | None = None) -> Progress:
    """The card's progress after answering `rating` at `when`: `next_states(...)[rating]`."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be 1-4, not {rating}")
    return _outcomes(settings, card_id, progress, when, balancer, rating, every=False)[rating]


def interval_days(settings: Settings, state: Progress) -> int | None:
    """The whole learner days from a review-state result's answer to its due day; None for a step."""
    if state.state != "review" or state.due is None or state.last_review is None:
        return None
    return day_of(state.due, settings) - day_of(state.last_review, settings)


def interval_text(settings: Settings, state: Progress) -> str:
    """What a button shows for an outcome: learner days for a review-state result ("3d"), else the step ("10m")."""
    days = interval_days(settings, state)
    if days is None:
        return format_interval(state.due - state.last_review)
    return format_interval(timedelta(days=days))


def applied_at(settings: Settings, state: Progress, when: datetime) -> Progress:
    """An outcome computed earlier (when the card was shown) applied at the real answer time `when`:
    the same memory state and the same interval, days counted from the answer's learner day (or the
    same step from the answer time)."""
    if state.last_review is None or when == state.last_review:
        return state
    days = interval_days(settings, state)
    if days is None:
        due = when + (state.due - state.last_review)
    else:
        due = clock.day_start(day_of(when, settings) + days, settings.day_start_hour)
    return replace(state, due=due, last_review=when)


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
