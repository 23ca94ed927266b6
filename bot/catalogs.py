"""Catalog upkeep for translators and CI: what ``workshopbot i18n check`` verifies.

A catalog passes when every message has a translation, every plural entry has the number of
forms CLDR gives its language (the ``Plural-Forms`` header must say the same), every named
placeholder of the English text is in the translation and no other, and it compiles.

Placeholders in plural entries: a form may leave out the number (``{count}`` or ``{n}``:
Arabic says "one seat", not "1 seat"), but the last form, used for most numbers, must have
it; every other placeholder must be in every form.

An entry the translator was not sure of is marked fuzzy *with a translator comment* saying
what to check; it is reported as awaiting review, and it is shown to people (a careful guess
reads better than English to someone who reads no English). A fuzzy entry without a comment
fails the check.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from flows.i18n import PLACEHOLDER, entry_texts

SOURCE_LOCALE = "en"
NUMBER_NAMES = frozenset({"count", "n"})  # the number a plural entry is chosen by


@dataclass
class Report:
    code: str
    path: Path
    total: int = 0
    translated: int = 0
    review: list[str] = field(default_factory=list)  # fuzzy with a comment: awaiting review
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def catalog_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/LC_MESSAGES/messages.po"))


def read(path: Path) -> Catalog:
    code = path.parent.parent.name
    with path.open("rb") as handle:
        return read_po(handle, locale=code, abort_invalid=True)


def check(path: Path) -> Report:
    code = path.parent.parent.name
    report = Report(code, path)
    try:
        catalog = read(path)
    except Exception as error:  # a syntax error: nothing else can be checked
        report.problems.append(f"does not parse: {error}")
        return report
    expected = Catalog(locale=code).num_plurals
    if catalog.num_plurals != expected:
        report.problems.append(
            f"Plural-Forms says {catalog.num_plurals} forms; CLDR gives {code} {expected}"
        )
    for message in catalog:
        if not message.id:
            continue
        report.total += 1
        label = _label(message)
        forms = entry_texts(message.string)
        if message.pluralizable and len(forms) != expected:
            report.problems.append(f"{label}: {len(forms)} plural forms, {expected} wanted")
        if not forms or not all(form.strip() for form in forms):
            if code != SOURCE_LOCALE:
                report.problems.append(f"{label}: not translated")
            continue
        report.problems.extend(f"{label}: {problem}" for problem in placeholder_problems(message))
        if message.fuzzy:
            if not _translator_comment(message):
                report.problems.append(f"{label}: fuzzy without a comment saying what to check")
                continue
            report.review.append(f"{label}: {_translator_comment(message)}")
        report.translated += 1
    if code == SOURCE_LOCALE:
        report.translated = report.total  # English is the source: an empty string means "as is"
    try:
        write_mo(io.BytesIO(), catalog, use_fuzzy=True)
    except Exception as error:
        report.problems.append(f"does not compile: {error}")
    return report


def placeholder_problems(message: Message) -> list[str]:
    ids = entry_texts(message.id)
    forms = entry_texts(message.string)
    if not ids or not forms:
        return []
    wanted = set().union(*(_names(text) for text in ids))
    problems = []
    for index, form in enumerate(forms):
        names = _names(form)
        unknown = names - wanted
        missing = wanted - names
        if message.pluralizable and index < len(forms) - 1:
            missing -= NUMBER_NAMES
        if unknown:
            problems.append(f"form {index} has unknown {_braces(unknown)}")
        if missing:
            problems.append(f"form {index} lacks {_braces(missing)}")
    return problems


def _names(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _braces(names: Iterable[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(names))


def _label(message: Message) -> str:
    first = entry_texts(message.id)[0]
    return repr(first if len(first) <= 60 else first[:57] + "...")


def _translator_comment(message: Message) -> str:
    return " ".join(comment.strip() for comment in message.user_comments if comment.strip())


def table(reports: Sequence[Report]) -> str:
    """Coverage per language, one line each."""
    lines = [f"{'language':<10} {'messages':>8} {'translated':>10} {'review':>6} {'problems':>8}"]
    for report in reports:
        share = report.translated / report.total if report.total else 0.0
        lines.append(
            f"{report.code:<10} {report.total:>8} {report.translated:>5} {share:>4.0%} "
            f"{len(report.review):>6} {len(report.problems):>8}"
        )
    return "\n".join(lines)


# --- spreadsheets for translators who do not use a .po editor ---------------------------------

SHEET_COLUMNS = ("English", "English (plural)", "Where it is shown", "Needs review", "Note")
FORM_HEADER = "Translation {n}"  # one column per plural form; singular entries use the first


def export_sheet(path: Path, target: Path) -> int:
    """Write a catalog as a spreadsheet: one row per message, the English, where it is shown,
    a column per plural form, and "Needs review" with the translator's note. Returns the rows
    written. Import it back with :func:`import_sheet`."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    catalog = read(path)
    code = path.parent.parent.name
    forms = catalog.num_plurals
    rtl = Locale.parse(code).character_order == "right-to-left"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = code
    headers = [*SHEET_COLUMNS[:3], *(FORM_HEADER.format(n=n + 1) for n in range(forms)),
               *SHEET_COLUMNS[3:]]  # fmt: skip
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    wrap = Alignment(wrap_text=True, vertical="top")
    right = Alignment(wrap_text=True, vertical="top", horizontal="right", readingOrder=2)
    rows = 0
    for message in catalog:
        if not message.id:
            continue
        ids = entry_texts(message.id)
        strings = entry_texts(message.string)
        where = " ".join(message.auto_comments)
        if message.pluralizable:
            where = (where + " " + plural_guide(catalog)).strip()
        shown = forms if message.pluralizable else 1
        values = [ids[0], ids[1] if len(ids) > 1 else "", where]
        values += [strings[n] if n < len(strings) else "" for n in range(shown)]
        values += [""] * (forms - shown)
        values += ["yes" if message.fuzzy else "", _translator_comment(message)]
        sheet.append(values)
        rows += 1
        for index, cell in enumerate(sheet[sheet.max_row]):
            cell.data_type = "s"  # text, even when it starts with "=" or "+"
            translated = 3 <= index < 3 + forms
            cell.alignment = right if translated and rtl else wrap
    widths = [40, 25, 25, *([40] * forms), 12, 30]
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    book.save(target)
    return rows


