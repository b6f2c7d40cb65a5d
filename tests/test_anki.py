"""Anki packages: export checked by importing into the official `anki` library, and import
checked on packages that genanki, legacy Anki and current Anki write. Hostile packages only
ever raise SrsError.

The `anki` package (AGPL) is used here only, never by srs itself.
"""

from __future__ import annotations

import html
import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fsrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

anki = pytest.importorskip("anki")
from anki.collection import (  # noqa: E402
    Collection,
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)

import srs.anki.package as anki_package  # noqa: E402
from srs.anki.export import note_guid, write_apkg  # noqa: E402
from srs.anki.format import BASIC_MODEL_ID, CHOICE_MODEL_ID, FIELDS  # noqa: E402
from srs.anki.reader import read_apkg  # noqa: E402
from srs.clock import learner_day  # noqa: E402
from srs.model import CardSpec, DeckSpec, Progress, Review, SrsError, StoredCard  # noqa: E402

HERE = Path(__file__).parent
UTC = timezone.utc
SCHED = fsrs.Scheduler(enable_fuzzing=False)
STATE = {fsrs.State.Learning: "learning", fsrs.State.Review: "review", fsrs.State.Relearning: "relearning"}
KIND = {fsrs.State.Learning: "learn", fsrs.State.Review: "review", fsrs.State.Relearning: "relearn"}
REVLOG_TYPE = {"learn": 0, "review": 1, "relearn": 2}
# All export times are in the past: Anki's "Check database" pulls future note times back.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)


# -- building cards with real FSRS histories -------------------------------------------


def simulate(answers, durations=None):
    """Answer a fresh card with FSRS at the given (time, rating) pairs.

    Returns the Progress the store would hold, the Reviews, and the difficulty after
    each answer (what Anki keeps in revlog.factor).
    """
    card = fsrs.Card()
    reviews, difficulties, lapses = [], [], 0
    for index, (at, rating) in enumerate(answers):
        assert at <= NOW, "a history is in the past"
        kind = KIND[card.state]
        if card.state == fsrs.State.Review and rating == 1:
            lapses += 1
        card, _ = SCHED.review_card(card, fsrs.Rating(rating), review_datetime=at)
        reviews.append(
            Review(
                reviewed_at=at,
                rating=rating,
                kind=kind,
                duration_ms=(durations or {}).get(index, 4000 + 500 * index),
                due_after=card.due,
            )
        )
        difficulties.append(card.difficulty)
    progress = Progress(
        state=STATE[card.state],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
        reps=len(reviews),
        lapses=lapses,
    )
    return progress, reviews, difficulties


def on_time(start, ratings, late=timedelta(hours=1)):
    """Answers each given when the previous one made the card due (plus `late`)."""
    card = fsrs.Card()
    at = start
    answers = []
    for rating in ratings:
        answers.append((at, rating))
        card, _ = SCHED.review_card(card, fsrs.Rating(rating), review_datetime=at)
        at = card.due + late
    return answers


def make_cards():
    """Cards in every state, with the difficulties FSRS gave after each answer."""
    cards, difficulties = [], {}

    def add(card_id, deck, spec, answers=None, suspended=False, durations=None):
        progress, reviews, ds = simulate(answers, durations) if answers else (Progress(), [], [])
        progress.suspended = suspended
        cards.append(StoredCard(card_id, deck, spec, progress, reviews))
        difficulties[card_id] = ds

    add(101, "Basics", CardSpec("What is 2 + 2?\nShow your work.", "4 & more <less>", explanation="Because.",
                                tags=["math", "easy one"]))
    add(102, "Basics", CardSpec("Capital of France?", options=["Lyon", "Paris", "Nice"], answer="Paris",
                                key_source="deck", tags=["geo"]),
        on_time(NOW - timedelta(days=40), [3, 3, 3, 3]))
    add(103, "Basics::Tricky", CardSpec("<script>alert('x')</script> which?", options=["<b>bold</b>", "plain"]),
        [(NOW - timedelta(minutes=2), 3)])
    add(104, "Basics::Tricky", CardSpec("Relearn me", "yes"),
        on_time(NOW - timedelta(days=30), [3, 3, 3]) + [(NOW - timedelta(minutes=1), 1)])
    add(105, "Languages::Español", CardSpec("el pan", "bread"),
        on_time(NOW - timedelta(days=90), [4, 3, 2]), suspended=True, durations={1: 125_000})
    same = NOW - timedelta(minutes=5)
    add(106, "Languages::Español", CardSpec("la leche", "milk"), [(same, 1), (same, 3)])  # same millisecond
    add(107, "Default", CardSpec("far future", "ok"), on_time(NOW - timedelta(days=30), [4, 4]))
    return cards, difficulties


def revlog_ids(cards):
    """Revlog ids: the answer's Unix ms, one ms later for each earlier answer at the same ms
    (revlog ids are unique across the whole collection)."""
    wanted = sorted(
        (int(review.reviewed_at.timestamp() * 1000), position, index)
        for position, card in enumerate(cards)
        for index, review in enumerate(card.reviews)
    )
    out, previous = {}, None
    for ms, position, index in wanted:
        previous = ms if previous is None else max(ms, previous + 1)
        out[cards[position].id, index] = previous
    return out


