"""Personal FSRS parameters: fit them to the learner's review log, test them on later reviews, adopt them
only when asked, reschedule in short transactions, and go back to the defaults.

The fitting is fsrs-rs's (the Rust FSRS that Anki uses, through `fsrs-rs-python`), never
our own. `fsrs.Optimizer` (py-fsrs) fits the same model but needs PyTorch (about 1 GB)
and is thousands of times slower for the same held-out quality; `benchmarks/optimizers.py`
measures both.

What the fit sees. Each review made a day or more after the card's previous review is
one FSRS item: the card's ratings up to and including that review, each with the days
elapsed since the one before (0 for same-day answers, whose short-term effect FSRS-6
models). Days are learner days, from `clock.epoch_day_number` (the deck's day-start hour,
the machine's time zone): the elapsed days the scheduler counts (tested on the real log in
two time zones). The model predicts the item's last review.

A choice card's review asked with its options in sight (format "options", `srs.kinds`) is no
target: a right pick there is recall or a lucky guess, which would read as memory (it stays in
its card's history as the rating given). On simulated learners who guess
(`benchmarks/simulate_guessing.py`) leaving those reviews out measured better on held-out true
recall than keeping them or keeping them at half weight. Reviews asked recall first (options on
request only), typed, and reviews logged before formats were kept are targets as before.

Scores. Log loss, and RMSE over the same ten equal-width bins of predicted recall that
`srs stats` uses for its calibration (`stats._calibration`: bin = tenth of predicted R, RMSE =
sqrt(sum n_b (predicted_b - actual_b)^2 / N)). fsrs-rs's own `evaluate` bins items by
elapsed days, review count and lapses instead, so its "rmse_bins" is another number; the
predictions are fsrs-rs's (its memory states, `historical_memory_state_batch`, and FSRS-6's
forgetting curve at the item's elapsed days), and the log loss equals fsrs-rs's (tested).

Adoption, as Anki 25.07 tests fitted parameters (fsrs-rs's `evaluate_with_time_series_splits`,
which Anki runs for its health check and its "Evaluate"): the items in time order are cut
into FOLDS + 1 equal segments; for each k = 1..FOLDS, parameters are fitted on segments
before k and predict segment k (the last fold takes the remainder). The current set predicts
the same held-out items, and the pooled held-out predictions of both are scored. The fitted
set is recommended only when neither its held-out log loss nor its held-out RMSE is worse than
the current set's; the set recommended is then fitted on every item. (The current set may have
been fitted on the held-out reviews themselves, which favours keeping it.) In-sample scores
on every item are reported too (`before`, `after`).

Nothing changes without the learner's consent: `srs optimize` shows what adopting would do
(`effect`: cards due today and in the 7 learner days after, before and after; the median
interval of review cards and its median change) and adopts only with `--apply` or a yes at a
terminal prompt. Every fitted set is kept in `parameter_sets` with its date, scope and scores,
adopted or not. Adopting (or `--reset`, back to FSRS-6's defaults) first changes the setting
and opens a job in `reschedules`, in one transaction, then replays every reviewed card of the
scope in short transactions (`Store.reschedule`): an interrupted job leaves each card following
the old set or the new one, and is finished by the next `srs optimize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Callable, Optional

from srs.clock import epoch_day_number
from srs.model import SrsError

MIN_REVIEWS = 400  # reviews a day or more apart needed to fit (Anki asks for 400 too)
# fsrs-rs trains 5 epochs by default. On histories simulated from known parameters that
# leaves the training loss above the true parameters' (it underfits, more so with
# `card_ids`); 10 epochs, one item at a time, came within 0.6% of the true parameters'
# held-out log loss on 20 such histories (two parameter sets, 20,000-47,000 reviews a day
# or more apart) and did as well on the real log (benchmarks/optimizers.py). It costs a
# few seconds for a million reviews.
EPOCHS = 10
FOLDS = 5  # time-ordered folds of the held-out test (fsrs-rs's evaluate_with_time_series_splits)
BIG = 50_000  # reviews from which a front end should show progress
ProgressFn = Optional[Callable[[str, int, Optional[int]], None]]  # (task, done, total or None)


@dataclass
class History:
    """A scope's review log as FSRS items with the card and time of each item's last review, in time order.

    fsrs-rs's fit and evaluation depend on the order of the items (it takes it for time
    order), so they come sorted by the time of their last review. `sequences` holds each
    card's whole history as (rating, learner days since the previous answer), and
    `positions` where each item's last review is in its card's sequence.
    """

    items: list = field(default_factory=list)
    card_ids: list[int] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    sequences: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    reviews: int = 0  # review rows read (same-day ones included)


def fsrs_rs():
    """The fsrs-rs binding, or a clear error when it is not installed."""
    try:
        import fsrs_rs_python
    except ImportError:
        raise SrsError("fitting FSRS parameters needs fsrs-rs-python: pip install 'fsrs-rs-python>=0.9.3,<0.10'"
                       ) from None
    return fsrs_rs_python


def default_parameters() -> list[float]:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return list(DEFAULT_PARAMETERS)


Deck = Optional[int]  # a deck's id, None for all decks; or a `srs.store.DeckTree`: a deck with its subdecks


def _decks(deck) -> "int | tuple[int, ...] | None":
    """What the store's readers take for a scope: None (all decks), a deck id, or (a deck with subdecks, or a
    parent that is no deck of its own) the ids of the tree."""
    from srs.store import DeckTree

    if isinstance(deck, DeckTree):
        return deck.id if deck.ids == (deck.id,) else deck.ids
    return deck


def _own(deck) -> int | None:
    """The deck whose parameters are in force for a scope (None: the global ones, as for a parent that is no
    deck of its own)."""
    from srs.store import DeckTree

    return deck.id if isinstance(deck, DeckTree) else deck


def current_parameters(store, deck_id: int | None = None) -> list[float]:
    values = store.deck_settings(deck_id) if deck_id is not None else store.global_settings()
    return list(values.get("parameters") or default_parameters())


def load_history(store, deck_id: Deck = None, progress: ProgressFn = None) -> History:
    """The FSRS items of a deck (with its subdecks when a `DeckTree`; or of all decks), each card's reviews in
    time order."""
    rs = fsrs_rs()
    FSRSItem, FSRSReview = rs.FSRSItem, rs.FSRSReview

    from srs.scheduling import Settings

    hours = {d["id"]: Settings.from_dict(store.deck_settings(d["id"])).day_start_hour for d in store.decks()}
    decks = _decks(deck_id)
    total = store.count_reviews(None if decks is None else [decks] if isinstance(decks, int) else list(decks))
    rows = store.history_rows(decks)
    history = History()
    items, card_ids, times, positions = history.items, history.card_ids, history.times, history.positions
    current, last_day, reviews, hour, sequence = None, None, [], 4, []
    for count, (card_id, deck, epoch, rating, text, *fmt) in enumerate(rows, 1):
        if card_id != current:
            current, last_day, reviews, hour = card_id, None, [], hours.get(deck, 4)
            sequence = history.sequences[card_id] = []
        day = epoch_day_number(epoch, hour)  # clock's learner day: what the scheduler counts
        delta = 0 if last_day is None else max(day - last_day, 0)
        reviews.append(FSRSReview(rating, delta))
        sequence.append((rating, delta))
        if delta >= 1 and not (fmt and fmt[0] == "options"):  # (a pick in sight of the options: not a target)
            items.append(FSRSItem(reviews))
            card_ids.append(card_id)
            times.append(text)
            positions.append(len(sequence) - 1)
        last_day = day
        if progress and count % 20_000 == 0:
            progress("reading the review log", count, total)
    order = sorted(range(len(items)), key=lambda i: (times[i], card_ids[i]))
    history.items = [items[i] for i in order]
    history.card_ids = [card_ids[i] for i in order]
    history.times = [times[i] for i in order]
    history.positions = [positions[i] for i in order]
    history.reviews = total
    if progress:
        progress("reading the review log", total, total)
    return history


def predict(parameters, history: History, indices) -> list[float]:
    """fsrs-rs's predicted recall for items of `history` (by index): the memory state before the item's last
    review (fsrs-rs's `historical_memory_state_batch` over each card's history), then FSRS-6's forgetting
    curve R = (1 + factor * t / S) ** -w20 at the item's elapsed learner days t."""
    rs = fsrs_rs()
    indices = list(indices)
    cards = sorted({history.card_ids[i] for i in indices})
    model = rs.FSRS(list(parameters))
    states = {}
    for start in range(0, len(cards), 20_000):
        part = cards[start:start + 20_000]
        batch = [rs.FSRSItem([rs.FSRSReview(r, d) for r, d in history.sequences[c]]) for c in part]
        for card_id, memory in zip(part, model.historical_memory_state_batch(batch)):
            states[card_id] = [m.stability for m in memory]
    decay = -parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    out = []
    for i in indices:
        card_id, position = history.card_ids[i], history.positions[i]
        elapsed = history.sequences[card_id][position][1]
        out.append((1 + factor * elapsed / states[card_id][position - 1]) ** decay)
    return out


