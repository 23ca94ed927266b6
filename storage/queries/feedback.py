"""Anonymous feedback: who may give it (a booking's person, once, for 7 days after the
session), and the write that keeps it unlinkable.

The answers go into :class:`storage.models.Feedback` with a random id and without any
reference to the person, the booking or the moment; the booking only gets
``feedback_given``. Both happen in one transaction, guarded by a conditional UPDATE, so two
taps (or two workers) record one answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Booking, BookingStatus, Centre, Feedback, WorkshopSession

__all__ = [
    "FEEDBACK_DAYS",
    "Eligible",
    "FeedbackCheck",
    "attendance_rule",
    "feedback_check",
    "feedback_open",
    "record_feedback",
    "shuffle_feedback",
]

FEEDBACK_DAYS = 7  # after a session ends, its people may give feedback this long


class Eligible(StrEnum):
    YES = "yes"
    NOT_YOURS = "not_yours"  # no such booking, or someone else's: say nothing about it
    ALREADY = "already"  # feedback was given for this booking
    NOT_YET = "not_yet"  # the session has not ended
    TOO_LATE = "too_late"  # more than FEEDBACK_DAYS ago
    NO_SEAT = "no_seat"  # cancelled, only waiting, the session was cancelled, or not there


@dataclass(frozen=True)
class FeedbackCheck:
    outcome: Eligible
    booking: Booking | None = None
    session: WorkshopSession | None = None
    centre: Centre | None = None


def attendance_rule() -> ColumnElement[bool]:
    """Who took part in a session: those marked as attended where attendance was taken,
    otherwise those who had a seat. A condition on ``Booking`` (joined to its session)."""
    other = aliased(Booking)
    marked = exists().where(
        col(other.session_id) == col(Booking.session_id), col(other.attended_at).is_not(None)
    )
    return (col(Booking.attended_at).is_not(None)) | (
        (col(Booking.status) == BookingStatus.CONFIRMED) & ~marked
    )


def _took_part(db: Session, booking: Booking) -> bool:
    if booking.attended_at is not None:
        return True
    if booking.status != BookingStatus.CONFIRMED:
        return False
    marked = db.exec(
        select(Booking.id).where(
            Booking.session_id == booking.session_id, col(Booking.attended_at).is_not(None)
        )
    ).first()
    return marked is None


def feedback_check(db: Session, person_id: int, booking_id: int, now: datetime) -> FeedbackCheck:
    """Whether this person may give feedback on this booking now, and why not."""
    booking = db.get(Booking, booking_id)
    if booking is None or booking.person_id != person_id:
        return FeedbackCheck(Eligible.NOT_YOURS)
    session = db.get(WorkshopSession, booking.session_id)
    if session is None:
        return FeedbackCheck(Eligible.NOT_YOURS)
    centre = db.get(Centre, session.centre_id)
    if booking.feedback_given:
        return FeedbackCheck(Eligible.ALREADY, booking, session, centre)
    ends = session.starts_at + timedelta(minutes=session.minutes)
    if session.cancelled_at is not None or not _took_part(db, booking):
        return FeedbackCheck(Eligible.NO_SEAT, booking, session, centre)
    if now < ends:
        return FeedbackCheck(Eligible.NOT_YET, booking, session, centre)
    if now > ends + timedelta(days=FEEDBACK_DAYS):
        return FeedbackCheck(Eligible.TOO_LATE, booking, session, centre)
    return FeedbackCheck(Eligible.YES, booking, session, centre)


def feedback_open(
    db: Session, person_id: int, now: datetime
) -> list[tuple[Booking, WorkshopSession]]:
    """The person's sessions that ended in the last :data:`FEEDBACK_DAYS` days, that they took
    part in and have not given feedback on, latest first."""
    earliest = now - timedelta(days=FEEDBACK_DAYS, hours=24)  # sessions last at most a day
    rows = db.exec(
        select(Booking, WorkshopSession)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(
            Booking.person_id == person_id,
            col(Booking.feedback_given).is_(False),
            col(WorkshopSession.cancelled_at).is_(None),
            col(WorkshopSession.starts_at) <= now,
            col(WorkshopSession.starts_at) >= earliest,
            attendance_rule(),
        )
        .order_by(col(WorkshopSession.starts_at).desc())
    ).all()
    found = []
    for booking, session in rows:
        ends = session.starts_at + timedelta(minutes=session.minutes)
        if ends <= now <= ends + timedelta(days=FEEDBACK_DAYS):
            found.append((booking, session))
    return found


def record_feedback(
    db: Session,
    booking_id: int,
    *,
    centre_id: int,
    workshop: str,
    week: str,
    answers: str,
    comment: str | None,
) -> bool:
    """Mark the booking as having given feedback and store the answers, unlinked; False
    (and nothing stored) when feedback was already given for it."""
    marked = db.execute(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.feedback_given).is_(False))
        .values(feedback_given=True)
    )
    if not getattr(marked, "rowcount", 0):
        return False
    db.add(
        Feedback(
            id=secrets.token_hex(16),
            centre_id=centre_id,
            workshop=workshop[:120],
            week=week,
            answers=answers,
            comment=comment,
        )
    )
    return True


def shuffle_feedback(db: Session) -> bool:
    """Store the feedback rows in the order of their random ids, so that the order in which
    they were written is lost. SQLite keeps a table without rowid in that order already;
    PostgreSQL appends, so its table is rewritten (``CLUSTER``, run by the housekeeping).
    Returns whether anything was rewritten."""
    if db.get_bind().dialect.name != "postgresql":
        return False
    db.execute(text("CLUSTER feedback USING feedback_pkey"))
    return True
