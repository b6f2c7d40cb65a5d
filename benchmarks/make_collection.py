"""Build a realistic synthetic srs collection for benchmarks, through the store's own code.

    python benchmarks/make_collection.py --cards 100000 --reviews 1000000 --db /tmp/bench.db [--seed 0]

What it makes (all deterministic for a given seed):

- several decks of different sizes, with basic cards and choice cards (3-5 options),
  some choice cards unkeyed, some explanations and tags;
- a review history for most cards, on the calendar: a simulated learner introduces the
  cards of each deck in deck order, evenly over a window of years ending at NOW
  (calibrated so that the histories add up to `--reviews`; the last cards of each deck
  stay new), and answers each card when it is due, often a few days late, until NOW.
  The learner's memory follows FSRS's own forgetting curve with a per-card "true"
  difficulty (recall probability R ** a, a drawn log-normally around 1); each answer is
  recalled or not by a Bernoulli draw, then Hard, Good or Easy; `fsrs.Scheduler`
  schedules. A few cards are left in learning or relearning, answered minutes before
  NOW, so the collection holds cards in every state;
- a few suspended cards (`Store.suspend_cards`) and a few retired ones (the smallest deck
  is synced again without them, as when cards are deleted from a deck file).

Everything goes in through `Store.sync_decks([DeckSpec(...)], NOW)` with
`CardSpec(..., reviews=[Review(...)])`; the store replays each history with fsrs to
compute the card's state. The simulation runs in a second process, one deck ahead of
the store, so that the store's work is the critical path.

`NOW` is the fixed "now" of the benchmarks: run commands with SRS_NOW set to it.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
NOW_TEXT = "2026-06-01T12:00:00Z"
GENERATOR_VERSION = 3  # bump when the collection this makes changes (run.py keys its cache on it)

DECKS = (  # name, share of the cards, share of choice cards
    ("Spanish vocabulary", 0.34, 0.10),
    ("Biology", 0.22, 0.50),
    ("World history", 0.16, 0.40),
    ("Pharmacology", 0.12, 0.30),
    ("Python internals", 0.08, 0.60),
    ("Music theory", 0.05, 0.50),
    ("AI engineering", 0.03, 0.80),
)
NEW_SHARE = 0.08  # cards never reviewed (at least; the window's overshoot leaves a few more)
UNKEYED_SHARE = 0.03  # of choice cards: no [x] yet
SUSPENDED_SHARE = 0.015
RETIRED_SHARE = 0.02  # of the smallest deck
STILL_LEARNING_SHARE = 0.005  # cards left in (re)learning, answered minutes before NOW
OVERSHOOT = 1.05  # the window is sized for this many more reviews than wanted; the last cards then stay new
MAX_WINDOW_DAYS = 20 * 365
FIRST_RATINGS = (0.2, 0.1, 0.55, 0.15)  # Again, Hard, Good, Easy on a card's first answer
PASS_RATINGS = (0.1, 0.8, 0.1)  # Hard, Good, Easy when recalled
LATE_DAYS = ((0, 1, 2, 3, 5, 8), (60, 14, 10, 7, 6, 3))  # days after due the learner comes back, and how often

WORDS = (
    "memory recall interval stability difficulty river mountain enzyme protein citizen empire treaty "
    "harbour violin chord scale rhythm tempo kernel thread object buffer socket parser module "
    "function variable garden window library market station village forest ocean desert island "
    "planet orbit energy matter signal vector matrix tensor gradient model token context prompt "
    "agent dosage receptor inhibitor agonist artery neuron membrane cell nucleus gene allele "
    "battle dynasty revolution monarchy republic senate colony border canal bridge castle"
).split()


@dataclass
class DeckPlan:
    index: int
    name: str
    cards: int
    studied: int  # cards introduced by NOW at most (the rest are new)
    choice_share: float
    reviews: int  # the deck's share of the reviews
    window_days: float  # cards are introduced evenly over this many days before NOW
    seed: int


# -- card text ---------------------------------------------------------------------------


def _phrase(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def card_texts(rng: random.Random, number: int, topic: str, choice: bool, keyed: bool = True) -> dict:
    """The text of one card: a unique question, and an answer or options (with or without a key)."""
    question = f"{topic} #{number}: what links {_phrase(rng, 3, 8)}?"
    explanation = _phrase(rng, 6, 16).capitalize() + "." if rng.random() < 0.3 else None
    tags = [topic.split()[0].lower(), rng.choice(("core", "extra", "exam"))] if rng.random() < 0.4 else []
    if choice:
        options = []
        while len(options) < rng.randint(3, 5):
            option = _phrase(rng, 1, 4)
            if option not in options:
                options.append(option)
        answer = rng.choice(options) if keyed else None
        return dict(question=question, options=options, answer=answer, explanation=explanation, tags=tags)
    return dict(question=question, options=None, answer=_phrase(rng, 2, 9), explanation=explanation, tags=tags)


def deck_file_text(name: str, cards: int, seed: int = 0, choice_share: float = 0.4) -> str:
    """A deck file (README "Deck files") of `cards` cards, for import benchmarks."""
    rng = random.Random(seed)
    out = [f"# {name}", "", "A generated deck for benchmarks.", ""]
    for number in range(1, cards + 1):
        card = card_texts(rng, number, name, rng.random() < choice_share, keyed=rng.random() > UNKEYED_SHARE)
        out.append(f"## {card['question']}")
        if card["options"] is not None:
            out += [f"- [{'x' if o == card['answer'] else ' '}] {o}" for o in card["options"]]
        else:
            out.append(card["answer"])
        if card["explanation"]:
            out.append("> " + card["explanation"])
        out.append("")
    return "\n".join(out)


# -- the plan ---------------------------------------------------------------------------------


def plan(cards: int, reviews: int, seed: int) -> list[DeckPlan]:
    """Split the cards into decks, and the reviews among them; find the window of introductions."""
    sizes = [round(cards * share) for _, share, _ in DECKS]
    sizes[0] += cards - sum(sizes)
    studied = [size - round(size * NEW_SHARE) if size > 1 else size for size in sizes]
    while sum(studied) > reviews:  # fewer reviews than cards: more cards stay new
        studied[studied.index(max(studied))] -= 1
    total = max(sum(studied), 1)
    shares = [reviews * done // total for done in studied]
    for index in sorted(range(len(studied)), key=lambda i: -(reviews * studied[i] % total))[:reviews - sum(shares)]:
        shares[index] += 1
    window = calibrate(reviews / total * OVERSHOOT, seed) if reviews else 1.0
    return [DeckPlan(index, name, size, done, choice_share, share, window, seed * 1000 + index)
            for index, ((name, _, choice_share), size, done, share) in enumerate(zip(DECKS, sizes, studied, shares))
            if size]


def calibrate(mean: float, seed: int, sample: int = 200) -> float:
    """The window (days) over which cards introduced evenly get `mean` answers each by NOW, on a sample."""
    from srs.scheduling import Settings, scheduler

    sched = scheduler(Settings(fuzz=False))
    rng = random.Random(seed)
    spots = [rng.random() for _ in range(sample)]

    def answers(days: float) -> float:
        return sum(len(simulate_card(sched, seed * 7919 + i, NOW - timedelta(days=days * spot)))
                   for i, spot in enumerate(spots)) / sample

    low, high = 0.5, MAX_WINDOW_DAYS
    if answers(high) <= mean:
        return high
    for _ in range(12):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if answers(middle) < mean else (low, middle)
    return high


# -- the simulated learner ----------------------------------------------------------------


def simulate_card(sched, seed: int, start: datetime) -> list[tuple]:
    """A card first studied at `start` and answered when due until NOW: [(when, rating, ms, state, due)],
    state and due as the answer left them."""
    import fsrs

    rng = random.Random(seed)
    ease = math.exp(rng.gauss(0.0, 0.5))  # this card's true difficulty for this learner: recall = R ** ease
    card = fsrs.Card(card_id=seed % 1_000_000 + 1, due=start)
    when = start
    history = []
    while when < NOW:
        if card.stability is None:
            rating = rng.choices((1, 2, 3, 4), FIRST_RATINGS)[0]
        elif rng.random() < sched.get_card_retrievability(card, when) ** ease:
            rating = rng.choices((2, 3, 4), PASS_RATINGS)[0]
        else:
            rating = 1
        card, _ = sched.review_card(card, fsrs.Rating(rating), when)
        history.append((when, rating, rng.randint(2_000, 25_000), card.state, card.due))
        late = timedelta(days=rng.choices(*LATE_DAYS)[0]) if card.due - when >= timedelta(days=1) else timedelta(0)
        when = card.due + late + timedelta(seconds=rng.randint(5, 600))
    return history


def simulate_deck(deck: DeckPlan) -> tuple[DeckPlan, list[tuple]]:
    """Cards of one deck as compact tuples: (texts, [(seconds before NOW, rating, ms, option picked), ...]).

    The first `studied` cards are introduced evenly over the window, in deck order. A few
    are cut back to a moment they were in (re)learning and moved to end minutes before
    NOW. Then the cards keep their histories in deck order until the deck's share of
    reviews is reached (the last of them trimmed to make it exact); the rest stay new.
    """
    from srs.scheduling import Settings, scheduler

    rng = random.Random(deck.seed)
    sched = scheduler(Settings(fuzz=False))
    texts = []
    for number in range(1, deck.cards + 1):
        choice = rng.random() < deck.choice_share
        texts.append(card_texts(rng, number, deck.name, choice, keyed=not choice or rng.random() > UNKEYED_SHARE))
    seeds = [deck.seed * 1_000_003 + index for index in range(deck.cards)]
    spots = [(i + rng.random()) / max(deck.studied, 1) for i in range(deck.studied)]
    days = deck.window_days
    while True:  # a small deck may fall short of its share with the common window: widen it
        window = timedelta(days=days)
        histories = [simulate_card(sched, seeds[i], NOW - window + window * spot) for i, spot in enumerate(spots)]
        _leave_learning(histories, deck, random.Random(deck.seed + 1))
        if sum(map(len, histories)) >= deck.reviews or days >= MAX_WINDOW_DAYS:
            break
        days = min(days * 1.25, MAX_WINDOW_DAYS)
    left = deck.reviews
    for index, history in enumerate(histories):
        histories[index] = history[:left]  # the last studied card may lose its latest answers
        left -= len(histories[index])
    out = []
    for index, card in enumerate(texts):
        history = histories[index] if index < deck.studied else []
        options, right = card["options"], card["answer"]
        reviews = []
        for when, rating, ms, _, _ in history:
            pick = None
            if options is not None:  # a choice card: the option picked
                pick = right if (right is not None and rating > 1) else rng.choice(options)
            reviews.append(((NOW - when).total_seconds(), rating, ms, pick))
        out.append((card, reviews))
    return deck, out


def _leave_learning(histories: list[list[tuple]], deck: DeckPlan, rng: random.Random) -> None:
    """Cut a few histories back to a moment the card was in (re)learning, moved to end minutes before NOW."""
    import fsrs

    candidates = [i for i in range(int(deck.studied * 0.9)) if histories[i]]
    stuck = sorted(rng.sample(candidates, min(len(candidates), max(1, round(deck.studied * STILL_LEARNING_SHARE)))))
    for turn, index in enumerate(stuck):  # relearning every other time, where the card has been there
        states = [step[3] for step in histories[index]]
        wanted = (fsrs.State.Relearning,) if (turn + deck.index) % 2 else (fsrs.State.Learning,)
        cuts = [at for at, state in enumerate(states) if state in wanted] or \
               [at for at, state in enumerate(states) if state != fsrs.State.Review]
        if cuts:
            history = histories[index][:cuts[-1] + 1]
            when, due = history[-1][0], history[-1][4]
            shift = NOW - timedelta(seconds=max(30.0, (due - when).total_seconds() * 2 * rng.random())) - when
            histories[index] = [(w + shift, *rest) for w, *rest in history]


# -- into the store ----------------------------------------------------------------------


def deck_spec(deck: DeckPlan, cards: list[tuple]):
    from srs.model import CardSpec, DeckSpec, Review

    specs = []
    for texts, reviews in cards:
        answer = texts["answer"]
        history = [Review(NOW - timedelta(seconds=ago), rating, duration_ms=ms, choice=pick,
                          correct=None if pick is None or answer is None else pick == answer)
                   for ago, rating, ms, pick in reviews]
        specs.append(CardSpec(question=texts["question"], answer=answer, options=texts["options"],
                              explanation=texts["explanation"], tags=texts["tags"],
                              key_source="deck" if answer is not None else None, reviews=history))
    return DeckSpec(name=deck.name, cards=specs, source=f"bench/{deck.name.lower().replace(' ', '-')}.md")


def build(path: str | Path, cards: int, reviews: int, seed: int = 0, *, log=None) -> dict:
    """Make the collection at `path` (which must not exist); returns what it made and how long each part took."""
    from srs.store import Store

    path = Path(path)
    if path.exists():
        raise SystemExit(f"{path} exists; remove it first")
    log = log or (lambda text: None)
    started = time.perf_counter()
    plans = plan(cards, reviews, seed)
    order = sorted(plans, key=lambda p: p.cards)  # smallest first: the store starts sooner
    store = Store(path)
    timings = {"store": 0.0, "store_cpu": 0.0, "waiting for the simulation": 0.0}
    rng = random.Random(seed + 7)
    smallest = None
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with context.Pool(1) as pool:
        results = pool.imap(simulate_deck, order)
        for _ in order:
            t0 = time.perf_counter()
            deck, simulated = next(results)
            t1, c1 = time.perf_counter(), time.process_time()
            spec = deck_spec(deck, simulated)
            store.sync_decks([spec], NOW)
            ids = [row[0] for row in store.conn.execute(
                "SELECT c.id FROM cards c JOIN decks d ON d.id = c.deck_id WHERE d.name = ? ORDER BY c.position",
                (deck.name,))]
            store.suspend_cards([card_id for card_id in ids if rng.random() < SUSPENDED_SHARE])
            t2 = time.perf_counter()
            timings["waiting for the simulation"] += t1 - t0
            timings["store"] += t2 - t1
            timings["store_cpu"] += time.process_time() - c1
            log(f"  {deck.name}: {deck.cards} cards, {sum(len(r) for _, r in simulated)} reviews, "
                f"store {t2 - t1:.1f} s")
            if smallest is None:
                smallest = spec
            del spec, simulated
    if smallest is not None and len(smallest.cards) > 1:  # a few cards deleted from a deck file: retired
        gone = set(rng.sample(range(len(smallest.cards)), max(1, round(len(smallest.cards) * RETIRED_SHARE))))
        keep = [card for index, card in enumerate(smallest.cards) if index not in gone]
        for card in keep:
            card.reviews = []
        smallest.cards = keep
        store.sync_decks([smallest], NOW)
    summary = describe(store)
    summary["window_days"] = round(plans[0].window_days, 1) if plans else None
    store.close()
    summary["seconds"] = {"total": round(time.perf_counter() - started, 2),
                          **{key: round(value, 2) for key, value in timings.items()}}
    return summary


def describe(store) -> dict:
    conn = store.conn
    states = dict(conn.execute("SELECT state, count(*) FROM card_state WHERE retired = 0 GROUP BY state"))
    return {
        "decks": conn.execute("SELECT count(*) FROM decks").fetchone()[0],
        "cards": conn.execute("SELECT count(*) FROM cards").fetchone()[0],
        "reviews": conn.execute("SELECT count(*) FROM reviews").fetchone()[0],
        "states": {name: states.get(i, 0) for i, name in enumerate(("new", "learning", "review", "relearning"))},
        "suspended": conn.execute("SELECT count(*) FROM card_state WHERE suspended = 1").fetchone()[0],
        "retired": conn.execute("SELECT count(*) FROM cards WHERE retired = 1").fetchone()[0],
        "unkeyed": conn.execute("SELECT count(*) FROM cards WHERE kind = 'choice' AND answer IS NULL").fetchone()[0],
        "choice": conn.execute("SELECT count(*) FROM cards WHERE kind = 'choice'").fetchone()[0],
        "due_now": conn.execute("SELECT count(*) FROM card_state WHERE state > 0 AND retired = 0 AND suspended = 0 "
                                "AND due <= ?", (NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),)).fetchone()[0],
        "first_review": conn.execute("SELECT min(reviewed_at) FROM reviews").fetchone()[0],
        "last_review": conn.execute("SELECT max(reviewed_at) FROM reviews").fetchone()[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, required=True)
    parser.add_argument("--reviews", type=int, required=True)
    parser.add_argument("--db", required=True, help="the database to create (must not exist)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the summary as one line of JSON at the end")
    args = parser.parse_args(argv)
    if args.cards < 1 or args.reviews < 0:
        parser.error("--cards must be at least 1 and --reviews at least 0")
    print(f"building {args.db}: {args.cards:,} cards, {args.reviews:,} reviews, seed {args.seed}, now {NOW_TEXT}")
    summary = build(args.db, args.cards, args.reviews, args.seed, log=print)
    for key, value in summary.items():
        print(f"{key:>12}: {value}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
