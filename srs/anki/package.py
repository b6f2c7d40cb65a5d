"""Opening an untrusted Anki package: a zip read with caps, never extracted to disk.

`open_collection(path)` finds the collection a package holds as Anki does (its `meta`
member names the version: `collection.anki2` from genanki and old Anki,
`collection.anki21` from Anki's legacy export, zstd-compressed `collection.anki21b` from
current Anki), reads it into memory with size caps that hold even when the zip headers
lie (zip and zstd bombs), and opens it as a read-only in-memory SQLite database.
Unsafe member names (absolute, `..`, drive letters), duplicated members, encrypted
members and zips declaring too many members are refused before anything is read.
Every problem raises `SrsError` naming the package.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import stat
import struct
import zipfile
from contextlib import contextmanager
from typing import Iterator

from srs.model import SrsError

MAX_MEMBER_BYTES = 512 * 1024 * 1024  # per member we read, declared and actually read
MAX_MEMBERS = 100_000  # media-heavy decks have thousands of members, never this many
MAX_MEDIA_BYTES = 4 * 1024 * 1024 * 1024  # all the media read from one package, together
MAX_MEDIA_MAP_BYTES = 64 * 1024 * 1024  # the `media` member: names of the files
_CHUNK = 1024 * 1024
_SQLITE_MAGIC = b"SQLite format 3\x00"

def protobuf_fields(data: bytes) -> dict[int, list]:
    """The fields of a protobuf message: varints as ints, length-delimited as bytes."""
    out: dict[int, list] = {}
    i = 0
    n = len(data)

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            if i >= n or shift > 63:
                raise ValueError("truncated protobuf varint")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < n:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 2:
            length = varint()
            if i + length > n:
                raise ValueError("truncated protobuf field")
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > n:
            raise ValueError("truncated protobuf field")
        out.setdefault(number, []).append(value)
    return out


def pb_text(message: dict[int, list], number: int) -> str:
    values = message.get(number)
    if not values or not isinstance(values[-1], (bytes, bytearray)):
        return ""
    return bytes(values[-1]).decode("utf-8", errors="replace")


def pb_int(message: dict[int, list], number: int) -> int:
    values = message.get(number)
    return values[-1] if values and isinstance(values[-1], int) else 0


def _zip_entry_count(handle) -> int | None:
    """Entries the end-of-central-directory record declares (zip64 too), before parsing it."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_len = min(size, 65535 + 22)
    handle.seek(size - tail_len)
    tail = handle.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        offset = struct.unpack("<Q", tail[at - 12 : at - 4])[0]
        if offset + 56 <= size:
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", record[32:40])[0]
    return count


def _safe_member_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in re.split(r"[\\/]", name)


class _Package:
    """A zip opened for reading only the members we need, with size caps."""

    def __init__(self, path):
        self.path = str(path)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block, a device never end
                raise self.error("not a regular file")
            self.handle = open(path, "rb")
        except OSError as err:
            raise self.error(f"cannot open: {err.strerror or err}") from None
        try:
            count = _zip_entry_count(self.handle)
            if count is not None and count > MAX_MEMBERS:
                raise self.error(f"not an Anki package: the zip declares {count} members (limit {MAX_MEMBERS})")
            self.handle.seek(0)
            self.zip = zipfile.ZipFile(self.handle)
        except SrsError:
            self.handle.close()
            raise
        except Exception:  # BadZipFile, NotImplementedError (zip version), struct.error, OSError...
            self.handle.close()
            raise self.error("not an Anki package (not a readable zip archive)") from None
        try:
            infos = self.zip.infolist()
            if len(infos) > MAX_MEMBERS:
                raise self.error(f"not an Anki package: {len(infos)} members (limit {MAX_MEMBERS})")
            self.members: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                if not _safe_member_name(info.filename):
                    raise self.error(f"unsafe member name in package: {info.filename!r}")
                if info.filename in self.members:
                    raise self.error(f"member {info.filename!r} appears twice in the package")
                self.members[info.filename] = info
        except SrsError:
            self.close()
            raise

    def error(self, message: str) -> SrsError:
        return SrsError(message, path=self.path)

    def close(self):
        try:
            self.zip.close()
        except Exception:
            pass
        self.handle.close()

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str, *, zstd: bool = False, limit: int | None = None, magic: bytes = b"") -> bytes:
        info = self.members[name]
        limit = MAX_MEMBER_BYTES if limit is None else limit
        if info.file_size > limit:
            raise self.error(f"member {name} is too large ({info.file_size} bytes, limit {limit})")
        if info.flag_bits & 0x1:
            raise self.error(f"member {name} is encrypted")
        try:
            with self.zip.open(info) as stream:
                if zstd:
                    return _read_capped(_zstd_reader(stream, self), name, self, limit, magic)
                return _read_capped(stream, name, self, limit, magic)
        except SrsError:
            raise
        except MemoryError:
            raise self.error(f"member {name} is too large for the memory available") from None
        except Exception as err:  # zlib.error, BadZipFile (CRC), NotImplementedError, zstd errors...
            raise self.error(f"member {name} is damaged ({type(err).__name__}: {err})") from None


