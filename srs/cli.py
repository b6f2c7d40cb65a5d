"""The `srs` command line: a thin layer that parses options, calls the library and prints.

Errors meant for the learner (`SrsError`, bad options, database trouble) print one line
on standard error and exit non-zero, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from srs import __version__
from srs.model import SrsError

app = typer.Typer(
    help="Spaced-repetition study in the terminal, scheduled by FSRS.\n\n"
    "Example: srs import decks/ && srs review",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
export_app = typer.Typer(help="Export decks to other tools.\n\nExample: srs export anki my.apkg --with-progress",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


def _version(value: bool) -> None:
    if value:
        print(f"srs {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Optional[Path] = typer.Option(None, "--db", envvar="SRS_DB", help="Database file (default: srs.db in your "
                                      "user data folder).", show_default=False, dir_okay=False),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    ctx.obj = {"db": db}


# Commands that write: before they start, the database is checked whole (PRAGMA quick_check) and writable
# (read-only file or folder, full disk, lock: each its own message), so nothing fails after a learner's answer.
WRITE_COMMANDS = {"import", "review", "key", "suspend", "bury", "forget", "tag", "optimize", "import-history"}


def _store(ctx: typer.Context, create: bool = False):
    """The store; commands that only read (or review) refuse a database that does not exist yet."""
    from srs.entry import database_path
    from srs.store import Store

    store = Store(database_path(ctx.find_root().obj["db"], create))
    if ctx.info_name in WRITE_COMMANDS or (ctx.info_name == "config" and len(ctx.params.get("args") or []) >= 2):
        store.check_writable()
    return store


def _out(soft_wrap: bool = True):
    """Standard output through rich; soft wrap leaves long lines whole for scripts and pipes."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=soft_wrap)


def _deck_id(store, deck: Optional[str]) -> Optional[int]:
    return None if deck is None else store.deck_id(deck)


def _deck_tree(store, deck: Optional[str]):
    """The deck named and its subdecks (`Store.deck_tree`), as review, stats, optimize and export take it."""
    return None if deck is None else store.deck_tree(deck)


DECK_HELP = "Only this deck and its subdecks (DECK::...), as in Anki (default: all decks)."


# -- import --------------------------------------------------------------------------


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: List[str] = typer.Argument(..., help="Deck files (.md), lessons (.txt), tables (.csv/.tsv), Anki "
                                      "packages (.apkg) or folders of them."),
    write_deck: Optional[Path] = typer.Option(None, "--write-deck", help="Also write an imported lesson as a deck "
                                              "file at this path.", dir_okay=False),
    with_progress: bool = typer.Option(False, "--with-progress", help="From an Anki package, also import the "
                                       "review history and each card's schedule (merged once on re-import)."),
) -> None:
    """Add decks to the store, or bring them up to date.

    Importing an unchanged file changes nothing; an edited card keeps its history; a card
    removed from its file is retired.

    Example: srs import decks/ lesson.txt
    """
    from srs import clock
    from srs.entry import database_path
    from srs.sources import package_fingerprint, read_sources

    notices: list[str] = []
    store = None
    fingerprints: dict[str, str] = {}
    same: list = []  # results of Anki packages unchanged since their last import: not read again

    def unchanged(path: Path) -> bool:
        nonlocal store
        fingerprint = package_fingerprint(path, with_progress=with_progress)
        if fingerprint is None:
            return False
        key = str(path.resolve())
        fingerprints[key] = fingerprint
        if store is None and database_path(ctx.find_root().obj["db"], True).exists():
            store = _store(ctx)
        results = store.unchanged_package(key, fingerprint) if store is not None else None
        if results is not None:
            from srs.media import package_media_lost

            if package_media_lost(store.path, store, path):
                results = None  # read again: its lost media come back from it
        same.extend(results or [])
        return results is not None

    from srs import outputs

    if write_deck is not None:  # refused before anything is read or written: the database, a source, a device
        outputs.check_target(write_deck, [(database_path(ctx.find_root().obj["db"], True), "the database")]
                             + [(path, "a source being imported") for path in paths])
    specs, skipped = read_sources(paths, with_progress=with_progress, notices=notices, unchanged=unchanged)
    deck_file = None
    if write_deck is not None:
        if len(specs) != 1:
            raise SrsError("--write-deck needs exactly one lesson to import")
        from srs.decks import format_deck

        deck_file = outputs.prepare(write_deck, format_deck(specs[0]))  # written whole before the import
    try:
        from srs.media import import_media

        store = store or _store(ctx, create=True)
        media = import_media(store.path, specs, store.media_rows)  # files first: the rows go in with the cards
        results = store.sync_decks(specs, clock.now(), media.rows) + same
    except BaseException:
        if deck_file is not None:
            deck_file.discard()
        raise
    if fingerprints:
        store.record_packages(fingerprints, clock.now())
    if deck_file is not None:
        deck_file.commit()  # a rename in a folder already written to
    import shutil

    from srs.display import cut, safe

    columns = shutil.get_terminal_size((80, 24)).columns
    out = _out()
    for result in results:
        line = (f"{result.deck}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
                f"{result.retired} retired")
        report = result.report
        if report.get("attached"):
            line += f", {report['attached']} given to the history a review log brought"
        if report.get("elsewhere"):  # Anki cards the store had in another deck: one card each, left there
            line += f", {report['elsewhere']} of them already in another deck (left there)"
        if "scheduler" in report:  # an Anki deck: its suspended cards and the answers brought in
            line += f", {result.suspended} suspended"
            if with_progress:
                line += f"; {result.reviews_added} review(s) added"
        if "keyed" in report:
            line += (f"; from the lesson: {report['keyed']} keyed, {report['unkeyed']} unkeyed, "
                     f"{report['free_response']} free-response")
        elif result.unkeyed:
            line += f"; {result.unkeyed} without a known key"
        out.print(_plain(line))
        for question in report.get("unkeyed_questions", []):
            out.print(_plain(f"  unkeyed (the lesson does not decide it): {question}"))
        retired = report.get("retired_cards", [])
        for question in retired[:RETIRED_SHOWN]:  # one line each, cut to the terminal's width
            prefix = "  retired (no longer in the source; history kept): "
            out.print(_plain(prefix + cut(safe(question), max(20, columns - len(prefix)))))
        if len(retired) > RETIRED_SHOWN:
            out.print(_plain(f"  ... and {len(retired) - RETIRED_SHOWN:,} more"))
        for question, old, new in report.get("changed_keys", []):
            out.print(_plain(f"  key changed: {question}: {old} -> {new}"))
        for question, old, new in report.get("kept_keys", []):
            out.print(_plain(f"  your key kept: {question}: {old} (the source says {new})"))
    for notice in notices:  # cards a package has that srs could not take, with why; an empty package
        out.print(_plain(notice))
    if media.rows or media.missing:
        line = f"media: {media.stored} stored, {media.present} already kept, {len(media.missing)} missing"
        if media.missing:
            line += " (not in the package: " + ", ".join(media.missing[:5]) + (", ..." if len(media.missing) > 5
                                                                               else "") + ")"
        out.print(_plain(line))
    if media.replaced:
        out.print(_plain(f"media: {len(media.replaced)} file(s) replaced an earlier file of the same name: "
                         + ", ".join(media.replaced[:5]) + (", ..." if len(media.replaced) > 5 else "")))
    if skipped:
        out.print(_plain(f"skipped {len(skipped)} file(s) of unknown type: " + ", ".join(map(str, skipped[:5]))))
    if any(r.unkeyed for r in results):
        out.print("Give the missing keys with 'srs key', or when the cards come up in 'srs review'.")


