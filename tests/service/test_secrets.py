"""Secrets stay secret: key files private, and no slip code, passphrase or password anywhere the
service writes (logs at DEBUG for every logger, command output, responses, the whole database).

Since protocol version 2 the server never mints slips: the Organization Board does, offline
(``tally credentials mint``, tests/test_authority.py checks its files' modes), and the server
imports only the signed public list. ``ballot demo``'s sheets are the one place the server still
writes slip codes, and they are private too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, select

from ballot import db
from ballot.keys import SIGNING_KEY_FILE
from ballot.models import Poll
from tally import cli as tally_cli
from tally.authority import AuthorityKey
from tally.ballots import encrypt_ballot
from tally.credentials import Credential
from tally.group import scalar_hex
from tally.manifest import parse_manifest
from tally.trustees import TrusteeKey
from tests.support.polls import add_trustees, board_mint, poll_uid
from tests.support.server import SERVE, free_port, server_env

from .conftest import CODE_RE, EXAMPLE, csrf_token, run
from .test_fuzz import UNLIMITED

# --- key files -----------------------------------------------------------------------------------


@pytest.fixture
def private_umask() -> Iterator[None]:
    """The most permissive umask: file modes must come from the code, not the environment."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_keys_whatever_the_umask(
    database_url: str, tmp_path: Path, private_umask: None
) -> None:
    from ballot import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "KEYS_DIR": str(tmp_path / "keys"),
            "TESTING": True,
        }
    )
    run(app, "init")
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / SIGNING_KEY_FILE) == 0o600
    assert _mode(tmp_path / "instance" / "secret_key") == 0o600
    # The one place the server still writes secrets: the demo's slips, logins and trustee keys.
    out = tmp_path / "demo"
    run(app, "demo", "--no-serve", "--out", str(out))
    assert _mode(out) == 0o700 and _mode(out / "trustees") == 0o700
    written = sorted(p for p in out.rglob("*") if p.is_file())
    sheets = [p for p in written if p.name.startswith("slips-poll-")]
    # + operator, passphrase; the committee's 3 keys; the database marker and the address
    assert len(sheets) == 4 and len(written) == 4 + 2 + 3 + 2
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
    with app.app_context():
        db.engine().dispose()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606])
