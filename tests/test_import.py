"""Importing decks: idempotence, identity across edits, retiring, and errors that write nothing."""

from __future__ import annotations

import sqlite3

from conftest import run_srs

DECK = """# Capitals

## What is the capital of France?
Paris

## What is the capital of Italy?
Rome

## Which city is the capital of Spain?
- [ ] Barcelona
- [x] Madrid
- [ ] Seville
"""


def ids_by_question(cli):
    return {c["question"]: c["id"] for c in cli.json("cards")}


def test_reimport_unchanged_changes_nothing(cli, tmp_path):
    deck = tmp_path / "capitals.md"
    deck.write_text(DECK)
    first = cli("import", str(deck))
    assert "3 added, 0 updated, 0 unchanged, 0 retired" in first.stdout
    before = cli.json("cards")
    again = cli("import", str(deck))
    assert "0 added, 0 updated, 3 unchanged, 0 retired" in again.stdout
    assert cli.json("cards") == before


def test_editing_keeps_identity_and_history_removing_retires(cli, tmp_path):
    deck = tmp_path / "capitals.md"
    deck.write_text(DECK)
    cli("import", str(deck))
    ids = ids_by_question(cli)
    cli("review", input="a\n\n" * 3 + "q\n", now="2026-01-05T10:00:00Z")
    reviewed = {r["card_id"] for r in cli.json("log")}
    assert reviewed == set(ids.values())
    # fix a typo in a question, change an answer, reorder, drop a card
    edited = DECK.replace("capital of France?", "capitol of France?").replace("Rome", "Roma")
    edited = edited.replace("## Which city is the capital of Spain?\n- [ ] Barcelona\n- [x] Madrid\n- [ ] Seville\n", "")
    edited = edited.replace("# Capitals\n", "# Capitals\n\n## What is the capital of Peru?\nLima\n")
    deck.write_text(edited)
    result = cli("import", str(deck))
    assert "1 added, 2 updated, 0 unchanged, 1 retired" in result.stdout
    now_ids = ids_by_question(cli)
    assert now_ids["What is the capitol of France?"] == ids["What is the capital of France?"]
    assert now_ids["What is the capital of Italy?"] == ids["What is the capital of Italy?"]
    assert "Which city is the capital of Spain?" not in now_ids
    log = cli.json("log")
    assert {r["card_id"] for r in log} == reviewed  # history of every card kept, retired one included
    cards = {c["id"]: c for c in cli.json("cards")}
    assert cards[ids["What is the capital of Italy?"]]["answer"] == "Roma"
    assert cards[ids["What is the capital of Italy?"]]["reps"] == 1
    # putting the card back brings back the same card
    deck.write_text(DECK)
    result = cli("import", str(deck))
    assert ids_by_question(cli)["Which city is the capital of Spain?"] == ids["Which city is the capital of Spain?"]


def test_malformed_file_in_folder_writes_nothing(tmp_path):
    folder = tmp_path / "decks"
    folder.mkdir()
    (folder / "a-good.md").write_text(DECK)
    (folder / "b-bad.md").write_text("# Bad\n\n## Q\n- [x] one\n- [x] two\n")
    (folder / "picture.png").write_bytes(b"\x89PNG")
    db = tmp_path / "srs.db"
    result = run_srs("--db", str(db), "import", str(folder))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"srs: error: {folder / 'b-bad.md'}:5: a second [x]: a choice card has one "
                                     "correct option (first at line 4)")
    assert "Traceback" not in result.stderr + result.stdout
    assert not db.exists()  # parsing happens before the database is even opened


def test_nothing_half_written_on_error_with_existing_db(tmp_path):
    db = tmp_path / "srs.db"
    good = tmp_path / "good.md"
    good.write_text(DECK)
    assert run_srs("--db", str(db), "import", str(good)).returncode == 0
    bad = tmp_path / "latin.md"
    bad.write_bytes(b"# L\n\n## Caf\xe9\nx\n")
    other = tmp_path / "other.md"
    other.write_text("# Other\n\n## Q?\nA\n")
    result = run_srs("--db", str(db), "import", str(other), str(bad))
    assert result.returncode == 1 and f"{bad}:3: not UTF-8" in result.stderr
    names = [r[0] for r in sqlite3.connect(db).execute("SELECT name FROM decks")]
    assert names == ["Capitals"]


def test_bad_input_gets_one_line_and_nonzero_exit(tmp_path):
    db = str(tmp_path / "srs.db")
    cases = [
        (["--db", db, "import", str(tmp_path / "missing.md")], "no such file or folder"),
        (["--db", db, "import", "--frobnicate", "x"], "No such option: --frobnicate"),
        (["--db", db, "review", "No such deck"], "no deck named 'No such deck'"),
        (["--db", db, "nosuchcommand"], "No such command"),
        (["--db", db, "config", "new_per_day", "lots"], "bad value 'lots' for new_per_day"),
    ]
    for args, words in cases:
        result = run_srs(*args)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and lines[0].startswith("srs: error:"), (args, result.stderr)


def test_lesson_and_its_deck_file_land_on_the_same_cards(cli, tmp_path):
    from conftest import HERE

    lesson = HERE / "lessons" / "seed.txt"
    written = tmp_path / "seed-deck.md"
    result = cli("import", str(lesson), "--write-deck", str(written))
    assert "10 added" in result.stdout and "5 keyed, 4 unkeyed, 1 free-response" in result.stdout
    ids = ids_by_question(cli)
    result = cli("import", str(written))
    assert "0 added" in result.stdout and "0 retired" in result.stdout
    assert ids_by_question(cli) == ids
    text = written.read_text()
    assert text.count("- [x]") == 5
