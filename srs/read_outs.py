"""Read-outs of the store for people and scripts: status, the card list and the review log.

Each returns plain dicts and lists (what `--json` prints); the CLI formats them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator

from srs import clock
from srs.store import HISTORY_ONLY, KIND_NAMES, STATE_NAMES, Store

LOG_FIELDS = ["id", "card_id", "deck", "reviewed_at", "rating", "kind", "duration_ms", "choice", "correct", "format"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list of cell starts a spreadsheet may run


def neutralised(value):
    """A CSV cell a spreadsheet shows as text instead of running it as a formula (OWASP's CSV
    injection advice): a text cell starting with = + - @ tab or carriage return gets a leading '.
    Numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows, fields: list[str], stream) -> None:
    """Rows (dicts) as CSV with a header, every text cell neutralised (see `neutralised`)."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([neutralised(row.get(field)) for field in fields])


def iso(text: str | None) -> str | None:
    """Stored time text as ISO 8601 UTC with an explicit offset."""
    return None if text is None else text[:-1] + "+00:00"


def status(store: Store, now: datetime) -> dict:
    """Per deck: new, learning, due now, due today, total, suspended, unkeyed; and when the next card is due.

    "Due now" and "next due" are the review queue's own answers (`ReviewSession.due_by_deck` and
    `next_due`): what a review started now would show, and when the next studied card would appear."""
    from srs.session import ReviewSession

    decks = []
    conn = store.conn
    queue = ReviewSession(store, now=lambda: now, read_only=True)
    due = queue.due_by_deck()
    settings = {deck.id: deck.settings for deck in queue.decks}
    for deck in store.decks():
        _, end = clock.day_bounds(now, settings[deck["id"]].day_start_hour)
        def count(where: str, *args) -> int:  # each count is a range of the queue index
            return conn.execute(f"SELECT count(*) FROM card_state WHERE deck_id = ? AND retired = 0 AND {where}",
                                (deck["id"], *args)).fetchone()[0]

        live = "suspended = 0 AND state = ?"
        new = count(live, 0)
        learning = count(live, 1) + count(live, 3)
        due_today = sum(count(live + " AND due < ?", state, clock.to_text(end)) for state in (1, 2, 3))
        total = count("1")
        if not total and conn.execute(
                f"SELECT 1 FROM card_state WHERE deck_id = ? AND retired = {HISTORY_ONLY} LIMIT 1",
                (deck["id"],)).fetchone():
            continue  # only history-only cards (srs import-history): nothing to study, so no row
        suspended = count("suspended = 1")
        unkeyed = conn.execute(
            "SELECT count(*) FROM cards WHERE deck_id = ? AND retired = 0 AND kind = 'choice' AND answer IS NULL",
            (deck["id"],)).fetchone()[0]
        decks.append({"deck": deck["name"], "new": new, "learning": learning, "due_now": due[deck["id"]]["due_now"],
                      "due_today": due_today, "total": total, "suspended": suspended, "unkeyed": unkeyed})
    next_due = queue.next_due(due)
    return {"decks": decks, "next_due": None if next_due is None else iso(clock.to_text(next_due))}


def card_objects(store: Store, deck_id: int | None = None) -> list[dict]:
    intervals = _Intervals(store, deck_id)
    out = [_card_dict(row, intervals(row)) for row in store.card_rows(deck_id)]
    anki_cloze = [card for card in out if card["kind"] == "cloze" and "{{c" not in card["question"]]
    if anki_cloze:
        notes = store.card_notes(None if deck_id is None else [deck_id])
        for card in anki_cloze:
            _anki_cloze_answer(card, notes.get(card["id"]))
    return out


def _anki_cloze_answer(card: dict, note) -> None:
    """A card of an Anki cloze note: its `answer` is the text of its deletion (from the note's cloze
    field), as for srs's own cloze cards; its back as Anki shows it stays what review shows."""
    import re

    from srs import kinds
    from srs.anki.text import html_to_text

    if note is None or not note.note_type.templates:
        return
    names = re.findall(r"\{\{[^{}]*?cloze:([^{}]+?)\}\}", note.note_type.templates[0][1])
    values = dict(zip(note.note_type.fields, note.fields))
    deleted = [html_to_text(kinds.cloze_deleted(values.get(name.strip(), ""), note.ord + 1)) for name in names]
    if any(deleted):
        card["answer"] = ", ".join(text for text in deleted if text)


class _Intervals:
    """The interval of each card in `srs cards --json`: Anki's own for a card imported with its
    schedule and not answered in srs since, else the whole learner days from the last answer to
    the due day of a review card, as the scheduler counts them (None for new and learning cards)."""

    def __init__(self, store: Store, deck_id: int | None = None):
        from srs import scheduling
        from srs.model import Progress

        self.scheduling, self.Progress = scheduling, Progress
        self.store = store
        self.shared = store.global_settings()
        self.settings: dict[int, object] = {}  # deck id -> its Settings
        self.imported = store.imported_intervals(deck_id)

    def __call__(self, row: tuple) -> int | None:
        if row[10] != 2:
            return None
        interval = self.imported.get(row[0])
        if interval is None and row[14] and row[15]:
            settings = self.settings.get(row[19])
            if settings is None:
                own = self.store.deck_own_settings(row[19])
                settings = self.settings[row[19]] = self.scheduling.Settings.from_dict({**self.shared, **own})
            interval = self.scheduling.interval_days(settings, self.Progress(
                state="review", due=clock.from_text(row[14]), last_review=clock.from_text(row[15])))
        return interval


def log_objects(store: Store, deck_id: int | None = None) -> Iterator[dict]:
    return (_log_dict(row) for row in store.log_rows(deck_id))


