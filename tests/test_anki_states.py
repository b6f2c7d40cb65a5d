"""Anki's schedule carried into srs: states, suspension, burying, resets, filtered decks, memory
states, deck options, v1 histories and two-way progress, card for card against the official
`anki` library's own view of the same collection (test-only dependency).

Packages are made in each test with the `anki` library (our own data), answered with its v3
scheduler at the real current time; srs runs through the real CLI at that same time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

anki = pytest.importorskip("anki")
from anki.collection import Collection, ExportAnkiPackageOptions  # noqa: E402
from anki.scheduler_pb2 import CardAnswer  # noqa: E402

from srs import clock  # noqa: E402
from conftest import Cli, real_packages_dir  # noqa: E402

UTC = timezone.utc
STATES = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
RATING = {1: CardAnswer.AGAIN, 2: CardAnswer.HARD, 3: CardAnswer.GOOD, 4: CardAnswer.EASY}


# -- making collections with the anki library --------------------------------------------------


def new_collection(folder: Path, *, fsrs: bool) -> Collection:
    folder.mkdir(parents=True, exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    col.set_config("fsrs", fsrs)
    return col


def add_cards(col: Collection, deck: str, count: int, prefix: str) -> list[int]:
    did = col.decks.id(deck)
    cids = []
    for i in range(count):
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = f"{prefix} question {i}", f"{prefix} answer {i}"
        col.add_note(note, did)
        cids.extend(note.card_ids())
    return cids


def answer(col: Collection, cid: int, rating: int) -> None:
    card = col.get_card(cid)
    card.start_timer()
    states = col._backend.get_scheduling_states(cid)
    col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=RATING[rating]))


def due_today(col: Collection, cid: int) -> None:
    col.sched.set_due_date([cid], "0")


def export(col: Collection, path: Path, *, legacy: bool) -> Path:
    col.export_anki_package(out_path=str(path), options=ExportAnkiPackageOptions(
        with_scheduling=True, with_deck_configs=True, with_media=False, legacy=legacy), limit=None)
    return path


def set_options(col: Collection, deck: str, **changes) -> None:
    conf = col.decks.config_dict_for_deck_id(col.decks.id(deck))
    conf["new"]["delays"] = changes.get("learn", conf["new"]["delays"])
    conf["lapse"]["delays"] = changes.get("relearn", conf["lapse"]["delays"])
    conf["new"]["perDay"] = changes.get("new_per_day", conf["new"]["perDay"])
    conf["rev"]["perDay"] = changes.get("reviews_per_day", conf["rev"]["perDay"])
    conf["rev"]["maxIvl"] = changes.get("maximum_interval", conf["rev"]["maxIvl"])
    conf["desiredRetention"] = changes.get("desired_retention", conf["desiredRetention"])
    if "params5" in changes:
        conf["fsrsParams5"] = changes["params5"]
    col.decks.update_config(conf)


def study(col: Collection, cids: list[int]) -> dict[str, list[int]]:
    """Every state Anki has: new, learning, review, relearning, suspended, buried, reset, filtered."""
    made = {"new": cids[:3], "learning": cids[3:5], "review": cids[5:9], "relearning": cids[9:11],
            "suspended": cids[11:13], "buried": cids[13:15], "reset": cids[15:17], "filtered": cids[17:19]}
    for cid in made["learning"]:
        answer(col, cid, 1)
    for cid in made["review"] + made["relearning"] + made["suspended"][:1] + made["buried"][:1] \
            + made["reset"] + made["filtered"]:
        answer(col, cid, 4)  # new -> review
    for cid in made["review"][1:]:
        due_today(col, cid)
        answer(col, cid, 3)
    for cid in made["relearning"]:
        due_today(col, cid)
        answer(col, cid, 1)  # a lapse
    col.sched.suspend_cards(made["suspended"])
    col.sched.bury_cards(made["buried"], manual=True)
    col.sched.schedule_cards_as_new(made["reset"][:1], restore_position=True, reset_counts=False)
    col.sched.schedule_cards_as_new(made["reset"][1:], restore_position=False, reset_counts=True)
    answer(col, made["reset"][1], 3)  # answered again after the reset: learning from scratch
    for cid in made["filtered"]:
        due_today(col, cid)
    # the learner reordered new cards: the last new card first
    col.sched.reposition_new_cards(list(reversed(made["new"])) + [cids[19]], starting_from=0, step_size=1,
                                   randomize=False, shift_existing=True)
    deck = col.sched.get_or_create_filtered_deck(0)
    deck.name = "Cram"
    deck.config.search_terms[0].search = " or ".join(f"cid:{cid}" for cid in made["filtered"])
    deck.config.reschedule = True
    col.sched.add_or_update_filtered_deck(deck)
    return made


# -- Anki's own view ---------------------------------------------------------------------------


def today_number() -> int:
    return clock.day_number(datetime.now(UTC))


def anki_view(col: Collection, *, memory: str = "card") -> dict[str, dict]:
    """Per question: what Anki shows of each card, in srs's terms (learner day numbers)."""
    out = {}
    today, anki_today = today_number(), col.sched.today
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        due = card.odue if card.odid and card.odue else card.due
        state = STATES[card.type]
        if state == "new":
            day = None
        elif state in ("learning", "relearning") and due > 1_000_000_000:
            day = clock.day_number(datetime.fromtimestamp(due, UTC))
        else:
            day = today + (due - anki_today)
        if memory == "card":
            s = card.memory_state.stability if card.memory_state else None
            d = card.memory_state.difficulty if card.memory_state else None
        else:  # as Anki computes it when FSRS is switched on
            computed = col.compute_memory_state(cid) if state != "new" else None
            s = computed.stability if computed else None
            d = computed.difficulty if computed else None
        out[card.note()["Front"]] = {
            "state": state, "suspended": card.queue == -1, "buried": card.queue in (-2, -3), "due_day": day,
            "interval": card.ivl if state == "review" else None, "reps": card.reps, "lapses": card.lapses,
            "stability": s, "difficulty": d}
    return out


