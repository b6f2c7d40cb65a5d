"""A deck named with its subdecks, as in Anki (review defect 4): `A` is `A` and `A::...` for review, stats,
optimize and export --deck; an exact name wins over a longer one; a parent with no cards of its own (Anki's
`computer-programming` above `computer-programming::languages`) is named like a deck; a beginning several decks
share is refused with their names; config changes the one deck named. Limits hold as in Anki: each deck's own,
and each parent's over itself and its subdecks together (a parent with no deck: the global ones)."""

from __future__ import annotations

from collections import Counter

NOW = "2026-03-02T10:00:00+00:00"
DECKS = {"Code": 5, "Code::Go": 3, "Code::Go::Concurrency": 1, "Codex": 1, "Lang::EN": 2, "Lang::FR": 2}
ANSWER_ALL = "\n3\n" * 30 + "q\n"  # reveal, Good: every card shown (each new card comes back once, learning)


def _decks(tmp_path, cli):
    for number, (name, count) in enumerate(DECKS.items()):
        (tmp_path / f"d{number}.md").write_text(f"# {name}\n\n" + "".join(
            f"## {name} question {k}?\nanswer {k}\n\n" for k in range(count)))
    cli("import", str(tmp_path), now=NOW)


def _header(cli, *args) -> str:
    return cli("review", *args, input="q\n", now=NOW).stdout.splitlines()[0]


def test_review_stats_and_export_take_a_deck_with_its_subdecks(tmp_path, cli):
    _decks(tmp_path, cli)
    assert len(cli.json("cards", "deck:Code", now=NOW)) == 9  # srs's own search: Code and Code::*
    assert _header(cli, "Code") == "To review: 9 new · 0 learning · 0 review"  # was 5: Code alone
    assert _header(cli, "code::go") == "To review: 4 new · 0 learning · 0 review"
    assert _header(cli, "Codex") == "To review: 1 new · 0 learning · 0 review"  # the exact name wins
    assert _header(cli, "Lang") == "To review: 4 new · 0 learning · 0 review"  # a parent with no deck: was refused
    assert _header(cli, "la") == "To review: 4 new · 0 learning · 0 review"  # a unique beginning
    result = cli("review", "cod", input="q\n", now=NOW, ok=False)  # a beginning of Code and Codex
    assert result.exit_code == 1 and "'cod' names several decks: 'Code'; 'Codex'" in str(result.exception)

    stats = cli.json("stats", "Code", now=NOW)
    assert stats["deck"] == "Code" and stats["states"]["total"] == 9
    stats = cli.json("stats", "Lang", now=NOW)
    assert stats["deck"] == "Lang" and stats["states"]["total"] == 4
    out = cli("export", "anki", str(tmp_path / "code.apkg"), "--deck", "Code", now=NOW).stdout
    assert "9 card(s) from 3 deck(s)" in out
    out = cli("export", "anki", str(tmp_path / "lang.apkg"), "--deck", "Lang", now=NOW).stdout
    assert "4 card(s) from 2 deck(s)" in out

    cli("review", "Code", input=ANSWER_ALL, now=NOW)
    studied = Counter(r["deck"] for r in cli.json("log"))
    assert set(studied) == {"Code", "Code::Go", "Code::Go::Concurrency"}  # the tree, and only the tree
    assert {c["deck"] for c in cli.json("cards", "is:new", now=NOW)} == {"Codex", "Lang::EN", "Lang::FR"}
    cram = cli("review", "Lang", "--cram", "answer", input="q\n", now=NOW).stdout
    assert "new 4 ·" in cram.splitlines()[1]  # practice of a search inside the tree: Lang::EN and Lang::FR


