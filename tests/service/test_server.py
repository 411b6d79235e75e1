"""``ballot serve``: real HTTP through waitress in a subprocess, on 127.0.0.1 only, time-bounded."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ballot import create_app, db
from tally.ballots import encrypt_ballot, tracking_code
from tally.credentials import Credential
from tally.manifest import parse_manifest
from tests.support.server import (
    SERVE,
    SERVE_WITH_FAULT,
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


# A time of day or a date, as any logging format writes it (02:32:29, 2026-12-02, 02:32).
TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b")


def test_no_moment_of_a_cast_in_the_output_even_after_a_500(tmp_path: Path) -> None:
    """Issue 14, finding 1: a real unhandled error first (Flask then sets up its logger), then a
    burst of casts and some refusals through ``ballot serve``. Its whole output holds no time,
    no line per accepted cast, and no credential key, tracking code or commitment; the accepted
    casts appear once, as a total, when the server stops."""
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
    opened = prepare_poll(app, tmp_path, 1, 15)
    with app.app_context():
        db.engine().dispose()
    server = start_server(env, tmp_path / "server.log", threads=8, command=SERVE_WITH_FAULT)
    base = server.base
    secrets: list[str] = []
    try:
        status, _ = _request(f"{base}/test/fault")
        assert status == 500
        ctx = opened.manifest.context
        ballots = [
            json.dumps(
                encrypt_ballot(ctx, Credential.from_code(code), [k % 4] * ctx.subjects)
            ).encode("utf-8")
            for k, code in enumerate(opened.codes)
        ]
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda b: _request(f"{base}/api/polls/1/ballots", b), ballots))
        assert [status for status, _ in answers] == [201] * len(ballots), answers
        for _, data in answers:
            receipt = json.loads(data)
            secrets += [receipt["tracking_code"], receipt["tracking_hash"]]
            secrets += [receipt["commitment"]] if receipt.get("commitment") else []
        secrets += [json.loads(b)["credential"] for b in ballots]
        # Refusals are logged (one line each, with no body): a replay and a malformed ballot.
        assert _request(f"{base}/api/polls/1/ballots", ballots[0])[0] == 409
        assert _request(f"{base}/api/polls/1/ballots", b"{not json")[0] == 400
    finally:
        stop_server(server)
    output = server.log()
    assert "RuntimeError: a fault planted by the log test" in output  # the 500 was logged
    assert "GET /test/fault 500" in output
    assert TIME.search(output) is None, TIME.search(output)
    cast_lines = [line for line in output.splitlines() if "/ballots" in line]
    assert cast_lines == [
        "POST /api/polls/1/ballots 409",
        "POST /api/polls/1/ballots 400",
        f"  {len(ballots)} × POST /api/polls/<id:poll_id>/ballots 201",
    ], cast_lines
    for secret in secrets:
        assert secret not in output