RETIRED_SHOWN = 10  # retired cards the import report names, then "... and N more"


def _plain(text: str):
    from srs.terminal import plain

    return plain(text)


# -- review --------------------------------------------------------------------------


@app.command()
def review(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help=DECK_HELP),
    ahead: int = typer.Option(0, "--ahead", metavar="DAYS", min=0, max=3650,
                              help="Also review cards due within DAYS learner days (early reviews, scheduled "
                              "by FSRS from the days actually elapsed), with no review limit."),
    cram: Optional[str] = typer.Option(None, "--cram", metavar="QUERY",
                                       help="Practise the cards a search finds (as 'srs cards QUERY'): answers are "
                                       "logged as kind cram and change no card's schedule; Again shows a card again."),
    new: int = typer.Option(0, "--new", metavar="N", min=0, max=100_000,
                            help="Allow N more new cards today (this session), beyond the daily limits."),
) -> None:
    """Review the cards due now: learning cards, then due reviews, then new cards.

    Keys: a-z pick an option, Enter shows the answer or accepts the suggested rating,
    1-4 rate (Again, Hard, Good, Easy), space = Good; u undoes the last action (an answer,
    suspension, burial, flag, or a pick not yet rated), s suspends, b buries until tomorrow,
    f flags, e edits the card in its deck file, q quits. At a choice prompt, where letters
    are options: Backspace undo, @ suspend, - bury, * flag, # edit, Esc quit. Each answer is
    saved before the next card appears. Custom study: --ahead, --cram, --new.

    Examples: srs review "AI Engineer vs ML Engineer"; srs review --ahead 3; srs review --cram 'deck:AI -is:suspended'; srs review --new 10
    """
    from srs.session import ReviewSession
    from srs.terminal import Keys, run_review

    store = _store(ctx)
    tree = _deck_tree(store, deck)
    deck_id = None if tree is None else tree.id
    practice = None
    if cram is not None:
        if ahead or new:
            raise SrsError("--cram practises the cards it finds; it does not go with --ahead or --new")
        from srs import clock
        from srs.query import Search, parse

        found = Search(store, clock.now()).rows(parse(cram), deck_id if tree and len(tree.ids) == 1 else None)
        practice = [row[0] for row in found if tree is None or row[19] in tree.ids]  # 19: the card's deck id
        if not practice:
            raise SrsError(f"no card matches {cram!r} (see 'srs cards {_quote(cram)}')")
    session = ReviewSession(store, deck_id, deck_ids=None if tree is None else tree.ids, extra_new=new,
                            ahead_days=ahead, cram=practice)
    console = _out(soft_wrap=False)
    run_review(session, console, Keys(console))