def plural_guide(catalog: Catalog) -> str:
    """Which numbers each plural form is for: "Translation 1: 1, 21, 31…; Translation 2:
    2, 3, 4…" (from the catalog's Plural-Forms rule)."""
    choose = gettext.c2py(catalog.plural_expr)
    examples: dict[int, list[int]] = {}
    for n in [*range(201), 1000, 1_000_000]:
        found = examples.setdefault(choose(n), [])
        if len(found) < 4:
            found.append(n)
    return "; ".join(
        FORM_HEADER.format(n=index + 1) + ": " + ", ".join(map(str, numbers)) + "…"
        for index, numbers in sorted(examples.items())
    )


@dataclass
class Imported:
    changed: int = 0
    unknown: list[str] = field(default_factory=list)  # rows whose English is not in the catalog


def import_sheet(source: Path, path: Path) -> Imported:
    """Read a spreadsheet made by :func:`export_sheet` (and filled in) back into the catalog:
    rows are matched by their English text; "Needs review" marks an entry fuzzy and its note
    becomes the translator comment. The catalog is written only if every row was read."""
    from openpyxl import load_workbook

    catalog = read(path)
    forms = catalog.num_plurals
    book = load_workbook(source, read_only=True)
    sheet = book.worksheets[0]
    done = Imported()
    rows = sheet.iter_rows(values_only=True)
    header = [str(value or "") for value in next(rows, ())]
    column = {name: index for index, name in enumerate(header)}
    form_columns = [column[FORM_HEADER.format(n=n + 1)] for n in range(forms)
                    if FORM_HEADER.format(n=n + 1) in column]  # fmt: skip
    if "English" not in column or not form_columns:
        raise ValueError(f"{source}: not a sheet exported by 'workshopbot i18n export'")
    for row in rows:
        cells = ["" if value is None else str(value) for value in row]
        english = cells[column["English"]] if len(cells) > column["English"] else ""
        if not english:
            continue
        message = catalog.get(english)
        if message is None:
            done.unknown.append(english)
            continue
        texts = [cells[index] if index < len(cells) else "" for index in form_columns]
        review = "Needs review" in column and cells[column["Needs review"]].strip() != ""
        note = cells[column["Note"]].strip() if "Note" in column else ""
        new = tuple(texts) if message.pluralizable else texts[0]
        if new != message.string or review != message.fuzzy:
            done.changed += 1
        message.string = new
        if review:
            message.flags.add("fuzzy")
        else:
            message.flags.discard("fuzzy")
        message.user_comments = [note] if note else []
    book.close()
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76)
    return done
