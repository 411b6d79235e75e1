"""Faults while ballots are being cast: what a voter and the counting committee would notice.

- ``ballot serve`` killed with SIGKILL in the middle of a burst of casts, then restarted on the same
  database (SQLite and PostgreSQL). A few tablets dropped off the network before the burst, so
  their ballots are stored without a receipt. Afterwards: every receipt handed out is on the
  board at its position and head, positions run 1..N, the chain recomputes, the credentials
  marked used are exactly the ballots' credentials, and the ballots without a receipt reconcile:
  re-cast, each is accepted, or refused as ``credential_used`` exactly when it is on the board.
  The auditor's ``tally.verify.check_board`` accepts the final board.
- Two ``ballot serve`` processes on one database (SQLite, PostgreSQL): one board and chain, and a
  slip sent to both at once is accepted exactly once.
- The database connection lost in the middle of a cast (PostgreSQL: the backend terminated from an
  admin connection just before each statement of the cast's transaction and before its COMMIT;
  or every connection refused for a while): a 503 with the bilingual ``database_unavailable``
  error, nothing half-written (no ballot, credential unused, head unchanged), and the next cast
  after recovery succeeds.
- SQLite: the database locked by another writer beyond the busy timeout, or its file read-only: a
  503, nothing written; once the file is writable again the next cast succeeds without a
  restart (the pool drops connections that SQLite opened read-only).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select, text
from sqlalchemy.engine import make_url

from ballot import create_app, db
from ballot.models import Ballot, Credential, Poll
from ballot.services import errors
from tally.ballots import encrypt_ballot, tracking_hash
from tally.board import genesis, next_head
from tally.canonical import parse_json
from tally.counting import board_file
from tally.manifest import Manifest
from tally.verify import check_board
from tests.support.server import Server, server_env, start_server
from tests.support.server import request as _request
from tests.support.server import stop_server as _stop

from .conftest import EXAMPLE, OpenPoll, prepare_poll, run
from .test_casting import ballot_for, error_code, stored

STARTUP_SECONDS = 20
REQUEST_SECONDS = 30
BURST = 40  # distinct credentials
DROPPED = 4  # of them, tablets that send and drop off the network before the answer comes
KILL_AFTER = 10  # receipts returned in the burst before the server is killed


def _start(tmp_path: Path, database_url: str, name: str) -> Server:
    env = server_env(tmp_path / "instance", database_url, tmp_path / "keys")
    return start_server(env, tmp_path / f"{name}.log")


@contextmanager
def _serving(tmp_path: Path, database_url: str, name: str) -> Iterator[Server]:
    server = _start(tmp_path, database_url, name)
    try:
        yield server
    finally:
        _stop(server)


# --- what the board and the database must say ------------------------------------------------


def _board(server: Server) -> dict[str, Any]:
    status, data = _request(f"{server.base}/api/polls/1/board")
    assert status == 200, data
    return json.loads(data)  # type: ignore[no-any-return]


def _assert_chain(board: dict[str, Any], manifest: Manifest) -> None:
    """Positions 1..N without gaps, and every head recomputed from the poll's genesis."""
    entries = board["entries"]
    assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))
    assert board["count"] == len(entries)
    head = genesis(manifest.fingerprint)
    for entry in entries:
        head = next_head(head, bytes.fromhex(entry["tracking_hash"]))
        assert entry["head"] == head.hex(), entry["position"]
    assert board["head"] == head.hex()


