"""The paper fallback and the second round (issue 18): the slips voided for paper (the slip's
signed statement), the paper ballots the counting committee entered (encrypted, signed by a
trustee) and, in poll_round, the earlier round a poll votes again (a table of its own: the poll
table is never rebuilt, which SQLite cannot do under the rows that reference it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slip_void",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False, index=True),
        sa.Column("credential", sa.String(64), nullable=False, unique=True),
        sa.Column("statement", sa.Text, nullable=False),
    )
    op.create_table(
        "paper_ballot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False, index=True),
        sa.Column("credential", sa.String(64), nullable=False, unique=True),
        sa.Column("statement", sa.Text, nullable=False),
    )
    op.create_table(
        "poll_round",
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), primary_key=True),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("poll_round")
    op.drop_table("paper_ballot")
    op.drop_table("slip_void")
