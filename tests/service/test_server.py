"""``ballot serve``: real HTTP through waitress in a subprocess, on 127.0.0.1 only, time-bounded."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ballot import create_app, db
from tally.ballots import encrypt_ballot, tracking_code
from tally.credentials import Credential
from tally.manifest import parse_manifest
from tests.support.server import (
    SERVE,
    STARTUP_SECONDS,
    free_port,
    server_env,
    start_server,
    stop_server,
)
from tests.support.server import request as _request

from .conftest import EXAMPLE, prepare_poll, run


def _env(tmp_path: Path) -> dict[str, str]:
    database = f"sqlite:///{tmp_path / 'ballot.sqlite3'}"
    return server_env(tmp_path / "instance", database, tmp_path / "keys")


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
    server = start_server(_env(tmp_path), tmp_path / "server.log", threads=2)
    base, log_path = server.base, server.log_path
    try:
        status, data = _request(f"{base}/api/polls/1/manifest")
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
        stop_server(server)
    assert server.process.returncode is not None


def test_serve_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SERVE, "--port", str(free_port())],
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
