"""A conference's key ceremony through the service, on SQLite and PostgreSQL (issue 15): five
trustees deal and check through the API, a poll opens with the ceremony's key, any three count
(a wrong share refused and a fourth trustee's used, two not enough), the bundle verifies; and
every out-of-place message is refused with nothing stored."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from ballot import db
from ballot.models import AuditEvent, KeyCeremony, Poll
from tally.ballots import encrypt_ballot
from tally.bundle import read_bundle
from tally.canonical import canonical_json
from tally.dkg import (
    DEAL_SIGNATURE,
    Ceremony,
    decrypt_share,
    make_check,
    make_dealing,
    parse_ceremony,
    threshold_key,
)
from tally.group import base_mul
from tally.manifest import parse_manifest
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle
from tests.support.polls import attest, board_mint, run

from .test_fuzz import UNLIMITED

KEYS = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {m}") for m in range(1, 6)]


def register(app: Flask, tmp_path: Path, poll_id: int, keys: list[TrusteeKey]) -> None:
    for m, key in enumerate(keys):
        path = tmp_path / f"t{poll_id}-{m}.pub.json"
        path.write_text(json.dumps(key.public.to_json(), ensure_ascii=False), encoding="utf-8")
        run(app, "trustee", "add", str(poll_id), str(path))


def snapshot(app: Flask) -> Any:
    with app.app_context():
        row = db.get_session().scalar(select(KeyCeremony))
        return None if row is None else (row.state, row.dealings, row.checks, row.failure)


def state(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/conferences/1/ceremony")
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def error_code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


@pytest.fixture
def ceremony_app(conference: Flask, tmp_path: Path) -> Flask:
    conference.config.update(UNLIMITED)
    register(conference, tmp_path, 1, KEYS)
    output = run(conference, "ceremony", "start", "1", "--threshold", "3")
    assert "any 3 of 5 trustees" in output
    return conference


def post(app: Flask, kind: str, body: Any) -> Any:
    return app.test_client().post(f"/api/conferences/1/ceremony/{kind}", json=body)


def run_ceremony(app: Flask) -> Ceremony:
    setup = parse_ceremony(state(app)["ceremony"])
    dealings = [make_dealing(setup, key) for key in KEYS]
    for dealing in dealings:
        assert post(app, "dealings", dealing).status_code == 201
    assert state(app)["state"] == "checking"
    for key in KEYS:
        assert post(app, "checks", make_check(setup, key, dealings)).status_code == 201
    return setup


def test_three_of_five_through_the_service(ceremony_app: Flask, tmp_path: Path) -> None:
    app = ceremony_app
    setup = run_ceremony(app)
    done = state(app)
    assert done["state"] == "done" and done["outcome"]["qualified"] == [1, 2, 3, 4, 5]
    codes, _ = board_mint(app, tmp_path, 1, 6)
    with app.app_context():
        poll = db.get_session().get_one(Poll, 1)
        if poll.present < 6:
            run(app, "poll", "edit", "1", "--present", "6")
    run(app, "poll", "open", "1", "--acknowledge-unconfirmed-rules")
    client = app.test_client()
    manifest_data = json.loads(client.get("/api/polls/1/manifest").data)
    manifest = parse_manifest(manifest_data)
    assert manifest.threshold == 3 and manifest.ceremony is not None
    assert manifest.ceremony.uid == setup.uid
    assert manifest.context.public_key.hex() == done["outcome"]["public_key"]
    from tally.credentials import Credential

    for k, code in enumerate(codes):
        ballot = encrypt_ballot(manifest.context, Credential.from_code(code), [k % 4] * 15)
        assert client.post("/api/polls/1/ballots", json=ballot).status_code == 201
    run(app, "poll", "close", "1")
    attest(app, 1, KEYS[0])
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "count"))
    aggregate = json.loads(client.get("/api/polls/1/aggregate").data)
    transcript = manifest_data["election"]["ceremony"]
    shares = {
        m: decrypt_share(
            aggregate,
            threshold_key(setup, transcript["dealings"], transcript["checks"], KEYS[m - 1]),
        )
        for m in (1, 2, 4, 5)
    }
    # Two shares are not enough: nothing is decrypted.
    for m in (1, 2):
        assert client.post("/api/polls/1/shares", json=shares[m]).status_code == 201
    finish = app.test_cli_runner().invoke(args=["count", "finish", "1"])
    assert finish.exit_code == 1 and "cần 3" in finish.output and "3 are needed" in finish.output
    # A wrong share is refused with a clear message; a fourth trustee's is used instead.
    wrong = copy.deepcopy(shares[4])
    wrong["shares"][0][0]["d"] = base_mul(2).hex()
    refused = client.post("/api/polls/1/shares", json=wrong)
    assert refused.status_code == 400 and error_code(refused) == "bad_share"
    assert "dùng phần của thành viên khác" in refused.get_json()["error"]["message_vi"]
    assert client.post("/api/polls/1/shares", json=shares[5]).status_code == 201
    again = client.post("/api/polls/1/shares", json=shares[5])
    assert again.status_code == 409 and error_code(again) == "share_exists"
    run(app, "count", "finish", "1")
    bundle = client.get("/api/polls/1/bundle").data
    report = verify_bundle(bundle, workers=1)
    assert report.ok, [c.detail_en for c in report.checks if not c.ok]
    record = json.loads(read_bundle(bundle)["record.json"])
    assert record["decryption"]["combined"] == [KEYS[m - 1].public.name for m in (1, 2, 5)]
    assert record["decryption"]["absent"] == [KEYS[m - 1].public.name for m in (3, 4)]


def test_out_of_place_messages_are_refused_and_store_nothing(
    ceremony_app: Flask, tmp_path: Path
) -> None:
    app = ceremony_app
    board_mint(app, tmp_path, 1, 3)
    setup = parse_ceremony(state(app)["ceremony"])
    dealings = [make_dealing(setup, key) for key in KEYS]
    before = snapshot(app)
    # A check before every dealing is in (out of order).
    early = post(app, "checks", {"format": "tally-dkg-check/1"})
    assert early.status_code == 409 and error_code(early) == "ceremony_step"
    # A dealing for another ceremony; an unsigned one; a malformed one; not JSON.
    other = Ceremony("0" * 32, 3, setup.trustees)
    bad = [
        make_dealing(other, KEYS[0]),
        {**dealings[1], "signature": dealings[2]["signature"]},
        {**dealings[1], "commitments": dealings[1]["commitments"][:2]},
    ]
    for body in bad:
        response = post(app, "dealings", body)
        assert response.status_code == 400 and error_code(response) == "bad_ceremony_message"
        message = response.get_json()["error"]
        assert message["message_vi"].startswith("Bị từ chối") and message["message_en"]
    raw = app.test_client().post(
        "/api/conferences/1/ceremony/dealings", data=b"{not json", content_type="application/json"
    )
    assert raw.status_code == 400
    assert snapshot(app) == before
    # A trustee acting twice: the same dealing again changes nothing, another one is refused.
    assert post(app, "dealings", dealings[0]).status_code == 201
    after_one = snapshot(app)
    assert post(app, "dealings", dealings[0]).status_code == 201
    assert snapshot(app) == after_one
    forged = copy.deepcopy(dealings[0])
    forged["shares"][1]["ct"] = "00" * 48
    body = {k: v for k, v in forged.items() if k != "signature"}
    forged["signature"] = KEYS[0].sign(DEAL_SIGNATURE + canonical_json(body)).hex()
    twice = post(app, "dealings", forged)
    assert twice.status_code == 409 and error_code(twice) == "already_dealt"
    assert snapshot(app) == after_one
    # A poll cannot open while the ceremony is not finished.
    result = app.test_cli_runner().invoke(
        args=["poll", "open", "1", "--acknowledge-unconfirmed-rules"]
    )
    assert result.exit_code == 1 and "key ceremony is not finished" in result.output
    # A second start is refused while this one stands.
    again = app.test_cli_runner().invoke(args=["ceremony", "start", "1"])
    assert again.exit_code == 1 and "already has a key ceremony" in again.output


def test_a_bad_share_in_the_ceremony_names_the_dealer(ceremony_app: Flask) -> None:
    app = ceremony_app
    setup = parse_ceremony(state(app)["ceremony"])
    dealings = [make_dealing(setup, key) for key in KEYS]
    cheat = copy.deepcopy(dealings[3])
    cheat["shares"][0]["ct"] = "00" * 48
    body = {k: v for k, v in cheat.items() if k != "signature"}
    cheat["signature"] = KEYS[3].sign(DEAL_SIGNATURE + canonical_json(body)).hex()
    dealings[3] = cheat
    for dealing in dealings:
        assert post(app, "dealings", dealing).status_code == 201
    for key in KEYS:
        assert post(app, "checks", make_check(setup, key, dealings)).status_code == 201
    done = state(app)
    assert done["state"] == "done"
    assert done["outcome"]["faults"] == [
        {"trustee": 4, "name": KEYS[3].public.name, "reason": "bad_share", "against": 1}
    ]
    assert done["outcome"]["qualified"] == [1, 2, 3, 5]
    status = run(app, "ceremony", "status", "1")
    assert "SAI PHẠM / FAULT: Thành viên Ban kiểm phiếu 4 (bad_share)" in status


def test_n_of_n_without_a_fault_tolerance_fails_with_the_name(
    conference: Flask, tmp_path: Path
) -> None:
    conference.config.update(UNLIMITED)
    register(conference, tmp_path, 1, KEYS[:3])
    run(conference, "ceremony", "start", "1", "--threshold", "3")
    setup = parse_ceremony(state(conference)["ceremony"])
    dealings = [make_dealing(setup, key) for key in KEYS[:3]]
    cheat = copy.deepcopy(dealings[0])
    cheat["shares"][2]["ct"] = "00" * 48
    body = {k: v for k, v in cheat.items() if k != "signature"}
    cheat["signature"] = KEYS[0].sign(DEAL_SIGNATURE + canonical_json(body)).hex()
    dealings[0] = cheat
    for dealing in dealings:
        assert post(conference, "dealings", dealing).status_code == 201
    for key in KEYS[:3]:
        assert post(conference, "checks", make_check(setup, key, dealings)).status_code == 201
    failed = state(conference)
    assert failed["state"] == "failed" and failed["outcome"] is None
    assert "Thành viên Ban kiểm phiếu 1 (bad_share)" in failed["failure"]
    # A failed ceremony can be set up again (with a new uid).
    run(conference, "ceremony", "start", "1", "--threshold", "2")
    assert state(conference)["ceremony"]["uid"] != setup.uid


def test_committees_must_match_and_a_threshold_be_in_range(
    conference: Flask, tmp_path: Path
) -> None:
    register(conference, tmp_path, 1, KEYS[:3])
    register(conference, tmp_path, 2, KEYS[1:4])
    differ = conference.test_cli_runner().invoke(args=["ceremony", "start", "1"])
    assert differ.exit_code == 1 and "different counting committees" in differ.output
    none = conference.test_cli_runner().invoke(args=["ceremony", "status", "1"])
    assert none.exit_code == 1 and "no key ceremony yet" in none.output
    assert conference.test_client().get("/api/conferences/1/ceremony").status_code == 404
    assert conference.test_client().get("/api/conferences/99/ceremony").status_code == 404


def test_the_pages_start_show_and_take_a_file(
    ceremony_app: Flask, operator_client: Any, tmp_path: Path
) -> None:
    """The operator's conference page shows the ceremony and links the committee's page; the
    committee's page shows what to compare on paper and takes a tally trustee file (CSRF)."""
    from .conftest import csrf_token

    app = ceremony_app
    # Until the ceremony is done, opening a poll says every trustee would have to decrypt.
    opening = operator_client.get("/operator/polls/1/open").get_data(as_text=True)
    assert "cả 5 thành viên phải giải mã" in opening
    conference = operator_client.get("/operator/conferences/1").get_data(as_text=True)
    assert 'id="key-ceremony"' in conference and "Bất kỳ 3 trong 5 thành viên" in conference
    assert "/trustee/conferences/1/ceremony" in conference
    client = app.test_client()
    page = client.get("/trustee/conferences/1/ceremony")
    html = page.get_data(as_text=True)
    setup = parse_ceremony(state(app)["ceremony"])
    digest = setup.digest.hex()
    assert page.status_code == 200 and digest[:4] in html and 'data-state="dealing"' in html
    assert "tally trustee deal --key" in html
    token = csrf_token(html)
    dealing = make_dealing(setup, KEYS[0])
    path = tmp_path / "d1.json"
    path.write_text(json.dumps(dealing))
    with path.open("rb") as handle:
        sent = client.post(
            "/trustee/conferences/1/ceremony",
            data={"csrf_token": token, "message": (handle, "d1.json")},
            content_type="multipart/form-data",
        )
    assert sent.status_code == 302
    assert "Đã nhận phần chia" in client.get("/trustee/conferences/1/ceremony").get_data(
        as_text=True
    )
    # While dealing, who has dealt is shown, not what (no last dealer sees the others').
    assert state(app)["dealings"] == [{"dealer": 1}, None, None, None, None]
    with app.app_context():
        row = db.get_session().scalar(select(KeyCeremony))
        assert row is not None and json.loads(row.dealings)[0] == dealing
    # A file that is neither: refused on the page, nothing stored.
    before = snapshot(app)
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "tally-share/1"}')
    with bad.open("rb") as handle:
        refused = client.post(
            "/trustee/conferences/1/ceremony",
            data={"csrf_token": token, "message": (handle, "x.json")},
            content_type="multipart/form-data",
        )
    assert refused.status_code == 400 and "Không phải phần chia" in refused.get_data(as_text=True)
    assert snapshot(app) == before
    # The files for the CLI.
    assert client.get("/api/conferences/1/ceremony/ceremony.json").get_json() == setup.to_json()
    assert client.get("/api/conferences/1/ceremony/dealings.json").status_code == 409


