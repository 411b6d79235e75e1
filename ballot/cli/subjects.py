"""``ballot subject``: a draft poll's subjects (add, edit, delete, move)."""

from __future__ import annotations

from typing import Any, Literal

import click
from flask.cli import with_appcontext

from ballot.cli.common import actor, field_options, step
from ballot.services.fields import SUBJECT
from ballot.services.subjects import add_subject, delete_subject, move_subject, update_subject


@click.group("subject")
def subject_group() -> None:
    """Đối tượng trên phiếu (khi còn nháp) / a draft poll's subjects."""


@subject_group.command("add")
@click.argument("poll", type=int)
@field_options(SUBJECT, required=True)
@with_appcontext
def subject_add(poll: int, **options: Any) -> None:
    """Thêm đối tượng vào cuối phiếu / append a subject to a draft poll."""
    values = {k: v for k, v in options.items() if v is not None}
    with step() as session:
        subject = add_subject(session, poll, values, actor=actor())
        key, position = subject.key, subject.position
    click.echo(f"Đã thêm / added {key} ở vị trí / at position {position} (poll {poll})")


@subject_group.command("edit")
@click.argument("poll", type=int)
@click.argument("key")
@field_options(SUBJECT, required=False, skip=("key",))
@with_appcontext
def subject_edit(poll: int, key: str, **options: Any) -> None:
    """Sửa đối tượng (mã không đổi) / edit a subject (its key stays)."""
    changes = {k: v for k, v in options.items() if v is not None}
    with step() as session:
        update_subject(session, poll, key, changes, actor=actor())
    click.echo(f"Đã lưu / saved {key} (poll {poll})")


@subject_group.command("delete")
@click.argument("poll", type=int)
@click.argument("key")
@with_appcontext
def subject_delete(poll: int, key: str) -> None:
    """Xóa đối tượng khỏi phiếu / delete a subject from a draft poll."""
    with step() as session:
        name = delete_subject(session, poll, key, actor=actor())
    click.echo(f"Đã xóa / deleted {key}: {name} (poll {poll})")


@subject_group.command("move")
@click.argument("poll", type=int)
@click.argument("key")
@click.argument("direction", type=click.Choice(["up", "down"]))
@with_appcontext
def subject_move(poll: int, key: str, direction: Literal["up", "down"]) -> None:
    """Chuyển đối tượng lên/xuống một vị trí / move a subject up or down one place."""
    with step() as session:
        position = move_subject(session, poll, key, direction, actor=actor()).position
    click.echo(f"{key}: vị trí / position {position} (poll {poll})")
