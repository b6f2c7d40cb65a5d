"""Retention statistics, computed in SQL: true retention, activity, forecast, the collection, calibration.

`compute(store, now, deck, days)` returns plain dicts and lists (what `srs stats --json`
prints); `srs.charts` draws them. Every figure over the review log is an aggregate query
(one pass over the whole log for true retention and calibration, index range counts
for the days), never a Python loop over reviews.

Definitions:

- Learner days start at the day-start hour (local time) of the deck, or the global one
  for all decks, as `srs.clock` says.
- True retention (Anki's): among answers to cards in the review state (and, as Anki,
  to learning cards whose step was a day or more), counting per card only the first
  such answer of each learner day, the share that were not Again. "Mature": the
  interval scheduled before the answer (Anki's lastIvl: from the learner day of
  `prev_last_review` to that of `prev_due`) was 21 learner days or more.
- Retrievability now (the collection) is FSRS-6's R = (1 + factor * t / S) ** decay with t
  the whole 24-hour days elapsed since the last review, as
  `fsrs.Scheduler.get_card_retrievability`, decay = -w[20] of the deck's parameters.
- Calibration: for every review of a card reviewed before (prev_state > 0) on an earlier
  learner day, the R FSRS predicted then (t = the learner days elapsed, what the scheduler
  gave FSRS: `srs.scheduling.elapsed_days`) against what happened (rating > 1). Same-day
  reviews (R = 1 by definition) are only counted.

Every figure over the log is a sum over learner days (`_day_queries`). The pass over the log is
split into shares of the cards run side by side on connections of their own, beside the other
queries; with the index STATS_INDEX it reads the columns and the two time differences it needs
from that index instead of parsing times from the table (it then takes about half the time).
For all decks, the sums of the days before today are kept in the table `stats_cache` (migration
m012, whose triggers empty it when an answer before its end is added, changed or removed, or a
card changes deck; its key also changes when a card's kind or options do), so that a daily `srs stats`
reads only today's answers and the days since it last ran: at 100,000 cards and 1,000,000 reviews,
about 0.25 s in process instead of 3.5 (`benchmarks/stats_speed.py`). The choice-card figures (issue 16)
are sums by learner day of that pass and cache too (`_choice_sql`).

Practice answers (`srs review --cram`, kind 3) change no schedule: they are counted apart (`practice`
per period and per day), never as reviews (total, today's, the daily chart, study days, the streak).
The leech list flags a card whose lapses reach its deck's `leech_threshold`.
"""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from srs import clock
from srs.scheduling import Settings
from srs.store import CRAM, HISTORY_ONLY, DeckTree, Store

MATURE_DAYS = 21
PERIODS = {"today": 1, "7d": 7, "30d": 30}
DAY_MS = 86_400_000
NUMBERED_AHEAD = 60  # learner days numbered past the last day shown (for intervals ending after it)
CLIP = 1e-9  # predicted recall is clipped to [CLIP, 1 - CLIP] for the log loss
PACK = 1 << 32  # two counts in one sum: n * PACK + passed
STABILITY_EDGES = (1, 3, 7, 14, 30, 90, 180, 365, 730)  # days
STABILITY_LABELS = ("<1d", "1-3d", "3-7d", "1-2w", "2-4w", "1-3mo", "3-6mo", "6-12mo", "1-2y", "2y+")
TENTHS = tuple(f"{10 * k}-{10 * (k + 1)}%" for k in range(10))


def elapsed_ms_sql(t: str = "") -> str:
    """Milliseconds (rounded) from the card's previous answer to this one, for reviews aliased `t`."""
    return f"CAST(round((julianday({t}reviewed_at) - julianday({t}prev_last_review)) * 86400000) AS INTEGER)"


def interval_ms_sql(t: str = "") -> str:
    """Milliseconds (rounded) of the interval scheduled before the answer (Anki's lastIvl)."""
    return f"round((julianday({t}prev_due) - julianday({t}prev_last_review)) * 86400000)"


def seconds_sql(column: str) -> str:
    """Unix seconds of a stored time: what learner days are counted from (day starts are whole). SQLite
    reads the fraction to the millisecond, so a time from .9995 s on counts as the next second (a review
    in the last half millisecond before a day start counts on that day); the expression stays as
    STATS_INDEX has it, since the planner reads the index only for the very same expression."""
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


# The index the pass over the whole log reads instead of the table (SQL for a migration; the
# expressions must stay exactly those above, which a test checks).
STATS_INDEX = ("CREATE INDEX reviews_stats ON reviews (prev_state, rating, prev_stability, card_id, "
               f"{elapsed_ms_sql()}, {interval_ms_sql()}, {seconds_sql('reviewed_at')}, "
               f"{seconds_sql('prev_last_review')})")
WRONG_CHOICES_INDEX = "CREATE INDEX reviews_wrong_choices ON reviews (card_id, choice) WHERE correct = 0"


def elapsed_days_sql(later: str, earlier: str, ms: str | None = None) -> str:
    """SQL for fsrs's whole days between two stored times: max(0, floor((later - earlier) / 1 day)).

    julianday() is exact to the millisecond; only within a millisecond of a whole number
    of days is the exact difference worked out from the text, to the microsecond. `ms`:
    the rounded difference in milliseconds when the query has it already.
    """
    ms = ms or f"CAST(round((julianday({later}) - julianday({earlier})) * 86400000) AS INTEGER)"
    exact = (f"((strftime('%s', substr({later}, 1, 19)) - strftime('%s', substr({earlier}, 1, 19))) * 1000000 "
             f"+ substr({later}, 21, 6) - substr({earlier}, 21, 6)) / 86400000000")
    return f"max(0, CASE WHEN ({ms} + 1) % {DAY_MS} <= 2 THEN {exact} ELSE {ms} / {DAY_MS} END)"