def score(predictions: list[float], passed: list[bool]) -> dict:
    """Log loss and RMSE over `srs stats`'s ten equal-width bins of predicted recall (its own calibration code)."""
    from math import log

    from srs.stats import CLIP, _calibration

    bins = [[0, 0, 0.0] for _ in range(10)]
    loss = 0.0
    for p, y in zip(predictions, passed):
        entry = bins[min(int(p * 10), 9)]
        entry[0] += 1
        entry[1] += y
        entry[2] += p
        loss += -log(max(p, CLIP)) if y else -log(max(1 - p, CLIP))
    result = _calibration({"bins": [tuple(b) for b in bins], "loss": loss, "same_day": 0})
    return {"log_loss": round(result["log_loss"], 6), "rmse_bins": round(result["rmse_bins"], 6)}


def evaluate(parameters, history: History, indices=None) -> dict:
    """Log loss and RMSE over bins of `parameters` on items of `history` (all when `indices` is None)."""
    indices = range(len(history.items)) if indices is None else indices
    return score(predict(parameters, history, indices), _passed(history, indices))


def _passed(history: History, indices) -> list[bool]:
    return [history.sequences[history.card_ids[i]][history.positions[i]][0] > 1 for i in indices]


def fit(items, *, epochs: int = EPOCHS, card_ids=None) -> list[float]:
    """FSRS-6 parameters fitted by fsrs-rs, kept within the bounds `fsrs.Scheduler` accepts, to 4 decimals.

    `items` must be in time order. `card_ids` (one per item) switches fsrs-rs to training
    each card's items as one expanding window: faster, but it underfits (see EPOCHS).
    """
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    rs = fsrs_rs()
    try:
        raw = rs.FSRS(default_parameters()).compute_parameters(
            items, card_ids=card_ids, training_config=rs.TrainingConfig(num_epochs=epochs))
    except Exception as error:  # fsrs-rs reports its own errors as plain exceptions
        raise SrsError(f"fsrs-rs could not fit parameters: {error}") from None
    if len(raw) != len(LOWER_BOUNDS_PARAMETERS):
        raise SrsError(f"fsrs-rs gave {len(raw)} parameters where fsrs takes {len(LOWER_BOUNDS_PARAMETERS)}")
    return [round(min(max(w, low), high), 4) for w, low, high in zip(raw, LOWER_BOUNDS_PARAMETERS,
                                                                       UPPER_BOUNDS_PARAMETERS)]


