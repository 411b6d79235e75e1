"""A whole conference against a running ``ballot serve`` (waitress, a subprocess on 127.0.0.1), on
SQLite and PostgreSQL: set up with the ``ballot`` and ``tally`` commands, ballots with known
choices cast over HTTP, counted through the web pages, the record and the audit bundle checked.

Also, in real headless Chromium, a trustee computing their share on the trustees' page.
"""

from __future__ import annotations

import copy
import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ballot.db import make_engine
from ballot.keys import SIGNING_KEY_FILE
from ballot.models import AuditEvent, Ballot, CountShare, Credential, Poll, PollCount
from tally.ballots import encrypt_ballot
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json, parse_json
from tally.credentials import Credential as SlipCredential
from tally.manifest import Manifest, parse_manifest
from tally.record import ServiceKey, verify_record_signature
from tally.rules import decide
from tally.trustees import TrusteeKey
from tests.support.pages import shown_hex
from tests.support.server import Server, free_port, server_env, start_server, stop_server

from .conftest import CODE_RE, EXAMPLE, OPERATOR, csrf_token
from .test_counting import expected_counts

pytestmark = pytest.mark.slow

BALLOT = [sys.executable, "-c", "from ballot.cli import main; main()"]
TALLY = [sys.executable, "-c", "import sys; from tally.cli import main; sys.exit(main())"]
PASSPHRASE = "mật khẩu khóa của Ban kiểm phiếu"
TRUSTEES = 3
SLIPS = 6
COUNT = "/operator/polls/1/count"
TRUSTEE_PAGE = "/trustee/polls/1"
SHARES_API = "/api/polls/1/shares"
HEX64 = re.compile(r"[0-9a-f]{64}")


def known_choices(subjects: int) -> list[list[int | None]]:
    """Five voters' grade indexes per subject (None = blank); one slip of six stays unused."""
    return [
        [0] * subjects,
        [0 if i % 2 == 0 else 1 for i in range(subjects)],
        [None if i == 2 else (3 if i == 3 else 1) for i in range(subjects)],
        [2 if i % 3 == 0 else 0 for i in range(subjects)],
        [i % 4 for i in range(subjects)],
    ]


