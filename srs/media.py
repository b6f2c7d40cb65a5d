"""The media store: images and audio of imported notes, kept in a folder beside the database.

Files are content-addressed: each is stored once as `<db>.media/<sha256>.<ext>`, whatever
name the package gave it, and the store's `media` table maps the original names (as the
notes' fields reference them) to those files. A name is never used as a path, so names
with `../`, absolute paths or odd characters cannot reach outside the folder.

Also here: which media a card shows on each side (from its note's fields and template),
and the programs that open an image or play a sound on this machine.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# As Anki finds media references (rslib/src/text.rs: HTML_MEDIA_TAGS, AV_TAGS)
_HTML_MEDIA = re.compile(
    r"""<(?:img|audio|video|object|source)\b[^>]*?\b(?:src|data)\s*=\s*(?:"([^"]+)"|'([^']+)'|([^ "'>]+))""",
    re.IGNORECASE | re.DOTALL)
_SOUND = re.compile(r"\[sound:(.+?)\]")
_TEMPLATE_TAG = re.compile(r"\{\{([^{}]*)\}\}")
_STORED_NAME = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,10})?")
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp", "svg", "bmp", "tif", "tiff", "avif", "ico", "heic"}


def media_references(text: str) -> list[str]:
    """The local media file names an HTML field or template references, in order, each once."""
    if not text or ("<" not in text and "[sound:" not in text):
        return []
    out: dict[str, None] = {}
    if "<" in text and _may_name_media(text):
        for reference in _html_media_references(text):
            name = html.unescape(reference).strip()
            if name and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", name):  # not http:, data:, file:...
                out[name] = None
    if "[sound:" not in text:
        return list(out)
    for reference in _sound_references(text):
        name = html.unescape(reference).strip()
        if name:
            out[name] = None
    return list(out)


_MEDIA_TAG = re.compile(r"<(?:img|audio|video|object|source)\b", re.IGNORECASE)
_MEDIA_ATTRIBUTE = re.compile(r"\b(?:src|data)\s*=", re.IGNORECASE)
_UNQUOTED = re.compile(r"""[^ "'>]+""")


def _html_media_references(text: str):
    """What `_HTML_MEDIA.finditer` finds (the value of each match), in linear time: the pattern
    itself scans from every `<img` to the end of a text with no `>` (82 s on `<img src ` repeated
    20,000 times). The same steps, each remembered: a tag whose attributes before its `>` give no
    value leaves none to the tags that start before that `>`; a quote with no closing one leaves
    none to later values."""
    pos = 0
    unclosed = {'"': len(text) + 1, "'": len(text) + 1}  # from where no such quote is left
    while (tag := _MEDIA_TAG.search(text, pos)) is not None:
        gt = text.find(">", tag.end())
        limit = len(text) if gt < 0 else gt
        at = tag.end()
        found = None
        while found is None and (attribute := _MEDIA_ATTRIBUTE.search(text, at, limit)) is not None:
            found = _media_value(text, attribute.end(), unclosed)
            at = attribute.start() + 1
        if found is None:
            if gt < 0:
                return
            pos = gt  # every tag starting before this `>` has only these attributes, and fails too
            continue
        value, pos = found
        yield value


def _media_value(text: str, equals: int, unclosed: dict[str, int]) -> tuple[str, int] | None:
    """The value after `=` at `equals` as `\\s*(?:"([^"]+)"|'([^']+)'|([^ "'>]+))` matches it, with
    its backtracking (fewer spaces when the longest run leaves no value), and where the match ends."""
    start = equals
    while start < len(text) and text[start].isspace() and _SPACE.match(text, start):
        start += 1
    quote = text[start:start + 1]
    if quote in ('"', "'"):
        if unclosed[quote] > start + 1:
            close = text.find(quote, start + 1)
            if close < 0:
                unclosed[quote] = start + 1
            elif close > start + 1:
                return text[start + 1:close], close + 1
    else:
        unquoted = _UNQUOTED.match(text, start)
        if unquoted is not None:
            return unquoted.group(), unquoted.end()
    # `\s*` gives back whitespace, one character at a time: a value may start on any but a space
    for back in range(start - 1, equals - 1, -1):
        if text[back] != " ":
            unquoted = _UNQUOTED.match(text, back)
            return unquoted.group(), unquoted.end()
    return None


