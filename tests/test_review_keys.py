"""Review's own actions (issue 15, points 3 and 4) and option counts at import (issue 14, point 3):
undo of any action, bury, flag, edit, space = Good, siblings buried for the day, leeches; through the
session and the real CLI. The terminal-level checks (tmux) are in test_terminal_keys.py."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from srs.decks import parse_deck
from srs.session import ReviewSession
from srs.store import Store

NOW = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)

DECK = """# D

## Hund
<->
dog

## {{c1::Paris}} is in {{c2::France}}

## Plain
answer
"""


def _session(tmp_path, text=DECK, **settings):
    path = tmp_path / "deck.md"
    path.write_text(text)
    store = Store(tmp_path / "srs.db")
    store.sync_decks([parse_deck(text, str(path))], NOW)
    for key, value in settings.items():
        store.set_global_setting(key, value)
    clock = {"now": NOW}
    return store, ReviewSession(store, now=lambda: clock["now"]), clock


def _state(store, card_id):
    return store.conn.execute("SELECT suspended, buried_until, flag FROM card_state WHERE card_id = ?",
                              (card_id,)).fetchone()


def test_answering_a_card_buries_its_siblings_until_the_next_learner_day_and_undo_brings_them_back(tmp_path,
                                                                                                   monkeypatch):
    store, session, _ = _session(tmp_path)
    shown = []
    while (card := session.next_card()) is not None:
        shown.append((card.spec.question, card.spec.ord))
        assert session.answer(card, 4, 1000)
    # one of each pair of siblings, and the plain card: the reversed card and cloze 2 are buried
    assert shown == [("Hund", 0), ("{{c1::Paris}} is in {{c2::France}}", 0), ("Plain", 0)]
    buried = store.conn.execute("SELECT card_id, buried_until FROM card_state WHERE suspended = 2").fetchall()
    assert sorted(card_id for card_id, _ in buried) == [2, 4]
    assert {until for _, until in buried} == {"2026-03-03T04:00:00.000000Z"}  # the next day starts at 4 a.m.
    session.undo()  # Plain: no sibling
    undone = session.undo()  # the cloze card: its sibling comes back
    assert undone.what == "answer" and undone.card.id == 3 and _state(store, 4)[0] == 0 and _state(store, 2)[0] == 2
    store.close()
    # opened after the next learner day started, the buried card is back in the queue
    monkeypatch.setenv("SRS_NOW", "2026-03-03T03:59:00Z")
    assert _state(Store(tmp_path / "srs.db"), 2)[0] == 2
    monkeypatch.setenv("SRS_NOW", "2026-03-03T04:00:00Z")
    assert _state(Store(tmp_path / "srs.db"), 2)[0] == 0


def test_sibling_burying_follows_the_three_switches(tmp_path):
    store, session, _ = _session(tmp_path, bury_new_siblings=False)
    shown = []
    while (card := session.next_card()) is not None:
        shown.append(card.id)
        assert session.answer(card, 4, 1000)
    assert shown == [1, 2, 3, 4, 5] and not store.conn.execute(
        "SELECT count(*) FROM card_state WHERE suspended = 2").fetchone()[0]


def test_an_anki_notes_cards_are_siblings(tmp_path):
    store, session, _ = _session(tmp_path, "# D\n\n## A\na\n\n## B\nb\n")
    store.conn.execute("INSERT INTO note_types (id, anki_id, key, name, kind, fields, templates) "
                       "VALUES (1, 1, 'k', 'Basic', 0, '[]', '[]')")
    store.conn.execute("INSERT INTO notes (id, guid, note_type_id, fields) VALUES (1, 'g', 1, '[]')")
    store.conn.execute("INSERT INTO card_notes (card_id, note_id, ord) VALUES (1, 1, 0), (2, 1, 1)")
    assert [row[0] for row in store.siblings(1)] == [2]
    assert session.answer(session.next_card(), 4, 1000) and session.effects.buried == [2]
    assert session.next_card() is None


def test_bury_suspend_flag_and_undo_in_any_order(tmp_path):
    store, session, _ = _session(tmp_path, "# D\n\n## A\na\n\n## B\nb\n\n## C\nc\n")
    a = session.next_card()
    assert session.answer(a, 3, 1000)
    b = session.next_card()
    assert b.id == 2 and session.bury(b) and _state(store, 2)[0] == 2
    assert session.next_card().id == 3
    c = session.next_card()
    session.suspend(c)
    assert _state(store, 3)[0] == 1
    assert session.flag(a) and _state(store, 1)[2] == 1
    assert session.undo().what == "flag" and _state(store, 1)[2] == 0
    undone = session.undo()  # the suspension, not the answer before it
    assert (undone.what, undone.card.id, undone.done) == ("suspend", 3, True) and _state(store, 3)[:2] == (0, None)
    assert session.next_card().id == 3  # shown again next
    assert session.undo().what == "bury" and _state(store, 2)[:2] == (0, None)
    assert session.undo().what == "answer" and store.review_count() == 0
    assert session.undo() is None


def test_undo_of_a_suspension_changed_elsewhere_says_so_and_changes_nothing(tmp_path):
    store, session, _ = _session(tmp_path, "# D\n\n## A\na\n")
    card = session.next_card()
    session.suspend(card)
    Store(tmp_path / "srs.db").suspend_cards([card.id], False)  # another session unsuspended it
    Store(tmp_path / "srs.db").set_buried([card.id], "2030-01-01T04:00:00.000000Z")  # then buried it
    undone = session.undo()
    assert undone.what == "suspend" and not undone.done and _state(store, card.id)[0] == 2


UNTIL = "2030-01-01T04:00:00.000000Z"


def test_suspending_a_buried_card_ends_its_burial_in_review_as_with_srs_suspend(tmp_path):
    """One way to suspend (`Store.suspend_cards`), as Anki's: a buried card suspended keeps no burial
    behind (unsuspended, it is due at once), and undo gives the burial back."""
    store, session, _ = _session(tmp_path, "# D\n\n## A\na\n")
    card = session.next_card()
    Store(tmp_path / "srs.db").set_buried([card.id], UNTIL)  # buried elsewhere while shown
    session.suspend(card)
    assert _state(store, card.id)[:2] == (1, None)
    undone = session.undo()
    assert undone.done and _state(store, card.id)[:2] == (2, UNTIL)
    session.suspend(card)
    assert store.suspend_cards([card.id], False) == [card.id] and _state(store, card.id)[:2] == (0, None)


def test_srs_suspend_of_a_buried_card_and_unsuspend_of_a_buried_one(cli, tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("# D\n\n## A\na\n\n## B\nb\n")
    cli("import", str(deck))
    conn = sqlite3.connect(cli.db)
    state = lambda card_id: conn.execute(  # noqa: E731
        "SELECT suspended, buried_until FROM card_state WHERE card_id = ?", (card_id,)).fetchone()
    now = "2026-03-02T10:00:00Z"
    cli("bury", "1", "2", now=now)
    until = state(1)[1]
    assert state(1) == state(2) == (2, until) and until
    assert cli("suspend", "1", now=now).stdout.strip().endswith("1 card(s) suspended.")
    assert state(1) == (1, None)  # its burial is over
    out = cli("suspend", "--undo", "1", "2", now=now).stdout
    assert out.strip().endswith("1 card(s) unsuspended; 1 were not suspended.")
    assert state(1) == (0, None) and state(2) == (2, until)  # the buried card stays buried
    assert [c["id"] for c in cli.json("cards", "is:buried", now=now)] == [2]
    assert cli("suspend", "1", "99", now=now, ok=False).exit_code == 1 and state(1) == (0, None)  # all or none


def _lapse(session, clock, card_id):
    """Bring the card to review, then forget it once (Again on a review card)."""
    store = session.store
    while True:
        card = store.card(card_id)
        if card.progress.state == "review":
            break
        assert session.answer(card, 4, 1000)
    clock["now"] = card.progress.due + timedelta(minutes=1)
    assert session.answer(store.card(card_id), 1, 1000)


@pytest.mark.parametrize("action", ["suspend", "tag"])
def test_a_card_reaching_the_leech_threshold_is_tagged_and_suspended_and_undo_takes_it_back(tmp_path, action):
    store, session, clock = _session(tmp_path, "# D\n\n## A\na\n", leech_threshold=3, leech_action=action)
    for lapse in range(3):
        assert not (session.effects and session.effects.leech)
        _lapse(session, clock, 1)
    assert session.effects.leech and store.learner_tags(1) == ["leech"]
    assert _state(store, 1)[0] == (1 if action == "suspend" else 0)
    assert session.summary().leeches == [1]
    undone = session.undo()
    assert undone.what == "answer" and store.learner_tags(1) == [] and _state(store, 1)[0] == 0
    assert store.card(1).progress.lapses == 2


def test_leech_and_siblings_through_the_cli(cli, tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("# D\n\n## Hund\n<->\ndog\n")
    cli("import", str(deck))
    out = cli("review", input="\n3\n", now="2026-03-02T10:00:00Z").output
    assert "1 sibling card buried until tomorrow." in out and "#1" in out
    cli("config", "leech_threshold", "1")
    assert cli("config", "leech_action", "delete", ok=False).exit_code == 1
    # the card is in review (Easy at 10:00 the next day); Again is its first lapse: a leech at threshold 1
    cli("review", input="\n4\n", now="2026-03-03T10:00:00Z")
    due = sqlite3.connect(cli.db).execute("SELECT due FROM card_state WHERE card_id = 1").fetchone()[0]
    out = cli("review", input="\n1\nq\n", now=due).output
    assert "Leech: card #1 has lapsed 1 time; tagged leech and suspended" in out
    assert "1 leech (tagged leech): #1" in out
    conn = sqlite3.connect(cli.db)
    assert conn.execute("SELECT suspended FROM card_state WHERE card_id = 1").fetchone() == (1,)
    assert conn.execute("SELECT learner_tags FROM cards WHERE id = 1").fetchone() == ('["leech"]',)


def test_space_rates_good_and_symbol_commands_work_at_a_choice_prompt(cli, tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("# D\n\n## Basic\nanswer\n\n## Pick\n- [x] one\n- [ ] two\n")
    cli("import", str(deck))
    # basic: reveal, space (Good); the choice card: `-` buries it at the choice prompt
    out = cli("review", input="\n \n-\n", now="2026-03-02T10:00:00Z").output
    assert "Buried until tomorrow" in out
    conn = sqlite3.connect(cli.db)
    assert conn.execute("SELECT rating FROM reviews").fetchall() == [(3,)]
    assert conn.execute("SELECT suspended FROM card_state WHERE card_id = 2").fetchone() == (2,)


def test_letters_are_never_commands_at_a_choice_prompt(cli, tmp_path):
    letters = "abcdefghijklmnopqrstu"
    options = "\n".join(f"- [{'x' if letter == 'q' else ' '}] option {letter}" for letter in letters)
    deck = tmp_path / "deck.md"
    deck.write_text(f"# D\n\n## Many\n{options}\n")
    cli("import", str(deck))
    out = cli("review", input="q\n3\n", now="2026-03-02T10:00:00Z").output  # q picks option q: no quit
    conn = sqlite3.connect(cli.db)
    assert conn.execute("SELECT rating FROM reviews").fetchall() == [(3,)]
    assert "Session over" in out


def test_more_options_than_letters_are_refused_from_any_source(cli, tmp_path):
    from srs.anki.export import write_apkg
    from srs.model import CardSpec, StoredCard

    card = StoredCard(1, "Many", CardSpec(question="Which one?", options=[f"o{i}" for i in range(30)], answer="o7"))
    package = tmp_path / "many.apkg"
    write_apkg(package, [card], with_progress=False, now=NOW)
    result = cli("import", str(package), ok=False)
    message = str(result.exception)
    assert result.exit_code == 1 and "30 options; at most 26" in message and "many.apkg" in message
    assert not cli.db.exists() or not sqlite3.connect(cli.db).execute("SELECT count(*) FROM cards").fetchone()[0]
    deck = tmp_path / "deck.md"
    deck.write_text("# D\n\n## Many\n" + "\n".join(f"- [ ] o{i}" for i in range(27)) + "\n")
    assert cli("import", str(deck), ok=False).exit_code == 1


def test_edit_opens_the_editor_at_the_cards_line_and_shows_the_card_again(cli, tmp_path, monkeypatch):
    deck = tmp_path / "deck.md"
    deck.write_text("# D\n\n## First\none\n\n## Second\ntwo\n")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n'
                      "sed -i 's/^two$/TWO edited/' \"$2\"\n")
    editor.chmod(0o755)
    cli("import", str(deck))
    monkeypatch.setenv("VISUAL", str(editor))
    out = cli("review", input="\n3\n\ne\n\n3\n", now="2026-03-02T10:00:00Z").output
    assert (tmp_path / "args").read_text().split() == ["+6", str(deck.resolve())]
    assert "TWO edited" in out and "1 updated" in out
    conn = sqlite3.connect(cli.db)
    assert conn.execute("SELECT card_id FROM reviews ORDER BY id").fetchall() == [(1,), (2,)]
    assert conn.execute("SELECT answer FROM cards WHERE id = 2").fetchone() == ("TWO edited",)


def test_edit_of_a_card_from_a_table_says_where_to_edit(cli, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("front,back\nQ1,A1\n")
    cli("import", str(table))
    out = cli("review", input="e\n\n3\n", now="2026-03-02T10:00:00Z").output
    assert "came from outside srs: edit it in the table" in out
    assert sqlite3.connect(cli.db).execute("SELECT count(*) FROM reviews").fetchone() == (1,)


def test_edit_of_a_card_from_an_anki_package_says_where_to_edit(cli, tmp_path):
    from srs.anki.export import write_apkg
    from srs.model import CardSpec, StoredCard

    package = tmp_path / "from-anki.apkg"
    write_apkg(package, [StoredCard(1, "A", CardSpec(question="Q", answer="A"))], with_progress=False, now=NOW)
    cli("import", str(package))
    out = cli("review", input="e\nq\n", now="2026-03-02T10:00:00Z").output
    assert "came from outside srs: edit it in Anki (the package" in out and "from-anki.apkg" in out


# -- a property: undoing everything a session did gives the database back as it was ----------------

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402

OPS = st.lists(st.tuples(st.sampled_from(["answer", "answer", "answer", "suspend", "bury", "flag"]),
                         st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=25)


def _snapshot(store):
    return (store.conn.execute("SELECT * FROM card_state ORDER BY card_id").fetchall(),
            store.conn.execute("SELECT count(*) FROM reviews").fetchone(),
            store.conn.execute("SELECT id, learner_tags FROM cards ORDER BY id").fetchall())


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_undoing_every_action_gives_the_database_back_as_it_was(tmp_path_factory, ops):
    tmp_path = tmp_path_factory.mktemp("undo")
    store, session, clock = _session(tmp_path, DECK + "\n## {{c1::one}} {{c2::two}} {{c3::three}}\n",
                                     leech_threshold=1)
    before = _snapshot(store)
    for op, rating, days in ops:
        clock["now"] += timedelta(days=days, minutes=11)
        card = session.next_card()
        if card is None:
            continue
        if op == "answer":
            session.answer(card, rating, 1000)
        elif op == "suspend":
            session.suspend(card)
        elif op == "bury":
            session.bury(card)
        else:
            session.flag(card)
    while (undone := session.undo()) is not None:
        assert undone.done
    assert _snapshot(store) == before
    store.close()
