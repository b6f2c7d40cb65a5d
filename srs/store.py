"""The store: one SQLite file holding decks, cards, their FSRS state and the review log.

Opening a store checks that the file is an srs database this version understands,
applies pending migrations (after copying the file aside) and sets WAL mode. Every
write is one short transaction (`BEGIN IMMEDIATE` ... `COMMIT`), so a killed process
or a second session never leaves a half-written change behind.

The hot paths (status, the review queue, recording an answer) use plain `sqlite3`;
`sqlite_utils` is imported only to create or migrate the schema.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from srs.clock import from_text, to_text
from srs.model import CardSpec, DeckSpec, NoteSpec, NoteType, Progress, Review, SrsError, StoredCard

STATE_NAMES = ("new", "learning", "review", "relearning")
KIND_NAMES = ("learn", "review", "relearn")
BUSY_TIMEOUT_MS = 10_000


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("srs", appauthor=False) / "srs.db"


@dataclass
class ImportResult:
    deck: str
    source: str | None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    unkeyed: int = 0
    histories: int = 0  # cards whose review history came with the source
    report: dict = field(default_factory=dict)


class Store:
    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        self._checkpointer = None  # a background WAL checkpoint (review sessions), if one runs
        if self.path.is_dir():
            raise SrsError("is a directory, not a database file", str(self.path))
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if fresh and not create:
            raise SrsError("no such database", str(self.path))
        if fresh:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise SrsError(f"cannot create the database folder: {error.strerror}", str(self.path)) from None
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            self._check_and_migrate(fresh)
        except sqlite3.DatabaseError as error:
            raise SrsError(f"not a usable srs database ({error})", str(self.path)) from None

    # -- opening -------------------------------------------------------------------

    def _check_and_migrate(self, fresh: bool) -> None:
        from srs.migrations import APPLICATION_ID, LATEST

        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (tables or app_id):
            raise SrsError("not an srs database (it is some other SQLite file); choose another --db", str(self.path))
        if version > LATEST:
            raise SrsError(
                f"made by a newer srs (schema version {version}; this srs knows up to {LATEST}); "
                "upgrade srs to open it", str(self.path))
        if version < LATEST:
            if version > 0:
                self._backup(version)
            from srs.migrations import apply

            conn.execute("PRAGMA journal_mode = WAL")
            apply(conn)
        else:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MB of page cache, used only as needed
        conn.execute("PRAGMA foreign_keys = ON")

    def _backup(self, version: int) -> None:
        """Keep a copy of the database as it was before migrating it."""
        target = self.path.with_name(f"{self.path.name}.v{version}.bak")
        copy = sqlite3.connect(target)
        try:
            self.conn.backup(copy)
        finally:
            copy.close()

    def close(self) -> None:
        self.wait_for_checkpoint()
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back entirely on any error or interruption."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that see one state of the database (a read transaction), as an export needs."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")

    # -- settings --------------------------------------------------------------------

    def global_settings(self) -> dict:
        rows = self.conn.execute("SELECT key, value FROM settings").fetchall()
        return {key: json.loads(value) for key, value in rows}

    def set_global_setting(self, key: str, value) -> None:
        with self.write():
            self._set_setting(None, key, value)

    def decks(self) -> list[dict]:
        rows = self.conn.execute("SELECT id, name, source, notes, settings FROM decks ORDER BY name").fetchall()
        return [{"id": r[0], "name": r[1], "source": r[2], "notes": r[3], "settings": json.loads(r[4])} for r in rows]

    def deck_id(self, name: str) -> int:
        row = self.conn.execute("SELECT id FROM decks WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = self.conn.execute("SELECT id FROM decks WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if row is None:
            known = ", ".join(d["name"] for d in self.decks()) or "none yet; run 'srs import'"
            raise SrsError(f"no deck named {name!r} (decks: {known})")
        return row[0]

    def deck_settings(self, deck_id: int) -> dict:
        """The settings in force for a deck: its own over the global ones (over defaults, in scheduling)."""
        return {**self.global_settings(), **self.deck_own_settings(deck_id)}

    def deck_own_settings(self, deck_id: int) -> dict:
        """The settings a deck sets itself (not inherited from the global ones)."""
        return json.loads(self.conn.execute("SELECT settings FROM decks WHERE id = ?", (deck_id,)).fetchone()[0])

    def set_deck_setting(self, deck_id: int, key: str, value) -> None:
        with self.write():
            self._set_setting(deck_id, key, value)

    def _set_setting(self, deck_id: int | None, key: str, value) -> None:
        """Set a deck's setting (a global one when `deck_id` is None), inside the caller's transaction."""
        if deck_id is None:
            self.conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))
            return
        settings = json.loads(self.conn.execute("SELECT settings FROM decks WHERE id = ?", (deck_id,)).fetchone()[0])
        settings[key] = value
        self.conn.execute("UPDATE decks SET settings = ? WHERE id = ?", (json.dumps(settings), deck_id))

    # -- import ----------------------------------------------------------------------

    def sync_decks(self, specs: list[DeckSpec], now: datetime, media: list[tuple] = ()) -> list[ImportResult]:
        """Bring the store in line with the given decks, all in one transaction (with the names of
        the media files their notes reference: (name, stored file, sha256, size, source), see `srs.media`)."""
        with self.write():
            self._record_media(media, now)
            results = [self._sync_deck(spec, now) for spec in specs]
        return results

    def _sync_deck(self, spec: DeckSpec, now: datetime) -> ImportResult:
        from srs.matching import match_cards

        conn = self.conn
        stamp = to_text(now)
        row = conn.execute("SELECT id FROM decks WHERE name = ?", (spec.name,)).fetchone()
        if row is None and spec.source:
            row = conn.execute("SELECT id FROM decks WHERE source = ?", (spec.source,)).fetchone()
        if row is None:
            deck_id = conn.execute(
                "INSERT INTO decks (name, source, notes, settings, created_at) VALUES (?, ?, ?, '{}', ?)",
                (spec.name, spec.source, spec.notes, stamp)).lastrowid
        else:
            deck_id = row[0]
            conn.execute("UPDATE decks SET name = ?, source = coalesce(?, source), notes = ? WHERE id = ?",
                         (spec.name, spec.source, spec.notes, deck_id))
        if self.deck_own_settings(deck_id).get("html", False) != spec.html:
            self._set_setting(deck_id, "html", spec.html)  # the deck file decides whether its text is HTML
        result = ImportResult(deck=spec.name, source=spec.source, report=dict(spec.report))
        existing = [
            _Existing(*r) for r in conn.execute(
                "SELECT id, kind, question, options, answer, key_source, explanation, source_id, tags, retired, position "
                "FROM cards WHERE deck_id = ? ORDER BY position", (deck_id,))
        ]
        pairs = match_cards(spec.cards, existing)
        updates, inserts, moves, histories = [], [], [], []
        for position, card in enumerate(spec.cards):
            old = pairs.get(position)
            if old is None:
                inserts.append((position, card))
                continue
            answer, key_source = card.answer, card.key_source
            if not answer and old.answer and old.key_source == "learner" and (
                    card.options is None or old.answer in card.options):
                answer, key_source = old.answer, old.key_source  # what the learner gave survives re-import
            new = (card.kind, card.question, _json(card.options), answer, key_source, card.explanation,
                   card.source_id, _json(card.tags or None))
            if new != (old.kind, old.question, old.options, old.answer, old.key_source, old.explanation,
                       old.source_id, old.tags) or old.retired:
                updates.append((*new, position, stamp, old.id))
                result.updated += 1
            else:
                result.unchanged += 1
                if old.position != position:
                    moves.append((position, old.id))
            if card.options is not None and answer is None:
                result.unkeyed += 1
            if card.reviews:
                histories.append((old.id, card.reviews))
        conn.executemany(
            "UPDATE cards SET kind = ?, question = ?, options = ?, answer = ?, key_source = ?, explanation = ?, "
            "source_id = ?, tags = ?, position = ?, updated_at = ?, retired = 0 WHERE id = ?", updates)
        conn.executemany("UPDATE cards SET position = ? WHERE id = ?", moves)
        conn.executemany("UPDATE card_state SET position = ?, retired = 0 WHERE card_id = ?",
                         [(u[8], u[10]) for u in updates] + moves)
        for card_id, reviews in histories:  # a history for a card that has none yet (e.g. --with-progress later)
            if conn.execute("SELECT NOT EXISTS (SELECT 1 FROM reviews WHERE card_id = ?)", (card_id,)).fetchone()[0]:
                self._insert_history(card_id, reviews)
                result.histories += 1
        matched = {old.id for old in pairs.values()}
        gone = [] if spec.partial else [
            (old.id,) for old in existing if old.id not in matched and not old.retired]
        conn.executemany("UPDATE cards SET retired = 1, updated_at = ? WHERE id = ?", [(stamp, g[0]) for g in gone])
        conn.executemany("UPDATE card_state SET retired = 1 WHERE card_id = ?", gone)
        result.retired = len(gone)
        for position, card in inserts:
            card_id = conn.execute(
                "INSERT INTO cards (deck_id, position, kind, question, options, answer, key_source, explanation, "
                "source_id, tags, retired, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (deck_id, position, card.kind, card.question, _json(card.options), card.answer, card.key_source,
                 card.explanation, card.source_id, _json(card.tags or None), stamp, stamp)).lastrowid
            conn.execute("INSERT INTO card_state (card_id, deck_id, position) VALUES (?, ?, ?)",
                         (card_id, deck_id, position))
            if card.reviews:
                self._insert_history(card_id, card.reviews)
                result.histories += 1
            if card.options is not None and card.answer is None:
                result.unkeyed += 1
        result.added = len(inserts)
        self._link_notes(deck_id, spec, stamp)
        return result

    def _insert_history(self, card_id: int, reviews: list[Review]) -> None:
        """Add a history a source brought (Anki, CSV) and recompute the card's state from it."""
        from srs.scheduling import replay

        settings = self.deck_settings(self.conn.execute(
            "SELECT deck_id FROM card_state WHERE card_id = ?", (card_id,)).fetchone()[0])
        rows, progress = replay(card_id, reviews, settings)
        self.conn.executemany(
            "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, due_after, source, "
            "prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, prev_reps, prev_lapses) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._write_progress(card_id, progress)

    def _write_progress(self, card_id: int, p: Progress) -> None:
        self.conn.execute(
            "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, last_review = ?, "
            "reps = ?, lapses = ?, suspended = ? WHERE card_id = ?",
            (STATE_NAMES.index(p.state), p.step, p.stability, p.difficulty, _t(p.due), _t(p.last_review),
             p.reps, p.lapses, int(p.suspended), card_id))

    # -- cards -----------------------------------------------------------------------

    _CARD_SQL = (
        "SELECT c.id, d.name, c.kind, c.question, c.options, c.answer, c.key_source, c.explanation, c.source_id, "
        "c.tags, s.state, s.step, s.stability, s.difficulty, s.due, s.last_review, s.reps, s.lapses, s.suspended, "
        "c.deck_id FROM cards c JOIN decks d ON d.id = c.deck_id JOIN card_state s ON s.card_id = c.id ")

    def card(self, card_id: int) -> StoredCard:
        row = self.conn.execute(self._CARD_SQL + "WHERE c.id = ?", (card_id,)).fetchone()
        if row is None:
            raise SrsError(f"no card with id {card_id}")
        return _stored(row)

    def cards(self, deck_id: int | None = None, *, include_retired: bool = False,
              with_reviews: bool = False) -> Iterator[StoredCard]:
        where, args = ["1"], []
        if deck_id is not None:
            where.append("c.deck_id = ?")
            args.append(deck_id)
        if not include_retired:
            where.append("c.retired = 0")
        sql = self._CARD_SQL + "WHERE " + " AND ".join(where) + " ORDER BY d.name, c.position"
        for row in self.conn.execute(sql, args).fetchall():
            card = _stored(row)
            if with_reviews:
                card.reviews = self.reviews_of(card.id)
            yield card

    def card_rows(self, deck_id: int | None = None) -> list[tuple]:
        """Raw rows for bulk read-outs (`srs cards --json`), in the column order of _CARD_SQL."""
        where, args = "c.retired = 0", []
        if deck_id is not None:
            where += " AND c.deck_id = ?"
            args.append(deck_id)
        return self.conn.execute(self._CARD_SQL + "WHERE " + where + " ORDER BY d.name, c.position", args).fetchall()

    def bulk_cards(self, deck_id: int | None = None) -> Iterator[StoredCard]:
        """The cards of `card_rows` (as `cards` gives them), read at once for bulk work (export)."""
        return (_stored(row) for row in self.card_rows(deck_id))

    def reviews_of(self, card_id: int) -> list[Review]:
        rows = self.conn.execute(
            "SELECT reviewed_at, rating, kind, duration_ms, choice, correct, due_after FROM reviews "
            "WHERE card_id = ? ORDER BY reviewed_at, id", (card_id,)).fetchall()
        return [Review(from_text(r[0]), r[1], KIND_NAMES[r[2]], r[3], r[4], None if r[5] is None else bool(r[5]),
                       from_text(r[6]), card_id) for r in rows]

    def review_rows(self, deck_ids: list[int] | None = None) -> Iterator[tuple]:
        """Every answer to the non-retired cards (of these decks), in one query, by card then time (for export):
        (card_id, reviewed_at, rating, kind, duration_ms, due_after, prev_difficulty), times in Unix microseconds."""
        sql = (f"SELECT r.card_id, {_US.format('r.reviewed_at')}, r.rating, r.kind, r.duration_ms, "
               f"{_US.format('r.due_after')}, r.prev_difficulty "
               "FROM reviews r CROSS JOIN cards c ON c.id = r.card_id WHERE c.retired = 0")  # in index order, no sort
        args: list = []
        if deck_ids is not None:
            sql += f" AND c.deck_id IN ({', '.join('?' * len(deck_ids))})"
            args = list(deck_ids)
        return self.conn.execute(sql + " ORDER BY r.card_id, r.reviewed_at, r.id", args)

    def review_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]

    def log_rows(self, deck_id: int | None = None) -> Iterator[tuple]:
        sql = ("SELECT r.id, r.card_id, d.name, r.reviewed_at, r.rating, r.kind, r.duration_ms, r.choice, r.correct "
               "FROM reviews r JOIN cards c ON c.id = r.card_id JOIN decks d ON d.id = c.deck_id ")
        args: list = []
        if deck_id is not None:
            sql += "WHERE c.deck_id = ? "
            args.append(deck_id)
        return self.conn.execute(sql + "ORDER BY r.reviewed_at, r.id", args)

    # -- the review queue (the session's policy picks among these; each reads a queue index) --

    _ACTIVE = "FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 AND "

    def answered_by_deck(self, start: str, end: str) -> dict[int, tuple[int, int]]:
        """Per deck, (new cards introduced, reviews made) between two stored times, own answers only."""
        # today's own answers first (index reviews_own_by_time), then their cards' deck: the cost is
        # that of one day's answers, not of the collection's size
        rows = self.conn.execute(
            "SELECT s.deck_id, sum(r.prev_state = 0), sum(r.kind = 1) FROM reviews r "
            "CROSS JOIN card_state s ON s.card_id = r.card_id WHERE r.source IS NULL AND r.reviewed_at >= ? "
            "AND r.reviewed_at < ? GROUP BY s.deck_id", (start, end))
        return {deck_id: (new, reviews) for deck_id, new, reviews in rows}

    def hold_checkpoints(self) -> None:
        """For a review session: no WAL checkpoint inside an answer's commit (it can take tens of ms).
        The answers are as safe in the WAL; `checkpoint` folds them into the database file later."""
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        """Fold the WAL into the database file now, and let commits checkpoint again as usual."""
        self.wait_for_checkpoint()
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.conn.execute("PRAGMA wal_autocheckpoint = 1000")

    def checkpoint_in_background(self) -> None:
        """Fold the WAL into the database file from a thread of its own (its own connection), so that
        the learner's next answer does not wait for it. A PASSIVE checkpoint never blocks a writer."""
        import threading

        if self._checkpointer is not None and self._checkpointer.is_alive():
            return

        def run() -> None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # the next checkpoint (or the next session's) catches up
            finally:
                conn.close()

        self._checkpointer = threading.Thread(target=run, name="srs-checkpoint", daemon=True)
        self._checkpointer.start()

    def wait_for_checkpoint(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None

    def first_learning(self, deck_id: int) -> tuple[str, int] | None:
        """(due, card_id) of the deck's (re)learning card due first, due or not."""
        rows = [self.conn.execute(  # one index range per state: no sort, however many are learning
            "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            "AND state = ? ORDER BY due LIMIT 1", (deck_id, state)).fetchone() for state in (1, 3)]
        return min((row for row in rows if row), default=None)

    def first_due_review(self, deck_id: int, before: str) -> tuple[str, int] | None:
        """(due, card_id) of the deck's most overdue review card due before a stored time."""
        return self.conn.execute(
            "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            "AND state = 2 AND due < ? ORDER BY due LIMIT 1", (deck_id, before)).fetchone()

    def first_new(self, deck_id: int) -> tuple[int, int] | None:
        """(position, card_id) of the deck's first new card in deck order."""
        return self.conn.execute(
            "SELECT position, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            "AND state = 0 ORDER BY position LIMIT 1", (deck_id,)).fetchone()

    def count_new(self, deck_id: int, limit: int) -> int:
        """The deck's new cards, counted up to `limit` at most."""
        return self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 {self._ACTIVE} state = 0 LIMIT ?)", (deck_id, limit)).fetchone()[0]

    def count_due_reviews(self, deck_id: int, before: str, limit: int) -> int:
        """The deck's review cards due before a stored time, counted up to `limit` at most."""
        return self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 {self._ACTIVE} state = 2 AND due < ? LIMIT ?)",
            (deck_id, before, limit)).fetchone()[0]

    def count_due_learning(self, deck_id: int, before: str) -> int:
        """The deck's learning and relearning cards due before a stored time (one index range per state)."""
        return sum(self.conn.execute(
            f"SELECT count(*) {self._ACTIVE} state = ? AND due < ?", (deck_id, state, before)).fetchone()[0]
            for state in (1, 3))

    def next_due(self, deck_ids: list[int]) -> datetime | None:
        """When the first studied (not new) card of these decks is due; None when there is none."""
        marks = ",".join("?" * len(deck_ids)) or "NULL"
        row = self.conn.execute(
            f"SELECT min(due) FROM card_state WHERE deck_id IN ({marks}) AND retired = 0 AND suspended = 0 "
            "AND state > 0", deck_ids).fetchone()
        return from_text(row[0])

    # -- answers ---------------------------------------------------------------------

    def record_answer(self, card_id: int, before: Progress, review: Review, after: Progress) -> int | None:
        """Log an answer and store the card's new state, in one transaction.

        Returns the review's id, or None when the card changed since `before` was read
        (another session answered it first): nothing is written then.
        """
        with self.write() as conn:
            current = conn.execute("SELECT reps, suspended FROM card_state WHERE card_id = ?", (card_id,)).fetchone()
            if current is None or current[0] != before.reps:
                return None
            review_id = conn.execute(
                "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, due_after, "
                "prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, prev_reps, "
                "prev_lapses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (card_id, to_text(review.reviewed_at), review.rating, KIND_NAMES.index(review.kind),
                 review.duration_ms, review.choice, None if review.correct is None else int(review.correct),
                 _t(after.due), STATE_NAMES.index(before.state), before.step, before.stability, before.difficulty,
                 _t(before.due), _t(before.last_review), before.reps, before.lapses)).lastrowid
            self._write_progress(card_id, after)
        return review_id

    def undo_answer(self, review_id: int) -> int | None:
        """Remove a logged answer and restore the card exactly as it was before it.

        Only the card's latest answer can be undone; returns the card id, or None.
        """
        with self.write() as conn:
            row = conn.execute(
                "SELECT card_id, prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, "
                "prev_reps, prev_lapses FROM reviews WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                return None
            card_id = row[0]
            reps = conn.execute("SELECT reps FROM card_state WHERE card_id = ?", (card_id,)).fetchone()[0]
            if reps != row[7] + 1:
                return None  # answered again since (in another session)
            conn.execute(
                "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, last_review = ?, "
                "reps = ?, lapses = ? WHERE card_id = ?", (*row[1:], card_id))
            conn.execute("DELETE FROM reviews WHERE id = ?", (review_id,))
        return card_id

    def set_suspended(self, card_ids: int | list[int], suspended: bool = True) -> None:
        """Suspend (or unsuspend) cards, all or none: an unknown id changes nothing."""
        ids = [card_ids] if isinstance(card_ids, int) else list(card_ids)
        with self.write() as conn:
            for card_id in ids:
                if conn.execute("UPDATE card_state SET suspended = ? WHERE card_id = ?",
                                (int(suspended), card_id)).rowcount == 0:
                    raise SrsError(f"no card with id {card_id} (see 'srs cards')")

    def set_answer(self, card_id: int, answer: str, key_source: str = "learner") -> None:
        """Record the key of a choice card (or the answer of a basic one) given by the learner."""
        with self.write() as conn:
            conn.execute("UPDATE cards SET answer = ?, key_source = ?, updated_at = updated_at WHERE id = ?",
                         (answer, key_source, card_id))

    def unkeyed_cards(self, deck_id: int | None = None, *, blank_answers: bool = False) -> list[StoredCard]:
        """Choice cards whose key is unknown (and, if asked, basic cards with no answer yet)."""
        sql = self._CARD_SQL + "WHERE c.retired = 0 AND ((c.kind = 'choice' AND c.answer IS NULL)"
        sql += " OR (c.kind = 'basic' AND coalesce(c.answer, '') = ''))" if blank_answers else ")"
        args: list = []
        if deck_id is not None:
            sql += " AND c.deck_id = ?"
            args.append(deck_id)
        return [_stored(r) for r in self.conn.execute(sql + " ORDER BY d.name, c.position", args)]


    # -- FSRS parameters: the optimizer's reads, its record and the rescheduling ----------

    def count_reviews(self, deck_ids: list[int] | None = None) -> int:
        """Answers to the cards of these decks (of all decks when None)."""
        if deck_ids is None:
            return self.conn.execute("SELECT count(*) FROM reviews r JOIN cards c ON c.id = r.card_id").fetchone()[0]
        if not deck_ids:
            return 0
        return self.conn.execute(
            f"SELECT count(*) FROM reviews r JOIN cards c ON c.id = r.card_id WHERE c.deck_id IN "
            f"({','.join('?' * len(deck_ids))})", deck_ids).fetchone()[0]

    def history_rows(self, deck_id: int | None = None) -> Iterator[tuple]:
        """Every answer of a deck (of all decks when None) by card then time:
        (card_id, deck_id, reviewed_at in Unix seconds, rating, reviewed_at as stored)."""
        where, args = ("WHERE c.deck_id = ? ", (deck_id,)) if deck_id is not None else ("", ())
        return self.conn.execute(
            "SELECT r.card_id, c.deck_id, CAST(strftime('%s', r.reviewed_at) AS INTEGER), r.rating, r.reviewed_at "
            f"FROM reviews r JOIN cards c ON c.id = r.card_id {where}ORDER BY r.card_id, r.reviewed_at, r.id", args)

    def studied_card_rows(self, deck_id: int | None = None) -> list[tuple]:
        """Active studied cards with a memory state: (card_id, deck_id, stability, difficulty, due and
        last_review in Unix seconds, lapses)."""
        scope, args = ("s.deck_id = ?", (deck_id,)) if deck_id is not None else ("1", ())
        return self.conn.execute(
            "SELECT s.card_id, s.deck_id, s.stability, s.difficulty, CAST(strftime('%s', s.due) AS INTEGER), "
            "CAST(strftime('%s', s.last_review) AS INTEGER), s.lapses FROM card_state s WHERE " + scope +
            " AND s.retired = 0 AND s.suspended = 0 AND s.state > 0 AND s.stability > 0", args).fetchall()

    def new_card_counts(self, deck_id: int | None = None) -> dict[int, int]:
        """Active new cards by deck id."""
        scope, args = ("s.deck_id = ?", (deck_id,)) if deck_id is not None else ("1", ())
        return dict(self.conn.execute(
            f"SELECT s.deck_id, count(*) FROM card_state s WHERE {scope} AND s.retired = 0 AND s.suspended = 0 "
            "AND s.state = 0 GROUP BY s.deck_id", args).fetchall())

    def answer_tallies(self, deck_id: int | None, max_answer_ms: int) -> tuple[dict, dict, dict]:
        """From the log of a deck (all decks when None): answers by rating of first answers, answers by rating of
        passed reviews, and {(kind, rating): (answers, mean seconds)} of timed answers, times capped."""
        join, args = ("JOIN cards c ON c.id = r.card_id WHERE c.deck_id = ? AND", (deck_id,)) \
            if deck_id is not None else ("WHERE", ())
        first = dict(self.conn.execute(
            f"SELECT r.rating, count(*) FROM reviews r {join} r.prev_reps = 0 GROUP BY r.rating", args).fetchall())
        passed = dict(self.conn.execute(
            f"SELECT r.rating, count(*) FROM reviews r {join} r.kind = 1 AND r.rating > 1 GROUP BY r.rating",
            args).fetchall())
        seconds = {(kind, rating): (count, mean) for kind, rating, count, mean in self.conn.execute(
            f"SELECT r.kind, r.rating, count(*), avg(min(r.duration_ms, {max_answer_ms})) / 1000.0 FROM reviews r "
            f"{join} r.duration_ms > 0 GROUP BY r.kind, r.rating", args)}
        return first, passed, seconds

    def parameter_sets(self, deck_id: int | None = None) -> list[dict]:
        """Every fitted set of a scope (a deck, or the global scope when None), oldest first."""
        where, args = ("deck_id = ?", (deck_id,)) if deck_id is not None else ("deck_id IS NULL", ())
        rows = self.conn.execute(
            "SELECT created_at, parameters, reviews, optimizer, log_loss_before, rmse_bins_before, log_loss_after, "
            f"rmse_bins_after, adopted FROM parameter_sets WHERE {where} ORDER BY id", args).fetchall()
        return [{"created_at": r[0], "parameters": json.loads(r[1]), "reviews": r[2], "optimizer": r[3],
                 "before": {"log_loss": r[4], "rmse_bins": r[5]}, "after": {"log_loss": r[6], "rmse_bins": r[7]},
                 "adopted": bool(r[8])} for r in rows]

    def record_parameter_set(self, now: datetime, deck_id: int | None, parameters: list[float], reviews: int,
                             optimizer: str, before: dict, after: dict, adopted: bool) -> None:
        """Keep a fitted set with its metrics. Inside the caller's `write()` (with `adopt_parameters`)."""
        self._in_write()
        self.conn.execute(
            "INSERT INTO parameter_sets (created_at, deck_id, parameters, reviews, optimizer, log_loss_before, "
            "rmse_bins_before, log_loss_after, rmse_bins_after, adopted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (to_text(now), deck_id, json.dumps(parameters), reviews, optimizer, before["log_loss"],
             before["rmse_bins"], after["log_loss"], after["rmse_bins"], int(adopted)))

    def adopt_parameters(self, deck_id: int | None, parameters: list[float]) -> None:
        """Make a set the deck's (the global one when None). Inside the caller's `write()`, with `reschedule`."""
        self._in_write()
        self._set_setting(deck_id, "parameters", parameters)

    def reschedule(self, decks: list[tuple[int, dict]], done: Callable[[int], None] | None = None) -> int:
        """Replay each reviewed card of each (deck id, settings) with `fsrs`; rewrite its state and its reviews'
        `prev_*` state and `due_after` (the history itself stays). Inside the caller's `write()`, 2,000 cards at a
        time; `done` is told the reviews replayed so far after each chunk. Returns the reviews replayed."""
        from srs.scheduling import replay

        self._in_write()
        conn = self.conn
        count = 0
        for deck_id, values in decks:
            cards = [row[0] for row in conn.execute(
                "SELECT card_id FROM card_state WHERE deck_id = ? AND reps > 0 ORDER BY card_id", (deck_id,))]
            for start in range(0, len(cards), 2000):
                chunk = cards[start:start + 2000]
                by_card: dict[int, list] = {}
                for review_id, card_id, at, rating, duration, kind in conn.execute(
                        f"SELECT id, card_id, reviewed_at, rating, duration_ms, kind FROM reviews WHERE card_id IN "
                        f"({','.join('?' * len(chunk))}) ORDER BY card_id, reviewed_at, id", chunk):
                    by_card.setdefault(card_id, []).append(
                        (review_id, kind, Review(datetime.fromisoformat(at), rating, duration_ms=duration)))
                review_updates, kind_updates, state_updates = [], [], []
                for card_id, triples in by_card.items():
                    rows, state = replay(card_id, [review for _, _, review in triples], values)
                    for (review_id, kind, _), row in zip(triples, rows):
                        review_updates.append((row[7], *row[9:], review_id))
                        if row[3] != kind:  # rare: kind is indexed, so it is only written when it changes
                            kind_updates.append((row[3], review_id))
                    state_updates.append((STATE_NAMES.index(state.state), state.step, state.stability,
                                          state.difficulty, _t(state.due), _t(state.last_review), state.reps,
                                          state.lapses, card_id))
                conn.executemany(
                    "UPDATE reviews SET due_after = ?, prev_state = ?, prev_step = ?, prev_stability = ?, "
                    "prev_difficulty = ?, prev_due = ?, prev_last_review = ?, prev_reps = ?, prev_lapses = ? "
                    "WHERE id = ?", review_updates)
                conn.executemany("UPDATE reviews SET kind = ? WHERE id = ?", kind_updates)
                conn.executemany(
                    "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
                    "last_review = ?, reps = ?, lapses = ? WHERE card_id = ?", state_updates)
                count += len(review_updates)
                if done:
                    done(count)
        return count

    # -- notes and media (Anki notes kept whole; see srs.media) ---------------------------

    def _record_media(self, rows: list[tuple], now: datetime) -> None:
        """(name, stored file, sha256, size, source package) rows: one file per name, the latest read."""
        stamp = to_text(now)
        self.conn.executemany(
            "INSERT INTO media (name, file, sha256, size, source, added_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET file = excluded.file, sha256 = excluded.sha256, size = excluded.size, "
            "source = excluded.source, added_at = CASE WHEN media.sha256 = excluded.sha256 THEN media.added_at "
            "ELSE excluded.added_at END", [(*row, stamp) for row in rows])

    def _link_notes(self, deck_id: int, spec: DeckSpec, stamp: str) -> None:
        """Keep the notes of the deck's cards (guid, note type, fields, tags) and link each card to its note."""
        conn = self.conn
        noted = [card for card in spec.cards if card.note is not None and card.source_id]
        if not noted:
            return
        rows = {source_id: (card_id, note_id, ord_) for card_id, source_id, note_id, ord_ in conn.execute(
            "SELECT c.id, c.source_id, n.note_id, n.ord FROM cards c LEFT JOIN card_notes n ON n.card_id = c.id "
            "WHERE c.deck_id = ? AND c.source_id IS NOT NULL", (deck_id,))}
        type_ids: dict[int, int] = {}
        note_ids: dict[str, int] = {}
        links = []
        for card in noted:
            note = card.note
            note_id = note_ids.get(note.guid)
            if note_id is None:
                key = id(note.note_type)
                if key not in type_ids:
                    type_ids[key] = self._note_type_id(note.note_type)
                note_id = note_ids[note.guid] = self._note_id(note, type_ids[key], stamp)
            row = rows.get(card.source_id)
            if row is not None and (row[1], row[2]) != (note_id, note.ord):
                links.append((note_id, note.ord, row[0]))
        conn.executemany("INSERT OR REPLACE INTO card_notes (note_id, ord, card_id) VALUES (?, ?, ?)", links)

    def _note_type_id(self, note_type) -> int:
        import hashlib

        definition = [note_type.id, note_type.name, note_type.kind, list(note_type.fields),
                      [list(t) for t in note_type.templates], note_type.css, note_type.sort_field]
        key = hashlib.sha256(json.dumps(definition, ensure_ascii=False).encode("utf-8")).hexdigest()
        row = self.conn.execute("SELECT id FROM note_types WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return row[0]
        return self.conn.execute(
            "INSERT INTO note_types (anki_id, key, name, kind, fields, templates, css, sort_field) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (note_type.id, key, note_type.name, note_type.kind, _json(definition[3]), _json(definition[4]),
             note_type.css, note_type.sort_field)).lastrowid

    def _note_id(self, note, note_type_id: int, stamp: str) -> int:
        values = (note_type_id, _json(note.fields), _json(note.tags), _json(note.media))
        row = self.conn.execute("SELECT id, note_type_id, fields, tags, media FROM notes WHERE guid = ?",
                                (note.guid,)).fetchone()
        if row is None:
            return self.conn.execute(
                "INSERT INTO notes (guid, note_type_id, fields, tags, media, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (note.guid, *values, stamp)).lastrowid
        if tuple(row[1:]) != values:
            self.conn.execute("UPDATE notes SET note_type_id = ?, fields = ?, tags = ?, media = ?, updated_at = ? "
                              "WHERE id = ?", (*values, stamp, row[0]))
        return row[0]

    def card_notes(self, deck_ids: list[int] | None = None, card_id: int | None = None) -> dict[int, NoteSpec]:
        """{card id: NoteSpec} for the cards (of these decks, or this one card) that are Anki notes' cards."""
        sql = ("SELECT c.id, cn.ord, n.guid, n.fields, n.tags, n.media, t.id, t.anki_id, t.name, t.kind, t.fields, "
               "t.templates, t.css, t.sort_field FROM card_notes cn JOIN cards c ON c.id = cn.card_id "
               "JOIN notes n ON n.id = cn.note_id JOIN note_types t ON t.id = n.note_type_id WHERE 1")
        args: list = []
        if card_id is not None:
            sql += " AND cn.card_id = ?"
            args.append(card_id)
        elif deck_ids is not None:
            sql += f" AND c.deck_id IN ({', '.join('?' * len(deck_ids))})"
            args.extend(deck_ids)
        types: dict[int, NoteType] = {}
        out = {}
        for row in self.conn.execute(sql, args):
            note_type = types.get(row[6])
            if note_type is None:
                note_type = types[row[6]] = NoteType(
                    row[7], row[8], row[9], tuple(json.loads(row[10])),
                    tuple(tuple(t) for t in json.loads(row[11])), row[12] or "", row[13] or 0)
            out[row[0]] = NoteSpec(row[2], note_type, json.loads(row[3]), json.loads(row[4]) if row[4] else [],
                                   row[1] or 0, json.loads(row[5]) if row[5] else [])
        return out

    def media_files(self, names: list[str]) -> dict[str, str]:
        """{name: stored file} for the media names the store knows."""
        out = {}
        names = list(dict.fromkeys(names))
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            out.update(self.conn.execute(
                f"SELECT name, file FROM media WHERE name IN ({', '.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def media_rows(self, names: list[str]) -> dict[str, tuple[str, str, int, str | None]]:
        """{name: (stored file, sha256, size, source package)} for the media names the store knows."""
        out = {}
        names = list(dict.fromkeys(names))
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            out.update((name, tuple(rest)) for name, *rest in self.conn.execute(
                f"SELECT name, file, sha256, size, source FROM media WHERE name IN ({', '.join('?' * len(chunk))})",
                chunk))
        return out

    def _in_write(self) -> None:
        if not self.conn.in_transaction:
            raise RuntimeError("this store method runs inside `Store.write()`")


@dataclass
class _Existing:
    id: int
    kind: str
    question: str
    options: str | None
    answer: str | None
    key_source: str | None
    explanation: str | None
    source_id: str | None
    tags: str | None
    retired: int
    position: int


# Unix microseconds of a stored time ('YYYY-MM-DDTHH:MM:SS.ffffffZ'), in SQL: a million times are read at once.
_US = "(CAST(strftime('%s', {0}) AS INTEGER) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))"


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _t(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)




def _stored(row: tuple) -> StoredCard:
    """A card from a row in the column order of `Store._CARD_SQL`."""
    spec = CardSpec(question=row[3], answer=row[5], options=json.loads(row[4]) if row[4] else None,
                    explanation=row[7], key_source=row[6], source_id=row[8],
                    tags=json.loads(row[9]) if row[9] else [])
    progress = Progress(state=STATE_NAMES[row[10]], step=row[11], stability=row[12], difficulty=row[13],
                        due=from_text(row[14]), last_review=from_text(row[15]), reps=row[16], lapses=row[17],
                        suspended=bool(row[18]))
    return StoredCard(id=row[0], deck=row[1], spec=spec, progress=progress, deck_id=row[19])
