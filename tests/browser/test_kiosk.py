"""The booth as an unattended kiosk, in real headless Chromium: a voter who walks away from a
half-filled ballot leaves nothing behind. After ``BALLOT_BOOTH_IDLE_SECONDS`` without a touch the
booth is back at the scan screen, with no code in the address bar or history, and nothing cast:
the board is empty and the slip still unused. A voter who keeps choosing is never cut off.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .conftest import Served

IDLE_SECONDS = 3


@pytest.fixture
def kiosk(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Served:
    """The ``served`` booth (tests/browser/conftest.py) with a short idle timeout: the server
    subprocess takes its environment from this process when the fixture starts it."""
    monkeypatch.setenv("BALLOT_BOOTH_IDLE_SECONDS", str(IDLE_SECONDS))
    served: Served = request.getfixturevalue("served")
    return served


def _credential_status(served: Served, k: int) -> str:
    key = served.poll.credential(k).public_key.hex()
    response = served.poll.client.get(f"/api/polls/1/credentials/{key}")
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["status"])


def _grade(page: Any, subject: int, grade: str) -> None:
    button = page.locator("li.subject").nth(subject).locator(f'button[data-grade="{grade}"]')
    button.click()
    assert button.get_attribute("aria-checked") == "true"


def test_an_idle_booth_forgets_the_voter_and_casts_nothing(page: Any, kiosk: Served) -> None:
    served = kiosk
    code = served.poll.codes[0]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}"))

    page.goto(served.url("/booth/1"))
    page.locator("#code-input").fill(code)
    page.locator("#code-form button").click()
    page.locator("#screen-ballot").wait_for(state="visible")
    assert page.locator("#booth").get_attribute("data-idle-seconds") == str(IDLE_SECONDS)

    # Still choosing: each touch starts the wait again, so twice the timeout passes unharmed.
    _grade(page, 0, "HTTNV")
    for subject in (1, 2):
        page.wait_for_timeout(IDLE_SECONDS * 1000 * 2 // 3)
        assert page.locator("#screen-ballot").is_visible()
        _grade(page, subject, "HTNV")

    # Then the voter walks away.
    left = time.monotonic()
    page.locator("#screen-scan").wait_for(state="visible", timeout=(IDLE_SECONDS + 10) * 1000)
    waited = time.monotonic() - left
    assert IDLE_SECONDS - 0.5 <= waited <= IDLE_SECONDS + 5, waited

    assert page.url == served.url("/booth/1")
    assert page.locator("#screen-ballot").is_hidden()
    assert page.locator("#subjects li").count() == 0  # the half-filled ballot is gone
    assert page.locator("#code-input").input_value() == ""
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    page.go_back()  # the history holds no page with the code either
    assert code not in page.url and "#" not in page.url

    # Nothing was cast: no ballot sent, the board empty, the slip still good for its owner.
    assert not [s for s in sent if not s.startswith("GET ")], sent
    assert served.poll.board()["count"] == 0
    assert _credential_status(served, 0) == "unused"

    page.goto(served.url("/booth/1"))
    page.locator("#code-input").fill(code)
    page.locator("#code-form button").click()
    page.locator("#screen-ballot").wait_for(state="visible")
    assert page.locator("li.subject").count() == 15
