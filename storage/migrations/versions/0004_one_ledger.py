"""one ledger for every message sent unprompted; owed replies; the bot's profile

Reminders and notifications become rows of one ``ledger`` table claimed with leases. Unsent
notifications are carried over as pending entries, and reminders with their states, so an
upgrade in the middle of the day neither loses nor repeats a message.

Revision ID: 7c2e1a9d4b10
Revises: 4fd50fddc9c0
Create Date: 2026-11-30 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "7c2e1a9d4b10"
down_revision: str | None = "4fd50fddc9c0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id", "kind", "offset_minutes", "starts_at", name="uq_ledger"),
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_state"), ["state"], unique=False)

    op.execute(
        "INSERT INTO ledger (kind, person_id, booking_id, session_id, offset_minutes, "
        "starts_at, state, owner, lease_until, created_at, claimed_at, done_at) "
        "SELECT r.kind, b.person_id, r.booking_id, b.session_id, r.offset_minutes, "
        "r.starts_at, r.state, r.owner, r.lease_until, r.claimed_at, r.claimed_at, r.done_at "
        "FROM reminder r JOIN booking b ON b.id = r.booking_id"
    )
    op.execute(
        "INSERT INTO ledger (kind, person_id, booking_id, session_id, offset_minutes, "
        "state, created_at, done_at) "
        "SELECT n.kind, n.person_id, "
        "(SELECT b.id FROM booking b WHERE b.session_id = n.session_id "
        "AND b.person_id = n.person_id), "
        "n.session_id, 0, "
        "CASE WHEN n.sent_at IS NULL THEN 'pending' ELSE 'sent' END, n.created_at, n.sent_at "
        "FROM notification n"
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_state"))
        batch_op.drop_index(batch_op.f("ix_reminder_booking_id"))
    op.drop_table("reminder")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_sent_at"))
        batch_op.drop_index(batch_op.f("ix_notification_person_id"))
    op.drop_table("notification")

    with op.batch_alter_table("seen_delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address_enc", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
        )
        batch_op.add_column(sa.Column("replies", sa.Text(), nullable=True))

    op.create_table(
        "bot_profile",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("checked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    raise NotImplementedError("the ledger cannot be split back into reminders and notifications")
