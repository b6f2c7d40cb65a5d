"""Deck names as a learner types them (issue 15, point 7): any case, a unique prefix, an ambiguous
prefix refused with the decks it could mean."""

from __future__ import annotations


def _decks(tmp_path, cli):
    for name, title in (("a.md", "Spanish verbs"), ("b.md", "Spanish nouns"), ("c.md", "German")):
        (tmp_path / name).write_text(f"# {title}\n\n## {title} question?\nAnswer\n")
        cli("import", str(tmp_path / name))


def test_case_and_unique_prefix_name_a_deck(tmp_path, cli):
    _decks(tmp_path, cli)
    for given in ("German", "german", "GER", "g", "spanish v", "SPANISH  NOUNS"):
        cards = cli.json("cards", "--deck", given)
        assert len(cards) == 1 and cards[0]["deck"].casefold().startswith(" ".join(given.split()).casefold())


def test_ambiguous_prefix_lists_the_matches(tmp_path, cli):
    _decks(tmp_path, cli)
    result = cli("stats", "span", ok=False)
    assert result.exit_code == 1 and result.exception is not None
    assert "'span' names several decks: 'Spanish nouns'; 'Spanish verbs'" in str(result.exception)
    result = cli("config", "french", "new_per_day", "5", ok=False)
    assert result.exit_code == 1 and "no deck named 'french'" in str(result.exception)


def test_exact_name_wins_over_a_longer_one(tmp_path, cli):
    (tmp_path / "a.md").write_text("# Math\n\n## q1?\na\n")
    (tmp_path / "b.md").write_text("# Math advanced\n\n## q2?\na\n")
    cli("import", str(tmp_path))
    assert [c["deck"] for c in cli.json("cards", "--deck", "math")] == ["Math"]
