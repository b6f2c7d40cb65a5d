"""Load balancing and easy days (srs.load_balance), the store's due counts per learner day, and
their settings through the real CLI."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_srs, time_zone
from srs import clock
from srs.load_balance import (LOAD_BALANCE_DAYS, MAX_LOAD_BALANCE_INTERVAL, MINIMUM, NORMAL, REDUCED,
                              SIBLING_PENALTY, LoadBalancer, easy_day_modifiers, enabled, parse_easy_days, weekday_of)
from srs.model import CardSpec, DeckSpec, Progress
from srs.scheduling import Settings
from srs.store import Store

TODAY = clock.day_number(datetime(2026, 6, 1, 12, tzinfo=timezone.utc))  # a Monday
SAT, SUN = 5, 6


def picks(balancer: LoadBalancer, lower: int, upper: int, interval: float, draws: int = 2000, **kw) -> Counter:
    """How often each offset is picked over `draws` seeds (nothing added between draws)."""
    return Counter(balancer.pick(lower, upper, interval, TODAY, random.Random(seed), **kw) for seed in range(draws))


# -- the pick -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(lower=st.integers(1, 120), width=st.integers(0, 15), shift=st.floats(0, 1),
       counts=st.lists(st.integers(0, 400), min_size=16, max_size=16),
       levels=st.lists(st.sampled_from([MINIMUM, REDUCED, NORMAL]), min_size=7, max_size=7),
       seed=st.integers(0, 2**32), today=st.integers(15_000, 30_000), avoid=st.sets(st.integers(0, 15)))
def test_pick_is_inside_the_window_and_the_same_for_the_same_seed(lower, width, shift, counts, levels, seed, today,
                                                                 avoid):
    upper = lower + width
    interval = lower + shift * width
    due = {today + lower + i: count for i, count in enumerate(counts)}
    balancer = LoadBalancer(due, levels)
    avoid_days = {today + lower + i for i in avoid}
    first = balancer.pick(lower, upper, interval, today, random.Random(seed), avoid=avoid_days)
    assert lower <= first <= upper
    assert balancer.pick(lower, upper, interval, today, random.Random(seed), avoid=avoid_days) == first


def test_a_seeded_pick_draws_once_so_a_preview_and_the_answer_agree():
    balancer = LoadBalancer({TODAY + d: 30 + d % 5 for d in range(1, 40)})
    rng = random.Random(7)
    shown = [balancer.pick(10, 16, 13, TODAY, rng) for _ in range(3)]
    rng = random.Random(7)
    assert [balancer.pick(10, 16, 13, TODAY, rng) for _ in range(3)] == shown


def test_an_empty_day_among_full_ones_is_picked_almost_always():
    due = {TODAY + d: 40 for d in range(10, 17)}
    del due[TODAY + 13]
    counts = picks(LoadBalancer(due), 10, 16, 13.0)
    assert counts[13] > 0.99 * sum(counts.values())


def test_weights_follow_ankis_formula():
    # two days: 10 cards due on day 10, 20 on day 11: weights (1/10)^2/10 and (1/20)^2/11, so day 10
    # is picked with probability 0.01 / (0.01 + 0.0025 * 10/11) = 0.815...
    counts = picks(LoadBalancer({TODAY + 10: 10, TODAY + 11: 20}), 10, 11, 10.5, draws=20_000)
    expected = 0.01 / 10 / (0.01 / 10 + 0.0025 / 11)
    assert abs(counts[10] / 20_000 - expected) < 0.015


def test_the_interval_term_leans_towards_earlier_days():
    counts = picks(LoadBalancer({TODAY + d: 10 for d in range(2, 6)}), 2, 5, 3.5, draws=20_000)
    assert counts[2] > counts[3] > counts[4] > counts[5]


def test_a_session_spreads_its_answers_more_evenly_than_plain_fuzz():
    balanced, uniform = [], []
    for seed in range(6):
        balancer = LoadBalancer({})
        rng = random.Random(seed)
        for _ in range(700):
            balancer.add(TODAY + balancer.pick(20, 26, 23, TODAY, rng))
        counts = [balancer.due_by_day.get(TODAY + d, 0) for d in range(20, 27)]
        assert sum(counts) == 700
        balanced.append(statistics.pstdev(counts))
        rng = random.Random(seed)
        fuzzed = Counter(rng.randint(20, 26) for _ in range(700))  # plain fuzz: uniform over the window
        uniform.append(statistics.pstdev([fuzzed[d] for d in range(20, 27)]))
    assert statistics.mean(balanced) < 0.7 * statistics.mean(uniform), (balanced, uniform)


def test_add_and_remove_move_the_counts():
    balancer = LoadBalancer({TODAY + 5: 2})
    balancer.add(TODAY + 5)
    balancer.add(TODAY + 6)
    balancer.remove(TODAY + 5)
    balancer.remove(TODAY + 6)
    assert balancer.due_by_day == {TODAY + 5: 2}


def test_long_intervals_are_not_balanced_but_fuzzed_uniformly():
    # over MAX_LOAD_BALANCE_INTERVAL days the counts do not matter: every day of the window comes up
    lower, upper = MAX_LOAD_BALANCE_INTERVAL + 1, MAX_LOAD_BALANCE_INTERVAL + 11
    due = {TODAY + d: (0 if d == lower + 3 else 500) for d in range(lower, upper + 1)}
    counts = picks(LoadBalancer(due), lower, upper, (lower + upper) / 2, draws=11_000)
    assert set(counts) == set(range(lower, upper + 1))
    assert max(counts.values()) < 1.2 * 1000 and min(counts.values()) > 0.8 * 1000


def test_balancing_is_on_by_default_and_needs_fuzz_as_in_anki():
    assert enabled(Settings())
    assert not enabled(Settings(load_balance=False))
    assert not enabled(Settings(fuzz=False))  # Anki's balancer draws from the fuzz seed: no fuzz, no balancing


def test_a_one_day_window_is_that_day():
    assert LoadBalancer({}).pick(1, 1, 1.2, TODAY, random.Random(0)) == 1


def test_days_where_a_sibling_is_due_are_avoided():
    due = {TODAY + d: 5 for d in range(10, 13)}
    avoid = {TODAY + 10, TODAY + 12}
    counts = picks(LoadBalancer(due), 10, 12, 11.0, draws=5000, avoid=avoid)
    assert counts[11] > 0.99 * 5000
    # the penalty is a weight, not a ban: with siblings on every day, the days are weighed as usual
    everywhere = picks(LoadBalancer(due), 10, 12, 11.0, draws=5000, avoid={TODAY + d for d in range(10, 13)})
    assert set(everywhere) == {10, 11, 12} and SIBLING_PENALTY < 1


# -- easy days -------------------------------------------------------------------------------


def test_weekdays_of_day_numbers():
    assert weekday_of(0) == 3  # 1970-01-01 was a Thursday
    assert weekday_of(TODAY) == 0  # 2026-06-01 is a Monday
    assert clock.learner_day(datetime(2026, 6, 6, 12, tzinfo=timezone.utc)).weekday() == weekday_of(TODAY + SAT)


def test_a_minimum_day_is_never_picked_while_another_day_can_be():
    # the window covers Thursday to Tuesday; Saturday and Sunday are at the minimum and emptier
    due = {TODAY + d: 50 for d in range(3, 9)}
    due[TODAY + SAT] = 0
    due[TODAY + SUN] = 1
    levels = parse_easy_days("sat sun")
    counts = picks(LoadBalancer(due, levels), 3, 8, 5.5)
    assert counts[SAT] == counts[SUN] == 0 and sum(counts.values()) == 2000
    # without easy days, the weekend (0 and 1 card due) takes nearly every card
    plain = picks(LoadBalancer(due), 3, 8, 5.5)
    assert plain[SAT] + plain[SUN] > 1990 and plain[SAT] > plain[SUN]


def test_easy_days_given_with_the_pick_replace_the_balancers():
    due = {TODAY + d: 10 for d in range(3, 9)}
    balancer = LoadBalancer(due)  # no easy days of its own
    counts = picks(balancer, 3, 8, 5.5, easy_days=parse_easy_days("sat sun"))
    assert counts[SAT] == counts[SUN] == 0
    assert picks(balancer, 3, 8, 5.5)[SAT] > 0


def test_when_every_day_of_the_window_is_a_minimum_day_it_is_balanced_as_usual():
    due = {TODAY + SAT: 30, TODAY + SUN: 5}
    with_easy = LoadBalancer(due, parse_easy_days("sat sun"))
    without = LoadBalancer(due)
    for seed in range(300):
        assert with_easy.pick(SAT, SUN, 5.5, TODAY, random.Random(seed)) == \
            without.pick(SAT, SUN, 5.5, TODAY, random.Random(seed))


def test_a_reduced_day_takes_about_half_the_load_of_the_others():
    # Anki's rule: a reduced day is on while its count / 0.5 <= the other days' count / their levels
    weekdays = [3, 4, 5]  # Thursday, Friday, Saturday (reduced)
    levels = parse_easy_days("sat:reduced")
    assert easy_day_modifiers(levels, weekdays, [40, 40, 20]) == [True, True, True]  # 20/0.5 = 40 <= 80/2
    assert easy_day_modifiers(levels, weekdays, [40, 40, 21]) == [True, True, False]  # 42 > 40
    # over a session, the reduced day ends with about half of a normal day's cards
    balancer = LoadBalancer({}, levels)
    rng = random.Random(5)
    for _ in range(900):
        balancer.add(TODAY + balancer.pick(3, 5, 4, TODAY, rng))
    thu, fri, sat = (balancer.due_by_day[TODAY + d] for d in (3, 4, 5))
    assert abs(sat - (thu + fri) / 4) <= 3, (thu, fri, sat)


@pytest.mark.parametrize("text, levels", [
    ("sat sun", [1, 1, 1, 1, 1, 0, 0]),
    ("Saturday, SUNDAY", [1, 1, 1, 1, 1, 0, 0]),
    ("sat:0 sun:0.5", [1, 1, 1, 1, 1, 0, 0.5]),
    ("mon:reduced sun:minimum fri", [0.5, 1, 1, 1, 0, 1, 0]),
    ("wed:normal", [1] * 7),
    ("1 1 1 1 1 0 0.5", [1, 1, 1, 1, 1, 0, 0.5]),
    ("none", [1] * 7),
    ("", [1] * 7),
])
def test_easy_days_forms(text, levels):
    assert parse_easy_days(text) == levels


@pytest.mark.parametrize("text", ["funday", "sat:0.3", "sat sat", "sat:lots", "1 1 1 1 1 1", "1 1 1 1 1 1 2"])
def test_bad_easy_days_are_refused(text):
    with pytest.raises(ValueError):
        parse_easy_days(text)


# -- the store's counts --------------------------------------------------------------------


def _store_with_review_cards(path, dues: list[datetime], *, extra_decks: int = 0) -> Store:
    """A store whose cards are all in review, due at these times, over 1 + extra_decks decks."""
    store = Store(path)
    decks = [DeckSpec(f"D{n}", [CardSpec(f"q{n}-{i}?", "a") for i in range(len(dues)) if i % (1 + extra_decks) == n])
             for n in range(1 + extra_decks)]
    store.sync_decks(decks, datetime(2026, 1, 1, tzinfo=timezone.utc))
    ids = [row[0] for row in store.conn.execute("SELECT card_id FROM card_state ORDER BY card_id")]
    by_deck = {}
    for n, deck in enumerate(decks):
        by_deck.update({i: n for i in range(len(dues)) if i % (1 + extra_decks) == n})
    with store.write():
        for card_id, due in zip(ids, sorted(range(len(dues)), key=lambda i: (by_deck[i], i))):
            store._write_progress(card_id, Progress(state="review", stability=10.0, difficulty=5.0, due=dues[due],
                                                    last_review=dues[due] - timedelta(days=10), reps=3))
    return store


def _recount(store: Store, deck_ids, first: int, last: int, hour: int) -> dict[int, int]:
    """The same count in Python: every active review card's due through clock.day_number."""
    marks = ",".join("?" * len(deck_ids))
    counts = Counter()
    for (due,) in store.conn.execute(
            f"SELECT due FROM card_state WHERE deck_id IN ({marks}) AND state = 2 AND retired = 0 "
            "AND suspended = 0", list(deck_ids)):
        day = clock.day_number(clock.from_text(due), hour)
        if first <= day <= last:
            counts[day] += 1
    return dict(counts)


