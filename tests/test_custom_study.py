"""Custom study through the real CLI (issue 15, point 5): --new N, --ahead DAYS, --cram QUERY."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from srs.store import Store

BASIC = "# Basic\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(8))
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=timezone.utc)


def at(moment: datetime) -> str:
    return moment.isoformat()


def _deck(tmp_path, cli):
    (tmp_path / "deck.md").write_text(BASIC)
    cli("import", str(tmp_path / "deck.md"), now=at(T0))


def _studied(cards):
    return {c["id"]: {k: v for k, v in c.items() if k != "retrievability"} for c in cards}


def test_new_allows_more_new_cards_today(tmp_path, cli):
    _deck(tmp_path, cli)
    cli("config", "new_per_day", "2", now=at(T0))
    cli("review", input="\n4\n" * 10 + "q\n", now=at(T0))  # Easy: each new card goes straight to review
    assert len(cli.json("cards", "-is:new", now=at(T0))) == 2
    cli("review", input="\n4\n" * 10 + "q\n", now=at(T0))
    assert len(cli.json("cards", "-is:new", now=at(T0))) == 2  # today's limit is used up
    out = cli("review", "--new", "3", input="\n4\n" * 10 + "q\n", now=at(T0)).stdout
    assert len(cli.json("cards", "-is:new", now=at(T0))) == 5 and "3 new" in out


def test_ahead_reviews_cards_due_within_the_days_as_early_reviews(tmp_path, cli):
    _deck(tmp_path, cli)
    cli("review", input="\n4\n" * 8 + "q\n", now=at(T0))
    later = T0 + timedelta(days=1)
    before = cli.json("cards", now=at(later))
    soonest = min(c["interval_days"] for c in before)
    assert soonest > 1
    assert "· 0 review" in cli("review", input="q\n", now=at(later)).stdout  # nothing due today
    early = cli.json("cards", f"prop:due<={soonest}", now=at(later))  # due within `soonest` learner days
    out = cli("review", "--ahead", str(soonest), input="\n3\n" * 8 + "q\n", now=at(later)).stdout
    after = {c["id"]: c for c in cli.json("cards", now=at(later))}
    assert early and f"· {len(early)} review" in out
    log = cli.json("log")
    for card in early:  # answered a day in: FSRS scheduled it from the one day elapsed
        assert [r["kind"] for r in log if r["card_id"] == card["id"]] == ["learn", "review"]
        assert after[card["id"]]["reps"] == 2 and after[card["id"]]["due"] > card["due"]
    untouched = [c for c in before if c["id"] not in {e["id"] for e in early}]
    assert all(after[c["id"]]["reps"] == 1 for c in untouched)


def test_cram_logs_practice_and_leaves_every_state_as_it_was(tmp_path, cli):
    _deck(tmp_path, cli)
    cli("review", input="\n4\n" * 3 + "q\n", now=at(T0))
    later = T0 + timedelta(days=1)
    before = _studied(cli.json("cards", now=at(later)))
    log_before = cli.json("log")
    # Question 1 and 2: Again then Good for the first, undo of an answer, Good...
    out = cli("review", "--cram", "question 1 or question 2", input="\n1\n\n3\n\n3\n" + "q\n",
              now=at(later)).stdout
    assert "no change" in out
    assert _studied(cli.json("cards", now=at(later))) == before  # no state moved
    log = cli.json("log")
    cram = log[len(log_before):]
    assert [r["kind"] for r in cram] == ["cram", "cram", "cram"] and [r["rating"] for r in cram] == [1, 3, 3]
    assert cram[0]["card_id"] == cram[2]["card_id"]  # Again showed it again after the other card
    status = cli.json("status", now=at(later))["decks"][0]
    assert status["new"] == 5  # cramming a new card does not introduce it
    stats = cli.json("stats", now=at(later))
    assert stats["calibration"]["n"] == 0 and stats["calibration"]["same_day"] == 0  # practice is no review
    store = Store(cli.db)  # a replay of a card's history (optimize, reschedule) leaves practice out
    histories = store.histories([r["card_id"] for r in cram])
    assert all(len(h) <= 1 for h in histories.values())
    store.close()
    # undo takes a practice answer back
    cli("review", "--cram", "question 3 or question 4", input="\n3\nu\nq\n", now=at(later))
    assert len(cli.json("log")) == len(log)
    result = cli("review", "--cram", "nothing-matches-this", ok=False, now=at(later))
    assert result.exit_code == 1 and "no card matches" in str(result.exception)


def test_ahead_header_counts_what_the_session_shows_past_the_collection_review_limit(tmp_path, cli):
    """Reviewing all decks ahead: the collection's review limit does not apply (as the queue), and a
    learning card counts only once within the learn-ahead (as the queue shows it)."""
    (tmp_path / "many.md").write_text("# Many\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(30)))
    (tmp_path / "other.md").write_text("# Other\n\n## Later?\nlater\n")
    cli("import", str(tmp_path / "many.md"), str(tmp_path / "other.md"), now=at(T0))
    cli("config", "Many", "new_per_day", "30", now=at(T0))
    cli("review", "Many", input="\n4\n" * 30 + "q\n", now=at(T0))  # 30 review cards, due in 6 to 10 days
    cli("config", "reviews_per_day", "10", now=at(T0))  # the collection's limit
    later = T0 + timedelta(days=7)
    cli("config", "Other", "learning_steps", "1 600", now=at(T0))
    cli("review", "Other", input="\n3\nq\n", now=at(later - timedelta(hours=1)))  # learning, due in 10 hours
    assert len(cli.json("cards", "is:review prop:due<=3", now=at(later))) == 30
    assert len(cli.json("cards", "is:learn", now=at(later))) == 1
    reviews = len(cli.json("log"))
    out = cli("review", "--ahead", "3", input="\n3\n" * 31 + "q\n", now=at(later)).stdout
    assert "To review: 0 new · 0 learning · 30 review" in out
    assert len(cli.json("log")) == reviews + 30  # the session answers all 30
    headers = [line for line in out.splitlines() if line.lstrip("─ ").startswith("new ")]
    assert [int(h.split("review ")[1].split(" ")[0]) for h in headers] == list(range(30, 0, -1))


def test_cram_header_counts_the_practice_queue_by_state(tmp_path, cli):
    _deck(tmp_path, cli)
    cli("review", input="\n4\n" * 3 + "q\n", now=at(T0))  # 3 review cards, 5 new
    later = T0 + timedelta(days=1)
    out = cli("review", "--cram", "deck:*", input="\n3\n\n1\n" + "q\n", now=at(later)).stdout
    assert "To review: 5 new · 0 learning · 3 review" in out
    headers = [line for line in out.splitlines() if line.lstrip("─ ").startswith("new ")]
    assert len(headers) == 3
    # Question 0 (review) answered Good leaves the queue; Question 1 (review) answered Again comes back at the end
    assert "new 5 · learning 0 · review 3" in headers[0] and "new 5 · learning 0 · review 2" in headers[1]
    assert "new 5 · learning 0 · review 2" in headers[2]


def test_a_card_studied_ahead_is_not_shown_again_in_a_wide_window(tmp_path, cli):
    """`--ahead 30`: a card answered early whose new due date still falls in the window does not come
    back in the same session (or in another session the same day): each card is answered once."""
    (tmp_path / "many.md").write_text("# Many\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(12)))
    cli("import", str(tmp_path / "many.md"), now=at(T0))
    cli("review", input="\n4\n" * 12 + "q\n", now=at(T0))  # 12 review cards, due in a few days
    later = T0 + timedelta(days=1)
    reviews = len(cli.json("log"))
    out = cli("review", "--ahead", "30", input="\n3\n" * 40 + "q\n", now=at(later)).stdout  # Good: due again within 30 days
    log = cli.json("log")[reviews:]
    assert sorted(r["card_id"] for r in log if r["kind"] == "review") == sorted({r["card_id"] for r in log})
    assert len({r["card_id"] for r in log if r["kind"] == "review"}) == 12
    assert "To review: 0 new · 0 learning · 12 review" in out


def test_cram_leaves_out_suspended_and_buried_cards_whatever_the_search(tmp_path, cli):
    """Review finding 7: Anki's filtered decks never take a suspended or buried card, even when the
    search names them (`is:suspended`); neither does `--cram`."""
    (tmp_path / "deck.md").write_text(BASIC + "## The capital of {{c1::France}} is {{c2::Paris}}.\n\n")
    cli("import", str(tmp_path / "deck.md"), now=at(T0))
    cloze = cli.json("cards", "kind:cloze", now=at(T0))
    assert len(cloze) == 2
    cli("suspend", "1", now=at(T0))
    result = cli("review", "--cram", "is:suspended", input="\n3\nq\n", ok=False, now=at(T0))
    assert result.exit_code == 1 and "suspended or buried" in str(result.exception)
    assert [r["kind"] for r in cli.json("log")] == []  # nothing practised
    # answering one cloze card buries its sibling until tomorrow; cramming the cloze cards then takes one
    out = cli("review", "--cram", "kind:cloze", input="\n3\n" * 3 + "q\n", now=at(T0)).stdout
    assert "To review: 2 new" in out  # neither is buried yet: cram answers bury nothing
    cli("bury", str(cloze[1]["id"]), now=at(T0))
    out = cli("review", "--cram", "kind:cloze or is:suspended", input="\n3\n" * 3 + "q\n", now=at(T0)).stdout
    assert "To review: 1 new · 0 learning · 0 review" in out
    assert "2 suspended or buried cards left out" in out
    practised = [r["card_id"] for r in cli.json("log")][2:]
    assert practised == [cloze[0]["id"]]
    tomorrow = T0 + timedelta(days=1)  # the burial is over: the sibling is practised again
    out = cli("review", "--cram", "kind:cloze", input="q\n", now=at(tomorrow)).stdout
    assert "To review: 2 new" in out and "left out" not in out
