"""Public, server-rendered pages: the bulletin board, the counting record and the results.

Vietnamese first, English second. No script: the results' charts are inline SVG rendered here.

- ``GET /polls/<id>/board``: the board (title, state, head, tracking codes) and a search by code.
  Never a count or a grade: the board shows only what the public board JSON shows.
- ``GET /polls/<id>/record``: the printable A4 counting record, rendered from the stored bundle's
  ``record.json`` (409 before ``count finish``).
- ``GET /polls/<id>/results``: one bar chart per subject for a projector (409 before finish).
- ``GET /``: the home page: every conference with its polls' public pages, and the operator login.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ballot import db
from ballot.models import Ballot, Conference, Poll, PollCount
from ballot.services.attendance import attendance_entries
from ballot.services.counting import stored_bundle
from ballot.services.fields import KIND_NAMES
from ballot.services.polls import get_poll
from ballot.services.rounds import next_round_of
from tally.ballots import tracking_code
from tally.bundle import read_bundle
from tally.canonical import parse_json, sha256_hex
from tally.manifest import EXCLUSION_REASONS
from tally.record import key_fingerprint
from tally.results import percent, render_texts
from tally.rules import UNDETERMINED_EN, UNDETERMINED_VI

# The service's stylesheets and scripts (ballot/static/), also at /public-static/ for public pages.
STATIC = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("public", __name__, static_folder=STATIC, static_url_path="/public-static")

STATES: dict[str, tuple[str, str]] = {
    "draft": ("Chưa mở", "not opened"),
    "open": ("Đang mở", "open"),
    "closed": ("Đã đóng", "closed"),
}
DENOMINATORS: dict[str, tuple[str, str]] = {
    "valid": ("Số phiếu hợp lệ (trừ phiếu để trống)", "valid ballots (blanks excluded)"),
    "cast": ("Số phiếu thu về", "ballots cast"),
    "present": ("Số thành viên có mặt", "members present"),
    "members": ("Tổng số thành viên", "incumbent members"),
}
KIND_ORDER = {"organization": 0, "collective": 1, "individual": 2}  # subordinate organizations: 3
CODE_RE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")


def _finished(poll_id: int) -> bool:
    finished = db.get_session().scalar(
        select(PollCount.finished_at).where(PollCount.poll_id == poll_id)
    )
    return finished is not None


def normalise_code(text: str) -> str:
    """Upper case, spaces dropped, dashes put back every four characters."""
    bare = re.sub(r"[\s-]", "", text).upper()
    return "-".join(bare[i : i + 4] for i in range(0, len(bare), 4))


@bp.get("/")
def home() -> str:
    """Every conference (newest first) with each poll's state and public pages."""
    session = db.get_session()
    conferences = session.scalars(
        select(Conference).order_by(Conference.date.desc(), Conference.id.desc())
    ).all()
    counted = set(
        session.scalars(select(PollCount.poll_id).where(PollCount.finished_at.is_not(None)))
    )
    return render_template("home.html", conferences=conferences, counted=counted, states=STATES)


@bp.get("/polls/<id:poll_id>/board")
def board(poll_id: int) -> str:
    poll = get_poll(db.get_session(), poll_id)
    rows = db.get_session().execute(
        select(Ballot.position, Ballot.tracking_hash, Ballot.commitment)
        .where(Ballot.poll_id == poll_id)
        .order_by(Ballot.position)
    )
    entries = [
        (position, tracking_code(bytes.fromhex(th)), commitment or "")
        for position, th, commitment in rows
    ]
    query = request.args.get("code", "")[:100]
    search: dict[str, Any] | None = None
    if query.strip():
        code = normalise_code(query)
        found = next((pos for pos, c, _ in entries if c == code), None)
        search = {"code": code, "valid": bool(CODE_RE.match(code)), "position": found}
    return render_template(
        "board.html",
        poll=poll,
        later_round=next_round_of(db.get_session(), poll_id),
        state=STATES.get(poll.state, (poll.state, poll.state)),
        entries=entries,
        search=search,
        query=query,
        finished=_finished(poll_id),
        commitment=_commitment(poll),
        authority=_authority(poll),
        attendance=attendance_entries(db.get_session(), poll_id),
        # An adoption poll and the poll it adopts link to each other.
        adopted_by=db.get_session().scalars(select(Poll).where(Poll.adopts_id == poll_id)).all(),
    )


def _commitment(poll: Poll) -> str | None:
    """The credential commitment fixed in the manifest at opening (None before)."""
    if poll.manifest is None:
        return None
    manifest = parse_json(poll.manifest.encode("utf-8"))
    return str(manifest["election"]["credentials"]["commitment"])


VOID_VI = "Không có giá trị (biểu quyết lại)"
VOID_EN = "Void (vote again)"


