"""Operator pages (the Organization Board): conferences, polls, trustees, slips, the room.

Every page needs a login; every change is a Flask-WTF form (CSRF) handled by one service function
of ``ballot.polls`` in one transaction, which also writes the audit event. A refused change shows
its bilingual message with its HTTP status and leaves the database as it was.

- ``/operator/``: conferences; ``/operator/conferences/new``, ``…/import`` (TOML upload),
  ``/operator/conferences/<id>`` and ``…/edit``, ``…/polls/new``.
- ``/operator/polls/<id>``: the poll (read-only once open), ``…/edit``, ``…/subjects/new``,
  ``…/subjects/<sid>/edit|delete|move/<up|down>``, ``…/trustees`` (upload),
  ``…/trustees/<tid>/remove``, ``…/credentials`` (mint: the slips come back as a download, once),
  ``…/open`` and ``…/close`` (a confirmation page, then a POST).
- ``/operator/polls/<id>/dashboard`` (for the room's screen) and ``…/status`` (JSON, polled by
  ``static/dashboard.js``): ballots cast against credentials issued. Never a count of votes.
- ``/operator/audit``: the audit log, filterable by conference or poll.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from ballot import db, errors, polls
from ballot.auth import actor, current_operator, login_required
from ballot.conference_file import ConferenceFileError, import_conference_text
from ballot.errors import ServiceError
from ballot.forms import (
    ButtonForm,
    ConferenceForm,
    ImportForm,
    MintForm,
    PollForm,
    SubjectForm,
    TrusteeForm,
    choice,
)
from ballot.i18n import select_locale
from ballot.models import AuditEvent, Conference, Poll, Subject
from ballot.slips import render_slips
from tally.canonical import parse_json
from tally.record import KeyFileError, ServiceKey, key_fingerprint
from tally.rules import RuleSet, list_rulesets, load_ruleset

bp = Blueprint("operator", __name__, url_prefix="/operator")

ID = "int(max=2147483647)"
POLL = f"/polls/<{ID}:poll_id>"
SUBJECT = f"{POLL}/subjects/<{ID}:subject_id>"
AUDIT_LIMIT = 500

STATES = {
    "draft": lazy_gettext("Nháp"),
    "open": lazy_gettext("Đang mở"),
    "closed": lazy_gettext("Đã đóng"),
}
KINDS = {
    "individual": lazy_gettext("Cá nhân"),
    "collective": lazy_gettext("Tập thể"),
    "organization": lazy_gettext("Tổ chức"),
}
ACTIONS = {
    "login": lazy_gettext("Đăng nhập"),
    "login.failed": lazy_gettext("Đăng nhập sai"),
    "operator.add": lazy_gettext("Tạo tài khoản người vận hành"),
    "conference.import": lazy_gettext("Nhập hội nghị từ tệp"),
    "conference.create": lazy_gettext("Tạo hội nghị"),
    "conference.update": lazy_gettext("Sửa hội nghị"),
    "poll.create": lazy_gettext("Tạo cuộc biểu quyết"),
    "poll.update": lazy_gettext("Sửa cuộc biểu quyết"),
    "subject.add": lazy_gettext("Thêm đối tượng"),
    "subject.update": lazy_gettext("Sửa đối tượng"),
    "subject.delete": lazy_gettext("Xóa đối tượng"),
    "subject.move": lazy_gettext("Đổi thứ tự đối tượng"),
    "trustee.add": lazy_gettext("Đăng ký thành viên Ban kiểm phiếu"),
    "trustee.remove": lazy_gettext("Bỏ thành viên Ban kiểm phiếu"),
    "credentials.mint": lazy_gettext("Tạo phiếu xác thực"),
    "poll.open": lazy_gettext("Mở cuộc biểu quyết"),
    "poll.close": lazy_gettext("Đóng cuộc biểu quyết"),
    "count.start": lazy_gettext("Bắt đầu kiểm phiếu"),
    "count.share": lazy_gettext("Nhận phần giải mã"),
    "count.finish": lazy_gettext("Kiểm phiếu xong"),
}
DETAIL_NAMES = {
    "conference": lazy_gettext("hội nghị"),
    "poll": lazy_gettext("cuộc biểu quyết"),
    "polls": lazy_gettext("các cuộc biểu quyết"),
    "file": lazy_gettext("tệp"),
    "title": lazy_gettext("tên"),
    "name": lazy_gettext("tên"),
    "rules": lazy_gettext("bộ quy tắc"),
    "rules_id": lazy_gettext("bộ quy tắc"),
    "key": lazy_gettext("mã"),
    "position": lazy_gettext("vị trí"),
    "count": lazy_gettext("số lượng"),
    "total": lazy_gettext("tổng số"),
    "credentials": lazy_gettext("phiếu xác thực"),
    "ballots": lazy_gettext("số phiếu"),
    "voided": lazy_gettext("bị hủy"),
    "fingerprint": lazy_gettext("dấu vân tay"),
    "commitment": lazy_gettext("cam kết"),
    "board_head": lazy_gettext("đầu chuỗi bảng tin"),
    "trustees": lazy_gettext("Ban kiểm phiếu"),
    "public_key": lazy_gettext("khóa công khai"),
    "username": lazy_gettext("tên đăng nhập"),
    "members": lazy_gettext("tổng số thành viên"),
    "present": lazy_gettext("có mặt"),
    "body": lazy_gettext("cơ quan biểu quyết"),
    "date": lazy_gettext("ngày"),
    "place": lazy_gettext("địa điểm"),
    "role": lazy_gettext("chức vụ"),
    "kind": lazy_gettext("loại"),
    "peer_group": lazy_gettext("nhóm so sánh"),
    "heads": lazy_gettext("đứng đầu"),
    "part_of": lazy_gettext("lãnh đạo"),
    "disciplined": lazy_gettext("bị kỷ luật"),
}
# These refusals concern the whole page (it does not exist, or can no longer change): shown as an
# error page. Any other refusal is shown above the form, with what was typed kept.
PAGE_ERRORS = {"not_found", "poll_not_draft", "conference_not_draft"}


@bp.app_template_global()
def state_name(state: str) -> str:
    return str(STATES.get(state, state))


@bp.app_template_global()
def kind_name(kind: str) -> str:
    return str(KINDS.get(kind, kind))


# --- errors --------------------------------------------------------------------------------------


def _error_page(exc: ServiceError) -> tuple[str, int]:
    back = url_for("operator.index")
    args = request.view_args or {}
    if "poll_id" in args and exc.code != "not_found":
        back = url_for("operator.poll", poll_id=args["poll_id"])
    elif "conference_id" in args and exc.code != "not_found":
        back = url_for("operator.conference", conference_id=args["conference_id"])
    return render_template("operator/error.html", error=exc, back=back), exc.status


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> tuple[str, int]:
    return _error_page(exc)


@bp.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return _error_page(errors.csrf_refused())


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
    return _error_page(
        ServiceError(
            413,
            "too_large",
            f"Tệp quá lớn (tối đa {limit} KiB); không có gì thay đổi.",
            f"The file is too large (at most {limit} KiB); nothing was changed.",
        )
    )


@bp.errorhandler(DBAPIError)
def _db_error(_exc: DBAPIError) -> tuple[str, int]:
    return _error_page(errors.database_unavailable())


def _page_error(exc: ServiceError) -> None:
    """Re-raise a refusal that concerns the whole page (shown as an error page)."""
    if exc.code in PAGE_ERRORS:
        raise exc


# --- conferences ---------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    conferences = db.get_session().scalars(
        select(Conference).order_by(Conference.date.desc(), Conference.id.desc())
    )
    return render_template("operator/index.html", conferences=list(conferences))


def _conference_form_page(
    form: ConferenceForm, conference: Conference | None, error: ServiceError | None = None
) -> tuple[str, int]:
    status = error.status if error else (400 if form.errors else 200)
    page = render_template(
        "operator/conference_form.html", form=form, conference=conference, error=error
    )
    return page, status


@bp.route("/conferences/new", methods=["GET", "POST"])
@login_required
def conference_new() -> Any:
    form = ConferenceForm()
    if not form.validate_on_submit():
        return _conference_form_page(form, None)
    try:
        with db.transaction() as tx:
            conference = polls.create_conference(tx, form.values(), actor=actor())
            conference_id = conference.id
    except ServiceError as exc:
        _page_error(exc)
        return _conference_form_page(form, None, exc)
    flash(_("Đã tạo hội nghị."), "success")
    return redirect(url_for("operator.conference", conference_id=conference_id))


@bp.route("/conferences/import", methods=["GET", "POST"])
@login_required
def conference_import() -> Any:
    form = ImportForm()
    error = None
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or "conference.toml"
        try:
            with db.transaction() as tx:
                conference = import_conference_text(tx, upload.read(), name, actor=actor())
                conference_id, count = conference.id, len(conference.polls)
        except ConferenceFileError as exc:
            error = ServiceError(
                400,
                "bad_conference_file",
                f"Tệp hội nghị không hợp lệ, không có gì được lưu: {exc}",
                f"The conference file is not valid; nothing was stored: {exc}",
            )
        else:
            flash(_("Đã nhập hội nghị với %(n)d cuộc biểu quyết.", n=count), "success")
            return redirect(url_for("operator.conference", conference_id=conference_id))
    status = error.status if error else (400 if form.errors else 200)
    return render_template("operator/import.html", form=form, error=error), status


@bp.get(f"/conferences/<{ID}:conference_id>")
@login_required
def conference(conference_id: int) -> str:
    session = db.get_session()
    row = polls.get_conference(session, conference_id)
    started = any(p.state != "draft" for p in row.polls)
    return render_template("operator/conference.html", conference=row, started=started)


@bp.route(f"/conferences/<{ID}:conference_id>/edit", methods=["GET", "POST"])
@login_required
def conference_edit(conference_id: int) -> Any:
    row = polls.get_conference(db.get_session(), conference_id)
    form = ConferenceForm(obj=row)
    if not form.validate_on_submit():
        if request.method == "GET":
            _refuse_started_conference(row)
        return _conference_form_page(form, row)
    try:
        with db.transaction() as tx:
            polls.update_conference(tx, conference_id, form.values(), actor=actor())
    except ServiceError as exc:
        _page_error(exc)
        return _conference_form_page(form, row, exc)
    flash(_("Đã lưu hội nghị."), "success")
    return redirect(url_for("operator.conference", conference_id=conference_id))


def _refuse_started_conference(row: Conference) -> None:
    started = [p.id for p in row.polls if p.state != "draft"]
    if started:  # the same refusal the service gives on save
        raise ServiceError(
            409,
            "conference_not_draft",
            f"Không thể sửa hội nghị: cuộc biểu quyết số {started[0]} đã mở hoặc đã đóng.",
            f"Cannot edit the conference: poll {started[0]} has already been opened or closed.",
        )


# --- polls ---------------------------------------------------------------------------------------


def _rules_choices() -> list[Any]:
    choices = []
    for rules_id in list_rulesets():
        rules = load_ruleset(rules_id)
        title = rules.title_en if select_locale() == "en" else rules.title_vi
        choices.append(choice(rules_id, f"{rules_id} — {title}"))
    return choices


def _poll_form_page(
    form: PollForm,
    conference: Conference,
    poll: Poll | None,
    error: ServiceError | None = None,
) -> tuple[str, int]:
    status = error.status if error else (400 if form.errors else 200)
    page = render_template(
        "operator/poll_form.html", form=form, conference=conference, poll=poll, error=error
    )
    return page, status


@bp.route(f"/conferences/<{ID}:conference_id>/polls/new", methods=["GET", "POST"])
@login_required
def poll_new(conference_id: int) -> Any:
    conference_row = polls.get_conference(db.get_session(), conference_id)
    form = PollForm()
    form.rules_id.choices = _rules_choices()
    if request.method == "GET":
        form.members.data = conference_row.members
        form.present.data = conference_row.present
        # The newest regulation by default: rule set ids end with their year (qd366-2025).
        form.rules_id.data = max(list_rulesets(), key=lambda r: (r.rsplit("-", 1)[-1], r))
    if not form.validate_on_submit():
        return _poll_form_page(form, conference_row, None)
    try:
        with db.transaction() as tx:
            poll_id = polls.create_poll(tx, conference_id, form.values(), actor=actor()).id
    except ServiceError as exc:
        _page_error(exc)
        return _poll_form_page(form, conference_row, None, exc)
    flash(_("Đã tạo cuộc biểu quyết; hãy thêm các đối tượng."), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id))


def _draft_poll(poll_id: int, doing_vi: str, doing_en: str) -> Poll:
    """The poll, for a form page: refused (409 page) unless it is still a draft."""
    poll_row = polls.get_poll(db.get_session(), poll_id)
    polls.require_draft(poll_row, doing_vi, doing_en)
    return poll_row


@bp.route(f"{POLL}/edit", methods=["GET", "POST"])
@login_required
def poll_edit(poll_id: int) -> Any:
    poll_row = polls.get_poll(db.get_session(), poll_id)
    form = PollForm(obj=poll_row)
    form.rules_id.choices = _rules_choices()
    if not form.validate_on_submit():
        if request.method == "GET":
            _draft_poll(poll_id, "sửa cuộc biểu quyết", "edit the poll")
        return _poll_form_page(form, poll_row.conference, poll_row)
    try:
        with db.transaction() as tx:
            polls.update_poll(tx, poll_id, form.values(), actor=actor())
    except ServiceError as exc:
        _page_error(exc)
        return _poll_form_page(form, poll_row.conference, poll_row, exc)
    flash(_("Đã lưu cuộc biểu quyết."), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id))


def _commitment(poll_row: Poll) -> dict[str, Any] | None:
    if not poll_row.manifest:
        return None
    committed: dict[str, Any] = json.loads(poll_row.manifest)["election"]["credentials"]
    return committed


def _poll_page(
    poll_id: int,
    *,
    error: ServiceError | None = None,
    mint_form: MintForm | None = None,
    trustee_form: TrusteeForm | None = None,
) -> tuple[str, int]:
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    subjects = polls.conference_subjects(session, poll_row.conference_id)
    names = {s.key: s.name for s in subjects}
    rules: RuleSet | None
    try:
        rules = load_ruleset(poll_row.rules_id)
    except ValueError:
        rules = None
    trustees = [
        {"id": t.id, "name": t.name, "fingerprint": key_fingerprint(bytes.fromhex(t.public_key))}
        for t in poll_row.trustees
    ]
    forms = [f for f in (mint_form, trustee_form) if f is not None]
    status = error.status if error else (400 if any(f.errors for f in forms) else 200)
    page = render_template(
        "operator/poll.html",
        poll=poll_row,
        conference=poll_row.conference,
        rules=rules,
        names=names,
        trustees=trustees,
        counts=polls.credential_counts(session, poll_id),
        status=polls.poll_status(session, poll_id),
        committed=_commitment(poll_row),
        button=ButtonForm(),
        mint_form=mint_form or MintForm(formdata=None),
        trustee_form=trustee_form or TrusteeForm(formdata=None),
        base_url=current_app.config["BASE_URL"],
        has_counting="counting.page" in current_app.view_functions,
        error=error,
    )
    return page, status


@bp.get(POLL)
@login_required
def poll(poll_id: int) -> tuple[str, int]:
    return _poll_page(poll_id)


# --- subjects ------------------------------------------------------------------------------------


def _reference_choices(form: SubjectForm, conference_id: int, subject: Subject | None) -> None:
    others = [
        s
        for s in polls.conference_subjects(db.get_session(), conference_id)
        if subject is None or s.id != subject.id
    ]

    def choices(kinds: Iterable[str], current: str | None) -> list[Any]:
        pairs = [("", _("— không —"))]
        pairs += [(s.key, f"{s.name} ({s.key})") for s in others if s.kind in kinds]
        if current and current not in {key for key, _label in pairs}:
            pairs.append((current, current))  # e.g. from an imported file: keep it visible
        return [choice(key, label) for key, label in pairs]

    heads = subject.heads if subject else None
    part_of = subject.part_of if subject else None
    form.heads.choices = choices(("organization", "collective"), heads)
    form.part_of.choices = choices(("organization",), part_of)
    form.peer_groups = sorted({s.peer_group for s in others if s.peer_group})


def _subject_form_page(
    form: SubjectForm,
    poll_row: Poll,
    subject: Subject | None,
    error: ServiceError | None = None,
) -> tuple[str, int]:
    status = error.status if error else (400 if form.errors else 200)
    page = render_template(
        "operator/subject_form.html", form=form, poll=poll_row, subject=subject, error=error
    )
    return page, status


@bp.route(f"{POLL}/subjects/new", methods=["GET", "POST"])
@login_required
def subject_new(poll_id: int) -> Any:
    poll_row = _draft_poll(poll_id, "thêm đối tượng", "add a subject")
    form = SubjectForm()
    _reference_choices(form, poll_row.conference_id, None)
    if not form.validate_on_submit():
        return _subject_form_page(form, poll_row, None)
    try:
        with db.transaction() as tx:
            name = polls.add_subject(tx, poll_id, form.values(with_key=True), actor=actor()).name
    except ServiceError as exc:
        _page_error(exc)
        return _subject_form_page(form, poll_row, None, exc)
    flash(_("Đã thêm %(name)s vào cuối phiếu.", name=name), "success")
    if request.form.get("again"):
        return redirect(url_for("operator.subject_new", poll_id=poll_id))
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="subjects"))


def _poll_subject(poll_id: int, subject_id: int) -> tuple[Poll, Subject]:
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    subject = session.get(Subject, subject_id)
    if subject is None or subject.poll_id != poll_id:
        raise errors.NotFound(
            f"đối tượng {subject_id} trong cuộc biểu quyết số {poll_id}",
            f"subject {subject_id} in poll {poll_id}",
        )
    return poll_row, subject


@bp.route(f"{SUBJECT}/edit", methods=["GET", "POST"])
@login_required
def subject_edit(poll_id: int, subject_id: int) -> Any:
    poll_row, subject = _poll_subject(poll_id, subject_id)
    form = SubjectForm(obj=subject)
    _reference_choices(form, poll_row.conference_id, subject)
    if not form.validate_on_submit():
        if request.method == "GET":
            _draft_poll(poll_id, "sửa đối tượng", "edit a subject")
        return _subject_form_page(form, poll_row, subject)
    try:
        with db.transaction() as tx:
            polls.update_subject(
                tx, poll_id, subject_id, form.values(with_key=False), actor=actor()
            )
    except ServiceError as exc:
        _page_error(exc)
        return _subject_form_page(form, poll_row, subject, exc)
    flash(_("Đã lưu %(name)s.", name=form.name.data.strip()), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="subjects"))


def _confirm(
    title: str,
    message: str,
    button: str,
    *,
    poll_row: Poll,
    danger: bool = False,
    facts: list[tuple[str, Any]] | None = None,
) -> str:
    return render_template(
        "operator/confirm.html",
        title=title,
        message=message,
        button_label=button,
        danger=danger,
        facts=facts or [],
        poll=poll_row,
        form=ButtonForm(),
    )


def _button_post(
    poll_id: int, step: Callable[[Any], str], anchor: str | None = None
) -> WerkzeugResponse:
    """A button's POST: CSRF checked, one transaction, a flash message, back to the poll."""
    if not ButtonForm().validate_on_submit():  # CSRFProtect has already refused a bad token
        raise CSRFError()
    with db.transaction() as tx:
        message = step(tx)
    flash(message, "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor=anchor))


@bp.route(f"{SUBJECT}/delete", methods=["GET", "POST"])
@login_required
def subject_delete(poll_id: int, subject_id: int) -> Any:
    if request.method == "GET":
        poll_row, subject = _poll_subject(poll_id, subject_id)
        _draft_poll(poll_id, "xóa đối tượng", "delete a subject")
        return _confirm(
            _("Xóa đối tượng"),
            _("Xóa %(name)s khỏi phiếu?", name=subject.name),
            _("Xóa"),
            poll_row=poll_row,
            danger=True,
        )

    def step(tx: Any) -> str:
        name = polls.delete_subject(tx, poll_id, subject_id, actor=actor())
        return _("Đã xóa %(name)s.", name=name)

    return _button_post(poll_id, step, "subjects")


@bp.post(f"{SUBJECT}/move/<any(up, down):direction>")
@login_required
def subject_move(poll_id: int, subject_id: int, direction: str) -> WerkzeugResponse:
    def step(tx: Any) -> str:
        subject = polls.move_subject(tx, poll_id, subject_id, direction, actor=actor())  # type: ignore[arg-type]
        return _("Đã chuyển %(name)s tới vị trí %(n)d.", name=subject.name, n=subject.position)

    return _button_post(poll_id, step, "subjects")


# --- trustees ------------------------------------------------------------------------------------


@bp.post(f"{POLL}/trustees")
@login_required
def trustee_add(poll_id: int) -> Any:
    form = TrusteeForm()
    if not form.validate_on_submit():
        return _poll_page(poll_id, trustee_form=form)
    upload = form.file.data
    try:
        try:
            public = parse_json(upload.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServiceError(
                400,
                "bad_trustee_key",
                f"Tệp {upload.filename} không phải JSON: {exc}",
                f"{upload.filename} is not JSON: {exc}",
            ) from None
        with db.transaction() as tx:
            row = polls.add_trustee(tx, poll_id, public, actor=actor())
            name, key = row.name, row.public_key
    except ServiceError as exc:
        _page_error(exc)
        return _poll_page(poll_id, error=exc, trustee_form=form)
    flash(
        _(
            "Đã đăng ký %(name)s (dấu vân tay khóa %(fp)s).",
            name=name,
            fp=key_fingerprint(bytes.fromhex(key)),
        ),
        "success",
    )
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="trustees"))


