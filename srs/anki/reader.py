"""Reading Anki packages into `DeckSpec`s: `read_apkg(path, with_progress=...)`.

Reads packages written by genanki or srs (`collection.anki2`), by Anki's legacy export
(`collection.anki21`) and by current Anki (`collection.anki21b`, schema 18, where note
types and decks have tables of their own). Each Anki card becomes a `CardSpec`: notes
of our own note types come back as the cards we wrote (choice cards with their options
and key; in a deck whose description carries our HTML mark, as HTML); any other note is
rendered through its templates as Anki renders them (`anki.render`) and read as text
(`anki.text`). With `with_progress` each card also brings its answers from the revlog.

A pure converter: it never touches the store; opening the package safely is
`anki.package`'s job.
"""

from __future__ import annotations

import gc
import html
import json
from datetime import datetime, timedelta, timezone

from srs import clock, kinds
from srs.anki import states
from srs.anki.format import FIELDS, HTML_MARK, REVLOG_KINDS, normalize_deck_name, note_kind, our_field, our_images
from srs.anki.package import open_collection, package_media, pb_int, pb_text, protobuf_fields
from srs.anki.render import (SPECIAL_FIELDS, CardTooLarge, NoteFields, TemplateError, parse_template, render_card,
                             typed_answers)
from srs.anki.text import after_answer_rule, choices_from_html, field_text, html_to_text, learner_text
from srs.media import note_media
from srs.model import CardSpec, DeckSpec, NoteSpec, NoteType, Review, SrsError


MAX_FIELDS = 1_000  # fields in one note (Anki's note types have a handful, rarely a hundred)
MAX_FIELD_CHARS = 4_000_000  # characters in one field (room for an image inlined as base64)


class _Notetype:
    def __init__(self, ntid: int, name: str, kind: int, fields: list[str], templates: list[tuple[str, str]],
                 template_names: list[str] | None = None, css: str = "", sort_field: int = 0):
        self.id = ntid
        self.name = name
        self.kind = kind  # 0 normal, 1 cloze
        self.fields = fields
        self.templates = templates  # (qfmt, afmt) by ord
        self.template_names = template_names or [""] * len(templates)
        self.ours = note_kind(ntid, name, fields)  # "basic", "choice", "either" or None
        names = list(template_names or [])
        names += [f"Card {i + 1}" for i in range(len(names), len(templates))]
        # the note type as it is, to write its notes back as the same notes (not for our own types)
        self.spec = None if self.ours is not None else NoteType(
            ntid, name, kind, tuple(fields), tuple((n, q, a) for n, (q, a) in zip(names, templates)), css,
            sort_field if 0 <= sort_field < len(fields) else 0)
        self._parsed: dict[int, tuple] = {}
        self._uses: dict[tuple[int, str], bool] = {}

    def uses(self, index: int, word: str) -> bool:
        """Whether template `index` mentions `word` (remembered: templates can be long)."""
        key = (index, word)
        if key not in self._uses:
            self._uses[key] = any(word in side for side in self.templates[index])
        return self._uses[key]

    def uses_specials(self, index: int) -> bool:
        """Whether template `index` mentions any of Anki's special fields (Tags, Deck, CardID...):
        a template that mentions none renders the same without them, unless it is a cloze."""
        key = (index, "")
        if key not in self._uses:
            self._uses[key] = any(self.uses(index, name) for name in SPECIAL_FIELDS)
        return self._uses[key]

    def parsed(self, index: int) -> tuple:
        """(question nodes, answer nodes) of template `index`, parsed once; a TemplateError is kept and raised."""
        if index not in self._parsed:
            try:
                self._parsed[index] = tuple(parse_template(side) for side in self.templates[index])
            except TemplateError as error:
                self._parsed[index] = error
        parsed = self._parsed[index]
        if isinstance(parsed, TemplateError):
            raise parsed
        return parsed


