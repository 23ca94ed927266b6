"""CSV and Excel files of coordinators' exports, written while the rows arrive.

An export (session counts, aggregated anonymous feedback) can run to a million rows, streamed
from the database; the writers here take rows from an iterator and never hold a table: Excel
through openpyxl's write-only mode, which spools each sheet to a temporary file, CSV in batches
through the csv module. Another module decides what the rows are; these only write them.

What a person opening the file gets, and why:

- Excel: a notes sheet first (how the figures were made, what each column means), then one
  sheet per table with a bold, frozen header row and set column widths. Dates are real dates
  shown yyyy-mm-dd, percents are fractions shown 0.0%, ints are ints, floats are rounded to two
  decimals. A table longer than Excel's limit goes on in "<name> (2)", "<name> (3)"... with the
  header repeated. Only the cells that need a style get one: styling every cell is slow.
- CSV: UTF-8 with a byte order mark (so Excel reads Cyrillic and Arabic right), commas, CRLF,
  dates yyyy-mm-dd, floats with two decimals, percents as "87.5%" (Excel and LibreOffice read
  that as the number 0.875 shown as a percent; a bare 87.5 would read as eighty-seven), None
  as an empty field.

Free text (comments) passes through here, so text is made safe. Characters a workbook cannot
hold (control characters, lone surrogates) become spaces, in CSV too; in Excel, line breaks
become the LF that Excel itself uses. Nothing is written that a spreadsheet would run as a
formula: in Excel a text cell is text whatever it starts with, except that openpyxl would make
"=..." a formula and "#N/A" an error, so those are written as text with Excel's quote prefix
(what typing a leading apostrophe does). CSV has no types, so a text value starting with
= + - @, a tab or a carriage return gets a leading apostrophe (OWASP's advice against CSV
injection): Excel then shows it as text, apostrophe included.

Writing to a :class:`~pathlib.Path` is atomic: a temporary file in the same folder (readable
by its owner only), renamed to the real name once complete, so a failed export leaves no half
file and an earlier export under that name stays whole.
"""

from __future__ import annotations

import codecs
import csv
import functools
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from operator import methodcaller
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, Literal

ColumnKind = Literal["text", "int", "float", "percent", "date"]
Progress = Callable[[int, int | None], None]
"""Told (rows written so far, rows expected in all or None when unknown)."""

MAX_ROWS = 1_048_575  # data rows on one Excel sheet: 1,048,576 with the header
PROGRESS_EVERY = 5_000  # rows between two calls of a Progress; also the CSV batch
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
SHEET_NAME_MAX = 31
NOTES_WIDTH = 60  # characters, each of the notes sheet's two columns
LINE_HEIGHT = 15  # points, a line of Excel's default 11-point text

_WIDTHS: dict[str, int] = {"text": 24, "int": 10, "float": 12, "percent": 10, "date": 12}
_NUMBERS = frozenset({int, float, Decimal})
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe"  # Hebrew, Arabic, Syriac, Thaana, N'Ko...
# Text whose first letter is right-to-left script (digits, spaces, punctuation before it).
_RTL_FIRST = re.compile(rf"[\W\d_]*[{_RTL}]")
# Printable text that matches neither of these is written as it is, without a closer look.
_XLSX_LOOK_CLOSER = re.compile(rf"[=#]|[\W\d_]*[{_RTL}]")
_XLSX_LOOK_CLOSER_IN_RTL_SHEET = re.compile(r"[=#]")
_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
_CSV_TRIGGERS = frozenset("=+-@\t\r")  # what a spreadsheet may take for the start of a formula
_SHEET_NAME_JUNK = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


@functools.cache
def _styles() -> SimpleNamespace:
    """openpyxl's styles, made when the first workbook is (a CSV never loads openpyxl)."""
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    return SimpleNamespace(
        bold=Font(bold=True),
        title=Font(bold=True, size=14),
        wrap=Alignment(wrap_text=True, vertical="top"),
        rtl=Alignment(horizontal="right", readingOrder=2),
        rtl_wrap=Alignment(horizontal="right", readingOrder=2, wrap_text=True, vertical="top"),
    )


@dataclass(frozen=True)
class Column:
    header: str  # header row text (already translated by the caller)
    kind: ColumnKind = "text"
    width: int | None = None  # characters; None: a sensible width from the header and kind
    note: str = ""  # what the column means, for the notes sheet


@dataclass(frozen=True)
class Table:
    name: str  # sheet name (made to fit Excel's rules, see sheet_name) / file suffix
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]  # values: str, int, float, datetime.date, None
    expected: int | None = None  # rows expected, for progress (None: unknown)
    rtl: bool = False  # the sheet reads right to left (Arabic, Farsi...)


