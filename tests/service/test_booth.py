"""The booth page, the credential status the booth asks for, and the challenge checker
(server side; the booth's script itself runs in tests/browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ballot import db
from ballot.models import ChallengedCiphertext
from ballot.models import Credential as CredentialRow
from tally.ballots import (
    encrypt_ballot,
    encrypt_ballot_with_randomness,
    randomness_to_json,
    tracking_hash,
)
from tally.credentials import Credential
from tally.group import L, scalar_from_hex

from .conftest import OpenPoll, csrf_token, run


def _challenge(poll: OpenPoll, k: int, choices: list[int | None]) -> dict[str, Any]:
    ballot, rs = encrypt_ballot_with_randomness(poll.manifest.context, poll.credential(k), choices)
    return {
        "format": "tally-challenge/1",
        "ballot": ballot,
        "choices": choices,
        "randomness": randomness_to_json(rs),
    }


def _check(poll: OpenPoll, text: str) -> Any:
    token = csrf_token(poll.client.get("/polls/1/check").get_data(as_text=True))
    return poll.client.post("/polls/1/check", data={"challenge": text, "csrf_token": token})


def test_booth_page_is_served_without_any_secret(poll: OpenPoll) -> None:
    page = poll.client.get("/booth/1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'type="module"' in html and "booth.js" in html and "build/booth-worker.js" in html
    assert "<script>" not in html  # no inline script: the booth works under a strict CSP
    assert "Hoàn thành" not in html  # grades come from the manifest, not a second copy
    assert poll.client.get("/booth/999").status_code == 404


def test_booth_page_of_a_closed_or_draft_poll(poll: OpenPoll) -> None:
    draft = poll.client.get("/booth/2")
    assert draft.status_code == 409
    assert "chưa mở" in draft.get_data(as_text=True)
    run(poll.app, "poll", "close", "1")
    closed = poll.client.get("/booth/1")
    assert closed.status_code == 409
    assert "đã đóng" in closed.get_data(as_text=True)
    assert "booth.js" not in closed.get_data(as_text=True)


def test_credential_status(poll: OpenPoll) -> None:
    key = poll.credential(0).public_key.hex()
    status = poll.client.get(f"/api/polls/1/credentials/{key}").get_json()
    assert status["status"] == "unused" and status["state"] == "open"
    cast = poll.post(encrypt_ballot(poll.manifest.context, poll.credential(0), [1] * 15))
    assert cast.status_code == 201
    assert poll.client.get(f"/api/polls/1/credentials/{key}").get_json()["status"] == "used"
    stranger = Credential.generate().public_key.hex()
    assert poll.client.get(f"/api/polls/1/credentials/{stranger}").get_json()["status"] == (
        "unknown"
    )
    bad = poll.client.get("/api/polls/1/credentials/NOT-HEX")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_credential"
    draft = poll.client.get(f"/api/polls/2/credentials/{key}")
    assert draft.status_code == 409


def test_checker_confirms_a_challenge_and_catches_a_lie(poll: OpenPoll) -> None:
    choices: list[int | None] = [0, 1, 2, 3, None] * 3
    challenge = _challenge(poll, 0, choices)
    ok = _check(poll, json.dumps(challenge))
    assert ok.status_code == 200
    text = ok.get_data(as_text=True)
    assert "KHỚP" in text and "KHÔNG KHỚP" not in text
    assert "Hoàn thành xuất sắc nhiệm vụ" in text and "Để trống" in text

    lie = dict(challenge, choices=[1, 1, 2, 3, None] * 3)  # claims another grade for subject 1
    refused = _check(poll, json.dumps(lie))
    assert refused.status_code == 422 and "KHÔNG KHỚP" in refused.get_data(as_text=True)

    garbage = _check(poll, "{not json")
    assert garbage.status_code == 422
    assert "không phải tệp kiểm tra" in garbage.get_data(as_text=True)

    no_token = poll.client.post("/polls/1/check", data={"challenge": json.dumps(challenge)})
    assert no_token.status_code == 400
    assert poll.board()["count"] == 0  # checking never casts

    # The challenged ballot revealed its choices: it can never be cast; the slip still votes.
    refused = poll.post(challenge["ballot"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "challenged_ballot"
    assert poll.board()["count"] == 0
    with poll.app.app_context():
        assert db.get_session().scalar(select(func.count()).where(CredentialRow.used)) == 0
        stored = db.get_session().scalars(select(ChallengedCiphertext)).all()
        assert {(c.poll_id, c.a) for c in stored} == {
            (1, ct["a"]) for answer in challenge["ballot"]["answers"] for ct in answer["choices"]
        }
    fresh = encrypt_ballot(poll.manifest.context, poll.credential(0), choices)
    assert poll.post(fresh).status_code == 201


def test_a_challenged_ballot_redone_around_its_ciphertexts_is_refused(
    poll: OpenPoll, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever holds a challenge file and the slip can rebuild the ballot with the revealed
    randomness (the same ciphertexts, so the same provable vote) and fresh proofs: another
    tracking hash. It is refused all the same; so is one reusing a single revealed ciphertext."""
    import tally.ballots

    ctx, choices = poll.manifest.context, [1, 2, 3, 0, None] * 3
    challenge = _challenge(poll, 2, choices)
    assert poll.client.post("/api/polls/1/challenges", json=challenge).get_json()["matches"]
    revealed = [scalar_from_hex(r) for row in challenge["randomness"] for r in row]

    def rebuilt(randomness: list[int]) -> dict[str, Any]:
        supply = iter(randomness)
        with monkeypatch.context() as patch:
            patch.setattr(tally.ballots, "random_scalar", lambda: next(supply))
            ballot = encrypt_ballot(ctx, poll.credential(2), choices)
        return ballot

    again = rebuilt(revealed)

    def ciphertexts(ballot: dict[str, Any]) -> list[tuple[str, str]]:
        return [(c["a"], c["b"]) for answer in ballot["answers"] for c in answer["choices"]]

    assert ciphertexts(again) == ciphertexts(challenge["ballot"])
    assert tracking_hash(again) != tracking_hash(challenge["ballot"])
    refused = poll.post(again)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "challenged_ballot"
    # Only the last subject's last grade reuses its revealed randomness.
    fresh = [int.from_bytes(os.urandom(32), "little") % L for _ in revealed]
    partly = rebuilt(fresh[:-1] + revealed[-1:])
    assert poll.post(partly).get_json()["error"]["code"] == "challenged_ballot"
    assert poll.board()["count"] == 0
    assert poll.post(encrypt_ballot(ctx, poll.credential(2), choices)).status_code == 201


def test_tally_check_challenge_command(poll: OpenPoll, tmp_path: Path) -> None:
    challenge = _challenge(poll, 1, [2] * 15)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(poll.client.get("/api/polls/1/manifest").data)
    path = tmp_path / "challenge.json"
    path.write_text(json.dumps(challenge), encoding="utf-8")
    tally = [sys.executable, "-m", "tally.cli"]
    ok = subprocess.run(
        [*tally, "check-challenge", str(path), "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "KHỚP / MATCH" in ok.stdout and "Hoàn thành nhiệm vụ" in ok.stdout
    challenge["randomness"][3][2] = challenge["randomness"][3][1]
    path.write_text(json.dumps(challenge), encoding="utf-8")
    bad = subprocess.run(
        [*tally, "check-challenge", str(path), "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "NO MATCH" in bad.stdout
