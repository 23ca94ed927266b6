"""Broadcasts: a notice and its recipients, written together before anything is sent.

Each recipient is one ledger entry (kind ``broadcast``), so sending a broadcast is claiming
ledger entries with leases like every other unprompted message: a crash loses nobody, and the
unique key (broadcast, person) means nobody is written twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, insert, literal
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from storage.models import (
    Booking,
    BookingStatus,
    Broadcast,
    BroadcastAudience,
    LedgerEntry,
    LedgerKind,
    LedgerState,
    Person,
    StaffMember,
)

__all__ = [
    "audience_count",
    "broadcast_counts",
    "fan_out",
    "viber_billable",
]


def _audience(centre_id: int, audience: str, session_id: int | None, language: str | None):  # type: ignore[no-untyped-def]
    """The people a notice is for: residents (not staff), at the centre, by audience."""
    staff = (
        select(StaffMember.id)
        .where(StaffMember.person_id == Person.id, col(StaffMember.revoked_at).is_(None))
        .exists()
    )
    if audience == BroadcastAudience.SESSION:
        booked = (
            select(Booking.id)
            .where(
                Booking.person_id == Person.id,
                Booking.session_id == session_id,
                col(Booking.status).in_((BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)),
            )
            .exists()
        )
        return [booked, ~staff]
    where = [Person.centre_id == centre_id, ~staff]
    if audience == BroadcastAudience.LANGUAGE:
        where.append(Person.locale == language)
    return where


def audience_count(
    db: Session, centre_id: int, audience: str, session_id: int | None, language: str | None
) -> tuple[int, int]:
    """(reachable, unreachable) people a notice for this audience would go to."""
    rows = db.exec(
        select(col(Person.unreachable), func.count())
        .where(*_audience(centre_id, audience, session_id, language))
        .group_by(col(Person.unreachable))
    ).all()
    counts = {bool(unreachable): int(n) for unreachable, n in rows}
    return counts.get(False, 0), counts.get(True, 0)


def viber_billable(
    db: Session,
    centre_id: int,
    audience: str,
    session_id: int | None,
    language: str | None,
    now: datetime,
    free_window: timedelta = timedelta(hours=24),
) -> int:
    """How many of the audience are on Viber and did not write in the last 24 hours: each
    is a billed, bot-initiated message (counted against the monthly cap)."""
    return int(
        db.exec(
            select(func.count())
            .select_from(Person)
            .where(
                *_audience(centre_id, audience, session_id, language),
                Person.channel == "viber",
                col(Person.unreachable).is_(False),
                col(Person.last_seen_at) <= now - free_window,
            )
        ).one()
    )


def fan_out(db: Session, broadcast: Broadcast, now: datetime) -> int:
    """Write one ledger entry per recipient in one statement; returns how many. People known
    to be unreachable are written as such (counted in the tally, never sent)."""
    assert broadcast.id is not None
    unreachable = col(Person.unreachable)
    chosen = sql_select(
        literal(LedgerKind.BROADCAST.value),
        col(Person.id),
        literal(broadcast.id),
        literal(0),
        literal(broadcast.send_at, type_=LedgerEntry.__table__.c.due_at.type),  # type: ignore[attr-defined]
        case((unreachable, LedgerState.UNREACHABLE.value), else_=LedgerState.PENDING.value),
        literal(now, type_=LedgerEntry.__table__.c.created_at.type),  # type: ignore[attr-defined]
        case((unreachable, literal(now, type_=LedgerEntry.__table__.c.done_at.type)), else_=None),  # type: ignore[attr-defined]
    ).where(
        *_audience(
            broadcast.centre_id, broadcast.audience, broadcast.session_id, broadcast.language
        )
    )
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    result = db.execute(
        insert(table).from_select(
            ["kind", "person_id", "broadcast_id", "offset_minutes", "due_at", "state",
             "created_at", "done_at"],
            chosen,
        )
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)


def broadcast_counts(db: Session, broadcast_id: int) -> dict[str, int]:
    """Recipients by ledger state (pending, claimed, sent, unreachable, failed, dropped)."""
    rows = db.exec(
        select(col(LedgerEntry.state), func.count())
        .where(LedgerEntry.broadcast_id == broadcast_id)
        .group_by(col(LedgerEntry.state))
    ).all()
    return {str(state): int(n) for state, n in rows}
