"""Every refusal the web shows, in one place: a service error, a missing CSRF token, a request
too large, the database down, an HTTP error under ``/api/``.

The same refusal is JSON under ``/api/`` (``{"error": {"code", "message_vi", "message_en"}}``) and
a bilingual page elsewhere: the operator's error page (with a link back to the poll or the
conference), the counting pages' own, or the public one (booth, board, checker, trustee page).
Nothing was changed by a refused request.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from ballot.services import errors
from ballot.services.casting import MAX_BALLOT_BYTES
from ballot.services.errors import ServiceError

Page = tuple[Response | str, int]


def _back() -> str:
    """Where the operator's error page links back to."""
    args = request.view_args or {}
    if "poll_id" in args:
        return url_for("operator.poll", poll_id=args["poll_id"])
    if "conference_id" in args:
        return url_for("operator.conference", conference_id=args["conference_id"])
    return url_for("operator.index")


def show(exc: ServiceError) -> Page:
    """The refusal as the current request's client expects it."""
    if request.path.startswith("/api/"):
        return jsonify(exc.to_json()), exc.status
    if request.blueprint == "operator":
        back = _back() if exc.code != "not_found" else url_for("operator.index")
        return render_template("operator/error.html", error=exc, back=back), exc.status
    if request.blueprint == "counting":
        return render_template("counting/error.html", error=exc), exc.status
    if request.blueprint == "trustee":
        return render_template("counting/public_error.html", error=exc), exc.status
    return render_template("public_error.html", error=exc), exc.status


def _too_large(_exc: RequestEntityTooLarge) -> Page:
    if request.endpoint == "api.cast_ballot":
        return show(errors.too_large(MAX_BALLOT_BYTES))
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
    return show(
        ServiceError(
            413,
            "too_large",
            f"Tệp quá lớn (tối đa {limit} KiB); không có gì thay đổi.",
            f"The file is too large (at most {limit} KiB); nothing was changed.",
        )
    )


GENERIC: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Yêu cầu không hợp lệ.", "The request is not valid."),
    404: ("not_found", "Không có địa chỉ này trong API.", "There is no such address in the API."),
    405: (
        "method_not_allowed",
        "Địa chỉ này không nhận phương thức {method}.",
        "This address does not accept {method}.",
    ),
    413: ("too_large", "Yêu cầu quá lớn.", "The request is too large."),
    500: (
        "internal_error",
        "Lỗi máy chủ; không có gì được ghi.",
        "A server error occurred; nothing was stored.",
    ),
}


def _api_http_error(exc: HTTPException) -> HTTPException | tuple[Response, int]:
    """Under ``/api/``, any other HTTP error (an unknown address, a wrong method) becomes the
    JSON error object; elsewhere it is left as it was."""
    if not request.path.startswith("/api/") or exc.code is None:
        return exc
    status = exc.code
    code, vi, en = GENERIC.get(
        status,
        (
            (exc.name or "error").lower().replace(" ", "_"),
            f"Lỗi HTTP {status}; không có gì được ghi.",
            f"HTTP error {status} ({exc.name}); nothing was stored.",
        ),
    )
    error = ServiceError(
        status, code, vi.format(method=request.method), en.format(method=request.method)
    )
    response = jsonify(error.to_json())
    valid = getattr(exc, "valid_methods", None)
    if isinstance(exc, MethodNotAllowed) and valid:
        response.headers["Allow"] = ", ".join(valid)
    return response, status


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, show)
    app.register_error_handler(CSRFError, lambda _exc: show(errors.csrf_refused()))
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(DBAPIError, lambda _exc: show(errors.database_unavailable()))
    app.register_error_handler(HTTPException, _api_http_error)
