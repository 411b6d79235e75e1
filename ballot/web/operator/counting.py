"""The operator's counting page, ``/operator/polls/<id>/count`` (login required, Flask-WTF forms
with CSRF):

- ``GET  …/count``: the steps: start, the trustees' shares (received / missing), finish, links.
- ``POST …/count/start``: publish the aggregate and the board head (``counting.start_count``).
- ``GET  …/count/files/<name>``: ``aggregate.json``, ``manifest.json``, ``ballots.jsonl``, as
  ``ballot count start --out-dir`` writes them, for ``tally trustee decrypt``.
- ``POST …/count/shares``: upload a share file (``tally trustee decrypt`` output).
- ``POST …/count/finish``: combine, grade and sign (``counting.finish_count``).

The trustees' own page is ``ballot.web.trustee``; the JSON routes are in ``ballot.web.api``. Every
step is one transaction under the poll's write lock (``ballot.services.counting``): a refused
step shows its bilingual message with its HTTP status and changes nothing.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as Redirect

from ballot import db
from ballot.keys import signing_key
from ballot.services import errors
from ballot.services.counting import (
    add_share,
    finish_count,
    published_files,
    start_count,
)
from ballot.services.counting_status import CountStatus, count_status
from ballot.services.errors import ServiceError
from ballot.web.auth import actor, login_required
from ballot.web.forms import ShareForm, read_share_upload

bp = Blueprint("counting", __name__)

OPERATOR = "/operator/polls/<id:poll_id>/count"
MIMETYPES = {
    "aggregate.json": "application/json",
    "manifest.json": "application/json",
    "ballots.jsonl": "application/jsonl",
}


class StartForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the button is the whole form."""


class FinishForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token."""


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


@bp.post(f"{OPERATOR}/shares")
@login_required
def upload_share(poll_id: int) -> Redirect | tuple[str, int]:
    try:
        share = read_share_upload(ShareForm())
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
        key = signing_key()
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
