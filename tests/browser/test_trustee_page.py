"""The trustees' page ``/trustee/polls/<id>`` in real headless Chromium: each trustee chooses their
encrypted key file, types its passphrase and the board head announced in the room, and the page
checks the board, opens the key, computes the share and sends it. The count finished from the
shares the browser made must give back exactly the choices cast; a wrong passphrase is refused on
the page in Vietnamese with nothing stored; the key's secret never leaves the browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tally.ballots import encrypt_ballot
from tally.bundle import read_bundle
from tally.canonical import parse_json
from tally.group import encode_scalar
from tally.trustees import TrusteeKey
from tests.service.conftest import run
from tests.service.test_counting import expected_counts, known_choices, stored

from .conftest import Served

PASSPHRASE = "mật khẩu khóa của Ban kiểm phiếu 2023"
TRUSTEE_PAGE = "/trustee/polls/1"
SHARES_API = "/api/polls/1/shares"
HEAD_RE = re.compile(r"board head: ([0-9a-f]{64})")
# Opening the key runs scrypt (64 MiB) in JavaScript, then the share's proofs: a few seconds.
COMPUTE_MS = 60_000


def _cast_close_start(served: Served, tmp_path: Path) -> tuple[list[list[int | None]], str]:
    """Three known ballots (one slip of four unused), the poll closed, counting started; returns
    the choices and the board head as announced in the room when the poll closed."""
    poll = served.poll
    ctx = poll.manifest.context
    choices = known_choices(ctx.subjects, ctx.grades)[:3]
    for k, row in enumerate(choices):
        response = poll.post(encrypt_ballot(ctx, poll.credential(k), row))
        assert response.status_code == 201, response.get_json()
    match = HEAD_RE.search(run(poll.app, "poll", "close", "1"))
    assert match
    poll.attest()
    run(poll.app, "count", "start", "1", "--out-dir", str(tmp_path / "for-trustees"))
    return choices, match.group(1)


def _key_files(served: Served, tmp_path: Path) -> list[Path]:
    """Each trustee's key saved as ``tally trustee keygen`` saves it, under a passphrase."""
    paths = []
    for k, key in enumerate(served.poll.trustees):
        path = tmp_path / f"thanh-vien-{k + 1}.key"
        key.save(path, PASSPHRASE)
        paths.append(path)
    return paths


def _open_page(page: Any, served: Served) -> None:
    page.goto(served.url(TRUSTEE_PAGE))
    page.locator("#in-browser").wait_for(state="visible")  # the module and its bundle loaded


def _compute(page: Any, key_file: Path, passphrase: str, typed_head: str) -> str:
    """Choose the key file, type the passphrase and the head, press the button; wait for the
    outcome (a refusal in the progress list or the server's answer); return the section's text."""
    page.set_input_files("#key-file", str(key_file))
    page.fill("#passphrase", passphrase)
    page.fill("#expected-head", typed_head)
    page.click("#compute-share")
    page.locator("#progress li.fail, #browser-result p").first.wait_for(timeout=COMPUTE_MS)
    page.locator("#compute-share:enabled").wait_for()  # the click handler has finished
    return str(page.locator("#in-browser").inner_text())


def _row_states(page: Any) -> list[str]:
    rows = page.locator("#trustees tbody tr")
    return [str(rows.nth(k).get_attribute("class")) for k in range(rows.count())]


def _secrets(key: TrusteeKey, key_file: Path) -> list[str]:
    """What must never leave the trustee's machine: the private scalar (as hex, either byte order,
    and in decimal), the key file's sealed parts, and the passphrase."""
    x = key._x  # the test made this key, so it may look inside
    sealed = json.loads(key_file.read_text(encoding="utf-8"))
    return [
        encode_scalar(x).hex(),
        f"{x:064x}",
        str(x),
        sealed["cipher"]["ciphertext"],
        sealed["cipher"]["nonce"],
        sealed["kdf"]["salt"],
        PASSPHRASE,
        json.dumps(PASSPHRASE)[1:-1],  # as JSON would escape it
    ]


