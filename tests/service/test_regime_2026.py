"""The 2026 review (Quy định 366-QĐ/TW, Hướng dẫn 43-HD/BTCTW) through the service, on SQLite and
PostgreSQL: the 2026 sample set up by ``ballot demo`` (the Standing Committee's self-grade of the
Đảng bộ tỉnh counted first, then the Executive Committee's adoption poll opened on its signed
record), the counting record in party-document form, its result codes derived again by
``tally verify``, the adoption poll voted and counted, and the refusals: an adoption poll whose
adopted poll is not counted or is foreign, an unconfirmed rule set without acknowledgement, and
malformed 366 data in a conference file, each with nothing stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ballot import db
from ballot.models import AuditEvent, Conference, Poll, Subject
from ballot.services.errors import ServiceError
from ballot.services.polls import open_poll, set_adopts
from tally.ballots import encrypt_ballot
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json
from tally.credentials import Credential
from tally.dkg import decrypt_share as decrypt_threshold
from tally.dkg import threshold_key
from tally.manifest import parse_manifest
from tally.record import result_codes
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle
from tests.support.polls import CODE_RE, ROOT, add_trustees, attest, board_mint, run

SAMPLE = ROOT / "docs" / "examples" / "hoi-nghi-2026.toml"


def demo(app: Flask, out: Path) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)


def text_of(html: str) -> str:
    """A page's visible text, one space between words."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def bundle(app: Flask, poll_id: int) -> bytes:
    response = app.test_client().get(f"/api/polls/{poll_id}/bundle")
    assert response.status_code == 200
    return response.data


def test_the_2026_sample_counts_the_self_grade_before_the_adoption_poll_opens(
    app: Flask, tmp_path: Path
) -> None:
    demo(app, tmp_path / "demo")
    with app.app_context():
        session = db.get_session()
        polls = session.scalars(select(Poll).order_by(Poll.id)).all()
        states = [(p.state, p.rules_id, p.members, p.present) for p in polls]
        adoption = polls[3]
        assert adoption.adopts_id == polls[0].id
        manifest = parse_manifest(json.loads(adoption.manifest or "{}"))
        conference = session.scalars(select(Conference)).one()
        assert conference.date.isoformat() == "2026-12-20"
        subjects = session.scalar(select(func.count(Subject.id)).where(Subject.poll_id == 3))
    assert states == [
        ("closed", "qd366-2025", 15, 15),  # the BTV's self-grade of the Đảng bộ tỉnh: counted
        ("open", "qd366-2025", 15, 15),  # the BTV members
        ("open", "qd366-2025", 15, 15),  # the subordinate organizations
        ("open", "thong-qua-2025", 50, 48),  # the BCH adopts
    ]
    assert subjects is not None and subjects >= 20
    # The adoption poll's manifest names the counted poll and its record, and proposes the grade
    # the signed record holds.
    files = read_bundle(bundle(app, 1))
    record = json.loads(files["record.json"])
    grade = {row["key"]: row["grade"] for row in record["subjects"]}["dang-bo-tinh"]
    assert manifest.adopts is not None and manifest.adopts["poll_uid"] == record["poll"]["uid"]
    assert [(s.key, s.proposed_grade) for s in manifest.subjects] == [("dang-bo-tinh", grade)]
    assert manifest.exclusions == ({"name": "Ủy viên Ban Chấp hành 49", "reason": "long_leave"},)
    assert manifest.eligible == 49


