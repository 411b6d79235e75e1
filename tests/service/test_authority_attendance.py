"""Issue 12 on both databases: nobody can add a ballot.

The Organization Board's signed list bounds the slips (at most the members plus the declared
reserve), the attendance chain bounds the ballots (never more than the members present), a
trustee's signed statement is needed before counting, and a poll whose figures do not reconcile
ends with a void record instead of a count that can never finish. Every refusal is bilingual and
stores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask

from ballot import db
from ballot.keys import load_signing_key
from ballot.models import Credential, Poll, Trustee
from tally.attendance import check_attendance, sign_statement
from tally.authority import AuthorityKey, mint, sign_list
from tally.ballots import encrypt_ballot
from tally.board import genesis
from tally.bundle import read_bundle
from tally.canonical import canonical_json, parse_json
from tally.credentials import Credential as SlipCredential
from tally.manifest import make_manifest_v1, parse_manifest
from tally.results import SubjectInfo
from tally.rules import load_ruleset
from tally.trustees import TrusteeKey
from tally.verify import format_report, verify_bundle
from tests.support.polls import board_mint, poll_uid

from .conftest import OpenPoll, run
from .test_fuzz import snapshot


def refused(app: Flask, *args: str) -> str:
    """A ``ballot`` command that must fail with a bilingual message; its output."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 1, result.output
    assert " / " in result.output, result.output  # Vietnamese / English
    return result.output