def _assert_database_agrees(app: Flask, board: dict[str, Any]) -> None:
    """Every ballot's credential is used, no used credential lacks its ballot, rows match."""
    with app.app_context():
        session = db.get_session()
        rows = session.execute(
            select(Ballot.position, Ballot.tracking_hash, Ballot.credential, Ballot.head)
            .where(Ballot.poll_id == 1)
            .order_by(Ballot.position)
        ).all()
        used = set(
            session.scalars(
                select(Credential.public_key).where(
                    Credential.poll_id == 1, Credential.used.is_(True)
                )
            )
        )
        head = session.scalar(select(Poll.board_head).where(Poll.id == 1))
    credentials = [r.credential for r in rows]
    assert len(set(credentials)) == len(credentials), "a credential has two ballots"
    assert set(credentials) == used, "used credentials and the board's ballots differ"
    assert [(r.position, r.tracking_hash, r.head) for r in rows] == [
        (e["position"], e["tracking_hash"], e["head"]) for e in board["entries"]
    ]
    assert head == board["head"]


def _assert_auditor_accepts(app: Flask, manifest: Manifest, board: dict[str, Any]) -> None:
    """The trustees' board check (tally) on the stored ballots, in board order."""
    with app.app_context():
        rows = (
            db.get_session()
            .execute(
                select(Ballot.ballot, Ballot.tracking_hash)
                .where(Ballot.poll_id == 1)
                .order_by(Ballot.position)
            )
            .all()
        )
    data, head = board_file(
        manifest.fingerprint, [(parse_json(b), bytes.fromhex(t)) for b, t in rows]
    )
    report, verified = check_board(manifest, data, workers=1)
    assert report.ok, [c.to_json() for c in report.checks if not c.ok]
    assert verified is not None and verified.count == board["count"]
    assert head == board["head"]


# --- SIGKILL in the middle of a burst ---------------------------------------------------------


def _send_and_drop(server: Server, bodies: list[bytes]) -> list[tuple[str, bytes]]:
    """Send each ballot and give up after 20 ms, before it can have been verified (40+ ms): the
    server still stores it, the voter gets no receipt. Waits until they are on the board."""
    url = f"{server.base}/api/polls/1/ballots"
    outcomes = []
    for body in bodies:
        try:
            status, data = _request(url, body, timeout=0.02)
            outcomes.append((str(status), data))
        except (OSError, http.client.HTTPException) as exc:
            outcomes.append((type(exc).__name__, b""))
    deadline = time.monotonic() + REQUEST_SECONDS
    while _board(server)["count"] < len(bodies):
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.05)
    return outcomes


def _burst_until_killed(server: Server, bodies: list[bytes]) -> list[tuple[str, bytes]]:
    """Cast every body at once from its own thread; SIGKILL the server after KILL_AFTER
    receipts. Returns (outcome, body) per ballot: the HTTP status, or the exception's name."""
    url = f"{server.base}/api/polls/1/ballots"
    outcomes: list[tuple[str, bytes]] = [("not sent", b"")] * len(bodies)
    start = threading.Barrier(len(bodies))
    lock = threading.Lock()
    receipts = [0]
    enough = threading.Event()

    def one(k: int) -> None:
        start.wait(timeout=REQUEST_SECONDS)
        try:
            status, data = _request(url, bodies[k])
            outcome = (str(status), data)
        except (OSError, http.client.HTTPException) as exc:  # reset, refused, cut short
            outcome = (type(exc).__name__, b"")
        outcomes[k] = outcome
        if outcome[0] == "201":
            with lock:
                receipts[0] += 1
                if receipts[0] >= KILL_AFTER:
                    enough.set()

    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(len(bodies))]
    for t in threads:
        t.start()
    killed_in_time = enough.wait(timeout=60)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    for t in threads:
        t.join(timeout=REQUEST_SECONDS + 5)
    assert killed_in_time, f"fewer than {KILL_AFTER} receipts: {server.log()[-2000:]}"
    assert not any(t.is_alive() for t in threads)
    return outcomes


