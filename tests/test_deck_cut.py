"""Long deck names cut so that sibling subdecks stay apart (review finding 5): one rule,
`display.cut_deck`, in `srs status`, the card lists and the review header."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conftest import run_srs
from srs.display import width

NEETCODE = ["Two Pointers", "Binary Search", "Bit Manipulation", "Sliding Window", "Heap / Priority Queue",
            "Arrays & Hashing", "Intervals", "Graphs", "Advanced Graphs"]


def test_the_subdeck_stays_and_the_middle_goes():
    from srs.display import cut_deck

    assert cut_deck("LeetCode::NeetCode150::Two Pointers", 30) == "LeetCode::…::Two Pointers"
    assert cut_deck("LeetCode::NeetCode150::Two Pointers", 20) == "…::Two Pointers"
    assert cut_deck("spoken-languages::english::Vocab::2019", 31) == "…::english::Vocab::2019"
    assert cut_deck("1-TEMPLATES::Typing broken", 20) == "…::Typing broken"
    # a subdeck too long even alone: its last whole words, else its start
    assert cut_deck("life::mindfulness::Mindfulness Daily Course Chapter 1", 20) == "…Course Chapter 1"
    assert cut_deck("LeetCode::NeetCode150::Intervals", 11) == "…Intervals"
    assert cut_deck("1-TEMPLATES::Conditionals", 11) == "Conditiona…"
    assert cut_deck("Short::Name", 40) == "Short::Name"
    assert cut_deck("AI Engineer vs ML Engineer: Choosing", 20) == "AI Engineer vs ML…"  # one part: as any text


@given(st.lists(st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=25)
                .filter(str.strip).map(lambda s: " ".join(s.split())), min_size=1, max_size=5),
       st.integers(1, 60))
def test_a_cut_name_fits_and_keeps_its_last_part_when_it_can(parts, limit):
    from srs.display import cut_deck

    name = "::".join(parts)
    shown = cut_deck(name, limit)
    assert width(shown) <= limit
    if width(name) <= limit:
        assert shown == name
    elif len(parts) > 1 and width("…::" + parts[-1]) <= limit:
        assert shown.endswith("::" + parts[-1]) and "…" in shown


def _subdecks(tmp_path):
    db = tmp_path / "srs.db"
    for k, sub in enumerate(NEETCODE):
        (tmp_path / f"d{k}.md").write_text(f"# LeetCode::NeetCode150::{sub}\n\n## {sub} question {k}?\nAnswer\n")
    assert run_srs("--db", str(db), "import", str(tmp_path)).returncode == 0
    return db


def test_status_and_cards_tell_the_subdecks_apart(tmp_path):
    db = _subdecks(tmp_path)
    for columns in (60, 80):
        status = run_srs("--db", str(db), "status", env={"COLUMNS": str(columns)}).stdout.splitlines()
        names = [line[:line.index("  ")] for line in status[1:1 + len(NEETCODE)]]
        assert len(set(names)) == len(NEETCODE), (columns, names)  # every row its own subdeck
        if columns == 80:
            assert "LeetCode::…::Two Pointers" in names and "LeetCode::…::Binary Search" in names
    cards = run_srs("--db", str(db), "cards", env={"COLUMNS": "80"}).stdout.splitlines()[1:]
    decks = [line[7:7 + 16].rstrip() for line in cards]
    assert len(set(decks)) == len(NEETCODE) and "…::Two Pointers" in decks and "…::Graphs" in decks, decks


def test_the_review_header_shows_the_subdeck(tmp_path):
    db = _subdecks(tmp_path)
    for columns in (60, 80):
        lines = run_srs("--db", str(db), "review", input="q\n", env={"COLUMNS": str(columns)}).stdout.splitlines()
        at = next(k for k, line in enumerate(lines) if line.lstrip("─ ").startswith("new "))
        sub = lines[at + 1].split(" question ")[0]  # the card shown: "{sub} question {k}?"
        assert sub in NEETCODE and f"::{sub} · #" in lines[at], lines[at:at + 2]
