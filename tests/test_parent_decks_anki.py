"""A parent deck's limits against Anki's own (the official `anki` library, test-only): a tree of decks, each with
a preset of its own, studied from each deck in turn; srs, importing the package, shows as many new cards as
Anki's v3 scheduler counts for that deck (its subdecks included, each parent bounding its subtree)."""

from __future__ import annotations

import pytest

pytest.importorskip("anki")
from conftest import Cli  # noqa: E402
from test_anki_states import add_cards, export, new_collection  # noqa: E402

TREE = {"P": (4, 6), "P::a": (3, 2), "P::a::x": (2, 5), "P::b": (3, 20), "Q": (2, 3)}  # deck: (cards, new_per_day)


def _own_preset(col, deck: str, new_per_day: int) -> None:
    conf_id = col.decks.add_config_returning_id(deck)
    did = col.decks.id(deck)
    record = col.decks.get(did)
    record["conf"] = conf_id
    col.decks.save(record)
    conf = col.decks.get_config(conf_id)
    conf["new"]["perDay"] = new_per_day
    col.decks.update_config(conf)


def anki_tree(tmp_path, tree: dict, legacy: bool = False):
    """An Anki collection of `tree` ({deck: (cards, new cards a day)}, each deck with its own preset): the new
    cards Anki's v3 scheduler shows for each deck, and the collection exported as a package."""
    col = new_collection(tmp_path / "anki", fsrs=True)
    for deck, (count, per_day) in tree.items():
        add_cards(col, deck, count, deck)
        _own_preset(col, deck, per_day)
    anki = {}
    for deck in tree:
        col.decks.select(col.decks.id(deck))
        anki[deck] = col.sched.counts()[0]
    package = export(col, tmp_path / "tree.apkg", legacy=legacy)
    col.close()
    return anki, package


def test_new_cards_of_a_deck_and_its_subdecks_as_anki_counts_them(tmp_path):
    anki, package = anki_tree(tmp_path, TREE)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package), "--with-progress")
    ours = {deck: int(cli("review", deck, input="q\n").stdout.split()[2]) for deck in TREE}
    assert anki == {"P": 6, "P::a": 2, "P::a::x": 2, "P::b": 3, "Q": 2}  # P: its 4, then 2 of P::a's tree
    assert ours == anki