@pytest.mark.slow
def test_sigkill_mid_burst_keeps_every_receipt_and_reconciles(
    conference: Flask, database_url: str, tmp_path: Path
) -> None:
    # The Board's list may hold at most the members: poll 1 (15 in the sample) is enlarged.
    run(conference, "poll", "edit", "1", "--members", str(BURST))
    poll = prepare_poll(conference, tmp_path, 1, BURST)
    ctx = poll.manifest.context
    ballots = [
        encrypt_ballot(ctx, poll.credential(k), [(k + i) % ctx.grades for i in range(ctx.subjects)])
        for k in range(BURST)
    ]
    bodies = [json.dumps(b).encode("utf-8") for b in ballots]
    hashes = [tracking_hash(b).hex() for b in ballots]

    first = _start(tmp_path, database_url, "server-killed")
    try:
        outcomes = _send_and_drop(first, bodies[:DROPPED])
        outcomes += _burst_until_killed(first, bodies[DROPPED:])
    finally:
        _stop(first)
    assert first.process.returncode == -signal.SIGKILL
    assert not any(status.isdigit() for status, _ in outcomes[:DROPPED]), outcomes[:DROPPED]

    receipts = {k: json.loads(data) for k, (status, data) in enumerate(outcomes) if status == "201"}
    unanswered = [k for k in range(BURST) if k not in receipts]
    # The kill came part-way: some ballots got receipts, others only a broken connection.
    assert len(receipts) >= KILL_AFTER and unanswered, outcomes
    assert all(not outcomes[k][0].isdigit() for k in unanswered), [
        outcomes[k][0] for k in unanswered
    ]
    for k, receipt in receipts.items():
        assert receipt["tracking_hash"] == hashes[k]

    with _serving(tmp_path, database_url, "server-restarted") as server:
        board = _board(server)
        _assert_chain(board, poll.manifest)
        by_position = {e["position"]: e for e in board["entries"]}
        for receipt in receipts.values():
            entry = by_position[receipt["position"]]
            assert entry["tracking_hash"] == receipt["tracking_hash"]
            assert entry["head"] == receipt["board_head"]
        # Anything else on the board was committed just before the kill, its receipt never sent.
        on_board = {e["tracking_hash"] for e in board["entries"]}
        committed_unanswered = [k for k in unanswered if hashes[k] in on_board]
        assert set(range(DROPPED)) <= set(committed_unanswered)
        assert len(on_board) == len(receipts) + len(committed_unanswered)
        _assert_database_agrees(conference, board)

        # Voters without a receipt try again with the same slip.
        for k in unanswered:
            status, data = _request(f"{server.base}/api/polls/1/ballots", bodies[k])
            if k in committed_unanswered:
                assert status == 409, data
                assert json.loads(data)["error"]["code"] == "credential_used"
            else:
                assert status == 201, data
                assert json.loads(data)["tracking_hash"] == hashes[k]

        final = _board(server)
    assert final["count"] == BURST
    assert {e["tracking_hash"] for e in final["entries"]} == set(hashes)
    # The board before the restart is a prefix of the final one: nothing moved.
    assert final["entries"][: board["count"]] == board["entries"]
    _assert_chain(final, poll.manifest)
    _assert_database_agrees(conference, final)
    _assert_auditor_accepts(conference, poll.manifest, final)
    assert stored(conference)["used"] == BURST


# --- PostgreSQL: the connection lost during a cast ---------------------------------------------


# --- two server processes, one database -------------------------------------------------------