@dataclass(frozen=True)
class Notes:
    title: str  # e.g. "Session counts, 1 Jan 2026 – 31 Mar 2026"
    lines: Sequence[str]  # paragraphs: how it was made, how small groups were hidden
    sheet_name: str = "Notes"
    column_label: str = "Column"  # heads of the list of columns (translated by the caller)
    meaning_label: str = "Meaning"
    rtl: bool = False  # the notes sheet reads right to left


# -- both formats ----------------------------------------------------------------------------


@contextmanager
def _opened(target: BinaryIO | Path) -> Iterator[BinaryIO]:
    """The target stream; for a path, a temporary file that takes the path's name on success."""
    if not isinstance(target, Path):
        yield target
        return
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _batches(rows: Iterable[Sequence[object]], size: int) -> Iterator[list[Sequence[object]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


class _Counter:
    """Counts rows written; tells a Progress every PROGRESS_EVERY rows or more, and at the end."""

    def __init__(self, progress: Progress | None, expected: int | None) -> None:
        self.progress = progress
        self.expected = expected
        self.done = 0
        self.told: int | None = None

    def add(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None and self.done - (self.told or 0) >= PROGRESS_EVERY:
            self._tell()

    def finish(self) -> None:
        if self.progress is not None and self.told != self.done:
            self._tell()

    def _tell(self) -> None:
        assert self.progress is not None
        self.told = self.done
        self.progress(self.done, self.expected)


def _expected(tables: Sequence[Table]) -> int | None:
    counts = [table.expected for table in tables]
    return None if None in counts else sum(c for c in counts if c is not None)


def _finite(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


# -- Excel -----------------------------------------------------------------------------------


def sheet_name(name: str) -> str:
    """``name`` as Excel takes it: no []:*?/\\, no apostrophe at either end, 31 characters."""
    cleaned = _SHEET_NAME_JUNK.sub("", name).strip(" '")[:SHEET_NAME_MAX].strip(" '")
    if cleaned.casefold() == "history":  # Excel keeps that name for itself
        cleaned += "_"
    return cleaned or "Sheet"


def _numbered(base: str, number: int) -> str:
    if number == 1:
        return base
    suffix = f" ({number})"
    return base[: SHEET_NAME_MAX - len(suffix)].rstrip(" '") + suffix


def _unique(base: str, used: set[str], number: int = 1) -> str:
    """``base``, numbered from ``number`` on, that no name in ``used`` has (Excel ignores case)."""
    while (name := _numbered(base, number)).casefold() in used:
        number += 1
    used.add(name.casefold())
    return name


class _Cells:
    """Turns values into what a write-only sheet appends, styling only the cells that need it."""

    def __init__(self, ws: Any, rtl: bool) -> None:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

        self.cell = WriteOnlyCell
        self.ws = ws
        self.rtl = rtl  # the sheet's direction: right-to-left text needs no help there
        self.look_closer = _XLSX_LOOK_CLOSER_IN_RTL_SHEET if rtl else _XLSX_LOOK_CLOSER

    def row_maker(self, columns: Sequence[Column]) -> Callable[[Sequence[object]], list[object]]:
        kinds = {
            "text": self.value,
            "int": self.value,
            "float": self.float_value,
            "percent": self.percent_value,
            "date": self.date_value,
        }
        makers = [kinds[column.kind] for column in columns]

        def row(values: Sequence[object]) -> list[object]:
            return [make(value) for make, value in zip(makers, values, strict=True)]

        return row

    def value(self, value: object) -> object:
        if type(value) is str:
            if value.isprintable() and self.look_closer.match(value) is None:
                return value  # the common case, with one cheap test and one anchored match
            return self.text(value)
        return value if _finite(value) else None  # Excel has no NaN or infinity

    def float_value(self, value: object) -> object:
        if type(value) is float:
            return round(value, 2) if math.isfinite(value) else None
        return self.value(value)

    def percent_value(self, value: object) -> object:
        if type(value) in _NUMBERS and _finite(value):
            cell = self.cell(self.ws, value)
            cell.number_format = PERCENT_FORMAT
            return cell
        return self.value(value)

    def date_value(self, value: object) -> object:
        if isinstance(value, datetime):
            value = value.date()  # the column shows days; this also drops a time zone
        if isinstance(value, date):
            return value  # openpyxl gives a date DATE_FORMAT itself, cheaper than our own cell
        return self.value(value)

    def text(self, value: str, font: Any = None, wrap: bool = False) -> object:
        """A text cell: unwritable characters made spaces, never a formula, RTL text aligned."""
        value = _UNWRITABLE.sub(" ", value)
        if "\r" in value:  # Excel breaks lines at LF; XML without lxml would turn CR into LF
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        literal = (value.startswith("=") and len(value) > 1) or value in _ERROR_CODES
        rtl = not self.rtl and _RTL_FIRST.match(value) is not None
        wrap = wrap or "\n" in value  # as Excel does when a line break is typed in a cell
        if not (literal or rtl or font or wrap):
            return value
        cell = self.cell(self.ws, value)
        if literal:
            cell.data_type = "s"  # openpyxl made it a formula (or an error); keep it text
            cell.quotePrefix = True  # as Excel does for a leading apostrophe: edits stay text
        if font is not None:
            cell.font = font
        if rtl:
            cell.alignment = _styles().rtl_wrap if wrap else _styles().rtl
        elif wrap:
            cell.alignment = _styles().wrap
        return cell


def _width(column: Column) -> float:
    if column.width is not None:
        return column.width
    return max(_WIDTHS[column.kind], min(len(column.header) + 2, 50))


def _table_sheet(wb: Any, name: str, table: Table) -> tuple[Any, _Cells]:
    """A sheet for ``table`` with its header row; its direction, panes and widths set first."""
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    ws = wb.create_sheet(name)
    ws.sheet_view.rightToLeft = table.rtl
    ws.freeze_panes = "A2"
    for index, column in enumerate(table.columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = _width(column)
    cells = _Cells(ws, table.rtl)
    ws.append([cells.text(column.header, font=_styles().bold) for column in table.columns])
    return ws, cells


def _write_table(
    wb: Any, table: Table, name: str, used: set[str], counter: _Counter, max_rows: int
) -> None:
    """The table on its sheet and, past ``max_rows``, on "<name> (2)", "<name> (3)"..."""
    rows: Iterator[Sequence[object]] = iter(table.rows)
    first, part = name, 1
    while True:
        ws, cells = _table_sheet(wb, name, table)
        row = cells.row_maker(table.columns)
        written = 0
        for batch in _batches(islice(rows, max_rows), PROGRESS_EVERY):
            for values in batch:
                ws.append(row(values))
            counter.add(len(batch))
            written += len(batch)
        if written < max_rows:
            return
        following = next(rows, None)
        if following is None:
            return
        rows = chain([following], rows)
        part += 1
        name = _unique(first, used, part)


def _height(*texts: str) -> int:
    """Points for a notes row whose cells wrap ``texts``: not every program sizes a row to its
    wrapped text (LibreOffice shows one line), so the notes rows are sized here."""
    lines = (
        sum(max(1, math.ceil(len(part) / NOTES_WIDTH)) for part in text.split("\n"))
        for text in texts
    )
    return LINE_HEIGHT * max(lines)


def _write_notes(
    wb: Any, name: str, notes: Notes, tables: Sequence[Table], names: Sequence[str]
) -> None:
    """Title, one paragraph a row, then per table the meaning of each column that has a note."""

    ws = wb.create_sheet(name)
    ws.sheet_view.rightToLeft = notes.rtl
    # Paragraphs wrap at an easy measure, and a column's meaning sits beside its name on
    # screen; printed, the two columns go across one landscape page.
    ws.column_dimensions["A"].width = ws.column_dimensions["B"].width = NOTES_WIDTH
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    cells = _Cells(ws, notes.rtl)
    rows = 0

    def append(values: list[object], *wrapped: str) -> None:
        nonlocal rows
        rows += 1
        if wrapped:  # a row's height goes out with the row, so it is set first
            ws.row_dimensions[rows].height = _height(*wrapped)
        ws.append(values)

    append([cells.text(notes.title, font=_styles().title)])
    for line in notes.lines:
        append([cells.text(line, wrap=True)], line)
    described = [
        (sheet, noted)
        for table, sheet in zip(tables, names, strict=True)
        if (noted := [column for column in table.columns if column.note])
    ]
    if not described:
        return
    append([])
    labels = (notes.column_label, notes.meaning_label)
    append([cells.text(label, font=_styles().bold) for label in labels])
    for sheet, noted in described:
        append([cells.text(sheet, font=_styles().bold)])
        for column in noted:
            texts = (column.header, column.note)
            append([cells.text(text, wrap=True) for text in texts], *texts)


def write_xlsx(
    target: BinaryIO | Path,
    tables: Sequence[Table],
    notes: Notes,
    *,
    progress: Progress | None = None,
    max_rows: int = MAX_ROWS,
) -> int:
    """Write an Excel workbook: the notes sheet, then each table; return the rows written.

    ``max_rows`` is the data rows one sheet takes (below the header); a longer table goes on
    in another sheet. Sheet names are made to fit Excel's rules and unique. A row with more or
    fewer values than its table has columns raises ValueError (and, for a path, writes nothing).
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}")
    used: set[str] = set()
    notes_name = _unique(sheet_name(notes.sheet_name), used)
    names = [_unique(sheet_name(table.name), used) for table in tables]
    counter = _Counter(progress, _expected(tables))
    from openpyxl import Workbook  # type: ignore[import-untyped]

    with _opened(target) as stream:
        wb = Workbook(write_only=True)
        try:
            _write_notes(wb, notes_name, notes, tables, names)
            for table, name in zip(tables, names, strict=True):
                _write_table(wb, table, name, used, counter, max_rows)
            wb.save(stream)
        except BaseException:
            _abandon(wb)
            raise
    counter.finish()
    return counter.done


def _abandon(wb: Any) -> None:
    """Close the sheets of a workbook that will not be saved, and delete their spool files.

    Left to the garbage collector, openpyxl's half-written sheets end their XML in any order
    (and complain), and their files stay in the temporary folder until the process ends.
    openpyxl has no public way to drop a write-only workbook, hence ``_writer``.
    """
    for ws in wb.worksheets:
        with suppress(Exception):
            if not ws.closed:
                ws.close()
            ws._writer.cleanup()


# -- CSV -------------------------------------------------------------------------------------


_TWO_DECIMALS = "{:.2f}".format
_PERCENT = "{:.1%}".format  # 0.875 -> "87.5%"
_RISKY_START = methodcaller("startswith", tuple(_CSV_TRIGGERS))
_INTS = frozenset({int, type(None)})


def _csv_value(value: object) -> object:
    if type(value) is str:
        if value.isprintable() and value[:1] not in _CSV_TRIGGERS:
            return value  # the common case, with two cheap tests
        value = _UNWRITABLE.sub(" ", value)
        return "'" + value if value[:1] in _CSV_TRIGGERS else value
    return value if _finite(value) else None


def _csv_float(value: object) -> object:
    if type(value) in _NUMBERS and _finite(value):
        return _TWO_DECIMALS(value)
    return _csv_value(value)


def _csv_percent(value: object) -> object:
    if type(value) in _NUMBERS and _finite(value):
        return _PERCENT(value)
    return _csv_value(value)


def _csv_date(value: object) -> object:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()  # the csv module's str() costs more for the same text
    return _csv_value(value)


_CSV_KINDS: dict[str, Callable[[object], object]] = {
    "text": _csv_value,
    "int": _csv_value,
    "float": _csv_float,
    "percent": _csv_percent,
    "date": _csv_date,
}


def _csv_column(kind: str, values: tuple[object, ...]) -> Iterable[object]:
    """One column of a batch as CSV shows it. A column of one plain type, the common case, is
    checked and converted whole by functions written in C; any other, value by value."""
    types = set(map(type, values))
    finite = types == {float} and all(map(math.isfinite, values))  # type: ignore[arg-type]
    if kind == "text" and types == {str}:
        texts: tuple[str, ...] = values  # type: ignore[assignment]
        if "".join(texts).isprintable() and not any(map(_RISKY_START, texts)):
            return values
    elif kind == "int" and types <= _INTS:
        return values
    elif kind == "float" and finite:
        return map(_TWO_DECIMALS, values)
    elif kind == "percent" and finite:
        return map(_PERCENT, values)
    elif kind == "date" and types == {date}:
        return map(date.isoformat, values)  # type: ignore[arg-type]
    return map(_CSV_KINDS[kind], values)


class _Lines:
    """What the csv writer writes to: lines kept in a list, encoded and written a batch at once
    (a TextIOWrapper costs half as much again as the csv module itself)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append

    def flush_to(self, stream: BinaryIO) -> None:
        stream.write("".join(self.lines).encode("utf-8"))
        self.lines.clear()


def write_csv(target: BinaryIO | Path, table: Table, *, progress: Progress | None = None) -> int:
    """Write ``table`` as CSV (UTF-8 with BOM, header first); return the rows written.

    A row with more or fewer values than the table has columns raises ValueError.
    """
    kinds = [column.kind for column in table.columns]
    width = {len(kinds)}
    counter = _Counter(progress, table.expected)
    lines = _Lines()
    writer = csv.writer(lines)
    with _opened(target) as stream:
        stream.write(codecs.BOM_UTF8)
        writer.writerow([_csv_value(column.header) for column in table.columns])
        for batch in _batches(table.rows, PROGRESS_EVERY):
            if set(map(len, batch)) != width:
                raise ValueError(f"{table.name}: a row without {len(kinds)} values")
            values = zip(*batch, strict=True)
            columns = [_csv_column(kind, col) for kind, col in zip(kinds, values, strict=True)]
            writer.writerows(zip(*columns, strict=True))
            lines.flush_to(stream)
            counter.add(len(batch))
        lines.flush_to(stream)
    counter.finish()
    return counter.done
