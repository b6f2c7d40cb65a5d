"""The review loop through the real CLI: scripted sessions, undo, suspend, quit, day limits,
FSRS replay, and answers surviving a killed process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import fsrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_srs
from srs.model import Progress
from srs import clock, scheduling

BASIC = "# Basic\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(30))


def write(tmp_path, text, name="deck.md"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_piped_session_reviews_the_deck_to_the_end(cli, basics):
    cli("import", str(basics))
    # each card: "a" picks option a or shows the answer, Enter accepts the suggested rating (a wrong pick
    # is Again and brings the card back within the learn-ahead: plenty of input, the session ends first)
    result = cli("review", input="a\n\n" * 1000, now="2026-02-01T09:00:00Z")
    assert "Session over" in result.stdout and "Traceback" not in result.stdout
    status = cli.json("status", now="2026-02-01T09:00:00Z")["decks"][0]
    assert status["new"] == 0 and status["due_now"] == 0
    log = cli.json("log")
    assert {r["card_id"] for r in log} == {c["id"] for c in cli.json("cards")}
    assert all(r["kind"] == "learn" for r in log)
    choice = [r for r in log if r["choice"] is not None]
    assert choice and all(isinstance(r["correct"], bool) for r in choice)


def test_undo_restores_state_and_log_exactly(cli, tmp_path):
    cli("import", str(write(tmp_path, BASIC)))
    now = "2026-02-01T09:00:00Z"
    cli("review", input="\n\n" * 2 + "q\n", now=now)
    before_cards, before_log = cli.json("cards"), cli.json("log")
    # answer one more card, then undo it at the next prompt, then quit
    cli("review", input="\n4\nu\nq\n", now="2026-02-01T09:00:30Z")
    assert cli.json("cards") == before_cards
    assert cli.json("log") == before_log


def test_suspend_and_quit(cli, tmp_path):
    cli("import", str(write(tmp_path, BASIC)))
    result = cli("review", input="s\nq\n", now="2026-02-01T09:00:00Z")
    assert "Suspended" in result.stdout
    cards = cli.json("cards")
    assert cards[0]["suspended"] is True and sum(c["suspended"] for c in cards) == 1
    assert cli.json("log") == []
    result = cli("review", input="q\n", now="2026-02-01T09:00:00Z")
    assert "Question 1?" in result.stdout and "Question 0?" not in result.stdout


def test_day_limits_hold_across_a_week(cli, tmp_path):
    cli("import", str(write(tmp_path, BASIC)))
    cli("config", "new_per_day", "4")
    cli("config", "reviews_per_day", "3")
    start = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    for day in range(7):
        for hour in (0, 5):  # two sessions a day: limits are per learner day, not per session
            now = (start + timedelta(days=day, hours=hour)).isoformat()
            cli("review", input="\n\n" * 80, now=now)
    per_day: dict = {}
    for row in cli.json("log"):
        day = datetime.fromisoformat(row["reviewed_at"]).astimezone()
        key = (day - timedelta(hours=4)).date()
        new = per_day.setdefault(key, {"new": set(), "review": 0})
        if row["kind"] == "learn":
            new["new"].add(row["card_id"])
        if row["kind"] == "review":
            new["review"] += 1
    assert len(per_day) == 7
    assert all(len(d["new"]) <= 4 for d in per_day.values())
    assert sum(len(d["new"]) for d in per_day.values()) == 28  # the limit is reached, not just respected
    assert all(d["review"] <= 3 for d in per_day.values())
    assert any(d["review"] == 3 for d in per_day.values())


def test_replaying_the_log_gives_the_shown_memory_state(cli, tmp_path):
    cli("import", str(write(tmp_path, BASIC)))
    rng = __import__("random").Random(7)
    start = datetime(2026, 4, 1, 8, tzinfo=timezone.utc)
    for day in range(0, 40, 3):
        answers = "".join(f"\n{rng.choice('1233334')}\n" for _ in range(40))
        cli("review", input=answers, now=(start + timedelta(days=day, minutes=rng.randint(0, 600))).isoformat())
    log = cli.json("log")
    cards = {c["id"]: c for c in cli.json("cards")}
    assert len(log) > 150 and len({r["card_id"] for r in log}) == 30
    assert any(r["kind"] == "relearn" for r in log) and any(r["kind"] == "review" for r in log)
    # plain fsrs, given each answer's learner day as midnight UTC of its day number (the scheme of
    # srs.scheduling): it counts elapsed learner days, not 24-hour blocks
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for card_id, card in cards.items():
        replayed = fsrs.Card(card_id=card_id)
        for row in (r for r in log if r["card_id"] == card_id):
            day = clock.day_number(datetime.fromisoformat(row["reviewed_at"]))
            replayed, _ = scheduler.review_card(replayed, fsrs.Rating(row["rating"]), epoch + timedelta(days=day))
        assert card["stability"] == pytest.approx(replayed.stability, rel=1e-12)
        assert card["difficulty"] == pytest.approx(replayed.difficulty, rel=1e-12)
        assert card["state"] == replayed.state.name.lower()


@settings(max_examples=150, deadline=None)
@given(ratings=st.lists(st.integers(1, 4), min_size=0, max_size=12),
       gaps=st.lists(st.floats(0.0, 400.0), min_size=12, max_size=12),
       card_id=st.integers(1, 10**9), rating=st.integers(1, 4))
def test_preview_is_the_interval_the_answer_gives(ratings, gaps, card_id, rating):
    """With fuzzing on, the interval shown on a button is the one the answer gives; and invariants hold."""
    settings_ = scheduling.Settings()
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    progress = Progress()
    for r, gap in zip(ratings, gaps):
        progress = scheduling.answer(settings_, card_id, progress, r, now)
        assert 1 <= progress.difficulty <= 10 and progress.stability > 0
        assert progress.due > now
        now += timedelta(days=gap)
    shown = scheduling.next_states(settings_, card_id, progress, now)  # what the buttons show
    given_ = scheduling.answer(settings_, card_id, progress, rating, now)
    assert given_.due == shown[rating].due
    assert given_.reps == progress.reps + 1
    assert given_.lapses == progress.lapses + (progress.state == "review" and rating == 1)
    if progress.state == "review":  # a better rating gives a longer interval, in whole learner days
        states = scheduling.next_states(settings_, card_id, progress, now)
        days = [scheduling.interval_days(settings_, states[r]) for r in (2, 3, 4)]
        assert states[1].state == "relearning" and 1 <= days[0] < days[1] < days[2]


def read_until(proc, text: str, timeout: float = 30) -> str:
    """Read the process's output until `text` appears (prompts end without a newline)."""
    import select

    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while text not in proc.pending:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {text!r}; got {proc.pending[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536).decode()
            assert chunk, f"process ended before {text!r}; got {proc.pending[-500:]!r}"
            proc.pending += chunk
    seen, proc.pending = proc.pending.split(text, 1)
    return seen


def count_reviews(db):
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("k", [1, 3, 7])
def test_sigkill_after_k_answers_keeps_exactly_k(tmp_path, k):
    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(write(tmp_path, BASIC))).returncode == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SRS_NOW": "2026-02-01T09:00:00Z"}
    proc = subprocess.Popen([sys.executable, "-m", "srs", "--db", str(db), "review"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    proc.pending = ""
    try:
        seen = 0

        def wait_for(text):
            return read_until(proc, text)

        wait_for("Enter shows the answer")
        for _ in range(k):
            proc.stdin.write("\n")  # reveal
            proc.stdin.flush()
            wait_for("Rate 1-4")
            proc.stdin.write("3\n")
            proc.stdin.flush()
            wait_for("Enter shows the answer")  # the next card is on screen: the answer is acknowledged
            seen += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert count_reviews(db) == seen == k
