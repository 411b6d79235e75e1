"""HTTPS on the hall network (docs/hall-network.md): Debian's Caddy, with its own certificate
authority (``tls internal``), in front of two ``ballot serve`` processes on one database.

The proxy runs ``deploy/caddy/Caddyfile`` itself, moved to 127.0.0.1 and free ports, with Caddy's
data and config directories (its authority, its autosave) and ``HOME`` inside the test's tmp dir:
nothing is written to the real home and no trust store is touched. Every request goes to
127.0.0.1 with a timeout; every process is stopped (terminate, then kill) at the end.

Also, without any process: ``BALLOT_TRUSTED_PROXIES`` (ballot/web/proxy.py) believes
``X-Forwarded-Proto`` and ``-Host`` only when set, and ``X-Forwarded-For`` never.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, need
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from ballot import create_app, db
from tally.ballots import encrypt_ballot, tracking_code
from tally.credentials import Credential
from tally.manifest import parse_manifest
from tests.support.server import (
    STARTUP_SECONDS,
    Server,
    free_port,
    request,
    server_env,
    start_server,
    stop_server,
    wait_until,
)

from .conftest import EXAMPLE, OPERATOR, OpenPoll, csrf_token, prepare_poll, run

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
CADDY = os.environ.get("BALLOT_TEST_CADDY", "/usr/bin/caddy")
SLIPS = 6
CAST = re.compile(r"^  (\d+) × POST /api/polls/<id:poll_id>/ballots 201$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _no_proxy_setting_of_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own BALLOT_TRUSTED_PROXIES stays out: each test says what it wants."""
    monkeypatch.delenv("BALLOT_TRUSTED_PROXIES", raising=False)


# --- the hall: Caddy in front of two servers ---------------------------------------------------


def hall_caddyfile(site_port: int, http_port: int, backends: tuple[int, int]) -> str:
    """deploy/caddy/Caddyfile with the hall's address, ports and admin endpoint moved to
    127.0.0.1 and free ports: each change must find its line exactly once."""
    text = CADDYFILE.read_text(encoding="utf-8")
    changes = {
        # Admin API off; the redirect listener on a free port; every listener on 127.0.0.1.
        "\tadmin localhost:2019\n": (
            f"\tadmin off\n\thttp_port {http_port}\n\tdefault_bind 127.0.0.1\n"
        ),
        "\nhttps://192.168.1.10 {\n": f"\nhttps://127.0.0.1:{site_port} {{\n",
        "\t\tto 127.0.0.1:8001\n": f"\t\tto 127.0.0.1:{backends[0]}\n",
        "\t\tto 127.0.0.1:8002\n": f"\t\tto 127.0.0.1:{backends[1]}\n",
    }
    for old, new in changes.items():
        assert text.count(old) == 1, f"{CADDYFILE} no longer has {old!r} once"
        text = text.replace(old, new)
    return text


@dataclass
class Hall:
    base: str  # https://127.0.0.1:<port>, what BALLOT_BASE_URL says
    http_port: int  # Caddy's plain-HTTP port (the redirect)
    caddy: Server
    servers: list[Server]
    poll: OpenPoll
    root: Path  # Caddy's root certificate
    tls: ssl.SSLContext  # trusts that root only

    def get(self, path: str) -> tuple[int, bytes]:
        return request(self.base + path, context=self.tls, timeout=10)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return request(self.base + path, body, context=self.tls, timeout=30)

    def casts(self, server: Server) -> int:
        """The accepted casts a stopped server counted: ``ballot serve`` prints its totals when
        it stops (never a line per cast, which would time each ballot)."""
        found = CAST.findall(server.log())
        return int(found[0]) if found else 0


