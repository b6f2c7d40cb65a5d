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
                           " ", "  ", "\n", "\t", "\r", "\f", "\xa0", "\x1d", "\x1e", "\x1f", "é"])


def _finish_folding_twice(collected: str) -> str:
    """`_finish` (collapsed text) as it was: whitespace folded, then decoded and folded again."""
    folded = text._SPACE_RUN.sub(" ", text._fold(collected))
    if "&" in folded:
        folded = text._SPACE_RUN.sub(" ", text._fold(html.unescape(folded)))
    return text._finish(folded.replace("&", "&amp;"), True)  # the rest of _finish as it is


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_decoding_before_folding_gives_the_same_text(collected):
    assert text._finish(collected, True) == _finish_folding_twice(collected)


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
