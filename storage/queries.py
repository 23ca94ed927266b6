"""Named queries: the only place that knows how rows are read and changed.

Flows call these with a session from :meth:`storage.db.Database.session`; they never build SQL.
Booking changes lock the workshop session row first (``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), so the last seat is given exactly once.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.identity import Vault
from storage.models import (
    Booking,
    BookingStatus,
    Centre,
    MonthlyUsage,
    Notification,
    OutboundMessage,
    Person,
    Reminder,
    ReminderKind,
    ReminderState,
    SeenDelivery,
    WorkshopSession,
)

# --- centres -------------------------------------------------------------------------------


def list_centres(db: Session) -> list[Centre]:
    return list(db.exec(select(Centre).order_by(col(Centre.name))))


def centre_by_slug(db: Session, slug: str) -> Centre | None:
    return db.exec(select(Centre).where(Centre.slug == slug)).first()


def centre_by_id(db: Session, centre_id: int) -> Centre | None:
    return db.get(Centre, centre_id)


def add_centre(
    db: Session,
    *,
    slug: str,
    name: str,
    kind: str,
    timezone: str,
    contact: str | None,
    now: datetime,
) -> Centre:
    centre = Centre(
        slug=slug, name=name, kind=kind, timezone=timezone, contact=contact, created_at=now
    )
    db.add(centre)
    db.flush()
    return centre


# --- people --------------------------------------------------------------------------------


def find_person(db: Session, vault: Vault, channel: str, user_key: str) -> Person | None:
    key_hash = vault.lookup_hash(channel, user_key)
    return db.exec(select(Person).where(Person.key_hash == key_hash)).first()


def create_person(
    db: Session,
    vault: Vault,
    *,
    channel: str,
    user_key: str,
    locale: str,
    centre_id: int | None,
    now: datetime,
) -> Person:
    """Store a person who has just agreed to the notice (or return them if they exist)."""
    existing = find_person(db, vault, channel, user_key)
    if existing is not None:
        return existing
    person = Person(
        key_hash=vault.lookup_hash(channel, user_key),
        channel=channel,
        address_enc=vault.seal(user_key),
        locale=locale,
        centre_id=centre_id,
        consented_at=now,
        last_seen_at=now,
    )
    try:
        with db.begin_nested():
            db.add(person)
    except IntegrityError:
        # Two first taps on "I agree" raced; the other one stored the person.
        found = find_person(db, vault, channel, user_key)
        assert found is not None
        return found
    return person


def set_reachable(
    db: Session, vault: Vault, channel: str, user_key: str, *, reachable: bool
) -> bool:
    """Mark a person (un)reachable; False when no such person is stored."""
    result = db.execute(
        update(Person)
        .where(col(Person.key_hash) == vault.lookup_hash(channel, user_key))
        .values(unreachable=not reachable)
    )
    return bool(getattr(result, "rowcount", 0))


def save_state(person: Person, state: str) -> None:
    """Where the person is in the conversation (``state_data`` is kept for states that need
    more than a name; none does yet)."""
    person.state = state


def delete_person(db: Session, person: Person) -> None:
    """Erase a person and everything linked to them (bookings, pending notifications)."""
    db.execute(Booking.__table__.delete().where(Booking.__table__.c.person_id == person.id))  # type: ignore[attr-defined]
    db.execute(
        Notification.__table__.delete().where(Notification.__table__.c.person_id == person.id)  # type: ignore[attr-defined]
    )
    db.delete(person)


def count_people(db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(Person)).one())


# --- workshop sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    session: WorkshopSession
    taken: int

    @property
    def seats_left(self) -> int:
        return max(0, self.session.capacity - self.taken)


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
    db: Session, centre_id: int, now: datetime, *, limit: int = 8
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
        .limit(limit)
    ).all()
    return _views(db, list(sessions))


def session_view(db: Session, session_id: int) -> SessionView | None:
    session = db.get(WorkshopSession, session_id)
    if session is None:
        return None
    return SessionView(session, _confirmed_count(db, session_id))


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
) -> WorkshopSession:
    session = WorkshopSession(
        centre_id=centre_id,
        title=title,
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


def cancel_session(db: Session, session_id: int, now: datetime) -> int | None:
    """Cancel a session, cancel its bookings and owe each booker a message.

    Returns how many people will be told, or None if there is no such session or it was
    already cancelled.
    """
    session = _lock_session(db, session_id)
    if session is None or session.cancelled_at is not None:
        return None
    session.cancelled_at = now
    db.add(session)
    bookings = _active_bookings(db, session_id)
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.updated_at = now
        db.add(booking)
        _owe(db, booking.person_id, "session_cancelled", session_id, now)
    return len(bookings)


def _active_bookings(db: Session, session_id: int) -> list[Booking]:
    """Seats and waitlist places of a session (everyone to tell when it changes)."""
    return list(
        db.exec(
            select(Booking).where(
                Booking.session_id == session_id,
                col(Booking.status).in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
            )
        ).all()
    )


def _lock_session(db: Session, session_id: int) -> WorkshopSession | None:
    return db.exec(
        select(WorkshopSession).where(WorkshopSession.id == session_id).with_for_update()
    ).first()


def _confirmed_count(db: Session, session_id: int) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(Booking)
            .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
        ).one()
    )


# --- bookings ------------------------------------------------------------------------------


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
    session = _lock_session(db, session_id)
    if (
        session is None
        or session.cancelled_at is not None
        or session.starts_at <= now
        or session.centre_id != centre_id
    ):
        return BookResult(BookOutcome.UNAVAILABLE)
    booking = db.exec(
        select(Booking).where(Booking.session_id == session_id, Booking.person_id == person_id)
    ).first()
    if booking is not None and booking.status == BookingStatus.CONFIRMED:
        return BookResult(BookOutcome.ALREADY_CONFIRMED, booking_id=booking.id)
    if booking is not None and booking.status == BookingStatus.WAITLISTED:
        return BookResult(
            BookOutcome.ALREADY_WAITLISTED, waitlist_position(db, booking), booking.id
        )
    has_seat = _confirmed_count(db, session_id) < session.capacity
    if booking is None:
        booking = Booking(
            session_id=session_id, person_id=person_id, created_at=now, updated_at=now, status=""
        )
    booking.updated_at = now
    if has_seat:
        booking.status = BookingStatus.CONFIRMED
    else:
        booking.status = BookingStatus.WAITLISTED
        booking.queue_no = _next_queue_no(db, session_id)
    db.add(booking)
    db.flush()
    if has_seat:
        return BookResult(BookOutcome.CONFIRMED, booking_id=booking.id)
    return BookResult(BookOutcome.WAITLISTED, waitlist_position(db, booking), booking.id)


def _next_queue_no(db: Session, session_id: int) -> int:
    highest = db.exec(
        select(func.max(Booking.queue_no)).where(Booking.session_id == session_id)
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
    session = _lock_session(db, found.session_id)
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


def _promote_next(db: Session, session: WorkshopSession, now: datetime) -> int | None:
    assert session.id is not None
    if _confirmed_count(db, session.id) >= session.capacity:
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
    first.updated_at = now
    db.add(first)
    _owe(db, first.person_id, "seat_offered", session.id, now)
    return first.person_id


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    session: WorkshopSession
    position: int  # 0 when confirmed


def person_bookings(db: Session, person_id: int, now: datetime) -> list[BookingView]:
    """A person's seats and waitlist places for sessions that have not started."""
    rows = db.exec(
        select(Booking, WorkshopSession)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(
            Booking.person_id == person_id,
            col(Booking.status).in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
            col(WorkshopSession.starts_at) > now,
        )
        .order_by(col(WorkshopSession.starts_at))
    ).all()
    return [
        BookingView(
            booking,
            session,
            waitlist_position(db, booking) if booking.status == BookingStatus.WAITLISTED else 0,
        )
        for booking, session in rows
    ]


