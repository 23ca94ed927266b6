"""Workshop sessions: what is on, when, and how many seats are taken.

Changes to a session lock its row first (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` already serialises writers), so a seat is never given twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Booking, BookingStatus, LedgerKind, WorkshopSession
from storage.queries.ledger import owe

__all__ = [
    "SessionPage",
    "SessionView",
    "active_bookings",
    "add_session",
    "cancel_session",
    "confirmed_count",
    "count_upcoming",
    "edit_session",
    "list_sessions",
    "lock_session",
    "move_session",
    "same_session_exists",
    "session_view",
    "upcoming_page",
    "upcoming_sessions",
]


@dataclass(frozen=True)
class SessionView:
    session: WorkshopSession
    taken: int

    @property
    def seats_left(self) -> int:
        return max(0, self.session.capacity - self.taken)


@dataclass(frozen=True)
class SessionPage:
    """One page of upcoming sessions; ``page`` counts from 0."""

    views: list[SessionView]
    page: int
    total: int  # bookable sessions on all pages
    size: int

    @property
    def more(self) -> bool:
        """A later page exists."""
        return (self.page + 1) * self.size < self.total


def _taken(db: Session, session_ids: list[int]) -> dict[int, int]:
    """Confirmed seats per session, counted only for the sessions asked about."""
    if not session_ids:
        return {}
    rows = db.exec(
        select(Booking.session_id, func.count())
        .where(col(Booking.session_id).in_(session_ids), Booking.status == BookingStatus.CONFIRMED)
        .group_by(col(Booking.session_id))
    )
    return {session_id: int(count) for session_id, count in rows}


def _views(db: Session, sessions: list[WorkshopSession]) -> list[SessionView]:
    taken = _taken(db, [s.id for s in sessions if s.id is not None])
    return [SessionView(s, taken.get(s.id or 0, 0)) for s in sessions]


def upcoming_sessions(
    db: Session, centre_id: int, now: datetime, *, limit: int = 8, offset: int = 0
) -> list[SessionView]:
    """Bookable sessions at a centre: not started, not cancelled, soonest first."""
    sessions = db.exec(
        select(WorkshopSession)
        .where(
            WorkshopSession.centre_id == centre_id,
            col(WorkshopSession.starts_at) > now,
            col(WorkshopSession.cancelled_at).is_(None),
        )
        .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return _views(db, list(sessions))


def upcoming_page(
    db: Session, centre_id: int, now: datetime, *, page: int, size: int
) -> SessionPage:
    """Page ``page`` of the bookable sessions (a page past the end is the last page), and
    how many there are in all (counted in the same query)."""
    page = max(0, page)
    rows = _upcoming_rows(db, centre_id, now, page, size)
    if not rows and page > 0:
        page = max(0, (count_upcoming(db, centre_id, now) - 1) // size)
        rows = _upcoming_rows(db, centre_id, now, page, size)
    total = int(rows[0][1]) if rows else 0
    return SessionPage(_views(db, [session for session, _ in rows]), page, total, size)


def _upcoming_rows(
    db: Session, centre_id: int, now: datetime, page: int, size: int
) -> list[tuple[WorkshopSession, int]]:
    return list(
        db.exec(
            select(WorkshopSession, func.count().over())
            .where(
                WorkshopSession.centre_id == centre_id,
                col(WorkshopSession.starts_at) > now,
                col(WorkshopSession.cancelled_at).is_(None),
            )
            .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
            .offset(page * size)
            .limit(size)
        ).all()
    )


def count_upcoming(db: Session, centre_id: int, now: datetime) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(WorkshopSession)
            .where(
                WorkshopSession.centre_id == centre_id,
                col(WorkshopSession.starts_at) > now,
                col(WorkshopSession.cancelled_at).is_(None),
            )
        ).one()
    )


def session_view(db: Session, session_id: int) -> SessionView | None:
    session = db.get(WorkshopSession, session_id)
    if session is None:
        return None
    return SessionView(session, confirmed_count(db, session_id))


def list_sessions(
    db: Session, *, centre_id: int | None = None, since: datetime | None = None
) -> list[SessionView]:
    query = select(WorkshopSession)
    if centre_id is not None:
        query = query.where(WorkshopSession.centre_id == centre_id)
    if since is not None:
        query = query.where(col(WorkshopSession.starts_at) >= since)
    query = query.order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
    return _views(db, list(db.exec(query).all()))


def same_session_exists(db: Session, centre_id: int, title: str, starts_at: datetime) -> bool:
    """A session with this title at this centre and time, not cancelled (a double entry)."""
    found = db.exec(
        select(WorkshopSession.id).where(
            WorkshopSession.centre_id == centre_id,
            WorkshopSession.title == title,
            WorkshopSession.starts_at == starts_at,
            col(WorkshopSession.cancelled_at).is_(None),
        )
    ).first()
    return found is not None


def add_session(
    db: Session,
    *,
    centre_id: int,
    title: str,
    starts_at: datetime,
    minutes: int,
    capacity: int,
    languages: list[str],
    place: str | None,
    now: datetime,
    kind: str | None = None,
) -> WorkshopSession:
    session = WorkshopSession(
        centre_id=centre_id,
        title=title,
        kind=kind,
        starts_at=starts_at,
        minutes=minutes,
        capacity=capacity,
        languages=",".join(languages),
        place=place,
        created_at=now,
    )
    db.add(session)
    db.flush()
    return session


def edit_session(
    db: Session, session_id: int, *, title: str, place: str | None, kind: str | None
) -> None:
    """Change what a session is called (and so its kind) and where it is (nobody needs
    telling)."""
    session = lock_session(db, session_id)
    if session is not None:
        session.title = title
        session.kind = kind
        session.place = place
        db.add(session)
        db.flush()


def cancel_session(db: Session, session_id: int, now: datetime) -> int | None:
    """Cancel a session, cancel its bookings and owe each booker a message.

    Returns how many people will be told, or None if there is no such session or it was
    already cancelled.
    """
    session = lock_session(db, session_id)
    if session is None or session.cancelled_at is not None:
        return None
    session.cancelled_at = now
    db.add(session)
    bookings = active_bookings(db, session_id)
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.updated_at = now
        db.add(booking)
        owe(db, LedgerKind.SESSION_CANCELLED, booking, now)
    return len(bookings)


def move_session(db: Session, session_id: int, starts_at: datetime, now: datetime) -> int | None:
    """Move a session; everyone booked or waiting is owed a message. None if not movable."""
    session = lock_session(db, session_id)
    if session is None or session.cancelled_at is not None or session.starts_at <= now:
        return None
    session.starts_at = starts_at
    db.add(session)
    bookings = active_bookings(db, session_id)
    for booking in bookings:
        owe(db, LedgerKind.SESSION_MOVED, booking, now)
    return len(bookings)


def active_bookings(db: Session, session_id: int) -> list[Booking]:
    """Seats and waitlist places of a session (everyone to tell when it changes)."""
    return list(
        db.exec(
            select(Booking).where(
                Booking.session_id == session_id,
                col(Booking.status).in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
            )
        ).all()
    )


def lock_session(db: Session, session_id: int) -> WorkshopSession | None:
    return db.exec(
        select(WorkshopSession).where(WorkshopSession.id == session_id).with_for_update()
    ).first()


def confirmed_count(db: Session, session_id: int) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(Booking)
            .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
        ).one()
    )
