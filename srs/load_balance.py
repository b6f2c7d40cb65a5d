"""Load balancing and easy days, as Anki 24.11+ does them (`rslib/src/scheduler/states/load_balancer.rs`).

When a review card is given an interval, the fuzz allows any whole day in a window
[lower, upper] around it. Instead of a uniform draw, the load balancer weighs each day
of the window by how many review cards are already due that day and by the interval:

    weight = (1 / cards_due) ** 2 * (1 / interval)       (1.0 for a day with no card due)

then multiplied by the easy-days modifier of that day's weekday and by a sibling
penalty, and draws one day with these weights, using the card's seeded generator (so
the interval shown on a button before the answer is the one the answer gives). The
interval term biases the pick slightly towards earlier days (without it, graduating
cards pile up on the last day of their window). Intervals over
`MAX_LOAD_BALANCE_INTERVAL` days are not balanced: the need is low that far out, and
the window is drawn uniformly, as plain fuzz.

Easy days (`Settings.easy_days`, 7 levels Monday..Sunday): 1.0 normal, 0.0 minimum,
anything else (0.5) reduced. A minimum day is off; a reduced day is off when it already
holds more than half the mean load of the other days of the window, each weighed by its
level (Anki's threshold: its count / 0.5 > the other days' count / the sum of their
levels), on otherwise. Off
days are picked only when every day of the window is off; then the window is balanced
as if there were no easy days.

One deliberate difference from Anki's code: Anki multiplies the easy-days modifier
(0.0001 for an off day) into the weight of days that have cards only; a day with no
card gets the full 1.0 whatever its level, so an empty "minimum" Sunday attracts cards
(and, in a new collection, every Sunday is empty). Its own comment says the modifier
"turns the day on or off"; srs does exactly that, for empty days too.

Siblings: Anki keeps cards of one note on different days (a day where a sibling is due
gets its weight times `SIBLING_PENALTY`). srs has no notes yet; `pick` takes the days
to avoid (`avoid`, day numbers) so that the caller can pass the days its siblings are
due once cards have notes.

Days are learner day numbers (`clock.day_number`); the counts come from
`Store.due_counts_by_day` over `LOAD_BALANCE_DAYS` days from today (Anki's window: 90
days and 10% more), read in one query when the balancer is built. `add(day)` counts
a card just scheduled, so that the answers of one session spread too.

Anki balances only when fuzz is on (its load balancer draws from the fuzz seed, which is
absent without fuzz); `enabled(settings)` says the same for srs.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Callable, Collection, Sequence

MAX_LOAD_BALANCE_INTERVAL = 90  # days: longer intervals are not balanced (Anki's constant)
LOAD_BALANCE_DAYS = int(MAX_LOAD_BALANCE_INTERVAL * 1.1)  # days of counts kept from today (Anki: 99)
SIBLING_PENALTY = 0.001  # weight factor of a day where a sibling is due (Anki's constant)
EMPTY_DAY_WEIGHT = 1.0  # weight of a day with no card due (Anki's)
COUNT_EXPONENT = 2  # weight falls with the square of the cards due that day (Anki's)

NORMAL, REDUCED, MINIMUM = 1.0, 0.5, 0.0  # easy-days levels, as Anki stores them (easy_days_percentages)
# load each level counts for in the reduced-day threshold (Anki's EasyDay::load_modifier)
LEVEL_LOAD = {NORMAL: 1.0, REDUCED: 0.5, MINIMUM: 0.0001}
NO_EASY_DAYS = (NORMAL,) * 7
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_EPOCH = date(1970, 1, 1)


def weekday_of(day: int) -> int:
    """The weekday (0 Monday .. 6 Sunday) of a learner day number: that of the calendar day it starts on."""
    return (_EPOCH + timedelta(days=day)).weekday()


def level_kind(level: float) -> float:
    """An easy-days level as one of Anki's three: 1.0 normal, 0.0 minimum, anything else reduced."""
    return level if level in (NORMAL, MINIMUM) else REDUCED


def enabled(settings) -> bool:
    """Whether scheduling with these settings balances: `load_balance` on, and fuzz on (as Anki)."""
    return bool(getattr(settings, "load_balance", True) and getattr(settings, "fuzz", True))


