"""The database schema, as numbered migrations applied in order when a database is opened.

Each migration is a small function registered with `@migration`; once released it is
never edited: a change to the schema is a new migration at the end of the list. The
schema version is `PRAGMA user_version` (the number of migrations applied) and each
applied migration is also recorded, with its time, in the `_srs_migrations` table.
"""

from __future__ import annotations

import os
import time
from typing import Callable

MIGRATIONS: list[Callable] = []

# Marks a file as an srs database (PRAGMA application_id): "SRS!"
APPLICATION_ID = 0x53525321


def migration(fn: Callable) -> Callable:
    """Register the next migration; it runs with its number recorded as the schema version."""
    number = len(MIGRATIONS) + 1

    def run(db) -> None:
        fn(db)
        if os.environ.get("SRS_SLOW_MIGRATIONS"):  # the crash tests widen the window to kill a migration in
            time.sleep(float(os.environ["SRS_SLOW_MIGRATIONS"]))
        db.execute(f"PRAGMA user_version = {number}")  # part of the migration's transaction

    run.__name__ = fn.__name__
    MIGRATIONS.append(run)
    return fn


def apply(conn) -> None:
    """Apply every pending migration to an open connection, each in its own transaction."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("srs")
    for fn in MIGRATIONS:
        migrations(name=fn.__name__)(fn)
    db = Database(conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    migrations.apply(db)



@migration
def m001_initial(db) -> None:
    db["decks"].create(
        {"id": int, "name": str, "source": str, "notes": str, "settings": str, "created_at": str},
        pk="id",
        not_null={"name", "settings", "created_at"},
        defaults={"settings": "{}"},
    )
    db["decks"].create_index(["name"], unique=True)
    db["cards"].create(
        {
            "id": int, "deck_id": int, "position": int, "kind": str, "question": str,
            "options": str,  # JSON list for choice cards, NULL for basic
            "answer": str,  # correct option text / basic answer; NULL while a choice key is unknown
            "key_source": str, "explanation": str, "source_id": str, "tags": str,
            "retired": int, "created_at": str, "updated_at": str,
        },
        pk="id",
        foreign_keys=[("deck_id", "decks", "id")],
        not_null={"deck_id", "position", "kind", "question", "retired", "created_at"},
        defaults={"retired": 0},
    )
    db["cards"].create_index(["deck_id", "position"])
    db["card_state"].create(
        {
            "card_id": int,
            # copied from cards, so that the queue and status read one table through its indexes
            "deck_id": int, "position": int, "retired": int,
            "state": int,  # 0 new (never reviewed), 1 learning, 2 review, 3 relearning
            "step": int, "stability": float, "difficulty": float,
            "due": str, "last_review": str,  # UTC, ISO 8601, fixed width
            "reps": int, "lapses": int, "suspended": int,
        },
        pk="card_id",
        foreign_keys=[("card_id", "cards", "id")],
        not_null={"deck_id", "position", "retired", "state", "reps", "lapses", "suspended"},
        defaults={"retired": 0, "state": 0, "reps": 0, "lapses": 0, "suspended": 0},
    )
    db["card_state"].create_index(["deck_id", "retired", "suspended", "state", "due"], "card_state_queue_due")
    db["card_state"].create_index(["deck_id", "retired", "suspended", "state", "position"], "card_state_queue_new")
    db["reviews"].create(
        {
            "id": int, "card_id": int, "reviewed_at": str, "rating": int,
            "kind": int,  # as Anki's revlog type: 0 learn, 1 review, 2 relearn
            "duration_ms": int, "choice": str, "correct": int, "due_after": str,
            "source": str,  # where the row came from: NULL for our own reviews, "anki", "csv"
            # the card's state before the answer, so that undo restores it exactly
            "prev_state": int, "prev_step": int, "prev_stability": float, "prev_difficulty": float,
            "prev_due": str, "prev_last_review": str, "prev_reps": int, "prev_lapses": int,
        },
        pk="id",
        foreign_keys=[("card_id", "cards", "id")],
        not_null={"card_id", "reviewed_at", "rating", "kind", "prev_state", "prev_reps", "prev_lapses"},
    )
    db["reviews"].create_index(["card_id", "reviewed_at"])
    db["reviews"].create_index(["reviewed_at", "kind", "rating"])
    db["cards"].create_index(["source_id"])
    db["settings"].create({"key": str, "value": str}, pk="key")


@migration
def m002_parameter_sets(db) -> None:
    # every FSRS parameter set fitted by 'srs optimize', adopted or not, with its metrics
    db["parameter_sets"].create(
        {
            "id": int, "created_at": str,
            "deck_id": int,  # the deck fitted; NULL when fitted on all decks together
            "parameters": str,  # JSON list (21 for FSRS-6)
            "reviews": int,  # reviews made a day or more after the card's previous one
            "optimizer": str,  # e.g. "fsrs-rs-python 0.9.3"
            # on the whole history: the set in force before, and this set
            "log_loss_before": float, "rmse_bins_before": float,
            "log_loss_after": float, "rmse_bins_after": float,
            "adopted": int,
        },
        pk="id",
        foreign_keys=[("deck_id", "decks", "id")],
        not_null={"created_at", "parameters", "reviews", "adopted"},
    )
    db["parameter_sets"].create_index(["deck_id", "created_at"])


@migration
def m003_read_out_indexes(db) -> None:
    # partial indexes so that status finds unkeyed cards and the next due card without a scan
    db.execute("CREATE INDEX cards_unkeyed ON cards (deck_id) WHERE kind = 'choice' AND answer IS NULL "
               "AND retired = 0")
    db.execute("CREATE INDEX card_state_next_due ON card_state (due) WHERE retired = 0 AND suspended = 0 "
               "AND state > 0")


@migration
def m004_stats_indexes(db) -> None:
    # srs stats reads the whole log through this index: the two time differences it needs
    # (elapsed since the previous answer, and the interval scheduled then, in ms) are kept in
    # it, so they are not parsed from text per row. The expressions match srs.stats exactly.
    db.execute(
        "CREATE INDEX reviews_stats ON reviews (prev_state, rating, prev_stability, card_id, "
        "CAST(round((julianday(reviewed_at) - julianday(prev_last_review)) * 86400000) AS INTEGER), "
        "round((julianday(prev_due) - julianday(prev_last_review)) * 86400000))")
    db.execute("CREATE INDEX reviews_wrong_choices ON reviews (card_id, choice) WHERE correct = 0")


@migration
def m005_todays_answers_index(db) -> None:
    # the review queue counts today's own answers per deck on every card; this index lets it
    # read just today's rows instead of probing the log for every card of the deck
    db.execute("CREATE INDEX reviews_own_by_time ON reviews (reviewed_at, card_id, prev_state, kind) "
               "WHERE source IS NULL")


@migration
def m006_notes_and_media(db) -> None:
    # Anki notes kept whole (guid, note type, raw fields, tags), so that export writes them back
    # as the same notes; card_notes links a card to its note and its ord
    db["note_types"].create(
        {
            "id": int,
            "anki_id": int,  # Anki's note type id, written back as is
            "key": str,  # sha256 of the whole definition: one row per distinct note type
            "name": str, "kind": int,  # 0 standard, 1 cloze
            "fields": str,  # JSON list of field names
            "templates": str,  # JSON list of [name, question format, answer format]
            "css": str, "sort_field": int,
        },
        pk="id",
        not_null={"anki_id", "key", "name", "kind", "fields", "templates"},
    )
    db["note_types"].create_index(["key"], unique=True)
    db["notes"].create(
        {
            "id": int, "guid": str, "note_type_id": int,
            "fields": str,  # JSON list of the raw (HTML) field values
            "tags": str,  # JSON list
            "media": str,  # JSON list of the media file names the note references
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("note_type_id", "note_types", "id")],
        not_null={"guid", "note_type_id", "fields"},
    )
    db["notes"].create_index(["guid"], unique=True)
    db["card_notes"].create(
        {"card_id": int, "note_id": int, "ord": int},  # ord: the card's template, or cloze number - 1
        pk="card_id",
        foreign_keys=[("card_id", "cards", "id"), ("note_id", "notes", "id")],
        not_null={"note_id", "ord"},
    )
    db["card_notes"].create_index(["note_id"])
    # media files by the name notes reference them: stored content-addressed in <db>.media/
    # (source: the package the name was last read from, so an unchanged re-import need not read it again)
    db["media"].create({"name": str, "file": str, "sha256": str, "size": int, "source": str, "added_at": str},
                       pk="name", not_null={"file", "sha256", "size"})


LATEST = len(MIGRATIONS)
