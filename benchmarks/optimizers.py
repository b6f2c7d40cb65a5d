"""Benchmark: the FSRS optimizers available here, side by side on the same history.

Prints two tables:

1. the real review log (tests/data/real-review-log.csv): held-out log loss and RMSE
   over bins of the defaults and of srs's fit, on time-ordered 50/50 and 80/20 splits
   and in sample, with days counted from midnight UTC (as the reference figures were)
   and from 4 a.m. (srs's default day start);
2. a simulated learner with known parameters (about 100,000 reviews by default): wall
   time of each optimizer and held-out log loss of what it fits, next to the true and
   the default parameters.

Optimizers: fsrs-rs (`fsrs-rs-python`) as srs uses it (10 epochs, one item at a time),
with the library's defaults (5 epochs) and with `card_ids` (per-card windows), and py-fsrs's
`fsrs.Optimizer` (PyTorch) when installed. It is an optional extra, about 1 GB:

    pip install "fsrs[optimizer]"        # torch, numpy, pandas, tqdm

Run: python benchmarks/optimizers.py [--reviews 100000] [--train-fraction 0.8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a plain clone without installing the package
    sys.path.insert(0, str(ROOT))

os.environ["TZ"] = "UTC"  # learner days counted in UTC, whatever the machine's zone
time.tzset()

from srs import clock, optimize  # noqa: E402
from srs.history import import_history, simulate_history  # noqa: E402
from srs.store import Store  # noqa: E402

REAL_LOG = ROOT / "tests" / "data" / "real-review-log.csv"
NOW = clock.parse_time("2024-10-07T12:00:00Z")
# the simulated learner: slower forgetting (decay 0.4) and higher initial stabilities than the defaults
TRUE = [0.4, 1.2, 3.5, 12.0, 6.0, 0.5, 2.0, 0.01, 1.5, 0.15, 0.9, 1.8, 0.1, 0.3, 2.0, 0.4, 2.2, 0.5, 0.2, 0.1, 0.4]


def real_log_table(folder: Path) -> None:
    store = Store(folder / "real.db")
    import_history(store, REAL_LOG, NOW)
    deck_id = store.decks()[0]["id"]
    print("Real log (12,580 reviews), held-out metrics: log loss / RMSE over bins")
    print(f"{'day starts':<12}{'split':<11}{'items':>13}{'defaults':>19}{'fitted':>19}")
    for hour in (0, 4):
        store.set_deck_setting(deck_id, "day_start_hour", hour)
        for fraction in (0.5, 0.8):
            r = optimize.split_evaluation(store, deck_id, train_fraction=fraction)
            print(f"{hour:02d}:00 UTC   {f'{fraction:.0%} train':<11}{r['train']:>6}/{r['test']:<6}"
                  f"{_pair(r['defaults']):>19}{_pair(r['fitted']):>19}")
        items = optimize.load_history(store, deck_id).items
        defaults = optimize.evaluate(optimize.default_parameters(), items)
        fitted = optimize.evaluate(optimize.fit(items), items)
        print(f"{hour:02d}:00 UTC   {'in sample':<11}{len(items):>13}{_pair(defaults):>19}{_pair(fitted):>19}")
    store.close()


def _pair(metrics: dict) -> str:
    return f"{metrics['log_loss']:.4f} / {metrics['rmse_bins']:.4f}"


def optimizer_table(folder: Path, reviews: int, fraction: float) -> None:
    # new cards come in over the first 320 days of the year; a small pilot tells how many give `reviews`
    pilot = simulate_history(TRUE, cards=960, new_per_day=3, days=365, seed=10)
    cards = round(reviews / pilot.report["reviews"] * 960)
    store = Store(folder / "synthetic.db")
    spec = simulate_history(TRUE, cards=cards, new_per_day=max(1, cards // 320), days=365, seed=11)
    store.sync_decks([spec], NOW)
    history = optimize.load_history(store)
    cut = int(len(history.items) * fraction)
    train, test = history.items[:cut], history.items[cut:]
    cut_time = history.times[cut - 1]
    print(f"\nSimulated learner: {history.reviews:,} reviews of {cards:,} cards; fit on the first {fraction:.0%} of "
          f"the {len(history.items):,} reviews a day or more apart (by time), score the other {len(test):,}")
    print(f"{'optimizer':<58}{'wall time':>11}{'held-out log loss':>19}{'RMSE (bins)':>13}")

    def row(name: str, seconds: float | None, parameters) -> None:
        metrics = optimize.evaluate(parameters, test)
        shown = "" if seconds is None else f"{seconds:.2f} s"
        print(f"{name:<58}{shown:>11}{metrics['log_loss']:>19.4f}{metrics['rmse_bins']:>13.4f}")

    row("true parameters (no fit)", None, TRUE)
    row("FSRS-6 defaults (no fit)", None, optimize.default_parameters())
    for name, kwargs in (("fsrs-rs-python: as srs fits (10 epochs, per item)", {}),
                         ("fsrs-rs-python: library defaults (5 epochs, per item)", {"epochs": 5}),
                         ("fsrs-rs-python: 5 epochs, card_ids (per-card windows)",
                          {"epochs": 5, "card_ids": history.card_ids[:cut]})):
        start = time.perf_counter()
        parameters = optimize.fit(train, **kwargs)
        row(name, time.perf_counter() - start, parameters)
    try:
        from fsrs import Optimizer, ReviewLog
        import torch  # noqa: F401
    except ImportError:
        missing = 'not installed: pip install "fsrs[optimizer]" (PyTorch, ~1 GB)'
        print(f"{'fsrs.Optimizer (py-fsrs, PyTorch)':<58}{missing}")
        return
    logs = [ReviewLog(card_id=card_id, rating=rating, review_datetime=clock.from_text(at), review_duration=duration)
            for card_id, at, rating, duration in store.conn.execute(
                "SELECT card_id, reviewed_at, rating, duration_ms FROM reviews WHERE reviewed_at <= ? "
                "ORDER BY reviewed_at, id", (cut_time,))]
    start = time.perf_counter()
    parameters = Optimizer(logs).compute_optimal_parameters()
    row("fsrs.Optimizer (py-fsrs 6.3.2, PyTorch)", time.perf_counter() - start, parameters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=100_000, help="size of the simulated history")
    parser.add_argument("--train-fraction", type=float, default=0.8, help="share of the history fitted on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        real_log_table(Path(folder))
        optimizer_table(Path(folder), args.reviews, args.train_fraction)


if __name__ == "__main__":
    main()
