"""A source retires only the cards it brought, and one Anki card is one srs card (review report,
defects 1, 2 and 13).

Anki's `Default` deck is in most packages: two packages (or a deck file titled `# Default`) share
that deck, and importing one must never retire the other's cards. Two packages holding the same
notes (two backups of one collection) in different decks give one srs card per Anki card (note
guid and ord), in the deck where it already was. An import report names at most ten retired
cards, each on one line cut to the terminal's width.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

NOW = "2026-11-02T10:00:00+00:00"
RETIRED = "retired (no longer in the source; history kept)"


def package(path: Path, decks: dict[str, list[tuple[str, str, str]]], timestamp: float | None = None) -> Path:
    """A genanki package at `path`: {deck name: [(note guid, front, back)]}, basic notes (modified at
    `timestamp`, Unix seconds: now when None)."""
    import genanki

    out = []
    for number, (name, notes) in enumerate(decks.items()):
        deck = genanki.Deck(2059400200 + number, name)
        for guid, front, back in notes:
            deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=[front, back], guid=guid))
        out.append(deck)
    genanki.Package(out).write_to_file(str(path), timestamp=timestamp)
    return path


def live(cli) -> dict[str, dict]:
    return {card["question"]: card for card in cli.json("cards", now=NOW)}


def test_a_second_package_sharing_the_default_deck_retires_none_of_the_first_ones_cards(tmp_path, cli):
    first = package(tmp_path / "first.apkg", {"Default": [("g-a", "Alpha?", "a"), ("g-b", "Beta?", "b")]})
    second = package(tmp_path / "second.apkg", {"Default": [("g-c", "Gamma?", "c")]})
    cli("import", str(first), now=NOW)
    out = cli("import", str(second), now=NOW).stdout
    assert "Default: 1 added, 0 updated, 0 unchanged, 0 retired" in out, out
    assert set(live(cli)) == {"Alpha?", "Beta?", "Gamma?"}
    out = cli("import", str(first), now=NOW).stdout  # and the first again retires none of the second's
    assert "0 retired" in out and RETIRED not in out, out
    assert set(live(cli)) == {"Alpha?", "Beta?", "Gamma?"}
    package(first, {"Default": [("g-a", "Alpha?", "a")]})  # the first package without Beta
    out = cli("import", str(first), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 1 unchanged, 1 retired" in out and f"{RETIRED}: Beta?" in out, out
    assert set(live(cli)) == {"Alpha?", "Gamma?"}


def test_a_deck_file_and_a_package_share_a_deck_name_and_keep_their_own_cards(tmp_path, cli):
    deck = tmp_path / "m.md"
    deck.write_text("# Default\n\n## my q\nmy a\n\n## other q\nother a\n")
    anki = package(tmp_path / "p.apkg", {"Default": [("g-p", "Package q?", "p")]})
    cli("import", str(deck), now=NOW)
    out = cli("import", str(anki), now=NOW).stdout
    assert "0 retired" in out and RETIRED not in out, out
    out = cli("import", str(deck), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 2 unchanged, 0 retired" in out, out
    assert set(live(cli)) == {"my q", "other q", "Package q?"}
    deck.write_text("# Default\n\n## my q\nmy a\n")  # the deck file retires what was taken out of it, only that
    out = cli("import", str(deck), now=NOW).stdout
    assert "1 retired" in out and f"{RETIRED}: other q" in out, out
    assert set(live(cli)) == {"my q", "Package q?"}


def test_a_package_retires_the_cards_of_a_deck_it_no_longer_has(tmp_path, cli):
    path = tmp_path / "p.apkg"
    package(path, {"Kept": [("g-1", "One?", "1")], "Dropped": [("g-2", "Two?", "2")]})
    cli("import", str(path), now=NOW)
    package(path, {"Kept": [("g-1", "One?", "1")]})
    out = cli("import", str(path), now=NOW).stdout
    assert "Dropped: 0 added, 0 updated, 0 unchanged, 1 retired" in out and f"{RETIRED}: Two?" in out, out
    assert set(live(cli)) == {"One?"}


def test_one_anki_card_is_one_srs_card_whatever_deck_a_second_package_puts_it_in(tmp_path, cli):
    old = package(tmp_path / "backup-2019.apkg", {"computer-programming::EBNF": [
        ("g-chomsky", "The power of Chomsky's type 2?", "context-free"), ("g-bnf", "BNF?", "Backus-Naur form")]})
    new = package(tmp_path / "backup-2021.apkg", {"EBNF": [
        ("g-chomsky", "The power of Chomsky's type 2?", "context-free grammars"),
        ("g-bnf", "BNF?", "Backus-Naur form")]})
    cli("import", str(old), now=NOW)
    ids = {q: c["id"] for q, c in live(cli).items()}
    out = cli("import", str(new), now=NOW).stdout
    assert "EBNF: 0 added, 1 updated, 1 unchanged, 0 retired" in out, out
    assert "2 of them already in another deck (left there)" in out, out
    cards = live(cli)
    assert {q: c["id"] for q, c in cards.items()} == ids  # the same two cards, not two more
    assert {c["deck"] for c in cards.values()} == {"computer-programming::EBNF"}  # their deck left as it is
    assert cards["The power of Chomsky's type 2?"]["answer"] == "context-free grammars"  # the content updated
    assert [d["deck"] for d in cli.json("status", now=NOW)["decks"]] == ["computer-programming::EBNF"]
    out = cli("import", str(old), now=NOW).stdout  # either backup again: still one card each
    assert {q: c["id"] for q, c in live(cli).items()} == ids and "0 retired" in out, out
    out = cli("export", "anki", str(tmp_path / "x.apkg"), now=NOW).stdout
    assert "2 card(s)" in out and "left out" not in out, out


def test_export_names_the_second_srs_cards_of_one_anki_card_it_leaves_out(tmp_path, cli):
    """A database that already has two srs cards for one Anki card (imported before srs kept one card
    per Anki card): the export writes one and names the other, instead of dropping it silently."""
    cli("import", str(package(tmp_path / "p.apkg", {"A": [("g-1", "One?", "1"), ("g-2", "Two?", "2")]})), now=NOW)
    conn = sqlite3.connect(cli.db)
    (twin_of,) = conn.execute("SELECT id FROM cards WHERE question = 'One?'").fetchone()
    twin = twin_of + 100
    for table, key in (("cards", "id"), ("card_state", "card_id"), ("card_notes", "card_id")):
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        values = ", ".join("?" if c == key else c for c in columns)
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table} WHERE {key} = ?",
                     (twin, twin_of))
    conn.commit()
    conn.close()
    assert len(live_ids := [c["id"] for c in cli.json("cards", now=NOW)]) == 3, live_ids
    out = cli("export", "anki", str(tmp_path / "x.apkg"), now=NOW).stdout
    assert "2 card(s)" in out, out
    left = [line for line in out.splitlines() if line.startswith("left out 1 card(s)")]
    assert len(left) == 1 and left[0].endswith(f": {twin}"), out


def test_the_import_report_names_ten_retired_cards_one_line_each(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "p.apkg"
    notes = [(f"g-{n}", f"Question {n}<br>a second line<br>and a third one, long enough to pass the width "
              f"of any terminal there is", str(n)) for n in range(13)]
    package(path, {"Long": notes})
    cli("import", str(path), now=NOW)
    package(path, {"Long": notes[:1]})
    out = cli("import", str(path), now=NOW).stdout
    lines = out.splitlines()
    retired = [line for line in lines if RETIRED in line]
    assert len(retired) == 10 and "  ... and 2 more" in lines, out
    assert all(len(line) <= 80 and line.endswith("…") for line in retired), retired
    assert "12 retired" in out and len(lines) == 12, out


def test_a_v14_database_gives_each_card_its_source(tmp_path):
    """Migration 15 (cards.origin): a v14 database, made by running the migrations up to 14, is upgraded;
    a card of a deck file takes its deck's source; an Anki note's card gets NULL (unknown: a v14 deck keeps
    only its last source, and two packages may have shared it), as does a file's card in a package's deck."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    from srs import migrations
    from srs.store import Store

    db = tmp_path / "v14.db"
    conn = sqlite3.connect(db, isolation_level=None)
    upto = Migrations("srs")
    for fn in migrations.MIGRATIONS[:14]:
        upto(name=fn.__name__)(fn)
    conn.execute(f"PRAGMA application_id = {migrations.APPLICATION_ID}")
    upto.apply(Database(conn))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 14
    stamp = "2026-01-01T00:00:00.000000Z"
    decks = [(1, "Default", "/x/p.apkg#1"), (2, "Mine", "/x/m.md"), (3, "Loose", None)]
    conn.executemany("INSERT INTO decks (id, name, source, created_at) VALUES (?, ?, ?, ?)",
                     [(*deck, stamp) for deck in decks])
    cards = [(1, 1, "anki card"), (2, 1, "deck file card in the package's deck"), (3, 2, "mine"), (4, 3, "loose")]
    conn.executemany("INSERT INTO cards (id, deck_id, position, kind, question, retired, created_at) "
                     "VALUES (?, ?, 0, 'basic', ?, 0, ?)", [(*card, stamp) for card in cards])
    conn.execute("INSERT INTO note_types (id, anki_id, key, name, kind, fields, templates) "
                 "VALUES (1, 1, 'k', 'Basic', 0, '[]', '[]')")
    conn.execute("INSERT INTO notes (id, guid, note_type_id, fields) VALUES (1, 'g', 1, '[]')")
    conn.execute("INSERT INTO card_notes (card_id, note_id, ord) VALUES (1, 1, 0)")
    conn.close()
    shutil.copy(db, tmp_path / "copy.db")
    store = Store(db)
    origins = dict(store.conn.execute("SELECT id, origin FROM cards"))
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST
    store.close()
    assert origins == {1: None, 2: None, 3: "/x/m.md", 4: None}
    assert [row[0] for row in sqlite3.connect(tmp_path / "copy.db").execute("SELECT id FROM cards ORDER BY id")] \
        == [1, 2, 3, 4]


