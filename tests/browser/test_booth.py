"""The booth in real headless Chromium: scan, vote, review, cast, receipt, reset; refusals; the
Benaloh challenge; and no slip code or plaintext choice in the server's log, database or traffic.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from tally.ballots import encrypt_ballot

from .conftest import Served

GRADE_CODES = ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]


def _board(served: Served) -> dict[str, Any]:
    page = served.poll.client.get("/api/polls/1/board")  # the same database, read directly
    return page.get_json()  # type: ignore[no-any-return]


def _fill_ballot(page: Any, pattern: list[str]) -> None:
    subjects = page.locator("li.subject")
    for i in range(subjects.count()):
        subjects.nth(i).locator(f'button[data-grade="{pattern[i % len(pattern)]}"]').click()


def _open_ballot(page: Any, served: Served, code: str) -> None:
    page.goto(served.url(f"/booth/1#{code}"))
    page.locator("#screen-ballot").wait_for(state="visible")


def _database_text(served: Served) -> str:
    with sqlite3.connect(served.database) as conn:
        return "\n".join(conn.iterdump())


def _assert_no_plaintext(text: str, choices: list[int | None]) -> None:
    """No choice in the clear: not the choices list in any spelling, no revealed randomness (a
    ballot's own ``answers[].choices`` are ciphertexts with proofs)."""
    assert '"randomness"' not in text
    for spelling in (json.dumps(choices), json.dumps(choices, separators=(",", ":"))):
        assert spelling not in text


def test_scan_vote_review_cast_receipt_reset(page: Any, served: Served) -> None:
    code = served.poll.codes[0]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data or ''}"))

    _open_ballot(page, served, code)
    assert "#" not in page.url  # the code left the address bar at once
    assert page.locator("li.subject").count() == 15
    page.locator("#to-review").click()  # nothing graded yet: it points at the first subject
    assert page.locator("#screen-ballot").is_visible()
    assert page.locator("li.subject.missing").count() == 15
    assert page.get_by_text("Hoàn thành xuất sắc nhiệm vụ").count() == 15
    _fill_ballot(page, ["HTTNV", "HTXSNV", "HTNV", "KHTNV", "BLANK"])
    page.locator("#to-review").click()
    rows = page.locator("#review-rows tr")
    assert rows.count() == 15
    assert "Hoàn thành tốt nhiệm vụ" in rows.nth(0).inner_text()
    assert "Để trống" in rows.nth(4).inner_text()

    page.locator("#cast").click()
    page.locator("#screen-receipt").wait_for(state="visible")
    tracking = page.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", tracking)
    board = _board(served)
    assert [e["tracking_code"] for e in board["entries"]] == [tracking]

    # After the receipt's countdown (2 s in this test) the booth is empty again.
    page.locator("#screen-scan").wait_for(state="visible", timeout=10_000)
    assert page.url == served.url("/booth/1")
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert page.locator("#receipt-code").inner_text() == ""
    page.go_back()
    assert code not in page.url and "#" not in page.url

    # What crossed the wire: never the slip's code, never a choice in the clear.
    bare = code.replace("-", "")
    traffic = "\n".join(sent)
    assert code not in traffic and bare not in traffic
    posted = [s for s in sent if s.startswith("POST ")]
    assert len(posted) == 1
    ballot = json.loads(posted[0].split(" ", 2)[2])
    assert set(ballot) == {"format", "poll", "credential", "answers", "signature"}
    for text in (served.log_text(), _database_text(served)):
        assert code not in text and bare not in text
        _assert_no_plaintext(text, [1, 0, 2, 3, None] * 3)
    assert "randomness" not in posted[0]
    _assert_no_plaintext(posted[0], [1, 0, 2, 3, None] * 3)
    assert "POST /api/polls/1/ballots 201" in served.log_text()
    # The access log's lines carry no time: the k-th accepted cast is board position k.
    assert not re.search(r"\d\d:\d\d:\d\d", served.log_text()), served.log_text()


def test_reused_slip_is_refused_and_nothing_changes(page: Any, served: Served) -> None:
    code = served.poll.codes[1]
    ctx = served.poll.manifest.context
    response = served.poll.post(encrypt_ballot(ctx, served.poll.credential(1), [0] * 15))
    assert response.status_code == 201
    before = _database_text(served)

    page.goto(served.url(f"/booth/1#{code}"))
    page.locator("#screen-error").wait_for(state="visible")
    assert "đã được dùng" in page.locator("#error-text").inner_text()
    assert page.locator("#screen-ballot").is_hidden()
    assert _database_text(served) == before


