"""Who may do what, on SQLite and PostgreSQL: logins, CSRF, trustees and voters bound to their own
poll, what the public outputs reveal, security headers, and the rate limits (ballot/limits.py).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select
from werkzeug.test import TestResponse

from ballot import create_app, db
from ballot.models import AuditEvent, Ballot, Subject
from ballot.web import limits
from tally.ballots import encrypt_ballot
from tally.manifest import parse_manifest
from tally.trustees import TrusteeKey
from tests.support.polls import board_mint

from .conftest import OPERATOR, OpenPoll, csrf_token, prepare_poll, run
from .test_fuzz import UNLIMITED, api_error, cast, finish_count, snapshot, start_count

# Authorised by the ballot's signature, by the share's proofs; the challenge check changes nothing.
CSRF_EXEMPT = {
    "api.cast_ballot",
    "api.share",
    "api.check_api",
    "api.ceremony_dealing",
    "api.ceremony_check",
}


@pytest.fixture(autouse=True)
def _limits_as_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default limits counted in this process: a deployment's environment stays out (an
    autouse fixture runs before the app fixture)."""
    monkeypatch.delenv("BALLOT_RATELIMIT_STORAGE_URL", raising=False)
    for rule in limits.RULES:
        monkeypatch.delenv(rule.setting, raising=False)


def example_url(app: Flask, rule: Any) -> str:
    """A URL for ``rule`` with plausible values: the sample conference's first poll and subject."""
    with app.app_context():
        subject = db.get_session().scalar(select(Subject.id).where(Subject.poll_id == 1).limit(1))
    values = {
        "poll_id": 1,
        "conference_id": 1,
        "subject_id": subject or 1,
        "trustee_id": 1,
        "direction": "down",
        "name": "aggregate.json",
        "code": "en",
        "filename": "public.css",
        "key": "ab" * 32,
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def rules(app: Flask, method: str, prefix: str = "/") -> list[Any]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if method in (r.methods or set()) and r.rule.startswith(prefix)
        ),
        key=lambda r: r.rule,
    )


def page_text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# --- operator pages: login and CSRF --------------------------------------------------------------


def test_every_operator_page_sends_anonymous_users_to_the_login(poll: OpenPoll) -> None:
    app = poll.app
    client = app.test_client()
    token = csrf_token(page_text(client.get("/operator/login")))
    before = snapshot(app)
    gets = [r for r in rules(app, "GET", "/operator") if r.endpoint != "auth.login"]
    posts = [
        r
        for r in rules(app, "POST", "/operator")
        if r.endpoint not in ("auth.login", "auth.logout")
    ]
    assert len(gets) >= 12 and len(posts) >= 12
    for rule in gets:
        url = example_url(app, rule)
        response = client.get(url)
        if response.status_code == 401:  # a script's JSON (the dashboard's status): no redirect
            assert api_error(response)["code"] == "login_required", url
            continue
        assert response.status_code == 302, url
        location = response.headers["Location"]
        assert location.startswith("/operator/login?next="), (url, location)
    # A POST with a valid CSRF token but no login changes nothing either.
    for rule in posts:
        url = example_url(app, rule)
        response = client.post(url, data={"csrf_token": token, "count": "3", "title": "x"})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/operator/login"), url
    assert snapshot(app) == before