def test_commands_refuse_a_signing_key_others_can_read(
    app: Flask, tmp_path: Path, mode: int
) -> None:
    key = Path(app.config["KEYS_DIR"]) / SIGNING_KEY_FILE
    assert _mode(key) == 0o600  # made by the fixture's `ballot init`
    run(app, "conference", "import", str(EXAMPLE))
    add_trustees(app, tmp_path, 1)
    board_mint(app, tmp_path, 1, 2)
    key.chmod(mode)
    for args in (["init"], ["poll", "open", "1", "--acknowledge-unconfirmed-rules"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert str(key) in result.output and "chmod 600" in result.output, result.output
    with app.app_context():
        assert db.get_session().scalar(select(Poll.state).where(Poll.id == 1)) == "draft"
    key.chmod(0o600)
    run(app, "poll", "open", "1", "--acknowledge-unconfirmed-rules")


def _server_env(app: Flask) -> dict[str, str]:
    return server_env(app.instance_path, app.config["DATABASE_URL"], app.config["KEYS_DIR"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_refuses_a_signing_key_others_can_read(app: Flask, tmp_path: Path) -> None:
    key = Path(app.config["KEYS_DIR"]) / SIGNING_KEY_FILE
    key.chmod(0o640)
    env = _server_env(app)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*SERVE, "--port", str(free_port())], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 15
        running = False
        while server.poll() is None and time.monotonic() < deadline:
            if "ballot server running" in log_path.read_text(encoding="utf-8", errors="replace"):
                running = True
                break
            time.sleep(0.1)
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=10)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert not running, "the server started: " + output
    assert server.returncode != 0
    assert str(key) in output and "chmod 600" in output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("which", ["signing key", "session key"])
def test_the_wsgi_app_for_gunicorn_refuses_a_key_others_can_read(app: Flask, which: str) -> None:
    """``ballot.wsgi:app`` (gunicorn) makes the checks of ``ballot serve``: it loads with private
    keys and refuses, naming the file, when the record-signing or session key is readable."""
    load = [sys.executable, "-c", "import ballot.wsgi; print('loaded', ballot.wsgi.app.name)"]
    env = _server_env(app)
    fine = subprocess.run(load, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert fine.returncode == 0 and "loaded ballot" in fine.stdout, fine.stderr
    key = (
        Path(app.config["KEYS_DIR"]) / SIGNING_KEY_FILE
        if which == "signing key"
        else Path(app.instance_path) / "secret_key"
    )
    assert key.exists()
    key.chmod(0o644)
    refused = subprocess.run(load, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "loaded" not in refused.stdout
    assert "not starting the server" in refused.stderr and str(key) in refused.stderr
    assert "chmod 600" in refused.stderr


# --- a whole conference, then a search for every secret ------------------------------------------

OPERATOR_PASSWORD = "Mật-khẩu-người-vận-hành-2023"
WRONG_PASSWORD = "doan-thu-mat-khau-sai-77"
PASSPHRASES = ("cụm mật khẩu của thành viên một", "cụm mật khẩu của thành viên hai")
BOARD_PASSPHRASE = "cụm mật khẩu của Ban Tổ chức"
SLIPS, RESERVE = 4, 1


def _needles(
    codes: list[str], trustees: list[TrusteeKey], authority: AuthorityKey
) -> dict[str, str]:
    """Every secret, in every spelling a careless line could use."""
    found: dict[str, str] = {"operator password": OPERATOR_PASSWORD, "guess": WRONG_PASSWORD}
    for k, passphrase in enumerate(PASSPHRASES):
        found[f"passphrase {k}"] = passphrase
    found["authority passphrase"] = BOARD_PASSPHRASE
    found["authority seed"] = authority._key.private_bytes_raw().hex()
    for k, key in enumerate(trustees):
        found[f"trustee {k} secret"] = scalar_hex(key._x)
    for k, code in enumerate(codes):
        bare = code.replace("-", "")
        secret = Credential.from_code(code)._secret
        for spelling in (code, bare, code.lower(), bare.lower(), secret.hex()):
            found[f"slip {k}: {spelling[:6]}…"] = spelling
    return found


def _database_dump(app: Flask) -> str:
    """Every row of every table, as text (the bundle unzipped), and SQLite's raw files."""
    lines: list[str] = []
    with app.app_context():
        engine = db.engine()
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(table.select()):
                    for value in row:
                        if isinstance(value, bytes) and value.startswith(b"PK"):
                            with zipfile.ZipFile(io.BytesIO(value)) as archive:
                                for name in archive.namelist():
                                    lines.append(archive.read(name).decode("utf-8", "replace"))
                    lines.append(f"{table.name}: {tuple(row)!r}")
        if engine.url.get_backend_name() == "sqlite" and engine.url.database:
            for suffix in ("", "-wal"):
                raw = Path(engine.url.database + suffix)
                if raw.exists():
                    lines.append(raw.read_bytes().decode("latin-1"))
                    lines.append(raw.read_bytes().decode("utf-8", "replace"))
    return "\n".join(lines)


def test_no_secret_in_any_log_output_response_or_table(
    app: Flask,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "sqlalchemy.engine", "werkzeug", "flask-limiter", "ballot.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    app.config.update(UNLIMITED)
    outputs: list[str] = []
    responses: list[bytes] = []

    def ballot(*args: str, **env: str) -> str:
        result = app.test_cli_runner().invoke(args=list(args), env=env or None)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
        return result.output

    def tally(*args: str, passphrase: str) -> None:
        monkeypatch.setenv("TALLY_PASSPHRASE", passphrase)
        assert tally_cli.main(list(args)) == 0
        monkeypatch.delenv("TALLY_PASSPHRASE")

    # The Organization Board: an account, the conference, trustees' public keys, slips.
    ballot("operator", "add", "bantochuc", BALLOT_OPERATOR_PASSWORD=OPERATOR_PASSWORD)
    ballot("conference", "import", str(EXAMPLE))
    trustee_files = []
    for k, passphrase in enumerate(PASSPHRASES):
        key_file = tmp_path / f"thanh-vien-{k}.key"
        tally(
            "trustee",
            "keygen",
            "--out",
            str(key_file),
            "--name",
            f"Thành viên {k}",
            passphrase=passphrase,
        )
        ballot("trustee", "add", "1", f"{key_file}.pub.json")
        trustee_files.append(key_file)
    # The Board mints on its own laptop and brings only the signed public list to the server.
    board_key, board_out = tmp_path / "ban-to-chuc.key", tmp_path / "ban-to-chuc"
    tally("credentials", "keygen", "--out", str(board_key), passphrase=BOARD_PASSPHRASE)
    tally(
        *("credentials", "mint", "--poll-uid", poll_uid(app, 1), "--key", str(board_key)),
        *("--count", str(SLIPS), "--reserve", str(RESERVE), "--out", str(board_out)),
        *("--booth-url", "http://hoi-truong.lan:8000/booth/1", "--title", "Phiếu biểu quyết"),
        passphrase=BOARD_PASSPHRASE,
    )
    slips, imported = board_out / "slips.html", board_out / "credentials.json"
    codes = CODE_RE.findall(slips.read_text(encoding="utf-8"))
    assert len(codes) == SLIPS + RESERVE
    ballot("credentials", "import", "1", str(imported))
    ballot("poll", "open", "1", "--acknowledge-unconfirmed-rules")

    # The operator logs in (a wrong guess first) and watches; tablets vote with three slips.
    operator = app.test_client()
    token = csrf_token(operator.get("/operator/login").get_data(as_text=True))
    for password, status in ((WRONG_PASSWORD, 401), (OPERATOR_PASSWORD, 302)):
        response = operator.post(
            "/operator/login",
            data={"username": "bantochuc", "password": password, "csrf_token": token},
        )
        assert response.status_code == status
        responses.append(response.data)
    for path in ("/operator/", "/operator/polls/1", "/operator/polls/1/dashboard"):
        responses.append(operator.get(path).data)
    tablet = app.test_client()
    manifest_data = tablet.get("/api/polls/1/manifest").data
    ctx = parse_manifest(json.loads(manifest_data)).context
    for k, code in enumerate(codes[:3]):
        responses.append(tablet.get("/booth/1").data)  # the code stays in the URL fragment
        credential = Credential.from_code(code)
        key = credential.public_key.hex()
        responses.append(tablet.get(f"/api/polls/1/credentials/{key}").data)
        cast = tablet.post("/api/polls/1/ballots", json=encrypt_ballot(ctx, credential, [k] * 15))
        assert cast.status_code == 201
        responses.append(cast.data)
        search = cast.get_json()["tracking_code"]
        responses.append(tablet.get(f"/polls/1/board?code={search}").data)
    ballot("poll", "attendance", "1", "14")  # one member left the room
    closed = ballot("poll", "close", "1")
    announced = re.search(r"board head: ([0-9a-f]{64})", closed)
    assert announced

    # A trustee signs the number present on their own machine, from the public files.
    public = tmp_path / "cong-khai"
    public.mkdir()
    for name, path in (
        ("manifest.json", "/api/polls/1/manifest"),
        ("ballots.jsonl", "/api/polls/1/ballots"),
        ("attendance.jsonl", "/api/polls/1/attendance"),
    ):
        response = tablet.get(path)
        assert response.status_code == 200, path
        responses.append(response.data)
        (public / name).write_bytes(response.data)
    statement = tmp_path / "xac-nhan-co-mat.json"
    tally(
        *("trustee", "attest", "--key", str(trustee_files[0]), "--present", "14"),
        *("--manifest", str(public / "manifest.json"), "--ballots", str(public / "ballots.jsonl")),
        *("--attendance", str(public / "attendance.jsonl"), "--out", str(statement)),
        *("--expected-head", announced.group(1)),
        passphrase=PASSPHRASES[0],
    )
    ballot("count", "attest", "1", str(statement))

    # Counting: the trustees decrypt on their own machines, one uploads on the trustees' page.
    out = tmp_path / "cho-ban-kiem-phieu"
    start = ballot("count", "start", "1", "--out-dir", str(out))
    head = re.search(r"--expected-head ([0-9a-f]{64})", start)
    assert head
    shares = []
    for k, (key_file, passphrase) in enumerate(zip(trustee_files, PASSPHRASES, strict=True)):
        share = tmp_path / f"phan-{k}.json"
        files = {"--aggregate": "aggregate.json", "--manifest": "manifest.json"}
        paths = [arg for option, name in files.items() for arg in (option, str(out / name))]
        tally(
            *("trustee", "decrypt", "--key", str(key_file), *paths),
            *("--ballots", str(out / "ballots.jsonl"), "--expected-head", head.group(1)),
            *("--out", str(share)),
            passphrase=passphrase,
        )
        shares.append(share)
    responses.append(tablet.post("/api/polls/1/shares", data=shares[0].read_bytes()).data)
    page = tablet.get("/trustee/polls/1").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "share": (io.BytesIO(shares[1].read_bytes()), "p.json")}
    uploaded = tablet.post("/trustee/polls/1/shares", data=form, content_type="multipart/form-data")
    assert uploaded.status_code == 302
    ballot("count", "finish", "1", "--handed-out", str(SLIPS), "--lost", "1")
    ballot("export", "1", "--out", str(tmp_path / "goi.zip"))
    for path in ("/polls/1/record", "/polls/1/results", "/api/polls/1/bundle", "/operator/audit"):
        client = operator if path.startswith("/operator") else tablet
        responses.append(client.get(path).data)
    outputs.append(capsys.readouterr().out)

    # Now look everywhere.
    records = [
        "\n".join(
            (r.name, r.getMessage(), repr(r.args), r.exc_text or "", str(getattr(r, "params", "")))
        )
        for r in caplog.records
    ]
    assert any(r.name == "ballot.access" for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL not logged"
    places = {
        "logs": "\n".join(records),
        "command output": "\n".join(outputs),
        "responses": "\n".join(r.decode("utf-8", "replace") for r in responses),
        "database": _database_dump(app),
        "audit bundle": _unzip(tmp_path / "goi.zip"),
        "trustees' files": "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir()),
        "shares": "\n".join(p.read_text(encoding="utf-8") for p in shares),
        "imported credential list": imported.read_text(encoding="utf-8"),
        "attendance statement": statement.read_text(encoding="utf-8"),
    }
    # Each place really holds what it should: the two small files are read as documents.
    sizes = {k: len(v) for k, v in places.items()}
    small = ("imported credential list", "attendance statement")
    assert [where for where, size in sizes.items() if size <= 1000 and where not in small] == []
    assert len(json.loads(places["imported credential list"])["keys"]) == SLIPS + RESERVE
    assert json.loads(places["attendance statement"])["present"] == 14
    needles = _needles(
        codes,
        [TrusteeKey.load(f, p) for f, p in zip(trustee_files, PASSPHRASES, strict=True)],
        AuthorityKey.load(board_key, BOARD_PASSPHRASE),
    )
    leaks = [
        (what, where)
        for what, needle in needles.items()
        for where, text in places.items()
        if needle in text
    ]
    assert leaks == []
    # The one place the codes are: the Board's sheet, on its laptop (print, cut, delete).
    assert all(code in slips.read_text(encoding="utf-8") for code in codes)


def _unzip(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_corrupt_signing_key_is_a_clear_refusal_not_a_traceback(conference: Flask) -> None:
    """A record-signing key file that is not a key: `poll open` refuses in both languages,
    exit status 1, the poll stays a draft; the server does not start."""
    key = Path(conference.config["KEYS_DIR"]) / SIGNING_KEY_FILE
    key.write_text("garbage\n", encoding="ascii")
    key.chmod(0o600)
    result = conference.test_cli_runner().invoke(
        args=["poll", "open", "1", "--acknowledge-unconfirmed-rules"]
    )
    assert result.exit_code == 1, (result.output, result.exception)
    assert "cannot read the record-signing key" in result.output
    assert "không đọc được khóa ký biên bản" in result.output
    with conference.app_context():
        from ballot.startup import startup_problem

        assert "cannot read the record-signing key" in (startup_problem() or "")
