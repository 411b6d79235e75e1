"""The operator's web interface, through the Flask test client, on SQLite and PostgreSQL.

A conference and its polls set up through the forms, trustees' keys uploaded, slips minted as a
download, the poll opened, watched and closed; every form refused without its CSRF token; nothing
of an opened poll editable; the matching ``ballot`` commands.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from ballot import db
from ballot.models import AuditEvent, Base, Conference, Credential, Poll, Subject, Trustee
from tally.authority import AuthorityKey, mint
from tally.ballots import encrypt_ballot
from tally.credentials import commitment
from tally.record import key_fingerprint
from tally.trustees import TrusteeKey
from tests.support.pages import shown_hex

from .conftest import EXAMPLE, OpenPoll, csrf_token, run

CSRF_MESSAGE = "thiếu mã bảo vệ"


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.get_data(as_text=True)[:2000])
    return response.get_data(as_text=True)


def post(
    client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, token_from: str
) -> TestResponse:
    """POST a form with the CSRF token of the page it is on (as a browser would)."""
    form = dict(data or {})
    form["csrf_token"] = csrf_token(page(client, token_from))
    return client.post(path, data=form)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def pub_bytes(key: TrusteeKey) -> bytes:
    return json.dumps(key.public.to_json(), ensure_ascii=False).encode("utf-8")


def pub_file(key: TrusteeKey, name: str = "t.pub.json") -> tuple[Any, str]:
    return (io.BytesIO(pub_bytes(key)), name)


def snapshot(app: Flask) -> dict[str, Any]:
    """What a user could see change: every row of every table except the login's audit event."""
    with app.app_context():
        session = db.get_session()
        rows: dict[str, Any] = {}
        for table in Base.metadata.sorted_tables:
            if table.name == "operator":
                continue
            rows[table.name] = sorted(
                json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True)
                for row in session.execute(table.select()).mappings()
            )
        return rows


