"""The ``ballot`` command line: every operator action as a command (Flask's CLI).

Errors are printed in Vietnamese and English and exit with status 1; nothing is half-written.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Literal

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ballot import ACCESS_LOG, db
from ballot.auth import create_operator
from ballot.conference_file import ConferenceFileError, import_conference
from ballot.counting import (
    add_share,
    finish_count,
    parse_share,
    start_count,
    stored_bundle,
    summary_lines,
)
from ballot.errors import NotFound, ServiceError
from ballot.models import Conference, Poll
from ballot.polls import (
    add_subject,
    add_trustee,
    close_poll,
    create_conference,
    create_poll,
    credential_counts,
    delete_subject,
    get_conference,
    get_poll,
    mint_credentials,
    move_subject,
    open_poll,
    remove_trustee,
    update_conference,
    update_poll,
    update_subject,
)
from ballot.slips import render_slips, write_private
from tally.canonical import parse_json
from tally.record import KeyFileError, ServiceKey, key_fingerprint
from tally.rules import list_rulesets

SIGNING_KEY_FILE = "record-signing-key.pem"


def signing_key_path() -> Path:
    return Path(current_app.config["KEYS_DIR"]) / SIGNING_KEY_FILE


def _actor() -> str:
    """Who ran the command, for the audit log (the OS account; there are no web logins yet)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Tạo/nâng cấp cơ sở dữ liệu và khóa ký / create or upgrade the database and signing key."""
    db.migrate(db.engine())
    Path(current_app.config["KEYS_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        key = ServiceKey.load_or_create(signing_key_path())
    except KeyFileError as exc:
        raise _fail(exc) from None
    click.echo(f"Cơ sở dữ liệu / database: {db.engine().url.render_as_string(hide_password=True)}")
    click.echo(f"Khóa ký biên bản / record-signing key: {signing_key_path()} ({key.fingerprint})")


@click.group("conference")
def conference_group() -> None:
    """Hội nghị / conferences."""


@conference_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def conference_import(file: Path) -> None:
    """Nhập hội nghị từ tệp TOML / import a conference from a TOML file."""
    try:
        with db.transaction() as session:
            conference = import_conference(session, file, actor=_actor())
            polls = [(p.id, p.title, len(p.subjects)) for p in conference.polls]
    except ConferenceFileError as exc:
        raise _fail(exc) from None
    click.echo(f"Hội nghị / conference {conference.id}: {conference.title}")
    for poll_id, title, subjects in polls:
        click.echo(f"  cuộc biểu quyết / poll {poll_id}: {title} ({subjects} đối tượng / subjects)")


def _echo_conference(conference_id: int) -> None:
    with db.transaction() as session:
        row = get_conference(session, conference_id)
        click.echo(f"Hội nghị / conference {row.id}: {row.title}")
        click.echo(f"  {row.body}; {row.date.isoformat()}; {row.place or '-'}")
        click.echo(f"  thành viên / members {row.members}, có mặt / present {row.present}")
        for p in row.polls:
            click.echo(
                f"  cuộc biểu quyết / poll {p.id} [{p.state}]: {p.title}"
                f" ({len(p.subjects)} đối tượng / subjects)"
            )


def _date_option(required: bool) -> Any:
    return click.option(
        "--date",
        "date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        required=required,
        help="ngày họp / date (YYYY-MM-DD)",
    )


@conference_group.command("create")
@click.option("--title", required=True, help="tên hội nghị / title")
@click.option("--body", required=True, help="cơ quan biểu quyết / deciding body")
@_date_option(required=True)
@click.option("--place", default="", help="địa điểm / place")
@click.option("--members", type=int, required=True, help="tổng số thành viên / incumbent members")
@click.option("--present", type=int, required=True, help="số có mặt / members present")
@with_appcontext
def conference_create(**options: Any) -> None:
    """Tạo hội nghị (chưa có cuộc biểu quyết) / create a conference (no polls yet)."""
    options["date"] = options["date"].date()
    try:
        with db.transaction() as session:
            conference_id = create_conference(session, options, actor=_actor()).id
    except ServiceError as exc:
        raise _fail(exc) from None
    _echo_conference(conference_id)


@conference_group.command("edit")
@click.argument("conference", type=int)
@click.option("--title", help="tên hội nghị / title")
@click.option("--body", help="cơ quan biểu quyết / deciding body")
@_date_option(required=False)
@click.option("--place", help="địa điểm / place")
@click.option("--members", type=int, help="tổng số thành viên / incumbent members")
@click.option("--present", type=int, help="số có mặt / members present")
@with_appcontext
def conference_edit(conference: int, **options: Any) -> None:
    """Sửa hội nghị khi chưa mở cuộc biểu quyết nào / edit a conference before any poll opens."""
    changes = {k: v for k, v in options.items() if v is not None}
    if "date" in changes:
        changes["date"] = changes["date"].date()
    try:
        with db.transaction() as session:
            update_conference(session, conference, changes, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    _echo_conference(conference)


@conference_group.command("list")
@with_appcontext
def conference_list() -> None:
    """Liệt kê hội nghị và cuộc biểu quyết / list conferences and their polls."""
    with db.transaction() as session:
        ids = session.scalars(select(Conference.id).order_by(Conference.date, Conference.id)).all()
    for conference_id in ids:
        _echo_conference(conference_id)


@click.group("operator")
def operator_group() -> None:
    """Người vận hành (Ban Tổ chức) / operator accounts."""


@operator_group.command("add")
@click.argument("username")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="tệp chứa mật khẩu / password file (else BALLOT_OPERATOR_PASSWORD, else a prompt)",
)
@with_appcontext
def operator_add(username: str, password_file: Path | None) -> None:
    """Tạo tài khoản người vận hành / create an operator account."""
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    elif os.environ.get("BALLOT_OPERATOR_PASSWORD"):
        password = os.environ["BALLOT_OPERATOR_PASSWORD"]
    else:
        password = click.prompt(
            "Mật khẩu / password", hide_input=True, confirmation_prompt=True, err=True
        )
    try:
        with db.transaction() as session:
            create_operator(session, username, password, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã tạo tài khoản / created operator: {username}")


@click.group("trustee")
def trustee_group() -> None:
    """Ban kiểm phiếu / counting committee (trustees)."""


@trustee_group.command("add")
@click.argument("poll", type=int)
@click.argument("pubfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def trustee_add(poll: int, pubfile: Path) -> None:
    """Đăng ký khóa công khai (.pub.json) / register a trustee's public key file."""
    try:
        public = parse_json(pubfile.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(ValueError(f"{pubfile}: không phải JSON / not JSON: {exc}")) from None
    try:
        with db.transaction() as session:
            row = add_trustee(session, poll, public, actor=_actor())
            name, key = row.name, row.public_key
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã đăng ký / registered: {name} ({key[:16]}…) cho cuộc biểu quyết / poll {poll}")


@trustee_group.command("remove")
@click.argument("poll", type=int)
@click.argument("trustee", type=int)
@with_appcontext
def trustee_remove(poll: int, trustee: int) -> None:
    """Bỏ một thành viên khi còn nháp (số ở ballot poll show) / unregister a trustee (draft)."""
    try:
        with db.transaction() as session:
            name = remove_trustee(session, poll, trustee, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã bỏ / removed: {name} (cuộc biểu quyết / poll {poll})")


@click.group("credentials")
def credentials_group() -> None:
    """Phiếu xác thực / credentials."""


@credentials_group.command("mint")
@click.argument("poll", type=int)
@click.option("--count", type=int, required=True, help="số phiếu / number of credentials")
@click.option(
    "--slips",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="tệp HTML in phiếu (mới) / new printable HTML file",
)
@click.option("--base-url", help="địa chỉ máy chủ trong mã QR / server URL in the QR codes")
@with_appcontext
def credentials_mint(poll: int, count: int, slips: Path, base_url: str | None) -> None:
    """Tạo phiếu xác thực và tệp in / mint credentials and their printable slips."""
    if slips.exists():
        raise _fail(
            FileExistsError(f"{slips}: đã có / already exists (không ghi đè / not overwritten)")
        )
    base = base_url or current_app.config["BASE_URL"]
    try:
        with db.transaction() as session:
            minted = mint_credentials(session, poll, count, actor=_actor())
            html = render_slips(session.get_one(Poll, poll), minted, base)
            # Written inside the transaction: if this fails, no credential is stored either.
            write_private(slips, html)
            del minted, html
    except ServiceError as exc:
        raise _fail(exc) from None
    except Exception:
        slips.unlink(missing_ok=True)  # the commit failed: these codes would never work
        raise
    click.echo(f"Đã tạo {count} phiếu xác thực / minted {count} credentials for poll {poll}")
    click.echo(f"Tệp in phiếu (chứa mã bí mật) / slips to print (secret codes): {slips}")


@click.group("poll")
def poll_group() -> None:
    """Cuộc biểu quyết / polls."""


@poll_group.command("open")
@click.argument("poll", type=int)
@with_appcontext
def poll_open(poll: int) -> None:
    """Mở cuộc biểu quyết / open a poll (fixes its manifest and fingerprint)."""
    try:
        key = ServiceKey.load_or_create(signing_key_path())
        with db.transaction() as session:
            row = open_poll(session, poll, key.public_key, actor=_actor())
            fingerprint, manifest = row.fingerprint, json.loads(row.manifest or "{}")
    except (ServiceError, KeyFileError) as exc:
        raise _fail(exc) from None
    committed = manifest["election"]["credentials"]
    click.echo(f"Đã mở / opened poll {poll}")
    click.echo(f"  Dấu vân tay / fingerprint: {fingerprint}")
    click.echo(
        f"  Cam kết phiếu xác thực / credential commitment: {committed['commitment']}"
        f" ({committed['count']})"
    )


@poll_group.command("close")
@click.argument("poll", type=int)
@with_appcontext
def poll_close(poll: int) -> None:
    """Đóng cuộc biểu quyết, hủy phiếu xác thực chưa dùng / close, voiding unused credentials."""
    try:
        with db.transaction() as session:
            summary = close_poll(session, poll, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(
        f"Đã đóng / closed poll {poll}: {summary['ballots']} phiếu / ballots,"
        f" {summary['voided']} phiếu xác thực bị hủy / credentials voided"
    )
    click.echo(f"  Đầu chuỗi bảng tin / board head: {summary['board_head']}")


def _poll_options(required: bool) -> Any:
    def decorate(f: Any) -> Any:
        for option in reversed(
            (
                click.option("--title", required=required, help="tên / title"),
                click.option(
                    "--rules",
                    "rules_id",
                    type=click.Choice(list_rulesets()),
                    required=required,
                    help="bộ quy tắc / rule set",
                ),
                click.option(
                    "--members",
                    type=int,
                    help="số người được biểu quyết (mặc định: của hội nghị) / electorate",
                ),
                click.option("--present", type=int, help="số người có mặt / members present"),
            )
        ):
            f = option(f)
        return f

    return decorate


@poll_group.command("create")
@click.argument("conference", type=int)
@_poll_options(required=True)
@with_appcontext
def poll_create(conference: int, **options: Any) -> None:
    """Tạo cuộc biểu quyết nháp ở cuối hội nghị / create a draft poll, last in the conference."""
    try:
        with db.transaction() as session:
            poll = create_poll(session, conference, options, actor=_actor()).id
    except ServiceError as exc:
        raise _fail(exc) from None
    _echo_poll(poll)


@poll_group.command("edit")
@click.argument("poll", type=int)
@_poll_options(required=False)
@with_appcontext
def poll_edit(poll: int, **options: Any) -> None:
    """Sửa cuộc biểu quyết nháp / edit a draft poll (title, rule set, electorate)."""
    changes = {k: v for k, v in options.items() if v is not None}
    try:
        with db.transaction() as session:
            update_poll(session, poll, changes, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    _echo_poll(poll)


def _echo_poll(poll_id: int) -> None:
    with db.transaction() as session:
        poll = get_poll(session, poll_id)
        counts = credential_counts(session, poll_id)
        click.echo(f"Cuộc biểu quyết / poll {poll.id} [{poll.state}]: {poll.title}")
        click.echo(f"  Hội nghị / conference {poll.conference_id}: {poll.conference.title}")
        click.echo(
            f"  Bộ quy tắc / rules: {poll.rules_id}; được biểu quyết / members {poll.members},"
            f" có mặt / present {poll.present}"
        )
        click.echo("  Đối tượng / subjects:")
        for s in poll.subjects:
            extra = [
                f"{label}={value}"
                for label, value in (
                    ("peer_group", s.peer_group),
                    ("heads", s.heads),
                    ("part_of", s.part_of),
                )
                if value
            ]
            if s.disciplined:
                extra.append("disciplined")
            role = f", {s.role}" if s.role else ""
            click.echo(
                f"    {s.position}. {s.key}: {s.name}{role} [{s.kind}]"
                + (f" ({', '.join(extra)})" if extra else "")
            )
        click.echo("  Ban kiểm phiếu / trustees:")
        for t in poll.trustees:
            click.echo(f"    #{t.id} {t.name} ({key_fingerprint(bytes.fromhex(t.public_key))})")
        click.echo(
            f"  Phiếu xác thực / credentials: {counts['issued']} phát hành / issued,"
            f" {counts['used']} đã dùng / used, {counts['voided']} đã hủy / voided"
        )
        if poll.fingerprint:
            click.echo(f"  Dấu vân tay / fingerprint: {poll.fingerprint}")
        if poll.manifest:
            committed = json.loads(poll.manifest)["election"]["credentials"]["commitment"]
            click.echo(f"  Cam kết phiếu xác thực / credential commitment: {committed}")
        if poll.state == "closed":
            click.echo(f"  Đầu chuỗi bảng tin / board head: {poll.board_head}")


@poll_group.command("show")
@click.argument("poll", type=int)
@with_appcontext
def poll_show(poll: int) -> None:
    """Xem cuộc biểu quyết: đối tượng, Ban kiểm phiếu, phiếu xác thực / show a poll."""
    try:
        _echo_poll(poll)
    except ServiceError as exc:
        raise _fail(exc) from None


@click.group("subject")
def subject_group() -> None:
    """Đối tượng trên phiếu (khi còn nháp) / a draft poll's subjects."""


def _subject_options(required: bool) -> Any:
    def decorate(f: Any) -> Any:
        for option in reversed(
            (
                click.option("--name", required=required, help="tên / name"),
                click.option(
                    "--kind",
                    type=click.Choice(["individual", "collective", "organization"]),
                    required=required,
                    help="cá nhân, tập thể, tổ chức / kind",
                ),
                click.option("--role", help="chức vụ / role"),
                click.option(
                    "--peer-group", help="nhóm so sánh / peer group ('' để bỏ / to clear)"
                ),
                click.option(
                    "--heads", help="mã đơn vị đứng đầu / key of the unit headed ('' to clear)"
                ),
                click.option(
                    "--part-of",
                    help="mã tổ chức được lãnh đạo / key of the organization led ('' to clear)",
                ),
                click.option(
                    "--disciplined/--not-disciplined",
                    default=None,
                    help="bị kỷ luật trong năm / disciplined in the year",
                ),
            )
        ):
            f = option(f)
        return f

    return decorate


@subject_group.command("add")
@click.argument("poll", type=int)
@click.option("--key", help="mã (mặc định: từ tên) / key (default: made from the name)")
@_subject_options(required=True)
@with_appcontext
def subject_add(poll: int, **options: Any) -> None:
    """Thêm đối tượng vào cuối phiếu / append a subject to a draft poll."""
    values = {k: v for k, v in options.items() if v is not None}
    try:
        with db.transaction() as session:
            subject = add_subject(session, poll, values, actor=_actor())
            key, position = subject.key, subject.position
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã thêm / added {key} ở vị trí / at position {position} (poll {poll})")


@subject_group.command("edit")
@click.argument("poll", type=int)
@click.argument("key")
@_subject_options(required=False)
@with_appcontext
def subject_edit(poll: int, key: str, **options: Any) -> None:
    """Sửa đối tượng (mã không đổi) / edit a subject (its key stays)."""
    changes = {k: v for k, v in options.items() if v is not None}
    try:
        with db.transaction() as session:
            update_subject(session, poll, key, changes, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã lưu / saved {key} (poll {poll})")


@subject_group.command("delete")
@click.argument("poll", type=int)
@click.argument("key")
@with_appcontext
def subject_delete(poll: int, key: str) -> None:
    """Xóa đối tượng khỏi phiếu / delete a subject from a draft poll."""
    try:
        with db.transaction() as session:
            name = delete_subject(session, poll, key, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã xóa / deleted {key}: {name} (poll {poll})")


@subject_group.command("move")
@click.argument("poll", type=int)
@click.argument("key")
@click.argument("direction", type=click.Choice(["up", "down"]))
@with_appcontext
def subject_move(poll: int, key: str, direction: Literal["up", "down"]) -> None:
    """Chuyển đối tượng lên/xuống một vị trí / move a subject up or down one place."""
    try:
        with db.transaction() as session:
            position = move_subject(session, poll, key, direction, actor=_actor()).position
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"{key}: vị trí / position {position} (poll {poll})")


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
    try:
        with db.transaction() as session:
            published = start_count(session, poll, actor=_actor())
            # Written inside the transaction: if writing fails, nothing is stored either.
            out_dir.mkdir(parents=True, exist_ok=True)
            for name, data in published.files().items():
                (out_dir / name).write_bytes(data)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(
        f"Đã bắt đầu kiểm phiếu / counting started for poll {poll}:"
        f" {published.ballot_count} phiếu / ballots"
    )
    click.echo(f"  Đầu chuỗi bảng tin / board head: {published.board_head}")
    click.echo(f"  Tệp cho Ban kiểm phiếu / files for the trustees: {out_dir}")
    click.echo(
        "  tally trustee decrypt --key K --aggregate aggregate.json --manifest manifest.json"
        f" --ballots ballots.jsonl --expected-head {published.board_head} --out share.json"
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
            name = add_share(session, poll, share, actor=_actor())
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Đã nhận phần giải mã hợp lệ / accepted the valid share of: {name}")


@count_group.command("finish")
@click.argument("poll", type=int)
@with_appcontext
def count_finish(poll: int) -> None:
    """Kết hợp, xếp loại, ký biên bản / combine, grade and sign the record."""
    try:
        key = ServiceKey.load_or_create(signing_key_path())
        with db.transaction() as session:
            result = finish_count(session, poll, key, actor=_actor())
    except (ServiceError, KeyFileError) as exc:
        raise _fail(exc) from None
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
    try:
        with db.transaction() as session:
            data = stored_bundle(session, poll)
    except ServiceError as exc:
        raise _fail(exc) from None
    out.write_bytes(data)
    click.echo(f"Gói kiểm toán / audit bundle: {out} ({len(data)} bytes); tally verify {out}")


def startup_problem() -> str | None:
    """Why the current app must not serve (``ballot serve`` and ``ballot.wsgi`` ask), or None:
    the database not at the newest revision, or a key file others can read."""
    problem = _schema_problem(db.engine())
    if problem is not None:
        return problem
    try:  # a key others can read is refused here, before any page is served
        ServiceKey.load_or_create(signing_key_path())
    except KeyFileError as exc:
        return f"khóa ký biên bản / record-signing key: {exc}"
    session_key = Path(current_app.instance_path) / "secret_key"
    if session_key.exists() and session_key.stat().st_mode & 0o077:
        return (
            f"khóa phiên / session key {session_key}: người khác đọc được; chạy / others can read"
            f" it; run: chmod 600 {session_key}"
        )
    return None


def _schema_problem(engine: Engine) -> str | None:
    """Why the database cannot be served (not initialised, out of date, unreachable), or None.

    Compares Alembic's current revision in the database with the newest one shipped with the code.
    """
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "ballot:migrations")
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return (
            f"không kết nối được cơ sở dữ liệu / cannot reach the database {url}:"
            f" {type(exc).__name__}: {str(exc).splitlines()[0]}"
        )
    if not current:
        return (
            f"cơ sở dữ liệu chưa được khởi tạo / the database is not initialised: {url}."
            " Chạy / run: ballot init"
        )
    if current != heads:
        return (
            f"cơ sở dữ liệu chưa được nâng cấp / the database schema is out of date: {url}"
            f" (revision {', '.join(sorted(current))}, cần / needs {', '.join(sorted(heads))})."
            " Chạy / run: ballot init"
        )
    return None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="địa chỉ lắng nghe; 0.0.0.0 cho mạng LAN hội trường / listen address; 0.0.0.0 for the LAN",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    help="cổng / TCP port",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="số luồng xử lý / worker threads",
)
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Chạy máy chủ (waitress) / serve the booth and API with waitress (production server)."""
    problem = startup_problem()
    if problem is not None:
        raise click.ClickException(f"không khởi động máy chủ / not starting the server: {problem}")

    from waitress import create_server  # type: ignore[import-untyped]

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    access = logging.StreamHandler(sys.stdout)
    # No time on the lines: the k-th accepted cast is board position k, so a time there would tie
    # each ballot on the public board to a moment in the hall.
    access.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.addHandler(access)
    ACCESS_LOG.setLevel(logging.INFO)
    server = create_server(app, host=host, port=port, threads=threads)
    actual_port = getattr(server, "effective_port", port)
    base = f"http://{_url_host(host)}:{actual_port}"
    click.echo(f"Máy chủ bỏ phiếu đang chạy / ballot server running ({threads} luồng / threads)")
    click.echo(f"  Trạm bỏ phiếu / booth: {base}/booth/<poll>")
    click.echo(f"  API: {base}/api/polls/<poll>/manifest")
    if host in ("0.0.0.0", "::"):
        click.echo(
            "  Lắng nghe trên mọi giao diện mạng: máy tính bảng dùng địa chỉ LAN của máy này"
            f" (BALLOT_BASE_URL={current_app.config['BASE_URL']}) / listening on all interfaces:"
            " tablets use this machine's LAN address"
        )
    click.echo("  Dừng / stop: Ctrl+C")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        db.engine().dispose()
    click.echo("Đã dừng máy chủ / server stopped")


@click.command("check")
@click.argument("poll", type=int)
@with_appcontext
def check_command(poll: int) -> None:
    """Kiểm tra dấu vết sửa đổi / tamper check: audit log, credentials, board, bundle."""
    from ballot.check import check_poll

    try:
        report = check_poll(db.get_session(), poll)
    except ServiceError as exc:
        raise _fail(exc) from None
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
    from ballot import audit

    session = db.get_session()
    if poll is not None and session.get(Poll, poll) is None:
        raise _fail(NotFound(f"cuộc biểu quyết số {poll}", f"poll {poll}"))
    chain = poll if poll is not None else 0
    if jsonl:
        click.echo(audit.chain_jsonl(session, chain).decode("utf-8"), nl=False)
        return
    for line in audit.chain_lines(session, chain):
        detail = json.dumps(line["detail"], ensure_ascii=False, sort_keys=True)
        click.echo(f"{line['seq']:>4} {line['time']} {line['actor']} {line['action']} {detail}")
        click.echo(f"     {line['hash']}")


def init_app(app: Flask) -> None:
    from ballot.demo import demo_command

    for command in (
        init_command,
        operator_group,
        conference_group,
        trustee_group,
        credentials_group,
        poll_group,
        subject_group,
        count_group,
        export_command,
        serve_command,
        demo_command,
        check_command,
        audit_command,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from ballot import create_app

    return create_app()


def main() -> None:
    FlaskGroup(create_app=_create_app, help="Dịch vụ biểu quyết / the ballot service.")(
        prog_name="ballot"
    )