@pytest.mark.parametrize("hour", [0, 2, 4, 23])
def test_due_counts_by_day_equal_a_recount_in_new_york_across_dst(tmp_path, hour):
    with time_zone("America/New_York"):
        # every 20 minutes from 5 March to 12 March 2026 (DST starts 8 March, 2 a.m.) and around 1 November
        # (DST ends, 2 a.m.): the moments just before and after each learner day start are included
        starts = [datetime(2026, 3, 5, tzinfo=timezone.utc), datetime(2026, 10, 29, tzinfo=timezone.utc)]
        dues = [start + timedelta(minutes=20 * i) for start in starts for i in range(7 * 72)]
        store = _store_with_review_cards(tmp_path / "srs.db", dues, extra_decks=2)
        ids = [d["id"] for d in store.decks()]
        first = clock.day_number(starts[0], hour) - 1
        last = clock.day_number(starts[1], hour) + 9
        counts = store.due_counts_by_day(ids, first, last, hour)
        assert counts == _recount(store, ids, first, last, hour)
        assert sum(counts.values()) == len(dues)
        # a narrower window and a subset of the decks
        spring = clock.day_number(datetime(2026, 3, 8, 12, tzinfo=timezone.utc), hour)
        assert store.due_counts_by_day(ids[:2], spring - 1, spring + 1, hour) == \
            _recount(store, ids[:2], spring - 1, spring + 1, hour)
        # the learner day holding the change to summer time (7:00 UTC) is an hour short: 23 hours, 3 cards an hour
        short = clock.day_number(datetime(2026, 3, 8, 7, tzinfo=timezone.utc), hour)
        assert store.due_counts_by_day(ids, short - 1, short + 1, hour) == {short - 1: 72, short: 69, short + 1: 72}
        long = clock.day_number(datetime(2026, 11, 1, 6, tzinfo=timezone.utc), hour)  # and back: 25 hours
        assert store.due_counts_by_day(ids, long - 1, long + 1, hour) == {long - 1: 72, long: 75, long + 1: 72}
        store.close()


