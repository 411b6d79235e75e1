"""The public pages (board, counting record, results), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from ballot import db
from ballot.models import Poll, Trustee
from ballot.web.public import record_order
from tally.ballots import encrypt_ballot
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json, parse_json
from tally.rules import UNDETERMINED_VI
from tally.verify import verify_bundle
from tests.support.pages import shown_hex

from .conftest import OpenPoll, prepare_poll, run
from .test_counting import Counting, cast_and_close, expected_counts

# One poll whose ballot order is not the record's order: the record lists the organization first,
# then the collective, then the individuals in ballot order.
MIXED = """
[conference]
title = "Hội nghị thử"
body = "Ban Chấp hành Đảng bộ thử"
date = 2024-01-25
place = "Hội trường thử"
members = 5
present = 5

[[polls]]
title = "Phiếu thử nhiều loại đối tượng"
rules = "qd124-2023"

[[polls.subjects]]
key = "ca-nhan-b"
name = "Cá nhân Bê"
kind = "individual"
peer_group = "nhom"

[[polls.subjects]]
key = "tap-the"
name = "Tập thể Xê"
kind = "collective"
part_of = "to-chuc"

[[polls.subjects]]
key = "to-chuc"
name = "Tổ chức Đê"
kind = "organization"

[[polls.subjects]]
key = "ca-nhan-a"
name = "Cá nhân A"
kind = "individual"
peer_group = "nhom"
"""
RECORD_ORDER = ["Tổ chức Đê", "Tập thể Xê", "Cá nhân Bê", "Cá nhân A"]
BALLOT_ORDER = ["Cá nhân Bê", "Tập thể Xê", "Tổ chức Đê", "Cá nhân A"]

# The grade names exactly as DESIGN.md (and the regulations) write them.
GRADE_NAMES = {
    "HTXSNV": "Hoàn thành xuất sắc nhiệm vụ",
    "HTTNV": "Hoàn thành tốt nhiệm vụ",
    "HTNV": "Hoàn thành nhiệm vụ",
    "KHTNV": "Không hoàn thành nhiệm vụ",
}


def finish(poll: OpenPoll, out: Path) -> list[list[int | None]]:
    """Cast the four known ballots, close, count with both trustees' shares, finish."""
    choices = cast_and_close(poll)
    app, pid = poll.app, str(poll.poll_id)
    poll.attest()
    run(app, "count", "start", pid, "--out-dir", str(out))
    counting = Counting(poll, out, choices)
    for k in range(len(poll.trustees)):
        run(app, "count", "share", pid, str(counting.share_file(k)))
    run(app, "count", "finish", pid)
    return choices


def head(app: Flask, poll_id: int) -> str:
    with app.app_context():
        value = db.get_session().scalar(select(Poll.board_head).where(Poll.id == poll_id))
    assert value
    return value


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def test_board_lists_a_cast_ballot_and_the_search_finds_it(poll: OpenPoll) -> None:
    ctx = poll.manifest.context
    response = poll.post(encrypt_ballot(ctx, poll.credential(0), [0] * ctx.subjects))
    assert response.status_code == 201
    code = response.get_json()["tracking_code"]
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)

    page = poll.client.get("/polls/1/board")
    assert page.status_code == 200
    html = text_of(page)
    assert code in html
    assert shown_hex(html, "board-head") == head(poll.app, 1)  # the full head, grouped by four
    assert "Bảng tin công khai" in html and "Public bulletin board" in html
    assert 'id="ballot-count">1<' in html

    found = text_of(poll.client.get("/polls/1/board", query_string={"code": code.lower()}))
    assert "CÓ trên bảng tin, ở vị trí 1" in found and "IS on the board" in found

    missing = text_of(poll.client.get("/polls/1/board?code=AAAA-BBBB-CCCC-DDDD"))
    assert "KHÔNG có trên bảng tin" in missing and "is NOT on the board" in missing
    assert "CÓ trên bảng tin" not in missing


