"""Credentials: mint them for a draft poll (only public keys are stored) and count them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Ballot, Credential
from ballot.services import audit
from ballot.services.errors import ServiceError
from ballot.services.polls import get_poll, require_draft
from tally.credentials import Credential as SecretCredential

MAX_MINT = 5000


def credential_counts(session: Session, poll_id: int) -> dict[str, int]:
    """Credentials issued (minted), used (a ballot was cast with it) and voided (at close)."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Credential.used.is_(True)),
            func.count().filter(Credential.voided.is_(True)),
        ).where(Credential.poll_id == poll_id)
    ).one()
    return {"issued": row[0], "used": row[1], "voided": row[2]}


def mint_credentials(
    session: Session, poll_id: int, count: int, actor: str = "cli"
) -> list[SecretCredential]:
    """Create ``count`` credentials; store only their public keys; return the secrets, once.

    The caller prints the slips and then drops the returned objects; the secrets exist nowhere
    else.
    """
    if not 1 <= count <= MAX_MINT:
        raise ServiceError(
            400,
            "bad_count",
            f"Số phiếu xác thực phải từ 1 đến {MAX_MINT}.",
            f"The number of credentials must be between 1 and {MAX_MINT}.",
        )
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "tạo thêm phiếu xác thực", "mint credentials")
    minted = [SecretCredential.generate() for _ in range(count)]
    session.add_all(
        Credential(poll_id=poll_id, public_key=c.public_key.hex(), used=False, voided=False)
        for c in minted
    )
    session.flush()
    total = session.scalar(select(func.count()).where(Credential.poll_id == poll_id))
    audit.record(session, actor, "credentials.mint", poll=poll_id, count=count, total=total)
    return minted


def poll_status(session: Session, poll_id: int) -> dict[str, Any]:
    """What the room may see while a poll runs: never a count of votes, only of ballots."""
    poll = get_poll(session, poll_id)
    counts = credential_counts(session, poll_id)
    cast = session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0
    return {
        "state": poll.state,
        "issued": counts["issued"],
        "cast": cast,
        "voided": counts["voided"],
    }
