"""Engine and session handling for SQLite (embedded default) and PostgreSQL.

SQLite: WAL journal, a busy timeout, foreign keys on, and SQLAlchemy (not the sqlite3 module) in
charge of BEGIN, so a transaction that must serialise writers can start with ``BEGIN IMMEDIATE``
(see :func:`write_lock`). A transaction that reads before it writes needs that on SQLite; reading
first under a plain BEGIN double-spent credentials in our tests (docs/service.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, Row, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from ballot.models import Poll

BUSY_TIMEOUT_MS = 10_000
_IMMEDIATE = "ballot_sqlite_immediate"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync at checkpoints
            cur.close()

        @event.listens_for(engine, "handle_error")
        def _sqlite_read_only(context: Any) -> None:
            # A connection opened while the file was read-only stays read-only: drop the pool's
            # connections so that the service recovers by itself once the file is writable.
            error = context.original_exception
            if getattr(error, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
                context.is_disconnect = True

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get(_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer: ``BEGIN IMMEDIATE`` on SQLite (a no-op on
    PostgreSQL, where row locks do this job). Must come before the transaction's first read."""
    if session.get_bind().dialect.name == "sqlite":
        _begin_immediate(session)


def _begin_immediate(session: Session) -> None:
    # A second writer's call in a transaction that already began IMMEDIATE (the demo sets up a
    # poll's trustees, slips and opening in one transaction) has nothing more to do.
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_IMMEDIATE) is transaction:
        return
    session.connection(execution_options={_IMMEDIATE: True})
    session.info[_IMMEDIATE] = session.get_transaction()


def write_lock(session: Session, poll_id: int) -> Poll | None:
    """Start the session's transaction holding the lock that serialises writes to one poll.

    SQLite: the transaction begins with BEGIN IMMEDIATE (one writer at a time, taken before any
    read). PostgreSQL: ``SELECT … FOR UPDATE`` on the poll row. Must be the session's first
    statement in the transaction. Returns the locked poll, or None if there is no such poll.
    """
    if session.get_bind().dialect.name == "sqlite":
        _begin_immediate(session)
        return session.get(Poll, poll_id, populate_existing=True)
    return session.scalars(
        select(Poll)
        .where(Poll.id == poll_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def lock_poll_row(session: Session, poll_id: int, *columns: Any) -> Row[Any] | None:
    """:func:`write_lock` for the cast path (issue 19): the same lock, taken by one Core
    statement that reads only ``columns`` of the poll's table and builds no ORM object."""
    if session.get_bind().dialect.name == "sqlite":
        _begin_immediate(session)
        query = select(*columns).where(Poll.__table__.c.id == poll_id)
    else:
        query = select(*columns).where(Poll.__table__.c.id == poll_id).with_for_update()
    return session.connection().execute(query).one_or_none()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (what ``ballot init`` runs)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "ballot:migrations")
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# --- Flask integration -------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["ballot.engine"] = engine
    app.extensions["ballot.sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["ballot.engine"]  # type: ignore[no-any-return]


def new_session() -> Session:
    return current_app.extensions["ballot.sessionmaker"]()  # type: ignore[no-any-return]


def get_session() -> Session:
    """The request's (or CLI command's) session, closed at teardown."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session  # type: ignore[no-any-return]


@contextmanager
def transaction() -> Iterator[Session]:
    """A fresh session in one transaction: commit on success, roll back on any error."""
    with new_session() as session, session.begin():
        yield session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
