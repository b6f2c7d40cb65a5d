"""Retention statistics, computed in SQL: true retention, activity, forecast, the collection, calibration.

`compute(store, now, deck_id, days)` returns plain dicts and lists (what `srs stats --json`
prints); `srs.charts` draws them. Every figure over the review log is an aggregate
query (one pass over the log for true retention and calibration, index-only range
counts for the days), never a Python loop over reviews.

Definitions:

- Learner days start at the deck's `day_start_hour` (local time), as `srs.clock` says.
- True retention (as Anki's): among answers to cards in the review state (and to
  learning cards whose step was a day or more), counting per card only the first such
  answer of each learner day, the share that were not Again. "Mature" means the
  card's scheduled interval before the answer (Anki's lastIvl, `prev_due -
  prev_last_review` rounded to days) was 21 days or more.
- Retrievability is FSRS-6's R = (1 + FACTOR * t / S) ^ -decay with t in WHOLE days
  elapsed since the last review (as `fsrs.Scheduler.get_card_retrievability`), decay =
  w[20] of the deck's parameters.
- Calibration compares, for every review of a card reviewed before (prev_state > 0) at
  least one whole day after its previous answer, the R FSRS predicted against what
  happened (rating > 1); same-day reviews (R = 1 by definition) are counted apart.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from srs import clock
from srs.scheduling import Settings
from srs.store import Store

MATURE_DAYS = 21
LEECH_LAPSES = 8  # Anki's default leech threshold
PERIODS = {"today": 1, "7d": 7, "30d": 30}
DAY_MS = 86_400_000
CLIP = 1e-9  # predicted recall is clipped to [CLIP, 1 - CLIP] for the log loss
STABILITY_EDGES = (1, 3, 7, 14, 30, 90, 180, 365, 730)  # days
STABILITY_LABELS = ("<1d", "1-3d", "3-7d", "1-2w", "2-4w", "1-3mo", "3-6mo", "6-12mo", "1-2y", "2y+")


def elapsed_days_sql(later: str, earlier: str, ms: str | None = None) -> str:
    """SQL for fsrs's whole days elapsed between two stored times: max(0, floor((later - earlier) / 1 day)).

    julianday() gives milliseconds (rounded); only within a millisecond of a whole
    number of days is the exact microsecond difference computed from the text. `ms`: that
    rounded difference in milliseconds when the query has it already.
    """
    ms = ms or f"CAST(round((julianday({later}) - julianday({earlier})) * 86400000) AS INTEGER)"
    exact = (f"((strftime('%s', substr({later}, 1, 19)) - strftime('%s', substr({earlier}, 1, 19))) * 1000000 "
             f"+ substr({later}, 21, 6) - substr({earlier}, 21, 6))")
    return f"max(0, CASE WHEN ({ms} + 1) % {DAY_MS} <= 2 THEN {exact} / 86400000000 ELSE {ms} / {DAY_MS} END)"


def memory_params(settings: Settings) -> tuple[float, float]:
    """(decay, factor) of a deck's FSRS parameters, as fsrs computes them: R = (1 + factor*t/S) ** decay."""
    from srs.scheduling import scheduler

    decay = -scheduler(settings).parameters[20]
    return decay, 0.9 ** (1 / decay) - 1


class _Scope:
    """What the queries depend on: the deck filter, the day-start hour and each deck's decay."""

    def __init__(self, store: Store, deck_id: int | None):
        self.deck_id = deck_id
        ids = [deck_id] if deck_id is not None else [d["id"] for d in store.decks()]
        settings = {i: Settings.from_dict(store.deck_settings(i)) for i in ids}
        main = settings[deck_id] if deck_id is not None else Settings.from_dict(store.global_settings())
        self.hour = main.day_start_hour
        self.params = {i: memory_params(s) for i, s in settings.items()}
        if not self.params:
            self.params = {0: memory_params(main)}

    def where(self, column: str = "r.card_id") -> str:
        """A filter on card ids for the deck (empty for all decks)."""
        if self.deck_id is None:
            return ""
        return f" AND {column} IN (SELECT card_id FROM card_state WHERE deck_id = {int(self.deck_id)})"

    def curve(self, deck_expr: str) -> tuple[str, str, str]:
        """SQL (deck column, decay, factor) for the forgetting curve: constants when all decks share one."""
        values = set(self.params.values())
        if len(values) == 1:
            decay, factor = values.pop()
            return "NULL", repr(decay), repr(factor)
        decay = " ".join(f"WHEN {i} THEN {d!r}" for i, (d, _) in self.params.items())
        factor = " ".join(f"WHEN {i} THEN {f!r}" for i, (_, f) in self.params.items())
        return deck_expr, f"CASE dk {decay} END", f"CASE dk {factor} END"


