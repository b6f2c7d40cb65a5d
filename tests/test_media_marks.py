"""Review's media marks (`[sound:x]`, `[image: x]` in a card's text) are found in linear time, exactly
where the regular expressions they replace found them."""

from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from srs.media import MediaFile
from srs.terminal import _IMAGE_MARK, _SOUND_MARK, MediaView, _marks

OLD_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")  # the patterns review used before
OLD_IMAGE = re.compile(r"\[image: ([^\]\n]+)\]")
PIECES = ["[sound:", "[image: ", "]", "\n", "a", "b.mp3", "[", "sound", ":", " ", "]]", "[sound:]", "[image: ]"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_marks_are_those_of_the_patterns_they_replace(text):
    for opening, pattern in ((_SOUND_MARK, OLD_SOUND), (_IMAGE_MARK, OLD_IMAGE)):
        assert list(_marks(opening, text)) == [(m.start(), m.end(), m.group(1)) for m in pattern.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_review_text_replaces_what_the_patterns_replaced(text):
    view = MediaView(Console(), None)
    view.open_key, view.play_key = "o", "p"
    view.files = {"a": MediaFile("a", Path("a"), False), "b.mp3": MediaFile("b.mp3", None, False)}

    def mark(match):
        found = view.files.get(match.group(1).strip())
        return match.group(0) if found is None else view._note(found)

    assert view.text(text) == OLD_SOUND.sub(mark, OLD_IMAGE.sub(mark, text))


def test_review_text_of_unclosed_marks_is_quick():
    view = MediaView(Console(), None)
    view.open_key, view.play_key = "o", "p"
    view.files = {"x.mp3": MediaFile("x.mp3", Path("x.mp3"), False)}
    for text in ("[sound:" * 20_000, "[image: " * 20_000, "[sound:x.mp3] " + "[sound:a" * 20_000 + "\n]",
                 ("[sound:" * 5_000 + "\n") * 4 + "[sound:x.mp3]"):
        started = time.perf_counter()
        shown = view.text(text)
        assert time.perf_counter() - started < 2.0, text[:20]
        assert ("press p to play" in shown) == ("x.mp3]" in text)
