"""Anki packages (.apkg): export cards with their progress, import decks with their history.

`write_apkg` writes our cards as an Anki package with genanki, then fills in what genanki
cannot write (scheduling, FSRS memory state, the review log) in the package's
`collection.anki2` before the zip is put in place. `read_apkg` reads packages written by
genanki (`collection.anki2`), by Anki's legacy export (`collection.anki21`) and by current
Anki (`collection.anki21b`: zstd-compressed, schema 18) into `DeckSpec`s.

This module is a pure converter between files and `srs.model` objects: it never touches
the store, and it never imports the `anki` package (AGPL), which only the tests use.

Package format notes (from Anki's rslib):

* card `data` JSON holds the FSRS memory state: `s` stability (Anki rounds to 4 places),
  `d` difficulty 1..10 (3 places), `dr` desired retention (2 places), `decay` (3 places),
  `lrt` last review time in Unix seconds, which Anki's "Check database" resets to the id
  of the card's last rating revlog row (seconds), so it is written from that row.
* revlog `factor`, in FSRS mode, is the difficulty after the answer, shifted to
  0.1..1.1 and stored in thousandths: round(((d - 1) / 9 + 0.1) * 1000).
* revlog `ivl`/`lastIvl` are days when positive, seconds when negative (an interval that
  reaches past the next day rollover is counted in days); `time` is capped at the deck's
  `maxTaken` (60 s by default).
* review cards are due on a day number counted from the collection's creation (`col.crt`)
  with a 4 a.m. rollover; learning cards are due at a Unix time (queue 1) or, when the
  step reaches into a later day, on a day number (queue 3, as Anki does).
* a collection without `schedVer: 2` in its `conf` is a V1 collection: Anki upgrades it on
  import and shifts the ratings of learning answers (2 -> 3, 3 -> 4).
"""

from __future__ import annotations

import copy
import hashlib
import html
import io
import itertools
import json
import math
import os
import re
import sqlite3
import struct
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import genanki

from srs.clock import DEFAULT_DAY_START_HOUR, learner_day
from srs.model import CardSpec, DeckSpec, Progress, Review, SrsError, StoredCard

# --------------------------------------------------------------------------------------
# Fixed identities. These values are part of the file format: never change them, or
# packages exported before the change would import as new note types and new decks.

FIELDS = ("Question", "Choices", "Answer", "Explanation", "Source", "SrsId")
BASIC_MODEL_ID = 1_684_266_101
CHOICE_MODEL_ID = 1_684_266_102
BASIC_MODEL_NAME = "srs basic"
CHOICE_MODEL_NAME = "srs choice"
GUID_NAMESPACE = "srs"  # note guid = genanki.guid_for("srs", card.id)
DEFAULT_DECK_ID = 1  # Anki's "Default" deck

ROLLOVER_HOUR = DEFAULT_DAY_START_HOUR  # Anki's default "next day starts at" hour
INITIAL_EASE = 2500  # what Anki leaves in cards.factor of graduated cards
DEFAULT_DESIRED_RETENTION = 0.9
DEFAULT_MAX_ANSWER_SECONDS = 60  # Anki's default "maximum answer seconds" (revlog time cap)
DEFAULT_MAX_INTERVAL = 36500
DEFAULT_LEARNING_STEPS_MIN = (1.0, 10.0)
DEFAULT_RELEARNING_STEPS_MIN = (10.0,)

REVLOG_TYPES = {"learn": 0, "review": 1, "relearn": 2, "filtered": 3, "manual": 4, "rescheduled": 5}
REVLOG_KINDS = {0: "learn", 1: "review", 2: "relearn", 3: "review"}

# Limits for reading untrusted packages.
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # per member we read, declared and actually read
MAX_MEMBERS = 100_000  # media-heavy decks have thousands of members, never this many
_CHUNK = 1024 * 1024

_CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 20px;
        line-height: 1.45; text-align: left; color: #1d1d1f; background-color: #fff;
        max-width: 40em; margin: 0 auto; }
