"""Anki's own view of each real package: import it with the official `anki` library, dump every card.

Usage (the project's venv, with the test extra, which has `anki`):

    .venv/bin/python benchmarks/anki_reference.py FOLDER            # every package in FOLDER/manifest.json
    .venv/bin/python benchmarks/anki_reference.py FOLDER NAME ...   # only these

FOLDER holds the packages and their `manifest.json` (tests/anki/REAL_PACKAGES.md says where each
comes from; they are not in the repository). Writes FOLDER/reference/<name>.json, which
tests/test_anki_states.py compares srs's import with. Each package goes into a FRESH collection in a
temporary folder (the `anki` library writes files), never into anything else:

* `.apkg`: `Collection.import_anki_package` with `with_scheduling=True`, `with_deck_configs=True`,
  `merge_notetypes=False` (as tests/test_anki.py's `anki_import` helper, plus deck configs).
* `.colpkg`: a whole collection: the backend's `import_collection_package` (what Anki's
  File > Import does for a .colpkg) replaces the fresh collection, which is then reopened.

`anki_import_seconds` is the wall time of that one import call (no rendering, no dumping): the
fastest of 3 imports, each into its own fresh collection (all 3 in `anki_import_seconds_runs`, and
the process CPU time of each in `anki_import_cpu_seconds_runs`: on this machine some legacy .apkg
imports spend most of their wall time waiting on the disk, e.g. 5-9 s wall for 0.4 s CPU).

`package_collection` is the package's own collection opened directly (a decompressed copy): its
`schedVer`, FSRS switch and the deck options of its decks. An .apkg import into a fresh collection
keeps the fresh collection's Default preset (id 1), so `deck_configs` (what the imported cards use in
Anki) can differ from the package's own options; a .colpkg replaces the whole collection.

Per card: ids, note guid, ord, deck, note type, type/queue/due/odid/odue/ivl/factor/reps/lapses/left,
`data` (raw and parsed: s, d, dr, decay, lrt, ...), the due as a learner day relative to
`col.sched.today` and as a calendar date, `card.question()` / `card.answer()` HTML, the same reduced to
text by `srs.anki.text.html_to_text`, and the audio/video tags of each side.

Dates. An .apkg imported into a fresh collection has its review due days shifted by Anki to the new
collection's `crt`, so the raw `due` numbers differ from the package's; compare as calendar dates:
`due_date = learner_today_date + (due - sched.today)` for review cards and day-learning cards
(queue 2/3, or type 2/3 when suspended/buried), and the local time of the timestamp for
(re)learning cards in queue 1. `learner_today_date` is today's date at the collection's rollover
hour in this machine's time zone (recorded with it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent  # replaced by the FOLDER argument in main()
MAIN = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(MAIN))

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest  # noqa: E402
from anki.buildinfo import version as ANKI_VERSION  # noqa: E402

from srs.anki.text import html_to_text  # noqa: E402

QUEUE_NAMES = {-3: "buried_manual", -2: "buried_sibling", -1: "suspended", 0: "new", 1: "learning",
               2: "review", 3: "day_learning", 4: "preview"}  # fmt: skip
TYPE_NAMES = {0: "new", 1: "learning", 2: "review", 3: "relearning"}


def srs_commit() -> str | None:
    try:
        return subprocess.check_output(["git", "-C", str(MAIN), "rev-parse", "HEAD"], text=True).strip()
    except Exception:
        return None


def learner_today_date(col: Collection) -> dt.date:
    rollover = col.get_config("rollover", 4)
    if not isinstance(rollover, int):
        rollover = 4
    now = dt.datetime.now().astimezone()
    return (now - dt.timedelta(hours=rollover)).date()


def import_package(pkg: Path, workdir: Path) -> tuple[Collection, float, dict]:
    col_path = workdir / "collection.anki2"
    col = Collection(str(col_path))
    info: dict = {}
    if pkg.suffix == ".colpkg":
        media_folder = str(workdir / "collection.media")
        media_db = str(workdir / "collection.media.db2")
        col.close()  # the backend must have no collection open; the same backend then imports
        start, cpu = time.perf_counter(), time.process_time()
        col._backend.import_collection_package(
            col_path=str(col_path), backup_path=str(pkg), media_folder=media_folder, media_db=media_db
        )
        seconds = time.perf_counter() - start
        info["cpu_seconds"] = time.process_time() - cpu
        col.reopen()
        info["method"] = "backend.import_collection_package (whole collection)"
    else:
        request = ImportAnkiPackageRequest(
            package_path=str(pkg),
            options=ImportAnkiPackageOptions(merge_notetypes=False, with_scheduling=True, with_deck_configs=True),
        )
        start, cpu = time.perf_counter(), time.process_time()
        log = col.import_anki_package(request)
        seconds = time.perf_counter() - start
        info["cpu_seconds"] = time.process_time() - cpu
        info["method"] = "Collection.import_anki_package(with_scheduling=True, with_deck_configs=True, merge_notetypes=False)"
        lg = log.log
        info["import_log"] = {
            "new": len(lg.new), "updated": len(lg.updated), "duplicate": len(lg.duplicate),
            "conflicting": len(lg.conflicting), "first_field_match": len(lg.first_field_match),
            "missing_notetype": len(lg.missing_notetype), "empty_first_field": len(lg.empty_first_field),
            "found_notes": lg.found_notes,
        }  # fmt: skip
    return col, seconds, info


def parse_data(raw: str) -> dict | None:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except Exception:
        return {"unparsed": raw}


def due_info(card, today: int, today_date: dt.date) -> dict:
    out: dict = {"due_minus_today": None, "due_date": None, "due_timestamp_utc": None}
    queue, ctype, due = card.queue, card.type, card.due
    if card.odid:  # in a filtered deck: the home schedule is in odue
        home_due = card.odue
    else:
        home_due = due
    day_based = queue in (2, 3) or (queue in (-1, -2, -3) and ctype in (2, 3))
    if queue == 1 or (queue in (-1, -2, -3) and ctype in (1, 3) and home_due > 1_000_000_000):
        # (re)learning in intraday queue: due is a unix timestamp (seconds)
        out["due_timestamp_utc"] = dt.datetime.fromtimestamp(home_due, dt.timezone.utc).isoformat()
        out["due_date"] = dt.datetime.fromtimestamp(home_due).astimezone().date().isoformat()
        out["due_minus_today"] = (dt.datetime.fromtimestamp(home_due).date() - today_date).days
    elif day_based or (card.odid and ctype in (2, 3)):
        if home_due < 1_000_000_000:
            out["due_minus_today"] = home_due - today
            out["due_date"] = (today_date + dt.timedelta(days=home_due - today)).isoformat()
    return out


def dump_card(col: Collection, cid: int, today: int, today_date: dt.date, deck_names: dict, model_names: dict) -> dict:
    card = col.get_card(cid)
    note = card.note()
    raw_data = col.db.scalar("select data from cards where id = ?", cid) or ""
    data = parse_data(raw_data)
    question = card.question()
    answer = card.answer()
    row = {
        "cid": card.id,
        "nid": card.nid,
        "guid": note.guid,
        "ord": card.ord,
        "deck": deck_names.get(card.did, str(card.did)),
        "did": card.did,
        "odeck": deck_names.get(card.odid) if card.odid else None,
        "notetype": model_names.get(note.mid, str(note.mid)),
        "mid": note.mid,
        "tags": note.tags,
        "type": card.type,
        "type_name": TYPE_NAMES.get(card.type),
        "queue": card.queue,
        "queue_name": QUEUE_NAMES.get(card.queue),
        "due": card.due,
        "odid": card.odid,
        "odue": card.odue,
        "ivl": card.ivl,
        "factor": card.factor,
        "reps": card.reps,
        "lapses": card.lapses,
        "left": card.left,
        "flags": card.flags,
        "data_raw": raw_data,
        "data": data,
        "stability": (data or {}).get("s"),
        "difficulty": (data or {}).get("d"),
        "desired_retention": (data or {}).get("dr"),
        "last_review_time": (data or {}).get("lrt"),
        "revlog_count": col.db.scalar("select count() from revlog where cid = ?", cid),
        **due_info(card, today, today_date),
        "question_html": question,
        "answer_html": answer,
        "text_question": html_to_text(question),
        "text_answer": html_to_text(answer),
        "question_av": [getattr(t, "filename", None) or getattr(t, "field_text", None) for t in card.question_av_tags()],
        "answer_av": [getattr(t, "filename", None) or getattr(t, "field_text", None) for t in card.answer_av_tags()],
    }
    return row


def deck_configs(col: Collection, dids: set[int]) -> dict:
    out = {}
    for did in sorted(dids):
        deck = col.decks.get(did, default=False)
        if not deck:
            continue
        entry = {"name": deck["name"], "dyn": bool(deck.get("dyn")), "deck": deck}
        if not deck.get("dyn"):
            conf = col.decks.config_dict_for_deck_id(did)
            entry["config"] = conf
            entry["summary"] = {
                "config_id": conf.get("id"),
                "config_name": conf.get("name"),
                "new_per_day": conf.get("new", {}).get("perDay"),
                "reviews_per_day": conf.get("rev", {}).get("perDay"),
                "learn_steps": conf.get("new", {}).get("delays"),
                "relearn_steps": conf.get("lapse", {}).get("delays"),
                "max_ivl": conf.get("rev", {}).get("maxIvl"),
                "desired_retention": conf.get("desiredRetention"),
                "deck_desired_retention": deck.get("desiredRetention"),
                "fsrs_params_4": conf.get("fsrsWeights"),
                "fsrs_params_5": conf.get("fsrsParams5"),
                "fsrs_params_6": conf.get("fsrsParams6"),
                "new_order": {k: conf.get(k) for k in ("newGatherPriority", "newSortOrder", "newMix") if k in conf},
            }
        out[str(did)] = entry
    return out


def package_view(pkg: Path, workdir: Path) -> dict:
    """The package's own collection, opened directly (a copy, decompressed if zstd): its scheduler
    version, FSRS switch, rollover and deck options. An .apkg import does not carry these over
    (the fresh collection keeps its own Default preset, id 1), so they are recorded here."""
    import zipfile

    import zstandard

    z = zipfile.ZipFile(pkg)
    names = z.namelist()
    member = next(m for m in ("collection.anki21b", "collection.anki21", "collection.anki2") if m in names)
    data = z.read(member)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    copy_dir = workdir / "package-copy"
    copy_dir.mkdir()
    path = copy_dir / "collection.anki2"
    path.write_bytes(data)
    col = Collection(str(path))
    try:
        dids = [d.id for d in col.decks.all_names_and_ids()]
        return {
            "member": member,
            "schedVer": col.sched_ver(),
            "fsrs_enabled": bool(col.get_config("fsrs", False)),
            "rollover": col.get_config("rollover", None),
            "crt": col.crt,
            "deck_configs": deck_configs(col, set(dids)),
        }
    finally:
        col.close()


def reference(pkg: Path, name: str, timing_runs: int = 3) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"anki-ref-{name}-"))
    try:
        col, seconds, info = import_package(pkg, workdir)
        runs, cpu_runs = [seconds], [info.pop("cpu_seconds")]
        for i in range(timing_runs - 1):  # the same import into other fresh collections, for timing only
            extra = workdir / f"timing-{i}"
            extra.mkdir()
            other, more, more_info = import_package(pkg, extra)
            other.close()
            runs.append(more)
            cpu_runs.append(more_info["cpu_seconds"])
        try:
            today = col.sched.today
            today_date = learner_today_date(col)
            deck_names = {d.id: d.name for d in col.decks.all_names_and_ids()}
            model_names = {m.id: m.name for m in col.models.all_names_and_ids()}
            cids = sorted(col.find_cards(""))
            cards = [dump_card(col, cid, today, today_date, deck_names, model_names) for cid in cids]
            dids = {c["did"] for c in cards} | {c["odid"] for c in cards if c["odid"]}
            revlog_types = dict(col.db.all("select type, count() from revlog group by type"))
            out = {
                "name": name,
                "file": pkg.name,
                "anki_version": ANKI_VERSION,
                "srs_commit": srs_commit(),
                "generated_at_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "timezone": str(dt.datetime.now().astimezone().tzinfo),
                "import": info,
                "anki_import_seconds": round(min(runs), 4),
                "anki_import_seconds_runs": [round(r, 4) for r in runs],
                "anki_import_cpu_seconds_runs": [round(r, 4) for r in cpu_runs],
                "collection": {
                    "schedVer": col.sched_ver(),
                    "v3_scheduler": col.v3_scheduler(),
                    "fsrs_enabled": bool(col.get_config("fsrs", False)),
                    "sched_today": today,
                    "learner_today_date": today_date.isoformat(),
                    "crt": col.crt,
                    "crt_date_utc": dt.datetime.fromtimestamp(col.crt, dt.timezone.utc).isoformat(),
                    "rollover": col.get_config("rollover", None),
                    "cards": col.card_count(),
                    "notes": col.note_count(),
                    "revlog": col.db.scalar("select count() from revlog"),
                    "revlog_by_type": {str(k): v for k, v in revlog_types.items()},
                    "media_files": len(os.listdir(col.media.dir())) if os.path.isdir(col.media.dir()) else 0,
                },
                "deck_configs": deck_configs(col, dids),
                "package_collection": package_view(pkg, workdir),
                "cards": cards,
            }
        finally:
            col.close()
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    global HERE
    if not argv:
        raise SystemExit(__doc__)
    HERE, argv = Path(argv[0]).resolve(), argv[1:]
    manifest = json.loads((HERE / "manifest.json").read_text())
    wanted = set(argv)
    (HERE / "reference").mkdir(exist_ok=True)
    for entry in manifest:
        if wanted and entry["name"] not in wanted:
            continue
        pkg = HERE / entry["file"]
        out = reference(pkg, entry["name"])
        path = HERE / "reference" / f"{entry['name']}.json"
        path.write_text(json.dumps(out, ensure_ascii=False, indent=1))
        c = out["collection"]
        print(f"{entry['name']}: {c['cards']} cards, {c['revlog']} revlog, import {out['anki_import_seconds']:.2f}s"
              f" (cpu {min(out['anki_import_cpu_seconds_runs']):.2f}s) -> {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
