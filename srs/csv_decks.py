"""CSV / TSV decks: question, answer and optional tags columns, read as Anki's text import does.

What is understood, following Anki (rslib/src/import_export/text/csv/):

* header lines at the top of the file, each `#key:value`: `#separator:` (a name --
  Comma, Semicolon, Tab, Space, Pipe, Colon -- or the character itself), `#html:true|false`,
  `#tags:` (tags added to every card), `#columns:` (column names), `#deck:` (the deck name),
  `#tags column:N`, `#deck column:N`, `#notetype column:N`, `#guid column:N` (1-based;
  the last three are columns that hold no field). Unknown keys are ignored, and so is a
  first line `tags:...` (historic form of `#tags:`).
* lines starting with `#` outside a quoted field are comments, anywhere in the file;
  blank lines are skipped; quoted fields may hold separators, quotes ("") and newlines.
* columns: the first field column is the question, the second the answer; then, unless
  `#tags column:` says otherwise, a third column holds space-separated tags (Anki's
  default for a two-field note type). With `#columns:`, columns named Question/Front,
  Answer/Back, Tags, Explanation/Extra are used by name.
* `#html:true`, or HTML detected in the first rows when there is no `#html:` line, means
  fields are HTML: they are reduced to text (`<br>` is a line break, entities decoded).
* UTF-8, with or without a byte order mark.

Where we differ from Anki: without `#separator:`, a `.tsv` file is split on tabs, and
other files on the first of comma, semicolon, tab and pipe that splits the first rows
into the same number (at least two) of columns (Anki takes the first of
tab, pipe, semicolon, colon, comma, space found anywhere in the first 8 KiB, which
splits "Time: 5pm, Monday" on the colon). A first row that reads like column names
(`question,answer[,tags]` or `front,back[,tags]`, any case) is taken as `#columns:`.
The deck name is the file name without extension unless `#deck:` names one.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from pathlib import Path

from srs.model import CardSpec, DeckSpec, SrsError

_DELIMITER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "space": " ",
    "pipe": "|",
    "colon": ":",
}
_SNIFF_ORDER = (",", ";", "\t", "|")
_SNIFF_ROWS = 20
# Anki's is_html(): an opening/closing tag, a comment or an entity, which is the pattern
# `<(?:/?[a-z][a-z0-9]*(?:\s[^>]*)?/?|!--.*?--)>|&(?:[a-z][a-z0-9]*|#\d+|#x[0-9a-f]+);` (re.I, re.S)
# matched in linear time by `_is_html` (that pattern took minutes on `<a <a <a ...` with no `>`).
_TAG = re.compile(r"</?[a-z][a-z0-9]*(?:/?>|\s[^>]*>)", re.I)
_ENTITY = re.compile(r"&(?:[a-z][a-z0-9]*|#\d+|#x[0-9a-f]+);", re.I)


def _is_html(cell: str) -> bool:
    """Whether a cell holds a tag, a comment or an entity, in time linear in its length: tags are
    looked for only up to the last `>` (so that the scan of a tag's attributes always ends on one),
    and a comment is the first `<!--` with a `-->` after it."""
    head = cell[:cell.rfind(">") + 1]
    if head and _TAG.search(head):
        return True
    comment = head.find("<!--")
    if comment >= 0 and head.find("-->", comment + 4) >= 0:
        return True
    return "&" in cell and _ENTITY.search(cell) is not None
_QUESTION_NAMES = {"question", "front"}
_ANSWER_NAMES = {"answer", "back"}
_TAGS_NAMES = {"tags", "tag"}
_EXPLANATION_NAMES = {"explanation", "extra", "notes", "back extra"}
MAX_FIELD_CHARS = 1_000_000
MAX_TABLE_BYTES = 64 * 1024 * 1024


def _delimiter_from_value(value: str) -> str | None:
    normed = value.lower()
    if normed.strip() in _DELIMITER_NAMES:
        return _DELIMITER_NAMES[normed.strip()]
    if len(normed) == 1 and normed in _DELIMITER_NAMES.values():
        return normed
    return None


class _Lines:
    """Physical lines for csv.reader, skipping comment lines that start a record."""

    def __init__(self, lines: list[str], start: int):
        self.lines = lines
        self.index = start
        self.at_record_start = True
        self.record_line = 0  # 1-based line where the current record starts

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while self.index < len(self.lines):
            line = self.lines[self.index]
            self.index += 1
            if self.at_record_start:
                if line.startswith("#"):
                    continue
                self.record_line = self.index
                self.at_record_start = False
            return line
        raise StopIteration


def _records(lines: list[str], start: int, delimiter: str, path: str, limit: int | None = None):
    """(line, fields) for each non-blank record from line index `start`."""
    source = _Lines(lines, start)
    reader = csv.reader(source, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=False)
    count = 0
    while limit is None or count < limit:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            line = source.record_line or source.index
            raise SrsError(f"cannot read this row: {err}", path=path, line=line) from None
        line = source.record_line
        source.at_record_start = True
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        count += 1
        yield line, row


def _sniff(lines: list[str], start: int, path: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    best, best_score = None, 0
    for delimiter in _SNIFF_ORDER:
        try:
            rows = [row for _, row in _records(lines, start, delimiter, path, limit=_SNIFF_ROWS)]
        except SrsError:
            continue
        if not rows:
            continue
        widths = [len(row) for row in rows]
        consistent = sum(1 for width in widths if width == widths[0] and width >= 2)
        if consistent > best_score:
            best, best_score = delimiter, consistent
    return best or ("\t" if suffix == ".tsv" else ",")


def _html_to_text(fragment: str) -> str:
    from srs.anki.text import html_to_text  # the same reduction as for Anki packages

    return html_to_text(fragment)


def _header_columns(row: list[str]) -> dict[str, int] | None:
    names = [cell.strip().lower() for cell in row]
    if not names or names[0] not in _QUESTION_NAMES or len(names) < 2 or names[1] not in _ANSWER_NAMES:
        return None
    if not all(name in _QUESTION_NAMES | _ANSWER_NAMES | _TAGS_NAMES | _EXPLANATION_NAMES for name in names):
        return None
    return _columns_by_name(row, set())


def _columns_by_name(labels: list[str], meta: set[int]) -> dict[str, int]:
    """0-based column of each part we know, by column name."""
    out: dict[str, int] = {}
    for index, label in enumerate(labels):
        if index + 1 in meta:
            continue
        name = label.strip().lower()
        for part, names in (
            ("question", _QUESTION_NAMES),
            ("answer", _ANSWER_NAMES),
            ("tags", _TAGS_NAMES),
            ("explanation", _EXPLANATION_NAMES),
        ):
            if name in names and part not in out:
                out[part] = index
    return out


def read_table(path) -> DeckSpec:
    """The deck in a .csv/.tsv file: one card per row (question, answer, optional tags)."""
    path = Path(path)
    where = str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block, /dev/zero never end
            raise SrsError("not a regular file", path=where)
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TABLE_BYTES + 1)
    except OSError as err:
        raise SrsError(f"cannot read: {err.strerror or err}", path=where) from None
    if len(raw) > MAX_TABLE_BYTES:
        raise SrsError(f"too large for a table of cards (more than {MAX_TABLE_BYTES // (1024 * 1024)} MB)", path=where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SrsError(f"not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8", path=where, line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SrsError("not a text file (NUL character)", path=where, line=line)

    lines = text.splitlines(keepends=True)
    delimiter = None
    is_html = None
    global_tags: list[str] = []
    labels: list[str] | None = None
    deck_name = None
    tags_column = 0
    meta_columns: set[int] = set()
    guid_column = 0

    start = 0
    if lines and lines[0].startswith("tags:"):
        global_tags = lines[0][len("tags:") :].split()
        start = 1
    while start < len(lines) and lines[start].startswith("#"):
        line = lines[start][1:].rstrip("\r\n")
        start += 1
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip().lower()
        if key == "separator":
            found = _delimiter_from_value(value)
            if found is None:
                raise SrsError(f"unknown separator {value!r}", path=where, line=start)
            delimiter = found
        elif key == "html":
            if value.strip().lower() in ("true", "false"):
                is_html = value.strip().lower() == "true"
        elif key == "tags":
            global_tags = value.split()
        elif key == "columns":
            labels = value  # parsed once the delimiter is known
        elif key == "deck":
            deck_name = value.strip() or None
        elif key in ("tags column", "deck column", "notetype column", "guid column"):
            try:
                number = int(value.strip())
            except ValueError:
                raise SrsError(f"#{key}: needs a column number, not {value.strip()!r}", path=where, line=start) from None
            if number < 1:
                raise SrsError(f"#{key}: columns are numbered from 1", path=where, line=start)
            if key == "tags column":
                tags_column = number
            elif key == "guid column":
                guid_column = number
                meta_columns.add(number)
            else:
                meta_columns.add(number)

    if delimiter is None:
        delimiter = _sniff(lines, start, where, path.suffix.lower())
    if isinstance(labels, str):
        labels = next(csv.reader([labels], delimiter=delimiter), [])
    if tags_column:
        meta_columns.add(tags_column)

    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        records = list(_records(lines, start, delimiter, where))
    finally:
        csv.field_size_limit(old_limit)

    if records and labels is None:
        header = _header_columns(records[0][1])
        if header is not None:
            labels = records[0][1]
            records = records[1:]

    if labels:
        columns = _columns_by_name(labels, meta_columns)
        if "tags" in columns and not tags_column:
            tags_column = columns["tags"] + 1
            meta_columns.add(tags_column)
        field_columns = [i for i in range(len(labels)) if i + 1 not in meta_columns]
        columns.setdefault("question", field_columns[0] if field_columns else 0)
        if "answer" not in columns:
            rest = [i for i in field_columns if i != columns["question"]]
            if rest:
                columns["answer"] = rest[0]
    else:
        width = len(records[0][1]) if records else 0  # Anki sizes the columns on the first row
        field_columns = [i for i in range(width) if i + 1 not in meta_columns]
        columns = {}
        if field_columns:
            columns["question"] = field_columns[0]
        if len(field_columns) > 1:
            columns["answer"] = field_columns[1]
        if not tags_column and len(field_columns) > 2:
            tags_column = field_columns[2] + 1  # Anki: the column after the last field

    if is_html is None:
        is_html = any(_is_html(cell) for _, row in records[:5] for cell in row)

    def text_of(cell: str) -> str:
        if is_html:
            return _html_to_text(cell)
        return cell.replace("\r\n", "\n").replace("\r", "\n").strip()

    question_col = columns.get("question", 0)
    answer_col = columns.get("answer")
    cards: list[CardSpec] = []
    for line, row in records:
        needed = max(question_col, answer_col if answer_col is not None else 1) + 1
        if len(row) < needed:
            raise SrsError(
                f"this row has {len(row)} column{'s' if len(row) != 1 else ''}; a card needs a question and an answer"
                f" (separator {delimiter!r})",
                path=where,
                line=line,
            )
        question = text_of(row[question_col])
        if not question:
            raise SrsError("empty question", path=where, line=line)
        answer = text_of(row[answer_col]) if answer_col is not None else ""
        tags = list(global_tags)
        if tags_column and tags_column - 1 < len(row):
            tags.extend(tag for tag in row[tags_column - 1].split() if tag not in tags)
        explanation = None
        if "explanation" in columns and columns["explanation"] < len(row):
            explanation = text_of(row[columns["explanation"]]) or None
        source_id = None
        if guid_column and guid_column - 1 < len(row):
            source_id = row[guid_column - 1].strip() or None
        cards.append(
            CardSpec(
                question=question,
                answer=answer,
                explanation=explanation,
                line=line,
                tags=tags,
                source_id=source_id,
            )
        )

    return DeckSpec(
        name=deck_name or path.stem,
        cards=cards,
        source=where,
        report={"rows": len(cards), "separator": delimiter, "html": bool(is_html)},
    )
