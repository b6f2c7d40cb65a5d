"""The line of what each rating would give (review finding 9): at any width a button and its
interval stay together; the line breaks between buttons only."""

from __future__ import annotations

import re

from conftest import run_srs

BUTTONS = re.compile(r"(Again \(1\)|Hard \(2\)|Good \(3\)|Easy \(4\)) (\S+)")


def test_a_button_never_parts_from_its_interval(tmp_path):
    db = tmp_path / "srs.db"
    deck = tmp_path / "d.md"
    deck.write_text("# D\n\n## What does FSRS stand for?\nFree Spaced Repetition Scheduler\n")
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    for columns in (40, 60, 80):
        for extra in ([], ["--cram", "deck:*"]):  # intervals, and practice's "no change"
            out = run_srs("--db", str(db), "review", *extra, input="\nq\n", env={"COLUMNS": str(columns)}).stdout
            lines = out.splitlines()
            start = next(k for k, line in enumerate(lines) if "Again (1)" in line)
            end = next(k for k, line in enumerate(lines) if "Easy (4)" in line)
            rating_lines = lines[start:end + 1]
            assert all(len(line) <= columns for line in rating_lines), rating_lines
            found = [m.group(1) for line in rating_lines for m in BUTTONS.finditer(line)]
            assert found == ["Again (1)", "Hard (2)", "Good (3)", "Easy (4)"], (columns, rating_lines)
            if columns == 80 and not extra:
                assert len(rating_lines) == 1  # one line where it fits


def test_rating_line_breaks_between_buttons():
    from srs.terminal import rating_line

    texts = {1: "1m", 2: "6m", 3: "10m", 4: "1d"}
    assert rating_line(texts, 80) == "Again (1) 1m  ·  Hard (2) 6m  ·  Good (3) 10m  ·  Easy (4) 1d"
    assert rating_line(texts, 60) == "Again (1) 1m  ·  Hard (2) 6m  ·  Good (3) 10m\nEasy (4) 1d"
    assert rating_line(texts, 20).splitlines() == ["Again (1) 1m", "Hard (2) 6m", "Good (3) 10m", "Easy (4) 1d"]