def test_config_changes_the_one_deck_named(tmp_path, cli):
    _decks(tmp_path, cli)
    cli("config", "Code", "desired_retention", "0.8", now=NOW)
    assert "desired_retention = 0.8  (this deck)" in cli("config", "Code", now=NOW).stdout
    assert "desired_retention = 0.9\n" in cli("config", "Code::Go", now=NOW).stdout  # its subdecks keep theirs
    result = cli("config", "Lang", "new_per_day", "5", now=NOW, ok=False)
    assert result.exit_code == 1
    assert "'Lang' is no deck of its own, only the parent of 2 deck(s): 'Lang::EN'; 'Lang::FR'" in str(
        result.exception)


def test_limits_hold_for_each_deck_and_each_parent_over_its_subdecks(tmp_path, cli):
    _decks(tmp_path, cli)
    cli("config", "Code", "new_per_day", "6", now=NOW)  # Code and its subdecks together: 6
    cli("config", "Code::Go", "new_per_day", "1", now=NOW)  # Code::Go and Code::Go::Concurrency together: 1
    cli("config", "new_per_day", "3", now=NOW)  # every other deck, a parent with no deck, and all decks at once
    assert _header(cli, "Code") == "To review: 6 new · 0 learning · 0 review"
    assert _header(cli, "Lang") == "To review: 3 new · 0 learning · 0 review"
    assert _header(cli) == "To review: 3 new · 0 learning · 0 review"  # the collection's limit binds all decks
    cli("review", "Code", input=ANSWER_ALL, now=NOW)
    new = Counter(r["deck"] for r in cli.json("log") if r["kind"] == "learn")
    first = {deck: len({r["card_id"] for r in cli.json("log") if r["deck"] == deck}) for deck in new}
    assert first["Code"] == 5 and first.get("Code::Go", 0) + first.get("Code::Go::Concurrency", 0) == 1
    assert sum(first.values()) == 6
    cli("review", "Lang", input=ANSWER_ALL, now=NOW)
    lang = {r["card_id"] for r in cli.json("log") if r["deck"].startswith("Lang::")}
    assert len(lang) == 3  # each of Lang::EN and Lang::FR could give 3: the parent's (global) limit binds


def test_optimize_fits_a_parent_on_its_subdecks_and_gives_each_the_set(cli):
    from conftest import time_zone

    true = [0.4, 1.2, 3.5, 12.0, 6.0, 0.5, 2.0, 0.01, 1.5, 0.15, 0.9, 1.8, 0.1, 0.3, 2.0, 0.4, 2.2, 0.5, 0.2, 0.1, 0.4]
    now = "2024-06-01T12:00:00+00:00"  # a learner simulated with parameters far from the defaults (test_optimize)
    with time_zone("UTC"):  # learner days in UTC, whatever the machine's zone (as test_optimize)
        _optimize_a_tree(cli, true, now)


def _optimize_a_tree(cli, true, now):
    from srs import clock
    from srs.history import simulate_history
    from srs.store import Store

    store = Store(cli.db)
    store.sync_decks([simulate_history(true, cards=600, new_per_day=10, days=150, seed=seed, name=name)
                      for seed, name in ((1, "Sim::A"), (2, "Sim::B"))], clock.parse_time(now))
    store.close()
    whole = cli.json("optimize", now=now)["reviews"]
    one = cli.json("optimize", "Sim::A", now=now)["reviews"]
    fitted = cli.json("optimize", "Sim", "--apply", now=now)  # was refused: 'Sim' names several decks
    assert fitted["reviews"] == whole > one > 0 and fitted["recommended"] and fitted["adopted"]
    for deck in ("Sim::A", "Sim::B"):  # each deck of the tree holds the set as its own
        assert f"parameters = fitted 2024-06-01 on {whole:,} reviews (this deck)" in cli("config", deck, now=now).stdout
    assert "parameters = FSRS-6 defaults" in cli("config", now=now).stdout  # not the global set
    assert cli("optimize", "Sim", "--reset", now=now).stdout.startswith(
        "The subdecks of 'Sim' now follow FSRS-6 default parameters")
    for deck in ("Sim::A", "Sim::B"):
        assert "parameters = FSRS-6 defaults" in cli("config", deck, now=now).stdout


# -- property: the limits of a tree of decks, as Anki's -----------------------------------------------------------

