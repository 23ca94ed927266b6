"""What staff need to run a centre's sessions: the week with its counts, the door numbers of
a session and who came, and changing the number of seats.

Attendance is kept on the booking (``attended_at``) and found by the door number
(``Booking.ticket``), so nobody is ever named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select

from storage.models import Booking, BookingStatus, LedgerKind, WorkshopSession
from storage.queries.bookings import promote_waiting
from storage.queries.ledger import owe
from storage.queries.sessions import confirmed_count, lock_session

__all__ = [
    "CapacityChange",
    "SessionCounts",
    "Ticket",
    "change_capacity",
    "mark_attendance",
    "session_counts",
    "sessions_between",
    "tickets",
]


@dataclass(frozen=True)
class SessionCounts:
    """A session and its numbers: seats taken, people waiting, people who came."""

    session: WorkshopSession
    confirmed: int = 0
    waitlisted: int = 0
    attended: int = 0


def _counts(db: Session, session_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per session: bookings by status, and "attended", in one grouped query."""
    found: dict[int, dict[str, int]] = {sid: {} for sid in session_ids}
    if not session_ids:
        return found
    rows = db.exec(
        select(
            col(Booking.session_id),
            col(Booking.status),
            func.count(),
            func.count(col(Booking.attended_at)),
        )
        .where(col(Booking.session_id).in_(session_ids))
        .group_by(col(Booking.session_id), col(Booking.status))
    )
    for session_id, status, count, attended in rows:
        numbers = found[session_id]
        numbers[str(status)] = int(count)
        numbers["attended"] = numbers.get("attended", 0) + int(attended)
    return found


def _with_counts(db: Session, sessions: list[WorkshopSession]) -> list[SessionCounts]:
    counts = _counts(db, [s.id for s in sessions if s.id is not None])
    return [
        SessionCounts(
            s,
            counts[s.id or 0].get(BookingStatus.CONFIRMED, 0),
            counts[s.id or 0].get(BookingStatus.WAITLISTED, 0),
            counts[s.id or 0].get("attended", 0),
        )
        for s in sessions
    ]


def sessions_between(
    db: Session, centre_id: int, start: datetime, end: datetime
) -> list[SessionCounts]:
    """A centre's sessions starting in [start, end), not cancelled, in start order."""
    sessions = db.exec(
        select(WorkshopSession)
        .where(
            WorkshopSession.centre_id == centre_id,
            col(WorkshopSession.starts_at) >= start,
            col(WorkshopSession.starts_at) < end,
            col(WorkshopSession.cancelled_at).is_(None),
        )
        .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
    ).all()
    return _with_counts(db, list(sessions))


def session_counts(db: Session, session_id: int) -> SessionCounts | None:
    session = db.get(WorkshopSession, session_id)
    if session is None:
        return None
    return _with_counts(db, [session])[0]


# --- attendance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    number: int
    attended: bool


def _markable() -> ColumnElement[bool]:
    """Bookings whose number can be ticked: a seat now, or marked as there already (a person
    who came and cancelled afterwards still came)."""
    return or_(
        col(Booking.status) == BookingStatus.CONFIRMED, col(Booking.attended_at).is_not(None)
    )


def tickets(db: Session, session_id: int) -> list[Ticket]:
    """The door numbers of a session that can be marked, in number order."""
    rows = db.exec(
        select(Booking.ticket, Booking.attended_at)
        .where(Booking.session_id == session_id, _markable())
        .order_by(col(Booking.ticket))
    ).all()
    return [Ticket(int(number), attended is not None) for number, attended in rows]


def mark_attendance(
    db: Session, session_id: int, numbers: Iterable[int], *, came: bool, now: datetime
) -> tuple[list[int], list[int]]:
    """Mark (``came``) or unmark door numbers; doing it twice changes nothing more.

    Returns the numbers whose mark changed, and the numbers no markable booking has."""
    wanted = sorted(set(numbers))
    if not wanted:
        return [], []
    known = set(
        db.exec(
            select(Booking.ticket).where(
                Booking.session_id == session_id,
                col(Booking.ticket).in_(wanted),
                _markable(),
            )
        ).all()
    )
    changing = col(Booking.attended_at).is_(None) if came else col(Booking.attended_at).is_not(None)
    result = db.execute(
        update(Booking)
        .where(
            col(Booking.session_id) == session_id,
            col(Booking.ticket).in_(sorted(known)),
            changing,
            _markable(),
        )
        .values(attended_at=now if came else None)
        .returning(col(Booking.ticket))
    )
    changed = sorted(int(number) for (number,) in result.all())
    return changed, [number for number in wanted if number not in known]


# --- seats ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityChange:
    """What changing the seats did (or, with ``done`` False, would do: ``losing`` people
    booked beyond the new number)."""

    done: bool
    losing: int = 0
    promoted: list[int] | None = None  # people who got a seat from the waitlist
    demoted: list[int] | None = None  # people who went back to the top of the waitlist


def change_capacity(
    db: Session, session_id: int, seats: int, now: datetime, *, demote: bool
) -> CapacityChange | None:
    """Set a session's seats. More seats go to the people waiting, in queue order. Fewer
    seats than people booked: without ``demote`` nothing changes (the caller asks first);
    with it, the last people to get a seat go back to the front of the waitlist, in their
    order. Everyone moved is owed a message. None: the session is gone, cancelled or started."""
    session = lock_session(db, session_id)
    if session is None or session.cancelled_at is not None or session.starts_at <= now:
        return None
    losing = max(0, confirmed_count(db, session_id) - seats)
    if losing and not demote:
        return CapacityChange(False, losing)
    session.capacity = seats
    db.add(session)
    demoted = _demote_last(db, session_id, losing, now)
    promoted = promote_waiting(db, session, now)
    return CapacityChange(True, losing, promoted, demoted)


def _demote_last(db: Session, session_id: int, count: int, now: datetime) -> list[int]:
    if count <= 0:
        return []
    last = list(
        db.exec(
            select(Booking)
            .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
            .order_by(col(Booking.updated_at).desc(), col(Booking.id).desc())
            .limit(count)
        ).all()
    )
    first_waiting = db.exec(
        select(func.min(Booking.queue_no)).where(
            Booking.session_id == session_id, Booking.status == BookingStatus.WAITLISTED
        )
    ).one()
    front = (first_waiting if first_waiting is not None else 1) - len(last)
    # The earliest of them to have booked stands first.
    for place, booking in enumerate(reversed(last)):
        booking.status = BookingStatus.WAITLISTED
        booking.queue_no = front + place
        booking.updated_at = now
        db.add(booking)
    db.flush()
    for booking in reversed(last):
        owe(db, LedgerKind.SEAT_LOST, booking, now)
    return [booking.person_id for booking in reversed(last)]