def expected_revlog(card: StoredCard, difficulties, ids, cap_ms=60_000):
    """What Anki itself writes for these answers (rslib scheduler/answering/revlog.rs)."""
    rows, last_ivl = [], 0
    for index, (review, difficulty) in enumerate(zip(card.reviews, difficulties)):
        revlog_id = ids[card.id, index]
        days = (learner_day(review.due_after) - learner_day(review.reviewed_at)).days
        ivl = days if days >= 1 else -int((review.due_after - review.reviewed_at).total_seconds())
        factor = round(((difficulty - 1) / 9 + 0.1) * 1000)
        rows.append((revlog_id, review.rating, ivl, last_ivl, factor, min(review.duration_ms, cap_ms),
                     REVLOG_TYPE[review.kind]))
        last_ivl = ivl
    return rows


# -- Anki helpers --------------------------------------------------------------------


@pytest.fixture
def col(tmp_path):
    folder = tmp_path / "anki"
    folder.mkdir()
    collection = Collection(str(folder / "collection.anki2"))
    collection.set_config("fsrs", True)
    yield collection
    collection.close()


def anki_import(collection, path, *, with_scheduling=True, with_deck_configs=False):
    request = ImportAnkiPackageRequest(
        package_path=str(path),
        options=ImportAnkiPackageOptions(
            merge_notetypes=False,
            with_scheduling=with_scheduling,
            with_deck_configs=with_deck_configs,
        ),
    )
    return collection.import_anki_package(request)


def anki_export(collection, path, *, legacy):
    collection.export_anki_package(
        out_path=str(path),
        options=ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True, with_media=False, legacy=legacy),
        limit=None,
    )


def by_srs_id(collection):
    out = {}
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        note = card.note()
        out[int(note["SrsId"])] = (card, note)
    return out


def snapshot(collection):
    return {
        table: collection.db.all(f"select * from {table} order by id")
        for table in ("cards", "notes", "revlog", "decks", "notetypes", "deck_config")
    }


def local_today_delta(moment: datetime) -> int:
    return (learner_day(moment) - learner_day(datetime.now(UTC))).days


# -- export ----------------------------------------------------------------------------


def test_export_without_progress_imports_as_new_cards(tmp_path, col):
    cards, _ = make_cards()
    counts = write_apkg(tmp_path / "plain.apkg", cards, with_progress=False, now=NOW)
    assert counts == {"notes": len(cards), "cards": len(cards), "revlog": 0}
    anki_import(col, tmp_path / "plain.apkg")
    assert col.note_count() == len(cards)
    assert col.card_count() == len(cards)
    assert col.db.scalar("select count() from revlog") == 0
    assert col.db.list("select distinct type from cards") == [0]
    assert col.db.list("select distinct queue from cards") == [0]  # not even suspended: no progress
    names = {d.name for d in col.decks.all_names_and_ids()}
    assert {"Basics", "Basics::Tricky", "Languages", "Languages::Español", "Default"} <= names

    imported = by_srs_id(col)
    for stored in cards:
        card, note = imported[stored.id]
        spec = stored.spec
        assert col.decks.name(card.did) == stored.deck
        assert note.guid == note_guid(stored.id)
        assert note.mid == (CHOICE_MODEL_ID if spec.options is not None else BASIC_MODEL_ID)
        assert list(note.keys()) == list(FIELDS)
        assert note["Question"] == html.escape(spec.question).replace("\n", "<br>")
        assert note["Answer"] == html.escape(spec.answer or "").replace("\n", "<br>")
        assert note.tags == sorted(tag.replace(" ", "_") for tag in spec.tags)
    # the note types are the ones we fixed, with the fields we fixed
    assert col.models.get(BASIC_MODEL_ID)["name"] == "srs basic"
    assert col.models.get(CHOICE_MODEL_ID)["name"] == "srs choice"


def test_html_stays_inert_and_choices_render(tmp_path, col):
    cards, _ = make_cards()
    write_apkg(tmp_path / "x.apkg", cards, with_progress=False, now=NOW)
    anki_import(col, tmp_path / "x.apkg")
    imported = by_srs_id(col)

    card, note = imported[103]  # unkeyed choice card with a script tag
    question, answer = card.question(), card.answer()
    assert "<script>" not in question and "&lt;script&gt;" in question
    assert "<b>bold</b>" not in question and "&lt;b&gt;bold&lt;/b&gt;" in question
    assert "<ol" in question and question.count("<li>") == 2
    assert "not known" in answer and 'class="srs-correct"' not in answer
    assert "<script>alert" not in answer and "&lt;script&gt;alert" in answer

    card, _ = imported[102]  # keyed choice card: the right option highlighted on the back
    assert 'class="srs-correct"' in card.answer() and "Paris" in card.answer().split('class="srs-correct"')[1]
    assert 'class="srs-correct"' not in card.question()
    card, _ = imported[101]
    assert "Show your work." in card.question() and "<br>" in card.question()
    assert "4 &amp; more &lt;less&gt;" in card.answer() and "Because." in card.answer()


