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

from srs import kinds, scheduling
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


def _header(session: ReviewSession, asked, console: Console, keys: Keys) -> None:
    counts = session.remaining()
    console.rule(Text(f"new {counts['new']} · learning {counts['learning']} · review {counts['review']} · "
                      f"{safe(asked.card.deck)}", style="dim"), align="left")
    keys.media.question(session, asked.card, asked.text, len(asked.options))


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
    asked = session.ask(card)
    _header(session, asked, console, keys)
    started = time.monotonic()
    response = None
    unsure = False
    if asked.how == "choose":
        picked = _choose(session, asked, card, console, keys)
        if picked is None:
            return
        response, unsure = picked
        if asked.needs_key:
            card = _ask_key(session, card, asked.options, LETTERS[:len(asked.options)], console, keys)
    elif asked.how == "type":
        answers = {answer.strip().lower() for answer in asked.answers}
        commands = {"u", "s", "q"} - answers
        if asked.format == "typed" and asked.kind == "choice":
            console.print("A choice card asked without its options: type the answer.", style="dim")
        while True:
            hint = "h hint, " if asked.hint else ""
            line = keys.read_line(f"Type the answer (Enter: do not know; {hint}u, s, q alone: undo, suspend, quit): ")
            action = keys.actions.get(line) if line not in answers else None
            if action is not None:  # o / p alone: open the question's image, play its sound
                action()
                continue
            if line.lower() == "h" and asked.hint and "h" not in answers:  # an Anki card's {{hint:}}
                console.print(Text("Hint: ", style="yellow") + plain(asked.hint, "yellow"))
                continue
            if line.lower() in commands:
                if _command(session, card, line.lower(), console):
                    return
                continue
            response = line
            break
    else:
        hint = "h hint, " if asked.hint else ""
        key = keys.read(f"Enter shows the answer ({hint}u undo, s suspend, q quit): ").lower()
        while key == "h" and asked.hint:  # the hint the card keeps hidden until asked for
            console.print(Text("Hint: ", style="yellow") + plain(asked.hint, "yellow"))
            key = keys.read("Enter shows the answer (u undo, s suspend, q quit): ").lower()
        if _command(session, card, key, console):
            return
    checked = session.check(asked, response, unsure)  # a key just given is the card's (asked.card) already
    _print_answer(asked, checked, console, keys)
    keys.media.answer()
    duration_ms = int((time.monotonic() - started) * 1000)
    shown = session.show(card)  # the states each rating gives, computed now; the answer applies them
    console.print(Text("  ·  ".join(f"{scheduling.RATINGS[r]} ({r}) {shown.texts[r]}" for r in scheduling.RATINGS),
                       style="cyan"))
    suggested = checked.suggested
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
        if not session.answer(shown, rating, duration_ms, response, asked.format):
            console.print("This card was answered in another session meanwhile; moving on.", style="yellow")
        while notice := session.take_notice():  # a race lost to another session (srs.session)
            console.print(notice, style="yellow")
        return


def _print_answer(asked, checked, console: Console, keys: Keys) -> None:
    """The answer side: right or wrong (with a typed near miss's diff), the answer, the explanation."""
    graded = checked.graded
    answer = kinds.with_image_marks(
        "".join(f"[{piece}]" if marked and asked.kind == "cloze" else piece for piece, marked in checked.answer))
    if asked.how == "choose":
        _print_pick(asked, checked, console, keys)
    elif asked.how == "type":
        if graded.correct:
            console.print(Text("✓ Right: ", style="bold green") + plain(graded.response))
        else:
            console.print(Text("✗ Wrong." if graded.response else "Not answered.", style="bold red"))
            if graded.diff is not None:
                _print_diff(console, *graded.diff)
        if not graded.correct and (graded.diff is None or len(asked.answers) > 1):
            print_text(console, keys.media.text(answer), "green", prefix="The answer: ")
        if checked.right_note:  # a choice card asked typed: the right option's own explanation
            print_text(console, keys.media.text(kinds.with_image_marks(checked.right_note)), "",
                       prefix="Why it is right: ")
    else:
        text = answer or "(no answer written yet: add one with 'srs key' or in the deck file)"
        print_text(console, keys.media.text(text), "green")
    if checked.explanation:
        print_text(console, keys.media.text(kinds.with_image_marks(checked.explanation)),
                   "bold italic" if checked.sure_wrong and asked.how == "choose" else "italic")


def _print_pick(asked, checked, console: Console, keys: Keys) -> None:
    """The verdict on an option picked, with the option's own explanation (and the right one's after a
    wrong pick); a wrong pick made sure is emphasised."""
    graded = checked.graded
    if graded.correct is None:
        console.print("The key of this card is not known yet, so this answer is not marked.", style="yellow")
    elif graded.correct:
        label = "✓ Right (unsure): " if checked.unsure else "✓ Right: "
        console.print(Text(label, style="bold green") + plain(graded.response))
    else:
        console.print(Text("✗ Wrong. The answer is: ", style="bold red") + plain(asked.card.spec.answer, "green"))
        if checked.sure_wrong:  # a confident error: worth a second look
            more = checked.explanation or checked.option_note or checked.right_note
            console.print(Text("! You were sure of ", style="bold reverse red") + plain(graded.response, "bold reverse red")
                          + Text(": read why below." if more else ".", style="bold reverse red"))
    if checked.option_note:
        style = "bold" if checked.sure_wrong else ""
        print_text(console, keys.media.text(kinds.with_image_marks(checked.option_note)), style,
                   prefix=("Why not: " if graded.correct is False else "Why: "))
    if checked.right_note:
        print_text(console, keys.media.text(kinds.with_image_marks(checked.right_note)), "", prefix="Why it is right: ")


