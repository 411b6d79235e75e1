"""``ballot paper`` (void, add, status): the paper fallback (issue 18, docs/protocol.md 13.3).

``void`` takes a void statement made on the operator's device (``tally credentials void``, which
signs with the slip's own key); ``add`` takes a paper ballot a trustee encrypted and signed
(``tally trustee paper-ballot``). The server never sees a slip's code or a paper ballot's choices.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import actor, fail
from ballot.services.errors import ServiceError
from ballot.services.paper import (
    MAX_PAPER_BYTES,
    PaperStatus,
    add_paper_ballot,
    paper_status,
    parse_upload,
    void_for_paper,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("paper")
def paper_group() -> None:
    """Phiếu giấy / the paper fallback."""


def _show(status: PaperStatus) -> None:
    click.echo(
        f"Thẻ hủy để bỏ phiếu giấy / slips voided for paper: {status.voided};"
        f" phiếu giấy đã nhập / paper ballots entered: {status.entered};"
        f" phiếu điện tử / electronic: {status.electronic}; có mặt / present: {status.present};"
        f" còn nhập được / room for: {status.room}"
    )
    for code in status.codes:
        click.echo(f"  {code}")
    if status.head is not None and status.entered:
        click.echo(
            "Đầu chuỗi kiểm phiếu (đọc to, ghi vào biên bản giấy; Ban kiểm phiếu gõ khi ký và giải"
            " mã) / count head (read out, write on the paper record; trustees type it):"
            f" {status.head}"
        )


@paper_group.command("void")
@click.argument("poll", type=int)
@click.argument("statementfile", type=FILE)
@with_appcontext
def paper_void(poll: int, statementfile: Path) -> None:
    """Hủy một thẻ để bỏ phiếu giấy (tệp của tally credentials void) / void a slip for paper."""
    try:
        document = parse_upload(
            statementfile.read_bytes(), 4096, "Lệnh hủy thẻ", "The void statement"
        )
        with db.transaction() as session:
            status = void_for_paper(session, poll, document, actor=actor())
    except ServiceError as exc:
        raise fail(exc) from None
    click.echo("Đã hủy thẻ để bỏ phiếu giấy / the slip is voided for paper")
    _show(status)


@paper_group.command("add")
@click.argument("poll", type=int)
@click.argument("paperfile", type=FILE)
@with_appcontext
def paper_add(poll: int, paperfile: Path) -> None:
    """Nhập một phiếu giấy (tệp của tally trustee paper-ballot) / enter one paper ballot."""
    try:
        document = parse_upload(
            paperfile.read_bytes(), MAX_PAPER_BYTES, "Phiếu giấy", "The paper ballot"
        )
        with db.transaction() as session:
            status = add_paper_ballot(session, poll, document, actor=actor())
    except ServiceError as exc:
        raise fail(exc) from None
    click.echo("Đã nhập phiếu giấy (chữ ký và chứng minh đúng) / paper ballot entered (checked)")
    _show(status)


@paper_group.command("status")
@click.argument("poll", type=int)
@with_appcontext
def paper_status_command(poll: int) -> None:
    """Số thẻ hủy và phiếu giấy / slips voided for paper and paper ballots entered."""
    try:
        status = paper_status(db.get_session(), poll)
    except ServiceError as exc:
        raise fail(exc) from None
    _show(status)