@settings(max_examples=25, deadline=None)
@given(offsets=st.lists(st.integers(0, 365 * 24 * 60), min_size=1, max_size=60), hour=st.integers(0, 23))
def test_due_counts_by_day_property(tmp_path_factory, offsets, hour):
    with time_zone("America/New_York"):
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        store = _store_with_review_cards(tmp_path_factory.mktemp("db") / "srs.db",
                                         [start + timedelta(minutes=m) for m in offsets])
        ids = [d["id"] for d in store.decks()]
        first, last = clock.day_number(start, hour), clock.day_number(start + timedelta(days=366), hour)
        assert store.due_counts_by_day(ids, first, last, hour) == _recount(store, ids, first, last, hour)
        store.close()


def test_due_counts_leave_out_other_states_suspended_retired_and_other_decks(tmp_path):
    due = datetime(2026, 6, 3, 12, tzinfo=timezone.utc)
    store = _store_with_review_cards(tmp_path / "srs.db", [due] * 6, extra_decks=1)
    day = clock.day_number(due)
    ids = [d["id"] for d in store.decks()]
    assert store.due_counts_by_day(ids, day, day, 4) == {day: 6}
    assert store.due_counts_by_day(ids[:1], day, day, 4) == {day: 3}
    cards = [row[0] for row in store.conn.execute("SELECT card_id FROM card_state WHERE deck_id = ?", (ids[0],))]
    store.suspend_cards([cards[0]])
    with store.write() as conn:
        conn.execute("UPDATE card_state SET state = 3 WHERE card_id = ?", (cards[1],))  # relearning
        conn.execute("UPDATE card_state SET retired = 1 WHERE card_id = ?", (cards[2],))
    assert store.due_counts_by_day(ids, day, day, 4) == {day: 3}
    assert store.due_counts_by_day(ids, day + 1, day + 5, 4) == {}
    assert store.due_counts_by_day([], day, day, 4) == {}
    store.close()


