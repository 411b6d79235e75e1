"""Operator accounts (the Organization Board): login, logout and the ``login_required`` guard.

Passwords are stored only as Werkzeug hashes (scrypt). The session cookie holds the operator's id;
it is signed with the instance's secret key. Login is a Flask-WTF form, so it carries a CSRF token
like every other form of the service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ballot import db
from ballot.models import Operator
from ballot.services.operators import check_login
from ballot.web.i18n import safe_next

bp = Blueprint("auth", __name__, url_prefix="/operator")

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Tên đăng nhập", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Mật khẩu", validators=[DataRequired(), Length(max=200)])


def current_operator() -> Operator | None:
    if "operator" not in g:
        operator_id = session.get("operator_id")
        g.operator = (
            db.get_session().get(Operator, operator_id) if isinstance(operator_id, int) else None
        )
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
        with db.transaction() as tx:
            operator_id = check_login(tx, form.username.data, form.password.data)
        if operator_id is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation
            session["operator_id"] = operator_id
            if lang:
                session["lang"] = lang
            return redirect(safe_next(request.args.get("next"), url_for("operator.index")))
        error = _("Sai tên đăng nhập hoặc mật khẩu.")
    status = 401 if error else 200
    return render_template("operator/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Response:
    # A POST with the CSRF token (CSRFProtect checks every POST), so no page can log you out.
    session.pop("operator_id", None)
    return redirect(url_for("auth.login"))