def test_the_record_is_a_party_document_and_verify_derives_its_result_codes(
    app: Flask, tmp_path: Path
) -> None:
    demo(app, tmp_path / "demo")
    client = app.test_client()
    page = client.get("/polls/1/record")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = text_of(html)
    files = read_bundle(bundle(app, 1))
    record = json.loads(files["record.json"])
    # The header: superior and issuing body, "*", the number; the party's name and the date line.
    assert re.search(r"ĐẢNG BỘ TỈNH ĐỒNG NAI|Đảng bộ tỉnh Đồng Nai", shown)
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in shown and "Số ……-BB/TU" in shown
    assert "Đồng Nai, ngày 20 tháng 12 năm 2026" in shown
    assert "BIÊN BẢN KIỂM PHIẾU" in shown
    # The official copy is Vietnamese only; the English view is separate.
    assert "Counting record" not in shown and "Decision steps" not in shown
    assert "Counting record" in text_of(client.get("/polls/1/record/en").get_data(as_text=True))
    # The rule set is a template: said before any figure.
    assert shown.index("CHƯA ĐƯỢC TỈNH XÁC NHẬN") < shown.index("I. Số lượng")
    assert record["rules"]["confirmed"] is False
    # The counting committee, its head first with their post.
    head = record["document"]["committee"][0]
    assert head["role"] == "head" and head["name"] == "Nguyễn Văn An"
    assert re.search(
        r"Đồng chí Nguyễn Văn An ?, Ủy viên Ban Chấp hành Đảng bộ tỉnh — Trưởng ban", shown
    )
    assert shown.index("TM. BAN KIỂM PHIẾU TRƯỞNG BAN") < shown.index("CÁC THÀNH VIÊN")
    # The paper lines, mapped from the credentials.
    for line in (
        "Số phiếu phát ra: 15 phiếu.",
        "Số phiếu thu vào: 15 phiếu.",
        "Số phiếu hợp lệ: 15 phiếu.",
        "Số phiếu không hợp lệ: 0 phiếu",
    ):
        assert line in shown
    # A decimal comma everywhere, "%" without a space; the closing formula.
    assert re.search(r"\d+\.\d+ ?%", shown) is None and re.search(r"\d+,\d{2}%", shown)
    assert "đã đọc trước Hội nghị và được lập thành 03 bản" in shown
    # Each subject's result code: printed, and what tally verify derives from the signed record.
    codes = result_codes(bytes.fromhex(record["poll"]["fingerprint"]), record["subjects"])
    assert record["result_codes"] == codes and len(codes) == 2
    for code in codes.values():
        assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}", code) and code in shown
    report = verify_bundle(bundle(app, 1), workers=1)
    assert report.ok
    check = next(c for c in report.checks if c.name == "record.result_codes")
    assert all(code in check.detail_vi for code in codes.values())


def test_a_changed_result_code_or_head_is_caught_by_verify(app: Flask, tmp_path: Path) -> None:
    demo(app, tmp_path / "demo")
    files = read_bundle(bundle(app, 1))

    for change in ("code", "head"):
        record = json.loads(files["record.json"])
        if change == "code":
            key = next(iter(record["result_codes"]))
            record["result_codes"][key] = "AAAA-AAAA"
        else:
            committee = record["document"]["committee"]
            committee[0]["role"], committee[1]["role"] = "member", "head"
        forged = dict(files, **{"record.json": canonical_json(record)})
        report = verify_bundle(bundle_bytes(forged), workers=1)
        failed = {c.name for c in report.checks if not c.ok}
        # The content differs from what the manifest and result give, and the signature fails.
        assert {"record.content", "record.signature"} <= failed, change


def _vote_adoption(app: Flask, out: Path, poll_id: int, yes: int, no: int) -> None:
    client = app.test_client()
    manifest = parse_manifest(client.get(f"/api/polls/{poll_id}/manifest").get_json())
    codes = CODE_RE.findall((out / f"slips-poll-{poll_id}.html").read_text(encoding="utf-8"))
    for k, code in enumerate(codes[: yes + no]):
        ballot = encrypt_ballot(manifest.context, Credential.from_code(code), [0 if k < yes else 1])
        response = client.post(f"/api/polls/{poll_id}/ballots", json=ballot)
        assert response.status_code == 201, response.get_data(as_text=True)


