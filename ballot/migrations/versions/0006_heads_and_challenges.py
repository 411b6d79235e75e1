"""The newest entry of each audit chain (a deleted last entry is caught), and the ciphertexts of
challenged ballots (a ballot reusing any of them is never cast).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("chain", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "challenged_ciphertext",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("a", sa.String(64), nullable=False),
        sa.UniqueConstraint("poll_id", "a"),
    )
    op.create_index("ix_challenged_ciphertext_poll_id", "challenged_ciphertext", ["poll_id"])
    # The heads of the chains recorded before this revision.
    op.execute(
        "INSERT INTO audit_head (chain, seq, hash) "
        "SELECT e.chain, e.seq, e.hash FROM audit_event e "
        "WHERE e.seq = (SELECT MAX(f.seq) FROM audit_event f WHERE f.chain = e.chain)"
    )


def downgrade() -> None:
    op.drop_index("ix_challenged_ciphertext_poll_id", table_name="challenged_ciphertext")
    op.drop_table("challenged_ciphertext")
    op.drop_table("audit_head")