def test_open_board_shows_no_count_grade_or_key(poll: OpenPoll) -> None:
    ctx = poll.manifest.context
    for k in range(3):
        row = [k % ctx.grades] * ctx.subjects
        assert poll.post(encrypt_ballot(ctx, poll.credential(k), row)).status_code == 201
    html = text_of(poll.client.get("/polls/1/board"))
    for code, name in GRADE_NAMES.items():
        assert code not in html and name not in html
    assert "Đang mở" in html
    for forbidden in ("<svg", "/record", "/results", "Kết quả", "Results", "%", UNDETERMINED_VI):
        assert forbidden not in html
    with poll.app.app_context():
        keys = db.get_session().scalars(select(Trustee.public_key)).all()
    assert keys and not any(key in html for key in keys)
    for page in ("record", "results"):
        response = poll.client.get(f"/polls/1/{page}")
        assert response.status_code == 409
        assert "chưa kiểm phiếu xong" in text_of(response)
        assert "has not been counted yet" in text_of(response)


def test_record_and_results_are_409_until_count_finish(poll: OpenPoll, tmp_path: Path) -> None:
    cast_and_close(poll)
    for page in ("record", "results"):
        assert poll.client.get(f"/polls/1/{page}").status_code == 409
    poll.attest()
    run(poll.app, "count", "start", "1", "--out-dir", str(tmp_path / "out"))
    for page in ("record", "results"):
        assert poll.client.get(f"/polls/1/{page}").status_code == 409
    assert "BIÊN BẢN" not in text_of(poll.client.get("/polls/1/record"))


def test_record_after_count(app: Flask, tmp_path: Path) -> None:
    toml = tmp_path / "mixed.toml"
    toml.write_text(MIXED, encoding="utf-8")
    run(app, "conference", "import", str(toml))
    poll = prepare_poll(app, tmp_path, 1, 5)
    choices = finish(poll, tmp_path / "out")
    ctx = poll.manifest.context
    counts, blanks = expected_counts(choices, ctx.subjects, ctx.grades)

    response = poll.client.get("/polls/1/record")
    assert response.status_code == 200
    html = text_of(response)
    # The official copy is Vietnamese only; the English translation is its own page.
    assert "BIÊN BẢN KIỂM PHIẾU" in html and "Counting record" not in html
    english = text_of(poll.client.get("/polls/1/record/en"))
    assert "Counting record" in english and shown_hex(english, "board-head") == head(app, 1)
    assert "@page" not in html  # print CSS lives in the stylesheet
    for text in (
        "Ban Chấp hành Đảng bộ thử",
        "tại Hội trường thử",
        "ngày 25 tháng 01 năm 2024",
        "qd124-2023",
    ):
        assert text in html
    assert shown_hex(html, "board-head") == head(app, 1)
    assert "Thành viên Ban kiểm phiếu 1" in html and "Thành viên Ban kiểm phiếu 2" in html
    # The head signs first, for the committee; then its members.
    assert html.index("TM. BAN KIỂM PHIẾU") < html.index("CÁC THÀNH VIÊN")
    assert html.count('class="signer"') == 2
    assert re.fullmatch(r"[0-9a-f]{64}", shown_hex(html, "record-sha256"))
    # The key an auditor passes to `tally verify --signer-key` is printed in full.
    record = parse_json(read_bundle(poll.client.get("/api/polls/1/bundle").data)["record.json"])
    assert f'id="signer-key">{record["signer"]["public_key"]}<' in html

    # Subjects in record order, each with its counts, blank and grade.
    rows = re.findall(r'<tr class="subject" data-key="[^"]+">(.*?)</tr>', html, re.S)
    assert len(rows) == 4
    for name, row in zip(RECORD_ORDER, rows, strict=True):
        assert name in row
        k = BALLOT_ORDER.index(name)
        cells = re.findall(r'<td class="num">(\d+)', row)
        assert [int(c) for c in cells] == [*counts[k], blanks[k]]
        assert any(grade in row for grade in [*GRADE_NAMES.values(), UNDETERMINED_VI])
    positions = [html.index(name) for name in RECORD_ORDER]
    assert positions == sorted(positions)

    css = poll.client.get("/public-static/public.css")
    assert css.status_code == 200 and b"size: A4" in css.data

    results = poll.client.get("/polls/1/results")
    assert results.status_code == 200
    page = text_of(results)
    assert page.count("<svg") == 4
    assert "<script" not in page and "<script" not in html
    for name in RECORD_ORDER:
        assert name in page

    board = text_of(poll.client.get("/polls/1/board"))
    assert "/polls/1/record" in board and "/polls/1/results" in board
    assert 'id="bundle-link" href="/api/polls/1/bundle"' in board
    commitment = poll.manifest.data["election"]["credentials"]["commitment"]
    assert shown_hex(board, "credential-commitment") == commitment