def memory_params(settings: Settings) -> tuple[float, float]:
    """(decay, factor) of a deck's FSRS parameters, as fsrs computes them: R = (1 + factor * t / S) ** decay."""
    from srs.scheduling import scheduler

    decay = -scheduler(settings).parameters[20]
    return decay, 0.9 ** (1 / decay) - 1


class _Scope:
    """What the queries depend on: the deck filter, the day-start hour and each deck's forgetting curve.

    A deck is taken with its subdecks (`Store.deck_tree`); its own settings give the day-start hour and the
    default leech threshold (a parent that is no deck of its own: the settings for all decks)."""

    def __init__(self, store: Store, tree: DeckTree | None):
        every = [d["id"] for d in store.decks()]
        self.deck_ids = None if tree is None else sorted(tree.ids)  # None: all decks
        self.only_deck = self.deck_ids == sorted(every)  # then no query needs to filter by deck
        ids = every if tree is None else self.deck_ids
        settings = {i: Settings.from_dict(store.deck_settings(i)) for i in ids}
        main = (settings[tree.id] if tree is not None and tree.id is not None
                else Settings.from_dict(store.global_settings()))
        self.hour = main.day_start_hour
        self.curves = {i: memory_params(s) for i, s in settings.items()} or {0: memory_params(main)}
        self.leech_thresholds = {i: s.leech_threshold for i, s in settings.items()}
        self.leech_threshold = main.leech_threshold  # a deck not known (yet) has the global one

    def cards(self, column: str, through_index: bool = False) -> str:
        """A filter on card ids for the deck (empty for all decks, or for the only deck). Unless
        `through_index`, the planner may not read the reviews through the index on card ids (random
        reads of the table, a card at a time), only check each row against the deck's cards."""
        if self.deck_ids is None or self.only_deck:
            return ""
        plus = "" if through_index else "+"
        return f" AND {plus}{column} IN (SELECT card_id FROM card_state WHERE deck_id IN ({self._ids()}))"

    def decks(self, column: str) -> str:
        return "" if self.deck_ids is None else f" AND {column} IN ({self._ids()})"

    def _ids(self) -> str:
        return ",".join(str(int(i)) for i in self.deck_ids) or "NULL"

    def curve(self, deck: str) -> tuple[str, str]:
        """SQL for (decay, factor): constants when all decks share a curve, else chosen by `deck`."""
        if len(set(self.curves.values())) == 1:
            return tuple(repr(v) for v in next(iter(self.curves.values())))
        return tuple(f"CASE {deck} " + " ".join(f"WHEN {i} THEN {c[k]!r}" for i, c in self.curves.items()) + " END"
                     for k in (0, 1))


def compute(store: Store, now: datetime, deck: DeckTree | int | None = None, days: int = 30) -> dict:
    """Every figure `srs stats` shows, as plain data; `deck`: a deck with its subdecks (`Store.deck_tree`),
    or one deck's id alone, or None for all decks; `days`: the days of activity and of forecast."""
    days = max(1, days)
    if isinstance(deck, int):
        deck = DeckTree(_deck_name(store, deck), deck, (deck,))
    scope = _Scope(store, deck)
    conn = store.conn
    today = clock.learner_day(now, scope.hour)
    first = conn.execute(f"SELECT min(reviewed_at) FROM reviews r WHERE 1 {scope.cards('r.card_id')}").fetchone()[0]
    first_day = min(clock.learner_day(clock.from_text(first), scope.hour), today) if first else today
    first_day = min(first_day, today - timedelta(days=max(days, 30) - 1))
    day_rows = _day_rows(first_day, today + timedelta(days=days - 1), scope.hour)
    scope.day_runs = _day_runs(first_day, today + timedelta(days=days - 1 + NUMBERED_AHEAD), scope.hour)
    tables = day_rows
    parts = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(2 * parts + 2) as pool:  # the passes over the log run beside the other queries
        by_day = _log_by_day(store, scope, tables, parts, clock.day_start(today, scope.hour), pool)
        _day_table(conn, tables)
        try:
            forecast = _forecast(conn, scope, today)
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.stats_days")
        collection, trouble = _collection(conn, scope, now), _trouble(conn, scope)
        by_day, choice_by_day = by_day()
        choice = _choice_figures(_choice_rows(choice_by_day, (today - date(1970, 1, 1)).days))
    log, cells, daily_all = _from_days(by_day, today, first_day, today - timedelta(days=days - 1))
    window_start = (today - timedelta(days=days - 1)).isoformat()
    year_ago = (today - timedelta(days=370)).isoformat()
    return {
        "deck": None if deck is None else deck.name,
        "now": clock.to_text(now),
        "today": today.isoformat(),
        "day_start_hour": scope.hour,
        "days": days,
        "reviews": log["reviews"],
        "practice": log["practice"],
        "practice_seconds": log["practice_seconds"],
        **_retention(cells),
        "daily": [d for d in daily_all if d["date"] >= window_start],
        "calendar": [{"date": d["date"], "reviews": d["reviews"]} for d in daily_all
                     if d["reviews"] and d["date"] >= year_ago],
        **_streaks(daily_all),
        **forecast,
        **collection,
        "calibration": {**_calibration(log), "by_format": choice["calibration"]},
        "true_retention_choice": choice["retention"],
        **trouble,
    }


