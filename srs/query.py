"""Search: an Anki-like query language over cards (`srs cards QUERY`, `srs suspend QUERY`...).

`parse(text)` turns a query into a tree of terms; `Search(store, now)` compiles a tree into a
SQL condition the store runs (`Search.rows`), and into a Python predicate on the objects
`srs cards --json` prints (`Search.predicate`). Both follow the same rules; a property test
holds them equal on random queries.

The language (as Anki's, where Anki has the same thing):

- `word`: the word anywhere in the question, the options or the answer, ignoring case and
  accents (`cafe` finds "Café"); `*` is any run of characters (`c*t`). `"a phrase"`: the words
  together, as typed.
- `deck:NAME`: the deck, in any case, `*` a wildcard; `deck:a` also takes the subdecks `a::b`.
  When no deck has that name, the decks whose names begin with it (`deck:ai`).
- `kind:basic` (basic and reversed cards), `kind:choice`, `kind:cloze`, `kind:typed`: the card's kind.
- `is:new`, `is:learn` (learning and relearning), `is:review` (review and relearning, as Anki),
  `is:due` (studied and due before the end of today's learner day), `is:suspended`,
  `is:buried`, `is:leech` (8 lapses or more, or tagged `leech`), `is:unkeyed` (a choice card
  whose key is unknown).
- `prop:r<0.9`: a property against a number, with `<`, `<=`, `>`, `>=`, `=`, `!=`: `r`
  (retrievability now), `s` (stability, days), `d` (difficulty, 1-10), `ivl` (interval,
  days), `lapses`, `reps`, `due` (learner days from today to the due day: `prop:due=1` is
  tomorrow, `prop:due<0` overdue). A card that has no such value (a new card's `r`) never matches.
- `tag:NAME`: a tag of the card (its source's or one given with `srs tag`), any case, `*` a
  wildcard; `tag:a` also takes `a::b`.
- Terms side by side must all hold (`and` may be written); `or` between them: either;
  `-term` or `-(...)`: not; parentheses group.

Retrievability is FSRS's R at the whole learner days since the last answer, as `srs card ID` and
the scheduler count them, computed in SQL (`fsrs.Scheduler.get_card_retrievability` at the last
answer plus those days, bit for bit).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from srs import clock
from srs.model import SrsError

FIELDS = ("deck", "kind", "is", "prop", "tag")
IS_VALUES = ("new", "learn", "review", "due", "suspended", "buried", "leech", "unkeyed")
PROPS = ("r", "s", "d", "ivl", "lapses", "reps", "due")
OPS = ("<=", ">=", "!=", "<", ">", "=")
LEECH_LAPSES = 8  # Anki's default leech threshold (as srs stats)
HELP = ("words, \"a phrase\", deck:NAME, kind:basic|choice|cloze|typed, "
        "is:new|learn|review|due|suspended|buried|leech|unkeyed, prop:r<0.9 (r s d ivl lapses reps due), tag:NAME, "
        "-term, or, ( )")


# -- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    field: str  # "text", or one of FIELDS
    value: str  # as typed (unquoted); for prop, the property's name
    op: str = ""  # prop's comparison
    number: float = 0.0  # prop's number
    typed: str = ""  # the term as typed, for messages


@dataclass(frozen=True)
class Not:
    child: object


@dataclass(frozen=True)
class All:
    children: tuple


@dataclass(frozen=True)
class Any:
    children: tuple


def fold(text: str) -> str:
    """Text as search compares it: accents dropped, case folded."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# -- parsing -------------------------------------------------------------------------------


@dataclass
class _Token:
    kind: str  # "(", ")", "not(", "atom"
    text: str = ""  # the atom unquoted
    typed: str = ""  # the atom as typed
    negated: bool = False
    quoted: bool = False  # the whole atom, or its value after "field:", was in quotes