@bp.route(f"{POLL}/trustees/<{ID}:trustee_id>/remove", methods=["GET", "POST"])
@login_required
def trustee_remove(poll_id: int, trustee_id: int) -> Any:
    if request.method == "GET":
        poll_row = _draft_poll(poll_id, "bỏ thành viên Ban kiểm phiếu", "remove a trustee")
        trustee = next((t for t in poll_row.trustees if t.id == trustee_id), None)
        if trustee is None:
            raise errors.NotFound(
                f"thành viên Ban kiểm phiếu số {trustee_id}", f"trustee {trustee_id}"
            )
        return _confirm(
            _("Bỏ thành viên Ban kiểm phiếu"),
            _("Bỏ khóa của %(name)s khỏi cuộc biểu quyết?", name=trustee.name),
            _("Bỏ"),
            poll_row=poll_row,
            danger=True,
            facts=[(_("Dấu vân tay khóa"), key_fingerprint(bytes.fromhex(trustee.public_key)))],
        )

    def step(tx: Any) -> str:
        name = polls.remove_trustee(tx, poll_id, trustee_id, actor=actor())
        return _("Đã bỏ %(name)s khỏi Ban kiểm phiếu.", name=name)

    return _button_post(poll_id, step, "trustees")


# --- credentials ---------------------------------------------------------------------------------


