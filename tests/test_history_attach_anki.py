"""A review log keyed by an Anki package's card ids (as the FSRS tools write it) makes history-only cards;
importing the package later attaches its content to them (issue 15 point 9), each card with its own
sibling number (a cloze c2, a reversed card), and leaves no history-only card behind."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

from conftest import Cli

NOW = "2024-03-01T10:00:00+00:00"


def make_package(tmp_path: Path) -> tuple[Path, dict[tuple[str, int], int]]:
    """A genanki package with a basic-and-reversed note and a cloze note of two deletions; and
    {(first field, ord): Anki card id} of its four cards."""
    import genanki

    deck = genanki.Deck(2059400111, "Attached")
    deck.add_note(genanki.Note(model=genanki.BASIC_AND_REVERSED_CARD_MODEL,
                               fields=["Capital of France", 'Paris <img src="paris.png">']))
    deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=["{{c1::Rome}} is the capital of {{c2::Italy}}", ""]))
    path = tmp_path / "attached.apkg"
    image = tmp_path / "paris.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    package = genanki.Package(deck)
    package.media_files = [str(image)]
    package.write_to_file(str(path))
    collection = tmp_path / "collection.anki2"
    with zipfile.ZipFile(path) as package:
        collection.write_bytes(package.read("collection.anki2"))
    conn = sqlite3.connect(collection)
    ids = {(flds.split("\x1f")[0], ord_): cid for cid, ord_, flds in conn.execute(
        "SELECT c.id, c.ord, n.flds FROM cards c JOIN notes n ON n.id = c.nid")}
    conn.close()
    assert len(ids) == 4
    return path, ids


def test_a_package_attaches_the_history_only_cards_of_a_log_keyed_by_its_card_ids(tmp_path, cli):
    package, ids = make_package(tmp_path)
    rows = []
    for number, cid in enumerate(sorted(ids.values())):
        rows += [f"{cid},3,2024-01-0{1 + number}T10:00:00Z,5000", f"{cid},3,2024-01-1{1 + number}T10:00:00Z,4000"]
    log = tmp_path / "revlog.csv"
    log.write_text("card_id,review_rating,review_time,review_duration\n" + "\n".join(rows) + "\n")
    cli("import-history", str(log))
    assert cli.json("stats", now=NOW)["states"]["history_only"] == 4

    out = cli("import", str(package), now=NOW).stdout
    assert "4 given to the history a review log brought" in out, out
    conn = sqlite3.connect(cli.db)
    assert conn.execute("SELECT count(*) FROM cards WHERE retired = 2").fetchone()[0] == 0  # no orphans
    assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == 4  # attached, not added beside
    cards = {c["id"]: c for c in cli.json("cards", now=NOW)}
    assert len(cards) == 4 and all(c["reps"] == 2 for c in cards.values()), cards
    fresh = Cli(tmp_path / "fresh.db")
    fresh("import", str(package), now=NOW)  # the same package into a database without the log
    columns = "source_id, kind, question, answer, ord, images, hint, typed_answer, tags"
    expected = sorted(sqlite3.connect(fresh.db).execute(f"SELECT {columns} FROM cards").fetchall())
    assert sorted(conn.execute(f"SELECT {columns} FROM cards").fetchall()) == expected
    asked = {c["question"] for c in fresh.json("cards", now=NOW)}
    assert {c["question"] for c in cards.values()} == asked  # each card asks what it asks when imported alone
    for card_id in cards:
        assert len(cli.json("card", str(card_id), now=NOW)["history"]) == 2
    stats = cli.json("stats", now=NOW)
    assert stats["states"]["history_only"] == 0 and stats["states"]["total"] == 4

    cli("import", str(package), now=NOW)  # the package again: the same four cards, nothing added
    assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == 4
    assert conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 8


def test_the_log_again_after_the_package_adds_nothing(tmp_path, cli):
    """Its cards are known by their note guids now: their answers, already there, are not brought back as
    history-only cards beside them."""
    package, ids = make_package(tmp_path)
    log = tmp_path / "revlog.csv"
    log.write_text("card_id,review_rating,review_time,review_duration\n" + "".join(
        f"{cid},3,2024-01-0{1 + number}T10:00:00.123Z,5000\n" for number, cid in enumerate(sorted(ids.values()))))
    cli("import-history", str(log))
    cli("import", str(package), now=NOW)
    conn = sqlite3.connect(cli.db)
    before = conn.execute("SELECT count(*), (SELECT count(*) FROM reviews) FROM cards").fetchone()
    assert before == (4, 4)
    cli("import-history", str(log))
    assert conn.execute("SELECT count(*), (SELECT count(*) FROM reviews) FROM cards").fetchone() == before
    assert cli.json("stats", now=NOW)["states"]["history_only"] == 0
    # a log that also names a new card: that one comes, as history-only
    log.write_text(log.read_text() + "77,3,2024-01-09T10:00:00Z,5000\n")
    cli("import-history", str(log))
    assert conn.execute("SELECT count(*), (SELECT count(*) FROM reviews) FROM cards").fetchone() == (5, 5)
