"""``ballot trustee``: register or remove a counting-committee member's public key."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot.cli.common import actor, fail, step
from ballot.services.trustees import add_trustee, remove_trustee
from tally.canonical import parse_json


@click.group("trustee")
def trustee_group() -> None:
    """Ban kiểm phiếu / counting committee (trustees)."""


@trustee_group.command("add")
@click.argument("poll", type=int)
@click.argument("pubfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--post",
    default="",
    help="chức vụ, in trên biên bản / post, printed on the record (người đăng ký đầu tiên là"
    " Trưởng ban / the first registered is the head)",
)
@with_appcontext
def trustee_add(poll: int, pubfile: Path, post: str) -> None:
    """Đăng ký khóa công khai (.pub.json) / register a trustee's public key file."""
    try:
        public = parse_json(pubfile.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(ValueError(f"{pubfile}: không phải JSON / not JSON: {exc}")) from None
    with step() as session:
        row = add_trustee(session, poll, public, actor=actor(), post=post)
        name, key = row.name, row.public_key
    click.echo(f"Đã đăng ký / registered: {name} ({key[:16]}…) cho cuộc biểu quyết / poll {poll}")


@trustee_group.command("remove")
@click.argument("poll", type=int)
@click.argument("trustee", type=int)
@with_appcontext
def trustee_remove(poll: int, trustee: int) -> None:
    """Bỏ một thành viên khi còn nháp (số ở ballot poll show) / unregister a trustee (draft)."""
    with step() as session:
        name = remove_trustee(session, poll, trustee, actor=actor())
    click.echo(f"Đã bỏ / removed: {name} (cuộc biểu quyết / poll {poll})")
