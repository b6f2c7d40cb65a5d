"""A simulated learner who forgets exactly as the default FSRS-6 parameters predict.

    python benchmarks/simulate_learner.py [--cards 300] [--days 365] [--seeds 0,1,2] [--retentions 0.9,0.8] [--json]

Each run makes a store file with one deck of `--cards` basic cards and studies it every
day for `--days` days through the real review path: a `srs.session.ReviewSession` on
that file, its clock injected (`now=`), each day's session at a random time between
07:00 and 21:00 local time (3 to 17 hours after the learner day starts: a learner does not
study at the same minute every day), the clock
moving on by 10 s an answer, every card the session shows answered (the daily review
limit lifted; new cards at the default 20 a day). Learning and relearning steps are
answered Good. A card in the review state is recalled with probability R, FSRS's
retrievability at the moment of the review, as py-fsrs computes it from the card's
memory state (the learner's true state: it follows the default parameters, as the
scheduler does), with the time elapsed since the last review counted in whole learner
days as Anki and issue 11 count it (py-fsrs's own count, 24-hour blocks, is printed
beside it); a fail is Again, a pass Good (variant "again/good") or, in variant
"hard/good/easy", Hard 15%, Good 70%, Easy 15% of passes.

For each desired retention and variant, the seeds pooled: the number of first-of-day
reviews of review-state cards, the mean true recall probability R at them, its distance
from the desired retention (issue 11's target: within 0.005), and the realised
retention (passes / those reviews).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)  # in the first learner day
STUDY_FROM_HOURS, STUDY_HOURS = 3, 14  # each day's session starts 3 to 17 hours into the learner day, at random
ANSWER_SECONDS = 10
TARGET = 0.005  # issue 11: mean true recall within this of the desired retention
VARIANTS = {"again/good": ((3,), (1.0,)), "hard/good/easy": ((2, 3, 4), (0.15, 0.7, 0.15))}


@dataclass
class Tally:
    reviews: int = 0
    recall_sum: float = 0.0
    blocks_sum: float = 0.0
    passes: int = 0
    answers: int = 0
    seconds: float = 0.0
    per_seed: list = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.reviews += other.reviews
        self.recall_sum += other.recall_sum
        self.blocks_sum += other.blocks_sum
        self.passes += other.passes
        self.answers += other.answers
        self.seconds += other.seconds
        self.per_seed.append(other.figures())

    def figures(self) -> dict:
        return {"reviews": self.reviews, "mean_recall": self.recall_sum / self.reviews if self.reviews else None,
                "retention": self.passes / self.reviews if self.reviews else None, "answers": self.answers,
                "mean_recall_24h_blocks": self.blocks_sum / self.reviews if self.reviews else None}


def run(folder: Path, cards: int, days: int, retention: float, variant: str, seed: int) -> Tally:
    """One learner: a fresh store, `days` days of study; the tally of review-state answers."""
    from srs import clock, scheduling
    from srs.model import CardSpec, DeckSpec
    from srs.scheduling import Settings
    from srs.session import ReviewSession
    from srs.store import Store

    started = time.perf_counter()
    store = Store(folder / f"learner-{retention}-{variant.replace('/', '-')}-{seed}.db")
    store.sync_decks([DeckSpec("Simulated", [CardSpec(f"Card {i}?", f"answer {i}") for i in range(cards)])], START)
    store.set_global_setting("desired_retention", retention)
    store.set_global_setting("reviews_per_day", 1_000_000)
    hour = Settings().day_start_hour
    truth = scheduling.scheduler(Settings())  # the learner's memory: the default FSRS-6 parameters
    ratings, weights = VARIANTS[variant]
    rng = random.Random(seed)
    hours = random.Random(seed + 1_000_000)  # when each day's session starts
    first_day = clock.day_number(START, hour)
    tally = Tally()
    for day in range(days):
        moment = [clock.day_start(first_day + day, hour) + timedelta(
            hours=STUDY_FROM_HOURS, seconds=hours.uniform(0, STUDY_HOURS * 3600))]
        session = ReviewSession(store, now=lambda: moment[0])
        while (card := session.next_card()) is not None:
            progress = card.progress
            if progress.state == "review":
                now = moment[0]
                memory = scheduling.to_fsrs(card.id, progress, now)
                # whole learner days since the last review, as FSRS counts them in Anki (issue 11): py-fsrs
                # computes R at the last review plus that many days (it floors elapsed time to days)
                elapsed = clock.day_number(now, hour) - clock.day_number(progress.last_review, hour)
                recall = truth.get_card_retrievability(memory, progress.last_review + timedelta(days=elapsed))
                tally.blocks_sum += truth.get_card_retrievability(memory, now)  # 24-hour blocks, for comparison
                passed = rng.random() < recall
                rating = rng.choices(ratings, weights)[0] if passed else 1
                tally.reviews += 1
                tally.recall_sum += recall
                tally.passes += passed
            else:
                rating = 3
            session.answer(card, rating, ANSWER_SECONDS * 1000)
            tally.answers += 1
            moment[0] += timedelta(seconds=ANSWER_SECONDS)
        session.close()
    store.close()
    tally.seconds = time.perf_counter() - started
    return tally


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--retentions", default="0.9,0.8")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    retentions = [float(r) for r in args.retentions.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    results = []
    with tempfile.TemporaryDirectory(prefix="srs-learner-") as folder:
        for retention in retentions:
            for variant in variants:
                pooled = Tally()
                for seed in seeds:
                    pooled.add(run(Path(folder), args.cards, args.days, retention, variant, seed))
                results.append((retention, variant, pooled))
    print(f"simulated learner: {args.cards} cards, {args.days} days, seeds {args.seeds} pooled; load balancer on (default)")
    head = (f"{'desired':>8}  {'ratings':<15}{'reviews':>8}{'mean R':>9}{'R - desired':>13}{'within':>8}"
            f"{'retention':>11}{'R 24h':>8}{'answers':>9}{'run s':>7}  per seed: mean R")
    print(head)
    print("-" * len(head))
    for retention, variant, pooled in results:
        f = pooled.figures()
        gap = f["mean_recall"] - retention
        print(f"{retention:>8.2f}  {variant:<15}{f['reviews']:>8,}{f['mean_recall']:>9.4f}{gap:>+13.4f}"
              f"{'yes' if abs(gap) <= TARGET else 'NO':>8}{f['retention']:>11.4f}"
              f"{f['mean_recall_24h_blocks']:>8.4f}{f['answers']:>9,}"
              f"{pooled.seconds:>7.1f}  " + " ".join(f"{s['mean_recall']:.4f}" for s in pooled.per_seed))
    print(f"R = py-fsrs retrievability of the card's (true) memory state at each first-of-day review of a "
          f"review-state card, elapsed time in learner days; target |mean R - desired| <= {TARGET}; "
          "R 24h = the same with elapsed time in 24-hour blocks (py-fsrs's own count)")
    if args.json:
        print(json.dumps([{"desired_retention": r, "variant": v, **p.figures(), "per_seed": p.per_seed}
                          for r, v, p in results]))


if __name__ == "__main__":
    main()
