"""The operator's poll pages: create, edit, show; the counting committee's keys, the Board's
credential list (imported: the slips are minted off the server), opening, the number present
while open, and closing."""

from __future__ import annotations

import json
from typing import Any

from flask import (
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
from ballot.services import ceremony as key_ceremony
from ballot.services import (
    conferences,
    credentials,
    errors,
    paper,
    polls,
    rounds,
    subjects,
    trustees,
)
from ballot.services.attendance import attendance_entries, record_attendance
from ballot.services.counting_status import counting_finished
from ballot.services.errors import ServiceError
from ballot.web.auth import actor, login_required
from ballot.web.forms import (
    AttendanceForm,
    ButtonForm,
    CredentialListForm,
    PaperVoidForm,
    PollForm,
    RegimeForm,
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
from tally.manifest import EXCLUSION_REASONS
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
        # The newest regulation's grading rule set by default: ids end with their year
        # (qd366-2025); an adoption rule set is chosen on purpose.
        grading = [r for r in list_rulesets() if not load_ruleset(r).is_adoption]
        form.rules_id.data = max(grading, key=lambda r: (r.rsplit("-", 1)[-1], r))
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
    list_form: CredentialListForm | None = None,
    attendance_form: AttendanceForm | None = None,
    trustee_form: TrusteeForm | None = None,
    regime_form: RegimeForm | None = None,
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
        {
            "id": t.id,
            "name": t.name,
            "post": t.post,
            "fingerprint": key_fingerprint(bytes.fromhex(t.public_key)),
        }
        for t in poll_row.trustees
    ]
    forms = [f for f in (list_form, attendance_form, trustee_form, regime_form) if f is not None]
    listed = credentials.stored_list(poll_row)
    counted = poll_row.state == "closed" and counting_finished(session, poll_id)
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
        list_form=list_form or CredentialListForm(formdata=None),
        attendance_form=attendance_form or AttendanceForm(formdata=None),
        listed=listed,
        attendance=attendance_entries(session, poll_id),
        booth_url=f"{current_app.config['BASE_URL'].rstrip('/')}/booth/{poll_id}",
        trustee_form=trustee_form or TrusteeForm(formdata=None),
        regime_form=regime_form or _regime_form(poll_row, formdata=None),
        base_url=current_app.config["BASE_URL"],
        has_counting="counting.page" in current_app.view_functions,
        paper=paper.paper_status(session, poll_id),
        round_number=rounds.round_number(poll_row),
        next_round=rounds.next_round_of(session, poll_id),
        counted=counted,
        void_form=PaperVoidForm(formdata=None),
        error=error,
    )
    return page, status


@bp.get(POLL)
@login_required
def poll(poll_id: int) -> tuple[str, int]:
    return _poll_page(poll_id)


# --- Quy định 366: the adopted poll, the outstanding groups, the exclusions --------------------

EXCLUSION_WORDS = {
    **{code: code for code in EXCLUSION_REASONS},
    **{vi: code for code, (vi, _en) in EXCLUSION_REASONS.items()},
}


def _regime_form(poll_row: Poll, **kwargs: Any) -> RegimeForm:
    form = RegimeForm(**kwargs)
    others = [
        p for p in poll_row.conference.polls if p.id != poll_row.id and not _is_adoption(p.rules_id)
    ]
    form.adopts.choices = [("", "—")] + [(str(p.id), f"{p.position}. {p.title}") for p in others]
    groups = sorted({s.peer_group for s in poll_row.subjects if s.peer_group})
    form.outstanding.choices = [(g, g) for g in groups]
    if kwargs.get("formdata", True) is None:
        form.adopts.data = str(poll_row.adopts_id) if poll_row.adopts_id else ""
        form.outstanding.data = list(poll_row.outstanding_groups or [])
        form.exclusions.data = "\n".join(
            f"{EXCLUSION_REASONS[e['reason']][0]}: {e['name']}" for e in poll_row.exclusions or []
        )
    return form


def _is_adoption(rules_id: str) -> bool:
    try:
        return load_ruleset(rules_id).is_adoption
    except ValueError:
        return False


def parse_exclusions(text: str) -> list[dict[str, str]]:
    """One per line, "lý do: họ tên" (the reason as its code or its Vietnamese name)."""
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        reason, sep, name = line.partition(":")
        code = EXCLUSION_WORDS.get(reason.strip())
        if not sep or code is None:
            raise ServiceError(
                400,
                "bad_field",
                f"Dòng {n} của danh sách không tính: cần “lý do: họ tên”, lý do là một trong"
                f" {', '.join(vi for vi, _en in EXCLUSION_REASONS.values())}.",
                f"Line {n} of the exclusions: expected “reason: name”, the reason one of"
                f" {', '.join(EXCLUSION_REASONS)}.",
            )
        out.append({"reason": code, "name": name.strip()})
    return out