def _deck_name(store: Store, deck_id: int) -> str:
    return store.conn.execute("SELECT name FROM decks WHERE id = ?", (deck_id,)).fetchone()[0]


def _day_rows(first: date, last: date, hour: int) -> list[tuple]:
    """(i, day, lo, hi) for each learner day from `first` to `last`, with its UTC bounds as stored text."""
    rows, day, lo = [], first, clock.to_text(clock.day_start(first, hour))
    for i in range((last - first).days + 1):
        hi = clock.to_text(clock.day_start(day + timedelta(days=1), hour))
        rows.append((i, day.isoformat(), lo, hi))
        day, lo = day + timedelta(days=1), hi
    return rows


def _day_table(conn, rows: list[tuple]) -> None:
    """temp.stats_days(i, day, lo, hi): the learner days the queries group by."""
    conn.execute("DROP TABLE IF EXISTS temp.stats_days")
    conn.execute("CREATE TEMP TABLE stats_days (i INTEGER PRIMARY KEY, day TEXT, lo TEXT UNIQUE, hi TEXT)")
    conn.executemany("INSERT INTO temp.stats_days VALUES (?, ?, ?, ?)", rows)


def _day_runs(first: date, last: date, hour: int) -> list[tuple[int, int, int]]:
    """The learner days from `first` to `last` as runs of days with one UTC offset at their start:
    (Unix second the run's first day starts, k, number of its last day), where a day numbered n
    (`clock.day_number`) starts at second n * 86400 + k. From `clock.day_start`, day by day."""
    runs: list[list[int]] = []
    day = first
    while day <= last:
        start = int(clock.day_start(day, hour).timestamp())
        number = (day - date(1970, 1, 1)).days
        k = start - number * 86400
        if runs and runs[-1][1] == k:
            runs[-1][2] = number
        else:
            runs.append([start, k, number])
        day += timedelta(days=1)
    return [tuple(run) for run in runs]


def _day_number_sql(scope: "_Scope", seconds: str) -> str:
    """SQL for `clock.day_number` of a Unix time, from the day starts of `scope.day_runs`: within a run of
    days with one UTC offset at their start, day n covers [n * 86400 + k, the next day's start) (capped at
    the run's last day: a day of 25 hours). Times before the first day or after the last extrapolate."""
    runs = scope.day_runs
    if len(runs) == 1:
        return f"(({seconds} - {runs[0][1]}) / 86400)"
    branches = " ".join(f"WHEN {seconds} < {runs[j + 1][0]} THEN min(({seconds} - {k}) / 86400, {last})"
                        for j, (_, k, last) in enumerate(runs[:-1]))
    return f"(CASE {branches} ELSE ({seconds} - {runs[-1][1]}) / 86400 END)"


