"""The delivery ledger: every message the bot sends unprompted, claimed once with a lease.

Two ways in. Messages owed because something changed (a seat handed on, a session moved or
cancelled) are written ``pending`` in the same transaction as the change, and claimed later
with one conditional UPDATE. Reminders and feedback invitations are found by a sweep and
claimed by inserting them (``INSERT ... ON CONFLICT DO NOTHING``: the unique key lets only
one scheduler win). Either way the claim carries a lease the sender renews; an expired lease
means the sender died, and :func:`reclaim` hands the entry to the next sweep.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import (
    AbuseReport,
    Booking,
    BookingStatus,
    Centre,
    LedgerEntry,
    LedgerKind,
    LedgerState,
    Person,
    WorkshopSession,
)
from storage.queries.feedback import attendance_rule

__all__ = [
    "Due",
    "LedgerView",
    "claim",
    "claim_chosen",
    "claim_pending",
    "due_feedback",
    "due_reminders",
    "finish",
    "holds_messages",
    "ledger_views",
    "owe",
    "reclaim",
    "renew",
]


def owe(db: Session, kind: str, booking: Booking, now: datetime) -> None:
    """Record a message owed to a booking's person about its session (sent later)."""
    db.add(
        LedgerEntry(
            kind=kind,
            person_id=booking.person_id,
            booking_id=booking.id,
            session_id=booking.session_id,
            state=LedgerState.PENDING,
            created_at=now,
        )
    )


def claim_pending(
    db: Session,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    channels: set[str],
    limit: int = 500,
) -> list[int]:
    """Claim owed messages for people on ``channels``, oldest first; returns the ids won."""
    chosen = (
        select(LedgerEntry.id)
        .join(Person, col(Person.id) == LedgerEntry.person_id)
        .where(
            LedgerEntry.state == LedgerState.PENDING,
            col(Person.channel).in_(channels),
            col(LedgerEntry.broadcast_id).is_(None),  # a broadcast has its own sender
        )
        .order_by(col(LedgerEntry.id))
        .limit(limit)
    )
    pending = col(LedgerEntry.state) == LedgerState.PENDING
    return claim_chosen(db, chosen, [pending], owner=owner, now=now, lease=lease)


def claim_chosen(
    db: Session,
    chosen: SelectOfScalar[Any],
    recheck: Sequence[ColumnElement[bool]],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
) -> list[int]:
    """Claim the entries a select of their ids picks, in one statement; returns the ids won.

    On PostgreSQL, rows another sender is claiming are skipped (``SKIP LOCKED``) and
    ``recheck`` is applied again once a row lock is granted, so no entry is claimed twice;
    SQLite takes the whole database for the statement."""
    if db.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True, of=LedgerEntry)
    result = db.execute(
        update(LedgerEntry)
        .where(col(LedgerEntry.id).in_(chosen.scalar_subquery()), *recheck)
        .values(state=LedgerState.CLAIMED, owner=owner, lease_until=now + lease, claimed_at=now)
        .returning(col(LedgerEntry.id))
    )
    return sorted(int(rid) for (rid,) in result.all())


@dataclass(frozen=True)
class Due:
    """A reminder or feedback invitation that is due, before it is claimed."""

    booking_id: int
    person_id: int
    session_id: int
    kind: str
    offset_minutes: int
    starts_at: datetime
    dropped: bool = False  # superseded (a later reminder is already due): record, do not send


def due_reminders(
    db: Session, now: datetime, offsets: list[int], *, chunk: int = 1000
) -> Generator[Due, None, None]:
    """Reminders due now, streamed: confirmed bookings of sessions that have not started,
    booked before the reminder's moment, not claimed yet. When several offsets are due for
    one booking (after downtime), only the latest is sent; the others are recorded dropped."""
    ordered = sorted(offsets)
    for position, offset in enumerate(ordered):
        delta = timedelta(minutes=offset)
        already = (
            select(LedgerEntry.id)
            .where(
                LedgerEntry.booking_id == Booking.id,
                LedgerEntry.kind == LedgerKind.REMINDER,
                LedgerEntry.offset_minutes == offset,
                LedgerEntry.starts_at == WorkshopSession.starts_at,
            )
            .exists()
        )
        rows = db.exec(
            select(  # type: ignore[call-overload]
                col(Booking.id),
                col(Booking.person_id),
                col(Booking.session_id),
                col(Booking.updated_at),
                col(WorkshopSession.starts_at),
            )
            .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                col(WorkshopSession.cancelled_at).is_(None),
                col(WorkshopSession.starts_at) > now,
                col(WorkshopSession.starts_at) <= now + delta,
                ~already,
            )
            .order_by(col(WorkshopSession.starts_at), col(Booking.id))
            .execution_options(yield_per=chunk)
        )
        try:
            for booking_id, person_id, session_id, booked_at, starts_at in rows:
                if booked_at > starts_at - delta:
                    continue  # booked after this reminder's moment: it reminds of nothing
                superseded = any(
                    now >= starts_at - timedelta(minutes=o) for o in ordered[:position]
                )
                yield Due(
                    int(booking_id or 0), person_id, session_id, LedgerKind.REMINDER, offset,
                    starts_at, superseded,
                )  # fmt: skip
        finally:
            rows.close()  # a server-side cursor on PostgreSQL when the caller stops early


