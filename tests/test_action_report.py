"""What `srs suspend/bury/forget/tag` print for each card changed: the card as `srs cards` lists it
(review finding 8: cloze cards were printed raw, both siblings on the same line)."""

from __future__ import annotations

from conftest import run_srs

DECK = "# Kinds\n\n## The capital of {{c1::France}} is {{c2::Paris}}.\n\n## What is 2 + 2?\nFour\n"


def _question_columns(line: str) -> str:
    return line[:6 + 1 + 16 + 1 + 32]  # id, deck, question as `srs cards` lays them out at 80 columns


def test_each_action_lists_its_cards_as_srs_cards_does(tmp_path, cli):
    (tmp_path / "k.md").write_text(DECK)
    cli("import", str(tmp_path / "k.md"))
    listed = run_srs("--db", str(cli.db), "cards", env={"COLUMNS": "80"}).stdout.splitlines()[1:]
    assert "The capital of [...] is Paris." in listed[0] and "The capital of France is [...]." in listed[1]
    for command in (["suspend", "deck:Kinds"], ["suspend", "--undo", "deck:Kinds"], ["bury", "deck:Kinds"],
                    ["bury", "--undo", "deck:Kinds"], ["tag", "geo", "deck:Kinds"], ["forget", "1", "2", "3"]):
        if command[0] == "forget":
            cli("review", input="\n3\n" * 3 + "q\n")  # something to forget
        out = cli(*command).stdout.splitlines()
        assert "{{c" not in "\n".join(out), command
        changed = out[:-1]
        assert changed, command
        assert [_question_columns(line) for line in changed] == [
            _question_columns(line) for line in listed if line.split()[0] in {l.split()[0] for l in changed}], command