def read_apkg(path, *, with_progress: bool = False, notices: list[str] | None = None) -> list[DeckSpec]:
    """The decks of an Anki package, one DeckSpec per Anki deck that has cards, and one without cards for
    each parent deck that has none of its own (its options bound its subdecks: `_add_parents`).

    Each Anki card becomes a CardSpec (a basic-and-reversed note gives two, a cloze note
    one per deletion), `source_id` being the note guid, suffixed with `:ord` for cards
    after a note's first. With `with_progress`, each CardSpec carries its review history
    from the revlog (answers only: see `_reviews`).

    Each card is given its `schedule` (with `with_progress`, its state as Anki has it; without,
    only whether it is suspended or buried) and each deck the `settings` of its Anki options.
    Cards that cannot be taken are named with the reason in `notices` (when given), and so
    is a package with no cards at all.

    Anything wrong with the file raises SrsError naming it; nothing is extracted to disk.
    """
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of objects made and kept: the collector would only walk them
    try:
        with open_collection(path) as (conn, name):
            decks = _read_collection(conn, str(path), name, with_progress=with_progress, notices=notices)
    finally:
        if collecting:
            gc.enable()
    if any(card.note is not None and card.note.media for deck in decks for card in deck.cards):
        media = package_media(path)
        for deck in decks:
            deck.media = media
    return decks


def _read_collection(conn, path: str, name: str, *, with_progress: bool,
                     notices: list[str] | None = None) -> list[DeckSpec]:
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    missing = {"col", "notes", "cards"} - tables
    if missing:
        raise SrsError(f"{name} is not an Anki collection (no {', '.join(sorted(missing))} table)", path)
    notetypes = _read_notetypes(conn, tables)
    anki_decks = _read_decks(conn, tables)
    notes = {}
    note_mods: dict[int, int] = {}  # Anki's note modification times: the store keeps the newer note
    mod = "mod" if "mod" in {row[1] for row in conn.execute("pragma table_info(notes)")} else "null"
    for nid, guid, mid, tags, flds, note_mods[nid] in conn.execute(
            f"select id, guid, mid, tags, flds, {mod} from notes"):
        fields = str(flds or "").split("\x1f", MAX_FIELDS)
        if len(fields) > MAX_FIELDS:
            raise SrsError(f"{name}: note {nid} has more than {MAX_FIELDS:,} fields", path)
        if len(flds or "") > MAX_FIELD_CHARS and any(len(field) > MAX_FIELD_CHARS for field in fields):
            raise SrsError(f"{name}: note {nid} has a field longer than {MAX_FIELD_CHARS:,} characters", path)
        notes[nid] = (str(guid), mid, str(tags or ""), fields)
    revlog: dict[int, list] = {}
    if with_progress and "revlog" in tables:
        for row in conn.execute("select id, cid, ease, ivl, factor, time, type from revlog order by id"):
            revlog.setdefault(row[1], []).append((row[0], row[2], row[3], row[4], row[5], row[6]))
    v1 = states.is_v1(conn, tables)
    crt = conn.execute("select crt from col").fetchone()
    if crt and crt[0] and not (isinstance(crt[0], (int, float)) and 0 <= crt[0] < LATEST_SECONDS):
        raise SrsError(f"{name}: the collection's creation time ({crt[0]!r}) is not a time from 1970 to 2200", path)
    now = clock.now()
    created = states.created_day(int(crt[0] or 0) if crt else 0, states.config_value(conn, tables, "creationOffset"),
                                 now, v1=v1)
    rollover = states.config_value(conn, tables, "rollover", 4)
    rollover = rollover if isinstance(rollover, int) and 0 <= rollover < 24 else 4
    next_day_at = states.next_day_at(now, rollover)
    conf_of_deck, options = states.deck_options(conn, tables)

    decks: dict[str, DeckSpec] = {}
    renderer = _Renderer(conn)
    skipped: list[str] = []
    used_notes: set[int] = set()
    seen_source_ids: set[str] = set()
    notes_seen: dict[int, NoteSpec] = {}
    new_order: dict[int, int] = {}  # id(spec) -> Anki's new-card position
    columns = ("id", "nid", "did", "ord", "odid", "type", "queue", "due", "ivl", "factor", "reps", "lapses", "left",
               "odue", "mod", "data")
    present = {row[1] for row in conn.execute("pragma table_info(cards)")}
    select = ", ".join(c if c in present else ("''" if c == "data" else "0") for c in columns)
    for values in conn.execute(f"select {select} from cards order by nid, ord, id"):
        card = dict(zip(columns, values))
        cid, nid, did, ord_, odid = card["id"], card["nid"], card["did"], card["ord"], card["odid"]
        note = notes.get(nid)
        if note is None:
            skipped.append(f"card {cid}: its note {nid} is missing")
            continue
        guid, mid, tags, fields = note
        deck_id = odid or did
        deck_name, as_html = anki_decks.get(deck_id, ("Default", False))
        notetype = notetypes.get(mid)
        spec = renderer.spec(notetype, nid, fields, ord_, cid, deck_name, tags)
        if spec is not None and as_html:
            spec = _html_spec(spec, notetype, fields)
        source_id = guid if ord_ == 0 else f"{guid}:{ord_}"
        if spec is None or not spec.question.strip() or source_id in seen_source_ids:
            if renderer.too_large is not None:
                skipped.append(f"card {cid}: {renderer.too_large}")
            else:
                skipped.append(_skip_reason(cid, notetype, mid, fields, ord_, spec, source_id in seen_source_ids))
            continue
        seen_source_ids.add(source_id)
        spec.source_id = source_id
        spec.anki_card_id = cid  # a review log of this package's cards names them so (see Store._attach_history)
        spec.tags = [tag for tag in tags.split() if tag]
        option = options.get(conf_of_deck.get(deck_id, 1)) or options.get(1)
        try:
            spec.schedule = states.card_schedule(card, revlog.get(cid, []), options=option, created=created,
                                                 next_day_at=next_day_at, v1=v1, with_progress=with_progress)
        except (TypeError, ValueError, OverflowError, OSError):
            spec.schedule = None  # a card row too odd to read a schedule from: it comes as new
        spec.note = _note(notes_seen, nid, guid, notetypes.get(mid), fields, spec.tags, ord_, note_mods.get(nid))
        if with_progress:
            try:
                spec.reviews = _reviews(revlog.get(cid, []), v1=v1, hour=rollover)
            except _OutOfRange as error:
                raise SrsError(f"{name}: review {error} of card {cid} is not dated from 1970 to 2200", path) from None
        if card["type"] == 0 or not with_progress:
            new_order[id(spec)] = card["due"] if card["type"] == 0 else 1 << 62
        deck = decks.get(deck_name)
        if deck is None:
            # a source of its own per deck: the store takes a deck of a known source for a renamed one
            deck = decks[deck_name] = DeckSpec(name=deck_name, source=f"{path}#{deck_id}", html=as_html,
                                               settings=states.srs_settings(option))
        deck.cards.append(spec)
        used_notes.add(nid)

    _add_parents(decks, anki_decks, conf_of_deck, options, path)
    result = [decks[key] for key in sorted(decks, key=str.casefold)]
    for deck in result:
        # Anki's new-card order: new cards by their position (`due`), after the cards already studied
        deck.cards.sort(key=lambda spec: (id(spec) in new_order, new_order.get(id(spec), 0)))
        deck.report = {"format": name, "cards": len(deck.cards),
                       "reviews": sum(len(card.reviews) for card in deck.cards),
                       "suspended": sum(1 for card in deck.cards if card.schedule and card.schedule.suspended),
                       "scheduler": "v1" if v1 else "v2/v3"}
    if result:
        result[0].report.update(package_notes=len(used_notes), package_skipped=len(skipped))
    if notices is not None:
        notices.extend(f"{path}: skipped {reason}" for reason in skipped)
        if not result and not skipped:
            notices.append(f"{path}: the package is empty (no cards)")
    return result