def _caddy_answers(root: Path, base: str) -> bool:
    """Caddy has made its authority and passes a request to a server, over verified TLS."""
    if not root.is_file():
        return False
    try:
        context = ssl.create_default_context(cafile=str(root))
        return request(base + "/api/polls/1/manifest", context=context, timeout=5)[0] == 200
    except (OSError, ssl.SSLError):
        return False


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    need(shutil.which(CADDY) is not None, f"{CADDY} not installed (apt-get install caddy)")
    site_port, http_port = free_port(), free_port()
    base = f"https://127.0.0.1:{site_port}"
    database = tmp_path / "ballot.sqlite3"
    # One instance folder (the session key), one database, one keys folder for both processes.
    env = server_env(
        tmp_path / "instance",
        f"sqlite:///{database}",
        tmp_path / "keys",
        BALLOT_BASE_URL=base,
        BALLOT_TRUSTED_PROXIES="1",
    )
    app = create_app(
        {
            "INSTANCE_PATH": env["BALLOT_INSTANCE"],
            "DATABASE_URL": env["BALLOT_DATABASE_URL"],
            "KEYS_DIR": env["BALLOT_KEYS_DIR"],
            "BASE_URL": base,
            "TESTING": True,
        }
    )
    run(app, "init")
    run(app, "conference", "import", str(EXAMPLE))
    opened = prepare_poll(app, tmp_path, 1, SLIPS)
    added = app.test_cli_runner().invoke(
        args=["operator", "add", OPERATOR[0]], env={"BALLOT_OPERATOR_PASSWORD": OPERATOR[1]}
    )
    assert added.exit_code == 0, added.output
    with app.app_context():
        db.engine().dispose()

    caddy_home = tmp_path / "caddy"
    data, config = caddy_home / "data", caddy_home / "config"
    for folder in (data, config):
        folder.mkdir(parents=True)
    servers: list[Server] = []
    caddy: Server | None = None
    try:
        for k in (1, 2):
            servers.append(start_server(env, tmp_path / f"server-{k}.log", threads=2))
        ports = tuple(int(s.base.rsplit(":", 1)[1]) for s in servers)
        caddyfile = tmp_path / "Caddyfile"
        caddyfile.write_text(
            hall_caddyfile(site_port, http_port, (ports[0], ports[1])), encoding="utf-8"
        )
        caddy_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(caddy_home),
            "XDG_DATA_HOME": str(data),
            "XDG_CONFIG_HOME": str(config),
        }
        log_path = tmp_path / "caddy.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                env=caddy_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        caddy = Server(base, process, log_path)
        root = data / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        wait_until(caddy, lambda: _caddy_answers(root, base), STARTUP_SECONDS)
        tls = ssl.create_default_context(cafile=str(root))  # verification stays on
        yield Hall(base, http_port, caddy, servers, opened, root, tls)
    finally:
        for running in [caddy, *servers]:
            if running is not None:
                stop_server(running)


def _ballot(hall: Hall, k: int) -> bytes:
    status, data = hall.get("/api/polls/1/manifest")
    assert status == 200, data
    ctx = parse_manifest(json.loads(data)).context
    ballot = encrypt_ballot(ctx, Credential.from_code(hall.poll.codes[k]), [1] * ctx.subjects)
    return json.dumps(ballot).encode("utf-8")


def _cast(hall: Hall, ballot: bytes) -> dict[str, Any]:
    status, data = hall.post("/api/polls/1/ballots", ballot)
    assert status == 201, (data, hall.caddy.log()[-2000:])
    receipt: dict[str, Any] = json.loads(data)
    assert receipt["tracking_code"] == tracking_code(bytes.fromhex(receipt["tracking_hash"]))
    return receipt


