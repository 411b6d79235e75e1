"""Operator accounts (the Organization Board): login, logout and the ``login_required`` guard.

Passwords are stored only as Werkzeug hashes (scrypt). A login starts a session held on the
server (``operator_session``): the cookie, signed with the instance's secret key, carries only a
random token. Logout deletes the session, a password change deletes the operator's other sessions,
and each lasts ``BALLOT_SESSION_HOURS`` at most, so a copied cookie stops working. Login and the
password form are Flask-WTF forms, so they carry a CSRF token like every other form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ballot import db
from ballot.models import Operator
from ballot.services.errors import ServiceError
from ballot.services.operators import (
    change_password,
    check_login,
    end_session,
    session_operator,
    start_session,
)
from ballot.web.i18n import safe_next

bp = Blueprint("auth", __name__, url_prefix="/operator")

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Tên đăng nhập", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Mật khẩu", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(
        lazy_gettext("Mật khẩu hiện tại"), validators=[DataRequired(), Length(max=200)]
    )
    new = PasswordField(lazy_gettext("Mật khẩu mới"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        lazy_gettext("Nhập lại mật khẩu mới"),
        validators=[
            DataRequired(),
            EqualTo("new", message=lazy_gettext("Hai mật khẩu mới không khớp.")),
        ],
    )


SESSION_KEY = "sid"


def current_operator() -> Operator | None:
    if "operator" not in g:
        token = session.get(SESSION_KEY)
        g.operator = session_operator(db.get_session(), token) if token is not None else None
        if g.operator is None and token is not None:
            session.pop(SESSION_KEY, None)  # logged out, revoked or expired: forget it
    return g.operator  # type: ignore[no-any-return]


def actor() -> str:
    """The audit log's name for whoever is logged in."""
    operator = current_operator()
    return f"web:{operator.username}" if operator else "web:anonymous"


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_operator() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        hours = int(current_app.config["SESSION_HOURS"])
        with db.transaction() as tx:
            operator_id = check_login(tx, form.username.data, form.password.data)
            token = start_session(tx, operator_id, hours * 3600) if operator_id else None
        if token is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation
            session[SESSION_KEY] = token
            if lang:
                session["lang"] = lang
            return redirect(safe_next(request.args.get("next"), url_for("operator.index")))
        error = _("Sai tên đăng nhập hoặc mật khẩu.")
    status = 401 if error else 200
    return render_template("operator/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Response:
    # A POST with the CSRF token (CSRFProtect checks every POST), so no page can log you out.
    token = session.pop(SESSION_KEY, None)
    with db.transaction() as tx:
        end_session(tx, token)
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Response | tuple[str, int] | str:
    """Change one's own password; every other session of the operator ends (a cookie copied
    elsewhere, a laptop left logged in)."""
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        operator = current_operator()
        assert operator is not None
        try:
            with db.transaction() as tx:
                change_password(
                    tx,
                    operator.username,
                    form.new.data,
                    actor(),
                    current_password=form.current.data,
                    keep_token=session.get(SESSION_KEY),
                )
        except ServiceError as exc:
            error = exc
        else:
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã kết thúc."), "success")
            return redirect(url_for("operator.index"))
    status = error.status if error else (400 if form.errors else 200)
    return render_template("operator/password.html", form=form, error=error), status
