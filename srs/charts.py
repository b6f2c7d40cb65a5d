"""Drawing `srs stats`: rich tables and hand-drawn bar charts for the terminal, inline SVG for a web page.

Both take the plain data `srs.stats.compute` returns. The page is self-contained: one
file with its own CSS and SVG, nothing fetched from the network. Card text is shown
literally (escaped in HTML, never read as rich markup in the terminal).
"""

from __future__ import annotations

import html
from datetime import date, timedelta

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from srs.display import safe

EIGHTHS = " ▁▂▃▄▅▆▇█"
LEVELS = ("grey23", "#0e4429", "#006d32", "#26a641", "#39d353")  # calendar shades, none to most
PERIOD_NAMES = {"today": "Today", "7d": "7 days", "30d": "30 days", "all": "All time"}


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


# -- terminal ------------------------------------------------------------------------


def columns_chart(values: list[int], labels: list[str], width: int, height: int = 8, style: str = "cyan") -> Text:
    """A vertical bar chart drawn with eighth blocks, a scale on the left and a label under some bars."""
    top = max(values, default=0) or 1
    scale = f"{top / 1000:.0f}k" if top >= 10_000 else str(top)
    gutter = len(scale) + 1
    step = max(1, min(4, (width - gutter) // max(len(values), 1)))  # columns a bar takes, gap included
    bar = max(1, step - 1)
    out = Text()
    for row in range(height, 0, -1):
        label = scale if row == height else ("0" if row == 1 else "")
        out.append(label.rjust(gutter - 1) + "│", style="dim")
        for value in values:
            fill = value / top * height - (row - 1)
            char = "█" if fill >= 1 else EIGHTHS[max(0, round(fill * 8))] if fill > 0 else " "
            if value and row == 1 and char == " ":
                char = "▁"  # a non-zero day never disappears
            out.append(char * bar, style=style)
            out.append(" " * (step - bar))
        out.append("\n")
    axis = [" "] * (step * len(values) + 8)
    every = max(1, -(-6 // step))  # a label (5 characters and a space) every few bars
    for k in range(0, len(values), every):
        for j, ch in enumerate(labels[k]):
            if k * step + j < len(axis):
                axis[k * step + j] = ch
    out.append(" " * gutter + "".join(axis).rstrip(), style="dim")
    return out


def calendar(days: dict[str, int], today: date, width: int) -> Text:
    """A calendar heatmap of review days: a column a week, Monday on top, the latest weeks that fit."""
    weeks = max(4, min(53, (width - 5) // 2))
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    counts = sorted(v for v in days.values() if v)
    cuts = [counts[int(len(counts) * q)] for q in (0.25, 0.5, 0.75)] if counts else []
    out = Text("    ")
    month, labels = None, []
    for w in range(weeks):
        first = start + timedelta(weeks=w)
        if first.month != month and w < weeks - 1:
            labels.append((w, first.strftime("%b")))
        month = first.month
    line = [" "] * (2 * weeks + 2)
    for w, label in labels:
        if all(ch == " " for ch in line[2 * w: 2 * w + 4]):  # skip a label that would run into the last
            line[2 * w: 2 * w + 3] = label
    out.append("".join(line).rstrip(), style="dim")
    out.append("\n")
    for weekday in range(7):
        out.append(("Mon " if weekday == 0 else "Wed " if weekday == 2 else "Fri " if weekday == 4 else "    "),
                    style="dim")
        for w in range(weeks):
            day = start + timedelta(weeks=w, days=weekday)
            if day > today:
                out.append("  ")
                continue
            n = days.get(day.isoformat(), 0)
            level = 0 if not n else 1 + sum(n > c for c in cuts)
            out.append("■ ", style=LEVELS[level])
        out.append("\n")
    out.append("    less ", style="dim")
    for style in LEVELS:
        out.append("■ ", style=style)
    out.append("more", style="dim")
    return out


def hbars(rows: list[tuple[str, int, str]], width: int = 24, style: str = "green") -> Table:
    """A small table of horizontal bars: label, bar, figure."""
    top = max((r[1] for r in rows), default=0) or 1
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
    for label, value, figure in rows:
        cells = value / top * width
        bar = "█" * int(cells) + (EIGHTHS[round((cells - int(cells)) * 8)].strip() if value else "")
        table.add_row(Text(label, style="dim"), Text(bar.ljust(width), style=style), figure)
    return table


def _section(console: Console, title: str) -> None:
    console.print()
    console.rule(Text(title, style="bold"), align="left")


def render(data: dict, console: Console) -> None:
    """The whole report on a terminal, fitted to its width."""
    width = console.width
    scope = "all decks" if data["deck"] is None else safe(data["deck"])
    console.print(Text(f"Statistics · {scope} · {plural(data['reviews'], 'review')}", style="bold"))
    console.print(Text(f"Learner day {data['today']}; days start at {data['day_start_hour']}:00.", style="dim"))
    _section(console, "True retention")
    table = Table("", *PERIOD_NAMES.values(), box=None, header_style="bold")
    counts = data["retention_counts"]
    for label, key, parts in (("Young (interval < 21 days)", "true_retention_young", ("young",)),
                              ("Mature (21 days or more)", "true_retention_mature", ("mature",)),
                              ("All", "true_retention", ("young", "mature"))):
        cells = []
        for period in PERIOD_NAMES:
            n = sum(counts[period][f"{p}_passed"] + counts[period][f"{p}_failed"] for p in parts)
            cells.append(f"{percent(data[key][period])} [dim]({n:,})[/]" if n else "[dim]—[/]")
        table.add_row(label, *cells)
    console.print(table)
    console.print(Text("The first answer of a learner day to a card due for review; Again fails, Hard, Good and "
                       "Easy pass. (In brackets: how many answers.)", style="dim"))
    _choice_retention(data, console)

    daily = data["daily"]
    done = sum(d["reviews"] for d in daily)
    seconds = sum(d["seconds"] or 0 for d in daily)
    _section(console, f"Reviews per day, last {data['days']} days")
    console.print(columns_chart([d["reviews"] for d in daily], [d["date"][5:] for d in daily], width))
    active = sum(1 for d in daily if d["reviews"])
    console.print(f"{plural(done, 'review')} in {duration(seconds)} on {active} of {len(daily)} days"
                  + (f" · {done / active:.0f} a study day · {seconds / done:.1f} s a review" if done else ""))
    console.print(f"Streak: {plural(data['streak']['current'], 'day')} (longest {data['streak']['longest']}) · "
                  f"{plural(data['study_days'], 'study day')} in all")
    if data["practice"]["all"]:
        console.print(practice_line(data["practice"]))
    _section(console, "Study days, last year")
    console.print(calendar({d["date"]: d["reviews"] for d in data["calendar"]}, date.fromisoformat(data["today"]),
                           width))

    forecast = data["forecast"]
    _section(console, f"Due, next {len(forecast)} days")
    console.print(columns_chart([f["due"] for f in forecast], [f["date"][5:] for f in forecast], width,
                                style="magenta"))
    console.print(f"{sum(f['due'] for f in forecast):,} due in {len(forecast)} days, today's "
                  f"{forecast[0]['due']:,} including {data['overdue']:,} overdue")

    _section(console, "The collection")
    states = data["states"]
    console.print("  ".join(f"{k} [bold]{states[k]:,}[/]" for k in
                            ("new", "learning", "review", "relearning", "suspended", "unkeyed", "total")))
    if states.get("history_only"):
        console.print(f"and {states['history_only']:,} history-only cards (from a review log, without content: "
                      "never reviewed here, their answers counted above)")
    if data["studied_cards"]:
        console.print(f"Asked now, you would recall about [bold]{data['retrievability_sum']:,.0f}[/] of the "
                      f"{data['studied_cards']:,} cards studied (mean retrievability "
                      f"{percent(data['retrievability_mean'])}).")
        side = width >= 75
        figures = max(len(f"{b['cards']:,}") for key in ("stability", "difficulty") for b in data[key])
        bar = max(6, min(24, (width - 3 * (9 + figures) - 6) // 3)) if side else 20
        charts = []
        for title, key, style in (("Stability", "stability", "blue"), ("Difficulty", "difficulty", "yellow"),
                                  ("Retrievability", "retrievability", "green")):
            rows = [(b["label"], b["cards"], f"{b['cards']:,}") for b in data[key]]
            charts.append(Group(Text(title, style="bold"), hbars(rows, bar, style)))
        grid = Table.grid(padding=(0, 2))
        for row in ([charts] if side else [[c] for c in charts]):
            grid.add_row(*row)
        console.print(grid)

    cal = data["calibration"]
    _section(console, "Calibration: recall FSRS predicted against what happened")
    if cal["n"]:
        rows = [(f"{100 * b['lo']:.0f}-{100 * b['hi']:.0f}%", b["n"],
                 f"{b['n']:>7,}  predicted {percent(b['predicted'])}  actual {percent(b['actual'])}")
                for b in cal["bins"] if b["n"]]
        console.print(hbars(rows, 20 if width < 100 else 30, "cyan"))
        console.print(f"Log loss {cal['log_loss']:.3f} · RMSE over bins {percent(cal['rmse_bins'])} · "
                      f"{cal['n']:,} reviews a day or more after the card's previous one")
        console.print(Text(f"({cal['same_day']:,} same-day reviews are left out: FSRS predicts 100% for them.) "
                           + calibration_verdict(cal["rmse_bins"]), style="dim"))
        _choice_calibration(cal.get("by_format", {}), console)
    else:
        console.print("[dim]No reviews a day or more after a previous one yet.[/]")

    _section(console, "Trouble spots")
    from srs.display import cut

    if data["leeches"]:  # texts cut after a whole word, to the room the terminal leaves them
        table = Table("Lapses", "Reps", "Card", box=None, header_style="bold")
        room = max(12, width - 20)
        for leech in data["leeches"]:
            table.add_row(str(leech["lapses"]) + (" leech" if leech["leech"] else ""), str(leech["reps"]),
                          Text(cut(f"#{leech['card_id']} " + safe(leech["question"]), room), no_wrap=True))
        console.print(table)
    else:
        console.print("[dim]No card has lapsed.[/]")
    if data["wrong_choices"]:
        table = Table("Times", "Chose", "Instead of", "Card", box=None, header_style="bold")
        room = max(24, width - 16)
        for wrong in data["wrong_choices"]:
            table.add_row(str(wrong["times"]), Text(cut(safe(wrong["choice"]), room // 4), style="red"),
                          Text(cut(safe(wrong["answer"] or "?"), room // 4), style="green"),
                          Text(cut(f"#{wrong['card_id']} " + safe(wrong["question"]), room // 2), no_wrap=True))
        console.print(table)


def _choice_retention(data: dict, console: Console) -> None:
    """Choice cards answered from their options: the pass rate seen, and the retention left once lucky
    guesses are taken out ((p - 1/k) / (1 - 1/k), k the card's options)."""
    choice = data.get("true_retention_choice")
    if not choice or not choice["all"]["n"]:
        return
    table = Table("Choice picks", *PERIOD_NAMES.values(), box=None, header_style="bold")
    for label, key in (("passed", "observed"), ("corrected", "corrected")):
        table.add_row(label, *(f"{percent(choice[p][key])} [dim]({choice[p]['n']:,})[/]" if choice[p]["n"]
                               else "[dim]—[/]" for p in PERIOD_NAMES))
    console.print(table)
    console.print(Text("A right pick among k options is recall or a lucky guess: guess-corrected retention is "
                       "(passed - 1/k) / (1 - 1/k), averaged over the reviews.", style="dim"))


def _choice_calibration(by_format: dict, console: Console) -> None:
    """Calibration per format: choice reviews from options against R + (1 - R)/k, the others against R."""
    names = {"options": "choice, options shown", "recall_first": "choice, recall first",
             "typed": "typed", "recall": "recall"}
    for fmt, entry in sorted(by_format.items()):
        if not entry["n"]:
            continue
        n = entry["n"]
        expected = sum(b["n"] * b["expected"] for b in entry["bins"] if b["n"]) / n
        actual = sum(b["n"] * b["actual"] for b in entry["bins"] if b["n"]) / n
        against = "R + (1 - R)/k" if entry["guessing"] else "R"
        console.print(f"{names.get(fmt, fmt)}: {n:,} reviews, expected {percent(expected)} ({against}), "
                      f"actual {percent(actual)}, RMSE over bins {percent(entry['rmse_bins'])}")
    if any(entry["guessing"] for entry in by_format.values()):
        console.print(Text("Choice reviews answered from options are compared with R + (1 - R)/k: a learner who "
                           "recalls with probability R and guesses among k options otherwise.", style="dim"))


# -- web page ------------------------------------------------------------------------


def svg_columns(values: list[float], labels: list[str], color: str, width: int = 760, height: int = 160) -> str:
    """A vertical bar chart as inline SVG, each bar with a tooltip."""
    top = max(values, default=0) or 1
    left, bottom = 40, 20
    step = (width - left) / max(len(values), 1)
    parts = [f'<svg viewBox="0 0 {width} {height + bottom}" role="img">',
             f'<text x="{left - 6}" y="10" class="axis" text-anchor="end">{top:g}</text>',
             f'<text x="{left - 6}" y="{height}" class="axis" text-anchor="end">0</text>',
             f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" class="rule"/>']
    every = max(1, round(40 / step))
    for k, (value, label) in enumerate(zip(values, labels)):
        h = value / top * (height - 8)
        x = left + k * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                     f'fill="{color}"><title>{html.escape(label)}: {value:g}</title></rect>')
        if k % every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height + 14}" class="axis" text-anchor="middle">'
                         f'{html.escape(label)}</text>')
    return "".join(parts) + "</svg>"


def svg_calendar(days: dict[str, int], today: date) -> str:
    """A year of review days as a heatmap of squares, a column a week."""
    colors = ("#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39")
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=52)
    counts = sorted(v for v in days.values() if v)
    cuts = [counts[int(len(counts) * q)] for q in (0.25, 0.5, 0.75)] if counts else []
    parts = ['<svg viewBox="0 0 760 110" role="img">']
    month = None
    for w in range(53):
        first = start + timedelta(weeks=w)
        if first.month != month:
            month = first.month
            if w < 51:
                parts.append(f'<text x="{30 + w * 13}" y="10" class="axis">{first.strftime("%b")}</text>')
        for weekday in range(7):
            day = first + timedelta(days=weekday)
            if day > today:
                continue
            n = days.get(day.isoformat(), 0)
            level = 0 if not n else 1 + sum(n > c for c in cuts)
            parts.append(f'<rect x="{30 + w * 13}" y="{16 + weekday * 13}" width="11" height="11" rx="2" '
                         f'fill="{colors[level]}"><title>{day.isoformat()}: {n} reviews</title></rect>')
    for weekday, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        parts.append(f'<text x="0" y="{26 + weekday * 13}" class="axis">{name}</text>')
    return "".join(parts) + "</svg>"


def svg_hbars(rows: list[tuple[str, float, str]], color: str, width: int = 240) -> str:
    """Horizontal bars with a label on the left and a figure on the right."""
    top = max((r[1] for r in rows), default=0) or 1
    parts = [f'<svg viewBox="0 0 {width} {len(rows) * 18 + 4}" role="img">']
    for k, (label, value, figure) in enumerate(rows):
        y = k * 18 + 2
        parts.append(f'<text x="50" y="{y + 12}" class="axis" text-anchor="end">{html.escape(label)}</text>'
                     f'<rect x="55" y="{y + 2}" width="{value / top * (width - 105):.1f}" height="13" fill="{color}"/>'
                     f'<text x="{width - 2}" y="{y + 12}" class="axis" text-anchor="end">{html.escape(figure)}</text>')
    return "".join(parts) + "</svg>"


def svg_calibration(bins: list[dict], size: int = 260) -> str:
    """Actual against predicted recall, a dot a bin (its area the number of reviews), with the diagonal."""
    pad, inner = 48, size - 60
    most = max((b["n"] for b in bins), default=0) or 1
    x = lambda v: pad + v * inner  # noqa: E731
    y = lambda v: 10 + (1 - v) * inner  # noqa: E731
    parts = [f'<svg viewBox="0 0 {size} {inner + 48}" role="img" style="max-width:{size + 40}px">',
             f'<rect x="{pad}" y="10" width="{inner}" height="{inner}" fill="none" class="rule" stroke="#d0d7de"/>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#8c959f" stroke-dasharray="4 3"/>']
    for v, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        parts.append(f'<text x="{x(v)}" y="{inner + 26}" class="axis" text-anchor="{anchor}">{v:.0%}</text>'
                     f'<text x="{pad - 4}" y="{y(v) + 4}" class="axis" text-anchor="end">{v:.0%}</text>')
    parts.append(f'<text x="{x(0.5)}" y="{inner + 42}" class="axis" text-anchor="middle">predicted</text>'
                 f'<text x="10" y="{y(0.5)}" class="axis" transform="rotate(-90 10 {y(0.5)})" '
                 'text-anchor="middle">actual</text>')
    for b in bins:
        if b["n"]:
            radius = 3 + 9 * (b["n"] / most) ** 0.5
            parts.append(f'<circle cx="{x(b["predicted"]):.1f}" cy="{y(b["actual"]):.1f}" r="{radius:.1f}" '
                         f'fill="#0969da" fill-opacity="0.6"><title>predicted {percent(b["predicted"])}, actual '
                         f'{percent(b["actual"])}, {b["n"]:,} reviews</title></circle>')
    return "".join(parts) + "</svg>"


CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:800px;color:#1f2328;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
th{font-weight:600}.q{text-align:left;overflow-wrap:anywhere}
table.trouble{width:100%;table-layout:fixed}table.trouble .n{width:4.5em}.bad{color:#cf222e}.good{color:#1a7f37}
.wide{overflow-x:auto}
.dim{color:#656d76}.axis{font-size:11px;fill:#656d76}.rule{stroke:#d0d7de}svg{width:100%;height:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:1em}"""


def page(data: dict) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    scope = "all decks" if data["deck"] is None else e(data["deck"])
    out = [f'<!doctype html><html lang="en"><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>srs stats · {scope}</title>'
           f"<style>{CSS}</style><h1>Statistics · {scope}</h1>",
           f'<p class="dim">Learner day {data["today"]} (days start at {data["day_start_hour"]}:00) · '
           f'{data["reviews"]:,} reviews · streak {data["streak"]["current"]} days '
           f'(longest {data["streak"]["longest"]}) · {data["study_days"]:,} study days'
           + (f'<br>{e(practice_line(data["practice"]))}' if data["practice"]["all"] else "") + "</p>",
           "<h2>True retention</h2><table><tr><th></th>"
           + "".join(f"<th>{n}</th>" for n in PERIOD_NAMES.values()) + "</tr>"]
    for label, key in (("Young", "true_retention_young"), ("Mature", "true_retention_mature"),
                       ("All", "true_retention")):
        out.append(f"<tr><td>{label}</td>" + "".join(f"<td>{percent(data[key][p])}</td>" for p in PERIOD_NAMES)
                   + "</tr>")
    out.append('</table><p class="dim">First answer of the day to a card due for review; Again is a fail, '
               "Hard, Good and Easy are passes. Mature: an interval of 21 days or more.</p>")
    out += _choice_page_parts(data)
    daily = data["daily"]
    out += [f"<h2>Reviews per day, last {data['days']} days</h2>",
            svg_columns([d["reviews"] for d in daily], [d["date"][5:] for d in daily], "#0969da"),
            "<h2>Minutes per day</h2>",
            svg_columns([round((d["seconds"] or 0) / 60, 1) for d in daily], [d["date"][5:] for d in daily],
                        "#8250df", height=100),
            "<h2>Study days, last year</h2>",
            svg_calendar({d["date"]: d["reviews"] for d in data["calendar"]}, date.fromisoformat(data["today"])),
            f"<h2>Due, next {len(data['forecast'])} days</h2>",
            svg_columns([f["due"] for f in data["forecast"]], [f["date"][5:] for f in data["forecast"]], "#bf3989"),
            f'<p class="dim">Today includes {data["overdue"]:,} overdue cards.</p>', "<h2>The collection</h2><p>"
            + " · ".join(f"{k.replace('_', '-')} <b>{v:,}</b>" for k, v in data["states"].items()
                         if v or k != "history_only") + "</p>"]
    if data["studied_cards"]:
        out.append(f"<p>You would recall about <b>{data['retrievability_sum']:,.0f}</b> of the "
                   f"{data['studied_cards']:,} cards you have studied, if asked now.</p><div class=grid>")
        for title, key, color in (("Stability", "stability", "#0969da"), ("Difficulty", "difficulty", "#bf8700"),
                                  ("Retrievability", "retrievability", "#1a7f37")):
            rows = [(b["label"], b["cards"], f"{b['cards']:,}") for b in data[key]]
            out.append(f"<div><b>{title}</b>{svg_hbars(rows, color)}</div>")
        out.append("</div>")
    cal = data["calibration"]
    out.append("<h2>Calibration</h2>")
    if cal["n"]:
        out.append("<p>Each dot: the reviews FSRS gave about the same chance of recall. On the diagonal, FSRS "
                   "predicts your recall well; below it, you forget more than it expects.</p>")
        out.append("<div class=grid><div>" + svg_calibration(cal["bins"]) + "</div><div>"
                   "<table><tr><th>Predicted R</th><th>Reviews</th><th>Predicted</th><th>Actual</th></tr>"
                   + "".join(f"<tr><td>{100 * b['lo']:.0f}-{100 * b['hi']:.0f}%</td><td>{b['n']:,}</td>"
                             f"<td>{percent(b['predicted'])}</td><td>{percent(b['actual'])}</td></tr>"
                             for b in cal["bins"] if b["n"])
                   + f'</table></div></div><p class="dim">{cal["n"]:,} reviews · log loss {cal["log_loss"]:.3f} · '
                   f'RMSE over bins {percent(cal["rmse_bins"])} · {cal["same_day"]:,} same-day reviews left out</p>')
        out += _choice_calibration_page_parts(cal.get("by_format", {}))
    else:
        out.append('<p class="dim">No reviews a day or more after a previous one yet.</p>')
    out.append("<h2>Trouble spots</h2>")
    if data["leeches"]:
        out.append('<table class=trouble><tr><th>Card</th><th class=n>Lapses</th><th class=n>Reps</th></tr>' + "".join(
            f'<tr><td class=q>#{r["card_id"]} {e(r["question"])}</td>'
            f'<td class=n>{r["lapses"]}</td><td class=n>{r["reps"]}</td></tr>' for r in data["leeches"]) + "</table>")
    if data["wrong_choices"]:
        out.append('<p></p><table class=trouble><tr><th>Card: the wrong option chosen, and the right one</th>'
                   '<th class=n>Times</th></tr>' + "".join(  # one column of text: it wraps at any width
            f'<tr><td class=q>#{r["card_id"]} {e(r["question"])}<br><span class=dim>chose</span> '
            f'<span class=bad>{e(r["choice"])}</span> <span class=dim>instead of</span> '
            f'<span class=good>{e(r["answer"] or "?")}</span></td><td class=n>{r["times"]}</td></tr>'
            for r in data["wrong_choices"]) + "</table>")
    return "\n".join(out) + "\n</html>\n"


def _choice_page_parts(data: dict) -> list[str]:
    """The page's table of choice cards answered from options: passed and guess-corrected (issue 16)."""
    choice = data.get("true_retention_choice")
    if not choice or not choice["all"]["n"]:
        return []
    rows = "".join(f"<tr><td>{label}</td>" + "".join(
        f"<td>{percent(choice[p][key])} ({choice[p]['n']:,})</td>" if choice[p]["n"] else "<td>—</td>"
        for p in PERIOD_NAMES) + "</tr>" for label, key in (("Passed", "observed"), ("Guess-corrected", "corrected")))
    return ["<h3>Choice picks, from options</h3><table><tr><th></th>"
            + "".join(f"<th>{n}</th>" for n in PERIOD_NAMES.values()) + "</tr>" + rows + "</table>",
            '<p class="dim">A right pick among k options is recall or a lucky guess: guess-corrected retention '
            "is (passed - 1/k) / (1 - 1/k), averaged over the reviews.</p>"]


def _choice_calibration_page_parts(by_format: dict) -> list[str]:
    """The page's calibration per format: choice reviews from options against R + (1 - R)/k."""
    entries = [entry for _, entry in sorted(by_format.items()) if entry["n"]]
    if not entries:
        return []
    rows = "".join(
        f"<tr><td>{html.escape(entry['format'])}{' *' if entry['guessing'] else ''}</td><td>{entry['n']:,}</td><td>"
        f"{percent(sum(b['n'] * b['expected'] for b in entry['bins'] if b['n']) / entry['n'])}</td>"
        f"<td>{percent(sum(b['n'] * b['actual'] for b in entry['bins'] if b['n']) / entry['n'])}</td>"
        f"<td>{percent(entry['rmse_bins'])}</td></tr>" for entry in entries)
    return ["<h3>By format</h3><table class=trouble><tr><th>Format</th><th>Reviews</th><th>Expected</th><th>Actual</th>"
            "<th>RMSE</th></tr>" + rows + "</table>",
            '<p class="dim">Expected: the recall FSRS predicts, R; * choice reviews answered from options are compared with R + (1 - R)/k: a learner who '
            "recalls with probability R and guesses among k options otherwise.</p>"]


def calibration_verdict(rmse_bins: float) -> str:
    """One sentence on how far predictions are from what happened (RMSE over bins)."""
    if rmse_bins <= 0.05:
        return "Well calibrated: what FSRS predicts is close to what happens."
    if rmse_bins <= 0.10:
        return "Roughly calibrated; 'srs optimize' may fit FSRS to you better."
    return "Poorly calibrated: predictions and recall differ a lot; try 'srs optimize'."


def practice_line(practice: dict) -> str:
    """Practice answers (`srs review --cram`: no schedule changes), shown apart from the reviews as Anki
    shows filtered-deck reviews apart."""
    return (f"Practice (--cram, not counted as reviews): {practice['today']:,} today · {practice['7d']:,} in 7 days"
            f" · {practice['30d']:,} in 30 days · {practice['all']:,} in all")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# -- one card: `srs card ID` -----------------------------------------------------------------


def card_page(info: dict, now, console: Console) -> None:
    """The card-info page of `srs card ID` (the data of `read_outs.card_info`), for an 80-column terminal."""
    from datetime import datetime

    from srs.scheduling import format_interval

    card = info["card"]

    def local(iso_time: str | None) -> str:
        return "—" if iso_time is None else datetime.fromisoformat(iso_time).astimezone().strftime("%Y-%m-%d %H:%M")

    width = min(console.width, 80)
    title = Text(f"Card {card['id']} · ", style="bold")
    title.append(safe(card["deck"]), style="bold")
    title.append(f" · {card['kind']}" + (" · suspended" if card["suspended"] else ""), style="dim")
    console.print(title)
    console.print(Text(safe(card["question"])))
    if card["options"]:
        options = Table.grid(padding=(0, 1))  # long options wrap under their own text, as in review
        options.add_column(justify="right", min_width=4, style="dim")
        options.add_column()
        for letter, option in zip("abcdefghijklmnopqrstuvwxyz", card["options"]):
            right = card["answer"] is not None and option == card["answer"]
            options.add_row(f"{letter})", Text(safe(option), style="green" if right else "")
                            + Text("  ✓ the key" if right else "", style="green"))
        console.print(options)
        if card["answer"] is None:
            console.print(Text("  (key not known yet: give it with 'srs key')", style="dim"))
    else:
        console.print(Text("Answer: ", style="dim") + Text(safe(card["answer"] or "—")))
    if info["explanation"]:
        console.print(Text("> ", style="dim") + Text(safe(info["explanation"]), style="italic"))

    _section(console, "Memory")
    facts = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    r = card["retrievability"]
    due = card["due"]
    facts.add_row("State", card["state"], "Reps", str(card["reps"]))
    facts.add_row("Due", local(due) + (f" (in {format_interval(datetime.fromisoformat(due) - now)})"
                                       if due and datetime.fromisoformat(due) > now else ""),
                  "Lapses", str(card["lapses"]))
    facts.add_row("Stability", "—" if card["stability"] is None else f"{card['stability']:.2f} days",
                  "Difficulty", "—" if card["difficulty"] is None else f"{card['difficulty']:.2f} / 10")
    facts.add_row("Recall now", percent(r), "", "")
    console.print(facts)
    nexts = Text("Next: ", style="dim")
    for k, (name, outcome) in enumerate(card["next"].items()):  # as the review's buttons show them
        nexts.append(("  ·  " if k else "") + f"{name.capitalize()} {outcome['interval_text']}")
    console.print(nexts)

    _section(console, f"History ({plural(len(card['history']), 'answer')})")
    if card["history"]:
        history = Table("When", "Kind", "Rating", "Time", "Choice", box=None, padding=(0, 2, 0, 0))
        names = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
        rows = card["history"]
        shown = rows if len(rows) <= 20 else rows[-20:]
        if shown is not rows:
            console.print(Text(f"the last 20 of {len(rows)}", style="dim"))
        for review in shown:
            choice = "" if review["choice"] is None else safe(review["choice"])[:24] + (
                "" if review["correct"] is None else " ✓" if review["correct"] else " ✗")
            history.add_row(local(review["reviewed_at"]), review["kind"], names[review["rating"]],
                            f"{(review['duration_ms'] or 0) / 1000:.1f}s", Text(choice))
        console.print(history)
    else:
        console.print(Text("Never reviewed.", style="dim"))

    if info["curve"]:
        _section(console, "Forgetting curve: recall probability (%) in learner days from today")
        console.print(curve_chart(info["curve"], width=width - 2))


def curve_chart(points: list[tuple[int, float]], width: int, height: int = 6, style: str = "magenta") -> Text:
    """Recall probability against days, drawn with eighth blocks from a floor (a tenth below the lowest value)
    to 100%, with the floor and 100% on the left and day labels under some columns."""
    floor = min(max(int(min(p for _, p in points) * 10) / 10, 0.0), 0.9)
    gutter = 5
    step = max(1, min(3, (width - gutter) // max(len(points), 1)))
    bar = max(1, step - 1)
    out = Text()
    for row in range(height, 0, -1):
        label = "100%" if row == height else (f"{floor:.0%}" if row == 1 else "")
        out.append(label.rjust(gutter - 1) + "│", style="dim")
        for _, p in points:
            fill = (p - floor) / (1 - floor) * height - (row - 1)
            char = "█" if fill >= 1 else EIGHTHS[max(0, round(fill * 8))] if fill > 0 else " "
            out.append(char * bar, style=style)
            out.append(" " * (step - bar))
        out.append("\n")
    axis = [" "] * (step * len(points) + 8)
    every = max(1, -(-7 // step))
    for k in range(0, len(points), every):
        for j, ch in enumerate(f"+{points[k][0]}d" if points[k][0] else "today"):
            if k * step + j < len(axis):
                axis[k * step + j] = ch
    out.append(" " * gutter + "".join(axis).rstrip(), style="dim")
    return out