# --- HTTP as a browser does it: cookies kept, redirects reported (not followed) -----------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    body: bytes
    headers: Message

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}";'
            f' filename="{filename}"\r\nContent-Type: application/json\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self._open = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        ).open

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = "") -> Reply:
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if ctype:
            request.add_header("Content-Type", ctype)
        try:
            with self._open(request, timeout=120) as response:
                return Reply(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as exc:
            with exc:
                return Reply(exc.code, exc.read(), exc.headers)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_json(self, path: str, data: Any) -> Reply:
        body = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
        return self.request("POST", path, body, "application/json")

    def post_form(
        self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
    ) -> Reply:
        body, ctype = _multipart(fields, files or {})
        return self.request("POST", path, body, ctype)

    def token(self, path: str) -> str:
        page = self.get(path)
        assert page.status == 200, (path, page.status, page.text)
        return csrf_token(page.text)


# --- the conference: commands, a running server, the database's rows ---------------------------


@dataclass
class Conference:
    tmp: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    base: str = ""
    server: Server | None = None
    engine: Engine | None = None
    keys: list[Path] = field(default_factory=list)
    port: int = 0
    codes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = server_env(
            self.tmp / "instance",
            self.database_url,
            self.tmp / "keys",
            BALLOT_BASE_URL=self.base,
            TALLY_PASSPHRASE=PASSPHRASE,
            BALLOT_OPERATOR_PASSWORD=OPERATOR[1],
        )

    def ballot(self, *args: str) -> str:
        """Run a ``ballot`` command (the operator's CLI); it must succeed."""
        done = subprocess.run(
            [*BALLOT, *args], env=self.env, capture_output=True, timeout=300, check=False
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, (args, output)
        return output

    def tally(self, *args: str) -> tuple[int, str]:
        """Run a ``tally`` command (a trustee's or an auditor's tool); return (status, output)."""
        done = subprocess.run(
            [*TALLY, *args], env=self.env, capture_output=True, timeout=300, check=False
        )
        return done.returncode, done.stdout.decode() + done.stderr.decode()

    def prepare(self) -> None:
        """What the Organization Board and the trustees do before the conference opens."""
        self.ballot("init")
        self.ballot("conference", "import", str(EXAMPLE))
        for k in range(1, TRUSTEES + 1):
            key = self.tmp / f"thanh-vien-{k}.key"
            status, output = self.tally(
                "trustee", "keygen", "--out", str(key), "--name", f"Thành viên Ban kiểm phiếu {k}"
            )
            assert status == 0, output
            self.ballot("trustee", "add", "1", f"{key}.pub.json")
            self.keys.append(key)
        # The Organization Board, on its own laptop: its key, then the slips for poll 1's uid.
        uid = re.search(r"poll uid: ([0-9a-f]{32})", self.ballot("poll", "show", "1"))
        assert uid, "ballot poll show prints the uid"
        board_key, board_out = self.tmp / "ban-to-chuc.key", self.tmp / "phieu"
        status, output = self.tally("credentials", "keygen", "--out", str(board_key))
        assert status == 0, output
        status, output = self.tally(
            "credentials",
            "mint",
            "--poll-uid",
            uid.group(1),
            "--count",
            str(SLIPS),
            "--reserve",
            "0",
            "--key",
            str(board_key),
            "--booth-url",
            f"{self.base}/booth/1",
            "--out",
            str(board_out),
        )
        assert status == 0, output
        imported = self.ballot("credentials", "import", "1", str(board_out / "credentials.json"))
        self.authority = re.search(r"fingerprint: ([0-9a-f:]{39})", imported).group(1)  # type: ignore[union-attr]
        self.codes = CODE_RE.findall((board_out / "slips.html").read_text(encoding="utf-8"))
        assert len(self.codes) == SLIPS
        self.ballot("operator", "add", OPERATOR[0])
        self.ballot("poll", "open", "1", "--acknowledge-unconfirmed-rules")
        self.engine = make_engine(self.database_url)

    def serve(self) -> None:
        self.server = start_server(self.env, self.tmp / "server.log", port=self.port)

    def stop(self) -> None:
        if self.server is not None:
            stop_server(self.server)
        if self.engine is not None:
            self.engine.dispose()

    def http(self) -> Http:
        return Http(self.base)

    def operator(self) -> Http:
        """An operator logged in through the login form."""
        client = self.http()
        token = client.token("/operator/login")
        reply = client.post_form(
            "/operator/login",
            {"username": OPERATOR[0], "password": OPERATOR[1], "csrf_token": token},
        )
        assert reply.status == 302, reply.text
        return client

    def rows(self) -> dict[str, Any]:
        """What counting could change, read from the database directly."""
        assert self.engine is not None
        with self.engine.connect() as conn:
            return {
                "poll": tuple(
                    conn.execute(select(Poll.state, Poll.board_head).where(Poll.id == 1)).one()
                ),
                "ballots": conn.scalar(select(func.count()).select_from(Ballot)),
                "voided": conn.scalar(select(func.count()).where(Credential.voided.is_(True))),
                "aggregates": list(conn.scalars(select(PollCount.aggregate))),
                "finished": list(conn.scalars(select(PollCount.finished_at))),
                "bundles": conn.scalar(select(func.count()).where(PollCount.bundle.is_not(None))),
                "shares": list(conn.scalars(select(CountShare.share).order_by(CountShare.id))),
                "events": conn.scalar(select(func.count()).select_from(AuditEvent)),
            }

    def events(self) -> list[tuple[str, str]]:
        assert self.engine is not None
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(AuditEvent.actor, AuditEvent.action)
                .where(AuditEvent.action.like("count.%"))
                .order_by(AuditEvent.id)
            )
            return [(actor, action) for actor, action in rows]

    def manifest(self) -> Manifest:
        reply = self.http().get("/api/polls/1/manifest")
        assert reply.status == 200
        return parse_manifest(reply.json())

    def cast(self, choices: list[list[int | None]]) -> None:
        """Each voter's ballot, encrypted with their slip's code, sent over HTTP."""
        ctx = self.manifest().context
        public = self.http()
        for code, row in zip(self.codes, choices, strict=False):
            ballot = encrypt_ballot(ctx, SlipCredential.from_code(code), row)
            reply = public.post_json("/api/polls/1/ballots", ballot)
            assert reply.status == 201, reply.text

    def close(self) -> str:
        """Close the poll; return the board head as announced in the room."""
        output = self.ballot("poll", "close", "1")
        match = re.search(r"board head: ([0-9a-f]{64})", output)
        assert match, output
        return match.group(1)

    def attest(self, head: str) -> None:
        """Trustee 1 counts the members present, checks the board against the head read out at
        close and signs (``tally trustee attest``); the operator hands the file in."""
        folder = self.tmp / f"attest-{secrets.token_hex(3)}"
        folder.mkdir()
        public = self.http()
        for name, path in (
            ("manifest.json", "/api/polls/1/manifest"),
            ("ballots.jsonl", "/api/polls/1/ballots"),
            ("attendance.jsonl", "/api/polls/1/attendance"),
        ):
            reply = public.get(path)
            assert reply.status == 200, (path, reply.text)
            (folder / name).write_bytes(reply.body)
        present = json.loads((folder / "attendance.jsonl").read_bytes().splitlines()[-1])
        args = ["--manifest", str(folder / "manifest.json"), "--ballots"]
        args += [str(folder / "ballots.jsonl"), "--attendance", str(folder / "attendance.jsonl")]
        args += ["--expected-head", head, "--key", str(self.keys[0])]
        # A board head other than the one read out at close: nothing is signed.
        bad = [*args[:-4], "--expected-head", "00" * 32, *args[-2:]]
        status, output = self.tally("trustee", "attest", *bad, "--present", "1", "--out", "x")
        assert status == 2 and "not signing" in output, output
        out = folder / "xac-nhan.json"
        status, output = self.tally(
            "trustee", "attest", *args, "--present", str(present["present"]), "--out", str(out)
        )
        assert status == 0, output
        self.ballot("count", "attest", "1", str(out))

    def decrypt(self, k: int, folder: Path, head: str) -> tuple[int, str, Path]:
        """Trustee ``k`` runs ``tally trustee decrypt`` on their machine."""
        out = folder / f"share-{k}-{secrets.token_hex(3)}.json"
        status, output = self.tally(
            "trustee",
            "decrypt",
            "--key",
            str(self.keys[k]),
            "--aggregate",
            str(folder / "aggregate.json"),
            "--manifest",
            str(folder / "manifest.json"),
            "--ballots",
            str(folder / "ballots.jsonl"),
            "--expected-head",
            head,
            "--out",
            str(out),
        )
        return status, output, out


@pytest.fixture
def conference(database_url: str, tmp_path: Path) -> Iterator[Conference]:
    """Poll 1 of the sample conference: three trustees' keys made with ``tally trustee keygen``
    and registered, six slips, an operator account, opened; ``ballot serve`` running."""
    conf = Conference(tmp_path, database_url)
    try:
        conf.prepare()
        conf.serve()
        yield conf
    finally:
        conf.stop()


def _error_box(reply: Reply) -> str:
    match = re.search(r'id="count-error">(.*?)</div>', reply.text, re.S)
    assert match, reply.text
    return match.group(1)


def test_whole_conference_over_http(conference: Conference, tmp_path: Path) -> None:
    conf = conference
    public = conf.http()
    operator = conf.operator()
    manifest = conf.manifest()
    subjects, grades = manifest.context.subjects, manifest.context.grades
    choices = known_choices(subjects)

    # Counting a poll that is still open is refused, and changes nothing.
    before = conf.rows()
    token = operator.token(COUNT)
    reply = operator.post_form(f"{COUNT}/start", {"csrf_token": token})
    assert reply.status == 409
    assert "vẫn đang mở" in _error_box(reply) and "still open" in _error_box(reply)
    reply = public.post_json(SHARES_API, {"format": "tally-share/1"})
    assert reply.status == 409 and reply.json()["error"]["code"] == "count_not_started"
    assert conf.rows() == before

    conf.cast(choices)
    head = conf.close()
    assert public.get("/api/polls/1/board").json()["head"] == head
    conf.attest(head)

    # (a) Counting starts on the operator's page; the trustees' files are downloaded from it.
    reply = operator.post_form(f"{COUNT}/start", {"csrf_token": operator.token(COUNT)})
    assert reply.status == 302, reply.text
    page = operator.get(COUNT).text
    assert shown_hex(page, "announced-head") == head
    folder = tmp_path / "cho-ban-kiem-phieu"
    folder.mkdir()
    for name in ("aggregate.json", "manifest.json", "ballots.jsonl"):
        reply = operator.get(f"{COUNT}/files/{name}")
        assert reply.status == 200, name
        (folder / name).write_bytes(reply.body)
    assert (folder / "aggregate.json").read_bytes() == public.get("/api/polls/1/aggregate").body
    assert (folder / "ballots.jsonl").read_bytes() == public.get("/api/polls/1/ballots").body

    # Each trustee decrypts on their own machine with the real tool, against the announced head;
    # the tool refuses a head that is not the one announced.
    status, output, _ = conf.decrypt(0, folder, "00" * 32)
    assert status == 2 and "differs from the published head" in output
    shares = []
    for k in range(TRUSTEES):
        status, output, path = conf.decrypt(k, folder, head)
        assert status == 0, output
        shares.append(path.read_bytes())

    # Refused, each with its message, and nothing changes: a share whose proof fails, a share for
    # another aggregate, finishing with shares missing.
    before = conf.rows()
    altered = parse_json(shares[0])
    altered["shares"][0][0]["d"], altered["shares"][0][1]["d"] = (
        altered["shares"][0][1]["d"],
        altered["shares"][0][0]["d"],
    )
    reply = public.post_json(SHARES_API, altered)
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["code"] == "bad_share" and "proof does not verify" in error["message_en"]
    assert "không hợp lệ" in error["message_vi"]

    aggregate = parse_json((folder / "aggregate.json").read_bytes())
    other = copy.deepcopy(aggregate)
    other["ciphertexts"][1] = list(reversed(other["ciphertexts"][1]))
    for_other = TrusteeKey.load(conf.keys[0], PASSPHRASE).decrypt_share(other)
    token = operator.token(COUNT)
    reply = operator.post_form(
        f"{COUNT}/shares",
        {"csrf_token": token},
        {"share": ("share.json", json.dumps(for_other).encode())},
    )
    assert reply.status == 400
    assert "different aggregate" in _error_box(reply) and "không hợp lệ" in _error_box(reply)

    reply = operator.post_form(f"{COUNT}/finish", {"csrf_token": token})
    assert reply.status == 409
    assert "Còn thiếu" in _error_box(reply) and "still missing" in _error_box(reply)
    assert conf.rows() == before

    # (b) The shares through the web: the operator's upload form, the trustees' public page, and
    # the public JSON API.
    reply = operator.post_form(
        f"{COUNT}/shares", {"csrf_token": token}, {"share": ("share-1.json", shares[0])}
    )
    assert reply.status == 302, reply.text
    trustee = conf.http()
    page = trustee.get(TRUSTEE_PAGE).text
    assert shown_hex(page, "board-head") == head
    reply = trustee.post_form(
        f"{TRUSTEE_PAGE}/shares",
        {"csrf_token": csrf_token(page)},
        {"share": ("share-2.json", shares[1])},
    )
    assert reply.status == 302, reply.text
    reply = public.post_json(SHARES_API, shares[2])
    assert reply.status == 201, reply.text
    assert reply.json()["missing"] == []
    assert public.post_json(SHARES_API, shares[2]).json()["error"]["code"] == "share_exists"

    # (c) Finish on the operator's page.
    page = operator.get(COUNT).text
    assert re.search(r'<button type="submit" id="finish-button">', page)
    reply = operator.post_form(f"{COUNT}/finish", {"csrf_token": operator.token(COUNT)})
    assert reply.status == 302, reply.text
    page = operator.get(COUNT).text
    for link in ("/polls/1/record", "/polls/1/results", "/api/polls/1/bundle"):
        assert f'href="{link}"' in page
    after = conf.rows()
    reply = operator.post_form(f"{COUNT}/finish", {"csrf_token": operator.token(COUNT)})
    assert reply.status == 409 and "finished" in _error_box(reply)
    assert conf.rows() == after

    # The record: the known choices' counts, the rule set's grades, the service's signature.
    bundle = tmp_path / "goi-kiem-toan.zip"
    reply = public.get("/api/polls/1/bundle")
    assert reply.status == 200
    bundle.write_bytes(reply.body)
    files = read_bundle(bundle)
    record = parse_json(files["record.json"])
    counts, blanks = expected_counts(choices, subjects, grades)
    assert [s["counts"] for s in record["subjects"]] == counts
    assert [s["blank"] for s in record["subjects"]] == blanks
    assert record["ballots_cast"] == len(choices) and record["board_head"] == head
    assert record["credentials"]["minted"] == SLIPS and record["credentials"]["voided"] == 1
    for row, blank, subject in zip(counts, blanks, record["subjects"], strict=True):
        decision = decide(
            manifest.rules,
            row,
            blank=blank,
            cast=len(choices),
            present=record["attendance_statement"]["present"],
            members=manifest.members,
        )
        assert subject["grade"] == decision.grade, subject["name"]
    assert {s["grade"] for s in record["subjects"]} >= {"HTXSNV", "HTTNV"}
    key = ServiceKey.load_or_create(tmp_path / "keys" / SIGNING_KEY_FILE)
    assert key.public_key == manifest.signer_public_key
    assert verify_record_signature(
        key.public_key, files["record.json"], files["record.sig"].decode()
    )
    page = public.get("/polls/1/record").text
    assert "BIÊN BẢN KIỂM PHIẾU" in page and shown_hex(page, "board-head") == head
    page = public.get("/polls/1/results").text
    assert "Hoàn thành xuất sắc nhiệm vụ" in page and "Hoàn thành tốt nhiệm vụ" in page

    # The auditor: tally verify passes on the bundle from the server, fails on a tampered copy.
    status, output = conf.tally(
        "verify", "--workers", "1", "--signer-key", key.public_key.hex(), str(bundle)
    )
    assert status == 0, output
    assert "VERDICT: the bundle verifies" in output
    tally_doc = parse_json(files["tally.json"])
    tally_doc["counts"][0] = [
        tally_doc["counts"][0][1],
        tally_doc["counts"][0][0],
        *tally_doc["counts"][0][2:],
    ]
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(bundle_bytes(dict(files, **{"tally.json": canonical_json(tally_doc)})))
    status, output = conf.tally("verify", "--workers", "1", str(tampered))
    assert status == 1, output
    assert re.search(r"\[LỖI / FAIL\] tally\.counts", output), output
    assert "VERDICT: the bundle does NOT verify" in output

    # Every step in the audit log, under who did it.
    web_operator = f"web:{OPERATOR[0]}"
    assert conf.events() == [
        (web_operator, "count.start"),
        (web_operator, "count.share"),
        ("web:trustee", "count.share"),
        ("web:trustee", "count.share"),
        (web_operator, "count.finish"),
    ]


# --- the trustees' page in real Chromium ---------------------------------------------------------


@pytest.fixture
def chromium_page(browser: Any) -> Iterator[Any]:
    """A page of the session's shared Chromium (tests/conftest.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_trustee_computes_the_share_in_the_browser(chromium_page: Any, tmp_path: Path) -> None:
    conf = Conference(tmp_path, f"sqlite:///{tmp_path / 'ballot.sqlite3'}")
    try:
        conf.prepare()
        conf.serve()
        _browser_trustee(conf, chromium_page, tmp_path)
    finally:
        conf.stop()


def _browser_trustee(conf: Conference, page: Any, tmp_path: Path) -> None:
    conf.cast(known_choices(conf.manifest().context.subjects)[:2])
    head = conf.close()
    conf.attest(head)
    operator = conf.operator()
    reply = operator.post_form(f"{COUNT}/start", {"csrf_token": operator.token(COUNT)})
    assert reply.status == 302, reply.text
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("aggregate.json", "manifest.json", "ballots.jsonl"):
        (folder / name).write_bytes(operator.get(f"{COUNT}/files/{name}").body)
    for k in (0, 1):  # two trustees with the command-line tool
        status, output, path = conf.decrypt(k, folder, head)
        assert status == 0, output
        assert conf.http().post_json(SHARES_API, path.read_bytes()).status == 201

    sent: list[tuple[str, str, str]] = []
    page.on("request", lambda r: sent.append((r.method, r.url, r.post_data or "")))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(conf.base + TRUSTEE_PAGE)
    page.locator("#in-browser").wait_for(state="visible")  # the module and its bundle loaded
    key_file = conf.keys[2]
    page.set_input_files("#key-file", str(key_file))

    def attempt(passphrase: str, typed_head: str) -> str:
        page.fill("#passphrase", passphrase)
        page.fill("#expected-head", typed_head)
        page.click("#compute-share")
        page.locator("#progress li.fail, #browser-result p").first.wait_for()
        return str(page.locator("#in-browser").inner_text())

    # A head that is not the announced one: nothing is decrypted or sent.
    before = conf.rows()
    shown = attempt(PASSPHRASE, "ab" * 32)
    assert "ĐẦU CHUỖI KHÁC" in shown, shown
    # The right head and a wrong passphrase: the key does not open.
    shown = attempt("sai mật khẩu rồi", head.upper())
    assert "Không mở được khóa" in shown, shown
    assert page.input_value("#passphrase") == ""
    assert not [s for s in sent if s[0] == "POST"]
    assert conf.rows() == before

    # The right head and passphrase: the share is computed here and accepted by the server.
    shown = attempt(PASSPHRASE, head)
    assert "Máy chủ đã nhận phần giải mã hợp lệ của: Thành viên Ban kiểm phiếu 3" in shown, shown
    row = page.locator("#trustees tr").nth(3)
    assert "Đã nhận" in row.inner_text() and row.get_attribute("class") == "received"
    assert not errors, errors
    assert [f for f in failed if not f.endswith("/favicon.ico")] == [], failed

    # Only the share crossed the wire: one POST, no key file, no passphrase.
    posts = [s for s in sent if s[0] == "POST"]
    assert [(m, u) for m, u, _ in posts] == [("POST", conf.base + SHARES_API)]
    share = json.loads(posts[0][2])
    assert share["trustee"] == "Thành viên Ban kiểm phiếu 3" and HEX64.fullmatch(share["poll"])
    key_json = json.loads(key_file.read_text(encoding="utf-8"))
    for _method, _url, body in sent:
        assert key_json["cipher"]["ciphertext"] not in body and key_json["kdf"]["salt"] not in body
        assert PASSPHRASE not in body
    assert len(conf.rows()["shares"]) == TRUSTEES

    reply = operator.post_form(f"{COUNT}/finish", {"csrf_token": operator.token(COUNT)})
    assert reply.status == 302, reply.text
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(conf.http().get("/api/polls/1/bundle").body)
    status, output = conf.tally("verify", "--workers", "1", str(bundle))
    assert status == 0, output
