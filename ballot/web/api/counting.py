"""Counting for the trustees: the board, the attendance chain, the signed attendance statement,
the aggregate they decrypt, and their shares.

A share is authorised by its own proofs against the trustee's registered key and the stored
aggregate, as a ballot is by its credential's signature: a forged cross-site request can do
nothing a direct one could not.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from ballot import db
from ballot.services.attendance import add_statement, attendance_jsonl, parse_statement_file
from ballot.services.counting import (
    TRUSTEE_ACTOR,
    add_share,
    closed_files,
    parse_share,
    published_aggregate,
)
from ballot.services.counting_status import count_status
from ballot.services.paper import MAX_PAPER_BYTES, add_paper_ballot, parse_upload
from ballot.services.polls import get_poll
from ballot.web.api import bp


@bp.get("/polls/<id:poll_id>/aggregate")
def aggregate(poll_id: int) -> Response:
    """The stored aggregate, byte for byte (its SHA-256 is what a share names)."""
    return Response(published_aggregate(db.get_session(), poll_id), mimetype="application/json")


@bp.get("/polls/<id:poll_id>/ballots")
def ballots(poll_id: int) -> Response:
    """``ballots.jsonl``: one board line per ballot (index, ballot, tracking_hash, chain), once
    the poll is closed (what a trustee checks before signing the attendance and decrypting)."""
    return Response(
        closed_files(db.get_session(), poll_id)["ballots.jsonl"], mimetype="application/jsonl"
    )


@bp.get("/polls/<id:poll_id>/attendance")
def attendance(poll_id: int) -> Response:
    """``attendance.jsonl``: the poll's attendance chain, public from opening."""
    session = db.get_session()
    get_poll(session, poll_id)
    return Response(attendance_jsonl(session, poll_id), mimetype="application/jsonl")


@bp.post("/polls/<id:poll_id>/attendance-statement")
def attendance_statement(poll_id: int) -> tuple[Response, int]:
    """A trustee's signed attendance statement: authorised by its signature, as a share is."""
    document = parse_statement_file(request.get_data(cache=False))
    with db.transaction() as tx:
        name = add_statement(tx, poll_id, document, actor=TRUSTEE_ACTOR, replace=False)
    return jsonify({"poll": poll_id, "trustee": name}), 201


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


@bp.get("/polls/<id:poll_id>/voids")
def voids(poll_id: int) -> Response:
    """``voids.jsonl``: the slips voided for paper (13.3), once the poll is closed; empty when
    none was."""
    files = closed_files(db.get_session(), poll_id)
    return Response(files.get("voids.jsonl", b""), mimetype="application/jsonl")


@bp.get("/polls/<id:poll_id>/paper")
def paper(poll_id: int) -> Response:
    """``paper.jsonl``: the paper ballots the counting committee entered (13.3), once the poll
    is closed; empty when none was."""
    files = closed_files(db.get_session(), poll_id)
    return Response(files.get("paper.jsonl", b""), mimetype="application/jsonl")


@bp.post("/polls/<id:poll_id>/paper")
def add_paper(poll_id: int) -> tuple[Response, int]:
    """One paper ballot, encrypted and signed by a trustee (authorised by that signature, as a
    share is by its proofs): after close, before counting starts."""
    document = parse_upload(
        request.get_data(cache=False), MAX_PAPER_BYTES, "Phiếu giấy", "The paper ballot"
    )
    with db.transaction() as tx:
        status = add_paper_ballot(tx, poll_id, document, actor=TRUSTEE_ACTOR)
    return jsonify({"poll": poll_id, **status.to_json()}), 201
