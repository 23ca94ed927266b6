"""The translators' workflow (``workshopbot i18n``, docs/translating.md) and the operator's
names in other languages (``session title``, ``session place``, ``centre name``), through the
real command line."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.pofile import read_po
from openpyxl import load_workbook  # type: ignore[import-untyped]

from bot import catalogs
from bot.settings import PROJECT_ROOT
from tests.test_cli import workshopbot

LOCALES = PROJECT_ROOT / "locales"


def copy_of(tmp_path: Path, *codes: str) -> Path:
    """A locales folder with the template and these catalogs."""
    target = tmp_path / "locales"
    target.mkdir()
    shutil.copy(LOCALES / "messages.pot", target)
    for code in codes:
        shutil.copytree(LOCALES / code, target / code)
    return target


def po(path: Path, code: str) -> Path:
    return path / code / "LC_MESSAGES" / "messages.po"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_check_passes_on_the_real_catalogs_and_prints_coverage(tmp_path: Path) -> None:
    done = workshopbot(tmp_path, "i18n", "check")
    assert done.returncode == 0, done.stderr
    for code in ("ar", "fa", "ps", "ur", "ckb", "uk", "ru", "tr", "fr", "es", "sr_Latn"):
        assert f"\n{code} " in done.stdout and "100%" in done.stdout
    assert "awaiting review" in done.stdout  # fuzzy entries, each with what to check


def test_the_check_fails_on_each_kind_of_mistake(tmp_path: Path) -> None:
    locales = copy_of(tmp_path, "fr", "ru")
    fr, ru = po(locales, "fr"), po(locales, "ru")
    report = catalogs.check(fr)
    assert report.ok and report.translated == report.total
    # A placeholder renamed, one dropped, an entry emptied, a fuzzy one without a comment.
    edit(fr, 'msgstr "Vous êtes à {centre}', 'msgstr "Vous êtes à {centr}')
    lines = fr.read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("msgstr") and "{title}" in line)
    lines[at] = lines[at].replace("{title}", "le titre")
    fr.write_text("\n".join(lines), encoding="utf-8")
    text = fr.read_text(encoding="utf-8")
    first = text.index('msgid "Yes, cancel"')
    start = text.index("msgstr", first)
    end = text.index("\n\n", start)
    fr.write_text(text[:start] + 'msgstr ""' + text[end:], encoding="utf-8")
    edit(fr, 'msgid "Skip"', '#, fuzzy\nmsgid "Skip"')
    problems = "\n".join(catalogs.check(fr).problems)
    assert "unknown {centr}" in problems and "lacks {centre}" in problems
    assert "lacks {title}" in problems
    assert "'Yes, cancel': not translated" in problems
    assert "'Skip': fuzzy without a comment" in problems
    # A plural entry with a form missing (Russian has three).
    text = ru.read_text(encoding="utf-8")
    at = text.index("msgstr[2]")
    ru.write_text(text[:at] + text[text.index("\n", at) + 1 :], encoding="utf-8")
    assert "'+{count} waiting': not translated" in catalogs.check(ru).problems

    done = workshopbot(tmp_path, "i18n", "check", "--locales", str(locales))
    assert done.returncode == 1
    assert "fr: 'Yes, cancel': not translated" in done.stderr
    assert "problem(s)" in done.stderr


def test_a_spreadsheet_goes_out_and_comes_back(tmp_path: Path) -> None:
    locales = copy_of(tmp_path, "ar")
    sheet = tmp_path / "ar.xlsx"
    out = workshopbot(tmp_path, "i18n", "export", "ar", str(sheet), "--locales", str(locales))
    assert out.returncode == 0, out.stderr
    book = load_workbook(sheet)
    ws = book.active
    assert ws is not None
    header = [cell.value for cell in ws[1]]
    assert header[:4] == ["English", "English (plural)", "Where it is shown", "Translation 1"]
    assert header.count("Translation 6") == 1  # Arabic has six plural forms
    rows = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    plural = rows["+{count} waiting"]
    assert "Translation 2: 1" in str(plural[2].value)  # which numbers each form is for
    assert rows["Yes, cancel"][3].alignment.horizontal == "right"  # Arabic reads from the right
    # A translator changes one entry and marks another for review.
    rows["Yes, cancel"][3].value = "نعم، ألغِ الحجز"
    rows["Skip"][header.index("Needs review")].value = "yes"
    rows["Skip"][header.index("Note")].value = "review: is تخطَّ too short?"
    book.save(sheet)
    back = workshopbot(tmp_path, "i18n", "import", "ar", str(sheet), "--locales", str(locales))
    assert back.returncode == 0, back.stderr
    assert "2 message(s) changed" in back.stdout
    with po(locales, "ar").open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    cancel, skip = catalog.get("Yes, cancel"), catalog.get("Skip")
    assert cancel is not None and skip is not None
    assert cancel.string == "نعم، ألغِ الحجز"
    assert skip.fuzzy and skip.user_comments == ["review: is تخطَّ too short?"]
    # A spreadsheet that breaks a placeholder is written, reported, and fails.
    rows["Yes, cancel"][3].value = "{oops}"
    book.save(sheet)
    bad = workshopbot(tmp_path, "i18n", "import", "ar", str(sheet), "--locales", str(locales))
    assert bad.returncode == 1 and "unknown {oops}" in bad.stderr
    wrong = workshopbot(tmp_path, "i18n", "import", "xx", str(sheet), "--locales", str(locales))
    assert wrong.returncode == 2 and "no catalog" in wrong.stderr


def test_names_in_other_languages_from_the_command_line(tmp_path: Path) -> None:
    assert (
        workshopbot(tmp_path, "centre", "add", "--slug", "k", "--name", "Krnjača").returncode == 0
    )
    named = workshopbot(tmp_path, "centre", "name", "k", "--in", "cyrl", "Крњача")
    assert named.returncode == 0, named.stderr
    assert "Крњача" in named.stdout and '"Cyrl"' in named.stdout
    added = workshopbot(
        tmp_path, "session", "add", "--centre", "k", "--title", "Radionica šivenja",
        "--starts", "2099-01-05 10:00", "--capacity", "5", "--place", "Sala 2",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    titled = workshopbot(tmp_path, "session", "title", "1", "--lang", "fa", "خیاطی برای زنان")
    assert titled.returncode == 0 and "title (fa) set" in titled.stdout
    placed = workshopbot(tmp_path, "session", "place", "1", "--in", "Arab", "القاعة ٢")
    assert placed.returncode == 0 and "place (Arab) set" in placed.stdout
    wrong = workshopbot(tmp_path, "session", "title", "1", "--lang", "xx-@", "?")
    assert wrong.returncode == 2 and "not a language code" in wrong.stderr
    # Someone reading Persian sees the Persian title and the Arabic-script place.
    fa = workshopbot(tmp_path, "chat", "--lang", "fa", stdin="1\n1\n1\n1\n1\n")
    assert fa.returncode == 0, fa.stderr
    assert "خیاطی برای زنان" in fa.stdout and "القاعة ٢" in fa.stdout
    assert "Radionica" not in fa.stdout
    unknown = workshopbot(tmp_path, "chat", "--lang", "de")
    assert unknown.returncode == 2 and "no catalog for 'de'" in unknown.stderr
