"""Re-importing never loses what a learner or a source gave (issue 15, point 8), and the import
report names the cards it retired and the keys it changed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent
SEED_DECK = ROOT / "decks" / "ai-engineer-vs-ml-engineer.md"
SEED_LESSON = ROOT / "tests" / "lessons" / "seed.txt"


def _answers(cli) -> dict[str, str | None]:
    return {c["question"]: c["answer"] for c in cli.json("cards")}


def test_the_lesson_after_its_deck_file_removes_no_key_or_answer(cli):
    cli("import", str(SEED_DECK))
    before = _answers(cli)
    assert sum(a is not None for a in before.values()) >= 5
    out = cli("import", str(SEED_LESSON)).stdout
    after = _answers(cli)
    assert after == before, out  # the lesson is silent on the keys the deck file gave: they stay
    assert " 0 retired" in out


def test_a_learners_key_survives_a_source_with_another_key_but_not_their_own_deck_file(tmp_path, cli):
    deck = tmp_path / "d.md"
    deck.write_text("# D\n\n## Pick one?\n- [ ] x\n- [ ] y\n- [ ] z\n\n## Free?\n")
    cli("import", str(deck))
    card = cli.json("cards")[0]
    cli("key", input="b\n")  # the learner keys the first unkeyed card
    keyed = {c["question"]: c["answer"] for c in cli.json("cards")}["Pick one?"]
    assert keyed in ("x", "y", "z")
    cli("import", str(deck))  # silent: kept
    assert _answers(cli)["Pick one?"] == keyed
    other = next(o for o in ("x", "y", "z") if o != keyed)
    lines = [f"- [{'x' if o == other else ' '}] {o}" for o in ("x", "y", "z")]
    deck.write_text("# D\n\n## Pick one?\n" + "\n".join(lines) + "\n")
    out = cli("import", str(deck)).stdout
    assert _answers(cli)["Pick one?"] == other  # the learner's own deck file changes it
    assert f"key changed: Pick one?: {keyed} -> {other}" in out
    assert "retired (no longer in the source; history kept): Free?" in out
    assert card["id"] in [c["id"] for c in cli.json("cards")]


def test_a_deck_answer_survives_a_source_that_has_none(tmp_path, cli):
    deck = tmp_path / "d.md"
    deck.write_text("# D\n\n## Capital of France?\nParis\n")
    cli("import", str(deck))
    deck.write_text("# D\n\n## Capital of France?\n")
    cli("import", str(deck))
    assert _answers(cli) == {"Capital of France?": "Paris"}
    deck.write_text("# D\n\n## Capital of France?\nParis, on the Seine\n")
    cli("import", str(deck))
    assert _answers(cli) == {"Capital of France?": "Paris, on the Seine"}