def srs_view(cli: Cli) -> dict[str, dict]:
    out = {}
    for c in cli.json("cards"):
        due = datetime.fromisoformat(c["due"]) if c["due"] else None
        out[c["question"]] = {
            "state": c["state"], "suspended": c["suspended"], "buried": c["buried"],
            "due_day": clock.day_number(due) if due and c["state"] != "new" else None,
            "interval": c["interval_days"], "reps": c["reps"], "lapses": c["lapses"],
            "stability": c["stability"], "difficulty": c["difficulty"]}
    return out


def mismatches(anki_side: dict, srs_side: dict, *, places: tuple[float, float] = (5e-5, 5e-4)) -> list[str]:
    """Every field of every card that differs (memory state to Anki's rounding: s 4 places, d 3)."""
    assert set(anki_side) == set(srs_side)
    out = []
    for question, want in anki_side.items():
        got = srs_side[question]
        for key, value in want.items():
            if key in ("stability", "difficulty"):
                tolerance = places[0] * max(1, abs(value or 0)) if key == "stability" else places[1]
                if (value is None) != (got[key] is None) or (value is not None and abs(value - got[key]) > tolerance):
                    out.append(f"{question}: {key} anki {value} srs {got[key]}")
            elif got[key] != value:
                out.append(f"{question}: {key} anki {value} srs {got[key]}")
    return out


# -- tests -------------------------------------------------------------------------------------


@pytest.fixture
def fsrs_collection(tmp_path):
    col = new_collection(tmp_path / "anki", fsrs=True)
    set_options(col, "Spanish", learn=[10.0, 1440.0, 4320.0], relearn=[5.0], new_per_day=7, reviews_per_day=77,
                maximum_interval=1000, desired_retention=0.95)
    made = study(col, add_cards(col, "Spanish", 20, "es"))
    yield col, made
    col.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "anki21"])
def test_states_match_anki_card_for_card(tmp_path, fsrs_collection, legacy):
    col, made = fsrs_collection
    package = export(col, tmp_path / "spanish.apkg", legacy=legacy)
    cli = Cli(tmp_path / "srs.db")
    result = cli("import", str(package), "--with-progress")
    assert "Spanish: 20 added, 0 updated, 0 unchanged, 0 retired, 2 suspended" in result.stdout
    expected = anki_view(col)
    assert {q for q, v in expected.items() if v["suspended"]} == {f"es question {i}" for i in (11, 12)}
    assert {q for q, v in expected.items() if v["buried"]} == {f"es question {i}" for i in (13, 14)}
    assert mismatches(expected, srs_view(cli)) == []
    # every state is there: the comparison cannot pass by accident
    assert {v["state"] for v in expected.values()} == {"new", "learning", "review", "relearning"}
    assert sum(1 for v in expected.values() if v["stability"] is not None) >= 10
    # Anki's new-card order: by position (`due`); the card reset "with its position" goes back to it
    anki_new = sorted((col.get_card(cid).due, col.get_card(cid).note()["Front"]) for cid in col.find_cards("is:new"))
    assert [c["question"] for c in cli.json("cards") if c["state"] == "new"] == [q for _, q in anki_new]


