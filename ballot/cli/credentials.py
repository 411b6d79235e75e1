"""``ballot credentials mint``: credentials and their printable slips."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ballot.cli.common import actor, fail, step
from ballot.models import Poll
from ballot.services.credentials import mint_credentials
from ballot.services.slips import render_slips, write_private


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
        raise fail(
            FileExistsError(f"{slips}: đã có / already exists (không ghi đè / not overwritten)")
        )
    base = base_url or current_app.config["BASE_URL"]
    try:
        with step() as session:
            minted = mint_credentials(session, poll, count, actor=actor())
            html = render_slips(session.get_one(Poll, poll), minted, base)
            # Written inside the transaction: if this fails, no credential is stored either.
            write_private(slips, html)
            del minted, html
    except Exception:
        slips.unlink(missing_ok=True)  # the commit failed: these codes would never work
        raise
    click.echo(f"Đã tạo {count} phiếu xác thực / minted {count} credentials for poll {poll}")
    click.echo(f"Tệp in phiếu (chứa mã bí mật) / slips to print (secret codes): {slips}")
