"""One learner day for the schedule (issue 11): intervals in learner days, Anki's fuzz and button
order, previews that hold, and `status` / `srs review` / the summary agreeing on what is due."""

from __future__ import annotations

import math
import random
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fsrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import time_zone
from srs import clock, scheduling
from srs.model import Progress
from srs.session import ReviewSession
from srs.store import Store

ONE = "# One\n\n## Capital of France?\nParis\n"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SRC = Path(__file__).parent.parent / "srs"


def deck(tmp_path, text=ONE, name="deck.md"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def berlin(text: str) -> str:
    """A local Berlin wall time in December (UTC+1) as SRS_NOW."""
    return text + "+01:00"


def buttons(output: str) -> dict[str, str]:
    """The interval each rating shows, from the line above the rating prompt."""
    return dict(re.findall(r"(Again|Hard|Good|Easy) \(\d\) (\S+)", output))


def graduate(cli, tmp_path, at: str, maximum_interval: int) -> None:
    """One basic card, answered Good 10 minutes before `at` and at `at` (Berlin, 1 December): in review."""
    cli("import", deck(tmp_path))
    cli("config", "maximum_interval", str(maximum_interval))
    cli("review", input="\n3\n", now=berlin("2026-12-01T" + _minus(at, 10)))
    cli("review", input="\n3\n", now=berlin("2026-12-01T" + at))
    assert cli.json("cards")[0]["state"] == "review"


def _minus(at: str, minutes: int) -> str:
    moment = datetime.strptime(at, "%H:%M:%S") - timedelta(minutes=minutes)
    return moment.strftime("%H:%M:%S")


# -- one learner day ----------------------------------------------------------------------------

def test_good_interval_is_the_same_at_any_hour_of_one_learner_day(cli, tmp_path):
    """Answered at 21:00 on 1 December; on 3 December at 05:00, 07:00, 12:00 and 21:00 the buttons agree."""
    with time_zone("Europe/Berlin"):
        graduate(cli, tmp_path, "21:00:00", maximum_interval=2)  # due on the learner day of 3 December
        cli("config", "maximum_interval", "36500")
        shown = {}
        for hour in ("05:00", "07:00", "12:00", "21:00"):
            out = cli("review", input="\nq\n", now=berlin(f"2026-12-03T{hour}:00")).stdout
            shown[hour] = buttons(out)
        assert len(shown["05:00"]) == 4 and shown["05:00"]["Good"].endswith("d")
        assert all(b == shown["05:00"] for b in shown.values()), shown
        # before 4 a.m. it is still 2 December: the card is not due yet and is not shown
        out = cli("review", input="\nq\n", now=berlin("2026-12-03T03:30:00")).stdout
        assert "Capital of France" not in out


def test_23h_then_7h_next_morning_is_a_new_day(cli, tmp_path):
    """A review at 23:00 and the next at 07:00: FSRS sees one elapsed day (the long-term update, not the
    same-day one), as Anki and the optimizer count it."""
    with time_zone("Europe/Berlin"):
        graduate(cli, tmp_path, "23:00:00", maximum_interval=1)
        before = cli.json("cards")[0]
        out = cli("review", input="\n3\n", now=berlin("2026-12-02T07:00:00")).stdout
        assert "Capital of France" in out  # due from 4 a.m. on the next learner day
        after = cli.json("cards")[0]
        store = Store(cli.db)
        card = store.card(after["id"])
        store.close()
        last = datetime.fromisoformat(cli.json("log")[-2]["reviewed_at"])
        when = datetime.fromisoformat(berlin("2026-12-02T07:00:00")).astimezone(timezone.utc)
        assert when - last == timedelta(hours=8)
        assert scheduling.elapsed_days(last, when, scheduling.Settings()) == 1
        # plain fsrs, told one day passed, gives the stored stability; told none, it would not
        reviewed = fsrs.Card(card_id=1, state=fsrs.State.Review, stability=before["stability"],
                             difficulty=before["difficulty"], last_review=EPOCH)
        sched = fsrs.Scheduler(enable_fuzzing=False)
        one_day, _ = sched.review_card(reviewed, fsrs.Rating.Good, EPOCH + timedelta(days=1))
        same_day, _ = sched.review_card(reviewed, fsrs.Rating.Good, EPOCH + timedelta(hours=8))
        assert card.progress.stability == pytest.approx(one_day.stability, rel=1e-12)
        assert card.progress.stability != pytest.approx(same_day.stability, rel=1e-6)


def test_elapsed_days_are_learner_days():
    with time_zone("Europe/Berlin"):
        s = scheduling.Settings()
        at = lambda text: datetime.fromisoformat(berlin(text))  # noqa: E731
        assert scheduling.elapsed_days(at("2026-12-01T23:00:00"), at("2026-12-02T07:00:00"), s) == 1
        assert scheduling.elapsed_days(at("2026-12-01T05:00:00"), at("2026-12-02T03:59:00"), s) == 0
        assert scheduling.elapsed_days(at("2026-12-01T21:00:00"), at("2026-12-03T05:00:00"), s) == 2
        assert scheduling.elapsed_days(at("2026-12-01T21:00:00"), at("2026-12-03T21:00:00"), s) == 2
        assert scheduling.elapsed_days(None, at("2026-12-03T21:00:00"), s) == 0
        assert scheduling.elapsed_days(at("2026-12-03T21:00:00"), at("2026-12-01T21:00:00"), s) == 0
        late = scheduling.Settings(day_start_hour=0)
        assert scheduling.elapsed_days(at("2026-12-01T23:00:00"), at("2026-12-02T01:00:00"), late) == 1


def test_review_intervals_end_at_the_start_of_a_learner_day():
    with time_zone("America/New_York"):
        s = scheduling.Settings()
        progress = Progress()
        when = datetime(2026, 3, 7, 22, 30, tzinfo=timezone.utc)
        for rating in (3, 3, 3):
            progress = scheduling.answer(s, 42, progress, rating, when)
            when += timedelta(minutes=30)
        assert progress.state == "review"
        local = progress.due.astimezone()
        assert (local.hour, local.minute) == (4, 0)  # 4 a.m. local, across the DST change of 8 March too
        assert progress.due == clock.day_start(clock.day_number(progress.due), 4)


def test_card_due_at_21h_shows_at_4h_that_learner_day(cli, tmp_path):
    """A review card due at 21:00 (as older data or an import may have it) is due from 4 a.m. of its
    learner day in `status --json` and in `srs review` alike; at 03:59 it is the previous day."""
    with time_zone("Europe/Berlin"):
        graduate(cli, tmp_path, "21:00:00", maximum_interval=1)
        due = datetime.fromisoformat(berlin("2026-12-05T21:00:00"))
        conn = sqlite3.connect(cli.db)
        conn.execute("UPDATE card_state SET due = ?", (clock.to_text(due),))
        conn.commit()
        conn.close()
        early = cli.json("status", now=berlin("2026-12-05T03:59:00"))
        assert early["decks"][0]["due_now"] == 0
        assert datetime.fromisoformat(early["next_due"]) == datetime.fromisoformat(berlin("2026-12-05T04:00:00"))
        assert "Capital of France" not in cli("review", input="\nq\n", now=berlin("2026-12-05T03:59:00")).stdout
        status = cli.json("status", now=berlin("2026-12-05T04:00:00"))
        assert status["decks"][0]["due_now"] == 1
        assert datetime.fromisoformat(status["next_due"]) == datetime.fromisoformat(berlin("2026-12-05T04:00:00"))
        assert "Capital of France" in cli("review", input="\nq\n", now=berlin("2026-12-05T04:00:00")).stdout


def test_no_other_learner_day_computation_in_srs():
    """The learner's day is computed in srs/clock.py only: no UTC offsets, local times or day-start
    arithmetic anywhere else (display of a local time, `.astimezone().strftime`, is allowed)."""
    forbidden = re.compile(r"tm_gmtoff|localtime\(|datetime\.now\(|timezone\(timedelta|utcoffset\(|"
                           r"hours\s*=\s*(day_start_hour|hour|rollover)|(day_start_hour|rollover_hour|hour)\s*\*\s*3600|"
                           r"\.date\(\)\s*-|julianday\([^)]*localtime")
    hits = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "clock.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if forbidden.search(line):
                hits.append(f"{path.relative_to(SRC.parent)}:{number}: {line.strip()}")
    assert hits == []


def test_epoch_days_is_day_number_around_dst():
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"):
        with time_zone(zone):
            counter = clock.EpochDays(4)
            rng = random.Random(zone)
            base = int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp())
            for _ in range(3000):
                seconds = base + rng.randrange(0, 300 * 86400)
                moment = datetime.fromtimestamp(seconds, timezone.utc)
                assert counter.day(seconds) == clock.day_number(moment, 4) == clock.epoch_day_number(seconds, 4)


