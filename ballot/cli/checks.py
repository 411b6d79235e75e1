"""``ballot check`` (the tamper check) and ``ballot audit`` (the audit log)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import fail
from ballot.models import Poll
from ballot.services.errors import NotFound, ServiceError


@click.command("check")
@click.argument("poll", type=int)
@with_appcontext
def check_command(poll: int) -> None:
    """Kiểm tra dấu vết sửa đổi / tamper check: audit log, credentials, board, bundle."""
    from ballot.services.check import check_poll

    try:
        report = check_poll(db.get_session(), poll)
    except ServiceError as exc:
        raise fail(exc) from None
    for ok, vi, en in report.lines:
        mark = "[ĐẠT / OK  ]" if ok else "[LỖI / FAIL]"
        click.echo(f"{mark} {vi}\n             {en}")
    if not report.ok:
        click.echo("KẾT LUẬN: CÓ DẤU HIỆU SỬA ĐỔI / VERDICT: TAMPERING DETECTED", err=True)
        sys.exit(1)
    click.echo("KẾT LUẬN: không phát hiện sửa đổi / VERDICT: no tampering found")


@click.command("audit")
@click.argument("poll", type=int, required=False)
@click.option(
    "--jsonl", is_flag=True, help="in nguyên các dòng chuỗi băm / the chain's lines as JSONL"
)
@with_appcontext
def audit_command(poll: int | None, jsonl: bool) -> None:
    """Nhật ký thao tác / the audit log: a poll's chain, or (no POLL) logins, accounts,
    conferences. Oldest first, with each entry's hash."""
    from ballot.services import audit

    session = db.get_session()
    if poll is not None and session.get(Poll, poll) is None:
        raise fail(NotFound(f"cuộc biểu quyết số {poll}", f"poll {poll}"))
    chain = poll if poll is not None else 0
    if jsonl:
        click.echo(audit.chain_jsonl(session, chain).decode("utf-8"), nl=False)
        return
    for line in audit.chain_lines(session, chain):
        detail = json.dumps(line["detail"], ensure_ascii=False, sort_keys=True)
        click.echo(f"{line['seq']:>4} {line['time']} {line['actor']} {line['action']} {detail}")
        click.echo(f"     {line['hash']}")
