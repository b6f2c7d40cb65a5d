"""Our cards' progress as Anki keeps it: the scheduling columns of `cards` and the `revlog`.

Used by `anki.export` when a package is written with progress. Format notes, from
Anki's rslib:

* card `data` JSON holds the FSRS memory state: `s` stability (Anki rounds to 4 places),
  `d` difficulty 1..10 (3 places), `dr` desired retention (2 places), `decay` (3 places),
  `lrt` last review time in Unix seconds, which Anki's "Check database" resets to the id
  of the card's last rating revlog row (seconds), so it is made to agree with that row.
* revlog `factor`, in FSRS mode, is the difficulty after the answer, shifted to
  0.1..1.1 and stored in thousandths: round(((d - 1) / 9 + 0.1) * 1000).
* revlog `ivl`/`lastIvl` are days when positive, seconds when negative (an interval that
  reaches past the next day rollover is counted in days); `time` is capped at the deck's
  `maxTaken` (60 s by default).
* revlog ids are the answers' Unix milliseconds, unique in a collection and never in the
  future (Anki's check renumbers those).
* review cards are due on a day number counted from the collection's creation (`col.crt`)
  with a rollover hour (4 a.m. by default); learning cards are due at a Unix time
  (queue 1) or, when the step reaches into a later day, on a day number (queue 3).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from srs import clock
from srs.model import Progress, SrsError
from srs.scheduling import Settings, scheduler

INITIAL_EASE = 2500  # what Anki leaves in cards.factor of graduated cards
MAX_ANSWER_MS = 60_000  # Anki's default "maximum answer seconds", the cap on revlog.time
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


# A card's history comes as rows laid out as `Store.review_rows` gives them (made in bulk):
# (card id, answered at, rating, kind, duration ms, due after, difficulty before the answer),
# times in Unix microseconds, kind as revlog type (0 learn, 1 review, 2 relearn).


def to_us(moment: datetime) -> int:
    """Unix microseconds of a moment (a naive one is taken as UTC), exactly."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _US


