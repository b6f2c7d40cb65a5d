"""Search (issue 15, points 1 and 2): the query language through the real CLI, SQL against the
same rules in Python on `srs cards --json` (a property test), retrievability against fsrs, and
the commands that act on ids or a query."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import fsrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Cli
from srs import clock, scheduling
from srs.model import SrsError
from srs.query import Search, parse
from srs.session import ReviewSession
from srs.store import Store

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NOW = START + timedelta(days=40, hours=3)
SPANISH = "# Español::Verbos\n\n" + "".join(
    f"## ¿Qué significa «{w}» ({i})?\nTo {e} (verbo {i})\n\n" for i, (w, e) in enumerate(
        [("comer", "eat"), ("beber", "drink"), ("café", "coffee?"), ("vivir", "live"), ("Árbol", "tree")] * 3))
CHOICES = "# Choices\n\n" + "".join(
    f"## Pick {i}?\n- [{'x' if i % 3 else ' '}] right {i}\n- [ ] wrong {i} fsrs\n\n" for i in range(9))


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Cli:
    """Three decks studied for 40 days with random ratings: every state, lapses, suspended, buried, tags."""
    folder = tmp_path_factory.mktemp("query")
    (folder / "es.md").write_text(SPANISH)
    (folder / "ch.md").write_text(CHOICES)
    cli = Cli(folder / "srs.db")
    cli("import", str(folder / "es.md"), str(folder / "ch.md"), str(__import__("conftest").HERE.parent / "decks"),
        now=START.isoformat())
    store = Store(cli.db)
    rng = random.Random(3)
    for day in range(0, 40, 2):
        moment = [START + timedelta(days=day, hours=rng.random() * 6)]
        session = ReviewSession(store, now=lambda: moment[0])
        for _ in range(25):
            card = session.next_card()
            if card is None:
                break
            if card.spec.options is not None and card.spec.answer is None:
                session.set_key(card, card.spec.options[0])
            session.answer(card, rng.choice([1, 1, 2, 3, 3, 3, 4]), 3000)
            moment[0] += timedelta(minutes=rng.choice([1, 5, 30]))
        session.close()
    store.close()
    (folder / "late.md").write_text("# Late\n\n" + "".join(f"## Late {i}?\nlate answer {i}\n\n" for i in range(4)))
    cli("import", str(folder / "late.md"), now=(NOW - timedelta(hours=1)).isoformat())
    store = Store(cli.db)
    moment = [NOW - timedelta(minutes=3)]  # a card relearning and one learning at NOW, three new
    session = ReviewSession(store, now=lambda: moment[0])
    states = {}
    for card in store.cards():
        states.setdefault(card.progress.state, card)
    session.answer(states["review"], 1, 3000)
    session.answer(states["new"], 1, 3000)
    session.close()
    store.close()
    now = NOW.isoformat()
    ids = [c["id"] for c in cli.json("cards", now=now)]
    cli("suspend", str(ids[3]), str(ids[20]), now=now)
    cli("bury", str(ids[5]), now=now)
    cli("tag", "hard", str(ids[1]), str(ids[2]), str(ids[30]), now=now)
    cli("tag", "leech", str(ids[7]), now=now)
    cli("tag", "Lang::ES", str(ids[0]), now=now)
    return cli


TERMS = ["comer", "CAFE", "café", "arbol", "fsrs", "right", "pick*", "\"verbo 1\"", "qu* signi", "zzz",
         "deck:espanol", "deck:español::verbos", "deck:choices", "deck:ch*", "deck:*", "deck:nope",
         "kind:basic", "kind:choice", "is:new", "is:learn", "is:review", "is:due", "is:suspended", "is:buried",
         "is:leech", "is:unkeyed", "tag:hard", "tag:HARD", "tag:lang", "tag:lang::es", "tag:l*", "tag:leech",
         "prop:r<0.9", "prop:r>=0.95", "prop:s>3", "prop:s<=1.5", "prop:d>5", "prop:d!=5", "prop:ivl>=3",
         "prop:ivl<2", "prop:lapses>0", "prop:lapses=0", "prop:reps>=4", "prop:due=0", "prop:due<0",
         "prop:due>2", "prop:due<=1.5", "prop:due!=1", "prop:due>=-3"]


def queries():
    term = st.sampled_from(TERMS)
    unary = st.builds(lambda neg, t: ("-" if neg else "") + t, st.booleans(), term)

    def extend(inner):
        return st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(" ".join),
            st.lists(inner, min_size=2, max_size=3).map(" or ".join),
            st.builds(lambda neg, q: ("-" if neg else "") + f"({q})", st.booleans(), inner))
    return st.recursive(unary, extend, max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries())
def test_sql_search_equals_the_same_rules_on_cards_json(collection, query):
    store = Store(collection.db)
    try:
        search = Search(store, NOW)
        every = [search.card_object(row) for row in search.rows(None)]
        tree = parse(query)
        found = [row[0] for row in search.rows(tree)]
        keep = search.predicate(tree)
        assert found == [obj["id"] for obj in every if keep(obj)], query
    finally:
        store.close()


def test_cards_json_is_every_card_with_retrievability_as_fsrs_gives_it(collection):
    cards = collection.json("cards", now=NOW.isoformat())
    store = Store(collection.db)
    parameters = {}
    studied = 0
    for card in cards:
        row = store.card_row(card["id"])
        if card["state"] == "new":
            assert card["retrievability"] is None
            continue
        deck_settings = store.deck_settings(row[19])
        scheduler = parameters.setdefault(row[19], fsrs.Scheduler(
            parameters=deck_settings["parameters"]) if "parameters" in deck_settings else fsrs.Scheduler())
        last = clock.from_text(row[15])
        fsrs_card = fsrs.Card(card_id=card["id"], state=fsrs.State.Review, stability=card["stability"],
                              difficulty=card["difficulty"], due=last, last_review=last)
        elapsed = scheduling.elapsed_days(last, NOW, scheduling.Settings.from_dict(deck_settings))  # learner days
        expected = scheduler.get_card_retrievability(fsrs_card, last + timedelta(days=elapsed))
        assert card["retrievability"] == expected  # bit for bit
        assert card["retrievability"] == collection.json("card", str(card["id"]), now=NOW.isoformat())["retrievability"]
        studied += 1
    assert studied > 20 and len(cards) == len({c["id"] for c in cards}) == 44
    store.close()
    old_keys = {"id", "deck", "kind", "question", "options", "answer", "state", "due", "stability", "difficulty",
                "reps", "lapses", "suspended", "interval_days", "buried"}
    assert set(cards[0]) == old_keys | {"retrievability", "tags"}


@pytest.mark.parametrize("query, expected", [
    ("cafe", lambda c: "café" in c["question"].lower() or "café" in (c["answer"] or "").lower()),
    ("deck:ESP", lambda c: c["deck"] == "Español::Verbos"),
    ("deck:español", lambda c: c["deck"] == "Español::Verbos"),
    ("is:suspended or is:buried", lambda c: c["suspended"] or c["buried"]),
    ("-kind:basic prop:lapses>0", lambda c: c["kind"] != "basic" and c["lapses"] > 0),
    ("tag:lang", lambda c: "Lang::ES" in c["tags"]),
    ('"right 1"', lambda c: "right 1" in (c["options"] or [])),
])
def test_examples_through_the_cli(collection, query, expected):
    now = NOW.isoformat()
    every = collection.json("cards", now=now)
    found = collection.json("cards", query, now=now)
    assert [c["id"] for c in found] == [c["id"] for c in every if expected(c)]
    assert found, query


@pytest.mark.parametrize("query, bad", [
    ("deck:", "deck:"), ("is:nothing", "is:nothing"), ("prop:r<abc", "prop:r<abc"), ("prop:q>1", "prop:q>1"),
    ("foo:bar fsrs", "foo:bar"), ('"open', '"open'), ("(fsrs", "("), ("fsrs)", ")"), ("or fsrs", "or"),
    ("fsrs or", "or"), ("()", "()"), ("kind:foo", "kind:foo"), ("-kind:reversed fsrs", "-kind:reversed"),
])
def test_a_bad_query_is_one_line_naming_the_term(collection, query, bad):
    from conftest import run_srs

    result = run_srs("--db", str(collection.db), "cards", query)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"srs: error: bad search term {bad!r}") and result.stderr.count("\n") == 1
    with pytest.raises(SrsError):
        parse(query)


def test_the_listing_is_one_line_per_card_within_the_terminal(collection):
    from conftest import run_srs

    for columns in (60, 80, 132):
        result = run_srs("--db", str(collection.db), "cards", env={"COLUMNS": str(columns), "SRS_NOW": NOW.isoformat()})
        lines = result.stdout.splitlines()
        assert len(lines) == 1 + len(collection.json("cards", now=NOW.isoformat()))
        assert max(len(line) for line in lines) <= columns
        assert any("…" in line for line in lines[1:])
        assert all(line.split()[0].isdigit() for line in lines[1:])
    assert "%" in result.stdout and "review" in result.stdout


def test_suspend_bury_forget_tag_take_ids_or_a_query_and_say_what_changed(tmp_path):
    cli = Cli(tmp_path / "srs.db")
    (tmp_path / "es.md").write_text(SPANISH)
    cli("import", str(tmp_path / "es.md"), now=START.isoformat())
    cli("review", input="\n3\n" * 6 + "q\n", now=START.isoformat())
    later = (START + timedelta(days=3)).isoformat()
    out = cli("suspend", "deck:esp comer", now=later).stdout
    assert out.count("comer") == 3 and out.strip().endswith("3 card(s) suspended.")
    out = cli("suspend", "deck:esp comer or beber", now=later).stdout
    assert out.strip().endswith("3 card(s) suspended; 3 already suspended.")
    assert {c["question"][:22] for c in cli.json("cards", "is:suspended", now=later)} == {"¿Qué significa «comer»", "¿Qué significa «beber»"}
    out = cli("suspend", "--undo", "is:suspended", now=later).stdout
    assert "6 card(s) unsuspended." in out
    studied = cli.json("cards", "-is:new", now=later)
    assert len(studied) >= 3
    target = studied[0]
    out = cli("forget", str(target["id"]), now=later).stdout
    assert "1 card(s) reset to new." in out
    again = cli.json("card", str(target["id"]), now=later)
    assert again["state"] == "new" and again["reps"] == 0 and len(again["history"]) >= 1  # history kept
    assert again["retrievability"] is None
    out = cli("bury", "is:new deck:español", now=later).stdout
    assert "buried until the next learner day" in out
    assert all(c["buried"] for c in cli.json("cards", "is:new", now=later))
    assert cli.json("cards", "is:buried", now=(START + timedelta(days=4, hours=1)).isoformat()) == []  # next day
    out = cli("tag", "verbs", "¿Qué significa", now=later).stdout
    assert "15 card(s) tagged verbs." in out
    (tmp_path / "es.md").write_text(SPANISH.replace("tree", "a tree"))  # re-import: the learner's tags stay
    cli("import", str(tmp_path / "es.md"), now=later)
    assert len(cli.json("cards", "tag:verbs", now=later)) == 15
    out = cli("tag", "--remove", "verbs", "vivir", now=later).stdout
    assert "3 card(s) untagged verbs." in out
    result = cli("forget", "1", "9999", ok=False, now=later)
    assert result.exit_code == 1 and "no card with id 9999" in str(result.exception)


@pytest.mark.parametrize("columns", [60, 80])
def test_status_cards_and_stats_fit_the_terminal_and_cut_after_whole_words(collection, columns):
    """Issue 15, point 10: every line within the terminal's width; text cut with '…' after a whole word."""
    import re

    from conftest import run_srs

    now = NOW.isoformat()
    cards = collection.json("cards", now=now)
    words = {w for c in cards for text in (c["deck"], c["question"], c["answer"] or "", *(c["options"] or []))
             for w in text.split()}
    words |= {f"#{c['id']}" for c in cards}
    env = {"COLUMNS": str(columns), "SRS_NOW": now}
    for command in (["status"], ["cards"], ["stats"]):
        result = run_srs("--db", str(collection.db), *command, env=env)
        assert result.returncode == 0, result.stderr
        text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
        for line in text.splitlines():
            assert len(line) <= columns, (command, line)
            for before in re.findall(r"(\S+)…", line):
                assert before in words or (before.endswith("::") and any(w.startswith(before) for w in words)), (
                    command, line)  # the last word before '…' is whole (or a parent deck's name)
    assert "…" in run_srs("--db", str(collection.db), "status", env=env).stdout  # the long deck name was cut


