"""`srs card ID [--json]`: one card whole, and `next` exactly what answering gives (through the real CLI)."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from conftest import Cli, time_zone
from srs import cli as cli_module

DECK = ("# One\n\n## What is one plus one?\nTwo\n\n## Which is even?\n- [ ] 3\n- [x] 4\n> Four is two twos.\n\n"
        "## Spare?\nYes\n")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def utc():
    with time_zone("UTC"):
        yield


@pytest.fixture
def one(tmp_path) -> Cli:
    deck = tmp_path / "one.md"
    deck.write_text(DECK)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(deck), now=at(T0))
    return cli


def copy_db(source, target) -> None:
    """A copy of a database file as it is now (its WAL included)."""
    import sqlite3

    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        a.backup(b)


def card_json(cli: Cli, card_id: int, now: datetime) -> dict:
    return json.loads(cli("card", str(card_id), "--json", now=at(now)).stdout)


# (answers before the check: (minutes after T0, rating) given through a piped review, then the check's time)
STATES = {
    "new": ([], T0),
    "learning": ([(0, 3)], T0 + timedelta(minutes=10)),
    "review": ([(0, 3), (10, 3)], T0 + timedelta(days=4, hours=5)),
    "relearning": ([(0, 3), (10, 3), (60 * 24 * 4, 1)], T0 + timedelta(days=4, minutes=30)),
}


@pytest.mark.parametrize("state", list(STATES))
def test_next_is_what_answering_gives_for_every_rating(one, tmp_path, state):
    answers, now = STATES[state]
    for minutes, rating in answers:
        one("review", input=f"\n{rating}\nq\n", now=at(T0 + timedelta(minutes=minutes)))
    data = card_json(one, 1, now)
    assert data["state"] == state
    assert list(data["next"]) == ["again", "hard", "good", "easy"]
    for rating, name in enumerate(data["next"], 1):
        copy = tmp_path / f"copy-{rating}.db"
        copy_db(one.db, copy)
        other = Cli(copy)
        shown = other("review", input=f"\n{rating}\nq\n", now=at(now)).stdout
        assert "What is one plus one?" in shown
        card = next(c for c in other.json("cards") if c["id"] == 1)
        assert card["reps"] == data["reps"] + 1
        assert card["due"] == data["next"][name]["due"], (state, name)
        interval = data["next"][name]["interval_days"]
        if card["state"] == "review":
            assert isinstance(interval, int) and interval >= 1
            assert datetime.fromisoformat(card["due"]).date() - now.date() == timedelta(days=interval)
        else:
            assert isinstance(interval, float) and interval < 1
            assert datetime.fromisoformat(card["due"]) - now == pytest.approx(timedelta(days=interval),
                                                                              abs=timedelta(seconds=1))


def test_json_is_the_cards_object_plus_recall_history_and_next(one):
    one("review", input="\n3\nb\n\nq\n", now=at(T0))
    one("review", input="\n3\nq\n", now=at(T0 + timedelta(minutes=10)))
    now = T0 + timedelta(days=2)
    cards = {c["id"]: c for c in one.json("cards", now=at(now))}  # retrievability is now's
    log = one.json("log")
    for card_id in cards:
        data = card_json(one, card_id, now)
        assert set(data) == set(cards[card_id]) | {"retrievability", "history", "next"}
        assert {k: data[k] for k in cards[card_id]} == cards[card_id]
        assert data["history"] == [r for r in log if r["card_id"] == card_id]
        if card_id == 3:  # never reviewed
            assert data["history"] == [] and data["retrievability"] is None and data["state"] == "new"
        else:
            assert data["history"] and 0 < data["retrievability"] <= 1
    assert card_json(one, 2, now)["history"][0]["choice"] in ("3", "4")  # options are shuffled


def test_retrievability_counts_learner_days():
    """Answered at 23:00, asked at 05:00 the next morning: one learner day (the day starts at 4), as the
    scheduler and stats count, although fewer than 24 hours passed; at 03:00 still the same day: R = 1."""
    import tempfile
    from pathlib import Path

    import fsrs

    with tempfile.TemporaryDirectory() as folder:
        deck = Path(folder) / "one.md"
        deck.write_text(DECK)
        cli = Cli(Path(folder) / "srs.db")
        evening = datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc)
        cli("import", str(deck), now=at(evening))
        cli("review", input="\n4\nq\n", now=at(evening))  # Easy: straight to review
        same_day = card_json(cli, 1, evening + timedelta(hours=4))
        next_day = card_json(cli, 1, evening + timedelta(hours=6))
        assert same_day["retrievability"] == 1.0
        card = fsrs.Card(card_id=1, state=fsrs.State.Review, stability=next_day["stability"],
                         difficulty=next_day["difficulty"], last_review=evening, due=evening)
        expected = fsrs.Scheduler().get_card_retrievability(card, evening + timedelta(days=1))
        assert next_day["retrievability"] == pytest.approx(expected) and expected < 1


def test_unknown_card_is_one_line_and_exit_1(one, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_module.main(["--db", str(one.db), "card", "99"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.strip() == "srs: error: no card with id 99 (see 'srs cards')"


def test_page_shows_the_card_at_80_columns(one):
    one("review", input="\n3\nb\n\nq\n", now=at(T0))
    one("review", input="\n3\nq\n", now=at(T0 + timedelta(minutes=10)))
    result = CliRunner().invoke(cli_module.app, ["--db", str(one.db), "card", "2"],
                                env={"SRS_NOW": at(T0 + timedelta(days=1)), "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    page = result.stdout
    for text in ("Which is even?", ") 4  ✓ the key", "Four is two twos.", "State", "learning", "Stability",
                 "Difficulty", "Recall now", "Next: Again", "History (1 answer)", "Forgetting curve", "100%"):
        assert text in page, text
    assert max(len(line) for line in page.splitlines()) <= 80
    new = CliRunner().invoke(cli_module.app, ["--db", str(one.db), "card", "3"], env={"COLUMNS": "80"}).stdout
    assert "Never reviewed." in new and "Forgetting curve" not in new
