"""The JSON API: one blueprint owns every ``/api`` route, described by ``GET /api/openapi.json``.

- ``ballots``: cast a ballot, the manifest, a credential's status, the board, the audit bundle;
- ``challenges``: the booth's check of a challenged ballot;
- ``counting``: the aggregate and ballots for the trustees, and a trustee's share;
- ``ceremony``: a conference's key ceremony (k of n): its transcript, the trustees' messages;
- ``openapi``: the OpenAPI description (``tests/service/test_fuzz.py`` checks it covers every
  route and fuzzes the API against it).

CSRF-exempt as a whole: nothing here carries a cookie's authority. A ballot is authorised by its
credential's signature, a share by its proofs against the trustee's registered key, and a
challenge stores only that a ballot whose randomness the caller already holds may never be cast.
Errors (``ballot.web.errors``) are ``{"error": {"code", "message_vi", "message_en"}}``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from ballot.web.api import ballots, ceremony, challenges, counting, openapi  # noqa: E402

__all__ = ["ballots", "bp", "ceremony", "challenges", "counting", "openapi"]
