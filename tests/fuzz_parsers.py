"""Coverage-guided fuzzing of every parser with atheris (run by hand, and briefly by the test suite).

    python tests/fuzz_parsers.py deck -atheris_runs=200000
    python tests/fuzz_parsers.py lesson|csv|apkg|html|template|schema [libFuzzer options]

The only acceptable outcomes are a parsed result or our own SrsError; anything else is
a crash that atheris reports with the input that caused it. `html` runs the Anki HTML
reducer (every entry point of `srs.anki.text`) and checks that no internal mark leaks into
its text; `template` renders fuzzed templates over fuzzed fields; `schema` changes a real
collection with fuzzed schema statements (generated columns, views, triggers, virtual
tables, expression indexes, odd columns) and reads it as a package: it must be read or
refused with SrsError, and when read its schema must be one `check_schema` accepts.
Give libFuzzer `-timeout=5` to catch inputs that take super-linear time.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import sqlite3
import sys
import tempfile
import zipfile

import atheris

with atheris.instrument_imports():
    from srs.anki import text as anki_text
    from srs.anki.package import check_schema
    from srs.anki.render import NoteFields, TemplateError, parse_template, render_card
    from srs.decks import parse_deck
    from srs.lessons import parse_lesson
    from srs.model import SrsError
    from srs.sources import read_source

from pathlib import Path

SCRATCH = Path(tempfile.mkdtemp(prefix="srs-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def text_of(data: bytes) -> str:
    return atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))


def deck(data: bytes) -> None:
    try:
        parse_deck(text_of(data), "fuzz.md")
    except SrsError:
        pass


def lesson(data: bytes) -> None:
    try:
        parse_lesson(text_of(data), "fuzz.txt")
    except SrsError:
        pass


def through_file(suffix: str, payload: bytes) -> None:
    path = SCRATCH / f"fuzz{suffix}"
    path.write_bytes(payload)
    try:
        read_source(path, with_progress=True)
    except SrsError:
        pass


def csv(data: bytes) -> None:
    through_file(".csv", data)


def apkg(data: bytes) -> None:
    # half the time, wrap the bytes in a zip with Anki's member names, to get past the zip layer
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            name = fdp.PickValueInList(["collection.anki2", "collection.anki21", "collection.anki21b", "media",
                                        "meta", "../evil"])
            archive.writestr(name, fdp.ConsumeBytes(fdp.remaining_bytes()))
        through_file(".apkg", buffer.getvalue())
    else:
        through_file(".apkg", fdp.ConsumeBytes(fdp.remaining_bytes()))


_MARKS = (anki_text._BREAK, anki_text._BLOCK, anki_text._TAB)


def html(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    question = fdp.ConsumeBool()
    fragment = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    shown, hints = anki_text.learner_text(fragment, question=question, typed={"Front": fragment[:20]})
    outputs = [shown, *hints, anki_text.html_to_text(fragment), anki_text.html_to_text(fragment, collapse=False),
               anki_text.html_to_text(fragment, ruby=False), anki_text.field_text(fragment)]
    for output in outputs:
        assert isinstance(output, str)
        assert not any(mark in output for mark in _MARKS if mark not in fragment), (fragment, output)
    anki_text.strip_html(fragment)
    anki_text.latex_as_text(fragment)
    anki_text.after_answer_rule(fragment)
    anki_text.choices_from_html(fragment)


def template(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    fields = [fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200)) for _ in range(2)]
    ordinal = fdp.ConsumeIntInRange(0, 3)
    cloze = fdp.ConsumeBool()
    qfmt = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400))
    afmt = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    try:
        rendered = render_card(parse_template(qfmt), parse_template(afmt), NoteFields(["Front", "Back"], fields),
                               ordinal, cloze=cloze, specials={"Tags": "a b", "Deck": "D", "Card": "Card 1"})
    except TemplateError:
        return
    if rendered is not None:
        for side, question in zip(rendered, (True, False)):
            anki_text.learner_text(side, question=question)


_SCHEMA_STATEMENTS = [
    "drop table notes",
    "drop table cards",
    "drop table col",
    "drop table revlog",
    "alter table notes rename to notes_old",
    "alter table cards rename to cards_old",
    "create table notes (id integer primary key, guid text, mid integer, tags text, flds text)",
    "create table notes (id integer primary key, guid, mid, tags, flds as ({expr}))",
    "create table notes (id integer primary key, guid, mid, tags, flds as ({expr}) stored)",
    "create table cards (id integer primary key, nid, did, ord, type, queue, due, ivl as ({expr}))",
    "create table col (id integer primary key, crt as ({expr}), models, decks, conf, dconf)",
    "create view notes as select {expr} as id, 'g' as guid, 1 as mid, '' as tags, {expr} as flds",
    "create view cards as with recursive n(i) as (select 1 union all select i + 1 from n) "
    "select i as id, i as nid, 1 as did, 0 as ord from n",
    "create trigger t after insert on notes begin select {expr}; end",
    "create virtual table {name} using fts4(a, b)",
    "create virtual table {name} using rtree(id, a, b)",
    "create index {name} on notes ({expr})",
    "create index {name} on cards (nid) where {expr}",
    "create table {name} (a, b as ({expr}))",
    "alter table notes add column {name} as ({expr})",
    "alter table cards add column {name} text",
    "update notes set flds = {expr}",
    "update notes set tags = {expr}",
    "update cards set ord = {expr}, type = {expr}, queue = {expr}, due = {expr}",
    "update col set models = {expr}",
    "update col set decks = {expr}",
    "update col set crt = {expr}",
    "insert into notes (id, guid, mid, tags, flds) values ({expr}, {expr}, {expr}, {expr}, {expr})",
    "insert into cards select id + 1, nid, did, ord + 1, mod, usn, type, queue, due, ivl, factor, reps, lapses, "
    "left, odue, odid, flags, data from cards",
    "delete from notes",
]
_EXPRESSIONS = ["1", "'x'", "printf('%.*c', 100000, 'x')", "zeroblob(1000)", "x'00ff'", "null", "-1",
                "9223372036854775807", "1e308", "'\x1f'", "'{{Front}}'", "'{\"1\": 5}'", "randomblob(10)",
                "flds || flds", "(select count(*) from cards)", "char(31)"]
_BASE_COLLECTION: list[bytes] = []


def _base_collection() -> bytes:
    if not _BASE_COLLECTION:
        import genanki

        model = genanki.Model(1607392319, "Basic fuzz", fields=[{"name": "Front"}, {"name": "Back"}],
                              templates=[{"name": "Card 1", "qfmt": "{{Front}}",
                                          "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"}])
        deck = genanki.Deck(2059400110, "Fuzz")
        deck.add_note(genanki.Note(model=model, fields=["q", "a"]))
        path = SCRATCH / "base.apkg"
        genanki.Package(deck).write_to_file(str(path))
        with zipfile.ZipFile(path) as archive:
            _BASE_COLLECTION.append(archive.read("collection.anki2"))
    return _BASE_COLLECTION[0]


def schema(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    conn = sqlite3.connect(":memory:")
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1_000_000)
    conn.deserialize(_base_collection())
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        statement = fdp.PickValueInList(_SCHEMA_STATEMENTS)
        fill = {"expr": fdp.PickValueInList(_EXPRESSIONS) if fdp.ConsumeBool() else
                fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40)),
                "name": fdp.PickValueInList(["x", "notes", "cards", "col", "revlog", "sqlite_x", "\"n\""])}
        try:
            conn.execute(statement.format(**fill))
        except (sqlite3.Error, KeyError, IndexError, ValueError, OverflowError):
            pass
    conn.commit()
    accepted = check_schema(conn) is None
    collection = conn.serialize()
    conn.close()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("collection.anki2", collection)
    path = SCRATCH / "fuzz.apkg"
    path.write_bytes(buffer.getvalue())
    try:
        read_source(path, with_progress=fdp.ConsumeBool())
    except SrsError as error:
        assert accepted or "not an Anki collection" in error.message, error.message
        return
    assert accepted, "a schema check_schema refuses was read"


TARGETS = {"deck": deck, "lesson": lesson, "csv": csv, "apkg": apkg, "html": html, "template": template,
           "schema": schema}

if __name__ == "__main__":
    target = TARGETS[sys.argv.pop(1)]
    os.environ.setdefault("SRS_NOW", "2026-01-01T00:00:00Z")
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
