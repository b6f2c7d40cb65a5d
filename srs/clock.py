"""The one clock: every "now" in srs comes from `now()`.

`SRS_NOW` (ISO 8601; a naive value is taken as UTC) overrides the clock so that tests
and simulations can move through days. Stored times are UTC. The learner's day
starts at a local hour (default 4 a.m., as in Anki).
"""

from __future__ import annotations

import os
import time as _time
from datetime import date, datetime, time, timedelta, timezone, tzinfo

DEFAULT_DAY_START_HOUR = 4
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    """The current time, timezone-aware UTC, or `SRS_NOW` when set."""
    forced = os.environ.get("SRS_NOW")
    if forced:
        moment = parse_time(forced, what="SRS_NOW")
        if not 1970 <= moment.year <= 9000:
            from srs.model import SrsError

            raise SrsError(f"SRS_NOW is out of range (years 1970 to 9000): {forced!r}")
        return moment
    return datetime.now(timezone.utc)


def parse_time(text: str, what: str = "time") -> datetime:
    from srs.model import SrsError

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SrsError(f"{what} is not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_text(moment: datetime) -> str:
    """The stored form of a time: fixed-width ISO 8601 UTC, so text order is time order."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # = strftime(ISO_FORMAT), a third faster


def from_text(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)  # reads the stored form (…Z) directly, 40 times faster than strptime


# -- the learner's day: the one place it is defined ---------------------------------------
#
# A learner day starts at `day_start_hour` local time (4 a.m. by default, as in Anki) and
# runs to the same hour the next local day. Everything that counts days (the scheduler's
# elapsed days and intervals, the review queue and its limits, status, stats, the
# optimizer, Anki's due day numbers on import and export) asks these functions.
# `tz` is the learner's time zone: None means this machine's local zone (honouring TZ).

_EPOCH_DATE = date(1970, 1, 1)


def learner_day(moment: datetime, day_start_hour: int = DEFAULT_DAY_START_HOUR, tz: tzinfo | None = None) -> date:
    """The learner's calendar day a moment falls in: days start at `day_start_hour` local time."""
    local = moment.astimezone(tz)  # tz None: the local zone of this machine, honouring TZ
    return (local - timedelta(hours=day_start_hour)).date()


def day_number(moment: datetime, day_start_hour: int = DEFAULT_DAY_START_HOUR, tz: tzinfo | None = None) -> int:
    """The learner day of a moment as a count of days since 1970-01-01 (what FSRS and Anki count in)."""
    return (learner_day(moment, day_start_hour, tz) - _EPOCH_DATE).days


def epoch_day_number(seconds: int, day_start_hour: int = DEFAULT_DAY_START_HOUR) -> int:
    """`day_number` of a Unix time in the machine's local zone, without building datetimes (bulk work).

    Equal to `day_number(datetime.fromtimestamp(seconds, timezone.utc), day_start_hour)` (tested)."""
    return (seconds + _time.localtime(seconds).tm_gmtoff - day_start_hour * 3600) // 86400


class EpochDays:
    """`epoch_day_number` for many Unix times (a million answers in an export), without building datetimes.

    The local UTC offset is kept for each UTC day that starts and ends with the same one (a zone
    changes its offset at most once a day); other days ask `time.localtime` each time. Equal to
    `day_number` in the machine's local zone (tested around DST changes)."""

    def __init__(self, day_start_hour: int = DEFAULT_DAY_START_HOUR):
        self.rollover_s = day_start_hour * 3600
        self.offsets: dict[int, int | None] = {}  # UTC day -> the UTC offset all through it (None: it changes)

    def offset(self, seconds: int) -> int:
        """The local UTC offset at a Unix time, as `datetime.astimezone` finds it."""
        day = seconds // 86400
        offset = self.offsets.get(day, False)
        if offset is False:
            first = _time.localtime(day * 86400).tm_gmtoff
            offset = self.offsets[day] = first if first == _time.localtime(day * 86400 + 86399).tm_gmtoff else None
        return _time.localtime(seconds).tm_gmtoff if offset is None else offset

    def day(self, seconds: int) -> int:
        """The learner day number of a Unix time (seconds)."""
        offset = self.offsets.get(seconds // 86400)
        if offset is None:
            offset = self.offset(seconds)
        return (seconds + offset - self.rollover_s) // 86400


def day_start(day: date | int, day_start_hour: int = DEFAULT_DAY_START_HOUR, tz: tzinfo | None = None) -> datetime:
    """The UTC moment a learner day begins (`day` as a date or a `day_number`): the first moment,
    to the microsecond, that `learner_day` puts in that day.

    That is the day-start hour in local wall time, except on a day when that hour does not
    exist (it falls in a DST gap, e.g. 2 a.m. in New York the day summer time starts): then
    the day begins when the clocks jump, which is found by halving."""
    if isinstance(day, int):
        day = _EPOCH_DATE + timedelta(days=day)
    if tz is None:
        naive = datetime.combine(day, time(hour=day_start_hour))
        start = naive.astimezone().astimezone(timezone.utc)  # interpret as local wall time
    else:
        start = datetime.combine(day, time(hour=day_start_hour), tzinfo=tz).astimezone(timezone.utc)
    tick = timedelta(microseconds=1)
    if learner_day(start, day_start_hour, tz) == day and learner_day(start - tick, day_start_hour, tz) < day:
        return start
    low, high = start - timedelta(hours=3), start + timedelta(hours=3)  # learner_day(low) < day <= learner_day(high)
    while high - low > tick:
        middle = low + (high - low) / 2
        if learner_day(middle, day_start_hour, tz) < day:
            low = middle
        else:
            high = middle
    return high


def day_bounds(moment: datetime, day_start_hour: int = DEFAULT_DAY_START_HOUR,
               tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """UTC start and end of the learner day containing `moment`."""
    day = learner_day(moment, day_start_hour, tz)
    return day_start(day, day_start_hour, tz), day_start(day + timedelta(days=1), day_start_hour, tz)
