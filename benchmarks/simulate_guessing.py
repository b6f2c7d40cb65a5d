"""Simulated learners who guess: multiple choice before and after issue 16.

    python benchmarks/simulate_guessing.py [--cards 400] [--days 360] [--seeds 0,1,2] [--json]

Each learner has known FSRS-6 parameters (the defaults with the first four initial stabilities,
the difficulty and the stability-increase weights scaled per seed: a learner FSRS's defaults do not
fit) and studies `--cards` four-option choice cards, 20 new a day, every day, at a desired
retention of 0.9. At each review the learner recalls with probability R, the true retrievability
of the learner's own memory (py-fsrs with the learner's parameters, elapsed whole days); the true
memory state then moves as FSRS moves it for a recall (Good) or a failure (Again, after which the
answer was shown). The scheduler sees only the ratings:

- before (srs until issue 16): the options always shown; a learner who does not recall guesses
  uniformly among the four; a right pick is Good, a wrong one Again.
- after: the card asked as `srs.kinds.choice_format` says (recall first once answered right,
  typed once the scheduler's stability passes 21 days, typed after the same lure twice, options
  again after a wrong typed answer), graded as `srs.kinds` grades it: a recalled answer is sure and
  right (Good); one not recalled is a uniform guess among the options marked unsure (right: Hard,
  wrong: Again), or a failed typed answer (Again).

The scheduler starts with FSRS-6's defaults. At half time its parameters are fitted (fsrs-rs, as
`srs optimize` fits them) on the log so far and used for the second half. Three fits of the same
log are compared on the second half's reviews, labelled with whether the learner truly recalled
(what the fit should predict): all reviews as targets (`all`: srs until issue 16), choice reviews
asked with their options in sight (format "options"; recall first shows them only on request) left
out as targets (`exclude`: they stay in each card's history as ratings), and those reviews kept at
half weight (`half`: every second one as a target). Printed:
the log loss against true recall and the mean absolute error of predicted R against the true
R on those reviews, and, for each way of studying, the realised recall-based retention (the mean
true R at reviews of the second half, with the parameters fitted as srs fits them then) against the
desired 0.9, and the pass rate the learner saw.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from math import log as ln
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fsrs import Card, Rating, Scheduler  # noqa: E402
from fsrs.scheduler import DEFAULT_PARAMETERS  # noqa: E402

from srs import kinds  # noqa: E402
from srs.model import SrsError  # noqa: E402
from srs.optimize import History, fit, fsrs_rs, predict  # noqa: E402

START = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)
K = 4  # options a card
RETENTION = 0.9
NEW_PER_DAY = 20
POLICIES = ("all", "exclude", "half")


def learner_parameters(seed: int) -> list[float]:
    """Known parameters of a learner: FSRS-6's defaults moved per seed (initial stabilities halved to
    doubled, difficulty and stability growth +-30%)."""
    rng = random.Random(1000 + seed)
    w = list(DEFAULT_PARAMETERS)
    scale = rng.uniform(0.5, 2.0)
    for i in range(4):
        w[i] *= scale
    w[4] *= rng.uniform(0.8, 1.2)
    w[8] *= rng.uniform(0.7, 1.3)
    w[11] *= rng.uniform(0.7, 1.3)
    return w


@dataclass
class Log:
    """Per card: (rating, day, format, truly recalled, true R) of each review."""

    reviews: dict[int, list[tuple[int, int, str, bool, float]]] = field(default_factory=dict)


def scheduler(parameters) -> Scheduler:
    return Scheduler(parameters=tuple(parameters), desired_retention=RETENTION, learning_steps=(),
                     relearning_steps=(), enable_fuzzing=False)


def study(mode: str, truth: list[float], cards: int, days: int, seed: int, fit_policy: str) -> dict:
    """One learner studying for `days` days; the scheduler's parameters fitted at half time with
    `fit_policy`. Returns the log and the second half's figures."""
    rng = random.Random(seed)
    true_sched, sched = scheduler(truth), scheduler(DEFAULT_PARAMETERS)
    true_cards: dict[int, Card] = {}
    cards_: dict[int, Card] = {}
    due: dict[int, int] = {}
    history: dict[int, list[tuple[str | None, str | None, bool | None]]] = {}
    log = Log()
    introduced = 0
    second = {"reviews": 0, "true_r": 0.0, "passed": 0}
    for day in range(days):
        now = START + timedelta(days=day)
        if day == days // 2:
            sched = scheduler(fit_parameters(log, fit_policy))
            cards_ = {cid: Card(card_id=cid, state=c.state, step=c.step, stability=c.stability,
                                difficulty=c.difficulty, due=c.due, last_review=c.last_review)
                      for cid, c in cards_.items()}
        todays = sorted(cid for cid, d in due.items() if d <= day)
        for cid in range(introduced, min(introduced + NEW_PER_DAY, cards)):
            true_cards[cid], cards_[cid] = Card(card_id=cid + 1), Card(card_id=cid + 1)
            history[cid], log.reviews[cid] = [], []
            todays.append(cid)
        introduced = min(introduced + NEW_PER_DAY, cards)
        for cid in todays:
            true_card, card = true_cards[cid], cards_[cid]
            new = card.last_review is None
            r = 0.0 if new else true_sched.get_card_retrievability(true_card, now)
            recalled = (not new) and rng.random() < r
            fmt = "typed" if mode == "recall" else "options"
            if mode == "after" and not new:
                fmt = kinds.choice_format(card.stability, history[cid])
            # options "0".."3", "0" the right one
            if recalled:
                choice, right, rating = "0", True, 3
            elif fmt == "typed":
                choice, right, rating = "?", False, 1
            else:
                choice = str(rng.randrange(K))
                right = choice == "0"
                rating = (2 if mode == "after" else 3) if right else 1
            if new:  # the first sight: the card learned with its answer (learning steps), the same for all
                choice, right, rating, fmt = "0", True, 3, "new"
            history[cid].append((fmt, choice, right))
            log.reviews[cid].append((rating, day, fmt, recalled, r))
            true_cards[cid], _ = true_sched.review_card(true_card, Rating.Good if (recalled or new) else Rating.Again, now)
            cards_[cid], _ = sched.review_card(card, Rating(rating), now)
            due[cid] = (cards_[cid].due - START).days
            if day >= days // 2 and not new:
                second["reviews"] += 1
                second["true_r"] += r
                second["passed"] += rating > 1
    n = max(second["reviews"], 1)
    return {"log": log, "reviews": second["reviews"], "recall_retention": second["true_r"] / n,
            "pass_rate": second["passed"] / n}


