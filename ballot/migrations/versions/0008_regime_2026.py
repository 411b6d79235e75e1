"""The 2026 regime (issue 16, protocol version 2): each subject's self-assessment under Quy định
366-QĐ/TW (self-score, self-grade, proposed grade), its discipline flags by kind (replacing the
one ``disciplined`` flag) and the units a leader is responsible for; a poll's lawful exclusions,
its outstanding peer groups, the poll it adopts and the operator's acknowledgement of an
unconfirmed rule set; the conference's party-document header; a trustee's post.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject") as batch:
        batch.add_column(sa.Column("discipline", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("responsible_for", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("self_score", sa.String(6), nullable=True))
        batch.add_column(sa.Column("self_grade", sa.String(20), nullable=True))
        batch.add_column(sa.Column("proposed_grade", sa.String(20), nullable=True))
    # Version 1's flag is the kind's violation flag (docs/rules.md, "Discipline").
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE subject SET discipline = CASE kind WHEN 'individual' THEN 'duty_violation'"
            " WHEN 'collective' THEN 'member_disciplined' ELSE '' END WHERE disciplined"
        )
    )
    with op.batch_alter_table("subject") as batch:
        batch.drop_column("disciplined")
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("exclusions", sa.JSON, nullable=True))
        batch.add_column(sa.Column("outstanding_groups", sa.JSON, nullable=True))
        batch.add_column(sa.Column("adopts_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("rules_acknowledged", sa.String(64), nullable=True))
        batch.create_foreign_key("fk_poll_adopts", "poll", ["adopts_id"], ["id"])
    with op.batch_alter_table("conference") as batch:
        for name in ("superior_body", "issuing_body", "doc_symbol", "place_name", "session"):
            batch.add_column(sa.Column(name, sa.String(500), nullable=False, server_default=""))
        batch.add_column(sa.Column("copies", sa.Integer, nullable=False, server_default="3"))
    with op.batch_alter_table("trustee") as batch:
        batch.add_column(sa.Column("post", sa.String(500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("trustee") as batch:
        batch.drop_column("post")
    with op.batch_alter_table("conference") as batch:
        for name in (
            "copies",
            "session",
            "place_name",
            "doc_symbol",
            "issuing_body",
            "superior_body",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("poll") as batch:
        batch.drop_constraint("fk_poll_adopts", type_="foreignkey")
        for name in ("rules_acknowledged", "adopts_id", "outstanding_groups", "exclusions"):
            batch.drop_column(name)
    with op.batch_alter_table("subject") as batch:
        batch.add_column(
            sa.Column("disciplined", sa.Boolean, nullable=False, server_default=sa.false())
        )
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE subject SET disciplined = (discipline <> '')"))
    with op.batch_alter_table("subject") as batch:
        for name in ("proposed_grade", "self_grade", "self_score", "responsible_for", "discipline"):
            batch.drop_column(name)
