"""Writing Anki packages (.apkg): our cards as notes, with their progress when asked.

`export_decks(store, path, ...)` exports decks straight from the store (what
`srs export anki` runs); `write_apkg(path, cards, ...)` writes given `StoredCard`s.
Both write one note (and one card) per card, of note type "srs basic" or "srs choice"
(see `anki.format`), in a deck named like the card's deck, parent decks included.
Re-exporting updates the notes in Anki instead of duplicating them: note guids, note
type ids and deck ids are fixed. Card text is escaped (it is plain text) unless its deck
declares HTML content. With progress, each card carries its scheduling, FSRS memory
state and review log, and each deck its options (see `anki.progress`).

genanki writes the collection's schema, note types and decks; notes, cards and the
revlog are inserted in bulk, the review history streamed from the store card by card,
so a large export keeps little in memory. The package is zipped next to the target and
renamed into place: a killed export leaves either no package or a complete one.
"""

from __future__ import annotations

import copy
import glob
import html
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import unicodedata
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Iterator

import genanki

from srs import kinds
from srs.outputs import _alive
from srs.anki.format import (
    BASIC_AFMT, BASIC_MODEL_ID, BASIC_MODEL_NAME, BASIC_QFMT, CHOICE_AFMT, CHOICE_MODEL_ID, CHOICE_MODEL_NAME,
    CHOICE_QFMT, CLOZE_AFMT, CLOZE_MODEL_ID, CLOZE_MODEL_NAME, CLOZE_QFMT, CSS, FIELDS, GUID_NAMESPACE,
    HTML_MARK, REVERSED_MODEL_ID, REVERSED_MODEL_NAME, REVERSED_TEMPLATES, REVLOG_TYPES,
    TYPED_AFMT, TYPED_FIELDS, TYPED_MODEL_ID, TYPED_MODEL_NAME, TYPED_QFMT, deck_id_for, normalize_deck_name,
    stable_id,
)
from srs.anki.progress import STAGE, STAGING, Days, card_columns, insert_revlog, revlog_rows, to_us, with_resets
from srs.clock import DEFAULT_DAY_START_HOUR
from srs.model import SrsError, StoredCard
from srs.scheduling import Settings

_BATCH = 5_000


def _model(model_id: int, name: str, qfmt: str, afmt: str, fields=FIELDS, templates=None,
           model_type=genanki.Model.FRONT_BACK) -> genanki.Model:
    return genanki.Model(model_id, name, fields=[{"name": field} for field in fields],
                         templates=[{"name": n, "qfmt": q, "afmt": a}
                                    for n, q, a in templates or [("Card 1", qfmt, afmt)]],
                         css=CSS, model_type=model_type, sort_field_index=0)


BASIC_MODEL = _model(BASIC_MODEL_ID, BASIC_MODEL_NAME, BASIC_QFMT, BASIC_AFMT)
CHOICE_MODEL = _model(CHOICE_MODEL_ID, CHOICE_MODEL_NAME, CHOICE_QFMT, CHOICE_AFMT)
CLOZE_MODEL = _model(CLOZE_MODEL_ID, CLOZE_MODEL_NAME, CLOZE_QFMT, CLOZE_AFMT, model_type=genanki.Model.CLOZE)
TYPED_MODEL = _model(TYPED_MODEL_ID, TYPED_MODEL_NAME, TYPED_QFMT, TYPED_AFMT, TYPED_FIELDS)
REVERSED_MODEL = _model(REVERSED_MODEL_ID, REVERSED_MODEL_NAME, "", "", templates=REVERSED_TEMPLATES)
MODELS = {"basic": BASIC_MODEL, "choice": CHOICE_MODEL, "cloze": CLOZE_MODEL, "typed": TYPED_MODEL,
          "reversed": REVERSED_MODEL}


def note_guid(card_id: int) -> str:
    return genanki.guid_for(GUID_NAMESPACE, card_id)