@bp.post(f"{POLL}/regime")
@login_required
def poll_regime(poll_id: int) -> Any:
    poll_row = draft_poll(poll_id, "sửa cuộc biểu quyết", "edit the poll")
    form = _regime_form(poll_row)
    if not form.validate_on_submit():
        return _poll_page(poll_id, regime_form=form)
    try:
        exclusions = parse_exclusions(form.exclusions.data or "")
        with db.transaction() as tx:
            if _is_adoption(poll_row.rules_id):
                adopted = int(form.adopts.data) if form.adopts.data else None
                polls.set_adopts(tx, poll_id, adopted, actor=actor())
            polls.set_outstanding_groups(
                tx, poll_id, list(form.outstanding.data or []), actor=actor()
            )
            polls.set_exclusions(tx, poll_id, exclusions, actor=actor())
    except (ServiceError, ValueError) as exc:
        error = (
            exc
            if isinstance(exc, ServiceError)
            else ServiceError(400, "bad_field", "Lựa chọn không hợp lệ.", "Invalid choice.")
        )
        page_error(error)
        return _poll_page(poll_id, error=error, regime_form=form)
    flash(_("Đã lưu cuộc biểu quyết."), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="regime"))


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
            row = trustees.add_trustee(
                tx, poll_id, public, actor=actor(), post=form.post.data or ""
            )
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
def credentials_import(poll_id: int) -> Any:
    """Import the authority's signed list (public keys only; the slips never reach us)."""
    form = CredentialListForm()
    if not form.validate_on_submit():
        return _poll_page(poll_id, list_form=form)
    try:
        document = credentials.parse_list_file(form.file.data.read())
        with db.transaction() as tx:
            listed = credentials.import_credentials(tx, poll_id, document, actor=actor())
    except ServiceError as exc:
        page_error(exc)
        return _poll_page(poll_id, error=exc, list_form=form)
    flash(
        _(
            "Đã nhập danh sách: %(count)d phiếu và %(reserve)d thẻ dự phòng; dấu vân tay khóa"
            " Ban Tổ chức %(fp)s (đối chiếu với dấu vân tay Ban Tổ chức đã công bố).",
            count=listed.count,
            reserve=listed.reserve,
            fp=listed.fingerprint,
        ),
        "success",
    )
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="credentials"))


@bp.post(f"{POLL}/attendance")
@login_required
def attendance(poll_id: int) -> Any:
    """A new number present while the poll is open (arrivals, departures)."""
    form = AttendanceForm()
    if not form.validate_on_submit():
        return _poll_page(poll_id, attendance_form=form)
    try:
        with db.transaction() as tx:
            line = record_attendance(tx, poll_id, form.present.data, actor=actor())
    except ServiceError as exc:
        page_error(exc)
        return _poll_page(poll_id, error=exc, attendance_form=form)
    flash(_("Đã ghi số có mặt: %(present)d.", present=line["present"]), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="attendance"))


# --- the paper fallback: void a slip for paper, the printable paper ballot ----------------------


@bp.post(f"{POLL}/paper/void")
@login_required
def paper_void(poll_id: int) -> Any:
    """Void a slip so that its holder votes on paper: the statement signed with the slip's own
    key on this device (void-page.js), or a file made with tally credentials void."""
    form = PaperVoidForm()
    try:
        if not form.validate_on_submit() and form.csrf_token.errors:
            raise errors.csrf_refused()
        data = form.statement.data or (form.file.data.read(4097) if form.file.data else b"")
        if not data:
            raise ServiceError(
                400,
                "no_void",
                "Chưa có lệnh hủy thẻ: nhập mã thẻ (trình duyệt ký bằng khóa của thẻ) hoặc chọn"
                " tệp của tally credentials void.",
                "No void statement: type the slip's code (the browser signs with the slip's key)"
                " or choose the file of tally credentials void.",
            )
        document = paper.parse_upload(data, 4096, "Lệnh hủy thẻ", "The void statement")
        with db.transaction() as tx:
            status = paper.void_for_paper(tx, poll_id, document, actor=actor())
    except ServiceError as exc:
        page_error(exc)
        return _poll_page(poll_id, error=exc)
    flash(
        _(
            "Đã hủy thẻ để bỏ phiếu giấy (chữ ký của thẻ đúng). Đã hủy để bỏ phiếu giấy:"
            " %(n)d thẻ. Đưa cho đồng chí một phiếu giấy.",
            n=status.voided,
        ),
        "success",
    )
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="paper"))


@bp.get(f"{POLL}/paper-ballot")
@login_required
def paper_ballot(poll_id: int) -> str:
    """The printable paper ballot of the poll (A4): the subjects and the grades to tick."""
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    rules = load_ruleset(poll_row.rules_id)
    return render_template(
        "operator/paper_ballot.html", poll=poll_row, conference=poll_row.conference, rules=rules
    )


# --- open, close ---------------------------------------------------------------------------------