def held_out(history: History, current: list[float], folds: int = FOLDS, progress: ProgressFn = None) -> dict:
    """The time-ordered test (fsrs-rs's TimeSeriesSplit): fit on the items before each of `folds` later
    segments, predict that segment; the current set predicts the same items. Pooled scores of both."""
    total = len(history.items)
    segment = total // (folds + 1)
    if segment < 1:
        raise SrsError(f"cannot split {total} reviews into {folds + 1} time-ordered parts")
    fitted_predictions, tested, train_sizes = [], [], []
    for k in range(folds):
        start = (k + 1) * segment
        end = total if k == folds - 1 else start + segment
        if progress:
            progress("testing on later reviews", k, folds)
        parameters = fit(history.items[:start])
        fitted_predictions += predict(parameters, history, range(start, end))
        tested += range(start, end)
        train_sizes.append(start)
    if progress:
        progress("testing on later reviews", folds, folds)
    passed = _passed(history, tested)
    return {"before": score(predict(current, history, tested), passed),
            "after": score(fitted_predictions, passed),
            "split": {"method": "time-ordered, expanding window (fsrs-rs TimeSeriesSplit)", "folds": folds,
                      "train": train_sizes, "test": len(tested), "test_from": history.times[segment]}}


def split_evaluation(store, deck_id: int | None = None, *, train_fraction: float = 0.5,
                     compare: dict[str, list[float]] | None = None) -> dict:
    """Fit on the earliest `train_fraction` of the items (by time of their last review), score the rest.

    Returns held-out metrics for the defaults, the fitted set and each set in `compare`.
    """
    history = load_history(store, deck_id)
    cut = int(len(history.items) * train_fraction)
    if cut < 1 or cut >= len(history.items):
        raise SrsError(f"cannot split {len(history.items)} reviews at {train_fraction}")
    fitted = fit(history.items[:cut])
    test = range(cut, len(history.items))
    out = {"train": cut, "test": len(test), "parameters": fitted,
           "defaults": evaluate(default_parameters(), history, test), "fitted": evaluate(fitted, history, test)}
    for name, parameters in (compare or {}).items():
        out[name] = evaluate(parameters, history, test)
    return out