PROBE = """<style>html{width:%dpx}</style><script>
window.addEventListener('load', () => {
  const width = document.documentElement.getBoundingClientRect().width, over = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5) over.push(el.tagName + ' ' + (el.textContent || '').slice(0, 30));
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'hidden') over.push('cut ' + el.tagName);
  }
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = 'over:' + over.join('|');
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.parametrize("width", [390, 1280])
def test_the_stats_page_holds_at_phone_and_desktop_widths(collection, tmp_path, width):
    """Issue 15, point 10, in headless Chromium when it is installed: no element wider than the page."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no headless Chromium here")
    page = tmp_path / "stats.html"
    collection("stats", "--html", str(page), now=NOW.isoformat())
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text() + PROBE % width)
    result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width + 200},2000",
                             "--virtual-time-budget=3000", "--dump-dom", str(probe)], capture_output=True, text=True,
                            timeout=120)
    found = result.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    assert found == "over:", found


@pytest.mark.parametrize("args", [("forget", ""), ("suspend", " "), ("bury", ""), ("tag", "T", ""),
                                  ("forget", "", "  "), ("suspend", "--undo", "")])
def test_a_blank_query_is_refused_and_changes_nothing(tmp_path, args):
    """An empty shell variable (`srs forget "$Q"`) must not act on the whole collection."""
    from conftest import run_srs

    cli = Cli(tmp_path / "srs.db")
    (tmp_path / "es.md").write_text(SPANISH)
    cli("import", str(tmp_path / "es.md"), now=START.isoformat())
    cli("review", input="\n3\n" * 6 + "q\n", now=START.isoformat())
    cli("suspend", "vivir", now=START.isoformat())
    later = (START + timedelta(days=3)).isoformat()
    before = cli.json("cards", now=later)
    result = run_srs("--db", str(cli.db), *args, env={"SRS_NOW": later})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "srs: error: give card ids or a search (e.g. 'deck:*')\n"
    assert cli.json("cards", now=later) == before
    assert cli.json("cards", "deck:*", now=later) == before  # the example the error gives finds every card


