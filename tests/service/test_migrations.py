"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import hashlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import delete, select, text

from ballot import db
from ballot.models import Ballot, Base, ChallengedCiphertext
from tally.ballots import (
    ballot_commitment,
    encrypt_ballot_from_seed,
    new_seed,
    rebuild_ciphertexts,
)
from tally.challenge import make_notice

from .conftest import OpenPoll


def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context(), db.engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def _alembic(app: Flask, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "ballot:migrations")
    with app.app_context(), db.engine().begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, direction)(cfg, revision)


def test_0009_keeps_the_challenges_and_backfills_the_commitments(poll: OpenPoll) -> None:
    """Down to 0008 and up again with a cast ballot and a challenged one: the challenged `a`
    becomes its hash, the cast ballot gets the commitment its booth showed. A poll with challenged
    ballots open refuses the downgrade (the hashes cannot give the points back)."""
    ctx = poll.manifest.context
    choices: list[int | None] = [1] * ctx.subjects
    cast = encrypt_ballot_from_seed(ctx, poll.credential(0), choices, new_seed())
    assert poll.post(cast).status_code == 201
    seed = new_seed()
    notice = make_notice(
        ctx.fingerprint, poll.credential(1), rebuild_ciphertexts(ctx, choices, seed)
    )
    assert poll.client.post("/api/polls/1/challenges", json=notice).status_code == 201
    with pytest.raises(RuntimeError, match="challenged ballots is open"):
        _alembic(poll.app, "downgrade", "0008")
    with poll.app.app_context():
        session = db.get_session()
        session.execute(delete(ChallengedCiphertext))
        session.commit()
    _alembic(poll.app, "downgrade", "0008")
    challenged = encrypt_ballot_from_seed(ctx, poll.credential(1), choices, seed)
    with poll.app.app_context(), db.engine().begin() as conn:
        conn.execute(
            text("INSERT INTO challenged_ciphertext (poll_id, a) VALUES (1, :a)"),
            {"a": challenged["answers"][0]["choices"][0]["a"]},
        )
    _alembic(poll.app, "upgrade", "head")
    with poll.app.app_context():
        session = db.get_session()
        stored = session.scalars(select(ChallengedCiphertext.a_hash)).all()
        a = bytes.fromhex(challenged["answers"][0]["choices"][0]["a"])
        assert stored == [hashlib.sha256(a).hexdigest()]
        commitment = session.scalar(select(Ballot.commitment))
    assert commitment == ballot_commitment(ctx.fingerprint, cast)
    refused = poll.post(challenged)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "challenged_ballot"