# -- fuzz and order -----------------------------------------------------------------------------

def test_fuzz_bounds_are_ankis():
    """The cases of rslib/src/scheduler/states/fuzz.rs (factor 0, 0.5, 0.99)."""
    cases = [((1.0, 1, 1000), (1, 1, 1)), ((2.49, 1, 1000), (2, 2, 2)), ((2.5, 1, 1000), (2, 3, 4)),
             ((7.0, 1, 1000), (5, 7, 9)), ((17.0, 1, 1000), (14, 17, 20)), ((37.0, 1, 1000), (33, 37, 41)),
             ((2.0, 2, 1000), (2, 2, 2)), ((2.0, 3, 1000), (3, 4, 4)), ((2.0, 3, 3), (3, 3, 3)),
             ((6.9, 3, 1000), (5, 7, 9)), ((19.9, 3, 1000), (17, 20, 23)), ((20.1, 3, 1000), (17, 20, 23)),
             ((100.0, 101, 1000), (101, 105, 108)), ((100.0, 1, 99), (92, 96, 99)),
             ((100.0, 97, 103), (97, 100, 103))]
    for (interval, minimum, maximum), expected in cases:
        got = tuple(scheduling.fuzzed_interval(interval, minimum, maximum, f) for f in (0.0, 0.5, 0.99))
        assert got == expected, (interval, minimum, maximum)


