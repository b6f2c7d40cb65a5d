"""Review histories from outside: the FSRS tools' CSV review log, and simulated learners.

`read_history` parses a review log in the form the FSRS tools use (`card_id`,
`review_rating` 1-4, `review_time` ISO 8601 or Unix milliseconds, `review_duration`
in ms) into a `DeckSpec` of placeholder cards, one per card id, each carrying its
reviews. `simulate_history` makes the same kind of `DeckSpec` from a learner simulated
with the real `fsrs.Scheduler` and known parameters (for tests and benchmarks). Both
are pure: no store, no clock. `import_history` is the one function here that writes:
it hands the parsed deck to `Store.sync_decks`, which inserts each new card with its
history and replays it with `fsrs`.

A card whose id is already in the store (a re-import) keeps its stored history: its
rows in the file are not added again, so importing the same log twice changes nothing.

The cards a log makes are history-only (`retired = 2` in the store): they have no content,
so they never enter review, status or the new-card queue, but their answers count for
`srs stats` (shown apart) and `srs optimize`. A deck, CSV table or Anki package that later
brings a card with the same id (its `source_id`) attaches its content to that card.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from srs.model import CardSpec, DeckSpec, Review, SrsError

REQUIRED = ("card_id", "review_rating", "review_time")
# Bounds checked at the edge, so that nothing later (stats, the scheduler, SQLite) meets a value it cannot hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)  # review times from 1970-01-01 ...
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)  # ... to 2199-12-31 (UTC)
MAX_DURATION_MS = 86_400_000  # a review lasts at most a day
MAX_ID = 2 ** 63 - 1  # SQLite's largest integer
FORM = "a review log has columns card_id, review_rating (1-4), review_time (ISO 8601) and review_duration (ms)"


@dataclass
class SourcedReview(Review):
    """A review that says where it came from; `scheduling.replay` stores `source` with the row."""

    source: str = "csv"


def deck_name(path: str | Path) -> str:
    return f"history: {Path(path).stem}"


def placeholder_question(card_id: int | str) -> str:
    return f"Card {card_id} (imported history)"


def read_history(path: str | Path) -> DeckSpec:
    """Parse a review log; any bad row stops the import with an error naming the file and line."""
    from srs.decks import read_text
    from srs.sources import check_file

    name = str(path)
    check_file(Path(path), "table")  # a regular file of bounded size and line length, or one line of error
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise SrsError("the file is empty; " + FORM, name, 1) from None
    except csv.Error as error:
        raise SrsError(f"not a CSV file ({error}); " + FORM, name, 1) from None
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise SrsError(f"no column {', '.join(missing)}; " + FORM, name, 1)
    at = {column: header.index(column) for column in (*REQUIRED, "review_duration") if column in header}
    by_card: dict[int, list[Review]] = {}
    first_line: dict[int, int] = {}
    count = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise SrsError(f"{len(row)} field(s) where the header has {len(header)}", name, line)
            card_id = _whole(row[at["card_id"]], "card_id", name, line)
            rating = _whole(row[at["review_rating"]], "review_rating", name, line)
            if not 1 <= rating <= 4:
                raise SrsError(f"review_rating must be 1-4 (Again, Hard, Good, Easy), not {rating}", name, line)
            if card_id > MAX_ID:
                raise SrsError(f"card_id is too large: {card_id} (at most {MAX_ID})", name, line)
            when = _time(row[at["review_time"]], name, line)
            duration = None
            if "review_duration" in at and row[at["review_duration"]].strip():
                duration = _whole(row[at["review_duration"]], "review_duration", name, line)
                if duration > MAX_DURATION_MS:
                    raise SrsError(f"review_duration is more than a day: {duration} ms", name, line)
            by_card.setdefault(card_id, []).append(SourcedReview(when, rating, duration_ms=duration))
            first_line.setdefault(card_id, line)
            count += 1
    except csv.Error as error:
        raise SrsError(f"bad CSV: {error}", name, reader.line_num) from None
    if not by_card:
        raise SrsError("no reviews in the file; " + FORM, name)
    cards = []
    for card_id, reviews in sorted(by_card.items(), key=lambda item: (min(r.reviewed_at for r in item[1]), item[0])):
        reviews.sort(key=lambda r: r.reviewed_at)
        cards.append(CardSpec(question=placeholder_question(card_id), answer="", line=first_line[card_id],
                              source_id=str(card_id), reviews=reviews))
    return DeckSpec(name=deck_name(path), cards=cards, source=name,
                    report={"reviews": count, "cards": len(cards), "history_only": True})


def _whole(text: str, column: str, path: str, line: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise SrsError(f"{column} is not a whole number: {text!r}", path, line) from None
    if value < 0:
        raise SrsError(f"{column} is negative: {value}", path, line)
    return value


def _time(text: str, path: str, line: int) -> datetime:
    from srs.clock import parse_time

    stripped = text.strip()
    if stripped.isdigit():  # the FSRS tools' other form: Unix time in milliseconds
        milliseconds = int(stripped)
        if milliseconds >= (LATEST - EARLIEST) // timedelta(milliseconds=1):
            raise SrsError(f"review_time {stripped} ms is after {LATEST:%Y}; " + TIME_RANGE, path, line)
        return EARLIEST + timedelta(milliseconds=milliseconds)
    try:
        moment = parse_time(stripped, what="review_time")
    except (SrsError, OverflowError) as error:
        raise SrsError(getattr(error, "message", f"review_time is out of range: {stripped!r}"), path, line) from None
    check_time(moment, path, line)
    return moment


TIME_RANGE = f"review times must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)"


def check_time(moment: datetime, path: str | None = None, line: int | None = None) -> None:
    """Refuse a review time outside EARLIEST-LATEST (a year 0001 or 9999 from a broken export would
    break every later `srs stats`), naming the file and line. For every reader of review histories."""
    if not EARLIEST <= moment < LATEST:
        raise SrsError(f"review_time {moment.date().isoformat()} is out of range; " + TIME_RANGE, path, line)


def import_history(store, path: str | Path, now: datetime) -> dict:
    """Import a review log into `store`; returns what it did (cards added, reviews added, cards skipped).

    A log only adds: cards it does not mention are left as they are, and a card that
    already has a history keeps it (a grown log adds its new cards, not new rows to old ones).
    """
    spec = read_history(path)
    spec.partial = True
    before = store.review_count()
    result = store.sync_decks([spec], now)[0]
    return {"deck": spec.name, "cards": len(spec.cards), "reviews_in_file": spec.report["reviews"],
            "cards_added": result.added, "reviews_added": store.review_count() - before,
            "cards_already_present": len(spec.cards) - result.histories}


# -- simulated learners ---------------------------------------------------------------

FIRST_RATINGS = (0.2, 0.1, 0.55, 0.15)  # Again, Hard, Good, Easy on a card's first answer
PASS_RATINGS = (0.1, 0.8, 0.1)  # Hard, Good, Easy when recalled
LATE_DAYS = ((0, 1, 2, 3, 5, 8), (60, 14, 10, 7, 6, 3))  # days after due a learner comes back, and how often


def simulate_history(parameters, *, cards: int = 1000, new_per_day: int = 20, days: int = 365, seed: int = 0,
                     start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc),
                     name: str = "synthetic history") -> DeckSpec:
    """A learner whose memory follows FSRS with `parameters`, scheduled by `fsrs.Scheduler` with them.

    Cards are introduced `new_per_day` a day (between 08:00 and 20:00 UTC); each review
    comes at the card's due time, often a few days late, and is recalled with the
    probability the scheduler's retrievability gives (Bernoulli draw; Again if not
    recalled, else Hard, Good or Easy). The history stops after `days`.
    """
    import fsrs

    rng = random.Random(seed)
    scheduler = fsrs.Scheduler(parameters=tuple(parameters), enable_fuzzing=False)
    end = start + timedelta(days=days)
    specs = []
    for number in range(cards):
        when = start + timedelta(days=number // new_per_day, hours=8 + 12 * rng.random())
        if when >= end:
            break
        card = fsrs.Card(card_id=number + 1, due=when)
        reviews = []
        while when < end:
            if card.stability is None:
                rating = rng.choices((1, 2, 3, 4), FIRST_RATINGS)[0]
            elif rng.random() < scheduler.get_card_retrievability(card, when):
                rating = rng.choices((2, 3, 4), PASS_RATINGS)[0]
            else:
                rating = 1
            card, _ = scheduler.review_card(card, fsrs.Rating(rating), when)
            reviews.append(Review(when, rating, duration_ms=rng.randint(2_000, 20_000)))
            wait = card.due - when
            late = timedelta(days=rng.choices(*LATE_DAYS)[0]) if wait >= timedelta(days=1) else timedelta(0)
            when = card.due + late + timedelta(seconds=rng.randint(5, 600))
        specs.append(CardSpec(question=f"Simulated card {number + 1}", answer="", source_id=f"sim-{number + 1}",
                              reviews=reviews))
    return DeckSpec(name=name, cards=specs, report={"reviews": sum(len(c.reviews) for c in specs)})
