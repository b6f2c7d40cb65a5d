"""The terminal front end of a review session: drawing cards with rich and reading keys.

On a real terminal one key press answers; when standard input is not a terminal each
prompt reads one line with the same keys, so a session can be scripted. Card text is
always shown literally: never read as rich markup, with control characters, escape
sequences and bidirectional overrides made visible instead of obeyed.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.text import Text

from srs import scheduling
from srs.display import safe
from srs.model import StoredCard
from srs.session import ReviewSession

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def plain(text: str | None, style: str = "") -> Text:
    """Card text as a rich Text: shown literally, never read as markup."""
    return Text(safe(text), style=style)


class Quit(Exception):
    pass


class Keys:
    """Reads answers: single key presses on a terminal, whole lines from a pipe."""

    def __init__(self, console: Console, stream: TextIO | None = None):
        self.console = console
        self.stream = stream or sys.stdin
        self.tty = self.stream.isatty()

    def read(self, prompt: str) -> str:
        self.console.print(Text(prompt, style="bold"), end="")
        if self.tty:
            key = self._key()
            self.console.print(key if key.strip() else "")
            return key
        line = self.stream.readline()
        self.console.print()
        if line == "":
            raise Quit()  # end of input: leave as with q
        return line.strip()

    def read_line(self, prompt: str) -> str:
        """A whole line of text (an answer to type), on a terminal as from a pipe."""
        self.console.print(Text(prompt, style="bold"), end="")
        line = self.stream.readline()
        if line == "":
            raise Quit()
        if not self.tty:
            self.console.print()
        return line.strip()

    def _key(self) -> str:
        import termios
        import tty

        fd = self.stream.fileno()
        old = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            char = self.stream.read(1)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        if char == "\x03":
            raise KeyboardInterrupt
        if char in ("\x04", ""):
            raise Quit()
        return "" if char in ("\r", "\n") else char


def run_review(session: ReviewSession, console: Console, keys: Keys) -> None:
    """Drive a session until it ends or the learner quits; then print the summary."""
    counts = session.remaining()
    console.print(Text(f"To review: {counts['new']} new · {counts['learning']} learning · "
                       f"{counts['review']} review", style="bold"))
    try:
        while (card := session.next_card()) is not None:
            _review_one(session, card, console, keys)
    except Quit:
        pass
    except KeyboardInterrupt:  # Ctrl-C: every answer is already saved; say so, then stop
        console.print()
        _print_summary(session, console)
        raise
    finally:
        session.close()
    _print_summary(session, console)


def _header(session: ReviewSession, card: StoredCard, console: Console) -> None:
    counts = session.remaining()
    console.rule(Text(f"new {counts['new']} · learning {counts['learning']} · review {counts['review']} · "
                      f"{safe(card.deck)}", style="dim"), align="left")
    console.print(plain(card.spec.question, "bold"))


def _command(session: ReviewSession, card: StoredCard, key: str, console: Console) -> bool:
    """Handle u / s / q at any prompt; True when the current card is done with."""
    if key == "q":
        raise Quit()
    if key == "u":
        undone = session.undo()
        console.print("Undone: the last answer is taken back." if undone else "Nothing to undo in this session.",
                      style="yellow")
        return undone is not None
    if key == "s":
        session.suspend(card)
        console.print("Suspended: this card will not come up again until unsuspended.", style="yellow")
        return True
    return False


def _print_options(console: Console, options: list[str]) -> None:
    """Options lettered a, b, c..., long ones wrapped under their own text."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", min_width=4)
    grid.add_column()
    for letter, option in zip(LETTERS, options):
        grid.add_row(f"{letter})", plain(option))
    console.print(grid)


