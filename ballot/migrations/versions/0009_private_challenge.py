"""The private Benaloh challenge (protocol version 2, docs/protocol.md 12.6): the server keeps a
hash of each challenged ciphertext's ``a`` instead of the ``a`` itself, in a table that names no
credential, and counts each credential's challenges on its own row (no time). Each ballot keeps
the commitment to its ciphertexts, which the booth showed and the public board shows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import base64
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _commitment(fingerprint: bytes, text: str) -> str:
    """docs/protocol.md 12.6, frozen here as of this revision: base32 of the first 20 bytes of
    SHA256("tally/v2/ballot-commitment\\0" ‖ fingerprint ‖ every a ‖ b), in groups of four."""
    h = hashlib.sha256(b"tally/v2/ballot-commitment\x00" + fingerprint)
    for answer in json.loads(text)["answers"]:
        for choice in answer["choices"]:
            h.update(bytes.fromhex(choice["a"]))
            h.update(bytes.fromhex(choice["b"]))
    code = base64.b32encode(h.digest()[:20]).decode("ascii")
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def upgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.add_column(
            sa.Column("challenges", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "challenged_a",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("a_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("poll_id", "a_hash"),
    )
    op.create_index("ix_challenged_a_poll_id", "challenged_a", ["poll_id"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT poll_id, a FROM challenged_ciphertext")).all()
    seen = set()
    for poll_id, a in rows:
        digest = hashlib.sha256(bytes.fromhex(a)).hexdigest()
        if (poll_id, digest) not in seen:
            seen.add((poll_id, digest))
            bind.execute(
                sa.text("INSERT INTO challenged_a (poll_id, a_hash) VALUES (:p, :h)"),
                {"p": poll_id, "h": digest},
            )
    op.drop_index("ix_challenged_ciphertext_poll_id", table_name="challenged_ciphertext")
    op.drop_table("challenged_ciphertext")
    with op.batch_alter_table("ballot") as batch:
        batch.add_column(sa.Column("commitment", sa.String(39), nullable=True))
    ballots = bind.execute(
        sa.text(
            "SELECT b.id, b.ballot, p.fingerprint FROM ballot b JOIN poll p ON p.id = b.poll_id"
        )
    ).all()
    for ballot_id, text, fingerprint in ballots:
        commitment = _commitment(bytes.fromhex(fingerprint), text)
        bind.execute(
            sa.text("UPDATE ballot SET commitment = :c WHERE id = :i"),
            {"c": commitment, "i": ballot_id},
        )


def downgrade() -> None:
    open_challenges = op.get_bind().scalar(
        sa.text(
            "SELECT COUNT(*) FROM challenged_a c JOIN poll p ON p.id = c.poll_id"
            " WHERE p.state = 'open'"
        )
    )
    if open_challenges:
        # The hashes cannot give back the points: going down would let challenged ballots be
        # cast and reset the slips' limits while the poll is open.
        raise RuntimeError(
            "a poll with challenged ballots is open: close it before downgrading below 0009"
        )
    with op.batch_alter_table("ballot") as batch:
        batch.drop_column("commitment")
    # A closed poll needs no record of its challenged ballots.
    op.create_table(
        "challenged_ciphertext",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("a", sa.String(64), nullable=False),
        sa.UniqueConstraint("poll_id", "a"),
    )
    op.create_index("ix_challenged_ciphertext_poll_id", "challenged_ciphertext", ["poll_id"])
    op.drop_index("ix_challenged_a_poll_id", table_name="challenged_a")
    op.drop_table("challenged_a")
    with op.batch_alter_table("credential") as batch:
        batch.drop_column("challenges")