def _tokens(query: str) -> list[_Token]:
    out, i, n = [], 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            out.append(_Token(ch))
            i += 1
            continue
        if ch == "-" and i + 1 < n and query[i + 1] == "(":
            out.append(_Token("not("))
            i += 2
            continue
        start, negated = i, False
        if ch == "-":
            negated, i = True, i + 1
        text, quoted = [], False
        while i < n and not query[i].isspace() and query[i] not in "()":
            if query[i] == '"':
                end = i + 1
                while end < n and query[end] != '"':
                    end += 1
                if end >= n:
                    raise SrsError(f"bad search term {query[start:]!r}: a quote is not closed")
                text.append(query[i + 1:end])
                quoted = True
                i = end + 1
            else:
                text.append(query[i])
                i += 1
        typed = query[start:i]
        if not text or not "".join(text).strip():
            raise SrsError(f"bad search term {typed!r}: nothing to search for")
        out.append(_Token("atom", "".join(text), typed, negated, quoted))
    return out


def parse(query: str):
    """The tree of a query (None for an empty one: every card). Errors name the bad term."""
    tokens = _tokens(query)
    if not tokens:
        return None
    position = [0]

    def peek() -> _Token | None:
        return tokens[position[0]] if position[0] < len(tokens) else None

    def take() -> _Token:
        position[0] += 1
        return tokens[position[0] - 1]

    def word(token: _Token | None, name: str) -> bool:
        return token is not None and token.kind == "atom" and not token.quoted and not token.negated \
            and token.text.lower() == name

    def either():
        parts = [every()]
        while word(peek(), "or"):
            take()
            if peek() is None or peek().kind == ")" or word(peek(), "or"):
                raise SrsError("bad search term 'or': nothing after it")
            parts.append(every())
        return parts[0] if len(parts) == 1 else Any(tuple(parts))

    def every():
        parts = []
        while (token := peek()) is not None and token.kind != ")" and not word(token, "or"):
            if word(token, "and"):
                take()
                if not parts or peek() is None or peek().kind == ")" or word(peek(), "or"):
                    raise SrsError("bad search term 'and': a term must stand on each side")
                continue
            parts.append(one())
        if not parts:
            raise SrsError("bad search term 'or': nothing before it" if word(peek(), "or")
                           else "bad search term '()': empty parentheses")
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def one():
        token = take()
        if token.kind in ("(", "not("):
            inner = either()
            if peek() is None or peek().kind != ")":
                raise SrsError("bad search term '(': its ')' is missing")
            take()
            return Not(inner) if token.kind == "not(" else inner
        if token.kind == ")":
            raise SrsError("bad search term ')': no '(' before it")
        term = _term(token)
        return Not(term) if token.negated else term

    tree = either()
    if peek() is not None:
        raise SrsError("bad search term ')': no '(' before it")
    return tree


def _term(token: _Token) -> Term:
    text, typed = token.text, token.typed
    head, colon, rest = text.partition(":")
    bare = typed.lstrip("-")
    if not colon or bare.startswith('"'):  # a word, or a quoted phrase (colons and all)
        return Term("text", text, typed=typed)
    field = head.lower()
    if field not in FIELDS:
        raise SrsError(f"bad search term {typed!r}: unknown field {head + ':'!r} (search with: {HELP}; "
                       "put text with a colon in quotes)")
    if not rest.strip():
        raise SrsError(f"bad search term {typed!r}: {field}: needs a value")
    if field == "is":
        if rest.lower() not in IS_VALUES:
            raise SrsError(f"bad search term {typed!r}: is: takes {', '.join(IS_VALUES)}")
        return Term("is", rest.lower(), typed=typed)
    if field == "prop":
        match = re.fullmatch(r"([a-z]+)(<=|>=|!=|<|>|=)(.+)", rest.lower())
        if match is None or match.group(1) not in PROPS:
            raise SrsError(f"bad search term {typed!r}: prop: takes a property ({', '.join(PROPS)}), a comparison "
                           f"({' '.join(OPS)}) and a number, as prop:r<0.9")
        try:
            number = float(match.group(3))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise SrsError(f"bad search term {typed!r}: {match.group(3)!r} is not a number")
        return Term("prop", match.group(1), match.group(2), number, typed)
    if field == "kind":
        from srs.kinds import KINDS  # the one list of kinds (imported only when a query names one)

        if rest.lower() not in KINDS:
            raise SrsError(f"bad search term {typed!r}: kind: takes {', '.join(KINDS)}")
        return Term("kind", rest.lower(), typed=typed)
    return Term(field, rest, typed=typed)


