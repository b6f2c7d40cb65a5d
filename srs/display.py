"""Text for the terminal without rich: making card text safe to print, and plain tables.

Kept free of heavy imports so that quick read-outs (`srs status`) start fast.
"""

from __future__ import annotations

import re
import unicodedata

MAX_SHOWN = 4000  # characters of one text shown; the rest is summarised
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def safe(text: str | None, limit: int = MAX_SHOWN) -> str:
    """Text made safe to print: controls shown as \\x1b or <U+202E>, very long text cut."""
    if text is None:
        return ""
    if len(text) > limit:
        text = text[:limit] + f" … ({len(text) - limit:,} more characters)"
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"<U+{ord(m.group()):04X}>",
                       text)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def table(headers: list[str], rows: list[list], max_first: int = 40) -> str:
    """A plain aligned table; the first column (a name) is cut to `max_first` characters."""
    cells = [[safe(str(v)).replace("\n", " ") for v in row] for row in rows]
    for row in cells:
        if width(row[0]) > max_first:
            row[0] = row[0][: max_first - 1] + "…"
    widths = [max([width(h)] + [width(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values):
        out = []
        for i, value in enumerate(values):
            pad = " " * (widths[i] - width(value))
            out.append(value + pad if i == 0 else pad + value)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers)] + [line(row) for row in cells])


def status_text(data: dict) -> str:
    """`srs status` for people: a table of the decks and when the next card is due."""
    if not data["decks"]:
        return "No decks yet. Import some: srs import decks/"
    keys = ("deck", "new", "learning", "due_now", "due_today", "suspended", "unkeyed", "total")
    text = table(["Deck", "New", "Learning", "Due now", "Due today", "Suspended", "Unkeyed", "Total"],
                 [[row[k] for k in keys] for row in data["decks"]])
    if data["next_due"]:
        text += f"\nNext card due: {when(data['next_due'])}"
    return text


def when(iso: str) -> str:
    """A time to come, for the learner: "in 3h (2026-05-01 14:00)" in local time."""
    from srs import clock
    from srs.scheduling import format_interval

    moment = clock.parse_time(iso)
    wait = moment - clock.now()
    text = "now" if wait.total_seconds() <= 0 else "in " + format_interval(wait)
    return f"{text} ({moment.astimezone().strftime('%Y-%m-%d %H:%M')})"
