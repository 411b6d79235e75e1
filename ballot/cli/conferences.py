"""``ballot conference``: import a TOML file, create, edit, list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ballot import db
from ballot.cli.common import actor, field_options, step
from ballot.models import Conference
from ballot.services.conference_file import ConferenceFileError, import_conference
from ballot.services.conferences import create_conference, get_conference, update_conference
from ballot.services.counting import conference_checks
from ballot.services.fields import CONFERENCE
from ballot.services.summary import (
    conference_summary,
    conferences_of_year,
    review_summary,
    summary_xlsx,
)


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
            conference = import_conference(session, file, actor=actor())
            polls = [(p.id, p.title, len(p.subjects)) for p in conference.polls]
    except ConferenceFileError as exc:
        raise click.ClickException(
            f"Tệp hội nghị không hợp lệ, không có gì được lưu / the conference file is not"
            f" valid, nothing was stored: {exc}"
        ) from None
    click.echo(f"Hội nghị / conference {conference.id}: {conference.title}")
    for poll_id, title, subjects in polls:
        click.echo(f"  cuộc biểu quyết / poll {poll_id}: {title} ({subjects} đối tượng / subjects)")


@conference_group.command("summary")
@click.argument("conference", type=int)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="tệp XLSX / the XLSX workbook to write",
)
@with_appcontext
def conference_summary_command(conference: int, out: Path) -> None:
    """Bảng tổng hợp kết quả các cuộc đã kiểm phiếu (XLSX) / the Board's summary (XLSX)."""
    with step() as session:
        summary = conference_summary(session, conference)
    out.write_bytes(summary_xlsx(summary))
    click.echo(f"Đã ghi bảng tổng hợp / summary written: {out} ({len(summary.rows)} dòng / rows)")
    for title in summary.not_counted:
        click.echo(f"  Chưa kiểm phiếu / not counted yet: {title}")


@click.group("review")
def review_group() -> None:
    """Đợt đánh giá (nhiều hội nghị) / a review (several conferences)."""


@review_group.command("summary")
@click.option(
    "--conference",
    "conferences",
    type=int,
    multiple=True,
    help="số hội nghị (lặp lại) / a conference (repeat)",
)
@click.option(
    "--year",
    type=click.IntRange(2000, 2100),
    default=None,
    help="mọi hội nghị họp trong năm / every conference dated in that year",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="tệp XLSX / the XLSX workbook to write",
)
@with_appcontext
def review_summary_command(conferences: tuple[int, ...], year: int | None, out: Path) -> None:
    """Bảng tổng hợp của cả đợt đánh giá (XLSX) / the summary across a review's conferences."""
    with step() as session:
        chosen = list(conferences) + (conferences_of_year(session, year) if year else [])
        summaries = review_summary(session, chosen)
    label = f"đợt đánh giá năm {year}" if year else ""
    out.write_bytes(summary_xlsx(summaries, label))
    rows = sum(len(s.rows) for s in summaries)
    click.echo(
        f"Đã ghi bảng tổng hợp / summary written: {out} ({len(summaries)} hội nghị /"
        f" conferences, {rows} dòng / rows)"
    )
    for s in summaries:
        for title in s.not_counted:
            click.echo(f"  Chưa kiểm phiếu / not counted yet: {s.conference}: {title}")


@conference_group.command("checks")
@click.argument("conference", type=int)
@with_appcontext
def conference_checks_command(conference: int) -> None:
    """Cảnh báo giữa các cuộc biểu quyết đã kiểm phiếu / warnings across the counted polls."""
    with step() as session:
        get_conference(session, conference)
        texts = conference_checks(session, conference)
    for text in texts:
        click.echo(f"CẢNH BÁO / WARNING: {text.vi}\n  {text.en}")
    if not texts:
        click.echo("Không có cảnh báo giữa các cuộc biểu quyết / no warning across the polls")


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


@conference_group.command("create")
@field_options(CONFERENCE, required=True)
@with_appcontext
def conference_create(**options: Any) -> None:
    """Tạo hội nghị (chưa có cuộc biểu quyết) / create a conference (no polls yet)."""
    with step() as session:
        conference_id = create_conference(session, options, actor=actor()).id
    _echo_conference(conference_id)


@conference_group.command("edit")
@click.argument("conference", type=int)
@field_options(CONFERENCE, required=False)
@with_appcontext
def conference_edit(conference: int, **options: Any) -> None:
    """Sửa hội nghị khi chưa mở cuộc biểu quyết nào / edit a conference before any poll opens."""
    changes = {k: v for k, v in options.items() if v is not None}
    with step() as session:
        update_conference(session, conference, changes, actor=actor())
    _echo_conference(conference)


@conference_group.command("list")
@with_appcontext
def conference_list() -> None:
    """Liệt kê hội nghị và cuộc biểu quyết / list conferences and their polls."""
    with db.transaction() as session:
        ids = session.scalars(select(Conference.id).order_by(Conference.date, Conference.id)).all()
    for conference_id in ids:
        _echo_conference(conference_id)
