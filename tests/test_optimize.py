"""Tests for srs.optimize and `srs optimize`: fitting FSRS parameters with fsrs-rs, adopting, rescheduling.

Figures on the real log are checked against those measured with fsrs-rs-python 0.9.3
on a time-ordered split, counting days as UTC calendar days (a learner whose day starts
at midnight UTC): defaults 0.4354 / 0.068 (log loss / RMSE over bins), fitted 0.4335 /
0.051; in sample 0.4539 / 0.0785 against 0.4458 / 0.0535.
"""

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a plain clone without installing the package
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from srs import cli, clock, optimize, scheduling  # noqa: E402
from srs.history import simulate_history  # noqa: E402
from srs.store import Store  # noqa: E402

REAL_LOG = Path(__file__).parent / "data" / "real-review-log.csv"
DECK = "history: real-review-log"
NOW = "2024-10-07T12:00:00Z"  # the day after the real log ends
# a learner unlike the defaults: slower forgetting curve (decay 0.4), higher initial stabilities
TRUE = [0.4, 1.2, 3.5, 12.0, 6.0, 0.5, 2.0, 0.01, 1.5, 0.15, 0.9, 1.8, 0.1, 0.3, 2.0, 0.4, 2.2, 0.5, 0.2, 0.1, 0.4]


@pytest.fixture(autouse=True)
def utc():
    """Learner days in UTC, whatever the machine's zone (day numbers depend on it)."""
    from conftest import time_zone

    with time_zone("UTC"):
        yield


def srs(db: Path, *args: str, now: str = NOW):
    result = CliRunner().invoke(cli.app, ["--db", str(db), *args], env={"SRS_NOW": now})
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result


