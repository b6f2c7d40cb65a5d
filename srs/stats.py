"""Retention statistics, computed in SQL: true retention, activity, forecast, the collection, calibration.

`compute(store, now, deck_id, days)` returns plain dicts and lists (what `srs stats --json`
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

The pass over the whole log is split into shares of the cards run side by side on
connections of their own, beside the other queries. With the index STATS_INDEX it reads
the columns and the two time differences it needs from that index instead of parsing
times from the table (it then takes about half the time).
"""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from srs import clock
from srs.scheduling import Settings
from srs.store import Store

MATURE_DAYS = 21
LEECH_LAPSES = 8  # Anki's default leech threshold
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
    """Unix seconds (truncated) of a stored time: what learner days are counted from (day starts are whole)."""
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
    """What the queries depend on: the deck filter, the day-start hour and each deck's forgetting curve."""

    def __init__(self, store: Store, deck_id: int | None):
        self.deck_id = deck_id
        every = [d["id"] for d in store.decks()]
        self.only_deck = every == [deck_id]  # then no query needs to filter by deck
        ids = [deck_id] if deck_id is not None else every
        settings = {i: Settings.from_dict(store.deck_settings(i)) for i in ids}
        main = settings[deck_id] if deck_id is not None else Settings.from_dict(store.global_settings())
        self.hour = main.day_start_hour
        self.curves = {i: memory_params(s) for i, s in settings.items()} or {0: memory_params(main)}

    def cards(self, column: str, through_index: bool = False) -> str:
        """A filter on card ids for the deck (empty for all decks, or for the only deck). Unless
        `through_index`, the planner may not read the reviews through the index on card ids (random
        reads of the table, a card at a time), only check each row against the deck's cards."""
        if self.deck_id is None or self.only_deck:
            return ""
        plus = "" if through_index else "+"
        return f" AND {plus}{column} IN (SELECT card_id FROM card_state WHERE deck_id = {int(self.deck_id)})"

    def decks(self, column: str) -> str:
        return "" if self.deck_id is None else f" AND {column} = {int(self.deck_id)}"

    def curve(self, deck: str) -> tuple[str, str]:
        """SQL for (decay, factor): constants when all decks share a curve, else chosen by `deck`."""
        if len(set(self.curves.values())) == 1:
            return tuple(repr(v) for v in next(iter(self.curves.values())))
        return tuple(f"CASE {deck} " + " ".join(f"WHEN {i} THEN {c[k]!r}" for i, c in self.curves.items()) + " END"
                     for k in (0, 1))


