"""The tables. Every datetime is aware UTC (see :class:`UTCDateTime`).

Privacy rules kept here by construction: a person row holds no name, username or phone number;
it is found by a keyed hash of channel and platform id, and the platform id needed to send is
kept only encrypted.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
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
    # When the centre's psychologist can be seen, and where ("Tue and Thu 10-14, room 3"):
    # shown in help, set by staff or an operator.
    psychologist: str | None = Field(default=None, max_length=200)
    # The name in other scripts or languages, JSON ``{"Cyrl": "Крњача", "ar": "..."}``: keys
    # are a language code or a script code (see :mod:`flows.names`).
    names: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
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
    # The person's own choices about what the bot starts (replies are never held back): no
    # messages at all until a moment, or none until they say otherwise.
    paused_until: datetime | None = Field(default=None, sa_column=_utc())
    stopped_at: datetime | None = Field(default=None, sa_column=_utc())
    # Random, not derived from anything: what counts the person once among "distinct
    # participants" after their bookings are reduced to counts (see :class:`AttendanceMark`).
    tally_token: str = Field(default_factory=lambda: secrets.token_hex(8), max_length=16)
    # "latn" keeps Western digits (123) in a language that writes its own (١٢٣, ۱۲۳).
    digits: str | None = Field(default=None, max_length=8)


class WorkshopSession(SQLModel, table=True):
    __tablename__ = "workshop_session"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("centre.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str = Field(max_length=120)
    # A known kind of workshop ("sewing"): its title comes from the catalogs, in every
    # language; and titles staff gave per language, JSON ``{"fa": "...", "uk": "..."}``.
    kind: str | None = Field(default=None, max_length=24)
    titles: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    starts_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    minutes: int = Field(default=90)
    capacity: int
    languages: str = Field(default="", max_length=100)
    place: str | None = Field(default=None, max_length=120)
    # The place in other scripts or languages, keyed like :attr:`Centre.names`.
    places: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
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
    # The short number the person shows at the door (1, 2, 3 ... per session, kept when the
    # booking is cancelled and made again): staff mark attendance by number, never by name.
    ticket: int = Field(default=0)
    attended_at: datetime | None = Field(default=None, sa_column=_utc())
    # A waitlist place that became a seat (the counts report how often the waitlist helped).
    promoted: bool = Field(default=False)
    # That this person gave feedback on this session, never what (see :class:`Feedback`).
    feedback_given: bool = Field(default=False)
    # The person asked for no reminders about this session (other news about it still comes).
    muted: bool = Field(default=False)
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    updated_at: datetime = Field(sa_column=_utc(nullable=False))


class SeenDelivery(SQLModel, table=True):
    """A webhook delivery already handled (platforms retry): Viber's message_token, Telegram's
    update_id. Written in the same transaction as the handling, so a retry is skipped exactly
    when the first delivery took effect."""

    __tablename__ = "seen_delivery"

    channel: str = Field(max_length=16, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    seen_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    # Replies owed for this delivery and not yet sent (long polling confirms an update to
    # Telegram once it is handled, so its answer must survive a crash): the encrypted chat id
    # and the replies as JSON, cleared as soon as they are sent.
    address_enc: str | None = Field(default=None, max_length=400)
    replies: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


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


class LedgerKind(StrEnum):
    """What the bot sends unprompted. Reminders and feedback invitations are written when a
    sweep claims them; the others are written, pending, in the transaction of the change."""

    REMINDER = "reminder"
    FEEDBACK = "feedback"  # the invitation to give feedback after a session
    SEAT_OFFERED = "seat_offered"  # a seat freed up and went to the first person waiting
    SEAT_LOST = "seat_lost"  # fewer seats: a booked person went back to the top of the waitlist
    SESSION_MOVED = "session_moved"
    SESSION_CANCELLED = "session_cancelled"
    BROADCAST = "broadcast"  # a notice from staff (see Broadcast); claimed by its own sender
    REPORT = "report"  # an abuse report, to a protection focal point (see AbuseReport)


class LedgerState(StrEnum):
    PENDING = "pending"  # owed, not yet claimed by any sender
    CLAIMED = "claimed"  # a sender took it and is sending it (under a lease)
    SENT = "sent"
    DROPPED = "dropped"  # too late, superseded, moot, or the person is unreachable
    UNREACHABLE = "unreachable"  # the platform said the person blocked or left (broadcasts)
    FAILED = "failed"  # given up after retries, or refused by the monthly cap (broadcasts)


class LedgerEntry(SQLModel, table=True):
    """One message the bot sends without being asked, claimed exactly once.

    A sender claims an entry with a lease that it renews while the message is on its way; if
    the sender dies, the lease runs out and the next sweep anywhere takes the entry over. So a
    crash loses nothing, and only the one message in flight can arrive twice.

    The unique key (booking, kind, offset, session start) makes claiming a reminder atomic:
    two schedulers inserting the same reminder cannot both succeed. A moved session has a new
    start, so its reminders are due again at the new time. Entries written pending (seat
    offered, session moved or cancelled) leave ``starts_at`` empty, so they never collide.
    """

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("booking_id", "kind", "offset_minutes", "starts_at", name="uq_ledger"),
        UniqueConstraint("broadcast_id", "person_id", name="uq_ledger_broadcast"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    booking_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("booking.id", ondelete="CASCADE"), index=True),
    )
    session_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE")),
    )
    broadcast_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="CASCADE"), index=True),
    )
    report_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("abuse_report.id", ondelete="CASCADE"), index=True),
    )
    offset_minutes: int = Field(default=0)
    starts_at: datetime | None = Field(default=None, sa_column=_utc())
    due_at: datetime | None = Field(default=None, sa_column=_utc())  # not before (broadcasts)
    state: str = Field(max_length=16, index=True)
    owner: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_column=_utc())
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=_utc())
    done_at: datetime | None = Field(default=None, sa_column=_utc())


class BotProfile(SQLModel, table=True):
    """What a platform told us about the bot itself (its username, for centre links), asked
    once and remembered."""

    __tablename__ = "bot_profile"

    channel: str = Field(max_length=16, primary_key=True)
    username: str = Field(max_length=64)
    checked_at: datetime = Field(sa_column=_utc(nullable=False))


class Role(StrEnum):
    STAFF = "staff"  # one centre: its sessions, attendance, notices, poster
    COORDINATOR = "coordinator"  # every centre, read only: sessions, counts, exports
    ADMIN = "admin"  # everything, including inviting staff
    # A protection focal point: receives abuse reports for one centre (or, without a centre,
    # for every centre that has none of its own); no staff tools, so ordinary staff, whom a
    # report may be about, never see one.
    FOCAL = "focal"


class StaffView(StrEnum):
    STAFF = "staff"
    RESIDENT = "resident"  # a staff member looking at the bot as residents do (to book)


class StaffMember(SQLModel, table=True):
    """A person who works for the programme. The role is the only authority: every staff
    action is checked against this row, never against the buttons a person was shown.

    ``ref`` is an opaque random id; the audit log names staff by it, so the log says who did
    what without naming anyone, and still does after the person erased themselves."""

    __tablename__ = "staff_member"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=16, unique=True, index=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    role: str = Field(max_length=16)
    centre_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("centre.id", ondelete="CASCADE"), index=True),
    )
    view: str = Field(default=StaffView.STAFF, max_length=16)
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc())


class Invite(SQLModel, table=True):
    """A one-time invitation to become staff. Only a keyed hash of the code is kept."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    centre_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("centre.id", ondelete="CASCADE")),
    )
    created_by: str = Field(max_length=16)  # a staff ref, or "cli"
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    expires_at: datetime = Field(sa_column=_utc(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_utc())
    used_by: str | None = Field(default=None, max_length=16)  # the staff ref it made


class InviteAttempt(SQLModel, table=True):
    """A failed try at an invite code, counted per chat account (by its keyed hash) to limit
    guessing; forgotten after a day."""

    __tablename__ = "invite_attempt"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=_utc(nullable=False, index=True))


