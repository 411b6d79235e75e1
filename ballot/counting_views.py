"""Counting in the web UI: the operator's counting page, the trustees' page and their JSON API.

Operator (login required, Flask-WTF forms with CSRF), ``/operator/polls/<id>/count``:

- ``GET  …/count``: the steps: start, the trustees' shares (received / missing), finish, links.
- ``POST …/count/start``: publish the aggregate and the board head (``counting.start_count``).
- ``GET  …/count/files/<name>``: ``aggregate.json``, ``manifest.json``, ``ballots.jsonl``, as
  ``ballot count start --out-dir`` writes them, for ``tally trustee decrypt``.
- ``POST …/count/shares``: upload a share file (``tally trustee decrypt`` output).
- ``POST …/count/finish``: combine, grade and sign (``counting.finish_count``).

Public (no login: a share is authorised by its own proofs against the trustee's registered key,
as a ballot is by its credential's signature):

- ``GET  /trustee/polls/<id>``: the poll, the published board head, the trustees' status, a share
  upload form (CSRF) and the in-browser path (``static/trustee-page.js``: the key file is read
  locally and never sent; only the share is POSTed).
- ``POST /trustee/polls/<id>/shares``: the upload form's target.
- ``GET  /api/polls/<id>/aggregate``, ``GET /api/polls/<id>/ballots`` (``ballots.jsonl``): once
  counting has started.
- ``POST /api/polls/<id>/shares``: a share as JSON, CSRF-exempt; errors are
  ``{"error": {"code", "message_vi", "message_en"}}``.

Every step is one transaction under the poll's write lock (ballot.counting): a refused step shows
its bilingual message with its HTTP status and changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as Redirect

from ballot import csrf, db, errors
from ballot.auth import actor, login_required
from ballot.cli import signing_key_path
from ballot.counting import (
    CountStatus,
    add_share,
    count_status,
    finish_count,
    parse_share,
    published_aggregate,
    published_files,
    start_count,
)
from ballot.errors import ServiceError
from tally.record import KeyFileError, ServiceKey

bp = Blueprint("counting", __name__)

POLL = "<int(max=2147483647):poll_id>"
OPERATOR = f"/operator/polls/{POLL}/count"
TRUSTEE_ACTOR = "web:trustee"  # the public page and API: the share's proofs are the authority
MIMETYPES = {
    "aggregate.json": "application/json",
    "manifest.json": "application/json",
    "ballots.jsonl": "application/jsonl",
}


class StartForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the button is the whole form."""


class FinishForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token."""


class ShareForm(FlaskForm):  # type: ignore[misc]
    share = FileField("Tệp phần giải mã", validators=[FileRequired()])


# --- errors --------------------------------------------------------------------------------------


def _no_file() -> ServiceError:
    return ServiceError(
        400,
        "no_file",
        "Chưa chọn tệp phần giải mã (kết quả của tally trustee decrypt).",
        "No share file was chosen (the output of tally trustee decrypt).",
    )


def _too_large() -> ServiceError:
    return ServiceError(
        413,
        "too_large",
        "Tệp quá lớn (tối đa 1 MiB).",
        "The file is too large (at most 1 MiB).",
    )


def _error_page(exc: ServiceError) -> tuple[Response | str, int]:
    if request.path.startswith("/api/"):
        return jsonify(exc.to_json()), exc.status
    if request.path.startswith("/operator/"):
        return render_template("counting/error.html", error=exc), exc.status
    return render_template("counting/public_error.html", error=exc), exc.status


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> tuple[Response | str, int]:
    return _error_page(exc)


@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError) -> tuple[Response | str, int]:
    return _error_page(errors.csrf_refused())


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(_exc: RequestEntityTooLarge) -> tuple[Response | str, int]:
    return _error_page(_too_large())


@bp.errorhandler(DBAPIError)
def _db_error(_exc: DBAPIError) -> tuple[Response | str, int]:
    return _error_page(errors.database_unavailable())


# --- operator pages ------------------------------------------------------------------------------


def _status(poll_id: int) -> CountStatus:
    return count_status(db.get_session(), poll_id)


def _operator_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    status = _status(poll_id)
    page = render_template(
        "counting/count.html",
        status=status,
        poll=status.poll,
        share_form=ShareForm(),
        files=list(MIMETYPES),
        error=error,
    )
    return page, error.status if error else 200


@bp.get(OPERATOR)
@login_required
def page(poll_id: int) -> tuple[str, int]:
    return _operator_page(poll_id)


@bp.post(f"{OPERATOR}/start")
@login_required
def start(poll_id: int) -> Redirect | tuple[str, int]:
    if not StartForm().validate_on_submit():
        raise errors.csrf_refused()
    try:
        with db.transaction() as tx:
            published = start_count(tx, poll_id, actor=actor())
    except ServiceError as exc:
        return _operator_page(poll_id, exc)
    flash(
        _(
            "Đã bắt đầu kiểm phiếu: %(count)d phiếu. Đầu chuỗi bảng tin: %(head)s",
            count=published.ballot_count,
            head=published.board_head,
        ),
        "success",
    )
    return redirect(url_for("counting.page", poll_id=poll_id))


@bp.get(f"{OPERATOR}/files/<name>")
@login_required
def download(poll_id: int, name: str) -> Response:
    if name not in MIMETYPES:
        raise errors.NotFound(f"tệp {name}", f"file {name}")
    data = published_files(db.get_session(), poll_id).files()[name]
    return Response(
        data,
        mimetype=MIMETYPES[name],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _read_share_upload(form: ShareForm) -> Any:
    """The uploaded share file, parsed; ``ServiceError`` if there is none or it is not JSON."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise errors.csrf_refused()
        raise _no_file()
    return parse_share(form.share.data.read())


