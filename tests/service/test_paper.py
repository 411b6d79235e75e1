"""The paper fallback through the service (issue 18, docs/protocol.md 13.3), on SQLite and
PostgreSQL: a slip voided on the operator's page and with the CLI, paper ballots entered by the
trustees through the API, the trustee page's upload and the CLI, counted in the one aggregate with
the real ``tally`` tools, ``tally verify`` on the bundle; and every bad input refused with nothing
stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ballot import db
from ballot.models import AuditEvent, Credential, PaperBallot, Poll, SlipVoid
from tally import cli as tally_cli
from tally.ballots import encrypt_ballot, verify_ballot
from tally.bundle import read_bundle
from tally.canonical import canonical_json, parse_json
from tally.counting import board_aggregate
from tally.manifest import parse_manifest
from tally.paper import make_paper_ballot, make_void
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle

from .conftest import OpenPoll, csrf_token, run

PASSPHRASE = "mật khẩu đủ dài 123"


def _stored(app: Flask) -> dict[str, Any]:
    with app.app_context():
        s = db.get_session()
        return {
            "voids": s.scalar(select(func.count()).select_from(SlipVoid)),
            "paper": s.scalar(select(func.count()).select_from(PaperBallot)),
            "voided": s.scalar(select(func.count()).where(Credential.voided.is_(True))),
            "events": s.scalar(select(func.count()).select_from(AuditEvent)),
            "statement": s.scalar(select(Poll.attendance_statement).where(Poll.id == 1)),
        }


def _void(poll: OpenPoll, k: int) -> dict[str, Any]:
    assert poll.manifest.poll_uid is not None
    return make_void(
        poll.credential(k), fingerprint=poll.manifest.fingerprint, poll_uid=poll.manifest.poll_uid
    )


def _paper(poll: OpenPoll, choices: list[int | None], key: TrusteeKey | None = None) -> Any:
    assert poll.manifest.poll_uid is not None
    return make_paper_ballot(
        poll.manifest.context,
        key or poll.trustees[1],
        poll_uid=poll.manifest.poll_uid,
        choices=choices,
    )


def _post_paper(client: FlaskClient, document: Any) -> Any:
    return client.post(
        "/api/polls/1/paper", data=canonical_json(document), content_type="application/json"
    )


def _void_on_page(client: FlaskClient, statement: dict[str, Any]) -> Any:
    token = csrf_token(client.get("/operator/polls/1").get_data(as_text=True))
    return client.post(
        "/operator/polls/1/paper/void",
        data={"csrf_token": token, "statement": json.dumps(statement)},
    )


def test_members_vote_on_paper_end_to_end(
    poll: OpenPoll,
    operator_client: FlaskClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, ctx = poll.app, poll.manifest.context
    electronic = [[0] * ctx.subjects, [1] * ctx.subjects, [2] * ctx.subjects]
    for k, row in enumerate(electronic):
        assert poll.post(encrypt_ballot(ctx, poll.credential(k), row)).status_code == 201
    # Slip 3 is handed in and voided on the operator's page (the statement its key signed in
    # the browser); slip 4 with the CLI (the file of tally credentials void).
    response = _void_on_page(operator_client, _void(poll, 3))
    assert response.status_code == 302, response.get_data(as_text=True)
    page = operator_client.get("/operator/polls/1").get_data(as_text=True)
    assert re.search(r'id="voided-for-paper">1<', page)
    void_file = tmp_path / "void-4.json"
    void_file.write_bytes(canonical_json(_void(poll, 4)))
    assert "slips voided for paper: 2" in run(app, "paper", "void", "1", str(void_file))
    # A voided slip can no longer vote electronically.
    refused = poll.post(encrypt_ballot(ctx, poll.credential(3), electronic[0]))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "voided_credential"
    # The printable paper ballot lists every subject, in Vietnamese, with nothing to tell one
    # printed ballot from another.
    ballot_page = operator_client.get("/operator/polls/1/paper-ballot").get_data(as_text=True)
    assert "PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG" in ballot_page
    assert all(s.name in ballot_page for s in poll.manifest.subjects)
    run(app, "poll", "close", "1")

    # Two paper ballots: one through the API (the in-browser way), one on the trustee page's
    # upload form after tally trustee paper-ballot on the trustee's laptop.
    lone = [3] + [0] * (ctx.subjects - 1)  # the lone paper voter's marks
    created = _post_paper(poll.client, _paper(poll, lone))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["paper_ballots"] == 1 and created.get_json()["room"] == 1
    key_file = tmp_path / "t1.key"
    poll.trustees[0].save(key_file, PASSPHRASE)
    monkeypatch.setenv("TALLY_PASSPHRASE", PASSPHRASE)
    codes = [s.key for s in poll.manifest.subjects]
    choices_file = tmp_path / "lua-chon.json"
    grades = [g.code for g in poll.manifest.rules.grades]
    choices_file.write_text(json.dumps({k: grades[1] for k in codes}), encoding="utf-8")
    paper_file = tmp_path / "phieu-giay.json"
    manifest_file = tmp_path / "manifest.json"
    manifest_file.write_bytes(poll.client.get("/api/polls/1/manifest").data)
    args = ["trustee", "paper-ballot", "--key", str(key_file), "--manifest", str(manifest_file)]
    assert (
        tally_cli.main([*args, "--choices-file", str(choices_file), "--out", str(paper_file)]) == 0
    )
    trustee_page = poll.client.get("/trustee/polls/1/paper").get_data(as_text=True)
    with paper_file.open("rb") as fh:
        uploaded = poll.client.post(
            "/trustee/polls/1/paper",
            data={"csrf_token": csrf_token(trustee_page), "statement": (fh, "phieu-giay.json")},
        )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    assert "2" in poll.client.get("/trustee/polls/1/paper").get_data(as_text=True)

    # The committee signs the figures (3 electronic, 2 paper), counts with the real tools.
    statement = poll.attest()
    assert (statement["electronic_ballots"], statement["paper_ballots"]) == (3, 2)
    out = tmp_path / "count"
    started = run(app, "count", "start", "1", "--out-dir", str(out))
    assert "5" in started
    assert {"voids.jsonl", "paper.jsonl"} <= {p.name for p in out.iterdir()}
    aggregate = parse_json((out / "aggregate.json").read_bytes())
    assert aggregate["ballot_count"] == 5
    # The trustees type the count head read out after the paper ballots were entered (13.3);
    # the board head alone (what the server could hand out without the paper ballots) is refused.
    status = run(app, "paper", "status", "1")
    head = re.search(r"count head[^:]*: ([0-9a-f]{64})", status).group(1)  # type: ignore[union-attr]
    assert head != aggregate["board_head"] and f"--expected-head {head}" in started
    # A server that hands a trustee the board alone (or leaves a paper ballot out) to decrypt a
    # part and subtract it from the whole is refused: the typed count head does not match.
    manifest_obj = parse_manifest(json.loads((out / "manifest.json").read_bytes()))
    board_only = board_aggregate(
        manifest_obj,
        [
            verify_ballot(manifest_obj.context, json.loads(line)["ballot"])
            for line in (out / "ballots.jsonl").read_bytes().splitlines()
        ],
    )
    partial = tmp_path / "board-only.json"
    partial.write_text(json.dumps(board_only), encoding="utf-8")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    probe = ["trustee", "decrypt", "--key", str(key_file), "--aggregate", str(partial)]
    probe += ["--manifest", str(out / "manifest.json"), "--ballots", str(out / "ballots.jsonl")]
    assert tally_cli.main([*probe, "--expected-head", head, "--out", str(tmp_path / "x")]) != 0
    with_voids = ["--voids", str(out / "voids.jsonl"), "--paper", str(tmp_path / "empty.jsonl")]
    assert tally_cli.main([*probe, *with_voids, "--expected-head", head, "--out", "x"]) != 0
    # With slips voided for paper, the board head alone is never the head to type (13.3).
    board_head = aggregate["board_head"]
    assert tally_cli.main([*probe, *with_voids, "--expected-head", board_head, "--out", "x"]) != 0
    assert not (tmp_path / "x").exists()
    # The committee computes the count head on its own computer from the board head read out at
    # close and the codes written on the paper ballots: the same as the server's and the record's.
    codes = re.findall(r"^  ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})$", status, flags=re.M)
    assert len(codes) == 2
    capsys.readouterr()
    assert tally_cli.main(["count-head", "--board-head", board_head, *codes]) == 0
    assert head in capsys.readouterr().out
    for k, trustee in enumerate(poll.trustees):
        keyfile = tmp_path / f"k{k}.key"
        trustee.save(keyfile, PASSPHRASE)
        share = tmp_path / f"share-{k}.json"
        decrypt = ["trustee", "decrypt", "--key", str(keyfile), "--aggregate"]
        decrypt += [str(out / "aggregate.json"), "--manifest", str(out / "manifest.json")]
        decrypt += ["--ballots", str(out / "ballots.jsonl"), "--expected-head", head]
        decrypt += ["--voids", str(out / "voids.jsonl"), "--paper", str(out / "paper.jsonl")]
        assert tally_cli.main([*decrypt, "--out", str(share)]) == 0
        run(app, "count", "share", "1", str(share))
    run(app, "count", "finish", "1")
    bundle = poll.client.get("/api/polls/1/bundle").data
    report = verify_bundle(bundle)
    assert report.ok, [c.to_json() for c in report.checks if not c.ok]
    attested = next(c for c in report.checks if c.name == "paper.ballots")
    assert "ATTESTED BY THE COUNTING COMMITTEE" in attested.detail_en
    files = read_bundle(bundle)
    record = parse_json(files["record.json"])
    assert record["paper"] == {"voided_slips": 2, "ballots": 2, "electronic": 3, "head": head}
    assert record["credentials"]["used"] == 3 and record["ballots_cast"] == 5
    tally = parse_json(files["tally.json"])
    rows = [*electronic, lone, [1] * ctx.subjects]
    for i in range(ctx.subjects):
        assert tally["counts"][i] == [sum(1 for r in rows if r[i] == j) for j in range(ctx.grades)]
    # The record page shows the reconciliation; tally verify in one command says it too.
    record_page = poll.client.get("/polls/1/record").get_data(as_text=True)
    assert "phiếu giấy" in record_page
    assert tally_cli.main(["verify", str(_write(tmp_path / "b.zip", bundle))]) == 0

    # The lone paper voter's marks appear nowhere: the server holds only the signed statements
    # (points, scalars, signatures), the audit log only counts, and only the combined totals
    # were ever decrypted: one aggregate, one share per trustee.
    with app.app_context():
        s = db.get_session()
        statements = s.scalars(select(PaperBallot.statement)).all()
        details = [e.detail for e in s.scalars(select(AuditEvent)).all() if "paper" in e.action]
    for stored_text in statements:
        doc = parse_json(stored_text)
        assert set(doc) == {
            "format",
            "poll",
            "poll_uid",
            "ballot",
            "trustee",
            "signing_key",
            "signature",
        }
        assert set(doc["ballot"]) == {"format", "poll", "credential", "answers", "signature"}
    assert all(
        set(d)
        <= {
            "poll",
            "voided_for_paper",
            "trustee",
            "trustee_key",
            "paper_ballots",
            "attendance_statement_cleared",
        }
        for d in details
    )
    assert len(tally["shares"]) == len(poll.trustees)
    assert set(tally) == {"format", "aggregate", "shares", "counts", "blanks"}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_bad_paper_input_is_refused_and_nothing_is_stored(
    poll: OpenPoll, operator_client: FlaskClient, tmp_path: Path
) -> None:
    app, ctx = poll.app, poll.manifest.context
    assert poll.post(encrypt_ballot(ctx, poll.credential(0), [0] * ctx.subjects)).status_code == 201
    # A paper ballot while the poll is open: refused.
    before = _stored(app)
    early = _post_paper(poll.client, _paper(poll, [0] * ctx.subjects))
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "poll_not_closed"
    # A void of a slip that voted, of a slip not on the list, or with another slip's signature.
    used = _void_on_page(operator_client, _void(poll, 0))
    assert used.status_code == 409 and "đã được dùng" in used.get_data(as_text=True)
    forged = _void(poll, 1)
    forged["signature"] = _void(poll, 2)["signature"]
    assert _void_on_page(operator_client, forged).status_code == 400
    assert _stored(app) == before
    assert _void_on_page(operator_client, _void(poll, 1)).status_code == 302
    again = _void_on_page(operator_client, _void(poll, 1))
    assert again.status_code == 403 and "đã bị hủy" in again.get_data(as_text=True)
    run(app, "poll", "attendance", "1", "2")  # one electronic, one paper: the room is full
    run(app, "poll", "close", "1")
    # After close: no more voids.
    late = _void_on_page(operator_client, _void(poll, 2))
    assert late.status_code == 409
    # A paper ballot signed by someone who is not a trustee of the poll.
    before = _stored(app)
    stranger = _post_paper(poll.client, _paper(poll, [0] * ctx.subjects, TrusteeKey.generate("X")))
    assert stranger.status_code == 400
    body = stranger.get_json()["error"]
    assert "không hợp lệ" in body["message_vi"] and "not signed by a trustee" in body["message_en"]
    assert _stored(app) == before
    assert _post_paper(poll.client, _paper(poll, [1] * ctx.subjects)).status_code == 201
    # More paper ballots than slips voided for paper (one), or than the members present (two).
    before = _stored(app)
    over = _post_paper(poll.client, _paper(poll, [2] * ctx.subjects))
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "paper_exceeds_voids"
    assert _stored(app) == before
    # After counting starts: refused.
    poll.attest()
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "c"))
    before = _stored(app)
    after = _post_paper(poll.client, _paper(poll, [2] * ctx.subjects))
    assert after.status_code == 409 and after.get_json()["error"]["code"] == "count_started"
    assert "Đã bắt đầu kiểm phiếu" in after.get_json()["error"]["message_vi"]
    assert _stored(app) == before


def test_paper_beyond_the_members_present_is_refused(
    poll: OpenPoll, operator_client: FlaskClient
) -> None:
    app, ctx = poll.app, poll.manifest.context
    for k in (0, 1):
        response = poll.post(encrypt_ballot(ctx, poll.credential(k), [0] * ctx.subjects))
        assert response.status_code == 201
    for k in (2, 3):
        assert _void_on_page(operator_client, _void(poll, k)).status_code == 302
    run(app, "poll", "attendance", "1", "3")
    run(app, "poll", "close", "1")
    # A statement signed before the paper ballots counts none: entering one drops it, so that a
    # trustee signs the figures again (counting cannot start on a stale statement).
    poll.attest()
    assert _stored(app)["statement"] is not None
    assert _post_paper(poll.client, _paper(poll, [1] * ctx.subjects)).status_code == 201
    assert _stored(app)["statement"] is None
    before = _stored(app)
    over = _post_paper(poll.client, _paper(poll, [1] * ctx.subjects))
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "paper_exceeds_present"
    assert "số có mặt" in over.get_json()["error"]["message_vi"]
    assert _stored(app) == before
