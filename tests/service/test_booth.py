"""The booth page, the credential status the booth asks for, and the challenge checker
(server side; the booth's script itself runs in tests/browser)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ballot import db
from ballot.models import ChallengedCiphertext
from ballot.models import Credential as CredentialRow
from tally.ballots import (
    ballot_commitment,
    encrypt_ballot,
    encrypt_ballot_from_seed,
    new_seed,
    rebuild_ciphertexts,
    seed_nonces,
    tracking_hash,
)
from tally.challenge import challenge_file, challenge_qr_text, make_notice
from tally.credentials import Credential

from .conftest import OpenPoll, run


def _sealed(poll: OpenPoll, k: int, choices: list[int | None]) -> tuple[dict[str, Any], bytes]:
    """What a booth holds after encrypting: the ballot and its seed."""
    seed = new_seed()
    return encrypt_ballot_from_seed(poll.manifest.context, poll.credential(k), choices, seed), seed


def _notice(poll: OpenPoll, k: int, choices: list[int | None], seed: bytes) -> dict[str, Any]:
    ctx = poll.manifest.context
    return make_notice(ctx.fingerprint, poll.credential(k), rebuild_ciphertexts(ctx, choices, seed))


def _challenge_file(
    poll: OpenPoll, ballot: dict[str, Any], seed: bytes, choices: list[int | None]
) -> dict[str, Any]:
    ctx = poll.manifest.context
    return challenge_file(
        ctx.fingerprint, seed, choices, ballot_commitment(ctx.fingerprint, ballot)
    )


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


def test_the_checker_page_checks_in_the_browser_and_takes_no_post(poll: OpenPoll) -> None:
    page = poll.client.get("/polls/1/check")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "build/checker.js" in html and 'data-manifest="/api/polls/1/manifest"' in html
    assert "<form" not in html  # nothing to post: the seed and choices stay on the device
    assert poll.client.post("/polls/1/check", data={"challenge": "x"}).status_code == 405
    assert poll.client.get("/polls/2/check").status_code == 404  # a draft has no manifest


def test_a_challenge_tells_the_server_only_hashes_and_the_ballot_is_never_cast(
    poll: OpenPoll,
) -> None:
    choices: list[int | None] = [0, 1, 2, 3, None] * 3
    ballot, seed = _sealed(poll, 0, choices)
    notice = _notice(poll, 0, choices, seed)
    text = json.dumps(notice)
    # The notice: hashes of the a values, the slip's key and signature; no choice, no seed, no
    # ciphertext.
    assert seed.hex() not in text and "choices" not in text
    assert all(
        c["a"] not in text and c["b"] not in text for a in ballot["answers"] for c in a["choices"]
    )
    recorded = poll.client.post("/api/polls/1/challenges", json=notice)
    assert recorded.status_code == 201, recorded.get_json()
    assert recorded.get_json() == {"recorded": 60, "challenges_left": 4}
    assert poll.board()["count"] == 0  # a challenge never casts
    with poll.app.app_context():
        session = db.get_session()
        assert session.scalar(select(func.count()).where(CredentialRow.used)) == 0
        row = session.scalars(
            select(CredentialRow).where(CredentialRow.public_key == notice["credential"])
        ).one()
        assert row.challenges == 1
        stored = session.scalars(select(ChallengedCiphertext)).all()
        expected = {
            hashlib.sha256(bytes.fromhex(c["a"])).hexdigest()
            for answer in ballot["answers"]
            for c in answer["choices"]
        }
        assert {(c.poll_id, c.a_hash) for c in stored} == {(1, h) for h in expected}
        # The table names no credential and no moment.
        assert set(ChallengedCiphertext.__table__.columns.keys()) == {"id", "poll_id", "a_hash"}
    # The challenged ballot revealed its seed to the voter: it can never be cast.
    refused = poll.post(ballot)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "challenged_ballot"
    assert poll.board()["count"] == 0
    fresh, _ = _sealed(poll, 0, choices)
    cast = poll.post(fresh)
    assert cast.status_code == 201
    assert cast.get_json()["commitment"] == ballot_commitment(poll.manifest.fingerprint, fresh)


def test_challenge_notices_are_bounded_and_refused_when_wrong(
    poll: OpenPoll, tmp_path: Path
) -> None:
    choices: list[int | None] = [1] * 15

    def stored() -> tuple[int, int]:
        with poll.app.app_context():
            session = db.get_session()
            return (
                session.scalar(select(func.count()).select_from(ChallengedCiphertext)) or 0,
                session.scalar(select(func.sum(CredentialRow.challenges))) or 0,
            )

    def send(notice: Any) -> tuple[int, str]:
        response = poll.client.post("/api/polls/1/challenges", json=notice)
        body = response.get_json()
        return response.status_code, body["error"]["code"] if "error" in body else ""

    _, seed = _sealed(poll, 1, choices)
    good = _notice(poll, 1, choices, seed)
    forged = dict(good, a_hashes=[hashlib.sha256(b"x%d" % i).hexdigest() for i in range(60)])
    short = dict(good, a_hashes=good["a_hashes"][:-1])
    _, other_seed = _sealed(poll, 2, choices)
    stranger = make_notice(
        poll.manifest.fingerprint,
        Credential.generate(),
        rebuild_ciphertexts(poll.manifest.context, choices, other_seed),
    )
    for notice, expected in (
        (forged, (400, "malformed_challenge")),  # the slip did not sign these
        (short, (400, "malformed_challenge")),  # not one ballot's worth
        (dict(good, poll="00" * 32), (400, "malformed_challenge")),
        ([good], (400, "malformed_challenge")),
        (stranger, (403, "unknown_credential")),
    ):
        assert send(notice) == expected
    assert stored() == (0, 0)
    # At most five per slip; the sixth is refused and stores nothing.
    for k in range(5):
        _, s = _sealed(poll, 1, choices)
        assert send(_notice(poll, 1, choices, s))[0] == 201, k
    assert stored() == (5 * 60, 5)
    _, s = _sealed(poll, 1, choices)
    assert send(_notice(poll, 1, choices, s)) == (429, "too_many_challenges")
    assert stored() == (5 * 60, 5)
    # The slip still votes; once used it challenges no more; a closed poll takes none.
    ballot, _ = _sealed(poll, 1, choices)
    assert poll.post(ballot).status_code == 201
    _, s = _sealed(poll, 1, choices)
    assert send(_notice(poll, 1, choices, s)) == (409, "credential_used")
    run(poll.app, "poll", "close", "1")
    _, s = _sealed(poll, 3, choices)
    assert send(_notice(poll, 3, choices, s)) == (409, "poll_not_open")
    assert stored() == (5 * 60, 5)


def test_a_challenged_ballot_redone_around_its_ciphertexts_is_refused(poll: OpenPoll) -> None:
    """Whoever holds a revealed seed and the slip can rebuild the ballot around the same
    ciphertexts (the same provable vote) with fresh proofs: another tracking hash. It is refused
    all the same; so is one reusing a single revealed ciphertext."""
    ctx, choices = poll.manifest.context, [1, 2, 3, 0, None] * 3
    ballot, seed = _sealed(poll, 2, choices)
    assert (
        poll.client.post(
            "/api/polls/1/challenges", json=_notice(poll, 2, choices, seed)
        ).status_code
        == 201
    )
    derived = seed_nonces(ctx.fingerprint, seed)
    other = seed_nonces(ctx.fingerprint, new_seed())

    def rebuilt(reuse: Any) -> dict[str, Any]:
        # The revealed randomness where `reuse(label)`, fresh nonces everywhere else.
        return encrypt_ballot(
            ctx,
            poll.credential(2),
            choices,
            nonces=lambda label: derived(label) if reuse(label) else other(label),
        )

    again = rebuilt(lambda label: label.endswith("/r"))

    def ciphertexts(b: dict[str, Any]) -> list[tuple[str, str]]:
        return [(c["a"], c["b"]) for answer in b["answers"] for c in answer["choices"]]

    assert ciphertexts(again) == ciphertexts(ballot)
    assert tracking_hash(again) != tracking_hash(ballot)
    refused = poll.post(again)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "challenged_ballot"
    # Only the last subject's last grade reuses its revealed randomness.
    partly = rebuilt(lambda label: label == "14/3/r")
    assert poll.post(partly).get_json()["error"]["code"] == "challenged_ballot"
    assert poll.board()["count"] == 0
    assert poll.post(_sealed(poll, 2, choices)[0]).status_code == 201


def _check_command(path: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tally.cli",
            "check-challenge",
            str(path),
            "--manifest",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_tally_check_challenge_command(poll: OpenPoll, tmp_path: Path) -> None:
    choices: list[int | None] = [2] * 15
    ballot, seed = _sealed(poll, 1, choices)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(poll.client.get("/api/polls/1/manifest").data)
    file = _challenge_file(poll, ballot, seed, choices)
    path = tmp_path / "challenge.json"
    path.write_text(json.dumps(file), encoding="utf-8")
    ok = _check_command(path, manifest)
    assert ok.returncode == 0, ok.stderr
    assert "KHỚP / MATCH" in ok.stdout and "Hoàn thành nhiệm vụ" in ok.stdout
    assert file["commitment"] in ok.stdout
    # The QR text works the same.
    path.write_text(challenge_qr_text(file) + "\n", encoding="utf-8")
    assert _check_command(path, manifest).returncode == 0
    # A wrong seed, wrong choices, another ballot's commitment: "does not match", naming what.
    _, other_seed = _sealed(poll, 2, choices)
    other_ballot, _ = _sealed(poll, 3, choices)
    for wrong in (
        dict(file, seed=other_seed.hex()),
        dict(file, choices=[2] * 14 + [1]),
        dict(file, commitment=ballot_commitment(poll.manifest.fingerprint, other_ballot)),
    ):
        path.write_text(json.dumps(wrong), encoding="utf-8")
        bad = _check_command(path, manifest)
        assert bad.returncode == 1, bad.stderr
        assert "DOES NOT MATCH" in bad.stdout and "the commitment differs" in bad.stdout
    path.write_text(json.dumps(dict(file, poll="ab" * 32)), encoding="utf-8")
    bad = _check_command(path, manifest)
    assert bad.returncode == 1 and "another poll" in bad.stdout
    # A version-1 file that names this poll but holds no answers: no false match, no traceback.
    empty = {"format": "tally-challenge/1", "ballot": {"poll": file["poll"], "answers": []}}
    path.write_text(json.dumps({**empty, "choices": [], "randomness": []}), encoding="utf-8")
    bad = _check_command(path, manifest)
    assert bad.returncode == 1 and "DOES NOT MATCH" in bad.stdout, (bad.stdout, bad.stderr)
    # A byte-order mark or another non-ASCII space is not trimmed (as in the JavaScript checker).
    path.write_text("\ufeff" + challenge_qr_text(file), encoding="utf-8")
    assert _check_command(path, manifest).returncode == 2
    # A truncated QR text, a choice out of range, garbage: a clear message, no traceback.
    for text, what in (
        (challenge_qr_text(file)[:-40], "qr"),
        (json.dumps(dict(file, choices=[9] * 15)), "choices"),
        (json.dumps(dict(file, seed="zz")), "seed"),
        ("{not json", "format"),
    ):
        path.write_text(text, encoding="utf-8")
        refused = _check_command(path, manifest)
        assert refused.returncode == 2, (text, refused.stdout, refused.stderr)
        assert f"({what})" in refused.stderr and "Traceback" not in refused.stderr


def test_a_replayed_notice_is_not_counted_again(poll: OpenPoll) -> None:
    """Whoever saw a notice can send it again: it is answered as recorded, stores nothing more
    and does not use up the voter's challenges."""
    choices: list[int | None] = [2] * 15
    _, seed = _sealed(poll, 3, choices)
    notice = _notice(poll, 3, choices, seed)
    first = poll.client.post("/api/polls/1/challenges", json=notice)
    assert first.status_code == 201 and first.get_json()["challenges_left"] == 4
    for _ in range(6):
        again = poll.client.post("/api/polls/1/challenges", json=notice)
        assert again.status_code == 201 and again.get_json()["challenges_left"] == 4
    with poll.app.app_context():
        session = db.get_session()
        assert session.scalar(select(func.count()).select_from(ChallengedCiphertext)) == 60
        assert session.scalar(select(func.sum(CredentialRow.challenges))) == 1
    # A replay with a forged signature is refused all the same.
    forged = dict(notice, signature="00" * 64)
    assert poll.client.post("/api/polls/1/challenges", json=forged).status_code == 400
    # Bad JSON is a malformed challenge, not a malformed ballot.
    response = poll.client.post(
        "/api/polls/1/challenges", data=b'{"a": 1, "a": 2}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_challenge"