def compute(store: Store, now: datetime, deck_id: int | None = None, days: int = 30) -> dict:
    """Every figure `srs stats` shows, as plain data."""
    days = max(1, days)
    scope = _Scope(store, deck_id)
    conn = store.conn
    today = clock.learner_day(now, scope.hour)
    first = conn.execute(f"SELECT min(reviewed_at) FROM reviews r WHERE 1 {scope.where()}").fetchone()[0]
    first_day = min(clock.learner_day(clock.from_text(first), scope.hour), today) if first else today
    first_day = min(first_day, today - timedelta(days=days - 1))
    _day_table(conn, first_day, today, scope.hour)
    try:
        counts = _review_pass(conn, scope, today)
        daily_all = _daily(conn, scope, today - timedelta(days=days - 1))
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.stats_days")
    window = [d for d in daily_all if d["date"] >= (today - timedelta(days=days - 1)).isoformat()]
    data = {
        "deck": None if deck_id is None else _deck_name(store, deck_id),
        "now": clock.to_text(now),
        "today": today.isoformat(),
        "day_start_hour": scope.hour,
        "days": days,
        "reviews": counts["reviews"],
        **_retention(counts["cells"]),
        "daily": window,
        "calendar": [{"date": d["date"], "reviews": d["reviews"]} for d in daily_all
                     if d["reviews"] and d["date"] >= (today - timedelta(days=370)).isoformat()],
        **_streaks(daily_all, today),
        **_forecast(conn, scope, today, days),
        **_collection(conn, scope, now),
        "calibration": _calibration(counts),
        **_trouble(conn, scope),
    }
    return data


def _deck_name(store: Store, deck_id: int) -> str:
    return store.conn.execute("SELECT name FROM decks WHERE id = ?", (deck_id,)).fetchone()[0]


def _day_table(conn, first: date, last: date, hour: int) -> None:
    """temp.stats_days(i, day, s, e): each learner day from `first` to `last` with its UTC bounds as stored text."""
    conn.execute("DROP TABLE IF EXISTS temp.stats_days")
    conn.execute("CREATE TEMP TABLE stats_days (i INTEGER PRIMARY KEY, day TEXT, s TEXT UNIQUE, e TEXT)")
    rows, day, start = [], first, clock.to_text(clock.day_start(first, hour))
    for i in range((last - first).days + 1):
        end = clock.to_text(clock.day_start(day + timedelta(days=1), hour))
        rows.append((i, day.isoformat(), start, end))
        day, start = day + timedelta(days=1), end
    conn.executemany("INSERT INTO temp.stats_days VALUES (?, ?, ?, ?)", rows)


