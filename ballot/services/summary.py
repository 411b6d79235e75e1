"""The Board's summary (issue 18): one table of every counted poll's results, per conference and
across the conferences of one review, read from the signed records in the stored audit bundles;
shown as a printable A4 page and written as an XLSX workbook (openpyxl) for the report upward
(43-HD/BTCTW: the dossier goes to the Central Organization Board before 01/02).

Only what the signed ``record.json`` says is written: the poll, each subject in the record's order
with its post, the grade, the counts under each grade's code (an adoption poll has its own two
choices), the blanks, the warnings that name it and its result code; then the warnings across the
conference's counted polls (the excellent ceiling of a peer group graded in several polls). A
subject voted again in a later round (``ballot poll next-round``) takes that round's row, in its
place: the last counted round decides. Polls not counted yet are listed as such, never guessed.

A review is the conferences held for one year's review (``review_summary``): those named, or those
whose date falls in the year (``conferences_of_year``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot.models import Conference, Poll, PollCount, PollRound
from ballot.services.counting import conference_checks
from ballot.services.errors import NotFound, ServiceError
from tally.bundle import read_bundle
from tally.canonical import parse_json
from tally.results import render_texts

UNDETERMINED = "Chưa xác định"
TITLE = "TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG"
FONT = "Times New Roman"


@dataclass(frozen=True)
class Row:
    key: str
    poll: int  # the position of the (first-round) poll in its conference
    poll_title: str  # the title of the poll whose record gives the row (a later round's)
    number: int
    name: str
    role: str
    grade_code: str
    grade: str
    counts: dict[str, int]  # by grade code, as the record's poll names its grades
    blank: int
    warnings: tuple[str, ...]
    code: str  # the record's result code (docs/protocol.md 16.3)
    round: int = 1
    first_title: str = ""  # the first round's title (the row's group)


@dataclass(frozen=True)
class Summary:
    conference_id: int
    conference: str
    body: str
    date: str
    grades: tuple[tuple[str, str], ...]  # (code, Vietnamese name) of every counted poll, in order
    rows: tuple[Row, ...]
    not_counted: tuple[str, ...]
    across: tuple[str, ...] = field(default_factory=tuple)
    superior_body: str = ""
    issuing_body: str = ""


def _nothing_counted(what_vi: str, what_en: str) -> ServiceError:
    return ServiceError(
        409,
        "nothing_counted",
        f"Chưa có cuộc biểu quyết nào {what_vi} được kiểm phiếu xong: chưa có gì để tổng hợp;"
        " không có tệp nào được tạo.",
        f"No poll {what_en} is counted yet: there is nothing to sum up; no file was made.",
    )


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
        raise _nothing_counted("của hội nghị", "of the conference")
    rows: list[Row] = []
    grades: dict[str, str] = {}
    rounds = dict(
        session.execute(
            select(PollRound.previous_id, PollRound.poll_id).where(
                PollRound.poll_id.in_([p.id for p in polls])
            )
        ).all()
    )
    by_id = {p.id: p for p in polls}
    later = {earlier: by_id[poll_id] for earlier, poll_id in rounds.items()}
    is_later = set(rounds.values())
    not_counted = []
    for poll in polls:
        if poll.id in is_later:
            continue  # a later round: its rows replace its first round's, below
        data = bundles.get(poll.id)
        if data is None:
            not_counted.append(poll.title)
            continue
        poll_rows = _poll_rows(poll.position, data, grades)
        # The last counted round decides: each later round's rows replace the earlier ones.
        step, number = later.get(poll.id), 2
        while step is not None:
            step_data = bundles.get(step.id)
            if step_data is None:
                not_counted.append(step.title)
                break
            replaced = {r.key: r for r in _poll_rows(poll.position, step_data, grades)}
            poll_rows = [
                replace(replaced[r.key], number=r.number, round=number, first_title=r.first_title)
                if r.key in replaced
                else r
                for r in poll_rows
            ]
            step, number = later.get(step.id), number + 1
        rows.extend(poll_rows)
    return Summary(
        conference_id=conference.id,
        conference=conference.title,
        body=conference.body,
        date=conference.date.strftime("%d/%m/%Y"),
        grades=tuple(grades.items()),
        rows=tuple(rows),
        not_counted=tuple(not_counted),
        across=tuple(t.vi for t in conference_checks(session, conference_id)),
        superior_body=conference.superior_body,
        issuing_body=conference.issuing_body,
    )


def _poll_rows(position: int, data: bytes, grades: dict[str, str]) -> list[Row]:
    """One counted poll's rows, from the signed record in its bundle; adds its grades."""
    files = read_bundle(data)
    record = parse_json(files["record.json"])
    manifest = parse_json(files["manifest.json"])
    poll_grades = [(g["code"], g["name_vi"]) for g in manifest["election"]["rules"]["grades"]]
    for code, name in poll_grades:
        grades.setdefault(code, name)
    names = dict(poll_grades)
    roles = {s["key"]: s.get("role", "") for s in manifest["election"]["subjects"]}
    codes = record.get("result_codes", {})
    texts = render_texts(record)
    rows = []
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
                counts={
                    c: int(n) for (c, _), n in zip(poll_grades, subject["counts"], strict=True)
                },
                blank=int(subject["blank"]),
                warnings=warned,
                code=str(codes.get(subject["key"], "")),
                first_title=record["poll"]["title"],
            )
        )
    return rows


