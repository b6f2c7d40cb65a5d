"""The spread of daily review counts with Anki's load balancer and with plain fuzz.

    python benchmarks/load_balance.py [--cards 10000] [--days 60] [--db COLLECTION] [--json]

On a copy of a synthetic collection (`make_collection.py`, ten reviews a card, the
benchmarks' NOW), a simulated learner studies every learner day for `--days` days through
the real review path: a `ReviewSession` on the store file, its clock injected, every due
card answered (the daily review limit lifted, so that the load is what is due), new cards
within the default 20 a deck. Review cards are recalled with FSRS's own retrievability
(Good, else Again); learning steps are answered Good. The two variants start from the
same copy and the same random draws; the table gives, over the simulated days, the
review-state answers per day: mean, standard deviation, min, max and max/min.

The variants differ only by the setting `load_balance` (true/false): the review session
draws Anki's fuzz and, when the setting is on, picks the day in its window with each deck's
load balancer (`srs.load_balance`), as `srs review` does.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_collection import NOW  # noqa: E402

UNLIMITED = 1_000_000
ANSWER_SECONDS = 10  # the simulated clock moves this much per answer


@dataclass
class Spread:
    variant: str
    daily: list[int]  # review-state answers per simulated day
    answers: int
    seconds: float

    @property
    def figures(self) -> dict:
        days = self.daily
        late = days[len(days) // 2:]  # the second half: most cards due then were scheduled during the run
        changes = [abs(b - a) for a, b in zip(days, days[1:])] or [0]
        return {"mean": statistics.mean(days), "sd": statistics.pstdev(days), "min": min(days), "max": max(days),
                "max_over_min": max(days) / min(days) if min(days) else None,
                "sd_second_half": statistics.pstdev(late),
                "max_over_min_second_half": max(late) / min(late) if min(late) else None,
                "mean_day_to_day_change": statistics.mean(changes)}


def simulate(db: Path, days: int, balanced: bool, *, seed: int = 0) -> Spread:
    """Study `db` (changed in place) for `days` learner days; the review-state answers of each day."""
    from fsrs import Scheduler

    from srs import clock, scheduling
    from srs.session import ReviewSession
    from srs.store import Store

    store = Store(db)
    store.set_global_setting("reviews_per_day", UNLIMITED)
    store.set_global_setting("load_balance", balanced)
    for deck in store.decks():  # a deck's own limits would cap the load too
        if "reviews_per_day" in deck["settings"]:
            store.set_deck_setting(deck["id"], "reviews_per_day", UNLIMITED)
    rng = random.Random(seed)
    fsrs_scheduler = Scheduler()
    daily, answers = [], 0
    started = time.perf_counter()
    try:
        for day in range(days):
            moment = [NOW + timedelta(days=day)]
            session = ReviewSession(store, now=lambda: moment[0])
            reviews = 0
            while (card := session.next_card()) is not None:
                progress = card.progress
                if progress.state == "review":
                    recall = fsrs_scheduler.get_card_retrievability(
                        scheduling.to_fsrs(card.id, progress, moment[0]), moment[0])
                    rating = 3 if rng.random() < recall else 1
                    reviews += 1
                else:
                    rating = 3
                choice = card.spec.answer if card.spec.options and card.spec.answer else None
                session.answer(card, rating, ANSWER_SECONDS * 1000, choice)
                answers += 1
                moment[0] += timedelta(seconds=ANSWER_SECONDS)
            session.close()
            daily.append(reviews)
            assert clock.day_number(moment[0]) == clock.day_number(NOW + timedelta(days=day)), \
                "a simulated day ran past its end: fewer answers a day or shorter answers"
    finally:
        store.close()
    return Spread("load balancer" if balanced else "plain fuzz", daily, answers, time.perf_counter() - started)


def compare(collection: Path, days: int = 60, *, seed: int = 0, scratch: Path | None = None) -> list[Spread]:
    """Both variants, each on its own copy of `collection`."""
    out = []
    with tempfile.TemporaryDirectory(prefix="srs-balance-", dir=scratch) as folder:
        for balanced in (False, True):
            db = Path(folder) / f"{'balanced' if balanced else 'plain'}.db"
            shutil.copyfile(collection, db)
            out.append(simulate(db, days, balanced, seed=seed))
    return out


def table(spreads: list[Spread], cards: int) -> str:
    """Per variant: review-state answers a day over all the days, then over the second half alone
    (the first days' load was scheduled before the run, the same in both), and the mean change
    from one day to the next."""
    head = (f"{'daily review-state answers':<32}{'cards':>7}{'days':>5}{'mean':>7}{'sd':>7}{'min':>5}{'max':>5}"
            f"{'max/min':>8}{'sd 2nd half':>12}{'max/min 2nd':>12}{'|change|':>9}{'answers':>8}{'run s':>7}")
    lines = [head, "-" * len(head)]
    for s in spreads:
        f = s.figures
        ratio = "-" if f["max_over_min"] is None else f"{f['max_over_min']:.2f}"
        late = "-" if f["max_over_min_second_half"] is None else f"{f['max_over_min_second_half']:.2f}"
        lines.append(f"{s.variant:<32}{cards:>7,}{len(s.daily):>5}{f['mean']:>7.1f}{f['sd']:>7.1f}{f['min']:>5}"
                     f"{f['max']:>5}{ratio:>8}{f['sd_second_half']:>12.1f}{late:>12}"
                     f"{f['mean_day_to_day_change']:>9.1f}{s.answers:>8,}{s.seconds:>7.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=10_000, help="cards of the synthetic collection")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", help="use this collection (copied, not changed) instead of building one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="srs-balance-build-") as folder:
        if args.db:
            collection = Path(args.db)
        else:
            from make_collection import build

            collection = Path(folder) / "collection.db"
            build(str(collection), args.cards, args.cards * 10, args.seed, log=lambda *a, **k: None)
        spreads = compare(collection, args.days, seed=args.seed)
    print(table(spreads, args.cards))
    if args.json:
        print(json.dumps([{"variant": s.variant, **s.figures, "daily": s.daily} for s in spreads]))


if __name__ == "__main__":
    main()