def test_the_adoption_poll_is_voted_counted_and_linked_both_ways(
    app: Flask, tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    demo(app, out)
    _vote_adoption(app, out, 4, yes=40, no=6)
    run(app, "poll", "close", "4")
    passphrase = (out / "trustees" / "passphrase.txt").read_text(encoding="utf-8").strip()
    keys = [
        TrusteeKey.load(path, passphrase)
        for path in sorted((out / "trustees").glob("trustee-*.key.json"))
    ]
    attest(app, 4, keys[0], tmp_path)
    run(app, "count", "start", "4")
    client = app.test_client()
    aggregate = client.get("/api/polls/4/aggregate").get_json()
    # The demo's committee holds the conference's key ceremony: any 2 of its 3 count.
    manifest = parse_manifest(client.get("/api/polls/4/manifest").get_json())
    assert manifest.ceremony is not None and manifest.threshold == 2
    transcript = manifest.data["election"]["ceremony"]
    for n, key in enumerate(keys[:2]):
        held = threshold_key(manifest.ceremony, transcript["dealings"], transcript["checks"], key)
        path = tmp_path / f"share-{n}.json"
        path.write_text(json.dumps(decrypt_threshold(aggregate, held)), encoding="utf-8")
        run(app, "count", "share", "4", str(path))
    run(app, "count", "finish", "4")
    data = bundle(app, 4)
    files = read_bundle(data)
    record = json.loads(files["record.json"])
    row = record["subjects"][0]
    # 40 of the 49 members (50 less one on long leave) for: adopted.
    assert (row["counts"], row["grade"], row["denominator_value"]) == ([40, 6], "TT", 49)
    assert (
        record["adopts"]["poll_uid"]
        == json.loads(read_bundle(bundle(app, 1))["record.json"])["poll"]["uid"]
    )
    assert record["electorate"]["exclusions"][0]["reason"] == "long_leave"
    alone = verify_bundle(data, workers=1)
    assert alone.ok
    named = next(c for c in alone.checks if c.name == "manifest.adopts")
    assert "not cross-checked" in named.detail_en
    # With the adopted poll's bundle: its signed record is the one named, and it graded the
    # Đảng bộ tỉnh as the adoption poll proposed.
    adopted_bundle = bundle(app, 1)
    checked = verify_bundle(data, workers=1, linked=[adopted_bundle])
    assert checked.ok
    assert (
        "adopts exactly" in next(c for c in checked.checks if c.name == "manifest.adopts").detail_en
    )
    # A tampered adopted bundle is caught.
    adopted_files = read_bundle(adopted_bundle)
    forged_record = json.loads(adopted_files["record.json"])
    forged_record["subjects"][0]["grade"] = "HTNV"
    forged = bundle_bytes(dict(adopted_files, **{"record.json": canonical_json(forged_record)}))
    refused = verify_bundle(data, workers=1, linked=[forged])
    assert not refused.ok
    assert not next(c for c in refused.checks if c.name == "manifest.adopts").ok
    client = app.test_client()
    adoption = text_of(client.get("/polls/4/record").get_data(as_text=True))
    assert "Thông qua" in adoption and "Ủy viên Ban Chấp hành 49" in adoption
    assert "nghỉ dài ngày" in adoption
    assert 'href="/polls/1/record"' in client.get("/polls/4/record").get_data(as_text=True)
    # The adopted poll's record links to the adoption poll.
    adopted = client.get("/polls/1/record").get_data(as_text=True)
    assert 'id="adopted-by"' in adopted and 'href="/polls/4/board"' in adopted
    # And the public boards, both ways.
    assert 'href="/polls/4/board"' in client.get("/polls/1/board").get_data(as_text=True)
    assert 'href="/polls/1/record"' in client.get("/polls/4/board").get_data(as_text=True)


def _snapshot(app: Flask) -> Any:
    with app.app_context():
        session = db.get_session()
        return (
            session.scalars(select(AuditEvent.id)).all(),
            [(p.id, p.state, p.manifest) for p in session.scalars(select(Poll))],
        )


def test_an_adoption_poll_opens_only_on_a_counted_poll_of_its_conference(
    app: Flask, tmp_path: Path
) -> None:
    run(app, "conference", "import", str(SAMPLE))
    run(app, "conference", "import", str(SAMPLE))  # a second conference: poll 5 onwards
    add_trustees(app, tmp_path, 4)
    board_mint(app, tmp_path, 4, 48)
    before = _snapshot(app)
    result = app.test_cli_runner().invoke(
        args=["poll", "open", "4", "--acknowledge-unconfirmed-rules"]
    )
    assert result.exit_code == 1
    assert "chưa kiểm phiếu xong" in result.output and "is not counted yet" in result.output
    assert _snapshot(app) == before
    # Another conference's poll cannot be the adopted one; nor can an adoption poll.
    with app.app_context():
        for adopted, status in ((5, 400), (4, 400)):
            with pytest.raises(ServiceError) as refused, db.transaction() as session:
                set_adopts(session, 4, adopted)
            assert refused.value.status == status
    assert _snapshot(app) == before


def test_an_unconfirmed_rule_set_opens_only_when_acknowledged(app: Flask, tmp_path: Path) -> None:
    run(app, "conference", "import", str(SAMPLE))
    add_trustees(app, tmp_path, 2)
    board_mint(app, tmp_path, 2, 15)
    before = _snapshot(app)
    result = app.test_cli_runner().invoke(args=["poll", "open", "2"])
    assert result.exit_code == 1
    assert "chưa được tỉnh xác nhận" in result.output and "not confirmed" in result.output
    assert _snapshot(app) == before
    out = run(app, "poll", "open", "2", "--acknowledge-unconfirmed-rules")
    assert "Đã mở" in out
    with app.app_context():
        actions = db.get_session().scalars(select(AuditEvent.action)).all()
        session = db.get_session()
        poll = session.get_one(Poll, 2)
        assert poll.state == "open" and poll.rules_acknowledged
    assert actions[-2:] == ["poll.acknowledge_rules", "poll.open"]
    with app.app_context(), pytest.raises(ServiceError), db.transaction() as session:
        open_poll(session, 2, b"\0" * 32)  # already open: refused as before


BAD_FILES = [
    ("self_score = 91.5", "self_score = 101", "polls[0].subjects[0].self_score"),
    ("self_score = 91.5", 'self_score = "9x"', "polls[0].subjects[0].self_score"),
    (
        'self_grade = "HTXSNV"\nproposed_grade = "HTXSNV"\n\n[[polls.subjects]]\n'
        'key = "tap-the-btv"',
        'self_grade = "XS"\nproposed_grade = "HTXSNV"\n\n[[polls.subjects]]\nkey = "tap-the-btv"',
        "polls[0].subjects[0].self_grade",
    ),
    (
        'part_of = "dang-bo-tinh"',
        'part_of = "dang-bo-tinh"\ndiscipline = ["duty_violation"]',
        "polls[0].subjects[1].discipline",
    ),
    (
        'kind = "organization"\nself_score = 91.5',
        'kind = "organization"\ndiscipline = ["member_disciplined"]\nself_score = 91.5',
        "polls[0].subjects[0].discipline",
    ),
    ('adopts = "btv-tu-danh-gia"', 'adopts = "khong-co"', "polls[3].adopts"),
    ('adopts = "btv-tu-danh-gia"', 'adopts = "to-chuc-truc-thuoc"\n', "polls[3].subjects[0].key"),
    (
        'outstanding_groups = ["dang-uy-truc-thuoc"]',
        'outstanding_groups = ["khong-co"]',
        "polls[2].outstanding_groups",
    ),
    ('reason = "long_leave"', 'reason = "busy"', "polls[3].electorate.exclusions[0].reason"),
]


@pytest.mark.parametrize(("old", "new", "field"), BAD_FILES)
def test_bad_366_data_in_a_conference_file_is_refused_naming_the_field(
    app: Flask, tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "hoi-nghi.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["conference", "import", str(path)])
    assert result.exit_code == 1
    assert field in result.output, result.output
    assert "không có gì được lưu" in result.output and "nothing was stored" in result.output
    with app.app_context():
        assert db.get_session().scalar(select(func.count(Conference.id))) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"self_score": "101"}, "Điểm tự chấm"),
        ({"self_score": "92,123"}, "Điểm tự chấm"),
        ({"self_grade": "XS"}, "self_grade"),
        ({"proposed_grade": "TOT"}, "proposed_grade"),
        ({"discipline": "member_disciplined"}, "discipline"),
        ({"discipline": "late"}, "Kỷ luật"),
        ({"responsible_for": "khong-co"}, "Đơn vị phụ trách"),
    ],
)
def test_bad_366_data_on_a_subject_is_refused_naming_the_field(
    app: Flask, values: dict[str, str], field: str
) -> None:
    from ballot.services.subjects import add_subject

    run(app, "conference", "import", str(SAMPLE))
    before = _snapshot(app)
    with app.app_context(), pytest.raises(ServiceError) as refused, db.transaction() as session:
        add_subject(
            session, 2, {"name": "Ủy viên mới", "kind": "individual", **values}, actor="test"
        )
    assert refused.value.status == 400
    assert field in refused.value.message_vi + refused.value.message_en
    assert _snapshot(app) == before