@pytest.fixture(scope="module")
def real_template(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("real") / "template.db"
    srs(db, "import-history", str(REAL_LOG))
    return db


@pytest.fixture
def real_db(real_template, tmp_path) -> Path:
    """A fresh copy of a store holding the real log, imported with `srs import-history`."""
    db = tmp_path / "srs.db"
    source, target = Store(real_template), Store(db)
    source.conn.backup(target.conn)
    source.close()
    target.close()
    return db


def snapshot(store: Store) -> list:
    return store.conn.execute("SELECT * FROM card_state ORDER BY card_id").fetchall() + \
        store.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()


# --- the real log -----------------------------------------------------------------------


def test_real_log_held_out_matches_the_reference_fit(real_db):
    srs(real_db, "config", DECK, "day_start_hour", "0")  # days as the reference counted them
    store = Store(real_db)
    half = optimize.split_evaluation(store, store.deck_id(DECK), train_fraction=0.5)
    assert half["defaults"]["log_loss"] == pytest.approx(0.4354, abs=1e-4)  # the same held-out reviews
    assert half["defaults"]["rmse_bins"] == pytest.approx(0.068, abs=1e-3)
    assert half["fitted"]["log_loss"] <= half["defaults"]["log_loss"]
    assert half["fitted"]["log_loss"] <= 0.4335 * 1.005
    assert half["fitted"]["rmse_bins"] <= 0.8 * half["defaults"]["rmse_bins"]
    later = optimize.split_evaluation(store, store.deck_id(DECK), train_fraction=0.8)
    assert later["fitted"]["rmse_bins"] < later["defaults"]["rmse_bins"]
    assert later["fitted"]["log_loss"] <= later["defaults"]["log_loss"] * 1.001


def test_real_log_held_out_with_the_default_day_start(real_db):
    store = Store(real_db)  # learner days start at 4 a.m. (UTC here)
    half = optimize.split_evaluation(store, train_fraction=0.5)
    assert half["fitted"]["log_loss"] < half["defaults"]["log_loss"]
    assert half["fitted"]["rmse_bins"] <= 0.8 * half["defaults"]["rmse_bins"]
    later = optimize.split_evaluation(store, train_fraction=0.8)
    assert later["fitted"]["log_loss"] < later["defaults"]["log_loss"]
    assert later["fitted"]["rmse_bins"] < later["defaults"]["rmse_bins"]


def test_optimize_adopts_stores_and_reschedules(real_db):
    srs(real_db, "config", "day_start_hour", "0")  # for all decks
    store = Store(real_db)
    deck_id = store.deck_id(DECK)
    suspended = store.conn.execute("SELECT min(card_id) FROM card_state").fetchone()[0]
    store.set_suspended(suspended)
    before = snapshot(store)

    result = srs(real_db, "optimize", "--json")
    data = json.loads(result.stdout)
    assert set(data) == {"before", "after", "adopted", "parameters", "reviews"}
    assert data["reviews"] == 6_032
    assert data["before"]["log_loss"] == pytest.approx(0.4539, abs=1e-4)
    assert data["before"]["rmse_bins"] == pytest.approx(0.0785, abs=1e-4)
    assert data["after"]["log_loss"] <= 0.4458 and data["after"]["rmse_bins"] <= 0.0535
    assert data["adopted"] is True
    parameters = data["parameters"]
    assert len(parameters) == 21 and parameters != optimize.default_parameters()
    scheduling.scheduler(scheduling.Settings(parameters=tuple(parameters)))  # fsrs accepts them

    assert store.global_settings()["parameters"] == parameters
    assert "parameters" not in store.decks()[0]["settings"]
    assert [(s["adopted"], s["reviews"], s["after"]) for s in optimize.parameter_sets(store)] == [
        (True, 6_032, data["after"])]
    # every card was replayed with the new parameters, history kept, suspension kept
    after = snapshot(store)
    assert len(after) == len(before) and after != before
    assert store.card(suspended).progress.suspended
    settings = store.deck_settings(deck_id)
    assert settings["parameters"] == parameters
    for card in list(store.cards(deck_id, with_reviews=True))[::61]:
        rows, progress = scheduling.replay(card.id, card.reviews, settings)
        assert card.progress.stability == progress.stability and card.progress.due == progress.due
        assert (card.progress.state, card.progress.reps, card.progress.lapses) == (
            progress.state, progress.reps, progress.lapses)
        stored = store.conn.execute(
            "SELECT card_id, reviewed_at, rating, kind, due_after, source, prev_state, prev_step, prev_stability, "
            "prev_difficulty, prev_due, prev_last_review, prev_reps, prev_lapses FROM reviews WHERE card_id = ? "
            "ORDER BY reviewed_at, id", (card.id,)).fetchall()
        assert stored == [(*r[:4], r[7], "csv", *r[9:]) for r in rows]
    assert optimize.evaluate(parameters, optimize.load_history(store).items) == data["after"]

    # fitting again on the same history finds the same set: not better, nothing changes
    again = json.loads(srs(real_db, "optimize", "--json").stdout)
    assert again["adopted"] is False and again["before"] == again["after"] == data["after"]
    assert snapshot(store) == after
    assert [s["adopted"] for s in optimize.parameter_sets(store)] == [True, False]


def deck_rows(store: Store, deck_id: int) -> list:
    return store.conn.execute(
        "SELECT s.*, r.* FROM card_state s JOIN reviews r ON r.card_id = s.card_id WHERE s.deck_id = ? "
        "ORDER BY r.id", (deck_id,)).fetchall()


def test_deck_parameters_are_the_decks_own(real_db, tmp_path):
    other_log = tmp_path / "other.csv"
    other_log.write_text("card_id,review_rating,review_time,review_duration\n"
                         "1,3,2024-05-01T10:00:00Z,4000\n1,3,2024-05-03T10:00:00Z,4000\n"
                         "1,1,2024-05-20T10:00:00Z,4000\n2,4,2024-05-02T10:00:00Z,4000\n")
    srs(real_db, "import-history", str(other_log))
    store = Store(real_db)
    deck_id, other_id = store.deck_id(DECK), store.deck_id("history: other")
    other_before = deck_rows(store, other_id)

    out = srs(real_db, "optimize", DECK).stdout
    assert "Adopted" in out and "log loss" in out
    own = store.deck_settings(deck_id)["parameters"]
    assert len(own) == 21 and "parameters" not in store.global_settings()
    assert "parameters" not in store.deck_settings(other_id)
    assert optimize.parameter_sets(store, deck_id)[0]["parameters"] == own
    assert optimize.parameter_sets(store) == []
    assert deck_rows(store, other_id) == other_before  # another deck is not touched

    # fitting all decks sets the global parameters: a deck with its own keeps them (and its schedule)
    deck_before = deck_rows(store, deck_id)
    data = json.loads(srs(real_db, "optimize", "--json").stdout)
    assert data["adopted"] is True and data["reviews"] == 6_276 + 2
    assert store.global_settings()["parameters"] == data["parameters"]
    assert store.deck_settings(deck_id)["parameters"] == own
    assert store.deck_settings(other_id)["parameters"] == data["parameters"]
    assert deck_rows(store, deck_id) == deck_before
    assert deck_rows(store, other_id) != other_before  # replayed with the new global set
    card = next(store.cards(other_id, with_reviews=True))
    assert card.progress == scheduling.replay(card.id, card.reviews, store.deck_settings(other_id))[1]


def test_too_little_history_says_how_much_is_needed(tmp_path, capsys):
    db = tmp_path / "srs.db"
    start = datetime(2024, 1, 1, 9, tzinfo=timezone.utc)
    lines = ["card_id,review_rating,review_time,review_duration"]
    for card in range(30):
        for day in (0, 1, 4, 10):
            lines.append(f"{card},3,{(start + timedelta(days=day)).isoformat()},5000")
    log = tmp_path / "small.csv"
    log.write_text("\n".join(lines) + "\n")
    srs(db, "import-history", str(log))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--db", str(db), "optimize"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == ("srs: error: too little history to fit FSRS parameters: 90 review(s) made a day or more after "
                   "the card's previous review in all decks; at least 400 are needed")
    assert optimize.parameter_sets(Store(db)) == []


