"""The JSON API's contract: its OpenAPI description.

``GET /api/openapi.json`` serves the description built by :func:`spec`: every ``/api`` route with
its parameters, request and response bodies and the status codes the code returns
(``tests/service/test_fuzz.py`` checks that every Flask ``/api`` rule is described and fuzzes the
API against it). Every error is ``{"error": {"code", "message_vi", "message_en"}}``
(``ballot.web.errors``).

This module is long because it is one table: the schemas and the paths, one entry per route.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from ballot.services import casting
from ballot.services.challenges import MAX_NOTICE_BYTES
from ballot.web.api import bp

HEX32 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
HEX64 = {"type": "string", "pattern": "^[0-9a-f]{128}$"}
COMMITMENT = {
    "type": "string",
    "pattern": "^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$",
    "description": "The ballot's commitment (docs/protocol.md 12.6), as the booth showed it.",
}
MAX_CHALLENGE_KIB = MAX_NOTICE_BYTES // 1024
TRACKING_CODE = {"type": "string", "pattern": "^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A closed object: exactly these fields (all required unless ``required`` says otherwise)."""
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
        "additionalProperties": False,
    }


def _open_obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """An object with these fields; others are ignored by the code, so allowed here."""
    return {"type": "object", "required": required, "properties": properties}


