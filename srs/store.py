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
from json.encoder import encode_basestring
import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from srs.clock import day_start, from_text, to_text
from srs.clock import now as clock_now
from srs.model import CardSpec, DeckSpec, ImportedSchedule, NoteSpec, NoteType, Progress, Review, SrsError, StoredCard

STATE_NAMES = ("new", "learning", "review", "relearning")
HISTORY_ONLY = 2  # `retired` of a card a review log brought without content (see srs.history)
KIND_NAMES = ("learn", "review", "relearn", "cram")  # cram: practice that leaves the card's state as it is
CRAM = 3
BUSY_TIMEOUT_MS = 10_000  # while opening (and migrating) a database another srs is writing
MIN_FREE_BYTES = 1024 * 1024  # a write command refuses to start with less free on the database's disk
BACKGROUND_CHECK_BYTES = 32 * 1024 * 1024  # larger databases are quick_checked whole in a thread (check_writable)
WAIT_MS = 1_000  # then: a write waiting for another program's lock tells the learner after this, and waits on
RESCHEDULE_CHUNK = 2_000  # reviews replayed per transaction of a rescheduling (about 0.3 s at 1,000,000 reviews)


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("srs", appauthor=False) / "srs.db"


def deck_key(name: str) -> str:
    """A deck name as a learner's typing is compared with it: any case, spacing as typed, the parts of an Anki
    parent path (`A::B`) kept apart (`A` names `A` and `A::*`, as Anki's deck tree and `deck:` search)."""
    return "::".join(" ".join(part.split()).casefold() for part in name.split("::"))


def _in_decks(column: str, decks: "int | tuple[int, ...]") -> tuple[str, tuple]:
    """SQL (and its arguments) for `column` in one deck or in a deck with its subdecks (`DeckTree.ids`)."""
    if isinstance(decks, int):
        return f"{column} = ?", (decks,)
    return f"{column} IN ({', '.join('?' * len(decks)) or 'NULL'})", tuple(decks)


@dataclass(frozen=True)
class DeckTree:
    """A deck as a learner names it, with its subdecks: what review, stats, optimize and export take."""

    name: str  # as stored (a parent with no deck row of its own: spelt as its subdecks spell it)
    id: int | None  # the deck of that name; None for a parent that exists only in its subdecks' names
    ids: tuple[int, ...]  # that deck and every subdeck (`name::...`), in name order


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
    reviews_added: int = 0  # answers added to the log (a source's history, merged once)
    suspended: int = 0  # the deck's suspended cards after the import
    report: dict = field(default_factory=dict)


