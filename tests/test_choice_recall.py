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


LATER = "2026-03-12T09:00:00Z"


def test_recall_first_shows_the_question_alone_and_enter_reveals_the_options(cli, quiz):
    first = cli("review", input="b\n\nq\n", now=NOW).output.split("Rate 1-4")[0]
    assert "a) 3" in first and "Recall the answer" not in first  # never answered right: options at once
    out = cli("review", input="\n?b\n\nq\n", now=LATER).output
    recall = out.index("Recall the answer, then Enter shows the options")
    assert "a) 3" not in out[:recall] and out.index("a) 3") > recall
    row = last(cli)
    assert (row["format"], row["rating"], row["correct"]) == ("recall_first", 2, True)


def test_a_letter_at_the_recall_prompt_picks_directly_so_old_scripts_keep_working(cli, quiz):
    cli("review", input="b\n\nq\n", now=NOW)
    out = cli("review", input="b\n\nq\n", now=LATER).output
    assert "Recall the answer" in out and "a) 3" not in out
    row = last(cli)
    assert (row["format"], row["rating"], row["choice"]) == ("recall_first", 3, "4")


def test_recall_first_can_be_turned_off_per_deck(cli, quiz):
    cli("review", input="b\n\nq\n", now=NOW)
    assert "recall_first = False  (this deck)" in cli("config", "Quiz", "recall_first", "false").output
    out = cli("review", input="b\n\nq\n", now=LATER).output
    assert "Recall the answer" not in out and last(cli)["format"] == "options"


def test_a_well_known_choice_card_is_asked_typed_with_a_near_miss(cli, quiz):
    cli("review", input="b\n\nq\n", now=NOW)
    assert "typed_after_days = 1  (this deck)" in cli("config", "Quiz", "typed_after_days", "1").output
    out = cli("review", input="for\n\nq\n", now="2026-03-09T09:00:00Z").output  # a simulated week later
    first = out.split("Rate 1-4")[0]
    assert "a) 3" not in first and "Type the answer" in first and "✗ Wrong." in first
    row = last(cli)
    assert (row["format"], row["choice"], row["correct"], row["rating"]) == ("typed", "for", False, 1)
    # the wrong typed answer brings the options back for the next review
    out = cli("review", input="b\n\nq\n", now="2026-03-09T09:30:00Z").output
    assert "a) 3" in out and last(cli)["format"] == "options"


@pytest.mark.parametrize("typed, right", [(" Colour!", True), ("colr", False)])
def test_a_typed_choice_card_is_graded_as_a_typed_card(cli, tmp_path, in_order, typed, right):
    path = tmp_path / "colour.md"
    path.write_text("# Words\n\n## Which word is British?\n- [ ] color\n- [x] colour\n- [ ] kolor\n")
    cli("import", str(path))
    cli("review", input="b\n\nq\n", now=NOW)
    cli("config", "Words", "typed_after_days", "1")
    out = cli("review", input=f"{typed}\n\nq\n", now=LATER).output
    first = out.split("Rate 1-4")[0]
    assert "a) color" not in first
    if right:
        assert "✓ Right:  Colour!" in first or "✓ Right: Colour!" in first
    else:
        assert "You typed: colr" in first and "Answer:    colour" in first and "^" in first
    row = last(cli)
    assert (row["format"], row["choice"], row["correct"], row["rating"]) == ("typed", typed.strip(), right,
                                                                            3 if right else 1)


def test_the_same_wrong_option_twice_makes_the_next_review_typed(cli, quiz):
    cli("review", input="a\n\nq\n", now=NOW)  # wrong: 3
    cli("review", input="a\n\nq\n", now="2026-03-02T09:05:00Z")  # the same lure again
    log = cli.json("log")
    assert [(r["choice"], r["correct"]) for r in log] == [("3", False), ("3", False)]
    out = cli("review", input="4\n\nq\n", now="2026-03-02T09:20:00Z").output.split("Rate 1-4")[0]
    assert "a) 3" not in out and "Type the answer" in out
    row = last(cli)
    assert (row["format"], row["choice"], row["correct"], row["rating"]) == ("typed", "4", True, 3)
    # asked typed once, the lure is spent: options (or recall first) again
    out = cli("review", input="b\n\nq\n", now="2026-03-20T09:00:00Z").output
    assert last(cli)["format"] == "recall_first"


def test_two_different_wrong_options_do_not_trigger_typed(cli, quiz):
    cli("review", input="a\n\nq\n", now=NOW)
    cli("review", input="c\n\nq\n", now="2026-03-02T09:05:00Z")
    cli("review", input="b\n\nq\n", now="2026-03-02T09:20:00Z")
    assert last(cli)["format"] == "options"