@app.command()
def key(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help="Only this deck (default: all decks)."),
) -> None:
    """Give what srs does not know yet: the right option of unkeyed choice cards, and the
    answer of basic cards that have none (free-response questions from a lesson).

    Example: srs key "AI Engineer vs ML Engineer"
    """
    from srs.session import ReviewSession
    from srs.terminal import Keys, run_keying

    store = _store(ctx)
    console = _out()
    run_keying(ReviewSession(store, _deck_id(store, deck), read_only=True), console, Keys(console))


# -- read-outs -----------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What is waiting: per deck, new, learning, due now, due today, total and unkeyed cards.

    Example: srs status --json
    """
    from srs.entry import quick_status

    quick_status(ctx.find_root().obj["db"], as_json)


def _local(iso: str | None) -> str:
    """A stored UTC time as the learner's local time, to the minute (as status and review show times)."""
    from srs import clock

    return "" if iso is None else clock.parse_time(iso).astimezone().strftime("%Y-%m-%d %H:%M")


QUERY_HELP = ("A search, as in Anki: words, \"a phrase\", deck:NAME, kind:basic|choice|cloze|typed, "
              "is:new|learn|review|due|suspended|buried|leech|unkeyed, prop:r<0.9 (r s d ivl lapses reps due), "
              "tag:NAME, -term, or, ( ). Quote it whole in the shell.")


@app.command(context_settings={"ignore_unknown_options": True})
def cards(
    ctx: typer.Context,
    query: Optional[List[str]] = typer.Argument(None, metavar="[QUERY]", help=QUERY_HELP, show_default=False),
    deck: Optional[str] = typer.Option(None, "--deck", help="Only this deck."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per card, with retrievability)."),
) -> None:
    """Find cards: one line each (id, deck, question, state, due, recall now), or JSON.

    Examples: srs cards 'deck:spanish prop:lapses>3'; srs cards --deck "AI Engineer vs ML Engineer" --json
    """
    from srs import clock
    from srs.query import Search, parse

    store = _store(ctx)
    store.small_cache()  # one pass over the cards: a big page cache would only raise the peak memory
    tree = parse(" ".join(query or []))
    search = Search(store, clock.now())
    rows = search.rows(tree, _deck_id(store, deck))
    out = sys.stdout
    if as_json:  # streamed: a card at a time, whatever the collection's size
        encode = json.JSONEncoder(ensure_ascii=False).encode
        first = True
        out.write("[")
        for row in rows:
            out.write(("\n" if first else ",\n") + encode(search.card_object(row)))  # a card a line
            first = False
        out.write("]\n" if first else "\n]\n")
        return
    import shutil

    width = shutil.get_terminal_size((80, 24)).columns
    out.write(_card_line(None, width) + "\n")
    for row in rows:
        out.write(_card_line(search.card_object(row), width) + "\n")


STATE_SHORT = {"new": "new", "learning": "learn", "review": "review", "relearning": "relearn"}


def _cut(text: str, width: int, deck: bool = False) -> str:
    """Text in exactly `width` terminal columns: cut after a whole word with '…' (`display.cut`; a deck name
    by `display.cut_deck`, its subdeck kept), padded."""
    from srs.display import cut, cut_deck
    from srs.display import width as cells

    text = (cut_deck if deck else cut)(text, width)
    return text + " " * max(0, width - (len(text) if text.isascii() else cells(text)))


def _card_line(card: Optional[dict], width: int) -> str:
    """One card on one line of `width` columns (the header when `card` is None): id, deck, question,
    state, due day (local), recall probability now."""
    from srs.display import safe

    deck_width = 16 if width >= 80 else 12 if width >= 70 else 10  # room for a subdeck's name (`…::Two Pointers`)
    question_width = max(10, width - (6 + 1 + deck_width + 1 + 1 + 7 + 1 + 10 + 1 + 4))
    if card is None:
        fields = ("id", "deck", "question", "state", "due", "R")
    else:
        state = "susp." if card["suspended"] else "buried" if card["buried"] else STATE_SHORT[card["state"]]
        recall = card["retrievability"]
        fields = (str(card["id"]), safe(card["deck"]), safe(card["question"].split("\n", 1)[0]), state,
                  _local(card["due"])[:10], "-" if recall is None else f"{100 * recall:.0f}%")
    return (f"{fields[0]:>6} {_cut(fields[1], deck_width, deck=card is not None)} {_cut(fields[2], question_width)}"
            f" {fields[3]:<7} {fields[4]:<10} {fields[5]:>4}").rstrip()