def _review_one(session: ReviewSession, card: StoredCard, console: Console, keys: Keys) -> None:
    _header(session, card, console)
    started = time.monotonic()
    choice = None
    if card.spec.options is not None:
        options = session.shuffled_options(card)
        _print_options(console, options)
        letters = LETTERS[:len(options)]
        while True:
            key = keys.read(f"Your answer [{letters[0]}-{letters[-1]}] (u undo, s suspend, q quit): ").lower()
            if _command(session, card, key, console):
                return
            if len(key) == 1 and key in letters:
                choice = options[letters.index(key)]
                break
            console.print(f"Press a letter from {letters[0]} to {letters[-1]}.", style="yellow")
        if card.spec.answer is None:
            card = _ask_key(session, card, options, letters, console, keys)
        right = session.is_right(card, choice)
        if right is None:
            console.print("The key of this card is not known yet, so this answer is not marked.", style="yellow")
            suggested = 3
        elif right:
            console.print(Text("✓ Right: ", style="bold green") + plain(choice))
            suggested = 3
        else:
            console.print(Text("✗ Wrong. The answer is: ", style="bold red") + plain(card.spec.answer, "green"))
            suggested = 1
    else:
        hint = "h hint, " if card.spec.hint else ""
        key = keys.read(f"Enter shows the answer ({hint}u undo, s suspend, q quit): ").lower()
        while key == "h" and card.spec.hint:  # the hint the card keeps hidden until asked for
            console.print(Text("Hint: ", style="yellow") + plain(card.spec.hint, "yellow"))
            key = keys.read("Enter shows the answer (u undo, s suspend, q quit): ").lower()
        if _command(session, card, key, console):
            return
        answer = card.spec.answer or "(no answer written yet: add one with 'srs key' or in the deck file)"
        console.print(plain(answer, "green"))
        suggested = 3
    if card.spec.explanation:
        console.print(plain(card.spec.explanation, "italic"))
    duration_ms = int((time.monotonic() - started) * 1000)
    shown = session.show(card)  # the states each rating gives, computed now; the answer applies them
    console.print(Text("  ·  ".join(f"{scheduling.RATINGS[r]} ({r}) {shown.texts[r]}" for r in scheduling.RATINGS),
                       style="cyan"))
    while True:
        key = keys.read(f"Rate 1-4, Enter = {scheduling.RATINGS[suggested]} (u undo, s suspend, q quit): ").lower()
        if _command(session, card, key, console):
            return
        if key == "":
            rating = suggested
        elif key in ("1", "2", "3", "4"):
            rating = int(key)
        else:
            console.print("Press 1-4, or Enter.", style="yellow")
            continue
        if not session.answer(shown, rating, duration_ms, choice):
            console.print("This card was answered in another session meanwhile; moving on.", style="yellow")
        return


def _ask_key(session, card, options, letters, console, keys) -> StoredCard:
    console.print("srs does not know the right option yet. Which is it? (asked once)",
                  style="yellow")
    while True:
        key = keys.read(f"Right option [{letters[0]}-{letters[-1]}], Enter if you do not know: ").lower()
        if key == "":
            return card
        if key == "q":
            raise Quit()
        if len(key) == 1 and key in letters:
            return session.set_key(card, options[letters.index(key)])
        console.print(f"Press a letter from {letters[0]} to {letters[-1]}, or Enter.", style="yellow")


def _print_summary(session: ReviewSession, console: Console) -> None:
    from srs import clock

    summary = session.summary()
    console.rule("Session over")
    if summary.cards:
        minutes, seconds = divmod(round(summary.seconds), 60)
        cards = "1 card" if summary.cards == 1 else f"{summary.cards} cards"
        console.print(f"{cards}, {summary.percent_right:.0f}% right, {minutes}m {seconds:02d}s.")
    else:
        console.print("No cards answered.")
    if summary.next_due is not None:
        wait = summary.next_due - clock.now()
        when = summary.next_due.astimezone().strftime("%Y-%m-%d %H:%M")
        text = "now" if wait.total_seconds() <= 0 else "in " + scheduling.format_interval(wait)
        console.print(f"Next card due {text} ({when}).")


def run_keying(store, deck_id: int | None, console: Console, keys: Keys) -> None:
    """Walk through the cards srs cannot grade yet and record what the learner gives."""
    cards = store.unkeyed_cards(deck_id, blank_answers=True)
    if not cards:
        console.print("Every choice card has a key and every basic card an answer.")
        return
    done = 0
    try:
        for card in cards:
            console.rule(plain(card.deck), align="left")
            console.print(plain(card.spec.question, "bold"))
            if card.spec.options is None:
                answer = keys.read_line("Type the answer (Enter to skip): ")
                if answer:
                    store.set_answer(card.id, answer, "learner")
                    done += 1
                continue
            options = card.spec.options
            _print_options(console, options)
            letters = LETTERS[:len(options)]
            while True:
                key = keys.read(f"Right option [{letters[0]}-{letters[-1]}], Enter to skip, q to stop: ").lower()
                if key == "q":
                    raise Quit()
                if key == "" or (len(key) == 1 and key in letters):
                    break
                console.print(f"Press a letter from {letters[0]} to {letters[-1]}, Enter to skip, or q.", style="yellow")
            if key:
                store.set_answer(card.id, options[letters.index(key)], "learner")
                done += 1
    except Quit:
        pass
    left = len(store.unkeyed_cards(deck_id, blank_answers=True))
    console.print(f"{done} recorded; {left} card(s) still without a key or answer.")
