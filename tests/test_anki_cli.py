"""Anki both ways through the real CLI: a history built with `srs review` goes to Anki with
`srs export anki --with-progress` and matches what `srs cards --json` and `srs log --json`
say; it comes back through Anki's own exports with `srs import --with-progress`; hostile
packages are refused without touching the database; a killed export never leaves a partial
package. The official `anki` package checks every package we write.
"""

from __future__ import annotations

import html
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

anki = pytest.importorskip("anki")
from anki.collection import Collection  # noqa: E402

from conftest import HERE, Cli  # noqa: E402
from srs.clock import from_text, learner_day  # noqa: E402
from srs.store import Store  # noqa: E402
from test_anki import anki_export, anki_import, by_srs_id, col, snapshot  # noqa: E402,F401

UTC = timezone.utc
# Simulated days end before the real now: Anki's "Check database" pulls future times back.
START = (datetime.now(UTC) - timedelta(days=40)).replace(hour=8, minute=0, second=0, microsecond=0)
DECK = """# Anki round trip

## What does FSRS stand for?
Free Spaced Repetition Scheduler

## Which one is a scheduling algorithm?
- [ ] SQLite
- [x] FSRS
- [ ] genanki
> FSRS predicts recall.

## Capital of France & <Italy>?
Paris
Rome

## Which rating means "forgot"?
- [x] Again
- [ ] Hard
- [ ] Good

## 2 + 2?
4

## Who wrote "Hamlet"?
Shakespeare

## Which is a prime?
- [ ] 4
- [ ] 6
- [x] 7

## Boiling point of water at sea level?
100 °C
"""
NEW_CARD = "\n## A card never seen?\nNot yet\n"


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def build_history(cli: Cli, seed: int = 3) -> datetime:
    """Answer cards one `srs review` at a time (each answer at its own time) over simulated days.

    Returns the time after the last answer."""
    rng = random.Random(seed)
    at = START
    for day in (0, 1, 2, 4, 7, 12, 20, 31):
        at = START + timedelta(days=day, hours=rng.randint(0, 10))
        for _ in range(12):
            # "a" picks option a of a choice card or shows a basic card's answer; then a rating
            # (Enter takes the suggested one); then quit at the next card
            rating = rng.choice(["", "1", "2", "3", "3", "4"])
            cli("review", input=f"a\n{rating}\nq\n", now=iso(at))
            at += timedelta(seconds=rng.randint(20, 400), microseconds=rng.randint(0, 999_999))
    return at


@pytest.fixture
def deck(tmp_path) -> Path:
    path = tmp_path / "round.md"
    path.write_text(DECK)
    return path


@pytest.fixture
def history(cli, deck):
    """A deck with a history made through the CLI, one card suspended, one still new; returns
    the time to export at."""
    cli("import", str(deck))
    end = build_history(cli)
    cli("suspend", str(cli.json("cards")[3]["id"]))
    deck.write_text(DECK + NEW_CARD)
    cli("import", str(deck), now=iso(end))
    return end + timedelta(hours=2)


def export(cli: Cli, out: Path, now: datetime, *args: str):
    result = cli("export", "anki", str(out), *args, now=iso(now))
    assert result.stdout.startswith(f"{out}: ")
    return result


# -- srs -> Anki -------------------------------------------------------------------------