def write(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def members_of(app: Flask, poll_id: int) -> int:
    with app.app_context():
        return db.get_session().get_one(Poll, poll_id).members


# --- A. the Board's list ------------------------------------------------------------------------


def test_a_list_beyond_the_members_or_not_this_polls_is_refused_at_import(
    conference: Flask, tmp_path: Path
) -> None:
    app = conference
    uid, members = poll_uid(app, 1), members_of(app, 1)
    board = AuthorityKey.generate()
    before = snapshot(app)
    too_many, _, _ = mint(board, uid, members + 1, 0)
    assert "more than the poll's" in refused(
        app, "credentials", "import", "1", write(tmp_path / "a.json", too_many)
    )
    other, _, _ = mint(board, poll_uid(app, 2), 3, 0)
    assert "not for this poll" in refused(
        app, "credentials", "import", "1", write(tmp_path / "b.json", other)
    )
    forged, _, _ = mint(board, uid, 3, 0)
    forged["reserve"] = 1  # a reserve slip added after signing
    forged["keys"] = sorted([*forged["keys"], SlipCredential.generate().public_key.hex()])
    assert "does not verify" in refused(
        app, "credentials", "import", "1", write(tmp_path / "c.json", forged)
    )
    keys = [SlipCredential.generate().public_key for _ in range(2)]
    twice = sign_list(board, uid, 2, 0, keys)
    twice["keys"] = [keys[0].hex(), keys[0].hex()]
    assert "một khóa xuất hiện hai lần" in refused(
        app, "credentials", "import", "1", write(tmp_path / "d.json", twice)
    )
    small = dict(twice, keys=sorted([keys[0].hex(), "01" + "00" * 31]))
    assert "small order" in refused(
        app, "credentials", "import", "1", write(tmp_path / "e.json", small)
    )
    big_reserve, _, _ = mint(board, uid, 2, members + 1)
    assert "reserve slips are more than" in refused(
        app, "credentials", "import", "1", write(tmp_path / "g.json", big_reserve)
    )
    (tmp_path / "f.json").write_text("{not json", encoding="utf-8")
    assert "not JSON" in refused(app, "credentials", "import", "1", str(tmp_path / "f.json"))
    assert snapshot(app) == before
    # The most that is accepted: the members, plus the reserve the Board declares and signs.
    codes, _ = board_mint(app, tmp_path, 1, members, reserve=2)
    assert len(codes) == members + 2
    # Once imported, the members cannot fall below the list (the poll could not open).
    fewer = str(members - 1)
    output = refused(app, "poll", "edit", "1", "--members", fewer, "--present", fewer)
    assert "cannot be fewer" in output
    with app.app_context():
        stored = db.get_session().query(Credential).filter_by(poll_id=1).count()
    assert stored == members + 2


def test_the_manifest_carries_the_authority_and_the_list(poll: OpenPoll) -> None:
    data = poll.manifest.data
    listed = data["credential_list"]
    assert data["format"] == "tally-manifest/2"
    assert data["election"]["poll_uid"] == listed["poll_uid"] == poll_uid(poll.app, 1)
    assert data["election"]["credentials"]["authority"] == listed["authority"]
    assert poll.manifest.credentials == {bytes.fromhex(k) for k in listed["keys"]}
    assert "present" not in data["election"]["electorate"]


# --- B. attendance bounds the ballots -----------------------------------------------------------


def test_no_ballot_beyond_the_members_present_and_the_slip_stays_unused(
    poll: OpenPoll,
) -> None:
    app, ctx = poll.app, poll.manifest.context
    run(app, "poll", "attendance", "1", "2")
    for k in (0, 1):
        assert (
            poll.post(encrypt_ballot(ctx, poll.credential(k), [1] * ctx.subjects)).status_code
            == 201
        )
    before = snapshot(app)
    third = encrypt_ballot(ctx, poll.credential(2), [0] * ctx.subjects)
    response = poll.post(third)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "over_attendance"
    assert "chưa bị dùng" in error["message_vi"] and "not used" in error["message_en"]
    assert snapshot(app) == before
    # Never below the ballots already cast, never above the members.
    assert "between 2" in refused(app, "poll", "attendance", "1", "1")
    assert "between 2" in refused(app, "poll", "attendance", "1", str(members_of(app, 1) + 1))
    assert snapshot(app) == before
    # A late arrival is recorded: the same slip, never burned, now votes.
    run(app, "poll", "attendance", "1", "3")
    assert poll.post(third).status_code == 201
    lines = poll.client.get("/api/polls/1/attendance").data
    chain = check_attendance(lines, poll.manifest.fingerprint, poll.manifest.members)
    assert chain.entries == 3 and chain.present == 3
    # No entry records the ballots or the board head.
    for line in lines.splitlines():
        assert set(json.loads(line)) == {"seq", "time", "present", "actor", "prev", "hash"}
    run(app, "poll", "close", "1")
    assert "open" in refused(app, "poll", "attendance", "1", "3")


def _statement(poll: OpenPoll, key: TrusteeKey, **changes: Any) -> dict[str, Any]:
    client = poll.client
    chain = check_attendance(
        client.get("/api/polls/1/attendance").data,
        poll.manifest.fingerprint,
        poll.manifest.members,
    )
    lines = client.get("/api/polls/1/ballots").data.splitlines()
    assert poll.manifest.poll_uid is not None
    fields: dict[str, Any] = {
        "fingerprint": poll.manifest.fingerprint,
        "poll_uid": poll.manifest.poll_uid,
        "attendance": chain,
        "board_head": json.loads(lines[-1])["chain"],
        "electronic_ballots": len(lines),
    }
    fields.update(changes)
    return sign_statement(key, **fields)


def test_counting_needs_this_polls_attendance_signed_by_its_trustee(
    poll: OpenPoll, tmp_path: Path
) -> None:
    app, ctx = poll.app, poll.manifest.context
    for k in (0, 1):
        assert (
            poll.post(encrypt_ballot(ctx, poll.credential(k), [1] * ctx.subjects)).status_code
            == 201
        )
    trustee = poll.trustees[0]
    early = write(tmp_path / "early.json", {"format": "tally-attendance/1"})
    assert "closes" in refused(app, "count", "attest", "1", early)
    run(app, "poll", "close", "1")
    before = snapshot(app)
    assert "No attendance statement" in refused(app, "count", "start", "1")
    stranger = TrusteeKey.generate(trustee.public.name)  # the name, not the key
    other_poll = bytes(32)
    for document, words in (
        (_statement(poll, stranger), "not signed by a trustee"),
        (_statement(poll, trustee, fingerprint=other_poll), "another poll"),
        (_statement(poll, trustee, board_head="00" * 32), "board head"),
        (_statement(poll, trustee, electronic_ballots=1), "electronic ballots"),
        (dict(_statement(poll, trustee), present=1), "does not verify"),
    ):
        assert words in refused(app, "count", "attest", "1", write(tmp_path / "s.json", document))
    assert snapshot(app) == before
    good = _statement(poll, trustee)
    response = poll.client.post(
        "/api/polls/1/attendance-statement", data=json.dumps(good), content_type="application/json"
    )
    assert response.status_code == 201, response.get_json()
    # Without a login a stored statement is never replaced (another trustee's lower count, say).
    other = _statement(poll, poll.trustees[1], present=2)
    response = poll.client.post(
        "/api/polls/1/attendance-statement", data=json.dumps(other), content_type="application/json"
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "statement_exists"
    run(app, "count", "attest", "1", write(tmp_path / "good.json", good))
    run(app, "count", "start", "1", "--out-dir", str(tmp_path / "out"))
    assert "Counting has started" in refused(
        app, "count", "attest", "1", write(tmp_path / "again.json", _statement(poll, trustee))
    )
    aggregate = parse_json((tmp_path / "out" / "aggregate.json").read_bytes())
    for k, key in enumerate(poll.trustees):
        share = write(tmp_path / f"share-{k}.json", key.decrypt_share(aggregate))
        run(app, "count", "share", "1", share)
    assert "reconcile" in refused(app, "count", "finish", "1", "--handed-out", "1")
    run(app, "count", "finish", "1", "--handed-out", "4", "--lost", "1")
    bundle = poll.client.get("/api/polls/1/bundle").data
    report = verify_bundle(bundle, workers=1)
    assert report.ok, format_report(report)
    record = parse_json(read_bundle(bundle)["record.json"])
    assert record["credentials"] | {"commitment": None} == {
        "commitment": None,
        "minted": 5,
        "reserve": 0,
        "handed_out": 4,
        "used": 2,
        "unused": 3,
        "lost": 1,
        "sealed": 2,
        "voided": 3,
    }
    assert record["attendance_statement"]["signed_by"] == trustee.public.name
    assert "void" not in record


# --- a poll opened before version 2, with more ballots than present, ends void ------------------


def _open_the_old_way(app: Flask, trustees: list[TrusteeKey], slips: list[SlipCredential]) -> None:
    """Poll 2 as the previous version opened it: a version-1 manifest fixing 2 present, and no
    bound on the ballots (the row's number present is what casting compares now)."""
    with app.app_context():
        session = db.get_session()
        poll = session.get_one(Poll, 2)
        data = make_manifest_v1(
            poll_id="2",
            title=poll.title,
            conference={"title": poll.conference.title, "body": poll.conference.body},
            subjects=[
                SubjectInfo(key=s.key, name=s.name, kind=s.kind, role=s.role) for s in poll.subjects
            ],
            rules=load_ruleset(poll.rules_id),
            trustees=[k.public_v1() for k in trustees],
            credential_keys=[s.public_key for s in slips],
            members=poll.members,
            present=2,
            signer_public_key=load_signing_key().public_key,
        )
        manifest = parse_manifest(data)
        poll.manifest = canonical_json(data).decode("utf-8")
        poll.fingerprint = manifest.fingerprint.hex()
        poll.board_head = genesis(manifest.fingerprint).hex()
        poll.state, poll.present = "open", 3
        session.add_all(
            Credential(poll_id=2, public_key=s.public_key.hex(), used=False, voided=False)
            for s in slips
        )
        session.add_all(
            Trustee(
                poll_id=2,
                name=k.public.name,
                public_key=k.public.public_key.hex(),
                public=k.public_v1().to_json(),
            )
            for k in trustees
        )
        session.commit()


def test_a_legacy_poll_with_more_ballots_than_present_ends_with_a_void_record(
    conference: Flask, tmp_path: Path
) -> None:
    """A poll opened by the previous version fixed the number present in its manifest and let a
    late arrival's ballot in: it closes, counts, and ends with a void record (to be voted
    again), where it used to fail at finish forever."""
    app = conference
    trustees = [TrusteeKey.generate(f"Thành viên {k}") for k in (1, 2)]
    slips = [SlipCredential.generate() for _ in range(3)]
    _open_the_old_way(app, trustees, slips)
    client = app.test_client()
    ctx = parse_manifest(json.loads(client.get("/api/polls/2/manifest").data)).context
    for slip in slips:
        response = client.post(
            "/api/polls/2/ballots",
            data=json.dumps(encrypt_ballot(ctx, slip, [0] * ctx.subjects)),
            content_type="application/json",
        )
        assert response.status_code == 201, response.get_json()
    assert "version-1" in refused(app, "poll", "attendance", "2", "3")
    run(app, "poll", "close", "2")
    run(app, "count", "start", "2", "--out-dir", str(tmp_path / "out"))
    aggregate = parse_json((tmp_path / "out" / "aggregate.json").read_bytes())
    for k, key in enumerate(trustees):
        run(
            app, "count", "share", "2", write(tmp_path / f"s{k}.json", key.decrypt_share(aggregate))
        )
    output = run(app, "count", "finish", "2")
    assert "VOID" in output and "phải biểu quyết lại" in output
    bundle = client.get("/api/polls/2/bundle").data
    report = verify_bundle(bundle, workers=1)
    assert report.ok, format_report(report)
    assert "result.void" in {c.name for c in report.checks}
    files = read_bundle(bundle)
    result = parse_json(files["result.json"])
    assert result["void"] == {"reason": "ballots_exceed_present", "ballots": 3, "present": 2}
    assert all(row["grade"] is None for row in result["subjects"])
    record = parse_json(files["record.json"])
    assert record["format"] == "tally-record/2" and record["void"] == result["void"]
    page = client.get("/polls/2/record").get_data(as_text=True)
    assert "không có giá trị" in page


def test_two_trustees_under_one_name_are_refused(conference: Flask, tmp_path: Path) -> None:
    """The record lists the committee by name: a second key registered under a trustee's name
    (its proof made for that name) would hide whose share is whose."""
    app = conference
    first = TrusteeKey.generate("Nguyễn Văn A")
    run(app, "trustee", "add", "1", write(tmp_path / "a.json", first.public.to_json()))
    before = snapshot(app)
    impostor = TrusteeKey.generate("Nguyễn Văn A")
    output = refused(
        app, "trustee", "add", "1", write(tmp_path / "b.json", impostor.public.to_json())
    )
    assert "Nguyễn Văn A" in output and "same signing key" in output
    assert snapshot(app) == before
