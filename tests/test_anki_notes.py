"""Anki notes both ways: an imported note keeps its identity (guid, note type, fields, tags,
siblings) and media, and srs's export of it updates the note in the collection it came from.

The packages are made in the test with the official `anki` library; the reference for the
round trip is that same library importing srs's export.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

anki = pytest.importorskip("anki")
from anki.collection import (  # noqa: E402
    Collection,
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)

from conftest import real_packages_dir  # noqa: E402
from srs.anki.reader import read_apkg  # noqa: E402
from srs.media import card_media, media_references  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
MP3 = b"ID3\x03\x00" + b"fake audio" * 10


def build(folder: Path) -> Collection:
    """A collection with notes of several note types (basic, reversed, cloze, typed), images, audio, tags."""
    folder.mkdir(parents=True, exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    photo = col.media.write_data("photo.png", PNG)
    sound = col.media.write_data("bonjour.mp3", MP3)
    col.media.write_data("map of france.png", PNG + b"map")
    col.media.write_data("_shared.css.png", PNG + b"template")  # referenced by a template only
    french = col.decks.id("Notes::French")
    geo = col.decks.id("Notes::Geo")
    only_image = col.new_note(col.models.by_name("Basic"))
    only_image["Front"], only_image["Back"] = f'<img src="{photo}">', "a photo"
    only_image.tags = ["media", "photo"]
    col.add_note(only_image, french)
    reverse = col.new_note(col.models.by_name("Basic (and reversed card)"))
    reverse["Front"], reverse["Back"] = "bonjour", f"hello [sound:{sound}]"
    reverse.tags = ["greeting"]
    col.add_note(reverse, french)
    cloze = col.new_note(col.models.by_name("Cloze"))
    cloze["Text"] = "{{c1::Paris}} is the capital of {{c2::France}}. {{c3::Lyon}} is not."
    cloze["Back Extra"] = '<img src="map of france.png">'
    col.add_note(cloze, geo)
    typed = col.new_note(col.models.by_name("Basic (type in the answer)"))
    typed["Front"], typed["Back"] = "Type 42", "42"
    col.add_note(typed, geo)
    styled = col.models.copy(col.models.by_name("Basic"))
    styled["name"] = "Styled"
    styled["css"] += '\n.card { background: url("_shared.css.png"); }'
    styled["tmpls"][0]["qfmt"] = '<img src="_shared.css.png">{{Front}}'
    col.models.update_dict(styled)
    plain = col.new_note(col.models.by_name("Styled"))
    plain["Front"], plain["Back"] = "styled front", "styled back"
    col.add_note(plain, geo)
    return col


def export(col: Collection, path: Path, *, legacy: bool, media: bool = True) -> Path:
    col.export_anki_package(out_path=str(path), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=True, with_deck_configs=False, with_media=media, legacy=legacy))
    return path


def anki_import(col: Collection, path: Path):
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions(
        merge_notetypes=False, with_scheduling=True, with_deck_configs=False)))


def identity(col: Collection):
    notes = sorted(col.db.all("select guid, mid, flds, tags from notes"))
    cards = sorted(col.db.all("select n.guid, c.ord from cards c join notes n on n.id = c.nid"))
    return notes, cards


@pytest.fixture
def made(tmp_path):
    col = build(tmp_path / "anki")
    yield col
    col.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "anki21"])
def test_round_trip_updates_the_notes_it_came_from(tmp_path, made, cli, legacy):
    package = export(made, tmp_path / "deck.apkg", legacy=legacy)
    notes_before, cards_before = identity(made)
    counts = (made.note_count(), made.card_count())

    result = cli("import", str(package))
    assert "media: 4 stored, 0 already kept, 0 missing" in result.stdout
    # nothing changes the second time (the two decks, and their parent without cards)
    assert cli("import", str(package)).stdout.count("0 added, 0 updated") == 3
    out = tmp_path / "back.apkg"
    assert "4 media file(s)" in cli("export", "anki", str(out)).stdout

    log = anki_import(made, out).log
    assert (made.note_count(), made.card_count()) == counts  # nothing added
    # every note is found by its guid: updated, or left as it is when identical ("duplicate" in Anki's log)
    assert len(log.new) == 0 and len(log.conflicting) == 0 and len(log.first_field_match) == 0
    assert log.found_notes == counts[0] == len(log.updated) + len(log.duplicate)
    notes_after, cards_after = identity(made)
    assert [(g, m, f) for g, m, f, _ in notes_after] == [(g, m, f) for g, m, f, _ in notes_before]
    assert [t.split() for *_, t in notes_after] == [t.split() for *_, t in notes_before]
    assert cards_after == cards_before
    check = made.media.check()
    assert list(check.missing) == [] and list(check.unused) == []


def test_export_into_an_empty_collection_brings_every_note_and_file(tmp_path, made, cli):
    package = export(made, tmp_path / "deck.apkg", legacy=False)
    cli("import", str(package))
    out = tmp_path / "back.apkg"
    cli("export", "anki", str(out))
    (tmp_path / "fresh").mkdir()
    fresh = Collection(str(tmp_path / "fresh" / "collection.anki2"))
    try:
        anki_import(fresh, out)
        assert identity(fresh)[1] == identity(made)[1]  # every sibling, same guids and ords
        assert sorted(fresh.db.all("select guid, flds from notes")) == sorted(made.db.all("select guid, flds from notes"))
        names = {n["name"] for n in fresh.models.all()}
        assert {"Basic", "Basic (and reversed card)", "Cloze", "Basic (type in the answer)", "Styled"} <= names
        assert fresh.models.by_name("Styled")["css"] == made.models.by_name("Styled")["css"]
        check = fresh.media.check()
        assert list(check.missing) == []
        folder = Path(fresh.media.dir())
        assert (folder / "photo.png").read_bytes() == PNG
        assert (folder / "map of france.png").read_bytes() == PNG + b"map"
        assert (folder / "bonjour.mp3").read_bytes() == MP3
    finally:
        fresh.close()


def test_notes_keep_their_identity_in_the_store(tmp_path, made, cli):
    package = export(made, tmp_path / "deck.apkg", legacy=False)
    cli("import", str(package))
    db = sqlite3.connect(cli.db)
    guids = dict(made.db.all("select id, guid from notes"))
    stored = {guid: (note_id, json.loads(fields), json.loads(tags)) for note_id, guid, fields, tags in
              db.execute("select id, guid, fields, tags from notes")}
    assert set(stored) == set(guids.values())
    for nid, guid in guids.items():
        note = made.get_note(nid)
        assert stored[guid][1] == list(note.fields)
        assert stored[guid][2] == note.tags
        siblings = sorted(db.execute("select ord from card_notes where note_id = ?", (stored[guid][0],)).fetchall())
        assert siblings == sorted((c.ord,) for c in note.cards())
    types = {anki_id: (name, json.loads(fields)) for anki_id, name, fields in
             db.execute("select anki_id, name, fields from note_types")}
    for model in made.models.all():
        if model["name"] in ("Basic", "Cloze", "Styled", "Basic (and reversed card)", "Basic (type in the answer)"):
            assert types[model["id"]] == (model["name"], [f["name"] for f in model["flds"]])
    media = dict(db.execute("select name, file from media"))
    assert set(media) == {"photo.png", "bonjour.mp3", "map of france.png", "_shared.css.png"}
    folder = Path(str(cli.db) + ".media")
    for name, file in media.items():
        assert (folder / file).is_file() and len(file.split(".")[0]) == 64
    db.close()


def test_cards_know_their_media_by_side(tmp_path, made):
    package = export(made, tmp_path / "deck.apkg", legacy=False)
    specs = {s.source_id: s for d in read_apkg(package) for s in d.cards}
    by_front = {s.note.fields[0]: s for s in specs.values() if s.note and s.note.ord == 0}
    question, answer = card_media(by_front['<img src="photo.png">'].note)
    assert (question, answer) == (["photo.png"], [])
    bonjour = [s for s in specs.values() if s.note and s.note.fields[0] == "bonjour"]
    sides = {s.note.ord: card_media(s.note) for s in bonjour}
    assert sides == {0: ([], ["bonjour.mp3"]), 1: (["bonjour.mp3"], [])}
    cloze = [s for s in specs.values() if s.note and s.note.note_type.kind == 1]
    assert len(cloze) == 3 and all(card_media(s.note) == ([], ["map of france.png"]) for s in cloze)
    assert media_references('<img src=x.png> [sound:a&amp;b.mp3] <img src="http://h/y.png">') == ["x.png", "a&b.mp3"]


def test_a_missing_media_file_is_reported_and_the_card_still_imports(tmp_path, made, cli):
    note = made.new_note(made.models.by_name("Basic"))
    note["Front"], note["Back"] = '<img src="gone.png">', "gone"
    made.add_note(note, made.decks.id("Notes::French"))
    package = export(made, tmp_path / "deck.apkg", legacy=True)
    result = cli("import", str(package))
    assert "1 missing (not in the package: gone.png)" in result.stdout
    questions = [c["question"] for c in cli.json("cards")]
    assert "[image: gone.png]" in questions


def test_a_package_without_its_media_imports_and_says_what_is_missing(tmp_path, made, cli):
    package = export(made, tmp_path / "deck.apkg", legacy=False, media=False)
    result = cli("import", str(package))
    assert "media: 0 stored, 0 already kept, 4 missing" in result.stdout
    assert "Notes::French: 3 added" in result.stdout and "Notes::Geo: 5 added" in result.stdout


def test_srs_cards_keep_their_own_note_types_and_show_no_anki_id(tmp_path, cli, basics):
    made = build(tmp_path / "anki")
    try:
        cli("import", str(basics), str(export(made, tmp_path / "deck.apkg", legacy=False)))
        out = tmp_path / "all.apkg"
        cli("export", "anki", str(out))
        with zipfile.ZipFile(out) as archive:
            archive.extract("collection.anki2", tmp_path / "x")
        db = sqlite3.connect(tmp_path / "x" / "collection.anki2")
        models = json.loads(db.execute("select models from col").fetchone()[0])
        names = {m["name"] for m in models.values()}
        assert {"srs basic", "srs choice", "Cloze", "Styled"} <= names
        ours = [m["id"] for m in models.values() if m["name"].startswith("srs ")]
        rows = db.execute(f"select flds from notes where mid in ({', '.join(map(str, ours))})").fetchall()
        assert rows and all(flds.split("\x1f")[4] == "" for (flds,) in rows)  # no Source
        guids = set(made.db.list("select guid from notes"))
        for (flds,) in db.execute("select flds from notes"):
            assert not any(guid in flds for guid in guids)
        db.close()
    finally:
        made.close()


def test_reimporting_srs_export_into_srs_changes_nothing(tmp_path, made, cli):
    package = export(made, tmp_path / "deck.apkg", legacy=False)
    counts = (made.note_count(), made.card_count())
    cli("import", str(package))
    before = cli.json("cards")
    out = tmp_path / "back.apkg"
    cli("export", "anki", str(out))
    other = type(cli)(tmp_path / "other.db")
    other("import", str(out))
    assert sorted((c["deck"], c["question"], c["answer"]) for c in other.json("cards")) == sorted(
        (c["deck"], c["question"], c["answer"]) for c in before)
    again = tmp_path / "again.apkg"
    other("export", "anki", str(again))
    log = anki_import(made, again).log
    assert len(log.new) == 0 and (made.note_count(), made.card_count()) == counts == (5, 8)


@pytest.mark.skipif(real_packages_dir() is None, reason="no folder of real packages (tests/anki/REAL_PACKAGES.md)")
def test_real_packages_round_trip():
    """Each real package: into srs, back out, into a collection that already holds it: nothing grows
    and Anki's media check finds no more missing files than with the package alone."""
    script = Path(__file__).parent.parent / "benchmarks" / "anki_round_trip.py"
    run = subprocess.run([sys.executable, str(script), str(real_packages_dir())], capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, run.stderr
    rows = [line.split("\t") for line in run.stdout.splitlines()[1:]]
    assert rows
    for row in rows:
        assert row[-2] == "yes" or "nothing to export" in row[-1], row


# -- review: media shown, opened and played ------------------------------------------------


def review_with(db: Path, lines: str, width: int = 120) -> str:
    from io import StringIO

    from rich.console import Console

    from srs.session import ReviewSession
    from srs.store import Store
    from srs.terminal import Keys, run_review

    out = StringIO()
    console = Console(file=out, width=width, force_terminal=False, highlight=False)
    store = Store(db)
    try:
        run_review(ReviewSession(store), console, Keys(console, StringIO(lines)))
    finally:
        store.close()
    return out.getvalue()


def test_an_image_only_question_says_how_to_see_it(tmp_path, made, cli, monkeypatch):
    import srs.media

    opened = []
    monkeypatch.setattr(srs.media, "find_opener", lambda: ["viewer"])
    monkeypatch.setattr(srs.media, "launch", lambda command, path: opened.append((command, path)) or True)
    cli("import", str(export(made, tmp_path / "deck.apkg", legacy=False)))
    text = review_with(cli.db, "o\n\n3\nq\n")
    assert "(image: photo.png — press o to open)" in text
    assert "[image: photo.png]" not in text
    assert "Opened: photo.png" in text
    assert len(opened) == 1 and opened[0][0] == ["viewer"] and opened[0][1].read_bytes() == PNG
    assert opened[0][1].parent == Path(str(cli.db) + ".media")
    assert len(cli.json("log")) == 1  # o did not answer: the card was then shown and rated once


class FakePlayer:
    played: list = []

    def __init__(self, command):
        assert command is not None

    def play(self, paths):
        FakePlayer.played.append(list(paths))
        return True

    def stop(self):
        pass


def test_audio_plays_on_a_key(tmp_path, made, cli, monkeypatch):
    import srs.media

    FakePlayer.played = []
    monkeypatch.setattr(srs.media, "Player", FakePlayer)
    monkeypatch.setattr(srs.media, "find_player", lambda: ["player"])
    cli("import", str(export(made, tmp_path / "deck.apkg", legacy=False)))
    cli("config", "Notes::Geo", "new_per_day", "0")
    cli("config", "bury_new_siblings", "false")  # "bonjour" and its reverse in one session
    # cards: the photo, then "bonjour" (its audio is on the answer), then its reverse (audio on the question)
    text = review_with(cli.db, "\n3\n\np\n3\np\nq\n")
    # the answer of "bonjour", then the question of its reverse; never the raw [sound:...]
    assert text.count("hello (audio: bonjour.mp3 — press p to play)") == 2 and "[sound:" not in text
    assert len(FakePlayer.played) == 2  # not automatically: standard input is not a terminal
    assert all(len(paths) == 1 and paths[0].read_bytes() == MP3 for paths in FakePlayer.played)


def test_player_plays_files_in_order_and_stops(tmp_path):
    import time

    from srs.media import Player

    log = tmp_path / "played.txt"
    sounds = [tmp_path / "a.mp3", tmp_path / "b.mp3"]
    player = Player([sys.executable, "-c", f"import sys; open({str(log)!r}, 'a').write(sys.argv[1] + '\\n')"])
    assert player.play(sounds)
    for _ in range(200):
        if log.exists() and len(log.read_text().splitlines()) == 2:
            break
        time.sleep(0.05)
    assert log.read_text().splitlines() == [str(s) for s in sounds]
    slow = Player([sys.executable, "-c", "import time; time.sleep(30)"])
    slow.play(sounds)
    process = slow._process
    slow.stop()
    assert process.wait(timeout=10) != 0 and slow._queue == []
    assert Player(None).play(sounds) is False


def test_no_player_says_so_in_one_line(tmp_path, made, cli, monkeypatch):
    import srs.media

    monkeypatch.setattr(srs.media, "find_player", lambda: None)
    monkeypatch.setattr(srs.media, "find_opener", lambda: None)
    cli("import", str(export(made, tmp_path / "deck.apkg", legacy=False)))
    text = review_with(cli.db, "o\nq\n")
    assert "No image viewer found (xdg-open or open); photo.png is at " in text
    cli("suspend", *[str(c["id"]) for c in cli.json("cards") if "photo" in c["question"]])
    cli("config", "Notes::Geo", "new_per_day", "0")
    text = review_with(cli.db, "\np\nq\n")
    assert text.count("No audio player found: install mpv, ffmpeg (ffplay) or sox (play) to hear the sound.") == 1


def test_autoplay_follows_the_deck_option(tmp_path, made, cli, monkeypatch):
    from io import StringIO

    from rich.console import Console

    import srs.media
    from srs.session import ReviewSession
    from srs.store import Store
    from srs.terminal import Keys, MediaView

    calls = []

    class FakePlayer:
        def __init__(self, command):
            pass

        def play(self, paths):
            calls.append([p.name for p in paths])
            return True

        def stop(self):
            pass

    monkeypatch.setattr(srs.media, "Player", FakePlayer)
    cli("import", str(export(made, tmp_path / "deck.apkg", legacy=False)))
    reverse = next(c for c in cli.json("cards") if c["question"].startswith("hello"))
    console = Console(file=StringIO(), width=100)
    keys = Keys(console, StringIO(""))
    keys.tty = True  # autoplay only plays on a terminal
    store = Store(cli.db)
    try:
        view = MediaView(console, keys)
        view.question(ReviewSession(store), store.card(reverse["id"]))
        assert len(calls) == 1 and calls[0][0].endswith(".mp3")
        cli("config", "Notes::French", "autoplay_audio", "false")
        view.question(ReviewSession(store), store.card(reverse["id"]))
        assert len(calls) == 1
    finally:
        store.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_image_only_card_on_a_terminal_without_graphics(tmp_path):
    """In tmux (no kitty graphics, no sixel) the image is named with the key that opens it."""
    from conftest import run_srs
    from test_terminal import Tmux

    made = build(tmp_path / "anki")
    package = export(made, tmp_path / "deck.apkg", legacy=False)
    made.close()
    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(package)).returncode == 0
    term = Tmux([sys.executable, "-m", "srs", "--db", str(db), "review"])
    try:
        screen = term.wait_for("Enter shows the answer")
        question = screen.split("Notes::French")[1].split("Enter shows the answer")[0]
        assert question.strip().splitlines()[-1].strip() == "(image: photo.png — press o to open)"
        term.keys("q")
        term.wait_for("EXIT=0")
    finally:
        term.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "anki21"])
