"""The rules behind the counts and the feedback report, shared by the command line, the chat
and the exports.

Counts: per centre and month (months in each centre's time zone), sessions held and
cancelled, seats booked, attendances, distinct people who attended (a person counted once per
row, however many sessions they came to), the attendance rate (over sessions where attendance
was taken), waitlist places that became seats, and feedback responses.

Feedback: answers are grouped per centre, ISO week and workshop. A group with fewer than
``min_group`` responses is hidden (primary suppression); where a week's total would give a
hidden group away (total minus the groups shown), more groups are hidden until what is hidden
together has at least ``min_group`` responses, or the total is hidden too (secondary
suppression). The current week is never reported. Comments are only given for groups shown.
"""

from __future__ import annotations

import calendar
import functools
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session

from flows.questionnaire import Questionnaires, decode
from storage import queries as q
from storage.models import Centre

MIN_GROUP_FLOOR = 3  # FEEDBACK_MIN_GROUP may not go below this
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Days from ``first`` to ``last``, both included, in each centre's own time zone."""

    first: date
    last: date

    @classmethod
    def checked(cls, first: date, last: date) -> Period:
        if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
            raise PeriodError(f"dates must be between {EARLIEST} and {LATEST}")
        if first > last:
            raise PeriodError("the first day comes after the last")
        return cls(first, last)

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = _next_month(month)
        return months

    def utc_bounds(self, zone: str) -> tuple[datetime, datetime]:
        tz = ZoneInfo(zone)
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_period(month: date) -> Period:
    last = calendar.monthrange(month.year, month.month)[1]
    return Period(month.replace(day=1), month.replace(day=last))


def last_months(today: date, n: int) -> Period:
    """The ``n`` months up to and including this one."""
    first = today.replace(day=1)
    for _ in range(n - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today)


# --- counts -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """One row of counts (a centre and month, a centre over the period, or a total)."""

    held: int = 0
    cancelled: int = 0
    booked: int = 0
    attended: int = 0
    taken: int = 0  # sessions where attendance was taken
    booked_where_taken: int = 0
    promoted: int = 0
    feedback: int = 0
    people: set[str] = field(default_factory=set)  # tally tokens (see q.attendees)

    @property
    def distinct(self) -> int:
        return len(self.people)

    @property
    def rate(self) -> float | None:
        """Attendances over seats booked, at sessions where attendance was taken."""
        return self.attended / self.booked_where_taken if self.booked_where_taken else None


@dataclass(frozen=True)
class Counts:
    period: Period
    months: list[date]
    centres: list[Centre]
    rows: dict[tuple[int, date], Tally]  # (centre id, month) → counts
    by_centre: dict[int, Tally]  # each centre over the whole period
    by_month: dict[date, Tally]  # all centres, per month
    total: Tally

    def row(self, centre_id: int, month: date) -> Tally:
        return self.rows.get((centre_id, month)) or Tally()


def counts(db: Session, period: Period, centres: Sequence[Centre], now: datetime) -> Counts:
    """The counts for these centres over the period. Sessions not yet started are neither held
    nor cancelled; they are left out."""
    months = period.months()
    rows: dict[tuple[int, date], Tally] = {}
    by_centre = {centre.id: Tally() for centre in centres if centre.id is not None}
    by_month = {month: Tally() for month in months}
    total = Tally()
    by_zone: dict[str, list[Centre]] = defaultdict(list)
    for centre in centres:
        by_zone[centre.timezone].append(centre)
    for zone, members in by_zone.items():
        start, end = period.utc_bounds(zone)
        ids = [centre.id for centre in members if centre.id is not None]
        tz = ZoneInfo(zone)
        month_of: dict[int, tuple[int, date]] = {}
        for tally in q.session_tallies(db, start, min(end, now), ids):
            month = tally.starts_at.astimezone(tz).date().replace(day=1)
            key = (tally.centre_id, month)
            month_of[tally.session_id] = key
            targets = (rows.setdefault(key, Tally()), by_centre[tally.centre_id],
                       by_month[month], total)  # fmt: skip
            for target in targets:
                _add(target, tally)
        for session_id, token in q.attendees(db, start, min(end, now), ids):
            found = month_of.get(session_id)
            if found is None:
                continue
            for target in (rows[found], by_centre[found[0]], by_month[found[1]], total):
                target.people.add(token)
    return Counts(period, months, list(centres), rows, by_centre, by_month, total)