def test_exclusions_and_outstanding_groups_from_the_command_line(app: Flask) -> None:
    run(app, "conference", "import", str(SAMPLE))
    # All 15 present: nobody can be excluded until the number present allows it.
    refused = app.test_cli_runner().invoke(args=["poll", "exclusions", "2", "exempt:A"])
    assert refused.exit_code == 1 and "Present (15) must be at most" in refused.output
    run(app, "poll", "edit", "2", "--present", "14")
    out = run(app, "poll", "exclusions", "2", "suspended:Ủy viên Ban Thường vụ Tỉnh ủy 9")
    assert "1" in out
    with app.app_context():
        assert db.get_session().get_one(Poll, 2).exclusions == [
            {"name": "Ủy viên Ban Thường vụ Tỉnh ủy 9", "reason": "suspended"}
        ]
    before = _snapshot(app)
    for args in (["exclusions", "2", "busy:Ai đó"], ["outstanding", "2", "khong-co"]):
        result = app.test_cli_runner().invoke(args=["poll", *args])
        assert result.exit_code == 1 and "không" in result.output
    assert _snapshot(app) == before
    # The number present cannot rise above the members less the exclusions.
    raised = app.test_cli_runner().invoke(args=["poll", "edit", "2", "--present", "15"])
    assert raised.exit_code == 1 and "less the 1 excluded" in raised.output
    run(app, "poll", "outstanding", "3", "xa-phuong")
    shown = run(app, "poll", "show", "3")
    assert "outstanding groups: xa-phuong" in shown


