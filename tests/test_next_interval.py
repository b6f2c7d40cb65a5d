"""`srs card ID` and the review show the same intervals for a card at the same moment (review
finding 10: the card page said `Easy 18h` where the review said `Easy (4) 1d`). A review interval is
in learner days, as Anki shows it: one formatter (`scheduling.interval_text`) for both."""

from __future__ import annotations

import re

from conftest import run_srs

DECK = "# D\n\n## What does FSRS stand for?\nFree Spaced Repetition Scheduler\n"
BUTTON = re.compile(r"(Again|Hard|Good|Easy) \(\d\) (\S+)")
NEXT = re.compile(r"(Again|Hard|Good|Easy) (\S+)")


def _review_texts(db, now):
    out = run_srs("--db", str(db), "review", input="\nq\n", env={"SRS_NOW": now, "COLUMNS": "100"}).stdout
    return dict(BUTTON.findall(out))


def _card_texts(db, now):
    out = run_srs("--db", str(db), "card", "1", env={"SRS_NOW": now, "COLUMNS": "100"}).stdout
    line = next(line for line in out.splitlines() if line.startswith("Next:"))
    return dict(NEXT.findall(line))


def _answer(db, now, rating):
    result = run_srs("--db", str(db), "review", input=f"\n{rating}\nq\n", env={"SRS_NOW": now})
    assert result.returncode == 0, result.stderr


def test_card_page_and_review_show_the_same_intervals(tmp_path):
    import json

    db = tmp_path / "srs.db"
    (tmp_path / "d.md").write_text(DECK)
    assert run_srs("--db", str(db), "import", str(tmp_path / "d.md")).returncode == 0

    def same(now):
        review, page = _review_texts(db, now), _card_texts(db, now)
        assert len(review) == 4 and review == page, (now, review, page)
        data = json.loads(run_srs("--db", str(db), "card", "1", "--json", env={"SRS_NOW": now}).stdout)
        assert {name: outcome.get("interval_text") for name, outcome in data["next"].items()} == {
            name.lower(): text for name, text in review.items()}  # --json says it too
        return review

    same("2026-11-02T10:00:00+00:00")  # new
    _answer(db, "2026-11-02T10:00:00+00:00", 1)  # Again: in learning; Easy would go to review tomorrow
    assert same("2026-11-02T10:02:00+00:00")["Easy"] == "1d"  # due at the next learner day's start: not 18h
    _answer(db, "2026-11-02T10:02:00+00:00", 3)
    _answer(db, "2026-11-02T10:15:00+00:00", 3)  # graduates
    same("2026-11-05T21:30:00+00:00")  # in review, late in a learner day