def _add_parents(decks: dict[str, DeckSpec], anki_decks: dict[int, tuple[str, bool]], conf_of_deck: dict,
                 options: dict, path: str) -> None:
    """A deck, without cards, for each Anki parent deck that has no cards of its own but subdecks that do:
    its options preset (new cards and reviews a day) bounds its subdecks together, as in Anki (see
    `ReviewSession._limit_groups`), so it must be a deck of srs too. Without cards it retires nothing (the
    package's cards are retired once all its decks are in) and is kept (`Store._sync_deck`)."""
    by_name = {}
    for deck_id, (name, as_html) in sorted(anki_decks.items()):
        by_name.setdefault(name.casefold(), (deck_id, name, as_html))
    known = {name.casefold() for name in decks}
    for name in list(decks):
        parts = name.split("::")
        for depth in range(1, len(parts)):
            parent = "::".join(parts[:depth]).casefold()
            if parent in known or parent not in by_name:
                continue
            deck_id, parent_name, as_html = by_name[parent]
            option = options.get(conf_of_deck.get(deck_id, 1)) or options.get(1)
            decks[parent_name] = DeckSpec(name=parent_name, source=f"{path}#{deck_id}", html=as_html,
                                          settings=states.srs_settings(option))
            known.add(parent)


def _skip_reason(cid: int, notetype, mid: int, fields: list[str], ord_: int, spec, duplicate: bool) -> str:
    """Why a card of the package is not taken, in a line naming it by its first field."""
    first = html_to_text(fields[0])[:60] if fields else ""
    what = f"card {cid}" + (f" ({first!r})" if first else "")
    if duplicate:
        return f"{what}: a second card of the same note and template"
    if notetype is None:
        return f"{what}: its note type {mid} is missing (read as front and back fields)" if spec is None \
            else f"{what}: its note type {mid} is missing and its first field is empty"
    if notetype.kind == 1:
        qfmt = notetype.templates[0][0] if notetype.templates else ""
        if "image-occlusion" in qfmt.replace("_", "-").lower():
            return f"{what}: an image occlusion card (its question is a picture srs cannot mask)"
        return f"{what}: cloze {ord_ + 1} is not in its note (a malformed or removed cloze)"
    if ord_ >= len(notetype.templates):
        return f"{what}: its template {ord_ + 1} is missing from note type {notetype.name!r}"
    return f"{what}: its question is empty (template {ord_ + 1} of {notetype.name!r})"


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _note(seen: dict[int, NoteSpec], nid: int, guid: str, notetype: _Notetype | None, fields: list[str],
          tags: list[str], ord_: int, mod: int | None = None) -> NoteSpec | None:
    """The note a card belongs to (its siblings share the fields, tags and media lists), or None
    for our own note types and unknown ones (those are written back as srs cards)."""
    if notetype is None or notetype.spec is None:
        return None
    first = seen.get(nid)
    if first is None:
        values = (fields + [""] * len(notetype.fields))[:max(len(notetype.fields), 1)]
        first = seen[nid] = NoteSpec(guid, notetype.spec, values, list(tags), ord_,
                                     note_media(notetype.spec, values), mod if isinstance(mod, int) else None)
        return first
    return NoteSpec(first.guid, first.note_type, first.fields, first.tags, ord_, first.media, first.mod)