def _print_diff(console: Console, given: list, wanted: list) -> None:
    """Anki's type-in comparison in text: each line, then `^` under the characters that differ
    (wrong in what was typed, missing from it in the answer), visible without colours too."""
    from rich.cells import cell_len

    for label, pieces, mark, style in (("You typed: ", given, "bad", "bold red"),
                                       ("Answer:    ", wanted, "missing", "bold green")):
        line = Text(label, style="dim")
        carets = " " * cell_len(label)
        for piece, tag in pieces:
            line.append(safe(piece), style=style if tag == mark else "")
            carets += ("^" if tag == mark else " ") * cell_len(safe(piece))
        console.print(line)
        if carets.strip():
            console.print(Text(carets.rstrip(), style=style))


_FENCE = re.compile(r"^(```|~~~)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^\1[ \t]*$\n?", re.M | re.S)


def print_text(console: Console, text: str, style: str = "", prefix: str = "") -> None:
    """Card text: paragraphs as literal text, fenced code blocks syntax-highlighted (rich), each
    line of a block kept as it is (indentation intact; a line longer than the terminal wraps
    under itself instead of being reflowed)."""
    at = 0
    first = True
    for block in _FENCE.finditer(text):
        before = text[at:block.start()].strip("\n")
        if before:
            console.print((Text(prefix) if first else Text()) + plain(before, style))
            first = False
        _print_code(console, block.group(3).rstrip("\n"), block.group(2))
        at = block.end()
    rest = text[at:].strip("\n") if at else text
    if rest or first:
        console.print((Text(prefix) if first else Text()) + plain(rest, style))


def _print_code(console: Console, code: str, language: str) -> None:
    from rich.syntax import Syntax

    from rich.cells import cell_len

    code = safe(code)
    widest = max((cell_len(line.expandtabs(4)) for line in code.split("\n")), default=0)
    console.print(Syntax(code, language or "text", theme="ansi_dark", background_color="default", tab_size=4,
                         word_wrap=True, padding=(0, 0, 0, 2), code_width=max(min(widest, console.width - 2), 1)))


def _choose(session: ReviewSession, asked, card: StoredCard, console: Console,
            keys: Keys) -> tuple[str, bool] | None:
    """A choice card's pick: (option chosen, unsure), or None when a command (undo, suspend) ended the card.

    Recall first (`asked.format` "recall_first"): the question alone; Enter shows the options, a letter
    picks directly (from a pipe: `b` then Enter still answers b). `?` (`kinds.UNSURE`, never an option
    letter) before the letter marks the pick unsure (a right unsure pick suggests Hard): on a terminal
    `?` then the letter, from a pipe `?b`."""
    options = asked.options
    letters = LETTERS[:len(options)]
    unsure = False
    revealed = asked.format != "recall_first"
    if revealed:
        _print_options(console, options)
    while True:
        mark = "unsure · " if unsure else ""
        if revealed:
            prompt = (f"{mark}Your answer [{letters[0]}-{letters[-1]}] ({kinds.UNSURE} unsure, "
                      "u undo, s suspend, q quit): ")
        else:
            prompt = f"{mark}Recall the answer, then Enter shows the options ({kinds.UNSURE} unsure, u, s, q): "
        key = keys.read(prompt).lower()
        if key.startswith(kinds.UNSURE):
            unsure, key = True, key[len(kinds.UNSURE):].strip()
            if not key:
                continue
        if _command(session, card, key, console):
            return None
        if len(key) == 1 and key in letters:
            return options[letters.index(key)], unsure
        if key == "" and not revealed:
            revealed = True
            _print_options(console, options)
            continue
        console.print(f"Press a letter from {letters[0]} to {letters[-1]}"
                      + ("." if revealed else ", or Enter to see the options."), style="yellow")


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


def run_keying(session: ReviewSession, console: Console, keys: Keys) -> None:
    """Walk through the cards srs cannot grade yet and record what the learner gives."""
    cards = session.unkeyed()
    if not cards:
        console.print("Every choice card has a key and every basic card an answer.")
        return
    done = 0
    try:
        for card in cards:
            asked = session.ask(card)
            console.rule(plain(card.deck), align="left")
            print_text(console, kinds.with_image_marks(asked.text), "bold")
            if asked.how != "choose":
                answer = keys.read_line("Type the answer (Enter to skip): ")
                if answer:
                    session.give_answer(card, answer)
                    done += 1
                continue
            options = kinds.of(card.spec).options(card.spec)
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
                session.give_answer(card, options[letters.index(key)])
                done += 1
    except Quit:
        pass
    left = len(session.unkeyed())
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

    def question(self, session: ReviewSession, card: StoredCard, text: str | None = None,
                 options: int | None = None) -> None:
        """Show the question side (`text`: what the card's kind asks) with its media."""
        self.stop()
        kind = kinds.of(card.spec)
        text = kind.asked(card.spec) if text is None else text
        options = len(kind.options(card.spec)) if options is None else options
        question, answer, self.autoplay = session.media(card)
        self.images = [f for f in question if f.image]
        self.sounds = [f for f in question if not f.image]
        self.pending = answer
        self.files = {f.name: f for f in question + answer}
        self.named = set()
        taken = set(LETTERS[:options])
        self.open_key = "o" if "o" not in taken else "O"
        self.play_key = "p" if "p" not in taken else "P"
        self.keys.actions = {}
        if question or answer:
            self.keys.actions = {self.open_key: self.open, self.play_key: self.play}
        self._print(kinds.with_image_marks(text), question, "bold")
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
        print_text(self.console, self.text(text), style)
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