def test_unknown_poll_is_404(app: Flask) -> None:
    client = app.test_client()
    for page in ("board", "record", "results"):
        response = client.get(f"/polls/99/{page}")
        assert response.status_code == 404
        html = text_of(response)
        assert "Không tìm thấy" in html and "Not found" in html


def _result(poll: OpenPoll) -> dict[str, Any]:
    files = read_bundle(poll.client.get(f"/api/polls/{poll.poll_id}/bundle").data)
    return parse_json(files["result.json"])  # type: ignore[no-any-return]


def test_links_to_subjects_graded_in_other_polls(conference: Flask, tmp_path: Path) -> None:
    """The sample conference: a member heads the Đảng bộ tỉnh (poll 3), the Standing Committee
    collective leads it (poll 2). Counted before poll 3, the link is reported as not checked;
    after it, the Đảng bộ tỉnh's grade is used, recorded in the result, and verified."""
    app = conference
    polls = {pid: prepare_poll(app, tmp_path, pid, 5) for pid in (1, 2, 3)}

    finish(polls[2], tmp_path / "out-2")
    early = _result(polls[2])
    assert early["linked"] == {"dang-bo-tinh": None}
    [unchecked] = [w for w in early["warnings"] if w["check"] == "linked_not_checked"]
    assert unchecked["subjects"] == ["tap-the-btv", "dang-bo-tinh"]
    record = text_of(polls[2].client.get("/polls/2/record"))
    assert "Chưa đối chiếu" in record and "<li>dang-bo-tinh: chưa kiểm phiếu</li>" in record
    english = text_of(polls[2].client.get("/polls/2/record/en"))
    assert "not checked" in english
    assert "<li>dang-bo-tinh: chưa kiểm phiếu / not counted yet</li>" in english

    finish(polls[3], tmp_path / "out-3")
    organization = _result(polls[3])["subjects"][0]["grade"]
    assert organization in GRADE_NAMES

    finish(polls[1], tmp_path / "out-1")
    later = _result(polls[1])
    assert later["linked"] == {"dang-bo-tinh": organization}
    assert f"<li>dang-bo-tinh: {organization}</li>" in text_of(
        polls[1].client.get("/polls/1/record")
    )
    assert not [w for w in later["warnings"] if w["check"] == "linked_not_checked"]
    head = next(s for s in later["subjects"] if s["key"] == "ubtv-01")["grade"]
    order = list(GRADE_NAMES)
    above = head is not None and order.index(head) < order.index(organization)
    flagged = [w for w in later["warnings"] if w["check"] == "head_not_above_unit"]
    assert bool(flagged) == above
    bundle = polls[1].client.get("/api/polls/1/bundle").data
    alone = verify_bundle(bundle)
    assert alone.ok
    [listed] = [c for c in alone.checks if c.name == "result.linked"]
    assert f"dang-bo-tinh = {organization}" in listed.detail_en
    assert "not cross-checked" in listed.detail_en
    # With the Đảng bộ tỉnh's bundle the claimed grade is checked against it.
    bundle_3 = polls[3].client.get("/api/polls/3/bundle").data
    checked = verify_bundle(bundle, linked=[bundle_3])
    assert checked.ok and "match their bundles" in next(
        c.detail_en for c in checked.checks if c.name == "result.linked"
    )
    # A bundle whose linked grade differs from the Đảng bộ tỉnh's own is caught.
    wrong = read_bundle(bundle_3)
    wrong_result = parse_json(wrong["result.json"])
    wrong_result["subjects"][0]["grade"] = next(g for g in order if g != organization)
    wrong["result.json"] = canonical_json(wrong_result)
    refused = verify_bundle(bundle, linked=[bundle_bytes(wrong)])
    [failed] = [c for c in refused.checks if c.name == "result.linked"]
    assert not failed.ok and "does not verify" in failed.detail_en
    # A result naming another grade than the Đảng bộ tỉnh's poll gave is caught by name.
    lying = read_bundle(bundle)
    lie = parse_json(lying["result.json"])
    lie["linked"] = {"dang-bo-tinh": next(g for g in order if g != organization)}
    lying["result.json"] = canonical_json(lie)
    caught = verify_bundle(bundle_bytes(lying), linked=[bundle_3])
    [failed] = [c for c in caught.checks if c.name == "result.linked"]
    assert not failed.ok and f"its poll graded {organization}" in failed.detail_en
    # The verifier grades again with the linked grade the result names: a result that drops it
    # (and so its warnings) is not what the rule set gives.
    files = read_bundle(bundle)
    changed = parse_json(files["result.json"])
    del changed["linked"]
    files["result.json"] = canonical_json(changed)
    checks = {c.name: c.ok for c in verify_bundle(bundle_bytes(files)).checks}
    assert checks["result.grades"] is False