class Store:
    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        from srs import outputs

        self.path = Path(path)
        outputs.protect(self.path)  # no export, page or deck file of this process may be written over it
        self._checkpointer = None  # a background WAL checkpoint (review sessions), if one runs
        self._pending_check = None  # a background quick_check the first write waits for (check_writable)
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
        self.on_busy: Callable[[], None] | None = _tell_waiting  # said once while a write waits for another srs
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            self._check_and_migrate(fresh)
            self.conn.execute(f"PRAGMA busy_timeout = {WAIT_MS}")  # writes wait on in `_begin`, saying so
            self._unbury()
        except sqlite3.Error as error:
            raise explain(error, self.path) from None

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
            with _migration_lock(self.path):  # two first imports at once: one migrates, the other waits
                version = conn.execute("PRAGMA user_version").fetchone()[0]
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

    def _unbury(self, wait: bool = False) -> None:
        """Bring back the buried cards whose learner day is over (as Anki does at the day rollover).
        A buried card is `suspended = 2` until `buried_until`, so that every queue read skips it.

        On opening (`wait` False) this is opportunistic: skipped at once if another program holds the
        write lock, or the file is read-only or damaged, so that a command that only reads never waits
        nor fails for it. A command that writes does it again, waiting, once the database is found
        writable (`check_writable`)."""
        from srs.clock import now

        stamp = to_text(now())
        if not self.conn.execute("SELECT 1 FROM card_state WHERE suspended = 2 AND buried_until <= ? LIMIT 1",
                                 (stamp,)).fetchone():
            return

        def unbury(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE card_state SET suspended = 0, buried_until = NULL "
                         "WHERE suspended = 2 AND buried_until <= ?", (stamp,))

        if wait:
            with self.write() as conn:
                unbury(conn)
        else:
            self._write_if_free(unbury)

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

    def check_writable(self) -> None:
        """Before a command that writes (review, import, ...) does anything: the database is whole
        (`PRAGMA quick_check`) and can be written now (a write tried and rolled back), or a one-line
        error says why not (damaged, read-only file or folder, disk full, locked), before the learner
        answers anything.

        A database over BACKGROUND_CHECK_BYTES (about 10,000 cards with their history) is checked
        table by table except the review log, at once (a tenth of the time), and whole in a thread of
        its own (its own connection) that the first write waits for: a damage found there refuses that
        write, so nothing is ever written into a damaged file, and the learner does not wait for the
        check to see the first card."""
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        if _free_bytes(self.path.parent) < MIN_FREE_BYTES:  # a rolled-back write does not reach the disk
            raise SrsError(f"the disk is full (less than {MIN_FREE_BYTES // 1024 ** 2} MB free): free some "
                           "space and try again (nothing was written)", str(self.path))
        try:
            if size <= BACKGROUND_CHECK_BYTES:
                self._refuse_damage(self.conn, None)
            else:
                for (table,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                  "AND name NOT IN ('reviews', 'sqlite_sequence')").fetchall():
                    self._refuse_damage(self.conn, table)
        except sqlite3.DatabaseError as error:
            raise explain(error, self.path) from None
        try:
            with self.write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute(f"PRAGMA user_version = {int(version)}")  # a real write, rolled back below
                raise _Probe
        except _Probe:
            pass
        except sqlite3.Error as error:
            raise explain(error, self.path) from None
        try:
            self._unbury(wait=True)  # skipped at open if the lock was busy: this command writes anyway
        except sqlite3.Error as error:
            raise explain(error, self.path) from None
        if size > BACKGROUND_CHECK_BYTES:
            self._check_in_background()

    def _refuse_damage(self, conn: sqlite3.Connection, table: str | None) -> None:
        pragma = "PRAGMA quick_check(3)" if table is None else f'PRAGMA quick_check("{table}")'
        problems = [row[0] for row in conn.execute(pragma)][:3]
        if problems != ["ok"]:
            raise SrsError("the database is damaged (" + "; ".join(problems)[:200] + "); nothing was written. "
                           "'srs check --repair NEW.db' recovers what it can into a new file", str(self.path))

    def _check_in_background(self) -> None:
        import threading

        outcome: list[BaseException | None] = []

        def run() -> None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                self._refuse_damage(conn, None)
                outcome.append(None)
            except SrsError as error:
                outcome.append(error)
            except sqlite3.DatabaseError as error:
                outcome.append(explain(error, self.path))
            finally:
                conn.close()

        thread = threading.Thread(target=run, name="srs-quick-check", daemon=True)
        thread.start()
        self._pending_check = (thread, outcome)

    def _wait_for_check(self) -> None:
        """The first write waits for the background check, and is refused if it found damage."""
        if self._pending_check is not None:
            thread, outcome = self._pending_check
            thread.join()
            if outcome and outcome[0] is not None:
                raise outcome[0]  # stays pending: every later write is refused too
            self._pending_check = None

    def integrity(self) -> list[str]:
        """`PRAGMA integrity_check`: ["ok"] or the problems SQLite finds (at most 100)."""
        return [row[0] for row in self.conn.execute("PRAGMA integrity_check(100)")]

    def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting as long as another program holds the write lock: after a first
        WAIT_MS, `on_busy` tells the learner once, then it waits on (Ctrl-C quits).
        Nothing the learner gave is dropped meanwhile: the caller's write is only delayed."""
        self._wait_for_check()
        told = False
        while True:  # each try waits WAIT_MS, then Python runs: Ctrl-C is heard within a second
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
            if not told and self.on_busy is not None:
                self.on_busy()
            told = True

    def _write_if_free(self, work: Callable[[sqlite3.Connection], None]) -> bool:
        """Run `work` in one write transaction if the write lock is free right now (busy_timeout 0);
        skip it, without a word, if another program holds it, the file is read-only, damaged or
        still being checked, or `work` meets any SQLite error (rolled back). For writes that only
        keep things tidy or quick (unburying, a cache), never for anything the learner gave.
        Returns whether it was written."""
        if self._pending_check is not None:
            thread, outcome = self._pending_check
            if thread.is_alive() or (outcome and outcome[0] is not None):
                return False
        conn = self.conn
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            self._restore_busy_timeout()
            return False
        try:
            work(conn)
            conn.execute("COMMIT")
            return True
        except sqlite3.Error:
            return False
        finally:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            self._restore_busy_timeout()

    def _restore_busy_timeout(self) -> None:
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {WAIT_MS}")
        except sqlite3.Error:
            pass

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back entirely on any error or interruption. Waits for
        another program's write to finish, however long (see `_begin`)."""
        self._begin()
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
        """The one deck a learner names (as `deck_tree` finds it), without its subdecks: what `srs config`
        changes. A parent that is no deck of its own (only its subdecks' names begin with it) is refused."""
        tree = self.deck_tree(name)
        if tree.id is None:
            shown = [d["name"] for d in self.decks() if d["id"] in tree.ids]
            raise SrsError(f"{name!r} is no deck of its own, only the parent of {len(shown)} deck(s): "
                           + "; ".join(repr(n) for n in shown[:5]) + ("; ..." if len(shown) > 5 else "")
                           + " (name one of them)")
        return tree.id

    def deck_tree(self, name: str) -> DeckTree:
        """The deck a learner names, with its subdecks (`A` is `A` and `A::...`, as in Anki and `deck:`
        search): its exact name, else the name in any case (spacing as typed), else a parent that only its
        subdecks' names spell (Anki's `computer-programming` of `computer-programming::languages`), else the
        one deck or parent whose name starts with it (`srs review ai`, `leetcode::nee`); a beginning that
        several share is refused with their names, as is a name no deck has."""
        decks = self.decks()
        row = self.conn.execute("SELECT id, name FROM decks WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = self.conn.execute("SELECT id, name FROM decks WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if row is not None:  # a deck of exactly that name, and the decks under it
            below = deck_key(row[1]) + "::"
            return DeckTree(row[1], row[0], tuple(d["id"] for d in decks
                                                  if d["id"] == row[0] or deck_key(d["name"]).startswith(below)))
        wanted = deck_key(name)
        keyed = [(deck_key(d["name"]), d) for d in decks]
        roots: dict[str, dict] = {}  # the decks (or parents) the name begins, each with its first deck
        if wanted.strip(": "):
            for key, deck in keyed:
                if key.startswith(wanted + "::"):  # a parent named whole: it wins over any longer name
                    roots = {wanted: deck}
                    break
                if key.startswith(wanted):
                    cut = key.find("::", len(wanted))
                    roots.setdefault(key if cut < 0 else key[:cut], deck)
        if not roots:
            known = ", ".join(d["name"] for d in decks) or "none yet; run 'srs import'"
            raise SrsError(f"no deck named {name!r} (decks: {known})")

        def spelt(key: str, deck: dict) -> str:  # a root as its first deck spells it
            return "::".join(deck["name"].split("::")[:key.count("::") + 1])

        if len(roots) > 1:
            raise SrsError(f"{name!r} names several decks: " + "; ".join(repr(spelt(k, d)) for k, d in roots.items())
                           + " (type more of the name)")
        (key, first), = roots.items()
        ids = tuple(d["id"] for k, d in keyed if k == key or k.startswith(key + "::"))
        own = [d for k, d in keyed if k == key]
        return DeckTree(own[0]["name"], own[0]["id"], ids) if own else DeckTree(spelt(key, first), None, ids)

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
            first_new = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM cards").fetchone()[0]
            brought: dict[str | None, set[int]] = {}
            results = [self._sync_deck(spec, now, brought) for spec in specs]
            results += self._retire_left_behind(specs, results, brought, first_new, now)
        return results

    def _sync_deck(self, spec: DeckSpec, now: datetime, brought: dict[str | None, set[int]] | None = None
                   ) -> ImportResult:
        """One deck of an import. Its cards are matched (`srs.matching`) among the deck's cards its source may
        take (`_claimable`) and, for a file, its own cards wherever they are; an Anki card already in the store
        in any deck is that card (its deck left as it is, as Anki's importer leaves it). The deck is the one of
        the spec's name, else the one this source named before (a rename: found by its source, or for a file by
        where its cards are), renamed in place when it holds no other source's cards, else left to them while a
        new deck (its settings copied) takes this source's. This source's matched cards follow the deck it
        names (a package's only out of the deck it renamed). The deck's cards of this source it no longer has
        are retired (a package's: in `_retire_left_behind`, once all its decks are in). `brought`: {origin:
        card ids} of the cards each source brought, filled in."""
        from srs.matching import match_cards

        conn = self.conn
        stamp = to_text(now)
        origin, package = _origin(spec.source)
        row = conn.execute("SELECT id FROM decks WHERE name = ?", (spec.name,)).fetchone()
        # an Anki parent deck without cards (`anki.reader._add_parents`): made for its options, but a deck
        # of that name already there (a deck file's, a former import's) is left as it is
        parent_only = package and not spec.cards and row is not None
        renamed = False  # the deck this source named before, under another name (see below)
        if row is None and spec.source:
            row = conn.execute("SELECT id FROM decks WHERE source = ? ORDER BY id", (spec.source,)).fetchone()
            if row is None and origin is not None and not package:  # a file's title changed in a deck it shared:
                row = conn.execute(  # the deck's source is the other file's, its cards tell where it was
                    "SELECT deck_id FROM cards WHERE origin = ? AND retired = 0 GROUP BY deck_id "
                    "ORDER BY count(*) DESC, deck_id LIMIT 1", (origin,)).fetchone()
            renamed = row is not None
        home = None if row is None else row[0]
        select = ("SELECT id, kind, question, options, answer, key_source, explanation, source_id, tags, retired, "
                  "position, hint, typed_answer, ord, images, option_notes, origin, "
                  "EXISTS (SELECT 1 FROM card_notes n WHERE n.card_id = cards.id), deck_id FROM cards ")
        existing = [] if home is None else [
            _Existing(*r) for r in conn.execute(select + "WHERE deck_id = ? ORDER BY position", (home,))]
        existing = [old for old in existing if _claimable(old, origin, package)]  # another source's cards: not ours
        if origin is not None and not package:  # a file's cards follow the deck it names, wherever they are
            here = {old.id for old in existing}
            existing = ([old for old in existing if old.origin == origin] + [
                _Existing(*r) for r in conn.execute(select + "WHERE origin = ? AND deck_id IS NOT ? ORDER BY position",
                                                    (origin, home)) if r[0] not in here]
                        + [old for old in existing if old.origin != origin])  # its own cards matched first
        pairs = match_cards(spec.cards, existing, self._anki_cards_in_store(home or 0, spec, existing))
        ours = {old.id for old in pairs.values()  # the matched cards that are this source's after the import
                if origin is not None and (old.origin == origin or _adopts(old, origin, package))}
        deck_id = home
        if renamed and any(r[0] not in ours for r in conn.execute(  # renamed in place only when no other
                "SELECT id FROM cards WHERE deck_id = ? AND origin IS NOT ?", (home, origin))):  # source's card is in it
            deck_id = None  # else a new deck, with the old one's settings, takes this source's cards
            conn.execute("UPDATE decks SET source = NULL WHERE id = ? AND source = ?", (home, spec.source))
        created = deck_id is None
        if deck_id is None:
            settings = spec.settings if home is None else self.deck_own_settings(home)
            deck_id = conn.execute(
                "INSERT INTO decks (name, source, notes, settings, created_at) VALUES (?, ?, ?, ?, ?)",
                (spec.name, spec.source, spec.notes, json.dumps(settings), stamp)).lastrowid  # e.g. Anki's options
        elif not parent_only:
            conn.execute("UPDATE decks SET name = ?, source = coalesce(?, source), notes = ? WHERE id = ?",
                         (spec.name, spec.source, spec.notes, deck_id))
        if not parent_only and self.deck_own_settings(deck_id).get("html", False) != spec.html:
            self._set_setting(deck_id, "html", spec.html)  # the deck file decides whether its text is HTML
        if not parent_only and self.deck_own_settings(deck_id).get("accents_optional", False) != spec.accents_optional:
            self._set_setting(deck_id, "accents_optional", spec.accents_optional)  # typed answers (srs.kinds)
        result = ImportResult(deck=spec.name, source=spec.source, report=dict(spec.report))
        # this source's cards follow the deck it names: a file's from any deck, a package's from the deck it
        # renamed (its other cards in other decks stay there, as Anki's importer leaves them)
        moved = [old for old in pairs.values()
                 if old.id in ours and old.deck_id != deck_id and (not package or old.deck_id == home)]
        conn.executemany("UPDATE cards SET deck_id = ? WHERE id = ?", [(deck_id, old.id) for old in moved])
        conn.executemany("UPDATE card_state SET deck_id = ? WHERE card_id = ?", [(deck_id, old.id) for old in moved])
        for old in moved:
            old.deck_id = deck_id
        if moved:
            result.report["moved"] = len(moved)
        history_only = bool(spec.report.get("history_only"))
        stored = self._notes_by_guid(list(dict.fromkeys(  # an older note than the stored one: its text not taken
            card.note.guid for card in spec.cards if card.note is not None and card.note.mod is not None)))
        updates, inserts, moves, histories = [], [], [], []
        for position, card in enumerate(spec.cards):
            old = pairs.get(position)
            if old is None:
                inserts.append((position, card))
                continue
            answer, key_source = _kept_answer(card, old, result.report)
            here = old.deck_id == deck_id  # else an Anki card already in another deck: it stays there
            if not here:
                result.report["elsewhere"] = result.report.get("elsewhere", 0) + 1
            kept = (old.kind, old.question, old.options, old.answer, old.key_source, old.explanation, old.source_id,
                    old.tags, old.hint, old.typed_answer, old.ord, old.images, old.option_notes)
            new = (card.kind, card.question, _json(card.options), answer, key_source, card.explanation,
                   card.source_id, _json(card.tags or None), card.hint, card.typed_answer, card.ord,
                   _json(card.images or None), _json(card.option_notes or None))
            if card.note is not None and _older(card.note, stored.get(card.note.guid, (None,) * 6)[5]):
                new = kept
            if new != kept or (
                    old.retired and not (history_only and old.retired == HISTORY_ONLY)):
                updates.append((*new, position if here else old.position, stamp, old.id))
                result.updated += 1
            else:
                result.unchanged += 1
                if here and old.position != position:
                    moves.append((position, old.id))
            if card.kind == "choice" and answer is None:
                result.unkeyed += 1
            if card.reviews or (card.schedule is not None and card.schedule.progress):
                histories.append((old.id, card))
        conn.executemany(
            "UPDATE cards SET kind = ?, question = ?, options = ?, answer = ?, key_source = ?, explanation = ?, "
            "source_id = ?, tags = ?, hint = ?, typed_answer = ?, ord = ?, images = ?, option_notes = ?, position = ?, "
            "updated_at = ?, "
            "retired = 0 "
            "WHERE id = ?", updates)
        conn.executemany("UPDATE cards SET position = ? WHERE id = ?", moves)
        conn.executemany("UPDATE card_state SET position = ?, retired = 0 WHERE card_id = ?",
                         [(u[-3], u[-1]) for u in updates] + moves)
        for card_id, card in histories:  # answers made elsewhere since the last import, merged once
            added = self._merge_history(card_id, card, now)
            result.reviews_added += added
            result.histories += added > 0
        matched = {old.id for old in pairs.values()}
        conn.executemany("UPDATE cards SET origin = ? WHERE id = ?", [  # see `_claimable`
            (origin, old.id) for old in pairs.values() if old.origin != origin and _adopts(old, origin, package)])
        gone = [] if spec.partial or package else [  # a package's: once all its decks are in
            (old.id,) for old in existing if old.id not in matched and not old.retired and _retired_by(old, origin)]
        conn.executemany("UPDATE cards SET retired = 1, updated_at = ? WHERE id = ?", [(stamp, g[0]) for g in gone])
        conn.executemany("UPDATE card_state SET retired = 1 WHERE card_id = ?", gone)
        result.retired = len(gone)
        if gone:
            retired = {g[0] for g in gone}
            result.report["retired_cards"] = [old.question for old in existing if old.id in retired]
        if history_only:  # a log's card whose content came since (attached to another deck) keeps its history
            elsewhere = self._source_ids_in_store([card.source_id for _, card in inserts if card.source_id])
            inserts = [(position, card) for position, card in inserts if card.source_id not in elsewhere]
            kept = self._histories_in_store([card for _, card in inserts])
            inserts = [(position, card) for position, card in inserts if id(card) not in kept]
        attached = {} if history_only else self._attach_history(deck_id, inserts, stamp, now, result)
        inserts = [insert for insert in inserts if insert[0] not in attached]
        conn.executemany("UPDATE cards SET origin = ? WHERE id = ?", [(origin, a[1]) for a in attached.values()])
        added = self._insert_cards(deck_id, inserts, stamp, now, result, origin)
        result.added = len(inserts)
        if brought is not None:
            brought.setdefault(origin, set()).update(matched, (a[1] for a in attached.values()))
        if history_only:  # a review log's cards have no content: kept for their history only
            conn.execute("UPDATE cards SET retired = ? WHERE deck_id = ? AND retired = 0", (HISTORY_ONLY, deck_id))
            conn.execute("UPDATE card_state SET retired = ? WHERE deck_id = ? AND retired = 0",
                         (HISTORY_ONLY, deck_id))
        added.update(attached.values())
        result.suspended = conn.execute("SELECT count(*) FROM card_state WHERE deck_id = ? AND retired = 0 "
                                        "AND suspended = 1", (deck_id,)).fetchone()[0]
        self._link_notes(deck_id, spec, stamp, None if existing else added)
        if created and spec.cards and not conn.execute("SELECT EXISTS (SELECT 1 FROM cards WHERE deck_id = ?)",
                                        (deck_id,)).fetchone()[0]:
            conn.execute("DELETE FROM decks WHERE id = ?", (deck_id,))  # all its cards were already in other decks
        return result

    def _anki_cards_in_store(self, deck_id: int, spec: DeckSpec, existing: list[_Existing]) -> dict[int, _Existing]:
        """{position: stored card} of the deck's Anki cards that the store already has (one Anki card, a note
        guid and ord, is one srs card), found in any deck; those the deck's own cards match by source id are
        left to `match_cards`. Where two stored cards are one Anki card (imported before srs kept to this),
        the one in this deck is taken, else a live one, else the oldest."""
        own = {old.source_id for old in existing if old.source_id}
        wanted: dict[tuple[str, int], int] = {}
        for position, card in enumerate(spec.cards):
            if card.note is not None and card.source_id not in own:
                wanted.setdefault((card.note.guid, card.note.ord), position)
        if not wanted:
            return {}
        guids = list(dict.fromkeys(guid for guid, _ in wanted))
        found: dict[tuple[str, int], _Existing] = {}
        for start in range(0, len(guids), 500):
            part = guids[start:start + 500]
            for guid, ord_, *row in self.conn.execute(
                    "SELECT n.guid, cn.ord, c.id, c.kind, c.question, c.options, c.answer, c.key_source, "
                    "c.explanation, c.source_id, c.tags, c.retired, c.position, c.hint, c.typed_answer, c.ord, "
                    "c.images, c.option_notes, c.origin, 1, c.deck_id FROM notes n "
                    "JOIN card_notes cn ON cn.note_id = n.id JOIN cards c ON c.id = cn.card_id "
                    f"WHERE n.guid IN ({', '.join('?' * len(part))}) "
                    "ORDER BY c.deck_id != ?, c.retired != 0, c.id", [*part, deck_id]):
                found.setdefault((guid, ord_), _Existing(*row))
        return {position: found[key] for key, position in wanted.items() if key in found}

    def _retire_left_behind(self, specs: list[DeckSpec], results: list[ImportResult],
                            brought: dict[str | None, set[int]], first_new: int, now: datetime) -> list[ImportResult]:
        """Retire the live cards of each imported source that none of its decks brought this time: an Anki
        package's cards no longer in it (whatever deck they are in), a deck file's cards left in the deck of
        its former title. Cards added by this import (ids from `first_new`) are its own. Each is counted in
        its deck's result; returns the results of decks this import did not name."""
        conn = self.conn
        stamp = to_text(now)
        partial = {_origin(spec.source)[0] for spec in specs if spec.partial}
        extra: list[ImportResult] = []
        for origin in dict.fromkeys(_origin(spec.source)[0] for spec in specs):
            if origin is None or origin in partial:
                continue
            kept = brought.get(origin, set())
            ids = [row[0] for row in conn.execute("SELECT id FROM cards WHERE origin = ? AND retired = 0 AND id < ?",
                                                  (origin, first_new)) if row[0] not in kept]
            if not ids:
                continue
            gone = []
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                gone += conn.execute(
                    "SELECT c.id, d.name, c.question FROM cards c JOIN decks d ON d.id = c.deck_id "
                    f"WHERE c.id IN ({', '.join('?' * len(part))}) ORDER BY c.position", part).fetchall()
            conn.executemany("UPDATE cards SET retired = 1, updated_at = ? WHERE id = ?", [(stamp, g[0]) for g in gone])
            conn.executemany("UPDATE card_state SET retired = 1 WHERE card_id = ?", [(g[0],) for g in gone])
            for card_id, deck, question in gone:
                result = next((r for r in results + extra if r.deck == deck and _origin(r.source)[0] == origin), None)
                if result is None:
                    result = ImportResult(deck=deck, source=origin)
                    extra.append(result)
                result.retired += 1
                result.report.setdefault("retired_cards", []).append(question)
        return extra

    def _source_ids_in_store(self, source_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(source_ids), 500):
            part = source_ids[start:start + 500]
            found.update(row[0] for row in self.conn.execute(
                f"SELECT source_id FROM cards WHERE source_id IN ({', '.join('?' * len(part))})", part))
        return found

    def _histories_in_store(self, cards: list[CardSpec]) -> set[int]:
        """id() of the log's cards whose every answer the store already has, at the same moments, on one
        card: a log card whose content came since under another id (an Anki package's card attached by
        its Anki card id, now known by its note guid), or a package's card imported with its history.
        Its answers are not added a second time as a card without content. The first answer of each card
        is looked up first, the others only for the cards whose first one is there."""
        def holders(times: set[str]) -> dict[str, set[int]]:
            found: dict[str, set[int]] = {}
            ordered = list(times)
            for start in range(0, len(ordered), 500):
                part = ordered[start:start + 500]
                for at, card_id in self.conn.execute(
                        f"SELECT reviewed_at, card_id FROM reviews WHERE reviewed_at IN ({', '.join('?' * len(part))})",
                        part):
                    found.setdefault(at, set()).add(card_id)
            return found

        cards = [card for card in cards if card.reviews]
        first = holders({to_text(min(r.reviewed_at for r in card.reviews)) for card in cards})
        if not first:
            return set()
        cards = [card for card in cards if to_text(min(r.reviewed_at for r in card.reviews)) in first]
        held = holders({to_text(review.reviewed_at) for card in cards for review in card.reviews})
        kept = set()
        for card in cards:
            common: set[int] | None = None
            for review in card.reviews:
                found = held.get(to_text(review.reviewed_at), set())
                common = found if common is None else common & found
                if not common:
                    break
            if common:
                kept.add(id(card))
        return kept

    def _attach_history(self, deck_id: int, inserts: list[tuple[int, CardSpec]], stamp: str, now: datetime,
                        result: ImportResult) -> dict[int, tuple[str, int]]:
        """Cards a source brings that a review log imported before without content (history-only cards
        with the same `source_id`, in any deck, or, for an Anki package's card, whose id is its Anki card
        id: what the FSRS tools' logs call card_id): the stored card takes the content, source id, sibling
        number and images, and joins this deck, with its id and history; answers the source brings are
        merged once. Returns {position: (source id, card id)} of the cards attached."""
        wanted: dict[str, int] = {}
        for position, card in inserts:
            if card.source_id:
                wanted[card.source_id] = position
        for position, card in inserts:
            if card.anki_card_id is not None:
                wanted.setdefault(str(card.anki_card_id), position)
        if not wanted:
            return {}
        found: dict[str, int] = {}
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            found.update(self.conn.execute(
                f"SELECT source_id, id FROM cards WHERE retired = {HISTORY_ONLY} AND source_id IN "
                f"({', '.join('?' * len(part))})", part).fetchall())
        attached = {}
        specs = dict(inserts)
        # a card found by its own source id first, then by its Anki card id; each card attaches one stored card
        for stored_id, card_id in sorted(found.items(), key=lambda item: item[0] != specs[wanted[item[0]]].source_id):
            position = wanted[stored_id]
            if position in attached:
                continue
            card = specs[position]
            self.conn.execute(
                "UPDATE cards SET deck_id = ?, position = ?, kind = ?, question = ?, options = ?, answer = ?, "
                "key_source = ?, explanation = ?, source_id = ?, tags = ?, hint = ?, typed_answer = ?, ord = ?, "
                "images = ?, option_notes = ?, retired = 0, updated_at = ? WHERE id = ?",
                (deck_id, position, card.kind, card.question, _json(card.options), card.answer, card.key_source,
                 card.explanation, card.source_id, _json(card.tags or None), card.hint, card.typed_answer, card.ord,
                 _json(card.images or None), _json(card.option_notes or None), stamp, card_id))
            self.conn.execute("UPDATE card_state SET deck_id = ?, position = ?, retired = 0 WHERE card_id = ?",
                              (deck_id, position, card_id))
            if card.reviews or (card.schedule is not None and card.schedule.progress):
                result.reviews_added += self._merge_history(card_id, card, now)
            elif card.schedule is not None:
                self._apply_schedule(card_id, card.schedule, now)
            if card.options is not None and card.answer is None:
                result.unkeyed += 1
            attached[position] = (card.source_id, card_id)
        if attached:
            result.report["attached"] = len(attached)
        return attached

    def _insert_cards(self, deck_id: int, inserts: list[tuple[int, CardSpec]], stamp: str, now: datetime,
                      result: ImportResult, origin: str | None = None) -> dict[str, int]:
        """Add new cards to a deck with their state, a statement for all of them (the ids are the
        ones SQLite would give one by one), brought by the source `origin`. A card that brings its
        history is replayed on its own. Returns {source id: card id} of the cards added."""
        if not inserts:
            return {}
        conn = self.conn
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM cards").fetchone()[0]
        ids = range(first, first + len(inserts))
        conn.executemany(
            "INSERT INTO cards (id, deck_id, position, kind, question, options, answer, key_source, explanation, "
            "source_id, tags, hint, typed_answer, ord, images, option_notes, retired, created_at, updated_at, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            [(card_id, deck_id, position, card.kind, card.question, _json(card.options), card.answer,
              card.key_source, card.explanation, card.source_id, _json(card.tags or None), card.hint,
              card.typed_answer, card.ord, _json(card.images or None), _json(card.option_notes or None), stamp, stamp,
              origin) for card_id, (position, card) in zip(ids, inserts)])
        hour = self._day_start_hour(deck_id)
        states, histories = [], []
        for card_id, (position, card) in zip(ids, inserts):
            if card.reviews:
                states.append((card_id, deck_id, position, *_NEW_STATE.values()))
                histories.append((card_id, card))
            else:
                columns = _NEW_STATE if card.schedule is None else {
                    **_NEW_STATE, **_schedule_columns(card.schedule, hour, now)}
                states.append((card_id, deck_id, position, *columns.values()))
            if card.kind == "choice" and card.answer is None:
                result.unkeyed += 1
        conn.executemany(f"INSERT INTO card_state (card_id, deck_id, position, {', '.join(_NEW_STATE)}) "
                         f"VALUES (?, ?, ?{', ?' * len(_NEW_STATE)})", states)
        for card_id, card in histories:
            schedule = card.schedule
            result.reviews_added += self._insert_history(
                card_id, card.reviews, schedule.reset_at if schedule is not None else None)
            result.histories += 1
            if schedule is not None:
                self._apply_schedule(card_id, schedule, now)
        return {card.source_id: card_id for card_id, (_, card) in zip(ids, inserts) if card.source_id}

    def _day_start_hour(self, deck_id: int) -> int:
        from srs.scheduling import Settings

        return Settings.from_dict(self.deck_settings(deck_id)).day_start_hour

    def unchanged_package(self, path: str, fingerprint: str) -> list[ImportResult] | None:
        """The decks of an Anki package last imported with this very fingerprint, each as an
        all-unchanged result; None when the package is new, differs, or has no deck here."""
        row = self.conn.execute("SELECT fingerprint FROM imported_packages WHERE path = ?", (path,)).fetchone()
        if row is None or row[0] != fingerprint:
            return None
        pattern = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "#%"
        rows = self.conn.execute(
            "SELECT d.name, d.source, count(s.card_id), coalesce(sum(s.suspended = 1), 0) FROM decks d "
            "LEFT JOIN card_state s ON s.deck_id = d.id AND s.retired = 0 "
            "WHERE d.source LIKE ? ESCAPE '\\' GROUP BY d.id ORDER BY d.name", (pattern,)).fetchall()
        if not rows:
            return None
        return [ImportResult(deck=name, source=source, unchanged=count, suspended=suspended,
                             report={"scheduler": "unchanged package"})
                for name, source, count, suspended in rows]

    def record_packages(self, fingerprints: dict[str, str], now: datetime) -> None:
        """Remember what each imported package was (see `unchanged_package`)."""
        with self.write():
            self.conn.executemany("INSERT OR REPLACE INTO imported_packages (path, fingerprint, imported_at) "
                                  "VALUES (?, ?, ?)", [(p, f, to_text(now)) for p, f in fingerprints.items()])

    def _insert_history(self, card_id: int, reviews: list[Review], reset_at: datetime | None = None) -> int:
        """Add a history a source brought (Anki, CSV) and recompute the card's state from it; answers
        before `reset_at` (the card's last reset to new) are logged but do not count. Returns the count."""
        from srs.scheduling import replay

        settings = self.deck_settings(self.conn.execute(
            "SELECT deck_id FROM card_state WHERE card_id = ?", (card_id,)).fetchone()[0])
        ordered = sorted(reviews, key=lambda r: r.reviewed_at)
        before = [r for r in ordered if reset_at is not None and r.reviewed_at < reset_at]
        rows: list[tuple] = []
        for part in (before, ordered[len(before):]):
            part_rows, progress = replay(card_id, part, settings)
            rows += [(*row, review.anki_id) for row, review in zip(part_rows, part)]
        self.conn.executemany(
            "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, due_after, source, "
            "prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, prev_reps, "
            "prev_lapses, anki_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._write_progress(card_id, progress)
        if reset_at is not None:
            self.conn.execute("UPDATE card_state SET reset_at = ? WHERE card_id = ?", (to_text(reset_at), card_id))
        return len(rows)

    def _apply_schedule(self, card_id: int, schedule: ImportedSchedule, now: datetime) -> None:
        """Give a card the schedule its source keeps (Anki's state, suspension and burying), inside the
        caller's transaction (`_schedule_columns`)."""
        hour = self._day_start_hour(self.conn.execute(
            "SELECT deck_id FROM card_state WHERE card_id = ?", (card_id,)).fetchone()[0])
        columns = _schedule_columns(schedule, hour, now)
        self.conn.execute(f"UPDATE card_state SET {', '.join(f'{name} = ?' for name in columns)} WHERE card_id = ?",
                          (*columns.values(), card_id))

    def _merge_history(self, card_id: int, card: CardSpec, now: datetime) -> int:
        """Merge the answers a source brings for a card srs already has: each once, known by its Anki
        revlog id, or by its time to the millisecond (answers srs exported come back with their own
        times as ids). The card's state follows: Anki's own when everything srs knows of the card came
        from Anki; otherwise srs replays the merged history (srs's answers are ones Anki's importer does
        not schedule from). Returns the answers added."""
        conn = self.conn
        if card.schedule is None:  # a history of another source (a CSV log): only for a card that has none yet
            if conn.execute("SELECT EXISTS (SELECT 1 FROM reviews WHERE card_id = ?)", (card_id,)).fetchone()[0]:
                return 0
            return self._insert_history(card_id, card.reviews)
        known_ids, known_ms, own = set(), set(), False
        legacy: dict[int, int] = {}  # ms -> id of answers imported before srs kept Anki's revlog ids (schema < 8)
        for review_id, anki_id, at, source in conn.execute(
                "SELECT id, anki_id, reviewed_at, source FROM reviews WHERE card_id = ?", (card_id,)):
            if anki_id is not None:
                known_ids.add(anki_id)
            elif source == "import":
                legacy[_ms(at)] = review_id
            known_ms.add(_ms(at))
            own = own or source is None
        backfill = [(review.anki_id, legacy[_ms_of(review.reviewed_at)]) for review in card.reviews
                    if review.anki_id is not None and _ms_of(review.reviewed_at) in legacy]
        if backfill:  # those answers are now known by their ids, and the card takes Anki's state as a new import would
            conn.executemany("UPDATE reviews SET anki_id = ? WHERE id = ?", backfill)
        fresh = [review for review in card.reviews if review.anki_id not in known_ids and not any(
            ms in known_ms for ms in range(_ms_of(review.reviewed_at) - 2, _ms_of(review.reviewed_at) + 3))]
        schedule = card.schedule
        if not fresh and not backfill and (known_ids or known_ms or schedule is None or not schedule.progress
                                           or (schedule.state == "new" and not schedule.suspended)):
            return 0  # nothing new (an unchanged re-import writes nothing)
        if fresh:
            rows = [(card_id, to_text(r.reviewed_at), r.rating, KIND_NAMES.index(r.kind) if r.kind in KIND_NAMES
                     else 1, r.duration_ms, r.choice, None if r.correct is None else int(r.correct), "import",
                     r.anki_id) for r in fresh]
            conn.executemany(
                "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, source, "
                "anki_id, prev_state, prev_reps, prev_lapses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)", rows)
        if schedule is not None and schedule.progress and schedule.reset_at is not None:
            conn.execute("UPDATE card_state SET reset_at = ? WHERE card_id = ?", (to_text(schedule.reset_at), card_id))
        self._replay_card(card_id)
        if not own and schedule is not None and schedule.progress:
            self._apply_schedule(card_id, schedule, now)
        return len(fresh)

    def _replay_card(self, card_id: int) -> None:
        """Recompute a card's state and its log's `prev_*` from its answers since its last reset
        (suspension and burying stay as they are). Inside the caller's transaction."""
        from srs.scheduling import replay

        deck_id = self.conn.execute("SELECT deck_id FROM card_state WHERE card_id = ?", (card_id,)).fetchone()[0]
        triples = self.histories([card_id]).get(card_id, [])
        rows, state = replay(card_id, [review for _, _, review in triples], self.deck_settings(deck_id))
        self._write_replays({card_id: (triples, rows, state)})

    def _write_progress(self, card_id: int, p: Progress) -> None:
        self.conn.execute(  # interval_days: Anki's interval of an imported card, until srs schedules it itself
            "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, last_review = ?, "
            "reps = ?, lapses = ?, suspended = ?, interval_days = NULL WHERE card_id = ?",
            (STATE_NAMES.index(p.state), p.step, p.stability, p.difficulty, _t(p.due), _t(p.last_review),
             p.reps, p.lapses, int(p.suspended), card_id))

    # -- cards -----------------------------------------------------------------------

    _CARD_SQL = (
        "SELECT c.id, d.name, c.kind, c.question, c.options, c.answer, c.key_source, c.explanation, c.source_id, "
        "c.tags, s.state, s.step, s.stability, s.difficulty, s.due, s.last_review, s.reps, s.lapses, s.suspended, "
        "c.deck_id, c.hint, c.typed_answer, c.ord, c.images, c.option_notes FROM cards c JOIN decks d ON d.id = c.deck_id "
        "JOIN card_state s ON s.card_id = c.id ")

    def card(self, card_id: int) -> StoredCard:
        row = self.conn.execute(self._CARD_SQL + "WHERE c.id = ?", (card_id,)).fetchone() if (
            -2 ** 63 <= card_id < 2 ** 63) else None
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

    def imported_intervals(self, deck_id: int | None = None) -> dict[int, int]:
        """Card id -> the interval Anki gave an imported review card (until srs schedules it itself)."""
        where, args = ("AND deck_id = ?", (deck_id,)) if deck_id is not None else ("", ())
        return dict(self.conn.execute(
            f"SELECT card_id, interval_days FROM card_state WHERE interval_days IS NOT NULL {where}", args).fetchall())

    def bulk_cards(self, deck_id: int | None = None) -> Iterator[StoredCard]:
        """The cards of `card_rows` (as `cards` gives them), read at once for bulk work (export)."""
        return (_stored(row) for row in self.card_rows(deck_id))

    def reviews_of(self, card_id: int) -> list[Review]:
        rows = self.conn.execute(
            "SELECT reviewed_at, rating, kind, duration_ms, choice, correct, due_after, format FROM reviews "
            "WHERE card_id = ? ORDER BY reviewed_at, id", (card_id,)).fetchall()
        return [Review(from_text(r[0]), r[1], KIND_NAMES[r[2]], r[3], r[4], None if r[5] is None else bool(r[5]),
                       from_text(r[6]), card_id, format=r[7]) for r in rows]

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

    def reset_times(self, deck_ids: list[int]) -> dict[int, int]:
        """{card id: Unix microseconds} of the last reset to new of the non-retired cards of these decks
        that have one (an Anki "Forget": answers before it do not count)."""
        marks = ", ".join("?" * len(deck_ids)) or "NULL"
        return dict(self.conn.execute(
            f"SELECT s.card_id, {_US.format('s.reset_at')} FROM card_state s WHERE s.reset_at IS NOT NULL "
            f"AND s.retired = 0 AND s.deck_id IN ({marks})", list(deck_ids)).fetchall())

    def review_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]

    def log_rows(self, deck_id: int | None = None) -> Iterator[tuple]:
        sql = ("SELECT r.id, r.card_id, d.name, r.reviewed_at, r.rating, r.kind, r.duration_ms, r.choice, r.correct, "
               "r.format "
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

    def first_due_review(self, deck_id: int, before: str,
                         ahead: tuple[str, str] | None = None) -> tuple[str, int] | None:
        """(due, card_id) of the deck's most overdue review card due before a stored time. `ahead`
        (studying ahead: the end and the start of today): a card due after today's end counts only
        if it was not answered today (else a card answered early comes back in the same session)."""
        more, args = _ahead_sql(ahead)
        return self.conn.execute(
            "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            f"AND state = 2 AND due < ?{more} ORDER BY due LIMIT 1", (deck_id, before, *args)).fetchone()

    def first_new(self, deck_id: int) -> tuple[int, int] | None:
        """(position, card_id) of the deck's first new card in deck order."""
        return self.conn.execute(
            "SELECT position, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            "AND state = 0 ORDER BY position LIMIT 1", (deck_id,)).fetchone()

    def count_new(self, deck_id: int, limit: int) -> int:
        """The deck's new cards, counted up to `limit` at most."""
        return self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 {self._ACTIVE} state = 0 LIMIT ?)", (deck_id, limit)).fetchone()[0]

    def count_due_reviews(self, deck_id: int, before: str, limit: int, ahead: tuple[str, str] | None = None) -> int:
        """The deck's review cards due before a stored time, counted up to `limit` at most (`ahead`:
        as in `first_due_review`)."""
        more, args = _ahead_sql(ahead)
        return self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 {self._ACTIVE} state = 2 AND due < ?{more} LIMIT ?)",
            (deck_id, before, *args, limit)).fetchone()[0]

    def count_due_learning(self, deck_id: int, before: str, inclusive: bool = False) -> int:
        """The deck's learning and relearning cards due before a stored time (at it too when `inclusive`),
        one index range per state."""
        op = "<=" if inclusive else "<"
        return sum(self.conn.execute(
            f"SELECT count(*) {self._ACTIVE} state = ? AND due {op} ?", (deck_id, state, before)).fetchone()[0]
            for state in (1, 3))

    def first_review_due_from(self, deck_id: int, start: str | None) -> tuple[str, int] | None:
        """(due, card_id) of the deck's review card due first at or after a stored time (of all, when None)."""
        return self.conn.execute(
            "SELECT due, card_id FROM card_state WHERE deck_id = ? AND retired = 0 AND suspended = 0 "
            "AND state = 2 AND due >= ? ORDER BY due LIMIT 1", (deck_id, start or "")).fetchone()

    def due_counts_by_day(self, deck_ids: list[int], first_day: int, last_day: int,
                          day_start_hour: int) -> dict[int, int]:
        """Review-state cards (not suspended, not retired) of these decks due on each learner day
        number from `first_day` to `last_day` (both included); days with none are left out.

        The day boundaries come from `clock.day_start` (the one definition of the learner day, DST
        included) as stored times; SQLite counts each day as one range of the queue index
        (deck, retired, suspended, state, due), all days in one query, without reading a row."""
        deck_ids = list(deck_ids)
        if not deck_ids or last_day < first_day:
            return {}
        starts = [to_text(day_start(day, day_start_hour)) for day in range(first_day, last_day + 2)]
        bounds = [(first_day + i, starts[i], starts[i + 1]) for i in range(len(starts) - 1)]
        decks = ",".join("?" * len(deck_ids))
        rows = self.conn.execute(
            f"WITH bounds(day, lo, hi) AS (VALUES {','.join(['(?, ?, ?)'] * len(bounds))}) "
            "SELECT b.day, (SELECT count(*) FROM card_state s "
            f"WHERE s.deck_id IN ({decks}) AND s.retired = 0 AND s.suspended = 0 AND s.state = 2 "
            "AND s.due >= b.lo AND s.due < b.hi) FROM bounds b",
            [value for bound in bounds for value in bound] + deck_ids)
        return {day: count for day, count in rows if count}

    # -- answers ---------------------------------------------------------------------

    def record_answer(self, card_id: int, before: Progress, review: Review, after: Progress) -> int | None:
        """Log an answer and store the card's new state, in one transaction.

        Returns the review's id, or None when the card was answered since `before` was read
        (another session answered it first): nothing is written then. The answer sets only the
        scheduling columns: a suspension or bury made meanwhile elsewhere (`srs suspend`, another
        session) stays as it is (see `flags`).
        """
        with self.write() as conn:
            written = conn.execute(  # compare-and-set on what the session read: the card's answer count
                "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, last_review = ?, "
                "reps = ?, lapses = ?, interval_days = NULL WHERE card_id = ? AND reps = ?",
                (STATE_NAMES.index(after.state), after.step, after.stability, after.difficulty, _t(after.due),
                 _t(after.last_review), after.reps, after.lapses, card_id, before.reps)).rowcount
            if not written:
                return None
            review_id = conn.execute(
                "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, due_after, "
                "prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, prev_reps, "
                "prev_lapses, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (card_id, to_text(review.reviewed_at), review.rating, KIND_NAMES.index(review.kind),
                 review.duration_ms, review.choice, None if review.correct is None else int(review.correct),
                 _t(after.due), STATE_NAMES.index(before.state), before.step, before.stability, before.difficulty,
                 _t(before.due), _t(before.last_review), before.reps, before.lapses, review.format)).lastrowid
        return review_id

    def record_cram(self, card_id: int, review: Review) -> int:
        """Log a practice answer (`srs review --cram`): kind `cram`, the card's state left as it is. It is
        marked so that nothing counts it as a review: source 'cram' (not the learner's day's answers),
        prev_state 0 and prev_reps -1 (not an answer to a studied card, nor a first answer), and every
        replay of a card's history leaves kind `cram` out."""
        with self.write() as conn:
            return conn.execute(
                "INSERT INTO reviews (card_id, reviewed_at, rating, kind, duration_ms, choice, correct, source, "
                "prev_state, prev_reps, prev_lapses) VALUES (?, ?, ?, ?, ?, ?, ?, 'cram', 0, -1, 0)",
                (card_id, to_text(review.reviewed_at), review.rating, CRAM, review.duration_ms, review.choice,
                 None if review.correct is None else int(review.correct))).lastrowid

    def undo_cram(self, review_id: int) -> int | None:
        """Take back a practice answer; returns its card id, or None."""
        with self.write() as conn:
            row = conn.execute(f"SELECT card_id FROM reviews WHERE id = ? AND kind = {CRAM}", (review_id,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM reviews WHERE id = ?", (review_id,))
        return None if row is None else row[0]

    def undo_answer(self, review_id: int) -> int | None:
        """Remove a logged answer and restore the card's schedule exactly as it was before it.

        Only the card's latest answer can be undone (compare-and-set on its answer count and the
        latest review id): returns the card id, or None when the answer is gone or another session
        answered the card since. Suspension and burying are left as they are.
        """
        with self.write() as conn:
            row = conn.execute(
                "SELECT card_id, prev_state, prev_step, prev_stability, prev_difficulty, prev_due, prev_last_review, "
                "prev_reps, prev_lapses FROM reviews WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                return None
            card_id = row[0]
            latest = conn.execute("SELECT max(id) FROM reviews WHERE card_id = ?", (card_id,)).fetchone()[0]
            if latest != review_id:
                return None  # answered again since (in another session)
            if not conn.execute(
                    "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
                    "last_review = ?, reps = ?, lapses = ? WHERE card_id = ? AND reps = ?",
                    (*row[1:], card_id, row[7] + 1)).rowcount:
                return None
            conn.execute("DELETE FROM reviews WHERE id = ?", (review_id,))
        return card_id

    # -- review's own actions: bury, flag, siblings, leeches (each undone by the session) ----------

    def card_flags(self, card_id: int) -> tuple[int, str | None, int]:
        """(suspended: 0, 1 suspended or 2 buried; buried_until; flag) of a card, to restore on undo."""
        row = self.conn.execute("SELECT suspended, buried_until, flag FROM card_state WHERE card_id = ?",
                                (card_id,)).fetchone()
        if row is None:
            raise SrsError(f"no card with id {card_id} (see 'srs cards')")
        return row

    def cards_flags(self, card_ids: list[int]) -> dict[int, tuple[int, str | None, int]]:
        """`card_flags` of many cards at once: card id -> (suspended, buried_until, flag), read 500 ids a
        query (SQLite's bound on a statement's variables); an id of no card raises as `card_flags` does."""
        out: dict[int, tuple[int, str | None, int]] = {}
        ids = list(dict.fromkeys(card_ids))
        for at in range(0, len(ids), 500):
            chunk = ids[at:at + 500]
            for card_id, *flags in self.conn.execute(
                    "SELECT card_id, suspended, buried_until, flag FROM card_state WHERE card_id IN "
                    f"({', '.join('?' * len(chunk))})", chunk):
                out[card_id] = tuple(flags)
        missing = next((card_id for card_id in ids if card_id not in out), None)
        if missing is not None:
            raise SrsError(f"no card with id {missing} (see 'srs cards')")
        return out

    def set_buried(self, card_ids: list[int], until: str) -> list[int]:
        """Bury cards until a stored time (the start of the next learner day); a suspended or buried card
        stays as it is. Returns the ids buried now."""
        return self._flag(card_ids, self._BURY, lambda deck_id: (until,))

    def restore_suspension(self, card_id: int, suspended: int, buried_until: str | None,
                           only_if: tuple[int, str | None] | None = None) -> bool:
        """Put a card's suspension back as it was (an undo); with `only_if`, only when the card is still
        (suspended, buried_until) as the action left it (another session may have changed it since)."""
        with self.write() as conn:
            sql = "UPDATE card_state SET suspended = ?, buried_until = ? WHERE card_id = ?"
            args: list = [suspended, buried_until, card_id]
            if only_if is not None:
                sql += " AND suspended = ? AND buried_until IS ?"
                args += list(only_if)
            return conn.execute(sql, args).rowcount > 0

    def set_flag(self, card_id: int, flag: int) -> None:
        with self.write() as conn:
            conn.execute("UPDATE card_state SET flag = ? WHERE card_id = ?", (flag, card_id))

    def siblings(self, card_id: int) -> list[tuple[int, int, str | None]]:
        """(card id, state, due) of a card's siblings that are not retired: the other cloze numbers of
        its text and the other card of a reversed pair (same deck and text, another `ord`; a source gives
        them one after another), and the other cards of its Anki note."""
        return self.conn.execute(
            "SELECT s.card_id, s.state, s.due FROM card_state s WHERE s.retired = 0 AND s.card_id IN ("
            "SELECT c2.id FROM cards c JOIN cards c2 ON c2.deck_id = c.deck_id "
            "AND c2.position BETWEEN c.position - 200 AND c.position + 200 "
            "AND c2.id != c.id AND c2.ord != c.ord AND c2.question = c.question AND c2.kind = c.kind "
            "WHERE c.id = ? "
            "UNION SELECT n2.card_id FROM card_notes n JOIN card_notes n2 ON n2.note_id = n.note_id "
            "AND n2.card_id != n.card_id WHERE n.card_id = ?)", (card_id, card_id)).fetchall()

    def learner_tags(self, card_id: int) -> list[str]:
        row = self.conn.execute("SELECT learner_tags FROM cards WHERE id = ?", (card_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else []

    def set_learner_tag(self, card_id: int, tag: str, present: bool = True) -> bool:
        """Add (or remove) one of the learner's own tags on a card; True when that changed anything.
        (The learner's tags, `cards.learner_tags`, are a JSON list that re-import leaves alone.)"""
        with self.write() as conn:
            row = conn.execute("SELECT learner_tags FROM cards WHERE id = ?", (card_id,)).fetchone()
            tags = json.loads(row[0]) if row and row[0] else []
            if (tag in tags) == present:
                return False
            tags = tags + [tag] if present else [t for t in tags if t != tag]
            conn.execute("UPDATE cards SET learner_tags = ? WHERE id = ?", (_json(tags or None), card_id))
            return True

    def is_retired(self, card_id: int) -> bool:
        row = self.conn.execute("SELECT retired FROM cards WHERE id = ?", (card_id,)).fetchone()
        return row is None or bool(row[0])

    def card_source(self, card_id: int) -> tuple[str | None, int, str]:
        """(the file that brought it (else the one its deck was imported from), its position there, its deck's
        name): in a deck two sources share, the deck's source is only the last one imported."""
        row = self.conn.execute("SELECT coalesce(c.origin, d.source), c.position, d.name FROM cards c "
                                "JOIN decks d ON d.id = c.deck_id "
                                "WHERE c.id = ?", (card_id,)).fetchone()
        if row is None:
            raise SrsError(f"no card with id {card_id} (see 'srs cards')")
        return row

    def set_answer(self, card_id: int, answer: str, key_source: str = "learner") -> bool:
        """Record the key of a choice card (or the answer of a basic one) given by the learner, only
        while it has none (compare-and-set): False when another session gave one meanwhile."""
        with self.write() as conn:
            return conn.execute(
                "UPDATE cards SET answer = ?, key_source = ?, updated_at = updated_at WHERE id = ? "
                "AND (answer IS NULL OR answer = '')", (answer, key_source, card_id)).rowcount > 0

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

    def history_rows(self, deck_id: int | tuple[int, ...] | None = None) -> Iterator[tuple]:
        """Every answer of a deck (or of several: a deck's tree; of all decks when None) by card then time, since
        each card's last reset: (card_id, deck_id, reviewed_at in Unix seconds, rating, reviewed_at as stored,
        format asked in)."""
        where, args = ("", ())
        if deck_id is not None:
            where, args = _in_decks("c.deck_id", deck_id)
            where = f"AND {where} "
        return self.conn.execute(  # answers before a card's reset to new do not count (as in Anki and fsrs-rs)
            "SELECT r.card_id, c.deck_id, CAST(strftime('%s', r.reviewed_at) AS INTEGER), r.rating, r.reviewed_at, "
            "r.format "
            "FROM reviews r JOIN cards c ON c.id = r.card_id JOIN card_state s ON s.card_id = r.card_id "
            f"WHERE (s.reset_at IS NULL OR r.reviewed_at >= s.reset_at) AND r.kind != {CRAM} {where}"
            "ORDER BY r.card_id, r.reviewed_at, r.id",
            args)

    def studied_card_rows(self, deck_id: int | tuple[int, ...] | None = None) -> list[tuple]:
        """Active studied cards with a memory state, history-only ones included (optimize's simulation):
        (card_id, deck_id, stability, difficulty, due and last_review in Unix seconds, lapses)."""
        scope, args = _in_decks("s.deck_id", deck_id) if deck_id is not None else ("1", ())
        return self.conn.execute(
            "SELECT s.card_id, s.deck_id, s.stability, s.difficulty, CAST(strftime('%s', s.due) AS INTEGER), "
            "CAST(strftime('%s', s.last_review) AS INTEGER), s.lapses FROM card_state s WHERE " + scope +
            " AND s.retired != 1 AND s.suspended = 0 AND s.state > 0 AND s.stability > 0", args).fetchall()

    def new_card_counts(self, deck_id: int | tuple[int, ...] | None = None) -> dict[int, int]:
        """Active new cards by deck id."""
        scope, args = _in_decks("s.deck_id", deck_id) if deck_id is not None else ("1", ())
        return dict(self.conn.execute(
            f"SELECT s.deck_id, count(*) FROM card_state s WHERE {scope} AND s.retired = 0 AND s.suspended = 0 "
            "AND s.state = 0 GROUP BY s.deck_id", args).fetchall())

    def answer_tallies(self, deck_id: int | tuple[int, ...] | None, max_answer_ms: int) -> tuple[dict, dict, dict]:
        """From the log of a deck (or of several; all decks when None): answers by rating of first answers, answers
        by rating of passed reviews, and {(kind, rating): (answers, mean seconds)} of timed answers, times capped."""
        join, args = "WHERE", ()
        if deck_id is not None:
            where, args = _in_decks("c.deck_id", deck_id)
            join = f"JOIN cards c ON c.id = r.card_id WHERE {where} AND"
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
            "rmse_bins_after, adopted, id, log_loss_held_out_before, rmse_bins_held_out_before, "
            "log_loss_held_out_after, rmse_bins_held_out_after, held_out_split "
            f"FROM parameter_sets WHERE {where} ORDER BY id", args).fetchall()
        return [{"id": r[9], "created_at": r[0], "parameters": json.loads(r[1]), "reviews": r[2], "optimizer": r[3],
                 "before": {"log_loss": r[4], "rmse_bins": r[5]}, "after": {"log_loss": r[6], "rmse_bins": r[7]},
                 "held_out": None if r[14] is None else {
                     "before": {"log_loss": r[10], "rmse_bins": r[11]},
                     "after": {"log_loss": r[12], "rmse_bins": r[13]}, "split": json.loads(r[14])},
                 "adopted": bool(r[8])} for r in rows]

    def record_parameter_set(self, now: datetime, deck_id: int | None, parameters: list[float], reviews: int,
                             optimizer: str, before: dict, after: dict, adopted: bool,
                             held_out: dict | None = None) -> int:
        """Keep a fitted set with its metrics (in sample, and held out); returns its id. Inside the caller's
        `write()` (with `start_reschedule` when it is adopted)."""
        self._in_write()
        held = held_out or {"before": {}, "after": {}, "split": None}
        return self.conn.execute(
            "INSERT INTO parameter_sets (created_at, deck_id, parameters, reviews, optimizer, log_loss_before, "
            "rmse_bins_before, log_loss_after, rmse_bins_after, adopted, log_loss_held_out_before, "
            "rmse_bins_held_out_before, log_loss_held_out_after, rmse_bins_held_out_after, held_out_split) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (to_text(now), deck_id, json.dumps(parameters), reviews, optimizer, before["log_loss"],
             before["rmse_bins"], after["log_loss"], after["rmse_bins"], int(adopted),
             held["before"].get("log_loss"), held["before"].get("rmse_bins"), held["after"].get("log_loss"),
             held["after"].get("rmse_bins"), None if held["split"] is None else json.dumps(held["split"]))).lastrowid

    def active_parameter_set(self, deck_id: int | None = None) -> dict | None:
        """The fitted set in force for a deck (for all decks when None): the latest adopted set of the scope the
        parameters come from, when the settings hold it; None for FSRS-6's defaults. Adds `scope` (a deck id,
        or None for all decks)."""
        own = self.deck_own_settings(deck_id) if deck_id is not None else {}
        scope = deck_id if "parameters" in own else None
        current = own["parameters"] if "parameters" in own else self.global_settings().get("parameters")
        if current is None:
            return None
        for entry in reversed(self.parameter_sets(scope)):
            if entry["adopted"] and entry["parameters"] == current:
                return {**entry, "scope": scope}
        return {"id": None, "created_at": None, "parameters": current, "reviews": None, "scope": scope}

    def reviewed_card_rows(self, deck_ids: list[int]) -> list[tuple]:
        """Active and retired cards of these decks that have answers, by card id: (card_id, deck_id, state, due,
        last_review, reps, suspended, retired), times as stored."""
        marks = ",".join("?" * len(deck_ids)) or "NULL"
        return self.conn.execute(
            f"SELECT card_id, deck_id, state, due, last_review, reps, suspended, retired FROM card_state "
            f"WHERE deck_id IN ({marks}) AND reps > 0 ORDER BY card_id", deck_ids).fetchall()

    def histories(self, card_ids: list[int]) -> dict[int, list[tuple[int, int, Review]]]:
        """Each card's answers in time order since its last reset to new: (review id, kind, Review)."""
        by_card: dict[int, list] = {}
        for start in range(0, len(card_ids), 5000):
            chunk = card_ids[start:start + 5000]
            for review_id, card_id, at, rating, duration, kind in self.conn.execute(
                    "SELECT r.id, r.card_id, r.reviewed_at, r.rating, r.duration_ms, r.kind FROM reviews r "
                    "JOIN card_state s ON s.card_id = r.card_id WHERE r.card_id IN "
                    f"({','.join('?' * len(chunk))}) AND (s.reset_at IS NULL OR r.reviewed_at >= s.reset_at) "
                    f"AND r.kind != {CRAM} "
                    "ORDER BY r.card_id, r.reviewed_at, r.id", chunk):
                by_card.setdefault(card_id, []).append(
                    (review_id, kind, Review(datetime.fromisoformat(at), rating, duration_ms=duration)))
        return by_card

    def start_reschedule(self, now: datetime, deck_id: int | None, deck_ids: list[int],
                         parameters: list[float] | None, reason: str, parameter_set_id: int | None = None) -> int:
        """Put a parameter set in force for a scope (the deck's own, or the global one when `deck_id` is None;
        `parameters` None: back to the defaults) and open the job that reschedules `deck_ids`. Inside the
        caller's `write()`: the settings and the job change together. Returns the job id (see `reschedule`)."""
        self._in_write()
        conn = self.conn
        old = (self.deck_own_settings(deck_id) if deck_id is not None else self.global_settings()).get("parameters")
        if deck_id is None:
            if parameters is None:
                conn.execute("DELETE FROM settings WHERE key = 'parameters'")
            else:
                self._set_setting(None, "parameters", parameters)
        else:
            settings = self.deck_own_settings(deck_id)
            settings.pop("parameters", None)
            if parameters is not None:
                settings["parameters"] = parameters
            conn.execute("UPDATE decks SET settings = ? WHERE id = ?", (json.dumps(settings), deck_id))
        if parameter_set_id is not None:
            conn.execute("UPDATE parameter_sets SET adopted = 1 WHERE id = ?", (parameter_set_id,))
        max_review = conn.execute("SELECT coalesce(max(id), 0) FROM reviews").fetchone()[0]
        return conn.execute(
            "INSERT INTO reschedules (created_at, deck_ids, reason, parameter_set_id, old_parameters, new_parameters, "
            "max_review_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (to_text(now), json.dumps(deck_ids), reason, parameter_set_id, None if old is None else json.dumps(old),
             None if parameters is None else json.dumps(parameters), max_review)).lastrowid

    def pending_reschedules(self) -> list[dict]:
        """Rescheduling jobs not finished (interrupted), oldest first."""
        rows = self.conn.execute(
            "SELECT id, created_at, deck_ids, reason, cursor, reviews_done, new_parameters FROM reschedules "
            "WHERE finished_at IS NULL ORDER BY id").fetchall()
        return [{"id": r[0], "created_at": r[1], "deck_ids": json.loads(r[2]), "reason": r[3], "cursor": r[4],
                 "reviews_done": r[5], "parameters": None if r[6] is None else json.loads(r[6])} for r in rows]

    def reschedule(self, job_id: int, done: Callable[[int, int], None] | None = None) -> int:
        """Run (or resume) a rescheduling job: replay each reviewed card of its decks with `fsrs` under the
        deck's settings as they are now, rewrite its state and its reviews' `prev_*` state, `due_after` and
        kind (the history itself stays). Returns the reviews replayed by this call.

        Short transactions, so that a review session answering meanwhile waits milliseconds, not minutes: a
        chunk of cards (about RESCHEDULE_CHUNK reviews) is read and replayed outside any transaction, then
        written in one short transaction that first checks that none of its cards was answered (or undone)
        since it was read (such cards are replayed again inside it), and moves the job's cursor. The job
        ends with the cards answered while it ran (a session started before the change schedules with the
        old set), and is marked finished. Killed at any point, every card follows the old set (past the
        cursor) or the new one (up to it); running the job again finishes it (replaying is idempotent).
        `done(reviews replayed, total)` after each chunk."""
        job = self.conn.execute("SELECT deck_ids, cursor, max_review_id, reviews_done FROM reschedules WHERE id = ?",
                                (job_id,)).fetchone()
        deck_ids, cursor, max_review_id, reviews_done = json.loads(job[0]), job[1], job[2], job[3]
        rows = [r for r in self.reviewed_card_rows(deck_ids) if r[0] > cursor]
        total = reviews_done + sum(r[5] for r in rows)
        count = 0
        for chunk in _chunks(rows):
            count += self._reschedule_chunk(job_id, chunk, advance=True)
            if done:
                done(reviews_done + count, total)
            pause = os.environ.get("SRS_SLOW_RESCHEDULE")  # the kill test widens the window between chunks
            if pause:
                import time

                time.sleep(float(pause))
        marks = ",".join("?" * len(deck_ids)) or "NULL"
        late = self.conn.execute(  # cards answered since the job began, with their answer counts
            f"SELECT s.card_id, s.reps FROM card_state s WHERE s.deck_id IN ({marks}) AND s.card_id IN "
            f"(SELECT card_id FROM reviews WHERE id > ?) ORDER BY s.card_id", (*deck_ids, max_review_id)).fetchall()
        for chunk in _chunks([(card_id, None, None, None, None, reps) for card_id, reps in late]):
            count += self._reschedule_chunk(job_id, chunk, advance=False)
        with self.write() as conn:
            conn.execute("UPDATE reschedules SET finished_at = ? WHERE id = ?", (to_text(clock_now()), job_id))
        return count

    def _reschedule_chunk(self, job_id: int, card_ids: list[int], advance: bool) -> int:
        """Replay these cards (read and replayed outside a transaction, checked and written inside one)."""
        from srs.scheduling import replay

        def versions() -> dict[int, tuple]:
            marks = ",".join("?" * len(card_ids))
            return {row[0]: row[1:] for row in self.conn.execute(
                f"SELECT card_id, count(*), max(id) FROM reviews WHERE card_id IN ({marks}) GROUP BY card_id",
                card_ids)}

        def replayed(ids: list[int]) -> dict[int, tuple]:
            decks = dict(self.conn.execute(
                f"SELECT card_id, deck_id FROM card_state WHERE card_id IN ({','.join('?' * len(ids))})", ids))
            settings = {deck: self.deck_settings(deck) for deck in set(decks.values())}
            out = {}
            for card_id, triples in self.histories(ids).items():
                rows, state = replay(card_id, [review for _, _, review in triples], settings[decks[card_id]])
                out[card_id] = (triples, rows, state)
            return out

        seen = versions()
        work = replayed(card_ids)
        with self.write() as conn:
            now = versions()
            changed = [card_id for card_id in card_ids if now.get(card_id) != seen.get(card_id)]
            if changed:  # answered or undone since read: replayed again, inside the transaction
                work.update(replayed(changed))
            written = self._write_replays(work)
            conn.execute("UPDATE reschedules SET reviews_done = reviews_done + ?" + (", cursor = ?" if advance else "")
                         + " WHERE id = ?", (written, *([max(card_ids)] if advance else []), job_id))
        return written

    def _write_replays(self, work: dict[int, tuple]) -> int:
        """Write replayed cards, {card id: ((review id, kind, Review) since its last reset, replay rows, state)}:
        each review's state before it (`prev_*`), `due_after` and, when it changed, kind; and the card's
        state (Anki's interval of an imported card dropped: srs schedules it now). Inside the caller's
        transaction. Returns the reviews written."""
        review_updates, kind_updates, state_updates = [], [], []
        for card_id, (triples, rows, state) in work.items():
            for (review_id, kind, _), row in zip(triples, rows):
                review_updates.append((row[7], *row[9:], review_id))
                if row[3] != kind:  # rare: kind is indexed, so it is only written when it changes
                    kind_updates.append((row[3], review_id))
            state_updates.append((STATE_NAMES.index(state.state), state.step, state.stability, state.difficulty,
                                  _t(state.due), _t(state.last_review), state.reps, state.lapses, card_id))
        conn = self.conn
        conn.executemany(
            "UPDATE reviews SET due_after = ?, prev_state = ?, prev_step = ?, prev_stability = ?, "
            "prev_difficulty = ?, prev_due = ?, prev_last_review = ?, prev_reps = ?, prev_lapses = ? "
            "WHERE id = ?", review_updates)
        conn.executemany("UPDATE reviews SET kind = ? WHERE id = ?", kind_updates)
        conn.executemany(
            "UPDATE card_state SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
            "last_review = ?, reps = ?, lapses = ?, interval_days = NULL WHERE card_id = ?", state_updates)
        return len(review_updates)

    # -- one card whole (`srs card ID`) -------------------------------------------------

    def card_row(self, card_id: int) -> tuple:
        """One card's raw row in the column order of _CARD_SQL (retired or not); SrsError when unknown."""
        row = self.conn.execute(self._CARD_SQL + "WHERE c.id = ?", (card_id,)).fetchone()
        if row is None:
            raise SrsError(f"no card with id {card_id} (see 'srs cards')")
        return row

    def card_log_rows(self, card_id: int) -> list[tuple]:
        """One card's answers in the column order of `log_rows`, oldest first."""
        return self.conn.execute(
            "SELECT r.id, r.card_id, d.name, r.reviewed_at, r.rating, r.kind, r.duration_ms, r.choice, r.correct, "
               "r.format "
            "FROM reviews r JOIN cards c ON c.id = r.card_id JOIN decks d ON d.id = c.deck_id "
            "WHERE r.card_id = ? ORDER BY r.reviewed_at, r.id", (card_id,)).fetchall()
    # -- search and acting on many cards (`srs cards QUERY`, `srs suspend/bury/forget/tag`) ----

    def search_rows(self, where: str, args: list, retrievability_sql: str,
                    functions: dict[str, tuple[int, Callable]], live: bool = True) -> Iterator[tuple]:
        """The live cards for which a condition `srs.query` built holds, streamed in deck then card order:
        rows in the column order of _CARD_SQL, then learner tags, Anki's interval and retrievability now
        (the last three columns). `functions`: {name: (arguments, function)} the condition calls."""
        for name, (count, function) in functions.items():
            self.conn.create_function(name, count, function, deterministic=True)
        select, rest = self._CARD_SQL.split(" FROM ", 1)
        sql = (f"{select}, c.learner_tags, s.interval_days, {retrievability_sql} FROM {rest}"
               f"WHERE c.deck_id = ? AND {'c.retired = 0 AND ' if live else ''}({where}) ORDER BY c.position")
        # a deck at a time, each in the order of the index on (deck, position): nothing is sorted or held
        for (deck_id,) in self.conn.execute("SELECT id FROM decks ORDER BY name").fetchall():
            yield from self.conn.execute(sql, [deck_id, *args])

    def small_cache(self) -> None:
        """A page cache of 8 MB instead of 64 (a read-out that streams the whole collection once)."""
        self.conn.execute("PRAGMA cache_size = -8192")

    def stats_cache(self, key: str) -> tuple[str, str] | None:
        """(end, sums by learner day as JSON) that `srs.stats` kept for these settings, if still valid:
        triggers empty the table when an answer before its end is added, changed or removed, or a card
        changes deck (migration m012)."""
        return self.conn.execute("SELECT upto, days FROM stats_cache WHERE key = ?", (key,)).fetchone()

    def keep_stats_cache(self, key: str, upto: str, days: str) -> None:
        """Keep `srs.stats`' sums by learner day up to `upto` (one set: settings change rarely), if the
        database can be written at once: a read-only, busy or damaged one simply keeps none (`srs stats`
        only reads, and never waits for another program's write)."""
        def keep(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM stats_cache")
            conn.execute("INSERT INTO stats_cache (key, upto, days) VALUES (?, ?, ?)", (key, upto, days))

        self._write_if_free(keep)

    def first_last_review(self) -> str | None:
        """The earliest `last_review` of any card (the first learner day retrievability counts from)."""
        return self.conn.execute("SELECT min(last_review) FROM card_state").fetchone()[0]

    def bury(self, card_ids: list[int], until: dict[int, datetime]) -> list[int]:
        """Bury cards until a moment (`until`: per deck id, the start of its next learner day), as
        `suspended = 2` (see `_unbury`); suspended and buried cards are left as they are. Returns the
        cards buried."""
        return self._flag(card_ids, self._BURY, lambda deck_id: (to_text(until[deck_id]),))

    _BURY = "UPDATE card_state SET suspended = 2, buried_until = ? WHERE card_id = ? AND suspended = 0"

    def unbury(self, card_ids: list[int]) -> list[int]:
        return self._flag(card_ids, "UPDATE card_state SET suspended = 0, buried_until = NULL WHERE card_id = ? "
                          "AND suspended = 2")

    def suspend_cards(self, card_ids: list[int], suspended: bool = True) -> list[int]:
        """Suspend (or unsuspend) cards, all or none (an unknown id: SrsError, nothing changed); returns
        those that changed. The one way to suspend: `srs suspend`, the review's suspend key and its undo.

        As Anki's (queue -1, and back from it): a buried card suspended is suspended, its burial over
        (`buried_until` cleared: unsuspended, it is due again at once, as a card is in Anki); unsuspending
        touches only suspended cards (a buried card stays buried until its day ends)."""
        if suspended:
            return self._flag(card_ids, "UPDATE card_state SET suspended = 1, buried_until = NULL "
                              "WHERE card_id = ? AND suspended != 1")
        return self._flag(card_ids, "UPDATE card_state SET suspended = 0 WHERE card_id = ? AND suspended = 1")

    def forget(self, card_ids: list[int], now: datetime) -> list[int]:
        """Reset cards to new, as Anki's Forget: the history stays in the log, and answers before now no
        longer count toward the card's state (`reset_at`, as for a card Anki reset). Returns the cards
        reset (those not new already)."""
        return self._flag(card_ids, "UPDATE card_state SET state = 0, step = NULL, stability = NULL, "
                          "difficulty = NULL, due = NULL, last_review = NULL, reps = 0, lapses = 0, "
                          "interval_days = NULL, reset_at = ? WHERE card_id = ? AND (state != 0 OR reps > 0)",
                          lambda deck_id: (to_text(now),))

    def _flag(self, card_ids: list[int], sql: str, before: Callable[[int], tuple] | None = None) -> list[int]:
        changed = []
        with self.write() as conn:
            decks = self._decks_of(card_ids)
            for card_id in card_ids:
                args = (*(before(decks[card_id]) if before else ()), card_id)
                if conn.execute(sql, args).rowcount:
                    changed.append(card_id)
        return changed

    def _decks_of(self, card_ids: list[int]) -> dict[int, int]:
        """{card id: deck id}; SrsError naming the first unknown id."""
        found = {}
        for start in range(0, len(card_ids), 500):
            part = card_ids[start:start + 500]
            found.update(self.conn.execute(
                f"SELECT card_id, deck_id FROM card_state WHERE card_id IN ({', '.join('?' * len(part))})", part))
        for card_id in card_ids:
            if card_id not in found:
                raise SrsError(f"no card with id {card_id} (see 'srs cards')")
        return found

    def tag_cards(self, card_ids: list[int], tag: str, add: bool = True) -> list[int]:
        """Give cards a tag of the learner's (kept apart from a source's tags: re-import keeps it), or take
        one the learner gave away. Returns the cards that changed."""
        changed = []
        with self.write() as conn:
            self._decks_of(card_ids)
            for start in range(0, len(card_ids), 500):
                part = card_ids[start:start + 500]
                for card_id, tags, own in conn.execute(
                        f"SELECT id, tags, learner_tags FROM cards WHERE id IN ({', '.join('?' * len(part))})", part):
                    own = json.loads(own) if own else []
                    present = tag.casefold() in {t.casefold() for t in own + (json.loads(tags) if tags else [])}
                    if add and not present:
                        own.append(tag)
                    elif not add and tag.casefold() in {t.casefold() for t in own}:
                        own = [t for t in own if t.casefold() != tag.casefold()]
                    else:
                        continue
                    conn.execute("UPDATE cards SET learner_tags = ? WHERE id = ?", (_json(own or None), card_id))
                    changed.append(card_id)
        return changed

    # -- notes and media (Anki notes kept whole; see srs.media) ---------------------------

    def _record_media(self, rows: list[tuple], now: datetime) -> None:
        """(name, stored file, sha256, size, source package) rows: one file per name, the latest read."""
        stamp = to_text(now)
        self.conn.executemany(
            "INSERT INTO media (name, file, sha256, size, source, added_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET file = excluded.file, sha256 = excluded.sha256, size = excluded.size, "
            "source = excluded.source, added_at = CASE WHEN media.sha256 = excluded.sha256 THEN media.added_at "
            "ELSE excluded.added_at END", [(*row, stamp) for row in rows])

    def _link_notes(self, deck_id: int, spec: DeckSpec, stamp: str, new_deck: dict[str, int] | None = None) -> None:
        """Keep the notes of the deck's cards (guid, note type, fields, tags) and link each card to its
        note. `new_deck`: for a deck that had no cards before, {source id: card id} of its cards (none
        has a link yet)."""
        conn = self.conn
        noted = [card for card in spec.cards if card.note is not None and card.source_id]
        if not noted:
            return
        if new_deck is not None:
            rows = {source_id: (card_id, None, None) for source_id, card_id in new_deck.items()}
        else:
            rows = {source_id: (card_id, note_id, ord_) for card_id, source_id, note_id, ord_ in conn.execute(
                "SELECT c.id, c.source_id, n.note_id, n.ord FROM cards c LEFT JOIN card_notes n ON n.card_id = c.id "
                "WHERE c.deck_id = ? AND c.source_id IS NOT NULL", (deck_id,))}
        type_ids: dict[int, int] = {}
        note_ids: dict[str, int] = {}
        known = self._notes_by_guid(list(dict.fromkeys(card.note.guid for card in noted)))
        added, changed, links = [], [], []
        next_id = None
        for card in noted:
            note = card.note
            note_id = note_ids.get(note.guid)
            if note_id is None:
                key = id(note.note_type)
                if key not in type_ids:
                    type_ids[key] = self._note_type_id(note.note_type)
                values = (type_ids[key], _json(note.fields), _json(note.tags), _json(note.media), note.mod)
                row = known.get(note.guid)
                if row is None:
                    if next_id is None:
                        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM notes").fetchone()[0]
                    note_id, next_id = next_id, next_id + 1
                    added.append((note_id, note.guid, *values, stamp))
                else:
                    note_id = row[0]
                    if tuple(row[1:]) != values and not _older(note, row[5]):  # an older note: the stored one kept
                        changed.append((*values, stamp, note_id))
                note_ids[note.guid] = note_id
            row = rows.get(card.source_id)
            if row is not None and (row[1], row[2]) != (note_id, note.ord):
                links.append((note_id, note.ord, row[0]))
        conn.executemany("INSERT INTO notes (id, guid, note_type_id, fields, tags, media, mod, updated_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", added)
        conn.executemany("UPDATE notes SET note_type_id = ?, fields = ?, tags = ?, media = ?, mod = ?, updated_at = ? "
                         "WHERE id = ?", changed)
        conn.executemany("INSERT OR REPLACE INTO card_notes (note_id, ord, card_id) VALUES (?, ?, ?)", links)

    def _notes_by_guid(self, guids: list[str]) -> dict[str, tuple]:
        """{guid: (id, note type id, fields, tags, media, mod)} of the stored notes among `guids`."""
        found = {}
        for start in range(0, len(guids), 500):
            part = guids[start:start + 500]
            found.update((row[0], row[1:]) for row in self.conn.execute(
                "SELECT guid, id, note_type_id, fields, tags, media, mod FROM notes "
                f"WHERE guid IN ({', '.join('?' * len(part))})", part))
        return found

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

    def card_notes(self, deck_ids: list[int] | None = None, card_id: int | None = None,
                   card_ids: list[int] | None = None) -> dict[int, NoteSpec]:
        """{card id: NoteSpec} for the cards (of these decks, this one card, or these cards: one query for
        each 500) that are Anki notes' cards."""
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
        queries = [(sql, args)]
        if card_ids is not None:
            queries = [(sql + f" AND cn.card_id IN ({', '.join('?' * len(part))})", args + part)
                       for part in (card_ids[start:start + 500] for start in range(0, len(card_ids), 500))]
        types: dict[int, NoteType] = {}
        out = {}
        for row in (row for query, query_args in queries for row in self.conn.execute(query, query_args)):
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

    def media_of_package(self, source: str) -> list[str]:
        """The stored files of the media last read from a package (its absolute path)."""
        return [row[0] for row in self.conn.execute("SELECT file FROM media WHERE source = ?", (source,))]

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


def _kept_answer(card: CardSpec, old: "_Existing", report: dict) -> tuple[str | None, str | None]:
    """The answer (a choice card's key) and who gave it, for a stored card a source brings again.

    Learner input is never lost: a source silent about the answer (no key, an empty answer) leaves
    the stored one as it is, whoever gave it; a source that states a different one changes it,
    except a key the learner gave (in review or with `srs key`), which only the learner's own deck
    file changes. A stored key the new options no longer hold cannot stay. Changed and kept keys are
    listed in `report` ("changed_keys", "kept_keys": (question, stored key, the source's key))."""
    answer, key_source = card.answer, card.key_source
    if not old.answer or (card.options is not None and old.answer not in card.options):
        return answer, key_source
    if not answer:
        return old.answer, old.key_source  # the source is silent: what the store has stays
    if answer != old.answer:
        if old.key_source == "learner" and card.key_source != "deck":
            report.setdefault("kept_keys", []).append((card.question, old.answer, answer))
            return old.answer, old.key_source
        if card.options is not None:
            report.setdefault("changed_keys", []).append((card.question, old.answer, answer))
    return answer, key_source


@contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) on the database's folder while the database is migrated, so that
    a second srs opening it at that moment waits, then finds it migrated. Not on the database file: closing
    any descriptor of that file would drop the POSIX locks SQLite holds on it for this process, and another
    srs closing would then take the database for unused and delete its WAL under this connection."""
    try:
        import fcntl
    except ImportError:  # not on this system: SQLite's busy timeout is all there is
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class _Probe(Exception):
    """Rolls back the write `check_writable` tries."""


def _is_busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(error))


def _tell_waiting() -> None:
    import sys

    print("srs: waiting for another srs (or program) to finish with the database; this is saved as soon as it "
          "does (Ctrl-C gives up on it and quits)", file=sys.stderr, flush=True)


def explain(error: sqlite3.Error, path: Path) -> SrsError:
    """What an SQLite error at open (or at a write) means for the learner, in one true line."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    folder = path.parent if str(path.parent) else Path(".")
    where = str(path)
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) and _read_only_mount(folder):
        return SrsError("the database is on a read-only file system (mounted read-only): srs needs to write "
                        "there, even to read (its -wal and -shm files); copy it somewhere writable", where)
    if primary == sqlite3.SQLITE_READONLY or "readonly" in str(error):
        if not os.access(folder, os.W_OK):
            return SrsError("the folder is read-only: srs writes its -wal and -shm files beside the database; "
                            "make the folder writable or move the database", where)
        return SrsError("the database file is read-only (check its permissions, or copy it somewhere you "
                        "can write)", where)
    if primary == sqlite3.SQLITE_CANTOPEN:
        if not folder.is_dir():
            return SrsError("cannot open the database: its folder does not exist", where)
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
            return SrsError("cannot open the database: permission denied (the file or its folder is read-only "
                            "or not yours)", where)
        return SrsError(f"cannot open the database ({error})", where)
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _disk_full(folder)):
        return SrsError("the disk is full: free some space and try again (nothing was written)", where)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return SrsError("the database is locked by another program (another srs, a sync tool?); try again "
                        "when it is done", where)
    if primary == sqlite3.SQLITE_NOTADB:
        return SrsError("not an srs database (not an SQLite file at all); choose another --db", where)
    if primary == sqlite3.SQLITE_CORRUPT:
        return SrsError("the database is damaged; nothing was written. 'srs check' tells more and "
                        "'srs check --repair NEW.db' recovers what it can into a new file", where)
    if primary == sqlite3.SQLITE_IOERR:
        return SrsError(f"the disk could not be read or written ({error})", where)
    return SrsError(f"not a usable srs database ({error})", where)


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder if str(folder) else ".").f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _free_bytes(folder: Path) -> int:
    """Bytes free for an unprivileged writer in this folder's file system (very many when unknown)."""
    try:
        info = os.statvfs(folder if str(folder) else ".")
    except (OSError, AttributeError):  # no statvfs on this system
        return 1 << 62
    return info.f_bavail * info.f_frsize