def test_export_with_progress_matches_anki(tmp_path, col):
    cards, difficulties = make_cards()
    counts = write_apkg(tmp_path / "progress.apkg", cards, with_progress=True, now=NOW)
    assert counts == {"notes": 7, "cards": 7, "revlog": sum(len(c.reviews) for c in cards)}
    anki_import(col, tmp_path / "progress.apkg")
    assert col.note_count() == 7 and col.card_count() == 7
    imported = by_srs_id(col)
    today = col.sched.today
    ids = revlog_ids(cards)
    assert len(set(ids.values())) == len(ids)

    for stored in cards:
        card, _ = imported[stored.id]
        p = stored.progress
        assert card.reps == p.reps and card.lapses == p.lapses, stored.id
        expected_type = {"new": 0, "learning": 1, "review": 2, "relearning": 3}[p.state]
        assert card.type == expected_type, stored.id
        interday = p.state in ("learning", "relearning") and learner_day(p.due) > learner_day(p.last_review)
        if p.suspended:
            assert card.queue == -1
        elif interday:  # a step reaching past the 4 a.m. rollover: Anki's day-learning queue
            assert card.queue == 3
        else:
            assert card.queue == {"new": 0, "learning": 1, "review": 2, "relearning": 1}[p.state], stored.id
        if p.state == "new":
            assert card.memory_state is None
            continue
        assert card.memory_state.stability == pytest.approx(p.stability, abs=2e-4, rel=1e-6)
        assert card.memory_state.difficulty == pytest.approx(p.difficulty, abs=6e-4)
        assert card.desired_retention == pytest.approx(0.9)
        assert card.decay == pytest.approx(0.154, abs=1e-3)
        assert card.last_review_time == int(stored.reviews[-1].reviewed_at.timestamp())
        if p.state == "review" or interday:
            assert card.due - today == local_today_delta(p.due), stored.id
            if p.state == "review":
                assert card.ivl == (learner_day(p.due) - learner_day(p.last_review)).days
        else:
            assert card.due == int(p.due.timestamp())
            assert card.left >= 1
        rows = col.db.all("select id, ease, ivl, lastIvl, factor, time, type from revlog where cid = ? order by id",
                          card.id)
        assert [tuple(row) for row in rows] == expected_revlog(stored, difficulties[stored.id], ids), stored.id

    # the two answers given in the same millisecond got two ids, 1 ms apart
    ids = col.db.list("select id from revlog where cid = ? order by id", imported[106][0].id)
    assert ids[1] - ids[0] == 1
    # Anki schedules the learning card 103 as due soon, the far one later
    assert imported[107][0].due > today
    assert col.db.scalar("select max(id) from revlog") <= int(NOW.timestamp() * 1000)


def test_check_database_changes_nothing(tmp_path, col):
    cards, _ = make_cards()
    write_apkg(tmp_path / "p.apkg", cards, with_progress=True, now=NOW)
    anki_import(col, tmp_path / "p.apkg")
    before = snapshot(col)
    problems, ok = col.fix_integrity()
    assert ok, problems
    assert snapshot(col) == before


def test_reexport_updates_notes_instead_of_duplicating(tmp_path, col):
    cards, _ = make_cards()
    write_apkg(tmp_path / "v1.apkg", cards, with_progress=True, now=NOW - timedelta(minutes=10))
    anki_import(col, tmp_path / "v1.apkg")
    counts = (col.note_count(), col.card_count(), col.db.scalar("select count() from revlog"))

    edited = [replace(c, spec=replace(c.spec, question="What is 2 + 2, really?")) if c.id == 101 else c for c in cards]
    write_apkg(tmp_path / "v2.apkg", edited, with_progress=True, now=NOW)
    anki_import(col, tmp_path / "v2.apkg")
    assert (col.note_count(), col.card_count(), col.db.scalar("select count() from revlog")) == counts
    _, note = by_srs_id(col)[101]
    assert note["Question"] == "What is 2 + 2, really?"
    assert len(col.decks.all_names_and_ids()) == len({d.name for d in col.decks.all_names_and_ids()})


def test_deck_options_travel_with_the_package(tmp_path, col):
    card_progress, reviews, _ = simulate([(NOW - timedelta(minutes=3), 3)])
    cards = [StoredCard(1, "Opts", CardSpec("q", "a"), card_progress, reviews)]
    params = list(fsrs.Scheduler().parameters)
    params[20] = 0.2
    options = {"Opts": {"desired_retention": 0.85, "learning_steps": [2, 15, 60], "relearning_steps": [5],
                        "maximum_interval": 365, "parameters": params, "new_per_day": 7}}
    write_apkg(tmp_path / "o.apkg", cards, with_progress=True, now=NOW, deck_options=options)
    anki_import(col, tmp_path / "o.apkg", with_deck_configs=True)
    card, _ = by_srs_id(col)[1]
    conf = col.decks.config_dict_for_deck_id(card.did)
    assert conf["desiredRetention"] == pytest.approx(0.85)
    assert conf["new"]["delays"] == [2, 15, 60] and conf["lapse"]["delays"] == [5]
    assert conf["new"]["perDay"] == 7 and conf["rev"]["maxIvl"] == 365
    assert conf["fsrsParams6"][20] == pytest.approx(0.2)
    assert card.desired_retention == pytest.approx(0.85)
    assert card.decay == pytest.approx(0.2)
    assert card.left == 3 - card_progress.step
    problems, ok = col.fix_integrity()
    assert ok, problems