.nightMode.card, .night_mode .card { color: #eee; background-color: #222; }
.srs-question { font-weight: 600; }
ol.srs-choices { margin-top: .8em; }
ol.srs-choices li { margin: .25em 0; }
ol.srs-choices li.srs-right { background: #dff5df; color: #14451a; font-weight: 600; }
.srs-correct { margin-top: .6em; padding: .35em .6em; border-left: 5px solid #2e7d32;
               background: #dff5df; color: #14451a; font-weight: 600; }
.srs-unkeyed { margin-top: .6em; padding: .35em .6em; border-left: 5px solid #9e9e9e;
               background: #f1f1f1; color: #444; font-style: italic; }
.srs-explanation { margin-top: .8em; font-size: .9em; }
.srs-source { margin-top: .8em; font-size: .75em; color: #777; }
"""

_EXTRA = (
    "{{#Explanation}}<div class=\"srs-explanation\">{{Explanation}}</div>{{/Explanation}}\n"
    "{{#Source}}<div class=\"srs-source\">{{Source}}</div>{{/Source}}"
)
_BASIC_QFMT = '<div class="srs-question">{{Question}}</div>'
_BASIC_AFMT = (
    '{{FrontSide}}\n<hr id="answer">\n<div class="srs-answer">{{Answer}}</div>\n' + _EXTRA
)
_CHOICE_QFMT = '<div class="srs-question">{{Question}}</div>\n{{Choices}}'
# The back repeats the options (FrontSide) and shows the right one in a highlighted box;
# where the card viewer runs scripts (Anki desktop, AnkiDroid, AnkiMobile) the matching
# option in the list is highlighted too. Card text never becomes markup: fields are escaped.
_CHOICE_AFMT = (
    '{{FrontSide}}\n<hr id="answer">\n'
    '{{#Answer}}<div class="srs-correct">&#10004; <span class="srs-key">{{Answer}}</span></div>{{/Answer}}'
    '{{^Answer}}<div class="srs-unkeyed">The key to this question is not known yet.</div>{{/Answer}}\n'
    + _EXTRA
    + "\n<script>(function () {\n"
    "  var key = document.querySelector('.srs-correct .srs-key');\n"
    "  if (!key) { return; }\n"
    "  document.querySelectorAll('ol.srs-choices li').forEach(function (li) {\n"
    "    if (li.textContent === key.textContent) { li.classList.add('srs-right'); }\n"
    "  });\n"
    "})();</script>"
)


def _model(model_id: int, name: str, qfmt: str, afmt: str) -> genanki.Model:
    return genanki.Model(
        model_id,
        name,
        fields=[{"name": name_} for name_ in FIELDS],
        templates=[{"name": "Card 1", "qfmt": qfmt, "afmt": afmt}],
        css=_CSS,
        model_type=genanki.Model.FRONT_BACK,
        sort_field_index=0,
    )


BASIC_MODEL = _model(BASIC_MODEL_ID, BASIC_MODEL_NAME, _BASIC_QFMT, _BASIC_AFMT)
CHOICE_MODEL = _model(CHOICE_MODEL_ID, CHOICE_MODEL_NAME, _CHOICE_QFMT, _CHOICE_AFMT)


def stable_id(kind: str, name: str) -> int:
    """A fixed id in [2**30, 2**31) derived from a name (deck ids, deck option ids)."""
    digest = hashlib.sha256(f"srs-{kind}:{name}".encode("utf-8")).digest()
    return (1 << 30) | (int.from_bytes(digest[:4], "big") & ((1 << 30) - 1))


def deck_id_for(name: str) -> int:
    """Anki deck id for one of our deck names: stable, so re-exports land in the same deck."""
    name = normalize_deck_name(name)
    return DEFAULT_DECK_ID if name == "Default" else stable_id("deck", name)


def normalize_deck_name(name: str) -> str:
    """A deck name as Anki keeps it: `::`-separated parts, stripped, none empty."""
    parts = [part.strip() for part in str(name).split("::")]
    parts = [part for part in parts if part]
    return "::".join(parts) if parts else "Default"


def note_guid(card_id: int) -> str:
    return genanki.guid_for(GUID_NAMESPACE, card_id)


# --------------------------------------------------------------------------------------
# Export


@dataclass
class _DeckOptions:
    desired_retention: float = DEFAULT_DESIRED_RETENTION
    parameters: tuple[float, ...] | None = None
    learning_steps: tuple[float, ...] = DEFAULT_LEARNING_STEPS_MIN  # minutes
    relearning_steps: tuple[float, ...] = DEFAULT_RELEARNING_STEPS_MIN  # minutes
    maximum_interval: int = DEFAULT_MAX_INTERVAL
    new_per_day: int | None = None
    reviews_per_day: int | None = None
    max_answer_seconds: int = DEFAULT_MAX_ANSWER_SECONDS
    given: bool = False  # True when the caller supplied options for this deck
    scheduler: object = field(default=None, repr=False, compare=False)  # FSRS scheduler, built once

    @property
    def decay(self) -> float:
        if self.parameters is not None and len(self.parameters) >= 21:
            return float(self.parameters[20])
        return _default_fsrs_parameters()[20]

    @classmethod
    def parse(cls, deck: str, raw: dict | None) -> _DeckOptions:
        if not raw:
            return cls()

        def number(key, kind, default, *aliases):
            for name in (key, *aliases):
                if name in raw and raw[name] is not None:
                    try:
                        return kind(raw[name])
                    except (TypeError, ValueError):
                        raise SrsError(f"deck option {name} of {deck!r} is not a number: {raw[name]!r}") from None
            return default

        def steps(key, default, *aliases):
            for name in (key, *aliases):
                if name in raw and raw[name] is not None:
                    out = []
                    for step in raw[name]:
                        if isinstance(step, timedelta):
                            out.append(step.total_seconds() / 60)
                        else:
                            try:
                                out.append(float(step))
                            except (TypeError, ValueError):
                                raise SrsError(f"deck option {name} of {deck!r} has a bad step: {step!r}") from None
                    return tuple(out)
            return default

        params = raw.get("parameters", raw.get("weights"))
        try:
            params = tuple(float(w) for w in params) if params else None
        except (TypeError, ValueError):
            raise SrsError(f"deck option parameters of {deck!r} must be a list of numbers") from None
        return cls(
            desired_retention=number("desired_retention", float, DEFAULT_DESIRED_RETENTION, "retention"),
            parameters=params,
            learning_steps=steps("learning_steps", DEFAULT_LEARNING_STEPS_MIN, "learn_steps"),
            relearning_steps=steps("relearning_steps", DEFAULT_RELEARNING_STEPS_MIN, "relearn_steps"),
            maximum_interval=number("maximum_interval", int, DEFAULT_MAX_INTERVAL, "max_interval"),
            new_per_day=number("new_per_day", int, None),
            reviews_per_day=number("reviews_per_day", int, None),
            max_answer_seconds=number("maximum_answer_seconds", int, DEFAULT_MAX_ANSWER_SECONDS, "max_answer_seconds"),
            given=True,
        )


def _default_fsrs_parameters() -> tuple[float, ...]:
    import fsrs

    return tuple(float(w) for w in fsrs.Scheduler().parameters)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _field_html(text: str | None) -> str:
    """Plain text as an inert HTML field: escaped, NFC (as Anki stores it), newlines as <br>."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return html.escape(text, quote=True).replace("\n", "<br>")


def _note_fields(card: StoredCard) -> list[str]:
    spec = card.spec
    question = _field_html(spec.question) or "(no question)"  # an empty front makes no card
    if spec.options is not None:
        items = "".join(f"<li>{_field_html(option)}</li>" for option in spec.options)
        choices = f'<ol class="srs-choices" type="A">{items}</ol>'
    else:
        choices = ""
    return [
        question,
        choices,
        _field_html(spec.answer),
        _field_html(spec.explanation),
        _field_html(spec.source_id),
        str(card.id),
    ]


def _anki_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags or []:
        tag = re.sub(r"\s+", "_", unicodedata.normalize("NFC", str(tag)).strip())
        if tag and tag.casefold() not in {t.casefold() for t in out}:
            out.append(tag)
    return sorted(out, key=str.casefold)  # Anki keeps a note's tags sorted


class _DayCounter:
    """Anki's day numbers for the package's collection (`crt`, 4 a.m. rollover, local time).

    With `creationOffset` set in the collection config Anki counts the rollovers between
    the local date of `crt` and a moment, which is our learner day minus that date.
    """

    def __init__(self, crt: int):
        created = datetime.fromtimestamp(crt, timezone.utc).astimezone()
        self.created_date: date = created.date()
        self.minutes_west = -int(created.utcoffset().total_seconds() // 60)

    def index(self, moment: datetime) -> int:
        return (learner_day(moment, ROLLOVER_HOUR) - self.created_date).days


def _revlog_interval(reviewed_at: datetime, due_after: datetime | None) -> int:
    """Revlog ivl: days when the next due reaches a later learner day, else -seconds."""
    if due_after is None:
        return 0
    days = (learner_day(due_after, ROLLOVER_HOUR) - learner_day(reviewed_at, ROLLOVER_HOUR)).days
    if days >= 1:
        return days
    seconds = int(round((due_after - reviewed_at).total_seconds()))
    return -seconds if seconds > 0 else 0


def _revlog_factor(difficulty: float | None) -> int:
    if difficulty is None or not math.isfinite(difficulty):
        return 0
    return int(round(((difficulty - 1.0) / 9.0 + 0.1) * 1000))


def _fsrs_interval(stability: float, retention: float, decay: float, maximum: int) -> int:
    """Days FSRS schedules for a stability at a desired retention (FSRS-6 forgetting curve)."""
    try:
        factor = 0.9 ** (-1.0 / decay) - 1.0
        days = stability / factor * (retention ** (-1.0 / decay) - 1.0)
        return int(min(max(round(days), 1), maximum))
    except (ZeroDivisionError, OverflowError, ValueError):
        return 1


def _replay_difficulties(reviews: list[Review], options: _DeckOptions) -> list[float | None]:
    """Difficulty after each answer, replaying the history with FSRS (for revlog.factor)."""
    try:
        import fsrs

        scheduler = options.scheduler
        if scheduler is None:
            params = options.parameters if options.parameters and len(options.parameters) == 21 else None
            kwargs = {"parameters": params} if params else {}
            scheduler = options.scheduler = fsrs.Scheduler(
                desired_retention=options.desired_retention,
                learning_steps=tuple(timedelta(minutes=m) for m in options.learning_steps),
                relearning_steps=tuple(timedelta(minutes=m) for m in options.relearning_steps),
                maximum_interval=options.maximum_interval,
                enable_fuzzing=False,
                **kwargs,
            )
        card = fsrs.Card()
        out: list[float | None] = []
        for review in reviews:
            if review.rating not in (1, 2, 3, 4):
                out.append(card.difficulty)
                continue
            card, _ = scheduler.review_card(card, fsrs.Rating(review.rating), review_datetime=_utc(review.reviewed_at))
            out.append(card.difficulty)
        return out
    except Exception:  # a history FSRS cannot replay only loses the revlog difficulty
        return [None] * len(reviews)


def write_apkg(
    path,
    cards: list[StoredCard],
    *,
    with_progress: bool,
    now: datetime,
    deck_options: dict[str, dict] | None = None,
) -> dict:
    """Write `cards` as an Anki package at `path`; return {"notes", "cards", "revlog"} counts.

    One note (and one card) per StoredCard, of note type "srs basic" or "srs choice", in a
    deck named like the card's deck (parent decks included). Re-exporting the same cards
    updates them in Anki instead of duplicating them (fixed note guids, note type ids and
    deck ids). With `with_progress`, each card also carries its scheduling, FSRS memory
    state and review log.

    `deck_options` maps a deck name to its options (all optional): `desired_retention`,
    `parameters` (FSRS weights), `learning_steps` and `relearning_steps` (minutes, or
    timedeltas), `maximum_interval` (days), `new_per_day`, `reviews_per_day`,
    `maximum_answer_seconds`. They become the deck's Anki options (with_deck_configs) and
    the retention/decay stored with each card.
    """
    now = _utc(now)
    options = {normalize_deck_name(name): _DeckOptions.parse(name, raw) for name, raw in (deck_options or {}).items()}
    seen: set[int] = set()
    for card in cards:
        if card.id in seen:
            raise SrsError(f"card {card.id} is listed twice", path=str(path))
        seen.add(card.id)

    decks: dict[str, genanki.Deck] = {}

    def deck_for(name: str) -> genanki.Deck:
        name = normalize_deck_name(name)
        parts = name.split("::")
        for depth in range(1, len(parts) + 1):
            partial = "::".join(parts[:depth])
            if partial not in decks:
                decks[partial] = genanki.Deck(deck_id_for(partial), partial)
        return decks[name]

    for position, card in enumerate(cards, start=1):
        model = CHOICE_MODEL if card.spec.options is not None else BASIC_MODEL
        note = genanki.Note(
            model=model,
            fields=_note_fields(card),
            tags=_anki_tags(card.spec.tags),
            guid=note_guid(card.id),
            due=position,
        )
        deck_for(card.deck).add_note(note)

    target = Path(path)
    with tempfile.TemporaryDirectory(prefix="srs-apkg-") as tmp:
        db_path = os.path.join(tmp, "collection.anki2")
        conn = sqlite3.connect(db_path)
        try:
            stamp = now.timestamp()
            # genanki's own write_to_file() leaves its sqlite file behind in the system temp
            # dir; writing the collection ourselves keeps every byte in our private dir.
            genanki.Package(list(decks.values())).write_to_db(conn.cursor(), stamp, itertools.count(int(stamp * 1000)))
            counts = _finish_collection(conn, cards, with_progress=with_progress, now=now, options=options)
            conn.commit()
        finally:
            conn.close()
        try:
            _zip_atomically(target, db_path)
        except OSError as err:
            raise SrsError(f"cannot write: {err.strerror or err}", path=str(path)) from None
    return counts


def _finish_collection(conn, cards, *, with_progress, now, options) -> dict:
    (crt, conf_text, decks_text, dconf_text) = conn.execute("select crt, conf, decks, dconf from col").fetchone()
    days = _DayCounter(int(crt))
    conf = json.loads(conf_text)
    conf.update(
        schedVer=2,  # without it Anki treats the package as V1 and shifts learning ratings
        rollover=ROLLOVER_HOUR,
        creationOffset=days.minutes_west,  # day numbers from the local date of crt
        nextPos=len(cards) + 1,
    )
    decks_json = json.loads(decks_text)
    dconf = json.loads(dconf_text)
    for name, opts in options.items():
        did = str(deck_id_for(name))
        if not opts.given or did not in decks_json:
            continue
        conf_id = stable_id("deck-options", name)
        entry = copy.deepcopy(dconf["1"])
        entry.update(id=conf_id, name=f"srs: {name}", mod=int(now.timestamp()), usn=-1)
        entry["new"]["delays"] = list(opts.learning_steps)
        entry["lapse"]["delays"] = list(opts.relearning_steps)
        entry["rev"]["maxIvl"] = opts.maximum_interval
        if opts.new_per_day is not None:
            entry["new"]["perDay"] = opts.new_per_day
        if opts.reviews_per_day is not None:
            entry["rev"]["perDay"] = opts.reviews_per_day
        entry["maxTaken"] = opts.max_answer_seconds
        entry["desiredRetention"] = opts.desired_retention
        if opts.parameters:
            key = {17: "fsrsWeights", 19: "fsrsParams5"}.get(len(opts.parameters), "fsrsParams6")
            entry[key] = list(opts.parameters)
        dconf[str(conf_id)] = entry
        decks_json[did]["conf"] = conf_id
    conn.execute(
        "update col set conf = ?, decks = ?, dconf = ?",
        (json.dumps(conf), json.dumps(decks_json), json.dumps(dconf)),
    )
    if with_progress:
        _write_progress(conn, cards, now=now, days=days, options=options)
    count = lambda table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: E731
    return {"notes": count("notes"), "cards": count("cards"), "revlog": count("revlog")}


def _assign_revlog_ids(wanted: list[int], now_ms: int) -> list[int]:
    """Unique revlog ids near the wanted ones (ms of the answers), none after `now_ms`."""
    order = sorted(range(len(wanted)), key=lambda i: (wanted[i], i))
    ids = [0] * len(wanted)
    previous = None
    for i in order:
        value = wanted[i] if previous is None else max(wanted[i], previous + 1)
        ids[i] = previous = value
    ceiling = now_ms
    for i in reversed(order):  # pull back anything a collision bump pushed past now
        ids[i] = min(ids[i], ceiling)
        ceiling = ids[i] - 1
    return ids


def _write_progress(conn, cards: list[StoredCard], *, now: datetime, days: _DayCounter, options) -> None:
    rows = conn.execute("select c.id, n.guid from cards c join notes n on c.nid = n.id").fetchall()
    cid_by_guid = {guid: cid for cid, guid in rows}
    now_s = int(now.timestamp())

    histories = [sorted(card.reviews, key=lambda r: _utc(r.reviewed_at)) for card in cards]
    flat = [(index, review) for index, history in enumerate(histories) for review in history]
    ids = _assign_revlog_ids([int(_utc(r.reviewed_at).timestamp() * 1000) for _, r in flat], now_s * 1000)
    ids_by_card: dict[int, list[int]] = {}
    for (index, _), revlog_id in zip(flat, ids):
        ids_by_card.setdefault(index, []).append(revlog_id)

    default_options = _DeckOptions()
    for index, card in enumerate(cards):
        cid = cid_by_guid[note_guid(card.id)]
        opts = options.get(normalize_deck_name(card.deck)) or default_options
        history = histories[index]
        revlog_ids = ids_by_card.get(index, [])
        difficulties = _replay_difficulties(history, opts) if history else []
        if difficulties and card.progress.difficulty is not None:
            difficulties[-1] = card.progress.difficulty

        last_rated_id = None
        last_ivl = 0
        for review, revlog_id, difficulty in zip(history, revlog_ids, difficulties):
            kind = REVLOG_TYPES.get(review.kind, 1)
            ivl = _revlog_interval(_utc(review.reviewed_at), _utc(review.due_after) if review.due_after else None)
            taken = max(0, min(int(review.duration_ms or 0), opts.max_answer_seconds * 1000))
            conn.execute(
                "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
                " values (?, ?, -1, ?, ?, ?, ?, ?, ?)",
                (revlog_id, cid, int(review.rating), ivl, last_ivl, _revlog_factor(difficulty), taken, kind),
            )
            last_ivl = ivl
            if review.rating > 0 and kind <= 3:
                last_rated_id = revlog_id

        progress = card.progress
        if last_rated_id is not None:
            lrt = last_rated_id // 1000
        elif progress.last_review is not None:
            lrt = int(_utc(progress.last_review).timestamp())
        else:
            lrt = None
        _update_card(conn, cid, progress, opts, days=days, now=now, lrt=lrt)


def _update_card(conn, cid: int, progress: Progress, opts: _DeckOptions, *, days, now, lrt) -> None:
    state = progress.state
    data: dict = {}
    ivl = factor = left = 0
    if state == "new":
        ctype, queue = 0, 0
        due = conn.execute("select due from cards where id = ?", (cid,)).fetchone()[0]
    else:
        due_at = _utc(progress.due) if progress.due else now
        last = _utc(progress.last_review) if progress.last_review else now
        stability = progress.stability
        if state == "review":
            ctype, queue, factor = 2, 2, INITIAL_EASE
            due = days.index(due_at)
            if progress.due and progress.last_review:
                ivl = max(1, (learner_day(due_at, ROLLOVER_HOUR) - learner_day(last, ROLLOVER_HOUR)).days)
            else:
                ivl = max(1, round(stability or 1))
        elif state in ("learning", "relearning"):
            relearning = state == "relearning"
            ctype = 3 if relearning else 1
            steps = opts.relearning_steps if relearning else opts.learning_steps
            left = min(max(len(steps) - (progress.step or 0), 1), max(len(steps), 1))
            if learner_day(due_at, ROLLOVER_HOUR) > learner_day(last, ROLLOVER_HOUR):
                queue, due = 3, days.index(due_at)  # a step into a later day: day-learning queue
            else:
                queue, due = 1, int(due_at.timestamp())
            if relearning:
                factor = INITIAL_EASE
                ivl = _fsrs_interval(stability, opts.desired_retention, opts.decay, opts.maximum_interval) if stability else 1
        else:
            raise SrsError(f"card state {state!r} is not one of new, learning, review, relearning")
        if progress.stability is not None and progress.difficulty is not None:
            data.update(
                s=round(float(progress.stability), 4),
                d=round(float(progress.difficulty), 3),
                dr=round(float(opts.desired_retention), 2),
                decay=round(float(opts.decay), 3),
            )
        if lrt is not None:
            data["lrt"] = int(lrt)
    if progress.suspended:
        queue = -1
    conn.execute(
        "update cards set type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, lapses = ?,"
        " left = ?, odue = 0, odid = 0, mod = ?, usn = -1, data = ? where id = ?",
        (
            ctype,
            queue,
            int(due),
            int(ivl),
            int(factor),
            int(progress.reps or 0),
            int(progress.lapses or 0),
            int(left),
            int(now.timestamp()),
            json.dumps(data, separators=(",", ":")) if data else "{}",
            cid,
        ),
    )


def _zip_atomically(target: Path, db_path: str) -> None:
    """Zip the collection next to `target`, then rename it into place."""
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.write(db_path, "collection.anki2")
                archive.writestr("media", "{}")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------------------
# HTML to text


_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript", "svg", "math", "object"}


class _TextExtractor(HTMLParser):
    def __init__(self, collapse: bool):
        super().__init__(convert_charrefs=True)
        self.collapse = collapse
        self.parts: list[str] = []
        self.skip = 0

    def _newline(self):
        self.parts.append("\n")

    def _block(self):
        """A block boundary: one line break, however many blocks open or close there."""
        text = "".join(self.parts[-3:])
        if text and not (text.rstrip(" ") if self.collapse else text).endswith("\n"):
            self.parts.append("\n")

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._newline()
        elif tag == "img":
            attributes = dict(attrs)
            label = attributes.get("alt") or attributes.get("title") or attributes.get("src") or ""
            self.parts.append(f"[image: {label}]" if label else "[image]")
        elif tag in _BLOCK_TAGS:
            self._block()
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif not self.skip and tag in _BLOCK_TAGS:
            self._block()

    def handle_data(self, data):
        if self.skip:
            return
        if self.collapse:
            data = re.sub(r"[ \t\r\n\f\v]+", " ", data)
        self.parts.append(data)


def html_to_text(fragment: str, *, collapse: bool = True) -> str:
    """Readable text from an HTML fragment: tags dropped, <br> and blocks as line breaks.

    `collapse` folds HTML whitespace (runs of spaces and newlines) as a browser would;
    without it, the text between tags is kept as is (for fields we wrote ourselves).
    """
    if not fragment:
        return ""
    parser = _TextExtractor(collapse)
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient; this is only a last resort
        return html.unescape(re.sub(r"<[^>]*>", " ", fragment)).strip()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = text.split("\n")
    if collapse:
        lines = [line.strip() for line in lines]
        text = "\n".join(lines)
        text = re.sub(r"\n{3,}", "\n\n", text)
    else:
        text = "\n".join(lines)
    return text.strip("\n") if not collapse else text.strip()


def _field_text(fragment: str) -> str:
    """Text of a field we wrote: escaped text with <br> for newlines (tags from edits dropped)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    # A lone <br> is our newline; block tags added by an editor become line breaks too.
    parser = _TextExtractor(collapse=False)
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:
        return html.unescape(fragment)
    return "".join(parser.parts).replace("\xa0", " ").strip("\n")


# --------------------------------------------------------------------------------------
# Templates and clozes (just enough of Anki's template language to read a card)


_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::")


def _parse_cloze(text: str):
    """Nodes of a cloze field: strings and (number, children, hint) tuples."""
    root: list = []
    stack: list[tuple[int, list]] = []
    current = root
    i = 0
    buffer: list[str] = []

    def flush():
        if buffer:
            current.append("".join(buffer))
            buffer.clear()

    while i < len(text):
        match = _CLOZE_OPEN.match(text, i)
        if match:
            flush()
            stack.append((int(match.group(1)), current))
            current = []
            i = match.end()
            continue
        if text.startswith("}}", i) and stack:
            flush()
            number, parent = stack.pop()
            children, hint = _split_hint(current)
            parent.append((number, children, hint))
            current = parent
            i += 2
            continue
        buffer.append(text[i])
        i += 1
    flush()
    while stack:  # unclosed: keep the text as it was
        number, parent = stack.pop()
        parent.append(f"{{{{c{number}::")
        parent.extend(current)
        current = parent
    return current


def _split_hint(children: list):
    """The last top-level `::` in a cloze separates its hint."""
    for index in range(len(children) - 1, -1, -1):
        child = children[index]
        if isinstance(child, str) and "::" in child:
            before, hint = child.rsplit("::", 1)
            return children[:index] + ([before] if before else []), hint
    return children, None


def _render_cloze(nodes, active: int | None) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        number, children, hint = node
        if active is not None and number == active:
            out.append(f"[{hint}]" if hint else "[...]")
        else:
            out.append(_render_cloze(children, active))
    return "".join(out)


def cloze_text(text: str, active: int | None) -> str:
    """A cloze field with deletion `active` hidden ([...] or [hint]); all shown when None."""
    return _render_cloze(_parse_cloze(text), active)


def cloze_numbers(text: str) -> set[int]:
    return {int(n) for n in _CLOZE_OPEN.findall(text)}


_TAG = re.compile(r"\{\{([^{}]*)\}\}")


def _field_is_empty(value: str) -> bool:
    return not html_to_text(value).strip()


def _render_template(template: str, fields: dict[str, str], *, front: str | None, cloze: int | None,
                     answer_side: bool, omit_cloze: bool = False) -> str:
    """Render an Anki card template to HTML with `fields` (names compared as Anki does)."""
    tokens = _TAG.split(template)
    # tokens alternate: text, tag, text, tag, ...

    def lookup(name: str) -> str | None:
        name = name.strip()
        if name in fields:
            return fields[name]
        return None

    def render(start: int, closing: str | None) -> tuple[str, int]:
        out: list[str] = []
        i = start
        while i < len(tokens):
            if i % 2 == 0:
                out.append(tokens[i])
                i += 1
                continue
            tag = tokens[i].strip()
            i += 1
            if tag.startswith("/"):
                if closing is not None and tag[1:].strip() == closing:
                    return "".join(out), i
                continue  # stray closing tag
            if tag.startswith("#") or tag.startswith("^"):
                name = tag[1:].strip()
                inner, i = render(i, name)
                value = lookup(name)
                filled = value is not None and not _field_is_empty(value)
                if (tag[0] == "#") == filled:
                    out.append(inner)
                continue
            if tag.startswith("!"):
                continue
            out.append(substitute(tag))
        return "".join(out), i

    def substitute(tag: str) -> str:
        if tag == "FrontSide":
            return front or ""
        parts = tag.split(":")
        name, filters = parts[-1], [f.strip() for f in parts[:-1]]
        value = lookup(name)
        if value is None:
            return ""
        for filter_ in reversed(filters):
            if filter_ == "type":
                return value if answer_side else ""
            if filter_ == "cloze":
                if omit_cloze:
                    return ""
                value = cloze_text(value, None if answer_side else cloze)
            elif filter_ == "hint":
                value = value if answer_side else ""
            elif filter_ in ("text",):
                value = html.escape(html_to_text(value))
            # furigana, kana, kanji, tts...: the field content itself is close enough
        return value

    rendered, _ = render(0, None)
    return rendered


_ANSWER_RULE = re.compile(r"<hr[^>]*\bid\s*=\s*[\"']?answer[\"']?[^>]*>", re.IGNORECASE)


# --------------------------------------------------------------------------------------
# Reading packages


class _Notetype:
    def __init__(self, ntid: int, name: str, kind: int, fields: list[str], templates: list[tuple[str, str]]):
        self.id = ntid
        self.name = name
        self.kind = kind  # 0 normal, 1 cloze
        self.fields = fields
        self.templates = templates  # (qfmt, afmt) by ord

    @property
    def ours(self) -> str | None:
        if tuple(self.fields[: len(FIELDS)]) != FIELDS:
            return None
        if self.id == CHOICE_MODEL_ID or self.name.startswith(CHOICE_MODEL_NAME):
            return "choice"
        if self.id == BASIC_MODEL_ID or self.name.startswith(BASIC_MODEL_NAME):
            return "basic"
        return "either"


def _protobuf_fields(data: bytes) -> dict[int, list]:
    """The fields of a protobuf message: varints as ints, length-delimited as bytes."""
    out: dict[int, list] = {}
    i = 0
    n = len(data)

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            if i >= n or shift > 63:
                raise ValueError("truncated protobuf varint")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < n:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 2:
            length = varint()
            if i + length > n:
                raise ValueError("truncated protobuf field")
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > n:
            raise ValueError("truncated protobuf field")
        out.setdefault(number, []).append(value)
    return out


def _pb_text(message: dict[int, list], number: int) -> str:
    values = message.get(number)
    if not values or not isinstance(values[-1], (bytes, bytearray)):
        return ""
    return bytes(values[-1]).decode("utf-8", errors="replace")


def _pb_int(message: dict[int, list], number: int) -> int:
    values = message.get(number)
    return values[-1] if values and isinstance(values[-1], int) else 0


def _zip_entry_count(handle) -> int | None:
    """Entries the end-of-central-directory record declares (zip64 too), before parsing it."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_len = min(size, 65535 + 22)
    handle.seek(size - tail_len)
    tail = handle.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        offset = struct.unpack("<Q", tail[at - 12 : at - 4])[0]
        if offset + 56 <= size:
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", record[32:40])[0]
    return count


def _safe_member_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in re.split(r"[\\/]", name)


class _Package:
    """A zip opened for reading only the members we need, with size caps."""

    def __init__(self, path):
        self.path = str(path)
        try:
            self.handle = open(path, "rb")
        except OSError as err:
            raise self.error(f"cannot open: {err.strerror or err}") from None
        try:
            count = _zip_entry_count(self.handle)
            if count is not None and count > MAX_MEMBERS:
                raise self.error(f"not an Anki package: the zip declares {count} members (limit {MAX_MEMBERS})")
            self.handle.seek(0)
            self.zip = zipfile.ZipFile(self.handle)
        except SrsError:
            self.handle.close()
            raise
        except Exception:  # BadZipFile, NotImplementedError (zip version), struct.error, OSError...
            self.handle.close()
            raise self.error("not an Anki package (not a readable zip archive)") from None
        try:
            infos = self.zip.infolist()
            if len(infos) > MAX_MEMBERS:
                raise self.error(f"not an Anki package: {len(infos)} members (limit {MAX_MEMBERS})")
            self.members: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                if not _safe_member_name(info.filename):
                    raise self.error(f"unsafe member name in package: {info.filename!r}")
                if info.filename in self.members:
                    raise self.error(f"member {info.filename!r} appears twice in the package")
                self.members[info.filename] = info
        except SrsError:
            self.close()
            raise

    def error(self, message: str) -> SrsError:
        return SrsError(message, path=self.path)

    def close(self):
        try:
            self.zip.close()
        except Exception:
            pass
        self.handle.close()

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str, *, zstd: bool = False, limit: int | None = None) -> bytes:
        info = self.members[name]
        limit = MAX_MEMBER_BYTES if limit is None else limit
        if info.file_size > limit:
            raise self.error(f"member {name} is too large ({info.file_size} bytes, limit {limit})")
        if info.flag_bits & 0x1:
            raise self.error(f"member {name} is encrypted")
        try:
            with self.zip.open(info) as stream:
                if zstd:
                    return _read_capped(_zstd_reader(stream, self), name, self, limit)
                return _read_capped(stream, name, self, limit)
        except SrsError:
            raise
        except Exception as err:  # zlib.error, BadZipFile (CRC), NotImplementedError, zstd errors...
            raise self.error(f"member {name} is damaged ({type(err).__name__}: {err})") from None


def _read_capped(stream, name: str, package: _Package, limit: int) -> bytes:
    out = io.BytesIO()
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return out.getvalue()
        total += len(chunk)
        if total > limit:
            raise package.error(f"member {name} unpacks to more than {limit} bytes")
        out.write(chunk)


def _zstd_reader(stream, package: _Package):
    try:
        from compression import zstd  # Python 3.14+

        return zstd.ZstdFile(stream)
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise package.error(
            "this package was written by Anki 2.1.50 or later (zstd-compressed); reading it needs the "
            "'zstandard' Python package"
        ) from None
    return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _unicase(a: str, b: str) -> int:
    a, b = a.casefold(), b.casefold()
    return (a > b) - (a < b)


def _open_sqlite(data: bytes, package: _Package, name: str, stack) -> sqlite3.Connection:
    if not data.startswith(_SQLITE_MAGIC):
        raise package.error(f"{name} in the package is not an SQLite database")
    try:
        if len(data) > 19 and (data[18] == 2 or data[19] == 2):
            # A WAL-mode database (as Anki writes collection.anki21b) cannot be opened
            # in memory: mark it as a rollback-journal database, which it also is.
            data = bytearray(data)
            data[18] = data[19] = 1
        if hasattr(sqlite3.Connection, "deserialize"):
            conn = sqlite3.connect(":memory:")
            conn.deserialize(data)
        else:  # pragma: no cover - older SQLite: a private temp file, deleted on exit
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="srs-apkg-"))
            db_path = os.path.join(tmp, "collection.db")
            with open(db_path, "wb") as handle:
                handle.write(data)
            conn = sqlite3.connect(db_path)
        conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")  # as Anki's check repairs it
        conn.create_collation("unicase", _unicase)
        conn.execute("pragma query_only = 1")
        conn.execute("pragma trusted_schema = 0")
        return conn
    except sqlite3.Error as err:
        raise package.error(f"{name} in the package is not a readable database ({err})") from None


def _package_collection(package: _Package) -> tuple[str, bool]:
    """Which collection file to read and whether it is zstd-compressed, as Anki decides."""
    if "meta" in package:
        try:
            version = _pb_int(_protobuf_fields(package.read("meta", limit=64 * 1024)), 1)
        except ValueError:
            raise package.error("the package's meta member is damaged") from None
        names = {1: ("collection.anki2", False), 2: ("collection.anki21", False), 3: ("collection.anki21b", True)}
        if version not in names:
            raise package.error(f"package version {version} is not supported (made by a newer Anki?)")
        name, zstd = names[version]
    elif "collection.anki21" in package:
        name, zstd = "collection.anki21", False
    elif "collection.anki2" in package:
        name, zstd = "collection.anki2", False
    elif "collection.anki21b" in package:
        name, zstd = "collection.anki21b", True
    else:
        raise package.error("not an Anki package (no collection inside)")
    if name not in package:
        raise package.error(f"not an Anki package ({name} is missing)")
    return name, zstd


def _tables(conn) -> set[str]:
    return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}


def _read_notetypes(conn, tables: set[str]) -> dict[int, _Notetype]:
    out: dict[int, _Notetype] = {}
    if {"notetypes", "fields", "templates"} <= tables:
        fields: dict[int, list[tuple[int, str]]] = {}
        for ntid, ord_, name in conn.execute("select ntid, ord, name from fields"):
            fields.setdefault(ntid, []).append((ord_, str(name)))
        templates: dict[int, list[tuple[int, str, str]]] = {}
        for ntid, ord_, config in conn.execute("select ntid, ord, config from templates"):
            message = _protobuf_fields(bytes(config or b""))
            templates.setdefault(ntid, []).append((ord_, _pb_text(message, 1), _pb_text(message, 2)))
        for ntid, name, config in conn.execute("select id, name, config from notetypes"):
            kind = _pb_int(_protobuf_fields(bytes(config or b"")), 1)
            out[ntid] = _Notetype(
                ntid,
                str(name),
                kind,
                [n for _, n in sorted(fields.get(ntid, []))],
                [(q, a) for _, q, a in sorted(templates.get(ntid, []))],
            )
    row = conn.execute("select models from col").fetchone()
    if row and row[0]:
        try:
            models = json.loads(row[0])
        except ValueError:
            models = {}
        if isinstance(models, dict):
            for key, model in models.items():
                if not isinstance(model, dict):
                    continue
                try:
                    ntid = int(model.get("id", key))
                except (TypeError, ValueError):
                    continue
                if ntid in out:
                    continue
                flds = sorted((f for f in model.get("flds") or [] if isinstance(f, dict)), key=lambda f: f.get("ord", 0))
                tmpls = sorted((t for t in model.get("tmpls") or [] if isinstance(t, dict)), key=lambda t: t.get("ord", 0))
                out[ntid] = _Notetype(
                    ntid,
                    str(model.get("name", "")),
                    int(model.get("type", 0) or 0),
                    [str(f.get("name", "")) for f in flds],
                    [(str(t.get("qfmt", "")), str(t.get("afmt", ""))) for t in tmpls],
                )
    return out


def _read_decks(conn, tables: set[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    if "decks" in tables:
        for did, name in conn.execute("select id, name from decks"):
            out[did] = str(name).replace("\x1f", "::")
    row = conn.execute("select decks from col").fetchone()
    if row and row[0]:
        try:
            decks = json.loads(row[0])
        except ValueError:
            decks = {}
        if isinstance(decks, dict):
            for key, deck in decks.items():
                if isinstance(deck, dict):
                    try:
                        did = int(deck.get("id", key))
                    except (TypeError, ValueError):
                        continue
                    out.setdefault(did, str(deck.get("name", "")))
    return out


def _choices_from_html(fragment: str) -> list[str]:
    items = re.findall(r"<li\b[^>]*>(.*?)</li\s*>", fragment, flags=re.IGNORECASE | re.DOTALL)
    return [_field_text(item) for item in items]


@dataclass
class _CardRow:
    cid: int
    nid: int
    did: int
    ord: int


def _spec_for_card(notetype: _Notetype | None, fields: list[str], ord_: int) -> CardSpec | None:
    """The CardSpec one Anki card stands for, or None when it has nothing to ask."""
    if notetype is None:
        # Unknown note type: first field asks, second answers.
        question = html_to_text(fields[0]) if fields else ""
        answer = html_to_text(fields[1]) if len(fields) > 1 else ""
        return CardSpec(question=question, answer=answer) if question else None
    ours = notetype.ours
    if ours is not None:
        values = dict(zip(FIELDS, fields + [""] * (len(FIELDS) - len(fields))))
        question = _field_text(values["Question"])
        options = _choices_from_html(values["Choices"])
        answer = _field_text(values["Answer"])
        explanation = _field_text(values["Explanation"]) or None
        if ours == "choice" or (ours == "either" and options):
            return CardSpec(
                question=question,
                options=options,
                answer=answer or None,
                explanation=explanation,
                key_source="anki" if answer else None,
            )
        return CardSpec(question=question, answer=answer, explanation=explanation)

    named = dict(zip(notetype.fields, fields))
    if notetype.kind == 1:  # cloze
        qfmt, afmt = notetype.templates[0] if notetype.templates else ("{{cloze:Text}}", "{{cloze:Text}}")
        if "image-occlusion" in qfmt.replace("_", "-").lower():
            return None
        active = ord_ + 1
        question_html = _render_template(qfmt, named, front=None, cloze=active, answer_side=False)
        cloze_fields = [m.split(":")[-1].strip() for m in _TAG.findall(qfmt) if "cloze:" in m]
        answer_html = "<br>".join(cloze_text(named.get(name, ""), None) for name in cloze_fields if named.get(name))
        extra_html = _render_template(afmt, named, front="", cloze=active, answer_side=True, omit_cloze=True)
        extra_html = _ANSWER_RULE.split(extra_html)[-1]
        if active not in set().union(*(cloze_numbers(named.get(n, "")) for n in cloze_fields)):
            return None  # this card's cloze number no longer exists in the note
        question = html_to_text(question_html)
        return CardSpec(
            question=question,
            answer=html_to_text(answer_html),
            explanation=html_to_text(extra_html) or None,
        )
    if ord_ >= len(notetype.templates):
        return None
    qfmt, afmt = notetype.templates[ord_]
    front_html = _render_template(qfmt, named, front=None, cloze=None, answer_side=False)
    back_html = _render_template(afmt, named, front="", cloze=None, answer_side=True)
    parts = _ANSWER_RULE.split(back_html)
    question = html_to_text(front_html)
    if not question:
        return None
    return CardSpec(question=question, answer=html_to_text(parts[-1]))


def _reviews(rows) -> list[Review]:
    """Reviews from revlog rows; manual entries (type 4: set due date, forget...), reschedules
    (type 5), rows without a rating (ease 0) and previews in filtered decks (type 3, factor 0)
    are skipped: they are not answers."""
    out = []
    for revlog_id, ease, ivl, factor, taken, kind in rows:
        if kind not in REVLOG_KINDS or not ease or not 1 <= ease <= 4:
            continue
        if kind == 3 and not factor:
            continue
        reviewed_at = datetime.fromtimestamp(revlog_id / 1000, timezone.utc)
        if ivl > 0:
            due_after = reviewed_at + timedelta(days=ivl)
        elif ivl < 0:
            due_after = reviewed_at + timedelta(seconds=-ivl)
        else:
            due_after = None
        out.append(
            Review(
                reviewed_at=reviewed_at,
                rating=int(ease),
                kind=REVLOG_KINDS[kind],
                duration_ms=int(taken) if taken is not None else None,
                due_after=due_after,
            )
        )
    return out


def _read_collection(conn, package: _Package, name: str, *, with_progress: bool) -> list[DeckSpec]:
    tables = _tables(conn)
    missing = {"col", "notes", "cards"} - tables
    if missing:
        raise package.error(f"{name} is not an Anki collection (no {', '.join(sorted(missing))} table)")
    notetypes = _read_notetypes(conn, tables)
    deck_names = _read_decks(conn, tables)
    notes = {}
    for nid, guid, mid, tags, flds in conn.execute("select id, guid, mid, tags, flds from notes"):
        notes[nid] = (str(guid), mid, str(tags or ""), str(flds or "").split("\x1f"))
    cards = [
        _CardRow(cid, nid, odid or did, ord_)
        for cid, nid, did, ord_, odid in conn.execute("select id, nid, did, ord, odid from cards order by nid, ord, id")
    ]
    revlog: dict[int, list] = {}
    if with_progress and "revlog" in tables:
        for row in conn.execute("select id, cid, ease, ivl, factor, time, type from revlog order by id"):
            revlog.setdefault(row[1], []).append((row[0], row[2], row[3], row[4], row[5], row[6]))

    decks: dict[str, DeckSpec] = {}
    skipped = 0
    used_notes: set[int] = set()
    seen_source_ids: set[str] = set()
    for card in cards:
        note = notes.get(card.nid)
        if note is None:
            skipped += 1
            continue
        guid, mid, tags, fields = note
        spec = _spec_for_card(notetypes.get(mid), fields, card.ord)
        if spec is None or not spec.question.strip():
            skipped += 1
            continue
        source_id = guid if card.ord == 0 else f"{guid}:{card.ord}"
        if source_id in seen_source_ids:
            skipped += 1  # duplicate card ordinal
            continue
        seen_source_ids.add(source_id)
        spec.source_id = source_id
        spec.tags = [tag for tag in tags.split() if tag]
        if with_progress:
            spec.reviews = _reviews(revlog.get(card.cid, []))
        deck_name = normalize_deck_name(deck_names.get(card.did, "Default"))
        deck = decks.get(deck_name)
        if deck is None:
            deck = decks[deck_name] = DeckSpec(name=deck_name, source=package.path)
        deck.cards.append(spec)
        used_notes.add(card.nid)

    result = [decks[name] for name in sorted(decks, key=str.casefold)]
    for deck in result:
        deck.report = {
            "format": name,
            "cards": len(deck.cards),
            "reviews": sum(len(card.reviews) for card in deck.cards),
        }
    if result:
        result[0].report.update(package_notes=len(used_notes), package_skipped=skipped)
    return result


def read_apkg(path, *, with_progress: bool = False) -> list[DeckSpec]:
    """The decks of an Anki package, one DeckSpec per Anki deck that has cards.

    Each Anki card becomes a CardSpec (a basic-and-reversed note gives two, a cloze note
    one per deletion), `source_id` being the note guid, suffixed with `:ord` for cards
    after a note's first. Notes of our own note types come back as the cards we wrote
    (choice cards with their options and key). With `with_progress`, each CardSpec carries
    its review history from the revlog (answers only: see `_reviews`).

    Anything wrong with the file raises SrsError naming it; nothing is extracted to disk.
    """
    import contextlib

    package = _Package(path)
    try:
        with contextlib.ExitStack() as stack:
            name, zstd = _package_collection(package)
            data = package.read(name, zstd=zstd)
            conn = _open_sqlite(data, package, name, stack)
            del data
            try:
                return _read_collection(conn, package, name, with_progress=with_progress)
            except SrsError:
                raise
            except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError, RecursionError, OverflowError) as err:
                raise package.error(f"{name} in the package is damaged ({type(err).__name__}: {err})") from None
            finally:
                conn.close()
    finally:
        package.close()
