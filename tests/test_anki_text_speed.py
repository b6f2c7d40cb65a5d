"""Guards for the speed-ups of `srs.anki.text`: each must give the same text as the slower
code it replaced (the real-package tests compare every card with Anki; these reach the
corners real packages may not have)."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from srs.anki import text
from srs.anki.text import html_to_text, learner_text

# Pieces that make entities (some without their `;`, some spread over a \r), whitespace runs,
# non-breaking spaces and the marks the tokenizer leaves for line breaks and blocks.
_PIECES = st.sampled_from(["&", "amp", "lt", "not", "nbsp", "Tab", "NewLine", "#10", "#x27", "#13", "#32", ";", "x",
                           " ", "  ", "\n", "\t", "\r", "\f", "\xa0", "\x1d", "\x1e", "\x1f", "é", "\u3000",
                           "\x85", "\v", "ab c"])


def _finish_as_it_was(collected: str) -> str:
    """`_finish` of collapsed text before the speed-ups (whitespace folded, then decoded and
    folded again; no shortcut for plain text)."""
    B, BR, TAB = text._BLOCK, text._BREAK, text._TAB
    out = text._SPACE_RUN.sub(" ", text._fold(collected))
    if "&" in out:
        out = text._SPACE_RUN.sub(" ", text._fold(html.unescape(out)))
    if B in out:
        out = text._BLOCK_RUNS.sub(B, out.replace(" " + B, B).replace(B + " ", B))
        out = out.replace(BR + B, BR)
        if out.startswith(B):
            out = out[1:]
        out = out.replace(B, "\n")
    out = out.replace(BR, "\n").replace(TAB, "\t")
    if "\n" in out:
        out = out.replace(" \n", "\n").replace("\n ", "\n")
    out = text._NEWLINES.sub("\n\n", out).strip(" \n")
    return out.replace("\xa0", " ").rstrip()


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_finishing_gives_the_text_it_gave(collected):
    assert text._finish(collected, True) == _finish_as_it_was(collected)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_finishing_any_text_gives_the_text_it_gave(collected):
    assert text._finish(collected, True) == _finish_as_it_was(collected)


_ATTRIBUTE_PIECES = st.sampled_from([" ", "class", "CLASS", "style", "alt", "title", "src", "=", '"', "'", "hint",
                                     "display:none", "x", "&amp;", "onclick", "<", ">"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_ATTRIBUTE_PIECES, max_size=30).map("".join))
def test_attributes_asked_for_are_those_of_the_whole_tag(attributes):
    every = {}
    for match in text._ATTRIBUTE.finditer(attributes):  # all of a tag's attributes, the first of a name winning
        value = match.group(2) if match.group(2) is not None else match.group(3)
        every.setdefault(match.group(1).lower(), html.unescape(value if value is not None else match.group(4) or ""))
    for names in (("class",), ("class", "style"), ("alt", "title", "src")):
        assert text._attributes(attributes, names) == {name: every[name] for name in names if name in every}


def test_a_hint_link_reads_its_class_wherever_it_stands():
    link = '<a onclick="x" href="#" class=hint>Field</a><div class="hint" style="display: none">secret</div>'
    assert learner_text(link, question=True) == ("[hint: press h]", ["secret"])
    assert html_to_text('<img title="t" src="s.png" alt="a">') == "[image: a]"