@app.command()
def card(
    ctx: typer.Context,
    card_id: int = typer.Argument(..., metavar="ID", help="The card's id (see 'srs cards')."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the 'srs cards --json' object plus "
                                 "retrievability, history and next (what each rating would give now)."),
) -> None:
    """One card whole: its text, memory state, history, what each rating would give now, its forgetting curve.

    Example: srs card 12 --json
    """
    from srs import clock
    from srs.read_outs import card_info, card_object

    store = _store(ctx)
    now = clock.now()
    if as_json:  # the 'srs cards --json' object (retrievability as there, and stats, compute it) and more
        from srs.query import Search

        data = card_object(store, card_id, now)
        data.update(Search(store, now).card(card_id))
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    from srs.charts import card_page

    card_page(card_info(store, card_id, now), now, _out(soft_wrap=False))


@app.command()
def log(
    ctx: typer.Context,
    deck: Optional[str] = typer.Option(None, "--deck", help="Only this deck."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per review)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """The review history, oldest first.

    Example: srs log --csv > reviews.csv
    """
    from srs.read_outs import LOG_FIELDS, log_objects

    if as_json and as_csv:
        raise SrsError("choose one of --json and --csv")
    store = _store(ctx)
    objects = log_objects(store, _deck_id(store, deck))
    if as_json:
        print(json.dumps(list(objects), ensure_ascii=False, indent=1))
    elif as_csv:
        from srs.read_outs import write_csv

        write_csv(objects, LOG_FIELDS, sys.stdout)  # cells a spreadsheet would run as formulas neutralised
    else:
        for row in objects:
            print(f"{_local(row['reviewed_at'])}  card {row['card_id']:>6}  {row['kind']:<7} "
                  f"rating {row['rating']}  {row['duration_ms'] or 0:>6} ms")


@app.command(context_settings={"ignore_unknown_options": True})
def config(
    ctx: typer.Context,
    args: List[str] = typer.Argument(None, help="[DECK] [KEY VALUE]"),
) -> None:
    """Show or change scheduling settings, for one deck or (without a deck) for all.

    Keys: desired_retention, new_per_day, reviews_per_day, learning_steps,
    relearning_steps, day_start_hour, maximum_interval, fuzz, load_balance, easy_days
    (e.g. "sat sun" or "sat:0 sun:0.5"), autoplay_audio, recall_first, typed_after_days
    (choice cards), bury_new_siblings, bury_review_siblings, bury_learning_siblings,
    leech_threshold, leech_action. The limits new_per_day and reviews_per_day set
    without a deck bound the whole collection when reviewing all decks (and are each
    deck's own unless it sets one); with a deck, they bound that deck and, as in Anki, its
    subdecks together when it is reviewed with them. All hold at once.

    A deck's settings are its own: setting them on a parent deck (A) does not change its
    subdecks (A::B), as each Anki deck has its own preset; set each subdeck you mean.

    Examples: srs config; srs config new_per_day 10; srs config "My deck" desired_retention 0.85
    """
    from srs.scheduling import SETTING_HELP, Settings, parse_setting

    store = _store(ctx, create=True)
    args = list(args or [])
    if len(args) > 3:
        raise SrsError("too many arguments: srs config [DECK] [KEY VALUE]")
    if len(args) in (1, 3) and args[0] in SETTING_HELP and (len(args) == 1 or args[1] not in SETTING_HELP):
        raise SrsError(f"give a value: srs config {args[0]} VALUE ({SETTING_HELP[args[0]]})")
    deck_id = store.deck_id(args.pop(0)) if len(args) in (1, 3) else None
    if args:
        key_, value = args[0], parse_setting(args[0], args[1])
        if deck_id is None:
            store.set_global_setting(key_, value)
        else:
            store.set_deck_setting(deck_id, key_, value)
    own = store.deck_own_settings(deck_id) if deck_id is not None else {}
    values = store.deck_settings(deck_id) if deck_id is not None else store.global_settings()
    settings = Settings.from_dict(values)
    for name in SETTING_HELP:
        value = getattr(settings, name)
        if isinstance(value, tuple):
            value = " ".join(f"{v:g}" for v in value)
        note = "  (this deck)" if name in own else ""
        print(f"{name} = {value}{note}")
    print(_parameter_set_line(store, deck_id))
    for job in store.pending_reschedules():
        print(f"note: rescheduling to {'the defaults' if job['parameters'] is None else 'a fitted set'} was "
              f"interrupted ({job['reviews_done']:,} reviews done); 'srs optimize' finishes it")


def _parameter_set_line(store, deck_id: Optional[int]) -> str:
    """The FSRS parameter set in force: the defaults, or when and on how many reviews it was fitted."""
    active = store.active_parameter_set(deck_id)
    if active is None:
        return "parameters = FSRS-6 defaults"
    where = "  (this deck)" if active["scope"] is not None else ""
    if active["created_at"] is None:
        return f"parameters = a set of {len(active['parameters'])} set by hand{where}"
    return (f"parameters = fitted {active['created_at'][:10]} on {active['reviews']:,} reviews "
            f"({'this deck' if active['scope'] is not None else 'all decks'})")


def _targets(store, args: List[str]) -> list[int]:
    """Card ids given as ids, or as a search (srs.query) whose cards they are."""
    if args and all(arg.isdigit() for arg in args):
        ids = list(dict.fromkeys(int(arg) for arg in args))
        for card_id in ids:
            store.card_row(card_id)  # an unknown id: an error, and nothing changed
        return ids
    from srs import clock
    from srs.query import Search, parse

    query = " ".join(args)
    if not query.strip():  # an empty shell variable must not act on every card
        raise SrsError("give card ids or a search (e.g. 'deck:*')")
    return [row[0] for row in Search(store, clock.now()).rows(parse(query))]


def _report(store, changed: list[int], total: int, did: str, already: str) -> None:
    """What an action changed: each card changed (the first 20), as `srs cards` lists it (its question as
    asked: a cloze card's deletion as [...]), then the counts."""
    from srs.read_outs import _card_dict

    out = sys.stdout
    for card_id in changed[:20]:
        card = _card_dict(store.card_row(card_id), None)
        out.write(_card_line({**card, "retrievability": None}, 80)[:-5].rstrip() + "\n")
    if len(changed) > 20:
        out.write(f"... and {len(changed) - 20:,} more\n")
    line = f"{len(changed):,} card(s) {did}"
    if total > len(changed):
        line += f"; {total - len(changed):,} {already}"
    out.write(line + (".\n" if total else " (no card matches).\n"))


TARGETS_HELP = "Card ids (see 'srs cards'), or a search as 'srs cards' takes (quoted whole)."


@app.command(context_settings={"ignore_unknown_options": True})
def suspend(
    ctx: typer.Context,
    cards_: List[str] = typer.Argument(..., metavar="IDS|QUERY", help=TARGETS_HELP),
    undo: bool = typer.Option(False, "--undo", help="Unsuspend instead."),
) -> None:
    """Suspend cards (or unsuspend them with --undo): they leave review until unsuspended.

    Examples: srs suspend 12 13 --undo; srs suspend 'deck:AI prop:lapses>6'
    """
    store = _store(ctx)
    ids = _targets(store, cards_)
    changed = store.suspend_cards(ids, not undo)
    _report(store, changed, len(ids), "unsuspended" if undo else "suspended",
            "were not suspended" if undo else "already suspended")


@app.command(context_settings={"ignore_unknown_options": True})
def bury(
    ctx: typer.Context,
    cards_: List[str] = typer.Argument(..., metavar="IDS|QUERY", help=TARGETS_HELP),
    undo: bool = typer.Option(False, "--undo", help="Unbury instead."),
) -> None:
    """Bury cards until the next learner day (or unbury them with --undo), as Anki's Bury.

    Examples: srs bury 12; srs bury 'deck:AI is:new'
    """
    from srs import clock
    from srs.scheduling import Settings

    store = _store(ctx)
    ids = _targets(store, cards_)
    if undo:
        _report(store, store.unbury(ids), len(ids), "unburied", "were not buried")
        return
    now = clock.now()
    until = {}
    for deck in store.decks():
        hour = Settings.from_dict(store.deck_settings(deck["id"])).day_start_hour
        until[deck["id"]] = clock.day_start(clock.day_number(now, hour) + 1, hour)
    _report(store, store.bury(ids, until), len(ids), "buried until the next learner day",
            "already buried or suspended")


@app.command(context_settings={"ignore_unknown_options": True})
def forget(
    ctx: typer.Context,
    cards_: List[str] = typer.Argument(..., metavar="IDS|QUERY", help=TARGETS_HELP),
) -> None:
    """Reset cards to new, as Anki's Forget: their history stays in 'srs log' and 'srs stats', and
    answers before now no longer count toward their scheduling.

    Examples: srs forget 12; srs forget 'deck:AI is:leech'
    """
    from srs import clock

    store = _store(ctx)
    ids = _targets(store, cards_)
    _report(store, store.forget(ids, clock.now()), len(ids), "reset to new", "new already")


@app.command(context_settings={"ignore_unknown_options": True})
def tag(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="TAG", help="The tag (no spaces)."),
    cards_: List[str] = typer.Argument(..., metavar="IDS|QUERY", help=TARGETS_HELP),
    remove: bool = typer.Option(False, "--remove", help="Take the tag away (one you gave; a source's stays)."),
) -> None:
    """Tag cards (find them again with tag:TAG). Your tags are kept apart from those a deck or package
    gives, so re-importing never drops them.

    Examples: srs tag hard 12 13; srs tag verbs 'deck:AI fsrs'
    """
    if not name.strip() or any(ch.isspace() for ch in name):
        raise SrsError(f"a tag is one word, not {name!r}")
    store = _store(ctx)
    ids = _targets(store, cards_)
    changed = store.tag_cards(ids, name, add=not remove)
    _report(store, changed, len(ids), f"untagged {name}" if remove else f"tagged {name}",
            f"had no tag {name} of yours" if remove else f"tagged {name} already")


