"""Casting a ballot: verify it completely, then spend the credential and chain it, atomically.

The ~40 ms of proof checking happens before the transaction, so no lock is held meanwhile. The
transaction then takes the poll's write lock (BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE on the
poll row in PostgreSQL: always the poll first, so casts and closing never deadlock), re-checks that
the poll is open, spends the credential with a conditional UPDATE whose row count must be 1,
appends the ballot after the current head and moves the head. Any failure rolls all of it back:
nothing stored, no credential used.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, exists, func, insert, null, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ballot.db import lock_poll_row
from ballot.models import Ballot, ChallengedCiphertext, Credential, Poll
from ballot.services import errors, verifier
from ballot.services.errors import CastError, NotFound
from tally.ballots import (
    BallotError,
    commitment_code,
    commitment_hash,
    tracking_code,
)
from tally.board import next_head
from tally.canonical import CanonicalError, parse_json
from tally.challenge import ballot_a_hashes
from tally.manifest import Manifest, ManifestError, parse_manifest

MAX_BALLOT_BYTES = 256 * 1024
_HEX64 = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True)
class Receipt:
    poll_id: int
    position: int
    tracking_hash: str
    head: str
    commitment: str  # the commitment the booth showed before the voter chose to cast (12.6)

    @property
    def tracking_code(self) -> str:
        return tracking_code(bytes.fromhex(self.tracking_hash))

    def to_json(self) -> dict[str, Any]:
        return {
            "poll": self.poll_id,
            "position": self.position,
            "tracking_hash": self.tracking_hash,
            "tracking_code": self.tracking_code,
            "board_head": self.head,
            "commitment": self.commitment,
        }


# Parsed manifests by fingerprint: a manifest never changes once its poll is open, and parsing
# re-checks every trustee's proof, which is worth doing once per process, not once per ballot.
_MANIFESTS: OrderedDict[str, Manifest] = OrderedDict()
_MANIFESTS_LOCK = threading.Lock()
_MANIFESTS_MAX = 64


def cached_manifest(fingerprint: str) -> Manifest | None:
    """The parsed manifest of ``fingerprint`` if this process has parsed it already."""
    with _MANIFESTS_LOCK:
        found = _MANIFESTS.get(fingerprint)
        if found is not None:
            _MANIFESTS.move_to_end(fingerprint)
        return found


def poll_manifest(fingerprint: str, text: str) -> Manifest:
    found = cached_manifest(fingerprint)
    if found is not None:
        return found
    manifest = parse_manifest(parse_json(text))
    if manifest.fingerprint.hex() != fingerprint:
        raise ManifestError("the stored manifest does not match the poll's fingerprint")
    with _MANIFESTS_LOCK:
        _MANIFESTS[fingerprint] = manifest
        while len(_MANIFESTS) > _MANIFESTS_MAX:
            _MANIFESTS.popitem(last=False)
    return manifest


def parse_ballot_body(body: bytes | str) -> Any:
    return parse_body(body, MAX_BALLOT_BYTES)


def parse_body(
    body: bytes | str, limit: int, malformed: Callable[[str], CastError] = errors.malformed
) -> Any:
    """A request's JSON, or a 413 / 400 ``malformed`` CastError."""
    if len(body) > limit:
        raise errors.too_large(limit)
    try:
        return parse_json(body)
    except (ValueError, UnicodeDecodeError, RecursionError, CanonicalError) as exc:
        raise malformed(f"JSON: {exc}") from None


def _claimed_credential(data: Any) -> str | None:
    """The credential (lowercase hex) a ballot names, if it is well formed (else verify_ballot
    says what is wrong, as cheaply: its structure and poll come before the signature)."""
    value = data.get("credential") if isinstance(data, dict) else None
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        return None
    return value


# The cast path's statements, in SQLAlchemy Core on the tables (issue 19): each is one round trip
# that builds no ORM object and goes through no unit of work. What they do is the ORM's.
_POLL = Poll.__table__.c
_SLIP = Credential.__table__.c
_BALLOT = Ballot.__table__
_CHALLENGED = ChallengedCiphertext.__table__.c


def _read_poll_and_slip(session: Session, poll_id: int, key: str | None) -> Row[Any] | None:
    """The poll's state and fingerprint and, when ``key`` is given, its slip's row (used,
    voided, and whether there is one), in one statement."""
    if key is None:
        query = select(_POLL.state, _POLL.fingerprint, null(), null(), null())
        return session.connection().execute(query.where(_POLL.id == poll_id)).one_or_none()
    query = select(_POLL.state, _POLL.fingerprint, _SLIP.id, _SLIP.used, _SLIP.voided).select_from(
        Poll.__table__.outerjoin(
            Credential.__table__, and_(_SLIP.poll_id == _POLL.id, _SLIP.public_key == key)
        )
    )
    return session.connection().execute(query.where(_POLL.id == poll_id)).one_or_none()


def _manifest_text(session: Session, poll_id: int) -> str | None:
    return (
        session.connection()
        .execute(select(_POLL.manifest).where(_POLL.id == poll_id))
        .scalar_one_or_none()
    )