def subject_names(app: Flask, poll_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.get_session().scalars(
                select(Subject.name).where(Subject.poll_id == poll_id).order_by(Subject.position)
            )
        )


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.get_session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- access --------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login(conference: Flask) -> None:
    client = conference.test_client()
    for path in (
        "/operator/",
        "/operator/conferences/new",
        "/operator/conferences/import",
        "/operator/conferences/1",
        "/operator/conferences/1/edit",
        "/operator/conferences/1/polls/new",
        "/operator/polls/1",
        "/operator/polls/1/edit",
        "/operator/polls/1/subjects/new",
        "/operator/polls/1/open",
        "/operator/polls/1/dashboard",
        "/operator/audit?poll=1",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/operator/login" in response.headers["Location"], path
    # A form posted with a valid token but no login changes nothing either.
    token = csrf_token(page(client, "/operator/login"))
    before = snapshot(conference)
    response = client.post("/operator/polls/1/edit", data={"csrf_token": token, "title": "X"})
    assert response.status_code == 302 and "/operator/login" in response.headers["Location"]
    # The dashboard's script gets JSON it can act on, not a login page.
    status = client.get("/operator/polls/1/status")
    assert status.status_code == 401 and status.get_json()["error"]["code"] == "login_required"
    assert snapshot(conference) == before


# --- conferences, polls, subjects ----------------------------------------------------------------


CONFERENCE = {
    "title": "Hội nghị Ban Thường vụ Tỉnh ủy tháng 12",
    "body": "Ban Thường vụ Tỉnh ủy",
    "date": "2024-12-20",
    "place": "Phòng họp số 1",
    "members": "15",
    "present": "14",
}


def test_a_conference_through_the_forms(operator_client: FlaskClient, app: Flask) -> None:
    client = operator_client
    assert "Chưa có hội nghị nào" in page(client, "/operator/")

    # A mistake is shown on the form, with what was typed kept, and nothing is stored.
    wrong = post(
        client,
        "/operator/conferences/new",
        {**CONFERENCE, "present": "16"},
        token_from="/operator/conferences/new",
    )
    assert wrong.status_code == 400
    assert "Số thành viên có mặt (16) lớn hơn tổng số thành viên (15)" in text(wrong)
    assert CONFERENCE["title"] in text(wrong)
    empty = post(client, "/operator/conferences/new", {}, token_from="/operator/conferences/new")
    assert empty.status_code == 400 and "Cần điền mục này" in text(empty)
    with app.app_context():
        assert db.get_session().scalar(select(func.count()).select_from(Conference)) == 0

    created = post(
        client, "/operator/conferences/new", CONFERENCE, token_from="/operator/conferences/new"
    )
    assert created.status_code == 302
    conference_url = created.headers["Location"]
    shown = page(client, conference_url)
    assert CONFERENCE["title"] in shown and "Phòng họp số 1" in shown and "Đã tạo hội nghị" in shown
    assert CONFERENCE["title"] in page(client, "/operator/")
    conference_id = int(conference_url.rsplit("/", 1)[1])

    edited = post(
        client,
        f"/operator/conferences/{conference_id}/edit",
        {**CONFERENCE, "place": "Hội trường lớn", "present": "15"},
        token_from=f"/operator/conferences/{conference_id}/edit",
    )
    assert edited.status_code == 302
    shown = page(client, conference_url)
    assert "Hội trường lớn" in shown and 'id="conference-present">15<' in shown
    assert actions(app)[2:] == ["conference.create", "conference.update"]


@pytest.fixture
def form_conference(operator_client: FlaskClient) -> str:
    """A conference made through its form; its page's address."""
    new = "/operator/conferences/new"
    created = post(operator_client, new, CONFERENCE, token_from=new)
    assert created.status_code == 302, text(created)
    return str(created.headers["Location"])


POLL_FORM = {
    "title": "Phiếu đánh giá tập thể và tổ chức",
    "rules_id": "qd124-2023",
    "members": "15",
    "present": "15",
}


@pytest.fixture
def form_poll(operator_client: FlaskClient, form_conference: str) -> str:
    """A draft poll of ``form_conference`` made through its form; its page's address."""
    new = f"{form_conference}/polls/new"
    created = post(operator_client, new, POLL_FORM, token_from=new)
    assert created.status_code == 302, text(created)
    return str(created.headers["Location"])


def test_a_poll_through_the_forms(operator_client: FlaskClient, form_conference: str) -> None:
    client = operator_client
    # Its form proposes the conference's electorate and the shipped rule sets.
    form = page(client, f"{form_conference}/polls/new")
    assert 'value="15"' in form and "qd124-2023" in form and "qd366-2025" in form
    created = post(
        client, f"{form_conference}/polls/new", POLL_FORM, token_from=f"{form_conference}/polls/new"
    )
    assert created.status_code == 302
    poll_url = created.headers["Location"]
    bad_rules = post(
        client,
        f"{poll_url}/edit",
        {"title": "X", "rules_id": "qd999", "members": "15", "present": "15"},
        token_from=f"{poll_url}/edit",
    )
    assert bad_rules.status_code == 400
    edited = post(
        client,
        f"{poll_url}/edit",
        {
            "title": "Phiếu đánh giá, xếp loại năm 2024",
            "rules_id": "qd366-2025",
            "members": "15",
            "present": "13",
        },
        token_from=f"{poll_url}/edit",
    )
    assert edited.status_code == 302
    shown = page(client, poll_url)
    assert "Phiếu đánh giá, xếp loại năm 2024" in shown and "qd366-2025" in shown
    assert 'id="poll-present">13<' in shown
    # The rule set's grades, with the names of the regulation.
    for name in (
        "Hoàn thành xuất sắc nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ",
        "Hoàn thành nhiệm vụ",
        "Không hoàn thành nhiệm vụ",
    ):
        assert name in shown


SUBJECT_FORMS = (
    {"name": "Đảng bộ tỉnh", "kind": "organization"},
    {"name": "Tập thể Ban Thường vụ", "kind": "collective", "part_of": "dang-bo-tinh"},
    {
        "name": "Nguyễn Văn A",
        "role": "Bí thư Tỉnh ủy",
        "kind": "individual",
        "peer_group": "ubtv",
        "heads": "dang-bo-tinh",
    },
    {
        "name": "Trần Thị B",
        "key": "ubtv-02",
        "kind": "individual",
        "peer_group": "ubtv",
        "disciplined": "y",
    },
)


def _poll_id(poll_url: str) -> int:
    return int(poll_url.rsplit("/", 1)[1])


@pytest.fixture
def form_subjects(operator_client: FlaskClient, app: Flask, form_poll: str) -> dict[str, int]:
    """The four subjects of SUBJECT_FORMS added to ``form_poll`` through the form; their ids."""
    new_subject = f"{form_poll}/subjects/new"
    for fields in SUBJECT_FORMS:
        response = post(operator_client, new_subject, fields, token_from=new_subject)
        assert response.status_code == 302, text(response)
    with app.app_context():
        rows = db.get_session().scalars(
            select(Subject).where(Subject.poll_id == _poll_id(form_poll))
        )
        return {s.name: s.id for s in rows}


def test_subjects_are_added_through_the_form(
    operator_client: FlaskClient, app: Flask, form_poll: str, form_subjects: dict[str, int]
) -> None:
    client, poll_id = operator_client, _poll_id(form_poll)
    assert subject_names(app, poll_id) == [
        "Đảng bộ tỉnh",
        "Tập thể Ban Thường vụ",
        "Nguyễn Văn A",
        "Trần Thị B",
    ]
    with app.app_context():
        keys = list(
            db.get_session().scalars(
                select(Subject.key).where(Subject.poll_id == poll_id).order_by(Subject.position)
            )
        )
    assert keys == ["dang-bo-tinh", "tap-the-ban-thuong-vu", "nguyen-van-a", "ubtv-02"]

    # Refused with a message on the form: a collective cannot head a unit; a key twice.
    new_subject = f"{form_poll}/subjects/new"
    refused = post(
        client,
        new_subject,
        {"name": "Tập thể khác", "kind": "collective", "heads": "dang-bo-tinh"},
        token_from=new_subject,
    )
    assert refused.status_code == 400 and "Chỉ cá nhân mới đứng đầu" in text(refused)
    twice = post(
        client,
        new_subject,
        {"name": "Lê Văn C", "key": "ubtv-02", "kind": "individual"},
        token_from=new_subject,
    )
    assert twice.status_code == 409 and "ubtv-02" in text(twice)
    assert len(subject_names(app, poll_id)) == 4


def test_subjects_are_edited_moved_and_deleted(
    operator_client: FlaskClient, app: Flask, form_poll: str, form_subjects: dict[str, int]
) -> None:
    client, poll_url, ids = operator_client, form_poll, form_subjects
    poll_id = _poll_id(poll_url)
    # Edit: the individual's role.
    edit = f"{poll_url}/subjects/{ids['Nguyễn Văn A']}/edit"
    edit_form = page(client, edit)
    assert "nguyen-van-a" in edit_form and 'value="Bí thư Tỉnh ủy"' in edit_form
    response = post(
        client,
        edit,
        {
            "name": "Nguyễn Văn A",
            "role": "Bí thư Tỉnh ủy, Trưởng Đoàn đại biểu Quốc hội",
            "kind": "individual",
            "peer_group": "ubtv",
            "heads": "dang-bo-tinh",
        },
        token_from=edit,
    )
    assert response.status_code == 302
    assert "Trưởng Đoàn đại biểu Quốc hội" in page(client, poll_url)

    # Reorder: the two individuals first, then the collective, then the organization.
    def move(name: str, direction: str) -> None:
        response = post(
            client,
            f"{poll_url}/subjects/{ids[name]}/move/{direction}",
            token_from=poll_url,
        )
        assert response.status_code == 302, text(response)

    move("Đảng bộ tỉnh", "down")
    move("Đảng bộ tỉnh", "down")
    move("Đảng bộ tỉnh", "down")
    move("Nguyễn Văn A", "up")
    move("Trần Thị B", "up")
    assert subject_names(app, poll_id) == [
        "Nguyễn Văn A",
        "Trần Thị B",
        "Tập thể Ban Thường vụ",
        "Đảng bộ tỉnh",
    ]
    first = post(client, f"{poll_url}/subjects/{ids['Nguyễn Văn A']}/move/up", token_from=poll_url)
    assert first.status_code == 409 and "đầu phiếu" in text(first)

    # Delete: not the organization others refer to; the collective, after a confirmation.
    referenced = f"{poll_url}/subjects/{ids['Đảng bộ tỉnh']}/delete"
    assert "Xóa Đảng bộ tỉnh khỏi phiếu?" in page(client, referenced)
    refused = post(client, referenced, token_from=referenced)
    assert refused.status_code == 409 and "tham chiếu" in text(refused)
    delete = f"{poll_url}/subjects/{ids['Trần Thị B']}/delete"
    assert post(client, delete, token_from=delete).status_code == 302
    assert subject_names(app, poll_id) == [
        "Nguyễn Văn A",
        "Tập thể Ban Thường vụ",
        "Đảng bộ tỉnh",
    ]
    with app.app_context():
        positions = list(
            db.get_session().scalars(
                select(Subject.position)
                .where(Subject.poll_id == poll_id)
                .order_by(Subject.position)
            )
        )
    assert positions == [1, 2, 3]

    assert actions(app)[2:] == [  # after operator.add and login
        "conference.create",
        "poll.create",
        *["subject.add"] * 4,
        "subject.update",
        *["subject.move"] * 5,
        "subject.delete",
    ]
    conference_id = poll_id_conference(app, poll_id)
    audit = page(client, f"/operator/audit?conference={conference_id}")
    assert "Tạo hội nghị" in audit and "Đổi thứ tự đối tượng" in audit and "Xóa đối tượng" in audit
    assert "Đăng nhập" not in audit  # filtered to this conference
    assert "Đăng nhập" in page(client, "/operator/audit")


def poll_id_conference(app: Flask, poll_id: int) -> int:
    with app.app_context():
        return int(db.get_session().get_one(Poll, poll_id).conference_id)


def test_import_a_conference_file(operator_client: FlaskClient, app: Flask) -> None:
    url = "/operator/conferences/import"
    broken = EXAMPLE.read_text(encoding="utf-8").replace('kind = "organization"', 'kind = "party"')
    response = post(
        operator_client,
        url,
        {"file": (io.BytesIO(broken.encode("utf-8")), "hoi-nghi.toml")},
        token_from=url,
    )
    assert response.status_code == 400
    assert "hoi-nghi.toml: polls[2].subjects[0]" in text(response)
    assert "không có gì được lưu" in text(response)
    with app.app_context():
        assert db.get_session().scalar(select(func.count()).select_from(Conference)) == 0

    response = post(
        operator_client,
        url,
        {"file": (io.BytesIO(EXAMPLE.read_bytes()), EXAMPLE.name)},
        token_from=url,
    )
    assert response.status_code == 302
    shown = page(operator_client, response.headers["Location"])
    assert "Đã nhập hội nghị với 3 cuộc biểu quyết" in shown
    assert "Ban Chấp hành Đảng bộ tỉnh Bình Phước" in shown
    assert "Phiếu biểu quyết tự đánh giá, xếp loại Đảng bộ tỉnh" in shown
    assert len(subject_names(app, 1)) == 15
    assert actions(app)[-1] == "conference.import"


def test_control_characters_are_refused_on_every_path(
    operator_client: FlaskClient, app: Flask
) -> None:
    """A NUL byte (which PostgreSQL refuses) or a line break in a name: a 400 on the form and in
    an imported file, the same refusal on both databases, nothing stored."""
    for bad in ("Hội nghị\x00", "Hội nghị\nthứ hai"):
        response = post(
            operator_client,
            "/operator/conferences/new",
            {**CONFERENCE, "title": bad},
            token_from="/operator/conferences/new",
        )
        assert response.status_code == 400, text(response)[:500]
        assert "ký tự điều khiển" in text(response)
    toml = EXAMPLE.read_text(encoding="utf-8").replace(
        'kind = "organization"', 'kind = "organization"\nrole = "Tỉnh\\u0000"', 1
    )
    assert "\\u0000" in toml
    url = "/operator/conferences/import"
    response = post(
        operator_client, url, {"file": (io.BytesIO(toml.encode("utf-8")), "x.toml")}, token_from=url
    )
    assert response.status_code == 400 and "ký tự điều khiển" in text(response)
    # A control character that str.strip() would remove at the end is refused all the same.
    toml = EXAMPLE.read_text(encoding="utf-8").replace(
        'name = "Đảng bộ tỉnh Bình Phước"', 'name = "Đảng bộ tỉnh Bình Phước\\u001f"', 1
    )
    response = post(
        operator_client, url, {"file": (io.BytesIO(toml.encode("utf-8")), "x.toml")}, token_from=url
    )
    assert response.status_code == 400 and "ký tự điều khiển" in text(response)
    with app.app_context():
        assert db.get_session().scalar(select(func.count()).select_from(Conference)) == 0


# --- trustees, slips, open, dashboard, close ----------------------------------------------------


def test_trustees_slips_open_dashboard_close(
    operator_client: FlaskClient, conference: Flask
) -> None:
    app, client = conference, operator_client
    poll_url = "/operator/polls/2"  # the Standing Committee as a collective: one subject
    keys = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k}") for k in (1, 2, 3)]
    for key in keys:
        response = post(
            client, f"{poll_url}/trustees", {"file": pub_file(key)}, token_from=poll_url
        )
        assert response.status_code == 302, text(response)
    shown = page(client, poll_url)
    for key in keys:
        assert key.public.name in shown
        assert key_fingerprint(key.public.public_key.encode()) in shown

    # A forged key (its proof does not verify) and a file that is not JSON are refused.
    forged = keys[0].public.to_json() | {"public_key": keys[1].public.public_key.hex()}
    bad = post(
        client,
        f"{poll_url}/trustees",
        {"file": (io.BytesIO(json.dumps(forged).encode()), "gia.pub.json")},
        token_from=poll_url,
    )
    assert bad.status_code in (400, 409) and "không hợp lệ" in text(bad)
    not_json = post(
        client,
        f"{poll_url}/trustees",
        {"file": (io.BytesIO(b"\xff not json"), "x.pub.json")},
        token_from=poll_url,
    )
    assert not_json.status_code == 400 and "không phải JSON" in text(not_json)
    twice = post(client, f"{poll_url}/trustees", {"file": pub_file(keys[0])}, token_from=poll_url)
    assert twice.status_code == 409 and "đã được đăng ký" in text(twice)

    with app.app_context():
        third = db.get_session().scalar(select(Trustee.id).where(Trustee.name.like("%3")))
    remove = f"{poll_url}/trustees/{third}/remove"
    assert key_fingerprint(keys[2].public.public_key.encode()) in page(client, remove)
    assert post(client, remove, token_from=remove).status_code == 302
    shown = page(client, poll_url)
    assert "Đã bỏ Thành viên Ban kiểm phiếu 3 khỏi Ban kiểm phiếu" in shown
    assert key_fingerprint(keys[2].public.public_key.encode()) not in shown

    # Opening before any credential exists is refused, and the poll stays a draft.
    refused = post(client, f"{poll_url}/open", token_from=f"{poll_url}/open")
    assert refused.status_code == 409 and "thẻ biểu quyết" in text(refused)

    # The Board's list (minted offline, tally credentials mint) is imported; the server never
    # sees a secret. Refused, with nothing stored: another poll's list, a forged signature, more
    # slips than the poll's members, a file that is not JSON.
    with app.app_context():
        uid, other_uid, members = (
            db.get_session().get_one(Poll, 2).uid,
            db.get_session().get_one(Poll, 3).uid,
            db.get_session().get_one(Poll, 2).members,
        )
    authority = AuthorityKey.generate()
    before = snapshot(app)

    def upload_list(document: Any) -> TestResponse:
        data = document if isinstance(document, bytes) else json.dumps(document).encode()
        return post(
            client,
            f"{poll_url}/credentials",
            {"file": (io.BytesIO(data), "credentials.json")},
            token_from=poll_url,
        )

    foreign, _, _ = mint(authority, other_uid, 4, 1)
    response = upload_list(foreign)
    assert response.status_code == 400 and "cuộc biểu quyết khác" in text(response)
    forged, _, _ = mint(authority, uid, 4, 1)
    forged["signature"] = forged["signature"][:-2] + (
        "00" if forged["signature"][-2:] != "00" else "11"
    )
    response = upload_list(forged)
    assert response.status_code == 400 and "chữ ký của Ban Tổ chức" in text(response)
    too_many, _, _ = mint(authority, uid, members + 1, 0)
    response = upload_list(too_many)
    assert response.status_code == 409 and "nhiều hơn" in text(response)
    response = upload_list(b"\xff not json")
    assert response.status_code == 400 and "không phải JSON" in text(response)
    assert snapshot(app) == before
    document, slips, spare = mint(authority, uid, 4, 1)
    response = upload_list(document)
    assert response.status_code == 302, text(response)
    credentials = slips + spare
    codes = [c.code for c in credentials]
    with app.app_context():
        stored = set(
            db.get_session().scalars(select(Credential.public_key).where(Credential.poll_id == 2))
        )
    assert stored == {c.public_key.hex() for c in credentials}
    dump = json.dumps(snapshot(app), ensure_ascii=False)
    for code in codes:
        plain = code.replace("-", "")
        for secret in (code, plain, plain.lower(), base64.b32decode(plain + "======").hex()):
            assert secret not in dump
    shown = page(client, poll_url)
    assert 'id="issued">5<' in shown and 'id="listed">4 / 1<' in shown
    assert f'id="authority-fp">{authority.fingerprint}<' in shown
    assert f'id="poll-uid">{uid}<' in shown
    assert codes[0] not in shown

    # Open, after a confirmation page that says what will be fixed.
    confirm = page(client, f"{poll_url}/open")
    assert "không thể sửa nữa" in confirm and "Mở cuộc biểu quyết" in confirm
    # The rule set is a template the province has not confirmed: the page says so and asks
    # for an acknowledgement; without it the poll stays a draft and nothing is logged.
    assert 'id="rules-notice"' in confirm and 'name="acknowledge_rules"' in confirm
    before = snapshot(app)
    refused = post(client, f"{poll_url}/open", token_from=f"{poll_url}/open")
    assert refused.status_code == 409 and "chưa được tỉnh xác nhận" in text(refused)
    assert snapshot(app) == before
    opened = post(
        client, f"{poll_url}/open", {"acknowledge_rules": "y"}, token_from=f"{poll_url}/open"
    )
    assert opened.status_code == 302
    shown = page(client, poll_url)
    with app.app_context():
        row = db.get_session().get_one(Poll, 2)
        fingerprint = row.fingerprint
    assert row.state == "open" and fingerprint and shown_hex(shown, "fingerprint") == fingerprint
    expected = commitment(c.public_key for c in credentials)
    assert f'id="commitment">{expected}<' in shown
    assert 'id="list-form"' not in shown and 'id="trustee-form"' not in shown
    assert 'id="attendance-form"' in shown
    assert "/polls/2/board" in shown

    # The dashboard and its JSON: ballots cast against credentials issued, never a count of votes.
    dashboard = page(client, f"{poll_url}/dashboard")
    assert "<progress" in dashboard and "dashboard.js" in dashboard
    assert "/polls/2/board" in dashboard
    assert re.search(r"<script(?![^>]*\bsrc=)", dashboard) is None  # no inline script
    assert " style=" not in dashboard and " onclick=" not in dashboard
    status = client.get(f"{poll_url}/status")
    assert status.status_code == 200 and "no-store" in status.headers["Cache-Control"]
    present = status.get_json()["present"]
    assert status.get_json() == {
        "state": "open",
        "issued": 5,
        "cast": 0,
        "voided": 0,
        "present": present,
        "members": members,
    }
    manifest_response = client.get("/api/polls/2/manifest")
    from tally.manifest import parse_manifest

    ctx = parse_manifest(json.loads(manifest_response.data)).context
    for k in (0, 1):
        ballot = encrypt_ballot(ctx, credentials[k], [1])
        cast = client.post(
            "/api/polls/2/ballots", data=json.dumps(ballot), content_type="application/json"
        )
        assert cast.status_code == 201
    assert client.get(f"{poll_url}/status").get_json() == {
        "state": "open",
        "issued": 5,
        "cast": 2,
        "voided": 0,
        "present": present,
        "members": members,
    }
    assert 'id="cast">2<' in page(client, f"{poll_url}/dashboard")

    # The number present while open: never below the ballots cast, never above the members.
    before = snapshot(app)
    for wrong in ("1", str(members + 1)):
        response = post(client, f"{poll_url}/attendance", {"present": wrong}, token_from=poll_url)
        assert response.status_code == 409 and "Số có mặt phải từ 2" in text(response), wrong
    assert snapshot(app) == before
    response = post(client, f"{poll_url}/attendance", {"present": "2"}, token_from=poll_url)
    assert response.status_code == 302
    shown = page(client, poll_url)
    assert f'id="present">2 / {members}<' in shown and 'id="attendance-entries">2<' in shown
    # A third ballot would be more than the members present: refused, the slip unused.
    ballot = encrypt_ballot(ctx, credentials[2], [1])
    cast = client.post(
        "/api/polls/2/ballots", data=json.dumps(ballot), content_type="application/json"
    )
    assert cast.status_code == 409 and cast.get_json()["error"]["code"] == "over_attendance"
    assert client.get(f"{poll_url}/status").get_json()["cast"] == 2

    # Close, after a confirmation; the board head is shown; unused credentials are voided.
    assert "Không thể mở lại" in page(client, f"{poll_url}/close")
    closed = post(client, f"{poll_url}/close", token_from=f"{poll_url}/close")
    assert closed.status_code == 302
    shown = page(client, poll_url)
    with app.app_context():
        head = db.get_session().get_one(Poll, 2).board_head
    assert head and shown_hex(shown, "board-head") == head
    assert 'id="count-link"' in shown and 'id="close-poll"' not in shown
    assert "3 thẻ biểu quyết chưa dùng" in shown  # the flash message
    assert client.get(f"{poll_url}/status").get_json() == {
        "state": "closed",
        "issued": 5,
        "cast": 2,
        "voided": 3,
        "present": 2,
        "members": members,
    }
    again = post(client, f"{poll_url}/close", token_from=poll_url)
    assert again.status_code == 409
    assert actions(app)[-9:] == [
        "trustee.add",
        "trustee.add",
        "trustee.add",
        "trustee.remove",
        "credentials.import",
        "poll.acknowledge_rules",
        "poll.open",
        "attendance.change",
        "poll.close",
    ]