@pytest.mark.parametrize("interval", [3, 5, 8, 13, 30, 100, 365])
def test_fuzz_is_unbiased(interval):
    """Over 10,000 draws (the real seeding: card id and review count) the mean fuzzed interval is the
    unfuzzed one within 1% (py-fsrs's own fuzz added half a day)."""
    rng = random.Random(interval)
    draws = [scheduling.fuzzed_interval(interval, 1, 36500, random.Random(scheduling._seed(rng.randrange(10**12),
                                                                                       rng.randrange(50))).random())
             for _ in range(10_000)]
    assert abs(sum(draws) / len(draws) - interval) <= 0.01 * interval
    assert len(set(draws)) > 1


def test_fuzz_mean_over_real_outcomes():
    """10,000 review-state cards answered Good: the mean fuzzed Good interval equals the mean unfuzzed
    one within 1%."""
    rng = random.Random(5)
    fuzzed, plain = [], []
    on, off = scheduling.Settings(), scheduling.Settings(fuzz=False)
    for card_id in range(10_000):
        progress = _review_card(rng)
        when = progress.last_review + timedelta(days=rng.uniform(0, 3 * progress.stability))
        fuzzed.append(scheduling.interval_days(on, scheduling.answer(on, card_id, progress, 3, when)))
        plain.append(scheduling.interval_days(off, scheduling.answer(off, card_id, progress, 3, when)))
    assert fuzzed != plain
    assert abs(sum(fuzzed) / sum(plain) - 1) < 0.01


