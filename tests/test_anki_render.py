"""Anki templates as Anki renders them: notes built with the official `anki` library,
exported, read by srs, and every card's text compared with the library's own
`card.question()` / `card.answer()` reduced to text by the same function.

The comparison (`compare`) is also run over real packages when they are present
(`SRS_REAL_PACKAGES`, else ../shared/anki-packages: tests/anki/REAL_PACKAGES.md), and prints a match rate per package.
The `anki` package (AGPL) is used here only, never by srs itself.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

anki = pytest.importorskip("anki")
from anki.collection import (  # noqa: E402
    Collection,
    ExportAnkiPackageOptions,
    ImportAnkiPackageOptions,
    ImportAnkiPackageRequest,
)

from conftest import real_packages_dir  # noqa: E402
from srs.anki.reader import read_apkg  # noqa: E402
from srs.anki.render import (  # noqa: E402
    TemplateError, furigana_filter, kana_filter, kanji_filter, parse_clozes, parse_template,
)
from srs.anki.text import (  # noqa: E402
    HINT_PROMPT, after_answer_rule, choices_from_html, html_to_text, learner_text, strip_html,
)

_AV = re.compile(r"\[anki:play:[qa]:\d+\]|\[sound:[^\]]*\]|\[anki:tts[^\]]*\].*?\[/anki:tts\]", re.DOTALL)
_TYPE = re.compile(r"\[\[type:(cloze:|nc:)?([^\]]+)\]\]")


def _av(text: str) -> str:
    """Audio as one marker: Anki's question() shows `[anki:play:q:0]` where the field has `[sound:x.mp3]`."""
    return _AV.sub("[av]", text)


def _typed(col, card, card_html: str) -> dict[str, str]:
    """The expected answer of each type-in box, as Anki's reviewer takes it from the note."""
    note = card.note()
    out = {}
    for match in _TYPE.finditer(card_html):
        name = match.group(2)
        if name in note.keys():
            value = note[name]
            if match.group(1) == "cloze:":
                value = col.extract_cloze_for_typing(value, card.ord + 1)
            out[name] = html_to_text(value)
    return out


_LATEX_IMAGE = re.compile(r'<img class=latex alt="([^"]*)" src="[^"]*">')
_DISPLAYMATH = re.compile(r"\\begin\{displaymath\}(.*?)\\end\{displaymath\}", re.DOTALL)
LATEX_OFF = "LaTeX image generation is disabled in the preferences."


def _latex(text: str) -> str:
    """Anki's LaTeX images as the source they were made from (their alt text), as srs shows LaTeX;
    the library's notice that it makes no images dropped."""
    if "class=latex" not in text:
        return text
    text = _LATEX_IMAGE.sub(lambda m: html.escape(_DISPLAYMATH.sub(r"$$\1$$", html.unescape(m.group(1))),
                                                  quote=False).replace("\n", "<br>").replace("[", "&#91;"), text)
    return text.replace(LATEX_OFF, "")


def anki_view(col, card) -> tuple[str, str, str | None]:
    """What srs should show of one card: question, answer and hint, from Anki's own render."""
    question_html = _latex(_av(card.question()))
    answer_html = _latex(_av(card.answer()))
    typed = _typed(col, card, question_html)
    question, hints = learner_text(question_html, question=True, typed=typed)
    answer, _ = learner_text(after_answer_rule(answer_html), question=False, typed=typed)
    return question, answer, "\n".join(hints) or None


def source_id(card) -> str:
    guid = card.note().guid
    return guid if card.ord == 0 else f"{guid}:{card.ord}"


def compare(col, decks) -> tuple[int, int, Counter, list]:
    """Cards of the Anki collection `col` against srs's reading of the same package: the
    number that match, the number both skip (Anki shows a template error or "empty card"
    in its place, srs has nothing to ask), mismatches by class, and a few examples of each."""
    specs = {spec.source_id: spec for deck in decks for spec in deck.cards}
    matched, classes, examples = 0, Counter(), []
    agreed = 0
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        question, answer, hint = anki_view(col, card)
        spec = specs.get(source_id(card))
        if spec is None:
            if "docs.ankiweb.net/templates/errors" in card.question():
                agreed += 1  # Anki shows an error or "empty card" in its place; srs has nothing to ask either
                continue
            kind = "skipped"
        elif spec.options is not None:
            kind = "ours (choice card)"
            if spec.question == question.split("\n")[0]:
                matched += 1
                continue
        else:
            diffs = []
            if _av(spec.question) != question:
                diffs.append("question")
            if _av(spec.answer or "") != answer:
                diffs.append("answer")
            if (spec.hint or None) != hint:
                diffs.append("hint")
            if not diffs:
                matched += 1
                continue
            kind = "+".join(diffs)
        classes[kind] += 1
        if sum(1 for e in examples if e[0] == kind) < 3:
            examples.append((kind, source_id(card), question[:200], answer[:200],
                             None if spec is None else (spec.question[:200], (spec.answer or "")[:200])))
    return matched, agreed, classes, examples


