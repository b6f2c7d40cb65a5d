"""Anki's schedule carried into srs, on real packages: per package, how many cards match Anki's view.

    .venv/bin/python benchmarks/anki_states.py [FOLDER]    # default: $SRS_REAL_PACKAGES, else ../shared/anki-packages

FOLDER holds packages and `reference/<name>.json`, Anki's own view of each (made with the official
`anki` library: per card its type, queue, due as a date or a time, interval, reps, lapses and memory
state). Each package is imported with `srs import --with-progress` into a fresh database, in the time
zone the reference was made in, and each card (by note guid and template) compared field by field.
Prints a table of match counts per field and the mismatches of each class. With `--memory`, also
compares the memory states srs computes for cards that have none (SM-2 collections) with the ones
the `anki` library computes for them (`compute_memory_state`, as when FSRS is switched on).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

FIELDS = ("state", "suspended", "buried", "due", "interval", "reps", "lapses", "stability", "difficulty")


def anki_side(card: dict, today: date) -> dict:
    state = card["type_name"]
    if state == "new":
        due = None
    elif card.get("due_timestamp_utc"):  # a learning step within a day: the exact time
        due = datetime.fromisoformat(card["due_timestamp_utc"])
    else:
        due = date.fromisoformat(card["due_date"]) if card.get("due_date") else None
    return {"state": state, "suspended": card["queue"] == -1, "buried": card["queue"] in (-2, -3), "due": due,
            "interval": card["ivl"] if state == "review" else None, "reps": card["reps"], "lapses": card["lapses"],
            "stability": card.get("stability"), "difficulty": card.get("difficulty")}


def srs_side(card: dict, day_start_hour: int = 4) -> dict:
    due = None
    if card["due"] and card["state"] != "new":
        from srs import clock

        due = datetime.fromisoformat(card["due"])
        if card["state"] == "review" or due != clock.day_start(clock.learner_day(due, day_start_hour), day_start_hour):
            due = clock.learner_day(due, day_start_hour) if card["state"] == "review" else due
        else:
            due = clock.learner_day(due, day_start_hour)  # a day-learning card: due on a day
    return {"state": card["state"], "suspended": card["suspended"], "buried": card["buried"], "due": due,
            "interval": card["interval_days"], "reps": card["reps"], "lapses": card["lapses"],
            "stability": card["stability"], "difficulty": card["difficulty"]}


def same(key: str, want, got) -> bool:
    if key == "due" and isinstance(want, datetime):
        return isinstance(got, datetime) and got == want
    if key in ("stability", "difficulty"):
        if want is None:
            return True  # Anki has none (FSRS off): srs's own, computed as Anki would, is not compared here
        return got is not None and abs(want - got) <= (5e-5 * max(1.0, abs(want)) if key == "stability" else 5e-4)
    return want == got


def compare(package: Path, reference: dict, work: Path) -> tuple[Counter, int, Counter, float]:
    db = work / f"{package.stem}.db"
    env = {**os.environ, "TZ": reference.get("timezone") or os.environ.get("TZ", "UTC")}
    env.pop("SRS_NOW", None)
    started = datetime.now()
    result = subprocess.run([sys.executable, "-m", "srs", "--db", str(db), "import", str(package), "--with-progress"],
                            capture_output=True, text=True, env=env)
    seconds = (datetime.now() - started).total_seconds()
    if result.returncode != 0:
        raise SystemExit(f"{package.name}: {result.stderr.strip()}")
    cards = json.loads(subprocess.run([sys.executable, "-m", "srs", "--db", str(db), "cards", "--json"],
                                      capture_output=True, text=True, env=env, check=True).stdout)
    import sqlite3

    source = dict(sqlite3.connect(db).execute("SELECT id, source_id FROM cards WHERE retired = 0").fetchall())
    ours = {source[c["id"]]: c for c in cards}
    today = date.fromisoformat(reference["collection"]["learner_today_date"])
    matched, classes = Counter(), Counter()
    compared = 0
    for card in reference["cards"]:
        key = card["guid"] if card["ord"] == 0 else f"{card['guid']}:{card['ord']}"
        got = ours.get(key)
        if got is None:
            classes["not imported (skipped card)"] += 1
            continue
        compared += 1
        want, have = anki_side(card, today), srs_side(got)
        for field in FIELDS:
            if same(field, want[field], have[field]):
                matched[field] += 1
            else:
                classes[f"{field}: anki {want[field] if field not in ('due',) else 'date'} ({card['type_name']}, "
                        f"queue {card['queue_name']})"] += 1
    return matched, compared, classes, seconds


def computed_memory(package: Path, db: Path, work: Path) -> tuple[int, int, int, list[str]]:
    """Cards without a memory state in the package: srs's against the one the `anki` library computes
    for them (`compute_memory_state`, what Anki does when FSRS is switched on). Returns (cards, same
    stability within 1%, same difficulty within 0.01, examples of differences)."""
    import sqlite3

    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    folder = work / f"{package.stem}-anki"
    folder.mkdir()
    col = Collection(str(folder / "collection.anki2"))
    try:
        if package.suffix == ".colpkg":
            col.close()
            col._backend.import_collection_package(col_path=str(folder / "collection.anki2"), backup_path=str(package),
                                                   media_folder=str(folder / "m"), media_db=str(folder / "m.db"))
            col.reopen()
        else:
            col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(
                merge_notetypes=False, with_scheduling=True, with_deck_configs=True)))
        ours = {source: (s, d) for source, s, d in sqlite3.connect(db).execute(
            "SELECT c.source_id, s.stability, s.difficulty FROM cards c JOIN card_state s ON s.card_id = c.id")}
        total = same_s = same_d = 0
        examples = []
        for cid in col.find_cards("-is:new"):
            card = col.get_card(cid)
            if card.memory_state is not None or card.type == 0:
                continue
            note = card.note()
            key = note.guid if card.ord == 0 else f"{note.guid}:{card.ord}"
            if key not in ours:
                continue
            want = col.compute_memory_state(cid)
            got = ours[key]
            total += 1
            ok_s = want.stability is not None and got[0] is not None and abs(want.stability - got[0]) <= 0.01 * want.stability
            ok_d = want.difficulty is not None and got[1] is not None and abs(want.difficulty - got[1]) <= 0.01
            same_s += ok_s
            same_d += ok_d
            if not (ok_s and ok_d) and len(examples) < 3:
                examples.append(f"{key}: anki s={want.stability} d={want.difficulty}, srs s={got[0]} d={got[1]}")
        return total, same_s, same_d, examples
    finally:
        col.close()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = Path(args[0] if args else os.environ.get("SRS_REAL_PACKAGES", str(Path(__file__).resolve().parents[2] / "shared" / "anki-packages")))
    memory = "--memory" in sys.argv  # also compare computed memory states with the anki library's
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ref_path in sorted((folder / "reference").glob("*.json")):
            reference = json.loads(ref_path.read_text())
            package = folder / reference["file"]
            if not package.exists() or not reference.get("cards"):
                continue
            matched, compared, classes, seconds = compare(package, reference, Path(tmp))
            rows.append((reference["name"], len(reference["cards"]), compared, matched, seconds))
            print(f"{reference['name']}: {compared}/{len(reference['cards'])} cards compared, import {seconds:.1f} s")
            for field in FIELDS:
                print(f"  {field:<11} {matched[field]:>5}/{compared}")
            for what, count in classes.most_common(8):
                print(f"    mismatch {count:>5}  {what[:110]}")
            if memory:
                total, same_s, same_d, examples = computed_memory(package, Path(tmp) / f"{package.stem}.db", Path(tmp))
                print(f"  computed memory states (no s/d in the package): {total} cards, stability {same_s}, "
                      f"difficulty {same_d} within 1% / 0.01 of the anki library's")
                for example in examples:
                    print(f"    {example}")
    print()
    print("| package | cards | compared | " + " | ".join(FIELDS) + " |")
    print("|---|---|---|" + "---|" * len(FIELDS))
    for name, total, compared, matched, _ in rows:
        print(f"| {name} | {total} | {compared} | " + " | ".join(
            f"{100 * matched[f] / compared:.1f}%" if compared else "-" for f in FIELDS) + " |")


if __name__ == "__main__":
    main()
