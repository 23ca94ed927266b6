"""staff, invites, audit log, broadcasts, door numbers and attendance

Staff roles and one-time invites (kept only as keyed hashes), the audit log of staff actions,
broadcasts with one ledger entry per recipient, and on each booking the short number a person
shows at the door and whether they came. Existing bookings get their door numbers in the
order they were made.

Revision ID: 42525bc2a6b6
Revises: 7c2e1a9d4b10
Create Date: 2026-11-30 05:58:44
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "42525bc2a6b6"
down_revision: str | None = "7c2e1a9d4b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_centre_id"), "audit_log", ["centre_id"], unique=False)
    op.create_table(
        "invite_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_invite_attempt_at"), "invite_attempt", ["at"], unique=False)
    op.create_index(
        op.f("ix_invite_attempt_key_hash"), "invite_attempt", ["key_hash"], unique=False
    )
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("base_locale", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("send_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("progress_channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("progress_enc", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
        sa.Column("author_locale", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centre.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_broadcast_centre_id"), "broadcast", ["centre_id"], unique=False)
    op.create_index(op.f("ix_broadcast_send_at"), "broadcast", ["send_at"], unique=False)
    op.create_index(op.f("ix_broadcast_state"), "broadcast", ["state"], unique=False)
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centre.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_invite_code_hash"), "invite", ["code_hash"], unique=True)
    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("view", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centre.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
    )
    op.create_index(op.f("ix_staff_member_centre_id"), "staff_member", ["centre_id"], unique=False)
    op.create_index(op.f("ix_staff_member_ref"), "staff_member", ["ref"], unique=True)
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("attended_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Door numbers for bookings made before this: 1, 2, 3 ... per session, oldest first.
    op.execute(
        """
        UPDATE booking SET ticket = (
            SELECT COUNT(*) FROM booking AS earlier
            WHERE earlier.session_id = booking.session_id AND earlier.id <= booking.id
        )
        """
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_ledger_broadcast_id"), ["broadcast_id"], unique=False)
        batch_op.create_unique_constraint("uq_ledger_broadcast", ["broadcast_id", "person_id"])
        batch_op.create_foreign_key(
            "fk_ledger_broadcast_id_broadcast", "broadcast", ["broadcast_id"], ["id"],
            ondelete="CASCADE",
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ledger_broadcast_id_broadcast", type_="foreignkey")
        batch_op.drop_constraint("uq_ledger_broadcast", type_="unique")
        batch_op.drop_index(batch_op.f("ix_ledger_broadcast_id"))
        batch_op.drop_column("due_at")
        batch_op.drop_column("broadcast_id")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_column("attended_at")
        batch_op.drop_column("ticket")
    op.drop_index(op.f("ix_staff_member_ref"), table_name="staff_member")
    op.drop_index(op.f("ix_staff_member_centre_id"), table_name="staff_member")
    op.drop_table("staff_member")
    op.drop_index(op.f("ix_invite_code_hash"), table_name="invite")
    op.drop_table("invite")
    op.drop_index(op.f("ix_broadcast_state"), table_name="broadcast")
    op.drop_index(op.f("ix_broadcast_send_at"), table_name="broadcast")
    op.drop_index(op.f("ix_broadcast_centre_id"), table_name="broadcast")
    op.drop_table("broadcast")
    op.drop_index(op.f("ix_invite_attempt_key_hash"), table_name="invite_attempt")
    op.drop_index(op.f("ix_invite_attempt_at"), table_name="invite_attempt")
    op.drop_table("invite_attempt")
    op.drop_index(op.f("ix_audit_log_centre_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
