"""anonymous feedback, and what the counts need on each booking

The ``feedback`` table holds one anonymous answer per row: the centre, the workshop's title,
the ISO week and the answers, with a random id and nothing that refers to a person, a booking
or an exact time (on SQLite it has no rowid, so rows are stored in the order of their random
ids). On each booking, whether feedback was given (never what), and whether its seat came from
the waitlist.

Revision ID: 9f3b7c1d2e84
Revises: 42525bc2a6b6
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9f3b7c1d2e84"
down_revision: str | None = "42525bc2a6b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("workshop", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("week", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("answers", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    # The export reads these instead of the table (see storage.models.Feedback).
    op.create_index("ix_feedback_group", "feedback", ["centre_id", "week", "workshop", "answers"])
    op.create_index(
        "ix_feedback_comments", "feedback", ["centre_id", "week", "workshop", "id", "comment"],
        sqlite_where=sa.text("comment IS NOT NULL"),
        postgresql_where=sa.text("comment IS NOT NULL"),
    )  # fmt: skip
    with op.batch_alter_table("booking") as batch:
        batch.add_column(
            sa.Column("promoted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("feedback_given", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("feedback_given")
        batch.drop_column("promoted")
    op.drop_index("ix_feedback_comments", table_name="feedback")
    op.drop_index("ix_feedback_group", table_name="feedback")
    op.drop_table("feedback")
