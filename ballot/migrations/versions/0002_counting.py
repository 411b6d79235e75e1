"""Counting: the published aggregate, the trustees' decryption shares and the finished bundle.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_count",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False, unique=True),
        sa.Column("aggregate", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bundle", sa.LargeBinary, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "count_share",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("trustee_id", sa.Integer, sa.ForeignKey("trustee.id"), nullable=False),
        sa.Column("share", sa.Text, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("poll_id", "trustee_id"),
    )
    op.create_index("ix_count_share_poll_id", "count_share", ["poll_id"])


def downgrade() -> None:
    op.drop_table("count_share")
    op.drop_table("poll_count")