def _answers(scope: _Scope, where: str, columns: tuple[str, ...] = (), indexed: bool = False,
             with_day: bool = False) -> str:
    """SQL for the reviews passing `where`, one row each: ps (state before), y (passed), p (the R FSRS
    predicted, NULL unless the previous answer was on an earlier learner day), c (NULL unless the
    answer counts for true retention, else mature * 2 + passed), b (p's tenth), and `columns` of reviews.

    `indexed`: read the two time differences from STATS_INDEX (each use is then a read, not a computation);
    else they are computed once per row in a subquery.
    """
    names = ("id", "card_id", "prev_state", "rating", "prev_stability", *columns)
    if indexed:
        source, m, ivl = f"reviews r WHERE {where}", elapsed_ms_sql("r."), interval_ms_sql("r.")
        at_s, last_s = seconds_sql("r.reviewed_at"), seconds_sql("r.prev_last_review")
    else:
        source = (f"(SELECT {', '.join(f'r.{c} AS {c}' for c in names)}, {elapsed_ms_sql('r.')} AS m, "
                  f"{interval_ms_sql('r.')} AS ivl, {seconds_sql('r.reviewed_at')} AS at_s, "
                  f"{seconds_sql('r.prev_last_review')} AS last_s "
                  f"FROM reviews r WHERE {where} {scope.cards('r.card_id')} LIMIT -1) r WHERE 1")
        m, ivl, at_s, last_s = "r.m", "r.ivl", "r.at_s", "r.last_s"
    decay, factor = scope.curve("(SELECT deck_id FROM card_state WHERE card_id = r.card_id)")
    by_id = "FROM reviews x WHERE x.id = r.id"  # the rare cases read the row itself
    # the learner days FSRS saw (srs.scheduling.elapsed_days): from the day of the previous answer to this one's
    days = f"({_day_number_sql(scope, at_s)} - {_day_number_sql(scope, last_s)})"
    # the interval scheduled before the answer, in learner days, >= 21: the interval ended at the start of a
    # learner day, so it is more than 21 days - 2 h long (a day may be 25 h) and surely so from 21 days + 2 h
    # (prev_due's second from the index: prev_last_review's, truncated, plus the interval; one second more
    # so that a due at a day's very start, as review cards have, falls on that day)
    due_s = f"({last_s} + CAST(({ivl} + 1000) / 1000 AS INTEGER))"
    ld_interval = f"({_day_number_sql(scope, due_s)} - {_day_number_sql(scope, last_s)})"
    # the first counted answer of its learner day: surely so when the card's previous answer was 25 hours or
    # more before; else when that was on an earlier day, or no answer earlier that day counted
    earlier_that_day = (
        "EXISTS (SELECT 1 FROM reviews r2 WHERE r2.card_id = x.card_id AND r2.reviewed_at < x.reviewed_at "
        "AND r2.reviewed_at >= (SELECT max(lo) FROM temp.stats_days WHERE lo <= x.reviewed_at) AND "
        f"(r2.prev_state = 2 OR (r2.prev_state IN (1, 3) AND {interval_ms_sql('r2.')} >= {DAY_MS})))")
    first_of_day = (
        f"CASE WHEN {m} >= 90000000 THEN 1 ELSE (SELECT EXISTS (SELECT 1 FROM temp.stats_days "
        f"WHERE lo > x.prev_last_review AND lo <= x.reviewed_at) OR NOT {earlier_that_day} {by_id}) END")
    counted = f"(r.prev_state = 2 OR (r.prev_state IN (1, 3) AND {ivl} >= {DAY_MS}))"
    mature = (f"(r.prev_state = 2 AND ({ivl} >= {MATURE_DAYS * DAY_MS + 7_200_000} OR ({ivl} > "
              f"{(MATURE_DAYS - 1) * DAY_MS - 7_200_000} AND {ld_interval} >= {MATURE_DAYS})))")
    extra = "".join(f", {c}" for c in columns) + (", d" if with_day else "")
    day = f", {_day_number_sql(scope, at_s)} AS d" if with_day else ""
    return f"""
    SELECT ps, y, p, c, CAST(p * 10 AS INTEGER) AS b {extra} FROM (
      SELECT r.prev_state AS ps, r.rating > 1 AS y {''.join(f', r.{c} AS {c}' for c in columns)} {day},
        CASE WHEN r.prev_state > 0 AND r.prev_stability > 0
          THEN pow(1 + {factor} * nullif({days}, 0) / r.prev_stability, {decay}) END AS p,
        CASE WHEN {counted} AND {first_of_day} THEN {mature} * 2 + (r.rating > 1) END AS c
      FROM {source} {scope.cards('r.card_id') if indexed else ''}
      -- only answers that can count: to a card reviewed before on an earlier learner day, or in the review state
      AND r.prev_state > 0 AND (r.prev_state = 2 OR {ivl} >= {DAY_MS} OR {m} >= 90000000 OR {days} > 0) LIMIT -1
    ) LIMIT -1"""


def has_stats_index(conn) -> bool:
    return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'reviews_stats' "
                        "AND tbl_name = 'reviews'").fetchone()[0] > 0


# -- the log by learner day (and its cache) ------------------------------------------------------
#
# Every figure over the log is a sum over learner days: for each day, [reviews, reviews of a card
# reviewed before, milliseconds spent, young cells (packed), mature cells (packed), ten calibration
# bins (packed count and passed, sum of predicted R), log loss, practice answers (`srs review --cram`,
# not reviews), milliseconds spent on them]. The days before today do not change
# when the learner answers today, so for all decks they are kept in `stats_cache` (see
# `Store.stats_cache`: triggers empty it whenever an answer before its end is added, changed or
# removed, or a card changes deck), and only today's answers are read each time.

DAY_SUMS = 28
CACHE_VERSION = 3  # 2: practice sums; 3: the choice sums by day kept too


def _day_queries(scope: _Scope, parts: int, lo: datetime | None, hi: datetime | None, indexed: bool) -> list[str]:
    """Queries giving per learner day (d) parts of DAY_SUMS for the answers in [lo, hi): one for the
    totals, then `parts` shares of the cards for retention cells, calibration and log loss. Bounds on
    Unix seconds (the index STATS_INDEX has them) for the whole log, on the stored time otherwise."""
    if indexed:
        at = seconds_sql("r.reviewed_at")
        bounds = "".join([f" AND {at} >= {int(lo.timestamp())}" if lo else "",
                          f" AND {at} < {int(hi.timestamp())}" if hi else ""])
    else:
        bounds = "".join([f" AND r.reviewed_at >= '{clock.to_text(lo)}'" if lo else "",
                          f" AND r.reviewed_at < '{clock.to_text(hi)}'" if hi else ""])
    # the totals read every row's duration: for the whole log (no `lo`), a scan of the table in its own order
    # (about 1 s at 1,000,000 reviews), not the review-time index and a random read of the table per review (2-3 s)
    text_bounds = "".join([f" AND r.reviewed_at >= '{clock.to_text(lo)}'" if lo else "",
                           f" AND {'' if lo else '+'}r.reviewed_at < '{clock.to_text(hi)}'" if hi else ""])
    state = "" if indexed else "+"  # a range of days: read through the index on review time, not STATS_INDEX
    day = _day_number_sql(scope, seconds_sql("r.reviewed_at"))
    review = f"r.kind != {CRAM}"  # practice answers (`srs review --cram`) are counted apart
    totals = (f"SELECT {day} AS d, count(*) FILTER (WHERE {review}), count(*) FILTER (WHERE r.prev_state > 0), "
              f"coalesce(sum(r.duration_ms) FILTER (WHERE {review}), 0), count(*) FILTER (WHERE NOT {review}), "
              f"coalesce(sum(r.duration_ms) FILTER (WHERE NOT {review}), 0) "
              f"FROM reviews r WHERE 1 {text_bounds} {scope.cards('r.card_id')} GROUP BY d")
    bins = ", ".join(f"sum({PACK} + y) FILTER (WHERE b = {k}), sum(p) FILTER (WHERE b = {k})" for k in range(10))
    shares = [
        f"SELECT d, sum({PACK} + c) FILTER (WHERE c < 2), sum({PACK} + c - 2) FILTER (WHERE c >= 2), {bins}, "
        f"sum(CASE WHEN y THEN -ln(max(p, {CLIP})) ELSE -ln(max(1 - p, {CLIP})) END) "
        f"FROM ({_answers(scope, f'{state}r.prev_state > 0 AND r.card_id % {parts} = {k}{bounds}', indexed=indexed, with_day=True)}) "
        "GROUP BY d"
        for k in range(parts)]
    return [totals] + shares


