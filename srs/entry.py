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
    code: int | str | None = 0
    try:
        try:
            sys.unraisablehook = _unraisable  # first: a Ctrl-C inside a __del__ or a callback is not lost
            import _signal  # loaded with Python (`signal` would import enum first)

            if getattr(_signal.getsignal(_signal.SIGINT), "__name__", "") == "_interrupted_while_starting":
                _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # loaded: Ctrl-C is KeyboardInterrupt
            _prepare_process()
            args = list(sys.argv[1:] if argv is None else argv)
            db = None
            if len(args) >= 2 and args[0] == "--db":
                db, args = args[1], args[2:]
            elif args and args[0].startswith("--db="):
                db, args = args[0][5:], args[1:]
            if args in (["status"], ["status", "--json"]) and db != "":
                guarded(lambda: quick_status(db, as_json=len(args) == 2))
            else:
                def command():
                    from srs.cli import run  # inside `guarded`: Ctrl-C while typer loads is one line too

                    return run(argv)

                guarded(command)
        except SystemExit as end:  # `guarded` always ends here, with the command's exit status
            code = end.code
        # The exit status is decided: a Ctrl-C from here on is too late to stop anything (output written,
        # transactions committed), so it is ignored rather than left to kill Python's shutdown halfway.
        _ignore_ctrl_c()
    except KeyboardInterrupt:  # at any moment, even while an error is being reported
        interrupted()
    except Exception as error:  # one wrapped (see `from_ctrl_c`) where `guarded` does not see it
        if from_ctrl_c(error):
            interrupted()
        raise
    if _swallowed and code in (0, None):  # a Ctrl-C was heard where Python could not raise it: the
        interrupted()  # command may have finished meanwhile, but it never ends as if no Ctrl-C came
    sys.exit(code)


_swallowed = False  # a Ctrl-C landed where Python cannot raise it (see `_unraisable`)


def _unraisable(unraisable) -> None:
    """`sys.unraisablehook`: a KeyboardInterrupt raised inside a `__del__`, a weakref callback (the import
    lock's, a temporary file's...) or an atexit function cannot reach the command: Python would print
    "Exception ignored in ..." with a traceback and carry on, to exit 0. It is remembered instead, and
    sent again (`_interrupt_again`) to be raised in the command's own code once this hook has returned:
    the command is interrupted a few milliseconds on, as if Ctrl-C had come then, where every
    clean-up runs as for any Ctrl-C (a store write is rolled back whole, the terminal given back); and
    `main` ends in `interrupted` even if it finished first. Every other exception goes to Python's hook."""
    global _swallowed
    error = unraisable.exc_value
    if isinstance(error, KeyboardInterrupt) or (
            isinstance(error, OSError) and "Signal 2 ignored" in str(error)):  # SIGINT seen as it was ignored
        _swallowed = True
        if isinstance(error, KeyboardInterrupt):
            import _thread

            try:  # from another thread: sent from here, it would be raised inside this very hook
                _thread.start_new_thread(_interrupt_again, (_thread.get_ident(),))
            except RuntimeError:  # no thread can start: `main` still ends in `interrupted`
                pass
        return
    sys.__unraisablehook__(unraisable)


def _interrupt_again(main_thread: int) -> None:
    """SIGINT to the main thread again, as a real signal: one waiting for a key gets it too (nothing
    once Ctrl-C is ignored, by `interrupted` or at the end of `main`)."""
    import _signal

    try:
        _signal.pthread_kill(main_thread, _signal.SIGINT)
    except Exception:  # the process is ending
        pass


def _ignore_ctrl_c() -> None:
    """SIGINT ignored from now on. `signal.signal` first raises a Ctrl-C still pending: that one is
    taken as said (the caller is ending the command already) and the handler set all the same."""
    import _signal  # loaded with Python: no import that a Ctrl-C could interrupt halfway

    while True:
        try:
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
            return
        except KeyboardInterrupt:
            continue
        except (ValueError, OSError):  # not the main thread
            return


def interrupted() -> None:
    """Ctrl-C: one line, exit status 130, whatever was running (a second Ctrl-C changes nothing)."""
    _ignore_ctrl_c()
    try:
        print("srs: interrupted", file=sys.stderr, flush=True)
    except Exception:  # the stream is in no state to write (a Ctrl-C left it halfway): on its file, then
        try:
            os.write(2, b"srs: interrupted\n")
        except OSError:
            pass
    sys.exit(130)


def _prepare_process() -> None:
    """Output that cannot show a character (and input that is not UTF-8) gets a replacement instead of
    failing, and a TZ that Python cannot use gives one warning and UTC (instead of an internal error
    at the first date)."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):  # invalid UTF-8 piped in is read with replacements too
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass
    zone = os.environ.get("TZ")
    if zone:
        from datetime import datetime, timezone

        try:
            for moment in (datetime(1970, 1, 2, tzinfo=timezone.utc), datetime(2030, 6, 1, tzinfo=timezone.utc),
                           datetime(2199, 12, 30, tzinfo=timezone.utc)):
                moment.astimezone()
        except (ValueError, OverflowError, OSError):
            import time

            print(f"srs: warning: the time zone TZ={safe_text(zone)!s} cannot be used; using UTC", file=sys.stderr)
            os.environ["TZ"] = "UTC"
            time.tzset()


def safe_text(text: str) -> str:
    """Text made safe for a terminal (`srs.display.safe`: escape sequences shown, not run)."""
    from srs.display import safe

    return safe(text)


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
    try:
        code = command()
    except SystemExit:
        raise
    except BaseException as error:
        if from_ctrl_c(error):
            interrupted()
        _failed(error)
    else:
        sys.exit(code or 0)


def from_ctrl_c(error: BaseException) -> bool:
    """A KeyboardInterrupt, or an error raised by or while handling one: Python wraps a Ctrl-C that lands
    in a descriptor's `__set_name__` (as a class is made, while a module is imported) in a RuntimeError,
    and a clean-up that fails while a Ctrl-C is handled (a ROLLBACK) raises its own error."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _failed(error: BaseException) -> None:
    import sqlite3

    from srs.model import SrsError

    if isinstance(error, SrsError):
        fail(str(error))
    if isinstance(error, sqlite3.Error):
        from srs.store import explain

        fail(explain(error, Path(os.environ.get("SRS_DB") or "the database")).message)
    if isinstance(error, OverflowError):  # a number beyond what SQLite or a date can hold, where no bound caught it
        fail("a number given is out of range (ids and counts are at most 9223372036854775807)")
    if isinstance(error, RecursionError):
        fail("the input is nested too deeply to read", 1)
    if isinstance(error, MemoryError):
        fail("out of memory: the input is too large", 1)
    if isinstance(error, BrokenPipeError):
        sys.exit(0)
    if not isinstance(error, Exception) or os.environ.get("SRS_DEBUG"):  # SRS_DEBUG=1: the traceback of a bug
        raise error
    fail(f"internal error: {type(error).__name__}: {error} (run with SRS_DEBUG=1 for details; please report it)", 70)


def fail(message: str, code: int = 1) -> None:
    """The one place errors are printed: on one line, with file names, deck names and any text from
    a file made safe for a terminal (no escape sequence is sent as is)."""
    print(f"srs: error: {' '.join(safe_text(message).split())}", file=sys.stderr)
    sys.exit(code)