_STYLE = re.compile(r"\A<style>.*?</style>", re.DOTALL)
_LATEX_SOURCE = re.compile(r"\[latex\].+?\[/latex\]|\[\$\].+?\[/\$\]|\[\$\$\].+?\[/\$\$\]", re.DOTALL | re.IGNORECASE)
_HINT_ID = re.compile(r"hint[0-9a-f]{16}")  # Anki hashes with blake3, which Python lacks


def rendered_html(path: Path, monkeypatch) -> dict[str, tuple[str, str]]:
    """Card id -> (question HTML, answer HTML) as srs's renderer makes them for the package."""
    import srs.anki.reader as reader

    out = {}
    render, spec = reader.render_card, reader._Renderer.spec
    card: list[str] = []  # the id of the card being read (special fields are given only to templates naming them)

    def spec_spy(self, notetype, nid, fields, ord_, cid, *args):
        card[:] = [str(cid)]
        return spec(self, notetype, nid, fields, ord_, cid, *args)

    def spy(qnodes, anodes, note, ordinal, **kwargs):
        result = render(qnodes, anodes, note, ordinal, **kwargs)
        out[card[0]] = result
        return result

    with monkeypatch.context() as patch:
        patch.setattr(reader, "render_card", spy)
        patch.setattr(reader._Renderer, "spec", spec_spy)
        read_apkg(path)
    return out


def html_differences(col, rendered: dict[str, tuple[str, str]]) -> list:
    """Cards whose HTML from srs's renderer is not the HTML of Anki's question()/answer() (its
    <style>, hint ids, audio tags and LaTeX images aside)."""

    def same_form(text: str) -> str:
        text = _LATEX_SOURCE.sub("[latex]", _LATEX_IMAGE.sub("[latex]", text)).replace(LATEX_OFF, "")
        return _av(_HINT_ID.sub("hint", _STYLE.sub("", text)))

    out = []
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        ours = rendered.get(str(cid))
        if ours is not None and (same_form(ours[0]), same_form(ours[1])) != (same_form(card.question()),
                                                                             same_form(card.answer())):
            out.append((source_id(card), same_form(ours[0])[:300], same_form(card.question())[:300]))
    return out


# -- a collection of notes covering the template language --------------------------------

FRONT = """<div class=front>{{Front}}</div>
{{#Reading}}<div>{{kanji:Reading}}</div>{{/Reading}}
{{^Reading}}<div>no reading</div>{{/Reading}}
{{#Extra}}{{#Hint}}<i>extra and hint</i>{{/Hint}}{{^Hint}}<i>extra, no hint</i>{{/Hint}}{{/Extra}}
{{hint:Hint}}
<!-- a comment with {{Front}} in it -->
{{text:Front}} · {{myfilter:Front}} · {{ Tags }} · {{Deck}} · {{Subdeck}} · {{Card}} · {{Type}}
{{#Code}}<pre>{{Code}}</pre>{{/Code}}"""
BACK = """{{FrontSide}}
<hr id=answer>
{{Back}}
{{furigana:Reading}} / {{kana:Reading}}
{{#Extra}}<div class=extra>{{Extra}}</div>{{/Extra}}
{{hint:Hint}}
{{NbspCode}}"""
TYPED_FRONT = "{{Front}}\n\n{{type:Back}}"
TYPED_BACK = "{{Front}}<hr id=answer>{{type:Back}}"
CLOZE_FRONT = "{{cloze:Text}}\n{{type:cloze:Text}}\n<div class=only>{{cloze-only:Text}}</div>"
CLOZE_BACK = "{{cloze:Text}}<br>{{Back Extra}}\n{{type:cloze:Text}}"

