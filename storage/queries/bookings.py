"""Bookings: seats and waitlist places. A freed seat goes to the first person waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Booking, BookingStatus, Centre, LedgerKind, WorkshopSession
from storage.queries.ledger import owe
from storage.queries.sessions import confirmed_count, lock_session

__all__ = [
    "BookOutcome",
    "BookResult",
    "BookingView",
    "CancelOutcome",
    "CancelResult",
    "book",
    "booking_for",
    "cancel_booking",
    "count_bookings",
    "person_bookings",
    "person_history",
    "promote_waiting",
    "waitlist_position",
]

ACTIVE = (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)


class BookOutcome(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_WAITLISTED = "already_waitlisted"
    UNAVAILABLE = "unavailable"  # missing, cancelled, already started, or at another centre


@dataclass(frozen=True)
class BookResult:
    outcome: BookOutcome
    position: int = 0
    booking_id: int | None = None
    ticket: int = 0  # the door number (shown once the person has a seat)


def waitlist_position(db: Session, booking: Booking) -> int:
    ahead = db.exec(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.session_id == booking.session_id,
            Booking.status == BookingStatus.WAITLISTED,
            col(Booking.queue_no) < booking.queue_no,
        )
    ).one()
    return int(ahead) + 1


def book(
    db: Session, *, person_id: int, session_id: int, centre_id: int | None, now: datetime
) -> BookResult:
    """Give a seat if one is free, else a waitlist place; idempotent for the same person."""
    session = lock_session(db, session_id)
    if (
        session is None
        or session.cancelled_at is not None
        or session.starts_at <= now
        or session.centre_id != centre_id
    ):
        return BookResult(BookOutcome.UNAVAILABLE)
    booking = booking_for(db, person_id, session_id)
    if booking is not None and booking.status == BookingStatus.CONFIRMED:
        return BookResult(
            BookOutcome.ALREADY_CONFIRMED, booking_id=booking.id, ticket=booking.ticket
        )
    if booking is not None and booking.status == BookingStatus.WAITLISTED:
        return BookResult(
            BookOutcome.ALREADY_WAITLISTED, waitlist_position(db, booking), booking.id,
            booking.ticket,
        )  # fmt: skip
    has_seat = confirmed_count(db, session_id) < session.capacity
    if booking is None:
        booking = Booking(
            session_id=session_id, person_id=person_id, created_at=now, updated_at=now, status="",
            ticket=_next_ticket(db, session_id),
        )  # fmt: skip
    booking.updated_at = now
    if has_seat:
        booking.status = BookingStatus.CONFIRMED
    else:
        booking.status = BookingStatus.WAITLISTED
        booking.queue_no = _next_queue_no(db, session_id)
    db.add(booking)
    db.flush()
    if has_seat:
        return BookResult(BookOutcome.CONFIRMED, booking_id=booking.id, ticket=booking.ticket)
    return BookResult(
        BookOutcome.WAITLISTED, waitlist_position(db, booking), booking.id, booking.ticket
    )


def _next_queue_no(db: Session, session_id: int) -> int:
    highest = db.exec(
        select(func.max(Booking.queue_no)).where(Booking.session_id == session_id)
    ).one()
    return int(highest or 0) + 1


def _next_ticket(db: Session, session_id: int) -> int:
    """The next door number at a session (the session row is locked: numbers never collide)."""
    highest = db.exec(
        select(func.max(Booking.ticket)).where(Booking.session_id == session_id)
    ).one()
    return int(highest or 0) + 1


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"  # no such booking, or someone else's
    ALREADY_CANCELLED = "already_cancelled"


@dataclass(frozen=True)
class CancelResult:
    outcome: CancelOutcome
    session_id: int | None = None
    promoted_person_id: int | None = None


def cancel_booking(db: Session, *, person_id: int, booking_id: int, now: datetime) -> CancelResult:
    """Cancel one's own booking; a freed seat goes to the first on the waitlist at once."""
    found = db.get(Booking, booking_id)
    if found is None or found.person_id != person_id:
        return CancelResult(CancelOutcome.NOT_FOUND)
    session = lock_session(db, found.session_id)
    db.refresh(found)  # re-read under the lock
    if session is None:
        return CancelResult(CancelOutcome.NOT_FOUND)
    if found.status == BookingStatus.CANCELLED:
        return CancelResult(CancelOutcome.ALREADY_CANCELLED, session.id)
    freed_seat = found.status == BookingStatus.CONFIRMED
    found.status = BookingStatus.CANCELLED
    found.updated_at = now
    db.add(found)
    db.flush()
    promoted: int | None = None
    if freed_seat and session.cancelled_at is None and session.starts_at > now:
        promoted = _promote_next(db, session, now)
    return CancelResult(CancelOutcome.CANCELLED, session.id, promoted)


