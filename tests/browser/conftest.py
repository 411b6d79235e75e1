"""Browser tests: the booth in real headless Chromium (Debian's ``chromium``) through Playwright.

A real ``ballot serve`` (waitress) runs in a subprocess on 127.0.0.1 against a fresh SQLite
instance with poll 1 of the sample conference open. Chromium is never downloaded: it must be the
system's ``/usr/bin/chromium`` (``.ci/run`` installs it); without it the tests fail under CI and are
skipped otherwise. The booth's JavaScript bundle (``make`` builds it with npm) must exist too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballot import create_app, db
from tests.service.conftest import EXAMPLE, OpenPoll, prepare_poll, run
from tests.support.server import free_port, server_env, start_server, stop_server

# A 10-inch tablet in portrait (CSS pixels).
TABLET = {"width": 800, "height": 1280}


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
    env = server_env(
        tmp_path / "instance",
        f"sqlite:///{database}",
        tmp_path / "keys",
        BALLOT_BOOTH_RESET_SECONDS="2",
    )
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

    server = start_server(env, tmp_path / "server.log", port=port)
    try:
        yield Served(base, opened, server.log_path, database)
    finally:
        stop_server(server)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=TABLET, has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def laptop(browser: Any) -> Iterator[Any]:
    """A trustee's laptop: a page of the session's shared Chromium (tests/conftest.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
