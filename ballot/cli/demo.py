"""``ballot demo``: the sample conference, ready to vote on, served on this machine.

On an empty database it runs the same steps an Organization Board would (each through the real
service functions, each in the audit log): an operator account, the sample conference from
``docs/examples/hoi-nghi-2026.toml`` (``--sample 2023``: the 2023 one), one counting committee of
three trustees for every poll (their encrypted key files go to ``out/demo/trustees/`` with the demo
passphrase beside them, so the counting can be tried) and its key ceremony, any 2 of the 3
counting (docs/protocol.md 9.4), one slip per voter of each poll (printable sheets in ``out/demo/``,
mode 0600), and every poll opened. A poll whose result another adopts (the Standing Committee's
self-grade of the Đảng bộ tỉnh) is voted with simulated ballots and counted first, so that the
adoption poll opens on its signed record.
On a database that already holds a conference it changes nothing and only serves it.

A busy port is refused with one bilingual line before anything is created. ``--reset`` removes the
demo's SQLite database and its files (``out/demo``) together and exits, refusing while the demo's
server runs (its ``server.pid``); the next ``ballot demo`` sets up afresh.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import socket
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ballot import db
from ballot.cli.common import url_host
from ballot.cli.server import init_command, serve_command
from ballot.config import PROJECT_ROOT
from ballot.keys import load_signing_key
from ballot.models import Conference, Poll
from ballot.services.attendance import add_statement, attendance_jsonl, ballots_cast
from ballot.services.casting import cast
from ballot.services.ceremony import add_check, add_dealing, start_ceremony
from ballot.services.conference_file import import_conference
from ballot.services.counting import add_share, finish_count, start_count
from ballot.services.credentials import demo_mint
from ballot.services.operators import create_operator
from ballot.services.polls import close_poll, open_poll
from ballot.services.trustees import add_trustee
from tally.attendance import check_attendance, sign_statement
from tally.ballots import encrypt_ballot
from tally.canonical import canonical_json
from tally.credentials import Credential
from tally.dkg import decrypt_share as decrypt_threshold
from tally.dkg import make_check, make_dealing, threshold_key
from tally.keyfile import write_private
from tally.manifest import parse_manifest
from tally.record import ServiceKey
from tally.slips import render_slips
from tally.trustees import TrusteeKey

SAMPLES = {
    "2026": PROJECT_ROOT / "docs" / "examples" / "hoi-nghi-2026.toml",
    "2023": PROJECT_ROOT / "docs" / "examples" / "hoi-nghi-2023.toml",
}
EXAMPLE = SAMPLES["2026"]
ACTOR = "demo"
# The counting committee of every poll (placeholder names); the first is its head.
TRUSTEES = (
    ("Nguyễn Văn An", "Ủy viên Ban Chấp hành Đảng bộ tỉnh"),
    ("Trần Thị Bình", "Ủy viên Ban Chấp hành Đảng bộ tỉnh"),
    ("Lê Văn Cường", "Ủy viên Ban Chấp hành Đảng bộ tỉnh"),
)


def _write_secret(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    write_private(path, text)


def _committee(out: Path, passphrase: str) -> list[TrusteeKey]:
    """The conference's counting committee: three keys, saved encrypted under the demo's
    passphrase so the counting can be tried (a real trustee makes theirs on their own device)."""
    keys = []
    for k, (name, _post) in enumerate(TRUSTEES, start=1):
        key = TrusteeKey.generate(name)
        path = out / "trustees" / f"trustee-{k}.key.json"
        path.unlink(missing_ok=True)
        key.save(path, passphrase)
        keys.append(key)
    return keys


def _register(poll_id: int, keys: list[TrusteeKey]) -> None:
    with db.transaction() as session:
        for key, (_name, post) in zip(keys, TRUSTEES, strict=True):
            add_trustee(session, poll_id, key.public.to_json(), actor=ACTOR, post=post)


def _ceremony(conference_id: int, keys: list[TrusteeKey]) -> None:
    """DEMO SHORTCUT: the key ceremony (any 2 of the 3 count) with every trustee's step taken
    here; on the day each trustee deals and checks on their own device."""
    with db.transaction() as session:
        view = start_ceremony(session, conference_id, None, actor=ACTOR)
    dealings = [make_dealing(view.ceremony, key) for key in keys]
    for dealing in dealings:
        with db.transaction() as session:
            add_dealing(session, conference_id, dealing, actor=ACTOR)
    for key in keys:
        with db.transaction() as session:
            add_check(session, conference_id, make_check(view.ceremony, key, dealings), actor=ACTOR)


def _prepare(poll_id: int, out: Path, base_url: str, signing_key: ServiceKey) -> list[Credential]:
    """The slips (one per member present) and the poll opened; returns the slips' credentials,
    which only a demo keeps."""
    with db.transaction() as session:
        poll = db.write_lock(session, poll_id)  # a writer's transaction from its first statement
        assert poll is not None
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
        del sheet
        # The demo acknowledges the template rule set, as an operator would (audited).
        open_poll(session, poll_id, signing_key.public_key, actor=ACTOR, acknowledge_rules=True)
    return minted


def _vote_and_count(
    poll_id: int, keys: list[TrusteeKey], slips: list[Credential], signing_key: ServiceKey
) -> None:
    """DEMO SHORTCUT: the Standing Committee's self-grade of the Đảng bộ tỉnh is voted with the
    demo's own slips (simulated choices: mostly the proposed grade), closed, attested by the
    committee's head and counted with two of the three trustees' shares (any 2 of 3); then the
    adoption poll can open on its signed result."""
    with db.transaction() as session:
        poll = session.get_one(Poll, poll_id)
        manifest = parse_manifest(json.loads(poll.manifest or "{}"))
    ctx = manifest.context
    grades = list(manifest.rules.grade_codes)
    for k, credential in enumerate(slips):
        choices: list[int | None] = []
        for info in manifest.subjects:
            proposed = grades.index(info.proposed_grade) if info.proposed_grade in grades else 1
            # Four voters in five follow the proposal; the others grade one step lower.
            choices.append(proposed if k % 5 else min(proposed + 1, len(grades) - 1))
        ballot = encrypt_ballot(ctx, credential, choices)
        with db.new_session() as session:  # cast runs its own transaction
            cast(session, poll_id, canonical_json(ballot))
    with db.transaction() as session:
        close_poll(session, poll_id, actor=ACTOR)
    with db.transaction() as session:
        poll = session.get_one(Poll, poll_id)
        chain = check_attendance(
            attendance_jsonl(session, poll_id), manifest.fingerprint, manifest.eligible
        )
        board_head, ballots = poll.board_head, ballots_cast(session, poll_id)
    assert manifest.poll_uid is not None and board_head is not None
    statement = sign_statement(
        keys[0],
        fingerprint=manifest.fingerprint,
        poll_uid=manifest.poll_uid,
        attendance=chain,
        board_head=board_head,
        electronic_ballots=ballots,
    )
    with db.transaction() as session:
        add_statement(session, poll_id, statement, actor=ACTOR)
    with db.transaction() as session:
        files = start_count(session, poll_id, actor=ACTOR)
    aggregate = json.loads(files.aggregate)
    ceremony, transcript = manifest.ceremony, manifest.data["election"]["ceremony"]
    assert ceremony is not None
    # Any 2 of the 3 count: the committee's head and its second member decrypt.
    for key in keys[: ceremony.threshold]:
        held = threshold_key(ceremony, transcript["dealings"], transcript["checks"], key)
        with db.transaction() as session:
            add_share(session, poll_id, decrypt_threshold(aggregate, held), actor=ACTOR)
    with db.transaction() as session:
        finish_count(
            session, poll_id, signing_key, actor=ACTOR, timezone=current_app.config["TIMEZONE"]
        )


def set_up(out: Path, base_url: str, signing_key: ServiceKey, example: Path = EXAMPLE) -> None:
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    (out / "trustees").mkdir(exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(12)
    passphrase = secrets.token_urlsafe(12)
    with db.transaction() as session:
        create_operator(session, "bantochuc", password, actor=ACTOR)
    with db.transaction() as session:
        conference = import_conference(session, example, actor=ACTOR)
        conference_id = conference.id
        polls = [(poll.id, poll.adopts_id) for poll in conference.polls]
    _write_secret(out / "operator.txt", f"bantochuc\n{password}\n")
    _write_secret(out / "trustees" / "passphrase.txt", passphrase + "\n")
    # One counting committee for the conference, and its key ceremony before any poll opens.
    keys = _committee(out, passphrase)
    for poll_id, _adopts in polls:
        _register(poll_id, keys)
    _ceremony(conference_id, keys)
    adopted = {a for _p, a in polls if a is not None}
    prepared: dict[int, list[Credential]] = {}
    for poll_id, adopts in polls:
        if adopts is None:
            prepared[poll_id] = _prepare(poll_id, out, base_url, signing_key)
    # The adopted result is counted first (43-HD Mục 3: the BCH adopts the BTV's grade).
    for poll_id in sorted(adopted):
        _vote_and_count(poll_id, keys, prepared[poll_id], signing_key)
    for poll_id, adopts in polls:
        if adopts is not None:
            _prepare(poll_id, out, base_url, signing_key)
    prepared.clear()


MARKER = ".demo-database"  # in the out folder: the database URL the demo set up
PIDFILE = "server.pid"  # in the out folder while the demo serves


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (a bilingual line), or None if it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"cổng {port} đang được dùng: chọn cổng khác, ví dụ make demo PORT=5080 hoặc"
                    f" ballot demo --port 5080; chưa tạo gì / port {port} is in use: choose"
                    " another, e.g. make demo PORT=5080 or ballot demo --port 5080; nothing was"
                    " created"
                )
            return (
                f"không nghe được trên {host}:{port} ({exc.strerror}); chưa tạo gì / cannot listen"
                f" on {host}:{port} ({exc.strerror}); nothing was created"
            )
    return None


def _running(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text(encoding="ascii").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def reset(out_dir: Path) -> str:
    """Remove the demo's database and files; a bilingual line saying what was done."""
    pid = _running(out_dir / PIDFILE)
    if pid is not None:
        raise click.ClickException(
            f"máy chủ của bản demo đang chạy (tiến trình {pid}): dừng nó (Ctrl+C) rồi làm lại;"
            f" không xóa gì / the demo's server is running (process {pid}): stop it (Ctrl+C) and"
            " try again; nothing was removed"
        )
    marker = out_dir / MARKER
    configured = db.engine().url
    if not marker.is_file():
        if out_dir.exists():
            _remove_tree(out_dir)
            return f"Đã xóa tệp của bản demo / removed the demo's files: {out_dir}"
        return "Không có bản demo để xóa / there is no demo to reset"
    recorded = make_url(marker.read_text(encoding="utf-8").strip())
    if recorded.get_backend_name() != "sqlite" or recorded.database is None:
        raise click.ClickException(
            "cơ sở dữ liệu của bản demo không phải SQLite: xóa nó bằng tay; không xóa gì / the"
            " demo's database is not SQLite: drop it by hand; nothing was removed"
        )
    if recorded.render_as_string() != configured.render_as_string():
        raise click.ClickException(
            f"bản demo dùng cơ sở dữ liệu khác ({recorded.database}) với cấu hình hiện tại; không"
            f" xóa gì / the demo used another database ({recorded.database}) than the one"
            " configured now; nothing was removed"
        )
    db.engine().dispose()
    database = Path(recorded.database)
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    _remove_tree(out_dir)
    return (
        f"Đã xóa bản demo (cơ sở dữ liệu {database} và {out_dir}); make demo sẽ dựng lại"
        f" / removed the demo (database {database} and {out_dir}); make demo sets it up afresh"
    )


