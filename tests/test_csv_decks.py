"""CSV / TSV decks read as Anki's text import reads them."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srs.csv_decks import read_table
from srs.model import DeckSpec, SrsError


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def qa(deck: DeckSpec):
    return [(card.question, card.answer) for card in deck.cards]


def test_plain_csv_two_columns(tmp_path):
    deck = read_table(write(tmp_path, "capitals.csv", "France,Paris\nSpain,Madrid\n"))
    assert deck.name == "capitals"
    assert deck.source == str(tmp_path / "capitals.csv")
    assert qa(deck) == [("France", "Paris"), ("Spain", "Madrid")]
    assert [card.line for card in deck.cards] == [1, 2]
    assert all(card.kind == "basic" and card.tags == [] for card in deck.cards)


def test_third_column_is_tags_as_in_anki(tmp_path):
    deck = read_table(write(tmp_path, "t.csv", "q1,a1,geo europe\nq2,a2,\n"))
    assert [card.tags for card in deck.cards] == [["geo", "europe"], []]


def test_tsv_by_extension_and_commas_inside(tmp_path):
    deck = read_table(write(tmp_path, "deck.tsv", "What is 1,000 + 1?\t1,001\ttag\n"))
    assert qa(deck) == [("What is 1,000 + 1?", "1,001")]
    assert deck.cards[0].tags == ["tag"]
    assert deck.report["separator"] == "\t"


def test_semicolon_sniffed(tmp_path):
    deck = read_table(write(tmp_path, "eu.csv", "Time: 5pm, Monday;17:00 Mon\nTea;Thé\n"))
    assert qa(deck) == [("Time: 5pm, Monday", "17:00 Mon"), ("Tea", "Thé")]


def test_quoted_fields_with_newlines_quotes_and_separators(tmp_path):
    content = 'question,answer\n"Line one\nline two","He said ""hi"", then left"\nplain,"a,b"\n'
    deck = read_table(write(tmp_path, "q.csv", content))
    # the first row reads like column names: a header, not a card
    assert qa(deck) == [("Line one\nline two", 'He said "hi", then left'), ("plain", "a,b")]
    assert [card.line for card in deck.cards] == [2, 4]


def test_utf8_bom_and_crlf(tmp_path):
    deck = read_table(write(tmp_path, "bom.csv", "\ufeffcafé,bar\r\nnaïve,x\r\n".encode("utf-8")))
    assert qa(deck) == [("café", "bar"), ("naïve", "x")]


def test_anki_header_lines(tmp_path):
    content = (
        "#separator:Pipe\n"
        "#html:true\n"
        "#tags:imported vocab\n"
        "#deck:Spanish::Food\n"
        "#tags column:3\n"
        "# a comment line\n"
        "<b>el pan</b>|bread<br>loaf|noun\n"
        "# another comment between rows\n"
        "la leche|milk &amp; cream|noun drink\n"
    )
    deck = read_table(write(tmp_path, "whatever.txt.csv", content))
    assert deck.name == "Spanish::Food"
    assert qa(deck) == [("el pan", "bread\nloaf"), ("la leche", "milk & cream")]
    assert [card.tags for card in deck.cards] == [["imported", "vocab", "noun"], ["imported", "vocab", "noun", "drink"]]
    assert [card.line for card in deck.cards] == [7, 9]
    assert deck.report["html"] is True


def test_separator_given_as_character_and_html_false(tmp_path):
    content = "#separator:|\n#html:false\n<b>x</b>|a &amp; b\n"
    deck = read_table(write(tmp_path, "raw.csv", content))
    assert qa(deck) == [("<b>x</b>", "a &amp; b")]  # not HTML: taken literally


def test_html_detected_without_header(tmp_path):
    deck = read_table(write(tmp_path, "h.csv", "a<br>b,<i>c</i>\n"))
    assert qa(deck) == [("a\nb", "c")]


def test_columns_header_maps_by_name_and_guid_column(tmp_path):
    content = "#separator:tab\n#columns:Tags\tBack\tFront\tGuid\n#guid column:4\nt1 t2\tanswer\tquestion\tabc123\n"
    deck = read_table(write(tmp_path, "cols.tsv", content))
    card = deck.cards[0]
    assert (card.question, card.answer, card.tags, card.source_id) == ("question", "answer", ["t1", "t2"], "abc123")


def test_legacy_tags_first_line(tmp_path):
    deck = read_table(write(tmp_path, "legacy.csv", "tags:old style\nq,a\n"))
    assert qa(deck) == [("q", "a")]
    assert deck.cards[0].tags == ["old", "style"]


def test_empty_answer_is_allowed_blank_lines_skipped(tmp_path):
    deck = read_table(write(tmp_path, "e.csv", "q1,\n\n   \nq2,a2\n"))
    assert qa(deck) == [("q1", ""), ("q2", "a2")]
    assert [card.line for card in deck.cards] == [1, 4]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("q1,a1\nonly one column\n", 2, "column"),
        ("q1,a1\n,answer without question\n", 2, "empty question"),
        ('q1,a1\n"  ",x\n', 2, "empty question"),
        ("#separator:Hash\nq,a\n", 1, "separator"),
        ("#tags column:x\nq,a\n", 1, "column number"),
    ],
)
def test_errors_name_file_and_line(tmp_path, content, line, words):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(SrsError) as info:
        read_table(path)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert words in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(info.value)


def test_not_utf8(tmp_path):
    path = write(tmp_path, "latin1.csv", "a,b\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(SrsError) as info:
        read_table(path)
    assert info.value.line == 2
    assert "UTF-8" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(SrsError):
        read_table(tmp_path / "nope.csv")


def test_matches_what_anki_imports(tmp_path):
    """The same file through Anki's own CSV import gives the same fronts, backs and tags."""
    pytest.importorskip("anki")
    from anki.collection import Collection, ImportCsvRequest

    content = "#separator:Comma\n#html:false\nFront one,Back one,tag1\n\"Multi\nline\",\"with, comma\",tag2 tag3\n"
    path = write(tmp_path, "anki.csv", content)
    col = Collection(str(tmp_path / "col.anki2"))
    try:
        metadata = col.get_csv_metadata(str(path), None)
        col.import_csv(ImportCsvRequest(path=str(path), metadata=metadata))
        notes = [col.get_note(nid) for nid in sorted(col.find_notes(""))]
        theirs = [(n.fields[0].replace("<br>", "\n"), n.fields[1].replace("<br>", "\n"), n.tags) for n in notes]
    finally:
        col.close()
    ours = [(c.question, c.answer, c.tags) for c in read_table(path).cards]
    assert ours == theirs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), st.text(alphabet=string.printable + "é\ufeff\"#,;\t|", max_size=400)))
def test_fuzz_only_decks_or_srs_errors(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    try:
        deck = read_table(path)
    except SrsError as err:
        assert err.path == str(path)
        assert "\n" not in str(err)
        return
    assert isinstance(deck, DeckSpec)
    for card in deck.cards:
        assert card.question.strip()
        assert isinstance(card.answer, str)
        assert isinstance(card.line, int) and card.line >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet=string.ascii_letters + " ,;\"\n", min_size=1, max_size=20).filter(lambda s: s.strip()),
            st.text(alphabet=string.ascii_letters + " ,;\"\n", max_size=20),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fuzz_written_csv_reads_back(tmp_path, rows):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for question, answer in rows:
        writer.writerow([question, answer])
    path = tmp_path / "rows.tsv"  # a tab never appears: the file still splits on tabs only
    path.write_text("#separator:comma\n" + buffer.getvalue(), encoding="utf-8")
    deck = read_table(path)
    expected = [(q.strip(), a.strip()) for q, a in rows]
    if [q.lower() for q in rows[0][:1]] in (["question"], ["front"]):
        return
    assert qa(deck) == expected
