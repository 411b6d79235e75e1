"""The trustee page on a board large enough to need its workers (issue 19), in real Chromium.

A 15-subject poll with 16 ballots: verifying them on the page's thread would freeze it for seconds
(12 s and more under 4x throttling). With DevTools' 4x CPU throttling on the page's main thread
(the only thread DevTools can throttle: it refuses for workers), the page must verify the board in
Web Workers, show its progress (ballots checked of the number expected, and the time left) while
it does, run no task over 200 ms on its main thread from the click to the server's answer, and
still make a share the server accepts. A ballot whose proof is broken, signed again with its slip's
key, in a board whose tracking hashes and chain were made again around it (what a dishonest server
holding that slip would serve), is still caught, by name, and nothing is sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballot import db
from tally.ballots import encrypt_ballot, signed_bytes
from tally.board import genesis, next_head
from tally.canonical import canonical_json
from tally.credentials import Credential
from tests.support.polls import OpenPoll, conference_toml, make_app, prepare_poll, run
from tests.support.server import free_port, server_env, start_server, stop_server

BALLOTS = 16
SUBJECTS = 15
PASSPHRASE = "mật khẩu khóa của Ban kiểm phiếu"
HEAD_RE = re.compile(r"board head: ([0-9a-f]{64})")
LONG_TASK_MS = 200
# Every long task the main thread runs, from the first script on (the Long Tasks API).
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, ms: e.duration});
}).observe({type: "longtask", buffered: true});
"""


@dataclass
class Board:
    base: str
    poll: OpenPoll
    head: str
    key_file: Path
    log: Path


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    """16 ballots cast, the poll closed and attested, counting started; then ``ballot serve``.
    Shared by the tests of this module: the first sends one share, the second sends nothing."""
    tmp_path = tmp_path_factory.mktemp("trustee-workers")
    database = tmp_path / "ballot.sqlite3"
    app = make_app(tmp_path, f"sqlite:///{database}")
    run(app, "init")
    conference = tmp_path / "conference.toml"
    conference.write_text(conference_toml(SUBJECTS, BALLOTS), encoding="utf-8")
    run(app, "conference", "import", str(conference))
    poll = prepare_poll(app, tmp_path, 1, BALLOTS)
    ctx = poll.manifest.context
    for k in range(BALLOTS):
        row = [(k + i) % ctx.grades for i in range(ctx.subjects)]
        response = poll.post(encrypt_ballot(ctx, poll.credential(k), row))
        assert response.status_code == 201, response.get_json()
    match = HEAD_RE.search(run(app, "poll", "close", "1"))
    assert match
    poll.attest()
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "for-trustees"))
    key_file = tmp_path / "thanh-vien-1.key"
    poll.trustees[0].save(key_file, PASSPHRASE)
    with app.app_context():
        db.engine().dispose()
    env = server_env(tmp_path / "instance", f"sqlite:///{database}", tmp_path / "keys")
    server = start_server(env, tmp_path / "server.log", port=free_port())
    try:
        yield Board(server.base, poll, match.group(1), key_file, server.log_path)
    finally:
        stop_server(server)