def test_two_server_processes_on_one_database_behave_as_one_service(
    conference: Flask, database_url: str, tmp_path: Path
) -> None:
    """Two `ballot serve` processes on the same database (SQLite file, PostgreSQL), tablets sent
    to either: one board, one chain; a slip sent to both at once is accepted exactly once."""
    count = 13
    poll = prepare_poll(conference, tmp_path, 1, count)
    ctx = poll.manifest.context
    bodies = [
        json.dumps(encrypt_ballot(ctx, poll.credential(k), [k % ctx.grades] * ctx.subjects))
        for k in range(count)
    ]
    with (
        _serving(tmp_path, database_url, "server-a") as a,
        _serving(tmp_path, database_url, "server-b") as b,
    ):
        servers = (a, b)
        results: list[tuple[int, int, bytes]] = []
        lock = threading.Lock()
        start = threading.Barrier(2 * 6 + count - 1)

        def send(k: int, server: Server) -> None:
            start.wait()
            status, data = _request(f"{server.base}/api/polls/1/ballots", bodies[k].encode())
            with lock:
                results.append((k, status, data))

        # Slip 0 to both servers six times each, slips 1.. alternately, all at once.
        threads = [threading.Thread(target=send, args=(0, servers[i % 2])) for i in range(12)]
        threads += [
            threading.Thread(target=send, args=(k, servers[k % 2])) for k in range(1, count)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        same_slip = [(status, data) for k, status, data in results if k == 0]
        assert sorted(status for status, _ in same_slip) == [201] + [409] * 11, same_slip
        for status, data in same_slip:
            if status == 409:
                assert json.loads(data)["error"]["code"] == "credential_used"
        assert all(status == 201 for k, status, _ in results if k != 0), results
        board_a, board_b = _board(a), _board(b)
    assert board_a == board_b and board_a["count"] == count
    _assert_chain(board_a, poll.manifest)
    _assert_database_agrees(conference, board_a)
    _assert_auditor_accepts(conference, poll.manifest, board_a)


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_json()
    assert error_code(response) == "database_unavailable"
    expected = errors.database_unavailable()
    body = response.get_json()["error"]
    assert body["message_vi"] == expected.message_vi and body["message_en"] == expected.message_en


def _assert_nothing_written(poll: OpenPoll) -> None:
    genesis_head = genesis(poll.manifest.fingerprint).hex()
    assert stored(poll.app) == {"ballots": 0, "used": 0, "voided": 0, "head": genesis_head}
    assert poll.board()["entries"] == []


def _terminate_backend(admin: Engine, pid: int) -> None:
    """From the session's admin connection (to another database, outside the app's pool)."""
    with admin.connect() as conn:
        # Waits (up to 5 s) until the backend has exited, so the cast's next step finds it gone.
        gone = conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        assert gone.scalar() is True


LOCK = "SELECT … FOR UPDATE"


def _arm(engine: Engine, admin: Engine, step: str) -> tuple[list[int], Callable[[], None]]:
    """Terminate the cast's backend once, just before ``step`` is sent; return (pids, disarm)."""
    terminated: list[int] = []

    def reached(statement: str) -> bool:
        if step == LOCK:  # not the short read before verifying: the write lock after it
            return statement.startswith("SELECT poll") and "FOR UPDATE" in statement
        return statement.startswith(step)

    wrote: list[bool] = []

    def before_statement(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if step == "COMMIT":
            wrote.append(statement.startswith("INSERT INTO ballot"))
        elif not terminated and reached(statement):
            terminated.append(cursor.connection.info.backend_pid)
            _terminate_backend(admin, terminated[0])

    def before_commit(conn: Any) -> None:
        # The commit of the cast's writing transaction, not of the short read before verifying.
        if not terminated and any(wrote):
            terminated.append(conn.connection.dbapi_connection.info.backend_pid)
            _terminate_backend(admin, terminated[0])

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "commit", before_commit)

    def disarm() -> None:
        event.remove(engine, "before_cursor_execute", before_statement)
        event.remove(engine, "commit", before_commit)

    return terminated, disarm


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "step",
    [
        LOCK,  # taking the poll's write lock
        "UPDATE credential",  # spending the credential
        "INSERT INTO ballot",  # appending the ballot
        "UPDATE poll",  # moving the head
        "COMMIT",
    ],
)
def test_postgres_connection_lost_mid_cast_is_503_and_nothing_half_written(
    poll: OpenPoll, postgres_admin: Engine, step: str
) -> None:
    body = json.dumps(ballot_for(poll, 0))
    terminated, disarm = _arm(poll.app.extensions["ballot.engine"], postgres_admin, step)
    try:
        response = poll.post(body)
    finally:
        disarm()
    assert terminated, f"the cast never reached {step}"
    _assert_unavailable(response)
    _assert_nothing_written(poll)

    # The pool replaces the dead connection: the same slip's ballot now goes through.
    again = poll.post(body)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["position"] == 1
    assert stored(poll.app)["ballots"] == 1 and stored(poll.app)["used"] == 1


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_refusing_connections_is_503_until_it_accepts_again(
    poll: OpenPoll, postgres_admin: Engine, database_url: str
) -> None:
    """The database goes away for a while (every backend terminated, new connections refused)."""
    name = make_url(database_url).database
    body = json.dumps(ballot_for(poll, 0))
    with postgres_admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        try:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            response = poll.post(body)
            board = poll.client.get("/api/polls/1/board")
        finally:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    _assert_unavailable(response)
    assert board.status_code == 503
    _assert_nothing_written(poll)
    again = poll.post(body)
    assert again.status_code == 201, again.get_json()
    assert stored(poll.app)["ballots"] == 1