@bp.post(f"{POLL}/credentials")
@login_required
def credentials_mint(poll_id: int) -> Any:
    """Mint and hand the slips back as a download: the only copy of the secret codes."""
    form = MintForm()
    if not form.validate_on_submit():
        return _poll_page(poll_id, mint_form=form)
    count = form.count.data or 0  # validated: 1..MAX_MINT
    try:
        with db.transaction() as tx:
            minted = polls.mint_credentials(tx, poll_id, count, actor=actor())
            html = render_slips(tx.get_one(Poll, poll_id), minted, current_app.config["BASE_URL"])
            del minted
    except ServiceError as exc:
        _page_error(exc)
        return _poll_page(poll_id, error=exc, mint_form=form)
    # Built after the commit: if storing the public keys failed, no slip leaves the server.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="phieu-xac-thuc-{poll_id}-{count}-{stamp}.html"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- open, close ---------------------------------------------------------------------------------


@bp.route(f"{POLL}/open", methods=["GET", "POST"])
@login_required
def poll_open(poll_id: int) -> Any:
    if request.method == "GET":
        session = db.get_session()
        poll_row = _draft_poll(poll_id, "mở cuộc biểu quyết", "open the poll")
        counts = polls.credential_counts(session, poll_id)
        return _confirm(
            _("Mở cuộc biểu quyết"),
            _(
                "Khi mở, danh sách đối tượng, bộ quy tắc, Ban kiểm phiếu và các phiếu xác thực"
                " được cố định và không thể sửa nữa."
            ),
            _("Mở cuộc biểu quyết"),
            poll_row=poll_row,
            facts=[
                (_("Số đối tượng"), len(poll_row.subjects)),
                (_("Ban kiểm phiếu"), len(poll_row.trustees)),
                (_("Phiếu xác thực đã tạo"), counts["issued"]),
                (
                    _("Số người có mặt / được biểu quyết"),
                    f"{poll_row.present} / {poll_row.members}",
                ),
            ],
        )
    from ballot.cli import signing_key_path

    def step(tx: Any) -> str:
        try:
            key = ServiceKey.load_or_create(signing_key_path())
        except KeyFileError as exc:
            raise ServiceError(
                500,
                "signing_key",
                f"Không đọc được khóa ký biên bản: {exc}",
                f"Cannot read the record-signing key: {exc}",
            ) from None
        polls.open_poll(tx, poll_id, key.public_key, actor=actor())
        return _("Đã mở cuộc biểu quyết. Các đại biểu có thể bỏ phiếu.")

    return _button_post(poll_id, step)