@pytest.mark.parametrize("name", ["maths-personal-2015-2019.apkg"])
def test_real_packages_sharing_default_retire_nothing_of_each_other(tmp_path, cli, name):
    from conftest import real_packages_dir

    folder = real_packages_dir()
    if folder is None or not (folder / name).exists() or not (folder / "sat-math-anki21b.colpkg").exists():
        pytest.skip("real packages not here (SRS_REAL_PACKAGES)")
    cli("import", str(folder / name), now=NOW)
    before = len(cli.json("cards", now=NOW))
    out = cli("import", str(folder / "sat-math-anki21b.colpkg"), now=NOW).stdout
    assert " 0 retired" in out and RETIRED not in out, out
    out = cli("import", str(folder / name), now=NOW).stdout
    assert " 0 retired" in out and RETIRED not in out, out
    assert len(cli.json("cards", now=NOW)) > before


def test_a_moved_deck_file_keeps_its_cards_and_retires_what_it_left_behind(tmp_path, cli):
    """A deck file moved (or renamed) keeps its cards: they are matched by question as before, become
    the new file's, and those it no longer has are retired (their file is gone)."""
    old = tmp_path / "old.md"
    old.write_text("# Moving\n\n## Kept?\nyes\n\n## Dropped?\nno\n")
    cli("import", str(old), now=NOW)
    ids = {q: c["id"] for q, c in live(cli).items()}
    new = tmp_path / "sub" / "new.md"
    new.parent.mkdir()
    new.write_text("# Moving\n\n## Kept?\nyes\n")
    old.unlink()
    out = cli("import", str(new), now=NOW).stdout
    assert "Moving: 0 added, 0 updated, 1 unchanged, 1 retired" in out, out
    assert {q: c["id"] for q, c in live(cli).items()} == {"Kept?": ids["Kept?"]}
    new.write_text("# Moving\n\n## Kept?\nyes\n\n## Dropped?\nno\n")  # putting it back brings it back
    cli("import", str(new), now=NOW)
    assert {q: c["id"] for q, c in live(cli).items()} == ids