def easy_day_modifiers(levels: Sequence[float], weekdays: Sequence[int], counts: Sequence[int]) -> list[bool]:
    """Per day of a window: whether easy days leave it on (Anki's `calculate_easy_days_modifiers`)."""
    kinds = [level_kind(levels[weekday]) for weekday in weekdays]
    total_count = sum(counts)
    total_load = sum(LEVEL_LOAD[kind] for kind in kinds)
    on = []
    for kind, count in zip(kinds, counts):
        if kind == REDUCED:
            other_count = total_count - count
            other_load = total_load - LEVEL_LOAD[REDUCED]
            # the day's load as if it were a normal day, against the other days' mean load per level
            on.append(other_load <= 0 or count / LEVEL_LOAD[REDUCED] <= other_count / other_load)
        else:
            on.append(kind == NORMAL)
    return on


def day_weights(offsets: Sequence[int], counts: Sequence[int], on: Sequence[bool],
                siblings: Sequence[bool]) -> list[float]:
    """Anki's weight of each candidate day (offset = interval in days), easy days and siblings applied."""
    if not any(on):
        on = [True] * len(offsets)  # every day is an easy day: balance as if none were
    weights = []
    for offset, count, day_on, sibling in zip(offsets, counts, on, siblings):
        if not day_on:
            weights.append(0.0)
            continue
        weight = EMPTY_DAY_WEIGHT if count == 0 else (1.0 / count) ** COUNT_EXPONENT / max(offset, 1)
        weights.append(weight * (SIBLING_PENALTY if sibling else 1.0))
    return weights


def weighted_pick(values: Sequence[int], weights: Sequence[float], rng: random.Random) -> int:
    """One value drawn with these weights, from one `rng.random()` (so a reseeded generator repeats it)."""
    cumulative = list(accumulate(weights))
    point = rng.random() * cumulative[-1]
    return values[min(bisect_right(cumulative, point), len(values) - 1)]


def uniform_pick(lower: int, upper: int, rng: random.Random) -> int:
    """A day of [lower, upper] drawn uniformly (Anki's fuzz: lower + factor * (1 + upper - lower), floored)."""
    return lower + min(int(rng.random() * (upper - lower + 1)), upper - lower)


class LoadBalancer:
    """Picks the day of a review card's next due inside its fuzz window, spreading the review load.

    `due_by_day`: review cards due per learner day number (days not given count 0);
    `easy_days`: 7 levels, Monday..Sunday (1.0 normal, 0.5 reduced, 0.0 minimum);
    `weekday_of`: the weekday (0 Monday) of a day number.
    """

    def __init__(self, due_by_day: dict[int, int], easy_days: Sequence[float] = NO_EASY_DAYS,
                 weekday_of: Callable[[int], int] = weekday_of):
        if len(easy_days) != 7:
            raise ValueError(f"easy_days needs 7 levels (Monday..Sunday), not {len(easy_days)}")
        self.due_by_day = dict(due_by_day)
        self.easy_days = tuple(float(level) for level in easy_days)
        self.weekday_of = weekday_of
        self._reload: Callable[[int], dict[int, int]] | None = None  # set by from_store
        self._loaded_for: int | None = None  # the day the counts were read on (from_store)

    @classmethod
    def from_store(cls, store, deck_ids: list[int], now: datetime, settings) -> "LoadBalancer":
        """A balancer over the review cards of these decks, with the counts of the next
        `LOAD_BALANCE_DAYS` learner days read in one query. When `pick` is asked on a later
        learner day than the counts were read on, it reads them again (a session left open overnight)."""
        from srs import clock

        hour = settings.day_start_hour
        deck_ids = list(deck_ids)

        def read(today: int) -> dict[int, int]:
            return store.due_counts_by_day(deck_ids, today, today + LOAD_BALANCE_DAYS - 1, hour)

        today = clock.day_number(now, hour)
        balancer = cls(read(today), getattr(settings, "easy_days", NO_EASY_DAYS))
        balancer._reload, balancer._loaded_for = read, today
        return balancer

    def pick(self, lower: int, upper: int, interval: float, today: int, rng: random.Random,
             avoid: Collection[int] = (), easy_days: Sequence[float] | None = None) -> int:
        """The interval in days, inside [lower, upper], for a card due `interval` days from `today`.

        `rng` is the card's seeded generator: the same seed gives the same day. `avoid`: day
        numbers where a sibling of the card is due (weighted down by `SIBLING_PENALTY`).
        `easy_days`: the card's deck's levels, when they differ from the balancer's (one
        balancer can then serve a session over decks with different easy days)."""
        if upper < lower:
            raise ValueError(f"empty fuzz window [{lower}, {upper}]")
        if upper == lower:
            return lower
        if int(interval) > MAX_LOAD_BALANCE_INTERVAL or lower > MAX_LOAD_BALANCE_INTERVAL:
            return uniform_pick(lower, upper, rng)
        if self._reload is not None and today != self._loaded_for:
            self.due_by_day, self._loaded_for = self._reload(today), today
        offsets = range(lower, upper + 1)
        days = [today + offset for offset in offsets]
        counts = [self.due_by_day.get(day, 0) for day in days]
        levels = self.easy_days if easy_days is None else easy_days
        on = easy_day_modifiers(levels, [self.weekday_of(day) for day in days], counts)
        weights = day_weights(offsets, counts, on, [day in avoid for day in days])
        return weighted_pick(offsets, weights, rng)

    def add(self, day: int, count: int = 1) -> None:
        """Count a card just scheduled on learner day `day` (so the next picks see it)."""
        self.due_by_day[day] = self.due_by_day.get(day, 0) + count

    def remove(self, day: int, count: int = 1) -> None:
        """Uncount a card no longer due on `day` (an undone answer)."""
        left = self.due_by_day.get(day, 0) - count
        if left > 0:
            self.due_by_day[day] = left
        else:
            self.due_by_day.pop(day, None)