def test_every_trustee_sends_the_share_from_the_page_and_the_count_matches(
    laptop: Any, served: Served, tmp_path: Path
) -> None:
    page = laptop
    poll = served.poll
    choices, head = _cast_close_start(served, tmp_path)
    key_files = _key_files(served, tmp_path)
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: sent.append(
            {
                "method": r.method,
                "url": r.url,
                "headers": json.dumps(r.headers, ensure_ascii=False),
                "body": (r.post_data_buffer or b"").decode("utf-8", "replace"),
            }
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Typed as the projector shows it, and as a trustee might copy it (grouped, in capitals).
    typed_heads = [head, " ".join(re.findall(".{8}", head.upper()))]
    for k, key in enumerate(poll.trustees):
        _open_page(page, served)
        assert page.locator("#board-head").inner_text().replace(" ", "").strip() == head
        assert _row_states(page) == ["received"] * k + ["missing"] * (len(key_files) - k)
        shown = _compute(page, key_files[k], PASSPHRASE, typed_heads[k])
        assert f"Máy chủ đã nhận phần giải mã hợp lệ của: {key.public.name}" in shown, shown
        assert page.locator("#browser-result p.accepted").count() == 1
        assert page.locator("#progress li.fail").count() == 0
        assert _row_states(page)[k] == "received"
        assert "Đã nhận" in page.locator("#trustees tbody tr").nth(k).inner_text()
        assert page.input_value("#passphrase") == ""  # not left on the page
        assert stored(poll.app)["shares"] == k + 1
    assert not errors, errors

    # Only the shares crossed the wire: one JSON POST per trustee, no key, no passphrase.
    posts = [s for s in sent if s["method"] != "GET"]
    assert [(s["method"], s["url"]) for s in posts] == [("POST", served.url(SHARES_API))] * 2
    for post, key in zip(posts, poll.trustees, strict=True):
        share = json.loads(post["body"])
        assert set(share) == {
            "format",
            "poll",
            "trustee",
            "public_key",
            "aggregate_sha256",
            "shares",
        }
        assert share["trustee"] == key.public.name
        assert share["public_key"] == key.public.public_key.hex()
    for key, key_file in zip(poll.trustees, key_files, strict=True):
        for secret in _secrets(key, key_file):
            for request in sent:
                assert secret not in request["url"], request["url"]
                assert secret not in request["headers"], request["url"]
                assert secret not in request["body"], request["url"]
    assert PASSPHRASE not in served.log_text()

    # The operator finishes; the signed record counts exactly the choices that were cast.
    run(poll.app, "count", "finish", "1")
    response = poll.client.get("/api/polls/1/bundle")
    assert response.status_code == 200
    record = parse_json(read_bundle(response.data)["record.json"])
    subjects, grades = poll.manifest.context.subjects, poll.manifest.context.grades
    counts, blanks = expected_counts(choices, subjects, grades)
    assert [s["counts"] for s in record["subjects"]] == counts
    assert [s["blank"] for s in record["subjects"]] == blanks
    assert record["ballots_cast"] == len(choices) and record["board_head"] == head

    # And the trustees' page says so.
    response = page.goto(served.url(TRUSTEE_PAGE))
    assert response is not None and response.status == 200
    assert "Đã kiểm phiếu xong" in page.locator("#finished").inner_text()


def test_a_wrong_passphrase_is_refused_on_the_page_and_nothing_is_stored(
    laptop: Any, served: Served, tmp_path: Path
) -> None:
    page = laptop
    poll = served.poll
    _choices, head = _cast_close_start(served, tmp_path)
    key_files = _key_files(served, tmp_path)
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.method, r.url)))
    before = stored(poll.app)

    _open_page(page, served)
    shown = _compute(page, key_files[0], "sai mật khẩu rồi", head)
    refusal = page.locator("#progress li.fail")
    assert refusal.count() == 1
    assert "Không mở được khóa: sai mật khẩu hoặc tệp khóa bị hỏng." in refusal.inner_text(), shown
    assert page.locator("#browser-result").inner_text().strip() == ""
    assert page.input_value("#passphrase") == ""
    assert [s for s in sent if s[0] != "GET"] == []
    assert stored(poll.app) == before
    assert f"POST {SHARES_API}" not in served.log_text()
    page.reload()
    page.locator("#in-browser").wait_for(state="visible")
    assert _row_states(page) == ["missing", "missing"]

    # The page is not stuck: the right passphrase then works.
    shown = _compute(page, key_files[0], PASSPHRASE, head)
    name = poll.trustees[0].public.name
    assert f"Máy chủ đã nhận phần giải mã hợp lệ của: {name}" in shown, shown
    assert stored(poll.app)["shares"] == before["shares"] + 1
