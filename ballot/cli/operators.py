"""``ballot operator add`` and ``ballot operator passwd``: operator (Board) accounts."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot.cli.common import actor, step
from ballot.services.operators import change_password, create_operator


@click.group("operator")
def operator_group() -> None:
    """Người vận hành (Ban Tổ chức) / operator accounts."""


PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="tệp chứa mật khẩu / password file (else BALLOT_OPERATOR_PASSWORD, else a prompt)",
)


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").strip()
    if os.environ.get("BALLOT_OPERATOR_PASSWORD"):
        return os.environ["BALLOT_OPERATOR_PASSWORD"]
    return str(
        click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True, err=True)
    )


@operator_group.command("add")
@click.argument("username")
@PASSWORD_FILE
@with_appcontext
def operator_add(username: str, password_file: Path | None) -> None:
    """Tạo tài khoản người vận hành / create an operator account."""
    password = _password(password_file)
    with step() as session:
        create_operator(session, username, password, actor=actor())
    click.echo(f"Đã tạo tài khoản / created operator: {username}")


@operator_group.command("passwd")
@click.argument("username")
@PASSWORD_FILE
@with_appcontext
def operator_passwd(username: str, password_file: Path | None) -> None:
    """Đặt mật khẩu mới; mọi phiên đăng nhập của tài khoản kết thúc / set a new password and end
    every session of the account."""
    password = _password(password_file)
    with step() as session:
        change_password(session, username, password, actor=actor())
    click.echo(
        f"Đã đổi mật khẩu của {username}; mọi phiên đăng nhập đã kết thúc"
        f" / password changed for {username}; every session ended"
    )