def _review_card(rng: random.Random) -> Progress:
    last = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(60 * 24 * 365))
    return Progress(state="review", stability=math.exp(rng.uniform(math.log(0.1), math.log(3000))),
                    difficulty=rng.uniform(1, 10), due=last + timedelta(days=1), last_review=last,
                    reps=rng.randrange(1, 40), lapses=rng.randrange(5))


class RandomBalancer:
    """Any day the balancer may choose (even outside the window): the order must hold whatever it picks."""

    def __init__(self):
        self.calls = 0

    def pick(self, lower, upper, interval, today, rng):
        self.calls += 1
        assert lower <= upper and isinstance(today, int)
        return rng.randint(lower - 2, upper + 2)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), balanced=st.booleans(), zone=st.sampled_from(["Europe/Berlin", "UTC",
                                                                                  "America/Los_Angeles"]))
def test_again_hard_good_easy_in_order(seed, balanced, zone):
    """Over 10,000 random review-state cards (100 examples of 100 cards drawn from the example's seed:
    stability 0.01 to 36,500 days, any difficulty, 0 to 3,000 days since the last review at any hour,
    any desired retention), fuzz on, with or without a balancer: Again < Hard < Good < Easy in whole
    learner days, all within the maximum interval (where the maximum is reached the later buttons stay
    at it, as in Anki)."""
    rng = random.Random(seed)
    balancer = RandomBalancer() if balanced else None
    strict = 0
    with time_zone(zone):
        for _ in range(100):
            last = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(60 * 24 * 365))
            progress = Progress(state="review", stability=math.exp(rng.uniform(math.log(0.01), math.log(36500))),
                                difficulty=rng.uniform(1, 10), due=last + timedelta(days=1), last_review=last,
                                reps=rng.randrange(1, 100), lapses=rng.randrange(10))
            when = last + timedelta(minutes=rng.choice([rng.randrange(60 * 24 * 3),
                                                        rng.randrange(60 * 24 * 3000)]))
            s = scheduling.Settings(desired_retention=rng.choice([0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99]))
            states = scheduling.next_states(s, rng.randrange(1, 2**40), progress, when, balancer)
            again, hard, good, easy = (states[r] for r in (1, 2, 3, 4))
            assert again.state == "relearning" and again.due - when == timedelta(minutes=10)  # < any day
            assert hard.state == good.state == easy.state == "review"
            days = [scheduling.interval_days(s, state) for state in (hard, good, easy)]
            assert 1 <= days[0] <= days[1] <= days[2] <= s.maximum_interval, days
            assert days[0] < days[1] or days[1] == s.maximum_interval, days
            assert days[1] < days[2] or days[2] == s.maximum_interval, days
            strict += days[0] < days[1] < days[2]
    assert strict >= 50  # most are far from the maximum
    if balanced:
        assert balancer.calls == 300


def test_order_holds_without_relearning_steps_and_under_a_small_maximum():
    rng = random.Random(11)
    no_steps = scheduling.Settings(relearning_steps=())
    capped = scheduling.Settings(maximum_interval=30)
    for card_id in range(2000):
        progress = _review_card(rng)
        when = progress.last_review + timedelta(days=rng.uniform(0, 2 * progress.stability))
        days = [scheduling.interval_days(no_steps, st_) for st_ in
                scheduling.next_states(no_steps, card_id, progress, when).values()]
        assert days[0] < days[1] < days[2] < days[3]
        days = [scheduling.interval_days(capped, st_) for st_ in
                list(scheduling.next_states(capped, card_id, progress, when).values())[1:]]
        assert all(d <= 30 for d in days) and days == sorted(days)
        assert days[0] < days[1] < days[2] or days[2] == 30


