"""Operator login: hashed passwords, CSRF on the form, pages closed to anonymous visitors."""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ballot import db
from ballot.models import AuditEvent, Operator, OperatorSession
from tests.service.conftest import OPERATOR, csrf_token


def test_operator_pages_need_login(app: Flask) -> None:
    client = app.test_client()
    for path in ("/operator/", "/operator/audit"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/operator/login" in response.headers["Location"]


def test_login_and_logout(operator_client: FlaskClient, app: Flask) -> None:
    page = operator_client.get("/operator/")
    assert page.status_code == 200
    assert OPERATOR[0] in page.get_data(as_text=True)
    with app.app_context():
        stored = db.get_session().scalar(select(Operator.password_hash))
        actions = list(db.get_session().scalars(select(AuditEvent.action)))
    assert stored and OPERATOR[1] not in stored and stored.startswith("scrypt:")
    assert "login" in actions
    token = csrf_token(page.get_data(as_text=True))
    assert operator_client.post("/operator/logout", data={"csrf_token": token}).status_code == 302
    assert operator_client.get("/operator/").status_code == 302


def test_wrong_password_and_missing_csrf(operator_client: FlaskClient, app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/operator/login").get_data(as_text=True))
    wrong = client.post(
        "/operator/login", data={"username": OPERATOR[0], "password": "x" * 12, "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.get_data(as_text=True)
    credentials = {"username": OPERATOR[0], "password": OPERATOR[1]}
    no_csrf = client.post("/operator/login", data=credentials)
    assert no_csrf.status_code == 400
    assert client.get("/operator/").status_code == 302


def _logout(client: FlaskClient) -> None:
    token = csrf_token(client.get("/operator/").get_data(as_text=True))
    assert client.post("/operator/logout", data={"csrf_token": token}).status_code == 302


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _with_cookie(app: Flask, value: str) -> FlaskClient:
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_logout_revokes_a_copied_cookie(operator_client: FlaskClient, app: Flask) -> None:
    """Finding 4: the session lives on the server, so a copy of the cookie taken before logout
    no longer opens the operator pages once the operator has logged out."""
    copied = _cookie(operator_client)
    assert _with_cookie(app, copied).get("/operator/").status_code == 200
    _logout(operator_client)
    response = _with_cookie(app, copied).get("/operator/")
    assert response.status_code == 302 and "/operator/login" in response.headers["Location"]
    with app.app_context():
        assert db.get_session().scalar(select(func.count()).select_from(OperatorSession)) == 0


def test_the_session_expires(operator_client: FlaskClient, app: Flask) -> None:
    """A session past its lifetime is not honoured: the operator is sent to the login page."""
    copied = _cookie(operator_client)
    with app.app_context():
        session = db.get_session()
        row = session.scalar(select(OperatorSession))
        assert row is not None
        lifetime = row.expires - int(time.time())
        assert 14 * 3600 - 60 <= lifetime <= 14 * 3600  # the default: one conference day
        row.expires = int(time.time()) - 1
        session.commit()
    response = _with_cookie(app, copied).get("/operator/audit")
    assert response.status_code == 302 and "/operator/login" in response.headers["Location"]


def test_the_lifetime_is_configurable(operator_client: FlaskClient, app: Flask) -> None:
    app.config["SESSION_HOURS"] = 2
    _login(app)
    with app.app_context():
        row = db.get_session().scalar(select(OperatorSession).order_by(OperatorSession.id.desc()))
        assert row is not None
        assert 2 * 3600 - 60 <= row.expires - int(time.time()) <= 2 * 3600


def test_a_forged_or_old_cookie_is_refused(operator_client: FlaskClient, app: Flask) -> None:
    """A cookie not signed by the instance, or one from before server-side sessions (holding an
    operator id), opens nothing and answers no 5xx."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    for payload in ({"operator_id": 1}, {"sid": "x" * 43}, {"sid": 7}, {"sid": ["a"]}):
        response = _with_cookie(app, serializer.dumps(payload)).get("/operator/")
        assert response.status_code == 302, payload
    assert _with_cookie(app, "garbage.cookie.value").get("/operator/").status_code == 302


def _login(app: Flask, password: str = OPERATOR[1]) -> FlaskClient:
    client = app.test_client()
    token = csrf_token(client.get("/operator/login").get_data(as_text=True))
    response = client.post(
        "/operator/login",
        data={"username": OPERATOR[0], "password": password, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_password_form_ends_the_other_sessions(operator_client: FlaskClient, app: Flask) -> None:
    other = _login(app)
    assert other.get("/operator/").status_code == 200
    page = operator_client.get("/operator/password")
    assert page.status_code == 200 and "Đổi mật khẩu" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    new = "mot-mat-khau-moi-2026"
    wrong = operator_client.post(
        "/operator/password",
        data={"current": "sai-mat-khau-x", "new": new, "confirm": new, "csrf_token": token},
    )
    assert wrong.status_code == 403 and "Mật khẩu hiện tại không đúng" in wrong.get_data(
        as_text=True
    )
    mismatch = operator_client.post(
        "/operator/password",
        data={"current": OPERATOR[1], "new": new, "confirm": new + "x", "csrf_token": token},
    )
    assert mismatch.status_code == 400 and "không khớp" in mismatch.get_data(as_text=True)
    short = operator_client.post(
        "/operator/password",
        data={"current": OPERATOR[1], "new": "ngan", "confirm": "ngan", "csrf_token": token},
    )
    assert short.status_code == 400 and "ít nhất 10" in short.get_data(as_text=True)
    assert other.get("/operator/").status_code == 200  # nothing changed by the refusals
    done = operator_client.post(
        "/operator/password",
        data={"current": OPERATOR[1], "new": new, "confirm": new, "csrf_token": token},
    )
    assert done.status_code == 302
    assert operator_client.get("/operator/").status_code == 200  # this session goes on
    assert other.get("/operator/").status_code == 302  # the other one ended
    _logout(operator_client)
    client = app.test_client()
    token = csrf_token(client.get("/operator/login").get_data(as_text=True))
    old = client.post(
        "/operator/login",
        data={"username": OPERATOR[0], "password": OPERATOR[1], "csrf_token": token},
    )
    assert old.status_code == 401
    _login(app, new)
    with app.app_context():
        actions = list(db.get_session().scalars(select(AuditEvent.action)))
    assert actions.count("operator.passwd") == 1


def test_cli_passwd_ends_every_session(operator_client: FlaskClient, app: Flask) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["operator", "passwd", OPERATOR[0]], env={"BALLOT_OPERATOR_PASSWORD": "short"}
    )
    assert weak.exit_code == 1 and "ít nhất 10" in weak.output
    assert operator_client.get("/operator/").status_code == 200
    unknown = runner.invoke(
        args=["operator", "passwd", "khong-co"], env={"BALLOT_OPERATOR_PASSWORD": "x" * 12}
    )
    assert unknown.exit_code == 1 and "Không có người dùng" in unknown.output
    new = "mat-khau-dong-lenh-2026"
    result = runner.invoke(
        args=["operator", "passwd", OPERATOR[0]], env={"BALLOT_OPERATOR_PASSWORD": new}
    )
    assert result.exit_code == 0, result.output
    assert "mọi phiên đăng nhập đã kết thúc" in result.output
    assert operator_client.get("/operator/").status_code == 302
    _login(app, new)
