"""The operator's counting page, ``/operator/polls/<id>/count`` (login required, Flask-WTF forms
with CSRF):

- ``GET  …/count``: the steps: the signed attendance, start, the trustees' shares (received /
  missing), finish with the reconciliation of the slips, links.
- ``POST …/count/attendance``: upload a trustee's attendance statement (``tally trustee attest``).
- ``POST …/count/start``: publish the aggregate and the board head (``counting.start_count``).
- ``GET  …/count/files/<name>``: ``manifest.json``, ``ballots.jsonl``, ``attendance.jsonl``
  once closed (for ``tally trustee attest``), ``aggregate.json`` once started (for ``tally
  trustee decrypt``), as ``ballot count start --out-dir`` writes them.
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
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response as Redirect
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from ballot import db
from ballot.keys import signing_key
from ballot.services import errors
from ballot.services.attendance import add_statement, parse_statement_file
from ballot.services.counting import (
    add_share,
    closed_files,
    finish_count,
    start_count,
)
from ballot.services.counting_status import CountStatus, count_status
from ballot.services.errors import ServiceError
from ballot.services.paper import paper_status
from ballot.web.auth import actor, login_required
from ballot.web.forms import ShareForm, read_share_upload

bp = Blueprint("counting", __name__)

OPERATOR = "/operator/polls/<id:poll_id>/count"
MIMETYPES = {
    "aggregate.json": "application/json",
    "manifest.json": "application/json",
    "ballots.jsonl": "application/jsonl",
    "attendance.jsonl": "application/jsonl",
    "voids.jsonl": "application/jsonl",
    "paper.jsonl": "application/jsonl",
}


class StartForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the button is the whole form."""


class FinishForm(FlaskForm):  # type: ignore[misc]
    """The counting committee's reconciliation of the slips (both optional)."""

    handed_out = IntegerField(validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    lost = IntegerField(validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class StatementForm(FlaskForm):  # type: ignore[misc]
    statement = FileField(validators=[FileRequired()])


# --- operator pages ------------------------------------------------------------------------------


def _status(poll_id: int) -> CountStatus:
    return count_status(db.get_session(), poll_id)


def _operator_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    status = _status(poll_id)
    paper = paper_status(db.get_session(), poll_id)
    closed = closed_files(db.get_session(), poll_id) if status.poll.state == "closed" else {}
    page = render_template(
        "counting/count.html",
        status=status,
        poll=status.poll,
        share_form=ShareForm(),
        statement_form=StatementForm(formdata=None),
        files=[n for n in MIMETYPES if n in closed or not n.startswith(("voids", "paper"))],
        paper=paper,
        head=paper.head or status.poll.board_head,
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
            "Đã bắt đầu kiểm phiếu: %(count)d phiếu. Đầu chuỗi Ban kiểm phiếu gõ: %(head)s",
            count=published.ballot_count,
            head=published.count_head,
        ),
        "success",
    )
    return redirect(url_for("counting.page", poll_id=poll_id))


@bp.get(f"{OPERATOR}/files/<name>")
@login_required
def download(poll_id: int, name: str) -> Response:
    if name not in MIMETYPES:
        raise errors.NotFound(f"tệp {name}", f"file {name}")
    files = closed_files(db.get_session(), poll_id)
    if name not in files:
        raise errors.NotFound(f"tệp {name} (chưa bắt đầu kiểm phiếu)", f"file {name} (not yet)")
    data = files[name]
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


@bp.post(f"{OPERATOR}/attendance")
@login_required
def upload_statement(poll_id: int) -> Redirect | tuple[str, int]:
    form = StatementForm()
    try:
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                raise errors.csrf_refused()
            raise ServiceError(
                400,
                "no_file",
                "Chưa chọn tệp xác nhận số có mặt (kết quả của tally trustee attest).",
                "No attendance statement was chosen (the output of tally trustee attest).",
            )
        document = parse_statement_file(form.statement.data.read())
        with db.transaction() as tx:
            name = add_statement(tx, poll_id, document, actor=actor())
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _operator_page(poll_id, exc)
    flash(_("Đã nhận xác nhận số có mặt do %(name)s ký.", name=name), "success")
    return redirect(url_for("counting.page", poll_id=poll_id))


@bp.post(f"{OPERATOR}/finish")
@login_required
def finish(poll_id: int) -> Redirect | tuple[str, int]:
    form = FinishForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise errors.csrf_refused()
        error = ServiceError(
            400,
            "bad_reconciliation",
            "Số phiếu đã phát và số phiếu bị mất phải là số nguyên không âm.",
            "The slips handed out and lost must be whole numbers, 0 or more.",
        )
        return _operator_page(poll_id, error)
    try:
        key = signing_key()
        with db.transaction() as tx:
            result = finish_count(
                tx,
                poll_id,
                key,
                actor=actor(),
                handed_out=form.handed_out.data,
                lost=form.lost.data or 0,
                timezone=current_app.config["TIMEZONE"],
            )
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
