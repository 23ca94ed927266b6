"""``workshopbot stats``: session counts per centre and month, and the month's Viber messages;
``workshopbot export``: counts or anonymous feedback as CSV or Excel."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table

from bot import exports
from bot.cli.common import database, fail, settings
from bot.startup import make_clock
from flows import figures
from flows.figures import Period, PeriodError
from flows.i18n import CatalogError, Catalogs
from flows.questionnaire import QuestionnaireError, Questionnaires
from storage import queries as q

CentreSlug = Annotated[str | None, typer.Option("--centre", help="Centre slug (default: all)")]
From = Annotated[
    str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: 12 months back)")
]
To = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today)")]


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a day like 2026-03-31, not {text!r}")


def _period(first: str | None, last: str | None, today: date) -> Period:
    end = _day(last, "--to") if last else today
    start = _day(first, "--from") if first else figures.last_months(end, 12).first
    try:
        return Period.checked(start, end)
    except PeriodError as error:
        fail(f"--from/--to: {error}")


def stats(
    centre: CentreSlug = None,
    first: From = None,
    last: To = None,
    month: Annotated[
        str | None, typer.Option(help="Viber usage of this month, YYYY-MM (UTC); default now")
    ] = None,
) -> None:
    """Session counts per centre and month (sessions, bookings, attendances, distinct people,
    waitlist, feedback), then this month's Viber messages."""
    from bot.billing import month_of  # the Viber side: not needed by export

    config = settings()
    now = make_clock().now()
    period = _period(first, last, now.date())
    month = month or month_of(now)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        fail("--month must look like 2026-12")
    db = database(config)
    with db.session() as s:
        try:
            centres = exports.centres_for(s, centre)
        except exports.ExportError as error:
            fail(str(error))
        counts = figures.counts(s, period, centres, now)
        usage = q.usage(s, "viber", month)
        people = q.count_people(s)
    console = Console(width=None if sys.stdout.isatty() else 150)
    table = Table(
        "centre", "month", "held", "cancelled", "booked", "attended", "people", "rate",
        "from waitlist", "feedback",
        title=f"Sessions {period.first} to {period.last}",
    )  # fmt: skip
    for name, when, tally in _count_lines(counts):
        rate = "-" if tally.rate is None else f"{tally.rate:.0%}"
        table.add_row(
            name, when, str(tally.held), str(tally.cancelled), str(tally.booked),
            str(tally.attended), str(tally.distinct), rate, str(tally.promoted),
            str(tally.feedback),
        )  # fmt: skip
    console.print(table)
    cap = config.viber_monthly_proactive_cap
    viber = Table("month", "what", "count", title="Viber messages")
    viber.add_row(month, "replies (free, within 24 h of the person writing)", str(usage.replies))
    viber.add_row(month, "bot-initiated (billed)", str(usage.bot_initiated))
    viber.add_row(month, "bot-initiated cap", "none" if cap is None else str(cap))
    viber.add_row(month, "cap used (incl. failed sends)", str(usage.reserved))
    for status, count in sorted(usage.by_billing_status.items(), key=lambda kv: str(kv[0])):
        viber.add_row(month, f"billing_status {status}", str(count))
    viber.add_row("now", "people who agreed", str(people))
    console.print(viber)


def _count_lines(counts: figures.Counts) -> list[tuple[str, str, figures.Tally]]:
    lines = []
    for centre in counts.centres:
        for month in counts.months:
            lines.append((centre.name, f"{month:%Y-%m}", counts.row(centre.id or 0, month)))
        lines.append((centre.name, "whole period", counts.by_centre[centre.id or 0]))
    if len(counts.centres) > 1:
        lines.append(("all centres", "whole period", counts.total))
    return lines


class What(StrEnum):
    counts = "counts"
    feedback = "feedback"


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


def export(
    what: Annotated[What, typer.Argument(help="counts, or feedback (anonymous, aggregated)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write")],
    first: From = None,
    last: To = None,
    centre: CentreSlug = None,
    format_: Annotated[
        Format | None, typer.Option("--format", help="csv or xlsx (default: from -o)")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the headings and notes")] = "en",
) -> None:
    """Write session counts or anonymous feedback to a CSV or Excel file. Feedback groups of
    fewer than FEEDBACK_MIN_GROUP responses are hidden; the current week is never exported.
    CSV feedback also writes <name>-comments.csv beside it."""
    config = settings()
    clock = make_clock()
    now = clock.now()
    fmt = str(format_) if format_ else exports.formats_of(output)
    if fmt is None:
        fail("say --format csv or xlsx (or end the file name in .csv or .xlsx)")
    period = _period(first, last, now.date())
    try:
        exports.check_target(output)
        catalogs = Catalogs.load(config.locales_dir)
        questionnaires = Questionnaires.load(config.questionnaire_dir)
    except (exports.ExportError, CatalogError, QuestionnaireError) as error:
        fail(str(error))
    if not catalogs.supports(lang):
        fail(f"unknown language {lang!r}; known: {', '.join(catalogs.codes)}")
    jobs = [(exports.Export(str(what), fmt, period, lang, centre), output)]
    if fmt == "csv" and what is What.feedback:
        [comments] = exports.file_names(output, "csv", ["comments"])
        jobs.append((exports.Export("comments", fmt, period, lang, centre), comments))
    db = database(config)
    console = Console(stderr=True)
    today = _today(now, config.timezone)
    report = None
    if what is What.feedback:  # made once for both files of a CSV export
        with db.session() as s:
            try:
                report = exports.feedback_of(
                    s, jobs[0][0], today=today, min_group=config.feedback_min_group
                )
            except exports.ExportError as error:
                fail(str(error))
    for job, path in jobs:
        with (
            db.session() as s,
            Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                     console=console, transient=True) as bar,
        ):  # fmt: skip
            task = bar.add_task(path.name, total=None)

            def show(
                done: int, expected: int | None, task: TaskID = task, bar: Progress = bar
            ) -> None:
                bar.update(task, completed=done, total=expected)

            try:
                rows = exports.write(
                    s, job, path, catalogs=catalogs, questionnaires=questionnaires,
                    min_group=config.feedback_min_group, now=now, today=today,
                    progress=show, report=report,
                )  # fmt: skip
            except exports.ExportError as error:
                fail(str(error))
        typer.echo(f"{path}: {rows} rows")


def _today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()