def _remove_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    folder.rmdir()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="cổng / TCP port (make demo PORT=…)",
)
@click.option("--out", default=str(PROJECT_ROOT / "out" / "demo"), show_default=True)
@click.option("--no-serve", is_flag=True, help="chỉ chuẩn bị, không chạy máy chủ / set up only")
@click.option(
    "--sample",
    type=click.Choice(sorted(SAMPLES)),
    default="2026",
    show_default=True,
    help="hội nghị mẫu / the sample conference (2026: Quy định 366; 2023: Quy định 124)",
)
@click.option(
    "--reset",
    "do_reset",
    is_flag=True,
    help="xóa cơ sở dữ liệu và tệp của bản demo rồi thoát / remove the demo's database and files",
)
@click.pass_context
@with_appcontext
def demo_command(
    ctx: click.Context,
    host: str,
    port: int,
    out: str,
    no_serve: bool,
    sample: str,
    do_reset: bool,
) -> None:
    """Hội nghị mẫu, sẵn sàng bỏ phiếu / the sample conference, ready to vote on, served."""
    out_dir = Path(out)
    if do_reset:
        click.echo(reset(out_dir))
        return
    if not no_serve:
        problem = port_problem(host, port)
        if problem is not None:
            raise click.ClickException(problem)
    ctx.invoke(init_command)
    base_url = os.environ.get("BALLOT_BASE_URL") or f"http://{url_host(host)}:{port}"
    current_app.config["BASE_URL"] = base_url
    session = db.get_session()
    if session.scalar(select(func.count(Conference.id))) == 0:
        set_up(out_dir, base_url, load_signing_key(), SAMPLES[sample])
        # Not secrets, but in the demo's private folder every file is 0600 like the others.
        _write_secret(out_dir / MARKER, db.engine().url.render_as_string(hide_password=True) + "\n")
        _write_secret(out_dir / "base-url.txt", base_url + "\n")
        click.echo("Đã tạo hội nghị mẫu / the sample conference is set up")
    else:
        click.echo("Đã có hội nghị: giữ nguyên / a conference exists already: left unchanged")
        printed = out_dir / "base-url.txt"
        earlier = printed.read_text(encoding="utf-8").strip() if printed.is_file() else None
        if earlier and earlier != base_url:
            click.echo(
                f"CHÚ Ý: phiếu in ghi địa chỉ {earlier}; mã QR chỉ chứa mã cuộc biểu quyết và mã"
                f" thẻ nên vẫn dùng được; mở trang bỏ phiếu ở {base_url} (ballot demo --reset để"
                f" dựng lại) / NOTE: the printed slips show {earlier}; their QR codes hold only"
                f" the poll and the code, so they still work; open the booth at {base_url}"
                " (ballot demo --reset to start afresh)",
                err=True,
            )
    with db.new_session() as fresh:  # a session that sees the set-up's commits
        polls = [(p.id, p.state, p.title) for p in fresh.scalars(select(Poll).order_by(Poll.id))]
        conferences = list(fresh.scalars(select(Conference.id).order_by(Conference.id)))
    click.echo("")
    click.echo(f"Người vận hành / operator: {base_url}/operator/ ({out_dir}/operator.txt)")
    for conference_id in conferences:
        click.echo(
            "Trang bỏ phiếu của hội nghị (mở trên máy tính bảng) / the conference's booth (open it"
            f" on the tablet): {base_url}/conferences/{conference_id}/booth"
        )
    for poll_id, state, title in polls:
        click.echo(f"Cuộc biểu quyết / poll {poll_id} ({state}): {title}")
        if state == "closed":
            click.echo(
                "  Đã kiểm phiếu bằng phiếu mô phỏng của bản demo / counted with the demo's"
                f" simulated ballots: {base_url}/polls/{poll_id}/record"
            )
            continue
        click.echo(f"  Phiếu in (mã QR) / printable slips: {out_dir}/slips-poll-{poll_id}.html")
        click.echo(f"  Bảng điều khiển / dashboard: {base_url}/operator/polls/{poll_id}/dashboard")
        click.echo(f"  Bảng tin công khai / public board: {base_url}/polls/{poll_id}/board")
    click.echo(f"Khóa Ban kiểm phiếu / trustee keys: {out_dir}/trustees/ (passphrase.txt)")
    click.echo(
        "Mở trang bỏ phiếu, đưa mã QR của một thẻ (tệp phiếu in) vào trước máy ảnh hoặc nhập mã in"
        " dưới mã QR / open the booth, show a slip's QR code (from a slips file) to the camera or"
        " type the code printed under it"
    )
    click.echo("")
    if not no_serve:
        pidfile = out_dir / PIDFILE
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
        try:
            ctx.invoke(serve_command, host=host, port=port, threads=8)
        finally:
            pidfile.unlink(missing_ok=True)