@bp.route(f"{POLL}/close", methods=["GET", "POST"])
@login_required
def poll_close(poll_id: int) -> Any:
    if request.method == "GET":
        session = db.get_session()
        poll_row = polls.get_poll(session, poll_id)
        if poll_row.state != "open":
            raise ServiceError(
                409,
                "poll_not_open",
                f"Cuộc biểu quyết số {poll_id} không đang mở.",
                f"Poll {poll_id} is not open.",
            )
        status = polls.poll_status(session, poll_id)
        return _confirm(
            _("Đóng cuộc biểu quyết"),
            _(
                "Khi đóng, không nhận thêm phiếu nào và mọi phiếu xác thực chưa dùng bị hủy."
                " Không thể mở lại."
            ),
            _("Đóng cuộc biểu quyết"),
            poll_row=poll_row,
            danger=True,
            facts=[
                (_("Số phiếu đã bỏ"), status["cast"]),
                (_("Phiếu xác thực đã phát hành"), status["issued"]),
            ],
        )

    def step(tx: Any) -> str:
        summary = polls.close_poll(tx, poll_id, actor=actor())
        return _(
            "Đã đóng cuộc biểu quyết: %(ballots)d phiếu; %(voided)d phiếu xác thực chưa dùng"
            " đã bị hủy.",
            ballots=summary["ballots"],
            voided=summary["voided"],
        )

    return _button_post(poll_id, step)


