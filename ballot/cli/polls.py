"""``ballot poll``: create, edit, show, open and close a poll."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import actor, fail, field_options, step
from ballot.keys import load_signing_key
from ballot.services.attendance import record_attendance
from ballot.services.credentials import credential_counts
from ballot.services.errors import ServiceError
from ballot.services.fields import POLL
from ballot.services.polls import (
    close_poll,
    create_poll,
    get_poll,
    open_poll,
    rules_notice,
    set_adopts,
    set_exclusions,
    set_outstanding_groups,
    update_poll,
)
from ballot.services.rounds import start_next_round
from tally.record import KeyFileError, key_fingerprint


@click.group("poll")
def poll_group() -> None:
    """Cuộc biểu quyết / polls."""


@poll_group.command("open")
@click.argument("poll", type=int)
@click.option(
    "--acknowledge-unconfirmed-rules",
    is_flag=True,
    help="xác nhận đã biết bộ quy tắc chưa được tỉnh xác nhận (ghi nhật ký) / acknowledge that"
    " the rule set is not confirmed by the province (logged)",
)
@with_appcontext
def poll_open(poll: int, acknowledge_unconfirmed_rules: bool) -> None:
    """Mở cuộc biểu quyết / open a poll (fixes its manifest and fingerprint)."""
    try:
        key = load_signing_key()
        with db.transaction() as session:
            row = open_poll(
                session,
                poll,
                key.public_key,
                actor=actor(),
                acknowledge_rules=acknowledge_unconfirmed_rules,
            )
            notice = rules_notice(row)
            fingerprint, manifest = row.fingerprint, json.loads(row.manifest or "{}")
    except (ServiceError, KeyFileError) as exc:
        raise fail(exc) from None
    if notice is not None:
        click.echo(f"CẢNH BÁO: {notice[0]}\nWARNING: {notice[1]}", err=True)
    committed = manifest["election"]["credentials"]
    click.echo(f"Đã mở / opened poll {poll}")
    click.echo(f"  Dấu vân tay / fingerprint: {fingerprint}")
    click.echo(
        f"  Cam kết thẻ biểu quyết / credential commitment: {committed['commitment']}"
        f" ({committed['count']}, {committed.get('reserve', 0)} dự phòng / reserve)"
    )
    if "authority" in committed:
        fp = key_fingerprint(bytes.fromhex(committed["authority"]))
        click.echo(
            f"  Dấu vân tay khóa Ban Tổ chức / authority key fingerprint: {fp}"
            " (đối chiếu với dấu vân tay đã công bố / compare with the announced one)"
        )
    election = manifest["election"]
    n = len(election["trustees"])
    if "ceremony" in election:
        k = election["ceremony"]["threshold"]
        click.echo(
            f"  Kiểm phiếu / counting: bất kỳ {k} trong {n} thành viên Ban kiểm phiếu"
            f" / any {k} of the {n} trustees (key ceremony {election['ceremony']['uid']})"
        )
    else:
        click.echo(
            f"  Kiểm phiếu / counting: cần cả {n} thành viên (không có lễ tạo khóa; ballot ceremony"
            f" start cho bất kỳ k trong n) / all {n} trustees needed (no key ceremony; ballot"
            " ceremony start for any k of n)"
        )


@poll_group.command("exclusions")
@click.argument("poll", type=int)
@click.argument("entries", nargs=-1, metavar="LÝ_DO:HỌ_TÊN…")
@with_appcontext
def poll_exclusions(poll: int, entries: tuple[str, ...]) -> None:
    """Người không tính vào tổng số / the lawful exclusions (suspended, exempt, long_leave):
    e.g. long_leave:"Nguyễn Văn A"; none given clears them."""
    items = []
    for entry in entries:
        reason, _, name = entry.partition(":")
        items.append({"reason": reason.strip(), "name": name})
    with step() as session:
        set_exclusions(session, poll, items, actor=actor())
    click.echo(f"Cuộc biểu quyết {poll}: {len(items)} người không tính / {len(items)} excluded")


@poll_group.command("outstanding")
@click.argument("poll", type=int)
@click.argument("groups", nargs=-1)
@with_appcontext
def poll_outstanding(poll: int, groups: tuple[str, ...]) -> None:
    """Nhóm so sánh được nâng tỷ lệ xuất sắc / peer groups with the raised ceiling (25%)."""
    with step() as session:
        set_outstanding_groups(session, poll, list(groups), actor=actor())
    click.echo(f"Cuộc biểu quyết {poll}: {', '.join(groups) or '—'}")


@poll_group.command("adopts")
@click.argument("poll", type=int)
@click.argument("adopted", type=int)
@with_appcontext
def poll_adopts(poll: int, adopted: int) -> None:
    """Chọn cuộc biểu quyết có kết quả được thông qua / set the poll whose result POLL adopts."""
    with step() as session:
        set_adopts(session, poll, adopted, actor=actor())
    click.echo(
        f"Cuộc biểu quyết {poll} thông qua kết quả của {adopted} / poll {poll} adopts {adopted}"
    )


@poll_group.command("attendance")
@click.argument("poll", type=int)
@click.argument("present", type=int)
@with_appcontext
def poll_attendance(poll: int, present: int) -> None:
    """Ghi số có mặt khi đang mở / record the number present while open."""
    with step() as session:
        line = record_attendance(session, poll, present, actor=actor())
    click.echo(f"Đã ghi / recorded: {line['present']} có mặt / present (lần / entry {line['seq']})")


@poll_group.command("close")
@click.argument("poll", type=int)
@with_appcontext
def poll_close(poll: int) -> None:
    """Đóng cuộc biểu quyết, hủy thẻ biểu quyết chưa dùng / close, voiding unused credentials."""
    with step() as session:
        summary = close_poll(session, poll, actor=actor())
    click.echo(
        f"Đã đóng / closed poll {poll}: {summary['ballots']} phiếu / ballots,"
        f" {summary['voided']} thẻ biểu quyết bị hủy / credentials voided"
    )
    click.echo(f"  Đầu chuỗi bảng tin / board head: {summary['board_head']}")


@poll_group.command("create")
@click.argument("conference", type=int)
@field_options(POLL, required=True, optional=("members", "present"))
@with_appcontext
def poll_create(conference: int, **options: Any) -> None:
    """Tạo cuộc biểu quyết nháp ở cuối hội nghị / create a draft poll, last in the conference."""
    with step() as session:
        poll = create_poll(session, conference, options, actor=actor()).id
    _echo_poll(poll)


@poll_group.command("edit")
@click.argument("poll", type=int)
@field_options(POLL, required=False)
@with_appcontext
def poll_edit(poll: int, **options: Any) -> None:
    """Sửa cuộc biểu quyết nháp / edit a draft poll (title, rule set, electorate)."""
    changes = {k: v for k, v in options.items() if v is not None}
    with step() as session:
        update_poll(session, poll, changes, actor=actor())
    _echo_poll(poll)


def _echo_poll(poll_id: int) -> None:
    with db.transaction() as session:
        poll = get_poll(session, poll_id)
        counts = credential_counts(session, poll_id)
        click.echo(f"Cuộc biểu quyết / poll {poll.id} [{poll.state}]: {poll.title}")
        click.echo(f"  Hội nghị / conference {poll.conference_id}: {poll.conference.title}")
        click.echo(f"  Mã cuộc biểu quyết / poll uid: {poll.uid}")
        click.echo(
            f"  Bộ quy tắc / rules: {poll.rules_id}; được biểu quyết / members {poll.members},"
            f" có mặt / present {poll.present}"
        )
        for e in poll.exclusions or []:
            click.echo(f"  Không tính / excluded: {e['name']} ({e['reason']})")
        if poll.outstanding_groups:
            click.echo(
                f"  Nhóm nâng tỷ lệ / outstanding groups: {', '.join(poll.outstanding_groups)}"
            )
        if poll.adopts is not None:
            click.echo(
                f"  Thông qua kết quả của / adopts poll {poll.adopts.id}: {poll.adopts.title}"
            )
        click.echo("  Đối tượng / subjects:")
        for s in poll.subjects:
            extra = [
                f"{label}={value}"
                for label, value in (
                    ("peer_group", s.peer_group),
                    ("heads", s.heads),
                    ("part_of", s.part_of),
                    ("responsible_for", s.responsible_for),
                    ("discipline", s.discipline),
                    ("self_score", s.self_score),
                    ("self_grade", s.self_grade),
                    ("proposed_grade", s.proposed_grade),
                )
                if value
            ]
            role = f", {s.role}" if s.role else ""
            click.echo(
                f"    {s.position}. {s.key}: {s.name}{role} [{s.kind}]"
                + (f" ({', '.join(extra)})" if extra else "")
            )
        click.echo("  Ban kiểm phiếu / trustees:")
        for t in poll.trustees:
            click.echo(f"    #{t.id} {t.name} ({key_fingerprint(bytes.fromhex(t.public_key))})")
        click.echo(
            f"  Thẻ biểu quyết / credentials: {counts['issued']} phát hành / issued,"
            f" {counts['used']} đã dùng / used, {counts['voided']} đã hủy / voided"
        )
        if poll.fingerprint:
            click.echo(f"  Dấu vân tay / fingerprint: {poll.fingerprint}")
        if poll.manifest:
            committed = json.loads(poll.manifest)["election"]["credentials"]["commitment"]
            click.echo(f"  Cam kết thẻ biểu quyết / credential commitment: {committed}")
        if poll.state == "closed":
            click.echo(f"  Đầu chuỗi bảng tin / board head: {poll.board_head}")


@poll_group.command("show")
@click.argument("poll", type=int)
@with_appcontext
def poll_show(poll: int) -> None:
    """Xem cuộc biểu quyết: đối tượng, Ban kiểm phiếu, thẻ biểu quyết / show a poll."""
    try:
        _echo_poll(poll)
    except ServiceError as exc:
        raise fail(exc) from None


@poll_group.command("next-round")
@click.argument("poll", type=int)
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    help="mã đối tượng biểu quyết lại (lặp lại; mặc định: mọi đối tượng chưa xác định) /"
    " subject key to vote again (repeat; default: every undetermined subject)",
)
@with_appcontext
def poll_next_round(poll: int, subjects: tuple[str, ...]) -> None:
    """Biểu quyết vòng sau các đối tượng chưa xác định / a later round on undetermined subjects."""
    with step() as session:
        later = start_next_round(session, poll, subjects, actor=actor())
        keys = [s.key for s in later.subjects]
        later_id, title = later.id, later.title
    click.echo(f"Đã tạo / created poll {later_id}: {title} ({len(keys)} đối tượng / subjects)")
    click.echo(f"  {', '.join(keys)}")
    click.echo(
        "  Tiếp theo / next: tally credentials mint (thẻ mới / new slips), ballot credentials"
        f" import {later_id} …, ballot poll open {later_id}"
    )
