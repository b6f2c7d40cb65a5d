"""Card kinds (srs.kinds): the deck syntax of each, the review session's rules for each (driven
directly, without a terminal), the real CLI end to end, and the Anki export checked with Anki."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srs import kinds
from srs.decks import format_deck, parse_deck
from srs.model import CardSpec, DeckSpec, SrsError
from srs.session import ReviewSession
from srs.store import Store

NOW = "2026-03-02T10:00:00Z"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))

DECK = """# Kinds

## The capital of {{c1::France}} is {{c2::Paris::city}}.

## What does this print?
```python
def double(x):
    return x * 2
print(double(21))
```
- [ ] 21
- [x] 42
- [ ] 2121

## Hund
<->
dog

## Which colour is the sky?
![the sky](sky.png)
= blue | azure

## Two lines
of question
---
and the answer
"""


@pytest.fixture
def deck(tmp_path) -> Path:
    (tmp_path / "sky.png").write_bytes(PNG)
    path = tmp_path / "kinds.md"
    path.write_text(DECK)
    return path


# -- the deck syntax ---------------------------------------------------------------------------


def test_each_syntax_makes_its_kind(deck):
    spec = parse_deck(deck.read_text(), str(deck))
    got = [(c.kind, c.ord, kinds.of(c).asked(c), kinds.of(c).right_answer(c)) for c in spec.cards]
    assert got == [
        ("cloze", 0, "The capital of [...] is Paris.", "France"),
        ("cloze", 1, "The capital of France is [city].", "Paris"),
        ("choice", 0, "What does this print?\n```python\ndef double(x):\n    return x * 2\nprint(double(21))\n```",
         "42"),
        ("basic", 0, "Hund", "dog"),
        ("basic", 1, "dog", "Hund"),
        ("typed", 0, "Which colour is the sky?\n![the sky](sky.png)", "blue | azure"),
        ("basic", 0, "Two lines\nof question", "and the answer"),
    ]
    typed = spec.cards[5]
    assert typed.images == {"sky.png": next(iter(spec.files))} and spec.files[typed.images["sky.png"]] == str(
        (deck.parent / "sky.png").resolve())
    assert kinds.cloze_parts(spec.cards[0].question, 1) == [
        ("The capital of ", False), ("France", True), (" is ", False), ("Paris", False), (".", False)]


def test_a_heading_with_a_body_and_no_marker_stays_a_basic_card_as_before():
    card = parse_deck("# D\n\n## Q?\nline one\n\n```\ncode\n```\n").cards[0]
    assert (card.kind, card.question, card.answer) == ("basic", "Q?", "line one\n\n```\ncode\n```")


@pytest.mark.parametrize("body, line, words", [
    ("## Q {{c1::open\n", 3, "never closed"),
    ("## Q\nthe {{c0::zero}} card\n", 4, "start at 1"),
    ("## Q\nfine\nthe {{c1::}} card\n", 5, "empty cloze"),
    ("## Q\n=\n", 4, "empty typed answer"),
    ("## Q\n=   \n", 4, "empty typed answer"),
    ("## Q\n= a |  | b\n", 4, "empty alternative"),
    ("## Q\n= a\n= b\n", 5, "second '= '"),
    ("## Q\n= a\nmore text\n", 5, "after the typed answer"),
    ("## Q\n![x](missing.png)\n---\nA\n", 4, "image file not found: missing.png"),
    ("## Q {{c1::x}}\n---\nA\n", 3, "cloze card has no separate answer"),
    ("## Q\n<->\n", 3, "needs an answer"),
    ("## Q\n" + "".join(f"- [ ] option {i}\n" for i in range(27)), 30, "more than 26 options"),
])
def test_malformed_constructs_are_one_line_errors(tmp_path, body, line, words):
    text = "# D\n\n" + body
    with pytest.raises(SrsError) as error:
        parse_deck(text, str(tmp_path / "bad.md"))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'bad.md'}:{line}: ") and words in message and "\n" not in message


def test_a_hundred_thousand_options_are_refused_at_once():
    import time

    text = "# D\n\n## Q\n" + "".join(f"- [ ] option {i}\n" for i in range(100_000))
    started = time.perf_counter()
    with pytest.raises(SrsError, match="more than 26 options"):
        parse_deck(text, "big.md")
    assert time.perf_counter() - started < 5  # (was 103 s through the whole import)


def test_a_malformed_deck_imports_nothing(tmp_path, cli, deck):
    bad = tmp_path / "more" / "bad.md"
    bad.parent.mkdir()
    bad.write_text("# Bad\n\n## Fine\nyes\n\n## Broken {{c1::never closed\n")
    from conftest import run_srs

    cli("import", str(deck))
    deck.write_text(deck.read_text() + "\n## A new card\nyes\n")
    result = run_srs("--db", str(cli.db), "import", str(deck), str(bad))
    assert result.returncode == 1 and result.stderr.strip() == (
        f"srs: error: {bad}:6: a cloze deletion '{{{{c1::' is never closed with '}}}}'")
    assert len(cli.json("cards")) == 7 and "Bad" not in cli("status").output


# -- writing back: random cards of every kind ----------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", min_size=1, max_size=12)
_line = st.lists(_word, min_size=1, max_size=4).map(" ".join)
_body = st.lists(st.one_of(_line, st.just(""), st.just("```python\nif x:\n    y = 1\n```")), max_size=3).map(
    lambda lines: "\n".join(lines).strip("\n"))
_answer = st.lists(st.one_of(_line, st.just(""), st.just("```python\nif x:\n    y = 1\n```"),
                             st.sampled_from(["- [ ] not an option", "- [x] nor this", "= not typed", "---", "<->",
                                              "a {{c1::brace}}"])), max_size=4).map(
    lambda lines: "\n".join(lines).strip("\n"))


@st.composite
def _card(draw, index: int):
    kind = draw(st.sampled_from(["basic", "basic-multi", "reversed", "choice", "cloze", "typed"]))
    question = f"q{index} " + draw(_line)
    body = draw(_body)
    explanation = draw(st.one_of(st.none(), _line))
    if kind == "choice":
        options = draw(st.lists(_line, min_size=2, max_size=6, unique=True))
        key = draw(st.one_of(st.none(), st.sampled_from(options)))
        full = question + ("\n" + body if body else "")
        notes = {option: note for option in options  # an option's own explanation, over several lines
                 if (note := draw(st.one_of(st.just(""), _answer)).strip())}
        return [CardSpec(question=full, answer=key, options=options, explanation=explanation,
                         key_source="deck" if key else None, option_notes=notes)]
    if kind == "cloze":
        numbers = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
        parts = [question] + [f"{{{{c{n}::{draw(_word)}{draw(st.sampled_from(['', '::hint']))}}}}}" for n in numbers]
        return kinds.cloze_cards(" ".join(parts) + ("\n" + body if body else ""), key_source="deck",
                                 explanation=explanation)
    if kind == "typed":
        answers = draw(st.lists(_word, min_size=1, max_size=3))
        full = question + ("\n" + body if body else "")
        return [CardSpec(question=full, answer=" | ".join(answers), kind="typed", key_source="deck",
                         explanation=explanation)]
    answer = draw(_answer)
    if kind == "reversed":
        answer = answer or draw(_line)
        return [CardSpec(question=question, answer=answer, key_source="deck", ord=o, explanation=explanation)
                for o in (0, 1)]
    if kind == "basic-multi":
        question += "\n" + draw(_line)
    return [CardSpec(question=question, answer=answer, key_source="deck", explanation=explanation)]


@st.composite
def _decks(draw):
    size = draw(st.integers(1, 8))
    cards = [card for index in range(size) for card in draw(_card(index))]
    return DeckSpec(name="Random", cards=cards, accents_optional=draw(st.booleans()))


def _essence(cards):
    return [(c.kind, c.ord, c.question, c.answer, c.options, c.explanation, c.option_notes) for c in cards]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_decks())
def test_random_cards_of_every_kind_survive_writing_and_parsing(deck):
    text = format_deck(deck)
    parsed = parse_deck(text, "random.md")
    assert _essence(parsed.cards) == _essence(deck.cards)
    assert parsed.accents_optional == deck.accents_optional
    assert format_deck(parsed) == text


def test_write_deck_writes_every_kind_back(deck, tmp_path):
    spec = parse_deck(deck.read_text(), str(deck))
    again = tmp_path / "again.md"
    again.write_text(format_deck(spec))
    assert parse_deck(again.read_text(), str(again)).cards == spec.cards


# -- the review session, without a terminal -------------------------------------------------------


def _session(tmp_path, text: str, files: dict[str, bytes] | None = None) -> tuple[Store, ReviewSession]:
    from datetime import datetime, timezone

    for name, data in (files or {}).items():
        (tmp_path / name).write_bytes(data)
    path = tmp_path / "deck.md"
    path.write_text(text)
    store = Store(tmp_path / "srs.db")
    store.sync_decks([parse_deck(text, str(path))], datetime(2026, 3, 2, 10, tzinfo=timezone.utc))
    store.set_global_setting("bury_new_siblings", False)  # siblings come up one after another here
    return store, ReviewSession(store, now=lambda: datetime(2026, 3, 2, 10, tzinfo=timezone.utc))


def test_session_basic_and_reversed(tmp_path):
    store, session = _session(tmp_path, "# D\n\n## Hund\n<->\ndog\n")
    forward = session.ask(session.next_card())
    assert (forward.kind, forward.how, forward.text) == ("basic", "reveal", "Hund")
    checked = session.check(forward)
    assert checked.graded.correct is None and checked.suggested == 3 and checked.answer == [("dog", False)]
    assert session.answer(forward.card, checked.suggested, 1000)
    back = session.ask(session.next_card())
    assert (back.text, session.check(back).answer) == ("dog", [("Hund", False)])
    store.close()


def test_session_choice_suggests_by_the_key_and_asks_for_a_missing_one(tmp_path):
    store, session = _session(tmp_path, "# D\n\n## Pick\n```\ncode\n```\n- [ ] a\n- [x] b\n\n## Unkeyed\n- [ ] c\n- [ ] d\n")
    asked = session.ask(session.next_card())
    assert asked.how == "choose" and sorted(asked.options) == ["a", "b"] and "```\ncode\n```" in asked.text
    assert not asked.needs_key
    assert (session.check(asked, "a").graded.correct, session.check(asked, "a").suggested) == (False, 1)
    assert (session.check(asked, "b").graded.correct, session.check(asked, "b").suggested) == (True, 3)
    session.answer(asked.card, 1, 500, "a")
    unkeyed = session.ask(session.next_card())
    assert unkeyed.needs_key and session.check(unkeyed, "c").graded.correct is None
    session.set_key(unkeyed.card, "d")
    assert session.check(unkeyed, "d").graded.correct is True
    log = {r.choice: r.correct for r in store.reviews_of(asked.card.id)}
    assert log == {"a": False}
    store.close()


def test_session_cloze_asks_each_number_and_marks_the_deletion(tmp_path):
    store, session = _session(tmp_path, "# D\n\n## {{c1::Paris}} is in {{c2::France::country}}\n")
    first = session.ask(session.next_card())
    assert (first.kind, first.how, first.text) == ("cloze", "reveal", "[...] is in France")
    assert session.check(first).answer == [("Paris", True), (" is in ", False), ("France", False)]
    session.answer(first.card, 3, 100)
    second = session.ask(session.next_card())
    assert second.text == "Paris is in [country]"
    assert session.check(second).answer[-1] == ("France", True)
    store.close()


def test_session_typed_grades_folded_answers_and_shows_a_near_miss(tmp_path):
    store, session = _session(tmp_path, "# D\n\n## Spell it\n= Colour | color\n")
    asked = session.ask(session.next_card())
    assert (asked.kind, asked.how) == ("typed", "type")
    for right in ("colour", "  COLOUR!", "color", "Colour."):
        graded = session.check(asked, right).graded
        assert (graded.correct, graded.suggested) == (True, 3), right
    wrong = session.check(asked, "colr").graded
    assert (wrong.correct, wrong.suggested, wrong.expected) == (False, 1, "color")
    assert wrong.diff == ([("col", "good"), ("r", "good")], [("col", "good"), ("o", "missing"), ("r", "good")])
    far = session.check(asked, "xyzzyq").graded
    assert far.correct is False and far.diff is None
    assert session.check(asked, "").graded.correct is False
    assert session.answer(asked.card, 1, 900, "colr")
    (review,) = store.reviews_of(asked.card.id)
    assert (review.choice, review.correct, review.rating) == ("colr", False, 1)
    store.close()


def test_accents_are_optional_only_where_the_deck_says_so(tmp_path):
    deck = "# D\n\n## Café?\n= café\n"
    store, session = _session(tmp_path, deck)
    asked = session.ask(session.next_card())
    assert session.check(asked, "Café").graded.correct and not session.check(asked, "cafe").graded.correct
    assert session.check(asked, "cafe\u0301").graded.correct  # the same letters in another Unicode form
    store.close()
    (tmp_path / "srs.db").unlink()
    store, session = _session(tmp_path, "# D\n\n<!-- srs: accents optional -->\n\n## Café?\n= café\n")
    asked = session.ask(session.next_card())
    assert session.check(asked, "cafe").graded.correct
    store.close()


def test_session_media_of_a_deck_image(tmp_path):
    from srs.media import import_media

    text = "# D\n\n## Which colour?\n![sky](sky.png)\n= blue\n"
    (tmp_path / "sky.png").write_bytes(PNG)
    (tmp_path / "deck.md").write_text(text)
    spec = parse_deck(text, str(tmp_path / "deck.md"))
    store = Store(tmp_path / "srs.db")
    from datetime import datetime, timezone

    now = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    media = import_media(store.path, [spec], store.media_rows)
    store.sync_decks([spec], now, media.rows)
    session = ReviewSession(store, now=lambda: now)
    question, answer, _ = session.media(session.next_card())
    assert [(f.name, f.image, f.path.read_bytes()) for f in question] == [("sky.png", True, PNG)] and answer == []
    store.close()


# -- the real CLI --------------------------------------------------------------------------------


def test_cli_import_cards_review_and_log(cli, deck):
    assert "7 added" in cli("import", str(deck)).output
    cards = cli.json("cards")
    assert [(c["kind"], c["question"].split("\n")[0], c["answer"]) for c in cards] == [
        ("cloze", "The capital of [...] is Paris.", "France"),
        ("cloze", "The capital of France is [city].", "Paris"),
        ("choice", "What does this print?", "42"),
        ("basic", "Hund", "dog"),
        ("basic", "dog", "Hund"),
        ("typed", "Which colour is the sky?", "blue | azure"),
        ("basic", "Two lines", "and the answer"),
    ]
    assert all("{{c" not in c["question"] for c in cards)
    cli("config", "bury_new_siblings", "false")  # siblings one after another in one session
    # cloze 1, cloze 2, the choice card (a, whichever it is), Hund, dog, the typed card (wrong), two lines
    out = cli("review", input="\n\n" "\n\n" "a\n\n" "\n\n" "\n\n" "blu\n\n" "\n\n" "q\n", now=NOW).output
    assert "The capital of [...] is Paris." in out and "The capital of [France] is Paris." in out
    assert "The capital of France is [city]." in out and "The capital of France is [Paris]." in out
    lines = out.split("\n")
    head = next(i for i, line in enumerate(lines) if "def double(x):" in line)
    assert lines[head + 1].index("return") == lines[head].index("def") + 4  # indentation intact
    assert lines[head + 2].strip() == "print(double(21))"
    options = [line.strip() for line in lines[head + 3:head + 6]]  # the options right below the code
    assert [o[:3] for o in options] == ["a) ", "b) ", "c) "] and sorted(o[3:] for o in options) == ["21", "2121", "42"]
    picked = options[0][3:]
    assert "Hund\n" in out and "dog\n" in out
    assert "You typed: blu" in out and "Answer:    blue" in out and "The answer: blue | azure" in out
    assert out.index("(image: sky.png — press o to open)") < out.index("You typed")
    log = cli.json("log")
    by_card = {row["card_id"]: row for row in log}
    assert len(log) == 7
    choice, typed = cards[2]["id"], cards[5]["id"]
    right = picked == "42"
    assert (by_card[choice]["choice"], by_card[choice]["correct"], by_card[choice]["rating"]) == (
        picked, right, 3 if right else 1)
    assert ("✓ Right: 42" if right else "✗ Wrong. The answer is: 42") in out
    assert (by_card[typed]["correct"], by_card[typed]["rating"], by_card[typed]["choice"]) == (False, 1, "blu")
    assert by_card[cards[0]["id"]]["correct"] is None and by_card[cards[0]["id"]]["rating"] == 3


def test_cli_typed_right_with_enter_and_an_override(cli, tmp_path):
    path = tmp_path / "t.md"
    path.write_text("# T\n\n## Capital of France?\n= Paris\n\n## Capital of Peru?\n= Lima\n")
    cli("import", str(path))
    out = cli("review", input="paris\n\n  LIMA \n4\n", now=NOW).output
    assert out.count("✓ Right") == 2 and "Enter = Good" in out
    log = cli.json("log")
    assert [(r["choice"], r["correct"], r["rating"]) for r in log] == [("paris", True, 3), ("LIMA", True, 4)]


def test_cli_reimport_keeps_ids_of_every_kind(cli, deck):
    cli("import", str(deck))
    before = {(c["kind"], c["question"]): c["id"] for c in cli.json("cards")}
    cli("review", input="\n3\n", now=NOW)
    text = (deck.read_text().replace("## Hund", "## Der Hund").replace("= blue | azure", "= blue | azure | cyan")
            .replace("{{c2::Paris::city}}.", "{{c2::Paris::a city}}!").replace("print(double(21))", "print(double(2))"))
    deck.write_text(text)
    result = cli("import", str(deck)).output
    assert "0 added, 6 updated, 1 unchanged, 0 retired" in result  # both clozes, both Hund cards, typed, choice
    after = {(c["kind"], c["question"]): c["id"] for c in cli.json("cards")}
    assert sorted(after.values()) == sorted(before.values())
    assert len(cli.json("log")) == 1


def _anki_collection(tmp_path):
    from anki.collection import Collection

    folder = tmp_path / "anki"
    folder.mkdir()
    return Collection(str(folder / "collection.anki2"))


def test_cli_export_is_read_by_anki_as_notes_of_each_kind(cli, deck, tmp_path):
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    cli("import", str(deck))
    out = tmp_path / "out.apkg"
    cli("export", "anki", str(out))
    col = _anki_collection(tmp_path)
    try:
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(out), options=ImportAnkiPackageOptions(
            merge_notetypes=False, with_scheduling=True, with_deck_configs=False)))
        assert (col.note_count(), col.card_count()) == (5, 7)
        cards = {}
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            cards.setdefault(card.note().note_type()["name"], []).append(card)
        assert {name: len(found) for name, found in cards.items()} == {
            "srs cloze": 2, "srs choice": 1, "srs reversed": 2, "srs typed answer": 1, "srs basic": 1}
        cloze = sorted(cards["srs cloze"], key=lambda c: c.ord)
        assert len({c.nid for c in cloze}) == 1 and cloze[0].note_type()["type"] == 1
        assert ">[...]</span> is " in cloze[0].question() and ">[city]</span>" in cloze[1].question()
        import re

        shown = re.sub(r"<[^>]+>", "", cloze[0].question().split("</style>")[-1])
        assert shown == "The capital of [...] is Paris."
        choice = cards["srs choice"][0]
        assert ('<pre><code class="language-python">def double(x):\n    return x * 2\nprint(double(21))</code></pre>'
                in choice.question())
        reverse = sorted(cards["srs reversed"], key=lambda c: c.ord)
        assert len({c.nid for c in reverse}) == 1 and [c.ord for c in reverse] == [0, 1]
        assert reverse[0].question().endswith(">Hund</div>") and reverse[1].question().endswith(">dog</div>")
        typed = cards["srs typed answer"][0]
        assert "[[type:Answer]]" in typed.question() and typed.note()["Answer"] == "blue"
        assert typed.note()["Alternatives"] == "azure" and "Also right: azure" in typed.answer()
        (image,) = [name for name in Path(col.media.dir()).iterdir()]
        assert image.read_bytes() == PNG and f'<img src="{image.name}"' in typed.question()
    finally:
        col.close()


# -- upgrades ------------------------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("version", sorted(int(p.stem.split("-v")[1]) for p in FIXTURES.glob("schema-v*.db")))
def test_every_earlier_database_keeps_its_cards_and_histories(tmp_path, version):
    import shutil

    db = tmp_path / "old.db"
    shutil.copy(FIXTURES / f"schema-v{version}.db", db)
    with sqlite3.connect(db) as conn:
        cards = conn.execute("SELECT id, kind, question FROM cards ORDER BY id").fetchall()
        reviews = conn.execute("SELECT id, card_id, rating FROM reviews ORDER BY id").fetchall()
    conn.close()
    store = Store(db)
    try:
        assert [(c.id, c.spec.kind, c.spec.question) for c in store.cards(include_retired=True)] == [
            tuple(row) for row in cards]
        assert store.conn.execute("SELECT id, card_id, rating FROM reviews ORDER BY id").fetchall() == reviews
        assert {c.spec.ord for c in store.cards()} == {0}
    finally:
        store.close()


def test_the_upgrade_names_kinds_of_cards_imported_from_anki(tmp_path):
    """A schema-10 database with an Anki cloze card and a card with an answer to type: after the
    upgrade their kinds are "cloze" and "typed", as a new import names them."""
    import shutil

    db = tmp_path / "v10.db"
    shutil.copy(FIXTURES / "schema-v10.db", db)
    with sqlite3.connect(db) as conn:
        first, second = [row[0] for row in conn.execute("SELECT id FROM cards WHERE kind = 'basic' ORDER BY id LIMIT 2")]
        conn.execute("UPDATE cards SET typed_answer = 'x' WHERE id = ?", (first,))
        conn.execute("INSERT INTO note_types (id, anki_id, key, name, kind, fields, templates) "
                     "VALUES (1, 5, 'k', 'Cloze', 1, '[\"Text\"]', '[]')")
        conn.execute("INSERT INTO notes (id, guid, note_type_id, fields) VALUES (1, 'g', 1, '[\"t\"]')")
        conn.execute("INSERT INTO card_notes (card_id, note_id, ord) VALUES (?, 1, 0)", (second,))
    conn.close()
    store = Store(db)
    try:
        assert store.card(first).spec.kind == "typed" and store.card(second).spec.kind == "cloze"
    finally:
        store.close()


def test_the_readme_example_of_every_kind_parses(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("````markdown\n")[1].split("````")[0]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "red.png").write_bytes(PNG)
    deck = parse_deck(example, str(tmp_path / "python.md"))
    assert [c.kind for c in deck.cards] == ["choice", "cloze", "cloze", "basic", "basic", "basic", "typed"]
    assert format_deck(deck) == example


def test_stats_trouble_spots_show_questions_as_asked(cli, tmp_path):
    path = tmp_path / "c.md"
    path.write_text("# C\n\n## Spell {{c1::it}}\n\n## Reverse me\n<->\nback\n\n## Type it\n= right\n")
    cli("import", str(path))
    cli("config", "bury_new_siblings", "false")  # siblings one after another in one session
    cli("review", input="\n\n\n\n\n\nwrong\n\nq\n", now=NOW)
    stats = cli.json("stats", now=NOW)
    assert [(w["question"], w["choice"], w["answer"]) for w in stats["wrong_choices"]] == [
        ("Type it", "wrong", "right")]
    with sqlite3.connect(cli.db) as conn:  # as if each card had lapsed: the leeches list shows them as asked
        conn.execute("UPDATE card_state SET lapses = card_id")
    conn.close()
    leeches = cli.json("stats", now=NOW)["leeches"]
    assert sorted(leech["question"] for leech in leeches) == ["Reverse me", "Spell [...]", "Type it", "back"]


def test_an_image_on_the_answer_side_is_named_with_the_answer(cli, tmp_path):
    (tmp_path / "map.png").write_bytes(PNG)
    path = tmp_path / "m.md"
    path.write_text("# M\n\n## Where is Lyon?\n---\nHere:\n![a map](map.png)\n")
    cli("import", str(path))
    out = cli("review", input="\n\nq\n", now=NOW).output
    assert "Where is Lyon?\nEnter shows" in out
    assert "Here:\n(image: map.png — press o to open)" in out and "![a map]" not in out


def test_an_exported_package_comes_back_as_the_same_cards(cli, tmp_path):
    """Our cloze, typed and reversed notes read back (through Anki too) are the cards they were
    written from: same kinds, siblings and answers, matched to the same ids."""
    from anki.collection import ExportAnkiPackageOptions, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    path = tmp_path / "plain.md"
    (tmp_path / "sky.png").write_bytes(PNG)
    path.write_text("# Plain\n\n## The capital of {{c1::France}} is {{c2::Paris::city}}.\n\n## Hund\n<->\ndog\n\n"
                    "## Spell the colour\n![the sky](sky.png)\n= colour | color\n> British first\n\n"
                    "## What does this print?\nThe code:\n```python\nif 1 < 2:\n    print('a &amp; b')\n\n\n"
                    "print(1)\n```\nand after it.\n```\nlast\n```\n- [x] a\n- [ ] b\n")
    cli("import", str(path))
    cli("config", "bury_new_siblings", "false")  # siblings one after another in one session
    before = cli.json("cards")
    for minute, answer in enumerate(["\n\n"] * 4 + ["color\n\n"]):  # one answer a minute (Anki's revlog ids)
        cli("review", input=answer + "q\n", now=f"2026-03-02T10:0{minute}:00Z")
    ours = tmp_path / "ours.apkg"
    cli("export", "anki", str(ours), "--with-progress", now="2026-03-02T10:10:00Z")
    col = _anki_collection(tmp_path)
    try:
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(ours), options=ImportAnkiPackageOptions(
            merge_notetypes=False, with_scheduling=True, with_deck_configs=False)))
        theirs = tmp_path / "theirs.apkg"
        col.export_anki_package(out_path=str(theirs), limit=None, options=ExportAnkiPackageOptions(
            with_scheduling=True, with_deck_configs=False, with_media=True, legacy=False))
    finally:
        col.close()
    for package in (ours, theirs):
        result = cli("import", str(package), "--with-progress", now="2026-03-02T10:10:00Z").stdout
        assert "Plain: 0 added" in result and "0 retired" in result, result
        after = cli.json("cards")
        key = lambda c: (c["id"], c["kind"], c["question"], c["answer"], c["options"])  # noqa: E731
        assert [key(c) for c in after] == [key(c) for c in before]
        again = cli("import", str(package), "--with-progress", now="2026-03-02T10:10:00Z").stdout
        assert "0 added, 0 updated, 6 unchanged" in again, again  # (the first import links the Anki notes)
        assert len(cli.json("log")) == 5
        store = Store(cli.db)
        try:
            (typed,) = [card for card in store.cards() if card.spec.kind == "typed"]
            assert list(typed.spec.images) == ["sky.png"] and typed.spec.explanation == "British first"
        finally:
            store.close()


def test_the_image_of_a_typed_question_opens_before_typing(cli, tmp_path, monkeypatch):
    import srs.media

    opened = []
    monkeypatch.setattr(srs.media, "find_opener", lambda: ["viewer"])
    monkeypatch.setattr(srs.media, "launch", lambda command, path: opened.append(path.read_bytes()) or True)
    (tmp_path / "sky.png").write_bytes(PNG)
    path = tmp_path / "o.md"
    path.write_text("# O\n\n## Which colour?\n![sky](sky.png)\n= blue\n")
    cli("import", str(path))
    out = cli("review", input="o\nblue\n\nq\n", now=NOW).output
    assert opened == [PNG] and "Opened: sky.png" in out and "✓ Right: blue" in out


def test_anki_typed_and_cloze_cards_are_asked_as_their_kinds(cli, tmp_path):
    import genanki

    model = genanki.Model(1_700_000_101, "Typed with hint", fields=[{"name": "Front"}, {"name": "Back"},
                                                                     {"name": "Extra"}],
                          templates=[{"name": "Card 1", "qfmt": "{{Front}}<br>{{hint:Extra}}<br>{{type:Back}}",
                                      "afmt": "{{Front}}<hr id=answer>{{type:Back}}"}])
    deck = genanki.Deck(1_700_000_102, "Anki kinds")
    deck.add_note(genanki.Note(model=model, fields=["the cat in French?", "le chat", "a pet"]))
    deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=["{{c1::Rome}} is in Italy", ""]))
    path = tmp_path / "k.apkg"
    genanki.Package(deck).write_to_file(str(path))
    cli("import", str(path))
    cards = cli.json("cards")
    cloze = next(c for c in cards if c["kind"] == "cloze")
    assert (cloze["question"], cloze["answer"]) == ("[...] is in Italy", "Rome")  # the deletion, as for srs's own
    assert cli.json("card", str(cloze["id"]))["answer"] == "Rome"
    typed = next(c for c in cards if c["kind"] == "typed")
    assert typed["answer"] == "le chat"
    out = cli("review", input="h\nLe Chat\n\n\n\nq\n", now=NOW).output
    assert "(Enter: do not know; h hint," in out and "Hint: a pet" in out and "✓ Right: Le Chat" in out
    log = cli.json("log")
    assert (log[0]["choice"], log[0]["correct"], log[0]["rating"]) == ("Le Chat", True, 3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdeéÅß xyz,.!?-'", min_size=1, max_size=15).filter(
    lambda t: kinds.fold(t) and "|" not in t), min_size=1, max_size=3), st.data())
def test_typed_grading_ignores_case_spacing_punctuation_and_form(answers, data):
    import unicodedata

    spec = CardSpec(question="Q", answer=" | ".join(a.strip() for a in answers), kind="typed")
    kind = kinds.of(spec)
    answer = data.draw(st.sampled_from(answers))
    form = data.draw(st.sampled_from(["NFC", "NFD", "NFKC"]))
    typed = unicodedata.normalize(form, "  " + answer.upper().replace(" ", "  ") + " !")
    assert kind.grade(spec, typed).correct is True
    assert kind.grade(spec, typed).suggested == 3
    wrong = "zzqq" + answer
    assert kind.grade(spec, wrong).correct is (kinds.fold(wrong) in {kinds.fold(a) for a in answers})