def test_every_form_refuses_a_post_without_its_csrf_token(
    poll: OpenPoll, operator_client: FlaskClient, tmp_path: Path
) -> None:
    app = poll.app
    app.config.update(UNLIMITED)
    forms = [r for r in rules(app, "POST") if r.endpoint not in CSRF_EXEMPT]
    assert {"auth.login", "auth.logout", "trustee.upload"} <= {r.endpoint for r in forms}
    other = app.test_client()
    other_token = csrf_token(page_text(other.get("/operator/login")))  # another session's token
    before = snapshot(app)
    for rule in forms:
        url = example_url(app, rule)
        for client in (operator_client, app.test_client()):
            for extra in ({}, {"csrf_token": "x"}, {"csrf_token": other_token}):
                data = {
                    **extra,
                    "title": "Hội nghị giả",
                    "count": "3",
                    "username": OPERATOR[0],
                    "password": OPERATOR[1],
                    "challenge": "{}",
                    "share": (io.BytesIO(b"{}"), "share.json"),
                }
                response = client.post(url, data=data, content_type="multipart/form-data")
                assert response.status_code == 400, (url, extra, response.status_code)
    assert snapshot(app) == before
    # Still logged in (the logout without a token did nothing), and a token does work.
    assert operator_client.get("/operator/").status_code == 200
    token = csrf_token(page_text(operator_client.get("/operator/")))
    assert operator_client.post("/operator/logout", data={"csrf_token": token}).status_code == 302
    assert operator_client.get("/operator/").status_code == 302


def test_a_nul_byte_in_the_username_is_a_failed_login(app: Flask) -> None:
    """PostgreSQL cannot compare text holding a NUL byte: the login must still say 401, not 500."""
    client = app.test_client()
    token = csrf_token(page_text(client.get("/operator/login")))
    for username in ("a\x00b", "\x00", OPERATOR[0] + "\x00"):
        response = client.post(
            "/operator/login",
            data={"username": username, "password": "x" * 12, "csrf_token": token},
        )
        assert response.status_code == 401, username
        assert "Sai tên đăng nhập hoặc mật khẩu" in page_text(response)


# --- trustees and voters: only their own poll ----------------------------------------------------


def open_poll_with(
    app: Flask, tmp_path: Path, poll_id: int, count: int, trustees: list[TrusteeKey]
) -> OpenPoll:
    """Like conftest.prepare_poll, with given trustee keys (one committee for several polls)."""
    for k, key in enumerate(trustees):
        pub = tmp_path / f"same-trustee-{poll_id}-{k}.pub.json"
        pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", str(poll_id), str(pub))
    codes, slips = board_mint(app, tmp_path, poll_id, count)
    run(app, "poll", "open", str(poll_id), "--acknowledge-unconfirmed-rules")
    client = app.test_client()
    manifest = parse_manifest(json.loads(client.get(f"/api/polls/{poll_id}/manifest").data))
    return OpenPoll(app, client, poll_id, codes, slips, manifest, trustees)


def _upload(client: FlaskClient, page: str, target: str, share: dict[str, Any]) -> TestResponse:
    token = csrf_token(page_text(client.get(page)))
    form = {"csrf_token": token, "share": (io.BytesIO(json.dumps(share).encode()), "share.json")}
    return client.post(target, data=form, content_type="multipart/form-data")


def test_a_share_counts_only_for_the_poll_whose_trustee_made_it(
    poll: OpenPoll, operator_client: FlaskClient, tmp_path: Path
) -> None:
    """Poll 1 and 2 have different committees, poll 3 the same as poll 1: a valid share of poll
    1 is refused by polls 2 and 3 through all three doors (API, trustee page, operator page)."""
    app = poll.app
    app.config.update(UNLIMITED)
    other = prepare_poll(app, tmp_path, 2, 3)
    same = open_poll_with(app, tmp_path, 3, 3, poll.trustees)
    aggregate = start_count(poll, tmp_path, 2)
    start_count(other, tmp_path, 1)
    start_count(same, tmp_path, 2)
    share = poll.trustees[0].decrypt_share(aggregate)
    anonymous = app.test_client()
    before = snapshot(app)
    for target, expected in ((2, "unknown_trustee"), (3, "bad_share")):
        response = anonymous.post(f"/api/polls/{target}/shares", json=share)
        assert response.status_code == 400
        error = api_error(response)
        assert error["code"] == expected, error
        if expected == "bad_share":
            assert "another poll" in error["message_en"]
        response = _upload(
            anonymous, f"/trustee/polls/{target}", f"/trustee/polls/{target}/shares", share
        )
        assert response.status_code == 400
        count_page = f"/operator/polls/{target}/count"
        response = _upload(operator_client, count_page, f"{count_page}/shares", share)
        assert response.status_code == 400
    # A made-up key, a key with a NUL byte: not a trustee of poll 1 either.
    for key in ("ab" * 32, "a\x00" * 32, 12, None):
        response = anonymous.post("/api/polls/1/shares", json={**share, "public_key": key})
        assert response.status_code == 400 and api_error(response)["code"] == "unknown_trustee"
    assert snapshot(app) == before
    # Where it belongs it is accepted, once.
    response = _upload(anonymous, "/trustee/polls/1", "/trustee/polls/1/shares", share)
    assert response.status_code == 302
    assert anonymous.post("/api/polls/1/shares", json=share).status_code == 409