def _json_column(conn, column: str) -> dict:
    """A JSON object kept in the `col` row (legacy collections: models, decks), or {}."""
    row = conn.execute(f"select {column} from col").fetchone()
    try:
        value = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_items(conn, column: str):
    """(id, object) for each entry of a JSON object in `col` whose id is a number."""
    for key, value in _json_column(conn, column).items():
        if isinstance(value, dict):
            try:
                yield int(value.get("id", key)), value
            except (TypeError, ValueError):
                continue


def _read_notetypes(conn, tables: set[str]) -> dict[int, _Notetype]:
    out: dict[int, _Notetype] = {}
    if {"notetypes", "fields", "templates"} <= tables:  # schema 18: tables with protobuf configs
        fields: dict[int, list[tuple[int, str]]] = {}
        for ntid, ord_, name in conn.execute("select ntid, ord, name from fields"):
            fields.setdefault(ntid, []).append((ord_, str(name)))
        templates: dict[int, list[tuple[int, str, str, str]]] = {}
        for ntid, ord_, tname, config in conn.execute("select ntid, ord, name, config from templates"):
            message = protobuf_fields(bytes(config or b""))
            templates.setdefault(ntid, []).append((ord_, pb_text(message, 1), pb_text(message, 2), str(tname)))
        for ntid, name, config in conn.execute("select id, name, config from notetypes"):
            message = protobuf_fields(bytes(config or b""))
            ordered = sorted(templates.get(ntid, []))
            out[ntid] = _Notetype(ntid, str(name), pb_int(message, 1), [n for _, n in sorted(fields.get(ntid, []))],
                                  [(q, a) for _, q, a, _ in ordered], [t for *_, t in ordered],
                                  pb_text(message, 3), pb_int(message, 2))
    for ntid, model in _json_items(conn, "models"):  # legacy: JSON in col.models
        if ntid in out:
            continue
        flds = sorted((f for f in model.get("flds") or [] if isinstance(f, dict)), key=lambda f: f.get("ord", 0))
        tmpls = sorted((t for t in model.get("tmpls") or [] if isinstance(t, dict)), key=lambda t: t.get("ord", 0))
        out[ntid] = _Notetype(ntid, str(model.get("name", "")), int(model.get("type", 0) or 0),
                              [str(f.get("name", "")) for f in flds],
                              [(str(t.get("qfmt", "")), str(t.get("afmt", ""))) for t in tmpls],
                              [str(t.get("name", "")) for t in tmpls], str(model.get("css", "") or ""),
                              _int(model.get("sortf")))
    return out


