"""``ballot serve``: real HTTP through waitress in a subprocess, on 127.0.0.1 only, time-bounded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ballot import create_app, db
from tally.ballots import encrypt_ballot, tracking_code
from tally.credentials import Credential
from tally.manifest import parse_manifest

from .conftest import EXAMPLE, prepare_poll, run

STARTUP_SECONDS = 15
SERVE = [sys.executable, "-c", "from ballot.cli import main; main()", "serve"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BALLOT_INSTANCE=str(tmp_path / "instance"),
        BALLOT_DATABASE_URL=f"sqlite:///{tmp_path / 'ballot.sqlite3'}",
        BALLOT_KEYS_DIR=str(tmp_path / "keys"),
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    for name in ("FLASK_APP", "FLASK_DEBUG", "FLASK_RUN_PORT", "FLASK_RUN_HOST"):
        env.pop(name, None)
    return env


def _request(url: str, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[list[str]]:
    """An initialised SQLite instance with poll 1 open and 3 credentials; yields their codes."""
    env = _env(tmp_path)
    app = create_app(
        {
            "INSTANCE_PATH": env["BALLOT_INSTANCE"],
            "DATABASE_URL": env["BALLOT_DATABASE_URL"],
            "KEYS_DIR": env["BALLOT_KEYS_DIR"],
            "TESTING": True,
        }
    )
    run(app, "init")
    run(app, "conference", "import", str(EXAMPLE))
    opened = prepare_poll(app, tmp_path, 1, 3)
    with app.app_context():
        db.engine().dispose()
    yield opened.codes


def test_serve_answers_real_http_and_stops(instance: list[str], tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*SERVE, "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
            env=_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, log_path.read_text(encoding="utf-8")
            try:
                status, data = _request(f"{base}/api/polls/1/manifest")
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text(encoding="utf-8")
                time.sleep(0.1)
        assert status == 200
        output = log_path.read_text(encoding="utf-8")
        assert f"{base}/booth/" in output and f"{base}/api/" in output
        assert "Máy chủ bỏ phiếu đang chạy" in output and "ballot server running" in output

        ctx = parse_manifest(json.loads(data)).context
        ballot = json.dumps(
            encrypt_ballot(ctx, Credential.from_code(instance[0]), [1] * ctx.subjects)
        )
        status, data = _request(f"{base}/api/polls/1/ballots", ballot.encode("utf-8"))
        assert status == 201, data
        receipt = json.loads(data)
        assert receipt["position"] == 1
        assert receipt["tracking_code"] == tracking_code(bytes.fromhex(receipt["tracking_hash"]))

        status, data = _request(f"{base}/api/polls/1/ballots", ballot.encode("utf-8"))
        assert status == 409
        assert json.loads(data)["error"]["code"] == "credential_used"

        status, data = _request(f"{base}/api/polls/1/ballots", b"{not json")
        assert status == 400
        assert json.loads(data)["error"]["code"] == "malformed_ballot"

        status, data = _request(f"{base}/api/polls/1/board")
        assert status == 200
        assert [e["tracking_code"] for e in json.loads(data)["entries"]] == [
            receipt["tracking_code"]
        ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    assert server.returncode is not None


def test_serve_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SERVE, "--port", str(_free_port())],
        env=_env(tmp_path),
        capture_output=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    message = result.stderr.decode("utf-8")
    assert result.returncode != 0
    assert "chưa được khởi tạo" in message and "not initialised" in message
    assert "ballot init" in message
    assert "running" not in result.stdout.decode("utf-8")
