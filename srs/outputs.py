"""Every file srs writes goes through here: never onto what it reads, never half-written.

A target is refused (one-line `SrsError`) when it is an open database or one of its
companions (`-wal`, `-shm`, `-journal`), a source file being imported, or something
other than a regular file (a device such as /dev/null, a FIFO, a folder). Otherwise
the content is written to a temporary file in the target's folder, flushed to disk
and renamed over the target: a reader sees the old file or the new one, never a part,
and on any failure (disk full, no permission, Ctrl-C) the old file stays whole and the
temporary one is removed.

`Store` registers its database with `protect` when it opens one and `srs.sources`
registers the files it reads, so a write anywhere in srs is checked against them
without each caller knowing; `protect=` adds paths for one call.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from srs.model import SrsError

COMPANIONS = ("-wal", "-shm", "-journal")
_protected: dict[str, str] = {}  # real path -> what it is ("the database", "a source being imported")


def protect(path: str | os.PathLike, what: str = "the database") -> None:
    """Never let srs write onto this file in this process (a database also covers its -wal/-shm/-journal)."""
    real = os.path.realpath(path)
    _protected.setdefault(real, what)
    if what == "the database":
        for suffix in COMPANIONS:
            _protected.setdefault(real + suffix, "the database's " + suffix[1:] + " file")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: str | os.PathLike, protect: Iterable[tuple[str | os.PathLike, str]] = ()) -> Path:
    """The real path to write `path` at, or a one-line error saying why srs will not write there."""
    given = str(path)
    if not given:
        raise SrsError("no file name given")
    real = os.path.realpath(given)
    guarded = dict(_protected)
    for other, what in protect:
        guarded.setdefault(os.path.realpath(other), what)
        if what == "the database":
            for suffix in COMPANIONS:
                guarded.setdefault(os.path.realpath(other) + suffix, "the database's " + suffix[1:] + " file")
    if real in guarded:
        raise SrsError(f"refusing to write over {guarded[real]}; choose another file", given)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise SrsError(f"cannot write: {error.strerror or error}", given) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise SrsError("is a folder; give a file name", given)
        if not stat.S_ISREG(info.st_mode):
            raise SrsError("not a regular file (a device, a pipe or a socket); srs writes only regular files",
                           given)
        for other, what in guarded.items():  # a hard link to a protected file
            if _same_file(real, other):
                raise SrsError(f"refusing to write over {what} (the same file under another name)", given)
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise SrsError("cannot write: No such file or directory (no such folder)", given)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SrsError("cannot write in this folder (permission denied)", given)
    if info is not None and not os.access(real, os.W_OK):
        raise SrsError("the file is read-only", given)
    return Path(real)


class Prepared:
    """A file written whole beside its target and synced, waiting for `commit` (rename) or `discard`."""

    def __init__(self, given: str, target: Path, tmp: str):
        self.given, self.target, self.tmp = given, target, tmp

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.target)
        except OSError as error:
            self.discard()
            raise SrsError(f"cannot write: {error.strerror or error}", self.given) from None
        self.tmp = None
        _sync_folder(self.target.parent)

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def __enter__(self) -> "Prepared":
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None and self.tmp is not None:
            self.commit()
        else:
            self.discard()


def prepare(path: str | os.PathLike, fill: Callable[[BinaryIO], None] | bytes | str,
            protect: Iterable[tuple[str | os.PathLike, str]] = ()) -> Prepared:
    """Check the target, write its new content to a temporary file in its folder and sync it;
    `commit()` then puts it in place. `fill` is the content (text is written as UTF-8) or a
    function that writes it to a binary file."""
    target = check_target(path, protect)
    _remove_leftovers(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise SrsError(f"cannot write: {error.strerror or error}", str(path)) from None
    try:
        os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            if isinstance(fill, str):
                handle.write(fill.encode("utf-8"))
            elif isinstance(fill, (bytes, bytearray)):
                handle.write(fill)
            else:
                fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise SrsError(f"cannot write: {error.strerror or error}", str(path)) from None
        raise
    return Prepared(str(path), target, tmp)


def write_file(path: str | os.PathLike, fill: Callable[[BinaryIO], None] | bytes | str,
               protect: Iterable[tuple[str | os.PathLike, str]] = ()) -> Path:
    """Write a whole file atomically (see `prepare`); returns the path written."""
    prepared = prepare(path, fill, protect)
    prepared.commit()
    return prepared.target


def _mode_for(target: Path) -> int:
    """The permissions the file has (when replacing it) or a new file would get (mkstemp's are private)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def _sync_folder(folder: Path) -> None:
    """The rename itself survives a crash once the folder is synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _remove_leftovers(target: Path) -> None:
    """Remove the temporary files that killed srs processes left beside this target."""
    prefix = f".{target.name}."
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            pid = name[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                try:
                    os.unlink(target.parent / name)
                except OSError:
                    pass


def _alive(pid: int) -> bool:
    """Whether a process is still running (a leftover temporary file of a dead one can go)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
