"""The tables. Every datetime is aware UTC (see :class:`UTCDateTime`).

Privacy rules kept here by construction: a person row holds no name, username or phone number;
it is found by a keyed hash of channel and platform id, and the platform id needed to send is
kept only encrypted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class CentreKind(StrEnum):
    ASYLUM = "asylum"
    RECEPTION = "reception"


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


def _utc(nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Centre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    kind: str = Field(default=CentreKind.ASYLUM, max_length=20)
    timezone: str = Field(default="Europe/Belgrade", max_length=64)
    contact: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class Person(SQLModel, table=True):
    """Someone who agreed to the notice. Rows exist only after agreement."""

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    channel: str = Field(max_length=16)
    address_enc: str = Field(max_length=400)
    locale: str = Field(max_length=16)
    centre_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("centre.id", ondelete="SET NULL"))
    )
    state: str = Field(default="menu", max_length=32)
    state_data: str = Field(default="{}", max_length=2000)
    consented_at: datetime = Field(sa_column=_utc(nullable=False))
    last_seen_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    unreachable: bool = Field(default=False)


class WorkshopSession(SQLModel, table=True):
    __tablename__ = "workshop_session"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("centre.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str = Field(max_length=120)
    starts_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    minutes: int = Field(default=90)
    capacity: int
    languages: str = Field(default="", max_length=100)
    place: str | None = Field(default=None, max_length=120)
    cancelled_at: datetime | None = Field(default=None, sa_column=_utc())
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class Booking(SQLModel, table=True):
    """One row per person and session; cancelling and booking again reuse the row.

    ``queue_no`` orders the waitlist: it is taken from a counter on the session row while that
    row is locked, so positions never collide.
    """

    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_booking_person"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("workshop_session.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: str = Field(max_length=16)
    queue_no: int = Field(default=0)
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    updated_at: datetime = Field(sa_column=_utc(nullable=False))


class Notification(SQLModel, table=True):
    """A message the bot owes someone who did not just write to it (transactional outbox).

    Written in the same transaction as the change it reports (a seat handed on from the
    waitlist, a cancelled session), rendered in the person's language only when it is sent.
    """

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=32)
    session_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE")),
    )
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(index=True))
    attempts: int = Field(default=0)


class SeenDelivery(SQLModel, table=True):
    """A webhook delivery already handled (platforms retry): Viber's message_token, Telegram's
    update_id. Written in the same transaction as the handling, so a retry is skipped exactly
    when the first delivery took effect."""

    __tablename__ = "seen_delivery"

    channel: str = Field(max_length=16, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    seen_at: datetime = Field(sa_column=_utc(nullable=False, index=True))


class OutboundMessage(SQLModel, table=True):
    """One message sent through a billed channel (Viber): no person, no text, only what is
    needed to count and to check the bill."""

    __tablename__ = "outbound_message"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    month: str = Field(max_length=7, index=True)  # "2026-12", in UTC
    bot_initiated: bool
    billing_status: int | None = None
    sent_at: datetime = Field(sa_column=_utc(nullable=False))


class MonthlyUsage(SQLModel, table=True):
    """Counters behind the monthly cap; incremented with one conditional UPDATE, so two
    processes can never both take the last allowed message."""

    __tablename__ = "monthly_usage"

    channel: str = Field(max_length=16, primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    proactive: int = Field(default=0)


class ReminderKind(StrEnum):
    REMINDER = "reminder"
    FEEDBACK = "feedback"  # the invitation to give feedback after a session


class ReminderState(StrEnum):
    CLAIMED = "claimed"  # a scheduler took it and is sending it (under a lease)
    SENT = "sent"
    DROPPED = "dropped"  # too late, superseded, cancelled, or the person is unreachable


class Reminder(SQLModel, table=True):
    """A message due at a moment before (or after) a booked session, claimed exactly once.

    The unique key (booking, kind, offset, session start) is what makes a claim atomic: two
    schedulers inserting the same reminder cannot both succeed. A moved session has a new
    start, so its reminders are due again at the new time; the old ones are simply never sent.
    """

    __table_args__ = (
        UniqueConstraint("booking_id", "kind", "offset_minutes", "starts_at", name="uq_reminder"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("booking.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(max_length=16)
    offset_minutes: int
    starts_at: datetime = Field(sa_column=_utc(nullable=False))
    state: str = Field(max_length=16, index=True)
    owner: str = Field(max_length=40)
    lease_until: datetime = Field(sa_column=_utc(nullable=False))
    claimed_at: datetime = Field(sa_column=_utc(nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=_utc())