FIELDS = ["Front", "Back", "Reading", "Extra", "Hint", "Code", "NbspCode"]
NOTES = [
    ["Capital of <b>France</b>?", "Paris<br>(since 508)", "", "", "", "", ""],
    ["私", "I", "私[わたし]は 学生[がくせい]です。", "polite", "watashi", "", ""],
    ["Loop", "for", "", "x", "", "for i in range(3):\n    print(i)\n        nested",
     "&nbsp;&nbsp;&nbsp;&nbsp;return&nbsp;x<br>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;deeper"],
    ["Only a hint", "yes", "", "", "<b>think</b> of <i>it</i>", "", ""],
    ["Sound [sound:a.mp3] and <img src=\"a.png\">", "x &amp; y &lt;z&gt;", "漢字[かんじ][sound:b.mp3]", "", "", "", ""],
]
CLOZES = [
    ("{{c1::Paris}} is the capital of {{c2::France::country}}.", "Since 508."),
    ("{{c1::outer {{c2::inner::in}} text}} and {{c3,4::both}} {{c1::again}}", ""),
    ("<b>{{c1::bold}}</b> \\(x^{{c2::<i>2</i>}}\\) {{c1::bold}}", "extra<br>lines"),
]


def _notetype(col, name, fields, templates, cloze=False):
    models = col.models
    model = models.new(name)
    if cloze:
        model["type"] = 1
    for field in fields:
        models.add_field(model, models.new_field(field))
    for template_name, qfmt, afmt in templates:
        template = models.new_template(template_name)
        template["qfmt"], template["afmt"] = qfmt, afmt
        models.add_template(model, template)
    models.add(model)
    return models.by_name(name)


def build_collection(col):
    deck = col.decks.id("Render::Sub deck")
    rich = _notetype(col, "Rich", FIELDS, [("Forward", FRONT, BACK), ("Typed", TYPED_FRONT, TYPED_BACK)])
    for index, values in enumerate(NOTES):
        note = col.new_note(rich)
        for name, value in zip(FIELDS, values):
            note[name] = value
        note.tags = ["t1", f"n{index}"]
        col.add_note(note, deck)
    cloze = _notetype(col, "Cloze plus", ["Text", "Back Extra"], [("Cloze", CLOZE_FRONT, CLOZE_BACK)], cloze=True)
    for text, extra in CLOZES:
        note = col.new_note(cloze)
        note["Text"], note["Back Extra"] = text, extra
        col.add_note(note, deck)
    for name, values in [("Basic", ["Q <u>one</u>", "A one"]),
                         ("Basic (and reversed card)", ["chat", "cat&nbsp;(animal)"]),
                         ("Basic (type in the answer)", ["Type 42", "<b>42</b>"]),
                         ("Cloze", ["{{c1::a::first}} {{c2::b}}", "back extra"])]:
        note = col.new_note(col.models.by_name(name))
        for field, value in zip(note.keys(), values):
            note[field] = value
        col.add_note(note, col.decks.id("Render::Stock"))


@pytest.fixture
def col(tmp_path):
    folder = tmp_path / "anki"
    folder.mkdir()
    collection = Collection(str(folder / "collection.anki2"))
    yield collection
    collection.close()


@pytest.mark.parametrize("legacy", [False, True])
def test_every_card_reads_as_anki_shows_it(tmp_path, col, legacy, monkeypatch):
    build_collection(col)
    path = tmp_path / "render.apkg"
    col.export_anki_package(out_path=str(path), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=False, with_deck_configs=False, with_media=False, legacy=legacy))
    decks = read_apkg(path)
    matched, agreed, classes, examples = compare(col, decks)
    assert not classes and not agreed, examples
    assert html_differences(col, rendered_html(path, monkeypatch)) == []
    assert matched == len(col.find_cards("")) == sum(len(d.cards) for d in decks) == 2 * len(NOTES) + 8 + 6


