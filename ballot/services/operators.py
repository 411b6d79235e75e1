"""Operator (Organization Board) accounts: create one, check a login, change a password, and the
sessions held on the server (a random token in the cookie, its SHA-256 in ``operator_session``)."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ballot.models import Operator, OperatorSession
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
    _check_strength(password)
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


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            400,
            "weak_password",
            f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.",
            f"The password needs at least {MIN_PASSWORD} characters.",
        )
    if len(password) > 200:
        raise ServiceError(
            400,
            "long_password",
            "Mật khẩu quá dài (tối đa 200 ký tự).",
            "The password is too long.",
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, operator_id: int, lifetime_seconds: int) -> str:
    """A new session for the operator: its token (for the cookie only, never stored). Sessions
    past their lifetime, anyone's, are deleted on the way."""
    now = int(time.time())
    session.execute(delete(OperatorSession).where(OperatorSession.expires <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            token_hash=_token_hash(token), operator_id=operator_id, expires=now + lifetime_seconds
        )
    )
    return token


def session_operator(session: Session, token: object) -> Operator | None:
    """The operator of a live session, or None (no such token, logged out, revoked, expired)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    row = session.scalar(
        select(OperatorSession).where(OperatorSession.token_hash == _token_hash(token))
    )
    if row is None or row.expires <= int(time.time()):
        return None
    return session.get(Operator, row.operator_id)


def end_session(session: Session, token: object) -> None:
    """Logout: the session's row is deleted, so a copy of the cookie is worth nothing."""
    if isinstance(token, str):
        session.execute(
            delete(OperatorSession).where(OperatorSession.token_hash == _token_hash(token))
        )


def change_password(
    session: Session,
    username: str,
    new_password: str,
    actor: str,
    *,
    current_password: str | None = None,
    keep_token: str | None = None,
) -> None:
    """Set a new password and end every other session of the operator (all of them from the
    command line, every one but ``keep_token`` from the form). The form also gives the current
    password, which must be right."""
    operator = session.scalar(select(Operator).where(Operator.username == username.strip()))
    if operator is None:
        raise ServiceError(
            404, "no_operator", f"Không có người dùng {username}.", f"No operator {username}."
        )
    if current_password is not None and not check_password_hash(
        operator.password_hash, current_password
    ):
        raise ServiceError(
            403,
            "wrong_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is wrong.",
        )
    _check_strength(new_password)
    operator.password_hash = generate_password_hash(new_password)
    others = delete(OperatorSession).where(OperatorSession.operator_id == operator.id)
    if keep_token is not None:
        others = others.where(OperatorSession.token_hash != _token_hash(keep_token))
    ended = cast(CursorResult[Any], session.execute(others)).rowcount
    audit.record(session, actor, "operator.passwd", username=operator.username, ended=ended)
