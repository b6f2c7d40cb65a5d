"""`srs check`: a full integrity check of a database, and recovery of a damaged one into a new file.

Part of the store layer (it talks SQL, as only the store does), kept apart from `srs.store`
because it works on files that the store refuses to open. The damaged file is never
written: recovery reads a copy of it (with its -wal), and the new database is written
through `srs.outputs` (a temporary file renamed into place when whole).

Recovery tries sqlite3's own `.recover` (the sqlite3 command-line program, when it is
installed and succeeds), then falls back to a salvage: the schema as the damaged file
records it, each table's rows read in rowid order, skipping past the pages that cannot be
read, then the indexes; the schema version and application id are kept, so the result
opens as an srs database of the same version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from srs.model import SrsError


def check(path: str | os.PathLike) -> list[str]:
    """Problems `PRAGMA integrity_check` finds (at most 100), [] when the file is whole. Read-only:
    the file is copied first (with its -wal), so even a check never writes to a damaged database."""
    with _copy(Path(path)) as copy:
        try:
            conn = sqlite3.connect(copy)
            try:
                rows = [row[0] for row in conn.execute("PRAGMA integrity_check(100)")]
            finally:
                conn.close()
        except sqlite3.DatabaseError as error:
            return [str(error)]
    return [] if rows == ["ok"] else rows


def recover(path: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Recover what SQLite can read of a damaged database into a new file `out`; returns
    {"method", "tables": {name: rows}, "problems": integrity check of the result}."""
    from srs import outputs

    path = Path(path)
    outputs.check_target(out, [(path, "the database")])
    with _copy(path) as copy, tempfile.TemporaryDirectory(prefix="srs-recover-") as work:
        built = Path(work) / "recovered.db"
        method = "sqlite3 .recover" if _recover_with_cli(copy, built) else "salvage"
        if method == "salvage":
            built.unlink(missing_ok=True)
            _salvage(copy, built)
        conn = sqlite3.connect(built)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
            tables = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")}
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
        finally:
            conn.close()

        def fill(handle) -> None:
            with open(built, "rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)

        outputs.write_file(out, fill, [(path, "the database")])
    return {"method": method, "tables": tables, "problems": [] if problems == ["ok"] else problems}


class _copy:
    """A private copy of a database and its -wal, removed afterwards."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Path:
        if not self.path.is_file():
            raise SrsError("no such database", str(self.path))
        self.folder = tempfile.mkdtemp(prefix="srs-check-")
        target = Path(self.folder) / "copy.db"
        try:
            shutil.copyfile(self.path, target)
            wal = Path(str(self.path) + "-wal")
            if wal.is_file():
                shutil.copyfile(wal, str(target) + "-wal")
        except OSError as error:
            self.__exit__(None, None, None)
            raise SrsError(f"cannot read the database: {error.strerror or error}", str(self.path)) from None
        return target

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _recover_with_cli(source: Path, target: Path) -> bool:
    """sqlite3's `.recover` piped into a new database; False when the program is missing or fails."""
    program = shutil.which("sqlite3")
    if program is None:
        return False
    try:
        dump = subprocess.run([program, str(source), ".recover"], capture_output=True, timeout=600)
        if dump.returncode != 0 or not dump.stdout:
            return False
        load = subprocess.run([program, str(target)], input=dump.stdout, capture_output=True, timeout=600)
        if load.returncode != 0:
            return False
        conn = sqlite3.connect(target)
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
        finally:
            conn.close()
    except (OSError, subprocess.SubprocessError, sqlite3.Error):
        return False


def _salvage(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        try:
            schema = src.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                 "AND name NOT LIKE 'sqlite_%'").fetchall()
            header = [src.execute(f"PRAGMA {name}").fetchone()[0] for name in ("user_version", "application_id")]
        except sqlite3.DatabaseError as error:
            raise SrsError(f"the database's schema cannot be read ({error}); nothing can be recovered") from None
        dst.execute("BEGIN")
        for kind, name, _, sql in schema:
            if kind == "table":
                dst.execute(sql)
                _copy_rows(src, dst, name)
        for kind, name, _, sql in schema:
            if kind in ("index", "trigger", "view"):
                try:
                    dst.execute(sql)
                except sqlite3.DatabaseError:
                    pass  # e.g. a unique index over rows the damage duplicated: the rows matter more
        dst.execute(f"PRAGMA user_version = {int(header[0])}")
        dst.execute(f"PRAGMA application_id = {int(header[1])}")
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()


def _copy_rows(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> None:
    """Every row of a table that can be read, in rowid order; past an unreadable page, the next
    readable rowid is looked for in growing steps."""
    columns = [row[1] for row in src.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT OR IGNORE INTO "{table}" (rowid, {names}) VALUES ({", ".join("?" * (len(columns) + 1))})'
    last, step = None, 1
    while True:
        query = (f'SELECT rowid, {names} FROM "{table}"' + ("" if last is None else " WHERE rowid > ?")
                 + " ORDER BY rowid")
        try:
            for row in src.execute(query, () if last is None else (last,)):
                dst.execute(insert, row)
                last, step = row[0], 1
            return
        except sqlite3.DatabaseError:
            last = (last if last is not None else 0) + step
            step *= 2
            if last > 2 ** 62:
                return
