"""Card identity across edits: which stored card each card of a re-imported deck is.

A card keeps its id (and so its history) when its source edits it. Matching runs in
passes, each only over what the earlier ones left:

1. the id the source gives (an Anki note guid), when there is one (an Anki card already in the
   store, in any deck, is settled before: `known`);
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
WINDOW = 200  # characters of two texts' differing middles compared character by character
MATCH_BUDGET = 5_000_000  # character pairs compared in one import (about 0.5 s at worst), then prefix and suffix only


def similarity_of(a: str, b: str, budget: list[int] | None = None) -> float:
    """How alike two texts are, 0-1, in bounded time: difflib's ratio (2 x matched characters / both
    lengths) where the matched characters are the common prefix and suffix, plus what difflib matches
    between the differing middles (cut to WINDOW characters each). A typo fixed or a word changed
    anywhere in a text of any length costs the length of the text; two texts that differ all along
    cost at most WINDOW squared, taken from `budget` (a one-item list, spent across calls): when it is
    spent, the middles count as unmatched (a lower bound, so fewer pairs are taken, never a wrong one)."""
    total = len(a) + len(b)
    if not total:
        return 1.0
    if 2 * min(len(a), len(b)) < FAIRLY_CLOSE * total:  # difflib's real_quick_ratio: the lengths alone
        return 2 * min(len(a), len(b)) / total
    head = _common_prefix(a, b)
    tail = _common_prefix(a[head:][::-1], b[head:][::-1])
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
    matched = head + tail
    if 2 * (matched + min(len(middle_a), len(middle_b))) < FAIRLY_CLOSE * total:
        return 2 * matched / total  # even a whole match of the middles would not be close enough
    if middle_a and middle_b:
        middle_a, middle_b = middle_a[:WINDOW], middle_b[:WINDOW]
        cost = len(middle_a) * len(middle_b)
        if budget is None or budget[0] >= cost:
            if budget is not None:
                budget[0] -= cost
            matcher = SequenceMatcher(None, middle_a, middle_b, autojunk=False)
            if matcher.quick_ratio() * (len(middle_a) + len(middle_b)) / 2 + matched >= FAIRLY_CLOSE * total / 2:
                matched += sum(block.size for block in matcher.get_matching_blocks())
    return 2 * matched / total


def _common_prefix(a: str, b: str) -> int:
    """The length of the common prefix, by halving (string comparisons run in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_cards(cards: list[CardSpec], existing: list, known: dict[int, object] | None = None) -> dict[int, object]:
    """Map positions in `cards` to the existing rows (with .id, .question, .answer, .options, .source_id).
    `known`: pairs settled before matching (an Anki card that is already in the store, found by its note
    guid and ord): kept as they are, their cards and rows left out of the passes."""
    pairs: dict[int, object] = dict(known or {})
    if not existing:  # a new deck: nothing to match
        return pairs
    taken: set[int] = {row.id for row in pairs.values()}
    by_source = {row.source_id: row for row in existing if row.source_id}
    by_question: dict[str, object] = {}
    for row in existing:  # live cards win over retired ones with the same question (and sibling ord)
        key = (normalise(row.question), getattr(row, "ord", 0))
        if key not in by_question or (by_question[key].retired and not row.retired):
            by_question[key] = row
    for position, card in enumerate(cards):
        if position in pairs:
            continue
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
    budget = [MATCH_BUDGET]
    row_questions = [normalise(row.question) for row in left_rows]
    for position in left_cards:
        card = cards[position]
        question = normalise(card.question)
        options = json.dumps(card.options, ensure_ascii=False) if card.options is not None else None
        for row, other in zip(left_rows, row_questions):
            if row.kind != card.kind or getattr(row, "ord", 0) != card.ord:
                continue  # a card keeps its kind and its place among its siblings
            if card.source_id and row.source_id and card.source_id != row.source_id:
                continue  # the source names both cards, and they are different cards
            similarity = similarity_of(question, other, budget)
            if similarity < FAIRLY_CLOSE:
                continue
            same_body = (options is not None and options == row.options) or (
                options is None and row.options is None and bool(card.answer) and card.answer == row.answer)
            if similarity >= CLOSE or same_body:
                scored.append((similarity + same_body, position, row))
    scored.sort(key=lambda item: -item[0])
    for _, position, row in scored:
        if position not in pairs and row.id not in taken:
            pairs[position] = row
            taken.add(row.id)
    return pairs