def _add(target: Tally, tally: q.SessionTally) -> None:
    if tally.cancelled:
        target.cancelled += 1
        return
    target.held += 1
    target.booked += tally.booked
    target.attended += tally.attended
    target.promoted += tally.promoted
    target.feedback += tally.feedback
    if tally.attended:
        target.taken += 1
        target.booked_where_taken += tally.booked


# --- feedback ---------------------------------------------------------------------------------


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def reported_weeks(period: Period, today: date) -> tuple[str, str] | None:
    """The first and last ISO week of the period that may be reported: never the current
    week (nor a later one). None when nothing is left."""
    last_day = min(period.last, today - timedelta(days=today.isoweekday()))  # last Sunday
    if last_day < period.first:
        return None
    return iso_week(period.first), iso_week(last_day)


class Hidden(StrEnum):
    SHOWN = ""
    SMALL = "small"  # fewer responses than the minimum
    PROTECTS = "protects"  # hidden so that a total does not give a small group away


@dataclass
class Group:
    """The answers of one workshop at one centre in one week, or a week's total (``workshop``
    None). ``answers[question][value]`` counts; ``answered[question]`` how many answered."""

    centre_id: int
    week: str
    workshop: str | None
    responses: int = 0
    answers: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    hidden: Hidden = Hidden.SHOWN

    def add(self, stored: str, n: int) -> None:
        self.responses += n
        answers = self.answers
        for question, value in _pairs(stored):
            answers[question][value] += n

    def answered(self, question: str) -> int:
        return sum(self.answers.get(question, Counter()).values())

    def mean(self, question: str) -> float | None:
        """The average of a numeric answer (a 1 to 5 scale), None if nobody answered."""
        counter = self.answers.get(question)
        if not counter:
            return None
        try:
            total = sum(int(value) * n for value, n in counter.items())
        except ValueError:
            return None
        return total / sum(counter.values())


@functools.lru_cache(maxsize=4096)
def _pairs(stored: str) -> tuple[tuple[str, str], ...]:
    """The answers of a stored string, decoded once: a few hundred strings cover a year."""
    return tuple(decode(stored).items())


@dataclass(frozen=True)
class FeedbackReport:
    period: Period
    weeks: tuple[str, str] | None  # first and last reported week
    min_group: int
    groups: list[Group]  # in order: centre, week, then its workshops and the week's total

    def shown(self) -> set[tuple[int, str, str]]:
        return {
            (group.centre_id, group.week, group.workshop)
            for group in self.groups
            if group.workshop is not None and group.hidden is Hidden.SHOWN
        }


def feedback_report(
    db: Session,
    period: Period,
    centres: Sequence[Centre],
    today: date,
    min_group: int,
) -> FeedbackReport:
    min_group = max(MIN_GROUP_FLOOR, min_group)
    weeks = reported_weeks(period, today)
    if weeks is None:
        return FeedbackReport(period, None, min_group, [])
    ids = [centre.id for centre in centres if centre.id is not None]
    order = {centre_id: index for index, centre_id in enumerate(ids)}
    groups: dict[tuple[int, str, str], Group] = {}
    for centre_id, week, workshop, answers, n in q.feedback_tallies(db, *weeks, ids):
        key = (centre_id, week, workshop)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(centre_id, week, workshop)
        group.add(answers, n)
    by_week: dict[tuple[int, str], list[Group]] = defaultdict(list)
    for group in groups.values():
        by_week[(group.centre_id, group.week)].append(group)
    ordered: list[Group] = []
    for (centre_id, week), members in sorted(
        by_week.items(), key=lambda item: (order.get(item[0][0], 0), item[0][1])
    ):
        members.sort(key=lambda group: group.workshop or "")
        ordered.extend(members)
        ordered.append(_week_total(centre_id, week, members, min_group))
    return FeedbackReport(period, weeks, min_group, ordered)


