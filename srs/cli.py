"""The `srs` command line: a thin layer that parses options, calls the library and prints.

Errors meant for the learner (`SrsError`, bad options, database trouble) print one line
on standard error and exit non-zero, never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import List, Optional

import click
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


def _store(ctx: typer.Context):
    from srs.store import Store, default_db_path

    path = ctx.find_root().obj["db"] or default_db_path()
    return Store(path)


def _out() -> "Console":
    from rich.console import Console

    return Console(highlight=False)


def _deck_id(store, deck: Optional[str]) -> Optional[int]:
    return None if deck is None else store.deck_id(deck)


# -- import --------------------------------------------------------------------------


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: List[str] = typer.Argument(..., help="Deck files (.md), lessons (.txt), tables (.csv/.tsv), Anki "
                                      "packages (.apkg) or folders of them."),
    write_deck: Optional[Path] = typer.Option(None, "--write-deck", help="Also write an imported lesson as a deck "
                                              "file at this path.", dir_okay=False),
    with_progress: bool = typer.Option(False, "--with-progress", help="From an Anki package, also import the "
                                       "review history."),
) -> None:
    """Add decks to the store, or bring them up to date.

    Importing an unchanged file changes nothing; an edited card keeps its history; a card
    removed from its file is retired.

    Example: srs import decks/ lesson.txt
    """
    from srs import clock
    from srs.sources import read_sources

    specs, skipped = read_sources(paths, with_progress=with_progress)
    if write_deck is not None:
        _write_deck(specs, write_deck)
    store = _store(ctx)
    results = store.sync_decks(specs, clock.now())
    out = _out()
    for result in results:
        line = (f"{result.deck}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
                f"{result.retired} retired")
        report = result.report
        if "keyed" in report:
            line += (f"; from the lesson: {report['keyed']} keyed, {report['unkeyed']} unkeyed, "
                     f"{report['free_response']} free-response")
        elif result.unkeyed:
            line += f"; {result.unkeyed} without a known key"
        out.print(_plain(line))
        for question in report.get("unkeyed_questions", []):
            out.print(_plain(f"  unkeyed (the lesson does not decide it): {question}"))
    if skipped:
        out.print(_plain(f"skipped {len(skipped)} file(s) of unknown type: " + ", ".join(map(str, skipped[:5]))))
    if any(r.unkeyed for r in results):
        out.print("Give the missing keys with 'srs key', or when the cards come up in 'srs review'.")


def _write_deck(specs, path: Path) -> None:
    from srs.decks import format_deck

    if len(specs) != 1:
        raise SrsError("--write-deck needs exactly one lesson to import")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(format_deck(specs[0]), encoding="utf-8")
    tmp.replace(path)


def _plain(text: str):
    from srs.terminal import plain

    return plain(text)


# -- review --------------------------------------------------------------------------


@app.command()
def review(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help="Only this deck (default: all decks)."),
) -> None:
    """Review the cards due now: learning cards, then due reviews, then new cards.

    Keys: a-z pick an option, Enter shows the answer or accepts the suggested rating,
    1-4 rate (Again, Hard, Good, Easy), u undoes the last answer, s suspends the card,
    q quits. Each answer is saved before the next card appears.

    Example: srs review "AI Engineer vs ML Engineer"
    """
    from srs.session import ReviewSession
    from srs.terminal import Keys, run_review

    store = _store(ctx)
    session = ReviewSession(store, _deck_id(store, deck))
    console = _out()
    run_review(session, console, Keys(console))


@app.command()
def key(
    ctx: typer.Context,
    deck: Optional[str] = typer.Argument(None, help="Only this deck (default: all decks)."),
) -> None:
    """Tell srs which option is right for each choice card whose key is unknown.

    Example: srs key "AI Engineer vs ML Engineer"
    """
    from srs.terminal import LETTERS, Keys, Quit, plain

    store = _store(ctx)
    cards = store.unkeyed_cards(_deck_id(store, deck))
    console = _out()
    if not cards:
        console.print("Every choice card has a key.")
        return
    keys = Keys(console)
    done = 0
    try:
        for card in cards:
            console.rule(plain(card.deck))
            console.print(plain(card.spec.question, "bold"))
            options = card.spec.options
            for letter, option in zip(LETTERS, options):
                console.print(plain(f"  {letter}) {option}"))
            letters = LETTERS[:len(options)]
            while True:
                answer = keys.read(f"Right option [{letters[0]}-{letters[-1]}], Enter to skip, q to stop: ").lower()
                if answer == "q":
                    raise Quit()
                if answer == "" or (len(answer) == 1 and answer in letters):
                    break
            if answer:
                store.set_answer(card.id, options[letters.index(answer)])
                done += 1
    except Quit:
        pass
    console.print(f"{done} key(s) recorded; {len(store.unkeyed_cards(_deck_id(store, deck)))} card(s) still unkeyed.")


# -- read-outs -----------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What is waiting: per deck, new, learning, due now, due today, total and unkeyed cards.

    Example: srs status --json
    """
    from srs import clock
    from srs.read_outs import status as compute

    store = _store(ctx)
    data = compute(store, clock.now())
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("Deck", "New", "Learning", "Due now", "Due today", "Total", "Unkeyed", box=None)
    for row in data["decks"]:
        table.add_row(_plain(row["deck"]), *(str(row[k]) for k in
                      ("new", "learning", "due_now", "due_today", "total", "unkeyed")))
    out = _out()
    if not data["decks"]:
        out.print("No decks yet. Import some: srs import decks/")
        return
    out.print(table)
    if data["next_due"]:
        out.print(f"Next card due: {_when(data['next_due'])}")