SCHEMAS: dict[str, Any] = {
    "Error": {
        **_obj(
            {
                "error": _obj(
                    {
                        "code": {"type": "string", "minLength": 1},
                        "message_vi": {"type": "string", "minLength": 1},
                        "message_en": {"type": "string", "minLength": 1},
                    }
                )
            }
        ),
        "description": "A refusal: a stable code, the message in Vietnamese and in English.",
    },
    "ZeroOneProof": _obj({"c0": HEX32, "c1": HEX32, "s0": HEX32, "s1": HEX32}),
    "DleqProof": _obj({"c": HEX32, "s": HEX32}),
    "EncryptedGrade": _obj({"a": HEX32, "b": HEX32, "proof": _ref("ZeroOneProof")}),
    "Answer": _obj(
        {
            "choices": {"type": "array", "minItems": 1, "items": _ref("EncryptedGrade")},
            "sum_proof": {"oneOf": [_ref("ZeroOneProof"), _ref("DleqProof")]},
        }
    ),
    "Ballot": {
        **_obj(
            {
                "format": {"type": "string", "enum": ["tally-ballot/1"]},
                "poll": HEX32,
                "credential": HEX32,
                "answers": {"type": "array", "minItems": 1, "items": _ref("Answer")},
                "signature": HEX64,
            }
        ),
        "description": (
            "A tally-ballot/1 ballot (docs/protocol.md): one answer per subject, one ciphertext"
            f" per grade, proofs, the credential's signature. At most {casting.MAX_BALLOT_BYTES}"
            " bytes."
        ),
    },
    "Receipt": _obj(
        {
            "poll": {"type": "integer"},
            "position": {"type": "integer", "minimum": 1},
            "tracking_hash": HEX32,
            "tracking_code": TRACKING_CODE,
            "board_head": HEX32,
            "commitment": COMMITMENT,
        }
    ),
    "Manifest": {
        "type": "object",
        "description": (
            "The poll's public canonical manifest, byte for byte: tally-manifest/2 (with the"
            " authority's signed credential_list) or, for a poll opened before version 2,"
            " tally-manifest/1 (with a bare credentials list)."
        ),
        "required": ["format", "conference", "election", "signer"],
        "properties": {
            "format": {"type": "string", "enum": ["tally-manifest/2", "tally-manifest/1"]},
            "conference": {"type": "object"},
            "election": {"type": "object"},
            "credential_list": {"type": "object"},
            "credentials": {"type": "array", "items": HEX32},
            "signer": {"type": "object"},
        },
    },
    "CredentialStatus": _obj(
        {
            "poll": {"type": "integer"},
            "state": {"type": "string", "enum": ["open", "closed"]},
            "credential": HEX32,
            "status": {"type": "string", "enum": ["unused", "used", "voided", "unknown"]},
        }
    ),
    "Board": _obj(
        {
            "poll": {"type": "integer"},
            "state": {"type": "string", "enum": ["open", "closed"]},
            "fingerprint": HEX32,
            "head": HEX32,
            "count": {"type": "integer", "minimum": 0},
            "entries": {
                "type": "array",
                "items": _obj(
                    {
                        "position": {"type": "integer", "minimum": 1},
                        "tracking_hash": HEX32,
                        "tracking_code": TRACKING_CODE,
                        "commitment": COMMITMENT,
                        "head": HEX32,
                    }
                ),
            },
        }
    ),
    "Aggregate": {
        "type": "object",
        "description": "tally-aggregate/1: the ciphertexts summed per subject and grade.",
        "required": ["format", "poll", "board_head", "ballot_count", "ciphertexts"],
        "properties": {
            "format": {"type": "string", "enum": ["tally-aggregate/1"]},
            "poll": HEX32,
            "board_head": HEX32,
            "ballot_count": {"type": "integer", "minimum": 0},
            "ciphertexts": {
                "type": "array",
                "items": {"type": "array", "items": _obj({"a": HEX32, "b": HEX32})},
            },
        },
    },
    "Share": {
        **_open_obj(
            {
                "format": {"type": "string", "enum": ["tally-share/1", "tally-share/2"]},
                "poll": HEX32,
                "trustee": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "public_key": HEX32,
                "aggregate_sha256": HEX32,
                "shares": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "items": _open_obj(
                            {"d": HEX32, "proof": _ref("DleqProof")}, ["d", "proof"]
                        ),
                    },
                },
            },
            ["format", "poll", "trustee", "aggregate_sha256", "shares"],
        ),
        "description": (
            "A trustee's partial decryption (tally trustee decrypt), at most 1 MiB:"
            " tally-share/1 (every trustee decrypts, docs/protocol.md 14.2; other fields are not"
            " checked) or, in a poll with a key ceremony, tally-share/2 (exactly its fields,"
            " 14.5, with the trustee's index and verification key)."
        ),
    },
    "AttendanceStatement": {
        **_open_obj(
            {
                "format": {"type": "string", "enum": ["tally-attendance/1"]},
                "poll": HEX32,
                "present": {"type": "integer", "minimum": 0},
                "signature": {"type": "string"},
            },
            ["format", "poll", "present", "signature"],
        ),
        "description": "docs/protocol.md 13.2: exactly its twelve fields, signed by a trustee.",
    },
    "PaperBallot": {
        **_open_obj(
            {
                "format": {"type": "string", "enum": ["tally-paper-ballot/1"]},
                "poll": HEX32,
                "ballot": _ref("Ballot"),
                "signature": {"type": "string"},
            },
            ["format", "poll", "ballot", "signature"],
        ),
        "description": "docs/protocol.md 13.3: exactly its seven fields, signed by a trustee.",
    },
    "PaperStatus": _obj(
        {
            "poll": {"type": "integer"},
            "voided_for_paper": {"type": "integer", "minimum": 0},
            "paper_ballots": {"type": "integer", "minimum": 0},
            "electronic_ballots": {"type": "integer", "minimum": 0},
            "present": {"type": "integer", "minimum": 0},
            "room": {"type": "integer", "minimum": 0},
            "tracking_codes": {"type": "array", "items": TRACKING_CODE},
            "count_head": {"oneOf": [HEX32, {"type": "null"}]},
        }
    ),
    "ShareAccepted": _obj(
        {
            "poll": {"type": "integer"},
            "trustee": {"type": "string"},
            "received": {"type": "integer", "minimum": 1},
            "missing": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "ChallengeNotice": {
        **_obj(
            {
                "format": {"type": "string", "enum": ["tally-challenged/1"]},
                "poll": HEX32,
                "credential": HEX32,
                "a_hashes": {"type": "array", "items": HEX32},
                "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
            }
        ),
        "description": (
            "What the booth tells the server when the voter challenges (tally-challenged/1,"
            " docs/protocol.md 12.6): the SHA-256 of each challenged ciphertext's `a`, one per"
            " (subject, grade), signed with the slip's key. Never the choices or the seed."
        ),
    },
    "ChallengeRecorded": _obj(
        {
            "recorded": {"type": "integer", "minimum": 1},
            "challenges_left": {"type": "integer", "minimum": 0},
        }
    ),
    "CeremonyMessage": {
        **_open_obj(
            {
                "format": {"type": "string", "enum": ["tally-dkg-deal/1", "tally-dkg-check/1"]},
                "ceremony": HEX32,
                "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
            },
            ["format", "ceremony", "signature"],
        ),
        "description": (
            "A trustee's signed dealing (tally-dkg-deal/1) or check (tally-dkg-check/1) of the"
            " key ceremony, exactly the fields of docs/protocol.md 9.4 (tally trustee deal,"
            " tally trustee check, or the trustee page)."
        ),
    },
    "Ceremony": _open_obj(
        {
            "conference": {"type": "integer"},
            "ceremony": {"type": "object"},
            "digest": HEX32,
            "state": {"type": "string", "enum": ["dealing", "checking", "done", "failed"]},
            "dealings": {"type": "array"},
            "checks": {"type": "array"},
            "failure": {"type": "string", "nullable": True},
            "outcome": {"type": "object", "nullable": True},
        },
        ["conference", "ceremony", "digest", "state", "dealings", "checks"],
    ),
    "CeremonyAccepted": _open_obj(
        {
            "conference": {"type": "integer"},
            "trustee": {"type": "integer", "minimum": 1},
            "state": {"type": "string"},
        },
        ["conference", "trustee", "state"],
    ),
    "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
}


def _error(codes: str) -> dict[str, Any]:
    return {
        "description": codes,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


def _ok(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


POLL_ID = {
    "name": "poll_id",
    "in": "path",
    "required": True,
    "description": "The poll's number.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
CREDENTIAL_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "A credential's public key (what the booth derives from the slip's code).",
    "schema": HEX32,
}
NOT_FOUND = _error("`not_found`: no such poll (or no such address under /api).")
RATE_LIMITED = _error("`rate_limited`: too many requests from this address (ballot.web.limits).")
DATABASE = _error("`database_unavailable`: nothing was stored; retry.")
# Two rules share this path (GET and POST); for a poll number above the maximum Werkzeug's router
# answers 405 for one of the methods instead of 404.
WRONG_METHOD = _error("`method_not_allowed`: a poll number out of range on this shared path.")
NOT_OPEN = _error("`poll_not_open`: the poll has not been opened yet.")


def _json_body(schema: str, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": _ref(schema)}},
    }


CONFERENCE_ID = {
    "name": "conference_id",
    "in": "path",
    "required": True,
    "description": "The conference's number.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}


def _ceremony_post(kind: str, what: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"ceremony_{kind}",
            "summary": f"A trustee's signed {what} of the key ceremony (docs/protocol.md 9.4).",
            "description": "Checked (form, ceremony, proof, signature); a refusal stores nothing.",
            "parameters": [CONFERENCE_ID],
            "requestBody": _json_body("CeremonyMessage", f"The {what}, at most 256 KiB."),
            "responses": {
                "201": _ok("Accepted.", "application/json", _ref("CeremonyAccepted")),
                "400": _error(
                    "`bad_ceremony_message`: not JSON, malformed, a proof or signature fails."
                ),
                "404": _error("`not_found`, `no_ceremony`."),
                "409": _error(
                    "`ceremony_step` (not this step now), `already_dealt`, `already_checked`."
                ),
                "413": _error("`too_large`."),
                "429": RATE_LIMITED,
                "503": DATABASE,
            },
        }
    }


def paths() -> dict[str, Any]:
    poll = "/api/polls/{poll_id}"
    conference = "/api/conferences/{conference_id}"
    limit_kib = casting.MAX_BALLOT_BYTES // 1024
    return {
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description.",
                "responses": {"200": _ok("OpenAPI 3.0", "application/json", _ref("OpenAPI"))},
            }
        },
        f"{poll}/ballots": {
            "post": {
                "operationId": "cast_ballot",
                "summary": "Cast a ballot (authorised by its credential's signature; no cookie).",
                "description": (
                    "The ballot is verified completely, then the credential is spent and the"
                    " ballot chained in one transaction. A refused ballot stores nothing and"
                    " uses no credential."
                ),
                "parameters": [POLL_ID],
                "requestBody": _json_body(
                    "Ballot", f"A tally-ballot/1 ballot, at most {limit_kib} KiB."
                ),
                "responses": {
                    "201": _ok("Accepted and on the board.", "application/json", _ref("Receipt")),
                    "400": _error(
                        "`malformed_ballot`: not JSON, or any structure, proof, signature or"
                        " poll check failed."
                    ),
                    "403": _error("`unknown_credential`, `voided_credential`."),
                    "404": NOT_FOUND,
                    "409": _error(
                        "`credential_used`, `challenged_ballot`, `poll_not_open`,"
                        " `over_attendance`, `write_conflict`."
                    ),
                    "405": WRONG_METHOD,
                    "413": _error(f"`too_large`: more than {limit_kib} KiB."),
                    "429": RATE_LIMITED,
                    "503": DATABASE,
                },
            },
            "get": {
                "operationId": "ballots_file",
                "summary": "ballots.jsonl: the board's ballots with proofs, once closed.",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok(
                        "One JSON object per line: index, ballot, tracking_hash, chain.",
                        "application/jsonl",
                        {"type": "string"},
                    ),
                    "404": NOT_FOUND,
                    "405": WRONG_METHOD,
                    "409": _error("`poll_not_closed`."),
                    "500": _error(
                        "`manifest_damaged`, `board_damaged`, `board_head_mismatch`: the stored"
                        " data does not check."
                    ),
                    "503": DATABASE,
                },
            },
        },
        f"{poll}/manifest": {
            "get": {
                "operationId": "manifest",
                "summary": "The poll's public manifest (canonical JSON), once open.",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok("The manifest.", "application/json", _ref("Manifest")),
                    "404": NOT_FOUND,
                    "409": NOT_OPEN,
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/credentials/{{key}}": {
            "get": {
                "operationId": "credential_status",
                "summary": "Whether a public credential can still vote (what the booth asks).",
                "parameters": [POLL_ID, CREDENTIAL_KEY],
                "responses": {
                    "200": _ok("Its status.", "application/json", _ref("CredentialStatus")),
                    "400": _error("`bad_credential`: not 64 lowercase hex characters."),
                    "404": NOT_FOUND,
                    "409": NOT_OPEN,
                    "429": RATE_LIMITED,
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/board": {
            "get": {
                "operationId": "board",
                "summary": "The bulletin board: tracking codes in order and the head hash.",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok("The board.", "application/json", _ref("Board")),
                    "404": NOT_FOUND,
                    "409": NOT_OPEN,
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/bundle": {
            "get": {
                "operationId": "bundle",
                "summary": "The audit bundle (ZIP) for tally verify, once counted.",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok(
                        "The bundle.", "application/zip", {"type": "string", "format": "binary"}
                    ),
                    "404": NOT_FOUND,
                    "409": _error("`count_not_finished`."),
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/aggregate": {
            "get": {
                "operationId": "aggregate",
                "summary": "The published aggregate (what the trustees decrypt).",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok("The aggregate.", "application/json", _ref("Aggregate")),
                    "404": NOT_FOUND,
                    "409": _error("`count_not_started`."),
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/challenges": {
            "post": {
                "operationId": "challenge_notice",
                "summary": "Record a challenged ballot (Benaloh): its ciphertexts are never cast.",
                "description": "The hashes are stored without the credential, which counts the"
                " challenge on its row (at most 5 per slip); casting any ballot that reuses a"
                " challenged `a` is refused (`challenged_ballot`). Refused once the poll closes.",
                "parameters": [POLL_ID],
                "requestBody": _json_body(
                    "ChallengeNotice",
                    f"A tally-challenged/1 notice, at most {MAX_CHALLENGE_KIB} KiB.",
                ),
                "responses": {
                    "201": _ok("Recorded.", "application/json", _ref("ChallengeRecorded")),
                    "400": _error("`malformed_challenge`: not a valid notice for this poll."),
                    "403": _error("`unknown_credential` or `voided_credential`."),
                    "404": NOT_FOUND,
                    "409": _error("`poll_not_open` or `credential_used`."),
                    "413": _error(f"`too_large`: more than {MAX_CHALLENGE_KIB} KiB."),
                    "429": _error("`too_many_challenges` (5 per slip) or `rate_limited`."),
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/attendance": {
            "get": {
                "operationId": "attendance",
                "summary": "attendance.jsonl: the attendance chain (docs/protocol.md 13.1).",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok(
                        "One JSON object per line: seq, time, present, actor, prev, hash.",
                        "application/jsonl",
                        {"type": "string"},
                    ),
                    "404": NOT_FOUND,
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/attendance-statement": {
            "post": {
                "operationId": "add_attendance_statement",
                "summary": "A trustee's signed attendance statement (tally trustee attest).",
                "description": "Checked against the chain and the board; a refusal stores nothing.",
                "parameters": [POLL_ID],
                "requestBody": _json_body(
                    "AttendanceStatement", "A tally-attendance/1 file, at most 16 KiB."
                ),
                "responses": {
                    "201": _ok(
                        "Accepted.",
                        "application/json",
                        _obj({"poll": {"type": "integer"}, "trustee": {"type": "string"}}),
                    ),
                    "400": _error("`bad_attendance_statement`."),
                    "404": NOT_FOUND,
                    "409": _error(
                        "`poll_not_closed`, `count_started`, `no_attendance`, `statement_exists`."
                    ),
                    "413": _error("`bad_attendance_statement`: more than 16 KiB."),
                    "429": RATE_LIMITED,
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/voids": {
            "get": {
                "operationId": "voids",
                "summary": "voids.jsonl: the slips voided for paper (docs/protocol.md 13.3).",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok(
                        "One tally-void/1 statement per line, in byte order; empty when none.",
                        "application/jsonl",
                        {"type": "string"},
                    ),
                    "404": NOT_FOUND,
                    "409": _error("`poll_not_closed`."),
                    "503": DATABASE,
                },
            }
        },
        f"{poll}/paper": {
            "get": {
                "operationId": "paper_ballots",
                "summary": "paper.jsonl: the paper ballots entered (docs/protocol.md 13.3).",
                "parameters": [POLL_ID],
                "responses": {
                    "200": _ok(
                        "One tally-paper-ballot/1 statement per line, in byte order.",
                        "application/jsonl",
                        {"type": "string"},
                    ),
                    "404": NOT_FOUND,
                    "405": WRONG_METHOD,
                    "409": _error("`poll_not_closed`."),
                    "503": DATABASE,
                },
            },
            "post": {
                "operationId": "add_paper_ballot",
                "summary": "One paper ballot, encrypted and signed by a trustee (13.3).",
                "description": "After close, before counting starts; a refusal stores nothing.",
                "parameters": [POLL_ID],
                "requestBody": _json_body(
                    "PaperBallot", "A tally-paper-ballot/1 statement, at most 256 KiB."
                ),
                "responses": {
                    "201": _ok("Accepted.", "application/json", _ref("PaperStatus")),
                    "400": _error("`malformed`, `bad_paper_ballot`."),
                    "404": NOT_FOUND,
                    "405": WRONG_METHOD,
                    "409": _error(
                        "`poll_not_closed`, `count_started`, `paper_exceeds_voids`,"
                        " `paper_exceeds_present`, `paper_duplicate`, `paper_not_supported`."
                    ),
                    "413": _error("`too_large`: more than 256 KiB."),
                    "429": RATE_LIMITED,
                    "503": DATABASE,
                },
            },
        },
        f"{conference}/ceremony": {
            "get": {
                "operationId": "ceremony",
                "summary": "The conference's key ceremony: trustees, k, state, messages, outcome.",
                "parameters": [CONFERENCE_ID],
                "responses": {
                    "200": _ok("The ceremony.", "application/json", _ref("Ceremony")),
                    "404": _error("`not_found`, `no_ceremony`."),
                    "503": DATABASE,
                },
            }
        },
        f"{conference}/ceremony/ceremony.json": {
            "get": {
                "operationId": "ceremony_file",
                "summary": "The tally-ceremony/1 file (tally trustee deal, check).",
                "parameters": [CONFERENCE_ID],
                "responses": {
                    "200": _ok("tally-ceremony/1.", "application/json", {"type": "object"}),
                    "404": _error("`not_found`, `no_ceremony`."),
                    "503": DATABASE,
                },
            }
        },
        f"{conference}/ceremony/dealings.json": {
            "get": {
                "operationId": "dealings_file",
                "summary": "The n dealings once all are in (tally trustee check --dealings).",
                "parameters": [CONFERENCE_ID],
                "responses": {
                    "200": _ok("The dealings.", "application/json", {"type": "array"}),
                    "404": _error("`not_found`, `no_ceremony`."),
                    "409": _error("`ceremony_step`: not every dealing is in."),
                    "503": DATABASE,
                },
            }
        },
        f"{conference}/ceremony/dealings": _ceremony_post("dealing", "dealing"),
        f"{conference}/ceremony/checks": _ceremony_post("check", "check"),
        f"{poll}/shares": {
            "post": {
                "operationId": "add_share",
                "summary": "A trustee's decryption share (checked against their registered key).",
                "description": "A refused share stores nothing.",
                "parameters": [POLL_ID],
                "requestBody": _json_body("Share", "A tally-share/1 file, at most 1 MiB."),
                "responses": {
                    "201": _ok("Accepted.", "application/json", _ref("ShareAccepted")),
                    "400": _error(
                        "`bad_share` (not JSON, wrong poll or aggregate, a proof fails),"
                        " `unknown_trustee` (not a trustee of this poll)."
                    ),
                    "404": NOT_FOUND,
                    "409": _error("`count_not_started`, `count_finished`, `share_exists`."),
                    "413": _error("`too_large`: more than 1 MiB."),
                    "429": RATE_LIMITED,
                    "503": DATABASE,
                },
            }
        },
    }


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ballot: API biểu quyết kín / secret-ballot rating API",
            "version": "1",
            "description": (
                "Bỏ phiếu, bảng tin, kiểm phiếu. / Casting, the bulletin board, counting."
                ' Errors: `{"error": {"code", "message_vi", "message_en"}}`.'
            ),
        },
        "paths": paths(),
        "components": {"schemas": SCHEMAS},
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(spec())
