"""The review loop on a real terminal (tmux): single key presses, what the learner sees,
and hostile card text shown literally."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from conftest import run_srs
from srs.terminal import safe

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

DECK = """# Terminal

## What is 2 + 2?
Four

## Which is a prime?
- [ ] 4
- [x] 7
- [ ] 9
> 7 has no divisors but 1 and itself.
"""


class Tmux:
    def __init__(self, command: list[str], width: int = 100, height: int = 40):
        self.name = f"srs-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        " ".join(command) + "; echo EXIT=$?; sleep 60"], check=True)

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.05)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name, "-S", "-200"], check=True,
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux_review(tmp_path):
    sessions = []

    def start(deck_text: str, width: int = 100):
        deck = tmp_path / "deck.md"
        deck.write_text(deck_text)
        db = tmp_path / "srs.db"
        assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
        session = Tmux([sys.executable, "-m", "srs", "--db", str(db), "review"], width=width)
        sessions.append(session)
        return session, db

    yield start
    for session in sessions:
        session.close()


def test_single_keys_review_to_the_end(tmux_review):
    term, db = tmux_review(DECK)
    term.wait_for("Enter shows the answer")
    term.keys("Enter")  # one key press: no Enter needed after it
    screen = term.wait_for("Rate 1-4")
    assert "Four" in screen and "Again (1) 1m" in screen and "Good (3) 10m" in screen
    term.keys("4")  # Easy: graduates at once
    screen = term.wait_for("Your answer [a-c]")
    assert "Which is a prime?" in screen
    options = {line.split(") ", 1)[1].strip(): line.strip()[0] for line in screen.splitlines()
               if line.strip()[:2] in ("a)", "b)", "c)")}
    term.keys(options["7"])
    screen = term.wait_for("Rate 1-4, Enter = Good")
    assert "✓ Right: 7" in screen and "7 has no divisors" in screen
    term.keys("u")  # at the rating prompt, u takes back the pick not yet rated
    term.wait_for("Your answer is taken back")
    term.keys("BSpace")  # at a choice prompt, Backspace undoes: the previous card's answer, which comes back
    term.wait_for("Undone: the answer to card #1")
    term.keys("Enter")
    term.wait_for("Rate 1-4, Enter = Good")
    term.keys("4")
    term.wait_for("Your answer [a-c]")
    term.keys("q")  # q could be an option letter here: no command
    term.wait_for("q is no command here")
    term.keys("Escape")
    screen = term.wait_for("EXIT=0")
    assert "Session over" in screen and "1 card, 100% right" in screen
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*), max(rating) FROM reviews").fetchone() == (1, 4)


def test_wrong_choice_suggests_again(tmux_review):
    term, _ = tmux_review(DECK.split("## What is 2 + 2?")[0] + DECK.split("Four\n\n")[1])
    screen = term.wait_for("Your answer [a-c]")
    options = {line.split(") ", 1)[1].strip(): line.strip()[0] for line in screen.splitlines()
               if line.strip()[:2] in ("a)", "b)", "c)")}
    term.keys(options["9"])
    screen = term.wait_for("Enter = Again")
    assert "✗ Wrong. The answer is: 7" in screen
    before = term.screen().count("Your answer [a-c]")
    term.keys("Enter")  # Again: the card comes back within the learn-ahead window
    deadline = time.monotonic() + 20
    while term.screen().count("Your answer [a-c]") == before:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    term.keys("Escape")
    term.wait_for("EXIT=0")


HOSTILE = ("[bold red]not markup[/bold red] \x1b[2J\x1b[31mred?\x1b[0m bell\x07 "
           "\u202eevil-rtl\u202c tab\there")


def test_hostile_text_is_shown_literally(tmux_review):
    long_line = "x" * 1_000_000
    deck = f"# Hostile\n\n## {HOSTILE}\n{long_line}\n"
    term, _ = tmux_review(deck, width=120)
    screen = term.wait_for("Enter shows the answer")
    assert "[bold red]not markup[/bold red]" in screen
    assert "\\x1b[2J\\x1b[31mred?\\x1b[0m" in screen and "bell\\x07" in screen
    assert "<U+202E>evil-rtl<U+202C>" in screen
    term.keys("Enter")
    screen = term.wait_for("Rate 1-4")
    assert "more characters)" in screen  # a 1 MB answer is cut, not dumped


def test_safe_makes_every_control_visible():
    for code in list(range(0, 32)) + list(range(127, 160)) + [0x202E, 0x2066, 0x200F]:
        char = chr(code)
        if char in "\n\t":
            continue
        assert char not in safe(f"a{char}b")
    assert safe("[b]x[/b]") == "[b]x[/b]"


CODE_DECK = '''# Code

## What does `summary([3, 1, 2])` return?
```python
def summary(values):
    """Smallest, largest and mean of a list."""
    if not values:
        return None
    low = high = values[0]
    # one pass over the rest
    for value in values[1:]:
        if value < low:
            low = value
        elif value > high:
            high = value
    return low, high, sum(values) / len(values)
```
- [ ] (3, 2, 2.0)
- [x] (1, 3, 2.0)
- [ ] None
'''


def test_a_choice_card_with_a_python_block_at_80_columns(tmux_review):
    term, db = tmux_review(CODE_DECK, width=80)
    screen = term.wait_for("Your answer [a-c]")
    code = CODE_DECK.split("```python\n")[1].split("```")[0].rstrip("\n").split("\n")
    assert len(code) == 12
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == code[0])
    shown = lines[start:start + 12]
    indent = len(shown[0]) - len(shown[0].lstrip())
    assert [line[indent:].rstrip() for line in shown] == code  # every line, its indentation intact
    assert all(len(line) <= 80 for line in lines)
    options = [line.strip() for line in lines[start + 12:start + 15]]
    assert sorted(o[3:] for o in options) == ["(1, 3, 2.0)", "(3, 2, 2.0)", "None"]  # the options below it
    colours = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", term.name], check=True,
                             capture_output=True, text=True).stdout
    import re

    def_line = next(line for line in colours.splitlines() if "summary" in line and "def" in line)
    assert re.sub(r"\x1b\[[0-9;]*m", "", def_line).strip() == "def summary(values):"
    assert re.search(r"\x1b\[[0-9;]*m(def)\x1b", def_line)  # highlighted: the keyword has its own colour
    right = next(o[0] for o in options if o.endswith("(1, 3, 2.0)"))
    term.keys(right)
    term.wait_for("✓ Right: (1, 3, 2.0)")
    term.keys("4")  # Easy: graduates, and the session is over
    term.wait_for("EXIT=0")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT rating, correct FROM reviews").fetchall() == [(4, 1)]


def test_typed_and_cloze_cards_on_a_terminal(tmux_review):
    term, db = tmux_review("# T\n\n## {{c1::Ottawa}} is the capital of Canada\n\n## Spell it\n= colour\n")
    term.wait_for("[...] is the capital of Canada")
    term.keys("Enter")
    term.wait_for("[Ottawa] is the capital of Canada")
    term.keys("3")
    term.wait_for("Type the answer")
    for key in ("c", "o", "l", "o", "r", "Enter"):
        term.keys(key)
    screen = term.wait_for("Enter = Again")
    assert "You typed: color" in screen and "Answer:    colour" in screen
    term.keys("Enter")
    deadline = time.monotonic() + 20
    while term.screen().count("Type the answer") < 2:  # Again: the card comes back within the learn-ahead
        assert time.monotonic() < deadline
        time.sleep(0.1)
    term.keys("q", "Enter")  # a line of only q quits
    term.wait_for("EXIT=0")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT rating, choice, correct FROM reviews ORDER BY id").fetchall() == [
        (3, None, None), (1, "color", 0)]