# -- matching text -------------------------------------------------------------------------


def _like(pattern: str) -> str:
    """A folded wildcard pattern (`*` any run) as a LIKE pattern (escape `\\`)."""
    out = []
    for ch in fold(pattern):
        out.append("%" if ch == "*" else "\\" + ch if ch in "%_\\" else ch)
    return "".join(out)


def _regex(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in fold(pattern).split("*"))


def _name_matches(pattern: str, name: str) -> bool:
    """A deck or tag name matches a pattern: the whole name, or a parent of it (`a` takes `a::b`)."""
    return re.fullmatch(_regex(pattern) + "(::.*)?", fold(name), re.DOTALL) is not None


def haystack(obj: dict) -> str:
    """What words are looked for in, from a `srs cards --json` object (as HAYSTACK_SQL builds it)."""
    return obj["question"] + "\n" + "\n".join(obj["options"] or []) + "\n" + (obj["answer"] or "")


# The options joined by line breaks: JSON as the store writes it (`["a", "b"]`, no escapes) is cut and
# joined in place (a third of the time json_each takes); any other JSON is read with json_each.
OPTIONS_SQL = ("CASE WHEN c.options IS NULL THEN '' WHEN substr(c.options, 1, 2) = '[\"' AND substr(c.options, -2) = "
               "'\"]' AND instr(c.options, '\\') = 0 AND instr(c.options, '\",\"') = 0 "
               "THEN replace(substr(c.options, 3, length(c.options) - 4), '\", \"', char(10)) "
               "ELSE coalesce((SELECT group_concat(o.value, char(10)) FROM json_each(c.options) o), '') END")
HAYSTACK_SQL = f"c.question || char(10) || {OPTIONS_SQL} || char(10) || coalesce(c.answer, '')"
TAGS_SQL = "(SELECT value FROM json_each(coalesce(c.tags, '[]')) UNION ALL " \
           "SELECT value FROM json_each(coalesce(c.learner_tags, '[]')))"


# -- compiling -----------------------------------------------------------------------------