def booking_for(db: Session, person_id: int, session_id: int) -> Booking | None:
    return db.exec(
        select(Booking).where(Booking.session_id == session_id, Booking.person_id == person_id)
    ).first()


def count_bookings(db: Session, person_id: int) -> int:
    return int(
        db.exec(
            select(func.count()).select_from(Booking).where(Booking.person_id == person_id)
        ).one()
    )


# --- notifications (transactional outbox) -----------------------------------------------------


def _owe(db: Session, person_id: int, kind: str, session_id: int | None, now: datetime) -> None:
    db.add(Notification(person_id=person_id, kind=kind, session_id=session_id, created_at=now))


def pending_notifications(
    db: Session, channels: set[str], *, limit: int = 200
) -> list[tuple[Notification, Person]]:
    """Owed notifications for people on the given channels, oldest first."""
    rows = db.exec(
        select(Notification, Person)
        .join(Person, col(Person.id) == Notification.person_id)
        .where(col(Notification.sent_at).is_(None), col(Person.channel).in_(channels))
        .order_by(col(Notification.id))
        .limit(limit)
    )
    return list(rows.all())


def mark_notification(db: Session, notification_id: int, now: datetime) -> None:
    db.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .values(sent_at=now, attempts=Notification.attempts + 1)
    )