@pytest.fixture
def throttled(browser: Any) -> Iterator[Any]:
    """A trustee's laptop with a 4x slower main thread, recording its long tasks."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.add_init_script(LONG_TASKS)
    page = context.new_page()
    page.set_default_timeout(20_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    yield page
    context.close()


def _start(page: Any, board: Board) -> float:
    page.goto(board.base + "/trustee/polls/1")
    page.locator("#in-browser").wait_for(state="visible")
    page.set_input_files("#key-file", str(board.key_file))
    page.fill("#passphrase", PASSPHRASE)
    page.fill("#expected-head", board.head)
    started = float(page.evaluate("performance.now()"))
    page.click("#compute-share")
    return started


def _done(page: Any) -> str:
    page.locator("#progress li.fail, #browser-result p").first.wait_for(timeout=240_000)
    page.locator("#compute-share:enabled").wait_for()
    return str(page.locator("#in-browser").inner_text())


def test_the_board_is_checked_in_workers_with_progress_and_no_long_task(
    throttled: Any, board: Board
) -> None:
    page = throttled
    workers: list[str] = []
    page.on("worker", lambda w: workers.append(w.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = _start(page, board)

    # Progress while it checks: "Đã kiểm tra n / 40 phiếu", a bar, and the time left.
    seen: list[int] = []
    bar = page.locator("#progress progress")
    bar.wait_for()
    while page.locator("#progress li.ok, #progress li.fail").count() == 0:
        label = page.locator("#progress li:has(progress)").inner_text()
        found = re.search(r"Đã kiểm tra (\d+) / (\d+) phiếu", label)
        if found:
            assert int(found.group(2)) == BALLOTS, label
            done = int(found.group(1))
            if not seen or done != seen[-1]:
                seen.append(done)
            if 0 < done < BALLOTS:
                assert re.search(r"còn khoảng \d+ giây", label), label
        page.wait_for_timeout(250)
    label = page.locator("#progress li:has(progress)").inner_text()
    found = re.search(r"Đã kiểm tra (\d+) / (\d+) phiếu", label)
    assert found, label
    seen.append(int(found.group(1)))
    assert seen == sorted(seen) and seen[-1] == BALLOTS, seen
    assert len([d for d in seen if 0 < d < BALLOTS]) >= 2, seen  # seen moving, not only at the end

    shown = _done(page)
    name = board.poll.trustees[0].public.name
    assert f"Máy chủ đã nhận phần giải mã hợp lệ của: {name}" in shown, shown
    assert not errors, errors
    # One worker per core (at least two on any machine that runs this), none of them the booth's.
    verifiers = [w for w in workers if w.endswith("/build/verify-worker.js")]
    assert len(verifiers) >= 2 and workers[-1].endswith("/build/share-worker.js"), workers

    long_tasks = page.evaluate("window.__longTasks")
    during = [t["ms"] for t in long_tasks if t["start"] >= started]
    assert all(ms <= LONG_TASK_MS for ms in during), sorted(during)[-5:]


def _tampered(text: str, fingerprint: bytes, slip: Credential) -> tuple[str, int]:
    """The board with ballot 11's first proof broken and the ballot signed again with its slip's
    key, every tracking hash and chain link made again from there: only its proof can tell."""
    entries = [json.loads(line) for line in text.splitlines()]
    bad = 11
    ballot = entries[bad - 1]["ballot"]
    assert ballot["credential"] == slip.public_key.hex()
    proof = ballot["answers"][0]["choices"][0]["proof"]
    proof["s0"], proof["s1"] = proof["s1"], proof["s0"]
    ballot["signature"] = slip.sign(signed_bytes(ballot)).hex()
    head = genesis(fingerprint)
    lines = []
    for entry in entries:
        tracking = hashlib.sha256(canonical_json(entry["ballot"])).digest()
        head = next_head(head, tracking)
        entry["tracking_hash"], entry["chain"] = tracking.hex(), head.hex()
        lines.append(canonical_json(entry).decode("utf-8"))
    return "\n".join(lines) + "\n", bad


def test_a_bad_ballot_is_caught_in_the_workers_and_nothing_is_sent(
    laptop: Any, board: Board
) -> None:
    page = laptop
    real = board.poll.client.get("/api/polls/1/ballots").get_data(as_text=True)
    credential = json.loads(real.splitlines()[10])["ballot"]["credential"]
    slip = next(
        c for c in map(board.poll.credential, range(BALLOTS)) if c.public_key.hex() == credential
    )
    served, bad = _tampered(real, board.poll.manifest.fingerprint, slip)
    page.route(
        "**/api/polls/1/ballots",
        lambda route: route.fulfill(status=200, content_type="application/x-ndjson", body=served),
    )
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    _start(page, board)
    shown = _done(page)
    refusal = page.locator("#progress li.fail").inner_text()
    assert "BẢNG TIN KHÔNG HỢP LỆ" in refusal, shown
    assert f"ballot {bad}: subject 1, grade 1: the 0/1 proof does not verify" in refusal, refusal
    assert posts == []
    assert page.locator("#browser-result").inner_text().strip() == ""