def propose(store, deck_id: Deck = None, *, now: datetime, progress: ProgressFn = None) -> dict:
    """Fit, test on later reviews, and (when recommended) say what adopting would change. Records the fitted
    set (not adopted); nothing else changes. The result is what `srs optimize --json` prints, plus
    `parameter_set_id` and `deck_id` for `adopt`.

    A deck with subdecks (a `DeckTree`) is fitted on the reviews of the whole tree, tested against the
    parameters of the deck named (the global ones for a parent that is no deck of its own), and the set is
    recorded for each deck of the tree, which adopting gives it (as Anki's "save to all subdecks"):
    `deck_ids` and `parameter_set_ids` then say which."""
    tree = deck_id
    decks, deck_id = _decks(tree), _own(tree)
    finish_pending(store, progress)
    history = load_history(store, tree, progress)
    count = len(history.items)
    if count < MIN_REVIEWS:
        where = "in this deck" if decks is not None else "in all decks"
        raise SrsError(f"too little history to fit FSRS parameters: {count} review(s) made a day or more after the "
                       f"card's previous review {where}; at least {MIN_REVIEWS} are needed")
    current = current_parameters(store, deck_id)
    test = held_out(history, current, progress=progress)
    if progress:
        progress("fitting FSRS parameters", 0, None)
    fitted = fit(history.items)
    if progress:
        progress("fitting FSRS parameters", 1, 1)
    before, after = evaluate(current, history), evaluate(fitted, history)
    recommended = (test["after"]["log_loss"] <= test["before"]["log_loss"]
                   and test["after"]["rmse_bins"] <= test["before"]["rmse_bins"] and fitted != current)
    changes = effect(store, tree, fitted, now, progress) if recommended else None
    owners = list(decks) if isinstance(decks, tuple) else [decks]
    with store.write():
        set_ids = [store.record_parameter_set(now, owner, fitted, count, _optimizer_name(), before, after, False,
                                              test) for owner in owners]
    return {"before": before, "after": after, "adopted": False, "parameters": fitted, "reviews": count,
            "held_out": test, "recommended": recommended, "effect": changes, "parameter_set_id": set_ids[0],
            "deck_id": deck_id, "deck_ids": decks if isinstance(decks, tuple) else None, "parameter_set_ids": set_ids}