def history_of(log: Log, until_day: int | None = None, from_day: int = 0) -> tuple[History, list[tuple]]:
    """fsrs-rs items of the log (each review a day or more after the card's previous one), in time order,
    with (day, format, recalled, true R) of each item's last review."""
    rs = fsrs_rs()
    rows = []
    history = History()
    for cid, reviews in log.reviews.items():
        sequence = history.sequences[cid] = []
        last = None
        for position, (rating, day, fmt, recalled, r) in enumerate(reviews):
            if until_day is not None and day >= until_day:
                break
            delta = 0 if last is None else day - last
            sequence.append((rating, delta))
            last = day
            if delta >= 1 and day >= from_day:
                rows.append((day, cid, position, fmt, recalled, r))
    rows.sort()
    for day, cid, position, fmt, recalled, r in rows:
        history.items.append(rs.FSRSItem([rs.FSRSReview(rt, d) for rt, d in history.sequences[cid][:position + 1]]))
        history.card_ids.append(cid)
        history.positions.append(position)
        history.times.append(str(day))
    return history, [(day, fmt, recalled, r) for day, cid, position, fmt, recalled, r in rows]


def targets(meta: list[tuple], policy: str) -> list[int]:
    """The items a fit takes as targets under a policy (see the module docstring)."""
    chosen, from_options = [], 0
    for i, (_, fmt, _, _) in enumerate(meta):
        if fmt == "options":  # asked with its options in sight (recall first shows them only on request)
            from_options += 1
            if policy == "exclude" or (policy == "half" and from_options % 2 == 0):
                continue
        chosen.append(i)
    return chosen