def _disk_full(folder: Path) -> bool:
    return _free_bytes(folder) < 64 * 1024


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
    hint: str | None = None
    typed_answer: str | None = None
    ord: int = 0
    images: str | None = None
    option_notes: str | None = None
    origin: str | None = None  # the source that brought it (see `_origin`)
    linked: int = 0  # a card of an Anki note
    deck_id: int | None = None


_PACKAGE_SOURCE = re.compile(r"(.+\.(?:apkg|colpkg))#-?\d+", re.IGNORECASE)  # an Anki package's deck (srs.anki.reader)


def _origin(source: str | None) -> tuple[str | None, bool]:
    """The origin a deck's source gives its cards (`cards.origin`): the file it came from, one for all the
    decks of an Anki package; and whether that is an Anki package."""
    if source is None:
        return None, False
    package = _PACKAGE_SOURCE.fullmatch(source)
    return (package.group(1), True) if package else (source, False)


def _older(note: NoteSpec | None, stored_mod: int | None) -> bool:
    """Whether an incoming Anki note is older than the stored one (both modification times known): Anki's
    importer then keeps the stored note, and so does srs, with its cards' text."""
    return note is not None and note.mod is not None and stored_mod is not None and note.mod < stored_mod


def _is_package(origin: str | None) -> bool:
    """Whether a card's origin (`cards.origin`, a path without a deck id) is an Anki package."""
    return origin is not None and origin.lower().endswith((".apkg", ".colpkg"))