def _counting_fact(session: Any, poll_row: Any) -> str:
    """Who must decrypt: any k of n with the conference's key ceremony, else every trustee."""
    row = key_ceremony.get_row(session, poll_row.conference_id)
    n = len(poll_row.trustees)
    if row is not None and row.state == "done":
        text = _("bất kỳ %(k)d trong %(n)d thành viên (lễ tạo khóa)", k=row.threshold, n=n)
        return str(text)
    return str(
        _(
            "cả %(n)d thành viên phải giải mã: một người vắng là không kiểm phiếu được. Nên làm"
            " lễ tạo khóa ở trang hội nghị trước khi mở (bất kỳ k trong n).",
            n=n,
        )
    )


@bp.route(f"{POLL}/open", methods=["GET", "POST"])
@login_required
def poll_open(poll_id: int) -> Any:
    if request.method == "GET":
        session = db.get_session()
        poll_row = draft_poll(poll_id, "mở cuộc biểu quyết", "open the poll")
        counts = credentials.credential_counts(session, poll_id)
        listed = credentials.stored_list(poll_row)
        rules = load_ruleset(poll_row.rules_id)
        return confirm(
            _("Mở cuộc biểu quyết"),
            _(
                "Khi mở, danh sách đối tượng, bộ quy tắc, Ban kiểm phiếu và các thẻ biểu quyết"
                " được cố định và không thể sửa nữa."
            ),
            _("Mở cuộc biểu quyết"),
            poll_row=poll_row,
            facts=[
                (_("Số đối tượng"), len(poll_row.subjects)),
                (_("Ban kiểm phiếu"), len(poll_row.trustees)),
                (_("Thẻ biểu quyết trong danh sách"), counts["issued"]),
                (
                    _("Dấu vân tay khóa Ban Tổ chức (đối chiếu với dấu vân tay đã công bố)"),
                    listed.fingerprint if listed else "—",
                ),
                (
                    _("Số người có mặt / được biểu quyết"),
                    f"{poll_row.present} / {poll_row.members}",
                ),
                (_("Bộ quy tắc"), f"{rules.id} ({rules.version})"),
                (_("Kiểm phiếu"), _counting_fact(session, poll_row)),
            ],
            notice=polls.rules_notice(poll_row),
            acknowledge=not rules.is_confirmed and poll_row.rules_acknowledged != rules.digest,
        )

    acknowledged = request.form.get("acknowledge_rules") == "y"

    def step(tx: Any) -> str:
        key = signing_key()
        polls.open_poll(tx, poll_id, key.public_key, actor=actor(), acknowledge_rules=acknowledged)
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
                "Khi đóng, không nhận thêm phiếu nào và mọi thẻ biểu quyết chưa dùng bị hủy."
                " Không thể mở lại."
            ),
            _("Đóng cuộc biểu quyết"),
            poll_row=poll_row,
            danger=True,
            facts=[
                (_("Số phiếu đã bỏ"), status["cast"]),
                (_("Thẻ biểu quyết đã phát hành"), status["issued"]),
            ],
        )

    def step(tx: Any) -> str:
        summary = polls.close_poll(tx, poll_id, actor=actor())
        message = _(
            "Đã đóng cuộc biểu quyết: %(ballots)d phiếu; %(voided)d thẻ biểu quyết chưa dùng"
            " đã bị hủy.",
            ballots=summary["ballots"],
            voided=summary["voided"],
        )
        return str(message)

    return button_post(poll_id, step)


# --- a later round ------------------------------------------------------------------------------


@bp.route(f"{POLL}/next-round", methods=["GET", "POST"])
@login_required
def poll_next_round(poll_id: int) -> Any:
    """Vote again, in a new draft poll, on the subjects this counted poll left undetermined."""
    session = db.get_session()
    poll_row = polls.get_poll(session, poll_id)
    if request.method == "GET":
        return confirm(
            _("Biểu quyết vòng sau"),
            _(
                "Tạo một cuộc biểu quyết mới của hội nghị này, chỉ gồm các đối tượng chưa xác"
                " định kết quả ở cuộc này (mọi đối tượng nếu kết quả không có giá trị), cùng bộ"
                " quy tắc và Ban kiểm phiếu. Cuộc mới cần danh sách thẻ biểu quyết mới của Ban"
                " Tổ chức."
            ),
            _("Tạo vòng sau"),
            poll_row=poll_row,
        )
    if not ButtonForm().validate_on_submit():
        raise errors.csrf_refused()
    try:
        with db.transaction() as tx:
            later = rounds.start_next_round(tx, poll_id, actor=actor())
            later_id, count = later.id, len(later.subjects)
    except ServiceError as exc:
        page_error(exc)
        return _poll_page(poll_id, error=exc)
    flash(_("Đã tạo vòng sau với %(n)d đối tượng.", n=count), "success")
    return redirect(url_for("operator.poll", poll_id=later_id))
