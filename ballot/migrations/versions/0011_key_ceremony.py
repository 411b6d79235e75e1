"""A conference's key ceremony (issue 15): any k of the n trustees count. The table holds the
ceremony's trustees and threshold, then the trustees' signed dealings and checks: all public or
encrypted to a trustee.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_ceremony",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conference_id",
            sa.Integer,
            sa.ForeignKey("conference.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("trustees", sa.Text, nullable=False),
        sa.Column("dealings", sa.Text, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("failure", sa.Text, nullable=True),
        sa.CheckConstraint(
            "state IN ('dealing', 'checking', 'done', 'failed')", name="ck_key_ceremony_state"
        ),
    )


def downgrade() -> None:
    op.drop_table("key_ceremony")
