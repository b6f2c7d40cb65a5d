"""The srs benchmark suite: cold commands, imports, exports and review latency, against targets.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--quick] [--runs 5] [--json]

For each size it builds (or reuses, from the cache folder) a collection of that many
cards with ten reviews per card (`make_collection.py`), copies it to a scratch folder
and measures, with SRS_NOW set to the collection's fixed "now":

- cold-process wall time (median of --runs, after one unmeasured warm-up run, so the
  OS file cache and .pyc files are warm) of `srs --help`, `srs status`, `srs stats` (target:
  within 10x `python -c "import typer"`), `srs cards --json` (output to a file; streamed: peak
  memory under 100 MB), with the console script (`srs` next to this
  Python) and, for --help and status, also with `python -m srs`; CPU time and peak
  memory (ru_maxrss of that one child, from os.wait4) beside each;
- in process, a search with three terms (`srs.query`: a word, a state, a property) read to
  its last card (target: under 300 ms at 100,000 cards);
- `srs import` of a generated 10,000-card deck file into a copy of the collection, and
  its unchanged re-import; and of a 10,000-card deck of every card kind (`mixed_deck_text`:
  basic, choice with code in the question, cloze, typed, reversed, multi-line questions, images);
- `srs export anki OUT.apkg` with and without --with-progress, with peak memory;
- in process, rescheduling every card to another parameter set (what `srs optimize --apply`
  and `--reset` do, `Store.reschedule`): total time, the longest single write transaction,
  and the wall time of each answer another process makes meanwhile (target: under 1 s);
- in process, the latency from an answer to the next card being ready in a
  `ReviewSession` (`answer()` then `next_card()`, commit included, with the session's WAL
  checkpoint every CHECKPOINT_EVERY answers), median and 99th percentile over --answers
  answers; and the same plus `remaining()` and `preview()`, which the terminal also calls
  before showing a card;
- in process, what a write command pays before it starts: `Store.check_writable()`
  (`PRAGMA quick_check` and a rolled-back write).

Then, on the 10,000-card collection (or the size nearest below it that is run), the spread
of daily review counts over --balance-days simulated days (60; 20 with --quick) with Anki's
load balancer and with plain fuzz (`load_balance.py`: a learner studying every day through
a `ReviewSession`; its docstring says which path schedules the intervals).

References measured in the same run are printed beside the figures: `python -c "import
typer"` (the floor of our CLI framework) for cold starts, and a bare sqlite3 query
(`SELECT count(*) FROM card_state WHERE due <= ?`, in process) for the store. Commands
that do not exist yet print "n/a". Timings are wall time on whatever else the machine is
running: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_collection import GENERATOR_VERSION, NOW, NOW_TEXT, deck_file_text  # noqa: E402
from srs.session import CHECKPOINT_EVERY  # noqa: E402

REVIEWS_PER_CARD = 10
STATUS_VS_TYPER = 1.5
P99_MS = 10.0
LIMITS_S = {"stats": 2.0, "cards --json": 3.0, "import": 3.0, "re-import": 1.0, "export+progress": 30.0}
EXPORT_MB = 500
STATS_VS_TYPER = 10.0
CARDS_JSON_MB = 100
SEARCH_MS = 300
SEARCH_QUERY = "gene is:review prop:r<0.95"  # a word (every card's text read), a state, a property
BUILD_S = 60  # make_collection of 100,000 cards and 1,000,000 reviews


@dataclass
class Row:
    measure: str
    cards: int | None
    seconds: float | None  # the median (None: not measured, "n/a")
    cpu: float | None = None  # median CPU seconds (user + system) of the child
    p99: float | None = None
    peak_mb: float | None = None
    reference: str = ""
    target: str = ""
    holds: bool | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)


# -- running things --------------------------------------------------------------------


# A small process forks and execs each measured command and reports its wall time and rusage:
# a child's ru_maxrss counts the memory of the process it was forked from, so forking from
# this (growing) process would inflate every peak.
_HELPER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
sys.stderr.write(f"\\n@@bench {wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} "
                 f"{os.waitstatus_to_exitcode(status)}\\n")
"""


def run_child(argv: list[str], env: dict, stdout: Path | None = None) -> tuple[float, float, float, int, str]:
    """One process: (wall s, cpu s, peak MB, exit code, stderr tail)."""
    with tempfile.TemporaryFile() as err, open(stdout or os.devnull, "wb") as out:
        subprocess.run([sys.executable, "-S", "-c", _HELPER, *argv], stdout=out, stderr=err,
                       stdin=subprocess.DEVNULL, env=env, check=False)
        err.seek(0)
        text = err.read().decode(errors="replace")
    body, _, report = text.rpartition("@@bench ")
    if not report:
        raise RuntimeError(f"could not run {' '.join(argv)}: {text[-500:]}")
    wall, cpu, peak_kb, code = report.split()
    return float(wall), float(cpu), int(peak_kb) / 1024, int(code), body[-500:]


def cold(measure: str, cards: int | None, argv: list[str], env: dict, runs: int, *, warmup: int = 1,
         stdout: Path | None = None, prepare=None) -> Row:
    """Median of `runs` fresh processes after `warmup` unmeasured ones; `prepare()` runs before each."""
    walls, cpus, peaks = [], [], []
    for number in range(warmup + runs):
        if prepare:
            prepare()
        wall, cpu, peak, code, tail = run_child(argv, env, stdout)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {tail}")
        if number >= warmup:
            walls.append(wall), cpus.append(cpu), peaks.append(peak)
    return Row(measure, cards, statistics.median(walls), statistics.median(cpus), peak_mb=max(peaks),
               samples=walls)