def test_record_order_puts_subordinate_organizations_last() -> None:
    """Đảng bộ tỉnh, the Standing Committee collective, the members, subordinate organizations."""
    ballot = [
        {"key": "db-huyen-a", "kind": "organization"},
        {"key": "ubtv-01", "kind": "individual"},
        {"key": "tap-the", "kind": "collective"},
        {"key": "dang-bo-tinh", "kind": "organization"},
        {"key": "ubtv-02", "kind": "individual"},
        {"key": "db-huyen-b", "kind": "organization"},
    ]
    links = {"ubtv-01": ["dang-bo-tinh"], "tap-the": ["dang-bo-tinh"]}
    ordered = [ballot[i]["key"] for i in record_order(ballot, links)]
    assert ordered == ["dang-bo-tinh", "tap-the", "ubtv-01", "ubtv-02", "db-huyen-a", "db-huyen-b"]
    # No link names an organization: the first on the ballot is taken as the main one.
    ordered = [ballot[i]["key"] for i in record_order(ballot, {})]
    assert ordered == ["db-huyen-a", "tap-the", "ubtv-01", "ubtv-02", "dang-bo-tinh", "db-huyen-b"]


def test_the_home_page_lists_the_conferences_and_their_public_pages(
    app: Flask, poll: OpenPoll
) -> None:
    """Issue 17: ``/`` (the address the README gives) is a page, not a 404: every conference
    with its polls' state and public pages, and the operator login."""
    client = app.test_client()
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hội nghị đánh giá, xếp loại chất lượng năm 2023" in html
    assert 'href="/polls/1/board"' in html  # open: its board
    assert 'href="/polls/2/board"' not in html  # a draft has no public page yet
    assert "/polls/1/results" not in html  # not counted yet
    assert 'href="/operator/login"' in html
    client.get("/lang/en")
    english = client.get("/").get_data(as_text=True)
    assert "Public pages" in english and "open" in english


def test_the_projector_summary_pages_itself_and_says_how_grades_follow(
    poll: OpenPoll, tmp_path: Path, monkeypatch: Any
) -> None:
    """Issue 17: /polls/<id>/results/screen is one table (subject, grade, counts) a screen, with
    the conference's name and date, the screens in turn, and one line on the decision rule."""
    from ballot.web import public

    finish(poll, tmp_path / "out")
    monkeypatch.setattr(public, "SCREEN_ROWS", 100)
    whole = text_of(poll.client.get("/polls/1/results/screen"))
    assert "Hội nghị" in whole and "ngày 25 tháng 01 năm 2024" in whole
    assert (
        'id="rule-line"' in whole and "cộng dồn" in whole and "added from the best grade" in whole
    )
    total = whole.count('<tr class="subject')
    assert total == len(poll.manifest.subjects) > 3
    assert 'http-equiv="refresh"' not in whole  # one screen holds them all
    monkeypatch.setattr(public, "SCREEN_ROWS", 3)
    first = text_of(poll.client.get("/polls/1/results/screen"))
    assert first.count('<tr class="subject') == 3 and "/polls/1/results/screen?screen=2" in first
    assert 'http-equiv="refresh"' in first and 'id="pager"' in first
    second = text_of(poll.client.get("/polls/1/results/screen?screen=2"))
    assert second.count('<tr class="subject') == min(3, total - 3)
    assert ">4</td>" in second  # numbered on from the first screen
    fallback = text_of(poll.client.get("/polls/1/results/screen?screen=99"))
    assert fallback.count('<tr class="subject') == 3
    assert poll.client.get("/polls/2/results/screen").status_code == 409  # not counted