def test_deck_options_become_the_decks_settings(tmp_path, fsrs_collection):
    col, _ = fsrs_collection
    package = export(col, tmp_path / "spanish.apkg", legacy=False)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package), "--with-progress")
    shown = cli("config", "Spanish").stdout
    for expected in ("desired_retention", "0.95", "new_per_day", "7", "reviews_per_day", "77", "1000", "4320"):
        assert expected in shown, expected


def test_fsrs5_parameters_are_migrated_to_fsrs6(tmp_path):
    col = new_collection(tmp_path / "anki", fsrs=True)
    params5 = [0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345, 1.4604, 0.0046, 1.54575, 0.1192, 1.01925,
               1.9395, 0.11, 0.29605, 2.2698, 0.2315, 2.9898, 0.51655, 0.6621]
    set_options(col, "Params", params5=params5)
    add_cards(col, "Params", 1, "p")
    package = export(col, tmp_path / "p.apkg", legacy=True)
    col.close()
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package))
    from srs.store import Store

    store = Store(tmp_path / "srs.db")
    got = store.deck_own_settings(store.deck_id("Params"))["parameters"]
    store.close()
    assert len(got) == 21 and got[19:] == [0.0, 0.5]
    assert got[:19] == pytest.approx(params5, abs=1e-6)


def test_buried_cards_wait_for_the_next_learner_day(tmp_path, fsrs_collection):
    col, made = fsrs_collection
    package = export(col, tmp_path / "spanish.apkg", legacy=False)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package), "--with-progress")
    buried = {c["id"] for c in cli.json("cards") if c["buried"]}
    assert len(buried) == 2
    status = cli.json("status")["decks"][0]
    assert status["new"] == 5  # four new cards and the card reset with its position; not the buried new one
    tomorrow = clock.day_start(today_number() + 1) + timedelta(minutes=1)
    later = cli.json("cards", now=tomorrow.isoformat())
    assert not any(c["buried"] for c in later)
    assert cli.json("status", now=tomorrow.isoformat())["decks"][0]["new"] == 6  # the buried new card is back


def test_a_reset_card_is_new_and_keeps_its_old_answers_in_the_log(tmp_path, fsrs_collection):
    col, made = fsrs_collection
    package = export(col, tmp_path / "spanish.apkg", legacy=False)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package), "--with-progress")
    cards = {c["question"]: c for c in cli.json("cards")}
    log = cli.json("log")
    reset, again = cards["es question 15"], cards["es question 16"]
    assert reset["state"] == "new" and reset["stability"] is None
    assert [r["rating"] for r in log if r["card_id"] == reset["id"]] == [4]  # kept, not counted
    assert again["state"] == "learning"
    assert [r["rating"] for r in log if r["card_id"] == again["id"]] == [4, 3]
    # what srs computes from the answers after the reset: a first Good, not an Easy then a Good
    from srs.store import Store

    store = Store(tmp_path / "srs.db")
    with store.write():
        store._replay_card(again["id"])
    replayed = store.card(again["id"]).progress
    store.close()
    assert replayed.state == "learning" and replayed.reps == 1


def make_v1(package: Path, out: Path) -> Path:
    """The legacy package as a v1-scheduler collection would have it: three learning buttons
    (the inverse of Anki's v2 upgrade of the revlog), relearning cards typed as reviews, no schedVer."""
    work = out.with_suffix(".d")
    work.mkdir()
    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    db = work / "collection.anki21"
    db.write_bytes(members["collection.anki21"])
    conn = sqlite3.connect(db)
    conf = json.loads(conn.execute("select conf from col").fetchone()[0])
    conf.pop("schedVer", None)
    conf.pop("sched2021", None)
    conn.execute("update col set conf = ?", (json.dumps(conf),))
    assert conn.execute("select count(*) from revlog where ease = 2 and type in (0, 2)").fetchone()[0] == 0
    conn.execute("update revlog set ease = ease - 1 where ease in (3, 4) and type in (0, 2)")
    conn.execute("update cards set type = 2 where type = 3")
    conn.commit()
    conn.close()
    members["collection.anki21"] = db.read_bytes()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def sm2_collection(tmp_path) -> tuple[Collection, list[int]]:
    col = new_collection(tmp_path / "anki", fsrs=False)
    cids = add_cards(col, "Old", 8, "old")
    for cid in cids[:6]:
        answer(col, cid, 3)  # learning, Good
    for cid in cids[:5]:
        answer(col, cid, 3)  # graduates
    for cid in cids[1:3]:
        due_today(col, cid)
        answer(col, cid, 1)  # a lapse: relearning
    answer(col, cids[3], 4)  # a review answered early, Easy
    answer(col, cids[7], 4)  # new -> Easy: a review at once
    return col, cids