def test_history_arrives_in_anki_as_srs_shows_it(cli, history, tmp_path, col):
    export(cli, tmp_path / "out.apkg", history, "--with-progress")
    cards = {c["id"]: c for c in cli.json("cards")}
    log = cli.json("log")
    assert len(log) > 40 and {r["kind"] for r in log} >= {"learn", "review"}
    assert {c["state"] for c in cards.values()} >= {"review", "new"}
    anki_import(col, tmp_path / "out.apkg")

    assert col.note_count() == col.card_count() == len(cards)
    assert col.db.scalar("select count() from revlog") == len(log)
    imported = by_srs_id(col)
    assert set(imported) == set(cards)
    today = col.sched.today
    real_today = learner_day(datetime.now(UTC))
    export_ms = ms(history)
    for card_id, c in cards.items():
        card, note = imported[card_id]
        assert col.decks.name(card.did) == "Anki round trip"
        assert note["Question"] == html.escape(c["question"]).replace("\n", "<br>")
        if c["kind"] == "choice":
            items = "".join(f"<li>{html.escape(option)}</li>" for option in c["options"])
            assert note["Choices"] == f'<ol class="srs-choices" type="A">{items}</ol>'
        assert note["Answer"] == html.escape(c["answer"] or "").replace("\n", "<br>")
        assert (card.reps, card.lapses) == (c["reps"], c["lapses"]), card_id
        assert card.type == {"new": 0, "learning": 1, "review": 2, "relearning": 3}[c["state"]]
        answers = sorted((r for r in log if r["card_id"] == card_id), key=lambda r: (r["reviewed_at"], r["id"]))
        if c["suspended"]:
            assert card.queue == -1
        if c["state"] == "new":
            assert card.memory_state is None and not answers
            continue
        assert card.memory_state.stability == pytest.approx(c["stability"], abs=6e-5)
        assert card.memory_state.difficulty == pytest.approx(c["difficulty"], abs=6e-4)
        due = datetime.fromisoformat(c["due"])
        last = datetime.fromisoformat(answers[-1]["reviewed_at"])
        assert card.last_review_time == ms(last) // 1000
        interday = learner_day(due) > learner_day(last)
        if c["state"] == "review" or interday:
            assert card.due - today == (learner_day(due) - real_today).days, card_id
        else:
            assert card.due == int(due.timestamp()), card_id
        if c["state"] == "review":
            assert card.ivl == (learner_day(due) - learner_day(last)).days
        # the revlog: one row per answer, at its millisecond, with its rating, kind and time
        rows = col.db.all("select id, ease, type, time, ivl from revlog where cid = ? order by id", card.id)
        assert [tuple(row[1:4]) for row in rows] == [
            (r["rating"], {"learn": 0, "review": 1, "relearn": 2}[r["kind"]], min(r["duration_ms"], 60_000))
            for r in answers], card_id
        assert [row[0] for row in rows] == [ms(datetime.fromisoformat(r["reviewed_at"])) for r in answers]
        assert all(row[0] <= export_ms for row in rows)
        if c["state"] == "review":
            assert rows[-1][4] == card.ivl  # the last answer gave the interval the card has
    before = snapshot(col)
    problems, ok = col.fix_integrity()
    assert ok, problems
    assert snapshot(col) == before


def test_store_gives_review_times_in_microseconds(cli, history):
    store = Store(cli.db)
    try:
        rows = list(store.review_rows())
        text = store.conn.execute("SELECT card_id, reviewed_at, due_after FROM reviews "
                                  "ORDER BY card_id, reviewed_at, id")
        for row, (card_id, reviewed_at, due_after) in zip(rows, text, strict=True):
            assert row[0] == card_id
            assert row[1] == ms(from_text(reviewed_at)) * 1000 + from_text(reviewed_at).microsecond % 1000
            assert row[5] == ms(from_text(due_after)) * 1000 + from_text(due_after).microsecond % 1000
    finally:
        store.close()


def test_export_without_progress_and_of_named_decks(cli, history, tmp_path, basics, col):
    cli("import", str(basics))
    result = export(cli, tmp_path / "one.apkg", history, "--deck", "Spaced repetition with srs")
    assert "6 card(s) from 1 deck(s)" in result.stdout and "review" not in result.stdout
    anki_import(col, tmp_path / "one.apkg")
    assert col.card_count() == 6 and col.db.scalar("select count() from revlog") == 0
    assert col.db.list("select distinct queue from cards") == [0]
    both = export(cli, tmp_path / "both.apkg", history, "--deck", "Anki round trip", "--deck",
                  "Spaced repetition with srs", "--with-progress")
    assert "15 card(s) from 2 deck(s)" in both.stdout
    anki_import(col, tmp_path / "both.apkg")
    assert col.card_count() == 15 and col.note_count() == 15  # the 6 notes were updated, not added


