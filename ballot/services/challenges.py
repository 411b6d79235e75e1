"""Benaloh challenges: check a revealed ballot against the poll, and make sure it is never cast.

A challenged ballot's choices and randomness are revealed, so it could prove how it votes: once a
challenge file matches, the public ``a`` of each of its ciphertexts is recorded (nothing else),
and ``casting`` refuses any ballot reusing one of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ballot import db
from ballot.models import ChallengedCiphertext, Poll
from ballot.services.casting import challenged_ciphertexts
from tally.canonical import CanonicalError, parse_json
from tally.challenge import ChallengeError, check_challenge_file
from tally.manifest import parse_manifest

MAX_CHALLENGE_BYTES = 512 * 1024


def record_challenged(poll_id: int, ciphertexts: list[str]) -> None:
    """A ballot whose choices and randomness were revealed here can prove how it votes: record
    its ciphertexts' public ``a`` values (nothing else), so that no ballot reusing any of them
    is cast, whatever proofs or signature it carries."""
    session = db.new_session()
    try:
        with session.begin():
            db.begin_write(session)
            known = set(
                session.scalars(
                    select(ChallengedCiphertext.a).where(
                        ChallengedCiphertext.poll_id == poll_id,
                        ChallengedCiphertext.a.in_(ciphertexts),
                    )
                )
            )
            for a in dict.fromkeys(ciphertexts):
                if a not in known:
                    session.add(ChallengedCiphertext(poll_id=poll_id, a=a))
    except IntegrityError:
        pass  # the same file checked twice at once: recorded by the other request
    finally:
        session.close()


def check(poll: Poll, text: str) -> dict[str, Any]:
    """Check a pasted challenge file; the verdict and, if it matches, the revealed choices."""
    assert poll.manifest is not None
    manifest = parse_manifest(parse_json(poll.manifest.encode("utf-8")))
    try:
        result = check_challenge_file(manifest, parse_json(text.encode("utf-8")))
    except (ChallengeError, CanonicalError, ValueError):
        return {"ok": False, "malformed": True}
    grades = manifest.data["election"]["rules"]["grades"]
    rows = []
    if result.matches:
        for subject, choice in zip(manifest.subjects, result.choices, strict=True):
            rows.append((subject.name, None if choice is None else grades[choice]))
        ballot = parse_json(text.encode("utf-8"))["ballot"]
        record_challenged(poll.id, challenged_ciphertexts(ballot))
    return {
        "ok": result.matches,
        "malformed": False,
        "same_poll": result.same_poll,
        "tracking_code": result.tracking_code,
        "rows": rows,
    }
