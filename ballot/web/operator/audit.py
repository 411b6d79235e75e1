"""The audit log page, filterable by conference or poll."""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from ballot import db
from ballot.models import AuditEvent, Conference, Poll
from ballot.services.fields import CONFERENCE, POLL, SUBJECT
from ballot.web.auth import login_required
from ballot.web.operator import bp

AUDIT_LIMIT = 500

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
    "credentials.mint": lazy_gettext("Tạo thẻ biểu quyết"),
    "poll.open": lazy_gettext("Mở cuộc biểu quyết"),
    "poll.close": lazy_gettext("Đóng cuộc biểu quyết"),
    "count.start": lazy_gettext("Bắt đầu kiểm phiếu"),
    "count.share": lazy_gettext("Nhận phần giải mã"),
    "count.finish": lazy_gettext("Kiểm phiếu xong"),
}
DETAIL_NAMES = {
    # A declared field's audit name (ballot.services.fields), then the other keys of the log.
    **{f.name: lazy_gettext(f.short) for f in (*CONFERENCE, *POLL, *SUBJECT)},
    "conference": lazy_gettext("hội nghị"),
    "poll": lazy_gettext("cuộc biểu quyết"),
    "polls": lazy_gettext("các cuộc biểu quyết"),
    "file": lazy_gettext("tệp"),
    "rules": lazy_gettext("bộ quy tắc"),
    "position": lazy_gettext("vị trí"),
    "count": lazy_gettext("số lượng"),
    "total": lazy_gettext("tổng số"),
    "credentials": lazy_gettext("thẻ biểu quyết"),
    "ballots": lazy_gettext("số phiếu"),
    "voided": lazy_gettext("bị hủy"),
    "fingerprint": lazy_gettext("dấu vân tay"),
    "commitment": lazy_gettext("cam kết"),
    "board_head": lazy_gettext("đầu chuỗi bảng tin"),
    "trustees": lazy_gettext("Ban kiểm phiếu"),
    "public_key": lazy_gettext("khóa công khai"),
    "username": lazy_gettext("tên đăng nhập"),
}


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
