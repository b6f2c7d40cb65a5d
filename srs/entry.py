"""The `srs` command's entry point: one-line errors for every command, and a quick path for status.

`srs status` is run many times a day; it is answered here without loading the CLI
framework (typer's import and option parsing cost more than the status query itself).
Every other command, and status with any other option, goes to `srs.cli`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    db = None
    if len(args) >= 2 and args[0] == "--db":
        db, args = args[1], args[2:]
    elif args and args[0].startswith("--db="):
        db, args = args[0][5:], args[1:]
    if args in (["status"], ["status", "--json"]) and db != "":
        guarded(lambda: quick_status(db, as_json=len(args) == 2))
    else:
        from srs.cli import run

        guarded(lambda: run(argv))


def database_path(given: str | os.PathLike | None, create: bool) -> Path:
    """--db, else SRS_DB, else srs.db in the user data folder; read-only commands refuse a missing one."""
    from srs.model import SrsError

    if given is None and os.environ.get("SRS_DB"):
        given = os.environ["SRS_DB"]
    if given is None:
        from srs.store import default_db_path

        path = default_db_path()
    else:
        path = Path(given)
    if not create and not path.exists():
        raise SrsError(f"no database at {path} yet; start with: srs import decks/")
    return path


def quick_status(db: str | None, as_json: bool) -> int:
    import json

    from srs import clock
    from srs.display import status_text
    from srs.read_outs import status
    from srs.store import Store

    data = status(Store(database_path(db, create=False)), clock.now())
    print(json.dumps(data, indent=2, ensure_ascii=False) if as_json else status_text(data))
    return 0


def guarded(command: Callable[[], int | None]) -> None:
    """Run a command; whatever goes wrong becomes one line on standard error and a non-zero exit."""
    import sqlite3

    from srs.model import SrsError

    try:
        code = command()
    except SrsError as error:
        fail(str(error))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(130)
    except sqlite3.DatabaseError as error:
        fail(f"database error: {error}")
    except BrokenPipeError:
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as error:  # a bug: one line for the learner, the traceback with SRS_DEBUG=1
        if os.environ.get("SRS_DEBUG"):
            raise
        fail(f"internal error: {type(error).__name__}: {error} (run with SRS_DEBUG=1 for details; please report it)",
             70)
    else:
        sys.exit(code or 0)


def fail(message: str, code: int = 1) -> None:
    print(f"srs: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)
