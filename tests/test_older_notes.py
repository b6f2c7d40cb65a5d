"""An older Anki note never replaces a newer one (review 2, defect 5): Anki's importer updates a note
only when the incoming one is newer (note `mod`), so an old backup imported after a newer one changes
no text; srs keeps each note's modification time and does the same. The `anki` library is the reference."""

from __future__ import annotations

import json
import sqlite3

import pytest

from test_card_identity import NOW, live, package

anki = pytest.importorskip("anki")
from test_anki import anki_import, col  # noqa: E402,F401

NEWER, OLDER = 1566219277, 1556045489  # the note's mod in the 2021 and the 2019 backups the review compared


def notes(path) -> dict[str, list[str]]:
    return {guid: json.loads(fields) for guid, fields in sqlite3.connect(path).execute("SELECT guid, fields FROM notes")}


def test_an_older_backup_after_a_newer_one_keeps_the_newer_text(tmp_path, cli, col):  # noqa: F811
    new = package(tmp_path / "backup-2021.apkg", {"EBNF": [
        ("g-chomsky", "The power of Chomsky's type 2?", "context-free grammars, the application of a rule"),
        ("g-bnf", "BNF?", "Backus-Naur form")]}, timestamp=NEWER)
    old = package(tmp_path / "backup-2019.apkg", {"EBNF": [
        ("g-chomsky", "The power of Chomsky's type 2?", "context-free grammars"),
        ("g-bnf", "BNF?", "Backus-Naur form"), ("g-old", "Only in 2019?", "yes")]}, timestamp=OLDER)
    cli("import", "--with-progress", str(new), now=NOW)
    ids = {q: c["id"] for q, c in live(cli).items()}
    out = cli("import", "--with-progress", str(old), now=NOW).stdout
    assert "EBNF: 1 added, 0 updated, 2 unchanged, 0 retired" in out, out
    cards = live(cli)
    assert cards["The power of Chomsky's type 2?"]["answer"] == "context-free grammars, the application of a rule"
    assert {q: cards[q]["id"] for q in ids} == ids
    for path in (new, old):  # Anki, the same two imports in the same order
        anki_import(col, path)
    reference = {guid: flds.split("\x1f") for guid, flds in col.db.execute("SELECT guid, flds FROM notes")}
    assert notes(cli.db) == reference, (notes(cli.db), reference)
    newer = package(tmp_path / "backup-2022.apkg", {"EBNF": [  # a newer note than the stored one is taken
        ("g-chomsky", "The power of Chomsky's type 2?", "type 2 grammars")]}, timestamp=NEWER + 1)
    out = cli("import", str(newer), now=NOW).stdout
    assert "EBNF: 0 added, 1 updated, 0 unchanged" in out, out
    assert live(cli)["The power of Chomsky's type 2?"]["answer"] == "type 2 grammars"
    anki_import(col, newer)
    reference = {guid: flds.split("\x1f") for guid, flds in col.db.execute("SELECT guid, flds FROM notes")}
    assert notes(cli.db) == reference