def adopt(store, proposal: dict, *, now: datetime, progress: ProgressFn = None) -> int:
    """Put a proposed set in force and reschedule its scope; returns the reviews replayed."""
    deck_id = proposal["deck_id"]
    if proposal.get("deck_ids"):  # a deck's tree: each of its decks takes the set as its own
        with store.write():
            jobs = [store.start_reschedule(now, d, [d], proposal["parameters"], "adopt", set_id)
                    for d, set_id in zip(proposal["deck_ids"], proposal["parameter_set_ids"])]
        proposal["adopted"] = True
        return sum(_run(store, job, progress) for job in jobs)
    with store.write():
        job = store.start_reschedule(now, deck_id, _scope(store, deck_id), proposal["parameters"], "adopt",
                                     proposal["parameter_set_id"])
    proposal["adopted"] = True
    return _run(store, job, progress)


def reset(store, deck_id: Deck = None, *, now: datetime, progress: ProgressFn = None) -> dict:
    """Back to FSRS-6's defaults: the global set removed (or a deck's own set, which then follows the global
    one; a deck with subdecks: each one's), and the scope rescheduled. Returns what changed."""
    finish_pending(store, progress)
    decks, deck_id = _decks(deck_id), _own(deck_id)
    with store.write():
        if isinstance(decks, tuple):
            jobs = [store.start_reschedule(now, d, [d], None, "reset") for d in decks]
        else:
            jobs = [store.start_reschedule(now, deck_id, _scope(store, deck_id), None, "reset")]
    replayed = sum(_run(store, job, progress) for job in jobs)
    parameters = current_parameters(store, deck_id)  # a deck reset follows the global set
    return {"reviews_replayed": replayed, "parameters": parameters, "defaults": parameters == default_parameters()}


def optimize(store, deck_id: Deck = None, *, now: datetime, progress: ProgressFn = None,
             apply: bool = False) -> dict:
    """`propose`, then `adopt` when recommended and `apply`."""
    proposal = propose(store, deck_id, now=now, progress=progress)
    if apply and proposal["recommended"]:
        adopt(store, proposal, now=now, progress=progress)
    return proposal


def finish_pending(store, progress: ProgressFn = None) -> int:
    """Finish rescheduling jobs an earlier run left unfinished (killed); returns the reviews replayed."""
    return sum(_run(store, job["id"], progress) for job in store.pending_reschedules())


def _run(store, job: int, progress: ProgressFn) -> int:
    done = (lambda count, total: progress("rescheduling cards", count, total)) if progress else None
    return store.reschedule(job, done)


def _scope(store, deck_id: "int | tuple[int, ...] | None") -> list[int]:
    """The decks a scope's parameters govern: the deck (a deck's tree: each of its decks), or (all decks) those
    without a set of their own."""
    if isinstance(deck_id, tuple):
        return list(deck_id)
    return [d["id"] for d in store.decks()
            if (d["id"] == deck_id if deck_id is not None else "parameters" not in d["settings"])]


def effect(store, deck_id: Deck, parameters: list[float], now: datetime, progress: ProgressFn = None) -> dict:
    """What adopting `parameters` would change, from a replay of every reviewed card of the scope (nothing
    written): active cards due today (before the end of the learner day) and in the 7 learner days after,
    before and after, and for cards in review both times, the median interval (due - last review, days)
    before and after and the median change."""
    from srs import clock
    from srs.scheduling import Settings, replay

    decks = _scope(store, _decks(deck_id))
    rows = store.reviewed_card_rows(decks)
    settings = {d: {**store.deck_settings(d), "parameters": parameters} for d in decks}
    ends = {}
    for d in decks:
        hour = Settings.from_dict(settings[d]).day_start_hour
        today = clock.day_number(now, hour)
        ends[d] = (clock.to_text(clock.day_start(today + 1, hour)), clock.to_text(clock.day_start(today + 8, hour)))
    counts = {"due_today": [0, 0], "due_next_7_days": [0, 0]}
    intervals: list[tuple[float, float]] = []
    total = sum(r[5] for r in rows)
    done = 0
    for start in range(0, len(rows), 2000):
        chunk = rows[start:start + 2000]
        histories = store.histories([r[0] for r in chunk])
        for card_id, deck, state, due, last, reps, suspended, retired in chunk:
            done += reps
            history = histories.get(card_id)
            if not history or suspended or retired or due is None:
                continue  # no answer since its last reset (a card reset in Anki): rescheduling leaves it as it is
            _, after = replay(card_id, [review for _, _, review in history], settings[deck])
            end_today, end_week = ends[deck]
            new_due = clock.to_text(after.due)
            for k, value in enumerate((due, new_due)):
                counts["due_today"][k] += value < end_today
                counts["due_next_7_days"][k] += end_today <= value < end_week
            if state == 2 and after.state == "review":
                old = (clock.from_text(due) - clock.from_text(last)).total_seconds() / 86400
                intervals.append((old, (after.due - after.last_review).total_seconds() / 86400))
        if progress:
            progress("working out the effect", done, total)
    return {
        "due_today": {"before": counts["due_today"][0], "after": counts["due_today"][1]},
        "due_next_7_days": {"before": counts["due_next_7_days"][0], "after": counts["due_next_7_days"][1]},
        "review_cards": len(intervals),
        "median_interval_days": {"before": round(median(i[0] for i in intervals), 2) if intervals else None,
                                 "after": round(median(i[1] for i in intervals), 2) if intervals else None},
        "median_interval_change_days": round(median(i[1] - i[0] for i in intervals), 2) if intervals else None,
    }


