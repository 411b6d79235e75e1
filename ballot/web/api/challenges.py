"""The booth's check of a challenged ballot (Benaloh): a verdict, and the ballot never cast."""

from __future__ import annotations

from flask import Response, jsonify, request

from ballot import db
from ballot.services import challenges, errors
from ballot.services.challenges import MAX_CHALLENGE_BYTES
from ballot.services.polls import get_poll
from ballot.web.api import bp


@bp.post("/polls/<id:poll_id>/challenges")
def check_api(poll_id: int) -> tuple[Response, int]:
    """The booth's inline check of a challenge file: a verdict (JSON). A matching file's ballot
    is recorded as challenged, so it can never be cast; nothing else is stored."""
    poll = get_poll(db.get_session(), poll_id)
    if poll.manifest is None:
        raise errors.poll_not_open(poll.state)
    body = request.get_data(cache=False)
    if len(body) > MAX_CHALLENGE_BYTES:
        raise errors.too_large(MAX_CHALLENGE_BYTES)
    result = challenges.check(poll, body.decode("utf-8", "replace"))
    if result["malformed"]:
        raise errors.CastError(
            400,
            "malformed_challenge",
            "Không phải tệp kiểm tra phiếu (tally-challenge/1).",
            "Not a challenge file (tally-challenge/1).",
        )
    return jsonify(
        {
            "matches": result["ok"],
            "same_poll": result["same_poll"],
            "tracking_code": result["tracking_code"],
        }
    ), 200