def _week_total(centre_id: int, week: str, members: list[Group], min_group: int) -> Group:
    """The week's total at a centre, after hiding what must be hidden among ``members``."""
    total = Group(centre_id, week, None)
    for group in members:
        total.responses += group.responses
        for question, counter in group.answers.items():
            total.answers[question].update(counter)
        if group.responses < min_group:
            group.hidden = Hidden.SMALL
    suppress(members, total, min_group)
    return total


def suppress(members: Sequence[Group], total: Group, min_group: int) -> None:
    """Secondary suppression: the total minus the groups shown must not reveal fewer than
    ``min_group`` hidden responses; hide the smallest shown groups until it does not, or hide
    the total."""
    if total.responses < min_group:
        total.hidden = Hidden.SMALL
    hidden = [group for group in members if group.hidden is not Hidden.SHOWN]
    if not hidden or total.hidden is not Hidden.SHOWN:
        return
    shown = sorted((group for group in members if group.hidden is Hidden.SHOWN),
                   key=lambda group: group.responses)  # fmt: skip
    while sum(group.responses for group in hidden) < min_group and shown:
        extra = shown.pop(0)
        extra.hidden = Hidden.PROTECTS
        hidden.append(extra)
    if sum(group.responses for group in hidden) < min_group:
        total.hidden = Hidden.PROTECTS


def comments(
    db: Session, report: FeedbackReport, centres: Sequence[Centre]
) -> Iterator[tuple[int, str, str, str]]:
    """The comments of the groups shown, grouped, in no order within a group."""
    if report.weeks is None:
        return
    shown = report.shown()
    ids = [centre.id for centre in centres if centre.id is not None]
    for row in q.feedback_comments(db, *report.weeks, ids):
        if row[:3] in shown:
            yield row


def count_comments(db: Session, report: FeedbackReport, centres: Sequence[Centre]) -> int:
    """At most how many comments :func:`comments` gives (for progress)."""
    if report.weeks is None:
        return 0
    ids = [centre.id for centre in centres if centre.id is not None]
    return q.count_comments(db, *report.weeks, ids)


def question_columns(
    report: FeedbackReport, questionnaires: Questionnaires
) -> list[tuple[str, list[str]]]:
    """The questions and answer values to give columns to: every choice question of the
    questionnaires in use, in their order, then anything else found in the answers (a
    question since removed), so nothing given is dropped."""
    columns: dict[str, list[str]] = {}
    for questionnaire in questionnaires.all():
        for question in questionnaire.questions:
            if question.typed:
                continue
            values = columns.setdefault(question.id, [])
            values.extend(c.value for c in question.choices if c.value not in values)
    for group in report.groups:
        for qid, counter in group.answers.items():
            values = columns.setdefault(qid, [])
            values.extend(value for value in sorted(counter) if value not in values)
    return list(columns.items())


# The kinds of document exports and the /stats chart are (``Document.kind``): the chat names
# them (flows.reports), the bot makes them (bot.exports).
EXPORT = "export"
CHART = "chart"  # named like an export: what "chart", format "png"


def document_key(what: str, fmt: str, period: Period, locale: str, slug: str | None) -> str:
    """How an export or chart is named as a document (``bot.exports.Export`` reads it back):
    ``counts-xlsx-20260101-20260331-sr_latn-krnjaca`` (``all`` for every centre)."""
    return "-".join([
        what, fmt, f"{period.first:%Y%m%d}", f"{period.last:%Y%m%d}", locale.lower(),
        slug or "all",
    ])  # fmt: skip


def centres_by_name(db: Session) -> list[Centre]:
    """Every centre, in the order people look for them: by name."""
    return sorted(q.list_centres(db), key=lambda centre: centre.name.casefold())