def _read_decks(conn, tables: set[str]) -> dict[int, tuple[str, bool]]:
    """Deck id -> (name, whether its description marks it as an srs deck of HTML content)."""
    out: dict[int, tuple[str, bool]] = {}
    if "decks" in tables:  # schema 18: the description is in the protobuf `kind` (normal deck: 1, description: 4)
        for did, name, kind in conn.execute("select id, name, kind from decks"):
            normal = protobuf_fields(bytes(kind or b"")).get(1, [b""])[-1]
            description = pb_text(protobuf_fields(normal), 4) if isinstance(normal, bytes) else ""
            out[did] = (normalize_deck_name(str(name).replace("\x1f", "::")), HTML_MARK in description)
    for did, deck in _json_items(conn, "decks"):
        if did not in out:
            out[did] = (normalize_deck_name(str(deck.get("name", ""))), HTML_MARK in str(deck.get("desc", "")))
    return out


def _html_spec(spec: CardSpec, notetype: _Notetype | None, fields: list[str]) -> CardSpec:
    """A card of a deck of HTML content: our notes' fields as they are, any other note's text escaped."""
    if notetype is not None and notetype.ours is not None:
        values = dict(zip(FIELDS, fields + [""] * (len(FIELDS) - len(fields))))
        spec.question, spec.explanation = values["Question"], values["Explanation"] or None
        if spec.options is not None:
            spec.options = choices_from_html(values["Choices"], as_html=True)
            spec.answer = values["Answer"] or None
        else:
            spec.answer = values["Answer"]
        return spec
    escape = lambda text: html.escape(text).replace("\n", "<br>") if text else text  # noqa: E731
    spec.question, spec.answer, spec.explanation = escape(spec.question), escape(spec.answer), escape(spec.explanation)
    return spec


class _Renderer:
    """Renders the cards of one collection, each note's fields prepared once for all its cards
    (the cards come ordered by note) and each distinct HTML reduced to text once."""

    def __init__(self, conn):
        self.conn = conn
        self._note: tuple[int, NoteFields] | None = None
        self._texts: dict[tuple[str, bool], tuple[str, list[str]]] = {}
        self._flags: dict[int, int] | None = None
        self.too_large: str | None = None  # why the last card asked for could not be rendered, when too large

    def _fields(self, notetype: _Notetype, nid: int, values: list[str]) -> NoteFields:
        if self._note is None or self._note[0] != nid:
            self._note = (nid, NoteFields(notetype.fields, values))
        return self._note[1]

    def _text(self, card_html: str, question: bool, typed: dict[str, str]) -> tuple[str, list[str]]:
        key = (card_html, question)
        if typed or key not in self._texts:
            if len(self._texts) > 10_000:
                self._texts.clear()
            result = learner_text(card_html, question=question, typed=typed)
            if typed:
                return result
            self._texts[key] = result
        return self._texts[key]

    def _flag(self, cid: int) -> int:
        if self._flags is None:
            self._flags = dict(self.conn.execute("select id, flags from cards"))
        return int(self._flags.get(cid) or 0) & 0b111

    def spec(self, notetype: _Notetype | None, nid: int, fields: list[str], ord_: int, cid: int, deck: str,
             tags: str) -> CardSpec | None:
        """The CardSpec one Anki card stands for, or None when it has nothing to ask."""
        self.too_large = None
        if notetype is None:  # unknown note type: first field asks, second answers
            question = html_to_text(fields[0], ruby=False) if fields else ""
            answer = html_to_text(fields[1]) if len(fields) > 1 else ""
            return CardSpec(question=question, answer=answer) if question else None
        if notetype.ours is not None:
            return _our_spec(notetype, fields, ord_)
        cloze = notetype.kind == 1
        index = 0 if cloze else ord_
        if index >= len(notetype.templates):
            return None
        if cloze and "image-occlusion" in notetype.templates[0][0].replace("_", "-").lower():
            return None
        try:
            qnodes, anodes = notetype.parsed(index)
            note = self._fields(notetype, nid, fields)
            specials = {}
            if cloze or notetype.uses_specials(index):  # (a cloze card's count includes their clozes)
                specials = {"Tags": " ".join(tags.split()), "Type": notetype.name, "Deck": deck,
                            "Subdeck": deck.rsplit("::", 1)[-1], "Card": notetype.template_names[index],
                            "CardID": str(cid)}
                if notetype.uses(index, "CardFlag"):
                    specials["CardFlag"] = f"flag{self._flag(cid)}"
            rendered = render_card(qnodes, anodes, note, ord_, cloze=cloze, specials=specials)
        except CardTooLarge as error:
            self.too_large = str(error)
            return None
        except TemplateError:
            return None  # Anki shows an error in place of this card
        if rendered is None:
            return None  # Anki shows this card as empty
        typed = typed_answers(qnodes, note, ord_) if notetype.uses(index, "type:") else {}
        question, hints = self._text(rendered[0], True, typed)
        answer, _ = self._text(after_answer_rule(rendered[1]), False, typed)
        spec = CardSpec(question=question, answer=answer)
        spec.hint = "\n".join(hints) or None
        spec.typed_answer = next(iter(typed.values()), None)
        spec.kind = "typed" if spec.typed_answer is not None else "cloze" if cloze else "basic"  # srs.kinds
        return spec