# -- stats ------------------------------------------------------------------------


@app.command("stats")
def stats_(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help=DECK_HELP),
    days: int = typer.Option(30, "--days", min=1, max=3650, help="Days of activity shown, and of forecast."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    html_file: Optional[Path] = typer.Option(None, "--html", help="Also write the report as a self-contained "
                                             "web page to this file.", dir_okay=False),
) -> None:
    """Retention statistics: true retention, activity, forecast, the collection, calibration, trouble spots.

    Example: srs stats --days 90 --html stats.html
    """
    from srs import clock
    from srs.stats import compute

    from srs import outputs

    store = _store(ctx)
    if html_file is not None:
        outputs.check_target(html_file)  # before the work: not the database, not a device
    data = compute(store, clock.now(), _deck_tree(store, deck), days)
    if html_file is not None:
        from srs.charts import page

        outputs.write_file(html_file, page(data))  # whole or not at all: the old page stays on any failure
    if as_json:
        print(json.dumps(data, indent=1, ensure_ascii=False))
    elif html_file is not None:
        print(_plain(f"Wrote {html_file}"))
    else:
        from srs.charts import render

        render(data, _out(soft_wrap=False))


# -- optimize and history -------------------------------------------------------------


@app.command()
def optimize(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help="Only this deck and its subdecks (DECK::...), as in Anki "
                                         "(default: all decks together); adopted, the set is each one's own."),
    apply: bool = typer.Option(False, "--apply", help="Adopt the fitted parameters (when they pass the test on "
                               "later reviews) and reschedule, without asking."),
    reset: bool = typer.Option(False, "--reset", help="Go back to FSRS-6's default parameters (a deck: drop its "
                               "own set) and reschedule."),
    retention: bool = typer.Option(False, "--retention", help="Instead, simulate a year of study at desired "
                                   "retentions 0.70-0.97 and recommend one."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fit FSRS parameters to your review history; adopt them only if they predict later reviews better.

    The fit is tested as Anki does: fitted on earlier reviews, scored (log loss, RMSE over
    the ten bins 'srs stats' uses) on later ones against the current parameters. When
    neither score is worse, srs shows what adopting would change (cards due today and in
    the next 7 days, median interval) and adopts them with --apply or a yes at the
    prompt; cards are then rescheduled from their history, in short steps. --reset goes
    back to the defaults. Every fitted set is kept; 'srs config' shows the one in force.

    Examples: srs optimize; srs optimize --apply; srs optimize history --json; srs optimize --reset
    """
    from srs import clock
    from srs import optimize as fitting

    if sum((apply, reset, retention)) > 1:
        raise SrsError("choose one of --apply, --reset and --retention")
    store = _store(ctx)
    tree = _deck_tree(store, deck)
    bar = _Bar(threshold=0 if retention else fitting.BIG)
    try:
        pending = store.pending_reschedules()
        if pending:
            print("Finishing a rescheduling that was interrupted...", file=sys.stderr)
            fitting.finish_pending(store, bar)
        if retention:
            data = fitting.retention_table(store, tree, now=clock.now(), progress=bar)
        elif reset:
            data = fitting.reset(store, tree, now=clock.now(), progress=bar)
        else:
            data = fitting.propose(store, tree, now=clock.now(), progress=bar)
            if data["recommended"] and apply:
                fitting.adopt(store, data, now=clock.now(), progress=bar)
    finally:
        bar.close()
    if retention or reset:
        if as_json:
            print(json.dumps(data, indent=2))
        else:
            (_print_retention if retention else _print_reset)(data, tree)
        return
    keys = ("before", "after", "adopted", "parameters", "reviews", "held_out", "recommended", "effect")
    if as_json:
        print(json.dumps({key: data[key] for key in keys}, indent=2))
        return
    _print_fit(data, tree)
    if not data["recommended"]:
        return
    if not data["adopted"] and sys.stdin.isatty() and typer.confirm("Adopt them and reschedule?", default=False):
        bar = _Bar(threshold=fitting.BIG)
        try:
            fitting.adopt(store, data, now=clock.now(), progress=bar)
        finally:
            bar.close()
    if data["adopted"]:
        print("Adopted; cards rescheduled from their history. 'srs optimize --reset' goes back to the defaults.")
    else:
        print("Not adopted: run 'srs optimize" + (f" {_quote(deck)}" if deck else "") + " --apply' to adopt them.")


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _deck_label(tree) -> str:
    """A deck as optimize's report names it: with its subdecks when it has any (a parent: only those)."""
    return (f"deck {tree.name!r}" + (" with its subdecks" if len(tree.ids) > 1 else "")
            if tree.id is not None else f"the subdecks of {tree.name!r}")


def _print_fit(data: dict, tree) -> None:
    where = _deck_label(tree) if tree else "all decks"
    held = data["held_out"]
    split = held["split"]
    print(f"Fitted FSRS parameters to {data['reviews']:,} reviews made a day or more apart ({where}).")
    print(f"Tested on later reviews: fitted on earlier ones, {split['test']:,} reviews from "
          f"{split['test_from'][:10]} on, in {split['folds']} time-ordered steps.")
    print(f"{'':10}{'held out':>22}{'in sample':>24}")
    print(f"{'':10}{'log loss':>10}{'RMSE (bins)':>12}{'log loss':>12}{'RMSE (bins)':>12}")
    for label, key in (("current", "before"), ("fitted", "after")):
        print(f"{label:10}{held[key]['log_loss']:>10.4f}{held[key]['rmse_bins']:>12.4f}"
              f"{data[key]['log_loss']:>12.4f}{data[key]['rmse_bins']:>12.4f}")
    print("Parameters: " + " ".join(f"{w:g}" for w in data["parameters"]))
    if not data["recommended"]:
        print("Not better than the current parameters on later reviews (log loss or RMSE worse); nothing changed.")
        return
    effect = data["effect"]
    print("Better on later reviews (neither score worse). Adopting them would change:")
    print(f"  cards due today:           {effect['due_today']['before']:,} -> {effect['due_today']['after']:,}")
    print(f"  due in the next 7 days:    {effect['due_next_7_days']['before']:,} -> "
          f"{effect['due_next_7_days']['after']:,}")
    if effect["review_cards"]:
        change = effect["median_interval_change_days"]
        print(f"  median interval (review):  {effect['median_interval_days']['before']:g} -> "
              f"{effect['median_interval_days']['after']:g} days (median change {change:+g} days, "
              f"{effect['review_cards']:,} cards)")


def _print_reset(data: dict, tree) -> None:
    what = "FSRS-6 default parameters" if data["defaults"] else "the parameters fitted for all decks"
    one = tree is not None and tree.id is not None and len(tree.ids) == 1
    who = _deck_label(tree) if tree else "all decks"
    print(f"{who[0].upper() + who[1:]} now follow{'s' if one else ''} {what}; "
          f"{data['reviews_replayed']:,} reviews replayed to reschedule the cards.")


def _print_retention(data: dict, tree) -> None:
    print(f"A year of study: {data['cards']:,} studied cards, {data['new_cards']:,} new at "
          f"{data['new_per_day']} a day ({_deck_label(tree) if tree else 'all decks'}).")
    print(f"{'Retention':>9}{'Reviews/day':>13}{'Minutes/day':>13}{'Remembered':>12}{'Seconds/card':>14}")
    for row in data["retentions"]:
        marks = [m for m, on in (("current", row["desired_retention"] == data["current"]),
                                 ("recommended", row["desired_retention"] == data["recommended"])) if on]
        print(f"{row['desired_retention']:>9.2f}{row['reviews_per_day']:>13.1f}{row['minutes_per_day']:>13.1f}"
              f"{row['remembered']:>12,}{row['seconds_per_card_remembered']:>14.1f}"
              + (f"  <- {', '.join(marks)}" if marks else ""))
    print(f"Recommended: {data['recommended']:.2f}, the least study time per card remembered after a year.")
    if data["recommended"] == min(r["desired_retention"] for r in data["retentions"]):
        print("It is the lowest simulated: each step down saves time and costs knowledge; choose by the table.")
    if tree is not None and (tree.id is None or len(tree.ids) > 1):  # config sets one deck: each deck of the tree
        print(f"Set it for each deck with: srs config DECK desired_retention {data['recommended']:.2f} "
              f"({len(tree.ids)} decks)")
    else:
        print(f"Set it with: srs config {_quote(tree.name) + ' ' if tree else ''}desired_retention "
              f"{data['recommended']:.2f}")


class _Bar:
    """A progress bar (rich) on standard error, for big jobs and only when it is a terminal."""

    def __init__(self, threshold: int):
        self.threshold, self.progress, self.tasks, self.off = threshold, None, {}, not sys.stderr.isatty()

    def __call__(self, task: str, done: int, total: Optional[int]) -> None:
        if self.off:
            return
        if self.progress is None:
            if total is not None and total < self.threshold:  # the first report decides, for the whole job
                self.off = True
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(stderr=True))
            self.progress.start()
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@app.command("import-history")
def import_history(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A review log in the FSRS tools' CSV form: card_id, review_rating, "
                                "review_time, review_duration.", dir_okay=False),
) -> None:
    """Import a review history, with placeholder cards in a deck named after the file.

    Each card's state is recomputed from its history with FSRS. Importing the same log
    again adds nothing: cards already imported keep the history they have.

    Example: srs import-history revlog.csv && srs optimize
    """
    from srs import clock
    from srs.history import import_history as run

    data = run(_store(ctx, create=True), path, clock.now())
    print(_plain(f"{data['deck']}: {data['cards_added']:,} card(s) added with {data['reviews_added']:,} review(s)"
                 + (f"; {data['cards_already_present']:,} card(s) already imported, left as they are"
                    if data["cards_already_present"] else "")))