def _read_capped(stream, name: str, package: _Package, limit: int, magic: bytes = b"") -> bytes:
    """The member's bytes, read no further than `limit`, nor than its first bytes when they are
    not `magic` (a member that is not what it should be is not unpacked whole)."""
    out = io.BytesIO()
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return out.getvalue()
        total += len(chunk)
        if total > limit:
            raise package.error(f"member {name} unpacks to more than {limit} bytes")
        out.write(chunk)
        if magic and total >= len(magic) and total - len(chunk) < len(magic) and \
                not out.getbuffer()[:len(magic)] == magic:
            return out.getvalue()  # the caller refuses it for what it is


def _zstd_reader(stream, package: _Package):
    try:
        from compression import zstd  # Python 3.14+

        return zstd.ZstdFile(stream)
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise package.error(
            "this package was written by Anki 2.1.50 or later (zstd-compressed); reading it needs the "
            "'zstandard' Python package"
        ) from None
    return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)


def _unicase(a: str, b: str) -> int:
    a, b = a.casefold(), b.casefold()
    return (a > b) - (a < b)


# SQLite's limits on the connection to an untrusted collection (Anki's own schema and the reader's
# queries stay far below them): no value or row longer than MAX_VALUE_BYTES, no statement (the
# schema's CREATE statements included) longer than 1 MB, and small bounds on everything else.
MAX_VALUE_BYTES = 64 * 1024 * 1024
_LIMITS = {
    "SQLITE_LIMIT_LENGTH": MAX_VALUE_BYTES,
    "SQLITE_LIMIT_SQL_LENGTH": 1024 * 1024,
    "SQLITE_LIMIT_COLUMN": 200,
    "SQLITE_LIMIT_EXPR_DEPTH": 100,
    "SQLITE_LIMIT_COMPOUND_SELECT": 8,
    "SQLITE_LIMIT_VDBE_OP": 100_000,
    "SQLITE_LIMIT_FUNCTION_ARG": 16,
    "SQLITE_LIMIT_ATTACHED": 0,
    "SQLITE_LIMIT_LIKE_PATTERN_LENGTH": 1000,
    "SQLITE_LIMIT_VARIABLE_NUMBER": 100,
    "SQLITE_LIMIT_TRIGGER_DEPTH": 1,
    "SQLITE_LIMIT_WORKER_THREADS": 0,
}
# Python 3.12+ reaches sqlite3_db_config: defensive mode, no triggers or views run, schema not trusted.
_CONFIG = {"SQLITE_DBCONFIG_DEFENSIVE": True, "SQLITE_DBCONFIG_TRUSTED_SCHEMA": False,
           "SQLITE_DBCONFIG_ENABLE_TRIGGER": False, "SQLITE_DBCONFIG_ENABLE_VIEW": False}


def _defensive(conn: sqlite3.Connection) -> None:
    """SQLite's settings for a database from an untrusted file, set before its schema is read."""
    for limit, value in _LIMITS.items():
        if hasattr(sqlite3, limit):
            conn.setlimit(getattr(sqlite3, limit), value)
    if hasattr(conn, "setconfig"):  # Python 3.12+
        for option, value in _CONFIG.items():
            if hasattr(sqlite3, option):
                conn.setconfig(getattr(sqlite3, option), value)


