"""`--cram` over a few thousand cards: the cards practised are read with one query per 500 cards
(`Store.cards_flags`), and they are the same as read one card at a time (`Store.card_flags`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from srs import clock
from srs.session import ReviewSession
from srs.store import Store

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=timezone.utc)
CARDS = 3_000


def test_a_cram_of_thousands_of_cards_keeps_the_same_cards_with_few_queries(tmp_path, cli):
    deck = tmp_path / "many.md"
    deck.write_text("# Many\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(CARDS)))
    cli("import", str(deck), now=T0.isoformat())
    store = Store(tmp_path / "srs.db")
    ids = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    rng = random.Random(7)
    rng.shuffle(ids)  # the order a search gives is kept
    store.suspend_cards(ids[:300], True)
    store.set_buried(ids[300:600], clock.to_text(T0 + timedelta(hours=5)))  # buried until later today
    store.set_buried(ids[600:900], clock.to_text(T0 - timedelta(hours=1)))  # a burial over already

    stamp = clock.to_text(T0)
    expected = []
    for card_id in ids:  # the rule, one card at a time
        suspended, until, _ = store.card_flags(card_id)
        if not suspended or (suspended == 2 and until is not None and until <= stamp):
            expected.append(card_id)
    assert len(expected) == CARDS - 600

    statements = []
    store.conn.set_trace_callback(statements.append)
    session = ReviewSession(store, cram=ids, now=lambda: T0, read_only=True)
    store.conn.set_trace_callback(None)
    assert session._cram == expected and session.cram_left_out == 600
    flag_reads = [s for s in statements if "suspended" in s and "card_state" in s]
    assert len(flag_reads) == -(-CARDS // 500), len(flag_reads)  # one per 500 cards, not one per card