def test_sm2_collection_gets_the_memory_state_anki_computes(tmp_path):
    col, _ = sm2_collection(tmp_path)
    package = export(col, tmp_path / "old.apkg", legacy=True)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package), "--with-progress")
    expected = anki_view(col, memory="computed")
    assert any(v["stability"] for v in expected.values())
    assert mismatches(expected, srs_view(cli), places=(1e-3, 1e-3)) == []
    col.close()


def test_v1_collection_reads_learning_eases_as_three_buttons(tmp_path):
    col, _ = sm2_collection(tmp_path)
    package = export(col, tmp_path / "old.apkg", legacy=True)
    ratings = sorted(col.db.list("select ease from revlog where ease > 0"))
    expected = anki_view(col, memory="computed")
    col.close()
    v1 = make_v1(package, tmp_path / "v1.apkg")
    cli = Cli(tmp_path / "srs.db")
    result = cli("import", str(v1), "--with-progress")
    assert sorted(r["rating"] for r in cli.json("log")) == ratings
    assert mismatches(expected, srs_view(cli), places=(1e-3, 1e-3)) == []
    assert "Old: 8 added" in result.stdout


def test_reviews_made_in_anki_between_two_exports_arrive_once(tmp_path, fsrs_collection):
    col, made = fsrs_collection
    cli = Cli(tmp_path / "srs.db")
    first = export(col, tmp_path / "one.apkg", legacy=False)
    cli("import", str(first), "--with-progress")
    assert len(cli.json("log")) == col.db.scalar("select count() from revlog where ease > 0")
    for cid in made["new"]:  # more answers in Anki
        answer(col, cid, 3)
    for cid in made["learning"]:
        answer(col, cid, 3)
    second = export(col, tmp_path / "two.apkg", legacy=True)
    result = cli("import", str(second), "--with-progress")
    assert "5 review(s) added" in result.stdout
    log = cli.json("log")
    assert len(log) == col.db.scalar("select count() from revlog where ease > 0")
    assert len({(r["card_id"], r["reviewed_at"]) for r in log}) == len(log)  # none twice
    assert mismatches(anki_view(col), srs_view(cli)) == []  # and the cards follow Anki's state
    again = cli("import", str(second), "--with-progress")
    assert "0 review(s) added" in again.stdout and len(cli.json("log")) == len(log)


def test_reviews_srs_exported_come_back_as_already_present(tmp_path, fsrs_collection):
    col, made = fsrs_collection
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(export(col, tmp_path / "one.apkg", legacy=False)), "--with-progress")
    before = len(cli.json("log"))
    cli("review", input="\n3\nq\n")  # one answer in srs
    mine = tmp_path / "mine.apkg"
    cli("export", "anki", str(mine), "--with-progress")
    result = cli("import", str(mine), "--with-progress")  # srs's own answers, back through a package
    assert "0 review(s) added" in result.stdout
    assert len(cli.json("log")) == before + 1


def test_empty_package_says_it_is_empty(tmp_path):
    col = new_collection(tmp_path / "anki", fsrs=True)
    package = export(col, tmp_path / "empty.apkg", legacy=False)
    col.close()
    result = Cli(tmp_path / "srs.db")("import", str(package))
    assert "the package is empty (no cards)" in result.stdout