def promote_waiting(db: Session, session: WorkshopSession, now: datetime) -> list[int]:
    """Give every free seat to the people waiting, in queue order (each is owed a message);
    returns who got one. The caller holds the session's lock."""
    promoted: list[int] = []
    while (person_id := _promote_next(db, session, now)) is not None:
        promoted.append(person_id)
    return promoted


def _promote_next(db: Session, session: WorkshopSession, now: datetime) -> int | None:
    assert session.id is not None
    if confirmed_count(db, session.id) >= session.capacity:
        return None
    first = db.exec(
        select(Booking)
        .where(Booking.session_id == session.id, Booking.status == BookingStatus.WAITLISTED)
        .order_by(col(Booking.queue_no))
        .limit(1)
    ).first()
    if first is None:
        return None
    first.status = BookingStatus.CONFIRMED
    first.promoted = True
    first.updated_at = now
    db.add(first)
    db.flush()
    owe(db, LedgerKind.SEAT_OFFERED, first, now)
    return first.person_id


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    session: WorkshopSession
    centre: Centre
    position: int  # 0 when confirmed


def person_bookings(db: Session, person_id: int, now: datetime) -> list[BookingView]:
    """A person's seats and waitlist places for sessions that have not started, at any
    centre, soonest first."""
    rows = db.exec(
        select(Booking, WorkshopSession, Centre)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .join(Centre, col(Centre.id) == WorkshopSession.centre_id)
        .where(
            Booking.person_id == person_id,
            col(Booking.status).in_(ACTIVE),
            col(WorkshopSession.starts_at) > now,
        )
        .order_by(col(WorkshopSession.starts_at), col(Booking.id))
    ).all()
    return [
        BookingView(
            booking,
            session,
            centre,
            waitlist_position(db, booking) if booking.status == BookingStatus.WAITLISTED else 0,
        )
        for booking, session, centre in rows
    ]


def person_history(db: Session, person_id: int, now: datetime) -> list[BookingView]:
    """A person's bookings of sessions that have started (kept until the retention job
    reduces them to counts), latest first: what /mydata shows of attendance and feedback."""
    rows = db.exec(
        select(Booking, WorkshopSession, Centre)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .join(Centre, col(Centre.id) == WorkshopSession.centre_id)
        .where(Booking.person_id == person_id, col(WorkshopSession.starts_at) <= now)
        .order_by(col(WorkshopSession.starts_at).desc(), col(Booking.id))
    ).all()
    return [BookingView(booking, session, centre, 0) for booking, session, centre in rows]


def booking_for(db: Session, person_id: int, session_id: int) -> Booking | None:
    return db.exec(
        select(Booking).where(Booking.session_id == session_id, Booking.person_id == person_id)
    ).first()


def count_bookings(db: Session, person_id: int, now: datetime) -> int:
    """Active seats and waitlist places (what My bookings lists), not history."""
    return int(
        db.exec(
            select(func.count())
            .select_from(Booking)
            .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
            .where(
                Booking.person_id == person_id,
                col(Booking.status).in_(ACTIVE),
                col(WorkshopSession.starts_at) > now,
            )
        ).one()
    )