def test_progress_is_reported_and_json_stays_clean(real_db):
    seen = []
    optimize.optimize(Store(real_db), now=clock.parse_time(NOW), progress=lambda *a: seen.append(a))
    tasks = [task for task, _, _ in seen]
    assert tasks[0] == "reading the review log" and "fitting FSRS parameters" in tasks
    assert seen[-1] == ("rescheduling cards", 12_580, 12_580)
    result = srs(real_db, "optimize", "--json")
    json.loads(result.stdout)  # the bar (on a terminal only) never reaches standard output


def test_learner_days_agree_with_the_clock():
    moments = [datetime(2024, 3, 9, 23, tzinfo=timezone.utc) + timedelta(minutes=37 * i) for i in range(400)]
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        os.environ["TZ"] = zone
        time.tzset()
        for hour in (0, 4, 23):
            base = clock.learner_day(moments[0], hour)
            for moment in moments:
                got = clock.epoch_day_number(int(moment.timestamp()), hour)
                expected = (clock.learner_day(moment, hour) - base).days
                assert got - clock.epoch_day_number(int(moments[0].timestamp()), hour) == expected


# --- a learner with known parameters ------------------------------------------------------


def test_fit_recovers_known_parameters(tmp_path):
    store = Store(tmp_path / "synthetic.db")
    store.sync_decks([simulate_history(TRUE, cards=3000, new_per_day=15, days=365, seed=1)], clock.parse_time(NOW))
    result = optimize.split_evaluation(store, train_fraction=0.5, compare={"true": TRUE})
    assert result["test"] > 9_000
    assert result["fitted"]["log_loss"] <= result["true"]["log_loss"] * 1.01
    assert result["fitted"]["log_loss"] < result["defaults"]["log_loss"]
    assert result["true"]["log_loss"] < result["defaults"]["log_loss"]


# --- desired retention ----------------------------------------------------------------------


def test_retention_table_for_the_real_learner(real_db):
    data = json.loads(srs(real_db, "optimize", "--retention", "--json").stdout)
    rows = data["retentions"]
    assert [r["desired_retention"] for r in rows] == list(optimize.RETENTIONS)
    assert (data["cards"], data["new_cards"], data["current"]) == (1_205, 0, 0.9)
    reviews = [r["reviews_per_day"] for r in rows]
    remembered = [r["remembered"] for r in rows]
    assert reviews == sorted(reviews) and reviews[0] < reviews[-1] / 3
    assert remembered == sorted(remembered) and remembered[-1] <= 1_205
    assert data["recommended"] in optimize.RETENTIONS
    table = srs(real_db, "optimize", "--retention").stdout
    assert "<- current" in table and "Recommended:" in table


def test_retention_with_new_cards_to_learn(tmp_path):
    db = tmp_path / "srs.db"
    deck = tmp_path / "words.md"
    deck.write_text("# Words\n\n" + "".join(f"## word {i}?\n\nanswer {i}\n\n" for i in range(400)))
    srs(db, "import", str(deck))
    srs(db, "config", "Words", "new_per_day", "10")
    data = json.loads(srs(db, "optimize", "Words", "--retention", "--json").stdout)
    assert (data["cards"], data["new_cards"], data["new_per_day"]) == (0, 400, 10)
    low, high = data["retentions"][0], data["retentions"][-1]
    assert 0 < low["remembered"] < high["remembered"] <= 400
    assert low["reviews_per_day"] < high["reviews_per_day"]
    best = min(data["retentions"], key=lambda r: r["seconds_per_card_remembered"])
    assert data["recommended"] == best["desired_retention"]