_SPACE = re.compile(r"\s")


def _sound_references(text: str):
    """What `_SOUND.finditer` finds (`[sound:`, a character other than a newline, then up to the
    first `]` on that line), in linear time: the pattern itself scans to the end of the text from
    every `[sound:` that has no `]` after it (30 s on `[sound:` repeated 30,000 times)."""
    pos = 0
    close = -1  # the first `]` at or after the last place looked from (-1: none looked for yet)
    while (at := text.find("[sound:", pos)) >= 0:
        start = at + 7
        if start >= len(text) or text[start] == "\n":
            pos = at + 1
            continue
        if close < start + 1:
            close = text.find("]", start + 1)
            if close < 0:
                return  # no `]` left: nothing further can match
        newline = text.find("\n", start + 1, close)
        if newline >= 0:
            pos = newline + 1  # every `[sound:` before this newline has no `]` on its line
            continue
        yield text[start:close]
        pos = close + 1


def _may_name_media(text: str) -> bool:
    """Whether `_HTML_MEDIA` can match: it needs an attribute `src` or `data`, in any case (a test
    in C, much faster than the case-insensitive pattern over a field that has none)."""
    if "src" in text or "data" in text:
        return True
    lower = text.lower()
    return "src" in lower or "data" in lower or "\u017f" in lower  # ſ: an `s` to a case-insensitive pattern


