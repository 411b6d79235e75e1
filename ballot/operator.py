"""Operator pages (the Organization Board): conferences, polls, trustees, slips, the room."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ballot import db
from ballot.auth import login_required
from ballot.models import AuditEvent, Conference

bp = Blueprint("operator", __name__, url_prefix="/operator")


@bp.get("/")
@login_required
def index() -> str:
    conferences = db.get_session().scalars(select(Conference).order_by(Conference.date.desc()))
    return render_template("operator/index.html", conferences=list(conferences))


@bp.get("/audit")
@login_required
def audit_log() -> str:
    events = db.get_session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500))
    return render_template("operator/audit.html", events=list(events))
