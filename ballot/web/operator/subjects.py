"""The operator's subject pages: add, edit, delete and reorder a draft poll's subjects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from ballot import db
from ballot.models import Poll, Subject
from ballot.services import errors, polls, subjects
from ballot.services.errors import ServiceError
from ballot.web.auth import actor, login_required
from ballot.web.forms import (
    SubjectForm,
    choice,
)
from ballot.web.operator import bp
from ballot.web.operator.pages import (
    POLL,
    SUBJECT,
    button_post,
    confirm,
    draft_poll,
    page_error,
)

# --- subjects ------------------------------------------------------------------------------------


def _reference_choices(form: SubjectForm, conference_id: int, subject: Subject | None) -> None:
    others = [
        s
        for s in subjects.conference_subjects(db.get_session(), conference_id)
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
    poll_row = draft_poll(poll_id, "thêm đối tượng", "add a subject")
    form = SubjectForm()
    _reference_choices(form, poll_row.conference_id, None)
    if not form.validate_on_submit():
        return _subject_form_page(form, poll_row, None)
    try:
        with db.transaction() as tx:
            name = subjects.add_subject(tx, poll_id, form.values(), actor=actor()).name
    except ServiceError as exc:
        page_error(exc)
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
            draft_poll(poll_id, "sửa đối tượng", "edit a subject")
        return _subject_form_page(form, poll_row, subject)
    try:
        with db.transaction() as tx:
            subjects.update_subject(
                tx, poll_id, subject_id, form.values(skip=("key",)), actor=actor()
            )
    except ServiceError as exc:
        page_error(exc)
        return _subject_form_page(form, poll_row, subject, exc)
    flash(_("Đã lưu %(name)s.", name=form.name.data.strip()), "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor="subjects"))


@bp.route(f"{SUBJECT}/delete", methods=["GET", "POST"])
@login_required
def subject_delete(poll_id: int, subject_id: int) -> Any:
    if request.method == "GET":
        poll_row, subject = _poll_subject(poll_id, subject_id)
        draft_poll(poll_id, "xóa đối tượng", "delete a subject")
        return confirm(
            _("Xóa đối tượng"),
            _("Xóa %(name)s khỏi phiếu?", name=subject.name),
            _("Xóa"),
            poll_row=poll_row,
            danger=True,
        )

    def step(tx: Any) -> str:
        name = subjects.delete_subject(tx, poll_id, subject_id, actor=actor())
        return str(_("Đã xóa %(name)s.", name=name))

    return button_post(poll_id, step, "subjects")


@bp.post(f"{SUBJECT}/move/<any(up, down):direction>")
@login_required
def subject_move(poll_id: int, subject_id: int, direction: str) -> WerkzeugResponse:
    def step(tx: Any) -> str:
        subject = subjects.move_subject(tx, poll_id, subject_id, direction, actor=actor())  # type: ignore[arg-type]
        return str(_("Đã chuyển %(name)s tới vị trí %(n)d.", name=subject.name, n=subject.position))

    return button_post(poll_id, step, "subjects")
