"""The booth's challenge notice (Benaloh, docs/protocol.md 12.6): which ciphertexts must never be
cast. The voter's choices and the ballot's seed never come here; the check is the voter's own."""

from __future__ import annotations

from flask import Response, jsonify, request

from ballot.services import challenges
from ballot.services.challenges import MAX_NOTICE_BYTES
from ballot.services.errors import too_large
from ballot.web.api import bp


@bp.post("/polls/<id:poll_id>/challenges")
def challenge_notice(poll_id: int) -> tuple[Response, int]:
    """Record a ``tally-challenged/1`` notice signed by the slip: the hashes of one ballot's
    ``a`` values, counted against the slip's limit. Refused once the poll is closed."""
    if (request.content_length or 0) > MAX_NOTICE_BYTES:
        raise too_large(MAX_NOTICE_BYTES)
    body = request.get_data(cache=False)
    return jsonify(challenges.record_notice(poll_id, body)), 201
