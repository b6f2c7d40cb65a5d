"""The store's JSON columns: its shortcut for lists of strings writes what json.dumps writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from srs.store import _json

_VALUES = st.one_of(
    st.lists(st.text()),  # tags, a note's fields and media (the shortcut)
    st.lists(st.one_of(st.text(), st.integers(), st.none())),  # not only strings: the encoder
    st.dictionaries(st.text(), st.text()),
    st.lists(st.lists(st.text())),
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_json_columns_are_what_json_dumps_writes(value):
    assert _json(value) == json.dumps(value, ensure_ascii=False)
    assert json.loads(_json(value)) == value


def test_none_stays_null_in_sql():
    assert _json(None) is None
    assert _json([]) == "[]"
    assert _json(['a "quoted"\n\u2028 é', "\x00"]) == json.dumps(['a "quoted"\n\u2028 é', "\x00"], ensure_ascii=False)
