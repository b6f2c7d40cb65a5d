"""Key presses on a real terminal (tmux), as a hostile or hurried learner gives them (issue 14, point 3;
issue 15, point 3): named keys (arrows, F5), a bracketed paste, Ctrl-Z then `fg`, keys 5 ms apart,
SIGTERM under dash, letters at a choice card with many options; `e`, `s` then `u`, `b`, a stray pick
then `u`, space."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from conftest import run_srs

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Shell:
    """An interactive shell in a tmux window (job control on): commands typed at it, as a learner does."""

    def __init__(self, shell: str = "bash --norc --noprofile", width: int = 100, height: int = 40, env: str = ""):
        self.name = f"srs-keys-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        f"env PS1='$ ' {env} {shell}"], check=True)
        time.sleep(0.3)

    def keys(self, *keys: str, gap: float = 0.05) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(gap)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def paste(self, text: str) -> None:
        """Paste as a terminal does: bracketed when the program asked for it."""
        subprocess.run(["tmux", "set-buffer", "-b", self.name, text], check=True)
        subprocess.run(["tmux", "paste-buffer", "-p", "-b", self.name, "-t", self.name], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name, "-S", "-300"], check=True,
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared ({count}x); screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def shell(tmp_path):
    shells = []

    def start(deck_text: str, **kwargs):
        deck = tmp_path / "deck.md"
        deck.write_text(deck_text)
        db = tmp_path / "srs.db"
        assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
        term = Shell(**kwargs)
        shells.append(term)
        return term, db, deck

    yield start
    for term in shells:
        term.close()


def review_command(db, pid_file=None) -> str:
    pid = f"echo $$ > {pid_file}; " if pid_file else ""
    return f"sh -c '{pid}exec {sys.executable} -m srs --db {db} review'; echo EXIT=$?"


def reviews(db) -> list[tuple]:
    return sqlite3.connect(db).execute("SELECT card_id, rating FROM reviews ORDER BY id").fetchall()


CHECK_MODE = "stty -a | tr ' ;' '\\n\\n' | grep -cx -e -echo -e -icanon | sed 's/^/RAWFLAGS=/'"
BASIC_AND_CHOICE = "# K\n\n## Basic one\nanswer one\n\n## Pick\n- [x] right\n- [ ] wrong\n- [ ] other\n"


def test_arrows_function_keys_mouse_and_paste_never_answer(shell):
    term, db, _ = shell(BASIC_AND_CHOICE)
    term.type(review_command(db))
    term.wait_for("Enter shows the answer")
    term.keys("Down", "F5", "Up", "Left", "PageDown")
    term.paste("x\r3\r")  # a paste of text is no key press
    time.sleep(0.5)
    assert "Rate 1-4" not in term.screen()
    term.keys("Enter")
    term.wait_for("Rate 1-4")
    term.keys("F5", "Down", "Right", "F1", "F12")
    term.paste("1\r")
    time.sleep(0.5)
    assert reviews(db) == []  # F5 records no Again, a pasted "1" no rating
    term.keys("3")
    screen = term.wait_for("Your answer [a-c]")
    term.keys("Down", "Up", "F5")
    term.paste("a")
    time.sleep(0.5)
    assert "Right" not in term.screen() and "Wrong" not in term.screen() and reviews(db) == [(1, 3)]
    term.keys("Escape")
    term.wait_for("EXIT=0")
    assert reviews(db) == [(1, 3)]


def test_keys_5_ms_apart_are_never_dropped(shell):
    deck = "# Fast\n\n" + "".join(f"## Question {i}\nanswer {i}\n\n" for i in range(20))
    term, db, _ = shell(deck)
    term.type(review_command(db))
    term.wait_for("Enter shows the answer")
    for _ in range(20):
        term.keys("Enter", "4", gap=0.005)
    screen = term.wait_for("EXIT=0")
    assert "20 cards, 100% right" in screen
    assert reviews(db) == [(card, 4) for card in range(1, 21)]


def test_ctrl_z_then_fg_records_nothing(shell):
    term, db, _ = shell(BASIC_AND_CHOICE)
    term.type(review_command(db))
    term.wait_for("Enter shows the answer")
    term.keys("C-z")
    term.wait_for("Stopped")
    term.type(CHECK_MODE)
    term.wait_for("RAWFLAGS=0")  # echo and line editing are on for the shell
    term.type("fg")
    term.wait_for("Enter shows the answer", count=2)  # the prompt is drawn again
    time.sleep(0.5)
    assert reviews(db) == []
    term.keys("Enter")
    term.wait_for("Rate 1-4")
    term.keys("C-z")
    term.wait_for("Stopped", count=2)
    term.type("fg")
    term.wait_for("Rate 1-4", count=2)
    time.sleep(0.5)
    assert reviews(db) == []
    term.keys("2")
    term.wait_for("Your answer [a-c]")
    term.keys("Escape")
    term.wait_for("Session over")  # (the shell went on to `echo EXIT` when the job stopped)
    assert reviews(db) == [(1, 2)]


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_the_terminal_is_given_back_on_sigterm_and_sighup_under_dash(shell, tmp_path, sig):
    term, db, _ = shell(BASIC_AND_CHOICE, shell="dash")
    pid_file = tmp_path / "pid"
    term.type(f"sh -c 'echo $$ > {pid_file}; exec {sys.executable} -m srs --db {db} review'; echo EXIT=$?")
    term.wait_for("Enter shows the answer")
    term.keys("Enter")
    term.wait_for("Rate 1-4")
    term.keys("3")
    term.wait_for("Your answer [a-c]")
    if sig == signal.SIGINT:
        term.keys("C-c")
    else:
        os.kill(int(pid_file.read_text()), sig)
    term.wait_for(f"EXIT={128 + sig}")
    term.type(CHECK_MODE)
    term.wait_for("RAWFLAGS=0")  # echo and line editing are on again
    assert reviews(db) == [(1, 3)]


def test_letters_pick_options_on_a_card_with_26_options(shell):
    letters = "abcdefghijklmnopqrstuvwxyz"
    options = "\n".join(f"- [{'x' if letter == 'u' else ' '}] option {letter}" for letter in letters)
    term, db, _ = shell(f"# Many\n\n## Which?\n{options}\n", height=60)
    term.type(review_command(db))
    screen = term.wait_for("Your answer [a-z]")
    label = next(line.strip()[0] for line in screen.splitlines() if line.strip().endswith(") option u"))
    assert "z) option" in screen  # all 26 shown
    term.keys("q")  # picks option q, quits nothing
    screen = term.wait_for("Rate 1-4")
    term.keys("u")  # takes that pick back
    term.wait_for("Your answer is taken back")
    term.keys(label)
    term.wait_for("✓ Right: option u")
    term.keys("Space")  # Good
    term.wait_for("Enter: options")  # back from its learning step (learn-ahead), recall first: answered right once
    term.keys("Escape")
    term.wait_for("EXIT=0")
    assert reviews(db) == [(1, 3)]


def test_edit_suspend_undo_bury_stray_pick_and_space(shell, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^answer one$/answer one, edited/' \"$2\"\n")
    editor.chmod(0o755)
    term, db, deck = shell(BASIC_AND_CHOICE + "\n## Third\nthree\n", env=f"EDITOR={editor}")
    term.type(review_command(db))
    screen = term.wait_for("Enter shows the answer")
    assert "#1" in screen  # the id, in the header line
    term.keys("e")
    screen = term.wait_for("1 updated")
    term.wait_for("Enter shows the answer", count=2)
    term.keys("Enter")
    term.wait_for("answer one, edited")
    term.keys("Space")  # Good
    term.wait_for("Your answer [a-c]")
    term.keys("@")  # suspend the choice card
    term.wait_for("Suspended")
    term.wait_for("Third")
    term.keys("u")  # undoes the suspension (not the answer before it): the choice card comes back
    term.wait_for("no longer suspended")
    screen = term.wait_for("Your answer [a-c]", count=2)
    term.keys("c")  # a stray key: some option
    term.wait_for("Rate 1-4", count=2)
    term.keys("u")  # the pick is taken back before rating
    term.wait_for("Your answer is taken back")
    term.keys("-")  # bury it
    term.wait_for("Buried until tomorrow")
    term.wait_for("Third", count=2)
    term.keys("b")  # bury the third card with a letter, at a reveal prompt
    term.wait_for("Buried until tomorrow", count=2)
    term.wait_for("Basic one", count=3)  # the first card, back from its learning step (learn-ahead)
    term.keys("q")
    term.wait_for("EXIT=0")
    conn = sqlite3.connect(db)
    assert reviews(db) == [(1, 3)]
    assert conn.execute("SELECT card_id, suspended FROM card_state ORDER BY card_id").fetchall() == [
        (1, 0), (2, 2), (3, 2)]
    assert "answer one, edited" in deck.read_text()
