"""Keeping little, for a short time: what the daily retention job removes, and the counts it
keeps in place of bookings (see ``flows.retention`` for the rules and their reasons).

Bookings are reduced to counts per session (``session_count``: added up, so a session may be
reduced in several steps) and, for each person marked as attended, their random tally token
(``attendance_mark``), so a person still counts once among distinct participants. The
statistics add the two to what live bookings say (``storage.queries.reports``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage.models import (
    AttendanceMark,
    AuditEntry,
    Booking,
    BookingStatus,
    Broadcast,
    BroadcastState,
    DistressCount,
    LedgerEntry,
    LedgerState,
    Person,
    SessionCount,
    WorkshopSession,
)

__all__ = [
    "archive_bookings",
    "count_distress",
    "distress_counts",
    "forget_audit",
    "forget_ledger",
    "forget_notices",
    "idle_people",
    "old_booking_ids",
]

DONE = (LedgerState.SENT, LedgerState.DROPPED, LedgerState.UNREACHABLE, LedgerState.FAILED)


def _insert(db: Session):  # type: ignore[no-untyped-def]
    return postgres_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


def old_booking_ids(db: Session, before: datetime, *, limit: int = 1000) -> list[int]:
    """Bookings of sessions that started before ``before`` (a batch of them)."""
    rows = db.execute(
        select(col(Booking.id))
        .join(WorkshopSession, col(WorkshopSession.id) == col(Booking.session_id))
        .where(col(WorkshopSession.starts_at) < before)
        .order_by(col(Booking.id))
        .limit(limit)
    ).all()
    return [int(bid) for (bid,) in rows]


def archive_bookings(db: Session, booking_ids: Sequence[int]) -> int:
    """Replace these bookings by the counts the statistics take from them, then delete them
    (their ledger entries go with them). Returns how many went."""
    if not booking_ids:
        return 0
    ids = list(booking_ids)
    confirmed = col(Booking.status) == BookingStatus.CONFIRMED

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)

    sums = db.execute(
        select(
            col(Booking.session_id),
            total(confirmed),
            total(col(Booking.attended_at).is_not(None)),
            total(col(Booking.promoted).is_(True)),
            total(col(Booking.feedback_given).is_(True)),
        )
        .where(col(Booking.id).in_(ids))
        .group_by(col(Booking.session_id))
    ).all()
    table = SessionCount.__table__  # type: ignore[attr-defined]
    insert = _insert(db)
    for session_id, booked, attended, promoted, feedback in sums:
        statement = insert(table).values(
            session_id=session_id, booked=booked, attended=attended, promoted=promoted,
            feedback=feedback,
        )  # fmt: skip
        db.execute(
            statement.on_conflict_do_update(
                index_elements=["session_id"],
                set_={
                    "booked": table.c.booked + statement.excluded.booked,
                    "attended": table.c.attended + statement.excluded.attended,
                    "promoted": table.c.promoted + statement.excluded.promoted,
                    "feedback": table.c.feedback + statement.excluded.feedback,
                },
            )
        )
    marks = db.execute(
        select(col(Booking.session_id), col(Person.tally_token))
        .join(Person, col(Person.id) == col(Booking.person_id))
        .where(col(Booking.id).in_(ids), col(Booking.attended_at).is_not(None))
    ).all()
    if marks:
        mark_table = AttendanceMark.__table__  # type: ignore[attr-defined]
        db.execute(
            insert(mark_table).on_conflict_do_nothing(index_elements=["session_id", "token"]),
            [{"session_id": sid, "token": token} for sid, token in marks],
        )
    result = db.execute(delete(Booking).where(col(Booking.id).in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def idle_people(db: Session, before: datetime, *, limit: int = 500) -> list[Person]:
    """People not seen since before ``before`` (a batch of them)."""
    return list(
        db.scalars(
            select(Person).where(col(Person.last_seen_at) < before).order_by(col(Person.id))
            .limit(limit)
        )
    )  # fmt: skip


def forget_ledger(db: Session, before: datetime) -> int:
    """Ledger entries that ended before ``before`` (sent, dropped, unreachable, failed)."""
    result = db.execute(
        delete(LedgerEntry).where(
            col(LedgerEntry.state).in_(DONE),
            func.coalesce(col(LedgerEntry.done_at), col(LedgerEntry.created_at)) < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_audit(db: Session, before: datetime) -> int:
    result = db.execute(delete(AuditEntry).where(col(AuditEntry.at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_notices(db: Session, before: datetime) -> int:
    """Staff notices finished (sent or cancelled) before ``before``: their texts go."""
    finished = func.coalesce(col(Broadcast.finished_at), col(Broadcast.created_at))
    result = db.execute(
        delete(Broadcast).where(
            col(Broadcast.state).in_((BroadcastState.DONE, BroadcastState.CANCELLED)),
            finished < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_distress(db: Session, centre_id: int | None, week: str) -> None:
    """One more crisis answer at a centre (0: not known) in an ISO week."""
    table = DistressCount.__table__  # type: ignore[attr-defined]
    statement = _insert(db)(table).values(centre_id=centre_id or 0, week=week, count=1)
    db.execute(
        statement.on_conflict_do_update(
            index_elements=["centre_id", "week"], set_={"count": table.c.count + 1}
        )
    )


def distress_counts(
    db: Session, first_week: str, last_week: str, centre_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """Crisis answers per centre over the weeks from ``first_week`` to ``last_week``."""
    query = (
        select(col(DistressCount.centre_id), func.sum(col(DistressCount.count)))
        .where(col(DistressCount.week) >= first_week, col(DistressCount.week) <= last_week)
        .group_by(col(DistressCount.centre_id))
    )
    if centre_ids is not None:
        query = query.where(col(DistressCount.centre_id).in_(list(centre_ids)))
    return {int(centre): int(n) for centre, n in db.execute(query).all()}
