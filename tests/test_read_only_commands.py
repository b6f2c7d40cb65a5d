"""Commands that only read (status, cards, log, card, stats) never wait for another program's write
lock, never say they are waiting to save, and work on a database file that cannot be written: the
writes they may do on the way (unburying cards whose day is over, the stats cache) are opportunistic."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_srs

DECK = "# Basic\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(5))
DAY1 = "2026-03-02T10:00:00+00:00"
DAY3 = "2026-03-04T10:00:00+00:00"
READS = [("status",), ("cards",), ("log",), ("card", "1"), ("stats",)]


@pytest.fixture
def db(tmp_path) -> Path:
    """A database with one answer and card 2 buried on DAY1 (its day is over on DAY3)."""
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    assert run_srs("--db", str(db), "import", str(deck), env={"SRS_NOW": DAY1}).returncode == 0
    result = run_srs("--db", str(db), "review", input="\n3\nq\n", env={"SRS_NOW": DAY1})
    assert result.returncode == 0, result.stderr
    assert run_srs("--db", str(db), "bury", "2", env={"SRS_NOW": DAY1}).returncode == 0
    assert sqlite3.connect(db).execute("SELECT suspended FROM card_state WHERE card_id = 2").fetchone()[0] == 2
    return db


def buried(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT suspended FROM card_state WHERE card_id = 2").fetchone()[0]


@pytest.mark.parametrize("args", READS, ids=lambda a: a[0])
def test_a_read_only_command_does_not_wait_for_a_held_write_lock(db, args):
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock for as long as it likes
        holder.execute("UPDATE settings SET value = value")
        started = time.monotonic()
        try:
            result = run_srs("--db", str(db), *args, env={"SRS_NOW": DAY3}, timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"srs {' '.join(args)} waited for the write lock")
        assert result.returncode == 0, result.stderr
        assert "waiting" not in result.stderr and "saved" not in result.stderr, result.stderr
        assert time.monotonic() - started < 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert buried(db) == 2  # skipped while busy ...
    assert run_srs("--db", str(db), "status", env={"SRS_NOW": DAY3}).returncode == 0
    assert buried(db) == 0  # ... and done by the next command that finds the lock free


def test_a_write_command_unburies_once_the_lock_is_free(db):
    """A review opened while another program held the lock sees the unburied card all the same."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE settings SET value = value")
    proc = subprocess.Popen([sys.executable, "-m", "srs", "--db", str(db), "bury", "3"],
                            env={**os.environ, "SRS_NOW": DAY3}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(2)
    assert proc.poll() is None  # a write command waits, saying so
    holder.execute("ROLLBACK")
    holder.close()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "waiting" in err, err
    assert buried(db) == 0


def test_a_read_only_database_file_still_shows_status_cards_and_stats(db):
    """The file made immutable (`chattr +i`: read-only even for root, whom a chmod does not stop)."""
    import shutil

    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)]).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        for args in READS:
            result = run_srs("--db", str(db), *args, env={"SRS_NOW": DAY3}, timeout=30)
            assert result.returncode == 0, (args, result.stderr)
            assert result.stderr == "", result.stderr
        assert buried(db) == 2
        result = run_srs("--db", str(db), "bury", "3", env={"SRS_NOW": DAY3}, timeout=30)
        assert result.returncode == 1 and "read-only" in result.stderr, result.stderr
    finally:
        subprocess.run(["chattr", "-i", str(db)])