def test_skipped_cards_are_named_with_their_reason(tmp_path):
    col = new_collection(tmp_path / "anki", fsrs=True)
    add_cards(col, "Fine", 1, "ok")
    cloze = col.new_note(col.models.by_name("Cloze"))
    cloze["Text"] = "{{c1::Paris}} is in {{c2::France}}"
    col.add_note(cloze, col.decks.id("Fine"))
    package = export(col, tmp_path / "p.apkg", legacy=True)
    col.close()
    # break the second cloze the way real packages do: the card stays, its deletion is gone from the note
    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    db = tmp_path / "c.anki21"
    db.write_bytes(members["collection.anki21"])
    conn = sqlite3.connect(db)
    conn.execute("update notes set flds = replace(flds, '{{c2::France}}', 'France') where flds like '%c2::%'")
    conn.commit()
    conn.close()
    members["collection.anki21"] = db.read_bytes()
    broken = tmp_path / "broken.apkg"
    with zipfile.ZipFile(broken, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = Cli(tmp_path / "srs.db")("import", str(broken))
    assert "Fine: 2 added" in result.stdout
    assert "skipped card" in result.stdout and "cloze 2 is not in its note" in result.stdout


@pytest.mark.skipif(real_packages_dir() is None, reason="no folder of real packages (tests/anki/REAL_PACKAGES.md)")
def test_real_packages_match_anki(tmp_path):
    """Over real packages with Anki's own view of each (`reference/<name>.json`, see
    benchmarks/anki_states.py): every card srs takes matches Anki on every field, except buries
    made on an earlier learner day (over in srs; Anki lifts them at its next day rollover)."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from anki_states import FIELDS, compare

    folder = real_packages_dir()
    references = sorted((folder / "reference").glob("*.json"))
    if not references:
        pytest.skip("no reference dumps in the folder (make them with benchmarks/anki_reference.py FOLDER)")
    for path in references:
        reference = json.loads(path.read_text())
        if not reference.get("cards") or not (folder / reference["file"]).exists():
            continue
        matched, compared, classes, _ = compare(folder / reference["file"], reference, tmp_path)
        for field in FIELDS:
            if field != "buried":
                assert matched[field] == compared, (reference["name"], field, classes)
        assert all(what.startswith(("buried: anki True", "not imported")) for what in classes), classes


def test_a_card_answered_on_both_sides_is_replayed_from_the_merged_history(tmp_path):
    col = new_collection(tmp_path / "anki", fsrs=True)
    (cid,) = add_cards(col, "Both", 1, "both")
    answer(col, cid, 3)
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(export(col, tmp_path / "one.apkg", legacy=False)), "--with-progress")
    later = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    cli("review", input="\n3\nq\n", now=later)  # answered in srs...
    answer(col, cid, 3)  # ...and, not knowing it, in Anki
    result = cli("import", str(export(col, tmp_path / "two.apkg", legacy=False)), "--with-progress", now=later)
    assert "1 review(s) added" in result.stdout
    log = cli.json("log", now=later)
    assert len(log) == 3 and log[-1]["reviewed_at"] > log[1]["reviewed_at"]
    from srs.scheduling import replay
    from srs.model import Review
    from srs.store import Store

    store = Store(tmp_path / "srs.db")
    card = next(iter(store.cards()))
    _, expected = replay(card.id, [Review(datetime.fromisoformat(r["reviewed_at"]), r["rating"]) for r in log],
                         store.deck_settings(card.deck_id))
    store.close()
    assert (card.progress.state, card.progress.reps, card.progress.stability, card.progress.due) == \
        (expected.state, 3, expected.stability, expected.due)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(0, 11), max_size=12), min_size=1, max_size=4))
def test_merging_packages_keeps_every_answer_once(tmp_path_factory, exports):
    """Whatever packages arrive, in whatever order, each carrying some of a card's Anki answers,
    the log holds each answer once: the union of what arrived."""
    from srs.model import CardSpec, DeckSpec, ImportedSchedule, Review
    from srs.store import Store

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    answers = [Review(start + timedelta(days=2 * i, minutes=i), 3 if i % 3 else 1, kind="review",
                      anki_id=int((start + timedelta(days=2 * i, minutes=i)).timestamp() * 1000)) for i in range(12)]
    store = Store(tmp_path_factory.mktemp("merge") / "srs.db")
    seen: set[int] = set()
    for chosen in exports:
        reviews = [answers[i] for i in sorted(set(chosen))]
        seen |= {r.anki_id for r in reviews}
        spec = CardSpec(question="q", answer="a", source_id="guid", reviews=reviews,
                        schedule=ImportedSchedule(state="review" if reviews else "new", reps=len(reviews),
                                                  due_day=clock.day_number(start) + 40, interval=3,
                                                  stability=5.0, difficulty=5.0,
                                                  last_review=reviews[-1].reviewed_at if reviews else None))
        store.sync_decks([DeckSpec(name="D", cards=[spec], source="x.apkg#1")], start + timedelta(days=30))
    got = [row[0] for row in store.conn.execute("SELECT anki_id FROM reviews ORDER BY reviewed_at")]
    store.close()
    assert sorted(got) == sorted(seen) and len(got) == len(set(got))


# -- resets where the optimizer and the export meet them (found in review) ------------------------

@pytest.fixture
def reset_package(tmp_path):
    """An FSRS collection with every Anki state, among them a card reset to new without resetting its
    counts (reps > 0, no answer since the reset) and one reset and answered again."""
    col = new_collection(tmp_path / "anki", fsrs=True)
    set_options(col, "Spanish", learn=[10.0, 1440.0, 4320.0], relearn=[5.0], new_per_day=7, reviews_per_day=77,
                maximum_interval=1000, desired_retention=0.95)
    study(col, add_cards(col, "Spanish", 20, "es"))
    path = export(col, tmp_path / "spanish.apkg", legacy=False)
    col.close()
    return path


def test_optimizer_effect_survives_a_card_reset_in_anki(tmp_path, reset_package):
    # `srs optimize` crashed (AttributeError: 'NoneType' object has no attribute 'tzinfo') on a real
    # FSRS deck (japanese-mining-fsrs.apkg): optimize.effect replays every card with reps > 0
    # (Store.reviewed_card_rows), and a card reset in Anki keeps its reps but has no answer since the
    # reset, so its replay is a new card with no due date.
    from srs import optimize
    from fsrs.scheduler import DEFAULT_PARAMETERS
    from srs.store import Store

    cli = Cli(tmp_path / "srs.db")
    cli("import", str(reset_package), "--with-progress")
    store = Store(tmp_path / "srs.db")
    try:
        result = optimize.effect(store, None, list(DEFAULT_PARAMETERS), datetime(2026, 6, 1, tzinfo=timezone.utc))
    finally:
        store.close()
    assert result["due_today"]["before"] >= 0


def test_export_with_progress_keeps_a_reset(tmp_path, reset_package):
    # srs keeps the answers before a reset in its log (reset_at marks the reset); the export writes
    # them all to Anki's revlog with no reset row (revlog type 4, ease 0) after them, so the reset is
    # lost: the package imported again counts the old answers (here, the Easy before the reset).
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(reset_package), "--with-progress")
    resets = {c["question"] for c in cli.json("cards") if c["question"] in ("es question 15", "es question 16")}
    assert len(resets) == 2
    out = tmp_path / "out.apkg"
    cli("export", "anki", str(out), "--with-progress")
    again = Cli(tmp_path / "again.db")
    again("import", str(out), "--with-progress")
    db = sqlite3.connect(tmp_path / "again.db")
    reset_questions = {q for (q,) in db.execute(
        "SELECT c.question FROM card_state s JOIN cards c ON c.id = s.card_id WHERE s.reset_at IS NOT NULL")}
    db.close()
    assert reset_questions == {"es question 15", "es question 16"}


def test_cards_imported_before_anki_ids_were_kept_take_ankis_state_on_the_next_import(tmp_path, reset_package):
    """A database whose Anki answers were imported by an srs before migration 8 (no revlog ids, no reset
    times, states replayed from the whole log): importing the package again gives every card the
    state a fresh import gives, resets included, and adds no answer."""
    fresh = Cli(tmp_path / "fresh.db")
    fresh("import", str(reset_package), "--with-progress")
    old = Cli(tmp_path / "old.db")
    old("import", str(reset_package), "--with-progress")
    db = sqlite3.connect(tmp_path / "old.db")
    with db:  # as srs left it before migration 8: no ids, no resets, every card replayed from its whole log
        db.execute("UPDATE reviews SET anki_id = NULL")
        db.execute("UPDATE card_state SET reset_at = NULL, interval_days = NULL")
        db.execute("DELETE FROM imported_packages")
    db.close()
    from srs.store import Store

    store = Store(tmp_path / "old.db")
    with store.write():
        for (card_id,) in store.conn.execute("SELECT card_id FROM card_state WHERE reps > 0").fetchall():
            store._replay_card(card_id)
    store.close()
    assert srs_view(old) != srs_view(fresh)
    reviews = len(old.json("log"))
    old("import", str(reset_package), "--with-progress")
    assert srs_view(old) == srs_view(fresh)
    assert len(old.json("log")) == reviews
