"""The attendance chain while a poll is open, and the trustee's statement after it closes.

The operator records arrivals and departures (the new number present); each change is audited
and appended to the poll's hash chain (tally.attendance), shown on the public board, and never
below the ballots already cast. After close, a trustee's signed statement of the final figures
(``tally trustee attest``) must be stored before counting starts; counting refuses a board
whose head differs from the signed one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.db import write_lock
from ballot.models import AttendanceEntry, Ballot, PaperBallot, Poll, PollCount
from ballot.services import audit
from ballot.services.casting import poll_manifest
from ballot.services.errors import NotFound, ServiceError
from tally.attendance import entry
from tally.attendance import genesis as attendance_genesis
from tally.audit import format_time, make_line
from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.counting import CountingError, check_statement

MAX_STATEMENT_BYTES = 16 * 1024


def _locked_poll(session: Session, poll_id: int) -> Poll:
    poll = write_lock(session, poll_id)
    if poll is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    return poll


def append_entry(session: Session, poll: Poll, present: int, actor: str) -> dict[str, Any]:
    """Append one entry (the caller holds the poll's write lock and has checked ``present``)."""
    assert poll.fingerprint is not None
    last = session.scalar(
        select(func.max(AttendanceEntry.seq)).where(AttendanceEntry.poll_id == poll.id)
    )
    seq = int(last or 0) + 1
    prev = (
        bytes.fromhex(poll.attendance_head)
        if poll.attendance_head is not None
        else attendance_genesis(bytes.fromhex(poll.fingerprint))
    )
    line = make_line(entry(seq, format_time(dt.datetime.now(dt.UTC)), present, actor), prev)
    session.add(
        AttendanceEntry(poll_id=poll.id, seq=seq, line=canonical_json(line).decode("utf-8"))
    )
    poll.attendance_head = line["hash"]
    poll.present = present
    return line


def ballots_cast(session: Session, poll_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0)


def paper_ballots(session: Session, poll_id: int) -> int:
    """The paper ballots the counting committee entered (13.3)."""
    return int(session.scalar(select(func.count()).where(PaperBallot.poll_id == poll_id)) or 0)


def record_attendance(
    session: Session, poll_id: int, present: Any, actor: str = "cli"
) -> dict[str, Any]:
    """The new number present of an open poll: between the ballots cast and the members."""
    poll = _locked_poll(session, poll_id)
    if poll.state != "open" or poll.manifest is None:
        raise ServiceError(
            409,
            "poll_not_open",
            f"Chỉ ghi số có mặt khi cuộc biểu quyết số {poll_id} đang mở.",
            f"The number present is recorded only while poll {poll_id} is open.",
        )
    assert poll.fingerprint is not None
    if poll_manifest(poll.fingerprint, poll.manifest).version < 2:
        raise ServiceError(
            409,
            "no_attendance",
            "Cuộc biểu quyết này (manifest phiên bản 1) cố định số có mặt khi mở.",
            "This poll (a version-1 manifest) fixed the number present when it opened.",
        )
    if isinstance(present, bool) or not isinstance(present, int):
        raise ServiceError(
            400,
            "bad_present",
            "Số đồng chí có mặt phải là số nguyên.",
            "The number present must be a whole number.",
        )
    cast = ballots_cast(session, poll_id)
    # The members less the lawful exclusions (tally.manifest.Manifest.eligible).
    eligible = poll_manifest(poll.fingerprint, poll.manifest).eligible
    if not cast <= present <= eligible:
        raise ServiceError(
            409,
            "bad_present",
            f"Số có mặt phải từ {cast} (số phiếu đã bỏ) đến {eligible} (số ủy viên, trừ số"
            " không tính).",
            f"The number present must be between {cast} (ballots already cast) and"
            f" {eligible} (members less the exclusions).",
        )
    before = poll.present
    line = append_entry(session, poll, present, actor)
    session.flush()
    audit.record(
        session,
        actor,
        "attendance.change",
        poll=poll_id,
        present=present,
        before=before,
        seq=line["seq"],
        head=line["hash"],
    )
    return line


def attendance_jsonl(session: Session, poll_id: int) -> bytes:
    """``attendance.jsonl``: the poll's chain, one canonical line per entry."""
    lines = session.scalars(
        select(AttendanceEntry.line)
        .where(AttendanceEntry.poll_id == poll_id)
        .order_by(AttendanceEntry.seq)
    ).all()
    return b"".join(line.encode("utf-8") + b"\n" for line in lines)


def attendance_entries(session: Session, poll_id: int) -> list[dict[str, Any]]:
    """The chain's entries, for the public board."""
    return [parse_json(line) for line in attendance_jsonl(session, poll_id).splitlines()]


def _refused(detail_vi: str, detail_en: str, status: int = 400) -> ServiceError:
    return ServiceError(
        status,
        "bad_attendance_statement",
        f"Xác nhận số có mặt bị từ chối: {detail_vi}",
        f"The attendance statement is refused: {detail_en}",
    )


def parse_statement_file(data: bytes | str) -> Any:
    if len(data) > MAX_STATEMENT_BYTES:
        raise _refused("tệp quá lớn", "the file is too large", 413)
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError, CanonicalError) as exc:
        raise _refused(f"tệp không phải JSON ({exc})", f"the file is not JSON ({exc})") from None


