"""The paper fallback and the second round (issue 18): the slips voided for paper (the slip's
signed statement), the paper ballots the counting committee entered (encrypted, signed by a
trustee) and, on a poll, the earlier round it votes again.

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
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("previous_round_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_poll_previous_round", "poll", ["previous_round_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_constraint("fk_poll_previous_round", type_="foreignkey")
        batch.drop_column("previous_round_id")
    op.drop_table("paper_ballot")
    op.drop_table("slip_void")