@pytest.mark.slow
def test_ballots_cast_over_https_reach_both_servers_and_one_board(hall: Hall) -> None:
    # Plain HTTP to the hall is sent to HTTPS, path and all.
    connection = http.client.HTTPConnection("127.0.0.1", hall.http_port, timeout=10)
    try:
        connection.request("GET", "/booth/1")
        response = connection.getresponse()
        assert response.status == 308
        assert response.getheader("Location") == f"{hall.base}/booth/1"
    finally:
        connection.close()

    # A client that trusts only the hall's root certificate accepts the proxy's; one that trusts
    # the system's authorities refuses it.
    with pytest.raises(urllib.error.URLError) as refused:
        request(hall.base + "/api/polls/1/manifest", context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value

    # Four ballots through the proxy: taken in turn by both servers, onto one board.
    ballots = [_ballot(hall, k) for k in range(SLIPS)]
    receipts = [_cast(hall, ballot) for ballot in ballots[:4]]
    assert [r["position"] for r in receipts] == [1, 2, 3, 4]
    for server in hall.servers:  # no line per accepted cast, while running or after
        assert "ballots 201" not in server.log()

    # One database: a ballot already cast is refused by either server, through the proxy or not.
    for server in hall.servers:
        status, data = request(server.base + "/api/polls/1/ballots", ballots[0])
        assert status == 409, data
        assert json.loads(data)["error"]["code"] == "credential_used"
    status, data = hall.post("/api/polls/1/ballots", ballots[1])
    assert status == 409 and json.loads(data)["error"]["code"] == "credential_used"

    # One server stops. The one cast Caddy may still send it before it is out of the turn gets
    # a 503 the booth understands (try again); every ballot pressed again is accepted, by the
    # other server.
    stop_server(hall.servers[0])
    first = hall.casts(hall.servers[0])
    assert 1 <= first <= 3, first  # round robin: both servers took some of the four
    unanswered = 0
    later = []
    for ballot in ballots[4:]:
        status, data = hall.post("/api/polls/1/ballots", ballot)
        if status == 503:
            unanswered += 1
            assert json.loads(data)["error"]["code"] == "server_unavailable", data
            status, data = hall.post("/api/polls/1/ballots", ballot)
        assert status == 201, data
        later.append(json.loads(data))
    assert unanswered <= 1
    assert [r["position"] for r in later] == [5, 6]

    status, data = hall.get("/api/polls/1/board")
    assert status == 200
    board = json.loads(data)
    assert [e["tracking_code"] for e in board["entries"]] == [
        r["tracking_code"] for r in receipts + later
    ]

    # Both stopped: a cast gets the bilingual error, a page a bilingual text; nothing crashes.
    stop_server(hall.servers[1])
    assert first + hall.casts(hall.servers[1]) == 6  # one board, the casts of both servers
    status, data = hall.post("/api/polls/1/ballots", ballots[0])
    assert status == 503, data
    error = json.loads(data)["error"]
    assert error["code"] == "server_unavailable"
    assert "xin thử lại" in error["message_vi"] and "try again" in error["message_en"]
    status, data = hall.get("/booth/1")
    assert status == 503 and "reload the page" in data.decode("utf-8")

    # Caddy kept no access line: nothing gives a ballot its time or a tablet's address.
    assert "/api/polls/1/ballots" not in hall.caddy.log()


def _spki_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _hall_intermediate(hall: Hall) -> x509.Certificate:
    """The local authority's intermediate, which signs the site's certificate, checked to be
    issued by the root the tablets would install."""
    folder = hall.root.parent
    root = x509.load_pem_x509_certificate(hall.root.read_bytes())
    intermediate = x509.load_pem_x509_certificate((folder / "intermediate.crt").read_bytes())
    intermediate.verify_directly_issued_by(root)
    return intermediate


@pytest.mark.slow
def test_the_booth_is_a_secure_context_and_the_operator_cookie_is_secure(
    hall: Hall, browser: Any, tmp_path: Path
) -> None:
    # Chromium cannot be handed a CA file per context, and ignore_https_errors=True would accept
    # any certificate. So this browser is launched trusting one key only: the hall authority's
    # intermediate (--ignore-certificate-errors-spki-list matches keys in the chain the server
    # presents, which holds the intermediate but not the root), itself checked against root.crt.
    pin = _spki_sha256(_hall_intermediate(hall))
    home = tmp_path / "chromium-home"
    home.mkdir()
    pinned = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"],
        headless=True,
        env={"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=STARTUP_SECONDS * 1000,
    )
    try:
        context = pinned.new_context(locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(20_000)

        # The booth, over HTTPS: a secure context, so the camera API is there for the QR reader.
        response = page.goto(f"{hall.base}/booth/1")
        assert response is not None and response.status == 200
        assert page.evaluate("location.protocol") == "https:"
        assert page.evaluate("window.isSecureContext") is True
        assert page.evaluate(
            "!!(navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia"
            " === 'function')"
        )
        # A member votes through the proxy: typed code, commitment, cast, receipt; no warning
        # about plain HTTP on this page.
        assert page.locator("#insecure").is_hidden()
        page.locator("#code-input").fill(hall.poll.codes[0])
        page.locator("#code-form button").click()
        page.locator("#screen-ballot").wait_for(state="visible")
        for item in page.locator("li.subject").all():
            item.locator('button[data-grade="HTNV"]').click()
        page.locator("#to-review").click()
        page.locator("#seal").click()
        page.locator("#screen-sealed").wait_for(state="visible")
        shown = page.locator("#sealed-commitment").inner_text().strip()
        page.locator("#cast").click()
        page.locator("#screen-receipt").wait_for(state="visible")
        status, data = hall.get("/api/polls/1/board")
        assert status == 200
        entries = json.loads(data)["entries"]
        assert [e["commitment"] for e in entries] == [shown]

        # The operator logs in through the form (its CSRF token, no Referer), whichever server
        # answers each request: one session key for both.
        page.goto(f"{hall.base}/operator/login")
        page.fill("input[name=username]", OPERATOR[0])
        page.fill("input[name=password]", OPERATOR[1])
        with page.expect_navigation():
            page.locator("form button[type=submit], form input[type=submit]").first.click()
        assert page.url == f"{hall.base}/operator/", page.content()[:2000]
        cookies = [c for c in context.cookies(hall.base) if c["name"] == "session"]
        assert len(cookies) == 1, context.cookies()
        assert cookies[0]["secure"] is True
        assert cookies[0]["httpOnly"] is True
        assert cookies[0]["sameSite"] == "Lax"

        # The app knows the hall's scheme and address behind the proxy: the room's screen shows
        # the public board's https:// address, not the server's own http://127.0.0.1:port.
        page.goto(f"{hall.base}/operator/polls/1/dashboard")
        assert f"{hall.base}/polls/1/board" in page.locator("#board-link").inner_text()
        context.close()
    finally:
        pinned.close()


# --- BALLOT_TRUSTED_PROXIES, through the Flask test client -------------------------------------

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "hoi-truong.lan",
    "X-Forwarded-For": "192.0.2.77",
}
BOARD_LINK = re.compile(r'id="board-link">[^<]*?(\S+/polls/1/board)</a>')


def _proxied_app(database_url: str, tmp_path: Path, proxies: int | None) -> Flask:
    config: dict[str, Any] = {"BASE_URL": "https://hoi-truong.lan"}
    if proxies is not None:
        config["TRUSTED_PROXIES"] = proxies
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "TESTING": True,
            **config,
        }
    )
    run(app, "init")
    run(app, "conference", "import", str(EXAMPLE))
    prepare_poll(app, tmp_path, 1, 1)
    added = app.test_cli_runner().invoke(
        args=["operator", "add", OPERATOR[0]], env={"BALLOT_OPERATOR_PASSWORD": OPERATOR[1]}
    )
    assert added.exit_code == 0, added.output
    return app