@dataclass(frozen=True)
class DeckOptions:
    """How one deck is exported: its scheduling settings and whether its text is HTML."""

    settings: Settings = Settings()
    html: bool = False
    given: bool = False  # write the settings as the deck's Anki options

    @classmethod
    def from_settings(cls, values: dict | None) -> DeckOptions:
        """From a deck's settings as the store keeps them (`Store.deck_settings`)."""
        if values is None:
            return cls()
        return cls(Settings.from_dict(values), html=bool(values.get("html", False)), given=True)


# -- entry points ----------------------------------------------------------------------


def export_decks(store, path, decks: list[str] | None = None, *, with_progress: bool, now: datetime) -> dict:
    """Export the named decks (all when None) from the store; returns {"decks", "notes", "cards", "revlog",
    "left_out"}.

    Each deck's settings become its Anki options; a deck declaring HTML content is
    exported as HTML, every other deck's text is escaped. A deck with no card to write (only the
    history-only cards of `srs import-history`, or none left) is left out: not counted, and named
    in `left_out`.
    """
    with store.snapshot():  # answers given meanwhile (another session) are all in or all out
        if decks:
            names = {deck["id"]: deck["name"] for deck in store.decks()}
            chosen = [(deck_id, names[deck_id])  # each deck named with its subdecks (`Store.deck_tree`)
                      for deck_id in dict.fromkeys(i for name in decks for i in store.deck_tree(name).ids)]
        else:
            chosen = [(deck["id"], deck["name"]) for deck in store.decks()]
        options = {normalize_deck_name(name): DeckOptions.from_settings(store.deck_settings(deck_id))
                   for deck_id, name in chosen}
        notes = store.card_notes([deck_id for deck_id, _ in chosen])  # cards of Anki notes: written as those notes
        written: set[int] = set()  # the decks that gave a card

        def cards_of_decks() -> Iterator[StoredCard]:
            for deck_id, _ in chosen:
                for card in store.bulk_cards(deck_id):
                    written.add(deck_id)
                    yield _with_note(card, notes)

        cards = cards_of_decks()
        histories = None
        if with_progress:
            deck_ids = [deck_id for deck_id, _ in chosen]
            histories = with_resets(groupby(store.review_rows(deck_ids), key=itemgetter(0)), store.reset_times(deck_ids))
        rollover = int(store.global_settings().get("day_start_hour", DEFAULT_DAY_START_HOUR))
        empty = "nothing to export: no cards in " + (", ".join(repr(name) for _, name in chosen) or "the store")
        counts = _write(path, cards, options, histories, now=now, rollover=rollover, progress=with_progress,
                        empty_error=empty, media=_stored_media(store, notes.values()), media_folder=store.path)
    left_out = [name for deck_id, name in chosen if deck_id not in written]
    return {"decks": len(chosen) - len(left_out), **counts, "left_out": left_out}


def _with_note(card: StoredCard, notes: dict) -> StoredCard:
    card.spec.note = notes.get(card.id)
    return card


def _stored_media(store, notes) -> dict[str, Path]:
    """{name: file in the media folder} for the media the notes reference and the store keeps."""
    from srs.media import MediaStore

    names = list(dict.fromkeys(name for note in notes for name in note.media))
    folder = MediaStore(store.path)
    out = {}
    for name, stored in store.media_files(names).items():
        path = folder.path(stored)
        if path is not None:
            out[name] = path
    return out


