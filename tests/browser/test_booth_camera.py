"""The conference's booth reads the slip with the camera, in real headless Chromium whose camera
plays a video of QR codes (tests/support/camera.py), with a persistent profile on disk. A QR code
that is not a slip gets a clear message and nothing is sent; the slip's QR code (tally-slip/1)
takes the booth to its poll; the voter challenges once, then votes; and afterwards no file of
Chromium's profile (History, Sessions, Local Storage, caches…) holds the slip's code in any
spelling, nor the challenge's seed or QR text, while History does hold the booth's address (so the
search is not vacuous).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tally.slips import slip_payload
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.camera import fake_camera_args, write_y4m_sequence

from .conftest import TABLET, Served

NOT_A_SLIP = "https://example.org/vote?code=1234"
SEGMENT_SECONDS = 4


def _profile_bytes(profile: Path) -> dict[str, bytes]:
    return {str(p.relative_to(profile)): p.read_bytes() for p in profile.rglob("*") if p.is_file()}


def test_the_camera_reads_the_slip_and_the_profile_keeps_no_code(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    poll = served.poll
    code = poll.codes[0]
    uid = poll.manifest.poll_uid
    assert uid is not None
    video = write_y4m_sequence(
        tmp_path / "camera.y4m",
        [NOT_A_SLIP, slip_payload(uid, code.replace("-", ""))],
        seconds=SEGMENT_SECONDS,
    )
    profile = tmp_path / "profile"
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, *fake_camera_args(video)],
        headless=True,
        viewport=TABLET,
        has_touch=True,
        locale="vi-VN",
        permissions=["camera"],
    )
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sent: list[str] = []
        page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data or ''}"))
        booth = served.url("/conferences/1/booth")
        page.goto(booth)
        # First the camera shows a QR code that is not a slip: said so, nothing asked of the API.
        page.locator("#reader-status", has_text="không phải thẻ biểu quyết").wait_for()
        assert page.locator("#screen-scan").is_visible()
        assert not [s for s in sent if "/api/" in s], sent
        # Then the slip: the booth takes its poll from the uid and shows the ballot.
        page.locator("#screen-ballot").wait_for(state="visible")
        assert page.url == booth
        assert page.locator("#booth-title").inner_text() == poll.manifest.data["election"]["title"]
        for item in page.locator("li.subject").all():
            item.locator('button[data-grade="HTTNV"]').click()
        page.locator("#to-review").click()
        # The voter challenges once (the seed and choices shown to them alone), then casts.
        page.locator("#seal").click()
        page.locator("details.challenge-box summary").click()
        page.locator("#challenge").click()
        page.locator("#screen-challenge").wait_for(state="visible")
        qr_text = page.locator("#challenge-text").text_content() or ""
        seed = qr_text.split(":")[2]
        assert len(seed) == 64
        page.wait_for_timeout(2_000)  # time for Chromium to write its session state
        page.locator("#challenge-again").click()
        page.locator("#seal").click()
        page.locator("#cast").click()
        page.locator("#screen-receipt").wait_for(state="visible")
        assert poll.board()["count"] == 1
        page.goto("about:blank")
    finally:
        context.close()  # Chromium writes its History and session files out

    files = _profile_bytes(profile)
    history = files.get("Default/History", b"")
    assert b"/conferences/1/booth" in history, sorted(files)
    bare = code.replace("-", "")
    for spelling in (code, bare, bare.lower(), code.lower(), seed, seed.lower(), qr_text[:60]):
        for encoded in (spelling.encode(), spelling.encode("utf-16-le")):
            found = [name for name, data in files.items() if encoded in data]
            assert not found, (spelling, found)
    # And nothing of the code crossed the wire.
    traffic = "\n".join(sent)
    assert code not in traffic and bare not in traffic