def test_reimport_reads_only_media_it_does_not_keep(tmp_path, made, cli, monkeypatch, legacy):
    import srs.anki.package

    package = export(made, tmp_path / "deck.apkg", legacy=legacy)
    cli("import", str(package))
    read = []
    original = srs.anki.package.PackageMedia.read_each
    monkeypatch.setattr(srs.anki.package.PackageMedia, "read_each",
                        lambda self, names: read.extend(names) or original(self, names))
    again = cli("import", str(package)).stdout  # unchanged, media all kept: the package is not read again
    assert "0 added, 0 updated" in again and "media:" not in again
    assert read == []
    folder = Path(str(cli.db) + ".media")
    photo = next(p for p in folder.iterdir() if p.read_bytes() == PNG)
    photo.unlink()  # a file lost from the folder comes back from the package
    assert "media: 1 stored, 3 already kept, 0 missing" in cli("import", str(package)).stdout
    assert read == ["photo.png"] and photo.read_bytes() == PNG


def test_a_name_reused_for_other_content_is_reported(tmp_path, made, cli):
    cli("import", str(export(made, tmp_path / "deck.apkg", legacy=False)))
    (tmp_path / "other").mkdir()
    other = Collection(str(tmp_path / "other" / "collection.anki2"))
    try:
        name = other.media.write_data("photo.png", PNG[::-1])  # same name, same size, another picture
        note = other.new_note(other.models.by_name("Basic"))
        note["Front"], note["Back"] = f'other <img src="{name}">', "x"
        other.add_note(note, other.decks.id("Other"))
        result = cli("import", str(export(other, tmp_path / "other.apkg", legacy=True)))
    finally:
        other.close()
    assert "media: 1 file(s) replaced an earlier file of the same name: photo.png" in result.stdout
    db = sqlite3.connect(cli.db)
    file = db.execute("select file from media where name = 'photo.png'").fetchone()[0]
    db.close()
    assert (Path(str(cli.db) + ".media") / file).read_bytes() == PNG[::-1]
