"""Dump every card srs reads from a folder of Anki packages, and a hash per package: to check
that a change to the Anki reader (speed work) leaves every card's text byte-identical.

    .venv/bin/python benchmarks/anki_text_dump.py /work/real-packages > before.txt
    (change the code)
    .venv/bin/python benchmarks/anki_text_dump.py /work/real-packages > after.txt
    diff before.txt after.txt

Each card: deck, source id, question, answer, hint, typed answer, options, explanation, tags
and (read again with progress) its schedule and reviews. `--full DIR` also writes each
package's dump to DIR/<package>.txt, for a diff that shows which card changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

os.environ.setdefault("SRS_NOW", "2026-06-01T12:00:00Z")


def card_lines(path: Path):
    from srs.model import SrsError
    from srs.sources import read_source

    for with_progress in (False, True):
        notices: list[str] = []
        try:
            decks = read_source(path, with_progress=with_progress, notices=notices)
        except SrsError as error:
            yield f"error {error}"
            continue
        for deck in decks:
            yield f"deck {deck.name!r} {len(deck.cards)} settings={deck.settings!r}"
            for card in deck.cards:
                fields = (card.source_id, card.question, card.answer, card.hint, card.typed_answer, card.options,
                          card.explanation, card.tags, card.key_source)
                if with_progress:
                    fields += (card.schedule, [(r.reviewed_at, r.rating, r.kind, r.anki_id) for r in card.reviews])
                yield repr(fields)
        yield from (f"notice {notice}" for notice in notices)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--full")
    args = parser.parse_args()
    for path in sorted(Path(args.folder).glob("*.*pkg")):
        digest = hashlib.sha256()
        lines = list(card_lines(path))
        for line in lines:
            digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
        if args.full:
            Path(args.full).mkdir(parents=True, exist_ok=True)
            (Path(args.full) / f"{path.name}.txt").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        print(f"{path.name}\t{sum(1 for line in lines if line.startswith('('))} cards\t{digest.hexdigest()}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