KINDS_DECK = """# Kinds

## Pick one?
- [x] right
- [ ] wrong

## The capital of {{c1::France}} is {{c2::Paris::city}}.

## Hund
<->
dog

## Plain?
plain

## Colour in French?
= rouge | vermillon
"""


def test_kind_finds_each_kind_and_refuses_any_other(tmp_path):
    cli = Cli(tmp_path / "srs.db")
    (tmp_path / "kinds.md").write_text(KINDS_DECK)
    cli("import", str(tmp_path / "kinds.md"))
    found = {kind: sorted(c["question"][:10] for c in cli.json("cards", f"kind:{kind}"))
             for kind in ("basic", "Choice", "cloze", "TYPED")}
    assert found == {"basic": ["Hund", "Plain?", "dog"], "Choice": ["Pick one?"],
                     "cloze": ["The capita", "The capita"], "TYPED": ["Colour in "]}
    assert len(cli.json("cards", "-kind:basic")) == 4  # every card that is not basic or reversed
    result = cli("cards", "kind:foo", ok=False)
    assert result.exit_code == 1 and "bad search term 'kind:foo': kind: takes basic, choice, cloze, typed" in str(
        result.exception)


def test_cards_json_reads_the_notes_of_anki_cloze_cards_a_chunk_at_a_time(tmp_path):
    """`srs cards --json` on Anki cloze cards: each card's answer is its deletion, read from its note; the
    notes are read one query per chunk of rows `Search.rows` reads ahead (it was one query a card), and
    the objects are those of the one-card path (`Search.card`)."""
    anki = pytest.importorskip("anki")  # noqa: F841
    from anki.collection import Collection, ExportAnkiPackageOptions

    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))
    deck = col.decks.id("Clozes")
    for i in range(300):
        note = col.new_note(col.models.by_name("Cloze"))
        note["Text"] = f"{{{{c1::Word {i}}}}} and {{{{c2::<b>other</b> {i}}}}}"
        col.add_note(note, deck)
    package = tmp_path / "clozes.apkg"
    col.export_anki_package(out_path=str(package), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=True, with_deck_configs=False, with_media=False, legacy=False))
    col.close()
    cli = Cli(tmp_path / "srs.db")
    cli("import", str(package))
    cards = cli.json("cards")
    assert len(cards) == 600 and {c["kind"] for c in cards} == {"cloze"}
    assert {c["answer"] for c in cards} == {f"Word {i}" for i in range(300)} | {f"other {i}" for i in range(300)}

    store = Store(tmp_path / "srs.db")
    statements = []
    store.conn.set_trace_callback(statements.append)
    search = Search(store, NOW)
    objects = [search.card_object(row) for row in search.rows(parse(""))]
    note_queries = [s for s in statements if "FROM card_notes cn" in s]
    assert len(note_queries) == 3  # one for each chunk of 256 rows `Search.rows` reads ahead; was 600, one a card
    store.conn.set_trace_callback(None)
    one_by_one = Search(store, NOW)
    assert objects == [one_by_one.card(card["id"]) for card in objects]  # the same objects as card by card
    found = [search.card_object(row) for row in search.rows(parse("Word 7"))]  # the same Search again
    assert 0 < len(found) < 600 and found == [one_by_one.card(card["id"]) for card in found]
    store.close()
