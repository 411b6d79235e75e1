"""Ballots keep no cast time: a moment, matched with who stood at a tablet, would link a person to
a ballot. The board's order is all the service needs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Overwrite the times first: a dropped column's values can linger in the database's pages
    # until they are reused (run VACUUM on SQLite, VACUUM FULL ballot on PostgreSQL, to be sure).
    op.execute("UPDATE ballot SET cast_at = '2000-01-01 00:00:00'")
    with op.batch_alter_table("ballot") as batch:
        batch.drop_column("cast_at")


def downgrade() -> None:
    with op.batch_alter_table("ballot") as batch:
        batch.add_column(
            sa.Column(
                "cast_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