def _claimable(old: _Existing, origin: str | None, package: bool) -> bool:
    """Whether an import from `origin` may match a stored card of its deck: its own cards; a file's cards
    (a lesson and the deck file written from it are the same cards, and so is srs's own export of them,
    studied in Anki and imported back); cards of unknown origin (before srs kept it) of its kind (Anki
    notes' cards for a package). Another package's cards only as the same Anki cards
    (`_anki_cards_in_store`), never a package's cards for a file; without a source, every card of the deck."""
    if origin is None or old.origin == origin:
        return True
    if old.origin is None:
        return bool(old.linked) == package
    return not _is_package(old.origin)


def _adopts(old: _Existing, origin: str | None, package: bool) -> bool:
    """Whether a card another source brought before becomes this source's (the one whose next import
    retires it when it no longer has it): a card of unknown origin, or one of a source of the same kind
    (the deck file after its lesson, the newer of two packages holding one Anki card). A file's card that
    a package brings back (srs's own export, studied in Anki) stays the file's."""
    return old.origin is None or _is_package(old.origin) == package


def _retired_by(old: _Existing, origin: str | None) -> bool:
    """Whether a file's import retires a card of its deck that it did not bring: a card it brought before,
    or one of a deck file no longer there (the file was moved or renamed); never a card of unknown origin."""
    if origin is None or old.origin == origin:
        return True
    return old.origin is not None and not os.path.exists(old.origin)


