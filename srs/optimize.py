"""Personal FSRS parameters: fit them to the learner's review log, check them, adopt them, reschedule.

The fitting is fsrs-rs's (the Rust FSRS that Anki uses, through `fsrs-rs-python`), never
our own. `fsrs.Optimizer` (py-fsrs) fits the same model but needs PyTorch (about 1 GB)
and is thousands of times slower for the same held-out quality; `benchmarks/optimizers.py`
measures both.

What the fit sees. Each review made a day or more after the card's previous review is
one FSRS item: the card's ratings up to and including that review, each with the days
elapsed since the one before (0 for same-day answers, whose short-term effect FSRS-6
models). Days are learner days (the deck's day-start hour in the machine's time zone),
as Anki and the FSRS tools count them. The model predicts the item's last review; log
loss and RMSE over bins (fsrs-rs's `evaluate`) are computed over those reviews.

Adoption. A fitted set replaces the current one (the deck's, or the global one when
fitting all decks; FSRS-6 defaults when none) only when, on the learner's whole
history, its log loss is not worse and its RMSE over bins is lower: log loss is what
the fit minimises, RMSE over bins is calibration, and a set that trades one for the
other is not clearly better. Every fitted set is kept in `parameter_sets` with its
date, scope and metrics, adopted or not. Adopting stores the set in the settings and
replays every card's history in that scope with `fsrs` (`scheduling.replay`), all in
one transaction: card states and each review's `prev_*` state follow the new set; the
history itself (times, ratings) is untouched. Replaying costs about 50 us a review, so
with a million reviews other sessions wait (and give up after SQLite's busy timeout)
until it is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
BIG = 50_000  # reviews from which a front end should show progress
ProgressFn = Optional[Callable[[str, int, Optional[int]], None]]  # (task, done, total or None)


@dataclass
class History:
    """A scope's review log as FSRS items with the card and time of each item's last review, in time order.

    fsrs-rs's fit and evaluation depend on the order of the items (it takes it for time
    order), so they come sorted by the time of their last review.
    """

    items: list = field(default_factory=list)
    card_ids: list[int] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
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


def current_parameters(store, deck_id: int | None = None) -> list[float]:
    values = store.deck_settings(deck_id) if deck_id is not None else store.global_settings()
    return list(values.get("parameters") or default_parameters())


def load_history(store, deck_id: int | None = None, progress: ProgressFn = None) -> History:
    """The FSRS items of a deck (or of all decks), each card's reviews in time order."""
    rs = fsrs_rs()
    FSRSItem, FSRSReview = rs.FSRSItem, rs.FSRSReview

    from srs.scheduling import Settings

    hours = {d["id"]: Settings.from_dict(store.deck_settings(d["id"])).day_start_hour for d in store.decks()}
    total = store.count_reviews(None if deck_id is None else [deck_id])
    rows = store.history_rows(deck_id)
    history = History()
    items, card_ids, times = history.items, history.card_ids, history.times
    current, last_day, reviews, hour = None, None, [], 4
    for count, (card_id, deck, epoch, rating, text) in enumerate(rows, 1):
        if card_id != current:
            current, last_day, reviews, hour = card_id, None, [], hours.get(deck, 4)
        day = epoch_day_number(epoch, hour)
        delta = 0 if last_day is None else max(day - last_day, 0)
        reviews.append(FSRSReview(rating, delta))
        if delta >= 1:
            items.append(FSRSItem(reviews))
            card_ids.append(card_id)
            times.append(text)
        last_day = day
        if progress and count % 20_000 == 0:
            progress("reading the review log", count, total)
    order = sorted(range(len(items)), key=lambda i: (times[i], card_ids[i]))
    history.items = [items[i] for i in order]
    history.card_ids = [card_ids[i] for i in order]
    history.times = [times[i] for i in order]
    history.reviews = total
    if progress:
        progress("reading the review log", total, total)
    return history