def test_long_options_are_matched_on_their_key_words():
    from srs.model import CardSpec

    option = "The scheduler predicts the probability of recall for every card"
    spec = CardSpec(question="What does FSRS do?", answer=option, options=[option, "Nothing at all"])
    kind = kinds.of(spec)
    assert kind.grade_typed(spec, "predicts probability of recall for every card").correct
    assert kind.grade_typed(spec, "scheduler predicts probabilty recall every card").correct  # a typo
    assert not kind.grade_typed(spec, "it schedules cards").correct
    short = CardSpec(question="Q?", answer="red apple", options=["red apple", "green pear"])
    assert not kind.grade_typed(short, "apple").correct and kind.grade_typed(short, "Red  apple.").correct


def test_stats_true_retention_choice_equals_a_recount_from_the_log(cli, tmp_path, in_order):
    from datetime import datetime, timedelta, timezone

    from srs import clock

    cards = "".join(f"## Question {i}?\n" + "".join(f"- [{'x' if j == 1 else ' '}] option {j}\n"
                                                     for j in range(2 + i % 3)) + "\n" for i in range(8))
    path = tmp_path / "many.md"
    path.write_text("# Many\n\n" + cards)
    cli("import", str(path))
    cli("review", input="b\n4\n" * 8 + "q\n", now="2026-01-01T09:00:00Z")  # every card straight to review
    start = datetime(2026, 1, 2, 9, tzinfo=timezone.utc)
    script = "a\n\n?b\n\nb\n\nb\n\nc\n\n?a\n\nb\n\n"  # wrong, unsure right, right, ..., a typed line now and then
    for day in range(0, 80, 2):
        cli("review", input=script * 12 + "q\n", now=clock.to_text(start + timedelta(days=day)))
    now = start + timedelta(days=80)
    stats = cli.json("stats", now=clock.to_text(now))["true_retention_choice"]

    k = {c["id"]: len(c["options"]) for c in cli.json("cards") if c["kind"] == "choice"}
    today = clock.learner_day(now, 4)
    first_of_day, seen = [], set()
    for row in cli.json("log"):  # oldest first
        when = datetime.fromisoformat(row["reviewed_at"].replace("Z", "+00:00"))
        day = clock.learner_day(when, 4)
        if row["kind"] != "review" or row["card_id"] not in k or (row["card_id"], day) in seen:
            continue
        seen.add((row["card_id"], day))
        if row["format"] in ("options", "recall_first"):
            first_of_day.append((day, row["rating"] > 1, k[row["card_id"]]))
    assert {fmt for fmt in (r["format"] for r in cli.json("log"))} >= {"options", "recall_first", "typed"}
    for period, days in (("today", 1), ("7d", 7), ("30d", 30), ("all", 10_000)):
        rows = [(y, kk) for day, y, kk in first_of_day if (today - day).days < days]
        assert stats[period]["n"] == len(rows), period
        if rows:
            assert stats[period]["observed"] == pytest.approx(sum(y for y, _ in rows) / len(rows))
            assert stats[period]["corrected"] == pytest.approx(
                sum((y - 1 / kk) / (1 - 1 / kk) for y, kk in rows) / len(rows))
    assert stats["all"]["n"] > 20 and stats["30d"]["n"] > 0
    assert stats["all"]["corrected"] < stats["all"]["observed"]
    calibration = cli.json("stats", now=clock.to_text(now))["calibration"]["by_format"]
    assert calibration["recall_first"]["guessing"] and not calibration["typed"]["guessing"]
    for entry in calibration.values():
        assert entry["n"] == sum(b["n"] for b in entry["bins"])
        for b in entry["bins"]:
            if b["n"] and entry["guessing"]:
                assert b["expected"] > b["predicted"]  # R + (1 - R)/k > R
    text = cli("stats", now=clock.to_text(now)).output
    assert "Choice picks" in text and "guess-corrected" in text and "R + (1 - R)/k" in text
    page = tmp_path / "stats.html"
    cli("stats", "--html", str(page), now=clock.to_text(now))
    assert "Choice picks" in page.read_text() and "<h3>By format</h3>" in page.read_text()


def test_the_optimizer_takes_no_pick_made_in_sight_of_the_options_as_a_target(tmp_path):
    from datetime import datetime, timedelta, timezone

    from srs.decks import parse_deck
    from srs.optimize import load_history
    from srs.store import Store

    store = Store(tmp_path / "o.db")
    store.sync_decks([parse_deck(DECK, "quiz.md")], datetime(2026, 1, 1, tzinfo=timezone.utc))
    clock = [datetime(2026, 1, 1, 9, tzinfo=timezone.utc)]
    session = ReviewSession(store, now=lambda: clock[0])
    formats = ["options", "options", "recall_first", "typed", "options", None]
    for day, fmt in enumerate(formats):
        clock[0] = datetime(2026, 1, 1, 9, tzinfo=timezone.utc) + timedelta(days=3 * day)
        card = store.card(store.first_new(session.decks[0].id)[1]) if day == 0 else next(iter(store.cards()))
        assert session.answer(card, 3, 1000, "4", fmt)
    history = load_history(store)
    # every review after the first is a day or more later: an item each, but those asked with options
    assert len(history.items) == len([f for f in formats[1:] if f != "options"])
    assert len(history.sequences[card.id]) == len(formats)  # their ratings stay in the card's history