# Unix microseconds of a stored time ('YYYY-MM-DDTHH:MM:SS.ffffffZ'), in SQL: a million times are read at once.
# The whole seconds come from the text without its fraction: SQLite reads a fraction to the millisecond, so
# strftime('%s') of a time at .9995 s or later would give the next second (and an export one second late).
_US = "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))"


def _ahead_sql(ahead: tuple[str, str] | None) -> tuple[str, tuple]:
    """The condition `first_due_review` adds when studying ahead: due today, or not answered today."""
    if ahead is None:
        return "", ()
    return " AND (due < ? OR last_review IS NULL OR last_review < ?)", ahead


def _chunks(rows: list[tuple]) -> Iterator[list[int]]:
    """Card ids of `reviewed_card_rows` in chunks of about RESCHEDULE_CHUNK answers (reps, column 5)."""
    chunk: list[int] = []
    size = 0
    for row in rows:
        chunk.append(row[0])
        size += row[5]
        if size >= RESCHEDULE_CHUNK:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # = json.dumps(value, ensure_ascii=False), made once


def _json(value) -> str | None:
    if value is None:
        return None
    if type(value) is list and all(type(item) is str for item in value):
        # A list of strings (tags, a note's fields and media) written as the encoder writes it, without
        # the encoder object it makes per call (1.8 us a list; 11,000 lists for a 2,700-card package)
        return "[" + ", ".join(map(encode_basestring, value)) + "]"
    return _ENCODE(value)