def compute(store: Store, now: datetime, deck_id: int | None = None, days: int = 30) -> dict:
    """Every figure `srs stats` shows, as plain data; `days`: the days of activity and of forecast."""
    days = max(1, days)
    scope = _Scope(store, deck_id)
    conn = store.conn
    today = clock.learner_day(now, scope.hour)
    first = conn.execute(f"SELECT min(reviewed_at) FROM reviews r WHERE 1 {scope.cards('r.card_id')}").fetchone()[0]
    first_day = min(clock.learner_day(clock.from_text(first), scope.hour), today) if first else today
    first_day = min(first_day, today - timedelta(days=max(days, 30) - 1))
    day_rows = _day_rows(first_day, today + timedelta(days=days - 1), scope.hour)
    scope.day_runs = _day_runs(first_day, today + timedelta(days=days - 1 + NUMBERED_AHEAD), scope.hour)
    tables = day_rows
    parts = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(parts + 2) as pool:  # the pass over the whole log runs beside the other queries
        log = [pool.submit(_query, store.path, tables, sql) for sql in _log_queries(conn, scope, parts)]
        choice = pool.submit(_query_rows, store.path, tables, *_choice_sql(conn, scope, today))  # issue 16
        _day_table(conn, tables)
        try:
            cells = _recent_retention(conn, scope, today)
            daily_all = _daily(conn, scope, today, today - timedelta(days=days - 1))
            forecast = _forecast(conn, scope, today)
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.stats_days")
        collection, trouble = _collection(conn, scope, now), _trouble(conn, scope)
        log = _log_sums([f.result() for f in log])
        choice = _choice_figures(choice.result())
    cells["all"] = log["cells"]
    window_start = (today - timedelta(days=days - 1)).isoformat()
    year_ago = (today - timedelta(days=370)).isoformat()
    return {
        "deck": None if deck_id is None else _deck_name(store, deck_id),
        "now": clock.to_text(now),
        "today": today.isoformat(),
        "day_start_hour": scope.hour,
        "days": days,
        "reviews": log["reviews"],
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


def _query(path, tables: list[tuple], sql: str) -> tuple:
    """One aggregate query on a connection of its own (so that queries can run side by side)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _day_table(conn, tables)
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def _answers(scope: _Scope, where: str, columns: tuple[str, ...] = (), indexed: bool = False) -> str:
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
    extra = "".join(f", {c}" for c in columns)
    return f"""
    SELECT ps, y, p, c, CAST(p * 10 AS INTEGER) AS b {extra} FROM (
      SELECT r.prev_state AS ps, r.rating > 1 AS y {''.join(f', r.{c} AS {c}' for c in columns)},
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


def _log_queries(conn, scope: _Scope, parts: int) -> list[str]:
    """The pass over the whole log, as queries whose sums add up: totals, then `parts` shares of the cards,
    each giving true-retention cells and calibration sums by tenth of predicted R."""
    indexed = has_stats_index(conn)  # prev_state first leads the planner to that index
    bins = ", ".join(f"sum({PACK} + y) FILTER (WHERE b = {k}), sum(p) FILTER (WHERE b = {k})" for k in range(10))
    totals = ("SELECT count(*), count(*) FILTER (WHERE r.prev_state > 0) FROM reviews r "
              f"WHERE 1 {scope.cards('r.card_id')}")
    return [totals] + [
        f"SELECT sum({PACK} + c) FILTER (WHERE c < 2), sum({PACK} + c - 2) FILTER (WHERE c >= 2), {bins}, "
        f"sum(CASE WHEN y THEN -ln(max(p, {CLIP})) ELSE -ln(max(1 - p, {CLIP})) END) "
        f"FROM ({_answers(scope, f'r.prev_state > 0 AND r.card_id % {parts} = {k}', indexed=indexed)})"
        for k in range(parts)]


def _log_sums(rows: list[tuple]) -> dict:
    (reviews, reviewed_before), shares = rows[0], rows[1:]
    total = [sum(row[k] or 0 for row in shares) for k in range(len(shares[0]))]
    (young, young_passed), (mature, mature_passed) = divmod(total[0], PACK), divmod(total[1], PACK)
    bins = [(*divmod(total[2 + 2 * k], PACK), total[3 + 2 * k]) for k in range(10)]
    return {"reviews": reviews, "cells": [young - young_passed, young_passed, mature - mature_passed, mature_passed],
            "bins": bins, "loss": total[22], "same_day": reviewed_before - sum(b[0] for b in bins)}


def _recent_retention(conn, scope: _Scope, today: date) -> dict:
    """True-retention cells for today and the last 7 and 30 days, from those days of the log only."""
    bounds = {f"p{k}": clock.to_text(clock.day_start(today - timedelta(days=n - 1), scope.hour))
              for k, n in enumerate(PERIODS.values())}
    bounds["end"] = clock.to_text(clock.day_start(today + timedelta(days=1), scope.hour))
    counts = ", ".join(f"count(*) FILTER (WHERE reviewed_at >= :p{k} AND c = {j})" for k in range(3) for j in range(4))
    row = conn.execute(f"SELECT {counts} FROM ("
                       f"{_answers(scope, 'r.reviewed_at >= :p2 AND r.reviewed_at < :end', ('reviewed_at',))})",
                       bounds).fetchone()
    return {name: list(row[4 * k: 4 * k + 4]) for k, name in enumerate(PERIODS)}


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


def _daily(conn, scope: _Scope, today: date, window_start: date) -> list[dict]:
    """Reviews on every learner day up to today; the seconds spent, for the days from `window_start` on."""
    args = {"w": window_start.isoformat(), "today": today.isoformat()}
    where = scope.cards("r.card_id", through_index=True)
    if not where:  # range counts on the index on review time, a day at a time
        rows = conn.execute(
            "SELECT d.day, (SELECT count(*) FROM reviews r WHERE r.reviewed_at >= d.lo AND r.reviewed_at < d.hi), "
            "CASE WHEN d.day >= :w THEN (SELECT coalesce(sum(r.duration_ms), 0) FROM reviews r "
            "WHERE r.reviewed_at >= d.lo AND r.reviewed_at < d.hi) END "
            "FROM temp.stats_days d WHERE d.day <= :today ORDER BY d.i", args).fetchall()
    else:  # one deck among others: its cards' reviews through the index on (card, review time)
        day = "(SELECT i FROM temp.stats_days WHERE lo <= r.reviewed_at ORDER BY lo DESC LIMIT 1)"  # index only
        counts = dict(conn.execute(
            f"SELECT d, count(*) FROM (SELECT {day} AS d FROM reviews r WHERE 1 {where} LIMIT -1) GROUP BY d"))
        spent = dict(conn.execute(
            f"SELECT {day} AS d, sum(r.duration_ms) FROM reviews r WHERE r.reviewed_at >= "
            f"(SELECT lo FROM temp.stats_days WHERE day = :w) {scope.cards('r.card_id')} GROUP BY d", args))
        rows = [(d, counts.get(i, 0), (spent.get(i) or 0) if d >= args["w"] else None) for i, d in conn.execute(
            "SELECT i, day FROM temp.stats_days WHERE day <= :today ORDER BY i", args)]
    return [{"date": day, "reviews": n, "seconds": None if ms is None else ms / 1000} for day, n, ms in rows]


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
    decks = [scope.deck_id] if scope.deck_id is not None else [r[0] for r in conn.execute("SELECT id FROM decks")]
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
    """The cards with the most lapses (leeches), and the wrong options chosen most often on choice cards."""
    where = scope.decks("c.deck_id")
    leeches = [{"card_id": r[0], "question": _asked(*r[4:]), "lapses": r[2], "reps": r[3],
                "leech": r[2] >= LEECH_LAPSES}
               for r in conn.execute(
                   "SELECT s.card_id, c.question, s.lapses, s.reps, c.question, c.answer, c.kind, c.ord, "
                   "c.typed_answer "
                   "FROM card_state s JOIN cards c ON c.id = s.card_id "
                   f"WHERE s.retired = 0 AND s.lapses > 0 {where} ORDER BY s.lapses DESC, s.card_id LIMIT 10")]
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


def _choice_sql(conn, scope: _Scope, today: date) -> tuple[str, dict]:
    """One aggregate query for `_choice_figures`, by (format, tenth of predicted R): the calibration sums and,
    per period, the true-retention sums of choice reviews from options. Run beside the pass over the log."""
    bounds = {f"p{k}": clock.to_text(clock.day_start(today - timedelta(days=n - 1), scope.hour))
              for k, n in enumerate(PERIODS.values())}
    # choice and typed cards only (basic and cloze reviews, "recall", are the plain calibration's), picked by
    # card id: the stats index has it, so other cards' reviews are passed over without reading their rows
    where = "r.prev_state > 0 AND r.card_id IN (SELECT id FROM cards WHERE kind IN ('choice', 'typed'))"
    answers = (f"SELECT a.*, {_format_sql('a', 'k')} AS fmt, json_array_length(k.options) AS k "
               f"FROM ({_answers(scope, where, ('reviewed_at', 'card_id', 'format'), has_stats_index(conn))}) a "
               "JOIN cards k ON k.id = a.card_id")
    counted = f"c IS NOT NULL AND k >= 2 AND fmt IN {CHOICE_FORMATS}"
    periods = [f"{counted} AND reviewed_at >= :p{k}" for k in range(3)] + [counted]
    sums = ", ".join(f"count(*) FILTER (WHERE {cond}), total(y) FILTER (WHERE {cond}), "
                     f"total((y - 1.0 / k) / (1 - 1.0 / k)) FILTER (WHERE {cond})" for cond in periods)
    sql = (f"SELECT fmt, b, count(p), total(y) FILTER (WHERE p IS NOT NULL), total(p), "
           f"total(CASE WHEN fmt IN {CHOICE_FORMATS} AND k >= 2 THEN p + (1 - p) / k END), {sums} "
           f"FROM ({answers}) GROUP BY fmt, b")
    return sql, bounds


def _query_rows(path, tables: list[tuple], sql: str, args: dict) -> list[tuple]:
    """`_query`, every row."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _day_table(conn, tables)
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


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