# --- refusals ------------------------------------------------------------------------------------


def test_every_form_is_refused_without_its_csrf_token(
    operator_client: FlaskClient, conference: Flask
) -> None:
    key = TrusteeKey.generate("Thành viên")
    forms: list[tuple[str, dict[str, Any]]] = [
        ("/operator/conferences/new", CONFERENCE),
        ("/operator/conferences/import", {"file": (EXAMPLE.read_bytes(), "a.toml")}),
        ("/operator/conferences/1/edit", {**CONFERENCE}),
        (
            "/operator/conferences/1/polls/new",
            {"title": "X", "rules_id": "qd124-2023", "members": "5", "present": "5"},
        ),
        (
            "/operator/polls/1/edit",
            {"title": "X", "rules_id": "qd124-2023", "members": "5", "present": "5"},
        ),
        ("/operator/polls/1/subjects/new", {"name": "X", "kind": "individual"}),
        ("/operator/polls/1/subjects/1/edit", {"name": "X", "kind": "individual"}),
        ("/operator/polls/1/subjects/1/delete", {}),
        ("/operator/polls/1/subjects/1/move/down", {}),
        ("/operator/polls/1/trustees", {"file": (pub_bytes(key), "t.pub.json")}),
        ("/operator/polls/1/trustees/1/remove", {}),
        ("/operator/polls/1/credentials", {"count": "3"}),
        ("/operator/polls/1/open", {}),
        ("/operator/polls/1/close", {}),
    ]
    # A trustee to remove, so that the remove form has something to act on.
    pub = Path(conference.instance_path) / "t.pub.json"
    pub.write_text(json.dumps(TrusteeKey.generate("T").public.to_json()), encoding="utf-8")
    run(conference, "trustee", "add", "1", str(pub))
    before = snapshot(conference)
    for path, data in forms:
        for token in (None, "not-a-valid-token"):
            body = {
                k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in data.items()
            }
            if token:
                body["csrf_token"] = token
            response = operator_client.post(path, data=body)
            assert response.status_code == 400, path
            assert CSRF_MESSAGE in text(response), path
            assert "nothing was changed" in text(response), path
            assert "Content-Disposition" not in response.headers
    assert snapshot(conference) == before