def _login(client: FlaskClient, password: str, address: str = "192.0.2.77") -> int:
    headers = {**FORWARDED, "X-Forwarded-For": address}
    page = client.get("/operator/login", headers=headers)
    response = client.post(
        "/operator/login",
        headers=headers,
        data={
            "username": OPERATOR[0],
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    return response.status_code


@pytest.mark.parametrize(
    ("proxies", "link"),
    [
        (None, "http://localhost/polls/1/board"),  # the default: believed from no one
        (0, "http://localhost/polls/1/board"),
        (1, "https://hoi-truong.lan/polls/1/board"),
    ],
)
def test_forwarded_scheme_and_host_only_from_a_trusted_proxy(
    database_url: str, tmp_path: Path, proxies: int | None, link: str
) -> None:
    app = _proxied_app(database_url, tmp_path, proxies)
    try:
        client = app.test_client()
        # The login form works either way: no Referer, yet CSRF-checked (WTF_CSRF_SSL_STRICT off).
        assert _login(client, OPERATOR[1]) == 302
        page = client.get("/operator/polls/1/dashboard", headers=FORWARDED)
        assert page.status_code == 200
        match = BOARD_LINK.search(page.get_data(as_text=True))
        assert match, page.get_data(as_text=True)
        assert match.group(1) == link
    finally:
        with app.app_context():
            db.engine().dispose()


def test_forwarded_for_is_never_believed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guesser behind the trusted proxy who invents a new X-Forwarded-For for every try is
    still one client to the login limit: the app never takes an address from that header."""
    monkeypatch.delenv("BALLOT_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("BALLOT_RATELIMIT_LOGIN", raising=False)
    app = _proxied_app(database_url, tmp_path, 1)
    app.config["BALLOT_RATELIMIT_LOGIN"] = "3 per minute"
    try:
        client = app.test_client()
        statuses = [_login(client, f"sai-mat-khau-{k}", f"192.0.2.{k + 1}") for k in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
    finally:
        with app.app_context():
            db.engine().dispose()


@pytest.mark.parametrize("value", ["-1", "hai"])
def test_a_bad_proxy_count_stops_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BALLOT_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError):
        create_app(
            {
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'ballot.sqlite3'}",
                "KEYS_DIR": str(tmp_path / "keys"),
                "TESTING": True,
            }
        )