PATHS = ["P", "P::a", "P::a::x", "P::b", "Q::a", "Q::b::y", "R"]  # P a deck with subdecks; Q a parent with none


def _limits_example(data):
    """Decks drawn from PATHS, each with some new cards and (or not) a new_per_day of its own; the limit for all
    decks; which deck (or parent, or all decks) is reviewed."""
    from hypothesis import strategies as st

    chosen = data.draw(st.lists(st.sampled_from(PATHS), min_size=1, unique=True))
    cards = {name: data.draw(st.integers(0, 4)) for name in chosen}
    own = {name: data.draw(st.one_of(st.none(), st.integers(0, 5))) for name in chosen}
    shared = data.draw(st.integers(0, 8))
    names = sorted({"::".join(n.split("::")[:k]) for n in chosen for k in range(1, n.count("::") + 2)})
    reviewed = data.draw(st.one_of(st.none(), st.sampled_from(names)))
    return cards, own, shared, reviewed


def _most(cards, own, shared, reviewed) -> int:
    """The most new cards the limits allow, worked out on the tree: a node shows at most its limit (its own
    new_per_day, else the global one; a parent with no deck: none, unless it is the one reviewed or the root of
    all decks) of what it and its subnodes have."""
    def below(node):
        return [n for n in set(cards) | {p for c in cards for p in _parents(c)}
                if n.count("::") == node.count("::") + 1 and n.startswith(node + "::")]

    def most(node, top):
        have = cards.get(node, 0) + sum(most(child, False) for child in below(node))
        if node in cards:
            return min(have, shared if own[node] is None else own[node])
        return min(have, shared) if top else have

    if reviewed is None:
        return min(shared, sum(most(root, False) for root in {c.split("::")[0] for c in cards}))
    return most(reviewed, True)


def _parents(name: str) -> list[str]:
    parts = name.split("::")
    return ["::".join(parts[:k]) for k in range(1, len(parts))]


def test_every_limit_of_a_tree_holds_and_the_queue_fills_it():
    import tempfile
    from datetime import datetime, timezone
    from pathlib import Path

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from srs import clock
    from srs.model import CardSpec, DeckSpec
    from srs.session import ReviewSession
    from srs.store import Store

    now = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        cards, own, shared, reviewed = _limits_example(data)
        with tempfile.TemporaryDirectory() as folder:
            store = Store(Path(folder) / "srs.db")
            store.sync_decks([DeckSpec(name, [CardSpec(question=f"{name} {k}?", answer="a") for k in range(count)],
                                       source=f"{name}.md") for name, count in cards.items()], now)
            ids = {d["name"]: d["id"] for d in store.decks()}
            for name, limit in own.items():
                if limit is not None:
                    store.set_deck_setting(ids[name], "new_per_day", limit)
            store.set_global_setting("new_per_day", shared)
            tree = None if reviewed is None else store.deck_tree(reviewed)
            session = ReviewSession(store, None if tree is None else tree.id, now=lambda: now,
                                    deck_ids=None if tree is None else tree.ids)
            planned = session.remaining()["new"]
            while (card := session.next_card()) is not None:
                session.answer(card, 4, 2000)
            session.close()
            start, end = (clock.to_text(t) for t in clock.day_bounds(now, 4))
            done = {name: store.answered_by_deck(start, end).get(ids[name], (0, 0))[0] for name in cards}
            store.close()
        expected = _most(cards, own, shared, reviewed)
        assert sum(done.values()) == planned == expected, (cards, own, shared, reviewed, done)
        for node in set(cards) | {p for c in cards for p in _parents(c)}:  # no deck or parent over its limit
            total = sum(n for name, n in done.items() if name == node or name.startswith(node + "::"))
            inside = reviewed is None or node == reviewed or node.startswith(reviewed + "::")
            if node in cards and inside:  # (as Anki: the limits of parents above the deck reviewed do not apply)
                assert total <= (shared if own[node] is None else own[node]), (node, done)

    check()
