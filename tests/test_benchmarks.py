"""Smoke test of the benchmark scripts on a tiny collection: they run and print their table.

No timing is asserted (speed is what the scripts report, not what tests check).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(*args: str, timeout: float = 120) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_make_collection_builds_every_kind_of_card(tmp_path):
    db = tmp_path / "bench.db"
    out = _run(str(BENCH / "make_collection.py"), "--cards", "200", "--reviews", "2000", "--db", str(db),
               "--seed", "3")
    assert "reviews: 2000" in out.replace(",", "")
    conn = sqlite3.connect(db)
    try:
        states = {state for (state,) in conn.execute("SELECT DISTINCT state FROM card_state WHERE retired = 0")}
        assert states == {0, 1, 2, 3}  # new, learning, review, relearning
        assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2000
        assert conn.execute("SELECT count(DISTINCT deck_id) FROM cards").fetchone()[0] >= 3
        assert conn.execute("SELECT count(*) FROM cards WHERE retired = 1").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM card_state WHERE suspended = 1").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM cards WHERE kind = 'choice' AND answer IS NULL").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM cards WHERE kind = 'basic'").fetchone()[0] >= 1
        latest = conn.execute("SELECT max(reviewed_at) FROM reviews").fetchone()[0]
        assert latest < "2026-06-01T12:00:00"  # every history ends before the benchmarks' "now"
        # the store computed each card's state from its history: reps match the log
        assert conn.execute("SELECT count(*) FROM card_state s WHERE s.reps != (SELECT count(*) FROM reviews r "
                            "WHERE r.card_id = s.card_id)").fetchone()[0] == 0
    finally:
        conn.close()


def test_run_prints_the_table(tmp_path):
    out = _run(str(BENCH / "run.py"), "--sizes", "200", "--quick", "--runs", "1", "--answers", "50",
               "--deck-cards", "200", "--cache", str(tmp_path / "cache"), "--json")
    table = out.split("\n{", 1)[0]
    script = (Path(sys.executable).parent / "srs").exists() or shutil.which("srs")
    launchers = ["-m", "script"] if script else ["-m"]
    for row in [f"srs {command} [{launcher}]" for command in ("--help", "status") for launcher in launchers]:
        assert row in table, row
    for row in ('python -c "import typer"', "srs stats", "srs cards --json", "srs import (200-card deck)",
                "srs import (unchanged again)", "srs export anki", "srs export anki --with-progress",
                "answer -> next card", "+ remaining() + preview() (as shown)", "make_collection (when cached)",
                "daily reviews, plain fuzz", "daily reviews, load balancer",
                "load balancer: from_store (per session)", "load balancer: pick + add (per answer)",
                "srs import Anki package (in process)", "srs import Anki package, unchanged",
                "srs import Anki package (cold)"):
        assert row in table, row
    for column in ("median", "cpu", "p99", "peak MB", "reference (same run)", "target", "holds"):
        assert column in table
    assert "targets:" in table
    assert "Traceback" not in out
    # a second run reuses the cached collection
    assert list((tmp_path / "cache").glob("collection-200c-2000r-*.db"))


def test_load_balance_prints_its_table(tmp_path):
    out = _run(str(BENCH / "load_balance.py"), "--cards", "200", "--days", "8", "--json")
    table, data = out.rsplit("\n[", 1)
    for column in ("mean", "sd", "max/min", "sd 2nd half", "|change|"):
        assert column in table
    assert "plain fuzz" in table and "load balancer" in table
    variants = __import__("json").loads("[" + data)
    assert [len(v["daily"]) for v in variants] == [8, 8] and all(sum(v["daily"]) > 0 for v in variants)


def test_simulate_learner_prints_its_table():
    out = _run(str(BENCH / "simulate_learner.py"), "--cards", "30", "--days", "12", "--seeds", "0,1",
               "--retentions", "0.9,0.8", "--json")
    table, data = out.rsplit("\n[", 1)
    for column in ("desired", "mean R", "R - desired", "retention", "per seed"):
        assert column in table
    rows = __import__("json").loads("[" + data)
    assert [(r["desired_retention"], r["variant"]) for r in rows] == [
        (0.9, "again/good"), (0.9, "hard/good/easy"), (0.8, "again/good"), (0.8, "hard/good/easy")]
    for row in rows:  # every card came back for review within 12 days: R and retention are figures
        assert row["reviews"] > 0 and 0.5 < row["mean_recall"] <= 1 and 0 <= row["retention"] <= 1
        assert len(row["per_seed"]) == 2


def test_stats_speed_prints_its_table(tmp_path):
    out = _run(str(BENCH / "stats_speed.py"), "--cards", "200", "--runs", "1", "--cache", str(tmp_path / "cache"))
    assert 'python -c "import typer"' in out
    for variant in ("choice cards as built", "no choice cards"):
        assert f"srs stats, first run ({variant}" in out and f"srs stats, cached ({variant})" in out


def _small_package(path: Path) -> Path:
    import genanki

    model = genanki.Model(1_700_000_101, "Floor", fields=[{"name": "Front"}, {"name": "Back"}],
                          templates=[{"name": "Card 1", "qfmt": "<div class=q>{{Front}}</div>",
                                      "afmt": "{{FrontSide}}<hr id=answer><div>{{Back}}</div>"}])
    deck = genanki.Deck(1_700_000_102, "Floor")
    for number in range(20):
        deck.add_note(genanki.Note(model=model, fields=[f"<b>word {number}</b> &amp; more", f"<i>meaning</i> {number}"]))
    genanki.Package(deck).write_to_file(str(path))
    return path


def test_import_floor_prints_each_step(tmp_path):
    out = _run(str(BENCH / "import_floor.py"), str(_small_package(tmp_path / "small.apkg")), "--runs", "1")
    assert "small.apkg: 20 cards" in out
    for step in ("anki import", "open", "render", "text", "store", "srs import", "floor (open+render+text+store)"):
        assert f"  {step} " in out, out
    assert "floor / anki import" in out


def test_anki_db_dump_gives_the_same_hashes_twice(tmp_path):
    folder = tmp_path / "packages"
    folder.mkdir()
    _small_package(folder / "small.apkg")
    runs = [_run(str(BENCH / "anki_db_dump.py"), str(folder), "--work", str(tmp_path / f"work-{n}"),
                 "--full", str(tmp_path / f"full-{n}")) for n in range(2)]
    lines = runs[0].splitlines()
    assert [line.split("\t")[0] for line in lines] == ["small.apkg", "small.apkg-progress"]
    assert runs[0] == runs[1]
    dump = (tmp_path / "full-0" / "small.apkg.txt").read_text()
    assert dump.startswith("exit 0") and "table cards (" in dump and "20 rows" in dump