# -- check ----------------------------------------------------------------------------


@app.command()
def check(
    ctx: typer.Context,
    repair: Optional[Path] = typer.Option(None, "--repair", metavar="OUT", help="Recover what SQLite can read "
                                          "into this new database file; the damaged one is left as it is.",
                                          dir_okay=False),
) -> None:
    """Check the database whole (SQLite's full integrity check); with --repair, recover a damaged one.

    Commands that write check the database quickly first and refuse a damaged one. Then
    'srs check --repair NEW.db' copies every row SQLite can still read into NEW.db (with
    sqlite3's .recover when the sqlite3 program is installed, else row by row), and you
    continue with 'srs --db NEW.db ...' once you are happy with it.

    Examples: srs check; srs check --repair recovered.db
    """
    from srs import recovery
    from srs.entry import database_path

    path = database_path(ctx.find_root().obj["db"], False)
    problems = recovery.check(path)
    if repair is None:
        if problems:
            for problem in problems[:20]:
                print(_plain(f"  {problem}"))
            raise SrsError(f"the database is damaged ({len(problems)} problem(s) above); "
                           "'srs check --repair NEW.db' recovers what it can into a new file", str(path))
        print(_plain(f"{path}: ok (SQLite's integrity check finds nothing wrong)"))
        return
    result = recovery.recover(path, repair)
    counts = ", ".join(f"{result['tables'][name]:,} {name}" for name in ("decks", "cards", "reviews")
                       if name in result["tables"])
    print(_plain(f"{repair}: recovered by {result['method']}: {counts}; "
                 + ("the new file checks whole." if not result["problems"]
                    else f"the new file still has problems: {result['problems'][0]}")))
    if not problems:
        print("(the database had no problems; the new file is a plain copy)")
    print(_plain(f"{path} is left as it was. Check the new file with 'srs --db {repair} status' "
                 "before you use it."))


