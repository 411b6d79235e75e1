"""``ballot init`` (database and record-signing key) and ``ballot serve`` (waitress)."""

from __future__ import annotations

import logging
import signal
import sys

import click
from flask import current_app
from flask import logging as flask_logging
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import fail, url_host
from ballot.config import ACCESS_LOGGER
from ballot.keys import create_signing_key, signing_key_path
from ballot.services import verifier
from ballot.startup import startup_problem
from tally.record import KeyFileError


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Tạo/nâng cấp cơ sở dữ liệu và khóa ký / create or upgrade the database and signing key."""
    db.migrate(db.engine())
    try:
        key = create_signing_key()
    except KeyFileError as exc:
        raise fail(exc) from None
    click.echo(f"Cơ sở dữ liệu / database: {db.engine().url.render_as_string(hide_password=True)}")
    click.echo(f"Khóa ký biên bản / record-signing key: {signing_key_path()} ({key.fingerprint})")


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
    access_log = logging.getLogger(ACCESS_LOGGER)
    access_log.addHandler(access)
    access_log.setLevel(logging.INFO)
    # The app's own logger (an unhandled error's traceback) gets the same no-time handler, in
    # place of Flask's default one, which stamps a time on every line.
    app.logger.removeHandler(flask_logging.default_handler)
    errors = logging.StreamHandler(sys.stderr)
    errors.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    app.logger.addHandler(errors)
    # Waitress drops every X-Forwarded-* header before the app sees it. Behind the hall's proxy
    # (BALLOT_TRUSTED_PROXIES) they must reach the app, whose ProxyFix (ballot/web/proxy.py)
    # believes Proto and Host only; otherwise waitress keeps dropping them.
    trusting = bool(app.config["TRUSTED_PROXIES"])
    try:
        server = create_server(
            app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=not trusting
        )
    except OSError as exc:
        raise click.ClickException(
            f"không nghe được trên {host}:{port} ({exc.strerror}): cổng đang được dùng? Chọn"
            f" --port khác / cannot listen on {host}:{port} ({exc.strerror}): is the port in"
            " use? Choose another --port"
        ) from None
    # Verifying a ballot is ~75 ms of libsodium calls that release and retake the GIL: in
    # processes of their own, not in the serving threads (ballot.services.verifier).
    processes = int(app.config["VERIFY_PROCESSES"])
    verifier.start(processes)
    actual_port = getattr(server, "effective_port", port)
    base = f"http://{url_host(host)}:{actual_port}"
    click.echo(
        f"Máy chủ bỏ phiếu đang chạy / ballot server running ({threads} luồng / threads,"
        f" {processes} tiến trình kiểm phiếu / verifier processes)"
    )
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

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (systemd, a test) stops it as Ctrl+C does

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        verifier.stop()
        db.engine().dispose()
    # The successful requests, counted by route: totals once, never a line per cast.
    for route, count in sorted(app.extensions.get("ballot.accepted", {}).items()):
        click.echo(f"  {count} × {route}")
    click.echo("Đã dừng máy chủ / server stopped")
