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
def m006_learner_day_schedule(db) -> None:
    # Scheduling now counts learner days (what FSRS sees and what it gives, see srs.scheduling), draws
    # its own unbiased fuzz and orders Hard < Good < Easy: every studied card's state is recomputed by
    # replaying its log with the new scheduling and the settings in force (the deck's over the global
    # ones), and each review's state before it (prev_*), due_after and kind are rewritten to match.
    # The history itself (times, ratings, durations, choices) and suspended flags stay as they are.
    import json
    from datetime import datetime

    from srs.model import Review
    from srs.scheduling import replay

    conn = db.conn
    db.execute("DROP INDEX IF EXISTS reviews_stats")  # made anew below: not kept up to date meanwhile
    shared = {key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM settings")}
    for deck_id, own in conn.execute("SELECT id, settings FROM decks ORDER BY id").fetchall():
        values = {**shared, **json.loads(own or "{}")}
        cards = [row[0] for row in conn.execute(
            "SELECT card_id FROM card_state WHERE deck_id = ? AND reps > 0 ORDER BY card_id", (deck_id,))]
        for start in range(0, len(cards), 2000):
            chunk = cards[start:start + 2000]
            by_card: dict[int, list] = {}
            for review_id, card_id, at, rating, duration in conn.execute(
                    f"SELECT id, card_id, reviewed_at, rating, duration_ms FROM reviews WHERE card_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY card_id, reviewed_at, id", chunk):
                by_card.setdefault(card_id, []).append(
                    (review_id, Review(datetime.fromisoformat(at), rating, duration_ms=duration)))
            review_updates, state_updates = [], []
            for card_id, pairs in by_card.items():
                rows, state = replay(card_id, [review for _, review in pairs], values)
                for (review_id, _), row in zip(pairs, rows):
                    review_updates.append((row[3], row[7], *row[9:], review_id))
                state_updates.append((("new", "learning", "review", "relearning").index(state.state), state.step,
                                      state.stability, state.difficulty, _text(state.due),
                                      _text(state.last_review), state.reps, state.lapses, card_id))
            conn.executemany(
                "UPDATE reviews SET kind = ?, due_after = ?, prev_state = ?, prev_step = ?, prev_stability = ?, "
                "prev_difficulty = ?, prev_due = ?, prev_last_review = ?, prev_reps = ?, prev_lapses = ? "
                "WHERE id = ?", review_updates)
            conn.executemany(
                "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
                "last_review = ?, reps = ?, lapses = ? WHERE card_id = ?", state_updates)
    # srs stats now counts learner days between a review and the previous one (what FSRS saw): the index
    # it reads the whole log through also keeps both times in Unix seconds, so that no row is read for
    # them. The expressions match srs.stats exactly (a test checks).
    db.execute(
        "CREATE INDEX reviews_stats ON reviews (prev_state, rating, prev_stability, card_id, "
        "CAST(round((julianday(reviewed_at) - julianday(prev_last_review)) * 86400000) AS INTEGER), "
        "round((julianday(prev_due) - julianday(prev_last_review)) * 86400000), "
        "CAST(strftime('%s', reviewed_at) AS INTEGER), CAST(strftime('%s', prev_last_review) AS INTEGER))")


def _text(moment):
    from srs.clock import to_text

    return None if moment is None else to_text(moment)


@migration
def m007_held_out_and_reschedules(db) -> None:
    # the optimizer decides on a time-ordered held-out split: its figures are kept with each fitted set
    for column in ("log_loss_held_out_before", "rmse_bins_held_out_before", "log_loss_held_out_after",
                   "rmse_bins_held_out_after"):
        db["parameter_sets"].add_column(column, float)
    db["parameter_sets"].add_column("held_out_split", str)  # JSON: folds, train and test sizes
    # a change of FSRS parameters (adoption or reset) and the rescheduling it needs, done in short
    # transactions: the settings change first, then the cards in card-id order; `cursor` is the last
    # card rescheduled, so an interrupted job says which cards follow which set, and resumes
    db["reschedules"].create(
        {
            "id": int, "created_at": str,
            "deck_ids": str,  # JSON list of the decks whose cards follow the new set
            "reason": str,  # "adopt" or "reset"
            "parameter_set_id": int,  # the set adopted; NULL for a reset
            "old_parameters": str, "new_parameters": str,  # JSON lists; NULL: FSRS-6 defaults
            "max_review_id": int,  # answers after it were made while the job ran: their cards are replayed last
            "cursor": int,  # the last card id rescheduled
            "reviews_done": int,
            "finished_at": str,
        },
        pk="id",
        not_null={"created_at", "deck_ids", "reason", "max_review_id", "cursor", "reviews_done"},
        defaults={"cursor": 0, "reviews_done": 0},
    )


@migration
def m008_anki_states(db) -> None:
    # A buried card (Anki's queues -2/-3) is held out of review until a learner day starts:
    # card_state.suspended = 2 while `buried_until` (UTC) is in the future, so every queue read
    # (all of which ask for suspended = 0) skips it through the same indexes; the store brings
    # it back when it is opened after `buried_until` (as Anki unburies at the day rollover).
    db.execute("ALTER TABLE card_state ADD COLUMN buried_until TEXT")
    db.execute("CREATE INDEX card_state_buried ON card_state (buried_until) WHERE suspended = 2")
    # A card reset to new ("Forget" in Anki): its answers before this time stay in the log
    # but do not count toward its state (as in Anki and fsrs-rs).
    db.execute("ALTER TABLE card_state ADD COLUMN reset_at TEXT")
    # A review card's interval in days as Anki gave it, kept until srs schedules the card itself
    # (NULL then: the interval is the learner days from the last answer to the due day).
    db.execute("ALTER TABLE card_state ADD COLUMN interval_days INTEGER")
    # The Anki revlog id (Unix ms) of an answer imported from Anki, so that re-importing a
    # package merges each answer once.
    db.execute("ALTER TABLE reviews ADD COLUMN anki_id INTEGER")
    db.execute("CREATE INDEX reviews_anki_id ON reviews (card_id, anki_id) WHERE anki_id IS NOT NULL")


@migration
def m009_anki_render(db) -> None:
    # What a card's source hides behind a key until asked for (Anki's {{hint:Field}}), and the
    # answer it asks to type (Anki's {{type:Field}}), kept apart from the question and answer text.
    db.execute("ALTER TABLE cards ADD COLUMN hint TEXT")
    db.execute("ALTER TABLE cards ADD COLUMN typed_answer TEXT")
    # The last import of each Anki package (its bytes and the code that read them, hashed): the
    # same package imported again the same way changes nothing, so it is not read again.
    db["imported_packages"].create({"path": str, "fingerprint": str, "imported_at": str}, pk="path",
                                   not_null={"fingerprint", "imported_at"})


@migration
def m010_notes_and_media(db) -> None:
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


@migration
def m011_card_kinds(db) -> None:
    # Card kinds (srs.kinds): `ord` tells siblings apart (cloze number - 1; 1 for the reversed card
    # of a basic card), `images` maps a deck card's image paths to media names. Cards keep their ids
    # and histories; the kind of cards already imported from Anki is named as srs.kinds names it now:
    # "typed" for a card with an answer to type, "cloze" for a card of an Anki cloze note.
    columns = {row[1] for row in db.execute("PRAGMA table_info(cards)").fetchall()}
    if "ord" not in columns:
        db.execute("ALTER TABLE cards ADD COLUMN ord INTEGER NOT NULL DEFAULT 0")
    if "images" not in columns:
        db.execute("ALTER TABLE cards ADD COLUMN images TEXT")
    db.execute("UPDATE cards SET kind = 'typed' WHERE kind = 'basic' AND typed_answer IS NOT NULL")
    db.execute("UPDATE cards SET kind = 'cloze' WHERE kind = 'basic' AND id IN (SELECT cn.card_id FROM card_notes cn "
               "JOIN notes n ON n.id = cn.note_id JOIN note_types t ON t.id = n.note_type_id WHERE t.kind = 1)")


@migration
def m012_learner_tags_and_history_only(db) -> None:
    # Tags the learner gives with `srs tag` (JSON list), kept apart from the tags a source gives
    # (`cards.tags`, rewritten by every re-import), so that re-importing never drops them.
    db.execute("ALTER TABLE cards ADD COLUMN learner_tags TEXT")
    # The placeholder cards a review log brought (`srs import-history`, no content) become
    # history-only: retired = 2 keeps them out of review and status (see srs.history).
    for table, key in (("card_state", "card_id"), ("cards", "id")):
        db.execute(f"UPDATE {table} SET retired = 2 WHERE retired = 0 AND {key} IN (SELECT c.id FROM cards c "
                   "JOIN decks d ON d.id = c.deck_id WHERE d.name LIKE 'history: %' AND c.source_id IS NOT NULL "
                   "AND c.question = 'Card ' || c.source_id || ' (imported history)' AND coalesce(c.answer, '') = '')")
    # `srs stats`' sums of the log by learner day, before `upto` (the start of the day it was computed
    # on): kept while nothing before `upto` changes; these triggers empty it when something does.
    db.execute("CREATE TABLE stats_cache (key TEXT PRIMARY KEY, upto TEXT NOT NULL, days TEXT NOT NULL)")
    stale = "BEGIN DELETE FROM stats_cache; END"
    before = "(SELECT min(upto) FROM stats_cache)"
    db.execute(f"CREATE TRIGGER stats_cache_insert AFTER INSERT ON reviews WHEN NEW.reviewed_at < {before} {stale}")
    db.execute(f"CREATE TRIGGER stats_cache_delete AFTER DELETE ON reviews WHEN OLD.reviewed_at < {before} {stale}")
    db.execute(f"CREATE TRIGGER stats_cache_update AFTER UPDATE ON reviews WHEN OLD.reviewed_at < {before} "
               f"OR NEW.reviewed_at < {before} {stale}")
    db.execute(f"CREATE TRIGGER stats_cache_deck AFTER UPDATE OF deck_id ON card_state {stale}")


@migration
def m013_choice_formats(db) -> None:
    # Multiple choice that measures recall (issue 16): each review keeps the format its card was asked
    # in (`format`: "options", "recall_first" or "typed" for a choice card; "typed" for a typed card,
    # "recall" for basic and cloze cards; NULL for reviews logged before: a choice card was then always
    # asked with its options), and a choice card keeps the explanation of each option (`option_notes`,
    # JSON {option: note}).
    columns = {row[1] for row in db.execute("PRAGMA table_info(reviews)").fetchall()}
    if "format" not in columns:
        db.execute("ALTER TABLE reviews ADD COLUMN format TEXT")
    columns = {row[1] for row in db.execute("PRAGMA table_info(cards)").fetchall()}
    if "option_notes" not in columns:
        db.execute("ALTER TABLE cards ADD COLUMN option_notes TEXT")


@migration
def m014_flags_and_learner_tags(db) -> None:
    # Review's `f` flags a card (card_state.flag: 0 none, 1 flagged) and a leech is tagged `leech` in
    # cards.learner_tags (a JSON list of the learner's own tags, which no re-import touches). Either
    # column may already be there (another migration adds learner tags): added only when missing.
    state = {row[1] for row in db.execute("PRAGMA table_info(card_state)").fetchall()}
    if "flag" not in state:
        db.execute("ALTER TABLE card_state ADD COLUMN flag INTEGER NOT NULL DEFAULT 0")
    cards = {row[1] for row in db.execute("PRAGMA table_info(cards)").fetchall()}
    if "learner_tags" not in cards:
        db.execute("ALTER TABLE cards ADD COLUMN learner_tags TEXT")


@migration
def m015_card_origin(db) -> None:
    # The source that brought each card (`cards.origin`): a deck file's, lesson's or table's path, or an
    # Anki package's path (the same for all its decks). An import retires only cards of its own source, so
    # sources that share a deck name (Anki's "Default") never retire each other's cards. Backfilled from the
    # deck's source for the cards of a deck file, lesson or table (a card that is no Anki note's, in a deck
    # whose source is such a file). Anki notes' cards are left NULL (unknown: the next package that brings
    # one takes it, no import retires it): a v14 database keeps only the last source of a deck, and two
    # packages may have shared it (Anki's "Default"), so the deck's source may be another package's; giving
    # it would let that package's next import retire the first one's cards.
    import re

    columns = {row[1] for row in db.execute("PRAGMA table_info(cards)").fetchall()}
    if "origin" not in columns:
        db.execute("ALTER TABLE cards ADD COLUMN origin TEXT")
    unlinked = "NOT EXISTS (SELECT 1 FROM card_notes n WHERE n.card_id = cards.id)"
    for deck_id, source in db.execute("SELECT id, source FROM decks WHERE source IS NOT NULL").fetchall():
        if re.fullmatch(r"(.+\.(?:apkg|colpkg))#-?\d+", source, re.IGNORECASE):
            continue  # an Anki package's deck: its cards' packages are unknown
        db.execute(f"UPDATE cards SET origin = ? WHERE deck_id = ? AND origin IS NULL AND {unlinked}",
                   (source, deck_id))
    db.execute("CREATE INDEX IF NOT EXISTS cards_origin ON cards (origin)")
    # An Anki note's modification time (seconds, from the package): as Anki's importer, an import keeps
    # the stored note and its cards' text when the incoming note is older (an old backup after a newer one).
    # NULL for notes stored before: the next import's note is taken.
    if "mod" not in {row[1] for row in db.execute("PRAGMA table_info(notes)").fetchall()}:
        db.execute("ALTER TABLE notes ADD COLUMN mod INTEGER")


LATEST = len(MIGRATIONS)