class Search:
    """A query compiled against a store at a moment: `rows()` for SQL, `predicate()` for objects."""

    def __init__(self, store, now: datetime):
        from srs.scheduling import Settings
        from srs.stats import memory_params

        self.store, self.now = store, now
        shared = store.global_settings()
        self.decks = store.decks()
        self.by_name = {deck["name"]: deck["id"] for deck in self.decks}
        self.settings = {d["id"]: Settings.from_dict({**shared, **d["settings"]}) for d in self.decks}
        self.curves = {deck_id: memory_params(s) for deck_id, s in self.settings.items()}
        self.hours = {deck_id: s.day_start_hour for deck_id, s in self.settings.items()}
        self._r_sql: str | None = None
        self._epoch_days: dict[int, clock.EpochDays] = {}
        self._due_days: dict[tuple[str, int], int] = {}
        self._chunk: list[tuple] = []  # the rows `rows` has read ahead (see `_note`)
        self._notes: dict[int, object] = {}  # card id -> its Anki note (None: none), for the cards of _chunk

    def deck_ids(self, pattern: str) -> list[int]:
        """The decks `deck:pattern` takes: those it names whole (with their subdecks `name::...`); when it
        names none, those whose names begin with it (so `deck:ai` finds "AI Engineer vs ML Engineer")."""
        whole = [d["id"] for d in self.decks if _name_matches(pattern, d["name"])]
        return whole or [d["id"] for d in self.decks if _name_matches(pattern + "*", d["name"])]

    # the per-deck values a query needs, as SQL (one value when every deck has the same)
    def _per_deck(self, value: Callable[[int], object]) -> tuple[str, list]:
        values = {deck_id: value(deck_id) for deck_id in self.settings}
        distinct = set(values.values())
        if len(distinct) <= 1:
            return "?", [next(iter(distinct)) if distinct else None]
        return ("CASE c.deck_id " + " ".join("WHEN ? THEN ?" for _ in values) + " END",
                [x for pair in values.items() for x in pair])

    def _today(self, deck_id: int) -> int:
        return clock.day_number(self.now, self.hours[deck_id])

    def _day_start(self, deck_id: int, offset: int) -> str:
        return clock.to_text(clock.day_start(self._today(deck_id) + offset, self.hours[deck_id]))

    def retrievability_sql(self) -> str:
        """FSRS's R now (NULL for a card never reviewed), as `srs card ID` and the scheduler count it: at
        the whole learner days since the last answer (`scheduling.elapsed_days`), with the deck's forgetting
        curve (`stats.memory_params`); learner days numbered in SQL from `clock.day_start`, as stats does."""
        if self._r_sql is None:
            self._r_sql = self._make_r_sql()
        return self._r_sql

    def _make_r_sql(self) -> str:
        from types import SimpleNamespace

        from srs.stats import _day_number_sql, _day_runs

        first = self.store.first_last_review()
        if first is None or not self.settings:
            return "NULL"
        elapsed = {}
        for hour in set(self.hours.values()):
            start = min(clock.learner_day(clock.from_text(first), hour), clock.learner_day(self.now, hour))
            runs = _day_runs(start, clock.learner_day(self.now, hour), hour)
            day = _day_number_sql(SimpleNamespace(day_runs=runs), "CAST(strftime('%s', s.last_review) AS INTEGER)")
            elapsed[hour] = f"max(0, {clock.day_number(self.now, hour)} - {day})"
        if len(elapsed) == 1:
            days = next(iter(elapsed.values()))
        else:
            days = "CASE c.deck_id " + " ".join(f"WHEN {d} THEN {elapsed[h]}" for d, h in self.hours.items()) + " END"
        if len(set(self.curves.values())) == 1:
            decay, factor = (repr(v) for v in next(iter(self.curves.values())))
        else:
            decay, factor = ("CASE c.deck_id " + " ".join(f"WHEN {i} THEN {c[k]!r}" for i, c in self.curves.items())
                             + " END" for k in (0, 1))
        return (f"CASE WHEN s.state > 0 AND s.stability > 0 AND s.last_review IS NOT NULL THEN "
                f"pow(1 + {factor} * {days} / s.stability, {decay}) END")

    def sql(self, tree) -> tuple[str, list]:
        """A SQL condition (over cards c, card_state s) that holds for the cards the tree matches."""
        if tree is None:
            return "1", []
        if isinstance(tree, Not):
            inner, args = self.sql(tree.child)
            return f"NOT {inner}", args
        if isinstance(tree, (All, Any)):
            parts = [self.sql(child) for child in tree.children]
            if isinstance(tree, All):  # cheap conditions first: SQLite stops at the first false one
                parts.sort(key=lambda part: "srs_fold" in part[0])
            joiner = " AND " if isinstance(tree, All) else " OR "
            return "(" + joiner.join(p[0] for p in parts) + ")", [a for p in parts for a in p[1]]
        condition, args = self._term_sql(tree)
        return f"coalesce(({condition}), 0)", args  # never NULL: `-term` is exactly "not matched"

    def _term_sql(self, term: Term) -> tuple[str, list]:
        field, value = term.field, term.value
        if field == "text":
            return f"srs_fold({HAYSTACK_SQL}) LIKE ? ESCAPE '\\'", ["%" + _like(value) + "%"]
        if field == "deck":
            ids = self.deck_ids(value)
            return (f"c.deck_id IN ({', '.join('?' * len(ids))})", ids) if ids else ("0", [])
        if field == "kind":
            return "c.kind = ?", [value]
        if field == "tag":
            like = _like(value)
            return (f"EXISTS (SELECT 1 FROM {TAGS_SQL} t WHERE srs_fold(t.value) LIKE ? ESCAPE '\\' "
                    "OR srs_fold(t.value) LIKE ? ESCAPE '\\')", [like, like + "::%"])
        if field == "is":
            if value == "due":
                end, args = self._per_deck(lambda deck: self._day_start(deck, 1))
                return f"s.state > 0 AND s.due < {end}", args
            if value == "leech":
                return (f"s.lapses >= {LEECH_LAPSES} OR EXISTS (SELECT 1 FROM {TAGS_SQL} t "
                        "WHERE srs_fold(t.value) = 'leech')", [])
            return {"new": "s.state = 0", "learn": "s.state IN (1, 3)", "review": "s.state IN (2, 3)",
                    "suspended": "s.suspended = 1", "buried": "s.suspended = 2",
                    "unkeyed": "c.kind = 'choice' AND c.answer IS NULL"}[value], []
        return self._prop_sql(term)

    def _prop_sql(self, term: Term) -> tuple[str, list]:
        op, number = term.op, term.number
        if term.value == "due":
            return self._due_sql(op, number)
        column = {"s": "s.stability", "d": "s.difficulty", "lapses": "s.lapses", "reps": "s.reps",
                  "ivl": "srs_interval(s.state, s.interval_days, s.due, s.last_review, {hour})",
                  "r": None}[term.value]
        if term.value == "r":
            column = self.retrievability_sql()
        if term.value == "ivl":
            hour, args = self._per_deck(lambda deck: self.hours[deck])
            return f"{column.format(hour=hour)} {op} ?", [*args, number]
        return f"{column} {op} ?", [number]

    def _due_sql(self, op: str, number: float) -> tuple[str, list]:
        """prop:due as ranges of stored due times: learner day starts (per deck) from today."""
        studied = "s.state > 0 AND s.due IS NOT NULL AND "
        if op == "=" or op == "!=":
            if number != int(number):
                return ("0", []) if op == "=" else (studied + "1", [])
            lo, lo_args = self._per_deck(lambda deck: self._day_start(deck, int(number)))
            hi, hi_args = self._per_deck(lambda deck: self._day_start(deck, int(number) + 1))
            inside = f"(s.due >= {lo} AND s.due < {hi})"
            return studied + (inside if op == "=" else f"NOT {inside}"), [*lo_args, *hi_args]
        first_day = {"<": math.ceil(number), "<=": math.floor(number) + 1,
                     ">": math.floor(number) + 1, ">=": math.ceil(number)}[op]
        bound, args = self._per_deck(lambda deck: self._day_start(deck, first_day))
        return studied + f"s.due {'<' if op in ('<', '<=') else '>='} {bound}", args

    # -- the same rules on `srs cards --json` objects ----------------------------------------

    def predicate(self, tree) -> Callable[[dict], bool]:
        if tree is None:
            return lambda obj: True
        if isinstance(tree, Not):
            inner = self.predicate(tree.child)
            return lambda obj: not inner(obj)
        if isinstance(tree, All):
            parts = [self.predicate(child) for child in tree.children]
            return lambda obj: all(p(obj) for p in parts)
        if isinstance(tree, Any):
            parts = [self.predicate(child) for child in tree.children]
            return lambda obj: any(p(obj) for p in parts)
        return self._term_predicate(tree)

    def _term_predicate(self, term: Term) -> Callable[[dict], bool]:
        field, value = term.field, term.value
        if field == "text":
            rx = re.compile(_regex(value), re.DOTALL)
            return lambda obj: rx.search(fold(haystack(obj))) is not None
        if field == "deck":
            names = {d["name"] for d in self.decks if d["id"] in self.deck_ids(value)}
            return lambda obj: obj["deck"] in names
        if field == "kind":
            return lambda obj: obj["kind"] == value
        if field == "tag":
            return lambda obj: any(_name_matches(value, tag) for tag in obj["tags"])
        if field == "is":
            if value == "due":
                return lambda obj: (obj["state"] != "new" and obj["due"] is not None
                                    and clock.to_text(clock.parse_time(obj["due"]))
                                    < self._day_start(self.by_name[obj["deck"]], 1))
            return {
                "new": lambda obj: obj["state"] == "new",
                "learn": lambda obj: obj["state"] in ("learning", "relearning"),
                "review": lambda obj: obj["state"] in ("review", "relearning"),
                "suspended": lambda obj: obj["suspended"],
                "buried": lambda obj: obj["buried"],
                "leech": lambda obj: obj["lapses"] >= LEECH_LAPSES or any(fold(t) == "leech" for t in obj["tags"]),
                "unkeyed": lambda obj: obj["kind"] == "choice" and obj["answer"] is None,
            }[value]
        compare = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
                   ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b}[term.op]
        number = term.number
        if value == "due":
            def due(obj: dict) -> bool:
                if obj["state"] == "new" or obj["due"] is None:
                    return False
                deck = self.by_name[obj["deck"]]
                days = clock.day_number(clock.parse_time(obj["due"]), self.hours[deck]) - self._today(deck)
                return compare(days, number)
            return due
        key = {"r": "retrievability", "s": "stability", "d": "difficulty", "ivl": "interval_days",
               "lapses": "lapses", "reps": "reps"}[value]
        return lambda obj: obj[key] is not None and compare(obj[key], number)

    # -- running -------------------------------------------------------------------------------

    def card(self, card_id: int) -> dict | None:
        """One card's `card_object` (retired or not); None when there is no such card."""
        row = next(iter(self.store.search_rows("c.id = ?", [card_id], self.retrievability_sql(), FUNCTIONS,
                                               live=False)), None)
        return None if row is None else self.card_object(row)

    def _interval(self, row: tuple) -> int | None:
        """`_interval` of a row, the learner days counted in bulk (`clock.EpochDays`; a due day is read once)."""
        if row[10] != 2 or row[-2] is not None:
            return row[-2] if row[10] == 2 else None
        due, last = row[14], row[15]
        if not due or not last:
            return None
        hour = self.hours[row[19]]
        days = self._epoch_days.get(hour)
        if days is None:
            days = self._epoch_days[hour] = clock.EpochDays(hour)
        due_day = self._due_days.get((due, hour))
        if due_day is None:
            due_day = self._due_days[(due, hour)] = days.day(int(clock.from_text(due).timestamp()))
        return due_day - days.day(int(clock.from_text(last).timestamp()))

    def card_object(self, row: tuple) -> dict:
        """A row of `rows` as `srs cards --json` prints it: the card's object as `srs card ID --json` has it
        (without history and next), with its tags (its source's, then the learner's) and retrievability."""
        from srs.read_outs import _anki_cloze_answer, _card_dict

        out = _card_dict(row, self._interval(row))
        if out["kind"] == "cloze" and "{{c" not in out["question"]:  # an Anki cloze card: its deletion from its note
            _anki_cloze_answer(out, self._note(out["id"]))
        tags = json.loads(row[9]) if row[9] else []
        out["tags"] = tags + [tag for tag in (json.loads(row[-3]) if row[-3] else []) if tag not in tags]
        out["retrievability"] = row[-1]
        return out

    def rows(self, tree, deck_id: int | None = None) -> Iterator[tuple]:
        """The matching live cards in deck then card order, streamed: rows in the column order of the
        store's card rows, then learner tags, Anki's interval and retrievability now. Read `CHUNK` rows
        ahead, so that `card_object` reads the notes of a chunk's Anki cloze cards in one query."""
        where, args = self.sql(tree)
        if deck_id is not None:
            where, args = f"c.deck_id = ? AND {where}", [deck_id, *args]
        return self._read_ahead(self.store.search_rows(where, args, self.retrievability_sql(), FUNCTIONS))

    def _read_ahead(self, rows: Iterator[tuple]) -> Iterator[tuple]:
        from itertools import islice

        while chunk := list(islice(rows, CHUNK)):
            self._chunk, self._notes = chunk, {}
            yield from chunk

    def _note(self, card_id: int):
        """The Anki note of a card, if it is one's: those of the cloze cards of the chunk `rows` read ahead are
        read at the first one's turn, in one query (it was one query a card); any other card is read alone."""
        if card_id not in self._notes:
            ids = [row[0] for row in self._chunk if row[2] == "cloze" and row[0] not in self._notes]
            if card_id not in ids:
                ids = [card_id]
            found = self.store.card_notes(card_ids=ids)
            self._notes.update((one, found.get(one)) for one in ids)
        return self._notes[card_id]


def _interval(state, imported, due, last_review, hour):
    """`srs cards --json`'s interval_days of a card, for SQL (see `read_outs._Intervals`)."""
    if state != 2:
        return None
    if imported is not None:
        return imported
    if not due or not last_review:
        return None
    return clock.day_number(clock.from_text(due), hour) - clock.day_number(clock.from_text(last_review), hour)


CHUNK = 256  # rows `Search.rows` reads ahead: the Anki notes of their cloze cards are read in one query

FUNCTIONS = {"srs_fold": (1, lambda text: None if text is None else fold(text)), "srs_interval": (5, _interval)}
