"""Nothing lost, nothing let in: killed processes, two sessions at once, upgrades, time oddities."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataclasses import replace

from conftest import HERE, run_srs
from srs import scheduling
from srs.migrations import LATEST
from srs.store import Store

FIXTURES = HERE / "fixtures"
BASIC = "# Basic\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(40))


def integrity(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn


def start(db: Path, *args: str, now: str = "2026-02-01T09:00:00Z", **env) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "srs", "--db", str(db), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "SRS_NOW": now, **env})
    proc.pending = b""
    return proc


def read_until(proc: subprocess.Popen, text: str, timeout: float = 30) -> str:
    import select

    wanted = text.encode()
    deadline = time.monotonic() + timeout
    while wanted not in proc.pending:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {text!r}: {proc.pending[-400:]!r}"
        if select.select([proc.stdout], [], [], left)[0]:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"ended before {text!r}: {proc.pending[-400:]!r}"
            proc.pending += chunk
    seen, proc.pending = proc.pending.split(wanted, 1)
    return seen.decode()


def send(proc: subprocess.Popen, line: str) -> None:
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()


def imported(tmp_path, text=BASIC) -> Path:
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text(text)
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    return db


# -- crashes -----------------------------------------------------------------------------


def test_sigkill_at_random_moments_of_review(tmp_path):
    db = imported(tmp_path)
    rng = random.Random(1)
    acknowledged = 0
    kills = 0
    for round_ in range(12):
        proc = start(db, "review", now=f"2026-02-{1 + round_:02d}T09:00:00Z")
        try:
            read_until(proc, "Enter shows the answer")
            for _ in range(rng.randint(0, 5)):
                send(proc, "")
                read_until(proc, "Rate 1-4")
                send(proc, "4")
                read_until(proc, "Enter shows the answer")
                acknowledged += 1
            send(proc, "")
            read_until(proc, "Rate 1-4")
            send(proc, "4")  # this answer may or may not be committed when the kill lands
            time.sleep(rng.random() * 0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        finally:
            proc.kill()
        conn = integrity(db)
        rows = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
        assert acknowledged <= rows <= acknowledged + 1
        acknowledged = rows  # the unacknowledged one, if it landed, is now part of the history
        # every review row matches its card's state: no half-written answer
        assert conn.execute("SELECT count(*) FROM card_state s WHERE reps != "
                            "(SELECT count(*) FROM reviews r WHERE r.card_id = s.card_id)").fetchone()[0] == 0
        conn.close()
    assert kills == 12


def test_sigkill_during_import_leaves_all_or_nothing(tmp_path):
    big = "# Big\n\n" + "".join(f"## Big question {i}?\n- [ ] no {i}\n- [x] yes {i}\n\n" for i in range(3000))
    deck = tmp_path / "big.md"
    deck.write_text(big)
    rng = random.Random(2)
    outcomes = set()
    for round_ in range(10):
        db = tmp_path / f"import-{round_}.db"
        proc = start(db, "import", str(deck))
        time.sleep(0.2 + rng.random() * 1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if not db.exists():
            outcomes.add("nothing")
            continue
        conn = integrity(db)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "cards" not in tables:
            outcomes.add("no schema yet")
            continue
        cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        states = conn.execute("SELECT count(*) FROM card_state").fetchone()[0]
        decks = conn.execute("SELECT count(*) FROM decks").fetchone()[0]
        assert (decks, cards, states) in ((0, 0, 0), (1, 3000, 3000))
        outcomes.add("complete" if cards else "empty")
        conn.close()
    assert outcomes  # several phases were hit; whichever, never a partial deck


def test_sigkill_during_key_entry(tmp_path):
    deck = "# Keys\n\n" + "".join(f"## Unkeyed {i}?\n- [ ] a{i}\n- [ ] b{i}\n\n" for i in range(10))
    db = imported(tmp_path, deck)
    proc = start(db, "key")
    given = 0
    for _ in range(4):
        read_until(proc, "Right option")
        send(proc, "b")
        given += 1
    read_until(proc, "Right option")  # the 4th key is acknowledged by the next question
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    conn = integrity(db)
    assert conn.execute("SELECT count(*) FROM cards WHERE answer IS NOT NULL").fetchone()[0] == given


# -- two sessions at once ------------------------------------------------------------------


def test_two_sessions_at_once_lose_nothing(tmp_path):
    db = imported(tmp_path)
    a, b = start(db, "review"), start(db, "review")
    answered_ok = 0
    conflicts = 0
    try:
        for proc in (a, b):
            read_until(proc, "Enter shows the answer")
        for turn in range(20):
            proc = (a, b)[turn % 2]
            send(proc, "")
            read_until(proc, "Rate 1-4")
            send(proc, "4")  # Easy: the card leaves today's queue
            seen = read_until(proc, "Enter shows the answer")
            if "answered in another session" in seen:
                conflicts += 1
            else:
                answered_ok += 1
        send(a, "q")
        send(b, "q")
        assert a.wait(10) == 0 and b.wait(10) == 0
    finally:
        a.kill()
        b.kill()
    conn = integrity(db)
    rows = conn.execute("SELECT card_id, count(*) FROM reviews GROUP BY card_id").fetchall()
    assert sum(n for _, n in rows) == answered_ok
    assert all(n == 1 for _, n in rows)  # a card answered in one session was not answered again in the other
    assert answered_ok >= 10


# -- upgrades and foreign files ------------------------------------------------------------


def fixture_versions() -> list[int]:
    return sorted(int(p.stem.split("-v")[1]) for p in FIXTURES.glob("schema-v*.db"))


def test_a_fixture_exists_for_every_earlier_version():
    assert fixture_versions() == list(range(1, LATEST))


# what no migration may change: the cards, the history as answered, and each card's place and flags
HISTORY = "SELECT id, card_id, reviewed_at, rating, duration_ms, choice, correct, source FROM reviews ORDER BY id"
PLACES = "SELECT card_id, deck_id, position, retired, suspended, reps, lapses FROM card_state ORDER BY card_id"


@pytest.mark.parametrize("version", fixture_versions())
def test_every_earlier_version_migrates_with_data_intact(tmp_path, version):
    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / f"schema-v{version}.db", db)
    before = sqlite3.connect(db)
    cards = before.execute("SELECT * FROM cards ORDER BY id").fetchall()
    states = before.execute("SELECT * FROM card_state ORDER BY card_id").fetchall()
    reviews = before.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    history, places = before.execute(HISTORY).fetchall(), before.execute(PLACES).fetchall()
    assert sum(row[4] for row in places) > 0 and sum(row[5] > 0 for row in places) > 0  # suspended and studied
    before.close()
    result = run_srs("--db", str(db), "status", "--json")
    assert result.returncode == 0, result.stderr
    backup = tmp_path / f"old.db.v{version}.bak"
    assert backup.exists()
    check = sqlite3.connect(backup)
    assert check.execute("PRAGMA user_version").fetchone()[0] == version
    assert check.execute("SELECT * FROM reviews ORDER BY id").fetchall() == reviews
    check.close()
    after = integrity(db)
    assert after.execute("PRAGMA user_version").fetchone()[0] == LATEST

    def kept(table: str, order: str, rows: list) -> list:  # the columns the old version had (later ones are added)
        width = len(rows[0]) if rows else 0
        return [row[:width] for row in after.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()]

    assert kept("cards", "id", cards) == cards
    assert after.execute(HISTORY).fetchall() == history
    assert after.execute(PLACES).fetchall() == places
    # migration 6 recomputed every studied card's state from its log with the learner-day scheduling:
    # the state is the replay's, and each review row's prev_* state and due_after are the replay's rows
    migrated_states = kept("card_state", "card_id", states)
    migrated_reviews = kept("reviews", "id", reviews)
    assert len(migrated_reviews) == len(reviews)
    after.close()
    if version >= 6:  # made with the learner-day schedule (and the load balancer, which a replay cannot know of)
        assert migrated_states == states and migrated_reviews == reviews
    else:
        assert migrated_states != states
        _assert_states_are_the_replay(db)
    # and it keeps working: a review after the upgrade
    assert run_srs("--db", str(db), "review", input="a\n\nq\n",
                   env={"SRS_NOW": "2026-03-01T10:00:00Z"}).returncode == 0


def _assert_states_are_the_replay(db) -> None:
    store = Store(db)
    changed = 0
    for card in store.cards(include_retired=True, with_reviews=True):
        if not card.reviews:
            assert card.progress.state == "new"
            continue
        rows, progress = scheduling.replay(card.id, card.reviews, store.deck_settings(card.deck_id))
        assert card.progress == replace(progress, suspended=card.progress.suspended)
        logged = store.conn.execute(
            "SELECT kind, due_after, prev_state, prev_step, prev_stability, prev_difficulty, prev_due, "
            "prev_last_review, prev_reps, prev_lapses FROM reviews WHERE card_id = ? ORDER BY reviewed_at, id",
            (card.id,)).fetchall()
        assert logged == [(row[3], row[7], *row[9:]) for row in rows]
        changed += 1
    store.close()
    assert changed > 0


def test_sigkill_during_migration_leaves_a_whole_version(tmp_path):
    """Kill `srs status` while it migrates a v1 database: each migration is all or nothing."""
    rng = random.Random(3)
    versions = set()
    with sqlite3.connect(FIXTURES / "schema-v1.db") as original:
        reviews = original.execute(HISTORY).fetchall()
    for round_ in range(20):
        db = tmp_path / f"old-{round_}.db"
        shutil.copy(FIXTURES / "schema-v1.db", db)
        proc = start(db, "status", SRS_SLOW_MIGRATIONS="0.05")
        time.sleep(0.05 + rng.random() * 0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        conn = integrity(db)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        applied = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert applied == version  # the recorded migrations are exactly the ones applied
        assert conn.execute(HISTORY).fetchall() == reviews
        versions.add(version)
        conn.close()
        assert run_srs("--db", str(db), "status").returncode == 0  # and the next run finishes the upgrade
        assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert versions
    print("versions seen after kills:", sorted(versions))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_database_is_refused_and_untouched(tmp_path):
    db = imported(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    before = digest(db)
    result = run_srs("--db", str(db), "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"srs: error: {db}: made by a newer srs (schema version {LATEST + 1}; this srs "
                                     f"knows up to {LATEST}); upgrade srs to open it")
    assert digest(db) == before and not list(tmp_path.glob("*.bak"))


@pytest.mark.parametrize("content, words", [
    (b"hello, this is not a database at all" * 100, "not an srs database (not an SQLite file at all)"),
    (None, "not an srs database"),
    ("truncated", "srs"),
])
def test_foreign_or_corrupt_files_are_refused(tmp_path, content, words):
    db = tmp_path / "file.db"
    if content is None:
        other = sqlite3.connect(db)
        other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        other.commit()
        other.close()
    elif content == "truncated":
        good = imported(tmp_path)
        sqlite3.connect(good).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = good.read_bytes()
        db.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 100)
    else:
        db.write_bytes(content)
    before = digest(db)
    result = run_srs("--db", str(db), "status")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert digest(db) == before


# -- time --------------------------------------------------------------------------------


@pytest.mark.parametrize("zone, moments", [
    # spring forward and fall back in New York, with the day boundary (4 a.m.) near the change
    ("America/New_York", ["2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T08:00:00Z",
                          "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T09:00:00Z"]),
    # a zone change between sessions, and the clock moving backwards
    ("Asia/Tokyo", ["2026-05-01T10:00:00Z", "2026-04-30T10:00:00Z", "2026-05-03T10:00:00Z"]),
    ("Pacific/Kiritimati", ["2026-05-01T10:00:00Z", "2080-05-01T10:00:00Z", "2026-05-02T10:00:00Z"]),
])
def test_time_oddities_stay_sane(tmp_path, zone, moments):
    db = imported(tmp_path)
    zones = [zone, "UTC", "America/Los_Angeles"]
    for i, moment in enumerate(moments):
        env = {"SRS_NOW": moment, "TZ": zones[i % 3]}
        run = run_srs("--db", str(db), "review", input="a\n3\n" * 30, env=env)
        assert run.returncode == 0 and "Traceback" not in run.stdout + run.stderr, run.stderr
        status = run_srs("--db", str(db), "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
    conn = integrity(db)
    # per card, answers are in time order even when the clock went backwards
    for (card_id,) in conn.execute("SELECT DISTINCT card_id FROM reviews"):
        times = [r[0] for r in conn.execute("SELECT reviewed_at FROM reviews WHERE card_id = ? ORDER BY id",
                                            (card_id,))]
        assert times == sorted(times)
    assert conn.execute("SELECT count(*) FROM card_state WHERE state > 0 AND (stability <= 0 OR difficulty < 1 "
                        "OR difficulty > 10 OR due IS NULL)").fetchone()[0] == 0
    # the day limit held in every learner day, whatever the zone
    assert conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM reviews WHERE prev_state = 0 "
                        "GROUP BY substr(reviewed_at, 1, 10))").fetchone()[0] <= 2 * 20


def test_stats_index_in_the_migration_is_the_one_stats_reads():
    from srs.migrations import apply
    from srs.stats import STATS_INDEX, WRONG_CHOICES_INDEX

    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply(conn)
    sql = {row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert STATS_INDEX in sql and WRONG_CHOICES_INDEX in sql


def test_a_database_migrated_on_opening_keeps_its_connection_s_locks(tmp_path):
    """Opening a database that needs migrating (every new one) must not drop the SQLite locks of this
    process: the migration lock once opened and closed the database file itself, and closing any
    descriptor of a file drops all the POSIX locks a process holds on it. Another srs closing then took
    the database for unused, checkpointed it and deleted its WAL and shared memory under this
    connection (in the test suite, a later connection of the process then read the database as
    damaged)."""
    from datetime import datetime, timezone

    from srs.model import CardSpec, DeckSpec

    db = tmp_path / "srs.db"
    store = Store(db)  # created and migrated, kept open (as a review session keeps it)
    try:
        for command in ("status", "stats"):  # other srs commands open and close it
            assert run_srs("--db", str(db), command).returncode == 0
            assert Path(f"{db}-wal").exists(), command  # they saw this connection, and left the WAL in place
        second = Store(db)  # and another connection of this process reads it whole
        try:
            assert second.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            second.close()
        store.sync_decks([DeckSpec(name="Kept", cards=[CardSpec(question="Still here?", answer="yes")])],
                         datetime(2026, 11, 2, 10, tzinfo=timezone.utc))
        assert store.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        store.close()
    result = run_srs("--db", str(db), "cards", "--json", env={"SRS_NOW": "2026-11-02T11:00:00+00:00"})
    assert [card["question"] for card in __import__("json").loads(result.stdout)] == ["Still here?"]
