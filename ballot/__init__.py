"""The conference web service: polls, credentials, casting and the public board.

``create_app`` is the Flask application factory (flaskr style). Configuration, lowest first:
defaults, environment (``BALLOT_DATABASE_URL``, ``BALLOT_KEYS_DIR``, ``BALLOT_BASE_URL``), then
the ``config`` argument.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()


def _secret_key(instance: Path) -> str:
    """Read the session-signing key, or create it with mode 0600."""
    path = instance / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


# The project's top-level folders: templates/ (Jinja) and keys/ (secret keys, never committed).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


ACCESS_LOG = logging.getLogger("ballot.access")


def _log_request(response: Response) -> Response:
    """One line per request (``ballot serve`` prints them). Never a body: a ballot is only ever
    logged as its path, and a slip's code travels in the URL fragment, which never reaches us.
    A credential's public key in the path (the booth's status lookup) is left out: it is on the
    public board with its ballot, and a logged moment would tie that ballot to a time."""
    path = request.path
    key = (request.view_args or {}).get("key")
    if isinstance(key, str) and key:
        path = path.replace(key, "<key>")
    ACCESS_LOG.info("%s %s %s", request.method, path, response.status_code)
    return response


# No inline script or style anywhere, nothing from another origin, never framed, and no Referer
# header (a booth URL must never leak to another site).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    """A form without its token, on a page with no error handler of its own (the login, the
    challenge checker): a bilingual page, nothing changed."""
    from ballot.errors import csrf_refused

    error = csrf_refused()
    return render_template("public_error.html", error=error), 400


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("BALLOT_INSTANCE")
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=os.environ.get("BALLOT_DATABASE_URL")
        or f"sqlite:///{instance / 'ballot.sqlite3'}",
        KEYS_DIR=os.environ.get("BALLOT_KEYS_DIR") or str(PROJECT_ROOT / "keys"),
        BASE_URL=os.environ.get("BALLOT_BASE_URL") or "http://127.0.0.1:5000",
        MAX_CONTENT_LENGTH=1024 * 1024,
        # The booth's receipt screen and idle timeout before it clears itself for the next voter.
        BOOTH_RESET_SECONDS=int(os.environ.get("BALLOT_BOOTH_RESET_SECONDS", "20")),
        BOOTH_IDLE_SECONDS=int(os.environ.get("BALLOT_BOOTH_IDLE_SECONDS", "180")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Every page says Referrer-Policy: no-referrer, so browsers send no Referer: Flask-WTF's
        # HTTPS referrer check would refuse every form. The CSRF token and the SameSite
        # cookie protect the forms.
        WTF_CSRF_SSL_STRICT=False,
        JSON_AS_ASCII=False,
    )
    app.config.update(config)
    # Cookies only over HTTPS when the service is reached over HTTPS (a conference LAN may be
    # plain HTTP; then the cookie is still HttpOnly and SameSite).
    if "SESSION_COOKIE_SECURE" not in config:
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https:")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from ballot import (
        api,
        auth,
        booth,
        cli,
        counting_views,
        db,
        i18n,
        limits,
        openapi,
        operator,
        public,
    )

    db.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # authorised by the credential's signature, not by a cookie
    app.register_blueprint(public.bp)  # public pages: board, record, results (GET only)
    app.register_blueprint(booth.bp)  # the tablet booth and the challenge checker
    app.register_blueprint(auth.bp)  # operator login and logout
    app.register_blueprint(operator.bp)  # operator pages (login required)
    app.register_blueprint(counting_views.bp)  # counting: operator steps, trustee page, share API
    app.register_blueprint(openapi.bp)  # GET /api/openapi.json; JSON errors under /api/
    limits.init_app(app)  # rate limits on the registered views (ballot/limits.py)
    app.jinja_env.globals["current_operator"] = auth.current_operator
    app.register_error_handler(CSRFError, _csrf_error)
    app.after_request(_security_headers)
    app.after_request(_log_request)
    cli.init_app(app)
    return app
