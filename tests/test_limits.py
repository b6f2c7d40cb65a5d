"""Collection-wide limits with per-deck limits at once (issue 15, point 6): a simulated week on two
decks with the collection at 20 new cards and 200 reviews a day, each deck at 15 new and 150 reviews."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from srs import clock
from srs.session import ReviewSession
from srs.store import Store

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
CARDS = 200  # studied cards a deck brings (all overdue on the first day), plus 40 new ones each


def _collection(tmp_path, cli):
    lines = ["card_id,review_rating,review_time,review_duration"]
    for card in range(1, 2 * CARDS + 1):
        for days in (20, 19):
            lines.append(f"{card},3,{(START - timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')},3000")
    (tmp_path / "log.csv").write_text("\n".join(lines) + "\n")
    cli("import-history", str(tmp_path / "log.csv"))
    for deck, first in (("Alpha", 1), ("Beta", CARDS + 1)):
        rows = [f"{deck} {card}?,answer {card},{card}" for card in range(first, first + CARDS)]
        rows += [f"{deck} new {k}?,new answer {k}," for k in range(40)]
        (tmp_path / f"{deck}.csv").write_text(f"#separator:comma\n#deck:{deck}\n#guid column:3\n" + "\n".join(rows)
                                             + "\n")
        cli("import", str(tmp_path / f"{deck}.csv"))
        cli("config", deck, "new_per_day", "15")
        cli("config", deck, "reviews_per_day", "150")
    cli("config", "new_per_day", "20")
    cli("config", "reviews_per_day", "200")


def test_a_week_holds_the_collection_and_deck_limits_every_day(tmp_path, cli):
    _collection(tmp_path, cli)
    store = Store(cli.db)
    names = {d["id"]: d["name"] for d in store.decks()}
    totals = []
    for day in range(7):
        moment = [START + timedelta(days=day)]
        now = clock.to_text(moment[0])
        status = cli.json("status", now=moment[0].isoformat())
        session = ReviewSession(store, now=lambda: moment[0])
        planned = session.remaining()
        assert planned["new"] <= 20 and planned["review"] <= 200
        assert sum(d["due_now"] for d in status["decks"]) == planned["review"]  # status reads the same queue
        while (card := session.next_card()) is not None:
            session.answer(card, 4 if card.progress.state == "new" else 3, 2000)
            moment[0] += timedelta(seconds=5)
        session.close()
        start, end = (clock.to_text(t) for t in clock.day_bounds(START + timedelta(days=day), 4))
        counts = store.answered_by_deck(start, end)
        new = Counter({names[d]: c[0] for d, c in counts.items()})
        reviews = Counter({names[d]: c[1] for d, c in counts.items()})
        totals.append((sum(new.values()), sum(reviews.values())))
        assert sum(new.values()) <= 20 and sum(reviews.values()) <= 200, (day, new, reviews)
        assert all(n <= 15 for n in new.values()) and all(r <= 150 for r in reviews.values()), (day, new, reviews)
        assert (sum(new.values()), sum(reviews.values()))[0] == planned["new"], now  # status and review agree
    assert [t[0] for t in totals] == [20, 20, 20, 15, 5, 0, 0]  # the collection binds (not 2 x 15); 80 new in all
    assert totals[0][1] == 200 and totals[1][1] == 200  # 400 overdue reviews: 200 a day
