"""``ballot demo``: the sample conference, ready to vote on, served on this machine.

On an empty database it runs the same steps an Organization Board would (each through the real
service functions, each in the audit log): an operator account, the sample conference from
``docs/examples/hoi-nghi-2023.toml``, three trustees per poll (their encrypted key files go to
``out/demo/trustees/`` with the demo passphrase beside them, so the counting can be tried), one slip
per voter of each poll (printable sheets in ``out/demo/``, mode 0600), and every poll opened.
On a database that already holds a conference it changes nothing and only serves it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ballot import db
from ballot.cli.common import url_host
from ballot.cli.server import init_command, serve_command
from ballot.config import PROJECT_ROOT
from ballot.keys import load_signing_key
from ballot.models import Conference, Poll
from ballot.services.conference_file import import_conference
from ballot.services.credentials import demo_mint
from ballot.services.operators import create_operator
from ballot.services.polls import open_poll
from ballot.services.trustees import add_trustee
from tally.keyfile import write_private
from tally.record import ServiceKey
from tally.slips import render_slips
from tally.trustees import TrusteeKey

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "hoi-nghi-2023.toml"
ACTOR = "demo"
TRUSTEES = ("Trưởng Ban kiểm phiếu", "Thành viên Ban kiểm phiếu 1", "Thành viên Ban kiểm phiếu 2")


def _write_secret(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    write_private(path, text)


def set_up(out: Path, base_url: str, signing_key: ServiceKey) -> None:
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    trustee_dir = out / "trustees"
    trustee_dir.mkdir(exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(12)
    passphrase = secrets.token_urlsafe(12)
    with db.transaction() as session:
        create_operator(session, "bantochuc", password, actor=ACTOR)
    with db.transaction() as session:
        conference = import_conference(session, EXAMPLE, actor=ACTOR)
        poll_ids = [poll.id for poll in conference.polls]
    _write_secret(out / "operator.txt", f"bantochuc\n{password}\n")
    _write_secret(trustee_dir / "passphrase.txt", passphrase + "\n")
    for poll_id in poll_ids:
        with db.transaction() as session:
            for k, name in enumerate(TRUSTEES, start=1):
                key = TrusteeKey.generate(name)
                path = trustee_dir / f"poll-{poll_id}-trustee-{k}.key.json"
                path.unlink(missing_ok=True)
                key.save(path, passphrase)
                add_trustee(session, poll_id, key.public.to_json(), actor=ACTOR)
            poll = session.get_one(Poll, poll_id)
            # DEMO SHORTCUT: the server plays the Organization Board with a throw-away
            # authority key. A real conference mints offline (tally credentials mint).
            fingerprint, minted = demo_mint(session, poll_id, poll.present, actor=ACTOR)
            sheet = render_slips(
                poll_uid=poll.uid,
                title=poll.title,
                booth_url=f"{base_url.rstrip('/')}/booth/{poll_id}",
                slips=minted,
                reserve=[],
                fingerprint=fingerprint,
            )
            _write_secret(out / f"slips-poll-{poll_id}.html", sheet)
            del minted, sheet
            # The demo acknowledges the template rule set, as an operator would (audited).
            open_poll(session, poll_id, signing_key.public_key, actor=ACTOR, acknowledge_rules=True)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--out", default=str(PROJECT_ROOT / "out" / "demo"), show_default=True)
@click.option("--no-serve", is_flag=True, help="chỉ chuẩn bị, không chạy máy chủ / set up only")
@click.pass_context
@with_appcontext
def demo_command(ctx: click.Context, host: str, port: int, out: str, no_serve: bool) -> None:
    """Hội nghị mẫu, sẵn sàng bỏ phiếu / the sample conference, ready to vote on, served."""
    ctx.invoke(init_command)
    out_dir = Path(out)
    base_url = os.environ.get("BALLOT_BASE_URL") or f"http://{url_host(host)}:{port}"
    current_app.config["BASE_URL"] = base_url
    session = db.get_session()
    if session.scalar(select(func.count(Conference.id))) == 0:
        set_up(out_dir, base_url, load_signing_key())
        click.echo("Đã tạo hội nghị mẫu / the sample conference is set up")
    else:
        click.echo("Đã có hội nghị: giữ nguyên / a conference exists already: left unchanged")
    with db.new_session() as fresh:  # a session that sees the set-up's commits
        polls = [(p.id, p.state, p.title) for p in fresh.scalars(select(Poll).order_by(Poll.id))]
    click.echo("")
    click.echo(f"Người vận hành / operator: {base_url}/operator/ ({out_dir}/operator.txt)")
    for poll_id, state, title in polls:
        click.echo(f"Cuộc biểu quyết / poll {poll_id} ({state}): {title}")
        click.echo(f"  Phiếu in (mã QR) / printable slips: {out_dir}/slips-poll-{poll_id}.html")
        click.echo(f"  Bảng điều khiển / dashboard: {base_url}/operator/polls/{poll_id}/dashboard")
        click.echo(f"  Bảng tin công khai / public board: {base_url}/polls/{poll_id}/board")
    click.echo(f"Khóa Ban kiểm phiếu / trustee keys: {out_dir}/trustees/ (passphrase.txt)")
    click.echo(
        "Mở tệp phiếu in trong trình duyệt, bấm (hoặc quét) một mã QR để bỏ phiếu /"
        " open a slips file and follow (or scan) a QR code to vote"
    )
    click.echo("")
    if not no_serve:
        ctx.invoke(serve_command, host=host, port=port, threads=8)