def exists(launcher: list[str], *command: str) -> bool:
    """Whether `srs COMMAND --help` works (another engineer may not have added it yet)."""
    return subprocess.run([*launcher, *command, "--help"], capture_output=True).returncode == 0


def launchers() -> dict[str, list[str]]:
    found = {"-m": [sys.executable, "-m", "srs"]}
    script = Path(sys.executable).parent / "srs"
    if not script.exists() and shutil.which("srs"):
        script = Path(shutil.which("srs"))
    if script.exists():
        found["script"] = [str(script)]
    return found


def mixed_deck_text(name: str, cards: int, folder: Path, seed: int = 0) -> str:
    """A deck file of `cards` cards of every kind (README "Deck files"), in equal shares by heading:
    basic, basic with a multi-line question, reversed (2 cards), choice with a code block in the
    question, cloze with two or three deletions (2-3 cards), typed with alternatives, and an image
    (one of ten small files written into `folder`) on every tenth heading."""
    rng = random.Random(seed)
    for index in range(10):
        (folder / f"bench-image-{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([index]) * 256)
    out = [f"# {name}", "", "A generated deck of every card kind, for benchmarks.", ""]
    made = number = 0
    while made < cards:
        number += 1
        words = " ".join(rng.choice(("alpha", "beta", "gamma", "delta", "sigma", "omega")) for _ in range(6))
        image = [f"![figure {number}](bench-image-{number // 10 % 10}.png)"] if number % 10 == 0 else []
        kind = number % 6 if cards - made > 2 else 0
        if kind == 0:
            out += [f"## Question {number}: {words}?", *image, f"Answer {number}: {words}"]
            made += 1
        elif kind == 1:
            out += [f"## Question {number}", f"in two lines: {words}?", *image, "---", f"Answer {number}"]
            made += 1
        elif kind == 2:
            out += [f"## Word {number} {words}", *image, "<->", f"Wort {number}"]
            made += 2
        elif kind == 3:
            out += [f"## What does snippet {number} print?", "```python", f"def f{number}(x):",
                    "    if x > 1:", "        return x * 2", "    return x", f"print(f{number}({number % 7}))", "```",
                    *image, "- [ ] 0", f"- [x] {number % 7 * 2 if number % 7 > 1 else number % 7}", "- [ ] 99"]
            if number % 7 in (0, 99):
                out[-3] = "- [ ] 100"
            made += 1
        elif kind == 4:
            deletions = min(2 + number // 6 % 2, cards - made)
            text = " ".join(f"{{{{c{n}::{word}}}}}" if n <= deletions else word
                            for n, word in enumerate(words.split()[:3], start=1))
            out += [f"## Cloze {number}: {text} and {words}", *image]
            made += deletions
        else:
            out += [f"## Spell word {number} ({words})", *image, f"= answer{number} | reply{number}"]
            made += 1
        out.append("")
    return "\n".join(out)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# -- collections ------------------------------------------------------------------------


def collection(cache: Path, cards: int, seed: int) -> Path:
    """The cached collection of `cards` cards (built once, atomically; brought up to the current schema)."""
    from srs.store import Store

    reviews = cards * REVIEWS_PER_CARD
    path = cache / f"collection-{cards}c-{reviews}r-seed{seed}-gen{GENERATOR_VERSION}.db"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for leftover in cache.glob(partial.name + "*"):
            leftover.unlink()
        print(f"building {path.name} ...", file=sys.stderr, flush=True)
        built = subprocess.run([sys.executable, str(Path(__file__).with_name("make_collection.py")), "--cards",
                                str(cards), "--reviews", str(reviews), "--seed", str(seed), "--db", str(partial),
                                "--json"], check=True, stdout=subprocess.PIPE, text=True)
        summary = json.loads(built.stdout.strip().splitlines()[-1])
        print(f"  built in {summary['seconds']['total']:.1f} s", file=sys.stderr, flush=True)
        path.with_suffix(".json").write_text(json.dumps(summary))
        partial.replace(path)
    Store(path).close()  # applies any migration added since it was built, so no measured run pays for it
    for backup in cache.glob(path.name + ".v*.bak"):
        backup.unlink()
    return path


def describe(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        reviews = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
        states = dict(conn.execute("SELECT state, count(*) FROM card_state WHERE retired = 0 GROUP BY state"))
        due = conn.execute("SELECT count(*) FROM card_state WHERE state > 0 AND retired = 0 AND suspended = 0 "
                           "AND due <= ?", (NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),)).fetchone()[0]
    finally:
        conn.close()
    names = ("new", "learning", "review", "relearning")
    return (f"{reviews:,} reviews; " + ", ".join(f"{states.get(i, 0):,} {n}" for i, n in enumerate(names))
            + f"; {due:,} due now; {db.stat().st_size / 2**20:.0f} MB")


SQL_REFERENCE = "SELECT count(*) FROM card_state WHERE due <= ?"


def sql_reference(db: Path, repeat: int = 200) -> float:
    """Median time of a bare due-count query through Python's sqlite3, in process."""
    conn = sqlite3.connect(db)
    try:
        now = NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(SQL_REFERENCE, (now,)).fetchone()
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    return statistics.median(times)


# -- review latency, in process --------------------------------------------------------


def answer_latency(db: Path, answers: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """Seconds from before `answer()` to after the next `next_card()`; and the same plus remaining() and preview().

    The session's clock starts at NOW and moves on by each answer's duration; when the
    day's queue is empty it moves to the next day.
    """
    from srs.session import ReviewSession
    from srs.store import Store

    store = Store(db)
    moment = [NOW]
    session = ReviewSession(store, now=lambda: moment[0])
    rng = random.Random(seed)
    card = session.next_card()
    if card is not None:
        session.remaining(), session.preview(card)  # as the terminal does before the first answer
    bare, full, days = [], [], 0
    while len(bare) < answers:
        if card is None:
            days += 1
            if days > 365:
                break
            moment[0] = NOW + timedelta(days=days)
            card = session.next_card()
            continue
        rating = rng.choices((1, 2, 3, 4), (0.12, 0.08, 0.7, 0.1))[0]
        duration = rng.randint(2_000, 20_000)
        choice = None
        if card.spec.options:
            choice = card.spec.answer if rating > 1 and card.spec.answer else card.spec.options[0]
        moment[0] += timedelta(milliseconds=duration)
        started = time.perf_counter()
        session.answer(card, rating, duration, choice)
        card = session.next_card()
        ready = time.perf_counter()
        if card is not None:
            session.remaining(), session.preview(card)
        shown = time.perf_counter()
        bare.append(ready - started)
        full.append(shown - started)
    store.close()
    return bare, full


def quick_check_rows(db: Path, cards: int, repeat: int = 5) -> list[Row]:
    """What every write command pays before it starts (`Store.check_writable`: PRAGMA quick_check and a
    rolled-back write; above BACKGROUND_CHECK_BYTES, every table but the review log at once and the whole
    file in a thread the first write waits for), and the full quick_check alone; in process, warm file
    cache; median and the slowest of `repeat`."""
    from srs.store import BACKGROUND_CHECK_BYTES, Store

    store = Store(db)
    before, full = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        store.check_writable()
        before.append(time.perf_counter() - started)
        store._wait_for_check()
        started = time.perf_counter()
        store.conn.execute("PRAGMA quick_check").fetchall()
        full.append(time.perf_counter() - started)
    store.close()
    size = db.stat().st_size / 1e6
    background = db.stat().st_size > BACKGROUND_CHECK_BYTES
    return [Row("write command: check before it starts", cards, statistics.median(before), p99=max(before),
                note=f"{size:.0f} MB; " + ("all tables but the review log; the whole file in a thread"
                                           if background else "quick_check + write probe") + f"; p99 = max of {repeat}"),
            Row("  PRAGMA quick_check, whole file", cards, statistics.median(full), p99=max(full),
                note="in a thread the first write waits for" if background else "before the command")]


# -- rescheduling (srs optimize --apply / --reset), in process -----------------------------

RESCHEDULE_MEASURES = ("reschedule (srs optimize --apply)", "  longest transaction of it",
                       "  an answer meanwhile (other process)")
RESCHEDULE_TXN_S = 1.0  # the longest single write transaction of a rescheduling, and the longest answer wait
PARAMETERS = [0.4, 1.2, 3.5, 12.0, 6.0, 0.5, 2.0, 0.01, 1.5, 0.15, 0.9, 1.8, 0.1, 0.3, 2.0, 0.4, 2.2, 0.5, 0.2,
              0.1, 0.4]  # a set unlike the defaults: every card moves

# A review session in a process of its own answers cards (Good) while the rescheduling runs, until a stop
# file appears; it prints each answer's wall time (commit included: the wait for the write lock).
_ANSWERER = """
import json, sys, time
from datetime import timedelta
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from make_collection import NOW
from srs.session import ReviewSession
from srs.store import Store
store = Store(sys.argv[1])
moment = [NOW]
session = ReviewSession(store, now=lambda: moment[0])
waits = []
Path(sys.argv[2] + ".ready").write_text("")
while not Path(sys.argv[2]).exists():
    card = session.next_card()
    if card is None:
        moment[0] += timedelta(days=1)
        continue
    moment[0] += timedelta(seconds=5)
    started = time.perf_counter()
    session.answer(card, 3, 5000)
    waits.append(time.perf_counter() - started)
    time.sleep(0.02)  # a fast learner: an answer every few tens of milliseconds
print(json.dumps(waits))
"""


def reschedule_rows(db: Path, cards: int, work: Path) -> list[Row]:
    """Reschedule every card to PARAMETERS (what adopting a fitted set does), timing each write transaction,
    while another process answers cards; the figures a learner feels are the longest transaction and
    the longest answer."""
    from contextlib import contextmanager

    from srs.store import Store

    spans: list[float] = []

    class Timed(Store):
        @contextmanager
        def write(self):
            started = time.perf_counter()
            with super().write() as conn:
                yield conn
            spans.append(time.perf_counter() - started)

    store = Timed(db)
    reviews = store.review_count()
    stop = work / "stop-answering"
    answerer = subprocess.Popen([sys.executable, "-c", _ANSWERER, str(db), str(stop), str(Path(__file__).parent)],
                                stdout=subprocess.PIPE, text=True)
    while not Path(str(stop) + ".ready").exists() and answerer.poll() is None:
        time.sleep(0.05)
    started = time.perf_counter()
    with store.write():
        job = store.start_reschedule(NOW, None, [d["id"] for d in store.decks()], PARAMETERS, "adopt")
    replayed = store.reschedule(job)
    total = time.perf_counter() - started
    stop.write_text("")
    waits = json.loads(answerer.communicate(timeout=120)[0] or "[]")
    store.close()
    rows = [Row(RESCHEDULE_MEASURES[0], cards, total, note=f"{replayed:,} reviews replayed ({reviews:,} before the "
                f"answers meanwhile), {len(spans)} transactions"),
            Row(RESCHEDULE_MEASURES[1], cards, max(spans), p99=percentile(spans, 99),
                target=f"< {RESCHEDULE_TXN_S:g} s", holds=max(spans) < RESCHEDULE_TXN_S,
                note=f"#{spans.index(max(spans)) + 1} of {len(spans)}; median {fmt(statistics.median(spans))}")]
    if waits:
        rows.append(Row(RESCHEDULE_MEASURES[2], cards, statistics.median(waits),
                        p99=percentile(waits, 99), target=f"max < {RESCHEDULE_TXN_S:g} s",
                        holds=max(waits) < RESCHEDULE_TXN_S, note=f"{len(waits)} answers, longest {fmt(max(waits))}"))
    return rows


def search_row(db: Path, cards: int, runs: int) -> Row:
    """In process: a search with three terms (`srs.query`, what `srs cards QUERY` and `srs suspend QUERY` run),
    parsed, compiled and read to the last card, median of `runs` after one warm-up."""
    from srs import clock
    from srs.query import Search, parse
    from srs.store import Store

    store = Store(db)
    times, found = [], 0
    for number in range(runs + 1):
        started = time.perf_counter()
        search = Search(store, clock.parse_time(NOW_TEXT))
        found = sum(1 for _ in search.rows(parse(SEARCH_QUERY)))
        if number:
            times.append(time.perf_counter() - started)
    store.close()
    row = Row(f"search, 3 terms (in process): {SEARCH_QUERY}", cards, statistics.median(times),
              p99=max(times), note=f"{found:,} cards found")
    row.target, row.holds = f"< {SEARCH_MS} ms", row.seconds * 1000 < SEARCH_MS
    if cards != 100_000:
        row.note += " (target is for 100,000 cards)"
    return row


# -- one size ---------------------------------------------------------------------------


def bench_size(cards: int, args, env: dict, srs: list[str], has: dict, scratch: Path, deck: Path,
               typer: Row) -> list[Row]:
    cached = collection(Path(args.cache), cards, args.seed)
    rows = []
    summary_file = cached.with_suffix(".json")
    if summary_file.exists():  # how long make_collection took (when it built this cache)
        seconds = json.loads(summary_file.read_text())["seconds"]
        row = Row("make_collection (when cached)", cards, seconds["total"], seconds.get("store_cpu"),
                  reference=f"store {seconds['store']:.0f} s of it", note=f"{cards * REVIEWS_PER_CARD:,} reviews")
        if cards == 100_000:
            row.target, row.holds = f"< {BUILD_S:g} s", seconds["total"] < BUILD_S
        rows.append(row)
    work = scratch / f"c{cards}"
    work.mkdir()
    db = work / "srs.db"
    shutil.copyfile(cached, db)
    print(f"{cards:,} cards: {describe(db)}", file=sys.stderr, flush=True)
    base = [*srs, "--db", str(db)]
    runs = args.runs
    if args.only_reschedule:
        rows += reschedule_rows(db, cards, work)
        shutil.rmtree(work, ignore_errors=True)
        return rows

    typer_s = typer.seconds

    def ratio_to_typer(row: Row) -> None:
        row.reference = f"typer x{row.seconds / typer_s:.2f} (cpu x{row.cpu / typer.cpu:.2f})"
        row.target = f"<= {STATUS_VS_TYPER}x typer"
        row.holds = row.seconds <= STATUS_VS_TYPER * typer_s

    for name, launcher in LAUNCHERS.items():
        row = cold(f"srs status [{name}]", cards, [*launcher, "--db", str(db), "status"], env, runs)
        ratio_to_typer(row)
        rows.append(row)
    for measure, command, limit in (("srs stats", ["stats"], LIMITS_S["stats"]),
                                    ("srs cards --json", ["cards", "--json"], LIMITS_S["cards --json"])):
        if not has[command[0]]:
            rows.append(Row(measure, cards, None, note="command not there yet"))
            continue
        row = cold(measure, cards, [*base, *command], env, runs, stdout=work / "out.txt")
        row.reference, row.target = f"typer x{row.seconds / typer_s:.1f}", f"< {limit:g} s"
        row.holds = row.seconds < limit
        if command == ["stats"]:  # a learner opens it every day: within STATS_VS_TYPER x the CLI framework's import
            row.target = f"<= {STATS_VS_TYPER:g}x typer"
            row.holds = row.seconds <= STATS_VS_TYPER * typer_s
            row.note = "the days before today from stats_cache (kept by the warm-up run)"
            rows.append(row)

            def no_cache() -> None:
                conn = sqlite3.connect(db)
                conn.execute("DELETE FROM stats_cache")
                conn.commit()
                conn.close()

            row = cold("  srs stats, no cache (a first run)", cards, [*base, *command], env, min(runs, 3),
                       stdout=work / "out.txt", prepare=no_cache)
            row.reference, row.note = f"typer x{row.seconds / typer_s:.1f}", "reads the whole log, keeps the cache"
            rows.append(row)
            continue
        else:  # streamed: the peak must not grow with the collection
            row.target += f", < {CARDS_JSON_MB} MB"
            row.holds = row.holds and row.peak_mb < CARDS_JSON_MB
        rows.append(row)
    rows.append(search_row(db, cards, runs))

    # import of a deck file into a copy of the collection, then the same file again
    target_db = work / "import.db"

    def fresh_copy() -> None:
        for leftover in work.glob("import.db*"):  # the database, its -wal/-shm, its .media folder
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        shutil.copyfile(cached, target_db)

    imp = [*srs, "--db", str(target_db), "import", str(deck)]
    size_note = "" if args.deck_cards == 10_000 else f"(target is for 10,000 cards; this deck has {args.deck_cards:,})"
    row = cold(f"srs import ({args.deck_cards:,}-card deck)", cards, imp, env, min(runs, 3), warmup=0,
               prepare=fresh_copy)
    row.target, row.holds, row.note = f"< {LIMITS_S['import']:g} s", row.seconds < LIMITS_S["import"], size_note
    rows.append(row)
    row = cold("srs import (unchanged again)", cards, imp, env, runs, warmup=0)
    row.target, row.holds, row.note = f"< {LIMITS_S['re-import']:g} s", row.seconds < LIMITS_S["re-import"], size_note
    rows.append(row)
    mixed = deck.with_name("bench-mixed.md")
    if not mixed.exists():
        mixed.write_text(mixed_deck_text("Bench mixed", args.deck_cards, mixed.parent, seed=args.seed), encoding="utf-8")
    imp = [*srs, "--db", str(target_db), "import", str(mixed)]
    row = cold(f"srs import ({args.deck_cards:,}-card mixed deck)", cards, imp, env, min(runs, 3), warmup=0,
               prepare=fresh_copy)
    row.target, row.holds, row.note = f"< {LIMITS_S['import']:g} s", row.seconds < LIMITS_S["import"], size_note
    rows.append(row)

    for measure, extra in (("srs export anki", []), ("srs export anki --with-progress", ["--with-progress"])):
        if not has["export anki"]:
            rows.append(Row(measure, cards, None, note="command not there yet"))
            continue
        out = work / "out.apkg"
        row = cold(measure, cards, [*base, "export", "anki", str(out), *extra], env, min(runs, 3))
        if extra:
            row.target = f"< {LIMITS_S['export+progress']:g} s, < {EXPORT_MB} MB"
            row.holds = row.seconds < LIMITS_S["export+progress"] and row.peak_mb < EXPORT_MB
            if cards != 100_000:
                row.note = "(target is for 100,000 cards)"
        rows.append(row)

    # in process: answer -> next card, on a copy of the collection
    session_db = work / "session.db"
    shutil.copyfile(cached, session_db)
    reference = sql_reference(session_db)
    bare, full = answer_latency(session_db, args.answers, args.seed)
    for measure, samples, target in (("answer -> next card", bare, True),
                                     ("  + remaining() + preview() (as shown)", full, False)):
        if not samples:
            rows.append(Row(measure, cards, None, note="no card to review"))
            continue
        row = Row(measure, cards, statistics.median(samples), p99=percentile(samples, 99),
                  reference=f"sqlite {reference * 1000:.2f} ms",
                  note=f"{len(samples)} answers, WAL checkpoint every {CHECKPOINT_EVERY}")
        if target:
            row.target, row.holds = f"p99 < {P99_MS:g} ms", row.p99 * 1000 < P99_MS
        rows.append(row)
    rows += quick_check_rows(session_db, cards)
    rows += balancer_cost(session_db, cards)
    if not args.no_reschedule:
        reschedule_db = work / "reschedule.db"
        shutil.copyfile(cached, reschedule_db)
        rows += reschedule_rows(reschedule_db, cards, work)
    shutil.rmtree(work, ignore_errors=True)
    return rows


def balancer_cost(db: Path, cards: int, repeat: int = 30, picks: int = 2000) -> list[Row]:
    """What the load balancer adds to a review session: its counts read once per session
    (`LoadBalancer.from_store` over every deck), then `pick` + `add` on each review answer."""
    from srs import clock
    from srs.load_balance import LoadBalancer
    from srs.scheduling import Settings
    from srs.store import Store

    store = Store(db)
    try:
        deck_ids = [deck["id"] for deck in store.decks()]
        settings = Settings(easy_days=(1, 1, 1, 1, 1, 0.5, 0))
        built = []
        for _ in range(repeat):
            started = time.perf_counter()
            balancer = LoadBalancer.from_store(store, deck_ids, NOW, settings)
            built.append(time.perf_counter() - started)
        today, rng, each = clock.day_number(NOW, settings.day_start_hour), random.Random(0), []
        for _ in range(picks):
            interval = rng.uniform(3, 90)
            lower, upper = int(interval * 0.9), int(interval * 1.1) + 1
            started = time.perf_counter()
            balancer.add(today + balancer.pick(lower, upper, interval, today, random.Random(rng.random())))
            each.append(time.perf_counter() - started)
    finally:
        store.close()
    return [Row("load balancer: from_store (per session)", cards, statistics.median(built),
                p99=percentile(built, 99), note=f"{repeat} reads of {len(deck_ids)} decks' counts, "
                f"{sum(balancer.due_by_day.values()) - picks:,} cards due in the window"),
            Row("load balancer: pick + add (per answer)", cards, statistics.median(each), p99=percentile(each, 99),
                note=f"{picks} picks, intervals 3-90 days")]


LAUNCHERS: dict[str, list[str]] = {}


def balance_rows(args, sizes: list[int], scratch: Path) -> tuple[list[Row], str]:
    """The load balancer against plain fuzz: daily review-state answers over simulated days."""
    import load_balance

    below = [size for size in sizes if size <= 10_000]
    cards = max(below) if below else min(sizes)
    spreads = load_balance.compare(collection(Path(args.cache), cards, args.seed), args.balance_days,
                                   seed=args.seed, scratch=scratch)
    rows = []
    plain = spreads[0].figures
    for spread in spreads:
        f = spread.figures
        row = Row(f"daily reviews, {spread.variant}", cards, spread.seconds,
                  reference=f"sd {f['sd']:.1f}, max/min {f['max_over_min'] or 0:.2f}",
                  note=f"{len(spread.daily)} days through the review session; 2nd half: "
                       f"sd {f['sd_second_half']:.1f}, max/min {f['max_over_min_second_half'] or 0:.2f}; "
                       f"mean |day-to-day change| {f['mean_day_to_day_change']:.1f}")
        if spread is not spreads[0]:
            row.target = "2nd-half sd < plain's"
            row.holds = f["sd_second_half"] < plain["sd_second_half"]
        rows.append(row)
    return rows, load_balance.table(spreads, cards)


# -- the report ---------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 10:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def verdict(holds: bool | None) -> str:
    return "-" if holds is None else ("yes" if holds else "NO")


def table(rows: list[Row]) -> str:
    head = (f"{'measure':<38}{'cards':>8}  {'median':>9}  {'cpu':>8}  {'p99':>8}  {'peak MB':>7}  "
            f"{'reference (same run)':<26}{'target':<22}{'holds':<5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        peak = "" if r.peak_mb is None else f"{r.peak_mb:.0f}"
        cards = "" if r.cards is None else f"{r.cards:,}"
        lines.append(f"{r.measure:<38}{cards:>8}  {fmt(r.seconds):>9}  {fmt(r.cpu) if r.cpu is not None else '':>8}  "
                     f"{fmt(r.p99) if r.p99 is not None else '':>8}  {peak:>7}  {r.reference:<26}{r.target:<22}"
                     f"{verdict(r.holds):<5}" + (f" {r.note}" if r.note else ""))
    return "\n".join(lines)


def scaling(rows: list[Row], sizes: list[int]) -> tuple[str, list[dict]]:
    """Growth of each measure from the smallest to the largest size, against its limit."""
    if len(sizes) < 2:
        return "", []
    low, high = sizes[0], sizes[-1]
    cards_ratio = high / low
    by = {(r.measure, r.cards): r for r in rows}
    commands = [r for r in rows if r.cards is not None and not r.measure.startswith("make_collection")
                and r.measure not in RESCHEDULE_MEASURES]  # their work grows with the answers made meanwhile
    measures = list(dict.fromkeys(r.measure for r in commands))
    out, lines = [], []
    head = (f"{'growth ' + f'{low:,} -> {high:,} cards':<38}" + "".join(f"{s:>12,}" for s in sizes)
            + f"  {'growth':>8}  {'limit':>7}  holds")
    lines += [head, "-" * len(head)]
    for measure in measures:
        figures = []
        for size in sizes:
            row = by.get((measure, size))
            value = None if row is None else (row.p99 if row.p99 is not None else row.seconds)
            figures.append(value)
        if figures[0] is None or figures[-1] is None:
            continue
        growth = figures[-1] / figures[0]
        strict = measure.startswith("srs status") or measure == "answer -> next card"
        limit = 2.0 if strict else cards_ratio
        holds = growth < limit if strict else growth <= limit
        label = measure + (" (p99)" if by[(measure, low)].p99 is not None else "")
        lines.append(f"{label:<38}" + "".join(f"{fmt(v):>12}" for v in figures)
                     + f"  {growth:>7.2f}x  {limit:>6g}x  {verdict(holds)}")
        out.append({"measure": label, "figures": figures, "growth": growth, "limit": limit, "holds": holds})
    return "\n".join(lines), out


# -- importing an HTML-heavy Anki package, against the official `anki` library ----------------

ANKI_VS_LIBRARY = 2.0  # srs import at most this many times the anki library's import of the same package
REIMPORT_SHARE = 1 / 3  # an unchanged re-import at most this share of the first import
REAL_PACKAGE = "japanese-grammar-anki21b.apkg"  # 852 cards of grammar notes, 1.7 kB of HTML each


def html_heavy_package(path: Path, notes: int = 1258, seed: int = 0) -> Path:
    """An HTML-heavy package made with genanki (when no real one is at hand): grammar notes of
    tables, lists, code, furigana and conditionals, about 1.7 kB of HTML each, two cards a note."""
    import genanki

    rng = random.Random(seed)
    model = genanki.Model(1_911_000_001, "Grammar", fields=[{"name": n} for n in
                                                             ("Pattern", "Meaning", "Reading", "Notes", "Examples")],
                          templates=[{"name": "Recognise", "qfmt": "<div class=p>{{kanji:Reading}}</div>"
                                      "{{#Notes}}<div class=hint>{{hint:Notes}}</div>{{/Notes}}",
                                      "afmt": "{{FrontSide}}<hr id=answer>{{furigana:Reading}}<br>{{Meaning}}"
                                      "<div class=ex>{{Examples}}</div>"},
                                     {"name": "Produce", "qfmt": "<div>{{Meaning}}</div>",
                                      "afmt": "{{FrontSide}}<hr id=answer>{{Pattern}}{{#Notes}}<div>{{Notes}}</div>"
                                      "{{/Notes}}"}])
    deck = genanki.Deck(1_911_000_002, "Bench::HTML heavy")
    words = ["食べる", "飲む", "行く", "見る", "書く", "話す", "読む", "来る"]
    for index in range(notes):
        word = rng.choice(words)
        rows = "".join(f"<tr><td><b>{rng.choice(words)}</b></td><td><i>form {k}</i></td>"
                       f"<td><span style='color:#a00'>{index}-{k}</span></td></tr>" for k in range(6))
        examples = "<ul>" + "".join(f"<li><div>{word}[たべる]ことが<strong>できる</strong> &nbsp;({k})</div>"
                                    f"<div><code>ex {index}.{k}</code></div></li>" for k in range(5)) + "</ul>"
        deck.add_note(genanki.Note(model=model, fields=[
            f"<div><b>〜{word}</b>ことができる #{index}</div>", f"<div>can do <u>{index}</u></div>",
            f"{word}[たべる]ことができる", f"<table>{rows}</table><pre>  indented\n    code</pre>", examples]))
    genanki.Package(deck).write_to_file(str(path))
    return path


def anki_packages(args, scratch: Path) -> list[tuple[Path, str]]:
    """The packages to import: those given (--anki-package, repeatable), else the real HTML-heavy
    one when it is at hand, else one made with genanki."""
    if args.anki_package:
        return [(Path(given), "given") for given in args.anki_package]
    real = Path(os.environ.get("SRS_REAL_PACKAGES", str(Path(__file__).resolve().parents[2] / "shared" / "anki-packages"))) / REAL_PACKAGE
    if real.exists():
        return [(real, "real")]
    return [(html_heavy_package(scratch / "html-heavy.apkg"), "generated")]


def anki_library_import(package: Path, folder: Path) -> tuple[float, float] | None:
    """Wall and CPU seconds the official `anki` library takes to import the package into an empty
    collection."""
    try:
        from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
    except ImportError:
        return None
    folder.mkdir(parents=True)
    col = Collection(str(folder / "collection.anki2"))
    try:
        gc.collect()  # as for srs: the garbage of earlier runs is not this import's to collect
        started, cpu = time.perf_counter(), time.process_time()
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(
            merge_notetypes=False, with_scheduling=True, with_deck_configs=True)))
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        col.close()


def anki_import_rows(args, env: dict, srs: list[str], scratch: Path) -> list[Row]:
    """The rows of `anki_package_rows` for each package to import."""
    rows = []
    for number, (package, origin) in enumerate(anki_packages(args, scratch)):
        rows += anki_package_rows(args, env, srs, scratch / f"package-{number}", package, origin)
    return rows


def anki_package_rows(args, env: dict, srs: list[str], scratch: Path, package: Path, origin: str) -> list[Row]:
    """srs import of an HTML-heavy package against the anki library's import of it, both in process
    (module imports, database creation and a garbage collection before the clock starts), runs
    alternated; then the unchanged re-import; and, for information, the same as cold `srs import`
    processes."""
    from typer.testing import CliRunner

    from srs.cli import app
    from srs.store import Store

    scratch.mkdir(parents=True, exist_ok=True)
    runner = CliRunner()
    anki_times, anki_cpu, first, first_cpu, again, cards = [], [], [], [], [], None
    for run in range(args.runs + 1):  # the first run warms caches and is not counted
        seconds = anki_library_import(package, scratch / f"anki-{run}")
        db = scratch / f"anki-import-{run}.db"
        Store(db).close()
        timings = []
        for _ in range(2):
            gc.collect()  # the objects earlier runs left in this process: a fresh `srs import` has none to walk
            started, cpu = time.perf_counter(), time.process_time()
            result = runner.invoke(app, ["--db", str(db), "import", str(package)], env={"SRS_NOW": NOW_TEXT})
            timings.append((time.perf_counter() - started, time.process_time() - cpu))
            if result.exit_code != 0:
                raise RuntimeError(f"srs import {package} failed: {result.output}")
        if run:
            if seconds is not None:
                anki_times.append(seconds[0])
                anki_cpu.append(seconds[1])
            first.append(timings[0][0])
            first_cpu.append(timings[0][1])
            again.append(timings[1][0])
        conn = sqlite3.connect(db)
        cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        conn.close()
    name = f"{package.name} ({origin})"
    rows = []
    library = statistics.median(anki_times) if anki_times else None
    rows.append(Row("anki library: import (in process)", cards, library,
                    statistics.median(anki_cpu) if anki_cpu else None, note=name if library else
                    "the anki package is not installed (pip install '.[test]')"))
    row = Row("srs import Anki package (in process)", cards, statistics.median(first), statistics.median(first_cpu),
              note=name)
    if library:
        ratio = row.seconds / library
        row.reference, row.target, row.holds = f"anki x{ratio:.2f} (cpu x{row.cpu / rows[0].cpu:.1f})", \
            f"<= {ANKI_VS_LIBRARY:g}x anki", ratio <= ANKI_VS_LIBRARY
    rows.append(row)
    share = statistics.median(again) / row.seconds
    rows.append(Row("srs import Anki package, unchanged", cards, statistics.median(again),
                    reference=f"first x{share:.2f}", target="<= 1/3 of the first", holds=share <= REIMPORT_SHARE))
    db = scratch / "anki-import-cold.db"

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    row = cold("srs import Anki package (cold)", cards, [*srs, "--db", str(db), "import", str(package)], env,
               args.runs, prepare=fresh)
    row.note = "process start and module imports included"
    rows.append(row)
    rows.append(cold("  unchanged again (cold)", cards, [*srs, "--db", str(db), "import", str(package)], env,
                     args.runs))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="collection sizes in cards (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="one run each, 200 answers, a 1,000-card import deck")
    parser.add_argument("--runs", type=int, help="measured runs per command (default 5; 1 with --quick)")
    parser.add_argument("--answers", type=int, help="answers for the latency (default 1000; 200 with --quick)")
    parser.add_argument("--deck-cards", type=int, help="cards in the import deck (default 10000; 1000 with --quick)")
    parser.add_argument("--balance-days", type=int, help="days simulated for the load balancer (default 60; 20 "
                        "with --quick; 0 skips it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reschedule", action="store_true", help="skip the rescheduling rows (a replay of "
                        "every review: about a minute at 1,000,000 reviews)")
    parser.add_argument("--only-reschedule", action="store_true", help="only the rescheduling rows")
    parser.add_argument("--cache", default=os.environ.get("SRS_BENCH_CACHE", str(Path(tempfile.gettempdir())
                                                                                 / "srs-bench-cache")),
                        help="folder of built collections (reused when present)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--anki-package", action="append", help="an Anki package to import against the anki "
                        f"library (repeatable; default: the real HTML-heavy {REAL_PACKAGE} from SRS_REAL_PACKAGES or "
                        "../shared/anki-packages, else one made with genanki)")
    parser.add_argument("--only-anki", action="store_true", help="only the Anki package rows (no collections built)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    args.runs = args.runs or (1 if args.quick else 5)
    args.answers = args.answers or (200 if args.quick else 1000)
    args.deck_cards = args.deck_cards or (1_000 if args.quick else 10_000)
    if args.balance_days is None:
        args.balance_days = 20 if args.quick else 60

    LAUNCHERS.update({name: launcher for name, launcher in sorted(launchers().items(), reverse=True)})
    primary_name = "script" if "script" in LAUNCHERS else "-m"
    srs = LAUNCHERS[primary_name]
    env = {**os.environ, "SRS_NOW": NOW_TEXT}
    env.pop("SRS_DB", None)
    has = {"stats": exists(srs, "stats"), "cards": True, "export anki": exists(srs, "export", "anki")}
    load_before = os.getloadavg()

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="srs-bench-") as scratch_name:
        scratch = Path(scratch_name)
        deck = scratch / "bench-import.md"
        deck.write_text(deck_file_text("Bench import", args.deck_cards, seed=args.seed), encoding="utf-8")
        balance_text = ""
        if args.only_anki:
            sizes = []
        else:
            floor = cold('python -c "pass"', None, [sys.executable, "-c", "pass"], env, args.runs)
            typer_row = cold('python -c "import typer"', None, [sys.executable, "-c", "import typer"], env, args.runs)
            typer_row.note = "reference for cold starts"
            rows += [floor, typer_row]
            for name, launcher in LAUNCHERS.items():
                row = cold(f"srs --help [{name}]", None, [*launcher, "--help"], env, args.runs)
                row.reference = f"typer x{row.seconds / typer_row.seconds:.2f} (cpu x{row.cpu / typer_row.cpu:.2f})"
                rows.append(row)
        for cards in sizes:
            rows += bench_size(cards, args, env, srs, has, scratch, deck, typer_row)
        if args.balance_days > 0 and sizes:
            balanced, balance_text = balance_rows(args, sizes, scratch)
            rows += balanced
        rows += anki_import_rows(args, env, srs, scratch)
    load_after = os.getloadavg()

    print(f"srs benchmarks: SRS_NOW={NOW_TEXT}; Python {platform.python_version()}; {os.cpu_count()} CPUs; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"launchers: script = {' '.join(LAUNCHERS.get('script', ['(none)']))}; -m = {sys.executable} -m srs; "
          f"commands other than --help and status use the {primary_name} launcher")
    print(f"cold commands: median of {args.runs} run(s) after 1 warm-up; cpu = user + system of the child; "
          f"peak MB = its ru_maxrss; p99 over the answers")
    print(f"references: typer = python -c \"import typer\"; sqlite = {SQL_REFERENCE!r} in process (median); "
          "make_collection = as recorded when the cache was built (cpu: the store's process)")
    print()
    print(table(rows))
    if balance_text:
        print()
        print(balance_text)
    growth_text, growth = scaling(rows, sizes)
    if growth_text:
        print()
        print(growth_text)
    missed = [r for r in rows if r.holds is False] + [g for g in growth if not g["holds"]]
    print()
    print(f"targets: {sum(r.holds is True for r in rows) + sum(g['holds'] for g in growth)} hold, {len(missed)} missed")
    if args.json:
        print(json.dumps({"now": NOW_TEXT, "sizes": sizes, "runs": args.runs,
                          "rows": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in rows],
                          "growth": growth,
                          "load_average": [load_before[0], load_after[0]]}, indent=1))


if __name__ == "__main__":
    main()