class Days:
    """Anki's day numbers for a collection created at `crt`, in this machine's time zone.

    `day(us)` is the learner day number (`clock.EpochDays`, i.e. `clock.day_number`) of a time in
    Unix microseconds. With `creationOffset` set in the collection config, Anki counts the
    rollovers between the local date of `crt` and a moment: that is `index`.
    """

    def __init__(self, crt: int, rollover_hour: int):
        self.epoch_days = clock.EpochDays(rollover_hour)
        self.rollover_s = self.epoch_days.rollover_s
        self.minutes_west = -(self.epoch_days.offset(crt) // 60)
        self.created = clock.epoch_day_number(crt, 0)  # local date of crt, not shifted by the rollover

    def day(self, us: int) -> int:
        return self.epoch_days.day(us // 1_000_000)

    def index(self, us: int) -> int:
        return self.day(us) - self.created


def card_columns(progress: Progress, settings: Settings, *, days: Days, now_us: int, position: int,
                 lrt: int | None) -> tuple:
    """(type, queue, due, ivl, factor, reps, lapses, left, data) of a card with this progress."""
    state = progress.state
    data: dict = {}
    ivl = factor = left = 0
    if state == "new":
        ctype, queue, due = 0, 0, position
    else:
        due_us = to_us(progress.due) if progress.due else now_us
        last_us = to_us(progress.last_review) if progress.last_review else now_us
        if state == "review":
            ctype, queue, factor = 2, 2, INITIAL_EASE
            due = days.index(due_us)
            if progress.due and progress.last_review:
                ivl = max(1, days.day(due_us) - days.day(last_us))
            else:
                ivl = max(1, round(progress.stability or 1))
        elif state in ("learning", "relearning"):
            relearning = state == "relearning"
            ctype = 3 if relearning else 1
            steps = settings.relearning_steps if relearning else settings.learning_steps
            left = min(max(len(steps) - (progress.step or 0), 1), max(len(steps), 1))
            if days.day(due_us) > days.day(last_us):
                queue, due = 3, days.index(due_us)  # a step into a later day: day-learning queue
            else:
                queue, due = 1, due_us // 1_000_000
            if relearning:
                factor = INITIAL_EASE
                ivl = _graduating_interval(settings, progress.stability)
        else:
            raise SrsError(f"card state {state!r} is not one of new, learning, review, relearning")
        if _finite(progress.stability) and _finite(progress.difficulty):
            data.update(s=round(float(progress.stability), 4), d=round(float(progress.difficulty), 3),
                        dr=round(float(settings.desired_retention), 2), decay=round(decay(settings), 3))
        if lrt is not None:
            data["lrt"] = int(lrt)
    if progress.suspended:
        queue = -1
    return (ctype, queue, int(due), int(ivl), int(factor), int(progress.reps or 0), int(progress.lapses or 0),
            int(left), _json(data))


def _json(data: dict) -> str:
    """The card's data as compact JSON (json.dumps with separators, by hand: it is made for every card)."""
    return "{" + ",".join(f'"{key}":{value!r}' for key, value in data.items()) + "}"


def decay(settings: Settings) -> float:
    """FSRS-6's decay (w[20]) in these settings."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    parameters = settings.parameters if settings.parameters and len(settings.parameters) >= 21 else DEFAULT_PARAMETERS
    return float(parameters[20])


def _graduating_interval(settings: Settings, stability: float | None) -> int:
    """The interval FSRS gives this stability: what Anki keeps in ivl of a relearning card."""
    if not stability:
        return 1
    try:
        return int(scheduler(settings)._next_interval(stability=stability))
    except (ValueError, ArithmeticError):  # parameters fsrs refuses
        return 1


RESET_KIND = 4  # revlog type "manual" with ease 0: a reset to new; `with_resets` puts one in a history


def with_resets(histories, resets: dict[int, int]):
    """(card id, history) pairs as `Store.review_rows` grouped gives them, with a reset row
    (kind RESET_KIND, rating 0) at its time in the history of each card reset to new
    (`resets`: card id -> Unix microseconds), so that Anki, and srs reading the package
    again, leave the answers before it out of the card's state."""
    import bisect

    for card_id, history in histories:
        at = resets.get(card_id)
        if at is None:
            yield card_id, history
            continue
        rows = list(history)
        rows.insert(bisect.bisect_left([row[1] for row in rows], at), (card_id, at, 0, RESET_KIND, 0, None, None))
        yield card_id, rows


def revlog_rows(cid: int, history: list[tuple], difficulty: float | None, days: Days) -> list[tuple]:
    """(wanted id, cid, ease, ivl, lastIvl, factor, time, type) for a card's history, oldest first.

    The difficulty after an answer is the next one's difficulty before, and `difficulty`
    (the card's) after the last. ivl is in days when the next due reaches a later learner
    day, else in -seconds. (Written for speed: it runs once per answer exported.)
    """
    rows, last_ivl, day = [], 0, days.epoch_days.day
    afters = [row[6] for row in history[1:]]
    afters.append(difficulty)
    for (_, at_us, rating, kind, duration_ms, due_us, _), after in zip(history, afters):
        if kind == RESET_KIND:  # the card reset to new (Anki's "Forget"): a manual row, as Anki writes one
            rows.append((at_us // 1000, cid, 0, 0, last_ivl, 0, 0, RESET_KIND))
            last_ivl = 0
            continue
        ivl = 0
        if due_us is not None:
            ivl = day(due_us // 1_000_000) - day(at_us // 1_000_000)
            if ivl < 1:
                seconds = round((due_us - at_us) / 1_000_000)
                ivl = -seconds if seconds > 0 else 0
        factor = round(((after - 1.0) / 9.0 + 0.1) * 1000) if after is not None and math.isfinite(after) else 0
        taken = min(duration_ms, MAX_ANSWER_MS) if duration_ms and duration_ms > 0 else 0
        rows.append((at_us // 1000, cid, rating, ivl, last_ivl, factor, taken, kind))
        last_ivl = ivl
    return rows


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# Revlog rows are staged in a temporary table, then given ids in the order of the ids they
# want (the answers' ms): each id is max(wanted, previous id + 1), and none may pass `now`.
# Ids so made increase by one at least, so pulling the last ones back under `now` (each
# one less than the next) is, for the i-th of n rows, min(id, now - (n - 1 - i)). Only a
# few ids differ from the wanted ones; the rows are copied in one statement, with the
# revlog's indexes built afterwards (three times faster than keeping them up to date).
STAGING = ("CREATE TEMP TABLE revlog_in (seq INTEGER PRIMARY KEY, wanted INTEGER, cid INTEGER, ease INTEGER, "
           "ivl INTEGER, lastIvl INTEGER, factor INTEGER, time INTEGER, type INTEGER)")
STAGE = "INSERT INTO revlog_in (wanted, cid, ease, ivl, lastIvl, factor, time, type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def insert_revlog(conn, now_us: int) -> int:
    """Move the staged rows into revlog with unique ids; make each card's `lrt` agree. Returns the count."""
    staged = conn.execute("SELECT count(*) FROM revlog_in").fetchone()[0]
    ceiling = now_us // 1000 - (staged - 1)
    moved, previous = [], None
    for index, (seq, wanted) in enumerate(conn.execute("SELECT seq, wanted FROM revlog_in ORDER BY wanted, seq")):
        given = wanted if previous is None or wanted > previous else previous + 1
        previous = given
        given = min(given, ceiling + index)
        if given != wanted:
            moved.append((seq, given))
    conn.execute("CREATE TEMP TABLE revlog_moved (seq INTEGER PRIMARY KEY, id INTEGER)")
    conn.executemany("INSERT INTO revlog_moved VALUES (?, ?)", moved)
    indexes = [sql for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'revlog' AND sql IS NOT NULL")]
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'revlog' "
                                "AND sql IS NOT NULL").fetchall():
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute("INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
                 "SELECT coalesce(m.id, s.wanted), cid, -1, ease, ivl, lastIvl, factor, time, type "
                 "FROM revlog_in s LEFT JOIN revlog_moved m USING (seq) ORDER BY 1")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("DROP TABLE revlog_in")
    conn.execute("DROP TABLE revlog_moved")
    stale = conn.execute(
        "SELECT c.id, c.data, m.last FROM cards c JOIN (SELECT cid, max(id) / 1000 AS last FROM revlog GROUP BY cid) m "
        "ON m.cid = c.id WHERE json_extract(c.data, '$.lrt') != m.last").fetchall()
    for cid, data, last in stale:  # an id moved across a second by a collision: rare
        values = json.loads(data)
        values["lrt"] = last
        conn.execute("UPDATE cards SET data = ? WHERE id = ?", (_json(values), cid))
    return staged