def test_from_store_reads_the_window_and_again_on_a_later_day(tmp_path):
    now = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    dues = [now + timedelta(days=d) for d in (3, 3, 4, LOAD_BALANCE_DAYS - 1, LOAD_BALANCE_DAYS + 1)]
    store = _store_with_review_cards(tmp_path / "srs.db", dues)
    ids = [d["id"] for d in store.decks()]
    balancer = LoadBalancer.from_store(store, ids, now, Settings(easy_days=(1, 1, 1, 1, 1, 0, 0)))
    assert balancer.due_by_day == {TODAY + 3: 2, TODAY + 4: 1, TODAY + LOAD_BALANCE_DAYS - 1: 1}
    assert balancer.easy_days == (1, 1, 1, 1, 1, 0, 0)
    # asked on the next learner day, it reads the counts of the window from then
    balancer.pick(2, 4, 3, TODAY + 2, random.Random(0))
    assert balancer.due_by_day == {TODAY + 3: 2, TODAY + 4: 1, TODAY + LOAD_BALANCE_DAYS - 1: 1,
                                   TODAY + LOAD_BALANCE_DAYS + 1: 1}
    store.close()


# -- the settings through the CLI ------------------------------------------------------------


def _setting(output: str, name: str) -> str:
    return next(line.split(" = ", 1)[1] for line in output.splitlines() if line.startswith(name + " ="))


