"""Benaloh challenges, privately (docs/protocol.md 12.6): the server is told only which
ciphertexts were challenged, so that no ballot reusing them is ever cast.

When the voter challenges, the booth sends a ``tally-challenged/1`` notice signed with the slip's
key: the SHA-256 of each ciphertext's ``a``, nothing else. The choices and the seed stay on the
tablet and go to the voter (a QR code, a file); the check is the voter's, on their own device
(``tally check-challenge`` or the static checker page). The server keeps the hashes in a table
that names no credential, and counts each slip's challenges on its row, with no time.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from ballot import db
from ballot.models import ChallengedCiphertext, Credential, Poll
from ballot.services import errors
from ballot.services.casting import parse_body, poll_manifest, refuse_unusable, slip_row
from ballot.services.errors import CastError
from tally.challenge import ChallengeError, parse_notice

# One notice holds one ballot's hashes: 64 hex characters each, with a little JSON around them.
MAX_NOTICE_BYTES = 64 * 1024
# A voter who doubts the booth challenges once or twice; five is plenty, and bounds what an
# attacker holding one slip can make the server store.
MAX_CHALLENGES_PER_CREDENTIAL = 5


def malformed_notice(detail: str) -> CastError:
    return CastError(
        400,
        "malformed_challenge",
        f"Thông báo kiểm tra phiếu không hợp lệ: {detail}",
        f"The challenge notice is not valid: {detail}",
    )


def too_many_challenges() -> CastError:
    return CastError(
        429,
        "too_many_challenges",
        f"Thẻ này đã kiểm tra mã hóa {MAX_CHALLENGES_PER_CREDENTIAL} lần, mức tối đa. Đồng chí"
        " vẫn bỏ phiếu được bằng thẻ này.",
        f"This slip has checked the encryption {MAX_CHALLENGES_PER_CREDENTIAL} times, the"
        " most allowed. You can still cast your ballot with it.",
    )


def _slip_state(row: Credential | None) -> Credential:
    """Refuse a notice from a slip not of this poll, voided, used or at its limit."""
    refuse_unusable(row)
    assert row is not None
    if row.challenges >= MAX_CHALLENGES_PER_CREDENTIAL:
        raise too_many_challenges()
    return row


def record_notice(poll_id: int, body: bytes) -> dict[str, Any]:
    """Record a challenge notice or raise CastError having stored nothing.

    Cheap checks first and without a lock: the size, the JSON, the poll open, the notice's shape,
    the slip's row (this poll's, unused, not voided, under the limit), then the signature. Only
    then the poll's write lock, under which the poll and the row are checked again, the count is
    raised and the hashes stored. A notice whose hashes are all stored already (the same notice
    sent again, by the booth or by anyone who saw it) is answered as recorded and not counted
    again, so a replay cannot use up a voter's challenges."""
    data = parse_body(body, MAX_NOTICE_BYTES, malformed_notice)
    session = db.new_session()
    try:
        with session.begin():
            poll = session.get(Poll, poll_id)
            if poll is None:
                raise errors.NotFound("cuộc biểu quyết", "poll")
            state, fingerprint, text = poll.state, poll.fingerprint, poll.manifest
        if state != "open" or fingerprint is None or text is None:
            raise errors.poll_not_open(state)
        manifest = poll_manifest(fingerprint, text)
        ctx = manifest.context
        try:
            notice = parse_notice(ctx.fingerprint, ctx.subjects * ctx.grades, data)
        except ChallengeError as exc:
            raise malformed_notice(str(exc)) from None
        if notice.credential not in manifest.credentials:
            raise errors.unknown_credential()
        key = notice.credential.hex()

        def stored() -> set[str]:
            return set(
                session.scalars(
                    select(ChallengedCiphertext.a_hash).where(
                        ChallengedCiphertext.poll_id == poll_id,
                        ChallengedCiphertext.a_hash.in_(notice.a_hashes),
                    )
                )
            )

        with session.begin():
            row = slip_row(session, poll_id, key)
            if row is not None and not row.used and stored() == set(notice.a_hashes):
                left = max(MAX_CHALLENGES_PER_CREDENTIAL - row.challenges, 0)
                if notice.signature_verifies():
                    return {"recorded": len(notice.a_hashes), "challenges_left": left}
            _slip_state(row)
        if not notice.signature_verifies():
            raise malformed_notice("the slip's signature does not verify")

        with session.begin():
            locked = db.write_lock(session, poll_id)
            if locked is None or locked.state != "open":
                raise errors.poll_not_open(locked.state if locked else "closed")
            row = _slip_state(slip_row(session, poll_id, key))
            known = stored()
            if known == set(notice.a_hashes):  # recorded meanwhile by the same notice
                return {
                    "recorded": len(notice.a_hashes),
                    "challenges_left": MAX_CHALLENGES_PER_CREDENTIAL - row.challenges,
                }
            counted = cast(
                CursorResult[Any],
                session.execute(
                    update(Credential)
                    .where(
                        Credential.id == row.id,
                        Credential.challenges < MAX_CHALLENGES_PER_CREDENTIAL,
                    )
                    .values(challenges=Credential.challenges + 1)
                    .execution_options(synchronize_session=False)
                ),
            )
            if counted.rowcount != 1:
                raise too_many_challenges()
            for a_hash in notice.a_hashes:
                if a_hash not in known:
                    session.add(ChallengedCiphertext(poll_id=poll_id, a_hash=a_hash))
            left = MAX_CHALLENGES_PER_CREDENTIAL - row.challenges - 1
        return {"recorded": len(notice.a_hashes), "challenges_left": left}
    except IntegrityError:
        raise errors.write_conflict() from None
    except DBAPIError:
        raise errors.database_unavailable() from None
    finally:
        session.close()
