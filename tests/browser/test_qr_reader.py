"""The booth's in-page QR reader (js/pages/qr-reader.js, bundled into build/qr-reader.js) in real
headless Chromium, whose camera is a video of QR codes (tests/support/camera.py): a slip's code is
read by the page itself, never opened as a URL, so it never reaches the browser's history.

The video shows a real slip payload (tally-slip/1), then a URL, and loops. The reader reports
each text once however many frames show it; the slip parses to its poll and code, the URL is
``not-slip``. Without the permission the reader says ``denied``; on a page that is not a secure
context (plain http to anything but localhost) ``no-camera``. stop() ends the camera.

The pages are served by Playwright's routing, not by a server: http://127.0.0.1 is a secure
context (as is http://localhost), http://booth.invalid is not.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tally.authority import new_poll_uid
from tally.credentials import Credential
from tally.slips import slip_payload
from tests.support.camera import fake_camera_args, write_y4m_sequence

BUILD = Path(__file__).resolve().parents[2] / "ballot" / "static" / "build"
SECURE = "http://127.0.0.1:9"  # never contacted: every request is answered by the route
INSECURE = "http://booth.invalid"
UID = new_poll_uid()
CODE = Credential.generate().code.replace("-", "")
SLIP = slip_payload(UID, CODE)
URL = f"http://192.168.1.10:5000/booth/3#{CODE}"  # what the slips held before tally-slip/1
SEGMENT_SECONDS = 1.5

# Every getUserMedia call and its stream, recorded for the test before the page's scripts run.
RECORD = """
window.cameraCalls = [];
if (navigator.mediaDevices) {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const call = { constraints, stream: null };
    window.cameraCalls.push(call);
    call.stream = await original(constraints);
    return call.stream;
  };
}
"""

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>QR reader</title>
<video id="video"></video>
<canvas id="canvas"></canvas>
<script type="module">
  import { startReader } from "/build/qr-reader.js";
  import { parseSlipPayload } from "/build/tally.js";
  window.texts = [];
  window.errors = [];
  window.parse = (text) => {
    try {
      return parseSlipPayload(text);
    } catch (e) {
      return { kind: e.kind };
    }
  };
  window.startHere = () =>
    startReader(
      document.getElementById("video"),
      document.getElementById("canvas"),
      (text) => window.texts.push(text),
      (kind) => window.errors.push(kind),
    );
  window.stopReader = window.startHere();
  window.ready = true;
</script>
"""


@pytest.fixture(scope="module")
def camera_browser(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second Chromium of the session's Playwright (tests/conftest.py), whose only camera plays
    the slip, then the URL, in a loop."""
    video = write_y4m_sequence(
        tmp_path_factory.mktemp("camera") / "slip.y4m", [SLIP, URL], seconds=SEGMENT_SECONDS
    )
    chromium = os.environ.get("BALLOT_TEST_CHROMIUM", "/usr/bin/chromium")
    launched = browser.browser_type.launch(
        executable_path=chromium,
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", *fake_camera_args(video)],
        headless=True,
    )
    yield launched
    launched.close()


def _serve(route: Any) -> None:
    path = route.request.url.split("/", 3)[3].split("?")[0]
    if path == "reader.html":
        route.fulfill(body=PAGE, content_type="text/html; charset=utf-8")
    elif path in ("build/qr-reader.js", "build/tally.js"):
        route.fulfill(path=str(BUILD / path.removeprefix("build/")), content_type="text/javascript")
    else:
        route.fulfill(status=404, body="")


def _open(browser: Any, origin: str, *, camera: bool) -> Any:
    assert (BUILD / "qr-reader.js").is_file(), "run `npm run build` (make does)"
    context = browser.new_context(permissions=["camera"] if camera else [])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.add_init_script(RECORD)
    page.route(f"{origin}/**", _serve)
    page.goto(f"{origin}/reader.html")
    page.wait_for_function("window.ready === true")
    return page


@pytest.fixture
def camera_page(camera_browser: Any) -> Iterator[Any]:
    page = _open(camera_browser, SECURE, camera=True)
    yield page
    page.context.close()


def test_the_page_reads_the_slip_once_then_the_url(camera_page: Any) -> None:
    page = camera_page
    assert page.evaluate("window.isSecureContext") is True
    page.wait_for_function("window.texts.length >= 2", timeout=20_000)
    # The camera starts at the video's first frame: the slip, then the URL, each read once
    # although the reader decodes about ten frames of each.
    assert page.evaluate("window.texts.slice(0, 2)") == [SLIP, URL]
    assert page.evaluate("window.parse(window.texts[0])") == {"pollUid": UID, "code": CODE}
    assert page.evaluate("window.parse(window.texts[1])") == {"kind": "not-slip"}
    # Another full loop of the video: still one report per change of text, never a repeat.
    page.wait_for_timeout(int(SEGMENT_SECONDS * 2 * 1000))
    texts = page.evaluate("window.texts")
    assert 2 <= len(texts) <= 5 and all(a != b for a, b in itertools.pairwise(texts))
    assert set(texts) == {SLIP, URL}
    assert page.evaluate("window.errors") == []
    (call,) = page.evaluate("window.cameraCalls.map((c) => c.constraints)")
    assert call == {"video": {"facingMode": "environment"}, "audio": False}
    assert page.evaluate("document.getElementById('canvas').width") <= 640


def test_stop_ends_the_camera_and_the_reading(camera_page: Any) -> None:
    page = camera_page
    page.wait_for_function("window.texts.length >= 1")
    page.evaluate("window.stopReader()")
    live = "window.cameraCalls.flatMap((c) => c.stream.getTracks()).map((t) => t.readyState)"
    assert page.evaluate(live) == ["ended"]
    assert page.evaluate("document.getElementById('video').srcObject") is None
    read = page.evaluate("window.texts.length")
    page.wait_for_timeout(int(SEGMENT_SECONDS * 1000) + 500)  # the video has moved on
    assert page.evaluate("window.texts.length") == read
    # Stopped before the camera even answered: the stream it then gives is ended at once.
    page.evaluate("window.startHere()()")
    page.wait_for_function("window.cameraCalls.length === 2 && window.cameraCalls[1].stream")
    page.wait_for_timeout(300)
    assert page.evaluate(live) == ["ended", "ended"]
    assert page.evaluate("window.texts.length") == read and page.evaluate("window.errors") == []


def test_without_the_permission_the_reader_says_denied(camera_browser: Any) -> None:
    page = _open(camera_browser, SECURE, camera=False)
    try:
        page.wait_for_function("window.errors.length > 0")
        assert page.evaluate("window.errors") == ["denied"]
        assert page.evaluate("window.texts") == []
    finally:
        page.context.close()


def test_over_plain_http_to_another_host_there_is_no_camera(camera_browser: Any) -> None:
    page = _open(camera_browser, INSECURE, camera=True)
    try:
        assert page.evaluate("window.isSecureContext") is False
        page.wait_for_function("window.errors.length > 0")
        assert page.evaluate("window.errors") == ["no-camera"]
        assert page.evaluate("window.cameraCalls") == []
    finally:
        page.context.close()