def test_typed_code_and_bad_codes(page: Any, served: Served) -> None:
    page.goto(served.url("/booth/1#NOT-A-REAL-CODE"))
    page.locator("#screen-error").wait_for(state="visible")
    assert "Mã thẻ không hợp lệ" in page.locator("#error-text").inner_text()
    page.locator("#restart").click()
    page.locator("#screen-scan").wait_for(state="visible")

    # A well-formed code that belongs to no slip of this poll.
    page.locator("#code-input").fill("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA")
    page.locator("#code-form button").click()
    page.locator("#screen-error").wait_for(state="visible")
    assert "không thuộc cuộc biểu quyết này" in page.locator("#error-text").inner_text()
    page.locator("#restart").click()

    # Typed in lower case with spaces, as a voter might.
    typed = served.poll.codes[2].lower().replace("-", " ")
    page.locator("#code-input").fill(typed)
    page.locator("#code-form button").click()
    page.locator("#screen-ballot").wait_for(state="visible")
    assert _board(served)["count"] == 0


def test_challenge_is_checked_and_never_cast(page: Any, served: Served) -> None:
    code = served.poll.codes[3]
    _open_ballot(page, served, code)
    _fill_ballot(page, ["HTNV"])
    page.locator("#to-review").click()
    page.locator("details.challenge-box summary").click()
    page.locator("#challenge").click()
    page.locator("#screen-challenge").wait_for(state="visible")
    challenged = page.locator("#challenge-code").inner_text().strip()
    challenge = page.locator("#challenge-json").input_value()
    assert json.loads(challenge)["format"] == "tally-challenge/1"
    # The booth had the server check it at once, and shows the verdict.
    verdict = page.locator("#challenge-verdict")
    verdict.wait_for(state="visible")
    assert "KHỚP" in verdict.inner_text() and "KHÔNG" not in verdict.inner_text()
    assert page.locator("#challenge-rows tr").count() == 15
    assert _board(served)["count"] == 0  # nothing was sent

    checker = page.context.new_page()
    checker.goto(served.url("/polls/1/check"))
    checker.locator("#challenge").fill(challenge)
    checker.locator("form button").click()
    result = checker.locator("#check-result")
    assert "KHỚP" in result.inner_text() and "KHÔNG KHỚP" not in result.inner_text()
    assert challenged in result.inner_text()
    assert result.locator("tr").count() == 15
    # A changed randomness no longer matches.
    data = json.loads(challenge)
    data["randomness"][0][0], data["randomness"][0][1] = (
        data["randomness"][0][1],
        data["randomness"][0][0],
    )
    checker.goto(served.url("/polls/1/check"))
    checker.locator("#challenge").fill(json.dumps(data))
    checker.locator("form button").click()
    assert "KHÔNG KHỚP" in checker.locator("#check-result").inner_text()
    checker.close()

    # Back to the ballot: a fresh encryption is cast, never the challenged one.
    page.locator("#challenge-again").click()
    page.locator("#screen-review").wait_for(state="visible")
    assert page.locator("#challenge-json").input_value() == ""  # nothing of it left
    page.locator("#cast").click()
    page.locator("#screen-receipt").wait_for(state="visible")
    cast = page.locator("#receipt-code").inner_text().strip()
    assert cast != challenged
    assert [e["tracking_code"] for e in _board(served)["entries"]] == [cast]

    # The server checked the revealed choices but kept none of them, and no randomness: only
    # the challenged ballot's ciphertexts (their public a), so that it can never be cast.
    revealed = json.loads(challenge)
    for text in (served.log_text(), _database_text(served)):
        _assert_no_plaintext(text, revealed["choices"])
        for row in revealed["randomness"]:
            assert not any(r in text for r in row)
    with sqlite3.connect(served.database) as conn:
        stored = conn.execute("SELECT poll_id, a FROM challenged_ciphertext").fetchall()
    assert sorted(stored) == sorted(
        (1, c["a"]) for answer in revealed["ballot"]["answers"] for c in answer["choices"]
    )
    refused = served.poll.post(revealed["ballot"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "challenged_ballot"


def test_closed_poll_page(page: Any, served: Served) -> None:
    from tests.service.conftest import run

    run(served.poll.app, "poll", "close", "1")
    response = page.goto(served.url(f"/booth/1#{served.poll.codes[0]}"))
    assert response is not None and response.status == 409
    assert "đã đóng" in page.locator("#screen-closed").inner_text()
    assert page.locator("li.subject").count() == 0


def test_a_draft_polls_booth_still_drops_the_code_from_the_address_bar(
    page: Any, served: Served
) -> None:
    response = page.goto(served.url(f"/booth/2#{served.poll.codes[0]}"))
    assert response is not None and response.status == 409
    assert "chưa mở" in page.locator("#screen-closed").inner_text()
    page.wait_for_function("location.hash === ''")
    assert "#" not in page.url


def test_landscape_tablet_layout(browser: Any, served: Served) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    page = context.new_page()
    try:
        _open_ballot(page, served, served.poll.codes[0])
        first = page.locator("li.subject").first.locator("button.grade")
        boxes = [first.nth(k).bounding_box() for k in range(4)]
        assert all(b is not None and b["height"] >= 44 for b in boxes)
        assert len({round(b["y"]) for b in boxes if b}) == 1  # the four grades on one row
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
