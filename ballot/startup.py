"""Why the service must not serve yet: asked by ``ballot serve`` and ``ballot.wsgi`` before the
first request, so a misconfigured server exits with the reason instead of failing voters."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ballot import db
from ballot.keys import SESSION_KEY_FILE, load_signing_key
from tally.record import KeyFileError


def startup_problem() -> str | None:
    """The database not at the newest revision, a missing record-signing key, or a key file
    others can read; None when the current app may serve."""
    problem = schema_problem(db.engine())
    if problem is not None:
        return problem
    try:  # a key others can read is refused here, before any page is served
        load_signing_key()
    except KeyFileError as exc:
        return f"khóa ký biên bản / record-signing key: {exc}"
    session_key = Path(current_app.instance_path) / SESSION_KEY_FILE
    if session_key.exists() and session_key.stat().st_mode & 0o077:
        return (
            f"khóa phiên / session key {session_key}: người khác đọc được; chạy / others can read"
            f" it; run: chmod 600 {session_key}"
        )
    return None


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot be served (not initialised, out of date, unreachable), or None.

    Compares Alembic's current revision in the database with the newest one shipped with the code.
    """
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "ballot:migrations")
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return (
            f"không kết nối được cơ sở dữ liệu / cannot reach the database {url}:"
            f" {type(exc).__name__}: {str(exc).splitlines()[0]}"
        )
    if not current:
        return (
            f"cơ sở dữ liệu chưa được khởi tạo / the database is not initialised: {url}."
            " Chạy / run: ballot init"
        )
    if current != heads:
        return (
            f"cơ sở dữ liệu chưa được nâng cấp / the database schema is out of date: {url}"
            f" (revision {', '.join(sorted(current))}, cần / needs {', '.join(sorted(heads))})."
            " Chạy / run: ballot init"
        )
    return None