@bp.post(f"{OPERATOR}/shares")
@login_required
def upload_share(poll_id: int) -> Redirect | tuple[str, int]:
    try:
        share = _read_share_upload(ShareForm())
        with db.transaction() as tx:
            name = add_share(tx, poll_id, share, actor=actor())
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _operator_page(poll_id, exc)
    flash(_("Đã nhận phần giải mã hợp lệ của %(name)s.", name=name), "success")
    return redirect(url_for("counting.page", poll_id=poll_id))


@bp.post(f"{OPERATOR}/finish")
@login_required
def finish(poll_id: int) -> Redirect | tuple[str, int]:
    if not FinishForm().validate_on_submit():
        raise errors.csrf_refused()
    try:
        try:
            key = ServiceKey.load_or_create(signing_key_path())
        except KeyFileError as exc:
            raise ServiceError(
                500,
                "signing_key",
                f"Không đọc được khóa ký biên bản: {exc}",
                f"Cannot read the record-signing key: {exc}",
            ) from None
        with db.transaction() as tx:
            result = finish_count(tx, poll_id, key, actor=actor())
    except ServiceError as exc:
        return _operator_page(poll_id, exc)
    flash(
        _(
            "Đã kiểm phiếu xong: %(count)d phiếu; biên bản đã được ký (khóa %(key)s).",
            count=result["cast"],
            key=key.fingerprint,
        ),
        "success",
    )
    return redirect(url_for("counting.page", poll_id=poll_id))


# --- the trustees' page (public) -----------------------------------------------------------------


def _trustee_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    status = _status(poll_id)
    page = render_template(
        "counting/trustee.html",
        status=status,
        poll=status.poll,
        share_form=ShareForm(),
        error=error,
    )
    return page, error.status if error else 200


@bp.get(f"/trustee/polls/{POLL}")
def trustee_page(poll_id: int) -> tuple[str, int]:
    return _trustee_page(poll_id)


@bp.post(f"/trustee/polls/{POLL}/shares")
def trustee_upload(poll_id: int) -> Redirect | tuple[str, int]:
    try:
        share = _read_share_upload(ShareForm())
        with db.transaction() as tx:
            name = add_share(tx, poll_id, share, actor=TRUSTEE_ACTOR)
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _trustee_page(poll_id, exc)
    flash(_("Đã nhận phần giải mã hợp lệ của %(name)s.", name=name), "success")
    return redirect(url_for("counting.trustee_page", poll_id=poll_id))


# --- JSON API (public data, and the share endpoint) ----------------------------------------------


@bp.get(f"/api/polls/{POLL}/aggregate")
def api_aggregate(poll_id: int) -> Response:
    """The stored aggregate, byte for byte (its SHA-256 is what a share names)."""
    return Response(published_aggregate(db.get_session(), poll_id), mimetype="application/json")


@bp.get(f"/api/polls/{POLL}/ballots")
def api_ballots(poll_id: int) -> Response:
    """``ballots.jsonl``: one board line per ballot (index, ballot, tracking_hash, chain)."""
    return Response(
        published_files(db.get_session(), poll_id).ballots, mimetype="application/jsonl"
    )


@bp.post(f"/api/polls/{POLL}/shares")
def api_add_share(poll_id: int) -> tuple[Response, int]:
    share = parse_share(request.get_data(cache=False))
    with db.transaction() as tx:
        name = add_share(tx, poll_id, share, actor=TRUSTEE_ACTOR)
    status = _status(poll_id)
    return jsonify(
        {
            "poll": poll_id,
            "trustee": name,
            "received": len(status.trustees) - len(status.missing),
            "missing": status.missing,
        }
    ), 201


# No cookie authority: the share is checked against the trustee's registered key and the stored
# aggregate, so a forged cross-site request can do nothing a direct one could not.
csrf.exempt(api_add_share)