def is_image(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS if "." in name else False


def lookup_name(name: str, known) -> str | None:
    """`name` as a package or the store knows it: as written or NFC-normalised (as Anki, which does
    not percent-decode references either)."""
    for candidate in (name, unicodedata.normalize("NFC", name)):
        if candidate in known:
            return candidate
    return None


# -- which media a card shows -------------------------------------------------------------


def _template_fields(template: str) -> list[str]:
    """Names of the fields a template shows (`{{Field}}`, `{{filter:Field}}`; not `{{#Field}}`)."""
    out = []
    for tag in _TEMPLATE_TAG.findall(template):
        tag = tag.strip()
        if not tag or tag[0] in "#^/!" or tag == "FrontSide":
            continue
        out.append(tag.split(":")[-1].strip())
    return out


def card_media(note) -> tuple[list[str], list[str]]:
    """(question media, media the answer adds) of one card of a `NoteSpec`, by file name."""
    note_type = note.note_type
    templates = note_type.templates
    index = 0 if note_type.kind == 1 else note.ord
    if not templates or index >= len(templates):
        return [], []
    _, qfmt, afmt = templates[index]
    values = dict(zip(note_type.fields, note.fields))

    def side(template: str) -> list[str]:
        names: dict[str, None] = dict.fromkeys(media_references(template))
        for name in _template_fields(template):
            names.update(dict.fromkeys(media_references(values.get(name, ""))))
        return list(names)

    question = side(qfmt)
    answer = [name for name in side(afmt) if name not in question]
    return question, answer


def note_media(note_type, fields: list[str]) -> list[str]:
    """Every media file a note needs: referenced by its fields or its templates."""
    names: dict[str, None] = {}
    for value in fields:
        if "<" in value or "[sound:" in value:  # (media_references' own first test, without a call per field)
            for name in media_references(value):
                names[name] = None
    for name in _template_media(tuple(tuple(t) for t in note_type.templates)):
        names[name] = None
    return list(names)


@lru_cache(maxsize=64)
def _template_media(templates: tuple) -> tuple[str, ...]:
    """The media a note type's templates reference (the same for each of its notes: found once)."""
    names: dict[str, None] = {}
    for _, qfmt, afmt in templates:
        names.update(dict.fromkeys(media_references(qfmt) + media_references(afmt)))
    return tuple(names)


# -- the folder -----------------------------------------------------------------------------


def stored_name(digest: str, name: str) -> str:
    """The file a content is kept as: its sha256, and the original extension when it is a plain one."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return digest + (f".{ext}" if re.fullmatch(r"[a-z0-9]{1,10}", ext) else "")


class MediaStore:
    """The media folder of one database: `<db>.media/`, one file per distinct content."""

    def __init__(self, db_path):
        db_path = Path(db_path)
        self.folder = db_path.with_name(db_path.name + ".media")

    def path(self, stored: str) -> Path | None:
        """The path of a stored file (None for anything that is not a stored name, or is gone)."""
        if not _STORED_NAME.fullmatch(stored or ""):
            return None
        path = self.folder / stored
        return path if path.is_file() else None

    def add(self, data: bytes, name: str) -> tuple[str, str, bool]:
        """Keep `data` (a file called `name` in its package): (stored name, sha256, whether it is new)."""
        digest = hashlib.sha256(data).hexdigest()
        stored = stored_name(digest, name)
        target = self.folder / stored
        if target.is_file() and target.stat().st_size == len(data):
            return stored, digest, False
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".incoming.", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as handle:  # made durable all at once by `sync` (an fsync each is 5 ms)
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return stored, digest, True

    def sync(self) -> None:
        """Make the files added so far durable, before the rows naming them are committed: one
        syncfs of the folder's file system on Linux, else a whole sync."""
        if not self.folder.is_dir():
            return
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            if sys.platform.startswith("linux"):
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                if libc.syncfs(fd) == 0:
                    return
            os.sync()
        finally:
            os.close(fd)


@dataclass
class MediaImport:
    """What an import did with the media its notes reference."""

    rows: list[tuple] = field(default_factory=list)  # (name, stored file, sha256, size, package) for the store
    stored: int = 0  # files new to the media folder
    present: int = 0  # files the folder already had (same content)
    missing: list[str] = field(default_factory=list)  # referenced, but not in the package (or unreadable)
    replaced: list[str] = field(default_factory=list)  # names the store had for a different content


def package_media_lost(db_path, store, package_path) -> bool:
    """Whether a media file last read from this package is gone from the media folder (so an
    unchanged package must be read again to bring it back)."""
    folder = MediaStore(db_path)
    return any(folder.path(file) is None for file in store.media_of_package(os.path.abspath(package_path)))


def import_media(db_path, specs, known=None) -> MediaImport:
    """Store the media the notes of `specs` reference, read from their packages one file at a time.

    `known(names)` gives {name: (stored file, sha256, size, source)} for names already kept (the
    store's `media_rows`): a file read from this same package before, of the size it declares now
    and still in the folder, is not read again."""
    from srs.model import SrsError

    result = MediaImport()
    _import_deck_images(db_path, specs, result)
    by_package: dict[int, tuple[object, dict[str, None]]] = {}
    for spec in specs:
        for card in spec.cards:
            if card.note is not None and card.note.media:
                entry = by_package.setdefault(id(spec.media), (spec.media, {}))
                entry[1].update(dict.fromkeys(card.note.media))
    if not by_package:
        return result
    store = MediaStore(db_path)
    for package, wanted in by_package.values():
        names = list(wanted)
        available = {} if package is None else package.names
        found = {name: lookup_name(name, available) for name in names}
        result.missing.extend(name for name, real in found.items() if real is None)
        readable = {real: name for name, real in found.items() if real is not None}
        kept = known(list(readable.values())) if known is not None and readable else {}
        source = os.path.abspath(package.path)
        for real, name in list(readable.items()):
            row = kept.get(name)
            if (row is not None and row[3] == source and package.sizes.get(real) == row[2]
                    and store.path(row[0]) is not None):
                result.rows.append((name, *row))
                result.present += 1
                del readable[real]
        if not readable:
            continue
        for real, data in package.read_each(list(readable)):
            name = readable[real]
            if data is None:
                result.missing.append(name)
                continue
            try:
                stored, digest, new = store.add(data, name)
            except OSError as error:
                raise SrsError(f"cannot write the media folder: {error.strerror or error}", str(store.folder)) from None
            result.rows.append((name, stored, digest, len(data), source))
            if name in kept and kept[name][1] != digest:
                result.replaced.append(name)  # one name, one file: notes of both packages now show this one
            if new:
                result.stored += 1
            else:
                result.present += 1
    if result.stored:
        store.sync()
    return result


def _import_deck_images(db_path, specs, result: MediaImport) -> None:
    """Keep the images of deck files' cards (named by their content: the name is the stored file)."""
    wanted = deck_images(specs)
    if not wanted:
        return
    from srs.model import SrsError

    store = MediaStore(db_path)
    for name, source in wanted:
        if store.path(name) is not None:
            result.rows.append((name, name, name.split(".")[0], os.path.getsize(source), source))
            result.present += 1
            continue
        try:
            data = Path(source).read_bytes()
            stored, digest, new = store.add(data, name)
        except OSError as error:
            raise SrsError(f"cannot store image: {error.strerror or error}", source) from None
        result.rows.append((name, stored, digest, len(data), source))
        result.stored += new
        result.present += not new
    if result.stored:
        store.sync()


# -- opening and playing ---------------------------------------------------------------------

_PLAYERS = (
    ("mpv", ["--no-video", "--really-quiet"]),
    ("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"]),
    ("afplay", []),
    ("play", ["-q"]),
    ("cvlc", ["--play-and-exit", "--quiet"]),
    ("paplay", []),
    ("aplay", ["-q"]),
)