# -- the easy_days setting --------------------------------------------------------------------

_LEVEL_WORDS = {"minimum": MINIMUM, "min": MINIMUM, "reduced": REDUCED, "normal": NORMAL}
_DAY_WORDS = {name: index for index, name in enumerate(WEEKDAYS)}
_DAY_WORDS.update({full: index for index, full in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})


def parse_easy_days(text: str) -> list[float]:
    """The 7 levels (Monday..Sunday) from `srs config easy_days TEXT`. Forms:

    - day names: those days at the minimum level ("sat sun"; "none" or "" for no easy day);
    - day:level pairs, level 0 / 0.5 / 1 or minimum / reduced / normal ("sat:0 sun:0.5", "sun:reduced");
      names and pairs mix, and the days not named stay normal;
    - 7 levels Monday..Sunday, as `srs config` prints them ("1 1 1 1 1 0 0.5").
    Raises ValueError with what is wrong."""
    words = text.replace(",", " ").lower().split()
    if not words or words == ["none"]:
        return list(NO_EASY_DAYS)
    if len(words) == 7 and all(_is_number(word) for word in words):
        return [_level(word) for word in words]
    levels = list(NO_EASY_DAYS)
    seen = set()
    for word in words:
        name, _, level = word.partition(":")
        if name not in _DAY_WORDS:
            raise ValueError(f"{name!r} is not a weekday (mon tue wed thu fri sat sun)")
        if _DAY_WORDS[name] in seen:
            raise ValueError(f"{WEEKDAYS[_DAY_WORDS[name]]} is given twice")
        seen.add(_DAY_WORDS[name])
        levels[_DAY_WORDS[name]] = _level(level) if level else MINIMUM
    return levels


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _level(word: str) -> float:
    if word in _LEVEL_WORDS:
        return _LEVEL_WORDS[word]
    if _is_number(word) and float(word) in (MINIMUM, REDUCED, NORMAL):
        return float(word)
    raise ValueError(f"{word!r} is not a level (0 or minimum, 0.5 or reduced, 1 or normal)")


def describe_easy_days(levels: Sequence[float]) -> str:
    """Levels in words: "sat:minimum sun:reduced" ("none" when every day is normal)."""
    named = [f"{WEEKDAYS[i]}:{'minimum' if level == MINIMUM else 'reduced'}"
             for i, level in enumerate(levels) if level != NORMAL]
    return " ".join(named) or "none"