def test_next_states_and_answer_agree_and_are_seeded():
    rng = random.Random(3)
    s = scheduling.Settings()
    for card_id in range(300):
        progress = _review_card(rng)
        when = progress.last_review + timedelta(days=rng.uniform(0, 3 * progress.stability))
        states = scheduling.next_states(s, card_id, progress, when)
        assert states == scheduling.next_states(s, card_id, progress, when)
        for rating in (1, 2, 3, 4):
            assert scheduling.answer(s, card_id, progress, rating, when) == states[rating]


# -- the preview holds --------------------------------------------------------------------------

class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _studied_store(cli, tmp_path, now: str) -> Store:
    cli("import", deck(tmp_path, "# Many\n\n" + "".join(f"## Q{i}?\nA{i}\n\n" for i in range(12))))
    for minutes in (0, 2, 12):  # graduate every card to review
        stamp = datetime.fromisoformat(now) + timedelta(minutes=minutes)
        cli("review", input="\n3\n" * 12, now=stamp.isoformat())
    assert all(c["state"] == "review" for c in cli.json("cards"))
    return Store(cli.db)


def test_preview_equals_result_across_the_day_boundary(cli, tmp_path):
    """Shown at 03:59, answered at 04:01 (a new learner day): the state applied is the one shown
    (same memory state, same interval in days counted from the answer's day); the log keeps 04:01."""
    with time_zone("Europe/Berlin"):
        store = _studied_store(cli, tmp_path, berlin("2026-12-01T10:00:00"))
        moment = Clock(datetime.fromisoformat(berlin("2026-12-10T03:59:00")).astimezone(timezone.utc))
        session = ReviewSession(store, now=moment)
        checked = 0
        for rating in (1, 2, 3, 4, 3, 2, 4, 3):
            card = session.next_card()
            assert card is not None and card.progress.state == "review"
            shown = session.show(card)
            settings_ = session.settings_for(card)
            moment.moment += timedelta(minutes=2)  # the learner day changes while the card is on screen
            answer_day = clock.day_number(moment.moment)
            assert answer_day == clock.day_number(shown.at) + 1
            assert session.answer(shown, rating, 1000)
            stored = store.card(card.id).progress
            expected = shown.states[rating]
            assert (stored.state, stored.stability, stored.difficulty, stored.step, stored.reps, stored.lapses) == \
                   (expected.state, expected.stability, expected.difficulty, expected.step, expected.reps,
                    expected.lapses)
            assert stored.last_review == moment.moment
            if rating == 1:
                assert shown.texts[1] == "10m" and stored.due == moment.moment + timedelta(minutes=10)
            else:
                days = scheduling.interval_days(settings_, expected)
                assert shown.texts[rating] == scheduling.format_interval(timedelta(days=days))
                assert clock.day_number(stored.due) - answer_day == days
                assert stored.due == clock.day_start(answer_day + days)
            log = store.reviews_of(card.id)[-1]
            assert log.reviewed_at == moment.moment and log.due_after == stored.due
            moment.moment -= timedelta(minutes=2)  # back before 4 a.m. for the next card
            checked += 1
        store.close()
        assert checked == 8


def test_preview_without_a_day_change_is_exactly_the_result(cli, tmp_path):
    store = _studied_store(cli, tmp_path, "2026-12-01T10:00:00+00:00")
    moment = Clock(datetime(2026, 12, 9, 12, tzinfo=timezone.utc))
    session = ReviewSession(store, now=moment)
    for rating in (4, 3, 2, 1):
        card = session.next_card()
        shown = session.show(card)
        moment.moment += timedelta(seconds=30)
        assert session.answer(card, rating, 500)  # the card shown last is the state applied
        stored = store.card(card.id).progress
        assert stored == scheduling.applied_at(session.settings_for(card), shown.states[rating], moment.moment)
        if rating > 1:
            assert stored.due == shown.states[rating].due
    store.close()