def evaluate(parameters, items) -> dict:
    """Log loss and RMSE over bins of `parameters` on FSRS items (fsrs-rs's evaluation)."""
    result = fsrs_rs().FSRS(list(parameters)).evaluate(items)
    return {"log_loss": round(result.log_loss, 6), "rmse_bins": round(result.rmse_bins, 6)}


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
    held_out = history.items[cut:]
    out = {"train": cut, "test": len(held_out), "parameters": fitted,
           "defaults": evaluate(default_parameters(), held_out), "fitted": evaluate(fitted, held_out)}
    for name, parameters in (compare or {}).items():
        out[name] = evaluate(parameters, held_out)
    return out


def optimize(store, deck_id: int | None = None, *, now: datetime, progress: ProgressFn = None) -> dict:
    """Fit, compare with the current set, keep the record, adopt when better (and reschedule)."""
    history = load_history(store, deck_id, progress)
    count = len(history.items)
    if count < MIN_REVIEWS:
        where = "in this deck" if deck_id is not None else "in all decks"
        raise SrsError(f"too little history to fit FSRS parameters: {count} review(s) made a day or more after the "
                       f"card's previous review {where}; at least {MIN_REVIEWS} are needed")
    current = current_parameters(store, deck_id)
    if progress:
        progress("fitting FSRS parameters", 0, None)
    fitted = fit(history.items)
    before, after = evaluate(current, history.items), evaluate(fitted, history.items)
    adopted = after["log_loss"] <= before["log_loss"] and after["rmse_bins"] < before["rmse_bins"]
    if progress:
        progress("fitting FSRS parameters", 1, 1)
    with store.write():  # the record, the adoption and the rescheduling: all or nothing
        store.record_parameter_set(now, deck_id, fitted, count, _optimizer_name(), before, after, adopted)
        if adopted:
            store.adopt_parameters(deck_id, fitted)
            _reschedule(store, deck_id, fitted, progress)
    return {"before": before, "after": after, "adopted": adopted, "parameters": fitted, "reviews": count}


def _optimizer_name() -> str:
    from importlib.metadata import version

    return f"fsrs-rs-python {version('fsrs-rs-python')} ({EPOCHS} epochs)"


def _reschedule(store, deck_id: int | None, parameters: list[float], progress: ProgressFn) -> int:
    """Replay each reviewed card of the scope with `parameters` (`Store.reschedule`), inside the caller's transaction.

    With all decks in scope, decks that have their own parameters keep them and are left alone.
    """
    decks = [d for d in store.decks()
             if (d["id"] == deck_id if deck_id is not None else "parameters" not in d["settings"])]
    total = store.count_reviews([d["id"] for d in decks])
    scope = [(d["id"], {**store.deck_settings(d["id"]), "parameters": parameters}) for d in decks]
    done = (lambda count: progress("rescheduling cards", count, total)) if progress else None
    return store.reschedule(scope, done)


def parameter_sets(store, deck_id: int | None = None) -> list[dict]:
    """Every fitted set of a scope, oldest first."""
    return store.parameter_sets(deck_id)


# -- desired retention: workload and knowledge ------------------------------------------

RETENTIONS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.97)
DAYS = 365
SAMPLE = 300  # existing cards simulated (a random sample, scaled up to all of them)
NEW_RUNS = 4  # simulations of the new-card flow averaged per retention
MAX_ANSWER_MS = 60_000  # longer answers count as this long (Anki's default cap)


def retention_table(store, deck_id: int | None = None, *, now: datetime, progress: ProgressFn = None,
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

    decks = [d for d in store.decks() if deck_id is None or d["id"] == deck_id]
    settings = {d["id"]: Settings.from_dict(store.deck_settings(d["id"])) for d in decks}
    main = Settings.from_dict(store.deck_settings(deck_id) if deck_id is not None else store.global_settings())
    main_parameters = current_parameters(store, deck_id)
    existing = store.studied_card_rows(deck_id)
    new_counts = store.new_card_counts(deck_id)
    new_cards = sum(new_counts.values())
    new_per_day = sum(settings[d].new_per_day for d in new_counts if d in settings)
    if not existing and not (new_cards and new_per_day):
        raise SrsError("nothing to simulate: no studied cards and no new cards to learn"
                       + (" in this deck" if deck_id is not None else ""))
    sample = random.Random(seed).sample(existing, min(len(existing), SAMPLE))
    scale = len(existing) / len(sample) if sample else 0.0
    probs, costs = _learner_shares(store, deck_id)
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