def _query_rows(path, tables: list[tuple], sql: str, args: dict | None = None) -> list[tuple]:
    """A grouped query on a connection of its own (so that queries can run side by side)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _day_table(conn, tables)
        return conn.execute(sql, args or {}).fetchall()
    finally:
        conn.close()


def _day_sums(results: list[list[tuple]]) -> dict[int, list]:
    """{learner day number: DAY_SUMS numbers} from the rows of `_day_queries`."""
    days: dict[int, list] = {}
    totals, shares = results[0], results[1:]
    for d, reviews, before, ms, practice, practice_ms in totals:
        sums = days.setdefault(d, [0] * DAY_SUMS)
        sums[:3], sums[26:28] = [reviews, before, ms], [practice, practice_ms]
    for rows in shares:
        for d, *values in rows:
            sums = days.setdefault(d, [0] * DAY_SUMS)
            for k, value in enumerate(values):
                sums[3 + k] += value or 0
    return days


def _add_days(into: dict, more: dict) -> dict:
    for d, values in more.items():
        sums = into.setdefault(d, [0] * len(values))
        for k, value in enumerate(values):
            sums[k] += value
    return into


def _cache_key(scope: _Scope, conn) -> str:
    """What the cached days depend on: the day-start hour, the local zone's day starts, each deck's curve, and
    (for the choice sums) which cards are choice or typed cards and their options: a re-import may change a
    card's kind or options, which no trigger of the cache sees (a few tens of ms at 100,000 cards)."""
    import json

    zone = [clock.to_text(clock.day_start(date(2025, month, 15), scope.hour)) for month in (1, 7)]
    choice = conn.execute("SELECT count(*), total(id), total(id * (kind = 'typed')), total(id * length(options)) "
                          "FROM cards WHERE kind IN ('choice', 'typed')").fetchone()
    return json.dumps([CACHE_VERSION, scope.hour, zone, sorted([d, list(c)] for d, c in scope.curves.items()),
                       list(choice)])


def _log_by_day(store: Store, scope: _Scope, tables: list[tuple], parts: int, today_start: datetime, pool):
    """Start reading the log summed by learner day on `pool`: the days before today from the cache when it
    holds them (brought up to date), else from the log; today's answers always. Returns a function that
    waits for the sums (and keeps the cache up to date, on this thread's connection): (the DAY_SUMS sums by
    day, the choice sums by (day, format, tenth of R) of `_choice_sql`)."""
    import json

    indexed = has_stats_index(store.conn)

    def run(lo, hi, indexed) -> tuple[list, object]:
        days = [pool.submit(_query_rows, store.path, tables, sql) for sql in _day_queries(scope, parts, lo, hi, indexed)]
        return days, pool.submit(_query_rows, store.path, tables, _choice_sql(scope, lo, hi))

    def sums(futures) -> tuple[dict[int, list], dict[tuple, list]]:
        days, choice = futures
        return _day_sums([f.result() for f in days]), _choice_sums(choice.result())

    def add(into, more):
        return _add_days(into[0], more[0]), _add_days(into[1], more[1])

    end = clock.to_text(today_start)
    today = run(today_start, None, False)
    if scope.deck_ids is not None and not scope.only_deck:  # some decks among others: no cache
        before = run(None, today_start, indexed)
        return lambda: add(sums(before), sums(today))
    key = _cache_key(scope, store.conn)
    cached = store.stats_cache(key)
    if cached is not None and cached[0] <= end:
        kept_json = json.loads(cached[1])
        kept = ({int(d): values for d, values in kept_json["days"].items()},
                {(d, fmt, b): values for d, fmt, b, *values in kept_json["choice"]})
        since = run(clock.from_text(cached[0]), today_start, False) if cached[0] < end else None
    else:
        kept, since = ({}, {}), run(None, today_start, indexed)

    def finish() -> tuple[dict[int, list], dict[tuple, list]]:
        days = add(kept, sums(since)) if since else kept
        if cached is None or cached[0] != end:
            store.keep_stats_cache(key, end, json.dumps(
                {"days": days[0], "choice": [[*k, *v] for k, v in sorted(days[1].items())]}))
        return add(({d: list(v) for d, v in days[0].items()}, {k: list(v) for k, v in days[1].items()}),
                   sums(today))

    return finish


