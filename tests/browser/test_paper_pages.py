"""The paper fallback and the Board's summary in real headless Chromium (issue 18): the operator
voids a handed-in slip by typing its code (the page signs with the slip's key; the code never
leaves the browser), prints the paper ballot on A4; after close a trustee enters the paper ballot
on the trustee paper page (the marks never leave the browser, only ciphertexts); and the summary
prints on A4. Screenshots and PDFs go to /tmp/shots to be looked at."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ballot import db
from ballot.models import PaperBallot, SlipVoid
from tally.ballots import encrypt_ballot, tracking_code, tracking_hash
from tally.paper import count_head
from tests.service.conftest import run
from tests.service.test_public import finish

from .conftest import Served

SHOTS = Path("/tmp/shots")
USER, PASSWORD = "bantochuc", "mat-khau-rat-dai-2026"
PASSPHRASE = "mật khẩu khóa của Ban kiểm phiếu 2026"


def _login(browser: Any, served: Served, viewport: dict[str, int]) -> Any:
    result = served.poll.app.test_cli_runner().invoke(
        args=["operator", "add", USER], env={"BALLOT_OPERATOR_PASSWORD": PASSWORD}
    )
    assert result.exit_code == 0 or "đã có" in result.output, result.output
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(served.url("/operator/login"))
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/operator/?$"))
    return context, page


def _count(served: Served, model: Any) -> int:
    with served.poll.app.app_context():
        return int(db.get_session().scalar(select(func.count()).select_from(model)) or 0)


def test_a_slip_is_voided_and_its_paper_ballot_entered_in_the_browser(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    poll = served.poll
    ctx = poll.manifest.context
    assert poll.post(encrypt_ballot(ctx, poll.credential(0), [0] * ctx.subjects)).status_code == 201
    SHOTS.mkdir(exist_ok=True)
    context, page = _login(browser, served, {"width": 800, "height": 1280})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.url} {r.post_data or ''}"))
    page.goto(served.url("/operator/polls/1#paper"))
    page.locator("#void-in-browser").wait_for(state="visible")
    code = poll.codes[1]
    page.fill("#void-code", code.lower().replace("-", " "))  # as typed from the slip
    with page.expect_navigation():
        page.click("#void-submit")  # the page signs, then submits the statement
    assert page.locator("#voided-for-paper").inner_text().strip() == "1"
    page.locator("#paper").screenshot(path=str(SHOTS / "operator-paper-800x1280.png"))
    compact = code.replace("-", "")
    assert not [
        r for r in requests if compact.lower() in r.lower().replace("-", "").replace("+", "")
    ]
    assert _count(served, SlipVoid) == 1
    # A wrong code is refused on the page, nothing sent.
    page.fill("#void-code", "AAAA")
    before = len(requests)
    page.click("#void-submit")
    page.locator("#void-error").wait_for(state="visible")
    assert "Mã thẻ không đúng" in page.locator("#void-error").inner_text()
    assert len([r for r in requests[before:] if "/paper/void" in r]) == 0
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(served.url("/operator/polls/1"))
    page.screenshot(path=str(SHOTS / "operator-poll-1920x1080.png"), full_page=True)
    # The printable paper ballot, on A4.
    page.goto(served.url("/operator/polls/1/paper-ballot"))
    page.screenshot(path=str(SHOTS / "paper-ballot-1920x1080.png"), full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(SHOTS / "paper-ballot-a4.pdf"), format="A4", print_background=True)
    context.close()

    run(poll.app, "poll", "close", "1")
    key_file = tmp_path / "thanh-vien-2.key"
    poll.trustees[1].save(key_file, PASSPHRASE)
    laptop = browser.new_context(viewport={"width": 800, "height": 1280}, locale="vi-VN")
    trustee = laptop.new_page()
    trustee.set_default_timeout(60_000)
    sent: list[str] = []
    trustee.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)
    trustee.goto(served.url("/trustee/polls/1/paper"))
    trustee.locator("#in-browser").wait_for(state="visible")
    trustee.set_input_files("#key-file", str(key_file))
    trustee.fill("#passphrase", PASSPHRASE)
    trustee.click("#open-key")
    trustee.locator("#paper-choices").wait_for(state="visible")
    marks = [(i * 2 + 1) % ctx.grades for i in range(ctx.subjects)]
    rows = trustee.locator("#paper-choices tr[data-subject]")
    # Not every row marked: refused on the page, nothing sent.
    rows.nth(0).locator("input[type=radio]").nth(marks[0]).check()
    trustee.click("#enter-paper")
    trustee.locator("#progress li.fail").wait_for()
    assert sent == []
    for i, mark in enumerate(marks):
        rows.nth(i).locator("input[type=radio]").nth(mark).check()
    trustee.screenshot(path=str(SHOTS / "trustee-paper-800x1280.png"), full_page=True)
    trustee.click("#enter-paper")
    trustee.locator("#progress li.code").wait_for()
    assert trustee.locator("#paper-entered").inner_text().strip() == "1"
    assert _count(served, PaperBallot) == 1
    # Only the signed statement went out: ciphertexts, proofs, signatures; no mark.
    assert len(sent) == 1
    document = json.loads(sent[0])
    # The tracking code to write on the paper ballot, computed in the browser, is the one the
    # paper page lists beside the count head the trustees will type (13.3).
    code = tracking_code(tracking_hash(document["ballot"]))
    assert code in trustee.locator("#progress li.code").inner_text()
    trustee.goto(served.url("/trustee/polls/1/paper"))
    assert trustee.locator("#paper-codes").inner_text().split() == [code]
    head = trustee.locator("#count-head").inner_text().replace(" ", "").replace("\n", "")
    head = head.replace(":", "")
    assert head == count_head(poll.board()["head"], [tracking_hash(document["ballot"])], 1)
    assert set(document) == {
        "format",
        "poll",
        "poll_uid",
        "ballot",
        "trustee",
        "signing_key",
        "signature",
    }
    assert not any(trustee.locator("#paper-choices input:checked").all())  # cleared
    trustee.set_viewport_size({"width": 1920, "height": 1080})
    trustee.screenshot(path=str(SHOTS / "trustee-paper-1920x1080.png"), full_page=True)
    # Counted: the record shows one electronic and one paper ballot, and prints on A4.
    poll.attest()
    out = tmp_path / "count"
    run(poll.app, "count", "start", "1", "--out-dir", str(out))
    aggregate = json.loads((out / "aggregate.json").read_text(encoding="utf-8"))
    share = tmp_path / "share-0.json"
    share.write_text(json.dumps(poll.trustees[0].decrypt_share(aggregate)), encoding="utf-8")
    run(poll.app, "count", "share", "1", str(share))
    # Trustee 2 on the share page: the board head alone is refused (the page sums the paper
    # ballot too), the count head read out after the paper ballots were entered is accepted.
    trustee.goto(served.url("/trustee/polls/1"))
    trustee.locator("#in-browser").wait_for(state="visible")
    for typed, outcome in (
        (poll.board()["head"], "#progress li.fail"),
        (head, "#browser-result p"),
    ):
        trustee.set_input_files("#key-file", str(key_file))
        trustee.fill("#passphrase", PASSPHRASE)
        trustee.fill("#expected-head", typed)
        trustee.click("#compute-share")
        trustee.locator(outcome).first.wait_for()
        trustee.locator("#compute-share:enabled").wait_for()
        if outcome == "#progress li.fail":
            assert "ĐẦU CHUỖI KHÁC" in trustee.locator("#progress").inner_text()
    assert "accepted" in str(trustee.locator("#browser-result p").get_attribute("class"))
    run(poll.app, "count", "finish", "1")
    trustee.set_viewport_size({"width": 800, "height": 1280})
    trustee.goto(served.url("/polls/1/record"))
    assert "1 phiếu điện tử và 1 phiếu giấy" in trustee.locator("main").inner_text()
    trustee.locator("#paper-reconciliation").screenshot(
        path=str(SHOTS / "record-paper-800x1280.png")
    )
    trustee.emulate_media(media="print")
    trustee.pdf(path=str(SHOTS / "record-paper-a4.pdf"), format="A4", print_background=True)
    laptop.close()


def test_the_boards_summary_prints_on_a4(browser: Any, served: Served, tmp_path: Path) -> None:
    finish(served.poll, tmp_path / "out")
    context, page = _login(browser, served, {"width": 1920, "height": 1080})
    page.goto(served.url("/operator/conferences/1/summary"))
    text = page.locator("main").inner_text()
    assert "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG" in text
    assert "Chưa kiểm phiếu" in text  # polls 2 and 3 of the sample
    page.screenshot(path=str(SHOTS / "summary-1920x1080.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 1280})
    page.screenshot(path=str(SHOTS / "summary-800x1280.png"), full_page=True)
    page.emulate_media(media="print")
    # A4 landscape less the 10 mm margins: nothing wider than the page.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
             .filter((el) => el.getBoundingClientRect().width > 277 * 96 / 25.4 + 1).length"""
    )
    page.set_viewport_size({"width": 1047, "height": 718})
    assert (
        wide == 0
        or page.evaluate(
            """() => [...document.querySelectorAll('main *')]
             .filter((el) => el.getBoundingClientRect().width > 277 * 96 / 25.4 + 1).length"""
        )
        == 0
    )
    page.pdf(path=str(SHOTS / "summary-a4.pdf"), prefer_css_page_size=True, print_background=True)
    context.close()
