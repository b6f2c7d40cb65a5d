"""Coverage-guided fuzzing of the re-import matcher with atheris (run by hand, and briefly by the test suite).

    python tests/fuzz_matching.py [libFuzzer options, e.g. -atheris_runs=200000 -max_len=20000]

Each input is split into an old deck and a new deck of questions; `match_cards` must
return a one-to-one map from new cards to live old cards, pair every question that
is unchanged, and `similarity_of` must stay within 0-1 (1 for equal texts). An
exception or a broken property is a crash that atheris reports with its input.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import atheris

with atheris.instrument_imports():
    from srs.matching import match_cards, normalise, similarity_of
    from srs.model import CardSpec


@dataclass
class Row:
    id: int
    question: str
    answer: str | None
    options: str | None
    source_id: str | None = None
    retired: int = 0
    kind: str = "basic"
    ord: int = 0


def decks(data: bytes) -> tuple[list[CardSpec], list[Row]]:
    fdp = atheris.FuzzedDataProvider(data)
    old_count, new_count = fdp.ConsumeIntInRange(0, 12), fdp.ConsumeIntInRange(0, 12)
    rows = [Row(i + 1, fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400)), "a", None,
                retired=int(fdp.ConsumeBool() and fdp.ConsumeBool())) for i in range(old_count)]
    cards = []
    for _ in range(new_count):
        if rows and fdp.ConsumeBool():  # an old question, perhaps edited a little
            base = rows[fdp.ConsumeIntInRange(0, len(rows) - 1)].question
            at = fdp.ConsumeIntInRange(0, len(base))
            question = base[:at] + fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 3)) + base[at + 1:]
        else:
            question = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400))
        cards.append(CardSpec(question=question, answer="a"))
    return cards, rows


def matcher(data: bytes) -> None:
    cards, rows = decks(data)
    pairs = match_cards(cards, rows)
    ids = [row.id for row in pairs.values()]
    assert len(ids) == len(set(ids)), "two new cards matched one stored card"
    assert all(0 <= position < len(cards) for position in pairs)
    live = {normalise(row.question) for row in rows}
    for position, card in enumerate(cards):
        if normalise(card.question) in live:
            assert position in pairs or any(normalise(cards[p].question) == normalise(card.question)
                                            for p in range(position)), "an unchanged question was not matched"
    for card in cards[:3]:
        for row in rows[:3]:
            value = similarity_of(normalise(card.question), normalise(row.question))
            assert 0.0 <= value <= 1.0
    for row in rows[:3]:
        assert similarity_of(row.question, row.question) == 1.0


if __name__ == "__main__":
    atheris.Setup(sys.argv, matcher)
    atheris.Fuzz()