def due_feedback(
    db: Session, now: datetime, delay: timedelta, *, within: timedelta, chunk: int = 1000
) -> Generator[Due, None, None]:
    """Feedback invitations due: sessions that ended ``delay`` ago (and not longer than
    ``within`` ago), one per person who took part (marked as attended where attendance was
    taken, else booked with a seat), never twice."""
    already = (
        select(LedgerEntry.id)
        .where(LedgerEntry.booking_id == Booking.id, LedgerEntry.kind == LedgerKind.FEEDBACK)
        .exists()
    )
    rows = db.exec(
        select(  # type: ignore[call-overload]
            col(Booking.id),
            col(Booking.person_id),
            col(Booking.session_id),
            col(WorkshopSession.starts_at),
            col(WorkshopSession.minutes),
        )
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(
            attendance_rule(),
            col(WorkshopSession.cancelled_at).is_(None),
            col(WorkshopSession.starts_at) <= now - delay,
            col(WorkshopSession.starts_at) > now - within - timedelta(hours=12),
            ~already,
        )
        .execution_options(yield_per=chunk)
    )
    try:
        for booking_id, person_id, session_id, starts_at, minutes in rows:
            ends = starts_at + timedelta(minutes=minutes)
            if ends + delay <= now <= ends + within:
                yield Due(
                    int(booking_id or 0), person_id, session_id, LedgerKind.FEEDBACK, 0, starts_at
                )
    finally:
        rows.close()


def claim(db: Session, due: list[Due], *, owner: str, now: datetime, lease: timedelta) -> list[int]:
    """Claim swept messages in one atomic statement; returns the ids this caller won.

    Another scheduler inserting the same reminder makes the conflict skip it here."""
    if not due:
        return []
    rows = [
        {
            "kind": d.kind,
            "person_id": d.person_id,
            "booking_id": d.booking_id,
            "session_id": d.session_id,
            "offset_minutes": d.offset_minutes,
            "starts_at": d.starts_at,
            "state": LedgerState.DROPPED if d.dropped else LedgerState.CLAIMED,
            "owner": owner,
            "lease_until": now + lease,
            "created_at": now,
            "claimed_at": now,
            "done_at": now if d.dropped else None,
        }
        for d in due
    ]
    insert = postgres_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    # One cached statement run for all rows ("insertmanyvalues"): compiling a 500-row VALUES
    # clause each batch cost more than the inserting.
    statement = (
        insert(table)
        .on_conflict_do_nothing(
            index_elements=["booking_id", "kind", "offset_minutes", "starts_at"]
        )
        .returning(table.c.id, table.c.state)
    )
    won = db.connection().execute(statement, rows).all()
    return [int(rid) for rid, state in won if state == LedgerState.CLAIMED]


def reclaim(
    db: Session, *, owner: str, now: datetime, lease: timedelta, channels: set[str]
) -> list[int]:
    """Take over entries whose claimer stopped renewing its lease (it crashed)."""
    people = select(Person.id).where(col(Person.channel).in_(channels))
    result = db.execute(
        update(LedgerEntry)
        .where(
            col(LedgerEntry.state) == LedgerState.CLAIMED,
            col(LedgerEntry.lease_until) < now,
            col(LedgerEntry.person_id).in_(people.scalar_subquery()),
            col(LedgerEntry.broadcast_id).is_(None),  # taken over by the broadcast's sender
        )
        .values(owner=owner, lease_until=now + lease)
        .returning(col(LedgerEntry.id))
    )
    return sorted(int(rid) for (rid,) in result.all())


