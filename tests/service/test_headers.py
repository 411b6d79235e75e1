"""Security headers on every page: strict CSP (no inline script), no framing, no Referer leak."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import OpenPoll


@pytest.mark.parametrize(
    "path",
    ["/booth/1", "/polls/1/board", "/polls/1/check", "/operator/login", "/api/polls/1/board"],
)
def test_security_headers(poll: OpenPoll, path: str) -> None:
    response = poll.client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite(operator_client: FlaskClient) -> None:
    cookie = operator_client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax"