def test_a_slip_votes_only_in_its_own_poll(poll: OpenPoll, tmp_path: Path) -> None:
    app = poll.app
    other = prepare_poll(app, tmp_path, 2, 3)
    mine = poll.credential(0)
    key = mine.public_key.hex()
    client = app.test_client()
    # The booth asks for the credential's status: unknown in the other poll.
    assert client.get(f"/api/polls/2/credentials/{key}").get_json()["status"] == "unknown"
    assert client.get(f"/api/polls/1/credentials/{key}").get_json()["status"] == "unused"
    before = snapshot(app)
    # A ballot of poll 1 sent to poll 2: bound to poll 1's fingerprint.
    ctx = poll.manifest.context
    response = other.post(encrypt_ballot(ctx, mine, [0] * ctx.subjects))
    assert response.status_code == 400 and "another poll" in api_error(response)["message_en"]
    # A ballot made for poll 2 with poll 1's slip: not a credential of poll 2.
    ctx2 = other.manifest.context
    response = other.post(encrypt_ballot(ctx2, mine, [0] * ctx2.subjects))
    assert response.status_code == 403 and api_error(response)["code"] == "unknown_credential"
    assert snapshot(app) == before
    assert other.board()["count"] == 0
    # At home it votes, once.
    cast(poll, 0)
    assert client.get(f"/api/polls/1/credentials/{key}").get_json()["status"] == "used"
    assert client.get(f"/api/polls/2/credentials/{key}").get_json()["status"] == "unknown"