def _optimizer_name() -> str:
    from importlib.metadata import version

    return f"fsrs-rs-python {version('fsrs-rs-python')} ({EPOCHS} epochs)"


def parameter_sets(store, deck_id: int | None = None) -> list[dict]:
    """Every fitted set of a scope, oldest first."""
    return store.parameter_sets(deck_id)


# -- desired retention: workload and knowledge ------------------------------------------

RETENTIONS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.97)
DAYS = 365
SAMPLE = 300  # existing cards simulated (a random sample, scaled up to all of them)
NEW_RUNS = 4  # simulations of the new-card flow averaged per retention
MAX_ANSWER_MS = 60_000  # longer answers count as this long (Anki's default cap)


def retention_table(store, deck_id: Deck = None, *, now: datetime, progress: ProgressFn = None,
                    seed: int = 42) -> dict:
    """Simulate a year of study at each desired retention in RETENTIONS; recommend one.

    Simulations are fsrs-rs's (`simulate`, `optimal_retention`): the learner's current
    cards at their stored memory states and due days, plus the new cards still to study
    at the deck's new-card rate, with the learner's own first-rating and review-rating
    shares and answer times where the log has enough of them. The binding's `simulate`
    takes no existing cards; `optimal_retention` does and hands every simulation it runs
    to `target`: with each existing card set to the retention in question and no new
    cards, all its simulations (112 seeds) are samples of that retention's workload.
    The recommendation minimises the time spent per card remembered after the year, the
    objective of fsrs-rs's `optimal_retention` (Anki's "minimum recommended retention").
    """
    import random

    from srs.scheduling import Settings

    rs = fsrs_rs()
    Card, optimal_retention, simulate = rs.Card, rs.optimal_retention, rs.simulate

    scope, deck_id = _decks(deck_id), _own(deck_id)
    chosen = None if scope is None else {scope} if isinstance(scope, int) else set(scope)
    decks = [d for d in store.decks() if chosen is None or d["id"] in chosen]
    settings = {d["id"]: Settings.from_dict(store.deck_settings(d["id"])) for d in decks}
    main = Settings.from_dict(store.deck_settings(deck_id) if deck_id is not None else store.global_settings())
    main_parameters = current_parameters(store, deck_id)
    existing = store.studied_card_rows(scope)
    new_counts = store.new_card_counts(scope)
    new_cards = sum(new_counts.values())
    new_per_day = sum(settings[d].new_per_day for d in new_counts if d in settings)
    if not existing and not (new_cards and new_per_day):
        raise SrsError("nothing to simulate: no studied cards and no new cards to learn"
                       + (" in this deck" if scope is not None else ""))
    sample = random.Random(seed).sample(existing, min(len(existing), SAMPLE))
    scale = len(existing) / len(sample) if sample else 0.0
    probs, costs = _learner_shares(store, scope)
    epoch_now = int(now.timestamp())
    deck_parameters = {d: current_parameters(store, d) for d in settings}
    rows = []
    for step, retention in enumerate(RETENTIONS):
        if progress:
            progress("simulating a year of study", step, len(RETENTIONS))
        totals = _Totals()
        if sample:
            cards = []
            for card_id, deck, stability, difficulty, due, last, lapses in sample:
                hour = settings[deck].day_start_hour
                today = epoch_day_number(epoch_now, hour)
                card = Card()
                card.id, card.stability, card.difficulty, card.lapses = card_id, stability, difficulty, lapses
                card.last_date = float(epoch_day_number(last, hour) - today)
                card.due = float(max(epoch_day_number(due, hour) - today, 0))
                card.interval = max(card.due - card.last_date, 1.0)
                card.desired_retention, card.parameters = retention, deck_parameters[deck]
                cards.append(card)
            runs: list = []
            optimal_retention(_config(main, probs, costs, len(cards), 0), main_parameters, cards=cards,
                              target=lambda result, _w: runs.append(result) or 0.0)
            totals.add(runs, scale)
        if new_cards and new_per_day:
            config = _config(main, probs, costs, new_cards, new_per_day)
            totals.add([simulate(main_parameters, retention, config, seed + run) for run in range(NEW_RUNS)], 1.0)
        rows.append(totals.row(retention))
    if progress:
        progress("simulating a year of study", len(RETENTIONS), len(RETENTIONS))
    best = min(rows, key=lambda row: row["seconds_per_card_remembered"])
    return {"days": DAYS, "cards": len(existing), "new_cards": new_cards, "new_per_day": new_per_day,
            "current": main.desired_retention, "recommended": best["desired_retention"], "retentions": rows}