# -- import ------------------------------------------------------------------------------


def comparable(spec: CardSpec):
    return (spec.question, spec.answer, spec.options, spec.explanation, sorted(spec.tags))


def expected_reviews(card: StoredCard, cards):
    out = []
    for review, row in zip(card.reviews, expected_revlog(card, [1.0] * len(card.reviews), revlog_ids(cards))):
        revlog_id, _, ivl, _, _, taken, _ = row
        at = datetime.fromtimestamp(revlog_id / 1000, UTC)
        due_after = at + (timedelta(days=ivl) if ivl > 0 else timedelta(seconds=-ivl))
        out.append((at, review.rating, review.kind, taken, due_after))
    return out


def got_reviews(spec: CardSpec):
    return [(r.reviewed_at, r.rating, r.kind, r.duration_ms, r.due_after) for r in spec.reviews]


def test_read_our_own_package(tmp_path):
    cards, _ = make_cards()
    write_apkg(tmp_path / "own.apkg", cards, with_progress=True, now=NOW)
    decks = read_apkg(tmp_path / "own.apkg", with_progress=True)
    assert [d.name for d in decks] == ["Basics", "Basics::Tricky", "Default", "Languages", "Languages::Español"]
    assert [d.cards for d in decks if d.name == "Languages"] == [[]]  # a parent without cards: its options only
    specs = {s.source_id: s for d in decks for s in d.cards}
    for stored in cards:
        spec = specs[note_guid(stored.id)]
        want = replace(stored.spec, tags=[t.replace(" ", "_") for t in stored.spec.tags])
        assert comparable(spec) == comparable(want)
        assert spec.kind == stored.spec.kind and spec.keyed == stored.spec.keyed
        assert got_reviews(spec) == expected_reviews(stored, cards)
        assert all(r.reviewed_at.tzinfo == UTC for r in spec.reviews)
    assert read_apkg(tmp_path / "own.apkg")[0].cards[0].reviews == []


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "anki21-legacy"])
def test_round_trip_through_anki(tmp_path, col, legacy):
    cards, _ = make_cards()
    write_apkg(tmp_path / "ours.apkg", cards, with_progress=True, now=NOW)
    anki_import(col, tmp_path / "ours.apkg")
    anki_export(col, tmp_path / "theirs.apkg", legacy=legacy)
    with zipfile.ZipFile(tmp_path / "theirs.apkg") as archive:
        assert ("collection.anki21" if legacy else "collection.anki21b") in archive.namelist()

    decks = read_apkg(tmp_path / "theirs.apkg", with_progress=True)
    assert {d.name for d in decks if d.cards} == {c.deck for c in cards}
    assert {d.name for d in decks if not d.cards} == {"Languages"}  # the parent Anki keeps, as a deck without cards
    specs = {s.source_id: s for d in decks for s in d.cards}
    assert len(specs) == len(cards)
    for stored in cards:
        spec = specs[note_guid(stored.id)]
        want = replace(stored.spec, tags=[t.replace(" ", "_") for t in stored.spec.tags])
        assert comparable(spec) == comparable(want), stored.id
        assert got_reviews(spec) == expected_reviews(stored, cards), stored.id


def build_native_collection(collection):
    """Notes of Anki's stock note types, one of them answered."""
    decks = {name: collection.decks.id(name) for name in ("Native::Basic", "Native::Cloze")}
    basic = collection.new_note(collection.models.by_name("Basic"))
    basic["Front"], basic["Back"] = "<b>Bonjour</b>", "Hello<br>Hi"
    basic.tags = ["french", "greeting"]
    collection.add_note(basic, decks["Native::Basic"])
    reverse = collection.new_note(collection.models.by_name("Basic (and reversed card)"))
    reverse["Front"], reverse["Back"] = "chat", "cat&nbsp;(animal)"
    collection.add_note(reverse, decks["Native::Basic"])
    cloze = collection.new_note(collection.models.by_name("Cloze"))
    cloze["Text"] = "{{c1::Paris}} is the capital of {{c2::France::country}}."
    cloze["Back Extra"] = "Since 508."
    collection.add_note(cloze, decks["Native::Cloze"])
    typed = collection.new_note(collection.models.by_name("Basic (type in the answer)"))
    typed["Front"], typed["Back"] = "Type 42", "42"
    collection.add_note(typed, decks["Native::Cloze"])
    collection.decks.select(decks["Native::Basic"])
    card = collection.sched.getCard()
    collection.sched.answerCard(card, 3)
    return {"basic": basic.guid, "reverse": reverse.guid, "cloze": cloze.guid, "typed": typed.guid}


