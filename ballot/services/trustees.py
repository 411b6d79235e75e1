"""The counting committee of a draft poll: register a trustee's published key, or remove it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot.models import Trustee
from ballot.services import audit
from ballot.services.errors import NotFound, ServiceError
from ballot.services.fields import one_line
from ballot.services.polls import get_poll, require_draft
from tally.trustees import TrusteeError, TrusteePublic


def add_trustee(
    session: Session, poll_id: int, public: Any, actor: str = "cli", *, post: str = ""
) -> Trustee:
    """Register a trustee's published key (``tally trustee keygen``'s .pub.json), proof checked.

    ``post``: the member's post, printed on the record. The first trustee registered is the
    head of the counting committee (Trưởng ban), who signs first."""
    post = one_line(post, "Chức vụ", "Post", required=False)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "thêm thành viên Ban kiểm phiếu", "add a trustee")
    try:
        trustee = TrusteePublic.from_json(public)
    except TrusteeError as exc:
        raise ServiceError(
            400,
            "bad_trustee_key",
            f"Khóa công khai của thành viên Ban kiểm phiếu không hợp lệ: {exc}",
            f"The trustee's public key is not valid: {exc}",
        ) from None
    one_line(trustee.name, "Tên thành viên Ban kiểm phiếu", "Trustee name")  # printed on the record
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
    for other in poll.trustees:
        theirs = TrusteePublic.from_json(other.public)
        if other.name == trustee.name or (
            trustee.signing_key is not None and theirs.signing_key == trustee.signing_key
        ):
            # The record lists the committee by name; two entries under one name (or one
            # signing key) would hide who is who.
            raise ServiceError(
                409,
                "trustee_exists",
                f"Đã có thành viên Ban kiểm phiếu tên “{other.name}” hoặc cùng khóa ký.",
                f"A trustee named “{other.name}”, or with the same signing key, is registered.",
            )
    row = Trustee(
        poll_id=poll_id, name=trustee.name, public_key=key, public=trustee.to_json(), post=post
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "trustee.add", poll=poll_id, name=trustee.name, public_key=key, post=post
    )
    return row


def remove_trustee(session: Session, poll_id: int, trustee_id: int, actor: str = "cli") -> str:
    """Unregister a trustee of a draft poll (e.g. a key uploaded by mistake); returns the name."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "bỏ thành viên Ban kiểm phiếu", "remove a trustee")
    trustee = session.scalar(
        select(Trustee).where(Trustee.poll_id == poll_id, Trustee.id == trustee_id)
    )
    if trustee is None:
        raise NotFound(
            f"thành viên Ban kiểm phiếu số {trustee_id} của cuộc biểu quyết số {poll_id}",
            f"trustee {trustee_id} of poll {poll_id}",
        )
    name, key = trustee.name, trustee.public_key
    session.delete(trustee)
    audit.record(session, actor, "trustee.remove", poll=poll_id, name=name, public_key=key)
    return name
