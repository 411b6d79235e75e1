"""The credential authority and the attendance chain (issue 12, protocol version 2): a poll's
128-bit uid, the authority's signed credential list, the attendance entries and head, the
trustee's attendance statement, and the reconciliation of the slips.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
        batch.add_column(sa.Column("credential_list", sa.Text, nullable=True))
        batch.add_column(sa.Column("attendance_head", sa.String(64), nullable=True))
        batch.add_column(sa.Column("attendance_statement", sa.Text, nullable=True))
    # Polls made before this revision get their uid now (a poll already open keeps its
    # version-1 manifest, which names no uid).
    conn = op.get_bind()
    for (poll_id,) in conn.execute(sa.text("SELECT id FROM poll")).all():
        conn.execute(
            sa.text("UPDATE poll SET uid = :uid WHERE id = :id"),
            {"uid": secrets.token_hex(16), "id": poll_id},
        )
    with op.batch_alter_table("poll") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_poll_uid", ["uid"])
    op.create_table(
        "attendance_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.UniqueConstraint("poll_id", "seq"),
    )
    op.create_index("ix_attendance_entry_poll_id", "attendance_entry", ["poll_id"])
    with op.batch_alter_table("poll_count") as batch:
        batch.add_column(sa.Column("handed_out", sa.Integer, nullable=True))
        batch.add_column(sa.Column("lost", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_count") as batch:
        batch.drop_column("lost")
        batch.drop_column("handed_out")
    op.drop_index("ix_attendance_entry_poll_id", table_name="attendance_entry")
    op.drop_table("attendance_entry")
    with op.batch_alter_table("poll") as batch:
        batch.drop_constraint("uq_poll_uid", type_="unique")
        batch.drop_column("attendance_statement")
        batch.drop_column("attendance_head")
        batch.drop_column("credential_list")
        batch.drop_column("uid")
