"""``workshopbot i18n extract|update|compile|check|export|import|init``: the catalogs'
upkeep, around pybabel (see docs/translating.md).

- ``extract`` writes ``locales/messages.pot`` from the code and the questionnaires;
- ``update`` merges it into every catalog (new messages arrive empty, gone ones are dropped);
- ``check`` is what CI runs: every message translated, placeholders kept, plural forms as
  CLDR gives them, every catalog compiles; it prints a coverage table and the entries
  awaiting review, and fails on any problem;
- ``compile`` writes ``messages.mo`` beside each catalog, for tools that want them (the bot
  compiles the ``.po`` files itself when it starts);
- ``export`` and ``import`` carry a catalog to and from a spreadsheet, for translators who
  do not use a ``.po`` editor;
- ``init`` starts a catalog for a new language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from babel.messages.frontend import CommandLineInterface

from bot import catalogs

cli = typer.Typer(help="Translations: catalogs, their check, spreadsheets.", no_args_is_help=True)

ROOT = Path(__file__).resolve().parents[2]  # the checkout: babel.cfg and the code are here
Locales = Annotated[Path, typer.Option(help="The catalogs' folder")]
Lang = Annotated[str, typer.Argument(help="A language code, as the catalog's folder (fa)")]
LOCALES = ROOT / "locales"


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])  # type: ignore[no-untyped-call]


def _catalog(locales: Path, lang: str) -> Path:
    path = locales / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        known = ", ".join(p.parent.parent.name for p in catalogs.catalog_paths(locales))
        raise typer.BadParameter(f"no catalog {path}; there are: {known}")
    return path


@cli.command("extract")
def extract(locales: Locales = LOCALES) -> None:
    """Write the template (messages.pot) from the code and the questionnaires."""
    _pybabel(
        "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_", "--no-location", "--sort-output",
        "--project", "workshopbot", "--copyright-holder", "workshopbot contributors",
        "-o", str(locales / "messages.pot"), str(ROOT),
    )  # fmt: skip
    typer.echo(f"wrote {locales / 'messages.pot'}")


@cli.command("update")
def update(
    locales: Locales = LOCALES,
    lang: Annotated[str | None, typer.Option(help="Only this catalog")] = None,
) -> None:
    """Merge the template into the catalogs: new messages arrive untranslated (the check
    then lists them), messages gone from the code are dropped."""
    extra = ["-l", lang] if lang else []
    _pybabel(
        "update", "-i", str(locales / "messages.pot"), "-d", str(locales), "-D", "messages",
        "--no-fuzzy-matching", *extra,
    )  # fmt: skip
    typer.echo("catalogs updated; now translate what `workshopbot i18n check` lists")


@cli.command("init")
def init(lang: Lang, locales: Locales = LOCALES) -> None:
    """Start a catalog for a new language (its plural forms from CLDR)."""
    _pybabel(
        "init", "-i", str(locales / "messages.pot"), "-d", str(locales), "-D", "messages",
        "-l", lang,
    )  # fmt: skip
    typer.echo(f"created {locales / lang / 'LC_MESSAGES' / 'messages.po'}")


@cli.command("compile")
def compile_(locales: Locales = LOCALES) -> None:
    """Write messages.mo beside every catalog (entries awaiting review included)."""
    _pybabel("compile", "-d", str(locales), "-D", "messages", "--use-fuzzy")
    typer.echo("compiled")


@cli.command("check")
def check(
    locales: Locales = LOCALES,
    review: Annotated[bool, typer.Option(help="List the entries awaiting review")] = True,
) -> None:
    """Check every catalog and print the coverage per language; fails on any problem."""
    reports = [catalogs.check(path) for path in catalogs.catalog_paths(locales)]
    if not reports:
        raise typer.BadParameter(f"no catalogs in {locales}")
    for report in reports:
        for problem in report.problems:
            typer.echo(f"{report.code}: {problem}", err=True)
    typer.echo(catalogs.table(reports))
    waiting = [(report.code, entry) for report in reports for entry in report.review]
    if review and waiting:
        typer.echo(f"\nawaiting review ({len(waiting)}):")
        for code, entry in waiting:
            typer.echo(f"  {code}: {entry}")
    problems = sum(len(report.problems) for report in reports)
    if problems:
        typer.echo(f"\n{problems} problem(s)", err=True)
        raise typer.Exit(1)


@cli.command("export")
def export(
    lang: Lang,
    target: Annotated[Path, typer.Argument(help="The spreadsheet to write (.xlsx)")],
    locales: Locales = LOCALES,
) -> None:
    """Write a catalog as a spreadsheet for a translator."""
    rows = catalogs.export_sheet(_catalog(locales, lang), target)
    typer.echo(f"wrote {rows} messages to {target}")


@cli.command("import")
def import_(
    lang: Lang,
    source: Annotated[Path, typer.Argument(help="The filled-in spreadsheet (.xlsx)")],
    locales: Locales = LOCALES,
) -> None:
    """Read a spreadsheet made by `export` back into the catalog, then check it."""
    path = _catalog(locales, lang)
    try:
        done = catalogs.import_sheet(source, path)
    except (OSError, ValueError, KeyError) as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{done.changed} message(s) changed in {path}")
    for english in done.unknown:
        typer.echo(f"not in the catalog (left out): {english[:70]!r}", err=True)
    report = catalogs.check(path)
    for problem in report.problems:
        typer.echo(f"{lang}: {problem}", err=True)
    typer.echo(catalogs.table([report]))
    if report.problems:
        raise typer.Exit(1)
