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
    (tmp_path / "ok.md").write_text(DECK)
    assert run_srs("--db", db, "import", str(tmp_path / "ok.md")).returncode == 0
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


def test_changing_a_card_between_basic_and_choice_updates_its_kind(cli, tmp_path):
    deck = tmp_path / "k.md"
    deck.write_text("# K\n\n## Which is right?\nthe answer\n")
    cli("import", str(deck))
    deck.write_text("# K\n\n## Which is right?\n- [ ] this\n- [ ] that\n")
    cli("import", str(deck))
    (card,) = cli.json("cards")
    assert card["kind"] == "choice" and card["options"] == ["this", "that"] and card["answer"] is None
    assert cli.json("status")["decks"][0]["unkeyed"] == 1


def test_renamed_deck_stays_one_deck_whatever_the_path_spelling(cli, tmp_path, monkeypatch):
    deck = tmp_path / "d.md"
    deck.write_text("# Old name\n\n## Q?\nA\n")
    monkeypatch.chdir(tmp_path)
    cli("import", "d.md")
    deck.write_text("# New name\n\n## Q?\nA\n")
    cli("import", str(deck))
    assert [d["deck"] for d in cli.json("status")["decks"]] == ["New name"]


def test_suspend_is_all_or_nothing_and_write_deck_waits_for_the_store(cli, tmp_path):
    deck = tmp_path / "d.md"
    deck.write_text(DECK)
    cli("import", str(deck))
    result = run_srs("--db", str(cli.db), "suspend", "1", "999")
    assert result.returncode == 1 and "no card with id 999" in result.stderr
    assert not any(c["suspended"] for c in cli.json("cards"))
    from conftest import HERE

    result = run_srs("--db", str(cli.db), "import", str(HERE / "lessons" / "seed.txt"), "--write-deck",
                     str(tmp_path / "missing-folder" / "out.md"))
    assert result.returncode == 1 and "no such folder" in result.stderr
    assert "AI Engineer" not in " ".join(d["deck"] for d in cli.json("status")["decks"])
    other = tmp_path / "not-srs.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)")
    result = run_srs("--db", str(other), "import", str(HERE / "lessons" / "seed.txt"), "--write-deck",
                     str(tmp_path / "w.md"))
    assert result.returncode == 1 and not (tmp_path / "w.md").exists()


def test_read_only_commands_do_not_create_a_database(tmp_path):
    for command in ("status", "cards", "log", "review", "stats"):
        result = run_srs("--db", str(tmp_path / "nowhere" / "srs.db"), command)
        assert result.returncode == 1 and "no database at" in result.stderr, command
    assert not (tmp_path / "nowhere").exists()
