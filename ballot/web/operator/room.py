"""The room's screen: ballots cast against credentials issued, never a count of votes."""

from __future__ import annotations

from typing import Any

from flask import (
    jsonify,
    render_template,
)

from ballot import db
from ballot.services import credentials, polls
from ballot.services.errors import ServiceError
from ballot.web.auth import current_operator, login_required
from ballot.web.operator import bp
from ballot.web.operator.pages import (
    POLL,
)

# --- the room: dashboard -------------------------------------------------------------------------


@bp.get(f"{POLL}/dashboard")
@login_required
def dashboard(poll_id: int) -> str:
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    return render_template(
        "operator/dashboard.html", poll=poll_row, status=credentials.poll_status(session, poll_id)
    )


@bp.get(f"{POLL}/status")
def poll_status(poll_id: int) -> Any:
    """``{state, issued, cast, voided}`` for the dashboard's script. Never a tally."""
    if current_operator() is None:  # a script, not a person: 401, not a redirect to the login
        error = ServiceError(
            401,
            "login_required",
            "Cần đăng nhập lại.",
            "Please log in again.",
        )
        return jsonify(error.to_json()), 401
    try:
        body = credentials.poll_status(db.get_session(), poll_id)
    except ServiceError as exc:
        return jsonify(exc.to_json()), exc.status
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
