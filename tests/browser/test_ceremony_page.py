"""One trustee's whole part in real headless Chromium (issue 15): on the key ceremony page they
deal, then check, with their key file read in the browser; the poll opens with the ceremony's
key; after close, on the trustee page, they decrypt with their share of the key (k of n, 2 of
3), a second trustee's share comes from ``tally``, the third stays away, and the count is
exactly the choices cast. The key's secret and passphrase never leave the browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ballot import create_app, db
from ballot.models import KeyCeremony, Poll
from tally.ballots import encrypt_ballot
from tally.bundle import read_bundle
from tally.canonical import parse_json
from tally.credentials import Credential
from tally.dkg import decrypt_share, make_check, make_dealing, parse_ceremony, threshold_key
from tally.group import encode_scalar
from tally.manifest import parse_manifest
from tally.trustees import TrusteeKey
from tests.service.conftest import EXAMPLE, run
from tests.service.test_counting import expected_counts, known_choices
from tests.support.polls import attest, board_mint
from tests.support.server import free_port, server_env, start_server, stop_server

PASSPHRASE = "mật khẩu khóa của Ban kiểm phiếu 2026"
HEAD_RE = re.compile(r"board head: ([0-9a-f]{64})")
COMPUTE_MS = 60_000
SHOTS = Path("/tmp/shots")


@dataclass
class Hall:
    base: str
    app: Flask
    keys: list[TrusteeKey]
    files: list[Path]
    log: Path


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    database = tmp_path / "ballot.sqlite3"
    env = server_env(tmp_path / "instance", f"sqlite:///{database}", tmp_path / "keys")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
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
    keys = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {m}") for m in (1, 2, 3)]
    files = []
    for m, key in enumerate(keys):
        pub = tmp_path / f"t{m}.pub.json"
        pub.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", "1", str(pub))
        path = tmp_path / f"thanh-vien-{m + 1}.key"
        key.save(path, PASSPHRASE)
        files.append(path)
    run(app, "ceremony", "start", "1", "--threshold", "2")
    server = start_server(
        env, tmp_path / "server.log", port=port, ready="/api/conferences/1/ceremony"
    )
    try:
        yield Hall(base, app, keys, files, server.log_path)
    finally:
        stop_server(server)
        with app.app_context():
            db.engine().dispose()


@pytest.fixture
def laptop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def ceremony_state(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/api/conferences/1/ceremony").get_json()  # type: ignore[no-any-return]


def press(page: Any, hall: Hall, button: str) -> str:
    page.goto(hall.base + "/trustee/conferences/1/ceremony")
    page.locator("#in-browser").wait_for(state="visible")
    page.set_input_files("#key-file", str(hall.files[0]))
    page.fill("#passphrase", PASSPHRASE)
    page.click(button)
    page.locator("#progress li.fail, #browser-result p").first.wait_for(timeout=COMPUTE_MS)
    page.locator(f"{button}:enabled").wait_for()
    return str(page.locator("#in-browser").inner_text())


def test_one_trustees_whole_part_in_the_browser(laptop: Any, hall: Hall, tmp_path: Path) -> None:
    page = laptop
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url + " " + (r.post_data or "")))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    app, keys = hall.app, hall.keys
    setup = parse_ceremony(ceremony_state(app)["ceremony"])

    # Step 1: trustee 1 deals in the browser; the others with tally.
    shown = press(page, hall, "#ceremony-step")
    assert "Máy chủ đã nhận" in shown, shown
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "ceremony-dealing-800x1280.png"), full_page=True)
    assert ceremony_state(app)["dealings"][0] == {"dealer": 1}  # what, only once all are in
    with app.app_context():
        row = db.get_session().scalar(select(KeyCeremony))
        assert row is not None
        assert json.loads(row.dealings)[0] == make_dealing(setup, keys[0])  # tally's bytes
    client = app.test_client()
    for key in keys[1:]:
        assert (
            client.post(
                "/api/conferences/1/ceremony/dealings", json=make_dealing(setup, key)
            ).status_code
            == 201
        )
    # Step 2: trustee 1 checks in the browser; the others with tally.
    shown = press(page, hall, "#ceremony-step")
    assert "Mọi phần chia gửi cho anh/chị đều đúng" in shown and "Máy chủ đã nhận" in shown, shown
    dealings = ceremony_state(app)["dealings"]
    for key in keys[1:]:
        assert (
            client.post(
                "/api/conferences/1/ceremony/checks", json=make_check(setup, key, dealings)
            ).status_code
            == 201
        )
    page.goto(hall.base + "/trustee/conferences/1/ceremony")
    assert page.locator("#ceremony-state").get_attribute("data-state") == "done"
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.screenshot(path=str(SHOTS / "ceremony-done-1920x1080.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 1280})
    page.screenshot(path=str(SHOTS / "ceremony-done-800x1280.png"), full_page=True)

    # The poll opens with the ceremony's key; three ballots; close; counting starts.
    codes, _ = board_mint(app, tmp_path, 1, 4)
    with app.app_context():
        if db.get_session().get_one(Poll, 1).present < 4:
            run(app, "poll", "edit", "1", "--present", "4")
    run(app, "poll", "open", "1", "--acknowledge-unconfirmed-rules")
    manifest_data = json.loads(client.get("/api/polls/1/manifest").data)
    manifest = parse_manifest(manifest_data)
    ctx = manifest.context
    choices = known_choices(ctx.subjects, ctx.grades)[:3]
    for code, row in zip(codes, choices, strict=False):
        assert (
            client.post(
                "/api/polls/1/ballots", json=encrypt_ballot(ctx, Credential.from_code(code), row)
            ).status_code
            == 201
        )
    match = HEAD_RE.search(run(app, "poll", "close", "1"))
    assert match
    head = match.group(1)
    attest(app, 1, keys[0])
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "count"))

    # Trustee 1 decrypts on the trustee page; trustee 3 with tally; trustee 2 stays away.
    page.goto(hall.base + "/trustee/polls/1")
    page.locator("#in-browser").wait_for(state="visible")
    page.set_input_files("#key-file", str(hall.files[0]))
    page.fill("#passphrase", PASSPHRASE)
    page.fill("#expected-head", head)
    page.click("#compute-share")
    page.locator("#progress li.fail, #browser-result p").first.wait_for(timeout=COMPUTE_MS)
    shown = str(page.locator("#in-browser").inner_text())
    assert f"Máy chủ đã nhận phần giải mã hợp lệ của: {keys[0].public.name}" in shown, shown
    transcript = manifest_data["election"]["ceremony"]
    aggregate = json.loads(client.get("/api/polls/1/aggregate").data)
    third = threshold_key(setup, transcript["dealings"], transcript["checks"], keys[2])
    assert (
        client.post("/api/polls/1/shares", json=decrypt_share(aggregate, third)).status_code == 201
    )
    run(app, "count", "finish", "1")
    files = read_bundle(client.get("/api/polls/1/bundle").data)
    tally_doc = parse_json(files["tally.json"])
    counts, blanks = expected_counts(choices, ctx.subjects, ctx.grades)
    assert (tally_doc["counts"], tally_doc["blanks"]) == (counts, blanks)
    record = parse_json(files["record.json"])
    assert record["decryption"]["combined"] == [keys[0].public.name, keys[2].public.name]
    assert record["decryption"]["absent"] == [keys[1].public.name]
    assert errors == []
    # Nothing the browser sent holds the key's secret or the passphrase.
    x = keys[0]._x
    sealed = json.loads(hall.files[0].read_text(encoding="utf-8"))
    for secret in (encode_scalar(x).hex(), f"{x:064x}", sealed["cipher"]["ciphertext"], PASSPHRASE):
        assert not any(secret in line for line in sent)
    assert PASSPHRASE not in hall.log.read_text(encoding="utf-8")
