"""The booth in real headless Chromium: scan, vote, review, cast, receipt, reset; refusals; the
Benaloh challenge; and no slip code or plaintext choice in the server's log, database or traffic.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from tally.ballots import encrypt_ballot

from .conftest import Served

GRADE_CODES = ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]
STATIC_CHECKER = (
    Path(__file__).resolve().parents[2] / "ballot" / "static" / "build" / "check-challenge.html"
)


def _board(served: Served) -> dict[str, Any]:
    page = served.poll.client.get("/api/polls/1/board")  # the same database, read directly
    return page.get_json()  # type: ignore[no-any-return]


def _fill_ballot(page: Any, pattern: list[str]) -> None:
    subjects = page.locator("li.subject")
    for i in range(subjects.count()):
        subjects.nth(i).locator(f'button[data-grade="{pattern[i % len(pattern)]}"]').click()


def _type_code(page: Any, served: Served, code: str, path: str = "/booth/1") -> None:
    page.goto(served.url(path))
    page.locator("#code-input").fill(code)
    page.locator("#code-form button").click()


def _open_ballot(page: Any, served: Served, code: str) -> None:
    _type_code(page, served, code)
    page.locator("#screen-ballot").wait_for(state="visible")


COMMITMENT = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){7}")


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
    assert "#" not in page.url and code not in page.url
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

    # The booth encrypts and shows the commitment before the voter chooses to cast.
    page.locator("#seal").click()
    page.locator("#screen-sealed").wait_for(state="visible")
    shown = page.locator("#sealed-commitment").inner_text().strip()
    assert COMMITMENT.fullmatch(shown), shown
    assert not [s for s in sent if s.startswith("POST ")]  # nothing sent yet
    page.locator("#cast").click()
    page.locator("#screen-receipt").wait_for(state="visible")
    tracking = page.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", tracking)
    assert page.locator("#receipt-commitment").inner_text().strip() == shown
    board = _board(served)
    assert [(e["tracking_code"], e["commitment"]) for e in board["entries"]] == [(tracking, shown)]
    public = served.poll.client.get("/polls/1/board").get_data(as_text=True)
    assert tracking in public and shown[:20] in public and shown[20:] in public  # side by side

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
    # No line per accepted cast at all (issue 14): only refusals and errors are logged.
    assert "/ballots 201" not in served.log_text() and "/ballots" not in served.log_text()
    # The access log's lines carry no time: the k-th accepted cast is board position k.
    assert not re.search(r"\d\d:\d\d:\d\d", served.log_text()), served.log_text()


def test_reused_slip_is_refused_and_nothing_changes(page: Any, served: Served) -> None:
    code = served.poll.codes[1]
    ctx = served.poll.manifest.context
    response = served.poll.post(encrypt_ballot(ctx, served.poll.credential(1), [0] * 15))
    assert response.status_code == 201
    before = _database_text(served)

    _type_code(page, served, code)
    page.locator("#screen-error").wait_for(state="visible")
    assert "đã được dùng" in page.locator("#error-text").inner_text()
    assert page.locator("#screen-ballot").is_hidden()
    assert _database_text(served) == before


def test_typed_code_and_bad_codes(page: Any, served: Served) -> None:
    _type_code(page, served, "NOT-A-REAL-CODE")
    page.locator("#screen-error").wait_for(state="visible")
    assert "Mã thẻ không đúng dạng" in page.locator("#error-text").inner_text()
    page.locator("#restart").click()
    page.locator("#screen-scan").wait_for(state="visible")

    # Issue 17: one character of a real slip's code typed wrong says to check the code.
    real = served.poll.codes[2]
    typo = ("B" if real[0] != "B" else "C") + real[1:]
    _type_code(page, served, typo)
    page.locator("#screen-error").wait_for(state="visible")
    assert "có thể gõ sai một ký tự" in page.locator("#error-text").inner_text()
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


def test_challenge_reveals_nothing_to_the_server_and_is_never_cast(
    page: Any, served: Served
) -> None:
    code = served.poll.codes[3]
    _open_ballot(page, served, code)
    pattern = ["HTNV", "HTTNV", "BLANK"]
    _fill_ballot(page, pattern)
    page.locator("#to-review").click()
    page.locator("#seal").click()
    page.locator("#screen-sealed").wait_for(state="visible")
    shown = page.locator("#sealed-commitment").inner_text().strip()

    # Every request from here on is recorded: none may carry a choice, the seed or randomness.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data or ''}"))
    page.locator("details.challenge-box summary").click()
    page.locator("#challenge").click()
    page.locator("#screen-challenge").wait_for(state="visible")
    assert page.locator("#challenge-commitment").inner_text().strip() == shown
    assert page.locator("#challenge-rows tr").count() == 15
    assert page.locator("#challenge-qr svg").count() == 1
    # Issue 17: the checker's address as a second QR code for the voter's phone.
    assert page.locator("#checker-qr svg").count() == 1
    assert page.locator("#challenge-check").inner_text().endswith("/polls/1/check")
    qr_text = page.locator("#challenge-text").text_content()
    assert qr_text.startswith("TALLY-CHALLENGE/2:")
    _, fingerprint, seed, choice_chars, commitment = qr_text.split(":")
    assert commitment == shown.replace("-", "") and len(seed) == 64
    assert choice_chars == "".join("21-"[i % 3] for i in range(15))
    assert _board(served)["count"] == 0  # nothing was cast

    posted = [s for s in sent if s.startswith("POST ")]
    assert len(posted) == 1 and "/api/polls/1/challenges" in posted[0]
    notice = json.loads(posted[0].split(" ", 2)[2])
    assert set(notice) == {"format", "poll", "credential", "a_hashes", "signature"}
    assert len(notice["a_hashes"]) == 60
    traffic = "\n".join(sent)
    for secret in (seed, seed.lower(), choice_chars, '"choices"', "randomness", code):
        assert secret not in traffic, secret

    # The voter's own device checks it: the page's checker runs in the browser, posts nothing.
    checker = page.context.new_page()
    checked: list[str] = []
    checker.on("request", lambda r: checked.append(f"{r.method} {r.url} {r.post_data or ''}"))
    checker.goto(served.url("/polls/1/check"))
    checker.locator("#challenge-input").fill(qr_text)
    checker.locator("#check").click()
    verdict = checker.locator("#verdict")
    verdict.wait_for(state="visible")
    assert "KHỚP" in verdict.inner_text() and "KHÔNG" not in verdict.inner_text()
    assert shown in verdict.inner_text()
    assert checker.locator("#rows tr").count() == 15
    # Another seed: "does not match", naming the commitment.
    wrong = qr_text.replace(seed, ("0" if seed[0] != "0" else "1") + seed[1:])
    checker.locator("#challenge-input").fill(wrong)
    checker.locator("#check").click()
    assert "KHÔNG KHỚP" in verdict.inner_text() and "mã cam kết" in verdict.inner_text()
    checker.locator("#challenge-input").fill(qr_text[:-30])  # a truncated scan
    checker.locator("#check").click()
    assert "Không phải dữ liệu kiểm tra" in verdict.inner_text()
    assert not [c for c in checked if not c.startswith("GET ")], checked
    assert not any(seed in c for c in checked)
    checker.close()

    # Back to the ballot: a fresh encryption (a new seed, another commitment) is cast.
    page.locator("#challenge-again").click()
    page.locator("#screen-review").wait_for(state="visible")
    assert page.locator("#challenge-text").text_content() == ""  # nothing of it left
    page.locator("#seal").click()
    page.locator("#screen-sealed").wait_for(state="visible")
    second = page.locator("#sealed-commitment").inner_text().strip()
    assert second != shown
    page.locator("#cast").click()
    page.locator("#screen-receipt").wait_for(state="visible")
    assert [e["commitment"] for e in _board(served)["entries"]] == [second]

    for text in (served.log_text(), _database_text(served)):
        assert seed not in text and seed.upper() not in text
        assert fingerprint + ":" not in text
    with sqlite3.connect(served.database) as conn:
        stored = conn.execute("SELECT poll_id, a_hash FROM challenged_a").fetchall()
        challenges = conn.execute("SELECT SUM(challenges) FROM credential").fetchone()[0]
    assert sorted(stored) == sorted((1, h) for h in notice["a_hashes"])
    assert challenges == 1


def test_the_booth_warns_when_served_over_plain_http_to_another_host(
    browser: Any, served: Served
) -> None:
    """Over plain HTTP to anything but this machine the hall network reads ballots and codes,
    and there is no camera: the scan screen says so in red. (Chromium resolves hall.test to
    127.0.0.1, so the request still goes only to the local server.)"""
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    port = served.base.rsplit(":", 1)[1]
    remote = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP hall.test 127.0.0.1"],
        headless=True,
    )
    try:
        page = remote.new_page()
        page.goto(f"http://hall.test:{port}/booth/1")
        page.locator("#screen-scan").wait_for(state="visible")
        assert page.evaluate("window.isSecureContext") is False
        warning = page.locator("#insecure")
        assert warning.is_visible() and "HTTP không mã hóa" in warning.inner_text()
        assert "máy ảnh" in page.locator("#reader-status").inner_text()  # typing still works
    finally:
        remote.close()
    local = browser.new_page()
    local.goto(served.url("/booth/1"))
    local.locator("#screen-scan").wait_for(state="visible")
    assert local.locator("#insecure").is_hidden()  # http://127.0.0.1 is this machine
    local.close()


def test_the_static_checker_works_from_a_file_without_the_server(
    page: Any, served: Served, tmp_path: Path
) -> None:
    """check-challenge.html, built from the repository, opened from disk: the manifest chosen as a
    file, a challenge's QR text pasted. It matches, a changed choice does not, and the page makes
    no request at all (it needs no server, least of all the one it checks)."""
    from tally.ballots import ballot_commitment, encrypt_ballot_from_seed, new_seed
    from tally.challenge import challenge_file, challenge_qr_text

    poll = served.poll
    ctx = poll.manifest.context
    choices: list[int | None] = [0, 1, 2, 3, None] * 3
    seed = new_seed()
    ballot = encrypt_ballot_from_seed(ctx, poll.credential(0), choices, seed)
    file = challenge_file(
        ctx.fingerprint, seed, choices, ballot_commitment(ctx.fingerprint, ballot)
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(poll.client.get("/api/polls/1/manifest").data)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    page.goto(STATIC_CHECKER.as_uri())
    page.locator("#manifest-file").set_input_files(str(manifest))
    page.locator("#manifest-status", has_text="manifest.json read").wait_for()
    page.locator("#challenge-input").fill(challenge_qr_text(file))
    page.locator("#check").click()
    verdict = page.locator("#verdict")
    assert "MATCH" in verdict.inner_text() and "DOES NOT" not in verdict.inner_text()
    assert page.locator("#rows tr").count() == 15
    assert "Để trống" in page.locator("#rows tr").nth(4).inner_text()
    lie = dict(file, choices=[1, 1, 2, 3, None] * 3)
    page.locator("#challenge-input").fill(json.dumps(lie))
    page.locator("#check").click()
    assert "DOES NOT MATCH" in verdict.inner_text() and "commitment" in verdict.inner_text()
    assert [u for u in sent if not u.startswith("file:")] == []


def test_the_conference_booth_finds_the_poll_of_a_typed_code(
    page: Any, served: Served, tmp_path: Path
) -> None:
    """Two polls open: the conference's booth takes a typed code of either and finds its poll
    on the tablet (from the manifests, nothing sent until it is found); one poll's booth refuses
    the other's slip, and nothing is burned."""
    from tests.service.conftest import prepare_poll

    (tmp_path / "second").mkdir()
    second = prepare_poll(served.poll.app, tmp_path / "second", 2, 3)
    title = second.manifest.data["election"]["title"]
    _type_code(page, served, second.codes[0], "/conferences/1/booth")
    page.locator("#screen-ballot").wait_for(state="visible")
    assert page.locator("#booth-title").inner_text() == title
    assert page.locator("li.subject").count() == second.manifest.context.subjects
    _fill_ballot(page, ["HTTNV"])
    page.locator("#to-review").click()
    page.locator("#seal").click()
    page.locator("#cast").click()
    page.locator("#screen-receipt").wait_for(state="visible")
    assert second.board()["count"] == 1 and _board(served)["count"] == 0

    _type_code(page, served, second.codes[1], "/booth/1")  # poll 2's slip at poll 1's booth
    page.locator("#screen-error").wait_for(state="visible")
    assert "không thuộc cuộc biểu quyết này" in page.locator("#error-text").inner_text()
    assert second.board()["count"] == 1
