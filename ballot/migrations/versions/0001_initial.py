"""The initial schema: conference, poll, subject, trustee, credential, ballot, audit_event.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conference",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.String(500), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("place", sa.String(500), nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conference_id", sa.Integer, sa.ForeignKey("conference.id"), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rules_id", sa.String(100), nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("manifest", sa.Text, nullable=True),
        sa.Column("board_head", sa.String(64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('draft', 'open', 'closed')", name="ck_poll_state"),
    )
    op.create_index("ix_poll_conference_id", "poll", ["conference_id"])
    op.create_table(
        "subject",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("role", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("peer_group", sa.String(100), nullable=True),
        sa.Column("heads", sa.String(100), nullable=True),
        sa.Column("part_of", sa.String(100), nullable=True),
        sa.Column("disciplined", sa.Boolean, nullable=False),
        sa.UniqueConstraint("poll_id", "key"),
        sa.UniqueConstraint("poll_id", "position"),
    )
    op.create_index("ix_subject_poll_id", "subject", ["poll_id"])
    op.create_table(
        "trustee",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("public", sa.JSON, nullable=False),
        sa.UniqueConstraint("poll_id", "public_key"),
    )
    op.create_index("ix_trustee_poll_id", "trustee", ["poll_id"])
    # Public keys only: a credential's secret is never stored.
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False, unique=True),
        sa.Column("used", sa.Boolean, nullable=False),
        sa.Column("voided", sa.Boolean, nullable=False),
    )
    op.create_index("ix_credential_poll_id", "credential", ["poll_id"])
    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("credential", sa.String(64), nullable=False),
        sa.Column("ballot", sa.Text, nullable=False),
        sa.Column("tracking_hash", sa.String(64), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("poll_id", "position"),
        sa.UniqueConstraint("poll_id", "credential"),
    )
    op.create_index("ix_ballot_poll_id", "ballot", ["poll_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_event", "ballot", "credential", "trustee", "subject", "poll"):
        op.drop_table(table)
    op.drop_table("conference")