def _from_days(by_day: dict[int, list], today: date, first_day: date, window_start: date):
    """The log's figures from its sums by learner day: {reviews, cells, bins, loss, same_day, practice (per period),
    practice_seconds}, the retention cells of today, 7 and 30 days and all time, and the reviews and practice
    answers (and, from `window_start`, seconds of review) of every day to today."""
    epoch = date(1970, 1, 1)
    number = (today - epoch).days
    total = [0] * DAY_SUMS
    for values in by_day.values():
        for k, value in enumerate(values):
            total[k] += value

    def cells(values) -> list[int]:
        (young, young_passed), (mature, mature_passed) = divmod(values[3], PACK), divmod(values[4], PACK)
        return [young - young_passed, young_passed, mature - mature_passed, mature_passed]

    recent, practice = {}, {}
    for name, n in PERIODS.items():
        part = [0, 0, 0, 0, 0]
        practice[name] = 0
        for d in range(number - n + 1, number + 1):
            values = by_day.get(d)
            if values:
                part[3] += values[3]
                part[4] += values[4]
                practice[name] += values[26]
        recent[name] = cells(part)
    recent["all"], practice["all"] = cells(total), total[26]
    bins = [(*divmod(total[5 + 2 * k], PACK), total[6 + 2 * k]) for k in range(10)]
    log = {"reviews": total[0], "cells": recent["all"], "bins": bins, "loss": total[25],
           "same_day": total[1] - sum(b[0] for b in bins), "practice": practice,
           "practice_seconds": total[27] / 1000}
    daily = []
    for k in range((first_day - epoch).days, number + 1):
        values = by_day.get(k, [0] * DAY_SUMS)
        day = epoch + timedelta(days=k)
        daily.append({"date": day.isoformat(), "reviews": values[0],
                      "seconds": values[2] / 1000 if day >= window_start else None, "practice": values[26]})
    return log, recent, daily


def _retention(cells: dict) -> dict:
    """true_retention and its young and mature parts per period, from [young failed, young passed,
    mature failed, mature passed] counts."""
    names = ("young_failed", "young_passed", "mature_failed", "mature_passed")
    counts = {period: dict(zip(names, cells[period])) for period in ("today", "7d", "30d", "all")}

    def rate(passed: int, failed: int) -> float | None:
        return None if passed + failed == 0 else passed / (passed + failed)

    return {
        "true_retention": {n: rate(c["young_passed"] + c["mature_passed"], c["young_failed"] + c["mature_failed"])
                           for n, c in counts.items()},
        "true_retention_young": {n: rate(c["young_passed"], c["young_failed"]) for n, c in counts.items()},
        "true_retention_mature": {n: rate(c["mature_passed"], c["mature_failed"]) for n, c in counts.items()},
        "retention_counts": counts,
    }


def _streaks(daily: list[dict]) -> dict:
    """Study days, the longest run of them and the current one (ending today, or yesterday while today is empty)."""
    studied = [d["reviews"] > 0 for d in daily]
    longest = run = 0
    for flag in studied:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    current = 0
    for flag in reversed(studied[:-1] if studied and not studied[-1] else studied):
        if not flag:
            break
        current += 1
    return {"study_days": sum(studied), "streak": {"current": current, "longest": longest},
            "reviews_today": daily[-1]["reviews"] if daily else 0}


def _forecast(conn, scope: _Scope, today: date) -> dict:
    """Cards due on each coming learner day (today's count includes the overdue ones), read through the
    queue index."""
    decks = scope.deck_ids if scope.deck_ids is not None else [r[0] for r in conn.execute("SELECT id FROM decks")]
    queue = (f"FROM card_state WHERE deck_id IN ({','.join(str(int(i)) for i in decks) or 'NULL'}) AND retired = 0 "
             "AND suspended = 0 AND state IN (1, 2, 3)")
    rows = conn.execute(
        f"SELECT d.day, (SELECT count(*) {queue} AND due >= (CASE WHEN d.day = :today THEN '' ELSE d.lo END) "
        "AND due < d.hi), d.lo FROM temp.stats_days d WHERE d.day >= :today ORDER BY d.i",
        {"today": today.isoformat()}).fetchall()
    overdue = conn.execute(f"SELECT count(*) {queue} AND due < ?", (rows[0][2],)).fetchone()[0]
    return {"forecast": [{"date": day, "due": n} for day, n, _ in rows], "overdue": overdue}


def _collection(conn, scope: _Scope, now: datetime) -> dict:
    """Cards by state; distributions of stability, difficulty and retrievability now; the expected recall."""
    where = scope.decks("deck_id")
    row = conn.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE suspended != 1 AND state = {k})" for k in range(4)) + ", "
        f"count(*) FILTER (WHERE suspended = 1), count(*) FROM card_state WHERE retired = 0 {where}").fetchone()
    states = dict(zip(("new", "learning", "review", "relearning", "suspended", "total"), row))
    states["history_only"] = conn.execute(  # cards a review log brought without content (srs.history)
        f"SELECT count(*) FROM card_state WHERE retired = 2 {where}").fetchone()[0]
    states["unkeyed"] = conn.execute(
        f"SELECT count(*) FROM cards WHERE retired = 0 AND kind = 'choice' AND answer IS NULL {where}").fetchone()[0]
    decay, factor = scope.curve("deck_id")
    r_edges = [k / 10 for k in range(1, 10)]
    d_edges = [1 + 0.9 * k for k in range(1, 10)]  # difficulty runs from 1 to 10
    below = ", ".join([f"count(*) FILTER (WHERE stability < {e})" for e in STABILITY_EDGES]
                      + [f"count(*) FILTER (WHERE difficulty < {e!r})" for e in d_edges]
                      + [f"count(*) FILTER (WHERE r < {e})" for e in r_edges])
    row = conn.execute(
        f"SELECT count(*), coalesce(sum(r), 0), {below} FROM (SELECT stability, difficulty, "
        f"pow(1 + {factor} * {elapsed_days_sql(':now', 'last_review')} / stability, {decay}) AS r "
        f"FROM card_state WHERE retired = 0 AND state > 0 AND stability > 0 {where} LIMIT -1)",
        {"now": clock.to_text(now)}).fetchone()
    n, r_sum, below = row[0], row[1], list(row[2:])

    def histogram(cumulative: list[int], labels) -> list[dict]:
        edges = [0, *cumulative, n]
        return [{"label": label, "cards": edges[k + 1] - edges[k]} for k, label in enumerate(labels)]

    return {
        "states": states,
        "studied_cards": n,
        "retrievability_sum": r_sum,
        "retrievability_mean": r_sum / n if n else None,
        "stability": histogram(below[:9], STABILITY_LABELS),
        "difficulty": histogram(below[9:18], TENTHS),
        "retrievability": histogram(below[18:], TENTHS),
    }