# -- anki -----------------------------------------------------------------------------


@export_app.command("anki")
def export_anki(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="The Anki package to write (.apkg); replaced if it exists.", dir_okay=False),
    decks: Optional[List[str]] = typer.Option(None, "--deck", help="Only this deck and its subdecks (DECK::...; "
                                              "repeat for several; default: all decks)."),
    with_progress: bool = typer.Option(False, "--with-progress", help="Also export each card's scheduling, FSRS "
                                       "memory state and review history."),
) -> None:
    """Write decks as an Anki package, to import in Anki (File > Import).

    Each deck's settings travel as its Anki preset (applied when you import presets).
    Importing a later export again updates the notes in Anki instead of duplicating
    them; Anki keeps its own scheduling of cards it already has. The file is written
    whole or not at all.

    Example: srs export anki my.apkg --deck "AI Engineer vs ML Engineer" --with-progress
    """
    from srs import clock
    from srs.anki.export import export_decks
    from srs import outputs
    from srs.display import safe

    store = _store(ctx)
    outputs.check_target(out)  # before the work: not the database, not a device
    counts = export_decks(store, out, decks, with_progress=with_progress, now=clock.now())
    print(safe(f"{out}: {counts['cards']:,} card(s) from {counts['decks']} deck(s)"
               + (f" with {counts['revlog']:,} review(s)" if with_progress else "")
               + (f", {counts['media']:,} media file(s)" if counts.get("media") else "")
               + ("; left out (no cards to export): " + ", ".join(repr(name) for name in counts["left_out"])
                  if counts["left_out"] else "")))
    if counts.get("twins"):  # srs cards of one Anki card (imported before srs kept one card per Anki card)
        print(f"left out {len(counts['twins']):,} card(s) that are a second srs card of an Anki card already "
              f"written (an Anki package holds each card once): {' '.join(map(str, sorted(counts['twins'])))}")


# -- entry point ---------------------------------------------------------------------


def run(argv: list[str] | None = None) -> int:
    """Run the typer app; usage errors (unknown option, missing argument...) become one line."""
    from srs.entry import fail

    try:
        code = app(args=argv, prog_name="srs", standalone_mode=False) or 0
        if code == 130:  # typer's answer to Ctrl-C inside a command: said in one line like any other
            from srs.entry import interrupted

            interrupted()
        return code
    except typer.TyperException as error:
        ctx = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":
            print(error.format_message(), file=sys.stderr)
            sys.exit(2)
        where = f"srs {ctx.command_path.split(' ', 1)[1]} --help" if ctx and " " in ctx.command_path else "srs --help"
        fail(f"{error.format_message()} (see '{where}')", error.exit_code)
    except typer.Abort:  # click's answer to Ctrl-C (and to end of input at a confirmation)
        from srs.entry import interrupted

        interrupted()


def main(argv: list[str] | None = None) -> None:
    from srs.entry import main as entry_main

    entry_main(argv)