def renew(db: Session, *, owner: str, ids: list[int], now: datetime, lease: timedelta) -> None:
    for start in range(0, len(ids), 1000):
        db.execute(
            update(LedgerEntry)
            .where(
                col(LedgerEntry.id).in_(ids[start : start + 1000]),
                col(LedgerEntry.owner) == owner,
                col(LedgerEntry.state) == LedgerState.CLAIMED,
            )
            .values(lease_until=now + lease)
        )


def holds_messages(now: datetime) -> ColumnElement[bool]:
    """The person asked for no messages the bot starts, for now (stopped, or paused)."""
    return or_(
        col(Person.stopped_at).is_not(None),
        and_(col(Person.paused_until).is_not(None), col(Person.paused_until) > now),
    )


def finish(db: Session, entry_id: int, *, sent: bool, now: datetime) -> None:
    """Record how an entry ended. An abuse report is deleted once no focal point it was for
    is still waiting for it and at least one has it: its text is kept no longer than that.
    One that reached nobody stays (encrypted) until the retention job, at most a week."""
    report_id = db.execute(
        update(LedgerEntry)
        .where(col(LedgerEntry.id) == entry_id)
        .values(state=LedgerState.SENT if sent else LedgerState.DROPPED, done_at=now)
        .returning(col(LedgerEntry.report_id))
    ).scalar()
    if report_id is None:
        return
    waiting = (
        select(LedgerEntry.id)
        .where(
            LedgerEntry.report_id == report_id,
            col(LedgerEntry.state).in_((LedgerState.PENDING, LedgerState.CLAIMED)),
        )
        .exists()
    )
    received = (
        select(LedgerEntry.id)
        .where(LedgerEntry.report_id == report_id, LedgerEntry.state == LedgerState.SENT)
        .exists()
    )
    db.execute(delete(AbuseReport).where(col(AbuseReport.id) == report_id, ~waiting, received))


@dataclass(frozen=True)
class LedgerView:
    """What rendering one claimed entry needs."""

    entry_id: int
    kind: str
    entry_starts_at: datetime | None
    booking_id: int | None
    booking_status: str | None
    session: WorkshopSession | None
    person_id: int
    channel: str
    address_enc: str
    locale: str
    unreachable: bool
    zone: str | None
    ticket: int = 0  # the booking's door number
    quiet: bool = False  # the person stopped or paused what the bot starts
    muted: bool = False  # no reminders for this booking
    report_enc: str | None = None  # an abuse report's sealed text, for a focal point
    report_anonymous: bool = True
    digits: str | None = None  # the person keeps Western digits ("latn")


def ledger_views(db: Session, ids: list[int], now: datetime) -> list[LedgerView]:
    """What rendering a batch of entries needs, in one query of plain columns."""
    if not ids:
        return []
    quiet = holds_messages(now)
    rows = db.execute(
        select(  # type: ignore[call-overload, misc]
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.starts_at,
            LedgerEntry.booking_id,
            Booking.status,
            LedgerEntry.session_id,
            Person.id,
            Person.channel,
            Person.address_enc,
            Person.locale,
            Person.digits,
            Person.unreachable,
            Centre.timezone,
            Booking.ticket,
            quiet,
            Booking.muted,
            AbuseReport.text_enc,
            AbuseReport.anonymous,
        )
        .join(Person, col(Person.id) == LedgerEntry.person_id)
        .outerjoin(Booking, col(Booking.id) == LedgerEntry.booking_id)
        .outerjoin(WorkshopSession, col(WorkshopSession.id) == LedgerEntry.session_id)
        .outerjoin(Centre, col(Centre.id) == WorkshopSession.centre_id)
        .outerjoin(AbuseReport, col(AbuseReport.id) == LedgerEntry.report_id)
        .where(col(LedgerEntry.id).in_(ids))
    ).all()
    session_ids = {row[5] for row in rows if row[5] is not None}
    sessions = {
        s.id: s
        for s in db.exec(select(WorkshopSession).where(col(WorkshopSession.id).in_(session_ids)))
    }
    return [
        LedgerView(rid, kind, starts, bid, status, sessions.get(sid), pid, channel, address,
                   locale, unreachable, zone, ticket or 0, bool(hold), bool(muted), sealed,
                   anonymous is not False, digits)
        for (rid, kind, starts, bid, status, sid, pid, channel, address, locale, digits,
             unreachable, zone, ticket, hold, muted, sealed, anonymous) in rows
    ]  # fmt: skip