@pytest.mark.parametrize("kind", ["anki21b", "anki21", "colpkg"])
def test_read_anki_native_notes(tmp_path, col, kind):
    guids = build_native_collection(col)
    out = tmp_path / ("native.colpkg" if kind == "colpkg" else "native.apkg")
    if kind == "colpkg":
        col.export_collection_package(str(out), include_media=False, legacy=False)
    else:
        anki_export(col, out, legacy=kind == "anki21")
    decks = read_apkg(out, with_progress=True)
    assert [d.name for d in decks] == ["Native", "Native::Basic", "Native::Cloze"]  # Native: no cards, its options
    assert decks[0].cards == []
    specs = {s.source_id: s for d in decks for s in d.cards}
    assert comparable(specs[guids["basic"]]) == ("Bonjour", "Hello\nHi", None, None, ["french", "greeting"])
    assert comparable(specs[guids["reverse"]]) == ("chat", "cat (animal)", None, None, [])
    assert comparable(specs[guids["reverse"] + ":1"]) == ("cat (animal)", "chat", None, None, [])
    first = specs[guids["cloze"]]
    second = specs[guids["cloze"] + ":1"]
    assert (first.question, first.answer, first.explanation) == (
        "[...] is the capital of France.", "Paris is the capital of France.\nSince 508.", None)  # the back as Anki shows it
    assert second.question == "Paris is the capital of [country]."
    assert comparable(specs[guids["typed"]]) == ("Type 42", "42", None, None, [])
    answered = [s for s in specs.values() if s.reviews]
    assert len(answered) == 1 and answered[0].reviews[0].rating == 3 and answered[0].reviews[0].kind == "learn"
    kinds = {source_id: spec.kind for source_id, spec in specs.items()}  # as srs.kinds names them
    assert kinds == {guids["basic"]: "basic", guids["reverse"]: "basic", guids["reverse"] + ":1": "basic",
                     guids["cloze"]: "cloze", guids["cloze"] + ":1": "cloze", guids["typed"]: "typed"}


def test_read_genanki_package_of_stock_models(tmp_path):
    import genanki

    deck = genanki.Deck(2059400110, "Genanki::Deck")
    deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=["Q &amp; A", "A<div>more</div>"], tags=["x"]))
    deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=["{{c1::one}} and {{c2::two}}", ""]))
    genanki.Package(deck).write_to_file(str(tmp_path / "g.apkg"))
    decks = read_apkg(tmp_path / "g.apkg")
    assert [d.name for d in decks] == ["Genanki::Deck"]
    got = sorted((c.question, c.answer) for c in decks[0].cards)
    assert got == [("Q & A", "A\nmore"), ("[...] and two", "one and two"), ("one and [...]", "one and two")]


def test_skips_manual_and_rescheduled_revlog_rows(tmp_path):
    cards, _ = make_cards()
    path = tmp_path / "p.apkg"
    write_apkg(path, cards, with_progress=True, now=NOW)
    with zipfile.ZipFile(path) as archive:
        data = archive.read("collection.anki2")
    db = tmp_path / "c.db"
    db.write_bytes(data)
    conn = sqlite3.connect(db)
    cid = conn.execute("select cid from revlog order by id limit 1").fetchone()[0]
    base = int(NOW.timestamp() * 1000) - 999_999
    conn.executemany("insert into revlog values (?, ?, -1, ?, 5, 0, 0, 0, ?)",
                     [(base, cid, 0, 4), (base + 1, cid, 0, 5), (base + 2, cid, 3, 3)])
    conn.commit()
    conn.close()
    rewritten = tmp_path / "q.apkg"
    with zipfile.ZipFile(rewritten, "w") as archive:
        archive.write(db, "collection.anki2")
    specs = [s for d in read_apkg(rewritten, with_progress=True) for s in d.cards]
    total = sum(len(s.reviews) for s in specs)
    assert total == sum(len(c.reviews) for c in cards)  # the three added rows are not answers


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/New_York"])
def test_due_days_in_other_time_zones(tmp_path, zone):
    """Day numbers agree with Anki's where the rollover is not at 4 a.m. UTC."""
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(HERE.parent)}
    script = HERE / "anki" / "due_days.py"
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mismatches"] == [], report
    assert report["check_ok"], report


# -- hostile packages --------------------------------------------------------------------


def make_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def sqlite_bytes(tmp_path, sql="create table t (x)"):
    db = tmp_path / "tmp.db"
    if db.exists():
        db.unlink()
    conn = sqlite3.connect(db)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return db.read_bytes()


def assert_rejected(path, *words):
    with pytest.raises(SrsError) as info:
        read_apkg(path, with_progress=True)
    message = str(info.value)
    assert info.value.path == str(path)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.apkg"
    path.write_text("hello, I am not a zip")
    assert_rejected(path, "not an Anki package")


def test_missing_file(tmp_path):
    assert_rejected(tmp_path / "missing.apkg", "cannot open")


def test_zip_without_collection(tmp_path):
    assert_rejected(make_zip(tmp_path / "x.apkg", {"readme.txt": b"hi"}), "no collection")


def test_wrong_magic(tmp_path):
    assert_rejected(make_zip(tmp_path / "x.apkg", {"collection.anki2": b"PK not sqlite" * 10}), "not an SQLite")


