"""Anki's scheduling read into srs's terms: card states, old schedulers, memory states, deck options.

Used by `anki.reader` when a package is read; a pure converter (no store, no files).
Sources, from Anki's rslib:

* `cards.type` 0 new, 1 learning, 2 review, 3 relearning; `cards.queue` -1 suspended,
  -2/-3 buried, 0 new, 1 learning (due: Unix seconds), 2 review (due: days since
  `col.crt`), 3 day-learning (due: days), 4 preview. A card in a filtered deck keeps its
  home due in `odue` (`odid` the home deck); it goes home as it was.
* The v1 scheduler (`schedVer` missing or 1) had three buttons in (re)learning: Anki's
  upgrade to v2 raises the ease of learning and relearning rows by one
  (`rslib/src/storage/revlog/v2_upgrade.sql`: `ease + 1 WHERE ease IN (2, 3) AND type IN
  (0, 2)`), and a v1 review card in the learning queue is relearning
  (`scheduler/upgrade.rs`).
* A reset ("Forget", revlog type 4 with factor 0) cuts the history: what comes before it
  does not count toward the memory state (`scheduler/fsrs/params.rs`, `reviews_for_fsrs`).
* A card with no FSRS memory state in `cards.data` gets the one Anki computes when FSRS is
  switched on (`scheduler/fsrs/memory_state.rs`): fsrs-rs's memory state from the history,
  starting from the SM-2 ease and interval of the first answer when the history lacks its
  learning steps, or from the card's own ease and interval when there is no usable history.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timezone

from srs import clock
from srs.anki.package import pb_int, protobuf_fields
from srs.model import ImportedSchedule

UTC = timezone.utc
STATE_BY_TYPE = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
EPOCH_SECONDS = 1_000_000_000  # a learning card's due above this is a Unix time, below it a day number


# -- the collection ------------------------------------------------------------------------


def config_value(conn, tables: set[str], key: str, default=None):
    """A collection config value: the legacy `col.conf` JSON, or the schema-18 `config` table."""
    if "config" in tables:
        row = conn.execute("select val from config where key = ?", (key,)).fetchone()
        if row is not None:
            try:
                return json.loads(bytes(row[0]).decode("utf-8") if isinstance(row[0], bytes) else row[0])
            except (ValueError, UnicodeDecodeError):
                return default
    row = conn.execute("select conf from col").fetchone()
    try:
        conf = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        conf = {}
    return conf.get(key, default) if isinstance(conf, dict) else default


def is_v1(conn, tables: set[str]) -> bool:
    """Whether the collection was last used with the v1 scheduler (three learning buttons)."""
    version = config_value(conn, tables, "schedVer", None)
    return version in (None, 1)


def created_day(crt: int, creation_offset: int | None, now: datetime, *, v1: bool) -> int:
    """The learner day number of Anki's day 0 (due days count from it).

    With `creationOffset` (minutes west of UTC where the collection was made; Anki's v2 timing),
    day 0 is the date of `col.crt` in that zone (`rslib/src/scheduler/timing.rs`). A v1 collection
    is upgraded by Anki when opened, which sets `creationOffset` to this machine's offset at `crt`
    (`scheduler/upgrade.rs`): day 0 is the local date of `crt`. A v2 collection without it keeps
    the old timing, today being the count of whole 24-hour blocks since `crt`."""
    if isinstance(creation_offset, int) and not isinstance(creation_offset, bool):
        return (crt - creation_offset * 60) // 86400
    if v1:
        return clock.epoch_day_number(crt, 0)  # the local date of crt
    seconds = int(now.timestamp())
    return clock.epoch_day_number(seconds) - max(0, (seconds - crt) // 86400)


# -- deck options --------------------------------------------------------------------------


def _floats(raw) -> list[float]:
    if isinstance(raw, (bytes, bytearray)):  # packed repeated float
        return [v for (v,) in struct.iter_unpack("<f", bytes(raw)[: len(raw) // 4 * 4])]
    return []


def _float(message: dict, number: int) -> float | None:
    values = message.get(number)
    if values and isinstance(values[-1], (bytes, bytearray)) and len(values[-1]) == 4:
        return struct.unpack("<f", bytes(values[-1]))[0]
    return None


def deck_options(conn, tables: set[str]) -> tuple[dict[int, int], dict[int, dict]]:
    """(deck id -> options id, options id -> Anki's options in a plain dict) of the collection."""
    conf_of_deck: dict[int, int] = {}
    options: dict[int, dict] = {}
    if "deck_config" in tables:  # schema 18: protobuf DeckConfig.Config
        for cid, config in conn.execute("select id, config from deck_config"):
            try:
                m = protobuf_fields(bytes(config or b""))
                options[cid] = {
                    "learn": [v for raw in m.get(1, []) for v in _floats(raw)],
                    "relearn": [v for raw in m.get(2, []) for v in _floats(raw)],
                    "params": ([v for raw in m.get(6, []) for v in _floats(raw)]
                               or [v for raw in m.get(5, []) for v in _floats(raw)]
                               or [v for raw in m.get(3, []) for v in _floats(raw)]),
                    "new_per_day": pb_int(m, 9) if 9 in m else None,
                    "reviews_per_day": pb_int(m, 10) if 10 in m else None,
                    "maximum_interval": pb_int(m, 16) if 16 in m else None,
                    "desired_retention": _float(m, 37),
                    "historical_retention": _float(m, 40),
                }
            except ValueError:
                continue
    if "decks" in tables:
        for did, kind in conn.execute("select id, kind from decks"):
            try:
                normal = protobuf_fields(bytes(kind or b"")).get(1, [None])[-1]
                if isinstance(normal, (bytes, bytearray)):
                    conf_of_deck[did] = pb_int(protobuf_fields(bytes(normal)), 1) or 1
            except ValueError:
                continue
    for key, raw in _json_col(conn, "dconf").items():
        if not isinstance(raw, dict):
            continue
        try:
            cid = int(raw.get("id", key))
        except (TypeError, ValueError):
            continue
        if cid in options:
            continue
        new, lapse, rev = (raw.get(k) if isinstance(raw.get(k), dict) else {} for k in ("new", "lapse", "rev"))
        options[cid] = {
            "learn": _numbers(new.get("delays")), "relearn": _numbers(lapse.get("delays")),
            "params": (_numbers(raw.get("fsrsParams6")) or _numbers(raw.get("fsrsParams5"))
                       or _numbers(raw.get("fsrsWeights"))),
            "new_per_day": _int(new.get("perDay")), "reviews_per_day": _int(rev.get("perDay")),
            "maximum_interval": _int(rev.get("maxIvl")),
            "desired_retention": _number(raw.get("desiredRetention")),
            "historical_retention": _number(raw.get("sm2Retention")),
        }
    for key, raw in _json_col(conn, "decks").items():
        if isinstance(raw, dict) and not raw.get("dyn"):
            try:
                conf_of_deck.setdefault(int(raw.get("id", key)), int(raw.get("conf", 1) or 1))
            except (TypeError, ValueError):
                continue
    return conf_of_deck, options


def srs_settings(options: dict | None) -> dict:
    """Anki's deck options as srs deck settings (only those Anki sets)."""
    if not options:
        return {}
    out: dict = {}
    retention = options.get("desired_retention")
    if retention:
        out["desired_retention"] = round(min(max(retention, 0.7), 0.99), 4)
    for ours, theirs in (("learning_steps", "learn"), ("relearning_steps", "relearn")):
        if options.get(theirs) is not None:
            out[ours] = [round(v, 4) for v in options[theirs] if v > 0]
    for key in ("new_per_day", "reviews_per_day"):
        if options.get(key) is not None and options[key] >= 0:
            out[key] = options[key]
    if options.get("maximum_interval"):
        out["maximum_interval"] = max(1, options["maximum_interval"])
    params = fsrs_parameters(options)
    if params is not None:
        out["parameters"] = params
    return out


def fsrs_parameters(options: dict | None) -> list[float] | None:
    """The options' fitted FSRS parameters as FSRS-6's 21 (FSRS-5's 19 get 0.0, 0.5 appended, as
    fsrs-rs does), or None when the options have none (fsrs's defaults apply)."""
    params = (options or {}).get("params") or []
    if len(params) not in (17, 19, 21):
        return None
    from fsrs_rs_python import check_and_fill_parameters

    try:
        return [round(v, 6) for v in check_and_fill_parameters(list(params))]
    except Exception:  # the binding refuses parameters out of range: fall back on the defaults
        return None


# -- history ---------------------------------------------------------------------------------


def answer_ease(ease: int, kind: int, v1: bool) -> int:
    """The rating (1-4) of a revlog row's ease: v1 (re)learning rows had Again/Good/Easy."""
    if v1 and kind in (0, 2) and ease in (2, 3):
        return ease + 1
    return ease


def last_reset_ms(rows) -> int | None:
    """The id (Unix ms) of the card's last reset to new (revlog type 4 with factor 0), or None.
    `rows` as `reader` keeps them: (id, ease, ivl, factor, time, type)."""
    resets = [row[0] for row in rows if row[5] == 4 and row[3] == 0]
    return resets[-1] if resets else None


def _memory_from_history(fsrs, rows, next_day_at: int, historical_retention: float, v1: bool):
    """fsrs-rs's memory state from a card's revlog rows, as Anki's `reviews_for_fsrs` (not training)
    and `single_card_revlog_to_item` make it; None when the history gives none."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    entries = [(rid, answer_ease(ease, kind, v1), ivl, factor, kind) for rid, ease, ivl, factor, _, kind in rows]
    first_learn = first_graded = None
    complete = False
    for index in range(len(entries) - 1, -1, -1):
        rid, ease, ivl, factor, kind = entries[index]
        if kind == 3 and factor == 0:
            continue
        graded = 1 <= ease <= 4
        if graded:
            first_graded = index
        if graded and kind == 0:
            first_learn, complete = index, True
        elif first_learn is not None:
            break
        elif kind == 4 and factor == 0:
            if first_graded is not None:
                complete = False
                break
            return None
    start = first_learn if first_learn is not None else first_graded
    if start is None:
        return None
    kept = [e for e in entries[start:]
            if not (e[4] == 4 or e[1] == 0 or (e[4] == 3 and e[3] == 0) or e[4] == 5)]
    if not kept:
        return None

    def elapsed(rid: int) -> int:
        return max(0, (next_day_at - rid // 1000) // 86400)

    reviews = [FSRSReview(kept[0][1], 0)]
    for previous, current in zip(kept, kept[1:]):
        reviews.append(FSRSReview(current[1], elapsed(previous[0]) - elapsed(current[0])))
    if complete:
        return fsrs.memory_state(FSRSItem(reviews), None)
    _, _, ivl, factor, _ = kept[0]
    ease = (factor or 2500) / 1000.0
    starting = fsrs.memory_state_from_sm2(ease, float(max(ivl, 1)), historical_retention)
    if ease <= 1.1:  # a row written by FSRS: its factor is the difficulty
        from fsrs_rs_python import MemoryState

        starting = MemoryState(starting.stability, (ease - 0.1) * 9.0 + 1.0)
    if len(reviews) < 2:
        return None
    return fsrs.memory_state(FSRSItem(reviews[1:]), starting)


def memory_state(card: dict, rows, options: dict | None, next_day_at: int, v1: bool) -> tuple | None:
    """(stability, difficulty) Anki would give a card without one when FSRS is switched on."""
    from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS

    params = fsrs_parameters(options) or list(DEFAULT_PARAMETERS)
    retention = (options or {}).get("historical_retention") or 0.9
    fsrs = FSRS(params)
    try:
        state = _memory_from_history(fsrs, rows, next_day_at, retention, v1)
        if state is None:
            if card["type"] == 0 or card["ivl"] <= 0 or card["reps"] == 0:
                return None
            state = fsrs.memory_state_from_sm2((card["factor"] or 2500) / 1000.0, float(card["ivl"]), retention)
    except Exception:  # fsrs-rs refuses an odd history (e.g. ratings out of range): no memory state
        return None
    return state.stability, state.difficulty


def sm2_memory(card: dict, options: dict | None) -> tuple[float, float]:
    """fsrs-rs's memory state from a card's SM-2 ease and interval (at least a day)."""
    from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS

    try:
        state = FSRS(fsrs_parameters(options) or list(DEFAULT_PARAMETERS)).memory_state_from_sm2(
            (card["factor"] or 2500) / 1000.0, float(max(card["ivl"], 1)),
            (options or {}).get("historical_retention") or 0.9)
        return state.stability, state.difficulty
    except Exception:
        return float(max(card["ivl"], 1)), 5.0


# -- a card ----------------------------------------------------------------------------------


def card_schedule(card: dict, rows, *, options: dict | None, created: int, next_day_at: int, v1: bool,
                  with_progress: bool, day_start_hour: int = clock.DEFAULT_DAY_START_HOUR) -> ImportedSchedule:
    """A card's schedule from its `cards` row (a dict of its columns) and its revlog rows."""
    ctype, queue, due = card["type"], card["queue"], card["due"]
    if card.get("odid") and card.get("odue"):
        due = card["odue"]  # home from a filtered deck with its original due
    if v1 and ctype == 2 and queue in (1, 3):
        ctype = 3  # v1 kept relearning cards as reviews in the learning queues
    suspended = queue == -1
    buried_until = None
    if queue in (-2, -3) and card.get("mod"):
        buried_until = clock.epoch_day_number(int(card["mod"]), day_start_hour) + 1
    if not with_progress:
        return ImportedSchedule(suspended=suspended, buried_until_day=buried_until, progress=False)
    state = STATE_BY_TYPE.get(ctype, "new")
    graded = [row for row in rows if 1 <= row[1] <= 4 and row[5] in (0, 1, 2, 3)
              and not (row[5] == 3 and row[3] == 0)]
    reset = last_reset_ms(rows)
    if state == "new" and graded and (reset is None or reset < graded[-1][0]):
        reset = graded[-1][0] + 1  # reset by an Anki that wrote no revlog row for it
    out = ImportedSchedule(state=state, suspended=suspended, buried_until_day=buried_until,
                           reps=max(card["reps"], 0), lapses=max(card["lapses"], 0),
                           reset_at=datetime.fromtimestamp(reset / 1000, UTC) if reset is not None else None)
    if state == "new":
        return out
    data = _data(card.get("data"))
    last = [row for row in graded if reset is None or row[0] > reset]
    if last:
        out.last_review = datetime.fromtimestamp(last[-1][0] / 1000, UTC)
    elif isinstance(data.get("lrt"), (int, float)) and data["lrt"] > 0:
        out.last_review = datetime.fromtimestamp(int(data["lrt"]), UTC)
    if state in ("learning", "relearning") and due > EPOCH_SECONDS:
        out.due_at = datetime.fromtimestamp(due, UTC)
    else:
        out.due_day = due + created
    if state == "review":
        out.interval = max(card["ivl"], 0)
        if out.last_review is None and out.due_day is not None:
            out.last_review = clock.day_start(out.due_day - max(out.interval, 1), day_start_hour)
    if state in ("learning", "relearning"):
        steps = (options or {}).get("learn" if state == "learning" else "relearn") or []
        remaining = card.get("left", 0) % 1000
        out.step = max(0, min(len(steps) - remaining, max(len(steps) - 1, 0))) if steps else 0
    if isinstance(data.get("s"), (int, float)) and isinstance(data.get("d"), (int, float)) and data["s"] > 0:
        out.stability, out.difficulty = float(data["s"]), float(data["d"])
    else:
        counted = [row for row in rows if reset is None or row[0] > reset]
        memory = memory_state(card, counted, options, next_day_at, v1)
        if memory is not None:
            out.stability, out.difficulty = memory
    if out.stability is None and state in ("review", "relearning"):
        # Anki keeps none here (e.g. a card reset, then given a due date: no usable history, no reps) and
        # derives one from the SM-2 ease and interval when the card is answered; srs needs it to
        # schedule the card, so it stores that one now
        out.stability, out.difficulty = sm2_memory(card, options)
    if out.last_review is None:
        out.last_review = out.due_at or (clock.day_start(out.due_day, day_start_hour) if out.due_day else None)
    return out


def next_day_at(now: datetime, rollover_hour: int) -> int:
    """Unix seconds of the next day rollover after `now` (Anki's `timing.next_day_at`)."""
    return int(clock.day_bounds(now, rollover_hour)[1].timestamp())


def _data(raw) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _json_col(conn, column: str) -> dict:
    try:
        row = conn.execute(f"select {column} from col").fetchone()
        value = json.loads(row[0]) if row and row[0] else {}
    except Exception:
        return {}
    return value if isinstance(value, dict) else {}


def _numbers(value) -> list[float]:
    if not isinstance(value, list):
        return []
    return [float(v) for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