def test_what_the_learner_sees(tmp_path, col):
    build_collection(col)
    path = tmp_path / "render.apkg"
    col.export_anki_package(out_path=str(path), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=False, with_deck_configs=False, with_media=False, legacy=False))
    specs = {spec.source_id: spec for d in read_apkg(path) for spec in d.cards}
    cards = {}
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        cards[(html_to_text(card.note().fields[0]), card.ord)] = specs[source_id(card)]
    japanese = cards[("私", 0)]
    assert "私は学生です。" in japanese.question and "わたし" not in japanese.question  # kanji: no reading
    assert "私(わたし)は学生(がくせい)です。 / わたしはがくせいです。" in japanese.answer  # furigana, kana
    assert HINT_PROMPT in japanese.question and "watashi" not in japanese.question
    assert japanese.hint == "watashi" and "watashi" in japanese.answer
    hinted = cards[("Only a hint", 0)]
    assert hinted.hint == "think of it"
    code = cards[("Loop", 0)]
    assert "for i in range(3):\n    print(i)\n        nested" in code.question
    assert code.answer.endswith("    return x\n        deeper")
    typed = cards[("Loop", 1)]
    assert typed.typed_answer == "for" and typed.answer == "for" and typed.question == "Loop"
    assert "Loop · Loop · n2 t1 · Render::Sub deck · Sub deck · Forward · Rich" in code.question
    cloze = next(s for s in specs.values() if "[in]" in s.question)
    assert cloze.question.startswith("outer [in] text and both again")
    assert cloze.typed_answer == "inner"


def test_html_to_text_keeps_indentation():
    assert html_to_text("<pre>def f():\n    return 1\n</pre>after") == "def f():\n    return 1\nafter"
    assert html_to_text("&nbsp;&nbsp;x<br>&nbsp;&nbsp;&nbsp;&nbsp;y") == "  x\n    y"
    assert html_to_text("a  <b> b </b>\n c") == "a b c"
    assert html_to_text("<div style='display: none'>secret</div>shown") == "shown"
    assert html_to_text("<ruby>漢<rt>かん</rt></ruby>字", ruby=False) == "漢字"
    assert html_to_text("<ruby>漢<rp>(</rp><rt>かん</rt><rp>)</rp></ruby>字") == "漢(かん)字"


def test_filters_match_anki_examples():
    # the examples of rslib/src/template_filters.rs and cloze.rs tests
    text = "test first[second] third[fourth]"
    assert kana_filter(text) == "testsecondfourth"
    assert kanji_filter(text) == "testfirstthird"
    assert furigana_filter("first[second]") == "<ruby><rb>first</rb><rt>second</rt></ruby>"
    assert furigana_filter("a[sound:x.mp3]") == "a[sound:x.mp3]"
    assert strip_html("a<br>b &amp; <style>x</style>c<!-- z -->d<script>y</script>") == "ab & cd"
    nodes = parse_clozes("{{c1::a}} }} {{c2::unclosed")  # Anki drops a deletion never closed
    assert [n if isinstance(n, str) else n.clozed_text() for n in nodes] == ["a", " ", "}}", " "]


@pytest.mark.parametrize("unit", ["<a ", "<hr ", "<a x=\"", "<!--", "<style>", "<", "{{c1::", "a[", "\\(", "&#",
                                  "[[type:", "<li>", "[$]", "a[\n]", "<div style=display:none class=hint>x",
                                  "<ruby>a<rt>", "{{#a}}", "{{"])
def test_linear_time_on_hostile_html(unit):
    hostile = unit * 20_000
    started = time.perf_counter()
    html_to_text(hostile)
    learner_text(hostile, question=True)
    learner_text(hostile, question=False)
    strip_html(hostile)
    furigana_filter(hostile)
    parse_clozes(hostile)
    choices_from_html(hostile)
    try:
        parse_template(hostile)
    except TemplateError:
        pass  # nested too deep, or unbalanced: Anki shows an error for such a template too
    assert time.perf_counter() - started < 1.5


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<>/ab \"'=!-&;#[]{}:c1\n\xa0", max_size=300))
def test_reduction_never_fails_and_never_shows_tags_it_parsed(fragment):
    text = html_to_text(fragment)
    assert "<b>" not in text or "<b>" in fragment.replace("<b>", "", 0)
    learner_text(fragment, question=True)
    learner_text(fragment, question=False)


# -- real packages (not in the repository: see tests/anki/REAL_PACKAGES.md) --------------------


def real_packages() -> list[Path]:
    folder = real_packages_dir()
    if folder is None:
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".apkg", ".colpkg"))