def find_player() -> list[str] | None:
    """The command that plays a sound file here (the file is appended), or None."""
    for program, args in _PLAYERS:
        found = shutil.which(program)
        if found:
            return [found, *args]
    return None


def find_opener() -> list[str] | None:
    """The command that opens a file in the system's viewer, or None."""
    for program in (("open",) if sys.platform == "darwin" else ("xdg-open", "open")):
        found = shutil.which(program)
        if found:
            return [found]
    return None


def launch(command: list[str], path: Path) -> bool:
    """Start `command path` in the background, detached from the terminal; False if it cannot start."""
    try:
        subprocess.Popen([*command, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True


class Player:
    """Plays sound files one after the other in the background; a new side stops what still plays."""

    def __init__(self, command: list[str] | None):
        self.command = command
        self._process: subprocess.Popen | None = None
        self._queue: list[Path] = []

    def play(self, paths: list[Path]) -> bool:
        """Start playing `paths` in order; False when there is no player on this machine."""
        if self.command is None:
            return False
        self.stop()
        self._queue = list(paths)
        self._next()
        return True

    def _next(self) -> None:
        import threading

        if not self._queue:
            return
        path = self._queue.pop(0)
        try:
            process = subprocess.Popen([*self.command, str(path)], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            return
        self._process = process

        def wait() -> None:
            process.wait()
            if self._process is process:
                self._next()

        threading.Thread(target=wait, daemon=True).start()

    def stop(self) -> None:
        self._queue = []
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                process.terminate()
            except OSError:
                pass


@dataclass
class MediaFile:
    """One media file a card shows: its name in the note, where it is kept (None: missing), its kind."""

    name: str
    path: Path | None
    image: bool


def card_files(store, card_id: int) -> tuple[list[MediaFile], list[MediaFile]]:
    """(question, answer) media files of a card, from its note and the media store; ([], []) for other cards."""
    note = store.card_notes(card_id=card_id).get(card_id)
    if note is None:
        return [], []
    question, answer = card_media(note)
    if not question and not answer:
        return [], []
    known = store.media_files(question + answer)
    folder = MediaStore(store.path)

    def files(names: list[str]) -> list[MediaFile]:
        return [MediaFile(name, folder.path(known[name]) if name in known else None, is_image(name)) for name in names]

    return files(question), files(answer)


def image_files(store, images: dict[str, str], asked: set[str]) -> tuple[list[MediaFile], list[MediaFile]]:
    """(question, answer) files of a deck card's images ({path as written: media name}): those the
    question shows, then the others. Each is named by its path as the card's text writes it."""
    folder = MediaStore(store.path)
    files = [MediaFile(path, folder.path(name), is_image(path)) for path, name in images.items()]
    return [f for f in files if f.name in asked], [f for f in files if f.name not in asked]


def deck_images(specs) -> list[tuple[str, str]]:
    """(media name, file) of the images deck files' cards show, each once."""
    out: dict[str, str] = {}
    for spec in specs:
        out.update(getattr(spec, "files", None) or {})
    return list(out.items())
