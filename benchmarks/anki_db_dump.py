"""Import every Anki package of a folder into a fresh database, with and without
--with-progress, and print a hash of each database's rows: to check that a change to the
import path (speed work) stores exactly the same thing.

    .venv/bin/python benchmarks/anki_db_dump.py /work/real-packages > before.txt
    (change the code)
    .venv/bin/python benchmarks/anki_db_dump.py /work/real-packages > after.txt
    diff before.txt after.txt

Each import is a real `srs import` process at a fixed SRS_NOW, into a database at the same
path each time (paths are stored as deck sources). Every table's rows are dumped sorted,
and the media folder's files by name and hash. Left out: `_sqlite_migrations.applied_at`,
the one time not read from srs's clock (sqlite-utils stamps it with the real time), and
`imported_packages.fingerprint`, a hash of the package and of the code of `srs/anki/` (any
change to that code changes it, on purpose: `srs.sources.package_fingerprint`).
`--full DIR` also writes each dump to DIR/<package>[-progress].txt, for a diff.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

NOW = "2026-06-01T12:00:00Z"
SKIPPED = {("_sqlite_migrations", "applied_at"), ("imported_packages", "fingerprint")}  # (see above)


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        lines = []
        tables = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        for table in tables:
            columns = [row[1] for row in conn.execute(f'pragma table_info("{table}")')
                       if (table, row[1]) not in SKIPPED]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = sorted(repr(row) for row in conn.execute(f'select {select} from "{table}"'))
            lines.append(f"table {table} ({', '.join(columns)}) {len(rows)} rows")
            lines += rows
    finally:
        conn.close()
    media = db.with_name(db.name + ".media")
    if media.is_dir():
        for path in sorted(media.iterdir()):
            lines.append(f"media {path.name} {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--work", default="/tmp/srs-anki-db-dump", help="scratch folder (emptied)")
    parser.add_argument("--full")
    args = parser.parse_args()
    srs = Path(sys.executable).with_name("srs")
    work = Path(args.work)
    env = {**os.environ, "SRS_NOW": NOW}
    for path in sorted(Path(args.folder).glob("*.*pkg")):
        for options in ([], ["--with-progress"]):
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            db = work / "import.db"
            result = subprocess.run([str(srs), "--db", str(db), "import", str(path.resolve()), *options],
                                    env=env, capture_output=True, text=True)
            lines = [f"exit {result.returncode}", *result.stdout.splitlines(), *result.stderr.splitlines()]
            if db.exists():
                lines += dump(db)
            digest = hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()
            label = path.name + ("-progress" if options else "")
            if args.full:
                Path(args.full).mkdir(parents=True, exist_ok=True)
                (Path(args.full) / f"{label}.txt").write_text("\n".join(lines), encoding="utf-8",
                                                              errors="surrogatepass")
            print(f"{label}\t{len(lines)} lines\t{digest}")
            sys.stdout.flush()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
