"""Tests for srs.lessons: parsing published lessons into decks, keyed only where the lesson decides."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a plain clone without installing the package
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from srs.lessons import looks_like_lesson, parse_lesson, read_lesson  # noqa: E402
from srs.model import DeckSpec, SrsError  # noqa: E402

LESSONS = Path(__file__).parent / "lessons"
VALID = ["seed.txt", "prompt-review.txt", "spreadsheet-formulas.txt", "medical-questions.txt"]


def text_of(name: str) -> str:
    return (LESSONS / name).read_bytes().decode("utf-8")


def keys(deck: DeckSpec) -> list:
    """(question, answer) for every card, in order."""
    return [(c.question, c.answer) for c in deck.cards]


def assert_one_line_error(err: SrsError) -> None:
    msg = str(err)
    assert msg and len(msg.splitlines()) == 1 and "\n" not in msg and "\r" not in msg


def check_deck(deck: DeckSpec) -> None:
    """Invariants every parsed deck satisfies."""
    r = deck.report
    assert r["cards"] == len(deck.cards) == r["keyed"] + r["unkeyed"] + r["free_response"] > 0
    for card in deck.cards:
        assert isinstance(card.line, int) and card.line >= 1
        if card.options is None:
            assert card.answer == ""
        elif card.answer is not None:
            assert card.answer in card.options and card.key_source == "lesson"
        else:
            assert card.question in r["unkeyed_questions"]


# --- the seed lesson -----------------------------------------------------------------------

SEED_TITLE = "AI Engineer vs ML Engineer: Choosing the Career Track That Fits Your Strengths"
DISTINGUISH_CUT = ("Distinguish AI engineer (LLM application building, prompt engineering, RAG systems, "
                   "agent design) from ML engineer (model training, MLOps.")


def test_seed_is_the_shared_seed_when_available():
    shared = ROOT.parent / "shared" / "seeds" / "lesson-ai-engineer-vs-ml-engineer.txt"
    if not shared.exists():
        pytest.skip("no ../shared checkout")
    assert shared.read_bytes() == (LESSONS / "seed.txt").read_bytes()


def test_seed_lesson():
    deck = read_lesson(LESSONS / "seed.txt")
    check_deck(deck)
    assert deck.name == SEED_TITLE
    assert deck.source == str(LESSONS / "seed.txt")
    assert deck.notes == (
        "The AI engineer and ML engineer roles overlap but are different careers — different skills, "
        "different career arcs, different employers. Choosing well shapes a decade of your career.\n\n"
        "AI engineer and ML engineer are different career tracks, not synonyms; the choice shapes your "
        "skill development for years.")
    assert keys(deck) == [
        (f'What is the main idea of "{SEED_TITLE}"?',
         "The AI engineer and ML engineer roles overlap but are different careers — different skills, "
         "different career arcs, different employers."),
        (f'Which concept is most central to "{SEED_TITLE}"?', None),
        ("Which use of AI fits this topic best?", DISTINGUISH_CUT),
        ("Which limitation should you watch for in this topic?",
         "Substitute for actual experience in the chosen role"),
        ('What should a careful learner remember about "Career path fit analysis"?', None),
        ("You want to use AI after this lesson. What is the safest next step?", None),
        ("How should AI output about AI engineer be treated?", None),
        ("Name one way to verify an AI answer about AI engineer.", ""),
        (f'Which action would help you apply "{SEED_TITLE}" responsibly?',
         "Map your existing skills onto the role that fits"),
        ("Which choice is a bad use of AI for this lesson?",
         "Predict which role will have more demand in 5 years (the field evolves)"),
    ]
    assert [c.line for c in deck.cards] == [17, 22, 27, 32, 37, 42, 47, 52, 53, 58]
    free = deck.cards[7]
    assert free.options is None and free.answer == "" and free.kind == "basic" and free.key_source is None
    assert [c.key_source for c in deck.cards] == ["lesson", None, "lesson", "lesson", None, None, None,
                                                  None, "lesson", "lesson"]
    # the last question has only three options (the file ends without a newline)
    assert deck.cards[-1].options == [
        "Predict which role will have more demand in 5 years (the field evolves)",
        DISTINGUISH_CUT,
        "Ask for a plain-language explanation of ML engineer",
    ]
    assert deck.cards[3].options == [DISTINGUISH_CUT, "Explain the topic in plain language",
                                     "Organize a draft for human review",
                                     "Substitute for actual experience in the chosen role"]
    assert deck.report == {
        "cards": 10, "keyed": 5, "unkeyed": 4, "free_response": 1,
        "unkeyed_questions": [
            f'Which concept is most central to "{SEED_TITLE}"?',
            'What should a careful learner remember about "Career path fit analysis"?',
            "You want to use AI after this lesson. What is the safest next step?",
            "How should AI output about AI engineer be treated?",
        ],
    }


def test_seed_parse_lesson_without_path():
    deck = parse_lesson(text_of("seed.txt"))
    assert deck.source is None and len(deck.cards) == 10
    assert looks_like_lesson(text_of("seed.txt"))


# --- the other lessons of the family ------------------------------------------------------------

def test_prompt_review_crlf_curly_quotes_trailing_spaces():
    text = text_of("prompt-review.txt")
    assert "\r\n" in text and "“" in text
    deck = parse_lesson(text, "prompt-review.txt")
    check_deck(deck)
    assert deck.name == "Prompt Review: Checking AI Drafts Before You Send Them"
    assert keys(deck) == [
        ("What is the main idea of “Prompt Review: Checking AI Drafts Before You Send Them”?",
         "An AI draft is a starting point - you still own every claim, number and tone choice in it."),
        ("Which use of AI fits this topic best?",
         "Summarize a long thread into the decisions and open questions (who owns what, by when."),
        ("Explain why a polished draft can still be wrong.", ""),
        ("Which limitation should you watch for in this topic?",
         "Know facts about your project that were never shared with it"),
        ("Which choice is a bad use of AI for this lesson?",
         "Take responsibility for what you send under your name"),
        ("How should AI output about email drafting be treated?", None),
    ]
    assert [c.line for c in deck.cards] == [15, 20, 25, 26, 31, 36]
    assert deck.cards[0].options[1].endswith("in it.")  # trailing spaces stripped
    assert deck.cards[1].options[2] == "Pick the recipients for you"
    assert all("\r" not in o for c in deck.cards for o in c.options or [])
    assert deck.report["keyed"] == 4 and deck.report["free_response"] == 1 and deck.report["unkeyed"] == 1


def test_spreadsheet_twelve_questions_blank_lines_ellipsis_cuts():
    deck = read_lesson(LESSONS / "spreadsheet-formulas.txt")
    check_deck(deck)
    title = "Spreadsheet Formulas with AI: Getting Help Without Losing Track of Your Numbers"
    assert keys(deck) == [
        (f'What is the main idea of "{title}"?',
         "AI can write and explain spreadsheet formulas quickly, but only you can confirm..."),
        (f'Which concept is most central to "{title}"?', None),
        ("Which use of AI fits this topic best?",
         "Explain what an existing nested formula does, step by step (lookup, condition..."),
        ("Describe one check you would run on a formula the AI wrote.", ""),
        ("List two things you should verify before sharing a sheet built with AI help.", ""),
        ("Which limitation should you watch for in this topic?",
         "Guarantee a formula handles every edge case in your real data"),
        ('What should a careful learner remember about "Formula verification"?', None),
        ("You want to use AI after this lesson. What is the safest next step?", None),
        ("How should AI output about spreadsheet formulas be treated?", None),
        # two "does well" items among the options: undecidable, stays unkeyed
        (f'Which action would help you apply "{title}" responsibly?', None),
        ("Which choice is a bad use of AI for this lesson?",
         "Know whether your source data is complete or correct"),
        ("Give one example of an edge case a formula might miss.", ""),
    ]
    # an "Explain ... ." option that prints a lesson item stays an option, even before a question
    assert len(deck.cards[2].options) == 4
    assert deck.report["cards"] == 12 and deck.report["keyed"] == 4
    assert deck.report["unkeyed"] == 5 and deck.report["free_response"] == 3
    assert deck.cards[0].line == 26 and deck.cards[-1].line == 84


def test_medical_question_types_left_out_and_undecidable_keys():
    deck = read_lesson(LESSONS / "medical-questions.txt")
    check_deck(deck)
    title = "Medical Questions and AI Chatbots: Using Them as a Starting Point"
    assert keys(deck) == [
        ("Which use of AI fits this topic best?", None),  # no option is a "does well" item
        # "Explain a medical." is a prefix of two items: ambiguous, no key
        (f'Which action would help you apply "{title}" responsibly?', None),
        # straight apostrophe in the option, curly in the item
        ("Which choice is a bad use of AI for this lesson?",
         "Replace your doctor's judgment about your own symptoms"),
        ("Name one question you would ask your doctor after reading an AI answer.", ""),
        ("Which choice is NOT a bad use of AI for this lesson?", None),  # inverted question: no key
        ("How should AI output about symptoms be treated?", None),
    ]
    assert deck.cards[1].options[1] == "Explain a medical."
    assert deck.notes.startswith("A chatbot can help you prepare")  # no reading-time line
    assert deck.report["keyed"] == 1 and deck.report["unkeyed"] == 4 and deck.report["free_response"] == 1


def test_header_count_mismatch_names_the_header_line():
    with pytest.raises(SrsError) as info:
        read_lesson(LESSONS / "wrong-count.txt")
    err = info.value
    assert err.line == 13 and err.path == str(LESSONS / "wrong-count.txt")
    assert "5" in err.message and "4" in err.message
    assert_one_line_error(err)


def test_main_idea_about_another_title_is_not_keyed():
    text = text_of("seed.txt").replace(f'main idea of "{SEED_TITLE}"', 'main idea of "Some Other Lesson"')
    assert parse_lesson(text).cards[0].answer is None


def test_too_short_cut_does_not_match():
    text = text_of("seed.txt").replace("Map your existing skills onto the role that fits\nWhich",
                                       "Map your.\nWhich")
    deck = parse_lesson(text)
    assert deck.cards[8].options[-1] == "Map your." and deck.cards[8].answer is None


# --- files ----------------------------------------------------------------------------------

def test_bom_is_accepted(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + (LESSONS / "seed.txt").read_bytes())
    deck = read_lesson(p)
    assert deck.name == SEED_TITLE and deck.cards[0].line == 17


def test_non_utf8_names_file_and_line(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes(text_of("seed.txt").replace("Reviewed", "Révisé").encode("latin-1", "replace"))
    with pytest.raises(SrsError) as info:
        read_lesson(p)
    assert info.value.path == str(p) and info.value.line == 3  # line 3's "·" is byte 0xb7 in Latin-1
    p.write_bytes(b"Title\nsub\n9 min \xe9 Reviewed\n")
    with pytest.raises(SrsError) as info:
        read_lesson(p)
    assert info.value.line == 3 and str(info.value).startswith(f"{p}:3: ")
    assert_one_line_error(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(SrsError) as info:
        read_lesson(tmp_path / "nope.txt")
    assert_one_line_error(info.value)


# --- not lessons ------------------------------------------------------------------------------

MARKDOWN_DECK = """# Capitals

