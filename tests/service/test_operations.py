"""Setting up a poll: conference file, trustees, minting, opening, closing, and what is stored."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select

from ballot import db
from ballot.models import AuditEvent, Base, Conference, Poll, Subject
from ballot.services.conference_file import ConferenceFileError, parse_conference
from tally.ballots import encrypt_ballot
from tally.board import genesis
from tally.credentials import commitment
from tally.trustees import TrusteeKey

from .conftest import EXAMPLE, OpenPoll, run


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_example_conference_is_imported(conference: Flask) -> None:
    with conference.app_context():
        s = db.get_session()
        polls = s.scalars(select(Poll).order_by(Poll.position)).all()
        assert [p.state for p in polls] == ["draft"] * 3
        assert [len(p.subjects) for p in polls] == [15, 1, 1]
        assert {x.peer_group for x in polls[0].subjects} == {"ubtv"}
        assert polls[1].subjects[0].part_of == "dang-bo-tinh"
        assert polls[2].subjects[0].kind == "organization"
        assert (polls[0].members, polls[2].members, polls[2].present) == (15, 50, 47)
        assert s.scalar(select(func.count()).where(AuditEvent.action == "conference.import")) == 1


def test_opening_fixes_the_manifest(poll: OpenPoll) -> None:
    m = poll.manifest
    assert m.context.subjects == 15 and len(m.trustees) == 2
    keys = {poll.credential(k).public_key for k in range(5)}
    assert m.credentials == keys
    assert m.data["election"]["credentials"]["commitment"] == commitment(keys)
    with poll.app.app_context():
        row = db.get_session().get_one(Poll, 1)
        assert row.state == "open" and row.fingerprint == m.fingerprint.hex()
        assert row.board_head == genesis(m.fingerprint).hex()
    # Once open, nothing that the manifest fixed can change.
    result = invoke(poll.app, "credentials", "import", "1", str(poll.slips))
    assert result.exit_code == 1 and "already been opened" in result.output
    key = TrusteeKey.generate("Muộn")
    pub = poll.slips.with_name("late.pub.json")
    pub.write_text(json.dumps(key.public.to_json()), encoding="utf-8")
    assert invoke(poll.app, "trustee", "add", "1", str(pub)).exit_code == 1
    assert invoke(poll.app, "poll", "open", "1", "--acknowledge-unconfirmed-rules").exit_code == 1
    assert poll.client.get("/api/polls/2/manifest").status_code == 409  # poll 2 still draft
    assert poll.client.get("/api/polls/9/manifest").status_code == 404


def test_poll_cannot_open_without_trustee_or_credentials(conference: Flask, tmp_path: Path) -> None:
    result = invoke(conference, "poll", "open", "2", "--acknowledge-unconfirmed-rules")
    assert result.exit_code == 1 and "trustee" in result.output
    key = TrusteeKey.generate("Thành viên 1")
    pub = tmp_path / "t.pub.json"
    pub.write_text(json.dumps(key.public.to_json()), encoding="utf-8")
    run(conference, "trustee", "add", "2", str(pub))
    # no credentials yet
    assert invoke(conference, "poll", "open", "2", "--acknowledge-unconfirmed-rules").exit_code == 1
    assert invoke(conference, "trustee", "add", "2", str(pub)).exit_code == 1  # registered twice
    with conference.app_context():
        assert db.get_session().get_one(Poll, 2).state == "draft"


def test_trustee_key_with_a_bad_proof_is_refused(conference: Flask, tmp_path: Path) -> None:
    public = TrusteeKey.generate("Thành viên 1").public.to_json()
    public["public_key"] = TrusteeKey.generate("Khác").public.to_json()["public_key"]
    pub = tmp_path / "bad.pub.json"
    pub.write_text(json.dumps(public), encoding="utf-8")
    result = invoke(conference, "trustee", "add", "1", str(pub))
    assert result.exit_code == 1 and "proof" in result.output
    with conference.app_context():
        assert db.get_session().get_one(Poll, 1).trustees == []


def test_database_never_holds_a_credential_secret(poll: OpenPoll) -> None:
    ctx = poll.manifest.context
    assert poll.post(encrypt_ballot(ctx, poll.credential(0), [0] * ctx.subjects)).status_code == 201
    run(poll.app, "poll", "close", "1")
    secrets_text = set()
    for code in poll.codes:
        plain = code.replace("-", "")
        secrets_text |= {code, plain, plain.lower()}
        # The raw 16-byte secret, as hex, too.
        secrets_text.add(base64.b32decode(plain + "======").hex())
    with poll.app.app_context():
        session = db.get_session()
        dumped = []
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()).mappings():
                dumped.append(json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False))
        text = "\n".join(dumped) + poll.slips.read_text(encoding="utf-8")
        assert text.count(poll.credential(0).public_key.hex()) >= 2  # the dump did read the rows
        for secret in secrets_text:
            assert secret not in text
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("credential")}
        assert columns == {"id", "poll_id", "public_key", "used", "voided", "challenges"}
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == [
        "conference.import",
        "trustee.add",
        "trustee.add",
        "credentials.import",
        "poll.acknowledge_rules",  # the sample's rule sets are not confirmed by a province
        "poll.open",
        "poll.close",
    ]


# --- the conference file (no database needed) ---------------------------------------------------


def _example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["polls"][0]["subjects"][1].update(kind="person"), "polls[0].subjects[1]"),
        (lambda d: d["polls"][0]["subjects"][2].pop("name"), "polls[0].subjects[2]"),
        (lambda d: d["polls"][1].update(rules="qd999"), "polls[1].rules"),
        (lambda d: d["polls"][1]["subjects"][0].update(part_of="dang-bo"), "polls[1].subjects[0]"),
        (lambda d: d["conference"].pop("title"), "conference.title"),
        (lambda d: d["conference"].update(present=60), "conference.present"),
        (lambda d: d["conference"].update(date="25/01/2024"), "conference.date"),
        (lambda d: d["polls"][2].update(electorate={"members": 0, "present": 0}), "electorate"),
        (lambda d: d["polls"][0]["subjects"][3].update(key="ubtv-01"), "polls[0].subjects[3].key"),
        (lambda d: d["polls"][0].update(colour="red"), "polls[0]: unknown field(s) colour"),
        (lambda d: d.update(polls=[]), "polls"),
    ],
)
def test_invalid_conference_file_names_the_field(change: Any, field: str) -> None:
    data = _example()
    parse_conference(data)  # the shipped example is valid
    change(data)
    with pytest.raises(ConferenceFileError) as excinfo:
        parse_conference(data)
    assert field in str(excinfo.value)


def test_invalid_file_stores_nothing(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace('kind = "organization"', 'kind = "tổ chức"'),
        encoding="utf-8",
    )
    result = invoke(app, "conference", "import", str(bad))
    assert result.exit_code == 1 and "polls[2].subjects[0]" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[conference\n", encoding="utf-8")
    result = invoke(app, "conference", "import", str(broken))
    assert result.exit_code == 1 and "TOML" in result.output
    with app.app_context():
        s = db.get_session()
        assert s.scalar(select(func.count()).select_from(Conference)) == 0
        assert s.scalar(select(func.count()).select_from(Subject)) == 0
