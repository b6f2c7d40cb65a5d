"""Review messages say only what is so at the prompt they are given at (review findings 11 and 12)."""

from __future__ import annotations

import re

from conftest import run_srs

CHOICE = """# D

## Which is a prime?
- [ ] 4
- [x] 7
- [ ] 9
"""


def _review(tmp_path, deck, keys):
    db = tmp_path / "srs.db"
    (tmp_path / "d.md").write_text(deck)
    assert run_srs("--db", str(db), "import", str(tmp_path / "d.md")).returncode == 0
    return run_srs("--db", str(db), "review", input=keys, env={"COLUMNS": "200"}).stdout


def test_the_flag_message_names_the_key_that_works_at_that_prompt(tmp_path):
    # a choice prompt: letters may be options, so `*` flags there and `*` takes the flag off
    out = _review(tmp_path, CHOICE, "*\n*\n")
    assert "Flagged ⚑ (* again takes the flag off)." in out and "f again" not in out
    assert out.index("Flag taken off.") > out.index("Flagged ⚑")  # the key named does take it off
    # a basic card's reveal prompt takes letters: f
    (tmp_path / "b").mkdir()
    out = _review(tmp_path / "b", "# B\n\n## What is 2 + 2?\nFour\n", "f\nf\n")
    assert "Flagged ⚑ (f again takes the flag off)." in out and "Flag taken off." in out


def _notes_deck(wrong_note: bool, right_note: bool, explanation: bool) -> str:
    return ("# D\n\n## How much is 2 + 2?\n- [ ] 3\n" + ("  > Off by one.\n" if wrong_note else "")
            + "- [x] 4\n" + ("  > Two and two make four.\n" if right_note else "")
            + ("> Addition of small numbers.\n" if explanation else ""))


def test_a_sure_wrong_pick_promises_only_what_follows(tmp_path, monkeypatch):
    from conftest import Cli
    from srs import kinds
    from srs.session import ReviewSession

    # options in deck order (a, b as written), so that `a` picks 3: wrong, and sure
    monkeypatch.setattr(ReviewSession, "shuffled_options", lambda self, card: kinds.of(card.spec).options(card.spec))
    cases = {  # (the picked option's note, the right one's, the card's explanation): what the line says
        (True, True, True): ": read why below.",
        (False, True, True): ": read why the answer is right below.",
        (False, True, False): ": read why the answer is right below.",
        (False, False, True): ": read the explanation below.",
        (False, False, False): ".",
    }
    for k, (notes, said) in enumerate(cases.items()):
        cli = Cli(tmp_path / f"{k}.db")
        (tmp_path / f"{k}.md").write_text(_notes_deck(*notes))
        cli("import", str(tmp_path / f"{k}.md"))
        out = cli("review", input="a\n\nq\n").output
        line = next(line for line in out.splitlines() if line.startswith("! You were sure of"))
        assert line == f"! You were sure of 3{said}", (notes, line)
        assert ("Why not: " in out) == notes[0] and ("Why it is right: " in out) == notes[1]
