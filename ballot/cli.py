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

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import Engine
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
from ballot.errors import ServiceError
from ballot.models import Poll
from ballot.polls import add_trustee, close_poll, mint_credentials, open_poll
from ballot.slips import render_slips, write_private
from tally.canonical import parse_json
from tally.record import KeyFileError, ServiceKey

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


@click.group("count")
def count_group() -> None:
    """Kiểm phiếu / counting."""


@count_group.command("start")
@click.argument("poll", type=int)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="thư mục cho Ban kiểm phiếu / folder for the trustees (manifest, ballots, aggregate)",
)
@with_appcontext
def count_start(poll: int, out_dir: Path) -> None:
    """Tính tổng mã hóa và công bố cho Ban kiểm phiếu / publish the aggregate for the trustees."""
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
    problem = _schema_problem(db.engine())
    if problem is not None:
        raise click.ClickException(f"không khởi động máy chủ / not starting the server: {problem}")

    from waitress import create_server  # type: ignore[import-untyped]

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    access = logging.StreamHandler(sys.stdout)
    access.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
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


def init_app(app: Flask) -> None:
    from ballot.demo import demo_command

    for command in (
        init_command,
        operator_group,
        conference_group,
        trustee_group,
        credentials_group,
        poll_group,
        count_group,
        export_command,
        serve_command,
        demo_command,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from ballot import create_app

    return create_app()


def main() -> None:
    FlaskGroup(create_app=_create_app, help="Dịch vụ biểu quyết / the ballot service.")(
        prog_name="ballot"
    )