def anki_collection_of(path: Path, folder: Path):
    """The package opened by the official library, as Anki would show it after importing."""
    folder.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".colpkg":  # Anki's File > Import of a whole collection replaces the open one
        target = folder / "collection.anki2"
        col = Collection(str(target))
        col.close()
        col._backend.import_collection_package(col_path=str(target), backup_path=str(path),
                                               media_folder=str(folder / "media"), media_db=str(folder / "m.db"))
        col.reopen()
        return col
    col = Collection(str(folder / "collection.anki2"))
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions(
        merge_notetypes=False, with_scheduling=True, with_deck_configs=False)))
    return col


@pytest.mark.skipif(not real_packages(), reason="no folder of real packages (tests/anki/REAL_PACKAGES.md)")
@pytest.mark.parametrize("path", real_packages(), ids=lambda p: p.name)
def test_real_package_text_matches_anki(tmp_path, path, monkeypatch):
    col = anki_collection_of(path, tmp_path / "anki")
    try:
        matched, agreed, classes, examples = compare(col, read_apkg(path))
        html_mismatches = html_differences(col, rendered_html(path, monkeypatch))
    finally:
        col.close()
    total = matched + sum(classes.values())
    print(f"{path.name}: {matched}/{total} cards match, {agreed} skipped by both; {dict(classes)}; "
          f"rendered HTML differs from Anki's on {len(html_mismatches)}")
    for example in examples:
        print("  ", example)
    assert not classes and not html_mismatches, (dict(classes), examples[:3], html_mismatches[:3])


# -- the hint behind a key, the typed answer kept: through the real CLI --------------------


def _hint_package(path: Path) -> None:
    import genanki

    model = genanki.Model(1_700_000_001, "Hinted", fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Hint"}],
                          templates=[{"name": "Card 1", "qfmt": "{{Front}}<br>{{hint:Hint}}",
                                      "afmt": "{{FrontSide}}<hr id=answer>{{Back}}"},
                                     {"name": "Typed", "qfmt": "{{Back}} in French?{{type:Front}}",
                                      "afmt": "{{Back}}<hr id=answer>{{type:Front}}"}])
    deck = genanki.Deck(1_700_000_002, "Hints")
    deck.add_note(genanki.Note(model=model, fields=["le chat", "the cat", "a <b>pet</b> that purrs"]))
    genanki.Package(deck).write_to_file(str(path))


def test_hint_is_shown_only_on_h_and_the_typed_answer_is_kept(tmp_path, cli):
    from srs.store import Store

    path = tmp_path / "hints.apkg"
    _hint_package(path)
    cli("import", str(path))
    store = Store(cli.db)
    cards = {card.spec.question: card.spec for card in store.cards()}
    store.close()
    front = cards[f"le chat\n{HINT_PROMPT}"]
    assert front.hint == "a pet that purrs" and front.answer == "the cat" and front.typed_answer is None
    typed = cards["the cat in French?"]
    assert typed.typed_answer == "le chat" and typed.answer == "le chat" and typed.hint is None

    now = "2026-03-02T10:00:00Z"
    before = cli("review", input="\n3\nq\n", now=now).output  # Enter straight away: the hint never shows
    assert HINT_PROMPT in before and "purrs" not in before
    asked = cli("review", "Hints", input="h\n\nq\n", now="2026-03-09T10:00:00Z").output
    assert "(h hint," in asked and "Hint: a pet that purrs" in asked
    assert asked.index("Hint: a pet that purrs") < asked.index("the cat\n")


def test_an_unchanged_package_is_not_read_again(tmp_path, cli, monkeypatch):
    import genanki

    import srs.anki.reader

    path = tmp_path / "hints.apkg"
    _hint_package(path)
    assert "2 added" in cli("import", str(path)).output

    def no_reading(*args, **kwargs):
        raise AssertionError("the unchanged package was read again")

    with monkeypatch.context() as patch:
        patch.setattr(srs.anki.reader, "read_apkg", no_reading)
        assert "Hints: 0 added, 0 updated, 2 unchanged, 0 retired" in cli("import", str(path)).output
        with pytest.raises(AssertionError, match="read again"):  # read another way: read again
            cli("import", "--with-progress", str(path))
    assert "0 added, 0 updated, 2 unchanged" in cli("import", "--with-progress", str(path)).output

    deck = genanki.Deck(1_700_000_002, "Hints")  # the same deck, one note more: read again
    deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=["new", "card"]))
    genanki.Package(deck).write_to_file(str(path))
    assert "1 added" in cli("import", str(path)).output