def test_easy_days_and_load_balance_settings_through_the_cli(cli, tmp_path):
    shown = cli("config").stdout
    assert _setting(shown, "easy_days") == "1 1 1 1 1 1 1" and _setting(shown, "load_balance") == "True"
    assert _setting(cli("config", "easy_days", "sat sun").stdout, "easy_days") == "1 1 1 1 1 0 0"
    assert _setting(cli("config", "easy_days", "sat:0 sun:0.5").stdout, "easy_days") == "1 1 1 1 1 0 0.5"
    # what config prints can be given back
    assert _setting(cli("config", "easy_days", "1 1 1 1 1 0 0.5").stdout, "easy_days") == "1 1 1 1 1 0 0.5"
    assert _setting(cli("config", "load_balance", "false").stdout, "load_balance") == "False"
    deck = tmp_path / "d.md"
    deck.write_text("# Words\n\n## one?\n1\n")
    cli("import", str(deck))
    shown = cli("config", "Words", "easy_days", "sunday:reduced").stdout
    assert "easy_days = 1 1 1 1 1 1 0.5  (this deck)" in shown
    from srs.store import Store as _Store

    store = _Store(cli.db)
    values = Settings.from_dict(store.deck_settings(store.deck_id("Words")))
    assert values.easy_days == (1, 1, 1, 1, 1, 1, 0.5) and values.load_balance is False
    assert Settings.from_dict(store.global_settings()).easy_days == (1, 1, 1, 1, 1, 0, 0.5)
    store.close()


@pytest.mark.parametrize("key, value, words", [
    ("easy_days", "funday", "'funday' is not a weekday"),
    ("easy_days", "sat:0.3", "'0.3' is not a level"),
    ("easy_days", "sun sun", "sun is given twice"),
    ("load_balance", "maybe", "bad value 'maybe' for load_balance"),
])
def test_bad_settings_give_one_line_and_exit_1(tmp_path, key, value, words):
    db = str(tmp_path / "srs.db")
    before = run_srs("--db", db, "config")
    result = run_srs("--db", db, "config", key, value)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("srs: error:"), result.stderr
    assert run_srs("--db", db, "config").stdout == before.stdout  # nothing written


def test_a_review_session_balances_each_deck_and_keeps_its_counts_through_answers_and_undo(tmp_path):
    """`srs review` schedules through the deck's load balancer: an answer counts its card on its new
    day (the next picks see it), undo takes that count back, and the session's choice is the pick."""
    from srs.session import ReviewSession

    now = datetime(2026, 5, 4, 12, tzinfo=timezone.utc)
    with time_zone("UTC"):
        store = _store_with_review_cards(tmp_path / "s.db", [now - timedelta(hours=1)] * 3
                                         + [now + timedelta(days=d) for d in range(8, 14) for _ in range(5)])
        session = ReviewSession(store, now=lambda: now)
        card = session.next_card()
        shown = session.show(card)
        balancer = session._balancers[card.deck_id]
        assert isinstance(balancer, LoadBalancer)
        assert balancer.due_by_day == _recount(store, [card.deck_id], clock.day_number(now, 4),
                                               clock.day_number(now, 4) + LOAD_BALANCE_DAYS - 1, 4)
        before = dict(balancer.due_by_day)
        assert session.answer(shown, 3, 1000)
        good_day = clock.day_number(shown.states[3].due, 4)
        assert balancer.due_by_day.get(good_day, 0) == before.get(good_day, 0) + 1
        session.undo()
        assert balancer.due_by_day == before
        # with the setting off, the deck has no balancer and plain fuzz decides
        store.set_global_setting("load_balance", False)
        plain = ReviewSession(store, now=lambda: now)
        plain.show(plain.next_card())
        assert set(plain._balancers.values()) == {None}