class AuditEntry(SQLModel, table=True):
    """Who (role and opaque staff ref, or "cli"), did what, when, at which centre. ``detail``
    names sessions and counts, never a resident."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    actor: str = Field(max_length=16)
    role: str = Field(max_length=16)
    action: str = Field(max_length=40)
    centre_id: int | None = Field(default=None, index=True)  # kept if the centre goes
    detail: str = Field(default="", max_length=300)


class BroadcastAudience(StrEnum):
    CENTRE = "centre"  # everyone at the centre
    SESSION = "session"  # the people booked (or waiting) on one session
    LANGUAGE = "language"  # everyone at the centre who uses one language


class BroadcastState(StrEnum):
    DRAFT = "draft"  # being written in the chat (flows/announce.py): no recipients, never sent
    SCHEDULED = "scheduled"  # written, with its recipients; waiting for ``send_at``
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    """A notice from staff to many residents. Its recipients are ledger entries, written
    with it in one transaction before anything is sent.

    ``texts`` is JSON ``{locale: text}``; ``base_locale`` names the version everyone without
    their own gets (with a note that it was not translated). The author's progress message is
    kept encrypted (``progress_enc``: the channel's reference to it), to be edited as it goes."""

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("centre.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    author: str = Field(max_length=16)  # a staff ref, or "cli"
    audience: str = Field(max_length=16)
    session_id: int | None = Field(default=None)
    language: str | None = Field(default=None, max_length=16)
    base_locale: str = Field(max_length=16)
    texts: str = Field(sa_column=Column(Text, nullable=False))
    send_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    state: str = Field(max_length=16, index=True)
    recipients: int = Field(default=0)
    progress_channel: str | None = Field(default=None, max_length=16)
    progress_enc: str | None = Field(default=None, max_length=400)
    author_locale: str | None = Field(default=None, max_length=16)
    owner: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_column=_utc())
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=_utc())
    finished_at: datetime | None = Field(default=None, sa_column=_utc())


