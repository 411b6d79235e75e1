"""``ballot ceremony``: a conference's key ceremony (k of n, docs/protocol.md 9.4) run from the
operator's computer: start it, hand in the trustees' dealings and checks from their own
computers (``tally trustee deal`` and ``check``), write the files they need, show where it is."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from ballot import db
from ballot.cli.common import actor, fail, step
from ballot.services.ceremony import (
    CeremonyView,
    add_check,
    add_dealing,
    ceremony_of,
    start_ceremony,
)
from ballot.services.errors import ServiceError
from tally.record import key_fingerprint

STATES = {
    "dealing": "đang nhận phần chia / taking the dealings",
    "checking": "đang nhận xác nhận / taking the checks",
    "done": "xong: đã có khóa chung / done: the poll's key exists",
    "failed": "không thành / failed",
}


def _grouped(hex_text: str) -> str:
    return " ".join(hex_text[i : i + 4] for i in range(0, len(hex_text), 4))


def show(view: CeremonyView) -> None:
    c = view.ceremony
    click.echo(
        f"Lễ tạo khóa / key ceremony {c.uid}: bất kỳ {c.threshold} trong {c.n} thành viên"
        f" / any {c.threshold} of {c.n} trustees"
    )
    click.echo(f"  Mã lễ (đối chiếu trên giấy) / ceremony digest: {_grouped(c.digest.hex())}")
    click.echo(f"  Trạng thái / state: {STATES[view.state]}")
    for m, t in enumerate(c.trustees, start=1):
        assert t.signing_key is not None
        dealt = "✓" if view.dealings[m - 1] is not None else "·"
        checked = "✓" if view.checks[m - 1] is not None else "·"
        click.echo(
            f"  {m}. {t.name} ({key_fingerprint(t.signing_key)})"
            f"  phần chia / dealt {dealt}  xác nhận / checked {checked}"
        )
    if view.outcome is not None:
        click.echo(f"  Khóa chung / poll key: {_grouped(view.outcome.public_key.hex())}")
        for f in view.outcome.faults:
            click.echo(f"  SAI PHẠM / FAULT: {f.name} ({f.reason})")
    if view.failure:
        click.echo(f"  Không thành / failed: {view.failure}")


@click.group("ceremony")
def ceremony_group() -> None:
    """Lễ tạo khóa của hội nghị (bất kỳ k trong n) / the conference's key ceremony (k of n)."""


@ceremony_group.command("start")
@click.argument("conference", type=int)
@click.option(
    "--threshold",
    type=int,
    default=None,
    help="k: số thành viên đủ để kiểm phiếu (mặc định quá bán) / any k count (default: a majority)",
)
@click.option(
    "--restart",
    is_flag=True,
    help="làm lại lễ đang dở hoặc đã xong (khi chưa mở cuộc nào) / start again a stalled or"
    " finished ceremony (while no poll has opened)",
)
@with_appcontext
def ceremony_start(conference: int, threshold: int | None, restart: bool) -> None:
    """Bắt đầu lễ tạo khóa / start the key ceremony with the registered counting committee."""
    with step() as session:
        view = start_ceremony(session, conference, threshold, actor=actor(), restart=restart)
    show(view)
    click.echo(
        "  Tiếp theo / next: ballot ceremony files HOI_NGHI --out-dir DIR; tally trustee deal"
    )


@ceremony_group.command("status")
@click.argument("conference", type=int)
@with_appcontext
def ceremony_status(conference: int) -> None:
    """Trạng thái lễ tạo khóa / where the key ceremony is."""
    with step() as session:
        view = ceremony_of(session, conference)
    show(view)


@ceremony_group.command("files")
@click.argument("conference", type=int)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@with_appcontext
def ceremony_files(conference: int, out_dir: Path) -> None:
    """Tệp cho Ban kiểm phiếu / the files for the trustees: ceremony.json (and dealings.json)."""
    with step() as session:
        view = ceremony_of(session, conference)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ceremony.json").write_text(
        json.dumps(view.ceremony.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    click.echo(f"  {out_dir / 'ceremony.json'}: tally trustee deal --ceremony …")
    if all(d is not None for d in view.dealings):
        (out_dir / "dealings.json").write_text(json.dumps(view.dealings) + "\n", encoding="utf-8")
        click.echo(f"  {out_dir / 'dealings.json'}: tally trustee check --dealings …")


def _hand_in(conference: int, path: Path, kind: str) -> None:
    try:
        with db.transaction() as session:
            add = add_dealing if kind == "deal" else add_check
            index = add(session, conference, path.read_bytes(), actor=actor())
            view = ceremony_of(session, conference)
    except ServiceError as exc:
        raise fail(exc) from None
    name = view.ceremony.name(index)
    what = "phần chia / dealing" if kind == "deal" else "xác nhận / check"
    click.echo(f"Đã nhận {what} (chữ ký và chứng minh đúng) của / accepted from: {name}")
    show(view)


@ceremony_group.command("deal")
@click.argument("conference", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def ceremony_deal(conference: int, file: Path) -> None:
    """Nhận phần chia của một thành viên / hand in a trustee's dealing (tally trustee deal)."""
    _hand_in(conference, file, "deal")


@ceremony_group.command("check")
@click.argument("conference", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def ceremony_check(conference: int, file: Path) -> None:
    """Nhận xác nhận của một thành viên / hand in a trustee's check (tally trustee check)."""
    _hand_in(conference, file, "check")
