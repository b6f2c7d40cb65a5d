"""Tests for srs.history and `srs import-history`: the FSRS tools' CSV review log, and simulated learners."""

import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a plain clone without installing the package
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from srs import cli, scheduling  # noqa: E402
from srs.history import read_history, simulate_history  # noqa: E402
from srs.model import SrsError  # noqa: E402
from srs.store import KIND_NAMES, STATE_NAMES, Store  # noqa: E402

REAL_LOG = Path(__file__).parent / "data" / "real-review-log.csv"
DECK = "history: real-review-log"
HEADER = "card_id,review_rating,review_time,review_duration\n"


def srs(db: Path, *args: str):
    result = CliRunner().invoke(cli.app, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


def error_of(*argv: str, capsys) -> str:
    """Run the real entry point expecting failure; return its one-line message."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(argv))
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err.strip()


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- parsing ------------------------------------------------------------------------------


def test_real_log_parses_into_placeholder_cards():
    deck = read_history(REAL_LOG)
    assert deck.name == DECK
    assert deck.report == {"reviews": 12_580, "cards": 1_205, "history_only": True}
    assert sum(len(card.reviews) for card in deck.cards) == 12_580
    first = deck.cards[0]
    assert first.question == "Card 1711684180217 (imported history)"
    assert first.source_id == "1711684180217" and first.kind == "basic" and first.answer == ""
    review = first.reviews[0]
    assert review.reviewed_at == datetime(2024, 3, 29, 20, 32, 32, 250000, tzinfo=timezone.utc)
    assert (review.rating, review.duration_ms, review.source) == (1, 25060, "csv")
    for card in deck.cards:
        times = [r.reviewed_at for r in card.reviews]
        assert times == sorted(times)
        assert all(r.rating in (1, 2, 3, 4) for r in card.reviews)


def test_other_time_forms_and_optional_duration(tmp_path):
    path = write(tmp_path, "review_time,card_id,review_rating\n"
                           "1711744352250,7,3\n"
                           "2024-03-31T10:00:00,7,1\n"
                           "2024-04-01 10:00:00+02:00,8,4\n")
    deck = read_history(path)
    seven, eight = deck.cards
    assert [r.reviewed_at for r in seven.reviews] == [
        datetime(2024, 3, 29, 20, 32, 32, 250000, tzinfo=timezone.utc),  # Unix milliseconds
        datetime(2024, 3, 31, 10, 0, tzinfo=timezone.utc)]  # naive: UTC
    assert eight.reviews[0].reviewed_at == datetime(2024, 4, 1, 8, 0, tzinfo=timezone.utc)
    assert all(r.duration_ms is None for r in seven.reviews)


@pytest.mark.parametrize("body, line, words", [
    ("1,5,2024-03-29T20:32:32Z,100\n", 2, "review_rating must be 1-4"),
    ("1,3,2024-03-29T20:32:32Z,100\nx,3,2024-03-29T20:32:32Z,100\n", 3, "card_id is not a whole number"),
    ("1,3,yesterday,100\n", 2, "review_time is not an ISO 8601 time"),
    ("1,3,2024-03-29T20:32:32Z,fast\n", 2, "review_duration is not a whole number"),
    ("1,3\n", 2, "2 field(s) where the header has 4"),
    ("1,-2,2024-03-29T20:32:32Z,100\n", 2, "review_rating is negative"),
])
def test_bad_rows_name_file_and_line(tmp_path, body, line, words):
    path = write(tmp_path, HEADER + body)
    with pytest.raises(SrsError) as error:
        read_history(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert words in str(error.value)


def test_bad_files(tmp_path):
    with pytest.raises(SrsError, match="no column review_time"):
        read_history(write(tmp_path, "card_id,review_rating\n1,3\n"))
    with pytest.raises(SrsError, match="the file is empty"):
        read_history(write(tmp_path, ""))
    with pytest.raises(SrsError, match="no reviews in the file"):
        read_history(write(tmp_path, HEADER + "\n"))
    with pytest.raises(SrsError, match="no such file"):
        read_history(tmp_path / "missing.csv")


# --- importing ----------------------------------------------------------------------------


def test_import_history_stores_reviews_and_replayed_states(tmp_path):
    db = tmp_path / "srs.db"
    out = srs(db, "import-history", str(REAL_LOG)).stdout
    assert out.strip() == f"{DECK}: 1,205 card(s) added with 12,580 review(s)"
    store = Store(db)
    assert store.conn.execute("SELECT source, count(*) FROM reviews GROUP BY source").fetchall() == [("csv", 12_580)]
    assert store.conn.execute("SELECT count(*) FROM cards WHERE question LIKE 'Card % (imported history)'"
                              ).fetchone()[0] == 1_205
    # each card's state is its history replayed with fsrs (the deck's settings), reviews' prev_* included
    deck_id = store.deck_id(DECK)
    settings = store.deck_settings(deck_id)
    for card in list(store.cards(deck_id, with_reviews=True))[::97]:
        rows, progress = scheduling.replay(card.id, card.reviews, settings)
        assert card.progress == progress
        stored = store.conn.execute(
            "SELECT card_id, reviewed_at, rating, kind, due_after, prev_state, prev_step, prev_stability, "
            "prev_difficulty, prev_due, prev_last_review, prev_reps, prev_lapses FROM reviews WHERE card_id = ? "
            "ORDER BY reviewed_at, id", (card.id,)).fetchall()
        assert stored == [(r[0], r[1], r[2], r[3], r[7], *r[9:]) for r in rows]
    assert {STATE_NAMES[s] for (s,) in store.conn.execute("SELECT DISTINCT state FROM card_state")} <= {
        "learning", "review", "relearning"}
    assert {KIND_NAMES[k] for (k,) in store.conn.execute("SELECT DISTINCT kind FROM reviews")} == {
        "learn", "review", "relearn"}


def test_reimport_adds_nothing_and_new_cards_come_in(tmp_path):
    db = tmp_path / "srs.db"
    log = write(tmp_path, HEADER + "1,3,2024-03-29T20:00:00Z,100\n1,3,2024-04-02T20:00:00Z,100\n", "mini.csv")
    srs(db, "import-history", str(log))
    again = srs(db, "import-history", str(log)).stdout
    assert again.strip() == "history: mini: 0 card(s) added with 0 review(s); 1 card(s) already imported, left " \
                            "as they are"
    log.write_text(log.read_text() + "1,1,2024-04-09T20:00:00Z,100\n2,3,2024-04-09T20:01:00Z,100\n")
    grown = srs(db, "import-history", str(log)).stdout
    assert grown.strip() == ("history: mini: 1 card(s) added with 1 review(s); 1 card(s) already imported, "
                             "left as they are")
    store = Store(db)
    assert store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 3
    assert store.conn.execute("SELECT count(*) FROM cards").fetchone()[0] == 2


def test_cli_errors_are_one_line(tmp_path, capsys):
    db = tmp_path / "srs.db"
    bad = write(tmp_path, HEADER + "1,3,2024-03-29T20:00:00Z,100\n1,0,2024-03-30T20:00:00Z,100\n")
    message = error_of("--db", str(db), "import-history", str(bad), capsys=capsys)
    assert message == f"srs: error: {bad}:3: review_rating must be 1-4 (Again, Hard, Good, Easy), not 0"
    message = error_of("--db", str(db), "import-history", str(tmp_path / "nope.csv"), capsys=capsys)
    assert message == f"srs: error: {tmp_path / 'nope.csv'}: no such file"
    assert Store(db).conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


# --- simulated learners -------------------------------------------------------------------


def test_simulated_history_is_reproducible_and_plausible():
    parameters = scheduling.scheduler(scheduling.Settings()).parameters
    one = simulate_history(parameters, cards=40, new_per_day=10, days=60, seed=3)
    two = simulate_history(parameters, cards=40, new_per_day=10, days=60, seed=3)
    other = simulate_history(parameters, cards=40, new_per_day=10, days=60, seed=4)
    history = [[(r.reviewed_at, r.rating) for r in c.reviews] for c in one.cards]
    assert history == [[(r.reviewed_at, r.rating) for r in c.reviews] for c in two.cards]
    assert history != [[(r.reviewed_at, r.rating) for r in c.reviews] for c in other.cards]
    assert len(one.cards) == 40 and one.report["reviews"] == sum(map(len, history))
    for card in history:
        times = [t for t, _ in card]
        assert times == sorted(times) and times[-1] < datetime(2024, 3, 1, tzinfo=timezone.utc)
    ratings = [rating for card in history for _, rating in card]
    assert set(ratings) <= {1, 2, 3, 4} and 1 in ratings and 3 in ratings