def _review_rows(scope: _Scope, where: str) -> str:
    """SQL for the reviews passing `where`, one row each: at, ps (state before), y (passed), p (the R FSRS
    predicted, NULL unless a whole day or more had passed since the card's previous answer), b (p's tenth)
    and c (NULL unless the answer counts for true retention, else mature * 2 + passed)."""
    dk, decay, factor = scope.curve("(SELECT deck_id FROM card_state WHERE card_id = r.card_id)")
    # an answer counted for true retention: review state, or a learning step of a day or more (as Anki's)
    retention = f"(ps = 2 OR (ps IN (1, 3) AND ivl >= {DAY_MS}))"
    earlier_same_day = (
        "EXISTS (SELECT 1 FROM reviews r2 WHERE r2.card_id = cid AND r2.reviewed_at < at "
        "AND r2.reviewed_at >= (SELECT max(s) FROM temp.stats_days WHERE s <= at) AND (r2.prev_state = 2 OR "
        "(r2.prev_state IN (1, 3) AND round((julianday(r2.prev_due) - julianday(r2.prev_last_review)) * 86400000) "
        f">= {DAY_MS})))")
    # the first such answer of its learner day: the card's previous answer was on an earlier day (surely so
    # 25 hours or more before), or no earlier answer that day counted
    first_of_day = ("CASE WHEN m >= 90000000 THEN 1 WHEN EXISTS (SELECT 1 FROM temp.stats_days "
                    f"WHERE s > lp AND s <= at) THEN 1 ELSE NOT {earlier_same_day} END")
    mature = f"(ps = 2 AND ivl >= {round((MATURE_DAYS - 0.5) * DAY_MS)})"
    return f"""
    SELECT at, ps, y, p, c, CAST(p * 10 AS INTEGER) AS b FROM (
      SELECT at, ps, rating > 1 AS y,
        CASE WHEN ps > 0 AND m >= {DAY_MS - 1} AND s > 0
          THEN pow(1 + {factor} * nullif({elapsed_days_sql("at", "lp", "m")}, 0) / s, {decay}) END AS p,
        CASE WHEN {retention} AND {first_of_day} THEN {mature} * 2 + (rating > 1) END AS c
      FROM (
        SELECT cid, at, rating, ps, s, lp, dk, CAST(round((jr - jl) * 86400000) AS INTEGER) AS m,
          round((jdue - jl) * 86400000) AS ivl
        FROM (
          SELECT r.card_id AS cid, r.reviewed_at AS at, r.rating AS rating, r.prev_state AS ps,
            r.prev_stability AS s, r.prev_last_review AS lp, {dk} AS dk, julianday(r.reviewed_at) AS jr,
            julianday(r.prev_last_review) AS jl, CASE WHEN r.prev_state > 0 THEN julianday(r.prev_due) END AS jdue
          FROM reviews r WHERE {where} {scope.where()} LIMIT -1
        ) LIMIT -1
      ) LIMIT -1
    ) LIMIT -1"""


def _review_pass(conn, scope: _Scope, today: date) -> dict:
    """True-retention counts per period and calibration sums per tenth of predicted R.

    All time is one scan of the log (counts are packed as n * 2^32 + passed); the recent
    periods read only the last 30 days through the index on review time.
    """
    bounds = {"end": clock.to_text(clock.day_start(today + timedelta(days=1), scope.hour))}
    for k, n in enumerate(PERIODS.values()):
        bounds[f"p{k}"] = clock.to_text(clock.day_start(today - timedelta(days=n - 1), scope.hour))
    pack = 1 << 32
    bins = ", ".join(f"sum({pack} + y) FILTER (WHERE b = {k}), sum(p) FILTER (WHERE b = {k})" for k in range(10))
    row = conn.execute(
        f"SELECT count(*), sum({pack} + c) FILTER (WHERE c < 2), sum({pack} + c - 2) FILTER (WHERE c >= 2), {bins}, "
        f"sum(CASE WHEN y THEN -ln(max(p, {CLIP})) ELSE -ln(max(1 - p, {CLIP})) END) FILTER (WHERE p IS NOT NULL), "
        "count(*) FILTER (WHERE ps > 0 AND p IS NULL) "
        f"FROM ({_review_rows(scope, '+r.reviewed_at < :end')})",  # + : a plain scan, not the index
        bounds).fetchone()

    def unpack(value):
        return divmod(value or 0, pack)  # (n, passed)

    (young_n, young_pass), (mature_n, mature_pass) = unpack(row[1]), unpack(row[2])
    cells = {"all": [young_n - young_pass, young_pass, mature_n - mature_pass, mature_pass]}
    out = {"reviews": row[0], "bins": [(*unpack(row[3 + 2 * k]), row[4 + 2 * k] or 0.0) for k in range(10)],
           "loss": row[23] or 0.0, "same_day": row[24]}
    out["n"] = sum(b[0] for b in out["bins"])
    recent = ", ".join(f"count(*) FILTER (WHERE at >= :p{k} AND c = {j})" for k in range(3) for j in range(4))
    row = conn.execute(f"SELECT {recent} FROM ({_review_rows(scope, 'r.reviewed_at >= :p2 AND r.reviewed_at < :end')})",
                       bounds).fetchone()
    for k, name in enumerate(PERIODS):
        cells[name] = list(row[4 * k: 4 * k + 4])
    out["cells"] = cells
    return out