def test_the_terminal_answers_with_the_states_it_showed(cli, tmp_path):
    """`srs review` (piped): the interval on the Good button is the interval the card got."""
    with time_zone("Europe/Berlin"):
        _studied_store(cli, tmp_path, berlin("2026-12-01T10:00:00")).close()
        out = cli("review", input="\n3\n" + "q\n", now=berlin("2026-12-09T12:00:00")).stdout
        good = buttons(out)["Good"]
        last = cli.json("log")[-1]
        assert last["rating"] == 3 and last["reviewed_at"].startswith("2026-12-09T11:00")
        answered = [c for c in cli.json("cards") if c["id"] == last["card_id"]]
        due = datetime.fromisoformat(answered[0]["due"])
        days = clock.day_number(due) - clock.day_number(datetime.fromisoformat(berlin("2026-12-09T12:00:00")))
        assert good == scheduling.format_interval(timedelta(days=days))


# -- status, the summary and srs review agree ---------------------------------------------------

def test_status_due_now_is_what_a_review_shows(cli, tmp_path):
    with time_zone("Europe/Berlin"):
        store = _studied_store(cli, tmp_path, berlin("2026-12-01T10:00:00"))
        cards = [c.id for c in store.cards()]
        store.close()
        conn = sqlite3.connect(cli.db)
        now = datetime.fromisoformat(berlin("2026-12-20T07:00:00"))
        # 3 review cards due today (shown from 4 a.m., even the one due tonight), 1 due tomorrow; a relearning
        # card due in 5 minutes (within the learn-ahead: shown once nothing else is left), a learning card due
        # in 2 hours; the rest far away
        plan = {cards[0]: (2, now + timedelta(hours=14)), cards[1]: (2, now + timedelta(hours=1)),
                cards[2]: (2, now - timedelta(days=3)), cards[3]: (2, now + timedelta(days=1)),
                cards[4]: (3, now + timedelta(minutes=5)), cards[5]: (1, now + timedelta(hours=2))}
        conn.execute("UPDATE card_state SET due = ?", (clock.to_text(now + timedelta(days=90)),))
        for card_id, (state, due) in plan.items():
            conn.execute("UPDATE card_state SET state = ?, step = 0, due = ? WHERE card_id = ?",
                         (state, clock.to_text(due), card_id))
        conn.commit()
        conn.close()
        status = cli.json("status", now=now.isoformat())
        assert status["decks"][0]["due_now"] == 4  # 3 reviews, then the learning card within 20 minutes
        assert datetime.fromisoformat(status["next_due"]) == now
        out = cli("review", input="\n3\n" * 4 + "q\n", now=now.isoformat()).stdout
        assert out.count("Rate 1-4") == 4 and "Session over" in out
        # what a review would show now: nothing more (the other learning card is 2 hours away)
        out = cli("review", input="q\n", now=now.isoformat()).stdout
        assert "Rate 1-4" not in out and "Enter shows the answer" not in out
        status = cli.json("status", now=now.isoformat())
        assert status["decks"][0]["due_now"] == 0
        # the next card: the learning card 2 hours on, shown 20 minutes early (nothing else is left then)
        assert datetime.fromisoformat(status["next_due"]) == now + timedelta(hours=2) - timedelta(minutes=20)
        assert "Next card due in 2h" in out or "Next card due in 1h" in out


def test_summary_names_the_next_review_day_start(cli, tmp_path):
    with time_zone("Europe/Berlin"):
        cli("import", deck(tmp_path))
        out = cli("review", input="\n3\n\n3\n\n3\n", now=berlin("2026-12-01T21:00:00")).stdout
        card = cli.json("cards")[0]
        assert card["state"] == "review"
        due = datetime.fromisoformat(card["due"]).astimezone()
        assert (due.hour, due.minute) == (4, 0)
        assert f"({due.strftime('%Y-%m-%d')} 04:00)" in out
        status = cli.json("status", now=berlin("2026-12-01T21:30:00"))
        assert datetime.fromisoformat(status["next_due"]) == datetime.fromisoformat(card["due"])