def _authority(poll: Poll) -> str | None:
    """The fingerprint of the authority that signed the credential list (version 2, once open)."""
    if poll.manifest is None:
        return None
    credentials = parse_json(poll.manifest.encode("utf-8"))["election"]["credentials"]
    return (
        key_fingerprint(bytes.fromhex(credentials["authority"]))
        if "authority" in credentials
        else None
    )


def _counted(poll_id: int) -> tuple[Poll, dict[str, Any], dict[str, bytes]]:
    poll = get_poll(db.get_session(), poll_id)
    files = read_bundle(stored_bundle(db.get_session(), poll_id))
    return poll, parse_json(files["record.json"]), files


def _grades(files: dict[str, bytes]) -> list[dict[str, str]]:
    manifest = parse_json(files["manifest.json"])
    grades = manifest["election"]["rules"]["grades"]
    return [
        # The names come from the poll's own (fingerprinted) rule set, never from a copy here.
        {"code": g["code"], "vi": g["name_vi"], "en": g["name_en"]}
        for g in grades
    ]


def _percent(text: str) -> str:
    return f"{text.replace('.', ',')} %"


def record_order(subjects: list[dict[str, Any]], links: dict[str, list[str]]) -> list[int]:
    """Indexes of ``subjects`` in the record's order: the party organization (the Đảng bộ tỉnh),
    the leading collective, the members, then subordinate organizations; ballot order within each.

    ``links`` maps a subject's key to the keys it names in ``heads`` / ``part_of``. The main
    organization is one that a subject of the poll heads or is part of; with no such link, the
    first organization on the ballot. Every other organization counts as subordinate.
    """
    organizations = [s["key"] for s in subjects if s["kind"] == "organization"]
    linked = {ref for refs in links.values() for ref in refs}
    main = {key for key in organizations if key in linked} or set(organizations[:1])

    def rank(index: int) -> int:
        subject = subjects[index]
        if subject["kind"] == "organization":
            return 0 if subject["key"] in main else 3
        return KIND_ORDER.get(subject["kind"], len(KIND_ORDER))

    return sorted(range(len(subjects)), key=rank)


def _subjects(
    record: dict[str, Any], grades: list[dict[str, str]], files: dict[str, bytes]
) -> list[dict[str, Any]]:
    manifest = parse_json(files["manifest.json"])
    links = {
        s["key"]: [ref for ref in (s.get("heads"), s.get("part_of")) if ref]
        for s in manifest["election"]["subjects"]
    }
    rows = [record["subjects"][i] for i in record_order(record["subjects"], links)]
    names = {g["code"]: g for g in grades}
    void = bool(record.get("void"))
    out = []
    for s in rows:
        value = s["denominator_value"]
        bars = []
        for g, n, pct in zip(grades, s["counts"], s["percentages"], strict=True):
            bars.append(
                {
                    "grade": g,
                    "count": n,
                    "percent": _percent(pct),
                    "fraction": (n / value) if value else 0.0,
                }
            )
        code = s["grade"]
        out.append(
            {
                **s,
                "kind_name": KIND_NAMES.get(s["kind"], (s["kind"], s["kind"])),
                "bars": bars,
                "grade_vi": names[code]["vi"] if code else (VOID_VI if void else UNDETERMINED_VI),
                "grade_en": names[code]["en"] if code else (VOID_EN if void else UNDETERMINED_EN),
                "denominator_name": DENOMINATORS.get(
                    s["denominator"], (s["denominator"], s["denominator"])
                ),
            }
        )
    return out


def vi_number(value: Any) -> str:
    """A decimal as Vietnamese write it: a decimal comma ("44,44")."""
    return str(value).replace(".", ",")


def vi_moment(text: object) -> dict[str, str]:
    """An ISO 8601 local time's parts for the record's sentences: "9 giờ 30 phút, ngày 20
    tháng 12 năm 2026" (the record's times carry their offset: no zone is applied)."""
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:  # an old record's time that is not ISO 8601: leave it to be written in
        return {"time": "… giờ … phút", "date": "ngày … tháng … năm …"}
    return {
        "time": f"{moment.hour} giờ {moment.minute:02d} phút",
        "date": f"ngày {moment.day:02d} tháng {moment.month:02d} năm {moment.year}",
    }


def vi_date_line(place: str, iso_date: object) -> str:
    """The party document's place and date line: "Đồng Nai, ngày 20 tháng 12 năm 2026"."""
    prefix = f"{place}, " if place else ""
    try:
        day = dt.date.fromisoformat(str(iso_date))
    except ValueError:  # a conference without a date (the manifest's conference is free-form)
        return f"{prefix}ngày … tháng … năm …"
    return f"{prefix}ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


EXCLUSION_VI = {key: vi for key, (vi, _en) in EXCLUSION_REASONS.items()}


