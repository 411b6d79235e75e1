"""Operator login: hashed passwords, CSRF on the form, pages closed to anonymous visitors."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ballot import db
from ballot.models import AuditEvent, Operator
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
