"""Which parser reads which file: deck files, lessons, CSV/TSV tables and Anki packages.

`read_sources` expands folders and parses everything before anything is stored, so a
bad file stops the whole import with nothing written.
"""

from __future__ import annotations

from pathlib import Path

from srs.model import DeckSpec, SrsError

KINDS = {".md": "deck", ".markdown": "deck", ".txt": "lesson", ".csv": "table", ".tsv": "table", ".apkg": "anki",
         ".colpkg": "anki"}
# Limits on what is read, each refused with a one-line error before any parsing: a deck file, lesson or
# table of 64 MB is already hundreds of thousands of cards; a line of 1 MB is no question anyone reads.
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_PACKAGE_BYTES = 4 * 1024 * 1024 * 1024  # an Anki package, media included


def check_file(path: Path, kind: str) -> None:
    """Only a regular file within the size limits is read: a FIFO, a device (/dev/zero), a socket is
    refused at once (reading one would hang or never end); a text source's longest line is bounded."""
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise SrsError("no such file", str(path)) from None
    except OSError as error:
        raise SrsError(f"cannot read: {error.strerror or error}", str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise SrsError("not a regular file (a device, a pipe or a socket); srs reads only regular files", str(path))
    limit = MAX_PACKAGE_BYTES if kind == "anki" else MAX_TEXT_BYTES
    if info.st_size > limit:
        raise SrsError(f"too large: {info.st_size:,} bytes (srs reads {kind} files of at most {limit:,})", str(path))
    if kind != "anki":
        _check_lines(path)


def _check_lines(path: Path) -> None:
    """Refuse a text file with a line longer than MAX_LINE_BYTES, naming the line (read in chunks: the
    memory needed does not grow with the line)."""
    line, length = 1, 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                start = 0
                while (end := chunk.find(b"\n", start)) >= 0:
                    if length + end - start > MAX_LINE_BYTES:
                        break
                    line, length, start = line + 1, 0, end + 1
                length += len(chunk) - start if end < 0 else end - start
                if length > MAX_LINE_BYTES:
                    raise SrsError(f"line too long: more than {MAX_LINE_BYTES:,} bytes", str(path), line)
    except OSError as error:
        raise SrsError(f"cannot read: {error.strerror or error}", str(path)) from None


def expand(paths: list[str]) -> tuple[list[Path], list[Path]]:
    """Files to read (folders searched recursively, in name order) and files skipped as of unknown type."""
    files, skipped = [], []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if not found.is_file() or any(part.startswith(".") for part in found.relative_to(path).parts):
                    continue  # is_file: regular files only (a FIFO or device in a folder is passed over)
                (files if found.suffix.lower() in KINDS else skipped).append(found)
        elif path.exists():
            if path.suffix.lower() not in KINDS:
                raise SrsError(f"unknown kind of file; srs reads {', '.join(sorted(KINDS))}", str(path))
            files.append(path)
        else:
            raise SrsError("no such file or folder", str(path))
    return files, skipped


def read_source(path: Path, *, with_progress: bool = False, notices: list[str] | None = None) -> list[DeckSpec]:
    kind = KINDS[path.suffix.lower()]
    check_file(path, kind)
    if kind == "deck":
        from srs.decks import read_deck

        return [read_deck(path)]
    if kind == "lesson":
        from srs.decks import read_text
        from srs.lessons import parse_lesson

        return [parse_lesson(read_text(path), str(path))]
    if kind == "table":
        from srs.csv_decks import read_table

        return [read_table(path)]
    from srs.anki.reader import read_apkg

    return read_apkg(path, with_progress=with_progress, notices=notices)


def package_fingerprint(path: Path, *, with_progress: bool) -> str | None:
    """For an Anki package: a hash of its bytes, of the code that reads packages and of the way
    it is read, so that an unchanged package need not be read again; None for other files. Anything
    but a regular file within the size limit is refused first (`check_file`), whoever calls it."""
    if KINDS[path.suffix.lower()] != "anki":
        return None
    check_file(path, "anki")  # before its bytes are read: a FIFO or a device named x.apkg must not hang
    import hashlib

    digest = hashlib.sha256(f"with_progress={with_progress}".encode())
    for code in sorted((Path(__file__).parent / "anki").glob("*.py")):
        digest.update(code.read_bytes())
    with open(path, "rb") as package:
        while chunk := package.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_options(spec: DeckSpec, path: Path) -> None:
    """Refuse a choice card with more options than review has letters (a-z), whatever file it came
    from (a deck file's parser refuses it already; a lesson, a table or an Anki package is caught here)."""
    from srs.kinds import MAX_OPTIONS

    for card in spec.cards:
        if card.options is not None and len(card.options) > MAX_OPTIONS:
            raise SrsError(f"a choice card with {len(card.options)} options; at most {MAX_OPTIONS} (one letter a-z "
                           f"each): {' '.join(card.question.split())[:60]!r}", str(path), card.line)


def read_sources(paths: list[str], *, with_progress: bool = False, notices: list[str] | None = None,
                 unchanged=None) -> tuple[list[DeckSpec], list[Path]]:
    """Every deck of these files and folders, and the files skipped as of unknown type. What a
    reader could not take (an Anki card, with why; an empty package) is added to `notices`;
    `unchanged(path)` (when given) names files not to read again."""
    from srs import outputs

    files, skipped = expand(paths)
    if not files:
        raise SrsError(f"no deck files found in {', '.join(paths)}")
    for path in files:
        outputs.protect(path, "a source being imported")
    specs: list[DeckSpec] = []
    for path in files:
        if KINDS[path.suffix.lower()] == "anki":
            check_file(path, "anki")  # before its bytes are hashed: a FIFO named x.apkg must not hang
        if unchanged is not None and unchanged(path):
            continue
        for spec in read_source(path, with_progress=with_progress, notices=notices):
            check_options(spec, path)
            if spec.source and spec.source.startswith(str(path)):  # one spelling of a file, wherever it is run from
                spec.source = str(path.resolve()) + spec.source[len(str(path)):]
            specs.append(spec)
    return specs, skipped  # sources may share a deck name (Anki's "Default"): each keeps its own cards (store)