def test_unknown_deck_is_a_clear_error(cli, history, tmp_path, capsys):
    from srs.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(cli.db), "export", "anki", str(tmp_path / "x.apkg"), "--deck", "Nope"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("srs: error: no deck named 'Nope' (decks: Anki round trip)") and err.count("\n") == 1
    assert not (tmp_path / "x.apkg").exists()


@pytest.mark.parametrize("case", ["empty store", "no such folder"])
def test_export_errors_leave_nothing(tmp_path, deck, case, capsys):
    from srs.cli import main

    db = tmp_path / "srs.db"
    out = tmp_path / "out.apkg"
    if case == "no such folder":
        Cli(db)("import", str(deck))
        out = tmp_path / "missing" / "out.apkg"
    else:  # a database with a deck file's worth of nothing: every card retired
        empty = tmp_path / "empty.md"
        empty.write_text("# E\n\n## Q?\nA\n")
        Cli(db)("import", str(empty))
        import sqlite3

        sqlite3.connect(db, isolation_level=None).execute("UPDATE cards SET retired = 1")
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(db), "export", "anki", str(out), "--with-progress"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("srs: error: nothing to export: no cards in 'E'" in err) if case == "empty store" else (
        err.startswith(f"srs: error: {out}: cannot write: No such file or directory"))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".apkg") == []


def test_edit_reimport_and_reexport_updates_anki(cli, history, deck, tmp_path, col):
    export(cli, tmp_path / "v1.apkg", history, "--with-progress")
    anki_import(col, tmp_path / "v1.apkg")
    counts = (col.note_count(), col.card_count(), col.db.scalar("select count() from revlog"))

    deck.write_text(deck.read_text().replace("Capital of France & <Italy>?", "Capitals of France & <Italy>?")
                    .replace("100 °C", "100 °C (212 °F)"))
    result = cli("import", str(deck), now=iso(history))
    assert "0 added, 2 updated" in result.stdout
    export(cli, tmp_path / "v2.apkg", history + timedelta(minutes=5), "--with-progress")
    anki_import(col, tmp_path / "v2.apkg")
    assert (col.note_count(), col.card_count(), col.db.scalar("select count() from revlog")) == counts
    questions = {note["Question"] for _, note in by_srs_id(col).values()}
    assert "Capitals of France &amp; &lt;Italy&gt;?" in questions
    assert "Capital of France &amp; &lt;Italy&gt;?" not in questions
    assert any(note["Answer"] == "100 °C (212 °F)" for _, note in by_srs_id(col).values())

    # a card added first in the deck, answered (new cards come in deck order) and exported:
    # it arrives with its history. (Anki keeps the scheduling of cards it already has: its
    # importer adds history only with the cards it adds.)
    deck.write_text(deck.read_text().replace("# Anki round trip\n", "# Anki round trip\n\n## A new card?\nYes\n"))
    assert "1 added, 0 updated" in cli("import", str(deck), now=iso(history)).stdout
    result = cli("review", input="a\n3\nq\n", now=iso(history + timedelta(minutes=6)))
    assert "A new card?" in result.stdout and len(cli.json("log")) == counts[2] + 1
    export(cli, tmp_path / "v3.apkg", history + timedelta(minutes=10), "--with-progress")
    anki_import(col, tmp_path / "v3.apkg")
    assert col.note_count() == counts[0] + 1 and col.card_count() == counts[1] + 1
    assert col.db.scalar("select count() from revlog") == counts[2] + 1
    new = [card for card, note in by_srs_id(col).values() if note["Question"] == "A new card?"]
    assert len(new) == 1 and new[0].reps == 1 and new[0].type == 1
    assert col.fix_integrity()[1]


# -- Anki -> srs -------------------------------------------------------------------------


def comparable_cards(cli: Cli):
    return sorted((c["question"], c["kind"], c["answer"], c["options"]) for c in cli.json("cards"))


