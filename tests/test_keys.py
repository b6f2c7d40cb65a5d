"""Keys the lesson does not decide: given in review or with `srs key`, and kept across re-imports."""

from __future__ import annotations

from conftest import HERE

LESSON = HERE / "lessons" / "seed.txt"
CENTRAL = 'Which concept is most central to "AI Engineer vs ML Engineer: Choosing the Career Track That Fits Your Strengths"?'
FREE = "Name one way to verify an AI answer about AI engineer."


def card(cli, question):
    return next(c for c in cli.json("cards") if c["question"] == question)


def test_srs_key_records_keys_and_answers_that_survive_reimport(cli):
    cli("import", str(LESSON))
    assert cli.json("status")["decks"][0]["unkeyed"] == 4
    # first unkeyed card: pick the option shown as c; skip the next three; type the free answer
    result = cli("key", input="c\n\n\n\nAsk a practitioner\n")
    assert "2 recorded" in result.stdout
    central = card(cli, CENTRAL)
    assert central["answer"] == central["options"][2]
    assert card(cli, FREE)["answer"] == "Ask a practitioner"
    assert cli.json("status")["decks"][0]["unkeyed"] == 3
    again = cli("import", str(LESSON))
    assert "0 added" in again.stdout and "0 retired" in again.stdout
    assert card(cli, CENTRAL)["answer"] == central["answer"]
    assert card(cli, FREE)["answer"] == "Ask a practitioner"


def test_unkeyed_card_asks_for_its_key_once_in_review(cli, tmp_path):
    deck = tmp_path / "unkeyed.md"
    deck.write_text("# U\n\n## Which is blue?\n- [ ] grass\n- [ ] sky\n")
    cli("import", str(deck))
    options = card(cli, "Which is blue?")["options"]
    # the learner picks a, is asked for the key, says b; the answer is then graded against it
    result = cli("review", input="a\nb\n\nq\n", now="2026-02-01T09:00:00Z")
    assert "Which is it? (asked once)" in result.stdout
    keyed = card(cli, "Which is blue?")
    assert keyed["answer"] in options
    log = cli.json("log")
    assert len(log) == 1 and log[0]["correct"] is (log[0]["choice"] == keyed["answer"])
    # next time it behaves like any choice card: no question about the key
    result = cli("review", input="a\n\nq\n", now="2026-02-01T09:30:00Z")
    assert "Which is it?" not in result.stdout and ("Right" in result.stdout or "Wrong" in result.stdout)