def test_an_open_poll_cannot_be_edited(operator_client: FlaskClient, poll: OpenPoll) -> None:
    client, app = operator_client, poll.app
    shown = page(client, "/operator/polls/1")
    assert "không sửa được nữa" in shown
    for absent in ('id="edit-poll"', 'id="add-subject"', "/subjects/1/edit", 'id="list-form"'):
        assert absent not in shown
    assert 'id="dashboard-link"' in shown and 'id="close-poll"' in shown
    for path in (
        "/operator/polls/1/edit",
        "/operator/polls/1/subjects/new",
        "/operator/polls/1/subjects/1/edit",
        "/operator/polls/1/subjects/1/delete",
        "/operator/polls/1/open",
        "/operator/conferences/1/edit",
    ):
        refused = page(client, path, 409)
        assert "đã mở hoặc đã đóng" in refused and "already been opened or closed" in refused
    before = snapshot(app)
    key = TrusteeKey.generate("Muộn")
    for path, data in (
        (
            "/operator/polls/1/edit",
            {"title": "Đổi tên", "rules_id": "qd124-2023", "members": "15", "present": "15"},
        ),
        ("/operator/polls/1/subjects/new", {"name": "Thêm muộn", "kind": "individual"}),
        ("/operator/polls/1/subjects/1/edit", {"name": "Đổi tên", "kind": "individual"}),
        ("/operator/polls/1/subjects/1/delete", {}),
        ("/operator/polls/1/subjects/2/move/up", {}),
        ("/operator/polls/1/trustees", {"file": pub_file(key)}),
        ("/operator/polls/1/trustees/1/remove", {}),
        ("/operator/polls/1/credentials", {"file": (io.BytesIO(b"{}"), "credentials.json")}),
        ("/operator/polls/1/open", {}),
        ("/operator/conferences/1/edit", {**CONFERENCE}),
    ):
        response = post(client, path, data, token_from="/operator/polls/1")
        assert response.status_code == 409, (path, text(response)[:500])
        assert "đã mở hoặc đã đóng" in text(response), path
        assert "Content-Disposition" not in response.headers
    assert snapshot(app) == before
    # The other polls of the conference are still drafts: a new poll can still be added.
    assert page(client, "/operator/polls/2").count('id="edit-poll"') == 1