# --- the room: dashboard -------------------------------------------------------------------------


@bp.get(f"{POLL}/dashboard")
@login_required
def dashboard(poll_id: int) -> str:
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    return render_template(
        "operator/dashboard.html", poll=poll_row, status=polls.poll_status(session, poll_id)
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
        body = polls.poll_status(db.get_session(), poll_id)
    except ServiceError as exc:
        return jsonify(exc.to_json()), exc.status
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- audit log -----------------------------------------------------------------------------------


def _detail(detail: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for name, value in detail.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = _("có") if value else _("không")
        else:
            text = str(value)
        shown.append((str(DETAIL_NAMES.get(name, name)), text))
    return shown


def _matches(detail: dict[str, Any], conference_id: int | None, poll_ids: set[int]) -> bool:
    if detail.get("poll") in poll_ids:
        return True
    if conference_id is not None and detail.get("conference") == conference_id:
        return True
    return bool(poll_ids.intersection(detail.get("polls") or []))


@bp.get("/audit")
@login_required
def audit_log() -> str:
    session = db.get_session()
    conference_id = request.args.get("conference", type=int)
    poll_id = request.args.get("poll", type=int)
    conferences = list(session.scalars(select(Conference).order_by(Conference.date.desc())))
    all_polls = list(session.scalars(select(Poll).order_by(Poll.conference_id, Poll.position)))
    if poll_id is not None:
        poll_ids, conference_id = {poll_id}, None
    elif conference_id is not None:
        poll_ids = {p.id for p in all_polls if p.conference_id == conference_id}
    else:
        poll_ids = set()
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    events = []
    if conference_id is None and poll_id is None:
        events = list(session.scalars(query.limit(AUDIT_LIMIT)))
    else:  # the detail is JSON: filtered here, the same way on SQLite and PostgreSQL
        for event in session.scalars(query.execution_options(yield_per=500)):
            if isinstance(event.detail, dict) and _matches(event.detail, conference_id, poll_ids):
                events.append(event)
                if len(events) == AUDIT_LIMIT:
                    break
    rows = [
        {
            "time": e.time,
            "actor": e.actor,
            "action": str(ACTIONS.get(e.action, e.action)),
            "code": e.action,
            "detail": _detail(e.detail if isinstance(e.detail, dict) else {}),
        }
        for e in events
    ]
    return render_template(
        "operator/audit.html",
        events=rows,
        conferences=conferences,
        polls=all_polls,
        conference_id=conference_id,
        poll_id=poll_id,
        limit=AUDIT_LIMIT,
    )