# --- what the public sees ------------------------------------------------------------------------

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def test_public_outputs_link_no_person_or_moment_to_a_ballot(
    poll: OpenPoll, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ballots cast from distinct addresses and browsers: the board (JSON and page), receipts,
    the trustees' files, the bundle, the record and results hold no address, no browser, no
    cast time and no credential-to-position link beyond the protocol's own fields."""
    app = poll.app
    caplog.set_level(logging.DEBUG)
    addresses = [f"203.0.113.{70 + k}" for k in range(4)]
    agents = [f"May-tinh-bang-ghe-{17 + k}" for k in range(4)]
    ctx = poll.manifest.context
    receipts = []
    moments: list[str] = []  # when each ballot went in, to the microsecond
    keys: list[str] = []  # the credentials' public keys, on the public board with their ballots
    for k, (address, agent) in enumerate(zip(addresses, agents, strict=True)):
        client = app.test_client()
        ballot = encrypt_ballot(ctx, poll.credential(k), [k % 4] * ctx.subjects)
        keys.append(ballot["credential"])
        # The booth looks its slip up first: the credential's key is in that path.
        looked_up = client.get(f"/api/polls/1/credentials/{ballot['credential']}")
        assert looked_up.get_json()["status"] == "unused"
        response = client.post(
            "/api/polls/1/ballots",
            json=ballot,
            environ_base={"REMOTE_ADDR": address},
            headers={"User-Agent": agent},
        )
        assert response.status_code == 201
        receipts.append(response.data)
        moments.append(dt.datetime.now(dt.UTC).isoformat())
    with app.app_context():
        # The ballot table itself keeps no moment, address or browser.
        columns = {c["name"] for c in inspect(db.engine()).get_columns("ballot")}
        assert columns == {
            "id",
            "poll_id",
            "position",
            "credential",
            "ballot",
            "tracking_hash",
            "head",
            "commitment",  # derived from the ballot's ciphertexts (protocol 12.6)
        }
        assert db.get_session().scalar(select(func.count()).select_from(Ballot)) == 4

    client = app.test_client()
    board = client.get("/api/polls/1/board").get_json()
    assert all(
        set(e) == {"position", "tracking_hash", "tracking_code", "commitment", "head"}
        for e in board["entries"]
    )
    outputs: dict[str, bytes] = {
        "board.json": client.get("/api/polls/1/board").data,
        "board.html": client.get("/polls/1/board").data,
        **{f"receipt-{k}": r for k, r in enumerate(receipts)},
    }
    aggregate = start_count(poll, tmp_path, 0)
    finish_count(poll, aggregate)
    outputs["ballots.jsonl"] = client.get("/api/polls/1/ballots").data
    outputs["aggregate.json"] = client.get("/api/polls/1/aggregate").data
    outputs["trustee.html"] = client.get("/trustee/polls/1").data
    outputs["record.html"] = client.get("/polls/1/record").data
    outputs["results.html"] = client.get("/polls/1/results").data
    bundle = client.get("/api/polls/1/bundle")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        for name in archive.namelist():
            outputs[f"bundle/{name}"] = archive.read(name)
    assert "bundle/ballots.jsonl" in outputs

    # ballots.jsonl: exactly the protocol's fields, the ballot exactly its five.
    for name in ("ballots.jsonl", "bundle/ballots.jsonl"):
        for line in outputs[name].decode().splitlines():
            entry = json.loads(line)
            assert set(entry) == {"index", "ballot", "tracking_hash", "chain"}, name
            assert set(entry["ballot"]) == {"format", "poll", "credential", "answers", "signature"}
            assert not TIMESTAMP.search(line), name
    assert not TIMESTAMP.search(outputs["board.json"].decode())
    for name, data in outputs.items():
        text = data.decode("utf-8", "replace")
        for secret in (*addresses, *agents, *moments):
            assert secret not in text, (name, secret)
        for moment in moments:  # the time of day to the second, in any file about ballots
            if "ballot" in name or "board" in name or "receipt" in name:
                assert moment[11:19] not in text, (name, moment)
    # The access log names the request, never who sent it.
    access = [r.getMessage() for r in caplog.records if r.name == "ballot.access"]
    # Accepted requests are counted, never logged one by one (a line per cast would time it).
    assert not any(" 201" in line or " 200" in line for line in access), access
    assert app.extensions["ballot.accepted"]["POST /api/polls/<id:poll_id>/ballots 201"] == 4
    for line in access:
        assert not any(a in line for a in addresses) and not any(a in line for a in agents)
        # A logged moment next to a credential's key would tie its ballot to a time.
        assert not any(key in line for key in keys), line
    looked_up = app.extensions["ballot.accepted"]
    assert looked_up["GET /api/polls/<id:poll_id>/credentials/<key> 200"] == 4
    # No audit event mentions a credential: nothing ties a slip to a moment.
    with app.app_context():
        details = json.dumps(
            [e.detail for e in db.get_session().scalars(select(AuditEvent))], ensure_ascii=False
        )
    for k in range(5):
        assert poll.credential(k).public_key.hex() not in details


# --- security headers ----------------------------------------------------------------------------


def test_every_get_route_sends_the_security_headers(
    poll: OpenPoll, operator_client: FlaskClient
) -> None:
    app = poll.app
    urls = [example_url(app, r) for r in rules(app, "GET")] + ["/no-such-page", "/api/nothing"]
    assert len(urls) >= 30
    for client in (app.test_client(), operator_client):
        for url in urls:
            response = client.get(url)
            headers = response.headers
            assert response.status_code < 500, url
            csp = headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
            assert headers.get("X-Frame-Options") == "DENY", url
            assert headers.get("X-Content-Type-Options") == "nosniff", url
            assert headers.get("Referrer-Policy") == "no-referrer", url


# --- rate limits ---------------------------------------------------------------------------------

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _login(client: FlaskClient, password: str, address: str = "198.51.100.7") -> TestResponse:
    token = csrf_token(page_text(client.get("/operator/login")))
    return client.post(
        "/operator/login",
        data={"username": OPERATOR[0], "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


@SQLITE_ONLY
def test_guessing_the_operator_password_is_stopped(
    app: Flask, operator_client: FlaskClient
) -> None:
    client = app.test_client()
    for _ in range(10):
        assert _login(client, "doan-mo-sai-123").status_code == 401
    blocked = _login(client, "doan-mo-sai-123")
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 61
    text = page_text(blocked)
    assert "Có quá nhiều yêu cầu" in text and "Too many requests" in text
    # Blocked even with the right password, from that address; another address is not.
    assert _login(client, OPERATOR[1]).status_code == 429
    assert _login(app.test_client(), OPERATOR[1], address="198.51.100.8").status_code == 302
    # Good logins are not counted: an operator logging in often is never blocked.
    for _ in range(15):
        assert _login(app.test_client(), OPERATOR[1], address="198.51.100.9").status_code == 302


@SQLITE_ONLY
def test_a_whole_room_behind_one_address_votes_unhindered(poll: OpenPoll) -> None:
    """300 tablets behind one NAT address, each looking up its slip twice and casting twice (a
    retry) within the minute: none refused by the limits. Past the cast limit: 429, JSON."""
    app = poll.app
    assert app.config["BALLOT_RATELIMIT_CAST"] == "600 per minute"
    ballot = encrypt_ballot(poll.manifest.context, poll.credential(0), [1] * 15)
    forged = json.dumps({**ballot, "signature": "00" * 64})  # refused fast, counted all the same
    client = app.test_client()
    room = {"REMOTE_ADDR": "10.0.0.1"}
    key = poll.credential(1).public_key.hex()
    for _ in range(600):
        status = client.get(f"/api/polls/1/credentials/{key}", environ_base=room).status_code
        assert status == 200
        response = client.post(
            "/api/polls/1/ballots", data=forged, content_type="application/json", environ_base=room
        )
        assert response.status_code == 400
    refused = client.post(
        "/api/polls/1/ballots", data=forged, content_type="application/json", environ_base=room
    )
    assert refused.status_code == 429
    assert api_error(refused)["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    # Not the room's last voter, though: a tablet on another address still casts.
    response = client.post(
        "/api/polls/1/ballots", json=ballot, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.status_code == 201


@SQLITE_ONLY
def test_share_uploads_share_one_limit_across_their_three_doors(
    poll: OpenPoll, operator_client: FlaskClient
) -> None:
    app = poll.app
    app.config["BALLOT_RATELIMIT_SHARES"] = "4 per minute"
    anonymous = app.test_client()
    assert anonymous.post("/api/polls/1/shares", json={}).status_code == 409
    assert anonymous.post("/api/polls/1/shares", json={}).status_code == 409
    # (Before counting the pages carry no upload form: a CSRF token from any page will do.)
    assert _upload(anonymous, "/operator/login", "/trustee/polls/1/shares", {}).status_code == 409
    count = "/operator/polls/1/count"
    assert _upload(operator_client, "/operator/", f"{count}/shares", {}).status_code == 409
    response = anonymous.post("/api/polls/1/shares", json={})
    assert response.status_code == 429 and api_error(response)["code"] == "rate_limited"
    page = _upload(anonymous, "/operator/login", "/trustee/polls/1/shares", {})
    assert page.status_code == 429 and "Too many requests" in page_text(page)


REDIS_URL = os.environ.get("BALLOT_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_prefix() -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        reason = f"Redis unreachable at {REDIS_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"ballot-test-{secrets.token_hex(6)}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@SQLITE_ONLY
def test_two_app_servers_share_the_limit_through_redis(
    app: Flask, tmp_path: Path, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALLOT_RATELIMIT_STORAGE_URL", REDIS_URL)
    servers = [
        create_app(
            {
                "INSTANCE_PATH": str(tmp_path / f"instance-{k}"),
                "DATABASE_URL": app.config["DATABASE_URL"],
                "KEYS_DIR": str(tmp_path / "keys"),
                "TESTING": True,
                "RATELIMIT_KEY_PREFIX": redis_prefix,
            }
        )
        for k in range(2)
    ]
    assert all(s.config["RATELIMIT_STORAGE_URI"] == REDIS_URL for s in servers)
    try:
        for k in range(10):  # alternately on either server
            assert _login(servers[k % 2].test_client(), "sai-mat-khau-00").status_code == 401
        for server in servers:
            assert _login(server.test_client(), "sai-mat-khau-00").status_code == 429
        # The in-memory default would have let the second server's clients through.
        alone = create_app(
            {
                "INSTANCE_PATH": str(tmp_path / "instance-alone"),
                "DATABASE_URL": app.config["DATABASE_URL"],
                "KEYS_DIR": str(tmp_path / "keys"),
                "TESTING": True,
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )
        assert _login(alone.test_client(), "sai-mat-khau-00").status_code == 401
    finally:
        for server in servers:
            with server.app_context():
                db.engine().dispose()


@SQLITE_ONLY
def test_an_unreachable_limit_store_refuses_no_voter(app: Flask, tmp_path: Path) -> None:
    down = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance-down"),
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_DIR": str(tmp_path / "keys"),
            "TESTING": True,
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1",  # nothing listens there
        }
    )
    client = down.test_client()
    # Served, and still limited (in memory meanwhile).
    for _ in range(10):
        assert _login(client, "sai-mat-khau-00").status_code == 401
    assert _login(client, "sai-mat-khau-00").status_code == 429
    with down.app_context():
        db.engine().dispose()


def test_the_limits_are_configured_for_every_endpoint_they_name(app: Flask) -> None:
    named = {endpoint for rule in limits.RULES for endpoint in rule.endpoints}
    assert named <= set(app.view_functions)
    for rule in limits.RULES:
        assert app.config[rule.setting] == rule.default


def test_access_lines_never_reach_a_handler_that_adds_a_time(
    poll: OpenPoll, capsys: pytest.CaptureFixture[str]
) -> None:
    """After an error has been logged through the app's logger (Flask then installs its default
    handler, which prints a time), a cast still prints nothing with a time: the access logger
    does not propagate to it (issue 14, finding 1)."""
    import logging

    from flask.logging import default_handler

    from ballot.config import ACCESS_LOGGER
    from tally.ballots import encrypt_ballot

    assert logging.getLogger(ACCESS_LOGGER).propagate is False
    # Outside pytest the root logger has no handler, so the first error Flask logs installs its
    # default handler (a time on every line) on the app's logger; here it is installed by hand.
    access = logging.getLogger(ACCESS_LOGGER)
    level = access.level
    access.setLevel(logging.INFO)  # as ``ballot serve`` sets it
    poll.app.logger.addHandler(default_handler)
    try:
        with poll.app.app_context():
            poll.app.logger.error("an earlier failure")  # what a 500 does
        capsys.readouterr()
        ctx = poll.manifest.context
        ballot = encrypt_ballot(ctx, poll.credential(0), [1] * ctx.subjects)
        assert poll.post(ballot).status_code == 201
        printed = capsys.readouterr()
    finally:
        poll.app.logger.removeHandler(default_handler)
        access.setLevel(level)
    assert "ballots" not in printed.out + printed.err
    assert not re.search(r"\d\d:\d\d:\d\d", printed.out + printed.err)
