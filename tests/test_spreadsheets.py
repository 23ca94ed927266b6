"""The export writers, read back as a person's spreadsheet program would: the workbook with
openpyxl (sheets, header, panes, widths, number formats, direction, notes), the CSV with the
csv module (BOM, Arabic and Serbian intact, formula guard, empty None), and what a progress
callback is told. Nothing is mocked: every test writes a real file and opens it again.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.spreadsheets import (
    Column,
    Notes,
    Table,
    sheet_name,
    write_csv,
    write_xlsx,
)

ARABIC = "مركز الاستقبال في بلغراد"
CYRILLIC = "Прихватни центар Крњача, ђ ж љ њ ћ џ"
LATIN = "Prihvatni centar Krnjača, đ ž lj nj ć dž"
UNSAFE = ['=HYPERLINK("http://example.org","x")', "=1+1", "+381 11", "-5", "@SUM(A1)"]

COLUMNS = [
    Column("Centre", note="The reception centre."),
    Column("Week", "date", note="Monday of the week."),
    Column("Sessions", "int", width=14),
    Column("Rating", "float"),
    Column("Attendance", "percent", note="Attendances over seats booked."),
]
ROWS: list[Sequence[object]] = [
    (LATIN, date(2026, 1, 5), 3, 4.256, 0.875),
    (CYRILLIC, datetime(2026, 1, 12, 9, 30), 0, None, 1.0),
    ("Obrenovac", None, 12, float("nan"), None),
]
NOTES = Notes("Session counts, 1 Jan 2026 – 31 Mar 2026", ["How it was made.", "Small groups."])


def _table(name: str = "Counts", rows: Iterable[Sequence[object]] = ROWS, **kw: Any) -> Table:
    return Table(name, COLUMNS, iter(rows), **kw)


def _xlsx(path: Path, tables: Sequence[Table], notes: Notes = NOTES, **kw: Any) -> Any:
    write_xlsx(path, tables, notes, **kw)
    return openpyxl.load_workbook(path)


def _values(ws: Any) -> list[tuple[object, ...]]:
    return list(ws.iter_rows(values_only=True))


def _csv(path: Path, table: Table) -> list[list[str]]:
    write_csv(path, table)
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


# -- Excel -----------------------------------------------------------------------------------


def test_a_table_sheet_has_a_bold_frozen_header_widths_and_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "counts.xlsx"
    assert write_xlsx(path, [_table()], NOTES) == 3
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Notes", "Counts"]
    ws = wb["Counts"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    widths = [ws.column_dimensions[letter].width for letter in "ABCDE"]
    assert widths[2] == 14 and all(w >= 10 for w in widths)
    first, second, third = ws[2], ws[3], ws[4]
    assert first[0].value == LATIN and second[0].value == CYRILLIC
    assert first[1].is_date and first[1].value.date() == date(2026, 1, 5)
    assert second[1].value.date() == date(2026, 1, 12)  # a datetime shows its day
    assert first[1].number_format == second[1].number_format == "yyyy-mm-dd"
    assert first[2].value == 3 and isinstance(first[2].value, int)
    assert first[3].value == 4.26  # floats to two decimals
    assert first[4].value == 0.875 and first[4].number_format == "0.0%"
    assert second[3].value is None and third[1].value is None  # None stays empty
    assert third[3].value is None  # NaN: Excel has none, so the cell is empty
    assert not first[0].font.b and first[2].number_format == "General"  # only what needs it


def test_the_notes_sheet_comes_first_and_says_what_each_column_means(tmp_path: Path) -> None:
    plain = Table("Plain", [Column("Nothing to say")], iter([("x",)]))
    wb = _xlsx(tmp_path / "n.xlsx", [_table(), plain])
    assert wb.sheetnames == ["Notes", "Counts", "Plain"]
    ws = wb.worksheets[0]
    assert _values(ws) == [
        (NOTES.title, None),
        ("How it was made.", None),
        ("Small groups.", None),
        (None, None),
        ("Column", "Meaning"),
        ("Counts", None),
        ("Centre", "The reception centre."),
        ("Week", "Monday of the week."),
        ("Attendance", "Attendances over seats booked."),
    ]  # no sub-heading for a table whose columns have no note
    assert ws["A1"].font.b and ws["A5"].font.b and ws["B5"].font.b and ws["A6"].font.b
    assert ws["A2"].alignment.wrap_text and ws["B7"].alignment.wrap_text
    assert ws.column_dimensions["A"].width >= 60
    assert ws.row_dimensions[2].height == 15  # sized for programs that do not size rows


def test_a_right_to_left_sheet_and_text_in_three_scripts_survive(tmp_path: Path) -> None:
    rows = [(ARABIC, None, 1, None, None), (CYRILLIC, None, 2, None, None)]
    ltr = Table("Latin", COLUMNS, iter([(LATIN, None, 0, None, None), *rows]))
    rtl = Table("عربي", COLUMNS, iter(rows), rtl=True)
    notes = Notes("ملاحظات", ["سطر"], sheet_name="ملاحظات", rtl=True)
    wb = _xlsx(tmp_path / "rtl.xlsx", [ltr, rtl], notes)
    assert wb.sheetnames == ["ملاحظات", "Latin", "عربي"]
    assert wb["عربي"].sheet_view.rightToLeft and wb["ملاحظات"].sheet_view.rightToLeft
    assert not wb["Latin"].sheet_view.rightToLeft
    assert [r[0] for r in _values(wb["Latin"])[1:]] == [LATIN, ARABIC, CYRILLIC]
    assert [r[0] for r in _values(wb["عربي"])[1:]] == [ARABIC, CYRILLIC]
    arabic_in_ltr = wb["Latin"]["A3"].alignment
    assert arabic_in_ltr.horizontal == "right" and arabic_in_ltr.readingOrder == 2
    assert wb["Latin"]["A4"].alignment.horizontal is None  # Cyrillic reads left to right
    assert wb["عربي"]["A2"].alignment.horizontal is None  # the sheet already reads RTL


def test_a_table_longer_than_max_rows_goes_on_in_numbered_sheets(tmp_path: Path) -> None:
    rows = [(f"c{i}", None, i, None, None) for i in range(7)]
    exact = [(f"e{i}", None, i, None, None) for i in range(3)]
    name = "A table name of thirty-one char"
    tables = [_table(name, rows), _table("Exact", exact)]
    path = tmp_path / "split.xlsx"
    assert write_xlsx(path, tables, NOTES, max_rows=3) == 10
    wb = openpyxl.load_workbook(path)
    parts = [name, "A table name of thirty-one (2)", "A table name of thirty-one (3)"]
    assert wb.sheetnames == ["Notes", *parts, "Exact"]
    assert all(len(part) <= 31 for part in parts)
    for part in parts:
        ws = wb[part]
        assert ws["A1"].value == "Centre" and ws["A1"].font.b and ws.freeze_panes == "A2"
    got = [r[2] for part in parts for r in _values(wb[part])[1:]]
    assert got == list(range(7))
    assert [len(_values(wb[part])) for part in parts] == [4, 4, 2]
    assert len(_values(wb["Exact"])) == 4  # exactly max_rows: no empty continuation sheet


def test_sheet_names_follow_excels_rules_and_are_unique(tmp_path: Path) -> None:
    assert sheet_name("Feedback: [week] 1/2026? *\\") == "Feedback week 12026"
    assert sheet_name("'quoted'") == "quoted"
    assert sheet_name("x" * 40) == "x" * 31
    assert sheet_name("[]:*?/\\") == "Sheet"
    assert sheet_name("history") == "history_"
    tables = [_table("notes", []), _table("Counts", []), _table("COUNTS", []), _table("C/o", [])]
    wb = _xlsx(tmp_path / "names.xlsx", tables)
    assert wb.sheetnames == ["Notes", "notes (2)", "Counts", "COUNTS (2)", "Co"]


def test_control_characters_become_spaces_and_formulas_stay_text(tmp_path: Path) -> None:
    texts = ["bell\x07 and\x00nul\x1f", "line\nbreak\ttab", "#N/A", "=", "lone \ud800", *UNSAFE]
    rows = [(text, None, None, None, None) for text in texts]
    path = tmp_path / "unsafe.xlsx"
    wb = _xlsx(path, [_table(rows=rows)])
    cells = [row[0] for row in wb["Counts"].iter_rows(min_row=2)]
    expected = ["bell  and nul ", "line\nbreak\ttab", "#N/A", "=", "lone  ", *UNSAFE]
    assert [c.value for c in cells] == expected
    assert all(c.data_type == "s" for c in cells)
    assert cells[2].quotePrefix and cells[5].quotePrefix  # "#N/A" and "=HYPERLINK(...)"
    assert cells[1].alignment.wrap_text and not cells[0].alignment.wrap_text  # a line break
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert names and not any(b"<f>" in archive.read(n) for n in names)


def test_empty_tables_give_a_header_row_and_a_valid_workbook(tmp_path: Path) -> None:
    tables = [_table("One", []), Table("Two", [Column("Only")], [])]
    path = tmp_path / "empty.xlsx"
    assert write_xlsx(path, tables, Notes("Nothing", [])) == 0
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Notes", "One", "Two"]
    assert _values(wb["One"]) == [tuple(c.header for c in COLUMNS)]
    assert _values(wb["Two"]) == [("Only",)]
    assert _values(wb["Notes"])[0][0] == "Nothing"


def test_a_workbook_goes_to_an_open_stream_and_leaves_it_open() -> None:
    stream = io.BytesIO()
    assert write_xlsx(stream, [_table()], NOTES) == 3
    assert not stream.closed
    stream.seek(0)
    assert openpyxl.load_workbook(stream).sheetnames == ["Notes", "Counts"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=20))
@example(["a\rb", "\r\n", " lead", "trail ", "\u200f", "\ufeffx", "#", "#REF!", "= x", ""])
def test_any_text_comes_back_from_a_workbook(texts: list[str]) -> None:
    stream = io.BytesIO()
    write_xlsx(stream, [Table("T", [Column("Text")], [(text,) for text in texts])], NOTES)
    stream.seek(0)
    got = [row[0] for row in _values(openpyxl.load_workbook(stream)["T"])[1:]]
    lines = [_readable(text).replace("\r\n", "\n").replace("\r", "\n") for text in texts]
    assert got == [text or None for text in lines]  # Excel's line break is LF


def _readable(text: str) -> str:
    """``text`` with what no workbook can hold made spaces, as the writers promise."""
    bad = {*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000)}
    return "".join(" " if ord(c) in bad or c in "\ufffe\uffff" else c for c in text)


# -- both: progress and atomic files ---------------------------------------------------------


def _numbers(count: int) -> Iterator[tuple[object, ...]]:
    return ((f"c{i}", None, i, None, None) for i in range(count))


def test_progress_counts_up_and_ends_with_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    tables = [_table("A", _numbers(7_000), expected=7_000), _table("B", _numbers(5_345))]
    assert write_xlsx(tmp_path / "p.xlsx", tables, NOTES, progress=_record(calls)) == 12_345
    assert calls == [(5_000, None), (12_000, None), (12_345, None)]  # B's count is unknown
    calls.clear()
    tables = [_table("A", _numbers(4_000), expected=4_000), _table("B", [], expected=0)]
    write_xlsx(tmp_path / "q.xlsx", tables, NOTES, progress=_record(calls))
    assert calls == [(4_000, 4_000)]
    calls.clear()
    write_xlsx(tmp_path / "r.xlsx", [], NOTES, progress=_record(calls))
    assert calls == [(0, 0)]
    calls.clear()
    table = Table("C", COLUMNS, _numbers(11_000), expected=11_000)
    assert write_csv(tmp_path / "p.csv", table, progress=_record(calls)) == 11_000
    assert calls == [(5_000, 11_000), (10_000, 11_000), (11_000, 11_000)]


def _record(calls: list[tuple[int, int | None]]) -> Any:
    return lambda done, expected: calls.append((done, expected))


def _failing() -> Iterator[tuple[object, ...]]:
    yield from _numbers(10)
    raise RuntimeError("the database went away")


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_failed_export_leaves_the_old_file_and_no_half_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"export.{suffix}"
    path.write_bytes(b"the export of last week")
    table = Table("T", COLUMNS, _failing())
    with pytest.raises(RuntimeError, match="went away"):
        if suffix == "xlsx":
            write_xlsx(path, [table], NOTES)
        else:
            write_csv(path, table)
    assert path.read_bytes() == b"the export of last week"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_row_of_the_wrong_length_or_an_odd_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_xlsx(tmp_path / "x.xlsx", [_table(rows=[("one", None)])], NOTES)
    with pytest.raises(ValueError, match="without 5 values"):
        write_csv(tmp_path / "x.csv", _table(rows=[*ROWS, ("one", None)]))
    with pytest.raises(ValueError):  # a value no spreadsheet holds
        write_xlsx(tmp_path / "y.xlsx", [_table(rows=[*ROWS, (object(), None, 1, 1.0, 1)])], NOTES)
    assert list(tmp_path.iterdir()) == []


# -- CSV -------------------------------------------------------------------------------------


def test_csv_has_a_bom_iso_dates_short_numbers_and_empty_nones(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    rows = _csv(path, _table(rows=[*ROWS, ("Inf", date(2026, 3, 30), 7, math.inf, 0.0004)]))
    data = path.read_bytes()
    assert data[:3] == b"\xef\xbb\xbf" and data.count(b"\r\n") == 5
    assert rows == [
        [c.header for c in COLUMNS],
        [LATIN, "2026-01-05", "3", "4.26", "87.5%"],
        [CYRILLIC, "2026-01-12", "0", "", "100.0%"],
        ["Obrenovac", "", "12", "", ""],
        ["Inf", "2026-03-30", "7", "", "0.0%"],
    ]


def test_csv_columns_of_one_type_or_of_several_come_out_alike(tmp_path: Path) -> None:
    clean = [(LATIN, date(2026, 1, 5), 3, 4.256, 0.875), (ARABIC, date(2026, 2, 2), 0, 1.0, 1.0)]
    odd = ("=1", datetime(2026, 3, 2, 8), True, 2, 1)  # now no column has one type
    expected = [
        [LATIN, "2026-01-05", "3", "4.26", "87.5%"],
        [ARABIC, "2026-02-02", "0", "1.00", "100.0%"],
    ]
    assert _csv(tmp_path / "clean.csv", _table(rows=clean))[1:] == expected
    rows = _csv(tmp_path / "mixed.csv", _table(rows=[*clean, odd]))[1:]
    assert rows == [*expected, ["'=1", "2026-03-02", "True", "2.00", "100.0%"]]


def test_csv_keeps_arabic_and_serbian_and_guards_against_formulas(tmp_path: Path) -> None:
    texts = [ARABIC, CYRILLIC, LATIN, *UNSAFE, "\tx", "\rx", "a\x00b", 'a, "quoted"\nline']
    rows = _csv(tmp_path / "t.csv", Table("T", [Column("Text")], [(t,) for t in texts]))
    assert [row[0] for row in rows[1:]] == [
        ARABIC,
        CYRILLIC,
        LATIN,
        *("'" + text for text in UNSAFE),
        "'\tx",
        "'\rx",
        "a b",
        'a, "quoted"\nline',
    ]


def test_csv_goes_to_an_open_stream_and_leaves_it_open() -> None:
    stream = io.BytesIO()
    assert write_csv(stream, _table(rows=[])) == 0
    assert not stream.closed
    assert stream.getvalue() == "\ufeffCentre,Week,Sessions,Rating,Attendance\r\n".encode()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_any_text_comes_back_from_a_csv(texts: list[str]) -> None:
    stream = io.BytesIO()
    write_csv(stream, Table("T", [Column("Text")], [(text,) for text in texts]))
    with io.TextIOWrapper(io.BytesIO(stream.getvalue()), encoding="utf-8-sig", newline="") as f:
        got = [row[0] for row in list(csv.reader(f))[1:]]
    expected = [_readable(text) for text in texts]
    assert got == ["'" + t if t[:1] in ("=", "+", "-", "@", "\t", "\r") else t for t in expected]