def _card_dict(row: tuple, interval: int | None) -> dict:
    """A card as `srs cards --json` prints it, from a row in the column order of the store's _CARD_SQL
    (`suspended` 1 is suspended, 2 buried until the next learner day) and its interval (`_Intervals`)."""
    question, answer = row[3], row[5] or None  # an unknown key and a basic answer not written yet are both null
    if row[2] not in ("basic", "choice") or row[22]:  # cloze, typed, a reversed card: as srs.kinds asks them
        from srs import kinds
        from srs.model import CardSpec

        spec = CardSpec(question=row[3], answer=row[5], kind=row[2], ord=row[22] or 0, typed_answer=row[21])
        kind = kinds.of(spec)
        question, answer = kind.asked(spec), kind.right_answer(spec)
    return {
        "id": row[0], "deck": row[1], "kind": row[2], "question": question,
        "options": json.loads(row[4]) if row[4] else None,
        "answer": answer,
        "state": STATE_NAMES[row[10]], "due": iso(row[14]), "stability": row[12], "difficulty": row[13],
        "reps": row[16], "lapses": row[17], "suspended": row[18] == 1,
        "interval_days": interval, "buried": row[18] == 2,
    }


def _log_dict(row: tuple) -> dict:
    """A review as `srs log --json` prints it, from a row in the column order of `Store.log_rows`."""
    return {"id": row[0], "card_id": row[1], "deck": row[2], "reviewed_at": iso(row[3]), "rating": row[4],
            "kind": KIND_NAMES[row[5]], "duration_ms": row[6], "choice": row[7],
            "correct": None if row[8] is None else bool(row[8]), "format": row[9] if len(row) > 9 else None}


# -- one card whole: `srs card ID` ---------------------------------------------------------


def card_object(store: Store, card_id: int, now: datetime) -> dict:
    """One card whole (`srs card ID --json`): its `srs cards --json` object, its recall probability now,
    its history as `srs log --json` prints it, and what each rating would give now."""
    return _card(store, card_id, now)[0]


def card_info(store: Store, card_id: int, now: datetime, days: int = 30) -> dict:
    """`card_object` and what the card-info page adds: the explanation, the learner's day-start hour and the
    forgetting curve, [(learner days from today, recall probability then)] for `days` days (empty for a new
    card), spread over about twice the card's current interval (at least a day a point)."""
    card, row, settings, progress = _card(store, card_id, now)
    curve = []
    if card["retrievability"] is not None:
        interval = max((progress.due - progress.last_review).total_seconds() / 86400, 1) if progress.due else 1
        step = max(1, round(2 * interval / days))
        curve = [(k * step, retrievability(settings, card_id, progress, now, k * step)) for k in range(days)]
    return {"card": card, "explanation": row[7], "day_start_hour": settings.day_start_hour, "curve": curve}


def _card(store: Store, card_id: int, now: datetime):
    from srs.model import Progress
    from srs.scheduling import Settings

    row = store.card_row(card_id)
    out = _card_dict(row, _Intervals(store, row[19])(row))
    if out["kind"] == "cloze" and "{{c" not in out["question"]:
        _anki_cloze_answer(out, store.card_notes(card_id=card_id).get(card_id))
    settings = Settings.from_dict(store.deck_settings(row[19]))
    progress = Progress(state=STATE_NAMES[row[10]], step=row[11], stability=row[12], difficulty=row[13],
                        due=clock.from_text(row[14]), last_review=clock.from_text(row[15]), reps=row[16],
                        lapses=row[17], suspended=bool(row[18]))
    out["retrievability"] = retrievability(settings, card_id, progress, now)
    out["history"] = [_log_dict(r) for r in store.card_log_rows(card_id)]
    out["next"] = next_outcomes(store, card_id, now)
    return out, row, settings, progress


def retrievability(settings, card_id: int, progress, when: datetime, days: int = 0) -> float | None:
    """FSRS's recall probability `days` learner days after `when` (as stats computes it: fsrs's curve at the
    whole learner days elapsed since the last review); None for a card never reviewed."""
    from datetime import timedelta

    from srs import scheduling

    if progress.state == "new" or not progress.stability or progress.last_review is None:
        return None
    elapsed = scheduling.elapsed_days(progress.last_review, when, settings) + days
    card = scheduling.to_fsrs(card_id, progress, when)
    return scheduling.scheduler(settings).get_card_retrievability(
        card, current_datetime=progress.last_review + timedelta(days=elapsed))


def next_outcomes(store: Store, card_id: int, when: datetime) -> dict:
    """What each rating would give now: the due time, the interval (whole learner days for a card that
    goes to review, else fractional days) and `interval_text`, what the review's button shows for it
    ("1d", "10m": `ReviewSession.show`'s texts, `scheduling.interval_text`). They are the states a review
    started now shows with the card (`ReviewSession.show`: the same fuzz seed and the deck's load
    balancer), so answering gives exactly these."""
    from srs import scheduling
    from srs.scheduling import Settings
    from srs.session import ReviewSession

    card = store.card(card_id)
    shown = ReviewSession(store, card.deck_id, now=lambda: when, read_only=True).show(card)
    settings = Settings.from_dict(store.deck_settings(card.deck_id))
    out = {}
    for rating, name in scheduling.RATINGS.items():
        after = shown.states[rating]
        days = scheduling.interval_days(settings, after)
        interval = days if days is not None else round((after.due - shown.at).total_seconds() / 86400, 6)
        out[name.lower()] = {"due": iso(clock.to_text(after.due)), "interval_days": interval,
                             "interval_text": shown.texts[rating]}
    return out