def test_status_quick_path_does_not_load_fsrs_or_rich(tmp_path):
    import subprocess
    import sys

    code = ("import sys, srs.entry as e\n"
            "try:\n    e.main(['--db', sys.argv[1], 'status', '--json'])\nexcept SystemExit:\n    pass\n"
            "print('fsrs' in sys.modules, 'rich' in sys.modules, 'typer' in sys.modules, file=sys.stderr)")
    db = tmp_path / "srs.db"
    Store(db).close()
    result = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "False False False"


@pytest.mark.parametrize("first, second, elapsed", [("23:55", "03:55", 0), ("03:55", "04:05", 1),
                                                    ("20:00", "07:00", 1)])
def test_learning_and_relearning_steps_see_learner_days(first, second, elapsed):
    """In the learning and relearning states too, fsrs sees learner days: an answer later the same learner
    day uses FSRS-6's short-term stability, one on the next learner day (even 10 minutes later, across
    4 a.m.) the long-term update; the next step stays minutes from the real answer time."""
    with time_zone("Europe/Berlin"):
        s = scheduling.Settings(learning_steps=(1.0, 10.0, 600.0), relearning_steps=(10.0, 600.0))
        at = lambda day, hm: datetime.fromisoformat(berlin(f"2026-12-{day}T{hm}:00")).astimezone(timezone.utc)  # noqa
        t1 = at("01", first)
        t2 = at("01" if second > first else "02", second)
        sched = fsrs.Scheduler(learning_steps=tuple(timedelta(minutes=m) for m in s.learning_steps),
                               relearning_steps=tuple(timedelta(minutes=m) for m in s.relearning_steps),
                               enable_fuzzing=False)
        review = Progress(state="review", stability=30.0, difficulty=5.0, last_review=t1 - timedelta(days=40),
                          due=t1 - timedelta(days=5), reps=5)
        for start in (Progress(), review):  # a new card (learning), a lapsed one (relearning)
            p1 = scheduling.answer(s, 9, start, 1 if start.state == "review" else 3, t1)
            assert p1.state in ("learning", "relearning") and p1.last_review == t1
            p2 = scheduling.answer(s, 9, p1, 3, t2)
            assert scheduling.elapsed_days(p1.last_review, t2, s) == elapsed
            card = fsrs.Card(card_id=9, state=fsrs.State[p1.state.capitalize()], step=p1.step,
                             stability=p1.stability, difficulty=p1.difficulty, last_review=EPOCH)
            expected, _ = sched.review_card(card, fsrs.Rating.Good, EPOCH + timedelta(days=elapsed))
            assert p2.stability == pytest.approx(expected.stability, rel=1e-12)
            assert p2.state == expected.state.name.lower() == p1.state  # still stepping
            assert p2.due == t2 + (expected.due - EPOCH - timedelta(days=elapsed))


@pytest.mark.parametrize("hour", [0, 2, 3, 4, 23])
def test_day_start_is_the_first_moment_of_its_learner_day_across_dst(hour):
    """Around New York's DST changes (2 a.m. does not exist on 2026-03-08, 1 a.m. happens twice on
    2026-11-01), `day_start` is the first microsecond `learner_day` puts in that day."""
    from datetime import date

    tick = timedelta(microseconds=1)
    with time_zone("America/New_York"):
        for day in [date(2026, 3, d) for d in range(6, 11)] + [date(2026, 10, 30), date(2026, 11, 1), date(2026, 11, 2)]:
            start = clock.day_start(day, hour)
            assert clock.learner_day(start, hour) == day
            assert clock.learner_day(start - tick, hour) == day - timedelta(days=1)
            assert clock.day_start(clock.day_number(start, hour), hour) == start
