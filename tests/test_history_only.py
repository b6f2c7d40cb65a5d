"""Cards a review log brings without content (issue 15, point 9): never in review, status or the
new-card queue; counted apart in stats and used by optimize; a source with the same ids attaches content."""

from __future__ import annotations

NOW = "2024-03-01T10:00:00+00:00"
LOG = ("card_id,review_rating,review_time,review_duration\n"
       "101,3,2024-01-01T10:00:00Z,5000\n101,3,2024-01-05T10:00:00Z,4000\n"
       "102,1,2024-01-01T10:01:00Z,6000\n102,3,2024-01-02T10:00:00Z,3000\n")


def _history(tmp_path, cli):
    log = tmp_path / "revlog.csv"
    log.write_text(LOG)
    cli("import-history", str(log))
    return log


def test_history_only_cards_stay_out_of_review_and_status(tmp_path, cli):
    (tmp_path / "d.md").write_text("# Real\n\n## A real question?\nyes\n")
    cli("import", str(tmp_path / "d.md"))
    _history(tmp_path, cli)
    status = cli.json("status", now=NOW)  # a deck of history-only cards has nothing to study: no row of zeros
    assert [d["deck"] for d in status["decks"]] == ["Real"]
    assert "history" not in cli("status", now=NOW).stdout
    out = cli("review", input="\n\nq\n", now=NOW).stdout
    assert "A real question?" in out and "imported history" not in out
    assert [c["question"] for c in cli.json("cards", now=NOW)] == ["A real question?"]
    stats = cli.json("stats", now=NOW)
    assert stats["states"]["history_only"] == 2 and stats["states"]["total"] == 1
    assert stats["reviews"] >= 4  # their answers count
    assert "2 history-only cards" in cli("stats", now=NOW).stdout
    assert len(cli.json("card", "1", now=NOW)["history"]) + len(cli.json("card", "2", now=NOW)["history"]) >= 2


def test_a_table_with_the_same_ids_attaches_content(tmp_path, cli):
    log = _history(tmp_path, cli)
    table = tmp_path / "words.csv"
    table.write_text("#separator:comma\n#guid column:3\nQuestion one?,Answer one,101\nQuestion new?,New,999\n")
    out = cli("import", str(table), now=NOW).stdout
    assert "1 given to the history a review log brought" in out
    cards = {c["question"]: c for c in cli.json("cards", now=NOW)}
    assert set(cards) == {"Question one?", "Question new?"}
    attached = cards["Question one?"]
    assert attached["reps"] == 2 and attached["state"] == "review" and cards["Question new?"]["reps"] == 0
    assert len(cli.json("card", str(attached["id"]), now=NOW)["history"]) == 2
    cli("import-history", str(log))  # the log again: the attached card stays with its content
    assert {c["question"] for c in cli.json("cards", now=NOW)} == {"Question one?", "Question new?"}
    assert cli.json("stats", now=NOW)["states"]["history_only"] == 1


def test_an_older_database_turns_its_placeholder_cards_history_only(tmp_path, cli):
    import sqlite3

    (tmp_path / "d.md").write_text("# Card 7 (imported history)\n\n## Card 7 (imported history)\n\n")
    cli("import", str(tmp_path / "d.md"))  # a real deck whose text only looks like a placeholder: left alone
    _history(tmp_path, cli)
    conn = sqlite3.connect(cli.db)  # as schema 11 left it: placeholders were live cards
    conn.execute("UPDATE cards SET retired = 0")
    conn.execute("UPDATE card_state SET retired = 0")
    conn.execute("ALTER TABLE cards DROP COLUMN learner_tags")
    for trigger in ("insert", "delete", "update", "deck"):
        conn.execute(f"DROP TRIGGER stats_cache_{trigger}")
    conn.execute("DROP TABLE stats_cache")
    conn.execute("PRAGMA user_version = 11")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm012%'")
    conn.commit()
    conn.close()
    # the real deck keeps its card; the log's deck, all history-only now, has no row
    decks = cli.json("status", now=NOW)["decks"]
    assert [(d["deck"], d["total"]) for d in decks] == [("Card 7 (imported history)", 1)]
    assert cli.json("stats", now=NOW)["states"]["history_only"] == 2


def test_export_leaves_out_a_deck_of_history_only_cards_and_says_so(tmp_path, cli):
    import json
    import sqlite3
    import zipfile

    (tmp_path / "d.md").write_text("# Real\n\n## A real question?\nyes\n")
    cli("import", str(tmp_path / "d.md"))
    _history(tmp_path, cli)
    history = [d["name"] for d in __import__("srs.store").store.Store(cli.db).decks() if d["name"] != "Real"]
    assert len(history) == 1
    out = cli("export", "anki", str(tmp_path / "all.apkg"), "--with-progress", now=NOW).stdout
    assert out.strip().endswith(f"1 card(s) from 1 deck(s) with 0 review(s); left out (no cards to export): "
                                f"{history[0]!r}")
    with zipfile.ZipFile(tmp_path / "all.apkg") as package:
        package.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    names = {deck["name"] for deck in json.loads(conn.execute("SELECT decks FROM col").fetchone()[0]).values()}
    conn.close()
    assert names == {"Default", "Real"}
    result = cli("export", "anki", str(tmp_path / "h.apkg"), "--deck", history[0], ok=False, now=NOW)
    assert result.exit_code == 1 and "nothing to export" in str(result.exception)
    assert not (tmp_path / "h.apkg").exists()
