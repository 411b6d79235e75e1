"""The Board's summary of a conference (issue 18, first part): one table of every counted poll's
results, read from the signed records in the stored audit bundles, and the same table as an XLSX
workbook (openpyxl) for the report upward (43-HD/BTCTW: the dossier goes to the Central
Organization Board).

Only what the signed ``record.json`` says is written: the poll, each subject in the record's
order with its post, the grade, the counts per grade, the blanks and the warnings that name it;
then the warnings across the conference's counted polls (the excellent ceiling of a peer group
graded in several polls). Polls not counted yet are listed as such, never guessed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot.models import Conference, Poll, PollCount
from ballot.services.counting import conference_checks
from ballot.services.errors import NotFound, ServiceError
from tally.bundle import read_bundle
from tally.canonical import parse_json
from tally.results import render_texts

UNDETERMINED = "Chưa xác định"


@dataclass(frozen=True)
class Row:
    key: str
    poll: int
    poll_title: str
    number: int
    name: str
    role: str
    grade_code: str
    grade: str
    counts: tuple[int, ...]
    blank: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    conference: str
    body: str
    date: str
    grades: tuple[tuple[str, str], ...]  # (code, Vietnamese name), the first counted poll's
    rows: tuple[Row, ...]
    not_counted: tuple[str, ...]
    across: tuple[str, ...] = field(default_factory=tuple)


def conference_summary(session: Session, conference_id: int) -> Summary:
    """Every counted poll's rows, in the conference's order; a refusal if none is counted."""
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
    polls = session.scalars(
        select(Poll).where(Poll.conference_id == conference_id).order_by(Poll.position)
    ).all()
    bundles = {
        poll_id: data
        for poll_id, data in session.execute(
            select(PollCount.poll_id, PollCount.bundle).where(
                PollCount.poll_id.in_([p.id for p in polls]), PollCount.bundle.is_not(None)
            )
        ).all()
        if data is not None
    }
    if not bundles:
        raise ServiceError(
            409,
            "nothing_counted",
            "Chưa có cuộc biểu quyết nào của hội nghị được kiểm phiếu xong: chưa có gì để tổng"
            " hợp; không có tệp nào được tạo.",
            "No poll of the conference is counted yet: there is nothing to sum up; no file was"
            " made.",
        )
    rows: list[Row] = []
    grades: tuple[tuple[str, str], ...] = ()
    later = {p.previous_round_id: p for p in polls if p.previous_round_id is not None}
    not_counted = []
    for poll in polls:
        if poll.previous_round_id is not None:
            continue  # a later round: its rows replace its first round's, below
        data = bundles.get(poll.id)
        if data is None:
            not_counted.append(poll.title)
            continue
        poll_rows, poll_grades = _poll_rows(poll.position, data)
        grades = grades or poll_grades
        # The last counted round decides: each later round's rows replace the earlier ones.
        step = later.get(poll.id)
        while step is not None:
            step_data = bundles.get(step.id)
            if step_data is None:
                not_counted.append(step.title)
                break
            newer, _ = _poll_rows(poll.position, step_data)
            replaced = {r.key: r for r in newer}
            poll_rows = [
                replace(replaced[r.key], number=r.number) if r.key in replaced else r
                for r in poll_rows
            ]
            step = later.get(step.id)
        rows.extend(poll_rows)
    return Summary(
        conference=conference.title,
        body=conference.body,
        date=conference.date.strftime("%d/%m/%Y"),
        grades=grades,
        rows=tuple(rows),
        not_counted=tuple(not_counted),
        across=tuple(t.vi for t in conference_checks(session, conference_id)),
    )


def _poll_rows(position: int, data: bytes) -> tuple[list[Row], tuple[tuple[str, str], ...]]:
    """One counted poll's rows, from the signed record in its bundle, and its grades."""
    rows: list[Row] = []
    files = read_bundle(data)
    record = parse_json(files["record.json"])
    manifest = parse_json(files["manifest.json"])
    poll_grades = [(g["code"], g["name_vi"]) for g in manifest["election"]["rules"]["grades"]]
    names = dict(poll_grades)
    roles = {s["key"]: s.get("role", "") for s in manifest["election"]["subjects"]}
    texts = render_texts(record)
    for number, subject in enumerate(record["subjects"], start=1):
        code = subject["grade"] or ""
        warned = tuple(
            text.vi
            for w, text in zip(record["warnings"], texts.warnings, strict=False)
            if subject["key"] in w.get("subjects", [])
        )
        rows.append(
            Row(
                key=subject["key"],
                poll=position,
                poll_title=record["poll"]["title"],
                number=number,
                name=subject["name"],
                role=roles.get(subject["key"], ""),
                grade_code=code,
                grade=names.get(code, UNDETERMINED) if code else UNDETERMINED,
                counts=tuple(int(c) for c in subject["counts"]),
                blank=int(subject["blank"]),
                warnings=warned,
            )
        )
    return rows, tuple(poll_grades)


HEADER = ("Cuộc", "Cuộc biểu quyết", "STT", "Đối tượng", "Chức vụ", "Mã mức", "Kết quả")


def summary_xlsx(summary: Summary) -> bytes:
    """The summary as an XLSX workbook: the title rows, one row per subject, then the polls not
    counted and the warnings across polls."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tong hop"
    sheet.append([f"TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI — {summary.conference}"])
    sheet.append([f"{summary.body}, ngày {summary.date}"])
    sheet.append([])
    header = [*HEADER, *(code for code, _name in summary.grades), "Để trống", "Cảnh báo"]
    sheet.append(header)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in summary.rows:
        sheet.append(
            [
                row.poll,
                row.poll_title,
                row.number,
                row.name,
                row.role,
                row.grade_code,
                row.grade,
                *row.counts,
                row.blank,
                "\n".join(row.warnings) or None,
            ]
        )
    sheet["A1"].font = Font(bold=True, size=13)
    for column, width in zip("ABCDEFG", (6, 40, 5, 36, 30, 10, 28), strict=True):
        sheet.column_dimensions[column].width = width
    for cells in sheet.iter_rows(min_row=5):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if summary.not_counted:
        sheet.append([])
        sheet.append(["Chưa kiểm phiếu:", "; ".join(summary.not_counted)])
    if summary.across:
        sheet.append([])
        sheet.append(["Cảnh báo giữa các cuộc biểu quyết:"])
        for text in summary.across:
            sheet.append(["", text])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_as_lists(summary: Summary) -> list[list[Any]]:
    """The data rows as the workbook holds them (for checks)."""
    return [
        [
            r.poll,
            r.poll_title,
            r.number,
            r.name,
            r.role,
            r.grade_code,
            r.grade,
            *r.counts,
            r.blank,
            "\n".join(r.warnings) or None,
        ]
        for r in summary.rows
    ]
