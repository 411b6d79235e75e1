"""Counting for the trustees: the aggregate and ballots they decrypt and check, and their shares.

A share is authorised by its own proofs against the trustee's registered key and the stored
aggregate, as a ballot is by its credential's signature: a forged cross-site request can do
nothing a direct one could not.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from ballot import db
from ballot.services.counting import (
    TRUSTEE_ACTOR,
    add_share,
    parse_share,
    published_aggregate,
    published_files,
)
from ballot.services.counting_status import count_status
from ballot.web.api import bp


@bp.get("/polls/<id:poll_id>/aggregate")
def aggregate(poll_id: int) -> Response:
    """The stored aggregate, byte for byte (its SHA-256 is what a share names)."""
    return Response(published_aggregate(db.get_session(), poll_id), mimetype="application/json")


@bp.get("/polls/<id:poll_id>/ballots")
def ballots(poll_id: int) -> Response:
    """``ballots.jsonl``: one board line per ballot (index, ballot, tracking_hash, chain)."""
    return Response(
        published_files(db.get_session(), poll_id).ballots, mimetype="application/jsonl"
    )


@bp.post("/polls/<id:poll_id>/shares")
def share(poll_id: int) -> tuple[Response, int]:
    share = parse_share(request.get_data(cache=False))
    with db.transaction() as tx:
        name = add_share(tx, poll_id, share, actor=TRUSTEE_ACTOR)
    status = count_status(db.get_session(), poll_id)
    return jsonify(
        {
            "poll": poll_id,
            "trustee": name,
            "received": len(status.trustees) - len(status.missing),
            "missing": status.missing,
        }
    ), 201