def _open_sqlite(data: bytes, package: _Package, name: str) -> sqlite3.Connection:
    """The collection as a read-only in-memory database (nothing is written to disk), opened with
    SQLite's defensive settings and refused unless its schema is one Anki writes (`check_schema`)."""
    if not data.startswith(_SQLITE_MAGIC):
        raise package.error(f"{name} in the package is not an SQLite database")
    try:
        if len(data) > 19 and (data[18] == 2 or data[19] == 2):
            # A WAL-mode database (as Anki writes collection.anki21b) cannot be opened
            # in memory: mark it as a rollback-journal database, which it also is.
            data = bytearray(data)
            data[18] = data[19] = 1
        conn = sqlite3.connect(":memory:")
        _defensive(conn)
        conn.deserialize(data)
        conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")  # as Anki's check repairs it
        conn.create_collation("unicase", _unicase)
        conn.execute("pragma query_only = 1")
        conn.execute("pragma trusted_schema = 0")
        conn.execute("pragma cell_size_check = 1")  # damaged pages found as they are read
    except sqlite3.Error as err:
        raise package.error(f"{name} in the package is not a readable database ({err})") from None
    except MemoryError:
        raise package.error(f"{name} in the package is too large for the memory available") from None
    try:
        problem = check_schema(conn)
    except sqlite3.Error as err:
        problem = f"its schema cannot be read ({err})"
    if problem is not None:
        conn.close()
        raise package.error(f"{name} in the package is not an Anki collection: {problem}")
    return conn


# The tables the reader queries, with the columns it needs (others it reads only when present).
_READ_TABLES = {
    "col": ("crt",), "notes": ("id", "guid", "mid", "tags", "flds"), "cards": ("id", "nid", "did", "ord"),
    "revlog": ("id", "cid", "ease", "ivl", "factor", "time", "type"), "notetypes": ("id", "name", "config"),
    "fields": ("ntid", "ord", "name"), "templates": ("ntid", "ord", "name", "config"),
    "decks": ("id", "name", "kind"), "deck_config": ("id", "config"), "config": ("key", "val"),
}


def check_schema(conn: sqlite3.Connection) -> str | None:
    """Why a collection's schema is not one Anki writes, or None: Anki's collections hold only
    tables and indexes on columns, so a view, a trigger, a virtual table, a generated column or an
    index on an expression (each of which runs SQL from the file when read) is refused before any
    query, and so is a table the reader queries without the columns it reads. Reading the schema
    evaluates nothing."""
    tables: dict[str, str] = {}
    for kind, name, sql in conn.execute("select type, name, sql from sqlite_master"):
        name = str(name)
        if kind in ("view", "trigger"):
            return f"it has a {kind} ({name!r})"
        if kind == "table":
            if str(sql or "").lstrip()[:14].upper().replace(" ", "").startswith("CREATEVIRTUAL"):
                return f"its table {name!r} is a virtual table"
            tables[name.lower()] = name
        elif kind != "index":
            return f"it has an object of kind {kind!r} ({name!r})"
    for name in tables.values():
        quoted = name.replace('"', '""')
        columns = {}
        for row in conn.execute(f'pragma table_xinfo("{quoted}")'):
            if row[6] != 0:
                return f"its table {name!r} has a generated or hidden column ({row[1]!r})"
            columns[str(row[1]).lower()] = row
        needed = _READ_TABLES.get(name.lower())
        if needed is not None:
            missing = [column for column in needed if column not in columns]
            if missing:
                return f"its table {name!r} has no column {missing[0]!r}"
        for index in conn.execute(f'pragma index_list("{quoted}")'):
            index_name = str(index[1]).replace('"', '""')
            if any(row[1] == -2 for row in conn.execute(f'pragma index_xinfo("{index_name}")')):
                return f"its index {index[1]!r} is on an expression"
    return None


def _collection_member(package: _Package) -> tuple[str, bool]:
    """Which collection file to read and whether it is zstd-compressed, as Anki decides."""
    if "meta" in package:
        try:
            version = pb_int(protobuf_fields(package.read("meta", limit=64 * 1024)), 1)
        except ValueError:
            raise package.error("the package's meta member is damaged") from None
        names = {1: ("collection.anki2", False), 2: ("collection.anki21", False), 3: ("collection.anki21b", True)}
        if version not in names:
            raise package.error(f"package version {version} is not supported (made by a newer Anki?)")
        name, zstd = names[version]
    elif "collection.anki21" in package:
        name, zstd = "collection.anki21", False
    elif "collection.anki2" in package:
        name, zstd = "collection.anki2", False
    elif "collection.anki21b" in package:
        name, zstd = "collection.anki21b", True
    else:
        raise package.error("not an Anki package (no collection inside)")
    if name not in package:
        raise package.error(f"not an Anki package ({name} is missing)")
    return name, zstd