# --- SQLite: locked, read-only ----------------------------------------------------------------


@pytest.fixture
def sqlite_poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenPoll]:
    """Poll 1 open with 3 credentials on SQLite, with a 0.3 s busy timeout (10 s in service) so a
    locked database fails fast here."""
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'ballot.sqlite3'}",
            "KEYS_DIR": str(tmp_path / "keys"),
            "TESTING": True,
        }
    )
    run(app, "init")
    run(app, "conference", "import", str(EXAMPLE))
    yield prepare_poll(app, tmp_path, 1, 3)
    with app.app_context():
        db.engine().dispose()


def test_sqlite_locked_by_another_writer_is_503_and_nothing_written(
    sqlite_poll: OpenPoll, tmp_path: Path
) -> None:
    poll = sqlite_poll
    body = json.dumps(ballot_for(poll, 0))
    other = sqlite3.connect(tmp_path / "ballot.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        t0 = time.monotonic()
        response = poll.post(body)
        waited = time.monotonic() - t0
    finally:
        other.execute("ROLLBACK")
        other.close()
    _assert_unavailable(response)
    assert waited < 5, "the cast should give up after the busy timeout, not hang"
    _assert_nothing_written(poll)
    again = poll.post(body)
    assert again.status_code == 201, again.get_json()


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """The database file made unwritable: chmod for a normal user; root ignores file modes, so
    there the immutable attribute (chattr +i) instead, skipping if the file system lacks it."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make the file read-only as root: {done.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_sqlite_read_only_file_is_503_and_nothing_written(
    sqlite_poll: OpenPoll, tmp_path: Path
) -> None:
    poll = sqlite_poll
    path = tmp_path / "ballot.sqlite3"
    body = json.dumps(ballot_for(poll, 0))
    with poll.app.app_context():
        db.engine().dispose()  # connections opened from now on find the file read-only
    with _read_only(path):
        response = poll.post(body)
        refused_board = poll.board()  # reading still works
    _assert_unavailable(response)
    assert refused_board["entries"] == []
    _assert_nothing_written(poll)
    # Restarting the service (a fresh pool) after the file is writable again: the ballot goes in.
    with poll.app.app_context():
        db.engine().dispose()
    again = poll.post(body)
    assert again.status_code == 201, again.get_json()


def test_sqlite_recovers_without_restart_once_the_file_is_writable(
    sqlite_poll: OpenPoll, tmp_path: Path
) -> None:
    poll = sqlite_poll
    body = json.dumps(ballot_for(poll, 0))
    with poll.app.app_context():
        db.engine().dispose()
    with _read_only(tmp_path / "ballot.sqlite3"):
        _assert_unavailable(poll.post(body))
    again = poll.post(body)
    assert again.status_code == 201, again.get_json()