def _our_spec(notetype: _Notetype, fields: list[str], ord_: int = 0) -> CardSpec:
    """A card of our own note types: the fields we wrote (code blocks and images back in deck syntax)."""
    spec = _our_card(notetype, [our_field(f) for f in fields], ord_)
    spec.images = our_images(fields)
    return spec


def _our_card(notetype: _Notetype, fields: list[str], ord_: int) -> CardSpec:
    values = dict(zip(FIELDS, fields + [""] * (len(FIELDS) - len(fields))))
    question = field_text(values["Question"])
    options = choices_from_html(values["Choices"])
    answer = field_text(values["Answer"])
    explanation = field_text(values["Explanation"]) or None
    if notetype.ours in ("cloze", "typed", "reversed"):  # the card kind (srs.kinds) the note type says
        return kinds.from_anki(notetype.ours, question, answer, explanation, ord_, fields[len(FIELDS):])
    if notetype.ours == "choice" or (notetype.ours == "either" and options):
        return CardSpec(question=question, options=options, answer=answer or None, explanation=explanation,
                        key_source="anki" if answer else None)
    return CardSpec(question=question, answer=answer, explanation=explanation)


LATEST_SECONDS = 7_258_118_400  # 2200-01-01: no collection, card or review dates from later


class _OutOfRange(ValueError):
    """A revlog row dated before 1970 or from 2200 on (its id is its time in milliseconds)."""


def _days_later(moment: datetime, days: int, hour: int) -> datetime:
    """The moment as far into the learner day `days` days later as `moment` is into its own (days
    starting at the collection's rollover `hour`): `days` times 24 hours later, except across a DST
    change, where 24-hour days would land an hour off, on another learner day near the rollover."""
    day = clock.learner_day(moment, hour)
    later = moment + timedelta(days=days)
    if clock.learner_day(later, hour) == day + timedelta(days=days):
        return later  # the usual case: whole 24-hour days land on the right learner day
    start = clock.day_start(day + timedelta(days=days), hour)
    end = clock.day_start(day + timedelta(days=days + 1), hour)
    return min(start + (moment - clock.day_start(day, hour)), end - timedelta(microseconds=1))


def _reviews(rows, *, v1: bool = False, hour: int = 4) -> list[Review]:
    """Reviews from revlog rows; manual entries (type 4: set due date, forget...), reschedules
    (type 5), rows without a rating (ease 0) and previews in filtered decks (type 3, factor 0)
    are skipped: they are not answers. In a v1 collection, (re)learning eases 2 and 3 were
    Good and Easy (`states.answer_ease`). Each keeps its revlog id (`anki_id`). An interval of N
    days is due N learner days after the review (see `_days_later`)."""
    out = []
    for revlog_id, ease, ivl, factor, taken, kind in rows:
        if kind not in REVLOG_KINDS or not ease or not 1 <= ease <= 4 or (kind == 3 and not factor):
            continue
        ease = states.answer_ease(ease, kind, v1)
        if not 0 <= revlog_id < LATEST_SECONDS * 1000:
            raise _OutOfRange(revlog_id)
        reviewed_at = datetime.fromtimestamp(revlog_id / 1000, timezone.utc)
        if ivl > 0:
            due_after = _days_later(reviewed_at, ivl, hour)
        elif ivl < 0:
            due_after = reviewed_at + timedelta(seconds=-ivl)
        else:
            due_after = None
        out.append(Review(reviewed_at=reviewed_at, rating=int(ease), kind=REVLOG_KINDS[kind],
                          duration_ms=int(taken) if taken is not None else None, due_after=due_after,
                          anki_id=int(revlog_id)))
    return out