def write_apkg(path, cards: Iterable[StoredCard], *, with_progress: bool, now: datetime,
               deck_options: dict[str, dict] | None = None,
               day_start_hour: int = DEFAULT_DAY_START_HOUR, media: dict[str, Path] | None = None) -> dict:
    """Write `cards` (with their `reviews` when `with_progress`) as an Anki package at `path`.

    Returns {"notes", "cards", "revlog"} counts. `deck_options` maps a deck name to its
    settings, as the store keeps them: `desired_retention`, `parameters`, `learning_steps`,
    `relearning_steps` (minutes), `maximum_interval`, `new_per_day`, `reviews_per_day`,
    and `html` (the deck's text is HTML: exported as is). They become the deck's Anki
    options and the retention and decay stored with each card. A card with a `spec.note`
    is written as that Anki note (its guid, note type and fields; siblings share it), with
    the files of `media` ({name: path}) its note references.
    """
    cards = list(cards)
    seen: set[int] = set()
    for card in cards:
        if card.id in seen:
            raise SrsError(f"card {card.id} is listed twice", path=str(path))
        seen.add(card.id)
    options = {normalize_deck_name(name): DeckOptions.from_settings(raw) for name, raw in (deck_options or {}).items()}
    histories = None
    if with_progress:
        default = DeckOptions()
        histories = ((card.id, _replayed(card, options.get(normalize_deck_name(card.deck), default).settings))
                     for card in cards if card.reviews)
    return _write(path, cards, options, histories, now=now, rollover=day_start_hour, progress=with_progress,
                  media=media)


def _replayed(card: StoredCard, settings: Settings) -> list[tuple]:
    """A card's history as `Store.review_rows` gives it, with the difficulty before each answer
    replayed with FSRS (for revlog.factor)."""
    from srs.scheduling import replay

    reviews = sorted(card.reviews, key=lambda r: to_us(r.reviewed_at))
    try:
        before = [row[12] for row in replay(card.id, reviews, {**asdict(settings), "fuzz": False})[0]]
    except Exception:  # a history FSRS cannot replay only loses the revlog difficulties
        before = [None] * len(reviews)
    return [(card.id, to_us(review.reviewed_at), int(review.rating), REVLOG_TYPES.get(review.kind, 1),
             review.duration_ms, to_us(review.due_after) if review.due_after else None, difficulty)
            for review, difficulty in zip(reviews, before)]


# -- notes -----------------------------------------------------------------------------


def _field(text: str | None, as_html: bool) -> str:
    """A field's HTML: plain text escaped with newlines as <br> (NFC, as Anki stores it), or HTML as is."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return text if as_html else html.escape(text, quote=True).replace("\n", "<br>")


_FENCE = re.compile(r"^(```|~~~)[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^\1[ \t]*$\n?", re.M | re.S)


def _text_field(text: str | None, as_html: bool, images: dict[str, str] | None = None,
                used: set[str] | None = None) -> str:
    """A card text's HTML: fenced code as `<pre><code>` (indentation and line breaks kept), a deck
    file's `![alt](path)` images as `<img>` of their media names (added to `used`), the rest as `_field`."""
    if not text:
        return ""
    if as_html or ("```" not in text and "~~~" not in text and "![" not in text):
        return _field(text, as_html)
    out, at = [], 0  # the text around each block kept as it is: `format.our_field` reads it all back
    for block in _FENCE.finditer(text):
        out.append(_images_html(text[at:block.start()], images, used))
        language = f' class="language-{html.escape(block.group(2))}"' if block.group(2) else ""
        code = unicodedata.normalize("NFC", block.group(3).removesuffix("\n"))
        out.append(f"<pre><code{language}>{html.escape(code, quote=False)}</code></pre>")
        at = block.end()
    out.append(_images_html(text[at:], images, used))
    return "".join(part for part in out if part)


def _images_html(text: str, images: dict[str, str] | None, used: set[str] | None) -> str:
    out, at = [], 0
    for match in kinds.IMAGE.finditer(text):
        name = (images or {}).get(match.group(2).strip())
        if name is None:
            continue  # a URL, or not a file of the deck: kept as text
        out.append(_field(text[at:match.start()], False))
        out.append(f'<img src="{html.escape(name)}" alt="{html.escape(match.group(1))}" '
                   f'data-srs-path="{html.escape(match.group(2).strip())}">')
        if used is not None:
            used.add(name)
        at = match.end()
    out.append(_field(text[at:], False))
    return "".join(out)


