"""An Anki parent deck with no cards of its own (only subdecks with cards) and an options preset of its own:
the package brings it as a deck without cards, whose limits bound its subdecks together as in Anki. Checked
against the official `anki` library (test-only): new cards shown per deck, Anki's v3 scheduler vs srs."""

from __future__ import annotations

import sqlite3

import pytest

pytest.importorskip("anki")
from conftest import Cli  # noqa: E402
from test_anki_states import add_cards, export, new_collection  # noqa: E402
from test_parent_decks_anki import _own_preset, anki_tree  # noqa: E402

# deck: (cards, new cards a day); P, R and R::m have no cards of their own
TREE = {"P": (0, 3), "P::a": (4, 10), "P::b": (4, 10), "Q": (2, 5),
        "R": (0, 7), "R::m": (0, 2), "R::m::n": (5, 9), "R::z": (6, 4)}


@pytest.mark.parametrize("legacy", [False, True])
def test_a_parent_without_cards_bounds_its_subdecks_as_in_anki(tmp_path, legacy):
    anki, package = anki_tree(tmp_path, TREE, legacy)
    assert anki["P"] == 3 and anki["R"] == 6 and anki["R::m"] == 2  # the parents' own limits (R: 2 of R::m's + 4)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package))
    ours = {deck: int(cli("review", deck, input="q\n").stdout.split()[2]) for deck in TREE}
    assert ours == anki

    conn = sqlite3.connect(cli.db)
    decks = dict(conn.execute("SELECT name, (SELECT count(*) FROM cards c WHERE c.deck_id = decks.id) FROM decks"))
    assert {name: decks.get(name) for name in ("P", "R", "R::m")} == {"P": 0, "R": 0, "R::m": 0}
    assert "Default" not in decks  # an empty deck that is no parent brings nothing
    cards = conn.execute("SELECT count(*) FROM cards WHERE retired = 0").fetchone()[0]
    conn.close()
    assert cards == sum(count for count, _ in TREE.values())
    again = cli("import", str(package), "--with-progress")  # read again (another fingerprint): nothing retired
    assert ", 0 retired" in again.stdout and " retired" not in again.stdout.replace(", 0 retired", "")
    assert {deck: int(cli("review", deck, input="q\n").stdout.split()[2]) for deck in TREE} == anki


def test_a_parent_without_cards_leaves_a_deck_of_that_name_as_it_is(tmp_path):
    """The learner's own deck named like the package's parent (a deck file's): its source, notes and settings
    stay; only a deck the store does not have is made."""
    col = new_collection(tmp_path / "anki", fsrs=True)
    add_cards(col, "Languages::Español", 3, "es")
    _own_preset(col, "Languages", 2)
    package = export(col, tmp_path / "tree.apkg", legacy=False)
    col.close()
    deck = tmp_path / "lang.md"
    deck.write_text("# Languages\n\nSome notes about this deck.\n\n## Hello?\nWorld\n\n")
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(deck))
    cli("config", "Languages", "new_per_day", "9")
    rows = "SELECT name, source, notes, settings FROM decks WHERE name = 'Languages'"
    before = sqlite3.connect(cli.db).execute(rows).fetchall()
    cli("import", str(package))
    assert sqlite3.connect(cli.db).execute(rows).fetchall() == before
    assert "To review: 4 new" in cli("review", "Languages", input="q\n").stdout  # its own 1 + 3 (limit 9, not 2)
    assert "1 unchanged, 0 retired" in cli("import", str(deck)).stdout
