"""The terminal front end of a review session: drawing cards with rich and reading keys.

On a real terminal one key press answers; when standard input is not a terminal each
prompt reads one line with the same keys, so a session can be scripted. Card text is
always shown literally: never read as rich markup, with control characters, escape
sequences and bidirectional overrides made visible instead of obeyed.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Callable, TextIO

from rich.console import Console
from rich.text import Text

from srs import kinds, scheduling
from srs.display import safe
from srs.model import SrsError, StoredCard
from srs.session import ReviewSession

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def plain(text: str | None, style: str = "") -> Text:
    """Card text as a rich Text: shown literally, never read as markup."""
    return Text(safe(text), style=style)


class Quit(Exception):
    pass


class Keys:
    """Reads answers: single key presses on a terminal, whole lines from a pipe.

    On a terminal the keys come from `TtyInput`: the terminal stays in cbreak mode for the whole
    session (no key typed ahead is ever dropped), escape sequences are read whole and come back as
    names (`KEY_NAMES`), and Ctrl-Z, SIGTERM and SIGHUP leave the terminal as it was."""

    def __init__(self, console: Console, stream: TextIO | None = None):
        self.console = console
        self.stream = stream or sys.stdin
        self.tty = self.stream.isatty()
        self.actions: dict[str, Callable[[], None]] = {}  # keys that act at any prompt (open, play), then ask again
        self.media: MediaView | None = None  # the media of the card on screen, during a review
        self.idle: Callable[[], None] | None = None  # called once when no key comes for IDLE_SECONDS
        self._input: TtyInput | None = None

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
            key = self._key(prompt)
            self.console.print(Text(key if len(key) == 1 and key.strip() else ""))
            return key
        line = self.stream.readline()
        self.console.print()
        if line == "":
            raise Quit()  # end of input: leave as with q
        line = line.strip()
        return {"\x7f": "<backspace>", "\x08": "<backspace>", "\x1b": "<esc>"}.get(line, line)

    def read_line(self, prompt: str) -> str:
        """A whole line of text (an answer to type), on a terminal as from a pipe."""
        self.console.print(Text(prompt, style="bold"), end="")
        if self.tty:
            self.console.file.flush()
            return self._tty().line(prompt).strip()
        line = self.stream.readline()
        if line == "":
            raise Quit()
        self.console.print()
        return line.strip()

    def _tty(self) -> TtyInput:
        if self._input is None:
            self._input = TtyInput(self.stream.fileno(), self.console)
            self._input.idle = lambda: self.idle() if self.idle is not None else None
        return self._input

    def _key(self, prompt: str = "") -> str:
        """One key press: a character, "" for Enter, or a name from KEY_NAMES. Keys that mean nothing
        at a prompt (arrows, function keys, a paste, the mouse) are read whole and passed over."""
        self.console.file.flush()
        tty_input = self._tty()
        tty_input.prompt = prompt
        while True:
            key = tty_input.key()
            if key in ("\r", "\n"):
                return ""
            if key == "\x03":
                raise KeyboardInterrupt
            if key == "\x04":
                raise Quit()
            if key in ("\x7f", "\x08"):
                return "<backspace>"
            if key == "\x1b":
                return "<esc>"
            if key == "\t" or (len(key) == 1 and (key < " " or "\x80" <= key < "\xa0")) or len(key) > 1:
                continue  # no command, no answer: an arrow never picks an option, F5 never rates
            return key

    def close(self) -> None:
        """Give the terminal back as it was."""
        if self._input is not None:
            self._input.close()
            self._input = None


# The names `TtyInput.key` gives escape sequences; every other sequence reads as "<other>".
KEY_NAMES = {"[A": "<up>", "[B": "<down>", "[C": "<right>", "[D": "<left>", "OA": "<up>", "OB": "<down>",
             "OC": "<right>", "OD": "<left>", "[H": "<home>", "[F": "<end>", "OH": "<home>", "OF": "<end>",
             "OP": "<f1>", "OQ": "<f2>", "OR": "<f3>", "OS": "<f4>", "[15~": "<f5>", "[17~": "<f6>",
             "[18~": "<f7>", "[19~": "<f8>", "[20~": "<f9>", "[21~": "<f10>", "[23~": "<f11>", "[24~": "<f12>",
             "[2~": "<insert>", "[3~": "<delete>", "[5~": "<pageup>", "[6~": "<pagedown>", "[Z": "<backtab>"}
ESCAPE_WAIT = 0.05  # seconds: an Escape with nothing after it within this is the Escape key itself
IDLE_SECONDS = 3  # a learner this long without a key is pausing: the session folds its WAL (checkpoint)
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"


class TtyInput:
    """Key presses from a terminal, none ever dropped.

    The terminal is put in cbreak mode once (without flushing what was typed ahead) and left there
    until `close`; bytes are read with os.read into a buffer of our own, decoded as UTF-8, and each
    escape sequence (CSI, SS3, X10 and SGR mouse reports, a bracketed paste) is read whole. Ctrl-Z
    gives the terminal back before stopping and takes it again on `fg` (the prompt is drawn again;
    nothing is answered); SIGTERM and SIGHUP give it back before ending."""

    def __init__(self, fd: int, console: Console | None = None):
        import termios

        self.fd = fd
        self.console = console
        self.buffer = b""
        self.prompt = ""
        self.idle: Callable[[], None] | None = None  # called when the learner pauses (see `key`)
        self.saved = termios.tcgetattr(fd)
        self.handlers: dict = {}
        self._raw()
        self._install()
        self._bracketed(True)

    # -- the terminal's mode ---------------------------------------------------------------

    def _raw(self) -> None:
        import termios

        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflags: cbreak, as tty.setcbreak, but applied at once:
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0  # TCSANOW keeps what was typed ahead
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)

    def _restore(self) -> None:
        import termios

        self._bracketed(False)
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
        except termios.error:  # the terminal is gone (SIGHUP)
            pass

    def _bracketed(self, on: bool) -> None:
        """Bracketed paste on or off: a paste then comes marked, and is never read as key presses."""
        try:
            if sys.stdout.isatty():
                os.write(sys.stdout.fileno(), b"\x1b[?2004h" if on else b"\x1b[?2004l")
        except (OSError, ValueError):
            pass

    def _install(self) -> None:
        import signal

        for sig, handler in ((signal.SIGTSTP, self._on_stop), (signal.SIGCONT, self._on_continue),
                             (signal.SIGTERM, self._on_end), (signal.SIGHUP, self._on_end)):
            try:
                self.handlers[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):  # not the main thread
                pass

    def close(self) -> None:
        import signal

        self._restore()
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)
        self.handlers = {}

    def _on_stop(self, sig, frame) -> None:
        import signal

        self._restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here; `fg` continues (SIGCONT) below
        signal.signal(signal.SIGTSTP, self._on_stop)

    def _on_continue(self, sig, frame) -> None:
        self._raw()
        self._bracketed(True)
        if self.console is not None and self.prompt:
            self.console.print()
            self.console.print(Text(self.prompt, style="bold"), end="")
            self.console.file.flush()

    def _on_end(self, sig, frame) -> None:
        self._restore()
        raise SystemExit(128 + sig)  # each answer is committed, or rolled back whole

    # -- reading ---------------------------------------------------------------------------

    def _fill(self, timeout: float | None = None) -> bool:
        """Read what the terminal has (waiting up to `timeout` seconds; None: until a byte comes)."""
        import select

        if timeout is not None:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return False
        data = os.read(self.fd, 4096)
        if not data:
            raise Quit()  # the terminal is gone
        self.buffer += data
        return True

    def _byte(self, at: int, timeout: float | None = ESCAPE_WAIT) -> int | None:
        while len(self.buffer) <= at:
            if not self._fill(timeout):
                return None
        return self.buffer[at]

    def key(self) -> str:
        """The next key: a character, a control character, or `<name>` for an escape sequence
        (KEY_NAMES; "<paste>" for a bracketed paste, "<mouse>", "<other>")."""
        if not self.buffer and not (self.idle is not None and self._fill(IDLE_SECONDS)):
            if self.idle is not None:  # the learner pauses: time for work that must not delay a key
                self.idle()
            self._fill()
        if self.buffer[0] == 0x1B:
            return self._escape()
        first = self.buffer[0]
        size = 1 if first < 0xC0 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4
        for at in range(1, size):
            if self._byte(at, timeout=0.5) is None:
                size = at
                break
        char, self.buffer = self.buffer[:size].decode("utf-8", "replace"), self.buffer[size:]
        return char[0]

    def _escape(self) -> str:
        second = self._byte(1)
        if second is None:
            self.buffer = self.buffer[1:]
            return "\x1b"  # Escape alone
        if second not in (ord("["), ord("O")):
            if second == 0x1B:  # Escape twice
                self.buffer = self.buffer[1:]
                return "\x1b"
            self.buffer = self.buffer[1:]
            self.key()  # Alt+key (Escape, then the key): read whole, and no command nor answer
            return "<alt>"
        if second == ord("O"):
            third = self._byte(2)
            end = 3 if third is not None else 2
            name = self.buffer[1:end].decode("latin-1")
            self.buffer = self.buffer[end:]
            return KEY_NAMES.get(name, "<other>")
        at = 2
        third = self._byte(2)
        if third == ord("M"):  # an X10 mouse report: three bytes follow
            for i in range(3, 6):
                self._byte(i)
            self.buffer = self.buffer[6:]
            return "<mouse>"
        while True:  # CSI: parameters and intermediates (0x20-0x3f), then a final byte (0x40-0x7e)
            byte = self._byte(at)
            if byte is None or not 0x20 <= byte <= 0x7E:  # cut short: what came of it is passed over
                self.buffer = self.buffer[at:]
                return "<other>"
            at += 1
            if byte >= 0x40:
                break
        sequence = self.buffer[:at]
        self.buffer = self.buffer[at:]
        if sequence == PASTE_START:
            self.pasted = self._paste()
            return "<paste>"
        if sequence.startswith(b"\x1b[<"):
            return "<mouse>"
        return KEY_NAMES.get(sequence[1:].decode("latin-1"), "<other>")

    def _paste(self) -> str:
        """The text of a bracketed paste, up to its end marker (read whole, however long)."""
        while PASTE_END not in self.buffer:
            if not self._fill(2.0):
                text, self.buffer = self.buffer, b""
                return text.decode("utf-8", "replace")
        text, self.buffer = self.buffer.split(PASTE_END, 1)
        return text.decode("utf-8", "replace")

    def line(self, prompt: str = "") -> str:
        """A line typed in cbreak mode, edited here: Backspace, Ctrl-U, a paste (its first line) taken
        as typed; escape sequences passed over; Enter ends it; Ctrl-D on an empty line quits."""
        from rich.cells import cell_len

        self.prompt = prompt
        typed: list[str] = []

        def echo(text: str) -> None:
            os.write(sys.stdout.fileno(), text.encode("utf-8", "replace"))

        while True:
            key = self.key()
            if key in ("\r", "\n"):
                echo("\r\n")
                return "".join(typed)
            if key == "\x03":
                raise KeyboardInterrupt
            if key == "\x04" and not typed:
                echo("\r\n")
                raise Quit()
            if key in ("\x7f", "\x08"):
                if typed:
                    gone = typed.pop()
                    echo("\b \b" * max(cell_len(gone), 1))
                continue
            if key == "\x15":  # Ctrl-U: the whole line
                echo("".join("\b \b" * max(cell_len(c), 1) for c in typed))
                typed.clear()
                continue
            if key == "<paste>":
                text = safe(self.pasted.replace("\r\n", "\n").split("\n")[0].replace("\r", ""))
                typed.extend(text)
                echo(text)
                continue
            if len(key) != 1 or key < " " or key == "\x7f" or "\x80" <= key < "\xa0":
                continue
            typed.append(key)
            echo(key)


def run_review(session: ReviewSession, console: Console, keys: Keys) -> None:
    """Drive a session until it ends or the learner quits; then print the summary."""
    keys.media = MediaView(console, keys)
    keys.idle = session.checkpoint  # the learner pauses: answers so far folded into the .db file
    counts = session.remaining()
    console.print(Text(f"To review: {counts['new']} new · {counts['learning']} learning · "
                       f"{counts['review']} review", style="bold"))
    if session.cram_left_out:  # `--cram`: the cards found that practice does not take
        left_out = session.cram_left_out
        console.print(f"{left_out:,} suspended or buried card{'s' if left_out != 1 else ''} left out, as Anki's "
                      "filtered decks leave them.", style="dim")
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
        keys.close()
        keys.media.stop()
        session.close()
    _print_summary(session, console)


def _header(session: ReviewSession, asked, console: Console, keys: Keys) -> None:
    counts = session.remaining()
    flagged = " · ⚑ flagged" if session.flagged(asked.card) else ""
    from srs.display import cut_deck, width

    counts_text = f"new {counts['new']} · learning {counts['learning']} · review {counts['review']} · "
    card_text = f" · #{asked.card.id}{flagged}"  # the id `srs card ID`, `srs suspend ID`... take: never cut off
    room = max(12, console.width - width(counts_text) - width(card_text) - 4)
    console.rule(Text(counts_text + cut_deck(safe(asked.card.deck), room) + card_text, style="dim"), align="left")
    keys.media.question(session, asked.card, asked.text, len(asked.options))


# -- commands ---------------------------------------------------------------------------------
#
# Letters (u s b f e q) are commands at every prompt where no option letter is expected: a basic
# card's reveal prompt, every rating prompt (and, alone on the line, a typed card's prompt). At a
# choice prompt, where any letter may be an option, the same commands have keys that can never be an
# option label (Anki's keys where it has them): they work at every other prompt too.

LETTER_COMMANDS = {"u": "undo", "s": "suspend", "b": "bury", "f": "flag", "e": "edit", "q": "quit"}
SYMBOL_COMMANDS = {"<backspace>": "undo", "@": "suspend", "-": "bury", "*": "flag", "#": "edit", "<esc>": "quit"}
LETTER_HELP = "u undo, s suspend, b bury, f flag, e edit, q quit"
SYMBOL_HELP = "⌫ undo, @ suspend, - bury, * flag, # edit, Esc quit"

DONE, STAY, AGAIN = "done", "stay", "again"  # after a command: the card is done with; ask again; show it anew


def _command_of(key: str, letters: bool = True) -> str | None:
    """The command a key gives at a prompt (`letters`: where no option letter is expected), or None."""
    return SYMBOL_COMMANDS.get(key) or (LETTER_COMMANDS.get(key.lower()) if letters and len(key) == 1 else None)


def _command(session: ReviewSession, card: StoredCard, command: str | None, console: Console,
             keys: Keys | None = None, letters: bool = True) -> str | None:
    """Carry out a command at any prompt: DONE (the card on screen is done with: answered, suspended,
    buried, or another card comes back), STAY (ask again at the same prompt), AGAIN (show the card
    again: it was edited); None when `command` is None. `letters`: the prompt takes command letters
    (False at a choice prompt, where only the symbols are commands): a message names the key that
    works at the prompt it is given at."""
    if command is None:
        return None
    if command == "quit":
        raise Quit()
    if command == "undo":
        undone = session.undo()
        if undone is None:
            console.print("Nothing to undo in this session.", style="yellow")
            return STAY
        if not undone.done:
            console.print(f"Cannot undo: card #{undone.card.id} was changed in another session since.",
                          style="yellow")
            return STAY
        console.print(Text(_UNDONE[undone.what].format(id=undone.card.id), style="yellow"))
        return STAY if undone.what == "flag" and undone.card.id == card.id else DONE
    if command == "suspend":
        session.suspend(card)
        console.print("Suspended: this card will not come up again until unsuspended (u undoes it).",
                      style="yellow")
        return DONE
    if command == "bury":
        if session.bury(card):
            console.print("Buried until tomorrow (u undoes it).", style="yellow")
            return DONE
        console.print("This card cannot be buried (it is suspended).", style="yellow")
        return STAY
    if command == "flag":
        again = "f" if letters else "*"  # the flag key of this prompt (see LETTER_HELP, SYMBOL_HELP)
        console.print(f"Flagged ⚑ ({again} again takes the flag off)." if session.flag(card) else "Flag taken off.",
                      style="yellow")
        return STAY
    if command == "edit":
        return _edit(session, card, console, keys)
    return None


_UNDONE = {"answer": "Undone: the answer to card #{id} is taken back.",
           "suspend": "Undone: card #{id} is no longer suspended.",
           "bury": "Undone: card #{id} is no longer buried.",
           "flag": "Undone: the flag of card #{id} is as it was."}


def _edit(session: ReviewSession, card: StoredCard, console: Console, keys: Keys | None) -> str:
    """Open the card's deck file in $VISUAL/$EDITOR at its line; once the editor closes, import that file
    again and show the card again (same id, history kept). A card from an Anki package or a CSV table
    is edited where it came from: say where."""
    import shlex
    import subprocess

    target = session.edit_target(card)
    if target.path is None:
        console.print(plain(target.message, "yellow"))  # a file name, shown literally
        return STAY
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    command = shlex.split(editor) + ([f"+{target.line}"] if target.line else []) + [str(target.path)]
    if keys is not None:
        keys.close()  # the editor gets the terminal as the learner's shell left it
    try:
        subprocess.run(command, check=False)
    except OSError as error:
        console.print(plain(f"Cannot run the editor {editor!r}: {error.strerror}; set VISUAL or EDITOR.", "yellow"))
        return STAY
    try:
        result = session.reimport(target.path)
    except SrsError as error:
        console.print(plain(f"Not imported again: {error}. Fix the file (e edits it again).", "yellow"))
        return STAY
    console.print(plain(f"Imported again: {result}", "dim"))
    return AGAIN


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
    """Show a card until it is answered or done with; an edit shows it again as it is now."""
    while True:
        outcome = _review_card(session, card, console, keys)
        if outcome != AGAIN:
            return
        card = session.reload(card)
        if card is None:
            console.print("The card is no longer in its deck file (retired).", style="yellow")
            return


def _review_card(session: ReviewSession, card: StoredCard, console: Console, keys: Keys) -> str:
    asked = session.ask(card)
    _header(session, asked, console, keys)
    started = time.monotonic()
    ask = {"choose": _choose, "type": _type}.get(asked.how, _reveal)
    while True:  # the question, then the rating; `u` at the rating prompt takes back a pick not yet rated
        outcome, response = ask(session, asked, console, keys)
        if outcome is not None:
            return outcome
        unsure = False
        if asked.how == "choose":
            response, unsure = response  # the option chosen, and whether the learner marked it unsure
        card = asked.card
        checked = session.check(asked, response, unsure)  # a key just given is the card's (asked.card) already
        _print_answer(asked, checked, console, keys)
        keys.media.answer()
        duration_ms = int((time.monotonic() - started) * 1000)
        shown = session.show(card)  # the states each rating gives, computed now; the answer applies them
        console.print(Text(rating_line(shown.texts, console.width), style="cyan"))
        picked = asked.how in ("choose", "type")
        outcome = _rate(session, card, shown, checked.suggested, duration_ms, response, picked, console, keys)
        if outcome != "back":
            return outcome
        console.print("Your answer is taken back; answer again.", style="yellow")


def rating_line(texts: dict[int, str], columns: int) -> str:
    """What each rating would give ("Again (1) 1m  ·  Hard (2) 6m  ·  ..."), in `columns`: a line that
    does not fit breaks between two buttons, never between a button and its interval."""
    from srs.display import width

    buttons = [f"{scheduling.RATINGS[r]} ({r}) {texts[r]}" for r in scheduling.RATINGS]
    lines = [buttons[0]]
    for button in buttons[1:]:
        if width(lines[-1] + "  ·  " + button) <= columns:
            lines[-1] += "  ·  " + button
        else:
            lines.append(button)
    return "\n".join(lines)


# Each question prompt returns (outcome, response): outcome DONE or AGAIN when a command ended the card
# (see `_command`), else None with the learner's response (the option chosen, the line typed; None for
# a card whose answer is only revealed).


def _choose(session: ReviewSession, asked, console: Console, keys: Keys) -> tuple[str | None, tuple | None]:
    """A choice card: (outcome, (option chosen, unsure)); outcome DONE or AGAIN when a command ended the card.

    A letter picks an option; commands are the keys no option label can be (SYMBOL_HELP). Recall first
    (`asked.format` "recall_first"): the question alone; Enter shows the options, a letter picks directly
    (from a pipe: `b` then Enter still answers b). `?` (`kinds.UNSURE`, never an option letter) before
    the letter marks the pick unsure (a right unsure pick suggests Hard): on a terminal `?` then the
    letter, from a pipe `?b`."""
    card, options = asked.card, asked.options
    letters = LETTERS[:len(options)]
    unsure = False
    revealed = asked.format != "recall_first"
    if revealed:
        _print_options(console, options)
    else:
        console.print("Recall the answer, then Enter shows the options.", style="dim")
    while True:
        mark = "unsure · " if unsure else ""
        if revealed:
            prompt = f"{mark}Your answer [{letters[0]}-{letters[-1]}] ({kinds.UNSURE} unsure, {SYMBOL_HELP}): "
        else:
            prompt = f"{mark}Enter: options ({kinds.UNSURE} unsure, {SYMBOL_HELP}): "
        key = keys.read(prompt)
        if key.startswith(kinds.UNSURE):
            unsure, key = True, key[len(kinds.UNSURE):].strip()
            if not key:
                continue
        outcome = _command(session, card, _command_of(key, letters=False), console, keys, letters=False)
        if outcome in (DONE, AGAIN):
            return outcome, None
        if outcome == STAY:
            continue
        key = key.lower()
        if len(key) == 1 and key in letters:
            response = options[letters.index(key)]
            break
        if key == "" and not revealed:
            revealed = True
            _print_options(console, options)
            continue
        hint = (f" ({key} is no command here, since it could be an option: {SYMBOL_HELP})"
                if key in LETTER_COMMANDS else "")
        console.print(f"Press a letter from {letters[0]} to {letters[-1]}"
                      + ("" if revealed else ", or Enter to see the options") + f".{hint}", style="yellow")
    if asked.needs_key:
        asked.card = _ask_key(session, card, options, letters, console, keys)
        asked.needs_key = False  # asked once, even when the pick is taken back
    return None, (response, unsure)


def _type(session: ReviewSession, asked, console: Console, keys: Keys) -> tuple[str | None, str | None]:
    """A typed card: a line; a command letter alone on it is that command (unless it is an answer)."""
    card = asked.card
    answers = {answer.strip().lower() for answer in asked.answers}
    if asked.format == "typed" and asked.kind == "choice":
        console.print("A choice card asked without its options: type the answer.", style="dim")
    while True:
        hint = "h hint, " if asked.hint else ""
        line = keys.read_line(f"Type the answer (Enter: do not know; {hint}alone on the line: {LETTER_HELP}): ")
        action = keys.actions.get(line) if line not in answers else None
        if action is not None:  # o / p alone: open the question's image, play its sound
            action()
            continue
        if line.lower() == "h" and asked.hint and "h" not in answers:  # an Anki card's {{hint:}}
            console.print(Text("Hint: ", style="yellow") + plain(asked.hint, "yellow"))
            continue
        command = _command_of(line) if line.lower() not in answers else None
        outcome = _command(session, card, command, console, keys)
        if outcome in (DONE, AGAIN):
            return outcome, None
        if outcome == STAY:
            continue
        return None, line


def _reveal(session: ReviewSession, asked, console: Console, keys: Keys) -> tuple[str | None, str | None]:
    """A basic or cloze card: Enter (or any key that is no command) shows the answer."""
    while True:
        hint = "h hint, " if asked.hint else ""
        key = keys.read(f"Enter shows the answer ({hint}{LETTER_HELP}): ")
        if key.lower() == "h" and asked.hint:  # the hint the card keeps hidden until asked for
            console.print(Text("Hint: ", style="yellow") + plain(asked.hint, "yellow"))
            continue
        outcome = _command(session, asked.card, _command_of(key), console, keys)
        if outcome in (DONE, AGAIN):
            return outcome, None
        if outcome is None:  # Enter, or any key that is no command (never a named key: see Keys)
            return None, None


def _rate(session, card, shown, suggested, duration_ms, response, picked, console, keys) -> str:
    """The rating prompt: 1-4, Enter (the suggested rating), space (Good, as in Anki), or a command.
    "back" when `u` takes back a pick (a chosen option, a typed line) not yet rated."""
    undo = "u takes back your answer, " if picked else "u undo, "
    while True:
        key = keys.read(f"Rate 1-4, Enter = {scheduling.RATINGS[suggested]}, space = Good "
                        f"({undo}{LETTER_HELP[len('u undo, '):]}): ")
        command = _command_of(key)
        if command == "undo" and picked:
            return "back"
        outcome = _command(session, card, command, console, keys)
        if outcome in (DONE, AGAIN):
            return outcome
        if outcome == STAY:
            continue
        if key == "":
            rating = suggested
        elif key == " ":
            rating = 3
        elif key in ("1", "2", "3", "4"):
            rating = int(key)
        else:
            console.print("Press 1-4, Enter or space.", style="yellow")
            continue
        if not session.answer(shown, rating, duration_ms, response):
            console.print("This card was answered in another session meanwhile; moving on.", style="yellow")
            return DONE
        while notice := session.take_notice():  # a race lost to another session (srs.session)
            console.print(notice, style="yellow")
        effects = session.effects
        if effects is not None and effects.leech:
            lapses = session.last_lapses()
            console.print(f"Leech: card #{card.id} has lapsed {lapses} time{'s' if lapses != 1 else ''}; tagged leech"
                          + (" and suspended (u undoes it)." if effects.suspended else "."), style="bold magenta")
        if effects is not None and effects.buried:
            count = len(effects.buried)
            console.print(f"{count} sibling card{'s' if count > 1 else ''} buried until tomorrow.", style="dim")
        return DONE


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
        if checked.sure_wrong:  # a confident error: worth a second look, at what is shown below (only that)
            below = (": read why below." if checked.option_note  # "Why not: ..."
                     else ": read why the answer is right below." if checked.right_note  # "Why it is right: ..."
                     else ": read the explanation below." if checked.explanation else ".")
            console.print(Text("! You were sure of ", style="bold reverse red") + plain(graded.response, "bold reverse red")
                          + Text(below, style="bold reverse red"))
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


def _ask_key(session, card, options, letters, console, keys) -> StoredCard:
    console.print("srs does not know the right option yet. Which is it? (asked once)",
                  style="yellow")
    while True:
        key = keys.read(f"Right option [{letters[0]}-{letters[-1]}], Enter if you do not know, Esc quit: ")
        if key == "":
            return card
        if key == "<esc>":
            raise Quit()
        key = key.lower()
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
    if summary.leeches:
        count = len(summary.leeches)
        console.print(f"{count} leech{'es' if count > 1 else ''} (tagged leech): "
                      + ", ".join(f"#{card_id}" for card_id in summary.leeches)
                      + "; see them with 'srs stats'.", style="magenta")
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
                key = keys.read(f"Right option [{letters[0]}-{letters[-1]}], Enter to skip, Esc to stop: ")
                if key == "<esc>":
                    raise Quit()
                key = key.lower()
                if key == "" or (len(key) == 1 and key in letters):
                    break
                console.print(f"Press a letter from {letters[0]} to {letters[-1]}, Enter to skip, or Esc.",
                              style="yellow")
            if key:
                session.give_answer(card, options[letters.index(key)])
                done += 1
    except Quit:
        pass
    finally:
        keys.close()
    left = len(session.unkeyed())
    console.print(f"{done} recorded; {left} card(s) still without a key or answer.")


# -- media: images and sounds of Anki notes -------------------------------------------------

_IMAGE_MARK = "[image: "  # then a name (no `]`, no newline) and `]`: see `_marks`
_SOUND_MARK = "[sound:"


def _marks(opening: str, text: str):
    r"""(start, end, name) of each `opening` + name + `]` in `text`, the name one or more characters other
    than `]` and a newline: what `re.finditer(re.escape(opening) + r"([^\]\n]+)\]", text)` finds, in linear
    time (the pattern scans to the end of the line from every opening that has no `]` on its line:
    minutes on `[sound:` repeated 20,000 times). The next `]` and newline are looked for once each and
    kept until an opening lies past them."""
    pos, close, newline, size = 0, -1, -1, len(opening)
    while (at := text.find(opening, pos)) >= 0:
        start = at + size
        if close < start:
            close = text.find("]", start)
            if close < 0:
                return  # no `]` left: nothing further can match
        if newline < start:
            newline = text.find("\n", start)
            if newline < 0:
                newline = len(text)
        if start < close < newline:
            yield at, close + 1, text[start:close]
            pos = close + 1
        else:
            pos = at + 1


def _replace_marks(opening: str, text: str, replace: Callable[[str, str], str]) -> str:
    """`text` with each mark `_marks` finds replaced by `replace(whole mark, name)`."""
    parts, done = [], 0
    for start, end, name in _marks(opening, text):
        parts += [text[done:start], replace(text[start:end], name)]
        done = end
    return "".join(parts) + text[done:] if parts else text


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
        def mark(whole: str, name: str) -> str:
            found = self.files.get(name.strip())
            if found is None:
                return whole
            self.named.add(found.name)
            return self._note(found)

        if not self.files or not text:
            return text or ""
        return _replace_marks(_SOUND_MARK, _replace_marks(_IMAGE_MARK, text, mark), mark)

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