def _record_view(poll_id: int) -> dict[str, Any]:
    poll, rec, files = _counted(poll_id)
    grades = _grades(files)
    manifest = parse_json(files["manifest.json"])
    subjects = _subjects(rec, grades, files)
    by_key = {s["key"]: s for s in manifest["election"]["subjects"]}
    members = int(rec["attendance"]["members"])
    for s in subjects:
        info = by_key.get(s["key"], {})
        s["role"] = info.get("role", "")
        s["info"] = info
        s["members_percent"] = [vi_number(percent(n, members)) for n in s["counts"]]
        s["code"] = rec.get("result_codes", {}).get(s["key"], "")
    document = rec.get("document") or {}
    started = document.get("counting_started_at") or rec["created_at"]
    adopted = None
    if rec.get("adopts"):
        adopted = db.get_session().scalar(select(Poll).where(Poll.uid == rec["adopts"]["poll_uid"]))
    adopted_by = db.get_session().scalars(select(Poll).where(Poll.adopts_id == poll.id)).all()
    earlier = None
    if rec.get("round"):
        uid = rec["round"]["previous"]["poll_uid"]
        earlier = db.get_session().scalar(select(Poll).where(Poll.uid == uid))
    return {
        "earlier_round": earlier,
        "later_round": next_round_of(db.get_session(), poll.id),
        "poll": poll,
        "record": rec,
        "grades": grades,
        "subjects": subjects,
        "record_sha256": sha256_hex(files["record.json"]),
        "linked": parse_json(files["result.json"]).get("linked"),
        # The sentences are rendered from the signed facts (docs/rules.md); none is signed.
        "texts": render_texts(rec),
        "adoption": manifest["election"]["rules"].get("decision_rule") == "adoption_majority",
        "started": vi_moment(started),
        "finished": vi_moment(rec["created_at"]),
        "date_line": vi_date_line(
            rec["conference"].get("place_name", ""), rec["conference"].get("date", "")
        ),
        "exclusion_vi": EXCLUSION_VI,
        "adopted_poll": adopted,
        "adopted_by": adopted_by,
        "vi_number": vi_number,
    }


@bp.get("/polls/<id:poll_id>/record")
def record(poll_id: int) -> str:
    """The counting record in party-document form: the official copy, Vietnamese only."""
    return render_template("record.html", **_record_view(poll_id))


@bp.get("/polls/<id:poll_id>/record/en")
def record_en(poll_id: int) -> str:
    """The same record with an English translation beside each line (not the official copy)."""
    return render_template("record_en.html", **_record_view(poll_id))


# How the grade follows from the counts, in one line (docs/rules.md, "Decision", "Adoption").
RULE_LINES: dict[str, tuple[str, str]] = {
    "majority_then_cumulative": (
        "Mức xếp loại là mức cao nhất có trên một nửa số phiếu (mẫu số); nếu không mức nào đạt,"
        " cộng dồn số phiếu từ mức cao nhất xuống, mức xếp loại là mức mà tổng cộng dồn vượt quá"
        " một nửa.",
        "The grade is the best grade with more than half the votes (the denominator); if none has,"
        " votes are added from the best grade down, and the grade is the one where the sum passes"
        " half.",
    ),
    "adoption_majority": (
        "Thông qua khi số phiếu tán thành nhiều hơn một nửa mẫu số.",
        "Adopted when the votes for are more than half the denominator.",
    ),
}
SCREEN_ROWS = 8  # subjects on one projector screen at 1920x1080
SCREEN_SECONDS = 20  # each screen shows this long before the next


@bp.get("/polls/<id:poll_id>/results/screen")
def results_screen(poll_id: int) -> str:
    """The projector's summary: the conference, the poll, one table (subject, grade, counts) of
    at most SCREEN_ROWS subjects a screen, the screens in turn, and one line saying how the
    grade follows from the counts."""
    poll, rec, files = _counted(poll_id)
    grades = _grades(files)
    subjects = _subjects(rec, grades, files)
    screens = max(1, -(-len(subjects) // SCREEN_ROWS))
    raw = request.args.get("screen", "1")
    screen = int(raw) if raw.isdigit() and len(raw) < 4 and 1 <= int(raw) <= screens else 1
    rule = parse_json(files["manifest.json"])["election"]["rules"].get(
        "decision_rule", "majority_then_cumulative"
    )
    conference = rec["conference"]
    return render_template(
        "results_screen.html",
        poll=poll,
        record=rec,
        grades=grades,
        rows=subjects[(screen - 1) * SCREEN_ROWS : screen * SCREEN_ROWS],
        first=(screen - 1) * SCREEN_ROWS,
        screen=screen,
        screens=screens,
        seconds=SCREEN_SECONDS,
        rule_line=RULE_LINES.get(rule, (rule, rule)),
        conference_title=conference.get("title", ""),
        conference_date=vi_date_line(
            conference.get("place_name") or conference.get("place", ""), conference.get("date", "")
        ),
    )


@bp.get("/polls/<id:poll_id>/results")
def results(poll_id: int) -> str:
    poll, rec, files = _counted(poll_id)
    grades = _grades(files)
    return render_template(
        "results.html",
        poll=poll,
        record=rec,
        grades=grades,
        subjects=_subjects(rec, grades, files),
    )