def comparable_log(cli: Cli):
    """Per question: (time to the millisecond, rating, kind, duration), oldest first."""
    questions = {c["id"]: c["question"] for c in cli.json("cards")}
    return sorted((questions[r["card_id"]], ms(datetime.fromisoformat(r["reviewed_at"])), r["rating"], r["kind"],
                   min(r["duration_ms"], 60_000)) for r in cli.json("log"))


def comparable_state(cli: Cli):
    return {c["question"]: (c["state"], c["reps"], c["lapses"], c["stability"], c["difficulty"])
            for c in cli.json("cards")}


@pytest.mark.parametrize("route", ["srs", "anki21b", "anki21-legacy"])
def test_round_trip_through_anki(cli, history, tmp_path, col, route):
    package = tmp_path / "out.apkg"
    export(cli, package, history, "--with-progress")
    if route != "srs":  # through Anki and out again, in its current or legacy format
        anki_import(col, package)
        package = tmp_path / "theirs.apkg"
        anki_export(col, package, legacy=route == "anki21-legacy")
        with zipfile.ZipFile(package) as archive:
            assert ("collection.anki21" if route == "anki21-legacy" else "collection.anki21b") in archive.namelist()
    fresh = Cli(tmp_path / "fresh.db")
    result = fresh("import", str(package), "--with-progress", now=iso(history))
    assert "Anki round trip: 9 added, 0 updated, 0 unchanged" in result.stdout

    assert comparable_cards(fresh) == comparable_cards(cli)
    assert comparable_log(fresh) == comparable_log(cli)
    replayed, original = comparable_state(fresh), comparable_state(cli)
    for question, (state, reps, lapses, stability, difficulty) in original.items():
        got = replayed[question]
        assert got[:3] == (state, reps, lapses), question
        if stability is not None:  # Anki's memory state is taken as it keeps it: s to 4 places, d to 3
            assert got[3] == round(stability, 4) and got[4] == round(difficulty, 3), question

    again = fresh("import", str(package), "--with-progress", now=iso(history))  # re-importing changes nothing
    assert "Anki round trip: 0 added, 0 updated, 9 unchanged, 0 retired" in again.stdout
    assert comparable_log(fresh) == comparable_log(cli)

    if route != "srs":  # a card edited in Anki: the next import updates it and keeps its history
        _, note = next((card, note) for card, note in by_srs_id(col).values() if note["Question"] == "2 + 2?")
        note["Answer"] = "four"
        col.update_note(note)
        anki_export(col, package, legacy=route == "anki21-legacy")
        edited = fresh("import", str(package), "--with-progress", now=iso(history))
        assert "Anki round trip: 0 added, 1 updated, 8 unchanged, 0 retired" in edited.stdout
        assert ("2 + 2?", "basic", "four", None) in comparable_cards(fresh)
        assert comparable_log(fresh) == comparable_log(cli)


def test_import_genanki_package_through_cli(cli, tmp_path):
    import genanki

    deck = genanki.Deck(2059400111, "Genanki deck")
    deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=["Q &amp; A", "A<div>more</div>"]))
    deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=["{{c1::one}} and {{c2::two}}", ""]))
    genanki.Package(deck).write_to_file(str(tmp_path / "g.apkg"))
    assert "Genanki deck: 3 added" in cli("import", str(tmp_path / "g.apkg")).stdout
    assert sorted((c["question"], c["answer"]) for c in cli.json("cards")) == [
        ("Q & A", "A\nmore"), ("[...] and two", "one"), ("one and [...]", "two")]  # a cloze card's answer: its deletion
    assert "Genanki deck: 0 added, 0 updated, 3 unchanged" in cli("import", str(tmp_path / "g.apkg")).stdout


# -- HTML ----------------------------------------------------------------------------------


