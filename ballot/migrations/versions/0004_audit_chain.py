"""Hash-chain the audit log: one chain per poll (chain 0 for the rest), entries hashed in order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tally.audit import format_time, genesis, make_line

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("chain", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    # Chain the events recorded before this revision, in the order they were stored.
    conn = op.get_bind()
    table = sa.table(
        "audit_event",
        sa.column("id", sa.Integer),
        sa.column("time", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("detail", sa.JSON),
        sa.column("chain", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    heads: dict[int, tuple[int, bytes]] = {}
    rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    for row in rows:
        detail = row["detail"] or {}
        poll = detail.get("poll")
        chain = poll if type(poll) is int else 0
        seq, prev = heads.get(chain, (0, genesis(chain)))
        entry = {
            "chain": chain,
            "seq": seq + 1,
            "time": format_time(row["time"]),
            "actor": row["actor"],
            "action": row["action"],
            "detail": detail,
        }
        line = make_line(entry, prev)
        conn.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values(chain=chain, seq=seq + 1, prev_hash=line["prev"], hash=line["hash"])
        )
        heads[chain] = (seq + 1, bytes.fromhex(line["hash"]))
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("seq", existing_type=sa.Integer, nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_audit_event_chain_seq", ["chain", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint("uq_audit_event_chain_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
        batch.drop_column("chain")
