"""The media store: content-addressed files beside the database that no name can escape."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.media import MediaStore, media_references, stored_name

HOSTILE = ["../evil.png", "/tmp/absolute.png", "a/../../up.mp3", "..\\windows.png", "sub/dir/x.png",
           "new\nline.png", "nul\x00byte.png", "C:\\drive.png", "~/home.png", "%2e%2e%2fenc.png", ".hidden", "..",
           "con", "ok name é.png"]


def hostile_package(tmp_path: Path) -> Path:
    """A legacy package whose notes reference media under hostile names, all present in the package."""
    anki = pytest.importorskip("anki")
    from anki.collection import Collection, ExportAnkiPackageOptions

    folder = tmp_path / "anki"
    folder.mkdir()
    col = Collection(str(folder / "collection.anki2"))
    for number, name in enumerate(HOSTILE):
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"] = f"card {number} [sound:{name}]"
        note["Back"] = f'<img src="{name}">'
        col.add_note(note, 1)
    bare = tmp_path / "bare.apkg"
    col.export_anki_package(out_path=str(bare), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=False, with_deck_configs=False, with_media=False, legacy=True))
    col.close()
    package = tmp_path / "hostile.apkg"
    with zipfile.ZipFile(bare) as source, zipfile.ZipFile(package, "w") as target:
        for info in source.infolist():
            if info.filename != "media":
                target.writestr(info, source.read(info))
        for number, name in enumerate(HOSTILE):
            target.writestr(str(number), f"content of {name!r}".encode())
        target.writestr("media", json.dumps({str(n): name for n, name in enumerate(HOSTILE)}))
    return package


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_hostile_names_stay_inside_the_media_folder(tmp_path, cli):
    package = hostile_package(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    cli.db = work / "srs.db"
    folder = work / "srs.db.media"
    # where each name would land if it were used as a path, from the folder or the working directory
    targets = {(base / name.replace("\x00", "")).resolve() for name in HOSTILE if name not in ("..", ".hidden")
               for base in (folder, work, Path.cwd())}
    assert not any(t.exists() for t in targets)
    before = files_under(tmp_path)
    result = cli("import", str(package))
    assert "media: " in result.stdout
    created = files_under(tmp_path) - before
    outside = {p for p in created if folder not in p.parents and not p.name.startswith("srs.db")}
    assert outside == set() and created
    assert not any(t.exists() for t in targets - set(created))
    db = sqlite3.connect(cli.db)
    rows = dict(db.execute("select name, file from media"))
    db.close()
    # every name Anki's own rules would accept is kept, however odd; each as a hashed file in the folder
    assert {"../evil.png", "/tmp/absolute.png", "ok name é.png", "con"} <= set(rows)
    for name, file in rows.items():
        path = folder / file
        assert path.parent == folder and path.read_bytes() == f"content of {name!r}".encode()
        assert MediaStore(cli.db).path(file) == path


def test_media_store_dedupes_and_refuses_what_is_not_a_stored_name(tmp_path):
    store = MediaStore(tmp_path / "srs.db")
    first = store.add(b"same", "a.PNG")
    second = store.add(b"same", "b.png")
    assert first[0] == second[0] and first[2] and not second[2]
    assert len(list(store.folder.iterdir())) == 1
    for bad in ("../srs.db", "/etc/passwd", first[0] + "/../../x", "", "x" * 64):
        assert store.path(bad) is None
    assert store.path(first[0]) == store.folder / first[0]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40), st.binary(max_size=64))
def test_any_name_makes_a_plain_file_name(name, data):
    import hashlib

    stored = stored_name(hashlib.sha256(data).hexdigest(), name)
    assert "/" not in stored and "\\" not in stored and ".." not in stored and stored[:64].isalnum()
    assert Path("media", stored).parent == Path("media")


def test_media_references_as_anki_finds_them():
    field = ('<img src="a.png"><IMG class=x SRC=\'b c.jpg\'><img src=d.gif> [sound:e&amp;f.mp3]'
             '<audio src="g.ogg"></audio><img src="https://example.com/h.png"><img src="data:image/png;base64,xx">'
             '<img src="a.png">')
    assert media_references(field) == ["a.png", "b c.jpg", "d.gif", "g.ogg", "e&f.mp3"]
    assert media_references("no media") == []
