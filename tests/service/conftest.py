"""Service fixtures: one fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL tests (marker ``postgres``) each get their own database ``ballot_test_<random>``, dropped
afterwards, so runs never collide. If the server is unreachable they fail when ``CI`` is set and
are skipped (with the reason) otherwise.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ballot import create_app, db
from tally.credentials import Credential
from tally.manifest import Manifest, parse_manifest
from tally.trustees import TrusteeKey

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "hoi-nghi-2023.toml"
POSTGRES_URL = os.environ.get(
    "BALLOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CODE_RE = re.compile(r'<div class="code">([A-Z2-7-]+)</div>')


def _postgres_url() -> str:
    url = make_url(POSTGRES_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Any]:
    engine = create_engine(_postgres_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        reason = f"PostgreSQL unreachable at {POSTGRES_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ballot.sqlite3'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    name = f"ballot_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_postgres_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": "http://hoi-truong.lan:8000",
            "TESTING": True,
        }
    )
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine().dispose()


def run(app: Flask, *args: str) -> str:
    """Run a ``ballot`` command; assert it succeeded; return its output."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@dataclass
class OpenPoll:
    app: Flask
    client: FlaskClient
    poll_id: int
    codes: list[str]
    slips: Path
    manifest: Manifest
    trustees: list[TrusteeKey]

    def credential(self, k: int) -> Credential:
        return Credential.from_code(self.codes[k])

    def post(self, body: Any, poll_id: int | None = None) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(
            f"/api/polls/{poll_id or self.poll_id}/ballots",
            data=data,
            content_type="application/json",
        )

    def board(self, poll_id: int | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/polls/{poll_id or self.poll_id}/board")
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]


def prepare_poll(app: Flask, tmp_path: Path, poll_id: int, count: int) -> OpenPoll:
    """Trustees' keys made here, credentials minted and the poll opened, all via the CLI."""
    trustees = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}") for k in (1, 2)]
    for k, key in enumerate(trustees):
        pub = tmp_path / f"trustee-{poll_id}-{k}.pub.json"
        pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", str(poll_id), str(pub))
    slips = tmp_path / f"slips-{poll_id}.html"
    run(app, "credentials", "mint", str(poll_id), "--count", str(count), "--slips", str(slips))
    codes = CODE_RE.findall(slips.read_text(encoding="utf-8"))
    assert len(codes) == count
    run(app, "poll", "open", str(poll_id))
    client = app.test_client()
    response = client.get(f"/api/polls/{poll_id}/manifest")
    assert response.status_code == 200
    manifest = parse_manifest(json.loads(response.data))
    return OpenPoll(app, client, poll_id, codes, slips, manifest, trustees)


@pytest.fixture
def conference(app: Flask) -> Flask:
    output = run(app, "conference", "import", str(EXAMPLE))
    assert "poll 1" in output and "poll 3" in output
    return app


@pytest.fixture
def poll(conference: Flask, tmp_path: Path) -> OpenPoll:
    """Poll 1 of the sample conference (15 Standing Committee members), open, 5 credentials."""
    return prepare_poll(conference, tmp_path, 1, 5)


OPERATOR = ("bantochuc", "mat-khau-rat-dai-2023")


@pytest.fixture
def operator_client(app: Flask) -> FlaskClient:
    """A test client logged in as an operator, through the real login form (with its CSRF token)."""
    username, password = OPERATOR
    result = app.test_cli_runner().invoke(
        args=["operator", "add", username], env={"BALLOT_OPERATOR_PASSWORD": password}
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    page = client.get("/operator/login").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(
        "/operator/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)