def note_fields(card: StoredCard, as_html: bool = False, used: set[str] | None = None) -> list[str]:
    """The note fields of a card (FIELDS; a typed card adds its other right answers): a cloze card's
    Question is its text with the deletions, a typed card's Answer the one Anki compares with."""
    spec = card.spec
    images = spec.images
    model = kinds.of(spec).anki(spec).model
    question = _text_field(spec.question, as_html, images, used) or "(no question)"  # an empty front makes no card
    explanation = _text_field(spec.explanation, as_html, images, used)
    if model == "cloze":
        return [question, "", "", explanation, "", str(card.id)]
    if model == "typed":
        first, *others = kinds.accepted(spec) or [""]
        alternatives = _field(kinds.ALTERNATIVES.join(others), as_html)
        return [question, "", _field(first, as_html), explanation, "", str(card.id), alternatives]
    answer = _text_field(spec.answer, as_html, images, used)
    choices = ""
    if model == "choice":
        items = "".join(f"<li>{_field(option, as_html)}</li>" for option in spec.options or [])
        choices = f'<ol class="srs-choices" type="A">{items}</ol>'
    # Source stays empty: ids a source gave (Anki guids...) mean nothing to the learner
    return [question, choices, answer, explanation, "", str(card.id)]


def _tags(tags: list[str]) -> str:
    """Anki's tags column: unique (ignoring case), sorted, no spaces inside, space-padded."""
    out: list[str] = []
    for tag in tags or []:
        tag = re.sub(r"\s+", "_", unicodedata.normalize("NFC", str(tag)).strip())
        if tag and tag.casefold() not in {t.casefold() for t in out}:
            out.append(tag)
    return " " + " ".join(sorted(out, key=str.casefold)) + " "


# -- the collection --------------------------------------------------------------------