def test_corrupt_sqlite(tmp_path):
    good = sqlite_bytes(tmp_path, "create table col (x); create table notes (y); create table cards (z);")
    broken = good[:100] + os.urandom(len(good) - 100)
    assert_rejected(make_zip(tmp_path / "x.apkg", {"collection.anki2": broken}))


def test_sqlite_that_is_not_a_collection(tmp_path):
    assert_rejected(make_zip(tmp_path / "x.apkg", {"collection.anki2": sqlite_bytes(tmp_path)}), "not an Anki collection")


def test_truncated_package(tmp_path):
    cards, _ = make_cards()
    write_apkg(tmp_path / "ok.apkg", cards, with_progress=True, now=NOW)
    data = (tmp_path / "ok.apkg").read_bytes()
    (tmp_path / "cut.apkg").write_bytes(data[: len(data) // 2])
    assert_rejected(tmp_path / "cut.apkg")


def test_path_traversal_member_is_refused_and_nothing_extracted(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    path = make_zip(work / "x.apkg", {"../evil.txt": b"boom", "collection.anki2": sqlite_bytes(tmp_path)})
    before = set(tmp_path.rglob("*"))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        assert_rejected(path, "unsafe member name")
    finally:
        os.chdir(cwd)
    assert set(tmp_path.rglob("*")) == before
    assert not (tmp_path / "evil.txt").exists()


def test_absolute_member_name_is_refused(tmp_path):
    assert_rejected(make_zip(tmp_path / "x.apkg", {"/etc/passwd": b"x", "collection.anki2": b""}), "unsafe member")


def test_duplicate_member_is_refused(tmp_path):
    path = tmp_path / "x.apkg"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("collection.anki2", b"a")
        with pytest.warns(UserWarning):
            archive.writestr("collection.anki2", b"b")
    assert_rejected(path, "twice")


def test_zip_bomb_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(anki_package, "MAX_MEMBER_BYTES", 1024 * 1024)
    path = make_zip(tmp_path / "bomb.apkg", {"collection.anki2": b"\0" * (3 * 1024 * 1024)})
    assert_rejected(path, "too large")


def test_zip_bomb_lying_header(tmp_path, monkeypatch):
    """A member whose declared size is small but which inflates to more: stopped anyway."""
    monkeypatch.setattr(anki_package, "MAX_MEMBER_BYTES", 1024 * 1024)
    bomb = b"SQLite format 3\x00" + b"\0" * (3 * 1024 * 1024)  # SQLite's magic: read up to the cap
    path = make_zip(tmp_path / "bomb.apkg", {"collection.anki2": bomb})
    data = bytearray(path.read_bytes())
    # rewrite the uncompressed size in the local header and the central directory
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        struct.pack_into("<I", data, at + offset, 1000)
    path.write_bytes(bytes(data))
    assert_rejected(path)


def test_zstd_bomb_stops_at_the_cap(tmp_path, monkeypatch):
    zstandard = pytest.importorskip("zstandard")

    monkeypatch.setattr(anki_package, "MAX_MEMBER_BYTES", 1024 * 1024)
    # SQLite's magic first: a member that does not start with it is refused before the cap
    bomb = zstandard.ZstdCompressor().compress(b"SQLite format 3\x00" + b"\0" * (4 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    path = make_zip(tmp_path / "z.apkg", {"meta": b"\x08\x03", "collection.anki21b": bomb, "collection.anki2": b""})
    assert_rejected(path, "more than")


def test_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setattr(anki_package, "MAX_MEMBERS", 50)
    members = {str(i): b"" for i in range(60)}
    members["collection.anki2"] = b""
    assert_rejected(make_zip(tmp_path / "many.apkg", members, compression=zipfile.ZIP_STORED), "members")


def test_newer_package_version(tmp_path):
    assert_rejected(make_zip(tmp_path / "x.apkg", {"meta": b"\x08\x63", "collection.anki2": b""}), "version 99")


def test_damaged_zstd(tmp_path):
    path = make_zip(tmp_path / "x.apkg", {"meta": b"\x08\x03", "collection.anki21b": b"\x28\xb5\x2f\xfd garbage"})
    assert_rejected(path)


def test_no_temp_files_left_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    cards, _ = make_cards()
    write_apkg(tmp_path / "x.apkg", cards, with_progress=True, now=NOW)
    read_apkg(tmp_path / "x.apkg", with_progress=True)
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "x.apkg"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_fuzz_random_bytes(tmp_path, data):
    path = tmp_path / "fuzz.apkg"
    path.write_bytes(data)
    check_fuzz_result(path)


try:
    import zstandard  # noqa: F401

    _HAVE_ZSTD = True
except ImportError:  # pragma: no cover
    _HAVE_ZSTD = False

_MEMBER_NAMES = ["collection.anki2", "collection.anki21", "collection.anki21b", "meta", "media", "0", "../x"]


@st.composite
def random_zip(draw):
    buffer = io.BytesIO()
    names = draw(st.lists(st.sampled_from(_MEMBER_NAMES), max_size=4, unique=True))
    with zipfile.ZipFile(buffer, "w", compression=draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as z:
        for name in names:
            kind = draw(st.sampled_from(["bytes", "sqlite", "meta", "zstd"] if _HAVE_ZSTD else ["bytes", "sqlite", "meta"]))
            if kind == "bytes":
                payload = draw(st.binary(max_size=300))
            elif kind == "meta":
                payload = bytes([8, draw(st.integers(0, 200))])
            elif kind == "sqlite":
                payload = draw(st.sampled_from(_SQLITE_SAMPLES))
                cut = draw(st.integers(0, len(payload)))
                payload = payload[:cut] if draw(st.booleans()) else payload
            else:
                import zstandard

                payload = zstandard.ZstdCompressor().compress(draw(st.sampled_from(_SQLITE_SAMPLES)))
            z.writestr(name, payload)
    data = bytearray(buffer.getvalue())
    for _ in range(draw(st.integers(0, 3))):  # flip a few bytes
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


def _sample_collections():
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        cards, _ = make_cards()
        write_apkg(Path(tmp) / "s.apkg", cards[:3], with_progress=True, now=NOW)
        with zipfile.ZipFile(Path(tmp) / "s.apkg") as archive:
            out.append(archive.read("collection.anki2"))
        db = Path(tmp) / "weird.db"
        conn = sqlite3.connect(db)
        conn.executescript(
            "create table col (crt, models, decks); insert into col values (1, '{\"1\": 5}', '[]');"
            "create table notes (id, guid, mid, tags, flds); insert into notes values (1, 2, 3, null, 4);"
            "create table cards (id, nid, did, ord, odid); insert into cards values (1, 1, 'x', -1, null);"
            "create table revlog (id, cid, ease, ivl, factor, time, type);"
            "insert into revlog values (1e300, 1, 3, 'a', 0, 0, 0);"
        )
        conn.commit()
        conn.close()
        out.append(db.read_bytes())
    return out


_SQLITE_SAMPLES = _sample_collections()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=random_zip())
def test_fuzz_random_zips(tmp_path, data):
    path = tmp_path / "fuzz.apkg"
    path.write_bytes(data)
    check_fuzz_result(path)


def check_fuzz_result(path):
    try:
        decks = read_apkg(path, with_progress=True)
    except SrsError as err:
        assert err.path == str(path)
        assert "\n" not in str(err)
        return
    assert isinstance(decks, list)
    for deck in decks:
        assert isinstance(deck, DeckSpec)
        for spec in deck.cards:
            assert isinstance(spec, CardSpec) and spec.question.strip()
            assert all(isinstance(r, Review) and 1 <= r.rating <= 4 for r in spec.reviews)


def test_learning_step_into_a_later_day_uses_the_day_learning_queue(tmp_path, col):
    scheduler = fsrs.Scheduler(enable_fuzzing=False, learning_steps=(timedelta(days=1), timedelta(days=2)))
    at = NOW - timedelta(minutes=3)
    state, _ = scheduler.review_card(fsrs.Card(), fsrs.Rating.Good, review_datetime=at)
    progress = Progress(state="learning", step=state.step, stability=state.stability, difficulty=state.difficulty,
                        due=state.due, last_review=state.last_review, reps=1)
    review = Review(reviewed_at=at, rating=3, kind="learn", duration_ms=1000, due_after=state.due)
    cards = [StoredCard(1, "Days", CardSpec("q", "a"), progress, [review])]
    write_apkg(tmp_path / "d.apkg", cards, with_progress=True, now=NOW,
               deck_options={"Days": {"learning_steps": [1440, 2880]}})
    anki_import(col, tmp_path / "d.apkg", with_deck_configs=True)
    card, _ = by_srs_id(col)[1]
    assert (card.type, card.queue, card.left) == (1, 3, 1)
    assert card.due - col.sched.today == local_today_delta(state.due)
    assert col.db.scalar("select ivl from revlog") == (learner_day(state.due) - learner_day(at)).days
    before = snapshot(col)
    assert col.fix_integrity()[1] and snapshot(col) == before


def test_answers_after_now_are_kept_at_or_before_now(tmp_path):
    """A clock skew must not give revlog ids from the future (Anki's check would renumber them)."""
    at = NOW + timedelta(minutes=5)
    reviews = [Review(reviewed_at=at, rating=3, kind="learn", duration_ms=1000, due_after=at + timedelta(minutes=10))
               for _ in range(3)]
    progress = Progress(state="learning", step=1, stability=2.3, difficulty=2.1, due=at + timedelta(minutes=10),
                        last_review=at, reps=3)
    write_apkg(tmp_path / "f.apkg", [StoredCard(1, "F", CardSpec("q", "a"), progress, reviews)], with_progress=True,
               now=NOW)
    with zipfile.ZipFile(tmp_path / "f.apkg") as archive:
        (tmp_path / "c.db").write_bytes(archive.read("collection.anki2"))
    conn = sqlite3.connect(tmp_path / "c.db")
    ids = [row[0] for row in conn.execute("select id from revlog order by id")]
    data = json.loads(conn.execute("select data from cards").fetchone()[0])
    conf = json.loads(conn.execute("select conf from col").fetchone()[0])
    conn.close()
    now_ms = int(NOW.timestamp() * 1000)
    assert ids == [now_ms - 2, now_ms - 1, now_ms]
    assert data["lrt"] == now_ms // 1000
    assert conf["schedVer"] == 2 and conf["rollover"] == 4


# -- the parts of an export, against plain references -------------------------------------


def reference_ids(wanted: list[int], now_ms: int) -> list[int]:
    """Unique revlog ids as plainly as possible: in order of (wanted, position), each at least
    one more than the previous; then, from the last, none after now nor after the next minus one."""
    order = sorted(range(len(wanted)), key=lambda i: (wanted[i], i))
    ids = [0] * len(wanted)
    previous = None
    for i in order:
        ids[i] = previous = wanted[i] if previous is None else max(wanted[i], previous + 1)
    ceiling = now_ms
    for i in reversed(order):
        ids[i] = ceiling = min(ids[i], ceiling)
        ceiling -= 1
    return ids


@settings(max_examples=200, deadline=None)
@given(wanted=st.lists(st.integers(1_000, 1_040), max_size=40), now=st.integers(1_000, 1_060))
def test_revlog_ids_are_unique_ordered_and_never_after_now(wanted, now):
    from srs.anki.progress import STAGE, STAGING, insert_revlog

    conn = sqlite3.connect(":memory:")
    conn.executescript("create table revlog (id integer primary key, cid integer, usn integer, ease integer, "
                       "ivl integer, lastIvl integer, factor integer, time integer, type integer);"
                       "create index ix_revlog_cid on revlog (cid);"
                       "create table cards (id integer primary key, data text);")
    conn.execute(STAGING)
    conn.executemany(STAGE, [(w, 1, 3, 0, 0, 0, position, 0) for position, w in enumerate(wanted)])
    assert insert_revlog(conn, now * 1000) == len(wanted)
    got = dict(conn.execute("select time, id from revlog"))  # `time` carries each row's position here
    assert [got[position] for position in range(len(wanted))] == reference_ids(wanted, now)


ZONES = ["UTC", "Europe/London", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Pacific/Chatham", "Pacific/Auckland", "America/Sao_Paulo"]


# DST changes in 2025 (UTC): New York, St John's, London, Lord Howe (half an hour, both ways),
# Chatham, Auckland, and Sao Paulo (none since 2019).
CHANGES = [datetime(2025, 3, 9, 7), datetime(2025, 3, 9, 5, 30), datetime(2025, 3, 30, 1), datetime(2025, 4, 5, 15),
           datetime(2025, 10, 4, 15, 30), datetime(2025, 4, 5, 14), datetime(2025, 9, 27, 14), datetime(2025, 11, 2, 6)]
NEAR_CHANGES = st.builds(lambda change, shift: int(change.replace(tzinfo=UTC).timestamp() * 1_000_000) + shift,
                         st.sampled_from(CHANGES), st.integers(-3 * 3_600_000_000, 3 * 3_600_000_000))


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES), rollover=st.integers(0, 23),
       moments=st.lists(st.integers(1_600_000_000_000_000, 1_800_000_000_000_000) | NEAR_CHANGES, min_size=1,
                        max_size=30))
def test_export_day_numbers_are_learner_days(zone, rollover, moments):
    """`Days.day` (from cached UTC offsets) is clock.learner_day, in any zone, around any DST change."""
    import time

    from srs.anki.progress import Days

    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        days = Days(1_411_124_400, rollover)
        for us in moments + [m + shift for m in moments for shift in (3_600_000_000, 86_400_000_000)]:
            moment = datetime.fromtimestamp(us // 1_000_000, UTC)
            assert days.day(us) == (learner_day(moment, rollover) - datetime(1970, 1, 1).date()).days, (zone, us)
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_review_intervals_read_back_land_on_learner_days_across_dst(monkeypatch):
    """A revlog interval of N days is N learner days after the review, even when 24-hour days would
    land an hour off across a DST change (a review at 3:04 a.m. EST is due at 3:04 a.m. EDT, not 4:04,
    which is the next learner day). test_due_days_in_other_time_zones meets this only when run in the
    hour before New York's 4 a.m. rollover, so this checks it at fixed times."""
    import random
    import time as time_module

    from srs import clock
    from srs.anki.reader import _days_later

    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    try:
        moment = datetime(2026, 11, 30, 8, 4, 3, tzinfo=timezone.utc)  # 3:04 a.m. EST: learner day Nov 29
        assert (clock.learner_day(_days_later(moment, 200, 4)) - clock.learner_day(moment)).days == 200
        pick = random.Random(7)
        for _ in range(3000):
            moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=pick.randrange(3 * 365 * 86400))
            days, hour = pick.randrange(1, 800), pick.choice((0, 2, 4, 23))
            later = _days_later(moment, days, hour)
            assert (clock.learner_day(later, hour) - clock.learner_day(moment, hour)).days == days
    finally:
        monkeypatch.undo()  # TZ as it was, then the C library told
        time_module.tzset()
