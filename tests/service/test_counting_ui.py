"""Counting in the web UI through the Flask test client, on SQLite and PostgreSQL: the operator's
counting page (login, CSRF, start, shares, finish), the trustees' public page and the share API."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ballot import db
from ballot.models import AuditEvent, Poll
from tally.attendance import check_attendance, sign_statement
from tally.bundle import read_bundle
from tally.canonical import canonical_json, parse_json
from tally.manifest import parse_manifest
from tally.verify import check_board, verify_bundle
from tests.support.pages import shown_hex

from .conftest import OPERATOR, OpenPoll, csrf_token, run
from .test_counting import cast_and_close, expected_counts, stored

COUNT = "/operator/polls/1/count"
TRUSTEE = "/trustee/polls/1"
FILES = ("aggregate.json", "manifest.json", "ballots.jsonl")


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def token_of(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, text(page)
    return csrf_token(text(page))


def upload(
    client: FlaskClient, path: str, data: bytes, token: str | None, field: str = "share"
) -> TestResponse:
    form: dict[str, Any] = {field: (io.BytesIO(data), "phan-giai-ma.json")}
    if token is not None:
        form["csrf_token"] = token
    return client.post(path, data=form, content_type="multipart/form-data")


def make_statement(poll: OpenPoll) -> dict[str, Any]:
    """The first trustee's signed attendance of the closed poll, as tally trustee attest makes it
    from the public files (not handed in)."""
    client = poll.app.test_client()
    chain = check_attendance(
        client.get("/api/polls/1/attendance").data,
        poll.manifest.fingerprint,
        poll.manifest.members,
    )
    lines = client.get("/api/polls/1/ballots").data.splitlines()
    assert poll.manifest.poll_uid is not None
    return sign_statement(
        poll.trustees[0],
        fingerprint=poll.manifest.fingerprint,
        poll_uid=poll.manifest.poll_uid,
        attendance=chain,
        board_head=json.loads(lines[-1])["chain"],
        electronic_ballots=len(lines),
    )


def start(client: FlaskClient) -> TestResponse:
    return client.post(f"{COUNT}/start", data={"csrf_token": token_of(client, COUNT)})


def finish(client: FlaskClient) -> TestResponse:
    return client.post(f"{COUNT}/finish", data={"csrf_token": token_of(client, COUNT)})


def aggregate(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/polls/1/aggregate")
    assert response.status_code == 200, text(response)
    return parse_json(response.data)  # type: ignore[no-any-return]


def share_bytes(poll: OpenPoll, k: int, agg: dict[str, Any]) -> bytes:
    return json.dumps(poll.trustees[k].decrypt_share(agg)).encode("utf-8")


def bilingual(response: TestResponse, vi: str, en: str) -> None:
    """The refusal is shown in both languages, inside the error box."""
    page = text(response)
    box = re.search(r'id="count-error">(.*?)</div>', page, re.S)
    assert box, page
    assert vi in box.group(1) and en in box.group(1), box.group(1)


def disabled(page: str, button_id: str) -> bool:
    match = re.search(rf'<button[^>]*id="{button_id}"[^>]*>', page)
    assert match, f"no #{button_id}"
    return " disabled" in match.group(0)


def test_counting_pages_need_login(poll: OpenPoll, app: Flask) -> None:
    cast_and_close(poll)
    client = app.test_client()
    token = token_of(client, "/operator/login")  # a valid token, but no operator
    before = stored(app)
    for path in (COUNT, f"{COUNT}/files/aggregate.json"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/operator/login" in response.headers["Location"]
    for path in (f"{COUNT}/start", f"{COUNT}/finish"):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302, path
        assert "/operator/login" in response.headers["Location"]
    response = upload(client, f"{COUNT}/shares", b"{}", token)
    assert response.status_code == 302
    assert stored(app) == before


def test_forms_without_a_csrf_token_are_refused(
    poll: OpenPoll, operator_client: FlaskClient, app: Flask
) -> None:
    cast_and_close(poll)
    before = stored(app)
    for data in ({}, {"csrf_token": "forged"}):
        response = operator_client.post(f"{COUNT}/start", data=data)
        assert response.status_code == 400
        bilingual(response, "mã bảo vệ", "protection token")
    assert stored(app) == before

    poll.attest()
    assert start(operator_client).status_code == 302
    agg = aggregate(operator_client)
    started = stored(app)
    assert started["counts"] == 1
    good = share_bytes(poll, 0, agg)
    assert upload(operator_client, f"{COUNT}/shares", good, None).status_code == 400
    anonymous = app.test_client()
    assert upload(anonymous, f"{TRUSTEE}/shares", good, None).status_code == 400
    assert upload(anonymous, f"{TRUSTEE}/shares", good, "forged").status_code == 400
    assert operator_client.post(f"{COUNT}/finish").status_code == 400
    assert stored(app) == started

    # The JSON API carries no cookie authority, so it needs no token: the share is its own proof.
    response = anonymous.post("/api/polls/1/shares", data=good, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["trustee"] == poll.trustees[0].public.name


def test_count_through_the_web_forms(
    poll: OpenPoll, operator_client: FlaskClient, app: Flask
) -> None:
    choices = cast_and_close(poll)
    page = operator_client.get(COUNT)
    assert page.status_code == 200
    assert "Bắt đầu kiểm phiếu" in text(page)
    # Counting waits for a trustee's signed attendance (tally trustee attest), uploaded here.
    assert disabled(text(page), "start-button")
    assert 'id="statement-form"' in text(page)
    for name in ("manifest.json", "ballots.jsonl", "attendance.jsonl"):
        assert operator_client.get(f"{COUNT}/files/{name}").status_code == 200, name
    assert operator_client.get(f"{COUNT}/files/aggregate.json").status_code == 404
    statement = make_statement(poll)
    token = token_of(operator_client, COUNT)
    response = upload(
        operator_client, f"{COUNT}/attendance", json.dumps(statement).encode(), token, "statement"
    )
    assert response.status_code == 302, text(response)
    page = operator_client.get(COUNT)
    # Shown; another trustee's valid statement may still replace it until counting starts.
    assert 'id="statement">' in text(page) and 'id="statement-form"' in text(page)
    assert "Thành viên Ban kiểm phiếu 1" in text(page)
    assert not disabled(text(page), "start-button")
    assert disabled(text(page), "finish-button")
    assert "Chưa nhận" in text(page)

    # (a) Start: the aggregate and the head are published; the trustees' files can be downloaded.
    response = start(operator_client)
    assert response.status_code == 302 and response.headers["Location"].endswith(COUNT)
    with app.app_context():
        head = db.get_session().scalar(select(Poll.board_head).where(Poll.id == 1))
    page = text(operator_client.get(COUNT))
    assert "Đã bắt đầu kiểm phiếu: 4 phiếu" in page  # the flash
    assert shown_hex(page, "announced-head") == head
    assert f"--expected-head {head}" in page
    assert 'id="start-button"' not in page
    assert disabled(page, "finish-button")
    files = {}
    for name in FILES:
        response = operator_client.get(f"{COUNT}/files/{name}")
        assert response.status_code == 200, name
        assert f'filename="{name}"' in response.headers["Content-Disposition"]
        files[name] = response.data
    assert operator_client.get(f"{COUNT}/files/secret.pem").status_code == 404
    # What a trustee checks before decrypting: the aggregate is exactly the board's sum.
    manifest = parse_manifest(parse_json(files["manifest.json"]))
    report, verified = check_board(manifest, files["ballots.jsonl"])
    assert verified is not None, report.checks
    recomputed = verified.aggregate(manifest)
    assert canonical_json(recomputed) == files["aggregate.json"]
    assert recomputed["board_head"] == head
    # The same files on the public API.
    assert operator_client.get("/api/polls/1/aggregate").data == files["aggregate.json"]
    assert operator_client.get("/api/polls/1/ballots").data == files["ballots.jsonl"]
    assert operator_client.get("/api/polls/1/manifest").data == files["manifest.json"]

    # Finishing before every share is in is refused.
    before = stored(app)
    response = finish(operator_client)
    assert response.status_code == 409
    bilingual(response, "Còn thiếu phần giải mã", "still missing")
    assert stored(app) == before

    # (b) One share through the operator's upload form, one through the trustees' public page.
    agg = parse_json(files["aggregate.json"])
    token = token_of(operator_client, COUNT)
    response = upload(operator_client, f"{COUNT}/shares", share_bytes(poll, 0, agg), token)
    assert response.status_code == 302, text(response)
    page = text(operator_client.get(COUNT))
    name0, name1 = (t.public.name for t in poll.trustees)
    assert f"Đã nhận phần giải mã hợp lệ của {name0}" in page
    rows = re.findall(r'<tr data-public-key="[0-9a-f]+" class="(\w+)">\s*<td>([^<]+)</td>', page)
    assert rows == [("received", name0), ("missing", name1)]
    assert disabled(page, "finish-button")

    trustee = app.test_client()
    token = token_of(trustee, TRUSTEE)
    response = upload(trustee, f"{TRUSTEE}/shares", share_bytes(poll, 1, agg), token)
    assert response.status_code == 302 and response.headers["Location"].endswith(TRUSTEE)
    assert f"Đã nhận phần giải mã hợp lệ của {name1}" in text(trustee.get(TRUSTEE))

    # (c) Finish: combined, graded, signed; links to the record, the results and the bundle.
    page = text(operator_client.get(COUNT))
    assert not disabled(page, "finish-button")
    response = finish(operator_client)
    assert response.status_code == 302, text(response)
    page = text(operator_client.get(COUNT))
    assert "Đã kiểm phiếu xong: 4 phiếu" in page
    for link in ("/polls/1/record", "/polls/1/results", "/api/polls/1/bundle"):
        assert f'href="{link}"' in page
    assert 'id="finish-button"' not in page and 'id="share-form"' not in page
    assert operator_client.get("/polls/1/record").status_code == 200
    assert operator_client.get("/polls/1/results").status_code == 200
    bundle = operator_client.get("/api/polls/1/bundle").data
    record = parse_json(read_bundle(bundle)["record.json"])
    counts, blanks = expected_counts(choices, manifest.context.subjects, manifest.context.grades)
    assert [s["counts"] for s in record["subjects"]] == counts
    assert [s["blank"] for s in record["subjects"]] == blanks
    assert verify_bundle(bundle, workers=1).ok

    # Every step is in the audit log, under the operator's (or the trustee page's) name.
    with app.app_context():
        events = db.get_session().execute(
            select(AuditEvent.actor, AuditEvent.action).where(AuditEvent.action.like("count.%"))
        )
        logged = sorted(events)
    operator = f"web:{OPERATOR[0]}"
    assert logged == sorted(
        [
            (operator, "count.start"),
            (operator, "count.share"),
            ("web:trustee", "count.share"),
            (operator, "count.finish"),
        ]
    )

    # The trustees' page now says it is over; no more shares, no second finish.
    assert 'id="finished"' in text(trustee.get(TRUSTEE))
    after = stored(app)
    response = finish(operator_client)
    assert response.status_code == 409
    bilingual(response, "đã hoàn tất", "finished")
    token = token_of(operator_client, COUNT)
    response = upload(operator_client, f"{COUNT}/shares", share_bytes(poll, 1, agg), token)
    assert response.status_code == 409
    assert stored(app) == after


def test_refusals_are_shown_and_change_nothing(
    poll: OpenPoll, operator_client: FlaskClient, app: Flask
) -> None:
    # A poll still open cannot be counted.
    page = text(operator_client.get(COUNT))
    assert "Chỉ kiểm phiếu sau khi đóng cuộc biểu quyết" in page
    assert disabled(page, "start-button") and disabled(page, "finish-button")
    before = stored(app)
    response = start(operator_client)
    assert response.status_code == 409
    bilingual(response, "vẫn đang mở", "still open")
    response = finish(operator_client)
    assert response.status_code == 409
    bilingual(response, "vẫn đang mở", "still open")
    assert operator_client.get(f"{COUNT}/files/aggregate.json").status_code == 409
    assert stored(app) == before

    cast_and_close(poll)
    response = start(operator_client)
    assert response.status_code == 409
    bilingual(response, "Chưa có xác nhận số có mặt", "No attendance statement")
    before = stored(app)
    token = token_of(operator_client, COUNT)
    good_statement = make_statement(poll)
    for statement, status, vi, en in (
        (dict(good_statement, present=4), 400, "bị từ chối", "does not verify"),
        (dict(good_statement, board_head="00" * 32), 400, "bị từ chối", "does not verify"),
        ({"format": "tally-attendance/1"}, 400, "bị từ chối", "exactly the fields"),
    ):
        response = upload(
            operator_client,
            f"{COUNT}/attendance",
            json.dumps(statement).encode(),
            token,
            "statement",
        )
        assert response.status_code == status, text(response)
        bilingual(response, vi, en)
    response = upload(operator_client, f"{COUNT}/attendance", b"{no", token, "statement")
    assert response.status_code == 400
    bilingual(response, "không phải JSON", "not JSON")
    assert stored(app) == before
    poll.attest()
    assert start(operator_client).status_code == 302
    response = start(operator_client)  # twice
    assert response.status_code == 409
    bilingual(response, "Đã bắt đầu kiểm phiếu", "already started")
    agg = aggregate(operator_client)
    before = stored(app)
    good = poll.trustees[0].decrypt_share(agg)
    token = token_of(operator_client, COUNT)

    def refused(data: bytes, status: int, vi: str, en: str) -> None:
        response = upload(operator_client, f"{COUNT}/shares", data, token)
        assert response.status_code == status, text(response)
        bilingual(response, vi, en)
        assert stored(app) == before

    altered = copy.deepcopy(good)
    altered["shares"][0][0]["d"] = good["shares"][0][1]["d"]
    refused(json.dumps(altered).encode(), 400, "không hợp lệ", "proof does not verify")
    other = copy.deepcopy(agg)
    other["ciphertexts"][0][0], other["ciphertexts"][0][1] = (
        agg["ciphertexts"][0][1],
        agg["ciphertexts"][0][0],
    )
    for_other = json.dumps(poll.trustees[0].decrypt_share(other)).encode()
    refused(for_other, 400, "không hợp lệ", "different aggregate")
    stranger = dict(good, public_key="00" * 32)
    refused(
        json.dumps(stranger).encode(), 400, "không phải của một thành viên", "not from a trustee"
    )
    refused(b"{not json", 400, "không phải JSON", "not JSON")
    response = operator_client.post(
        f"{COUNT}/shares", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    bilingual(response, "Chưa chọn tệp", "No share file")
    assert stored(app) == before

    # The trustees' page shows the same refusals with the same status.
    trustee = app.test_client()
    response = upload(trustee, f"{TRUSTEE}/shares", for_other, token_of(trustee, TRUSTEE))
    assert response.status_code == 400
    bilingual(response, "không hợp lệ", "different aggregate")
    assert stored(app) == before

    assert upload(operator_client, f"{COUNT}/shares", json.dumps(good).encode(), token).status_code
    operator_client.get(COUNT)  # the page the upload redirects to shows its success
    response = upload(operator_client, f"{COUNT}/shares", json.dumps(good).encode(), token)
    assert response.status_code == 409
    # Issue 17: a re-uploaded share must not read like a success.
    bilingual(response, "không được nhận lần nữa", "was not taken again")
    assert "Đã nhận phần giải mã hợp lệ" not in text(response)

    # Unknown polls.
    assert operator_client.get("/operator/polls/99/count").status_code == 404
    assert app.test_client().get("/trustee/polls/99").status_code == 404


def test_share_api_and_public_files(poll: OpenPoll, app: Flask, tmp_path: Path) -> None:
    client = app.test_client()

    def api_error(response: TestResponse, status: int, code: str) -> dict[str, str]:
        assert response.status_code == status, response.data
        error: dict[str, str] = response.get_json()["error"]
        assert error["code"] == code and error["message_vi"] and error["message_en"]
        return error

    api_error(client.get("/api/polls/1/aggregate"), 409, "count_not_started")
    api_error(client.get("/api/polls/1/ballots"), 409, "poll_not_closed")
    api_error(client.get("/api/polls/99/aggregate"), 404, "not_found")
    share_api = "/api/polls/1/shares"
    api_error(client.post(share_api, json={"format": "tally-share/1"}), 409, "count_not_started")
    page = text(client.get(TRUSTEE))
    assert 'id="not-started"' in page and 'id="share-form"' not in page

    cast_and_close(poll)
    poll.attest()
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "for-trustees"))
    agg = aggregate(client)
    with app.app_context():
        head = db.get_session().scalar(select(Poll.board_head).where(Poll.id == 1))

    # The trustees' page: the published head to compare, an upload form and the in-browser path,
    # whose script is an external module (no inline script: the CSP forbids it).
    page = text(client.get(TRUSTEE))
    assert shown_hex(page, "board-head") == head
    assert 'id="share-form"' in page and 'name="csrf_token"' in page
    assert re.search(r'<script type="module" src="/public-static/build/trustee-page.js">', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    # The key file input belongs to no form and has no name: the browser could never submit it.
    in_browser = page.split('id="in-browser"', 1)[1].split("</section>", 1)[0]
    key_input = re.search(r'<input type="file" id="key-file"[^>]*>', in_browser)
    assert key_input and "name=" not in key_input.group(0) and "<form" not in in_browser
    script = client.get("/public-static/build/trustee-page.js")
    # The bundle (js/pages/trustee-page.js with js/tally/ and noble, by esbuild) is served here.
    assert script.status_code == 200 and "javascript" in script.content_type
    assert "decryptShare" in text(script) or "decrypt" in text(script)

    before = stored(app)
    api_error(client.post(share_api, data=b"{not json"), 400, "bad_share")
    altered = poll.trustees[0].decrypt_share(agg)
    altered["shares"][1][2]["proof"]["s"] = altered["shares"][1][3]["proof"]["s"]
    error = api_error(client.post(share_api, json=altered), 400, "bad_share")
    assert "proof does not verify" in error["message_en"]
    api_error(client.post(share_api, data=b"x" * (1024 * 1024 + 1)), 413, "too_large")
    assert stored(app) == before

    response = client.post(share_api, json=poll.trustees[1].decrypt_share(agg))
    assert response.status_code == 201
    assert response.get_json() == {
        "poll": 1,
        "trustee": poll.trustees[1].public.name,
        "received": 1,
        "missing": [poll.trustees[0].public.name],
    }
    api_error(client.post(share_api, json=poll.trustees[1].decrypt_share(agg)), 409, "share_exists")
    with app.app_context():
        actors = list(
            db.get_session().scalars(
                select(AuditEvent.actor).where(AuditEvent.action == "count.share")
            )
        )
    assert actors == ["web:trustee"]
