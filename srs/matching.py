"""Card identity across edits: which stored card each card of a re-imported deck is.

A card keeps its id (and so its history) when its source edits it. Matching runs in
passes, each only over what the earlier ones left:

1. the id the source gives (an Anki note guid), when there is one;
2. the same question (ignoring case and spacing), so reordering a file changes nothing;
3. the most similar question among the rest, of the same kind (basic or choice): a
   typo fixed, a word changed. A pair is taken when the questions are nearly the
   same, or when they are fairly close and the answer or options are unchanged.
   Pairs are taken best first. Templated questions ("capital of Peru?" / "capital
   of Chile?") differ by more than a typo and are not paired, nor are two cards the
   source gives different ids.

Whatever stays unmatched is new (in the file) or retired (in the store).
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher

from srs.model import CardSpec

CLOSE = 0.9  # question similarity that is a match on its own
FAIRLY_CLOSE = 0.5  # question similarity that is a match when the answer is unchanged
MAX_FUZZY_PAIRS = 250_000  # beyond this many leftover pairs, skip the similarity pass


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_cards(cards: list[CardSpec], existing: list) -> dict[int, object]:
    """Map positions in `cards` to the existing rows (with .id, .question, .answer, .options, .source_id)."""
    pairs: dict[int, object] = {}
    if not existing:  # a new deck: nothing to match
        return pairs
    taken: set[int] = set()
    by_source = {row.source_id: row for row in existing if row.source_id}
    by_question: dict[str, object] = {}
    for row in existing:  # live cards win over retired ones with the same question (and sibling ord)
        key = (normalise(row.question), getattr(row, "ord", 0))
        if key not in by_question or (by_question[key].retired and not row.retired):
            by_question[key] = row
    for position, card in enumerate(cards):
        row = by_source.get(card.source_id) if card.source_id else None
        if row is None:
            row = by_question.get((normalise(card.question), card.ord))
        if row is not None and row.id not in taken:
            pairs[position] = row
            taken.add(row.id)
    left_cards = [p for p in range(len(cards)) if p not in pairs]
    left_rows = [row for row in existing if row.id not in taken and not row.retired]
    if not left_cards or not left_rows or len(left_cards) * len(left_rows) > MAX_FUZZY_PAIRS:
        return pairs
    scored = []
    for position in left_cards:
        card = cards[position]
        question = normalise(card.question)
        options = json.dumps(card.options, ensure_ascii=False) if card.options is not None else None
        for row in left_rows:
            if row.kind != card.kind or getattr(row, "ord", 0) != card.ord:
                continue  # a card keeps its kind and its place among its siblings
            if card.source_id and row.source_id and card.source_id != row.source_id:
                continue  # the source names both cards, and they are different cards
            matcher = SequenceMatcher(None, question, normalise(row.question), autojunk=False)
            if matcher.real_quick_ratio() < FAIRLY_CLOSE or matcher.quick_ratio() < FAIRLY_CLOSE:
                continue
            similarity = matcher.ratio()
            same_body = (options is not None and options == row.options) or (
                options is None and bool(card.answer) and card.answer == row.answer)
            if similarity >= CLOSE or (same_body and similarity >= FAIRLY_CLOSE):
                scored.append((similarity + same_body, position, row))
    scored.sort(key=lambda item: -item[0])
    for _, position, row in scored:
        if position not in pairs and row.id not in taken:
            pairs[position] = row
            taken.add(row.id)
    return pairs
