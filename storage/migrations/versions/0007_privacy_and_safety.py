"""what a person controls, help in distress, and keeping little for a short time

On each person: a pause of everything the bot starts, a stop, and a random token that counts
them once among distinct participants after their bookings are reduced to counts. On each
booking: no reminders for it. On each centre: the psychologist's hours. New tables: the counts
kept of sessions whose bookings are gone (``session_count``, ``attendance_mark``), the
anonymous count of crisis answers (``distress_count``), and abuse reports on their way to a
protection focal point (``abuse_report``, with ledger entries pointing at them).

Revision ID: 3c51d0a8e7b2
Revises: 9f3b7c1d2e84
Create Date: 2026-11-30 14:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "3c51d0a8e7b2"
down_revision: str | None = "9f3b7c1d2e84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "abuse_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("text_enc", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_abuse_report_created_at", "abuse_report", ["created_at"])
    op.create_table(
        "session_count",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Integer(), nullable=False),
        sa.Column("promoted", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "attendance_mark",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "token"),
    )
    op.create_index("ix_attendance_mark_token", "attendance_mark", ["token"])
    op.create_table(
        "distress_count",
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("centre_id", "week"),
    )
    with op.batch_alter_table("centre") as batch:
        batch.add_column(
            sa.Column("psychologist", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    with op.batch_alter_table("person") as batch:
        batch.add_column(
            sa.Column("paused_until", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("stopped_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "tally_token", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                server_default="",
            )
        )  # fmt: skip
    # Each person already stored gets a token of their own (a random one, as new people do).
    person = sa.table("person", sa.column("id", sa.Integer()), sa.column("tally_token", sa.String))
    connection = op.get_bind()
    for (person_id,) in connection.execute(sa.select(person.c.id)).all():
        connection.execute(
            person.update().where(person.c.id == person_id).values(tally_token=secrets.token_hex(8))
        )
    with op.batch_alter_table("person") as batch:  # a person is never stored without one
        batch.alter_column("tally_token", server_default=None)
    with op.batch_alter_table("booking") as batch:
        batch.add_column(
            sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("report_id", sa.Integer(), nullable=True))
        batch.create_index("ix_ledger_report_id", ["report_id"])
        batch.create_foreign_key(
            "fk_ledger_report_id", "abuse_report", ["report_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_constraint("fk_ledger_report_id", type_="foreignkey")
        batch.drop_index("ix_ledger_report_id")
        batch.drop_column("report_id")
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("muted")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("tally_token")
        batch.drop_column("stopped_at")
        batch.drop_column("paused_until")
    with op.batch_alter_table("centre") as batch:
        batch.drop_column("psychologist")
    op.drop_table("distress_count")
    op.drop_index("ix_attendance_mark_token", table_name="attendance_mark")
    op.drop_table("attendance_mark")
    op.drop_table("session_count")
    op.drop_index("ix_abuse_report_created_at", table_name="abuse_report")
    op.drop_table("abuse_report")