def cast(session: Session, poll_id: int, ballot_json: bytes | str) -> Receipt:
    """Accept one ballot for ``poll_id`` or raise :class:`CastError` having changed nothing.

    ``session`` must not be inside a transaction; this function runs its own.
    """
    if session.in_transaction():
        raise RuntimeError("cast() runs its own transaction; pass a session outside one")
    data = parse_ballot_body(ballot_json)
    claimed = _claimed_credential(data)
    try:
        # A short read, ended before verifying: no lock is held during the proof checks. It
        # also reads the slip's row, for the cheap checks below.
        with session.begin():
            # Small columns; the manifest's text (tens of KB) only if not parsed yet.
            found = _read_poll_and_slip(session, poll_id, claimed)
            if found is None:
                raise NotFound("cuộc biểu quyết", "poll")
            state, fingerprint, slip_id, used, voided = tuple(found)
            known = cached_manifest(fingerprint) if fingerprint else None
            text = _manifest_text(session, poll_id) if fingerprint and known is None else None
        if state != "open" or fingerprint is None or (known is None and text is None):
            raise errors.poll_not_open(state)
        manifest = known if known is not None else poll_manifest(fingerprint, text or "")
        # Cheap checks before the proofs (~60 ms): the slip is this poll's and unused. The
        # signature comes next, inside verify_ballot, still before any proof.
        if claimed is not None and data.get("poll") == fingerprint:
            if bytes.fromhex(claimed) not in manifest.credentials:
                raise errors.unknown_credential()
            refuse_unusable(None if slip_id is None else _Slip(used, voided))
        try:
            verified = verifier.verify(manifest.context, data)  # in a verifier process if any
        except BallotError as exc:
            raise errors.malformed(str(exc)) from None
        if verified.credential not in manifest.credentials:
            raise errors.unknown_credential()
        credential = verified.credential.hex()
        stored = verified.canonical.decode("utf-8")  # encoded once, by the verifier
        commitment = commitment_code(commitment_hash(manifest.fingerprint, verified.ciphertexts))
        tracking = verified.tracking_hash.hex()

        with session.begin():
            locked = lock_poll_row(session, poll_id, _POLL.state, _POLL.board_head, _POLL.present)
            if locked is None:
                raise NotFound("cuộc biểu quyết", "poll")
            locked_state, board_head, present = tuple(locked)
            if locked_state != "open" or board_head is None:
                raise errors.poll_not_open(locked_state)
            connection = session.connection()
            # After the lock: the last position, and whether a ciphertext of this ballot was
            # challenged (12.6), in one statement.
            last, challenged = connection.execute(
                select(
                    select(func.coalesce(func.max(_BALLOT.c.position), 0))
                    .where(_BALLOT.c.poll_id == poll_id)
                    .scalar_subquery(),
                    exists().where(
                        _CHALLENGED.poll_id == poll_id,
                        _CHALLENGED.a_hash.in_(ballot_a_hashes(verified.ciphertexts)),
                    ),
                )
            ).one()
            if challenged:
                raise errors.challenged_ballot()
            spent = connection.execute(
                update(Credential)
                .where(
                    _SLIP.poll_id == poll_id,
                    _SLIP.public_key == credential,
                    _SLIP.used.is_(False),
                    _SLIP.voided.is_(False),
                )
                .values(used=True)
            )
            if spent.rowcount != 1:
                raise _why_refused(session, poll_id, credential)
            if int(last or 0) >= present:
                # One more ballot than members present: refused, and the rollback leaves the
                # slip unused.
                raise errors.over_attendance(present)
            position = int(last or 0) + 1
            head = next_head(bytes.fromhex(board_head), verified.tracking_hash).hex()
            connection.execute(
                insert(Ballot).values(
                    poll_id=poll_id,
                    position=position,
                    credential=credential,
                    ballot=stored,
                    tracking_hash=tracking,
                    head=head,
                    commitment=commitment,
                )
            )
            connection.execute(update(Poll).where(_POLL.id == poll_id).values(board_head=head))
        return Receipt(poll_id, position, tracking, head, commitment)
    except IntegrityError:
        # The unique (poll, credential) and (poll, position) constraints are the last line of
        # defence; with the lock and the conditional UPDATE above they are never reached.
        raise errors.write_conflict() from None
    except DBAPIError:
        raise errors.database_unavailable() from None


@dataclass(frozen=True)
class _Slip:
    used: bool
    voided: bool


def slip_row(session: Session, poll_id: int, key: str) -> Credential | None:
    """The poll's row of the slip whose public key is ``key`` (lowercase hex), if any."""
    return session.scalars(
        select(Credential).where(Credential.poll_id == poll_id, Credential.public_key == key)
    ).one_or_none()


def refuse_unusable(row: Credential | _Slip | None) -> None:
    """Raise the refusal of a slip that is not the poll's, is voided or is used."""
    if row is None:
        raise errors.unknown_credential()
    if row.voided:
        raise errors.voided_credential()
    if row.used:
        raise errors.used_credential()


def _why_refused(session: Session, poll_id: int, credential: str) -> CastError:
    try:
        refuse_unusable(slip_row(session, poll_id, credential))
    except CastError as refusal:
        return refusal
    return errors.used_credential()  # spent meanwhile by another request
