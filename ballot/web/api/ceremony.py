"""A conference's key ceremony (docs/protocol.md 9.4): its state and transcript for the
trustees, and their signed dealings and checks. A message is authorised by its trustee's
signature and proofs, as a share is: a forged cross-site request can do nothing a direct one
could not, and a refused message stores nothing."""

from __future__ import annotations

from flask import Response, jsonify, request

from ballot import db
from ballot.services.ceremony import MAX_MESSAGE_BYTES, ceremony_of, record_message
from ballot.services.errors import ServiceError
from ballot.web.api import bp


@bp.get("/conferences/<id:conference_id>/ceremony")
def ceremony(conference_id: int) -> Response:
    """The ceremony (trustees, k, digest), where it is, the messages in, and its outcome."""
    return jsonify(ceremony_of(db.get_session(), conference_id).to_json())


@bp.get("/conferences/<id:conference_id>/ceremony/ceremony.json")
def ceremony_file(conference_id: int) -> Response:
    """The ``tally-ceremony/1`` file for ``tally trustee deal`` and ``check``."""
    view = ceremony_of(db.get_session(), conference_id)
    return jsonify(view.ceremony.to_json())


@bp.get("/conferences/<id:conference_id>/ceremony/dealings.json")
def dealings_file(conference_id: int) -> Response:
    """The n dealings, once all are in, for ``tally trustee check --dealings``."""
    view = ceremony_of(db.get_session(), conference_id)
    if any(d is None for d in view.dealings):
        raise ServiceError(
            409,
            "ceremony_step",
            "Chưa đủ các phần chia của mọi thành viên.",
            "Not every trustee's dealing is in yet.",
        )
    return jsonify(view.dealings)


def _post(conference_id: int, kind: str) -> tuple[Response, int]:
    body = request.get_data(cache=False)
    if len(body) > MAX_MESSAGE_BYTES:
        raise ServiceError(
            413, "too_large", "Tệp quá lớn; không có gì được lưu.", "Too large; nothing stored."
        )
    return jsonify({"conference": conference_id, **record_message(conference_id, kind, body)}), 201


@bp.post("/conferences/<id:conference_id>/ceremony/dealings")
def ceremony_dealing(conference_id: int) -> tuple[Response, int]:
    return _post(conference_id, "dealings")


@bp.post("/conferences/<id:conference_id>/ceremony/checks")
def ceremony_check(conference_id: int) -> tuple[Response, int]:
    return _post(conference_id, "checks")