## What is the capital of France?
Paris

## What is the capital of Italy?
- Rome
- Milan
"""
README = "# srs\n\nA spaced-repetition study tool.\n\n    python -m srs import lesson.txt\n"


@pytest.mark.parametrize("text", ["", "   \n\n", MARKDOWN_DECK, README, "What is 2+2?\n4\n"])
def test_non_lessons_are_refused(text):
    assert not looks_like_lesson(text)
    with pytest.raises(SrsError) as info:
        parse_lesson(text, "x.md")
    assert info.value.message.startswith("not a lesson: ")
    assert_one_line_error(info.value)


@pytest.mark.parametrize("text, line", [
    ("End-of-lesson check\n3 questions · x\nWhat?\n", 1),  # no title
    ("Title\nsub\nEnd-of-lesson check\n3 questions · x\n\n", 4),  # no questions
    ("Title\nsub\nEnd-of-lesson check\nWhat is it?\na\nb\n", 3),  # no count line
])
def test_broken_lessons_are_refused_with_a_line(text, line):
    with pytest.raises(SrsError) as info:
        parse_lesson(text, "l.txt")
    assert info.value.message.startswith("not a lesson: ") and info.value.line == line


def test_option_before_any_question():
    with pytest.raises(SrsError) as info:
        parse_lesson("Title\nsub\nEnd-of-lesson check\n1 question · x\nan option\nWhat is it?\n")
    assert info.value.line == 5
    assert_one_line_error(info.value)


# --- properties -------------------------------------------------------------------------------

def parse_or_error(text: str) -> None:
    try:
        deck = parse_lesson(text)
    except SrsError as err:
        assert_one_line_error(err)
    else:
        assert isinstance(deck, DeckSpec)
        check_deck(deck)


@settings(max_examples=300, database=None)
@given(st.text())
def test_arbitrary_text_never_crashes(text):
    parse_or_error(text)


VOCAB = sorted({line for name in VALID for line in text_of(name).replace("\r", "").split("\n")}) + [
    "End-of-lesson check", "0 questions · x", "2 questions", "99999999 questions", "?", ".", "...",
    "Explain.", "Name one.", "What is the main idea of \"\"?", "The premise", "What AI cannot do", "\ufeff",
]


@settings(max_examples=300, database=None)
@given(st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=20)), max_size=40),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_lesson_like_text_never_crashes(lines, eol):
    parse_or_error(eol.join(lines))


@st.composite
def mutated_seed(draw):
    lines = text_of(draw(st.sampled_from(VALID))).split("\n")
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "insert", "shuffle"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "drop" and lines:
            del lines[i]
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.one_of(st.text(max_size=30), st.sampled_from(VOCAB))))
        elif op == "shuffle":
            lines = draw(st.permutations(lines))
    return "\n".join(lines)


@settings(max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_seed())
def test_mutated_lessons_never_crash(text):
    parse_or_error(text)


@settings(max_examples=100, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.data())
def test_shuffling_options_keeps_the_keys(name, data):
    text = text_of(name)
    deck = parse_lesson(text)
    lines = text.split("\n")
    for card in deck.cards:
        if not card.options:
            continue
        idx, i = [], card.line  # 0-based index of the line after the question
        while len(idx) < len(card.options):
            if lines[i].strip():
                idx.append(i)
            i += 1
        order = data.draw(st.permutations(idx))
        new = [lines[j] for j in order]
        for j, line in zip(idx, new):
            lines[j] = line
    shuffled = parse_lesson("\n".join(lines))
    assert keys(shuffled) == keys(deck)
    assert [sorted(c.options or []) for c in shuffled.cards] == [sorted(c.options or []) for c in deck.cards]