def add_statement(
    session: Session, poll_id: int, document: Any, actor: str = "cli", *, replace: bool = True
) -> str:
    """Store a trustee's signed statement of the closed poll, before counting starts; returns
    the trustee's name. It must be this poll's, signed by one of its trustees, and agree with
    the attendance chain and the board as the server holds them."""
    poll = _locked_poll(session, poll_id)
    if poll.state != "closed" or poll.manifest is None or poll.fingerprint is None:
        raise ServiceError(
            409,
            "poll_not_closed",
            f"Xác nhận số có mặt sau khi đóng cuộc biểu quyết số {poll_id}.",
            f"The attendance is signed after poll {poll_id} closes.",
        )
    if session.scalar(select(PollCount.id).where(PollCount.poll_id == poll_id)) is not None:
        raise ServiceError(
            409,
            "count_started",
            "Đã bắt đầu kiểm phiếu: không thay xác nhận số có mặt.",
            "Counting has started: the attendance statement cannot be replaced.",
        )
    if poll.attendance_statement is not None and not replace:
        # Without a login (the public API) a stored statement is never replaced: one trustee
        # could otherwise overwrite another's count. The operator's page may, audited.
        raise ServiceError(
            409,
            "statement_exists",
            "Đã có xác nhận số có mặt; chỉ Ban Tổ chức thay được (trang kiểm phiếu).",
            "An attendance statement is stored; only the operator can replace it (counting page).",
        )
    manifest = poll_manifest(poll.fingerprint, poll.manifest)
    if manifest.version < 2 or manifest.poll_uid is None:
        raise ServiceError(
            409,
            "no_attendance",
            "Cuộc biểu quyết này (manifest phiên bản 1) không dùng xác nhận số có mặt.",
            "This poll (a version-1 manifest) takes no attendance statement.",
        )
    assert poll.board_head is not None
    try:
        statement, _ = check_statement(
            manifest,
            attendance_jsonl(session, poll_id),
            document,
            poll.board_head,
            ballots_cast(session, poll_id),
            paper_ballots(session, poll_id),
        )
    except CountingError as exc:
        message = str(exc)
        vi = (
            "không khớp với chuỗi điểm danh hoặc bảng tin"
            if "does not match" in message
            else "không phải của một thành viên Ban kiểm phiếu của cuộc biểu quyết này,"
            " hoặc chữ ký sai"
        )
        raise _refused(f"{vi} ({message})", message) from None
    replaced = poll.attendance_statement is not None
    poll.attendance_statement = canonical_json(statement.data).decode("utf-8")
    audit.record(
        session,
        actor,
        "attendance.statement",
        replaced=replaced,
        poll=poll_id,
        trustee=statement.trustee.name,
        present=statement.present,
        ballots=statement.ballots,
        board_head=statement.board_head,
    )
    return statement.trustee.name
