"""Multiple choice that measures recall (issue 16), through the real CLI: sure and unsure picks, per-option
explanations, recall first, escalation to typed answers, guess-corrected statistics."""

from __future__ import annotations

import pytest

from srs import kinds
from srs.session import ReviewSession

NOW = "2026-03-02T09:00:00Z"

DECK = """# Quiz

## How much is 2 + 2?
- [ ] 3
  > Off by one: 2 + 2 is one more.
- [x] 4
  > Two and two make four.
- [ ] 5
> Addition of small numbers.
"""


@pytest.fixture
def in_order(monkeypatch):
    """Options shown in deck order (a, b, c as written) instead of shuffled, so a script knows its letters."""
    monkeypatch.setattr(ReviewSession, "shuffled_options", lambda self, card: kinds.of(card.spec).options(card.spec))


@pytest.fixture
def quiz(cli, tmp_path, in_order):
    path = tmp_path / "quiz.md"
    path.write_text(DECK)
    cli("import", str(path))
    return path


def last(cli):
    return cli.json("log")[-1]


@pytest.mark.parametrize("script, rating, correct", [
    ("?b\n\n", 2, True),   # unsure and right: Hard
    ("b\n\n", 3, True),    # sure and right: Good
    ("a\n\n", 1, False),   # wrong: Again
    ("?a\n\n", 1, False),  # unsure and wrong: Again, never Hard
    ("?\nb\n\n", 2, True),  # the unsure key alone, then the letter
])
def test_sure_and_unsure_picks_suggest_their_ratings(cli, quiz, script, rating, correct):
    out = cli("review", input=script + "q\n", now=NOW).output
    assert "? unsure" in out
    row = last(cli)
    assert (row["rating"], row["correct"], row["format"]) == (rating, correct, "options")
    assert row["choice"] == ("4" if correct else "3")


def test_a_sure_wrong_pick_gets_emphasised_feedback_with_the_options_own_note(cli, quiz):
    out = cli("review", input="a\n\nq\n", now=NOW).output
    cli("review", input="?b\n\nq\n", now=NOW)  # (the card again, answered: the next session starts afresh)
    assert "✗ Wrong. The answer is: 4" in out
    assert "You were sure of 3: read why below." in out
    assert "Why not: Off by one: 2 + 2 is one more." in out
    assert "Why it is right: Two and two make four." in out
    assert "Addition of small numbers." in out
    # the card comes back (Again: learn-ahead); undo that answer and pick the same wrong option unsure
    unsure = cli("review", input="a\n\nu\n?a\n\nq\n", now="2026-03-02T09:10:00Z").output.split("Undone")[1]
    assert "✗ Wrong. The answer is: 4" in unsure and "You were sure" not in unsure
    assert "Why not: Off by one" in unsure


def test_a_right_pick_shows_its_own_note(cli, quiz):
    out = cli("review", input="?b\n\nq\n", now=NOW).output
    assert "✓ Right (unsure): 4" in out and "Why: Two and two make four." in out
    assert "Off by one" not in out


def test_option_explanations_are_parsed_and_written_back():
    from srs.decks import format_deck, parse_deck

    deck = parse_deck(DECK, "quiz.md")
    (card,) = deck.cards
    assert card.option_notes == {"3": "Off by one: 2 + 2 is one more.", "4": "Two and two make four."}
    assert card.explanation == "Addition of small numbers."
    written = format_deck(deck)
    assert "- [ ] 3\n  > Off by one: 2 + 2 is one more.\n- [x] 4\n  > Two and two make four.\n- [ ] 5\n" in written
    assert parse_deck(written).cards[0].option_notes == card.option_notes


def test_an_option_note_after_the_cards_explanation_is_refused_with_its_line():
    from srs.decks import parse_deck
    from srs.model import SrsError

    with pytest.raises(SrsError) as error:
        parse_deck("# D\n\n## Q?\n- [x] a\n- [ ] b\n> why\n  > b is wrong\n", "d.md")
    assert str(error.value).startswith("d.md:7: an option's explanation")


def test_a_changed_option_note_updates_the_card_and_keeps_its_history(cli, quiz):
    cli("review", input="b\n\nq\n", now=NOW)
    (card,) = cli.json("cards")
    quiz.write_text(DECK.replace("Off by one", "One too few"))
    assert "1 updated" in cli("import", str(quiz)).output
    assert cli.json("cards")[0]["id"] == card["id"] and len(cli.json("log")) == 1
    out = cli("review", input="\na\n\nq\n", now="2026-03-12T09:00:00Z").output
    assert "Why not: One too few: 2 + 2 is one more." in out


def test_lesson_import_keeps_the_lessons_own_explanations(cli, tmp_path):
    from conftest import HERE
    from srs.decks import read_deck

    written = tmp_path / "seed.md"
    cli("import", str(HERE / "lessons" / "seed.txt"), "--write-deck", str(written))
    cards = {c.question: c for c in read_deck(written).cards}
    limitation = cards["Which limitation should you watch for in this topic?"]
    assert limitation.option_notes[limitation.answer] == 'The lesson lists this under "What AI cannot do".'
    assert any(note == 'The lesson lists this under "What AI does well here".'
               for note in limitation.option_notes.values())
    main = next(c for q, c in cards.items() if q.startswith("What is the main idea"))
    assert main.option_notes == {main.answer: "This is the lesson's subtitle: its main idea."}
    assert "0 added" in cli("import", str(written)).output and "0 updated" in cli("import", str(written)).output