def test_the_operator_starts_the_ceremony_from_the_conference_page(
    conference: Flask, operator_client: Any, tmp_path: Path
) -> None:
    from .conftest import csrf_token

    register(conference, tmp_path, 1, KEYS)
    page = operator_client.get("/operator/conferences/1").get_data(as_text=True)
    assert 'id="ceremony-start"' in page and '<option value="3" selected>' in page
    token = csrf_token(page)
    bad = operator_client.post(
        "/operator/conferences/1/ceremony", data={"csrf_token": token, "threshold": "9"}
    )
    assert bad.status_code == 400 and "phải từ 1 đến 5" in bad.get_data(as_text=True)
    assert snapshot(conference) is None
    done = operator_client.post(
        "/operator/conferences/1/ceremony", data={"csrf_token": token, "threshold": "4"}
    )
    assert done.status_code == 302
    assert state(conference)["ceremony"]["threshold"] == 4


def test_a_stalled_ceremony_starts_again_and_none_starts_once_a_poll_is_open(
    ceremony_app: Flask, tmp_path: Path
) -> None:
    """Found in review: a trustee who never deals left the ceremony stuck with no way out. It
    can be started again (audited) while no poll of the conference has opened; once one has,
    no ceremony starts (its n-of-n key shares the trustees' keys)."""
    app = ceremony_app
    setup = parse_ceremony(state(app)["ceremony"])
    assert post(app, "dealings", make_dealing(setup, KEYS[0])).status_code == 201
    stuck = app.test_cli_runner().invoke(args=["ceremony", "start", "1"])
    assert stuck.exit_code == 1 and "--restart" in stuck.output
    output = run(app, "ceremony", "start", "1", "--threshold", "2", "--restart")
    assert "any 2 of 5 trustees" in output
    fresh = state(app)
    assert fresh["ceremony"]["uid"] != setup.uid and fresh["dealings"] == [None] * 5
    with app.app_context():
        actions = [
            e.action for e in db.get_session().scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert actions.count("ceremony.restart") == 1
    # Poll 2 opens n of n (its own trustees, no ceremony for them): no ceremony starts after.
    other = [TrusteeKey.generate(f"Khác {m}") for m in (1, 2)]
    run(app, "ceremony", "start", "1", "--restart")
    with app.app_context():
        db.get_session().execute(delete(KeyCeremony))
        db.get_session().commit()
    register(app, tmp_path, 2, other)
    board_mint(app, tmp_path, 2, 3)
    run(app, "poll", "open", "2", "--acknowledge-unconfirmed-rules")
    late = app.test_cli_runner().invoke(args=["ceremony", "start", "1"])
    assert late.exit_code == 1 and "before the first poll opens" in late.output
