"""`ballot demo --no-serve` (what `make demo` runs before serving): the sample conference set up,
every poll open, slips and trustee keys written privately, and a slip from them casts.

The demo is the one place the server plays the Organization Board (``demo_mint``, a throw-away
authority key): one slip per member present, the list imported as ``credentials.import`` and its
authority's fingerprint printed on the sheet."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path

from flask import Flask

from ballot import db
from ballot.models import Poll
from tally.ballots import encrypt_ballot
from tally.credentials import Credential
from tally.manifest import parse_manifest
from tally.record import key_fingerprint
from tally.trustees import TrusteeKey

from .conftest import CODE_RE


def test_demo_sets_up_the_sample_conference(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "/operator/" in result.output and str(out / "slips-poll-2.html") in result.output
    # The 2026 sample: the BTV's self-grade of the Đảng bộ tỉnh is counted first (simulated
    # ballots), then the BCH's adoption poll opens on its record.
    assert "http://127.0.0.1:5000/polls/1/record" in result.output
    with app.app_context():
        polls = db.get_session().query(Poll).order_by(Poll.id).all()
        assert [p.state for p in polls] == ["closed", "open", "open", "open"]
        present = {p.id: p.present for p in polls}
    assert present == {1: 15, 2: 15, 3: 15, 4: 48}  # poll 4: the BCH's 48 present of 50
    for path in (out / "operator.txt", out / "trustees" / "passphrase.txt"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    passphrase = (out / "trustees" / "passphrase.txt").read_text(encoding="utf-8").strip()
    client = app.test_client()
    for poll_id, count in present.items():
        slips = out / f"slips-poll-{poll_id}.html"
        assert stat.S_IMODE(slips.stat().st_mode) == 0o600
        sheet = slips.read_text(encoding="utf-8")
        codes = CODE_RE.findall(sheet)
        assert len(codes) == len(set(codes)) == count
        # The published list holds exactly the sheet's keys, signed by the key on the sheet.
        manifest = parse_manifest(client.get(f"/api/polls/{poll_id}/manifest").get_json())
        assert sorted(Credential.from_code(c).public_key for c in codes) == sorted(
            manifest.credentials
        )
        assert manifest.authority is not None and manifest.reserve == 0
        assert key_fingerprint(manifest.authority) in sheet
        # One committee for the conference and its key ceremony: any 2 of the 3 count.
        assert manifest.ceremony is not None and manifest.threshold == 2
        keys = sorted((out / "trustees").glob("trustee-*.key.json"))
        assert len(keys) == 3
        opened = TrusteeKey.load(keys[0], passphrase)  # the passphrase opens the keys
        assert opened.public.public_key in {t.public_key for t in manifest.trustees}
    # A slip of the printed sheet votes.
    manifest = parse_manifest(client.get("/api/polls/2/manifest").get_json())
    code = CODE_RE.findall((out / "slips-poll-2.html").read_text(encoding="utf-8"))[0]
    ctx = manifest.context
    ballot = encrypt_ballot(ctx, Credential.from_code(code), [0] * ctx.subjects)
    assert client.post("/api/polls/2/ballots", json=ballot).status_code == 201
    # Run again: the conference is kept as it is.
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert again.exit_code == 0 and "left unchanged" in again.output
    assert re.search(r"poll 2 \(open\)", again.output)


def test_demo_keeps_the_2023_sample(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = app.test_cli_runner().invoke(
        args=["demo", "--no-serve", "--out", str(out), "--sample", "2023"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        polls = db.get_session().query(Poll).order_by(Poll.id).all()
        assert [(p.state, p.rules_id) for p in polls] == [("open", "qd124-2023")] * 3


def _conferences(app: Flask) -> int:
    from sqlalchemy import func, select

    from ballot.models import Conference

    with app.app_context():
        return int(db.get_session().scalar(select(func.count(Conference.id))) or 0)


def test_a_busy_port_is_one_line_and_creates_nothing(app: Flask, tmp_path: Path) -> None:
    """Issue 17: with the port taken, ``ballot demo`` says so in one bilingual line before it
    creates the conference or the slips (no traceback)."""
    import socket

    out = tmp_path / "demo"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = app.test_cli_runner().invoke(args=["demo", "--port", str(port), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert (
        f"cổng {port} đang được dùng" in result.output and f"port {port} is in use" in result.output
    )
    assert "make demo PORT=" in result.output and "Traceback" not in result.output
    assert _conferences(app) == 0 and not out.exists()


def test_reset_removes_the_demo_and_the_next_demo_starts_afresh(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "--no-serve", "--out", str(out)]).exit_code == 0
    assert _conferences(app) == 1
    with app.app_context():
        url = db.engine().url
    result = runner.invoke(args=["demo", "--reset", "--out", str(out)])
    if url.get_backend_name() != "sqlite":
        assert result.exit_code == 1 and "not SQLite" in result.output
        assert out.exists() and _conferences(app) == 1  # nothing removed
        return
    assert result.exit_code == 0, result.output
    assert "make demo sets it up afresh" in result.output
    assert not out.exists() and not Path(str(url.database)).exists()
    again = runner.invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert again.exit_code == 0 and "the sample conference is set up" in again.output
    assert _conferences(app) == 1
    nothing = runner.invoke(args=["demo", "--reset", "--out", str(tmp_path / "none")])
    assert nothing.exit_code == 0 and "no demo to reset" in nothing.output


def test_reset_while_the_demo_serves_is_refused_and_loses_nothing(tmp_path: Path) -> None:
    """A real ``ballot demo`` serving; ``ballot demo --reset`` from another shell is refused with
    a bilingual line, and the database and files stay; after Ctrl+C the reset goes through."""
    import subprocess

    from tests.support.server import Server, free_port, request, server_env, stop_server, wait_until

    database = tmp_path / "ballot.sqlite3"
    env = server_env(tmp_path / "instance", f"sqlite:///{database}", tmp_path / "keys")
    out = tmp_path / "demo"
    port = free_port()
    command = [*SERVE_CLI, "demo", "--port", str(port), "--out", str(out)]
    log = tmp_path / "demo.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until(server, lambda: _answers(server.base + "/"), seconds=120)
        refused = subprocess.run(
            [*SERVE_CLI, "demo", "--reset", "--out", str(out)],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        message = refused.stderr.decode("utf-8")
        assert refused.returncode == 1, message
        assert "đang chạy" in message and "is running" in message
        assert database.exists() and (out / "operator.txt").exists()
        assert request(server.base + "/")[0] == 200
    finally:
        stop_server(server)
    done = subprocess.run(
        [*SERVE_CLI, "demo", "--reset", "--out", str(out)],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8")
    assert not database.exists() and not out.exists()


SERVE_CLI = [sys.executable, "-c", "from ballot.cli import main; main()"]


def _answers(url: str) -> bool:
    from tests.support.server import request

    try:
        return request(url, timeout=5)[0] == 200
    except OSError:
        return False
