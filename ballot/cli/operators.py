"""``ballot operator add``: an operator (Organization Board) account."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot.cli.common import actor, step
from ballot.services.operators import create_operator


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
    with step() as session:
        create_operator(session, username, password, actor=actor())
    click.echo(f"Đã tạo tài khoản / created operator: {username}")