def _retention(cells: dict) -> dict:
    """true_retention (overall), _young, _mature and the counts behind them, per period.

    Cells are [young failed, young passed, mature failed, mature passed].
    """
    counts = {name: dict(zip(("young_failed", "young_passed", "mature_failed", "mature_passed"), cells[name]))
              for name in ("today", "7d", "30d", "all")}

    def rate(passed: int, failed: int) -> float | None:
        return None if passed + failed == 0 else passed / (passed + failed)

    return {
        "true_retention": {n: rate(c["young_passed"] + c["mature_passed"], c["young_failed"] + c["mature_failed"])
                           for n, c in counts.items()},
        "true_retention_young": {n: rate(c["young_passed"], c["young_failed"]) for n, c in counts.items()},
        "true_retention_mature": {n: rate(c["mature_passed"], c["mature_failed"]) for n, c in counts.items()},
        "retention_counts": counts,
    }


def _daily(conn, scope: _Scope, window_start: date) -> list[dict]:
    """Reviews on every learner day of temp.stats_days; the time spent on those from `window_start` on."""
    where = scope.where()
    rows = conn.execute(
        f"SELECT d.day, (SELECT count(*) FROM reviews r WHERE r.reviewed_at >= d.s AND r.reviewed_at < d.e {where}), "
        f"CASE WHEN d.day >= ? THEN (SELECT coalesce(sum(r.duration_ms), 0) FROM reviews r "
        f"WHERE r.reviewed_at >= d.s AND r.reviewed_at < d.e {where}) END FROM temp.stats_days d ORDER BY d.i",
        (window_start.isoformat(),)).fetchall()
    return [{"date": day, "reviews": n, "seconds": None if ms is None else ms / 1000} for day, n, ms in rows]


def _streaks(daily: list[dict], today: date) -> dict:
    """Study days, the longest run of them and the current one (ending today, or yesterday if today is still empty)."""
    studied = [d["reviews"] > 0 for d in daily]
    longest = run = 0
    for flag in studied:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    current = 0
    tail = studied[:-1] if studied and not studied[-1] else studied
    for flag in reversed(tail):
        if not flag:
            break
        current += 1
    return {"study_days": sum(studied), "streak": {"current": current, "longest": longest},
            "reviews_today": daily[-1]["reviews"] if daily else 0}


def _forecast(conn, scope: _Scope, today: date, days: int) -> dict:
    """Cards due on each of the next `days` learner days (today's count includes the overdue ones)."""
    ends = [clock.to_text(clock.day_start(today + timedelta(days=k + 1), scope.hour)) for k in range(days)]
    start = clock.to_text(clock.day_start(today, scope.hour))
    where = "" if scope.deck_id is None else f" AND deck_id = {int(scope.deck_id)}"
    sums = ", ".join(["sum(due < ?)"] * (days + 1))
    row = conn.execute(f"SELECT {sums} FROM card_state WHERE retired = 0 AND suspended = 0 AND state > 0 {where}",
                       [start, *ends]).fetchone()
    cumulative = [v or 0 for v in row]
    forecast = [{"date": (today + timedelta(days=k)).isoformat(),
                 "due": cumulative[k + 1] - (cumulative[k] if k else 0)} for k in range(days)]
    return {"forecast": forecast, "overdue": cumulative[0]}