def test_html_decks_export_markup_and_other_decks_escape_it(cli, tmp_path, col):
    (tmp_path / "rich.md").write_text("# Rich\n\n<!-- srs: html -->\n\n## What is <b>bold</b>?\nIt is <i>this</i>\n")
    (tmp_path / "plain.md").write_text("# Plain\n\n## Is <script>alert(1)</script> safe?\nNo <b>never</b>\n")
    cli("import", str(tmp_path / "rich.md"), str(tmp_path / "plain.md"))
    export(cli, tmp_path / "h.apkg", START)
    anki_import(col, tmp_path / "h.apkg")
    notes = {col.decks.name(card.did): (card, note) for card, note in by_srs_id(col).values()}
    card, note = notes["Rich"]
    assert note["Question"] == "What is <b>bold</b>?" and note["Answer"] == "It is <i>this</i>"
    assert "<b>bold</b>" in card.question() and "<i>this</i>" in card.answer()
    card, note = notes["Plain"]
    assert note["Question"] == "Is &lt;script&gt;alert(1)&lt;/script&gt; safe?"
    assert note["Answer"] == "No &lt;b&gt;never&lt;/b&gt;"
    assert "<script>alert" not in card.question() and "<b>never" not in card.answer()

    # back into srs (from our package, and from Anki's): the HTML deck stays HTML, the other text
    anki_export(col, tmp_path / "theirs.apkg", legacy=False)
    for package in ("h.apkg", "theirs.apkg"):
        fresh = Cli(tmp_path / f"{package}.db")
        fresh("import", str(tmp_path / package))
        cards = {c["deck"]: c for c in fresh.json("cards")}
        assert (cards["Rich"]["question"], cards["Rich"]["answer"]) == ("What is <b>bold</b>?", "It is <i>this</i>")
        assert (cards["Plain"]["question"], cards["Plain"]["answer"]) == ("Is <script>alert(1)</script> safe?",
                                                                          "No <b>never</b>")
        store = Store(fresh.db)
        assert {d["name"]: d["settings"].get("html", False) for d in store.decks()} == {"Rich": True, "Plain": False}
        store.close()


# -- hostile packages ----------------------------------------------------------------------


def dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def oversized_member(path: Path) -> Path:
    """A package whose collection declares 600 MB (over the 512 MB cap) in its zip headers."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("collection.anki2", b"SQLite format 3\x00" + b"\x00" * 100)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset:at + offset + 4] = (600 * 1024 * 1024).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.apkg"
    if kind == "not-a-package":
        path.write_text("I am a text file wearing an .apkg name\n")
    elif kind == "path-traversal":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("../../evil.txt", b"boom")
            archive.writestr("collection.anki2", b"")
    else:
        oversized_member(path)
    return path


@pytest.mark.parametrize("kind,words", [("not-a-package", "not an Anki package"),
                                        ("path-traversal", "unsafe member name"),
                                        ("oversized", "too large")])
def test_hostile_packages_are_refused_and_nothing_is_written(tmp_path, deck, kind, words):
    from conftest import run_srs

    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    before = dump(db)
    work = tmp_path / "work"
    work.mkdir()
    path = hostile(work, kind)
    files = set(tmp_path.rglob("*"))
    for args in (["import", str(path), "--with-progress"], ["import", str(path)]):
        result = run_srs("--db", str(db), *args)
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith(f"srs: error: {path}: ") and result.stderr.count("\n") == 1, result.stderr
        assert words in result.stderr
    assert dump(db) == before
    assert set(tmp_path.rglob("*")) == files  # nothing extracted anywhere
    absent = tmp_path / "never.db"
    assert run_srs("--db", str(absent), "import", str(path)).returncode == 1
    assert not absent.exists()


def test_member_inflating_past_the_cap_is_refused(tmp_path, monkeypatch, capsys):
    """A zstd-compressed collection (as current Anki writes) that inflates past the cap: a bomb."""
    zstandard = pytest.importorskip("zstandard")
    import srs.anki.package
    from srs.cli import main

    monkeypatch.setattr(srs.anki.package, "MAX_MEMBER_BYTES", 1024 * 1024)
    path = tmp_path / "bomb.apkg"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta", b"\x08\x03")  # package version 3: collection.anki21b
        # SQLite's magic first: a member that does not start with it is refused before the cap
        bomb = b"SQLite format 3\x00" + b"\x00" * (4 * 1024 * 1024)
        archive.writestr("collection.anki21b", zstandard.ZstdCompressor().compress(bomb))
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(tmp_path / "srs.db"), "import", str(path), "--with-progress"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"srs: error: {path}: member collection.anki21b unpacks to more than")
    assert err.count("\n") == 1
    assert not (tmp_path / "srs.db").exists()


# -- a killed export -----------------------------------------------------------------------


def test_killed_export_leaves_no_partial_package(tmp_path):
    """SIGKILL at random moments of `srs export anki`: the package is absent or complete."""
    from conftest import run_srs

    db = tmp_path / "big.db"
    scratch = tmp_path / "scratch"  # the export's temporary folder, to see what a kill leaves there
    scratch.mkdir()
    big = tmp_path / "big.md"
    big.write_text("# Many\n\n" + "".join(f"## Question number {i}?\nAnswer {i}\n\n" for i in range(2500)))
    env = {"SRS_DB": str(db), "TMPDIR": str(scratch), "SRS_NOW": ""}
    assert run_srs("import", str(big), env=env).returncode == 0
    assert run_srs("import-history", str(HERE / "data" / "real-review-log.csv"), env=env).returncode == 0
    ids = sorted({line.split(",")[0] for line in (HERE / "data" / "real-review-log.csv").read_text().splitlines()[1:]})
    table = tmp_path / "logged.csv"  # the logged cards' content (history-only cards are not exported without it)
    table.write_text("#separator:comma\n#guid column:3\n" + "".join(f"Logged {i}?,Answer {i},{i}\n" for i in ids))
    assert run_srs("import", str(table), env=env).returncode == 0
    store = Store(db)
    expected = len(store.card_rows())
    store.close()
    out = tmp_path / "out" / "many.apkg"
    out.parent.mkdir()
    command = [sys.executable, "-m", "srs", "export", "anki", str(out), "--with-progress"]
    started = time.monotonic()
    assert subprocess.run(command, env={**os.environ, **env}, capture_output=True).returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(11)
    for attempt in range(8):
        there = attempt % 2 == 0  # start with a complete package (it must survive), or with none
        if there and not out.exists():
            assert subprocess.run(command, env={**os.environ, **env}, capture_output=True).returncode == 0
        if not there:
            out.unlink(missing_ok=True)
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, duration * 1.05) if attempt < 4 else rng.uniform(0.7, 1.05) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert out.exists() or not there
        if out.exists():
            assert_complete_package(out, tmp_path / f"anki{attempt}", expected)
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    # a complete export afterwards removes what the killed ones left behind
    assert subprocess.run(command, env={**os.environ, **env}, capture_output=True).returncode == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["many.apkg"]
    assert list(scratch.iterdir()) == []
    assert_complete_package(out, tmp_path / "anki-final", expected)


def assert_complete_package(path: Path, folder: Path, expected_cards: int) -> None:
    folder.mkdir()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    collection = Collection(str(folder / "collection.anki2"))
    try:
        anki_import(collection, path)
        assert collection.card_count() == expected_cards
        assert collection.db.scalar("select count() from revlog") == 12580
    finally:
        collection.close()


def test_an_answer_in_the_last_millisecond_of_a_second_comes_back_once(cli, basics, tmp_path):
    """An answer at .9997 s goes to Anki at its own second (SQLite's strftime('%s') would read the
    fraction to the millisecond and give the next one), so a round trip recognises it as srs's own
    and does not add it twice."""
    cli("import", str(basics))
    at = "2026-11-01T10:00:00.999700+00:00"
    cli("review", input="\n3\nq\n", now=at)
    store = Store(cli.db)
    try:
        [row] = list(store.review_rows())
    finally:
        store.close()
    assert row[1] == ms(datetime.fromisoformat(at)) * 1000 + 700
    out = tmp_path / "round.apkg"
    export(cli, out, datetime.fromisoformat(at) + timedelta(hours=1), "--with-progress")
    cli("import", "--with-progress", str(out), now="2026-11-01T12:00:00+00:00")
    assert len(cli.json("log")) == 1
