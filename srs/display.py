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


def cut(text: str, limit: int) -> str:
    """Text on one line in at most `limit` columns: cut after a whole word (inside a word only when the
    first word alone is longer than the room), with '…'. A deck name is cut by `cut_deck`."""
    text = " ".join(text.split())
    if limit <= 0:
        return ""
    if (len(text) if text.isascii() else width(text)) <= limit:
        return text
    kept, used = [], 0
    for ch in text:
        used += 1 if ch.isascii() else width(ch)
        if used > limit - 1:
            break
        kept.append(ch)
    head = "".join(kept)
    if text[len(head)] != " " and " " in head:  # the cut falls inside a word: end at the word before
        head = head[:head.rfind(" ")]
    return head.rstrip() + "…"


def cut_deck(name: str, limit: int) -> str:
    """A deck name on one line in at most `limit` columns, its last part (the subdeck, what tells sibling
    decks apart) kept whole: whole parts of its path give way to one '…', the most parts kept that fit,
    the first ones rather than the middle ones (`LeetCode::…::Two Pointers`, `…::english::Vocab::2019`,
    `…::Two Pointers`). A last part too long even for that keeps its last whole words (`…Chapter 1`,
    `…Intervals`), or else is cut as any text (`Conditiona…`), as is a name of one part (`cut`). The one
    rule for every place a deck name is cut: `srs status`, the card lists, the review header."""
    name = " ".join(name.split())
    if limit <= 0:
        return ""
    if width(name) <= limit or "::" not in name:
        return cut(name, limit)
    parts = name.split("::")
    best = None  # (parts kept, leading parts kept, text)
    for lead in range(len(parts) - 1):
        for trail in range(1, len(parts) - lead):
            text = "::".join(parts[:lead] + ["…"] + parts[len(parts) - trail:])
            if width(text) <= limit and (best is None or (lead + trail, lead) > best[:2]):
                best = (lead + trail, lead, text)
    if best is not None:
        return best[2]
    last = parts[-1]  # the last part alone is too long: its last words after "…", else its start (`cut`)
    words = last.split(" ")
    for start in range(len(words)):
        tail = " ".join(words[start:])
        if width(tail) <= limit - 1:
            return "…" + tail
    return cut(last, limit)


def table(headers: list[str], rows: list[list], max_first: int = 40) -> str:
    """A plain aligned table; the first column (a deck name) is cut to `max_first` columns (`cut_deck`)."""
    cells = [[safe(str(v)).replace("\n", " ") for v in row] for row in rows]
    for row in cells:
        row[0] = cut_deck(row[0], max_first)
    widths = [max([width(h)] + [width(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values):
        out = []
        for i, value in enumerate(values):
            pad = " " * (widths[i] - width(value))
            out.append(value + pad if i == 0 else pad + value)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers)] + [line(row) for row in cells])


STATUS_KEYS = ("deck", "new", "learning", "due_now", "due_today", "suspended", "unkeyed", "total")
STATUS_WIDE = ["Deck", "New", "Learning", "Due now", "Due today", "Suspended", "Unkeyed", "Total"]
STATUS_NARROW = ["Deck", "New", "Learn", "Now", "Today", "Susp.", "Unkeyed", "Total"]


def status_text(data: dict, columns: int | None = None) -> str:
    """`srs status` for people: a table of the decks and when the next card is due, within the terminal's
    width (`columns`; narrower headings and a legend below 100 columns, deck names cut by `cut_deck`)."""
    if not data["decks"]:
        return "No decks yet. Import some: srs import decks/"
    if columns is None:
        import shutil

        columns = shutil.get_terminal_size((80, 24)).columns
    rows = [[row[k] for k in STATUS_KEYS] for row in data["decks"]]
    narrow = columns < 100
    headers = STATUS_NARROW if narrow else STATUS_WIDE
    numbers = sum(max(width(h), *(len(str(row[i])) for row in rows)) + 2 for i, h in enumerate(headers) if i)
    longest = max(width(safe(str(row[0]))) for row in rows)
    text = table(headers, rows, max(10, min(longest, columns - numbers - 1)))
    if narrow:
        text += "\nNow: due now · Today: due today · Susp.: suspended"
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