@dataclass
class _Totals:
    reviews: float = 0.0
    seconds: float = 0.0
    remembered: float = 0.0

    def add(self, results: list, scale: float) -> None:
        if not results:
            return
        share = scale / len(results)
        for result in results:
            self.reviews += share * (sum(result.review_cnt_per_day) + sum(result.learn_cnt_per_day))
            self.seconds += share * sum(result.cost_per_day)
            self.remembered += share * result.memorized_cnt_per_day[-1]

    def row(self, retention: float) -> dict:
        return {"desired_retention": retention, "reviews_per_day": round(self.reviews / DAYS, 1),
                "minutes_per_day": round(self.seconds / DAYS / 60, 1), "remembered": round(self.remembered),
                "seconds_per_card_remembered": round(self.seconds / max(self.remembered, 1e-9), 1)}


def _config(settings, probs: dict, costs, deck_size: int, learn_limit: int):
    config = fsrs_rs().default_simulator_config()
    config.deck_size, config.learn_span, config.learn_limit = deck_size, DAYS, learn_limit
    config.max_cost_perday = 1e12  # no cap: the workload is what is measured
    config.max_ivl = float(settings.maximum_interval)
    config.learning_step_count = len(settings.learning_steps)
    config.relearning_step_count = len(settings.relearning_steps)
    if "first" in probs:
        config.first_rating_prob = probs["first"]
    if "review" in probs:
        config.review_rating_prob = probs["review"]
    config.state_rating_costs = costs(config.state_rating_costs)
    return config


def _learner_shares(store, deck_id: int | None):
    """The learner's first-rating and pass-rating shares, and answer times, from the log (where there are enough)."""
    first, passed, seconds = store.answer_tallies(deck_id, MAX_ANSWER_MS)
    probs = {}
    if sum(first.values()) >= 50:
        probs["first"] = [first.get(rating, 0) / sum(first.values()) for rating in (1, 2, 3, 4)]
    if sum(passed.values()) >= 50:
        probs["review"] = [passed.get(rating, 0) / sum(passed.values()) for rating in (2, 3, 4)]

    def costs(defaults):
        return [[seconds[(kind, rating)][1] if seconds.get((kind, rating), (0, 0))[0] >= 20
                 else defaults[kind][rating - 1] for rating in (1, 2, 3, 4)] for kind in (0, 1, 2)]

    return probs, costs
