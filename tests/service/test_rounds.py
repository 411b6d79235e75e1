"""A later round (issue 18) through the service, on SQLite and PostgreSQL: the 2026 sample's
Standing Committee poll counted with one subject left undetermined, a second round started on the
command line with only that subject, voted with new slips, counted by any two of the demo
committee, verified with and without the earlier round's bundle, linked both ways on the public
pages and taken by the Board's summary as the last round; and the refusals (a poll not counted, an
unknown or already graded subject, a second later round), each with nothing created."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from ballot import db
from ballot.models import AuditEvent, Poll, PollRound
from ballot.services.rounds import next_round_of
from ballot.services.summary import conference_summary
from tally.ballots import encrypt_ballot
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json
from tally.credentials import Credential
from tally.dkg import decrypt_share as decrypt_threshold
from tally.dkg import threshold_key
from tally.manifest import parse_manifest
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle
from tests.support.polls import CODE_RE, attest, board_mint, run

from .test_regime_2026 import bundle, demo


def _keys(out: Path) -> list[TrusteeKey]:
    passphrase = (out / "trustees" / "passphrase.txt").read_text(encoding="utf-8").strip()
    return [TrusteeKey.load(p, passphrase) for p in sorted((out / "trustees").glob("*.key.json"))]


def _vote(app: Flask, poll_id: int, codes: list[str], rows: list[list[int | None]]) -> None:
    client = app.test_client()
    manifest = parse_manifest(client.get(f"/api/polls/{poll_id}/manifest").get_json())
    for code, row in zip(codes, rows, strict=False):
        ballot = encrypt_ballot(manifest.context, Credential.from_code(code), row)
        response = client.post(f"/api/polls/{poll_id}/ballots", json=ballot)
        assert response.status_code == 201, response.get_data(as_text=True)


def _count(app: Flask, poll_id: int, keys: list[TrusteeKey], tmp: Path) -> dict[str, Any]:
    """Close, attest, count with any two of the demo committee (its key ceremony), finish."""
    run(app, "poll", "close", str(poll_id))
    attest(app, poll_id, keys[0], tmp)
    run(app, "count", "start", str(poll_id), "--out-dir", str(tmp / f"count-{poll_id}"))
    client = app.test_client()
    aggregate = client.get(f"/api/polls/{poll_id}/aggregate").get_json()
    manifest = parse_manifest(client.get(f"/api/polls/{poll_id}/manifest").get_json())
    assert manifest.ceremony is not None
    transcript = manifest.data["election"]["ceremony"]
    for n, key in enumerate(keys[1:3]):
        held = threshold_key(manifest.ceremony, transcript["dealings"], transcript["checks"], key)
        path = tmp / f"share-{poll_id}-{n}.json"
        path.write_text(json.dumps(decrypt_threshold(aggregate, held)), encoding="utf-8")
        run(app, "count", "share", str(poll_id), str(path))
    run(app, "count", "finish", str(poll_id))
    return json.loads(read_bundle(bundle(app, poll_id))["record.json"])  # type: ignore[no-any-return]


def _refused(app: Flask, *args: str) -> str:
    with app.app_context():
        before = (
            db.get_session().scalar(select(func.count()).select_from(Poll)),
            db.get_session().scalar(select(func.count()).select_from(AuditEvent)),
        )
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 1, result.output
    with app.app_context():
        after = (
            db.get_session().scalar(select(func.count()).select_from(Poll)),
            db.get_session().scalar(select(func.count()).select_from(AuditEvent)),
        )
    assert after == before  # nothing created, nothing logged
    assert "Không có gì được tạo" in result.output or "Đã có vòng sau" in result.output
    return result.output


def test_a_second_round_votes_again_on_the_undetermined_subject(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo(app, out)  # conference 1: poll 1 counted, polls 2-4 open
    keys = _keys(out)
    client = app.test_client()
    manifest = parse_manifest(client.get("/api/polls/2/manifest").get_json())
    subjects = [s.key for s in manifest.subjects]
    codes = CODE_RE.findall((out / "slips-poll-2.html").read_text(encoding="utf-8"))
    # Eight of fifteen vote excellent for everyone but the second member, left blank by all:
    # the others are graded (8 > 15/2), the second is undetermined.
    rows: list[list[int | None]] = [
        [None if i == 1 else 0 for i in range(len(subjects))] for _ in range(8)
    ]
    _vote(app, 2, codes, rows)
    assert "chưa kiểm phiếu xong" in _refused(app, "poll", "next-round", "2")
    first = _count(app, 2, keys, tmp_path)
    undetermined = [r["key"] for r in first["subjects"] if r["grade"] is None]
    assert undetermined == [subjects[1]]

    # Refused: an unknown subject, a graded one; then the round; then a second one.
    assert "no-such-member" in _refused(
        app, "poll", "next-round", "2", "--subject", "no-such-member"
    )
    assert "already has a grade" in _refused(
        app, "poll", "next-round", "2", "--subject", subjects[0]
    )
    output = run(app, "poll", "next-round", "2")
    with app.app_context():
        later = next_round_of(db.get_session(), 2)
        assert later is not None
        later_id = later.id
        assert [s.key for s in later.subjects] == [subjects[1]]
        assert later.title.endswith("vòng 2") and later.state == "draft"
        assert [t.name for t in later.trustees] == [k.public.name for k in keys]
    assert f"poll {later_id}" in output
    assert "Đã có vòng sau" in _refused(app, "poll", "next-round", "2")

    # The second round: new slips, opened, voted (eight say "good"), counted by two.
    new_codes, _ = board_mint(app, tmp_path, later_id, 8)
    run(app, "poll", "open", str(later_id), "--acknowledge-unconfirmed-rules")
    later_manifest = client.get(f"/api/polls/{later_id}/manifest").get_json()
    first_bundle = bundle(app, 2)
    link = later_manifest["election"]["round"]
    assert link["number"] == 2 and link["previous"]["poll_uid"] == first["poll"]["uid"]
    _vote(app, later_id, new_codes, [[1]] * 8)
    second = _count(app, later_id, keys, tmp_path)
    assert second["round"] == link and second["subjects"][0]["grade"] is not None

    # tally verify: alone it names the earlier round; with it, checks the subjects were
    # undetermined there; with a doctored earlier record, it fails.
    later_bundle = bundle(app, later_id)
    alone = verify_bundle(later_bundle, workers=1)
    assert alone.ok
    named = next(c for c in alone.checks if c.name == "manifest.round")
    assert "not cross-checked" in named.detail_en
    linked = verify_bundle(later_bundle, workers=1, linked=[first_bundle])
    assert linked.ok, [c.to_json() for c in linked.checks if not c.ok]
    assert (
        "left undetermined"
        in next(c for c in linked.checks if c.name == "manifest.round").detail_en
    )
    files = read_bundle(first_bundle)
    doctored = json.loads(files["record.json"])
    doctored["subjects"][1]["grade"] = "HTNV"
    forged = bundle_bytes(dict(files, **{"record.json": canonical_json(doctored)}))
    assert not verify_bundle(later_bundle, workers=1, linked=[forged]).ok

    # Linked both ways on the public pages.
    assert f'href="/polls/{later_id}/board"' in client.get("/polls/2/board").get_data(as_text=True)
    assert 'href="/polls/2/board"' in client.get(f"/polls/{later_id}/board").get_data(as_text=True)
    assert 'href="/polls/2/record"' in client.get(f"/polls/{later_id}/record").get_data(
        as_text=True
    )
    assert 'id="later-round"' in client.get("/polls/2/record").get_data(as_text=True)

    # The Board's summary takes the last round for that subject, in its place.
    with app.app_context():
        summary = conference_summary(db.get_session(), 1)
    row = next(r for r in summary.rows if r.key == subjects[1])
    assert row.poll_title.endswith("vòng 2") and row.number == 2
    assert row.grade_code == second["subjects"][0]["grade"]
    assert list(row.counts.values()) == second["subjects"][0]["counts"]
    assert sum(1 for r in summary.rows if r.key == subjects[1]) == 1
    assert all(
        r.poll_title == first["poll"]["title"]
        for r in summary.rows
        if r.poll == 2 and r.key != subjects[1]
    )


def test_the_operator_starts_a_later_round_on_the_poll_page(app: Flask, tmp_path: Path) -> None:
    from .conftest import csrf_token
    from .test_regime_2026 import _login

    out = tmp_path / "demo"
    demo(app, out)
    client = _login(app)
    # Poll 3 is not counted: no button, and a forced POST is refused with nothing created.
    assert 'id="next-round-link"' not in client.get("/operator/polls/3").get_data(as_text=True)
    page = client.get("/operator/polls/3/next-round").get_data(as_text=True)
    refused = client.post("/operator/polls/3/next-round", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 409
    assert "chưa kiểm phiếu xong" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.get_session().scalar(select(func.count()).select_from(PollRound)) == 0
    # Poll 2 voted with the second member left blank, counted: the button, then the round.
    codes = CODE_RE.findall((out / "slips-poll-2.html").read_text(encoding="utf-8"))
    manifest = parse_manifest(client.get("/api/polls/2/manifest").get_json())
    n = len(manifest.subjects)
    _vote(app, 2, codes, [[None if i == 1 else 0 for i in range(n)] for _ in range(8)])
    _count(app, 2, _keys(out), tmp_path)
    poll_page = client.get("/operator/polls/2").get_data(as_text=True)
    assert 'id="next-round-link"' in poll_page
    confirm = client.get("/operator/polls/2/next-round").get_data(as_text=True)
    assert "Biểu quyết vòng sau" in confirm
    made = client.post("/operator/polls/2/next-round", data={"csrf_token": csrf_token(confirm)})
    assert made.status_code == 302
    later = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "vòng 2" in later and 'id="round"' in later
    assert 'id="next-round"' in client.get("/operator/polls/2").get_data(as_text=True)


def test_a_later_round_with_changed_subjects_is_refused_and_caught(
    app: Flask, tmp_path: Path, monkeypatch: Any
) -> None:
    """The attacker's review of issue 18: a later round relabels its subject (another name, no
    peer group) or claims another round number. The service refuses to open it; a server that
    opens it anyway is caught by tally verify --linked."""
    from ballot.services import polls as polls_service

    out = tmp_path / "demo"
    demo(app, out)
    keys = _keys(out)
    client = app.test_client()
    n = len(parse_manifest(client.get("/api/polls/2/manifest").get_json()).subjects)
    codes = CODE_RE.findall((out / "slips-poll-2.html").read_text(encoding="utf-8"))
    _vote(app, 2, codes, [[None if i == 1 else 0 for i in range(n)] for _ in range(8)])
    _count(app, 2, keys, tmp_path)
    run(app, "poll", "next-round", "2")
    with app.app_context():
        later = next_round_of(db.get_session(), 2)
        assert later is not None
        later_id, key = later.id, later.subjects[0].key
    run(app, "subject", "edit", str(later_id), key, "--name", "Một người khác")
    new_codes, _ = board_mint(app, tmp_path, later_id, 8)
    result = app.test_cli_runner().invoke(
        args=["poll", "open", str(later_id), "--acknowledge-unconfirmed-rules"]
    )
    assert result.exit_code == 1
    assert "dữ liệu như cũ" in result.output and "Not opened" in result.output
    # A dishonest server opens it anyway, and says it is round 3.
    honest = polls_service.round_link

    def forged(session: Any, poll: Poll) -> Any:
        with monkeypatch.context() as m:
            m.setattr("ballot.services.rounds.parse_json", lambda data: _relabelled(data, key))
            link = honest(session, poll)
        return None if link is None else {**link, "number": 3}

    monkeypatch.setattr(polls_service, "round_link", forged)
    run(app, "poll", "open", str(later_id), "--acknowledge-unconfirmed-rules")
    monkeypatch.undo()
    _vote(app, later_id, new_codes, [[1]] * 8)
    _count(app, later_id, keys, tmp_path)
    report = verify_bundle(bundle(app, later_id), workers=1, linked=[bundle(app, 2)])
    failed = {c.name: c.detail_en for c in report.checks if not c.ok}
    assert "round 3 follows round 1" in failed["manifest.round"]
    assert f"{key}: its data differ" in failed["manifest.round"]


def _relabelled(data: Any, key: str) -> Any:
    """The earlier manifest as the forged check reads it: the subject under its new name."""
    import json as json_module

    value = json_module.loads(data)
    for s in value.get("election", {}).get("subjects", []):
        if s.get("key") == key:
            s["name"] = "Một người khác"
    return value
