"""Browser tests: the booth in real headless Chromium (Debian's ``chromium``) through Playwright.

A real ``ballot serve`` (waitress) runs in a subprocess on 127.0.0.1 against a fresh SQLite
instance with poll 1 of the sample conference open. Chromium is never downloaded: it must be the
system's ``/usr/bin/chromium`` (``.ci/run`` installs it); without it the tests fail under CI and are
skipped otherwise. The booth's JavaScript bundle (``make`` builds it with npm) must exist too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballot import create_app, db
from tests.service.conftest import EXAMPLE, OpenPoll, prepare_poll, run

STARTUP_SECONDS = 20
# A 10-inch tablet in portrait (CSS pixels).
TABLET = {"width": 800, "height": 1280}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    poll: OpenPoll
    log: Path
    database: Path

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``ballot serve`` on a free port with poll 1 open and 4 slips; stopped afterwards."""
    database = tmp_path / "ballot.sqlite3"
    env = dict(os.environ)
    env.update(
        BALLOT_INSTANCE=str(tmp_path / "instance"),
        BALLOT_DATABASE_URL=f"sqlite:///{database}",
        BALLOT_KEYS_DIR=str(tmp_path / "keys"),
        BALLOT_BOOTH_RESET_SECONDS="2",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    for name in ("FLASK_APP", "FLASK_DEBUG"):
        env.pop(name, None)
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
    opened = prepare_poll(app, tmp_path, 1, 4)
    with app.app_context():
        db.engine().dispose()

    log = tmp_path / "server.log"
    command = [sys.executable, "-c", "from ballot.cli import main; main()", "serve"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--threads", "4"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, log.read_text(encoding="utf-8")
            try:
                with urllib.request.urlopen(f"{base}/api/polls/1/manifest", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.1)
        yield Served(base, opened, log, database)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=TABLET, has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
