"""Operator (Organization Board) accounts: create one, check a login."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ballot.models import Operator
from ballot.services import audit
from ballot.services.errors import ServiceError
from ballot.services.fields import has_control_characters

MIN_PASSWORD = 10


def create_operator(session: Session, username: str, password: str, actor: str) -> Operator:
    username = username.strip()
    if not username or len(username) > 100 or has_control_characters(username):
        raise ServiceError(
            400, "bad_username", "Tên đăng nhập không hợp lệ.", "The username is not valid."
        )
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            400,
            "weak_password",
            f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.",
            f"The password needs at least {MIN_PASSWORD} characters.",
        )
    if session.scalar(select(Operator.id).where(Operator.username == username)) is not None:
        raise ServiceError(
            409, "operator_exists", f"Đã có người dùng {username}.", f"{username} already exists."
        )
    operator = Operator(username=username, password_hash=generate_password_hash(password))
    session.add(operator)
    audit.record(session, actor, "operator.add", username=username)
    return operator


def check_login(session: Session, username: str, password: str) -> int | None:
    """The operator's id if the password is right, else None; audited either way."""
    # PostgreSQL refuses text holding a NUL byte; no operator's name has one.
    username = username.strip().replace("\x00", "\ufffd")
    operator = session.scalar(select(Operator).where(Operator.username == username))
    ok = operator is not None and check_password_hash(operator.password_hash, password)
    audit.record(session, f"web:{username}", "login" if ok else "login.failed")
    return operator.id if operator is not None and ok else None
