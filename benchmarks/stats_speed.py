"""`srs stats` at one collection size: a first run (no stats_cache) and a daily run (the days before
today cached), with the choice cards as built and with every card made basic, against `python -c
"import typer"` measured in the same run (issue 15's target: within 10x typer).

    python benchmarks/stats_speed.py --cards 100000 [--cache DIR] [--runs 5] [--source DIR]

`--source`: run the srs package found in DIR (PYTHONPATH) instead of the installed one, e.g. an
older version unpacked with `git archive COMMIT srs | tar -x -C DIR`, to compare before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import NOW_TEXT, REVIEWS_PER_CARD, STATS_VS_TYPER, cold, collection  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=os.environ.get("SRS_BENCH_CACHE", str(Path(tempfile.gettempdir())
                                                                                 / "srs-bench-cache")))
    parser.add_argument("--source", help="folder holding the srs package to measure (default: the installed one)")
    args = parser.parse_args()
    env = {**os.environ, "SRS_NOW": NOW_TEXT}
    if args.source:
        env["PYTHONPATH"] = str(Path(args.source).resolve())
    built = collection(Path(args.cache), args.cards, args.seed)
    typer = cold('python -c "import typer"', None, [sys.executable, "-c", "import typer"], env, args.runs)
    print(f"{args.cards:,} cards, {args.cards * REVIEWS_PER_CARD:,} reviews; srs from "
          f"{args.source or 'the installed package'}; SRS_NOW={NOW_TEXT}")
    print(f"{'measure':48} {'median s':>9} {'x typer':>8}")
    print(f"{typer.measure:48} {typer.seconds:9.3f} {1:8.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        for variant in ("choice cards as built", "no choice cards"):
            db = Path(scratch) / "srs.db"
            for leftover in Path(scratch).glob("srs.db*"):
                leftover.unlink()
            shutil.copyfile(built, db)
            conn = sqlite3.connect(db)
            choice = conn.execute("SELECT count(*) FROM cards WHERE kind IN ('choice', 'typed')").fetchone()[0]
            if variant == "no choice cards":
                conn.execute("UPDATE cards SET kind = 'basic' WHERE kind IN ('choice', 'typed')")
                conn.commit()
                choice = 0
            conn.close()

            def no_cache() -> None:
                conn = sqlite3.connect(db)
                conn.execute("DELETE FROM stats_cache")
                conn.commit()
                conn.close()

            argv = [sys.executable, "-m", "srs", "--db", str(db), "stats"]
            first = cold(f"srs stats, first run ({variant}: {choice:,})", args.cards, argv, env,
                         min(args.runs, 3), prepare=no_cache)
            daily = cold(f"srs stats, cached ({variant})", args.cards, argv, env, args.runs)
            for row in (first, daily):
                ratio = row.seconds / typer.seconds
                print(f"{row.measure:48} {row.seconds:9.3f} {ratio:8.1f}"
                      + ("" if ratio <= STATS_VS_TYPER else f"  over {STATS_VS_TYPER:g}x"))


if __name__ == "__main__":
    main()