def test_sources_sharing_a_deck_name_import_together_in_one_command(tmp_path, cli):
    """Two packages and a deck file that all name `Default`, in one `srs import`: each brings its own
    cards (this was refused as a deck "also defined" in another source), and re-importing them
    together changes nothing."""
    first = package(tmp_path / "first.apkg", {"Default": [("g-a", "Alpha?", "a")]})
    second = package(tmp_path / "second.apkg", {"Default": [("g-c", "Gamma?", "c")]})
    deck = tmp_path / "m.md"
    deck.write_text("# Default\n\n## my q\nmy a\n")
    cli("import", str(first), str(second), str(deck), now=NOW)
    assert set(live(cli)) == {"Alpha?", "Gamma?", "my q"}
    out = cli("import", str(first), str(second), str(deck), now=NOW).stdout
    assert "retired (" not in out and " 0 added" in out, out
    assert set(live(cli)) == {"Alpha?", "Gamma?", "my q"}


def as_v14(db: Path) -> None:
    """Turn a database made by this srs back into what srs 14 left (no cards.origin), for upgrade tests."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP INDEX cards_origin")
    conn.execute("ALTER TABLE cards DROP COLUMN origin")
    conn.execute("ALTER TABLE notes DROP COLUMN mod")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_card_origin'")
    conn.execute("PRAGMA user_version = 14")
    conn.close()


def test_after_the_upgrade_from_v14_the_package_that_brings_a_card_takes_it(tmp_path, cli):
    """Two packages shared `Default` in a v14 database (whose deck kept only the second's source, and whose
    import of the second retired the first's cards). After the upgrade, importing the first brings its
    cards back and makes them its own: importing the second then retires none of them (review 2, defect 4:
    the backfill gave them the second's origin, and the first's import did not take them over)."""
    first = package(tmp_path / "first.apkg", {"Default": [("g-a", "Alpha?", "a"), ("g-b", "Beta?", "b")]})
    second = package(tmp_path / "second.apkg", {"Default": [("g-c", "Gamma?", "c")]})
    cli("import", str(first), str(second), now=NOW)
    conn = sqlite3.connect(cli.db, isolation_level=None)
    for table, key in (("cards", "id"), ("card_state", "card_id")):  # what srs 14's import of the second did
        conn.execute(f"UPDATE {table} SET retired = 1 WHERE {key} IN (SELECT id FROM cards WHERE question != 'Gamma?')")
    conn.close()
    as_v14(Path(cli.db))
    out = cli("import", str(first), now=NOW).stdout
    assert "Default: 0 added, 2 updated, 0 unchanged, 0 retired" in out, out
    assert set(live(cli)) == {"Alpha?", "Beta?", "Gamma?"}
    out = cli("import", str(second), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 1 unchanged, 0 retired" in out and RETIRED not in out, out
    out = cli("import", str(first), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 2 unchanged, 0 retired" in out and RETIRED not in out, out
    assert set(live(cli)) == {"Alpha?", "Beta?", "Gamma?"}
    origins = dict(sqlite3.connect(cli.db).execute("SELECT question, origin FROM cards"))
    assert origins == {"Alpha?": str(first), "Beta?": str(first), "Gamma?": str(second)}, origins


def test_a_package_that_brings_another_packages_card_takes_it_over(tmp_path, cli):
    """Two backups of one collection hold one Anki card: the one imported last owns it, so the other
    dropping it retires nothing (review 2, defect 4: a package's origin was read as a file's, so the card
    stayed the first package's and the first's next import retired it)."""
    first = package(tmp_path / "first.apkg", {"Default": [("g-a", "Alpha?", "a"), ("g-b", "Beta?", "b")]})
    second = package(tmp_path / "second.apkg", {"Default": [("g-a", "Alpha?", "a")]})
    cli("import", str(first), now=NOW)
    out = cli("import", str(second), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 1 unchanged, 0 retired" in out, out
    package(first, {"Default": [("g-b", "Beta?", "b")]})
    out = cli("import", str(first), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 1 unchanged, 0 retired" in out and RETIRED not in out, out
    assert set(live(cli)) == {"Alpha?", "Beta?"}
    origins = dict(sqlite3.connect(cli.db).execute("SELECT question, origin FROM cards"))
    assert origins == {"Alpha?": str(second), "Beta?": str(first)}, origins


def test_a_deck_file_renaming_a_shared_deck_takes_its_cards_and_their_progress(tmp_path, cli):
    """Two deck files share `Shared`; one changes its `# Title`: its cards (their ids and answers) go to the
    deck it names now, the other file's stay (review 2, defect 2: a new card, the old one retired)."""
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("# Shared\n\n## a q\na a\n")
    b.write_text("# Shared\n\n## b q\nb a\n")
    cli("import", str(a), now=NOW)
    cli("review", "Shared", input="\n3\nq\n", now=NOW)
    cli("import", str(b), now=NOW)
    before = live(cli)
    assert before["a q"]["state"] != "new", before
    a.write_text("# OnlyA\n\n## a q\na a\n")
    out = cli("import", str(a), now=NOW).stdout
    assert "OnlyA: 0 added, 0 updated, 1 unchanged, 0 retired" in out and "Shared" not in out, out
    after = live(cli)
    assert {q: (c["id"], c["deck"], c["state"]) for q, c in after.items()} == {
        "a q": (before["a q"]["id"], "OnlyA", before["a q"]["state"]),
        "b q": (before["b q"]["id"], "Shared", "new")}, after
    for path in (b, a):  # each file again: nothing changes
        out = cli("import", str(path), now=NOW).stdout
        assert "0 added, 0 updated, 1 unchanged, 0 retired" in out, out
    assert {q: c["id"] for q, c in live(cli).items()} == {q: c["id"] for q, c in before.items()}


@pytest.mark.parametrize("package_last", [True, False])
def test_a_deck_file_renaming_a_deck_it_shares_with_a_package_takes_only_its_own_cards(tmp_path, cli, package_last):
    """A deck file and a package share `Default`; the file changes its `# Title`: only its cards go to the
    new deck, the package's stay in `Default`, and the package's next import finds them there (review 2,
    defect 3: the deck was renamed with the package's cards, for good)."""
    deck = tmp_path / "m.md"
    deck.write_text("# Default\n\n## my q\nmy a\n\n## second q\nsecond a\n")
    anki = package(tmp_path / "p.apkg", {"Default": [("g-p", "Package q?", "p"), ("g-r", "Other q?", "r")]})
    for path in ((deck, anki) if package_last else (anki, deck)):
        cli("import", str(path), now=NOW)
    ids = {q: c["id"] for q, c in live(cli).items()}
    deck.write_text("# Mine\n\n## my q\nmy a\n\n## second q\nsecond a\n")
    out = cli("import", str(deck), now=NOW).stdout
    assert "Mine: 0 added, 0 updated, 2 unchanged, 0 retired" in out and "Default" not in out, out
    cards = live(cli)
    assert {q: (c["id"], c["deck"]) for q, c in cards.items()} == {
        "my q": (ids["my q"], "Mine"), "second q": (ids["second q"], "Mine"),
        "Package q?": (ids["Package q?"], "Default"), "Other q?": (ids["Other q?"], "Default")}, cards
    out = cli("import", str(anki), now=NOW).stdout
    assert "Default: 0 added, 0 updated, 2 unchanged, 0 retired" in out and "another deck" not in out, out
    out = cli("import", str(deck), now=NOW).stdout
    assert "Mine: 0 added, 0 updated, 2 unchanged, 0 retired" in out, out
    assert {q: c["id"] for q, c in live(cli).items()} == ids


def test_a_package_renaming_a_deck_it_shares_with_a_deck_file_takes_only_its_own_cards(tmp_path, cli):
    """A package and a deck file share `Shared`; the deck is renamed in Anki (same deck id): the package's
    cards go to a new deck of the new name (with the old one's settings), the file's card stays in `Shared`
    with its progress (review 2, defect 1: the file's card went along, and the file's next import retired
    it and made a new one)."""
    deck = tmp_path / "m.md"
    deck.write_text("# Shared\n\n## file q\nfile a\n")
    anki = package(tmp_path / "p.apkg", {"Shared": [("g-p", "Package q?", "p"), ("g-r", "Other q?", "r")]})
    cli("import", str(deck), str(anki), now=NOW)
    cli("config", "Shared", "new_per_day", "7", now=NOW)
    cli("review", "Shared", input="\n3\nq\n", now=NOW)
    before = live(cli)
    package(anki, {"Renamed": [("g-p", "Package q?", "p"), ("g-r", "Other q?", "r")]})  # the same Anki deck id
    out = cli("import", str(anki), now=NOW).stdout
    assert "Renamed: 0 added, 0 updated, 2 unchanged, 0 retired" in out and "another deck" not in out, out
    cards = live(cli)
    assert {q: (c["id"], c["deck"], c["state"]) for q, c in cards.items()} == {
        q: (c["id"], "Shared" if q == "file q" else "Renamed", c["state"]) for q, c in before.items()}, cards
    out = cli("import", str(deck), now=NOW).stdout
    assert "Shared: 0 added, 0 updated, 1 unchanged, 0 retired" in out and RETIRED not in out, out
    out = cli("import", str(anki), now=NOW).stdout
    assert "Renamed: 0 added, 0 updated, 2 unchanged, 0 retired" in out, out
    assert {q: c["id"] for q, c in live(cli).items()} == {q: c["id"] for q, c in before.items()}
    settings = dict(sqlite3.connect(cli.db).execute("SELECT name, settings FROM decks"))
    assert '"new_per_day": 7' in settings["Renamed"] and '"new_per_day": 7' in settings["Shared"], settings


def test_a_card_of_a_shared_deck_is_edited_in_the_file_that_brought_it(tmp_path, cli):
    """The review's edit key opens the card's own deck file, not the deck's last source (here a package
    sharing the deck name), and a package's card is sent to Anki."""
    from srs.session import ReviewSession
    from srs.store import Store

    deck = tmp_path / "m.md"
    deck.write_text("# Default\n\n## my q\nmy a\n")
    anki = package(tmp_path / "p.apkg", {"Default": [("g-p", "Package q?", "p")]})
    cli("import", str(deck), now=NOW)
    cli("import", str(anki), now=NOW)
    cards = live(cli)
    store = Store(cli.db)
    try:
        session = ReviewSession(store)
        mine = session.edit_target(store.card(cards["my q"]["id"]))
        theirs = session.edit_target(store.card(cards["Package q?"]["id"]))
    finally:
        store.close()
    assert mine.path == str(deck.resolve()) and mine.line == 3, mine
    assert theirs.path is None and "in Anki" in theirs.message, theirs
