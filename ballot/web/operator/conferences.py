"""The operator's conference pages: the list, create, import a TOML file, show, edit."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from ballot import db
from ballot.models import Conference
from ballot.services import ceremony as key_ceremony
from ballot.services import conferences, summary
from ballot.services.conference_file import ConferenceFileError, import_conference_text
from ballot.services.counting import conference_checks
from ballot.services.errors import ServiceError
from ballot.web.auth import actor, login_required
from ballot.web.forms import (
    ConferenceForm,
    ImportForm,
)
from ballot.web.operator import bp
from ballot.web.operator.pages import (
    page_error,
)
from tally.dkg import default_threshold

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
            conference = conferences.create_conference(tx, form.values(), actor=actor())
            conference_id = conference.id
    except ServiceError as exc:
        page_error(exc)
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


@bp.get("/conferences/<id:conference_id>")
@login_required
def conference(conference_id: int) -> str:
    session = db.get_session()
    row = conferences.get_conference(session, conference_id)
    started = any(p.state != "draft" for p in row.polls)
    across = conference_checks(session, conference_id)
    ceremony_row = key_ceremony.get_row(session, conference_id)
    committee_size = max((len(p.trustees) for p in row.polls), default=0)
    return render_template(
        "operator/conference.html",
        conference=row,
        started=started,
        across=across,
        ceremony=None if ceremony_row is None else key_ceremony.view(ceremony_row),
        committee_size=committee_size,
        default_threshold=default_threshold(committee_size) if committee_size else 0,
    )


@bp.post("/conferences/<id:conference_id>/ceremony")
@login_required
def ceremony_start(conference_id: int) -> Any:
    """Start the conference's key ceremony with the registered committee and the chosen k."""
    raw = request.form.get("threshold", "")
    threshold = int(raw) if raw.isdigit() and len(raw) < 4 else -1
    restart = request.form.get("restart") == "1"
    with db.transaction() as tx:
        key_ceremony.start_ceremony(tx, conference_id, threshold, actor=actor(), restart=restart)
    flash(
        _("Đã bắt đầu lễ tạo khóa. Ban kiểm phiếu làm hai bước trên trang lễ tạo khóa."), "success"
    )
    return redirect(url_for("operator.conference", conference_id=conference_id))


@bp.route("/conferences/<id:conference_id>/edit", methods=["GET", "POST"])
@login_required
def conference_edit(conference_id: int) -> Any:
    row = conferences.get_conference(db.get_session(), conference_id)
    form = ConferenceForm(obj=row)
    if not form.validate_on_submit():
        if request.method == "GET":
            _refuse_started_conference(row)
        return _conference_form_page(form, row)
    try:
        with db.transaction() as tx:
            conferences.update_conference(tx, conference_id, form.values(), actor=actor())
    except ServiceError as exc:
        page_error(exc)
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


# --- the Board's summary (issue 18) -------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _review_choice() -> tuple[list[int], int | None]:
    """The review's conferences from the query: ``?conference=N`` (repeated) or ``?year=Y``."""
    chosen = [int(v) for v in request.args.getlist("conference") if v.isdigit()]
    year_text = request.args.get("year", "")
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else None
    if year is not None:
        chosen += summary.conferences_of_year(db.get_session(), year)
    return chosen, year


@bp.get("/conferences/<id:conference_id>/summary")
@login_required
def conference_summary(conference_id: int) -> str:
    """The Board's summary of one conference, printable on A4 (landscape)."""
    result = summary.conference_summary(db.get_session(), conference_id)
    return render_template("operator/summary.html", summaries=[result], review="", many=False)


@bp.get("/conferences/<id:conference_id>/summary.xlsx")
@login_required
def conference_summary_xlsx(conference_id: int) -> Response:
    result = summary.conference_summary(db.get_session(), conference_id)
    return Response(
        summary.summary_xlsx(result),
        mimetype=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=tong-hop-hoi-nghi-{conference_id}.xlsx"
        },
    )


@bp.get("/review/summary")
@login_required
def review_summary() -> str:
    """The summary across the conferences of one review (``?year=2026`` or ``?conference=N``)."""
    chosen, year = _review_choice()
    results = summary.review_summary(db.get_session(), chosen)
    label = _("Đợt đánh giá năm %(year)d", year=year) if year else ""
    return render_template("operator/summary.html", summaries=results, review=label, many=True)


@bp.get("/review/summary.xlsx")
@login_required
def review_summary_xlsx() -> Response:
    chosen, year = _review_choice()
    results = summary.review_summary(db.get_session(), chosen)
    label = f"đợt đánh giá năm {year}" if year else ""
    name = f"tong-hop-{year}.xlsx" if year else "tong-hop.xlsx"
    return Response(
        summary.summary_xlsx(results, label),
        mimetype=XLSX,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