def test_an_adoption_poll_is_built_from_the_command_line(app: Flask) -> None:
    run(app, "conference", "import", str(SAMPLE))
    run(
        app,
        "poll",
        "create",
        "1",
        "--title",
        "Thông qua lại kết quả của Đảng bộ tỉnh",
        "--rules",
        "thong-qua-2025",
    )
    run(app, "poll", "adopts", "5", "1")
    # Its subject is the adopted poll's, under the same key; another key is refused at opening.
    run(
        app,
        "subject",
        "add",
        "5",
        "--key",
        "dang-bo-tinh",
        "--name",
        "Đảng bộ tỉnh Đồng Nai",
        "--kind",
        "organization",
    )
    shown = run(app, "poll", "show", "5")
    assert "adopts poll 1" in shown and "dang-bo-tinh" in shown
    # A grading poll adopts nothing.
    refused = app.test_cli_runner().invoke(args=["poll", "adopts", "2", "1"])
    assert refused.exit_code == 1 and "adoption rule set" in refused.output


def test_tally_conference_check_on_the_demo_bundles(
    app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tally.cli import main

    demo(app, tmp_path / "demo")
    path = tmp_path / "poll-1.zip"
    path.write_bytes(bundle(app, 1))
    capsys.readouterr()
    assert main(["conference-check", str(path), "--workers", "1"]) == 0
    assert "no warning across the polls" in capsys.readouterr().out
    assert main(["conference-check", str(path), str(path), "--workers", "1"]) == 2
    assert "the same poll" in capsys.readouterr().err


def test_the_poll_page_sets_exclusions_outstanding_groups_and_the_adopted_poll(
    app: Flask, operator_client: Any
) -> None:
    from tests.service.conftest import csrf_token

    run(app, "conference", "import", str(SAMPLE))
    client = operator_client
    page = client.get("/operator/polls/3").get_data(as_text=True)
    assert 'id="regime-form"' in page and "dang-uy-truc-thuoc" in page

    def post(poll_id: int, data: dict[str, Any]) -> Any:
        token = csrf_token(client.get(f"/operator/polls/{poll_id}").get_data(as_text=True))
        return client.post(f"/operator/polls/{poll_id}/regime", data={**data, "csrf_token": token})

    # A line that is not "reason: name" is refused, naming the line; nothing is stored.
    before = _snapshot(app)
    bad = post(3, {"exclusions": "vắng: Ai đó", "outstanding": ["xa-phuong"]})
    assert bad.status_code == 400 and "Dòng 1" in bad.get_data(as_text=True)
    assert _snapshot(app) == before
    run(app, "poll", "edit", "3", "--present", "14")
    ok = post(
        3,
        {"exclusions": "nghỉ dài ngày, đi học, chữa bệnh: Ủy viên 9", "outstanding": ["xa-phuong"]},
    )
    assert ok.status_code == 302
    with app.app_context():
        poll = db.get_session().get_one(Poll, 3)
        assert poll.exclusions == [{"name": "Ủy viên 9", "reason": "long_leave"}]
        assert poll.outstanding_groups == ["xa-phuong"]
    # The adoption poll's page chooses the poll it adopts among the conference's grading polls.
    page = client.get("/operator/polls/4").get_data(as_text=True)
    assert 'name="adopts"' in page and "Phiếu biểu quyết tự đánh giá" in page
    assert post(4, {"adopts": "2", "exclusions": ""}).status_code == 302
    with app.app_context():
        assert db.get_session().get_one(Poll, 4).adopts_id == 2
    shown = client.get("/operator/polls/4?lang=en").get_data(as_text=True)
    assert 'id="adopts"' in shown


def test_the_boards_summary_workbook_holds_exactly_the_signed_records(
    app: Flask, tmp_path: Path
) -> None:
    """Issue 18 (the summary, first part): ``ballot conference summary`` writes an XLSX whose
    every data cell, reopened with openpyxl, is what the counted poll's signed record says;
    polls not counted are listed, and with nothing counted no file is written."""
    from openpyxl import load_workbook

    from ballot.services.summary import HEADER

    demo(app, tmp_path / "demo")  # conference 1: poll 1 counted, polls 2-4 open
    run(app, "conference", "import", str(ROOT / "docs" / "examples" / "hoi-nghi-2026.toml"))
    empty = tmp_path / "none.xlsx"
    refused = app.test_cli_runner().invoke(args=["conference", "summary", "2", "--out", str(empty)])
    assert refused.exit_code == 1 and "Chưa có cuộc biểu quyết nào" in refused.output
    assert "nothing to sum up" in refused.output and not empty.exists()
    workbook = tmp_path / "tong-hop.xlsx"
    output = run(app, "conference", "summary", "1", "--out", str(workbook))
    assert "not counted yet" in output
    sheet = load_workbook(workbook).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    files = read_bundle(app.test_client().get("/api/polls/1/bundle").data)
    record = json.loads(files["record.json"])
    codes = [g["code"] for g in json.loads(files["manifest.json"])["election"]["rules"]["grades"]]
    assert str(values[0][0]).endswith(record["conference"]["title"])
    assert values[3][: len(HEADER) + len(codes) + 2] == [*HEADER, *codes, "Để trống", "Cảnh báo"]
    data = values[4 : 4 + len(record["subjects"])]
    for row, subject in zip(data, record["subjects"], strict=True):
        assert row[:4] == [1, record["poll"]["title"], data.index(row) + 1, subject["name"]]
        assert (row[5] or None) == (subject["grade"] or None)
        assert row[7 : 7 + len(codes)] == subject["counts"]
        assert row[7 + len(codes)] == subject["blank"]
    assert values[4 + len(record["subjects"])] == [None] * len(values[3])  # then the notes
    assert any(r[0] == "Chưa kiểm phiếu:" for r in values)


def _login(app: Flask) -> Any:
    """A client logged in as a second operator (the demo made the first)."""
    from .conftest import csrf_token

    result = app.test_cli_runner().invoke(
        args=["operator", "add", "kiem-tra"],
        env={"BALLOT_OPERATOR_PASSWORD": "mat-khau-kiem-tra-1"},
    )
    assert result.exit_code == 0, result.output
    client = app.test_client()
    token = csrf_token(client.get("/operator/login").get_data(as_text=True))
    form = {"username": "kiem-tra", "password": "mat-khau-kiem-tra-1", "csrf_token": token}
    assert client.post("/operator/login", data=form).status_code == 302
    return client


def test_the_summary_of_a_review_and_its_pages(app: Flask, tmp_path: Path) -> None:
    """Issue 18: the summary across the conferences of one review (CLI and page), every cell of
    its workbook the signed record's, on a printable page per conference and for the review;
    nothing counted is refused in both languages with no file made."""
    from openpyxl import load_workbook

    demo(app, tmp_path / "demo")  # conference 1: poll 1 counted
    run(app, "conference", "import", str(SAMPLE))  # conference 2: nothing counted
    nothing = tmp_path / "none.xlsx"
    refused = app.test_cli_runner().invoke(
        args=["review", "summary", "--conference", "2", "--out", str(nothing)]
    )
    assert refused.exit_code == 1 and "nothing to sum up" in refused.output
    assert not nothing.exists()
    workbook = tmp_path / "dot-2026.xlsx"
    output = run(app, "review", "summary", "--year", "2026", "--out", str(workbook))
    assert "1 hội nghị / conferences" in output
    values = [list(r) for r in load_workbook(workbook).active.iter_rows(values_only=True)]
    files = read_bundle(bundle(app, 1))
    record = json.loads(files["record.json"])
    assert values[3][:2] == ["Hội nghị", "Cuộc"] and values[3][-1] == "Mã kết quả"
    for row, subject in zip(values[4:], record["subjects"], strict=False):
        assert row[0] == record["conference"]["title"]
        assert row[4] == subject["name"] and row[6] == subject["grade"]
        assert row[-1] == record["result_codes"][subject["key"]]
    # The pages: one conference, the review by year, the workbook downloads; refusals.
    operator_client = _login(app)
    page = operator_client.get("/operator/conferences/1/summary")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG" in html
    assert all(record["result_codes"][s["key"]] in html for s in record["subjects"])
    assert operator_client.get("/operator/review/summary?year=2026").status_code == 200
    download = operator_client.get("/operator/conferences/1/summary.xlsx")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert "attachment" in download.headers["Content-Disposition"]
    empty = operator_client.get("/operator/conferences/2/summary")
    assert empty.status_code == 409
    assert "Chưa có cuộc biểu quyết nào" in empty.get_data(as_text=True)
    assert operator_client.get("/operator/review/summary").status_code == 400
