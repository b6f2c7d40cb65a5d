"""The terminal front end of a review session: drawing cards with rich and reading keys.

On a real terminal one key press answers; when standard input is not a terminal each
prompt reads one line with the same keys, so a session can be scripted. Card text is
always shown literally: never read as rich markup, with control characters, escape
sequences and bidirectional overrides made visible instead of obeyed.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Callable, TextIO

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
        self.actions: dict[str, Callable[[], None]] = {}  # keys that act at any prompt (open, play), then ask again
        self.media: MediaView | None = None  # the media of the card on screen, during a review

    def read(self, prompt: str) -> str:
        while True:
            key = self._read(prompt)
            action = self.actions.get(key)
            if action is None:
                return key
            action()

    def _read(self, prompt: str) -> str:
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
    keys.media = MediaView(console, keys)
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
        keys.media.stop()
        session.close()
    _print_summary(session, console)


def _header(session: ReviewSession, card: StoredCard, console: Console, keys: Keys) -> None:
    counts = session.remaining()
    console.rule(Text(f"new {counts['new']} · learning {counts['learning']} · review {counts['review']} · "
                      f"{safe(card.deck)}", style="dim"), align="left")
    keys.media.question(session, card)


def _command(session: ReviewSession, card: StoredCard, key: str, console: Console) -> bool:
    """Handle u / s / q at any prompt; True when the current card is done with."""
    if key == "q":
        raise Quit()
    if key == "u":
        undone = session.undo()
        console.print("Undone: the last answer is taken back." if undone else
                      (session.take_notice() or "Nothing to undo in this session."), style="yellow")
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
    _header(session, card, console, keys)
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
        console.print(plain(keys.media.text(answer), "green"))
        suggested = 3
    if card.spec.explanation:
        console.print(plain(keys.media.text(card.spec.explanation), "italic"))
    keys.media.answer()
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
        while notice := session.take_notice():  # a race lost to another session (srs.session)
            console.print(notice, style="yellow")
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


# -- media: images and sounds of Anki notes -------------------------------------------------

_IMAGE_MARK = re.compile(r"\[image: ([^\]\n]+)\]")
_SOUND_MARK = re.compile(r"\[sound:([^\]\n]+)\]")
_inline_kind: list = []  # the inline image renderer for this terminal, once looked for (None: there is none)


def _inline_renderer(console: Console):
    """textual-image's renderable on terminals with real graphics (kitty's protocol, sixel: iTerm2,
    WezTerm, foot, xterm -ti vt340...), else None. An optional dependency (`pip install srs[images]`)."""
    if not _inline_kind:
        renderer = None
        if console.is_terminal and sys.stdout.isatty():
            try:
                from textual_image.renderable import Image, SixelImage, TGPImage

                renderer = Image if Image in (SixelImage, TGPImage) else None
            except Exception:  # not installed, or the terminal query failed
                renderer = None
        _inline_kind.append(renderer)
    return _inline_kind[0]


class MediaView:
    """The media of the card on screen: named (or drawn inline) with its text, `o` opens the side's
    images in the system viewer, `p` plays its sounds (and a deck's `autoplay_audio` plays them
    when the side is shown). Keys that are one of the card's option letters become `O` and `P`."""

    def __init__(self, console: Console, keys: Keys):
        self.console, self.keys = console, keys
        self.images: list = []
        self.sounds: list = []
        self.pending: list = []  # the answer side's files, shown with the answer
        self.files: dict = {}  # name -> MediaFile, both sides
        self.named: set[str] = set()  # files already named in the text shown
        self.autoplay = False
        self.player = None
        self.said_no_player = False

    def question(self, session: ReviewSession, card: StoredCard) -> None:
        self.stop()
        question, answer, self.autoplay = session.media(card)
        self.images = [f for f in question if f.image]
        self.sounds = [f for f in question if not f.image]
        self.pending = answer
        self.files = {f.name: f for f in question + answer}
        self.named = set()
        taken = set("abcdefghijklmnopqrstuvwxyz"[:len(card.spec.options or [])])
        self.open_key = "o" if "o" not in taken else "O"
        self.play_key = "p" if "p" not in taken else "P"
        self.keys.actions = {}
        if question or answer:
            self.keys.actions = {self.open_key: self.open, self.play_key: self.play}
        self._print(card.spec.question, question, "bold")
        self._autoplay()

    def answer(self) -> None:
        if not self.pending:
            return
        files, self.pending = self.pending, []
        self.images += [f for f in files if f.image]
        new_sounds = [f for f in files if not f.image]
        for line in self._notes(files, self.named):
            self.console.print(line)
        self._draw(files)
        if new_sounds:
            self.sounds = new_sounds
            self._autoplay()

    def text(self, text: str | None) -> str:
        """Card text with the media placeholders (`[image: x]`, `[sound:x]`) of this card's files replaced
        by how to see or hear them."""
        def mark(match) -> str:
            found = self.files.get(match.group(1).strip())
            if found is None:
                return match.group(0)
            self.named.add(found.name)
            return self._note(found)

        if not self.files or not text:
            return text or ""
        return _SOUND_MARK.sub(mark, _IMAGE_MARK.sub(mark, text))

    def _print(self, text: str, files: list, style: str) -> None:
        self.console.print(plain(self.text(text), style))
        for line in self._notes(files, self.named):
            self.console.print(line)
        self._draw(files)

    def _note(self, media) -> str:
        kind = "image" if media.image else "audio"
        if media.path is None:
            return f"({kind}: {media.name} — not in the package, cannot be shown)"
        if media.image:
            return f"({kind}: {media.name} — press {self.open_key} to open)"
        return f"({kind}: {media.name} — press {self.play_key} to play)"

    def _notes(self, files: list, named: set[str]) -> list[Text]:
        return [plain(self._note(f), "cyan") for f in files if f.name not in named]

    def _draw(self, files: list) -> None:
        renderer = None
        for media in files:
            if media.image and media.path is not None:
                renderer = renderer or _inline_renderer(self.console)
                if renderer is None:
                    return
                try:
                    self.console.print(renderer(str(media.path), height=12))
                except Exception:  # an image the library cannot decode stays named only
                    pass

    def open(self) -> None:
        from srs.media import find_opener, launch

        images = [f for f in self.images if f.path is not None]
        if not images:
            self.console.print("No image to open on this side.", style="yellow")
            return
        opener = find_opener()
        for media in images:
            if opener is None or not launch(opener, media.path):
                self.console.print(plain(f"No image viewer found (xdg-open or open); {media.name} is at {media.path}",
                                         "yellow"))
                return
        self.console.print(plain("Opened: " + ", ".join(f.name for f in images), "dim"))

    def play(self, automatic: bool = False) -> None:
        sounds = [f.path for f in self.sounds if f.path is not None]
        if not sounds:
            if not automatic:
                self.console.print("No audio to play on this side.", style="yellow")
            return
        if self.player is None:
            from srs.media import Player, find_player

            self.player = Player(find_player())
        if not self.player.play(sounds):
            if not automatic or not self.said_no_player:
                self.console.print("No audio player found: install mpv, ffmpeg (ffplay) or sox (play) to hear "
                                   "the sound.", style="yellow")
                self.said_no_player = True

    def _autoplay(self) -> None:
        if self.autoplay and self.keys.tty and self.sounds:
            self.play(automatic=True)

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
