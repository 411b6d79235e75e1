"""``ballot check POLL`` and the audit log's hash chain: deleting or editing an audit entry, a
ballot or a credential row is caught, on SQLite and PostgreSQL; the bundle carries the log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ballot import db
from ballot.models import AttendanceEntry, AuditEvent, AuditHead, Ballot, Credential, Poll
from ballot.services import audit
from tally.audit import check_jsonl
from tally.bundle import read_bundle
from tally.canonical import parse_json

from .conftest import OpenPoll, run
from .test_counting import Counting, cast_and_close


def check(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["check", "1"])
    return result.exit_code, result.output


def tamper(app: Flask, change: Callable[[Session], Any]) -> None:
    with app.app_context(), db.transaction() as session:
        change(session)


def _middle_event(session: Session) -> int:
    ids = session.scalars(
        select(AuditEvent.id).where(AuditEvent.chain == 1).order_by(AuditEvent.seq)
    ).all()
    assert len(ids) >= 3
    return ids[len(ids) // 2]


def _newest_events(session: Session, chain: int, count: int) -> list[int]:
    ids = session.scalars(
        select(AuditEvent.id)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(count)
    ).all()
    assert len(ids) == count
    return list(ids)


def _edit_ballot(session: Session) -> None:
    row = session.scalars(select(Ballot).where(Ballot.position == 2)).one()
    row.ballot = row.ballot.replace('"a":"', '"a":"0', 1)[:-1]


TAMPERING: dict[str, Callable[[Session], Any]] = {
    "audit entry deleted": lambda s: s.execute(
        delete(AuditEvent).where(AuditEvent.id == _middle_event(s))
    ),
    "audit entry edited": lambda s: s.execute(
        update(AuditEvent).where(AuditEvent.id == _middle_event(s)).values(actor="someone-else")
    ),
    "newest audit entry deleted": lambda s: s.execute(
        delete(AuditEvent).where(AuditEvent.id.in_(_newest_events(s, 1, 1)))
    ),
    "newest service log entry deleted": lambda s: s.execute(
        delete(AuditEvent).where(AuditEvent.id.in_(_newest_events(s, 0, 1)))
    ),
    "ballot deleted": lambda s: s.execute(delete(Ballot).where(Ballot.position == 2)),
    "ballot edited": _edit_ballot,
    "credential deleted": lambda s: s.execute(
        delete(Credential).where(Credential.id == s.scalars(select(Credential.id)).first())
    ),
    "credential marked used": lambda s: s.execute(
        update(Credential).where(Credential.used.is_(False)).values(used=True)
    ),
    # A key swapped for one the Board never signed: the rows no longer match the imported list.
    "credential replaced": lambda s: s.execute(
        update(Credential)
        .where(Credential.id == s.scalars(select(Credential.id).where(~Credential.used)).first())
        .values(public_key="ab" * 32)
    ),
    # The attendance chain cut or the Board's stored list removed.
    "attendance entry deleted": lambda s: s.execute(
        delete(AttendanceEntry).where(
            AttendanceEntry.id == s.scalars(select(AttendanceEntry.id)).first()
        )
    ),
    "authority list deleted": lambda s: s.execute(update(Poll).values(credential_list=None)),
    "number present changed": lambda s: s.execute(
        update(Poll).where(Poll.id == 1).values(present=3)
    ),
}


def test_an_honest_poll_passes(poll: OpenPoll) -> None:
    cast_and_close(poll)
    code, output = check(poll.app)
    assert code == 0, output
    assert "không phát hiện sửa đổi" in output and "no tampering found" in output
    assert "chuỗi băm nguyên vẹn" in output


@pytest.mark.parametrize("what", list(TAMPERING))
def test_tampering_is_caught(poll: OpenPoll, what: str) -> None:
    cast_and_close(poll)
    tamper(poll.app, TAMPERING[what])
    code, output = check(poll.app)
    assert code == 1, output
    assert "TAMPERING DETECTED" in output and "[LỖI / FAIL]" in output


def test_the_bundle_carries_the_chained_log(poll: OpenPoll, tmp_path: Path) -> None:
    choices = cast_and_close(poll)
    poll.attest()
    run(poll.app, "count", "start", "1", "--out-dir", str(tmp_path / "out"))
    counting = Counting(poll, tmp_path / "out", choices)
    for k in range(len(counting.poll.trustees)):
        run(counting.app, "count", "share", "1", str(counting.share_file(k)))
    run(counting.app, "count", "finish", "1")
    code, output = check(counting.app)
    assert code == 0, output
    assert "gói kiểm toán đã lưu hợp lệ" in output

    client = counting.poll.client
    files = read_bundle(client.get("/api/polls/1/bundle").data)
    log = check_jsonl(files["audit.jsonl"], 1)
    assert log.ok and log.entries >= 5
    actions = [parse_json(line)["action"] for line in files["audit.jsonl"].splitlines()]
    assert actions[:1] == ["poll.create"] or "trustee.add" in actions
    assert {
        "credentials.import",
        "poll.open",
        "poll.close",
        "attendance.statement",
        "count.start",
    } <= set(actions)
    record = parse_json(files["record.json"])
    assert record["audit"] == {"entries": log.entries, "head": log.head}

    # Editing the log after the count: `ballot check` sees it against the stored bundle too.
    tamper(counting.app, TAMPERING["audit entry edited"])
    code, output = check(counting.app)
    assert code == 1, output


def test_the_audit_log_on_the_command_line(poll: OpenPoll) -> None:
    """`ballot audit POLL` lists the poll's chain (as the operator's audit page does); `--jsonl`
    gives exactly the lines that go into the bundle; no POLL: the service's own chain."""
    run(poll.app, "poll", "attendance", "1", "14")  # one member left the room
    cast_and_close(poll)
    listed = run(poll.app, "audit", "1")
    for action in ("credentials.import", "poll.open", "attendance.change", "poll.close"):
        assert action in listed
    lines = run(poll.app, "audit", "1", "--jsonl")
    assert check_jsonl(lines.encode("utf-8"), 1).ok
    with poll.app.app_context():
        assert lines.encode("utf-8") == audit.chain_jsonl(db.get_session(), 1)
    assert "conference.import" in run(poll.app, "audit")
    missing = poll.app.test_cli_runner().invoke(args=["audit", "99"])
    assert missing.exit_code != 0 and "99" in missing.output


def test_an_entry_appended_during_the_check_is_no_false_alarm(poll: OpenPoll) -> None:
    """An operator logging in while `ballot check` runs appends to the service chain between
    reading the head and the lines: a chain longer than the head read is not tampering."""
    cast_and_close(poll)
    with poll.app.app_context(), db.transaction() as session:
        lines = audit.chain_lines(session, 1)
        head = session.get(AuditHead, 1)
        assert head is not None and len(lines) >= 2
        head.seq, head.hash = lines[-2]["seq"], lines[-2]["hash"]  # as read one entry earlier
    code, output = check(poll.app)
    assert code == 0, output
    with poll.app.app_context(), db.transaction() as session:
        session.execute(delete(AuditHead).where(AuditHead.chain == 1))
    code, output = check(poll.app)
    assert code == 1 and "TAMPERING DETECTED" in output  # a chain whose head row is gone