def _calibration(log: dict) -> dict:
    """Predicted against actual recall in ten bins of predicted R; log loss and RMSE over the bins
    (sqrt(sum n_b (predicted_b - actual_b)^2 / N), as the open-spaced-repetition benchmark)."""
    n = sum(b[0] for b in log["bins"])
    bins, squares = [], 0.0
    for k, (count, passed, predicted) in enumerate(log["bins"]):
        entry = {"lo": k / 10, "hi": (k + 1) / 10, "n": count, "predicted": None, "actual": None}
        if count:
            entry["predicted"], entry["actual"] = predicted / count, passed / count
            squares += count * (entry["predicted"] - entry["actual"]) ** 2
        bins.append(entry)
    return {"n": n, "log_loss": log["loss"] / n if n else None, "rmse_bins": (squares / n) ** 0.5 if n else None,
            "same_day": log["same_day"], "bins": bins}


def _asked(question: str, answer: str | None, kind: str, ord_: int | None, typed_answer: str | None) -> str:
    """The question as the learner is asked it (srs.kinds: a cloze deletion as [...], a reversed card's answer)."""
    from srs import kinds
    from srs.model import CardSpec

    spec = CardSpec(question=question, answer=answer, kind=kind, ord=ord_ or 0, typed_answer=typed_answer)
    return kinds.of(spec).asked(spec)


def _trouble(conn, scope: _Scope) -> dict:
    """The cards with the most lapses, each a leech when its lapses reach its deck's `leech_threshold`, and
    the wrong options chosen most often on choice cards.

    History-only cards (`srs import-history`) count too: their lapses are those of their history (replayed
    into card_state like any card's), and they are named as `srs card ID` and `srs log` name them, by
    their id and their placeholder text (the log's own card id); `history_only` marks them."""
    where = scope.decks("c.deck_id")

    def threshold(deck_id: int) -> int:
        return scope.leech_thresholds.get(deck_id, scope.leech_threshold)

    leeches = [{"card_id": r[0], "question": _asked(*r[4:9]), "lapses": r[2], "reps": r[3],
                "leech": r[2] >= threshold(r[9]), "leech_threshold": threshold(r[9]),
                "history_only": r[10] == HISTORY_ONLY}
               for r in conn.execute(
                   "SELECT s.card_id, c.question, s.lapses, s.reps, c.question, c.answer, c.kind, c.ord, "
                   "c.typed_answer, c.deck_id, s.retired "
                   "FROM card_state s JOIN cards c ON c.id = s.card_id "
                   f"WHERE s.retired IN (0, {HISTORY_ONLY}) AND s.lapses > 0 {where} "
                   "ORDER BY s.lapses DESC, s.card_id LIMIT 10")]
    wrong = [{"card_id": r[0], "question": _asked(r[1], r[4], *r[5:]), "choice": r[2], "times": r[3], "answer": r[4]}
             for r in conn.execute(
                 "SELECT w.card_id, c.question, w.choice, w.n, c.answer, c.kind, c.ord, c.typed_answer "
                 "FROM (SELECT card_id, choice, count(*) AS n "
                 "FROM reviews WHERE correct = 0 GROUP BY card_id, choice) w JOIN cards c ON c.id = w.card_id "
                 f"WHERE c.retired = 0 AND w.choice IS NOT NULL {where} "
                 "ORDER BY w.n DESC, w.card_id, w.choice LIMIT 10")]
    return {"leeches": leeches, "wrong_choices": wrong}


# -- multiple choice that measures recall (issue 16) ------------------------------------------------

CHOICE_FORMATS = ("options", "recall_first")  # choice reviews answered by picking among the card's options


def _format_sql(alias: str, card: str) -> str:
    """The format a review was asked in (`srs.kinds.FORMATS`); a review logged before formats were kept:
    "options" for a choice card (always asked with its options then), "typed" for a typed card, else "recall"."""
    return (f"coalesce({alias}.format, CASE {card}.kind WHEN 'choice' THEN 'options' WHEN 'typed' THEN 'typed' "
            "ELSE 'recall' END)")


CHOICE_SUMS = 7  # per (learner day, format, tenth of R): see `_choice_sql`


