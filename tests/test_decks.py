"""Deck files: parsing, the errors a learner gets, writing back, and properties under arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srs.decks import format_deck, parse_deck, read_deck
from srs.model import DeckSpec, SrsError

EXAMPLE = """# Deck name

## What does FSRS stand for?
Free Spaced Repetition Scheduler

## Which one is a scheduling algorithm?
- [ ] SQLite
- [x] FSRS
- [ ] genanki
> Optional explanation shown after answering.

## Which is unkeyed?
- [ ] one
- [ ] two
"""


def test_example_from_the_issue():
    deck = parse_deck(EXAMPLE, "x.md")
    assert deck.name == "Deck name"
    basic, choice, unkeyed = deck.cards
    assert (basic.kind, basic.question, basic.answer) == ("basic", "What does FSRS stand for?",
                                                          "Free Spaced Repetition Scheduler")
    assert choice.kind == "choice" and choice.options == ["SQLite", "FSRS", "genanki"]
    assert choice.answer == "FSRS" and choice.explanation == "Optional explanation shown after answering."
    assert unkeyed.kind == "choice" and unkeyed.answer is None and not unkeyed.keyed
    assert [c.line for c in deck.cards] == [3, 6, 12]


def test_crlf_bom_comments_and_code_blocks():
    text = "\ufeff# D\r\n\r\n<!-- a note\r\nover lines -->\r\n## Q?\r\n```\r\n## not a heading\r\n```\r\n"
    deck = parse_deck(text)
    assert len(deck.cards) == 1 and "## not a heading" in deck.cards[0].answer
    assert deck.cards[0].line == 5


@pytest.mark.parametrize("text, line, words", [
    ("# D\n\n## Q\n- [x] a\n- [x] b\n", 5, "second [x]"),
    ("# D\n\n## \nanswer\n", 3, "empty question"),
    ("# D\n\n##\nanswer\n", 3, "empty question"),
    ("no title\n## Q\nA\n", 1, "starts with '# Deck name'"),
    ("# D\n\nnotes only\n", 1, "no cards"),
    ("# D\n## Q\nA\n## q\nB\n", 4, "same question"),
    ("# D\n## Q\n- [x] only one\n", 2, "at least two options"),
    ("# D\n## Q\n- [ ] a\n- [x] b\nstray text\n", 5, "text after the options"),
    ("# D\n## Q\n```\nnever closed\n", 5, "never closed"),
    ("", 1, "not a deck"),
])
def test_malformed_decks_name_the_line(text, line, words):
    with pytest.raises(SrsError) as error:
        parse_deck(text, "bad.md")
    assert error.value.path == "bad.md" and error.value.line == line
    assert words in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith(f"bad.md:{line}: ")


def test_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("# D\n\n## Caf\xe9?\nyes\n".encode("latin-1"))
    with pytest.raises(SrsError) as error:
        read_deck(path)
    assert str(error.value) == f"{path}:3: not UTF-8 text (byte 0xe9)"


def test_comment_before_options_keeps_a_choice_card():
    deck = parse_deck("# D\n\n## Q?\n<!-- key added by hand -->\n- [ ] a\n- [x] b\n")
    assert deck.cards[0].options == ["a", "b"] and deck.cards[0].answer == "b"


def test_shipped_decks_parse_and_are_fully_keyed():
    from pathlib import Path

    decks = sorted((Path(__file__).parent.parent / "decks").glob("*.md"))
    assert decks
    for path in decks:
        for card in read_deck(path).cards:
            assert card.keyed and (card.options is not None or card.answer), (path, card.question)


def test_html_is_declared_before_the_first_card():
    assert parse_deck("# D\n<!-- srs: html -->\n## Q?\n<b>A</b>\n").html is True
    assert parse_deck("# D\n## Q?\n<!-- srs: html -->\n").html is False
    assert parse_deck("# D\n## Q?\n<b>A</b>\n").html is False


def test_format_round_trip():
    deck = parse_deck(EXAMPLE)
    again = parse_deck(format_deck(deck))
    assert [(c.question, c.answer, c.options, c.explanation) for c in again.cards] == \
        [(c.question, c.answer, c.options, c.explanation) for c in deck.cards]


lines = st.lists(st.one_of(
    st.sampled_from(["# Deck", "## Q?", "## Other", "- [ ] a", "- [x] b", "- [X] c", "> why", "", "```",
                     "<!--", "-->", "answer", "##", "# ", "- [ ] ", "* [x] d"]),
    st.text(max_size=30)), max_size=30)


@settings(max_examples=400, deadline=None)
@given(lines)
def test_parser_returns_a_deck_or_one_clear_error(parts):
    text = "\n".join(parts)
    try:
        deck = parse_deck(text, "f.md")
    except SrsError as error:
        message = str(error)
        assert message.startswith("f.md:") and "\n" not in message
        lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1  # CR alone ends a line too
        assert error.line is not None and 1 <= error.line <= lines
    else:
        assert isinstance(deck, DeckSpec) and deck.cards
        for card in deck.cards:
            assert card.question.strip()
            if card.options is not None:
                assert len(card.options) >= 2 and (card.answer is None or card.answer in card.options)


_ONE_LINE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# lines that read as a construct, as an escaped one, or nearly (README "Deck files"): in a question's body or a
# basic card's answer, each is text, written back with a `\` where it would read otherwise
LOOKALIKES = ["- [ ] a", "- [x] b", "* [X] c", "  - [ ] d", "---", "<->", "= typed", "=", "> why", ">", "## heading",
              "##", "# title", "\\---", "\\- [ ] a", "\\\\> b", "\\## x", "- text", "a) text", "\\", "\\x", "  > note"]
body_line = st.one_of(st.sampled_from(LOOKALIKES), st.text(_ONE_LINE, min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and not s.startswith(("```", "~~~")) and "<!--" not in s and "{{c" not in s))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.text(_ONE_LINE, min_size=1, max_size=20).filter(lambda s: s.strip() and "{{c" not in s),
    st.lists(body_line, max_size=3),  # the question's body
    st.lists(st.text(_ONE_LINE, min_size=1, max_size=10).filter(lambda s: s.strip()), min_size=2, max_size=4,
             unique_by=lambda s: s.strip()),  # a choice card's options
    st.lists(body_line.filter(lambda s: s == s.lstrip()), max_size=3),  # a basic card's answer (whose first
    # line is read without its indentation: no answer starts with spaces)
    st.sampled_from(["keyed", "unkeyed", "basic"])), min_size=1, max_size=6,
    unique_by=lambda t: " ".join(t[0].split()).casefold()))
def test_written_decks_read_back_the_same(cards):
    from srs.model import CardSpec

    specs = []
    for question, body, options, answer, kind in cards:
        question = "\n".join([" ".join(question.split()), *body])
        options = [" ".join(o.split()) for o in options]
        specs.append(CardSpec(question=question, answer="\n".join(answer)) if kind == "basic" else
                     CardSpec(question=question, options=options, answer=options[0] if kind == "keyed" else None))
    deck = DeckSpec(name="Round trip", cards=specs)
    try:
        back = parse_deck(format_deck(deck))
    except SrsError:
        return  # text the format cannot hold (e.g. a question that is itself a comment) is refused, not garbled
    assert [(c.question, c.options, c.answer) for c in back.cards] == [(c.question, c.options, c.answer)
                                                                      for c in specs]


@pytest.mark.parametrize("text, question, answer", [
    ("## Q\nbody\n\\- [ ] not an option\n---\nA", "Q\nbody\n- [ ] not an option", "A"),
    ("## Q\n\\---\n- [ ] a\n- [x] b", "Q\n---", "b"),
    ("## Q\n\\> not an explanation\n\\## not a card", "Q", "> not an explanation\n## not a card"),
    ("## Q\n\\\\---", "Q", "\\---"),  # a backslash before an escaped line: that line as written
    ("## Q\n\\x\n\\\n\\- y", "Q", "\\x\n\\\n\\- y"),  # before anything else, a backslash is text
])
def test_a_backslash_before_a_construct_makes_that_line_text(text, question, answer):
    card = parse_deck("# D\n\n" + text).cards[0]
    assert (card.question, card.answer) == (question, answer)