@contextmanager
def open_collection(path) -> Iterator[tuple[sqlite3.Connection, str]]:
    """The collection inside the package at `path`, as (read-only connection, member name).

    Database errors raised while the caller reads it become SrsError (a damaged collection).
    """
    package = _Package(path)
    try:
        name, zstd = _collection_member(package)
        conn = _open_sqlite(package.read(name, zstd=zstd, magic=_SQLITE_MAGIC), package, name)
    finally:
        package.close()
    try:
        yield conn, name
    except SrsError:
        raise
    except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError, RecursionError, OverflowError, OSError) as err:
        raise package.error(f"{name} in the package is damaged ({type(err).__name__}: {err})") from None
    finally:
        conn.close()


# -- media ---------------------------------------------------------------------------------


class PackageMedia:
    """The media files a package holds, read on demand under the same caps as the collection.

    `names` maps each file name (as the notes reference it) to its numbered zip member.
    Nothing is extracted: `read_each` opens the package again and returns the files one
    at a time, in memory, for the media store to keep.
    """

    def __init__(self, path, names: dict[str, str], zstd: bool, sizes: dict[str, int] | None = None):
        self.path = str(path)
        self.names = names
        self.zstd = zstd
        self.sizes = sizes or {}  # name -> size in bytes, as the package declares it

    def read_each(self, names: list[str]) -> Iterator[tuple[str, bytes | None]]:
        """(name, content) for each name; content is None when the member is missing or damaged."""
        package = _Package(self.path)
        total = 0
        try:
            for name in names:
                member = self.names.get(name)
                if member is None or member not in package:
                    yield name, None
                    continue
                try:
                    data = package.read(member, zstd=self.zstd)
                except SrsError as error:
                    if "too large" in error.message or "unpacks to more" in error.message:
                        raise
                    yield name, None  # a damaged file only loses that file
                    continue
                total += len(data)
                if total > MAX_MEDIA_BYTES:
                    raise package.error(f"the media in the package unpack to more than {MAX_MEDIA_BYTES} bytes")
                yield name, data
        finally:
            package.close()


def package_media(path) -> PackageMedia:
    """The media map of the package at `path` (legacy JSON, or zstd protobuf in current packages)."""
    package = _Package(path)
    try:
        _, zstd = _collection_member(package)
        names: dict[str, str] = {}
        sizes: dict[str, int] = {}
        if "media" in package:
            data = package.read("media", zstd=zstd, limit=MAX_MEDIA_MAP_BYTES)
            names, sizes = _media_names(data, zstd, package)
        if not zstd:  # legacy members are stored as they are: the zip knows their size
            sizes = {name: package.members[member].file_size for name, member in names.items()
                     if member in package}
        return PackageMedia(path, names, zstd, sizes)
    finally:
        package.close()


def _media_names(data: bytes, protobuf: bool, package: _Package) -> tuple[dict[str, str], dict[str, int]]:
    """(file name -> zip member, file name -> size). Legacy: JSON {"0": "name.jpg"}; current:
    MediaEntries (name 1, size 2, sha1 3), the member being the entry's index."""
    names: dict[str, str] = {}
    sizes: dict[str, int] = {}
    if protobuf:
        try:
            entries = protobuf_fields(data).get(1, [])
            for index, entry in enumerate(entries):
                if isinstance(entry, (bytes, bytearray)):
                    message = protobuf_fields(bytes(entry))
                    name = pb_text(message, 1)
                    if name and name not in names:
                        names[name] = str(index)
                        sizes[name] = pb_int(message, 2)
        except ValueError:
            raise package.error("the package's media list is damaged") from None
        return names, sizes
    import json

    try:
        mapping = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise package.error("the package's media list is damaged (not JSON)") from None
    if isinstance(mapping, dict):
        for member, name in mapping.items():
            if isinstance(name, str) and name:
                names.setdefault(name, str(member))
    return names, sizes