def _choice_sql(scope: _Scope, lo: datetime | None, hi: datetime | None) -> str:
    """One aggregate query over the answers in [lo, hi), by (learner day, format, tenth of predicted R): the
    calibration sums (n, passed, predicted R, expected pass rate) and the true-retention sums of choice reviews
    from options (n, passed, guess-corrected). Part of the pass by learner day (and so of its cache)."""
    # choice and typed cards only (basic and cloze reviews, "recall", are the plain calibration's): for the
    # whole log (no `lo`), read a card at a time through the index on card ids (each row is read for its format
    # anyway: about half the time of a pass over STATS_INDEX), else a range of days through the review-time index
    bounds = "".join([f" AND r.reviewed_at >= '{clock.to_text(lo)}'" if lo else "",
                      f" AND r.reviewed_at < '{clock.to_text(hi)}'" if hi else ""])
    by_card = "" if lo is None else "+"
    where = (f"+r.prev_state > 0 AND {by_card}r.card_id IN (SELECT id FROM cards WHERE kind IN ('choice', "
             f"'typed')){bounds}")
    answers = (f"SELECT a.*, {_format_sql('a', 'k')} AS fmt, json_array_length(k.options) AS k "
               f"FROM ({_answers(scope, where, ('card_id', 'format'), with_day=True)}) a "
               "JOIN cards k ON k.id = a.card_id")
    counted = f"c IS NOT NULL AND k >= 2 AND fmt IN {CHOICE_FORMATS}"
    return (f"SELECT d, fmt, b, count(p), total(y) FILTER (WHERE p IS NOT NULL), total(p), "
            f"total(CASE WHEN fmt IN {CHOICE_FORMATS} AND k >= 2 THEN p + (1 - p) / k END), "
            f"count(*) FILTER (WHERE {counted}), total(y) FILTER (WHERE {counted}), "
            f"total((y - 1.0 / k) / (1 - 1.0 / k)) FILTER (WHERE {counted}) "
            f"FROM ({answers}) GROUP BY d, fmt, b")


def _choice_sums(rows: list[tuple]) -> dict[tuple, list]:
    """{(learner day number, format, tenth of R): CHOICE_SUMS numbers} from the rows of `_choice_sql`."""
    return {(d, fmt, b): list(values) for d, fmt, b, *values in rows}


def _choice_rows(by_day: dict[tuple, list], today: int) -> list[tuple]:
    """`_choice_figures`' rows from the choice sums by day (`today`: today's day number): per (format, tenth
    of R), the calibration sums of all days, then (n, passed, corrected) for today, 7 days, 30 days and all
    time. Added in the order of the keys, so that the same sums give the same figures."""
    groups: dict[tuple, list] = {}
    for (d, fmt, b), (n, passed, predicted, expected, *counted) in sorted(by_day.items(), key=lambda kv: (
            kv[0][1] or "", -1 if kv[0][2] is None else kv[0][2], kv[0][0])):
        sums = groups.setdefault((fmt, b), [0] * 16)
        for k, value in enumerate((n, passed, predicted, expected)):
            sums[k] += value
        for i, days in enumerate((*PERIODS.values(), None)):
            if days is None or d > today - days:
                for k, value in enumerate(counted):
                    sums[4 + 3 * i + k] += value
    return [(fmt, b, *sums) for (fmt, b), sums in groups.items()]


def _choice_figures(rows: list[tuple]) -> dict:
    """For choice cards answered from their options (formats "options" and "recall_first"), per period
    (`today`, `7d`, `30d`, `all`): `n` reviews counted as true retention counts them (the first answer of a
    learner day to a card in review...), `observed` the share passed and `corrected` the guess-corrected
    retention, the mean over those reviews of (passed - 1/k) / (1 - 1/k), k the card's number of options (an
    unbiased estimate of recall when a learner who does not recall picks at random). And calibration per
    format ("options", "recall_first", "typed": choice and typed cards): for the reviews of `_answers`' predicted
    R (a day or more after the previous answer), by tenth of R: n, the mean predicted R, the share passed, and
    for choice reviews from options the pass rate a guessing learner is expected to reach, the mean of
    R + (1 - R)/k (`expected`; R for the others). Rows: `_choice_sql`'s."""
    totals = [0.0] * 12
    calibration: dict[str, dict] = {}
    for fmt, b, n, passed, predicted, expected, *sums in rows:
        totals = [t + (v or 0) for t, v in zip(totals, sums)]
        if not n:
            continue
        entry = calibration.setdefault(fmt, {"format": fmt, "n": 0, "guessing": fmt in CHOICE_FORMATS, "bins": [
            {"lo": k / 10, "hi": (k + 1) / 10, "n": 0, "predicted": None, "actual": None, "expected": None}
            for k in range(10)]})
        entry["n"] += n
        entry["bins"][min(int(b), 9)].update(n=n, predicted=predicted / n, actual=passed / n,
                                             expected=(expected if fmt in CHOICE_FORMATS else predicted) / n)
    for entry in calibration.values():
        bins = [b for b in entry["bins"] if b["n"]]
        entry["rmse_bins"] = (sum(b["n"] * (b["expected"] - b["actual"]) ** 2 for b in bins) / entry["n"]) ** 0.5
    retention = {}
    for i, name in enumerate(("today", "7d", "30d", "all")):
        n, passed, corrected = totals[3 * i: 3 * i + 3]
        n = int(n)
        retention[name] = {"n": n, "observed": passed / n if n else None, "corrected": corrected / n if n else None}
    return {"retention": retention, "calibration": calibration}
