"""A poll's life: register trustees and mint credentials while draft, open, close.

Each function runs in the caller's transaction (``ballot.db.transaction()``), writes an audit event
and raises :class:`ServiceError` with a bilingual message when the step is not allowed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ballot import audit
from ballot.db import write_lock
from ballot.errors import NotFound, ServiceError
from ballot.models import Ballot, Credential, Poll, Trustee
from tally.board import genesis
from tally.canonical import canonical_json
from tally.credentials import Credential as SecretCredential
from tally.manifest import make_manifest, parse_manifest
from tally.results import SubjectInfo
from tally.rules import load_ruleset
from tally.trustees import TrusteeError, TrusteePublic

MAX_MINT = 5000


def get_poll(session: Session, poll_id: int, *, lock: bool = False) -> Poll:
    """The poll, or NotFound; with ``lock``, under its write lock (first statement)."""
    poll = write_lock(session, poll_id) if lock else session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    return poll


def _require_draft(poll: Poll, doing_vi: str, doing_en: str) -> None:
    if poll.state != "draft":
        raise ServiceError(
            409,
            "poll_not_draft",
            f"Không thể {doing_vi}: cuộc biểu quyết số {poll.id} đã mở hoặc đã đóng.",
            f"Cannot {doing_en}: poll {poll.id} has already been opened or closed.",
        )


def add_trustee(session: Session, poll_id: int, public: Any, actor: str = "cli") -> Trustee:
    """Register a trustee's published key (``tally trustee keygen``'s .pub.json), proof checked."""
    poll = get_poll(session, poll_id, lock=True)
    _require_draft(poll, "thêm thành viên Ban kiểm phiếu", "add a trustee")
    try:
        trustee = TrusteePublic.from_json(public)
    except TrusteeError as exc:
        raise ServiceError(
            400,
            "bad_trustee_key",
            f"Khóa công khai của thành viên Ban kiểm phiếu không hợp lệ: {exc}",
            f"The trustee's public key is not valid: {exc}",
        ) from None
    key = trustee.public_key.hex()
    if session.scalar(
        select(Trustee.id).where(Trustee.poll_id == poll_id, Trustee.public_key == key)
    ):
        raise ServiceError(
            409,
            "trustee_exists",
            "Khóa này đã được đăng ký cho cuộc biểu quyết.",
            "This key is already registered for the poll.",
        )
    row = Trustee(poll_id=poll_id, name=trustee.name, public_key=key, public=trustee.to_json())
    session.add(row)
    session.flush()
    audit.record(session, actor, "trustee.add", poll=poll_id, name=trustee.name, public_key=key)
    return row


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
    _require_draft(poll, "tạo thêm phiếu xác thực", "mint credentials")
    minted = [SecretCredential.generate() for _ in range(count)]
    session.add_all(
        Credential(poll_id=poll_id, public_key=c.public_key.hex(), used=False, voided=False)
        for c in minted
    )
    session.flush()
    total = session.scalar(select(func.count()).where(Credential.poll_id == poll_id))
    audit.record(session, actor, "credentials.mint", poll=poll_id, count=count, total=total)
    return minted


def open_poll(session: Session, poll_id: int, signer_public_key: bytes, actor: str = "cli") -> Poll:
    """Fix the manifest: subjects, rule set, trustees' joint key, credential commitment."""
    poll = get_poll(session, poll_id, lock=True)
    _require_draft(poll, "mở cuộc biểu quyết", "open the poll")
    trustees = [TrusteePublic.from_json(t.public) for t in poll.trustees]
    keys = session.scalars(
        select(Credential.public_key).where(
            Credential.poll_id == poll_id, Credential.voided.is_(False)
        )
    ).all()
    if not trustees or not keys:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cần ít nhất một thành viên Ban kiểm phiếu và một phiếu xác thực trước khi mở.",
            "Register at least one trustee and mint at least one credential before opening.",
        )
    conference = poll.conference
    data = make_manifest(
        poll_id=str(poll.id),
        title=poll.title,
        conference={
            "title": conference.title,
            "body": conference.body,
            "date": conference.date.isoformat(),
            "place": conference.place,
        },
        subjects=[
            SubjectInfo(
                key=s.key,
                name=s.name,
                kind=s.kind,
                role=s.role,
                peer_group=s.peer_group,
                heads=s.heads,
                part_of=s.part_of,
                disciplined=s.disciplined,
            )
            for s in poll.subjects
        ],
        rules=load_ruleset(poll.rules_id),
        trustees=trustees,
        credential_keys=[bytes.fromhex(k) for k in keys],
        members=poll.members,
        present=poll.present,
        signer_public_key=signer_public_key,
    )
    manifest = parse_manifest(data)  # the same checks an auditor's verifier will make
    poll.manifest = canonical_json(data).decode("utf-8")
    poll.fingerprint = manifest.fingerprint.hex()
    poll.board_head = genesis(manifest.fingerprint).hex()
    poll.state = "open"
    poll.opened_at = dt.datetime.now(dt.UTC)
    audit.record(
        session,
        actor,
        "poll.open",
        poll=poll_id,
        fingerprint=poll.fingerprint,
        credentials=len(keys),
        commitment=data["election"]["credentials"]["commitment"],
        trustees=[t.name for t in trustees],
    )
    return poll


def close_poll(session: Session, poll_id: int, actor: str = "cli") -> dict[str, Any]:
    """Stop accepting ballots and void every unused credential, under the poll's write lock."""
    poll = get_poll(session, poll_id, lock=True)
    if poll.state != "open":
        raise ServiceError(
            409,
            "poll_not_open",
            f"Cuộc biểu quyết số {poll_id} không đang mở.",
            f"Poll {poll_id} is not open.",
        )
    voided = session.execute(
        update(Credential)
        .where(Credential.poll_id == poll_id, Credential.used.is_(False))
        .values(voided=True)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    ballots = session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0
    poll.state = "closed"
    poll.closed_at = dt.datetime.now(dt.UTC)
    summary = {"poll": poll_id, "ballots": ballots, "voided": voided, "board_head": poll.board_head}
    audit.record(session, actor, "poll.close", **summary)
    return summary
