"""The re-import matcher under hypothesis and atheris: bounded, one-to-one, and a typo never loses a card."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.matching import CLOSE, WINDOW, match_cards, normalise, similarity_of
from srs.model import CardSpec

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000)


@dataclass
class Row:
    id: int
    question: str
    answer: str | None = "a"
    options: str | None = None
    source_id: str | None = None
    retired: int = 0
    kind: str = "basic"
    ord: int = 0


@settings(max_examples=300, deadline=None)
@given(text, text)
def test_similarity_is_a_fraction_and_one_for_equal_texts(a, b):
    value = similarity_of(a, b, [10 ** 6])
    assert 0.0 <= value <= 1.0
    assert similarity_of(a, a) == 1.0
    if a != b:
        assert value < 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=20, max_size=5000), st.data())
def test_a_one_character_typo_anywhere_is_always_close(question, data):
    at = data.draw(st.integers(0, len(question) - 1))
    typo = data.draw(st.characters(blacklist_categories=("Cs",)))
    edited = question[:at] + typo + question[at + 1:]
    assert similarity_of(question, edited, [0]) >= CLOSE  # even with the budget spent: prefix + suffix


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=15), st.lists(st.text(max_size=300), max_size=15),
       st.lists(st.booleans(), max_size=15))
def test_matching_is_one_to_one_and_keeps_unchanged_questions(old, new, retired):
    rows = [Row(i + 1, q, retired=int(retired[i]) if i < len(retired) else 0) for i, q in enumerate(old)]
    cards = [CardSpec(question=q, answer="a") for q in new]
    pairs = match_cards(cards, rows)
    ids = [row.id for row in pairs.values()]
    assert len(ids) == len(set(ids))
    known = {normalise(row.question) for row in rows}
    seen = set()
    for position, card in enumerate(cards):
        key = normalise(card.question)
        if key in known and key not in seen:
            assert position in pairs and normalise(pairs[position].question) == key
        seen.add(key)


def test_long_texts_differing_in_the_middle_compare_a_window_only():
    a = "x" * 10_000 + "a" * 5000 + "y" * 10_000
    b = "x" * 10_000 + "b" * 5000 + "y" * 10_000
    budget = [10 ** 9]
    value = similarity_of(a, b, budget)
    assert 10 ** 9 - budget[0] <= WINDOW * WINDOW
    assert value == pytest.approx(40_000 / 50_000)


def test_atheris_finds_no_crash_in_the_matcher(tmp_path):
    pytest.importorskip("atheris")
    script = Path(__file__).parent / "fuzz_matching.py"
    result = subprocess.run([sys.executable, str(script), "-atheris_runs=5000", "-max_len=8192", "-seed=1",
                             f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 5000 in" in result.stderr
