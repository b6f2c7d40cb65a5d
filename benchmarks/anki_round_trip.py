"""Round trip of real Anki packages: package -> srs -> export -> Anki collection that holds the package.

For each .apkg/.colpkg in a folder (default $SRS_REAL_PACKAGES, else ../shared/anki-packages beside the repository; see tests/anki/REAL_PACKAGES.md):
the package is opened in a fresh Anki collection with the official `anki` library (an
.apkg imported, a .colpkg restored), imported into a fresh srs database, exported by srs,
and that export imported into the Anki collection. Prints one row a package: notes and
cards before and after (they must not grow), notes Anki took as new, the media srs stored
and found missing, and media Anki's check finds missing before and after (after must not
be more). Needs the test extra (`anki`).

    .venv/bin/python benchmarks/anki_round_trip.py [FOLDER]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anki._backend import RustBackend
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest


def anki_collection(package: Path, folder: Path) -> Collection:
    folder.mkdir(parents=True)
    path = folder / "collection.anki2"
    if package.suffix == ".colpkg":
        RustBackend().import_collection_package(col_path=str(path), backup_path=str(package),
                                                media_folder=str(folder / "collection.media"),
                                                media_db=str(folder / "collection.media.db2"))
        return Collection(str(path))
    col = Collection(str(path))
    anki_import(col, package)
    return col


def anki_import(col: Collection, package: Path):
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(
        merge_notetypes=False, with_scheduling=True, with_deck_configs=False))).log


def srs(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "srs", "--db", str(db), *args], capture_output=True, text=True)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SRS_REAL_PACKAGES", str(Path(__file__).resolve().parents[2] / "shared" / "anki-packages")))
    packages = sorted(p for p in folder.iterdir() if p.suffix in (".apkg", ".colpkg"))
    header = ("package", "notes", "cards", "srs cards", "media stored", "media missing", "notes after",
              "cards after", "new notes", "anki missing before", "anki missing after", "ok", "s")
    print("\t".join(header))
    for package in packages:
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            col = anki_collection(package, tmp / "anki")
            try:
                before = (col.note_count(), col.card_count())
                missing_before = set(col.media.check().missing)
                db = tmp / "srs.db"
                imported = srs(db, "import", str(package))
                if imported.returncode != 0:
                    print(f"{package.name}\t{before[0]}\t{before[1]}\timport refused: {imported.stderr.strip()}")
                    continue
                media = re.search(r"media: (\d+) stored, (\d+) already kept, (\d+) missing", imported.stdout)
                stored, missing = (int(media.group(1)) + int(media.group(2)), int(media.group(3))) if media else (0, 0)
                cards = srs(db, "cards", "--json").stdout.count('"id":')
                out = tmp / "out.apkg"
                exported = srs(db, "export", "anki", str(out))
                if exported.returncode != 0:
                    print(f"{package.name}\t{before[0]}\t{before[1]}\texport failed: {exported.stderr.strip()}")
                    continue
                log = anki_import(col, out)
                after = (col.note_count(), col.card_count())
                missing_after = set(col.media.check().missing)
                ok = after == before and missing_after <= missing_before
                print("\t".join(str(v) for v in (
                    package.name, *before, cards, stored, missing, *after, len(log.new), len(missing_before),
                    len(missing_after), "yes" if ok else "NO", f"{time.monotonic() - started:.1f}")))
            finally:
                col.close()


if __name__ == "__main__":
    main()