def test_unknown_ids_are_404_pages(operator_client: FlaskClient, conference: Flask) -> None:
    for path in (
        "/operator/conferences/99",
        "/operator/polls/99",
        "/operator/polls/99/dashboard",
        "/operator/polls/1/subjects/999/edit",
        "/operator/polls/2/subjects/1/edit",  # subject 1 belongs to poll 1
    ):
        response = page(operator_client, path, 404)
        assert "Không tìm thấy" in response
    assert operator_client.get("/operator/polls/99/status").status_code == 404


# --- the same steps on the command line ---------------------------------------------------------


def test_setup_commands(app: Flask, tmp_path: Path) -> None:
    out = run(
        app,
        "conference",
        "create",
        "--title",
        "Hội nghị thử",
        "--body",
        "Ban Thường vụ Tỉnh ủy",
        "--date",
        "2024-12-20",
        "--members",
        "15",
        "--present",
        "15",
    )
    assert "Hội nghị / conference 1: Hội nghị thử" in out
    assert "Phòng họp" in run(app, "conference", "edit", "1", "--place", "Phòng họp")
    out = run(app, "poll", "create", "1", "--title", "Phiếu thử", "--rules", "qd366-2025")
    assert "poll 1 [draft]: Phiếu thử" in out and "members 15" in out
    run(app, "subject", "add", "1", "--name", "Đảng bộ tỉnh", "--kind", "organization")
    run(
        app,
        "subject",
        "add",
        "1",
        "--name",
        "Nguyễn Văn A",
        "--kind",
        "individual",
        "--heads",
        "dang-bo-tinh",
    )
    run(
        app,
        "subject",
        "edit",
        "1",
        "nguyen-van-a",
        "--role",
        "Bí thư",
        "--discipline",
        "duty_violation",
    )
    run(app, "subject", "move", "1", "nguyen-van-a", "up")
    out = run(app, "poll", "show", "1")
    assert "1. nguyen-van-a: Nguyễn Văn A, Bí thư [individual]" in out
    assert "heads=dang-bo-tinh" in out and "discipline=duty_violation" in out
    refused = app.test_cli_runner().invoke(args=["subject", "delete", "1", "dang-bo-tinh"])
    assert refused.exit_code == 1 and "refer(s) to it" in refused.output
    run(app, "subject", "edit", "1", "nguyen-van-a", "--heads", "")
    run(app, "subject", "delete", "1", "dang-bo-tinh")
    key = TrusteeKey.generate("Thành viên 1")
    pub = tmp_path / "t.pub.json"
    pub.write_text(json.dumps(key.public.to_json()), encoding="utf-8")
    run(app, "trustee", "add", "1", str(pub))
    fingerprint = key_fingerprint(key.public.public_key.encode())
    assert f"#1 Thành viên 1 ({fingerprint})" in run(app, "poll", "show", "1")
    run(app, "trustee", "remove", "1", "1")
    assert "Thành viên 1" not in run(app, "poll", "show", "1")
    bad = app.test_cli_runner().invoke(args=["poll", "edit", "1", "--present", "16"])
    assert bad.exit_code == 1 and "more than the incumbent members" in bad.output
    assert "Phiếu thử" in run(app, "conference", "list")
    assert actions(app) == [
        "conference.create",
        "conference.update",
        "poll.create",
        "subject.add",
        "subject.add",
        "subject.update",
        "subject.move",
        "subject.update",
        "subject.delete",
        "trustee.add",
        "trustee.remove",
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_pages_render_in_both_languages(
    operator_client: FlaskClient, conference: Flask, lang: str
) -> None:
    operator_client.get(f"/lang/{lang}")
    for path in (
        "/operator/",
        "/operator/conferences/1",
        "/operator/conferences/new",
        "/operator/conferences/import",
        "/operator/polls/1",
        "/operator/polls/1/subjects/new",
        "/operator/polls/1/subjects/1/edit",
        "/operator/polls/1/open",
        "/operator/polls/1/dashboard",
        "/operator/audit",
    ):
        shown = page(operator_client, path)
        assert re.search(r"<script(?![^>]*\bsrc=)", shown) is None, path
        assert " style=" not in shown, path
