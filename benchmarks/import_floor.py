"""A floor for importing an Anki package that renders card text in Python: each step an
import has to take, done in its cheapest form, timed against the official `anki` library's
import of the same package in the same run.

    .venv/bin/python benchmarks/import_floor.py PACKAGE.apkg [--runs 5]

Steps, each the least any such import must do (so the sum is a lower bound, not a design):
- open: the package opened as srs opens it (zip read with caps, zstd, SQLite in memory) and
  the notes and cards rows fetched;
- render: each card's two sides joined from its template, cut once at its `{{...}}`, and the
  note's field values ({{FrontSide}} the question; no conditionals, filters or clozes);
- text: each side reduced to text by one C pass that drops every tag (`<[^>]*>`), and entities
  decoded where there are any: less than any correct reduction does (no line breaks, blocks,
  hidden elements, hints, ruby or pre);
- store: the very rows `srs import` stores for the package (read from a database it wrote
  beforehand, outside the clock) inserted into a fresh srs database by executemany, one
  statement per table, and committed (WAL and its checkpoint, as srs writes);
- srs: the real `srs import` (in process, as benchmarks/run.py times it).

"text, srs's reducer" times srs's own `learner_text` on the same sides (answers after their
answer rule), for a second floor: the same steps with a reduction that is right.

The anki column is `import_anki_package` as run.py times it, and also with the closing of the
collection (where Anki writes its own WAL back): srs's timing includes its commit and close.
"""

from __future__ import annotations

import argparse
import gc
import html
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-06-01T12:00:00Z"
os.environ.setdefault("SRS_NOW", NOW)

_ANY_TAG = re.compile(r"<[^>]*>")
_FIELD = re.compile(r"\{\{([^{}]*)\}\}")
TABLES = ("decks", "note_types", "notes", "cards", "card_state", "card_notes")


def open_step(package: Path) -> tuple[list, list, dict]:
    from srs.anki.package import open_collection
    from srs.anki.reader import _read_notetypes

    with open_collection(package) as (conn, _name):
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        notetypes = _read_notetypes(conn, tables)
        notes = conn.execute("select id, guid, mid, tags, flds from notes").fetchall()
        cards = conn.execute("select id, nid, did, ord, type, queue, due, ivl from cards order by nid, ord").fetchall()
    return notes, cards, notetypes


def render_step(notes: list, cards: list, notetypes: dict) -> list[str]:
    by_id = {nid: (mid, flds.split("\x1f")) for nid, _guid, mid, _tags, flds in notes}
    split: dict[tuple[int, int], tuple] = {}  # each template cut at its {{...}} once
    sides = []
    for _cid, nid, _did, ord_, *_ in cards:
        mid, fields = by_id[nid]
        notetype = notetypes.get(mid)
        if notetype is None or not notetype.templates:
            continue
        index = 0 if notetype.kind == 1 else min(ord_, len(notetype.templates) - 1)
        if (mid, index) not in split:
            split[mid, index] = tuple(_FIELD.split(side) for side in notetype.templates[index])
        values = dict(zip(notetype.fields, fields))
        question = None
        for parts in split[mid, index]:
            values["FrontSide"] = question or ""
            side = "".join(part if i % 2 == 0 else values.get(part.split(":")[-1].strip(), "")
                           for i, part in enumerate(parts))
            question = question or side
            sides.append(side)
    return sides


def text_step(sides: list[str]) -> list[str]:
    out = []
    for side in sides:
        text = _ANY_TAG.sub("", side)
        out.append(html.unescape(text) if "&" in text else text)
    return out


def srs_text_step(sides: list[str]) -> None:
    """The same sides reduced by srs's own reducer (questions, and answers after their answer rule)."""
    from srs.anki.text import after_answer_rule, learner_text

    for number, side in enumerate(sides):
        question = number % 2 == 0
        learner_text(side if question else after_answer_rule(side), question=question)


def stored_rows(package: Path, folder: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """The rows `srs import` stores for the package, by table (read from a real import)."""
    db = folder / "reference.db"
    srs_import(package, db)
    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in TABLES:
            columns = [row[1] for row in conn.execute(f"pragma table_info({table})")]
            out[table] = (columns, conn.execute(f"select * from {table}").fetchall())
        return out
    finally:
        conn.close()


def store_step(rows: dict, db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            columns, values = rows[table]
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             values)
        conn.execute("COMMIT")
    finally:
        conn.close()


def srs_import(package: Path, db: Path) -> float:
    from typer.testing import CliRunner

    from srs.cli import app

    gc.collect()
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["--db", str(db), "import", str(package)], env={"SRS_NOW": NOW})
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return seconds


def anki_import(package: Path, folder: Path) -> tuple[float, float] | None:
    try:
        from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    except ImportError:
        return None
    folder.mkdir(parents=True)
    col = Collection(str(folder / "collection.anki2"))
    gc.collect()
    started = time.perf_counter()
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(
        merge_notetypes=False, with_scheduling=True, with_deck_configs=True)))
    imported = time.perf_counter()
    col.close()
    return imported - started, time.perf_counter() - started


def main() -> None:
    from srs.store import Store

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    package = Path(args.package).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="srs-floor-"))
    try:
        rows = stored_rows(package, scratch)
        times: dict[str, list[float]] = {}
        for run in range(args.runs + 1):  # the first run warms caches and is not counted
            work = scratch / f"run-{run}"
            work.mkdir()
            measured = {}
            anki = anki_import(package, work / "anki")
            if anki is not None:
                measured["anki import"], measured["anki import + close"] = anki
            gc.collect()
            started = time.perf_counter()
            notes, cards, notetypes = open_step(package)
            measured["open"] = time.perf_counter() - started
            started = time.perf_counter()
            sides = render_step(notes, cards, notetypes)
            measured["render"] = time.perf_counter() - started
            started = time.perf_counter()
            text_step(sides)
            measured["text"] = time.perf_counter() - started
            started = time.perf_counter()
            srs_text_step(sides)
            measured["text, srs's reducer"] = time.perf_counter() - started
            db = work / "floor.db"
            Store(db).close()  # the schema, made outside the clock (as run.py does for srs)
            started = time.perf_counter()
            store_step(rows, db)
            measured["store"] = time.perf_counter() - started
            db = work / "srs.db"
            Store(db).close()
            measured["srs import"] = srs_import(package, db)
            if run:
                for key, value in measured.items():
                    times.setdefault(key, []).append(value)
            shutil.rmtree(work)
        median = {key: statistics.median(values) * 1000 for key, values in times.items()}
        floor = sum(median[key] for key in ("open", "render", "text", "store"))
        reduced = floor - median["text"] + median["text, srs's reducer"]
        print(f"{package.name}: {len(cards):,} cards, {sum(map(len, sides)) / 1e6:.1f} MB of rendered HTML "
              f"(median of {args.runs} runs, ms)")
        for key, value in median.items():
            print(f"  {key:22s} {value:7.1f}")
        print(f"  {'floor (open+render+text+store)':22s} {floor:7.1f}")
        print(f"  {'the same with srs reducer':22s} {reduced:7.1f}")
        if "anki import" in median:
            for label, value in (("floor", floor), ("floor with srs's reducer", reduced),
                                 ("srs import", median["srs import"])):
                print(f"  {label} / anki import {value / median['anki import']:.2f}x, "
                      f"with close {value / median['anki import + close']:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
