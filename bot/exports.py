"""Exports coordinators can open in Excel: session counts and anonymous feedback.

The same code serves ``workshopbot export`` and ``/export`` in the chat. What is counted and
what is hidden is decided in ``flows.figures``; this module turns it into tables (translated
headings, a notes sheet that says what each column means and how small groups were hidden)
and hands them to ``bot.spreadsheets``, which streams them to CSV or XLSX.

An :class:`Export` names one file (what, format, period, language, centre); as a
:class:`flows.replies.Document` key it travels through the chat and Viber's signed file
links, and it is rendered only when it is sent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlmodel import Session

from bot import spreadsheets
from bot.spreadsheets import Column, Notes, Progress, Table
from flows import figures
from flows.figures import Counts, FeedbackReport, Hidden, Period, Tally
from flows.i18n import Catalogs, Translator
from flows.questionnaire import Question, Questionnaires
from storage import queries as q
from storage.models import Centre

if TYPE_CHECKING:
    from bot import charts

KIND = figures.EXPORT  # the kinds of document flows.reports names
CHART = figures.CHART
MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "png": "image/png",
}
ALL = "all"
_KEY = re.compile(
    r"^(?P<what>counts|feedback|comments|chart)-(?P<fmt>xlsx|csv|png)-(?P<first>\d{8})-"
    r"(?P<last>\d{8})"
    r"-(?P<lang>[a-z]{2,3}(?:_[a-z]{4})?)-(?P<scope>[a-z0-9-]{1,40})$"
)


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Export:
    """One file: ``what`` (counts, feedback, or the feedback's comments alone, for CSV),
    ``fmt``, the period, the language of its headings, and a centre's slug or all."""

    what: str
    fmt: str
    period: Period
    locale: str
    centre: str | None = None

    def key(self) -> str:
        return figures.document_key(self.what, self.fmt, self.period, self.locale, self.centre)

    @classmethod
    def from_key(cls, key: str, catalogs: Catalogs) -> Export:
        found = _KEY.match(key)
        if found is None:
            raise ExportError(f"not an export: {key!r}")
        locale = next((c for c in catalogs.codes if c.lower() == found["lang"]), "en")
        try:
            first = datetime.strptime(found["first"], "%Y%m%d").date()
            last = datetime.strptime(found["last"], "%Y%m%d").date()
            period = Period.checked(first, last)
        except ValueError as error:
            raise ExportError(str(error)) from error
        scope = found["scope"]
        return cls(found["what"], found["fmt"], period, locale, None if scope == ALL else scope)

    def filename(self) -> str:
        span = f"{self.period.first:%Y-%m-%d}_{self.period.last:%Y-%m-%d}"
        return f"{self.what}-{self.centre or ALL}-{span}.{self.fmt}"


def centres_for(db: Session, slug: str | None) -> list[Centre]:
    """The centres an export covers: one, or all of them by name."""
    if slug is not None:
        centre = q.centre_by_slug(db, slug)
        if centre is None:
            raise ExportError(f"no centre {slug!r}")
        return [centre]
    return figures.centres_by_name(db)


@dataclass(frozen=True)
class Made:
    rows: int  # data rows written (all tables)
    path: Path | None = None


def write(
    db: Session,
    export: Export,
    target: BinaryIO | Path,
    *,
    catalogs: Catalogs,
    questionnaires: Questionnaires,
    min_group: int,
    now: datetime,
    today: date,
    progress: Progress | None = None,
    report: FeedbackReport | None = None,
) -> int:
    """Write one export; returns the number of data rows. The files of one feedback export
    (CSV: the answers, then the comments) can share its ``report`` (:func:`feedback_of`)."""
    t = catalogs.translator(export.locale)
    centres = centres_for(db, export.centre)
    if export.what == "counts":
        tables = [counts_table(t, figures.counts(db, export.period, centres, now))]
        notes = counts_notes(t, export.period)
    else:
        if report is None:
            report = feedback_of(db, export, today=today, min_group=min_group)
        names = {centre.id: centre.name for centre in centres}
        tables = []
        if export.what == "feedback":
            tables.append(feedback_table(t, report, names, questionnaires))
        if export.what == "comments" or export.fmt == "xlsx":
            expected = figures.count_comments(db, report, centres)
            rows = figures.comments(db, report, centres)
            tables.append(comments_table(t, rows, names, expected))
        notes = feedback_notes(t, report)
    if export.fmt == "csv":
        return spreadsheets.write_csv(target, tables[0], progress=progress)
    return spreadsheets.write_xlsx(target, tables, notes, progress=progress)


def feedback_of(db: Session, export: Export, *, today: date, min_group: int) -> FeedbackReport:
    """The feedback report an export of feedback (or of its comments) is made from."""
    centres = centres_for(db, export.centre)
    return figures.feedback_report(db, export.period, centres, today, min_group)


# --- counts ----------------------------------------------------------------------------------


def _count_columns(t: Translator) -> list[Column]:
    return [
        Column(t._("Centre"), "text", 28),
        Column(t._("Month"), "date", 12, t._("The first day of the month (the centre's time).")),
        Column(t._("Sessions held"), "int", None, t._("Sessions that took place.")),
        Column(t._("Sessions cancelled"), "int", None, t._("Sessions cancelled by staff.")),
        Column(t._("Seats booked"), "int", None,
               t._("Seats taken at the sessions held (cancelled bookings not counted).")),
        Column(t._("Attendances"), "int", None,
               t._("Seats whose holder was marked as present at the door.")),
        Column(t._("People who attended"), "int", None,
               t._("Different people who attended: each person counted once per row, "
                   "however many sessions they came to.")),
        Column(t._("Attendance rate"), "percent", None,
               t._("Attendances divided by seats booked, at the sessions where attendance "
                   "was taken.")),
        Column(t._("Sessions with attendance taken"), "int", None,
               t._("Sessions where staff marked who came.")),
        Column(t._("Seats from the waitlist"), "int", None,
               t._("Waitlist places that became seats when a seat was freed or added.")),
        Column(t._("Feedback responses"), "int", None,
               t._("People who answered the feedback questions.")),
    ]  # fmt: skip


def _count_values(tally: Tally) -> list[object]:
    return [
        tally.held, tally.cancelled, tally.booked, tally.attended, tally.distinct, tally.rate,
        tally.taken, tally.promoted, tally.feedback,
    ]  # fmt: skip


def count_rows(t: Translator, counts: Counts) -> Iterator[list[object]]:
    """Each centre by month, then all centres by month, then each centre and all centres
    over the whole period (with no month)."""
    for centre in counts.centres:
        for month in counts.months:
            yield [centre.name, month, *_count_values(counts.row(centre.id or 0, month))]
    everywhere = t._("All centres")
    if len(counts.centres) > 1:
        for month in counts.months:
            yield [everywhere, month, *_count_values(counts.by_month[month])]
    for centre in counts.centres:
        name = t._("{centre}, whole period", centre=centre.name)
        yield [name, None, *_count_values(counts.by_centre[centre.id or 0])]
    if len(counts.centres) > 1:
        name = t._("{centre}, whole period", centre=everywhere)
        yield [name, None, *_count_values(counts.total)]


def counts_table(t: Translator, counts: Counts) -> Table:
    n = len(counts.centres)
    expected = n * len(counts.months) + (len(counts.months) + 1 if n > 1 else 0) + n
    return Table(t._("Counts"), _count_columns(t), count_rows(t, counts), expected, t.rtl)


def counts_notes(t: Translator, period: Period) -> Notes:
    return Notes(
        t._("Session counts, {first} to {last}", first=period.first.isoformat(),
            last=period.last.isoformat()),
        [
            t._("Made by workshopbot. Months and days are counted in each centre's own time "
                "zone. Sessions that have not started yet are not counted."),
            t._("People are counted once per row: a person who came to four sessions in a "
                "month is one person in that month. So the people of several months or "
                "centres do not add up to the people of the whole period; the rows for the "
                "whole period count them once."),
        ],
        sheet_name=t._("Notes"), column_label=t._("Column"), meaning_label=t._("Meaning"),
        rtl=t.rtl,
    )  # fmt: skip


# --- feedback ------------------------------------------------------------------------------


def _question_texts(questionnaires: Questionnaires) -> dict[str, Question]:
    found: dict[str, Question] = {}
    for questionnaire in questionnaires.all():
        for question in questionnaire.questions:
            found.setdefault(question.id, question)
    return found


def _answer_label(t: Translator, question: Question | None, value: str) -> str:
    if question is not None:
        for choice in question.choices:
            if choice.value == value:
                return t._(choice.label)
    return value


def feedback_table(
    t: Translator,
    report: FeedbackReport,
    names: dict[int | None, str],
    questionnaires: Questionnaires,
) -> Table:
    known = _question_texts(questionnaires)
    layout = figures.question_columns(report, questionnaires)
    columns = [
        Column(t._("Centre"), "text", 24),
        Column(t._("Week"), "text", 10, t._("The ISO week of the workshop (Monday to Sunday).")),
        Column(t._("Week starts"), "date", 12),
        Column(t._("Workshop"), "text", 30,
               t._("The workshop's title; “All workshops” is the centre's total for the week.")),
        Column(t._("Responses"), "int", None, t._("People who answered (blank when hidden).")),
        Column(t._("Shown"), "text", 26, t._("Whether the numbers of this row are shown, and "
                                             "if not, why.")),
    ]  # fmt: skip
    for qid, values in layout:
        question = known.get(qid)
        heading = t._(question.short) if question is not None else qid
        for value in values:
            label = _answer_label(t, question, value)
            columns.append(Column(f"{heading}: {label}", "int"))
        if question is not None and question.faces:
            note = t._("The average answer, from 1 to {top}.", top=len(question.choices))
            columns.append(Column(t._("{question}: average", question=heading), "float",
                                  None, note))  # fmt: skip
    hidden_text = {
        Hidden.SHOWN: t._("yes"),
        Hidden.SMALL: t._("hidden: fewer than {count} responses", count=report.min_group),
        Hidden.PROTECTS: t._("hidden: would reveal a smaller group"),
    }
    everything = t._("All workshops")
    blank = [None] * (len(columns) - 6)  # a hidden row shows no numbers

    def rows() -> Iterator[list[object]]:
        for group in report.groups:
            head: list[object] = [
                names.get(group.centre_id, str(group.centre_id)), group.week,
                figures.week_start(group.week), group.workshop or everything,
            ]  # fmt: skip
            if group.hidden is not Hidden.SHOWN:
                yield [*head, None, hidden_text[group.hidden], *blank]
                continue
            cells: list[object] = [*head, group.responses, hidden_text[Hidden.SHOWN]]
            for qid, values in layout:
                counter = group.answers.get(qid) or Counter()
                cells.extend(counter.get(value, 0) for value in values)
                question = known.get(qid)
                if question is not None and question.faces:
                    mean = group.mean(qid)
                    cells.append(round(mean, 2) if mean is not None else None)
            yield cells

    return Table(t._("Feedback"), columns, rows(), len(report.groups), t.rtl)


def comments_table(
    t: Translator,
    rows: Iterator[tuple[int, str, str, str]],
    names: dict[int | None, str],
    expected: int,
) -> Table:
    columns = [
        Column(t._("Centre"), "text", 24),
        Column(t._("Week"), "text", 10),
        Column(t._("Workshop"), "text", 30),
        Column(t._("Comment"), "text", 80, t._("Comments of the groups shown only, in no "
                                              "order, never next to their answers.")),
    ]  # fmt: skip
    cells = ([names.get(centre, str(centre)), week, workshop, comment]
             for centre, week, workshop, comment in rows)  # fmt: skip
    return Table(t._("Comments"), columns, cells, expected, t.rtl)


def feedback_notes(t: Translator, report: FeedbackReport) -> Notes:
    if report.weeks is None:
        span = t._("no complete week in this period yet")
    else:
        span = t._("weeks {first} to {last}", first=report.weeks[0], last=report.weeks[1])
    return Notes(
        t._("Anonymous feedback, {span}", span=span),
        [
            t._("Made by workshopbot. The answers are stored without any link to a person; "
                "only the centre, the workshop, the week and the answers are kept."),
            t._("A group with fewer than {count} responses is hidden. Where a week's total "
                "would reveal a hidden group, more groups (the smallest) are hidden too, or "
                "the total.", count=report.min_group),
            t._("The current week is never included: it is still going on, and its few "
                "answers could be recognised."),
            t._("Comments are given only for the groups shown, in no order, and never next to "
                "the answers of the same person."),
        ],
        sheet_name=t._("Notes"), column_label=t._("Column"), meaning_label=t._("Meaning"),
        rtl=t.rtl,
    )  # fmt: skip


def check_target(path: Path) -> None:
    if path.is_dir():
        raise ExportError(f"{path} is a folder")
    if not path.parent.exists():
        raise ExportError(f"{path.parent}: no such folder")


def formats_of(path: Path) -> str | None:
    return {".xlsx": "xlsx", ".csv": "csv"}.get(path.suffix.lower())


def file_names(stem: Path, fmt: str, whats: Sequence[str]) -> list[Path]:
    return [stem.with_name(f"{stem.stem}-{what}.{fmt}") for what in whats]


# --- the /stats chart ------------------------------------------------------------------------


def chart(
    db: Session, export: Export, *, catalogs: Catalogs, now: datetime, font: Path | None = None
) -> bytes:
    """The activity chart (sessions held and people who came, per centre and month) as PNG."""
    from bot import charts  # matplotlib loads with the first chart

    t = catalogs.translator(export.locale)
    centres = centres_for(db, export.centre)
    counts = figures.counts(db, export.period, centres, now)
    found = [
        charts.MonthFigures(centre.name, month, tally.held, tally.distinct)
        for centre in counts.centres
        for month in counts.months
        if (tally := counts.row(centre.id or 0, month)).held
    ]
    text = chart_text(t, counts.months)
    if charts.find_fonts(font).missing(text.letters()):
        # The font cannot draw this language (DejaVu has no Urdu ے ہ): labels in English
        # rather than empty boxes; the caption around the picture stays in the language.
        text = chart_text(catalogs.translator(None), counts.months)
    return charts.activity_chart(found, counts.months, text, font=font)


def chart_text(t: Translator, months: Sequence[date]) -> charts.ChartText:
    from bot import charts

    return charts.ChartText(
        title=t._("Workshops, {first} to {last}", first=month_label(t, months[0]),
                  last=month_label(t, months[-1])),
        sessions=t._("Sessions held"),
        people=t._("People who came (each counted once a month)"),
        total=t._("All centres"),
        months=[month_label(t, month, short=True) for month in months],
        rtl=t.rtl,
        empty=t._("No sessions in this period."),
    )  # fmt: skip


def month_label(t: Translator, month: date, *, short: bool = False) -> str:
    """ "Mar 2026" (or "Mar" when ``short``), in the person's language."""
    from babel.dates import format_skeleton

    return str(format_skeleton("MMM" if short else "yMMM", month, locale=t.locale))