def fit_parameters(log: Log, policy: str) -> list[float]:
    """The fit srs would make (too few targets: the defaults, as `srs optimize` keeps them below 400 reviews)."""
    history, meta = history_of(log)
    return fit_parameters_of(history, meta, policy)


def fit_parameters_of(history: History, meta: list[tuple], policy: str) -> list[float]:
    chosen = targets(meta, policy)
    if len(chosen) < 400:
        return list(DEFAULT_PARAMETERS)
    try:
        return fit([history.items[i] for i in chosen])
    except SrsError:  # fsrs-rs: not enough data of the kinds it needs
        return list(DEFAULT_PARAMETERS)


def held_out(log: Log, days: int, truth: list[float]) -> dict:
    """Each policy's fit on the first half, scored on the second half against true recall."""
    train, meta = history_of(log, until_day=days // 2)
    test, test_meta = history_of(log, from_day=days // 2)
    out = {}
    indices = range(len(test.items))
    recalled = [m[2] for m in test_meta]
    true_r = [m[3] for m in test_meta]
    for name, parameters in [("true parameters", truth), ("defaults", list(DEFAULT_PARAMETERS))] + [
            (policy, fit_parameters_of(train, meta, policy)) for policy in POLICIES]:
        predicted = predict(parameters, test, indices)
        loss = sum(-ln(max(p, 1e-9)) if y else -ln(max(1 - p, 1e-9)) for p, y in zip(predicted, recalled))
        out[name] = {"log_loss": loss / len(predicted),
                     "r_error": sum(abs(p - t) for p, t in zip(predicted, true_r)) / len(predicted),
                     "items": len(predicted)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cards", type=int, default=400)
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {"held_out": {}, "studying": {}}
    for seed in seeds:
        truth = learner_parameters(seed)
        before = study("before", truth, args.cards, args.days, seed, "all")
        after_log = study("after", truth, args.cards, args.days, seed, "exclude")
        for mode, log_ in (("before", before["log"]), ("after", after_log["log"])):
            for name, figures in held_out(log_, args.days, truth).items():
                cell = results["held_out"].setdefault(f"{mode} / {name}", {"log_loss": 0.0, "r_error": 0.0, "items": 0})
                for key in cell:
                    cell[key] += figures[key] / (len(seeds) if key != "items" else 1)
        runs = {"reference: typed only, no guessing; fit on all": study("recall", truth, args.cards, args.days, seed,
                                                                        "all"),
                "before (options, guesses Good; fit on all)": before,
                "after (recall first, unsure, typed; fit excluding options)": after_log,
                "after, fit on all": study("after", truth, args.cards, args.days, seed, "all"),
                "after, fit at half weight": study("after", truth, args.cards, args.days, seed, "half")}
        for name, run in runs.items():
            cell = results["studying"].setdefault(name, {"reviews": 0, "recall_retention": 0.0, "pass_rate": 0.0})
            cell["reviews"] += run["reviews"]
            cell["recall_retention"] += run["recall_retention"] / len(seeds)
            cell["pass_rate"] += run["pass_rate"] / len(seeds)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{len(seeds)} learners x {args.cards} four-option cards x {args.days} days, desired retention {RETENTION}")
    print("\nHeld-out (second half), fitted on the first half, against true recall:")
    print(f"{'log / parameters':<34} {'items':>7} {'log loss':>9} {'|R error|':>10}")
    for name, cell in results["held_out"].items():
        print(f"{name:<34} {cell['items']:>7} {cell['log_loss']:>9.4f} {cell['r_error']:>10.4f}")
    print("\nStudying (second half, parameters fitted at half time):")
    print(f"{'way of studying':<58} {'reviews':>8} {'recall R':>9} {'vs 0.9':>7} {'passed':>7}")
    for name, cell in results["studying"].items():
        print(f"{name:<58} {cell['reviews']:>8} {cell['recall_retention']:>9.4f} "
              f"{cell['recall_retention'] - RETENTION:>+7.4f} {cell['pass_rate']:>7.4f}")


if __name__ == "__main__":
    main()
