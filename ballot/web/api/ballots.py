"""Casting and the public board: cast a ballot, a poll's manifest, a credential's status, the
board, the audit bundle."""

from __future__ import annotations

import re

from flask import Response, jsonify, request
from sqlalchemy import select

from ballot import db
from ballot.models import Ballot, Credential, Poll
from ballot.services import casting, errors
from ballot.services.counting import stored_bundle
from ballot.services.errors import NotFound, ServiceError
from ballot.web.api import bp
from tally.ballots import tracking_code

CREDENTIAL_RE = re.compile(r"[0-9a-f]{64}")


@bp.post("/polls/<id:poll_id>/ballots")
def cast_ballot(poll_id: int) -> tuple[Response, int]:
    limit = casting.MAX_BALLOT_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise errors.too_large(limit)
    body = request.stream.read(limit + 1)
    session = db.new_session()
    try:
        receipt = casting.cast(session, poll_id, body)
    finally:
        session.close()
    return jsonify(receipt.to_json()), 201


def _open_poll(poll_id: int) -> Poll:
    poll = db.get_session().get(Poll, poll_id)
    if poll is None:
        raise NotFound("cuộc biểu quyết", "poll")
    if poll.manifest is None:
        raise errors.poll_not_open(poll.state)
    return poll


@bp.get("/polls/<id:poll_id>/manifest")
def manifest(poll_id: int) -> Response:
    poll = _open_poll(poll_id)
    # The stored canonical bytes, unchanged: their hash is what auditors compare.
    return Response(poll.manifest, mimetype="application/json")


@bp.get("/polls/<id:poll_id>/credentials/<key>")
def credential_status(poll_id: int, key: str) -> Response:
    """Whether a public credential can still vote: what the booth asks before showing the ballot.

    Public information (the keys are in the manifest, used ones on the board), so it reveals
    nothing; the slip's secret never reaches the server.
    """
    poll = _open_poll(poll_id)
    if not CREDENTIAL_RE.fullmatch(key):
        raise ServiceError(
            400,
            "bad_credential",
            "Khóa công khai của thẻ phải gồm 64 ký tự hex thường.",
            "A credential key is 64 lowercase hex characters.",
        )
    row = db.get_session().scalar(
        select(Credential).where(Credential.poll_id == poll_id, Credential.public_key == key)
    )
    if row is None:
        status = "unknown"
    elif row.used:
        status = "used"
    elif row.voided:
        status = "voided"
    else:
        status = "unused"
    return jsonify({"poll": poll.id, "state": poll.state, "credential": key, "status": status})


@bp.get("/polls/<id:poll_id>/board")
def board(poll_id: int) -> Response:
    poll = _open_poll(poll_id)
    rows = db.get_session().execute(
        select(Ballot.position, Ballot.tracking_hash, Ballot.head, Ballot.commitment)
        .where(Ballot.poll_id == poll_id)
        .order_by(Ballot.position)
    )
    entries = [
        {
            "position": position,
            "tracking_hash": th,
            "tracking_code": tracking_code(bytes.fromhex(th)),
            "commitment": commitment,
            "head": head,
        }
        for position, th, head, commitment in rows
    ]
    return jsonify(
        {
            "poll": poll.id,
            "state": poll.state,
            "fingerprint": poll.fingerprint,
            "head": poll.board_head,
            "count": len(entries),
            "entries": entries,
        }
    )


@bp.get("/polls/<id:poll_id>/bundle")
def bundle(poll_id: int) -> Response:
    """The audit bundle (ZIP) once the poll is counted; ``409 count_not_finished`` before."""
    data = stored_bundle(db.get_session(), poll_id)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="poll-{poll_id}-bundle.zip"'},
    )