# --- webhook deliveries ----------------------------------------------------------------------


def first_delivery(db: Session, channel: str, key: str, now: datetime) -> bool:
    """Record a delivery; False if it was recorded before (a platform's retry)."""
    if db.get(SeenDelivery, (channel, key)) is not None:
        return False
    try:
        with db.begin_nested():
            db.add(SeenDelivery(channel=channel, key=key, seen_at=now))
    except IntegrityError:
        return False  # the same delivery, handled at this very moment by another worker
    return True


def forget_deliveries(db: Session, before: datetime) -> int:
    result = db.execute(delete(SeenDelivery).where(col(SeenDelivery.seen_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


# --- billed channels -------------------------------------------------------------------------


def reserve_proactive(db: Session, channel: str, month: str, cap: int | None) -> bool:
    """Take one bot-initiated message from this month's allowance; False when it is used up."""
    if db.get(MonthlyUsage, (channel, month)) is None:
        try:
            with db.begin_nested():
                db.add(MonthlyUsage(channel=channel, month=month, proactive=0))
        except IntegrityError:
            pass  # created by someone else meanwhile
    statement = (
        update(MonthlyUsage)
        .where(col(MonthlyUsage.channel) == channel, col(MonthlyUsage.month) == month)
        .values(proactive=MonthlyUsage.proactive + 1)
    )
    if cap is not None:
        statement = statement.where(col(MonthlyUsage.proactive) < cap)
    result = db.execute(statement)
    return bool(getattr(result, "rowcount", 0))


def record_outbound(
    db: Session,
    *,
    channel: str,
    month: str,
    bot_initiated: bool,
    billing_status: int | None,
    now: datetime,
) -> None:
    db.add(
        OutboundMessage(
            channel=channel,
            month=month,
            bot_initiated=bot_initiated,
            billing_status=billing_status,
            sent_at=now,
        )
    )


@dataclass(frozen=True)
class Usage:
    replies: int
    bot_initiated: int
    reserved: int  # taken from the cap (includes messages that then failed)
    by_billing_status: dict[int | None, int]


def usage(db: Session, channel: str, month: str) -> Usage:
    rows = db.exec(
        select(OutboundMessage.bot_initiated, OutboundMessage.billing_status, func.count())
        .where(OutboundMessage.channel == channel, OutboundMessage.month == month)
        .group_by(col(OutboundMessage.bot_initiated), col(OutboundMessage.billing_status))
    ).all()
    replies = sum(int(n) for initiated, _, n in rows if not initiated)
    initiated = sum(int(n) for started, _, n in rows if started)
    statuses: dict[int | None, int] = {}
    for _, status, n in rows:
        statuses[status] = statuses.get(status, 0) + int(n)
    counter = db.get(MonthlyUsage, (channel, month))
    return Usage(replies, initiated, counter.proactive if counter else 0, statuses)


def last_seen(db: Session, person_id: int) -> datetime | None:
    person = db.get(Person, person_id)
    return person.last_seen_at if person else None


# --- reminders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A reminder or feedback invitation that is due, before it is claimed."""

    booking_id: int
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
            select(Reminder.id)
            .where(
                Reminder.booking_id == Booking.id,
                Reminder.kind == ReminderKind.REMINDER,
                Reminder.offset_minutes == offset,
                Reminder.starts_at == WorkshopSession.starts_at,
            )
            .exists()
        )
        rows = db.exec(
            select(Booking.id, Booking.updated_at, WorkshopSession.starts_at)
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
            for booking_id, booked_at, starts_at in rows:
                if booked_at > starts_at - delta:
                    continue  # booked after this reminder's moment: it reminds of nothing
                superseded = any(
                    now >= starts_at - timedelta(minutes=o) for o in ordered[:position]
                )
                yield Due(
                    int(booking_id or 0), ReminderKind.REMINDER, offset, starts_at, superseded
                )
        finally:
            rows.close()  # a server-side cursor on PostgreSQL when the caller stops early


def due_feedback(
    db: Session, now: datetime, delay: timedelta, *, within: timedelta, chunk: int = 1000
) -> Generator[Due, None, None]:
    """Feedback invitations due: sessions that ended ``delay`` ago (and not longer than
    ``within`` ago), one per confirmed booking, never twice."""
    already = (
        select(Reminder.id)
        .where(Reminder.booking_id == Booking.id, Reminder.kind == ReminderKind.FEEDBACK)
        .exists()
    )
    rows = db.exec(
        select(Booking.id, WorkshopSession.starts_at, WorkshopSession.minutes)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            col(WorkshopSession.cancelled_at).is_(None),
            col(WorkshopSession.starts_at) <= now - delay,
            col(WorkshopSession.starts_at) > now - within - timedelta(hours=12),
            ~already,
        )
        .execution_options(yield_per=chunk)
    )
    try:
        for booking_id, starts_at, minutes in rows:
            ends = starts_at + timedelta(minutes=minutes)
            if ends + delay <= now <= ends + within:
                yield Due(int(booking_id or 0), ReminderKind.FEEDBACK, 0, starts_at)
    finally:
        rows.close()


def claim(db: Session, due: list[Due], *, owner: str, now: datetime, lease: timedelta) -> list[int]:
    """Claim reminders in one atomic statement; returns the ids this caller won (to send).

    Another scheduler inserting the same reminder makes the conflict skip it here."""
    if not due:
        return []
    rows = [
        {
            "booking_id": d.booking_id,
            "kind": d.kind,
            "offset_minutes": d.offset_minutes,
            "starts_at": d.starts_at,
            "state": ReminderState.DROPPED if d.dropped else ReminderState.CLAIMED,
            "owner": owner,
            "lease_until": now + lease,
            "claimed_at": now,
            "done_at": now if d.dropped else None,
        }
        for d in due
    ]
    insert = postgres_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = Reminder.__table__  # type: ignore[attr-defined]
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
    return [int(rid) for rid, state in won if state == ReminderState.CLAIMED]


def reclaim(db: Session, *, owner: str, now: datetime, lease: timedelta) -> list[int]:
    """Take over reminders whose claimer stopped renewing its lease (it crashed)."""
    result = db.execute(
        update(Reminder)
        .where(col(Reminder.state) == ReminderState.CLAIMED, col(Reminder.lease_until) < now)
        .values(owner=owner, lease_until=now + lease)
        .returning(col(Reminder.id))
    )
    return [int(rid) for (rid,) in result.all()]


def renew(db: Session, *, owner: str, ids: list[int], now: datetime, lease: timedelta) -> None:
    for start in range(0, len(ids), 1000):
        db.execute(
            update(Reminder)
            .where(
                col(Reminder.id).in_(ids[start : start + 1000]),
                col(Reminder.owner) == owner,
                col(Reminder.state) == ReminderState.CLAIMED,
            )
            .values(lease_until=now + lease)
        )


def finish_reminder(db: Session, reminder_id: int, *, sent: bool, now: datetime) -> None:
    db.execute(
        update(Reminder)
        .where(col(Reminder.id) == reminder_id)
        .values(state=ReminderState.SENT if sent else ReminderState.DROPPED, done_at=now)
    )


@dataclass(frozen=True)
class ReminderView:
    reminder_id: int
    kind: str
    reminder_starts_at: datetime
    booking_id: int
    booking_status: str
    session: WorkshopSession
    person_id: int
    channel: str
    address_enc: str
    locale: str
    unreachable: bool
    zone: str | None


def reminder_views(db: Session, ids: list[int]) -> list[ReminderView]:
    """What rendering a batch of reminders needs, in one query of plain columns."""
    if not ids:
        return []
    rows = db.execute(
        select(  # type: ignore[call-overload]
            Reminder.id,
            Reminder.kind,
            Reminder.starts_at,
            Booking.id,
            Booking.status,
            WorkshopSession.id,
            Person.id,
            Person.channel,
            Person.address_enc,
            Person.locale,
            Person.unreachable,
            Centre.timezone,
        )
        .join(Booking, col(Booking.id) == Reminder.booking_id)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .join(Person, col(Person.id) == Booking.person_id)
        .outerjoin(Centre, col(Centre.id) == WorkshopSession.centre_id)
        .where(col(Reminder.id).in_(ids))
    ).all()
    session_ids = {row[5] for row in rows}
    sessions = {
        s.id: s
        for s in db.exec(select(WorkshopSession).where(col(WorkshopSession.id).in_(session_ids)))
    }
    return [
        ReminderView(rid, kind, starts, bid, status, sessions[sid], pid, channel, address,
                     locale, unreachable, zone)
        for rid, kind, starts, bid, status, sid, pid, channel, address, locale, unreachable, zone
        in rows
    ]  # fmt: skip


def move_session(db: Session, session_id: int, starts_at: datetime, now: datetime) -> int | None:
    """Move a session; everyone booked or waiting is owed a message. None if not movable."""
    session = _lock_session(db, session_id)
    if session is None or session.cancelled_at is not None or session.starts_at <= now:
        return None
    session.starts_at = starts_at
    db.add(session)
    bookings = _active_bookings(db, session_id)
    for booking in bookings:
        _owe(db, booking.person_id, "session_moved", session_id, now)
    return len(bookings)
