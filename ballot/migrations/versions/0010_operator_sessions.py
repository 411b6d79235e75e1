"""Operator sessions held on the server (issue 14): logout and a password change revoke them, and
each has a lifetime. Cookies signed before this revision name an operator id and are no longer
honoured: every operator logs in again once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operator.id"), nullable=False),
        sa.Column("expires", sa.Integer, nullable=False),
    )
    op.create_index("ix_operator_session_operator_id", "operator_session", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_session_operator_id", "operator_session")
    op.drop_table("operator_session")