def _when(iso: str) -> str:
    from srs import clock
    from srs.scheduling import format_interval

    moment = clock.parse_time(iso)
    wait = moment - clock.now()
    text = "now" if wait.total_seconds() <= 0 else "in " + format_interval(wait)
    return f"{text} ({moment.astimezone().strftime('%Y-%m-%d %H:%M')})"


@app.command()
def cards(
    ctx: typer.Context,
    deck: Optional[str] = typer.Option(None, "--deck", help="Only this deck."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per card)."),
) -> None:
    """List cards with their scheduling state.

    Example: srs cards --deck "AI Engineer vs ML Engineer" --json
    """
    from srs.read_outs import card_objects

    store = _store(ctx)
    objects = card_objects(store, _deck_id(store, deck))
    if as_json:
        sys.stdout.write(json.dumps(objects, ensure_ascii=False, indent=1))
        sys.stdout.write("\n")
        return
    from rich.table import Table

    table = Table("Id", "Deck", "Kind", "Question", "State", "Due", "Reps", box=None)
    for card in objects:
        table.add_row(str(card["id"]), _plain(card["deck"]), card["kind"], _plain(card["question"][:60]),
                      card["state"] + (" (suspended)" if card["suspended"] else ""),
                      (card["due"] or "")[:16].replace("T", " "), str(card["reps"]))
    _out().print(table)


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
        import csv

        writer = csv.DictWriter(sys.stdout, LOG_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(objects)
    else:
        for row in objects:
            print(f"{row['reviewed_at'][:19].replace('T', ' ')}  card {row['card_id']:>6}  {row['kind']:<7} "
                  f"rating {row['rating']}  {row['duration_ms'] or 0:>6} ms")


@app.command()
def config(
    ctx: typer.Context,
    args: List[str] = typer.Argument(None, help="[DECK] [KEY VALUE]"),
) -> None:
    """Show or change scheduling settings, for one deck or (without a deck) for all.

    Keys: desired_retention, new_per_day, reviews_per_day, learning_steps,
    relearning_steps, day_start_hour, maximum_interval, fuzz.

    Examples: srs config; srs config new_per_day 10; srs config "My deck" desired_retention 0.85
    """
    from srs.scheduling import SETTING_HELP, Settings, parse_setting

    store = _store(ctx)
    args = list(args or [])
    deck_id = None
    if args and (len(args) in (1, 3) or args[0] not in SETTING_HELP):
        deck_id = store.deck_id(args.pop(0))
    if len(args) == 2:
        key_, value = args[0], parse_setting(args[0], args[1])
        if deck_id is None:
            store.set_global_setting(key_, value)
        else:
            store.set_deck_setting(deck_id, key_, value)
    elif args:
        raise SrsError("give KEY and VALUE together, e.g. 'srs config new_per_day 10'")
    values = store.deck_settings(deck_id) if deck_id is not None else store.global_settings()
    settings = Settings.from_dict(values)
    for name in SETTING_HELP:
        value = getattr(settings, name)
        if isinstance(value, tuple):
            value = " ".join(f"{v:g}" for v in value)
        print(f"{name} = {value}")


@app.command()
def suspend(
    ctx: typer.Context,
    card_ids: List[int] = typer.Argument(..., help="Card ids (see 'srs cards')."),
    undo: bool = typer.Option(False, "--undo", help="Unsuspend instead."),
) -> None:
    """Suspend cards (or unsuspend them with --undo).

    Example: srs suspend 12 13 --undo
    """
    store = _store(ctx)
    for card_id in card_ids:
        store.card(card_id)
        store.set_suspended(card_id, not undo)
    print(f"{len(card_ids)} card(s) {'unsuspended' if undo else 'suspended'}.")


# -- stats ------------------------------------------------------------------------


# -- optimize and history -------------------------------------------------------------


# -- anki -----------------------------------------------------------------------------


# -- entry point ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, prog_name="srs", standalone_mode=False)
    except SrsError as error:
        _fail(str(error))
    except click.exceptions.NoArgsIsHelpError as error:
        print(error.ctx.get_help() if error.ctx else "", file=sys.stderr)
        sys.exit(2)
    except click.ClickException as error:
        hint = f" (see 'srs {error.ctx.info_name} --help')" if getattr(error, "ctx", None) and \
            error.ctx.info_name != "srs" else " (see 'srs --help')"
        _fail(error.format_message() + hint, error.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(130)
    except sqlite3.DatabaseError as error:
        _fail(f"database error: {error}")
    except BrokenPipeError:
        sys.exit(0)
    else:
        sys.exit(code or 0)


def _fail(message: str, code: int = 1) -> None:
    print(f"srs: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)
