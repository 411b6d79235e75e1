"""Service fixtures: one fresh database per test, on SQLite and on PostgreSQL (the poll builders
are in tests/support/polls.py, shared with bench/).

PostgreSQL tests (marker ``postgres``) each get their own database ``ballot_test_<random>``, dropped
afterwards, so runs never collide. If the server is unreachable they fail when ``CI`` is set and
are skipped (with the reason) otherwise.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ballot import create_app, db
from tests.support.polls import CODE_RE, EXAMPLE, OpenPoll, prepare_poll, run  # noqa: F401 (re-exported)

POSTGRES_URL = os.environ.get(
    "BALLOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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
