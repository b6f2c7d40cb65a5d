"""`srs stats` against figures worked out independently from `srs log --json` and `srs cards --json`.

A history is built through the real CLI: two decks imported from files, then four months
of piped `srs review` sessions with SRS_NOW moving day by day (some days skipped, some
sessions after midnight but before the 4 a.m. day start), in a zone with a DST change.
Every review is then replayed through `fsrs.Scheduler` itself to know the state before
it, so true retention, calibration and retrievability are checked against fsrs, not
against our own SQL.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import fsrs
import pytest

from conftest import Cli, run_srs
from srs import stats
from srs.clock import day_number, day_start, parse_time
from srs.store import Store

ZONE = "America/New_York"  # DST ends on 2026-11-01, inside the simulated months
HOUR = 4
START = date(2026, 9, 1)
DAYS = 110
NOW = "2026-12-19T20:00:00Z"
PARAMS_B = list(fsrs.scheduler.DEFAULT_PARAMETERS[:20]) + [0.3]  # deck B forgets on another curve
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RATINGS = [3, 3, 3, 1, 3, 3, 2, 3, 4, 3, 3, 1, 3, 3]

DECK_A = "# Deck A\n\n" + "".join(
    f"## Choice {i}?\n- [x] right {i}\n- [ ] wrong {i}a\n- [ ] wrong {i}b\n\n" if i % 2
    else f"## Basic {i}?\nAnswer {i}\n\n" for i in range(14))
DECK_B = "# Deck B\n\n" + "".join(f"## B {i}?\nB answer {i}\n\n" for i in range(5))


@pytest.fixture(scope="module")
def zone():
    from conftest import time_zone

    with time_zone(ZONE):
        yield


@pytest.fixture(scope="module")
def history(tmp_path_factory, zone) -> Cli:
    folder = tmp_path_factory.mktemp("stats")
    (folder / "a.md").write_text(DECK_A)
    (folder / "b.md").write_text(DECK_B)
    cli = Cli(folder / "srs.db")
    first = f"{START.isoformat()}T12:00:00Z"
    cli("import", str(folder / "a.md"), str(folder / "b.md"), now=first)
    cli("config", "fuzz", "false", now=first)  # so that a plain fsrs replay gives the very same due dates
    store = Store(cli.db)
    store.set_deck_setting(store.deck_id("Deck B"), "parameters", PARAMS_B)
    store.close()
    answers = 0
    for day in range(DAYS):
        if day % 11 == 5:
            continue  # a day off now and then: streaks break
        when = datetime.combine(START + timedelta(days=day), datetime.min.time(), timezone.utc)
        times = [when + timedelta(hours=14, minutes=day % 50)]
        if day % 4 == 0:  # 03:30 New York time: still the previous learner day
            times.append(when + timedelta(days=1, hours=7, minutes=30))
        for moment in times:
            # each card takes two lines: a letter (picks an option, or shows a basic card's answer), a rating
            lines = "".join(f"a\n{RATINGS[(answers + k) % len(RATINGS)]}\n" for k in range(80))
            result = cli("review", input=lines, now=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
            answers += result.stdout.count("Rate 1-4")
    cli("suspend", str(cli.json("cards")[-1]["id"]))
    return cli


def learner_day(moment: datetime) -> date:
    from zoneinfo import ZoneInfo

    return (moment.astimezone(ZoneInfo(ZONE)) - timedelta(hours=HOUR)).date()


def replay(log: list[dict], cards: list[dict]) -> list[dict]:
    """Each review with the fsrs card state just before it, from a replay through fsrs.Scheduler given each
    answer's learner day as midnight UTC of its day number (srs.scheduling's scheme: fsrs counts learner days).
    `before` is that fsrs card; `last` and `due` its real last review and due (as stored)."""
    decks = {c["id"]: c["deck"] for c in cards}
    schedulers = {"Deck A": fsrs.Scheduler(enable_fuzzing=False),
                  "Deck B": fsrs.Scheduler(parameters=PARAMS_B, enable_fuzzing=False)}
    state, real, out = {}, {}, []
    for review in sorted(log, key=lambda r: (r["reviewed_at"], r["id"])):
        at = parse_time(review["reviewed_at"])
        virtual = EPOCH + timedelta(days=day_number(at, HOUR))
        scheduler = schedulers[decks[review["card_id"]]]
        card = state.get(review["card_id"]) or fsrs.Card(card_id=review["card_id"], due=virtual)
        last, due = real.get(review["card_id"], (None, None))
        out.append({**review, "at": at, "virtual": virtual, "before": card, "scheduler": scheduler,
                    "first": review["card_id"] not in state, "last": last, "due": due})
        after, _ = scheduler.review_card(card, fsrs.Rating(review["rating"]), virtual)
        state[review["card_id"]] = after
        real_due = (day_start(day_number(at, HOUR) + (after.due - virtual).days, HOUR)
                    if after.state == fsrs.State.Review else at + (after.due - virtual))
        real[review["card_id"]] = (at, real_due)
    for review in out:
        final = state[review["card_id"]]
        review["final"] = fsrs.Card(card_id=final.card_id, state=final.state, step=final.step,
                                    stability=final.stability, difficulty=final.difficulty,
                                    last_review=real[review["card_id"]][0], due=real[review["card_id"]][1])
    return out


def expected_retention(replayed: list[dict], today: date) -> dict:
    counted = {}
    for r in replayed:
        card = r["before"]
        if r["first"]:
            continue
        interval = card.due - card.last_review  # fsrs's own card: whole learner days in review
        if not (card.state == fsrs.State.Review or interval >= timedelta(days=1)):
            continue
        key = (r["card_id"], learner_day(r["at"]))
        if key not in counted:  # the first counted answer of the learner day
            mature = card.state == fsrs.State.Review and interval >= timedelta(days=21)
            counted[key] = (key[1], mature, r["rating"] > 1)
    out = {}
    for name, span in (("today", 1), ("7d", 7), ("30d", 30), ("all", 10 ** 6)):
        rows = [v for v in counted.values() if (today - v[0]).days < span]
        cells = Counter((mature, passed) for _, mature, passed in rows)
        out[name] = {"young_failed": cells[False, False], "young_passed": cells[False, True],
                     "mature_failed": cells[True, False], "mature_passed": cells[True, True]}
    return out


def test_true_retention_daily_forecast_and_states(history):
    data = history.json("stats", now=NOW)
    log, cards = history.json("log"), history.json("cards")
    replayed = replay(log, cards)
    today = learner_day(parse_time(NOW))
    assert data["today"] == today.isoformat() and data["reviews"] == len(log) > 200

    counts = expected_retention(replayed, today)
    assert data["retention_counts"] == counts
    assert counts["all"]["mature_passed"] > 0 and counts["all"]["young_failed"] > 0 and counts["7d"] != counts["all"]
    for name, c in counts.items():
        n = sum(c.values())
        want = (c["young_passed"] + c["mature_passed"]) / n if n else None
        assert data["true_retention"][name] == pytest.approx(want)

    per_day = defaultdict(lambda: [0, 0])
    for r in log:
        day = learner_day(parse_time(r["reviewed_at"]))
        per_day[day][0] += 1
        per_day[day][1] += r["duration_ms"] or 0
    window = [today - timedelta(days=k) for k in range(29, -1, -1)]
    assert [(d["date"], d["reviews"]) for d in data["daily"]] == [(d.isoformat(), per_day[d][0]) for d in window]
    for entry, day in zip(data["daily"], window):
        assert entry["seconds"] == pytest.approx(per_day[day][1] / 1000)
    studied = sorted(d for d in per_day if per_day[d][0])
    assert data["study_days"] == len(studied)
    runs, run = [], 1
    for a, b in zip(studied, studied[1:]):
        run = run + 1 if (b - a).days == 1 else 1
        runs.append(run)
    assert data["streak"]["longest"] == max(runs)
    assert data["calendar"][-1] == {"date": today.isoformat(), "reviews": per_day[today][0]}

    due = Counter()
    for card in cards:
        if card["state"] != "new" and not card["suspended"]:
            due[max(learner_day(parse_time(card["due"])), today)] += 1
    assert data["forecast"] == [{"date": (today + timedelta(days=k)).isoformat(), "due": due[today + timedelta(days=k)]}
                                for k in range(30)]
    assert sum(f["due"] for f in data["forecast"]) > 0

    states = Counter("suspended" if c["suspended"] else c["state"] for c in cards)
    assert data["states"] == {**{k: states[k] for k in ("new", "learning", "review", "relearning", "suspended")},
                              "total": len(cards), "unkeyed": 0, "history_only": 0}


def test_calibration_and_retrievability_match_fsrs(history):
    data = history.json("stats", now=NOW)
    replayed = replay(history.json("log"), history.json("cards"))
    bins, loss, n, same_day = defaultdict(lambda: [0, 0.0, 0]), 0.0, 0, 0
    for r in replayed:
        if r["first"]:
            continue
        card = r["before"]
        if (r["virtual"] - card.last_review).days < 1:  # the same learner day
            same_day += 1
            continue
        p = r["scheduler"].get_card_retrievability(card, r["virtual"])
        y = r["rating"] > 1
        b = bins[min(int(p * 10), 9)]
        b[0], b[1], b[2] = b[0] + 1, b[1] + p, b[2] + y
        clipped = min(max(p, stats.CLIP), 1 - stats.CLIP)
        loss -= math.log(clipped) if y else math.log(1 - clipped)
        n += 1
    cal = data["calibration"]
    assert cal["n"] == n > 100 and cal["same_day"] == same_day > 0
    assert cal["log_loss"] == pytest.approx(loss / n)
    rmse = math.sqrt(sum(c * (s / c - k / c) ** 2 for c, s, k in bins.values()) / n)
    assert cal["rmse_bins"] == pytest.approx(rmse)
    for k, entry in enumerate(cal["bins"]):
        count, total, passed = bins.get(k, (0, 0.0, 0))
        assert entry["n"] == count
        if count:
            assert entry["predicted"] == pytest.approx(total / count)
            assert entry["actual"] == pytest.approx(passed / count)

    now = parse_time(NOW)
    finals = {r["card_id"]: r for r in replayed}
    expected = sum(r["scheduler"].get_card_retrievability(r["final"], now) for r in finals.values())
    assert data["studied_cards"] == len(finals)
    assert data["retrievability_sum"] == pytest.approx(expected, rel=1e-12)
    assert sum(b["cards"] for b in data["retrievability"]) == len(finals)


def test_trouble_spots(history):
    data = history.json("stats", now=NOW)
    cards = {c["id"]: c for c in history.json("cards")}
    lapsed = sorted((c for c in cards.values() if c["lapses"]), key=lambda c: (-c["lapses"], c["id"]))[:10]
    assert [(x["card_id"], x["lapses"]) for x in data["leeches"]] == [(c["id"], c["lapses"]) for c in lapsed]
    wrong = Counter((r["card_id"], r["choice"]) for r in history.json("log") if r["correct"] is False)
    top = sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:10]
    assert [(w["card_id"], w["choice"], w["times"]) for w in data["wrong_choices"]] == [(*k, v) for k, v in top]
    assert all(w["answer"] == cards[w["card_id"]]["answer"] for w in data["wrong_choices"])


def test_one_deck_and_other_windows(history):
    log, cards = history.json("log"), history.json("cards")
    data = history.json("stats", "Deck B", "--days", "7", now=NOW)
    ids = {c["id"] for c in cards if c["deck"] == "Deck B"}
    replayed = [r for r in replay(log, cards) if r["card_id"] in ids]
    assert data["deck"] == "Deck B" and data["reviews"] == len(replayed)
    assert data["retention_counts"] == expected_retention(replayed, learner_day(parse_time(NOW)))
    assert len(data["daily"]) == len(data["forecast"]) == 7
    per_day = Counter(learner_day(r["at"]) for r in replayed)
    today = learner_day(parse_time(NOW))
    assert [(d["date"], d["reviews"]) for d in data["daily"]] == [
        ((today - timedelta(days=k)).isoformat(), per_day[today - timedelta(days=k)]) for k in range(6, -1, -1)]
    assert data["study_days"] == len(per_day)
    assert data["states"]["total"] == len(ids)


def test_the_index_for_the_whole_log_gives_the_same_figures(history, tmp_path):
    """With STATS_INDEX the pass over the log reads both time differences from the index (no julianday call
    left in the query), and the figures are those computed without it."""
    copies = {}
    for name, sql in (("plain", "DROP INDEX IF EXISTS reviews_stats"),
                      ("indexed", stats.STATS_INDEX.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))):
        copies[name] = tmp_path / f"{name}.db"
        source, target = sqlite3.connect(history.db), sqlite3.connect(copies[name])
        source.backup(target)
        source.close()
        target.execute(sql)
        target.close()
    conn = sqlite3.connect(copies["indexed"])
    program = conn.execute(f"EXPLAIN SELECT sum({stats.elapsed_ms_sql('r.')}), sum({stats.interval_ms_sql('r.')}) "
                           "FROM reviews r WHERE r.prev_state > 0").fetchall()
    conn.close()
    assert not [op for op in program if op[1] == "Function" and "julianday" in str(op[5])]
    plain, indexed = (Cli(copies[name]).json("stats", now=NOW) for name in ("plain", "indexed"))
    assert indexed["retention_counts"] == plain["retention_counts"] and indexed["reviews"] == plain["reviews"]
    assert [b["n"] for b in indexed["calibration"]["bins"]] == [b["n"] for b in plain["calibration"]["bins"]]
    assert indexed["calibration"]["log_loss"] == pytest.approx(plain["calibration"]["log_loss"])


def test_sql_retrievability_is_fsrs_to_the_last_bit():
    """R in SQL (whole days elapsed, as fsrs counts them) equals fsrs.Scheduler.get_card_retrievability exactly."""
    import random

    conn = sqlite3.connect(":memory:")
    rng = random.Random(7)
    base = datetime(2026, 3, 1, 10, 11, 12, 123456, tzinfo=timezone.utc)
    for parameters in (None, PARAMS_B):
        scheduler = fsrs.Scheduler(parameters=parameters) if parameters else fsrs.Scheduler()
        decay, factor = stats.memory_params(stats.Settings(parameters=tuple(parameters) if parameters else None))
        sql = f"SELECT pow(1 + {factor!r} * {stats.elapsed_days_sql(':now', ':last')} / :s, {decay!r})"
        for k in range(3000):
            last = base + timedelta(microseconds=rng.randrange(10 ** 12))
            whole = timedelta(days=rng.randrange(0, 400))
            elapsed = [whole, whole + timedelta(microseconds=rng.choice([-1, 1, -499, 500, -1000, 1001])),
                       timedelta(microseconds=rng.randrange(400 * 86_400 * 10 ** 6)), -timedelta(hours=3)][k % 4]
            stability = rng.choice([0.1, 1.0, 2.5, 37.3, 1234.5])
            card = fsrs.Card(card_id=1, state=fsrs.State.Review, stability=stability, difficulty=5.0,
                             due=last, last_review=last)
            now = last + elapsed
            got = conn.execute(sql, {"now": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                     "last": last.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "s": stability}).fetchone()[0]
            assert got == scheduler.get_card_retrievability(card, now), (last, now, stability)


def test_terminal_and_html_reports(history, tmp_path):
    text = history("stats", now=NOW).stdout
    for heading in ("True retention", "Reviews per day", "Study days", "Due, next 30 days", "The collection",
                    "Calibration", "Trouble spots"):
        assert heading in text
    page = tmp_path / "stats.html"
    result = history("stats", "--html", str(page), now=NOW)
    assert str(page) in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 6 and "True retention" in html
    assert "http:" not in html and "https:" not in html and "<script" not in html and "src=" not in html


def test_empty_store_and_unknown_deck(cli):
    cli("config")  # creates the database, with no deck in it
    data = cli.json("stats", now=NOW)
    assert data["reviews"] == 0 and data["true_retention"] == {"today": None, "7d": None, "30d": None, "all": None}
    assert data["calibration"]["n"] == 0 and data["calibration"]["log_loss"] is None
    assert "Statistics" in cli("stats", now=NOW).stdout
    result = run_srs("--db", str(cli.db), "stats", "No such deck")
    assert result.returncode == 1 and result.stderr.startswith("srs: error: no deck named")
    assert len(result.stderr.strip().splitlines()) == 1


def test_only_the_first_answer_of_a_learner_day_counts(cli, tmp_path, zone):
    """A card answered twice in the review state on one learner day counts once (Anki's rule)."""
    from srs import scheduling
    from srs.model import Review

    (tmp_path / "d.md").write_text("# D\n\n## Q?\nA\n")
    cli("import", str(tmp_path / "d.md"), now="2026-03-01T12:00:00Z")
    store = Store(cli.db)
    card = next(store.cards())
    settings = scheduling.Settings()
    moments = {"2026-03-01T12:00:00Z": 3, "2026-03-01T12:10:00Z": 3,  # learnt: in the review state
               "2026-03-05T15:00:00Z": 3,  # a review: counted, passed
               "2026-03-06T07:00:00Z": 1,  # 02:00 in New York: still March 5th's learner day, so not counted
               "2026-03-06T07:10:00Z": 3,  # relearning: not counted
               "2026-03-07T12:00:00Z": 3}  # a review on another learner day: counted, passed
    for moment, rating in moments.items():
        when = parse_time(moment)
        before = store.card(card.id).progress
        after = scheduling.answer(settings, card.id, before, rating, when)
        store.record_answer(card.id, before, Review(when, rating, scheduling.review_kind(before)), after)
    states = [r[0] for r in store.conn.execute("SELECT prev_state FROM reviews ORDER BY id")]
    store.close()
    assert states == [0, 1, 2, 2, 3, 2]
    counts = cli.json("stats", now="2026-03-07T13:00:00Z")["retention_counts"]
    assert counts["all"] == {"young_failed": 0, "young_passed": 2, "mature_failed": 0, "mature_passed": 0}
    assert counts["today"]["young_passed"] == 1


def test_the_cache_of_past_days_gives_what_a_fresh_pass_gives(history, tmp_path):
    """`srs stats` keeps the log's sums of the days before today; answers added, changed or removed before
    then (an imported history, a rescheduling, an undo) empty it, and a later day adds the days between."""
    import json
    import shutil

    db = tmp_path / "copy.db"
    shutil.copy(history.db, db)
    cli = Cli(db)

    def fresh(now: str) -> dict:
        conn = sqlite3.connect(db)
        conn.execute("DELETE FROM stats_cache")
        conn.commit()
        conn.close()
        return cli.json("stats", now=now)

    def cached(now: str) -> dict:
        data = cli.json("stats", now=now)
        assert sqlite3.connect(db).execute("SELECT count(*) FROM stats_cache").fetchone()[0] == 1
        return data

    assert cached(NOW) == fresh(NOW) == cached(NOW)
    later = "2026-12-23T15:00:00Z"  # days later: the cache adds the days between
    cached(NOW)
    assert cached(later) == fresh(later)
    cached(NOW)  # the clock back: recomputed
    assert cached(NOW) == fresh(NOW)
    log = tmp_path / "old.csv"  # answers before the cache's end: it is emptied
    log.write_text("card_id,review_rating,review_time,review_duration\n"
                   "9001,3,2026-10-01T10:00:00Z,4000\n9001,1,2026-10-03T10:00:00Z,4000\n")
    cached(NOW)
    cli("import-history", str(log), now=NOW)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM stats_cache").fetchone()[0] == 0
    after = cached(NOW)
    assert after == fresh(NOW) and after["reviews"] == json.loads(json.dumps(fresh(NOW)))["reviews"]
    cached(NOW)
    cli("optimize", "--reset", now=NOW)  # rescheduling rewrites the state before each answer
    assert cached(NOW) == fresh(NOW)
    # a re-import that gives the choice cards a fourth option changes k, which the choice figures of past
    # days depend on (guess correction, expected pass rate): the cache is not used
    before = cached(NOW)
    (tmp_path / "a.md").write_text(DECK_A.replace("b\n\n", "b\n- [ ] wrong fourth\n\n"))
    cli("import", str(tmp_path / "a.md"), now=NOW)
    assert all(len(c["options"]) == 4 for c in cli.json("cards") if c.get("options"))
    after = cached(NOW)
    assert after == fresh(NOW)
    assert after["true_retention_choice"]["all"]["corrected"] != before["true_retention_choice"]["all"]["corrected"]


def test_practice_answers_are_shown_apart_from_reviews(cli, tmp_path, zone):
    """Answers of `srs review --cram` change no schedule: `srs stats` counts them as practice, per period and
    per day, never as reviews (total, today's, the daily chart, the calendar, study days and the streak)."""
    (tmp_path / "deck.md").write_text("# Cram\n\n" + "".join(f"## Q {i}?\nA {i}\n\n" for i in range(6)))
    cli("import", str(tmp_path / "deck.md"), now="2026-03-02T15:00:00Z")
    cli("review", input="\n3\n" * 6 + "q\n", now="2026-03-02T15:00:00Z")
    reviews = len(cli.json("log"))
    assert reviews >= 6
    for day, answers in (("2026-03-04T15:00:00Z", "\n1\n\n3\n\n3\n"), ("2026-03-06T15:00:00Z", "\n3\n")):
        cli("review", "--cram", "Q", input=answers + "q\n", now=day)
    log = cli.json("log")
    assert Counter(r["kind"] for r in log)["cram"] == 4 and len(log) == reviews + 4
    for repeat in range(2):  # a fresh pass, then the days before today from the cache
        data = cli.json("stats", now="2026-03-06T20:00:00Z")
        assert data["reviews"] == reviews and data["reviews_today"] == 0
        assert data["practice"] == {"today": 1, "7d": 4, "30d": 4, "all": 4}
        daily = {d["date"]: d for d in data["daily"]}
        assert [(d, daily[d]["reviews"], daily[d]["practice"]) for d in ("2026-03-02", "2026-03-04", "2026-03-06")] \
            == [("2026-03-02", reviews, 0), ("2026-03-04", 0, 3), ("2026-03-06", 0, 1)]
        assert [c["date"] for c in data["calendar"]] == ["2026-03-02"]
        assert data["study_days"] == 1 and data["streak"] == {"current": 0, "longest": 1}
        assert sum(d["reviews"] for d in data["daily"]) == reviews
    later = cli.json("stats", now="2026-03-12T20:00:00Z")  # the practice days now come from the cache
    assert later["practice"] == {"today": 0, "7d": 1, "30d": 4, "all": 4} and later["reviews"] == reviews
    out = cli("stats", now="2026-03-06T20:00:00Z").stdout
    assert "Practice (--cram, not counted as reviews): 1 today · 4 in 7 days" in out
    assert f"Statistics · all decks · {reviews} reviews" in out
    cli("stats", "--html", str(tmp_path / "stats.html"), now="2026-03-06T20:00:00Z")
    page = (tmp_path / "stats.html").read_text(encoding="utf-8")
    assert f"{reviews} reviews" in page and "Practice (--cram, not counted as reviews): 1 today" in page


def test_leeches_follow_each_decks_leech_threshold(history, tmp_path):
    import shutil

    db = tmp_path / "copy.db"
    shutil.copy(history.db, db)
    cli = Cli(db)
    cards = {c["id"]: c for c in cli.json("cards")}
    lapses = Counter(c["lapses"] for c in cards.values() if c["lapses"])
    assert len(lapses) >= 2  # cards with different lapse counts, so that a threshold splits them
    low, high = sorted(lapses)[0], sorted(lapses)[-1]
    cli("config", "Deck A", "leech_threshold", str(high), now=NOW)
    cli("config", "Deck B", "leech_threshold", str(low), now=NOW)
    data = cli.json("stats", now=NOW)
    threshold = {"Deck A": high, "Deck B": low}
    assert data["leeches"]
    for leech in data["leeches"]:
        card = cards[leech["card_id"]]
        assert leech["leech_threshold"] == threshold[card["deck"]]
        assert leech["leech"] == (card["lapses"] >= threshold[card["deck"]])
    assert any(x["leech"] for x in data["leeches"]) and not all(x["leech"] for x in data["leeches"])
    assert cli.json("stats", "Deck B", now=NOW)["leeches"][0]["leech_threshold"] == low
