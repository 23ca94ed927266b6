"""What the counts and the feedback export are made of, read in bulk.

The database does the heavy part (grouping a million rows is its job, from indexes made for
it); the rows are read through the session's connection, without the ORM's per-row work,
and streamed. The rules (months in each centre's time zone, people counted once, small
groups hidden) live in ``flows.figures``, which both the command line and the chat use.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlmodel import Session, col

from storage.models import (
    AttendanceMark,
    Booking,
    BookingStatus,
    Feedback,
    Person,
    SessionCount,
    WorkshopSession,
)

__all__ = [
    "SessionTally",
    "attendees",
    "count_comments",
    "feedback_comments",
    "feedback_tallies",
    "session_tallies",
]


@dataclass(frozen=True)
class SessionTally:
    """One session and what happened at it."""

    session_id: int
    centre_id: int
    starts_at: datetime
    cancelled: bool
    booked: int  # seats taken (bookings not cancelled)
    attended: int  # marked as attended at the door
    promoted: int  # waitlist places that became seats
    feedback: int  # people who gave feedback


def _streamed(db: Session, query: Any) -> Iterator[Any]:
    """The rows of ``query`` (made with ``yield_per``) as they come, through the session's
    connection (no ORM work per row); the cursor is closed when the caller stops."""
    rows = db.connection().execute(query)
    try:
        yield from rows
    finally:
        rows.close()


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _kept(column: Any) -> Any:
    """What the retention job kept of bookings it removed (one row per session at most)."""
    return func.coalesce(func.max(column), 0)


def session_tallies(
    db: Session, start: datetime, end: datetime, centre_ids: Collection[int] | None = None
) -> list[SessionTally]:
    """Every session that starts in ``[start, end)`` (at the given centres), with its counts:
    from its bookings, plus the counts kept of bookings the retention job removed."""
    query = (
        select(
            col(WorkshopSession.id),
            col(WorkshopSession.centre_id),
            col(WorkshopSession.starts_at),
            col(WorkshopSession.cancelled_at),
            _count(col(Booking.status) == BookingStatus.CONFIRMED)
            + _kept(col(SessionCount.booked)),
            _count(col(Booking.attended_at).is_not(None)) + _kept(col(SessionCount.attended)),
            _count(col(Booking.promoted).is_(True)) + _kept(col(SessionCount.promoted)),
            _count(col(Booking.feedback_given).is_(True)) + _kept(col(SessionCount.feedback)),
        )
        .select_from(WorkshopSession)
        .outerjoin(Booking, col(Booking.session_id) == col(WorkshopSession.id))
        .outerjoin(SessionCount, col(SessionCount.session_id) == col(WorkshopSession.id))
        .where(col(WorkshopSession.starts_at) >= start, col(WorkshopSession.starts_at) < end)
        .group_by(
            col(WorkshopSession.id),
            col(WorkshopSession.centre_id),
            col(WorkshopSession.starts_at),
            col(WorkshopSession.cancelled_at),
        )
    )
    if centre_ids is not None:
        query = query.where(col(WorkshopSession.centre_id).in_(list(centre_ids)))
    rows = db.connection().execute(query)
    return [
        SessionTally(
            int(sid),
            int(centre),
            starts,
            cancelled is not None,
            int(booked),
            int(attended),
            int(promoted),
            int(feedback),
        )
        for sid, centre, starts, cancelled, booked, attended, promoted, feedback in rows
    ]


def attendees(
    db: Session,
    start: datetime,
    end: datetime,
    centre_ids: Collection[int] | None = None,
    *,
    chunk: int = 10_000,
) -> Iterator[tuple[int, str]]:
    """``(session id, person's tally token)`` for everyone marked as attended at a session
    starting in ``[start, end)``: the people behind "distinct participants". The token, not
    the person's id, so that attendances the retention job reduced to marks (which keep only
    the token) count the same person once with their live bookings."""
    held = [
        col(WorkshopSession.cancelled_at).is_(None),
        col(WorkshopSession.starts_at) >= start,
        col(WorkshopSession.starts_at) < end,
    ]
    if centre_ids is not None:
        held.append(col(WorkshopSession.centre_id).in_(list(centre_ids)))
    live = (
        select(col(Booking.session_id), col(Person.tally_token))
        .join(WorkshopSession, col(WorkshopSession.id) == col(Booking.session_id))
        .join(Person, col(Person.id) == col(Booking.person_id))
        .where(col(Booking.attended_at).is_not(None), *held)
    )
    kept = (
        select(col(AttendanceMark.session_id), col(AttendanceMark.token))
        .join(WorkshopSession, col(WorkshopSession.id) == col(AttendanceMark.session_id))
        .where(*held)
    )
    query = live.union_all(kept).execution_options(yield_per=chunk)
    return _streamed(db, query)


def _weeks(query: Any, first: str, last: str, centre_ids: Collection[int] | None) -> Any:
    query = query.where(col(Feedback.week) >= first, col(Feedback.week) <= last)
    if centre_ids is not None:
        query = query.where(col(Feedback.centre_id).in_(list(centre_ids)))
    return query


def feedback_tallies(
    db: Session,
    first_week: str,
    last_week: str,
    centre_ids: Collection[int] | None = None,
    *,
    chunk: int = 10_000,
) -> Iterator[tuple[int, str, str, str, int]]:
    """``(centre id, week, workshop, answers, responses)``: identical answers counted together,
    in that order (``ix_feedback_group`` gives it without sorting), streamed: a million rows
    come back as a few hundred thousand."""
    query = _weeks(
        select(
            col(Feedback.centre_id),
            col(Feedback.week),
            col(Feedback.workshop),
            col(Feedback.answers),
            func.count().cast(Integer),
        )
        .group_by(
            col(Feedback.centre_id),
            col(Feedback.week),
            col(Feedback.workshop),
            col(Feedback.answers),
        )
        .execution_options(yield_per=chunk),
        first_week,
        last_week,
        centre_ids,
    )
    return _streamed(db, query)


def count_comments(
    db: Session, first_week: str, last_week: str, centre_ids: Collection[int] | None = None
) -> int:
    query = _weeks(
        select(func.count()).select_from(Feedback).where(col(Feedback.comment).is_not(None)),
        first_week,
        last_week,
        centre_ids,
    )
    return int(db.execute(query).scalar_one())


def feedback_comments(
    db: Session,
    first_week: str,
    last_week: str,
    centre_ids: Collection[int] | None = None,
    *,
    chunk: int = 10_000,
) -> Iterator[tuple[int, str, str, str]]:
    """``(centre id, week, workshop, comment)``, grouped; within a group in the order of the
    random ids, which is no order at all."""
    query = _weeks(
        select(
            col(Feedback.centre_id),
            col(Feedback.week),
            col(Feedback.workshop),
            col(Feedback.comment),
        )
        .where(col(Feedback.comment).is_not(None))
        .order_by(
            col(Feedback.centre_id),
            col(Feedback.week),
            col(Feedback.workshop),
            col(Feedback.id),
        )
        .execution_options(yield_per=chunk),
        first_week,
        last_week,
        centre_ids,
    )
    return _streamed(db, query)