def conferences_of_year(session: Session, year: int) -> list[int]:
    """The conferences of one year's review: those dated in that year."""
    return list(
        session.scalars(
            select(Conference.id)
            .where(Conference.date >= dt.date(year, 1, 1), Conference.date <= dt.date(year, 12, 31))
            .order_by(Conference.date, Conference.id)
        ).all()
    )


def review_summary(session: Session, conference_ids: Sequence[int]) -> list[Summary]:
    """The summaries of a review's conferences; those with nothing counted are left out, and a
    refusal if none has anything counted (or none is named)."""
    if not conference_ids:
        raise ServiceError(
            400,
            "no_conference",
            "Chưa chọn hội nghị nào của đợt đánh giá.",
            "No conference of the review was chosen.",
        )
    out = []
    for conference_id in dict.fromkeys(conference_ids):
        try:
            out.append(conference_summary(session, conference_id))
        except ServiceError as exc:
            if exc.code != "nothing_counted":
                raise
    if not out:
        raise _nothing_counted("của các hội nghị đã chọn", "of the chosen conferences")
    return out


HEADER = ("Cuộc", "Cuộc biểu quyết", "STT", "Đối tượng", "Chức vụ", "Mã mức", "Kết quả")


def _cells(row: Row, grades: Sequence[tuple[str, str]]) -> list[Any]:
    return [
        row.poll,
        row.poll_title,
        row.number,
        row.name,
        row.role,
        row.grade_code,
        row.grade,
        *(row.counts.get(code) for code, _ in grades),
        row.blank,
        "\n".join(row.warnings) or None,
        row.code or None,
    ]


def summary_xlsx(summaries: Summary | Sequence[Summary], review: str = "") -> bytes:
    """The summary as an XLSX workbook: the title rows, one row per subject (a review's first
    column names the conference), then the polls not counted and the warnings across polls."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Border, Font, Side  # type: ignore[import-untyped]

    many = not isinstance(summaries, Summary)
    items = list(summaries) if not isinstance(summaries, Summary) else [summaries]
    grades: dict[str, str] = {}
    for s in items:
        for code, name in s.grades:
            grades.setdefault(code, name)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tong hop"
    if many:
        sheet.append([f"{TITLE} — {review or 'các hội nghị'}"])
        sheet.append([f"{len(items)} hội nghị"])
    else:
        sheet.append([f"{TITLE} — {items[0].conference}"])
        sheet.append([f"{items[0].body}, ngày {items[0].date}"])
    sheet.append([])
    lead = ["Hội nghị"] if many else []
    sheet.append([*lead, *HEADER, *grades, "Để trống", "Cảnh báo", "Mã kết quả"])
    for s in items:
        for row in s.rows:
            sheet.append([*([s.conference] if many else []), *_cells(row, list(grades.items()))])
    sheet["A1"].font = Font(name=FONT, bold=True, size=13)
    widths = ([22] if many else []) + [5, 30, 4, 24, 20, 9, 18]
    widths += [8] * len(grades) + [7, 36, 11]
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=4, column=n).column_letter].width = width
    for s in items:
        where = f" ({s.conference})" if many else ""
        if s.not_counted:
            sheet.append([])
            sheet.append([f"Chưa kiểm phiếu{where}:"])
            for title in s.not_counted:
                sheet.append(["", title])
        if s.across:
            sheet.append([])
            sheet.append([f"Cảnh báo giữa các cuộc biểu quyết{where}:"])
            for text in s.across:
                sheet.append(["", text])
    # A font with every Vietnamese letter (party documents are set in Times New Roman; Debian's
    # LibreOffice substitutes Liberation Serif), wrapped cells, and row heights from the longest
    # wrapped cell: LibreOffice does not grow a row that openpyxl leaves without a height.
    last = 4 + sum(len(s.rows) for s in items)  # the header and the data rows; the notes flow
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        lines = 1
        for cell in cells:
            bold = number in (1, 4)
            cell.font = Font(name=FONT, bold=bold, size=13 if number == 1 else 10)
            if 4 <= number <= last:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                cell.border = Border(*(Side(style="thin"),) * 4)
                width = widths[cell.column - 1] if cell.column <= len(widths) else 10
                text = "" if cell.value is None else str(cell.value)
                wrapped = sum(
                    max(1, -(-len(part) // max(1, int(width * 1.1)))) for part in text.split("\n")
                )
                lines = max(lines, wrapped)
        if 4 <= number <= last:
            sheet.row_dimensions[number].height = 14 * lines
    sheet.print_title_rows = "4:4"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