def _collection(conn, scope: _Scope, now: datetime) -> dict:
    """Cards by state; distributions of stability, difficulty and retrievability now; the expected recall."""
    where = "" if scope.deck_id is None else f" AND deck_id = {int(scope.deck_id)}"
    row = conn.execute(
        "SELECT coalesce(sum(NOT suspended AND state = 0), 0), coalesce(sum(NOT suspended AND state = 1), 0), "
        "coalesce(sum(NOT suspended AND state = 2), 0), coalesce(sum(NOT suspended AND state = 3), 0), "
        f"coalesce(sum(suspended), 0), count(*) FROM card_state WHERE retired = 0 {where}").fetchone()
    unkeyed = conn.execute("SELECT count(*) FROM cards WHERE retired = 0 AND kind = 'choice' AND answer IS NULL"
                           + where).fetchone()[0]
    states = dict(zip(("new", "learning", "review", "relearning", "suspended", "total"), row))
    states["unkeyed"] = unkeyed
    dk, decay, factor = scope.curve("deck_id")
    r_edges = [k / 10 for k in range(1, 10)]
    d_edges = [1 + 0.9 * k for k in range(1, 10)]  # difficulty 1-10 in tenths of its range
    cumulative = ", ".join([f"sum(st < {e})" for e in STABILITY_EDGES] + [f"sum(d < {e!r})" for e in d_edges]
                           + [f"sum(r < {e})" for e in r_edges])
    row = conn.execute(
        f"SELECT count(*), coalesce(sum(r), 0), {cumulative} FROM (SELECT stability AS st, difficulty AS d, "
        f"pow(1 + {factor} * {elapsed_days_sql(':now', 'last_review')} / stability, {decay}) AS r FROM ("
        f"SELECT stability, difficulty, last_review, {dk} AS dk FROM card_state "
        f"WHERE retired = 0 AND state > 0 AND stability > 0 {where}) LIMIT -1)",
        {"now": clock.to_text(now)}).fetchone()
    n, r_sum, cum = row[0], row[1], [v or 0 for v in row[2:]]
    s_cum, d_cum, r_cum = cum[:9], cum[9:18], cum[18:]

    def histogram(cum: list[int], labels: list[str]) -> list[dict]:
        edges = [0, *cum, n]
        return [{"label": label, "cards": edges[k + 1] - edges[k]} for k, label in enumerate(labels)]

    tenths = [f"{10 * k}-{10 * (k + 1)}%" for k in range(10)]
    return {
        "states": states,
        "studied_cards": n,
        "retrievability_sum": r_sum,
        "retrievability_mean": r_sum / n if n else None,
        "stability": histogram(s_cum, list(STABILITY_LABELS)),
        "difficulty": histogram(d_cum, tenths),
        "retrievability": histogram(r_cum, tenths),
    }


def _calibration(counts: dict) -> dict:
    """Predicted against actual recall in ten bins of predicted R; log loss and RMSE over the bins."""
    n = counts["n"]
    bins, squares = [], 0.0
    for k, (count, actual, predicted) in enumerate(counts["bins"]):
        entry = {"lo": k / 10, "hi": (k + 1) / 10, "n": count or 0, "predicted": None, "actual": None}
        if count:
            entry["predicted"], entry["actual"] = predicted / count, actual / count
            squares += count * (entry["predicted"] - entry["actual"]) ** 2
        bins.append(entry)
    return {"n": n, "log_loss": counts["loss"] / n if n else None, "rmse_bins": (squares / n) ** 0.5 if n else None,
            "same_day_excluded": counts["same_day"], "bins": bins}


def _trouble(conn, scope: _Scope) -> dict:
    """The cards with the most lapses, and the wrong options chosen most often on choice cards."""
    where = "" if scope.deck_id is None else f" AND c.deck_id = {int(scope.deck_id)}"
    leeches = [{"card_id": r[0], "question": r[1], "lapses": r[2], "reps": r[3], "leech": r[2] >= LEECH_LAPSES}
               for r in conn.execute(
                   "SELECT s.card_id, c.question, s.lapses, s.reps FROM card_state s JOIN cards c ON c.id = s.card_id "
                   f"WHERE s.retired = 0 AND s.lapses > 0 {where} ORDER BY s.lapses DESC, s.card_id LIMIT 10")]
    wrong = [{"card_id": r[0], "question": r[1], "choice": r[2], "times": r[3], "answer": r[4]}
             for r in conn.execute(
                 "SELECT w.card_id, c.question, w.choice, w.n, c.answer FROM (SELECT card_id, choice, count(*) AS n "
                 "FROM reviews WHERE correct = 0 AND choice IS NOT NULL GROUP BY card_id, choice) w "
                 f"JOIN cards c ON c.id = w.card_id WHERE c.retired = 0 {where} "
                 "ORDER BY w.n DESC, w.card_id, w.choice LIMIT 10")]
    return {"leeches": leeches, "wrong_choices": wrong}
