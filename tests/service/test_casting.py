"""Casting through the JSON API, on SQLite and PostgreSQL: what a voter and an operator notice."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ballot import db
from ballot.models import Ballot, Credential, Poll
from ballot.services import casting
from ballot.services.errors import CastError
from tally.ballots import encrypt_ballot, tracking_code
from tally.board import genesis, next_head
from tally.credentials import Credential as SecretCredential

from .conftest import OpenPoll, prepare_poll, run


def ballot_for(poll: OpenPoll, k: int, grade: int = 1) -> dict[str, Any]:
    ctx = poll.manifest.context
    return encrypt_ballot(ctx, poll.credential(k), [grade] * ctx.subjects)


def stored(app: Flask) -> dict[str, Any]:
    """What a user would check: ballots on the board, credentials used and voided, the head."""
    with app.app_context():
        s = db.get_session()
        return {
            "ballots": s.scalar(select(func.count()).select_from(Ballot)),
            "used": s.scalar(select(func.count()).where(Credential.used.is_(True))),
            "voided": s.scalar(select(func.count()).where(Credential.voided.is_(True))),
            "head": s.scalar(select(Poll.board_head).where(Poll.id == 1)),
        }


def error_code(response: Any) -> str:
    body = response.get_json()
    assert body["error"]["message_vi"] and body["error"]["message_en"]
    return body["error"]["code"]  # type: ignore[no-any-return]


def test_honest_ballot_is_accepted_and_on_the_board(poll: OpenPoll) -> None:
    before = stored(poll.app)
    response = poll.post(ballot_for(poll, 0))
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["position"] == 1
    assert receipt["tracking_code"] == tracking_code(bytes.fromhex(receipt["tracking_hash"]))

    board = poll.board()
    assert [e["tracking_code"] for e in board["entries"]] == [receipt["tracking_code"]]
    # The head is the hash chain from the poll's genesis over the tracking hashes.
    first = bytes.fromhex(receipt["tracking_hash"])
    expected = next_head(genesis(poll.manifest.fingerprint), first)
    assert board["head"] == expected.hex() == receipt["board_head"]
    assert before["head"] == genesis(poll.manifest.fingerprint).hex()
    assert stored(poll.app) == {"ballots": 1, "used": 1, "voided": 0, "head": expected.hex()}

    second = poll.post(ballot_for(poll, 1, grade=0))
    assert second.status_code == 201
    assert second.get_json()["position"] == 2
    assert [e["position"] for e in poll.board()["entries"]] == [1, 2]


def test_replayed_ballot_is_refused_and_nothing_is_added(poll: OpenPoll) -> None:
    ballot = ballot_for(poll, 0)
    assert poll.post(ballot).status_code == 201
    after_first = stored(poll.app)
    replay = poll.post(ballot)
    assert replay.status_code == 409
    assert error_code(replay) == "credential_used"
    # A fresh ballot with the same slip is refused too.
    again = poll.post(ballot_for(poll, 0, grade=2))
    assert again.status_code == 409
    assert stored(poll.app) == after_first


def test_altered_proof_is_refused_and_the_slip_still_works(poll: OpenPoll) -> None:
    ballot = ballot_for(poll, 0)
    forged = copy.deepcopy(ballot)
    proof = forged["answers"][0]["choices"][0]["proof"]
    proof["s1"] = _flip(proof["s1"])
    response = poll.post(forged)
    assert response.status_code == 400
    assert error_code(response) == "malformed_ballot"
    assert stored(poll.app)["ballots"] == 0
    assert stored(poll.app)["used"] == 0
    assert poll.post(ballot).status_code == 201


def _flip(value: str) -> str:
    """Change the first hex digit of a scalar (little-endian: a small change, still in range)."""
    return ("1" if value[0] != "1" else "2") + value[1:]


def test_changed_ciphertext_is_refused(poll: OpenPoll) -> None:
    ballot = ballot_for(poll, 0)
    ballot["answers"][1]["choices"][2]["a"] = ballot["answers"][1]["choices"][3]["a"]
    response = poll.post(ballot)
    assert response.status_code == 400
    assert stored(poll.app)["used"] == 0


def test_unknown_credential_is_refused(poll: OpenPoll) -> None:
    stranger = SecretCredential.generate()
    ballot = encrypt_ballot(poll.manifest.context, stranger, [0] * poll.manifest.context.subjects)
    response = poll.post(ballot)
    assert response.status_code == 403
    assert error_code(response) == "unknown_credential"
    assert stored(poll.app)["ballots"] == 0


def test_ballot_for_another_poll_is_refused(poll: OpenPoll, tmp_path: Path) -> None:
    other = prepare_poll(poll.app, tmp_path, 2, 3)
    # Poll 1's ballot sent to poll 2: bound to poll 1's fingerprint.
    response = poll.post(ballot_for(poll, 0), poll_id=2)
    assert response.status_code == 400
    assert "another poll" in response.get_json()["error"]["message_en"]
    # A ballot made for poll 2 but signed with poll 1's slip: not a credential of poll 2.
    ctx = other.manifest.context
    crossed = encrypt_ballot(ctx, poll.credential(0), [0] * ctx.subjects)
    response = other.post(crossed)
    assert response.status_code == 403
    assert stored(poll.app)["ballots"] == 0 and stored(poll.app)["used"] == 0
    assert poll.post(ballot_for(poll, 0)).status_code == 201


def test_malformed_requests_are_refused(poll: OpenPoll) -> None:
    before = stored(poll.app)
    for body in (
        b"{not json",
        b"[]",
        b'{"format": "tally-ballot/1"}',
        b'{"a": 1, "a": 2}',
        "\ud800".encode("utf-8", "surrogatepass"),
        b"",
    ):
        response = poll.post(body)
        assert response.status_code == 400, body
        assert error_code(response) == "malformed_ballot"
    assert poll.client.post("/api/polls/99/ballots", data=b"{}").status_code in (400, 404)
    assert stored(poll.app) == before  # no ballot, no slip used or voided, the head unchanged
    assert before["ballots"] == before["used"] == 0


def test_oversized_body_is_refused(poll: OpenPoll) -> None:
    ballot = ballot_for(poll, 0)
    assert len(json.dumps(ballot)) < casting.MAX_BALLOT_BYTES  # a real 15-subject ballot fits
    ballot["padding"] = "x" * casting.MAX_BALLOT_BYTES
    response = poll.post(ballot)
    assert response.status_code == 413
    assert error_code(response) == "too_large"
    assert stored(poll.app)["used"] == 0


def test_closed_poll_refuses_ballots_and_voids_unused_slips(poll: OpenPoll) -> None:
    assert poll.post(ballot_for(poll, 0)).status_code == 201
    late = ballot_for(poll, 1)
    output = run(poll.app, "poll", "close", "1")
    assert "4" in output  # four unused credentials voided
    response = poll.post(late)
    assert response.status_code == 409
    assert error_code(response) == "poll_not_open"
    after = stored(poll.app)
    assert after["ballots"] == 1 and after["used"] == 1 and after["voided"] == 4
    with poll.app.app_context():
        used = db.get_session().scalars(select(Credential).where(Credential.used.is_(True))).one()
        assert not used.voided
    assert poll.board()["state"] == "closed"


def test_fifty_simultaneous_casts_of_one_credential(poll: OpenPoll) -> None:
    body = json.dumps(ballot_for(poll, 0))
    make_session = poll.app.extensions["ballot.sessionmaker"]
    start = threading.Barrier(50)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        session = make_session()
        try:
            result: Any = casting.cast(session, 1, body)
        except CastError as exc:
            result = exc
        finally:
            session.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [o for o in outcomes if isinstance(o, casting.Receipt)]
    refused = [o for o in outcomes if isinstance(o, CastError)]
    assert len(accepted) == 1, outcomes
    assert len(refused) == 49 and {e.code for e in refused} == {"credential_used"}, refused
    assert len(poll.board()["entries"]) == 1
    assert stored(poll.app)["used"] == 1


def test_concurrent_casts_of_different_credentials_chain_in_order(poll: OpenPoll) -> None:
    bodies = [json.dumps(ballot_for(poll, k)) for k in range(5)]
    make_session = poll.app.extensions["ballot.sessionmaker"]
    start = threading.Barrier(len(bodies))

    def one(body: str) -> None:
        start.wait()
        with make_session() as session:
            casting.cast(session, 1, body)

    threads = [threading.Thread(target=one, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    board = poll.board()
    assert [e["position"] for e in board["entries"]] == [1, 2, 3, 4, 5]
    head = genesis(poll.manifest.fingerprint)
    for entry in board["entries"]:
        head = next_head(head, bytes.fromhex(entry["tracking_hash"]))
        assert entry["head"] == head.hex()
    assert board["head"] == head.hex()


def test_database_unavailable_is_503(tmp_path: Path) -> None:
    from ballot import create_app

    missing = tmp_path / "no-such-folder" / "ballot.sqlite3"
    app = create_app(
        {"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{missing}"}
    )
    response = app.test_client().post("/api/polls/1/ballots", data=b'{"format": "x"}')
    assert response.status_code == 503
    assert error_code(response) == "database_unavailable"


def test_a_huge_poll_id_is_a_404_not_a_crash(poll: OpenPoll) -> None:
    client = poll.app.test_client()
    for path in ("ballots", "manifest", "board", "bundle"):
        url = f"/api/polls/{10**30}/{path}"
        response = client.post(url, json={}) if path == "ballots" else client.get(url)
        assert response.status_code == 404
    assert stored(poll.app)["ballots"] == 0


def test_an_unencrypted_ballot_is_refused_and_the_slip_still_votes(
    poll: OpenPoll, monkeypatch: pytest.MonkeyPatch
) -> None:
    """r = 0 for one ciphertext (a = identity, b = m·G): its vote would be readable on the public
    board. Refused with a clear message, nothing stored, the slip not burned."""
    import tally.ballots
    from tally.group import IDENTITY, random_scalar

    ctx = poll.manifest.context
    with monkeypatch.context() as patch:
        patch.setattr(tally.ballots, "checked_nonce", lambda k: k)
        plain = tally.ballots.encrypt_ballot(
            ctx,
            poll.credential(0),
            [1] * ctx.subjects,
            nonces=lambda label: 0 if label.endswith("/r") else random_scalar(),
        )
    assert plain["answers"][0]["choices"][0]["a"] == IDENTITY.hex()
    before = stored(poll.app)
    response = poll.post(plain)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "malformed_ballot" and "not encrypted" in error["message_en"]
    assert stored(poll.app) == before
    assert poll.post(ballot_for(poll, 0)).status_code == 201


def test_a_flood_of_unknown_credentials_costs_no_proof_and_stores_nothing(
    poll: OpenPoll, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: ballots, challenge notices and status look-ups from slips the poll does not
    list (well-formed ballots under fresh keys, random keys, random signatures) each get the
    same clear bilingual refusal; no proof or signature is ever checked for them, nothing is
    stored, no answer is a 5xx, and afterwards a listed slip still votes."""
    import os

    from ballot.services import verifier
    from tally.ballots import new_seed, rebuild_ciphertexts
    from tally.challenge import Notice, make_notice

    from .test_fuzz import UNLIMITED, snapshot

    poll.app.config.update(UNLIMITED)
    ctx = poll.manifest.context
    calls = {"proofs": 0, "signatures": 0}
    real_verify = verifier.verify  # the cast path's proof check (in a process or the thread)

    def counting_verify(*args: Any, **kwargs: Any) -> Any:
        calls["proofs"] += 1
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(verifier, "verify", counting_verify)
    real_signature = Notice.signature_verifies

    def counting_signature(self: Any) -> bool:
        calls["signatures"] += 1
        return bool(real_signature(self))

    monkeypatch.setattr(Notice, "signature_verifies", counting_signature)
    template = encrypt_ballot(ctx, SecretCredential.generate(), [1] * ctx.subjects)
    ciphertexts = rebuild_ciphertexts(ctx, [1] * ctx.subjects, new_seed())
    before = snapshot(poll.app)
    answers = []
    for k in range(60):
        stranger = SecretCredential.generate()
        ballot = copy.deepcopy(template)
        ballot["credential"] = stranger.public_key.hex() if k % 2 else os.urandom(32).hex()
        ballot["signature"] = os.urandom(64).hex()
        answers.append(poll.post(ballot))
        answers.append(
            poll.client.post(
                f"/api/polls/{poll.poll_id}/challenges",
                json=make_notice(ctx.fingerprint, stranger, ciphertexts),
            )
        )
        answers.append(
            poll.client.get(f"/api/polls/{poll.poll_id}/credentials/{stranger.public_key.hex()}")
        )
    for response in answers:
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.request.method == "POST":
            body = response.get_json()["error"]
            assert response.status_code == 403 and body["code"] == "unknown_credential", body
            assert body["message_vi"] and body["message_en"]
        else:
            assert response.status_code == 200 and response.get_json()["status"] == "unknown"
    assert calls == {"proofs": 0, "signatures": 0}
    assert snapshot(poll.app) == before
    listed = encrypt_ballot(ctx, poll.credential(0), [2] * ctx.subjects)
    assert poll.post(listed).status_code == 201
