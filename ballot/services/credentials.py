"""Credentials: import the credential authority's signed list for a draft poll, and count them.

The Organization Board mints the slips offline (``tally credentials mint``); the server takes
only the public list, checks the authority's signature, the poll's uid and that the slips are
at most the members plus the declared reserve, and stores the public keys. It never makes or
sees a slip's secret. ``demo_mint`` is the one exception: ``ballot demo``'s shortcut, which
plays the Board with a throw-away authority key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ballot.models import Ballot, Credential, Poll
from ballot.services import audit
from ballot.services.errors import ServiceError
from ballot.services.polls import get_poll, require_draft
from tally.authority import (
    MAX_CREDENTIALS,
    AuthorityError,
    AuthorityKey,
    CredentialList,
    mint,
    parse_credential_list,
)
from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.credentials import Credential as SecretCredential

MAX_LIST_BYTES = 1024 * 1024  # 5000 keys are ~350 KB


def credential_counts(session: Session, poll_id: int) -> dict[str, int]:
    """Credentials listed, used (a ballot was cast with it) and voided (at close)."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Credential.used.is_(True)),
            func.count().filter(Credential.voided.is_(True)),
        ).where(Credential.poll_id == poll_id)
    ).one()
    return {"issued": row[0], "used": row[1], "voided": row[2]}


def _refused(detail_vi: str, detail_en: str, status: int = 400) -> ServiceError:
    return ServiceError(
        status,
        "bad_credential_list",
        f"Danh sách thẻ biểu quyết bị từ chối: {detail_vi}",
        f"The credential list is refused: {detail_en}",
    )


def parse_list_file(data: bytes | str) -> Any:
    """The uploaded file as JSON (indented or canonical), or a clear refusal."""
    if len(data) > MAX_LIST_BYTES:
        raise _refused(
            f"tệp quá lớn (tối đa {MAX_LIST_BYTES // 1024} KiB)",
            f"the file is too large (at most {MAX_LIST_BYTES // 1024} KiB)",
            413,
        )
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError, CanonicalError) as exc:
        raise _refused(f"tệp không phải JSON ({exc})", f"the file is not JSON ({exc})") from None


def stored_list(poll: Poll) -> CredentialList | None:
    """The poll's imported list, checked again (it was checked at import)."""
    if poll.credential_list is None:
        return None
    return parse_credential_list(parse_json(poll.credential_list), poll_uid=poll.uid)


def import_credentials(
    session: Session, poll_id: int, document: Any, actor: str = "cli"
) -> CredentialList:
    """Check the authority's list and store its public keys for the draft poll, replacing a
    list imported before. Refused, with nothing stored: a bad signature, a key twice, a
    small-order key, another poll's uid, more slips than the members plus the reserve, a key
    already used by another poll."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "nhập danh sách thẻ biểu quyết", "import the credential list")
    try:
        listed = parse_credential_list(document, poll_uid=poll.uid)
    except AuthorityError as exc:
        raise _refused(_vi(str(exc)), str(exc)) from None
    if listed.count > poll.members:
        raise _refused(
            f"{listed.count} phiếu (chưa kể {listed.reserve} thẻ dự phòng) nhiều hơn"
            f" {poll.members} ủy viên của cuộc biểu quyết",
            f"{listed.count} slips (besides {listed.reserve} reserve) are more than the"
            f" poll's {poll.members} members",
            409,
        )
    if listed.reserve > poll.members:
        raise _refused(
            f"{listed.reserve} thẻ dự phòng nhiều hơn {poll.members} ủy viên",
            f"{listed.reserve} reserve slips are more than the poll's {poll.members} members",
            409,
        )
    session.execute(delete(Credential).where(Credential.poll_id == poll_id))
    keys = [k.hex() for k in listed.keys]
    taken = session.scalar(
        select(func.count()).where(Credential.public_key.in_(keys), Credential.poll_id != poll_id)
    )
    if taken:
        raise _refused(
            f"{taken} khóa đã thuộc cuộc biểu quyết khác (danh sách in nhầm?)",
            f"{taken} keys already belong to another poll (the wrong list?)",
            409,
        )
    session.add_all(
        Credential(poll_id=poll_id, public_key=k, used=False, voided=False) for k in keys
    )
    poll.credential_list = canonical_json(listed.data).decode("utf-8")
    session.flush()
    audit.record(
        session,
        actor,
        "credentials.import",
        poll=poll_id,
        count=listed.count,
        reserve=listed.reserve,
        commitment=listed.commitment,
        authority=listed.fingerprint,
    )
    return listed


_VI = {
    "the authority's signature on the credential list does not verify": (
        "chữ ký của Ban Tổ chức trên danh sách không đúng"
    ),
    "keys: a key appears twice": "một khóa xuất hiện hai lần",
    "is not a valid Ed25519 key (small order?)": "có khóa không hợp lệ (bậc nhỏ?)",
    "not for this poll": "danh sách của cuộc biểu quyết khác",
}


def _vi(message: str) -> str:
    """The Vietnamese of an AuthorityError's message (the English is tally's own)."""
    for en, vi in _VI.items():
        if en in message:
            return vi
    return f"tệp không đúng định dạng tally-credential-list/1 ({message})"


def demo_mint(
    session: Session, poll_id: int, count: int, actor: str = "demo"
) -> tuple[str, list[SecretCredential]]:
    """DEMO SHORTCUT (``ballot demo`` only): play the Board with a throw-away authority key,
    import the list and return the authority's fingerprint and the slips' secrets, once."""
    if not 1 <= count <= MAX_CREDENTIALS:
        raise _refused(f"số phiếu phải từ 1 đến {MAX_CREDENTIALS}", f"1 to {MAX_CREDENTIALS}")
    poll = get_poll(session, poll_id)
    authority = AuthorityKey.generate()
    document, slips, _ = mint(authority, poll.uid, count, 0)
    import_credentials(session, poll_id, document, actor=actor)
    return authority.fingerprint, slips


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
        "present": poll.present,
        "members": poll.members,
    }
