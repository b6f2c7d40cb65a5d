"""Read-outs of the store for people and scripts: status, the card list and the review log.

Each returns plain dicts and lists (what `--json` prints); the CLI formats them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator

from srs import clock
from srs.scheduling import Settings
from srs.store import KIND_NAMES, STATE_NAMES, Store

LOG_FIELDS = ["id", "card_id", "deck", "reviewed_at", "rating", "kind", "duration_ms", "choice", "correct"]


def iso(text: str | None) -> str | None:
    """Stored time text as ISO 8601 UTC with an explicit offset."""
    return None if text is None else text[:-1] + "+00:00"


def status(store: Store, now: datetime) -> dict:
    now_text = clock.to_text(now)
    decks = []
    conn = store.conn
    shared = store.global_settings()
    for deck in store.decks():
        settings = Settings.from_dict({**shared, **deck["settings"]})
        _, end = clock.day_bounds(now, settings.day_start_hour)
        def count(where: str, *args) -> int:  # each count is a range of the queue index
            return conn.execute(f"SELECT count(*) FROM card_state WHERE deck_id = ? AND retired = 0 AND {where}",
                                (deck["id"], *args)).fetchone()[0]

        live = "suspended = 0 AND state = ?"
        new = count(live, 0)
        learning = count(live, 1) + count(live, 3)
        due_now = sum(count(live + " AND due <= ?", state, now_text) for state in (1, 2, 3))
        due_today = sum(count(live + " AND due < ?", state, clock.to_text(end)) for state in (1, 2, 3))
        total = count("1")
        suspended = count("suspended = 1")
        unkeyed = conn.execute(
            "SELECT count(*) FROM cards WHERE deck_id = ? AND retired = 0 AND kind = 'choice' AND answer IS NULL",
            (deck["id"],)).fetchone()[0]
        decks.append({"deck": deck["name"], "new": new, "learning": learning, "due_now": due_now,
                      "due_today": due_today, "total": total, "suspended": suspended, "unkeyed": unkeyed})
    next_due = conn.execute(
        "SELECT min(due) FROM card_state WHERE retired = 0 AND suspended = 0 AND state > 0").fetchone()[0]
    return {"decks": decks, "next_due": iso(next_due)}


def card_objects(store: Store, deck_id: int | None = None) -> list[dict]:
    out = []
    shared = store.global_settings()
    hours: dict[int, int] = {}  # deck id -> its day start hour
    imported = store.imported_intervals(deck_id)  # Anki's own, for cards srs has not scheduled since
    for row in store.card_rows(deck_id):
        kind = row[2]
        interval = imported.get(row[0]) if row[10] == 2 else None
        if interval is None and row[10] == 2 and row[14] and row[15]:
            # a review card: whole learner days from the last answer to the due day
            hour = hours.get(row[19])
            if hour is None:
                own = store.deck_own_settings(row[19])
                hour = hours[row[19]] = Settings.from_dict({**shared, **own}).day_start_hour
            interval = (clock.day_number(clock.from_text(row[14]), hour)
                        - clock.day_number(clock.from_text(row[15]), hour))
        out.append({
            "id": row[0], "deck": row[1], "kind": kind, "question": row[3],
            "options": json.loads(row[4]) if row[4] else None,
            "answer": row[5] or None,  # an unknown key and a basic answer not written yet are both null
            "state": STATE_NAMES[row[10]], "due": iso(row[14]), "stability": row[12], "difficulty": row[13],
            "reps": row[16], "lapses": row[17], "suspended": row[18] == 1,
            "interval_days": interval, "buried": row[18] == 2,
        })
    return out


def log_objects(store: Store, deck_id: int | None = None) -> Iterator[dict]:
    for row in store.log_rows(deck_id):
        yield {"id": row[0], "card_id": row[1], "deck": row[2], "reviewed_at": iso(row[3]), "rating": row[4],
               "kind": KIND_NAMES[row[5]], "duration_ms": row[6], "choice": row[7],
               "correct": None if row[8] is None else bool(row[8])}
