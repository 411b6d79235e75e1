"""The operator's poll pages: create, edit, show; the counting committee's keys, minting the
slips (a download, once), opening and closing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ballot import db
from ballot.keys import signing_key
from ballot.models import Conference, Poll
from ballot.services import conferences, credentials, errors, polls, subjects, trustees
from ballot.services.errors import ServiceError
from ballot.services.slips import render_slips
from ballot.web.auth import actor, login_required
from ballot.web.forms import (
    ButtonForm,
    MintForm,
    PollForm,
    TrusteeForm,
    choice,
)
from ballot.web.i18n import select_locale
from ballot.web.operator import bp
from ballot.web.operator.pages import (
    POLL,
    button_post,
    confirm,
    draft_poll,
    page_error,
)
from tally.canonical import parse_json
from tally.record import key_fingerprint
from tally.rules import RuleSet, list_rulesets, load_ruleset

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


@bp.route("/conferences/<id:conference_id>/polls/new", methods=["GET", "POST"])
@login_required
def poll_new(conference_id: int) -> Any:
    conference_row = conferences.get_conference(db.get_session(), conference_id)
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
        page_error(exc)
        return _poll_form_page(form, conference_row, None, exc)
    flash(_("Đã tạo cuộc biểu quyết; hãy thêm các đối tượng."), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id))


@bp.route(f"{POLL}/edit", methods=["GET", "POST"])
@login_required
def poll_edit(poll_id: int) -> Any:
    poll_row = polls.get_poll(db.get_session(), poll_id)
    form = PollForm(obj=poll_row)
    form.rules_id.choices = _rules_choices()
    if not form.validate_on_submit():
        if request.method == "GET":
            draft_poll(poll_id, "sửa cuộc biểu quyết", "edit the poll")
        return _poll_form_page(form, poll_row.conference, poll_row)
    try:
        with db.transaction() as tx:
            polls.update_poll(tx, poll_id, form.values(), actor=actor())
    except ServiceError as exc:
        page_error(exc)
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
    conference_subjects = subjects.conference_subjects(session, poll_row.conference_id)
    names = {s.key: s.name for s in conference_subjects}
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
        counts=credentials.credential_counts(session, poll_id),
        status=credentials.poll_status(session, poll_id),
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
            row = trustees.add_trustee(tx, poll_id, public, actor=actor())
            name, key = row.name, row.public_key
    except ServiceError as exc:
        page_error(exc)
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


@bp.route(f"{POLL}/trustees/<id:trustee_id>/remove", methods=["GET", "POST"])
@login_required
def trustee_remove(poll_id: int, trustee_id: int) -> Any:
    if request.method == "GET":
        poll_row = draft_poll(poll_id, "bỏ thành viên Ban kiểm phiếu", "remove a trustee")
        trustee = next((t for t in poll_row.trustees if t.id == trustee_id), None)
        if trustee is None:
            raise errors.NotFound(
                f"thành viên Ban kiểm phiếu số {trustee_id}", f"trustee {trustee_id}"
            )
        return confirm(
            _("Bỏ thành viên Ban kiểm phiếu"),
            _("Bỏ khóa của %(name)s khỏi cuộc biểu quyết?", name=trustee.name),
            _("Bỏ"),
            poll_row=poll_row,
            danger=True,
            facts=[(_("Dấu vân tay khóa"), key_fingerprint(bytes.fromhex(trustee.public_key)))],
        )

    def step(tx: Any) -> str:
        name = trustees.remove_trustee(tx, poll_id, trustee_id, actor=actor())
        return str(_("Đã bỏ %(name)s khỏi Ban kiểm phiếu.", name=name))

    return button_post(poll_id, step, "trustees")


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
            minted = credentials.mint_credentials(tx, poll_id, count, actor=actor())
            html = render_slips(tx.get_one(Poll, poll_id), minted, current_app.config["BASE_URL"])
            del minted
    except ServiceError as exc:
        page_error(exc)
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
        poll_row = draft_poll(poll_id, "mở cuộc biểu quyết", "open the poll")
        counts = credentials.credential_counts(session, poll_id)
        return confirm(
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

    def step(tx: Any) -> str:
        key = signing_key()
        polls.open_poll(tx, poll_id, key.public_key, actor=actor())
        return str(_("Đã mở cuộc biểu quyết. Các đại biểu có thể bỏ phiếu."))

    return button_post(poll_id, step)


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
        status = credentials.poll_status(session, poll_id)
        return confirm(
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
        message = _(
            "Đã đóng cuộc biểu quyết: %(ballots)d phiếu; %(voided)d phiếu xác thực chưa dùng"
            " đã bị hủy.",
            ballots=summary["ballots"],
            voided=summary["voided"],
        )
        return str(message)

    return button_post(poll_id, step)
