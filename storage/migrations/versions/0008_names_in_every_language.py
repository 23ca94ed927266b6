"""names in every language: session titles per language and by kind, centre names and places
per script, and a person's choice of digits

Revision ID: 5e2d9a417c30
Revises: 3c51d0a8e7b2
Create Date: 2026-11-30 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5e2d9a417c30"
down_revision: str | None = "3c51d0a8e7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workshop_session") as batch:
        batch.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True)
        )
        batch.add_column(sa.Column("titles", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("places", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("centre") as batch:
        batch.add_column(sa.Column("names", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("person") as batch:
        batch.add_column(
            sa.Column("digits", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_column("digits")
    with op.batch_alter_table("centre") as batch:
        batch.drop_column("names")
    with op.batch_alter_table("workshop_session") as batch:
        batch.drop_column("places")
        batch.drop_column("titles")
        batch.drop_column("kind")
