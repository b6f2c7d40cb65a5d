"""`srs.terminal.TtyInput` on a pseudo-terminal: escape sequences read whole, keys never dropped or merged,
whatever bytes come and however they are split (a property test), and the terminal's mode given back."""

from __future__ import annotations

import os
import pty
import termios

from hypothesis import given, settings, strategies as st

from srs.terminal import TtyInput

# (bytes a terminal sends, the key TtyInput gives for it)
SEQUENCES = [
    (b"\x1b[A", "<up>"), (b"\x1b[B", "<down>"), (b"\x1bOC", "<right>"), (b"\x1b[15~", "<f5>"),
    (b"\x1bOP", "<f1>"), (b"\x1b[24~", "<f12>"), (b"\x1b[1;5A", "<other>"), (b"\x1b[<0;12;7M", "<mouse>"),
    (b"\x1b[<0;12;7m", "<mouse>"), (b"\x1b[M !!", "<mouse>"), (b"\x1b[200~pasted\r3\r\x1b[201~", "<paste>"),
    (b"\x1bb", "<alt>"), (b"\x7f", "\x7f"),  # (the terminal's ICRNL makes Enter "\n") (b"\r", "\n"), (b" ", " "), (b"\xc3\xa9", "é"), (b"\xe2\x82\xac", "€"),
    (b"\xf0\x9f\x98\x80", "😀"),
] + [(bytes([c]), chr(c)) for c in b"abqsu1234@-*#"]


def _reader():
    master, slave = pty.openpty()
    return master, slave, TtyInput(slave)


def test_each_sequence_is_one_key_and_a_lone_escape_is_escape():
    master, slave, reader = _reader()
    try:
        for data, key in SEQUENCES:
            os.write(master, data)
            assert reader.key() == key, data
        os.write(master, b"\x1b")  # Escape alone: nothing follows within ESCAPE_WAIT
        assert reader.key() == "\x1b"
        os.write(master, b"\x1b[200~line one\nline two\x1b[201~")
        assert reader.key() == "<paste>" and reader.pasted == "line one\nline two"
    finally:
        reader.close()
        os.close(master)
        os.close(slave)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SEQUENCES), max_size=40), st.data())
def test_keys_come_back_in_order_however_the_bytes_are_split(keys, data):
    """Whatever the keys and however the terminal splits its bytes into writes (5 ms apart or all at
    once), each key comes back once, in order: none dropped, none merged into its neighbour."""
    stream = b"".join(sequence for sequence, _ in keys)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=6)))
    master, slave, reader = _reader()
    try:
        at = 0
        for cut in cuts + [len(stream)]:  # (a cut inside an escape sequence comes faster than ESCAPE_WAIT)
            os.write(master, stream[at:cut])
            at = cut
        assert [reader.key() for _ in keys] == [key for _, key in keys]
    finally:
        reader.close()
        os.close(master)
        os.close(slave)


def test_the_terminal_mode_is_given_back_and_typed_ahead_keys_survive():
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    os.write(master, b"ab")  # typed before the session starts
    reader = TtyInput(slave)
    mode = termios.tcgetattr(slave)
    assert not mode[3] & termios.ECHO and not mode[3] & termios.ICANON
    assert reader.key() == "a" and reader.key() == "b"
    reader.close()
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


def test_a_line_is_edited_in_place():
    master, slave, reader = _reader()
    try:
        os.write(master, b"colr\x7four\x1b[D\x1b[200~ed\npaste\x1b[201~\r")
        assert reader.line() == "coloured"  # Backspace, an arrow passed over, a paste's first line
    finally:
        reader.close()
        os.close(master)
        os.close(slave)