# The state columns of a card that has none yet, with their defaults (as the table gives them).
_NEW_STATE = {"state": 0, "step": None, "stability": None, "difficulty": None, "due": None, "last_review": None,
              "reps": 0, "lapses": 0, "suspended": 0, "reset_at": None, "interval_days": None, "buried_until": None}


def _schedule_columns(s: ImportedSchedule, hour: int, now: datetime) -> dict:
    """The card_state columns a schedule from a source sets: with its progress, the whole state as
    the source has it (Anki's interval kept for a review card); without, only the suspension. A card
    buried until a later learner day is `suspended = 2` until that day starts. Days are the deck's
    learner days (`clock.day_start` at its day-start `hour`)."""
    if s.progress:
        due = s.due_at if s.due_at is not None else (day_start(s.due_day, hour) if s.due_day is not None else None)
        studied = s.state != "new"
        columns = {"state": STATE_NAMES.index(s.state), "step": s.step if s.state in ("learning", "relearning")
                   else None, "stability": s.stability if studied else None,
                   "difficulty": s.difficulty if studied else None, "due": _t(due),
                   "last_review": _t(s.last_review) if studied else None, "reps": s.reps, "lapses": s.lapses,
                   "suspended": int(s.suspended), "interval_days": s.interval if s.state == "review" else None,
                   "reset_at": _t(s.reset_at)}
    else:
        columns = {"suspended": int(s.suspended)}
    if s.buried_until_day is not None and not s.suspended:
        until = day_start(s.buried_until_day, hour)
        if until > now:
            columns.update(suspended=2, buried_until=to_text(until))
    return columns


def _t(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)


def _ms(text: str) -> int:
    """Unix milliseconds of a stored time."""
    return _ms_of(from_text(text))


def _ms_of(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)




def _stored(row: tuple) -> StoredCard:
    """A card from a row in the column order of `Store._CARD_SQL`."""
    spec = CardSpec(question=row[3], answer=row[5], options=json.loads(row[4]) if row[4] else None,
                    explanation=row[7], key_source=row[6], source_id=row[8],
                    tags=json.loads(row[9]) if row[9] else [], hint=row[20], typed_answer=row[21],
                    kind=row[2], ord=row[22] or 0, images=json.loads(row[23]) if row[23] else {},
                    option_notes=json.loads(row[24]) if len(row) > 24 and row[24] else {})
    progress = Progress(state=STATE_NAMES[row[10]], step=row[11], stability=row[12], difficulty=row[13],
                        due=from_text(row[14]), last_review=from_text(row[15]), reps=row[16], lapses=row[17],
                        suspended=row[18] == 1)  # 2: buried for the day, not suspended
    return StoredCard(id=row[0], deck=row[1], spec=spec, progress=progress, deck_id=row[19])