def _write(path, cards: Iterable[StoredCard], options: dict[str, DeckOptions], histories, *, now: datetime,
           rollover: int, progress: bool, empty_error: str | None = None,
           media: dict[str, Path] | None = None, media_folder=None) -> dict:
    """Fill a collection in a private temporary folder, then zip it into place."""
    now_us = to_us(now)
    target = Path(path)
    _remove_leftovers(Path(tempfile.gettempdir()), "srs-apkg-")
    with tempfile.TemporaryDirectory(prefix=f"srs-apkg-{os.getpid()}.") as tmp:
        db_path = os.path.join(tmp, "collection.anki2")
        conn = sqlite3.connect(db_path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: the package is what must be whole
            conn.execute("PRAGMA synchronous = OFF")
            writer = _Collection(conn, options, now_us=now_us, rollover=rollover, progress=progress)
            conn.execute("BEGIN")
            for card in cards:
                writer.add_card(card)
            writer.settle()
            writer.flush()
            for card_id, answers in histories or ():
                writer.add_history(card_id, answers)
            counts = writer.finish()
            conn.execute("COMMIT")
        finally:
            conn.close()
        if empty_error and not counts["cards"]:
            raise SrsError(empty_error)
        media = dict(media or {})
        if media_folder is not None:  # a deck file's images: their media names are the stored files
            from srs.media import MediaStore

            folder = MediaStore(media_folder)
            media.update((name, found) for name in writer.media - media.keys() if (found := folder.path(name)))
        files = [(name, path) for name, path in media.items() if name in writer.media]
        _zip_atomically(target, db_path, files)
    return {**counts, **({"media": len(files)} if files else {})}  # media only when there is some


class _Collection:
    """The package's collection as it is filled: notes and cards, then histories, then decks."""

    def __init__(self, conn, options: dict[str, DeckOptions], *, now_us: int, rollover: int, progress: bool):
        self.conn, self.options, self.now_us, self.progress = conn, options, now_us, progress
        self.stamp = now_us // 1_000_000
        self.ids = itertools.count(now_us // 1000)  # note and card ids, as genanki numbers them
        genanki.Package([]).write_to_db(conn.cursor(), self.stamp, self.ids)  # schema and the col row
        self.days = Days(conn.execute("SELECT crt FROM col").fetchone()[0], rollover)
        self.default = DeckOptions()
        self.decks: dict[str, set[int]] = {}  # deck name -> model ids used
        self.deck_names: dict[str, tuple[str, int]] = {}  # our deck name -> (Anki's name, deck id)
        self.cards: dict[int, tuple[int, float | None]] = {}  # our card id -> (Anki card id, difficulty)
        self.notes_out: list[tuple] = []
        self.cards_out: list[tuple] = []
        self.revlog_out: list[tuple] = []  # staged (see anki.progress.insert_revlog)
        self.revlog = 0
        self.anki_notes: dict[str, int] = {}  # guid of an imported Anki note -> its note id here
        self.anki_cards: set[tuple[int, int]] = set()  # (note id, ord) written
        self.note_types: dict[int, object] = {}  # Anki note type id -> NoteType of the notes written
        self.media: set[str] = set()  # media names the written notes reference
        self.siblings: dict[tuple, int] = {}  # (deck, sibling key) -> note id: cloze numbers of one text
        self.pending: StoredCard | None = None  # a basic card held until the next shows whether it is reversed
        self.own_notes = 0
        self.twins: list[int] = []  # our cards left out: a second srs card of an Anki card already written
        if progress:
            conn.execute(STAGING)

    def add_card(self, card: StoredCard) -> None:
        """Add a card (and its note, unless a sibling's note has it). A basic card waits for the next
        card: its reversed sibling (written right after it) makes the two one "reversed" note."""
        pending, self.pending = self.pending, None
        spec = card.spec
        if pending is not None:
            if (spec.note is None and spec.kind == "basic" and spec.ord == 1 and pending.deck == card.deck
                    and kinds.of(spec).sibling_key(spec) == kinds.of(pending.spec).sibling_key(pending.spec)):
                nid = self._add(pending, "reversed")
                self._add(card, "reversed", nid)
                return
            self._add(pending, "basic")
        if spec.note is None and spec.kind == "basic" and spec.ord == 0:
            self.pending = card
            return
        self._add(card, None)

    def _add(self, card: StoredCard, model_name: str | None, nid: int | None = None) -> int:
        deck, deck_id = self.deck_names.get(card.deck) or self._deck(card.deck)
        opts = self.options.get(deck, self.default)
        spec = card.spec
        if spec.note is not None:
            nid, cid, ord_ = self._anki_note(spec.note, deck)
            if cid is None:
                self.twins.append(card.id)  # a second srs card for the same card of the note: Anki has one
                return nid
        else:
            how = kinds.of(spec).anki(spec)
            model = MODELS[model_name or how.model]
            self.decks.setdefault(deck, set()).add(model.model_id)
            ord_ = how.ord
            if model is CLOZE_MODEL:
                key = (deck, kinds.of(spec).sibling_key(spec))
                nid = self.siblings.get(key)
                if nid is None:
                    nid = self.siblings[key] = self._note(card, model, opts)
            elif nid is None:
                nid = self._note(card, model, opts)
            cid = next(self.ids)
        position = len(self.cards) + 1
        if self.progress:
            p = card.progress
            lrt = to_us(p.last_review) // 1_000_000 if p.last_review else None
            columns = card_columns(p, opts.settings, days=self.days, now_us=self.now_us, position=position, lrt=lrt)
        else:
            columns = (0, 0, position, 0, 0, 0, 0, 0, "")
        self.cards_out.append((cid, nid, deck_id, ord_, self.stamp, -1, *columns[:8], 0, 0, 0, columns[8]))
        self.cards[card.id] = (cid, card.progress.difficulty)
        if len(self.cards_out) >= _BATCH:
            self.flush()
        return nid

    def _note(self, card: StoredCard, model, opts: DeckOptions) -> int:
        """Write the note of one of our cards (siblings: of the first); its id."""
        nid = next(self.ids)
        fields = note_fields(card, opts.html, self.media)
        self.notes_out.append((nid, note_guid(card.id), model.model_id, self.stamp, -1, _tags(card.spec.tags),
                               "\x1f".join(fields), fields[0], 0, 0, ""))
        self.own_notes += 1
        return nid

    def settle(self) -> None:
        """Write the basic card still waiting for a reversed sibling (the last card)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            self._add(pending, "basic")

    def _anki_note(self, note, deck: str) -> tuple[int, int | None, int]:
        """(note id, card id, ord) of a card of an imported Anki note: the note is written once, as it came."""
        nid = self.anki_notes.get(note.guid)
        if nid is None:
            nid = self.anki_notes[note.guid] = next(self.ids)
            self.note_types.setdefault(note.note_type.id, note.note_type)
            fields = list(note.fields)
            sort = fields[note.note_type.sort_field] if note.note_type.sort_field < len(fields) else ""
            self.notes_out.append((nid, note.guid, note.note_type.id, self.stamp, -1, _tags(note.tags),
                                   "\x1f".join(fields), sort, 0, 0, ""))
            self.media.update(note.media)
        self.decks.setdefault(deck, set())
        if (nid, note.ord) in self.anki_cards:
            return nid, None, note.ord
        self.anki_cards.add((nid, note.ord))
        return nid, next(self.ids), note.ord

    def _deck(self, name: str) -> tuple[str, int]:
        deck = normalize_deck_name(name)
        self.deck_names[name] = (deck, deck_id_for(deck))
        return self.deck_names[name]

    def flush(self) -> None:
        for sql, rows in (("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.notes_out),
                          ("INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           self.cards_out),
                          (STAGE, self.revlog_out)):
            if rows:
                self.conn.executemany(sql, rows)
                rows.clear()

    def add_history(self, card_id: int, history: Iterable[tuple]) -> None:
        """A card's answers, as `Store.review_rows` gives them (oldest first)."""
        known = self.cards.get(card_id)
        if known is not None:
            cid, difficulty = known
            self.revlog_out.extend(revlog_rows(cid, list(history), difficulty, self.days))
            if len(self.revlog_out) >= _BATCH:
                self.flush()

    def finish(self) -> dict:
        self.flush()
        if self.progress:
            self.revlog = insert_revlog(self.conn, self.now_us)
        cursor = self.conn.cursor()
        for name in _with_parents(self.decks):
            deck = genanki.Deck(deck_id_for(name), name, HTML_MARK if self.options.get(name, self.default).html else "")
            for model in MODELS.values():
                if model.model_id in self.decks.get(name, ()):
                    deck.add_model(model)
            deck.write_to_db(cursor, self.stamp, self.ids)
        self._write_note_types()
        self._configure()
        notes = self.own_notes + len(self.anki_notes)
        twins = {"twins": self.twins} if self.twins else {}  # named by the export's report
        return {"notes": notes, "cards": len(self.cards), "revlog": self.revlog, **twins}

    def _write_note_types(self) -> None:
        """The imported notes' own note types, as Anki's legacy schema keeps them (ids, fields and
        template names unchanged: Anki then takes them for the note types it already has)."""
        if not self.note_types:
            return
        models = json.loads(self.conn.execute("SELECT models FROM col").fetchone()[0])
        for note_type in self.note_types.values():
            models[str(note_type.id)] = _note_type_json(note_type, self.stamp)
        self.conn.execute("UPDATE col SET models = ?", (json.dumps(models),))

    def _configure(self) -> None:
        """Scheduler settings of the collection, and each deck's options when they are given."""
        conf_text, decks_text, dconf_text = self.conn.execute("SELECT conf, decks, dconf FROM col").fetchone()
        conf, decks, dconf = json.loads(conf_text), json.loads(decks_text), json.loads(dconf_text)
        conf.update(schedVer=2,  # without it Anki takes the package for V1 and shifts learning ratings
                    rollover=self.days.rollover_s // 3600,
                    creationOffset=self.days.minutes_west,  # day numbers from the local date of crt
                    nextPos=len(self.cards) + 1)
        for name, opts in self.options.items():
            did = str(deck_id_for(name))
            if not opts.given or did not in decks:
                continue
            conf_id = stable_id("deck-options", name)
            dconf[str(conf_id)] = _deck_config(dconf["1"], conf_id, name, opts.settings, self.stamp)
            decks[did]["conf"] = conf_id
        self.conn.execute("UPDATE col SET conf = ?, decks = ?, dconf = ?",
                          (json.dumps(conf), json.dumps(decks), json.dumps(dconf)))


def _note_type_json(note_type, stamp: int) -> dict:
    """A note type in the legacy (schema 11) JSON Anki reads from `col.models`."""
    fields = list(note_type.fields)
    return {
        "id": note_type.id, "name": note_type.name, "type": note_type.kind, "mod": stamp, "usn": -1,
        "sortf": note_type.sort_field, "did": None, "tags": [], "vers": [],
        "tmpls": [{"name": name, "ord": ord_, "qfmt": qfmt, "afmt": afmt, "bqfmt": "", "bafmt": "", "did": None,
                   "bfont": "", "bsize": 0} for ord_, (name, qfmt, afmt) in enumerate(note_type.templates)],
        "flds": [{"name": name, "ord": ord_, "sticky": False, "rtl": False, "font": "Arial", "size": 20,
                  "media": []} for ord_, name in enumerate(fields)],
        "css": note_type.css, "latexPre": genanki.Model.DEFAULT_LATEX_PRE, "latexPost": genanki.Model.DEFAULT_LATEX_POST, "latexsvg": False,
        "req": [[ord_, "any", list(range(len(fields)))] for ord_ in range(len(note_type.templates))],
    }


def _with_parents(names: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for name in names:
        parts = name.split("::")
        for depth in range(1, len(parts) + 1):
            out["::".join(parts[:depth])] = None
    return list(out)


def _deck_config(default: dict, conf_id: int, name: str, settings: Settings, stamp: int) -> dict:
    entry = copy.deepcopy(default)
    entry.update(id=conf_id, name=f"srs: {name}", mod=stamp, usn=-1, desiredRetention=settings.desired_retention)
    entry["new"].update(delays=list(settings.learning_steps), perDay=settings.new_per_day)
    entry["lapse"]["delays"] = list(settings.relearning_steps)
    entry["rev"].update(maxIvl=settings.maximum_interval, perDay=settings.reviews_per_day)
    if settings.parameters:
        key = {17: "fsrsWeights", 19: "fsrsParams5"}.get(len(settings.parameters), "fsrsParams6")
        entry[key] = list(settings.parameters)
    return entry


# -- the package file ------------------------------------------------------------------


def _zip_atomically(target: Path, db_path: str, media: list[tuple[str, Path]] = ()) -> None:
    """Zip the collection (and the media files, as members 0, 1, ... named in the `media` map)
    into the target, through `srs.outputs` (whole or not at all, never onto the database)."""
    from srs.outputs import write_file

    def fill(handle) -> None:
        # the fastest deflate level: twice as fast as the default for a tenth more bytes
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.write(db_path, "collection.anki2")
            names = {}
            for index, (name, path) in enumerate(media):
                archive.write(path, str(index))
                names[str(index)] = name
            archive.writestr("media", json.dumps(names, ensure_ascii=False))

    write_file(target, fill)


def _remove_leftovers(directory: Path, prefix: str, suffix: str = "") -> None:
    """Remove what killed exports left behind: `{prefix}{pid}.*{suffix}` whose process is gone."""
    for leftover in directory.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        pid = leftover.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


