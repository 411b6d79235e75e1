"""More limits and cookie settings, on SQLite and PostgreSQL: the credential status look-up's rate
limit (ballot/limits.py), and the session cookie's ``Secure`` flag when the service is reached over
HTTPS (``BALLOT_BASE_URL``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ballot import create_app, db
from ballot.web import limits

from .conftest import OPERATOR, OpenPoll, csrf_token, run

HTTPS_BASE = "https://hoi-truong.example"


@pytest.fixture(autouse=True)
def _limits_counted_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters in this process's memory, the limits from the app config only: a deployment's
    environment (a Redis store, other limits) stays out. Autouse, so it runs before the app."""
    monkeypatch.delenv("BALLOT_RATELIMIT_STORAGE_URL", raising=False)
    for rule in limits.RULES:
        monkeypatch.delenv(rule.setting, raising=False)


# --- the credential status look-up ---------------------------------------------------------------


def _status(client: FlaskClient, key: str, address: str) -> TestResponse:
    return client.get(f"/api/polls/1/credentials/{key}", environ_base={"REMOTE_ADDR": address})


def test_credential_lookups_past_the_limit_get_429_per_address(poll: OpenPoll) -> None:
    app = poll.app
    app.config["BALLOT_RATELIMIT_CREDENTIAL"] = "3 per minute"
    client = app.test_client()
    key = poll.credential(0).public_key.hex()
    tablet, other = "192.0.2.10", "192.0.2.11"

    for _ in range(3):
        response = _status(client, key, tablet)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "unused"

    refused = _status(client, key, tablet)
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert refused.get_json() == limits.rate_limited().to_json()
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert "Có quá nhiều yêu cầu" in error["message_vi"]
    assert "Too many requests" in error["message_en"]
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    # Any key counts against the same address: asking about another slip does not get round it.
    other_key = poll.credential(1).public_key.hex()
    assert _status(client, other_key, tablet).status_code == 429

    # Another address is still served, and the slip itself was never touched.
    for _ in range(3):
        response = _status(app.test_client(), key, other)
        assert response.status_code == 200
        assert response.get_json()["status"] == "unused"
    assert poll.board()["count"] == 0


# --- the session cookie over HTTPS ---------------------------------------------------------------


def _app(database_url: str, tmp_path: Path, base_url: str) -> Flask:
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": base_url,
            "TESTING": True,
        }
    )
    run(app, "init")
    result = app.test_cli_runner().invoke(
        args=["operator", "add", OPERATOR[0]], env={"BALLOT_OPERATOR_PASSWORD": OPERATOR[1]}
    )
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def https_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = _app(database_url, tmp_path, HTTPS_BASE)
    yield app
    with app.app_context():
        db.engine().dispose()


def _session_cookie(response: TestResponse) -> list[str]:
    """The ``session`` Set-Cookie header's attributes, lower-cased (the value dropped)."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return [part.strip().lower() for part in headers[0].split(";")[1:]]


def _log_in(client: FlaskClient, base_url: str) -> tuple[TestResponse, TestResponse]:
    """The login form as a browser uses it: the page (with its CSRF token), then the POST. No
    Referer: every page tells the browser to send none (``Referrer-Policy: no-referrer``)."""
    page = client.get("/operator/login", base_url=base_url)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = client.post(
        "/operator/login",
        base_url=base_url,
        data={
            "username": OPERATOR[0],
            "password": OPERATOR[1],
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    return page, response


@pytest.mark.parametrize(
    ("base_url", "secure"), [(HTTPS_BASE, True), ("http://hoi-truong.lan:8000", False)]
)
def test_the_session_cookie_is_secure_when_the_service_is_https(
    database_url: str, tmp_path: Path, base_url: str, secure: bool
) -> None:
    """Behind a proxy that ends TLS (the app itself sees plain HTTP), as the docs set it up."""
    app = _app(database_url, tmp_path, base_url)
    try:
        client = app.test_client()
        page, response = _log_in(client, "http://localhost")
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.headers["Location"].endswith("/operator/")
        for cookie in (_session_cookie(page), _session_cookie(response)):
            assert ("secure" in cookie) is secure, cookie
            assert "httponly" in cookie and "samesite=lax" in cookie, cookie
        assert client.get("/operator/").status_code == 200  # the cookie is the login
    finally:
        with app.app_context():
            db.engine().dispose()


def test_an_operator_logs_in_over_https(https_app: Flask) -> None:
    """The app itself reached over HTTPS (TLS in the app server, or ProxyFix behind a proxy), as a
    browser does it: the form POST carries no Referer, because every page asks for none."""
    client = https_app.test_client()
    _page, response = _log_in(client, HTTPS_BASE)
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = _session_cookie(response)
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie, cookie
    assert client.get("/operator/", base_url=HTTPS_BASE).status_code == 200
