"""``ballot count`` (start, share, finish) and ``ballot export`` (the audit bundle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import actor, fail, step
from ballot.keys import load_signing_key
from ballot.services.attendance import add_statement, parse_statement_file
from ballot.services.counting import (
    add_share,
    finish_count,
    parse_share,
    start_count,
    stored_bundle,
)
from ballot.services.errors import ServiceError
from tally.record import KeyFileError
from tally.results import render_texts


@click.group("count")
def count_group() -> None:
    """Kiểm phiếu / counting."""


@count_group.command("start")
@click.argument("poll", type=int)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="thư mục cho Ban kiểm phiếu / folder for the trustees (manifest, ballots, aggregate);"
    " mặc định / default: out/poll-<POLL>-count",
)
@with_appcontext
def count_start(poll: int, out_dir: Path | None) -> None:
    """Tính tổng mã hóa và công bố cho Ban kiểm phiếu / publish the aggregate for the trustees."""
    if out_dir is None:
        out_dir = Path("out") / f"poll-{poll}-count"
    with step() as session:
        published = start_count(session, poll, actor=actor())
        # Written inside the transaction: if writing fails, nothing is stored either.
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in published.files().items():
            (out_dir / name).write_bytes(data)
    click.echo(
        f"Đã bắt đầu kiểm phiếu / counting started for poll {poll}:"
        f" {published.ballot_count} phiếu / ballots"
    )
    click.echo(f"  Đầu chuỗi bảng tin / board head: {published.board_head}")
    if published.paper is not None:
        click.echo(
            f"  Đầu chuỗi kiểm phiếu (bảng tin và phiếu giấy) / count head (board and paper):"
            f" {published.count_head}"
        )
    click.echo(f"  Tệp cho Ban kiểm phiếu / files for the trustees: {out_dir}")
    click.echo(
        "  tally trustee decrypt --key K --aggregate aggregate.json --manifest manifest.json"
        f" --ballots ballots.jsonl --expected-head {published.count_head} --out share.json"
        + (" --voids voids.jsonl --paper paper.jsonl" if published.paper is not None else "")
    )


@count_group.command("share")
@click.argument("poll", type=int)
@click.argument("sharefile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def count_share(poll: int, sharefile: Path) -> None:
    """Nhận phần giải mã của một thành viên (đã kiểm tra) / accept a trustee's checked share."""
    try:
        share = parse_share(sharefile.read_bytes())
        with db.transaction() as session:
            name = add_share(session, poll, share, actor=actor())
    except ServiceError as exc:
        raise fail(exc) from None
    click.echo(f"Đã nhận phần giải mã hợp lệ / accepted the valid share of: {name}")


@count_group.command("attest")
@click.argument("poll", type=int)
@click.argument("statementfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def count_attest(poll: int, statementfile: Path) -> None:
    """Nhận xác nhận số có mặt do thành viên Ban kiểm phiếu ký / accept the signed attendance."""
    try:
        document = parse_statement_file(statementfile.read_bytes())
        with db.transaction() as session:
            name = add_statement(session, poll, document, actor=actor())
    except ServiceError as exc:
        raise fail(exc) from None
    click.echo(f"Đã nhận xác nhận số có mặt / accepted the attendance statement signed by: {name}")


@count_group.command("finish")
@click.argument("poll", type=int)
@click.option(
    "--handed-out",
    type=click.IntRange(min=0),
    default=None,
    help="số thẻ biểu quyết đã phát / slips handed out (mặc định / default: số có mặt / present)",
)
@click.option("--lost", type=click.IntRange(min=0), default=0, help="số phiếu bị mất / slips lost")
@with_appcontext
def count_finish(poll: int, handed_out: int | None, lost: int) -> None:
    """Kết hợp, xếp loại, ký biên bản / combine, grade and sign the record."""
    try:
        key = load_signing_key()
        with db.transaction() as session:
            result = finish_count(
                session,
                poll,
                key,
                actor=actor(),
                handed_out=handed_out,
                lost=lost,
                timezone=current_app.config["TIMEZONE"],
            )
    except (ServiceError, KeyFileError) as exc:
        raise fail(exc) from None
    if result.get("void"):
        click.echo(
            "KẾT QUẢ KHÔNG CÓ GIÁ TRỊ, phải biểu quyết lại / THE RESULT IS VOID, vote again:"
            f" {result['void']['ballots']} phiếu / ballots > {result['void']['present']}"
            " có mặt / present"
        )
    click.echo(
        f"Đã kiểm phiếu xong / counted poll {poll}: {result['cast']} phiếu / ballots;"
        f" biên bản ký bởi / record signed by {key.fingerprint}"
    )
    for line in summary_lines(result):
        click.echo(line)


@click.command("export")
@click.argument("poll", type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="tệp ZIP gói kiểm toán / audit bundle ZIP file",
)
@with_appcontext
def export_command(poll: int, out: Path) -> None:
    """Xuất gói kiểm toán / write the poll's audit bundle (for tally verify)."""
    with step() as session:
        data = stored_bundle(session, poll)
    out.write_bytes(data)
    click.echo(f"Gói kiểm toán / audit bundle: {out} ({len(data)} bytes); tally verify {out}")


UNDETERMINED = "Chưa xác định / undetermined"


def summary_lines(result: dict[str, Any]) -> list[str]:
    """One line per subject: name, counts per grade, grade (or undetermined)."""
    lines = []
    for k, subject in enumerate(result["subjects"], start=1):
        counts = " ".join(str(n) for n in subject["counts"])
        grade = subject["grade"] or UNDETERMINED
        lines.append(f"  {k:2}. {subject['name']}: [{counts}] -> {grade}")
    for warning in render_texts(result).warnings:
        lines.append(f"  ! {warning.vi} / {warning.en}")
    return lines