# -- on a real terminal (tmux), 80 columns ----------------------------------------------------------

def _answered_once(tmp_path, deck_text: str):
    """A database whose one choice card was answered right (Easy) on 2026-03-02: recall first from then on."""
    from datetime import datetime, timezone

    from srs.decks import parse_deck
    from srs.store import Store

    db = tmp_path / "t.db"
    store = Store(db)
    store.sync_decks([parse_deck(deck_text, "t.md")], datetime(2026, 3, 1, tzinfo=timezone.utc))
    session = ReviewSession(store, now=lambda: datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    card = session.next_card()
    session.ask(card)
    assert session.answer(card, 4, 1000, card.spec.answer)
    session.close()
    store.conn.close()
    return db


@pytest.fixture
def terminal():
    import shutil
    import sys

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    from test_terminal import Tmux

    sessions = []

    def start(db, now: str):
        term = Tmux(["env", f"SRS_NOW={now}", sys.executable, "-m", "srs", "--db", str(db), "review"], width=80)
        sessions.append(term)
        return term

    yield start
    for term in sessions:
        term.close()


def _letters(screen: str) -> dict[str, str]:
    return {line.split(") ", 1)[1].strip(): line.strip()[0] for line in screen.splitlines()
            if line.strip()[:2] in ("a)", "b)", "c)")}


def test_tmux_recall_first_then_the_unsure_key(tmp_path, terminal):
    term = terminal(_answered_once(tmp_path, DECK), "2026-03-20T09:00:00Z")
    term.wait_for("Recall the answer, then Enter shows the options.")
    screen = term.wait_for("Enter: options (? unsure, ⌫ undo, @ suspend, - bury, * flag, # edit, Esc quit):")
    assert "How much is 2 + 2?" in screen and not _letters(screen)
    assert all(len(line) <= 80 for line in screen.splitlines())
    term.keys("Enter")  # one key: the options
    screen = term.wait_for("Your answer [a-c] (? unsure")
    letters = _letters(screen)
    assert sorted(letters) == ["3", "4", "5"]
    term.keys("?")  # unsure, shown on the prompt line
    term.wait_for("unsure · Your answer [a-c]")
    term.keys(letters["4"])
    screen = term.wait_for("Rate 1-4, Enter = Hard")
    assert "✓ Right (unsure): 4" in screen and "Why: Two and two make four." in screen
    term.keys("Enter")
    term.wait_for("Session over")


def test_tmux_typed_escalation_with_a_near_miss(tmp_path, terminal):
    from conftest import run_srs

    deck = "# Words\n\n## Which word is British?\n- [ ] color\n- [x] colour\n- [ ] kolor\n"
    db = _answered_once(tmp_path, deck)
    assert run_srs("--db", str(db), "config", "Words", "typed_after_days", "1").returncode == 0
    term = terminal(db, "2026-03-20T09:00:00Z")
    screen = term.wait_for("Type the answer")
    assert "Which word is British?" in screen and "a) color" not in screen
    assert "asked without its options" in screen
    for key in "colr":
        term.keys(key)
    term.keys("Enter")
    screen = term.wait_for("Rate 1-4, Enter = Again")
    lines = screen.splitlines()
    typed = next(i for i, line in enumerate(lines) if line.startswith("You typed: colr"))
    answer = next(i for i, line in enumerate(lines) if line.startswith("Answer:    colour"))
    assert lines[answer + 1] == " " * len("Answer:    col") + "^^"  # "ou", missing from "colr", marked under it
    assert answer > typed
    term.keys("q")
    term.wait_for("Session over")


def test_the_seed_deck_file_carries_the_seed_lessons_explanations():
    from pathlib import Path

    from conftest import HERE
    from srs.decks import read_deck
    from srs.lessons import read_lesson

    lesson = {c.question: c.option_notes for c in read_lesson(HERE / "lessons" / "seed.txt").cards}
    deck = read_deck(Path(HERE).parent / "decks" / "ai-engineer-vs-ml-engineer.md")
    assert {c.question: c.option_notes for c in deck.cards} == lesson
    assert sum(len(notes) for notes in lesson.values()) >= 5
