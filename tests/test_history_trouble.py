"""Trouble spots on an imported review history (review defect 6): the cards of `srs import-history` are
history-only (no content, kept out of review), but their lapses are real and `srs stats` lists them, named
as `srs log` and `srs card ID` name them (the srs id, and the placeholder text with the log's card id)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

LOG = Path(__file__).parent / "data" / "real-review-log.csv"  # the real learner's log (tests/data/README.md)
NOW = "2024-10-07T12:00:00+00:00"


def test_stats_lists_the_lapses_of_an_imported_history(cli):
    cli("import-history", str(LOG))
    lapses = Counter(r["card_id"] for r in cli.json("log") if r["rating"] == 1 and r["kind"] == "review")
    assert sum(lapses.values()) == 1372 and len(lapses) == 643  # what the log holds: Again on a card in review
    stats = cli.json("stats", now=NOW)
    leeches = stats["leeches"]
    assert len(leeches) == 10
    assert [r["lapses"] for r in leeches] == sorted(lapses.values(), reverse=True)[:10]
    assert all(lapses[r["card_id"]] == r["lapses"] for r in leeches)  # each card's own count, from its history
    top = leeches[0]
    assert top["lapses"] == 8 and top["leech"] and top["history_only"]
    card = cli.json("card", str(top["card_id"]), now=NOW)
    assert top["question"] == card["question"] and card["question"].endswith("(imported history)")
    text = cli("stats", now=NOW).stdout
    assert "No card has lapsed" not in text
    assert f"#{top['card_id']} {card['question']}" in text
