"""Coverage-guided fuzzing of every parser with atheris (run by hand, and briefly by the test suite).

    python tests/fuzz_parsers.py deck -atheris_runs=200000
    python tests/fuzz_parsers.py lesson|csv|apkg [libFuzzer options]

The only acceptable outcomes are a parsed result or our own SrsError; anything else is
a crash that atheris reports with the input that caused it.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import sys
import tempfile
import zipfile

import atheris

with atheris.instrument_imports():
    from srs.decks import parse_deck
    from srs.lessons import parse_lesson
    from srs.model import SrsError
    from srs.sources import read_source

from pathlib import Path

SCRATCH = Path(tempfile.mkdtemp(prefix="srs-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def text_of(data: bytes) -> str:
    return atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))


def deck(data: bytes) -> None:
    try:
        parse_deck(text_of(data), "fuzz.md")
    except SrsError:
        pass


def lesson(data: bytes) -> None:
    try:
        parse_lesson(text_of(data), "fuzz.txt")
    except SrsError:
        pass


def through_file(suffix: str, payload: bytes) -> None:
    path = SCRATCH / f"fuzz{suffix}"
    path.write_bytes(payload)
    try:
        read_source(path, with_progress=True)
    except SrsError:
        pass


def csv(data: bytes) -> None:
    through_file(".csv", data)


def apkg(data: bytes) -> None:
    # half the time, wrap the bytes in a zip with Anki's member names, to get past the zip layer
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            name = fdp.PickValueInList(["collection.anki2", "collection.anki21", "collection.anki21b", "media",
                                        "meta", "../evil"])
            archive.writestr(name, fdp.ConsumeBytes(fdp.remaining_bytes()))
        through_file(".apkg", buffer.getvalue())
    else:
        through_file(".apkg", fdp.ConsumeBytes(fdp.remaining_bytes()))


TARGETS = {"deck": deck, "lesson": lesson, "csv": csv, "apkg": apkg}

if __name__ == "__main__":
    target = TARGETS[sys.argv.pop(1)]
    os.environ.setdefault("SRS_NOW", "2026-01-01T00:00:00Z")
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
