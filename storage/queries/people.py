"""People: found by a keyed hash of channel and platform id, never by who they are."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.identity import Vault
from storage.models import (
    AttendanceMark,
    Booking,
    BookingStatus,
    Broadcast,
    InviteAttempt,
    LedgerEntry,
    Person,
    StaffMember,
    WorkshopSession,
)
from storage.queries.bookings import cancel_booking
from storage.queries.retention import archive_bookings

__all__ = [
    "MAX_STATE_DATA",
    "count_people",
    "create_person",
    "delete_person",
    "erase_person",
    "find_person",
    "last_seen",
    "load_state_data",
    "save_state",
    "set_reachable",
]

MAX_STATE_DATA = 2000  # characters of JSON: partial answers, never a document


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


def save_state(person: Person, state: str, data: dict[str, Any] | None = None) -> None:
    """Where the person is in the conversation, and the partial answers of a step in
    progress (cleared when ``data`` is None). Refuses data over :data:`MAX_STATE_DATA`."""
    encoded = json.dumps(data or {}, ensure_ascii=False, separators=(",", ":"))
    if len(encoded) > MAX_STATE_DATA:
        raise ValueError("conversation state too large")
    person.state = state
    person.state_data = encoded


def load_state_data(person: Person) -> dict[str, Any]:
    """The partial answers kept for the person's current step; {} when there are none or
    what is stored is not a JSON object (never trusted further than that)."""
    try:
        value = json.loads(person.state_data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def delete_person(db: Session, person: Person) -> None:
    """Erase a person and everything linked to them (bookings, messages owed to them, failed
    invitation tries, the reference to a staff notice's progress message)."""
    db.execute(delete(LedgerEntry).where(col(LedgerEntry.person_id) == person.id))
    db.execute(delete(Booking).where(col(Booking.person_id) == person.id))
    db.execute(delete(InviteAttempt).where(col(InviteAttempt.key_hash) == person.key_hash))
    member = db.exec(select(StaffMember).where(StaffMember.person_id == person.id)).first()
    if member is not None:
        db.execute(
            update(Broadcast)
            .where(col(Broadcast.author) == member.ref)
            .values(progress_channel=None, progress_enc=None)
        )
    db.delete(person)


def erase_person(db: Session, person: Person, now: datetime, *, keep_mark: bool) -> bool:
    """Erase a person for good: their seats in sessions still to come go to the waitlist,
    the counts of their past bookings are kept without them (the statistics do not change),
    then everything about them goes. ``keep_mark``: keep the random token that counts them
    among distinct participants (retention keeps it, unlinkable once the person is gone;
    the person's own "delete" removes it too). Returns whether someone got a seat (and is
    owed a message)."""
    assert person.id is not None
    promoted = False
    upcoming = db.exec(
        select(Booking.id)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(
            Booking.person_id == person.id,
            col(Booking.status).in_((BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)),
            col(WorkshopSession.starts_at) > now,
        )
    ).all()
    for booking_id in upcoming:
        assert booking_id is not None
        result = cancel_booking(db, person_id=person.id, booking_id=booking_id, now=now)
        promoted |= result.promoted_person_id is not None
    past = db.exec(
        select(Booking.id)
        .join(WorkshopSession, col(WorkshopSession.id) == Booking.session_id)
        .where(Booking.person_id == person.id, col(WorkshopSession.starts_at) <= now)
    ).all()
    archive_bookings(db, [bid for bid in past if bid is not None])
    if not keep_mark:
        db.execute(delete(AttendanceMark).where(col(AttendanceMark.token) == person.tally_token))
    delete_person(db, person)
    return promoted


def count_people(db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(Person)).one())


def last_seen(db: Session, person_id: int) -> datetime | None:
    person = db.get(Person, person_id)
    return person.last_seen_at if person else None