class Feedback(SQLModel, table=True):
    """One anonymous answer to the questionnaire after a workshop.

    Unlinkable by construction: no column refers to a person, a chat, a booking, a session or
    an exact time; only the centre, the workshop's title, the ISO week of the session
    (``2026-W49``) and the answers. The id is random, and rows are kept in the order of their
    ids (SQLite: a table without rowid; PostgreSQL: rewritten in id order by the hourly
    housekeeping, see ``storage.queries.feedback.shuffle_feedback``), so neither the ids nor
    the order of the rows say who answered when.

    ``answers`` is ``question=value`` pairs sorted by question and joined with ``;`` (a
    skipped question is absent): few distinct strings, so the database groups them cheaply.

    Two indexes serve the export, which reads them instead of the table: the tallies come
    from ``ix_feedback_group`` already in the order they are grouped in, and the comments
    (with the comments themselves) from ``ix_feedback_comments``, which holds only the rows
    that have one, in the order they are written.
    """

    __table_args__ = (
        Index("ix_feedback_group", "centre_id", "week", "workshop", "answers"),
        Index(
            "ix_feedback_comments", "centre_id", "week", "workshop", "id", "comment",
            sqlite_where=text("comment IS NOT NULL"),
            postgresql_where=text("comment IS NOT NULL"),
        ),
        {"sqlite_with_rowid": False},
    )  # fmt: skip

    id: str = Field(max_length=32, primary_key=True)
    centre_id: int  # not a foreign key: kept if the centre goes
    workshop: str = Field(max_length=120)
    week: str = Field(max_length=8)
    answers: str = Field(default="", max_length=400)
    comment: str | None = Field(default=None, max_length=500)


class SessionCount(SQLModel, table=True):
    """What the statistics need of a session's bookings once the bookings are gone (see
    ``storage.queries.retention``): added to what is still counted from live bookings."""

    __tablename__ = "session_count"

    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), primary_key=True
        )
    )
    booked: int = Field(default=0)
    attended: int = Field(default=0)
    promoted: int = Field(default=0)
    feedback: int = Field(default=0)


class AttendanceMark(SQLModel, table=True):
    """Someone attended a session whose bookings are gone: the person's random
    ``tally_token``, so they still count once among distinct participants; nothing else."""

    __tablename__ = "attendance_mark"

    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), primary_key=True
        )
    )
    token: str = Field(max_length=16, primary_key=True, index=True)


class DistressCount(SQLModel, table=True):
    """How often the crisis answer was given, per centre (0: not known) and ISO week: never
    who, never what was written."""

    __tablename__ = "distress_count"

    centre_id: int = Field(primary_key=True)  # not a foreign key: kept if the centre goes
    week: str = Field(max_length=8, primary_key=True)
    count: int = Field(default=0)


class AbuseReport(SQLModel, table=True):
    """A report of abuse or misconduct on its way to the protection focal points: the text
    is encrypted, and the row is deleted once the focal points received it (at most a week).
    Until the person taps "Send" it is a draft (``sent_at`` empty), kept at most a day."""

    __tablename__ = "abuse_report"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int | None = Field(default=None)  # not a foreign key: the report must not go
    text_enc: str = Field(sa_column=Column(Text, nullable=False))
    anonymous: bool = Field(default=True)
    created_at: datetime = Field(sa_column=_utc(nullable=False, index=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc())
