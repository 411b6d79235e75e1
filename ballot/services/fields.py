"""Each field of a conference, a poll and a subject, declared once, and the checks they share.

A :class:`Field` names its attribute (also its form field, conference-file key and audit-log key),
its short name in both languages (refusals, ``--help``), its form label (Vietnamese; English in
the interface catalogue), its type and limits. The services check values with
:meth:`Field.check`; the web builds its forms (``ballot.web.forms``), the CLI its options
(``ballot.cli.common``), the conference file its keys (``conference_file``) and the audit page its
labels from the same declarations. Cross-field rules (present <= members, who may head whom) stay
with the service that owns them. Every refusal is :class:`ServiceError` 400 ``bad_field`` naming
the field in both languages.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ballot.services.errors import ServiceError
from tally.results import DISCIPLINE_FLAGS, KINDS, parse_score
from tally.rules import list_rulesets


def N_(message: str) -> str:
    """Marks a Vietnamese interface string for the catalogue (``make translations`` extracts
    ``N_``); the web translates it when it shows it."""
    return message


TEXT_MAX = 500
KEY_MAX = 100
KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def bad(field_vi: str, field_en: str, problem_vi: str, problem_en: str) -> ServiceError:
    return ServiceError(
        400, "bad_field", f"{field_vi}: {problem_vi}.", f"{field_en}: {problem_en}."
    )


def has_control_characters(value: str) -> bool:
    """A name or title is one line of printable text: control characters (a NUL byte, which
    PostgreSQL refuses; a line break inside a printed name) are refused on every path alike."""
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def one_line(
    value: Any, field_vi: str, field_en: str, *, required: bool = True, max_len: int = TEXT_MAX
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad(field_vi, field_en, "phải là chuỗi ký tự", "must be text")
    value = value.strip()
    if has_control_characters(value):
        raise bad(
            field_vi, field_en, "có ký tự điều khiển không hợp lệ", "holds a control character"
        )
    if required and not value:
        raise bad(field_vi, field_en, "không được để trống", "must not be empty")
    if len(value) > max_len:
        raise bad(field_vi, field_en, f"tối đa {max_len} ký tự", f"at most {max_len} characters")
    return str(value)


def optional(value: Any, field_vi: str, field_en: str, max_len: int = KEY_MAX) -> str | None:
    line = one_line(value, field_vi, field_en, required=False, max_len=max_len)
    return line or None


def check_electorate(members: int, present: int) -> None:
    """Present is at most the members (each already checked as a count)."""
    if present > members:
        raise ServiceError(
            400,
            "bad_field",
            f"Số thành viên có mặt ({present}) lớn hơn tổng số thành viên ({members}).",
            f"Members present ({present}) is more than the incumbent members ({members}).",
        )


def rules_id(value: Any) -> str:
    known = list_rulesets()
    if value not in known:
        raise ServiceError(
            400,
            "bad_field",
            f"Bộ quy tắc {value!r} không có; các bộ có sẵn: {', '.join(known)}.",
            f"No rule set {value!r}; the shipped ones are: {', '.join(known)}.",
        )
    return str(value)


def known(values: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """``values`` as a dict, if every name in it is one of ``allowed``."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:  # a programming error, not a user's
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    return dict(values)


def apply_changes(row: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set the changed attributes; return them (JSON-ready) for the audit log."""
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed[name] = value.isoformat() if isinstance(value, dt.date) else value
    return changed


FieldType = Literal[
    "text",
    "key",
    "ref",
    "count",
    "date",
    "bool",
    "kind",
    "rules",
    "score",
    "grade",
    "flags",
    "refs",
]

# The discipline flags (tally.results.DISCIPLINE_FLAGS) with their names.
FLAG_NAMES: dict[str, tuple[str, str]] = {
    "duty_violation": (
        N_("Cá nhân bị kỷ luật (từ khiển trách) do vi phạm chức trách, nhiệm vụ"),
        "person disciplined for a duty-related violation",
    ),
    "member_disciplined": (
        N_("Tập thể có thành viên bị kỷ luật do vi phạm chức trách, nhiệm vụ"),
        "collective with a member so disciplined",
    ),
    "self_remedied": (
        N_("Vi phạm do tự phát hiện, khắc phục"),
        "self-detected and remedied",
    ),
}
assert tuple(FLAG_NAMES) == tuple(DISCIPLINE_FLAGS)
_GRADE_RE = re.compile(r"[A-Z][A-Z0-9_]*")


def _listed(value: Any) -> list[str]:
    """A list given as a list or as one comma-separated line."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise TypeError(value)


# The kinds of subject (tally.results.KINDS, which the manifest checks), with their names.
KIND_NAMES: dict[str, tuple[str, str]] = {
    "individual": (N_("Cá nhân"), "individual"),
    "collective": (N_("Tập thể"), "collective"),
    "organization": (N_("Tổ chức"), "organization"),
}
assert tuple(KIND_NAMES) == KINDS


@dataclass(frozen=True)
class Field:
    name: str  # attribute, form field, conference-file key, audit-log key
    vi: str  # short name in a refusal and in --help
    en: str
    type: FieldType
    label: str  # the form's label (Vietnamese; English in the catalogue)
    short: str  # the audit log's name for it (Vietnamese; English in the catalogue)
    required: bool = True
    minimum: int = 0  # counts
    default: Any = None  # what a missing optional count is

    @property
    def max_len(self) -> int:
        return KEY_MAX if self.type in ("key", "ref") else TEXT_MAX

    @property
    def option(self) -> str:
        """The command-line option: ``--peer-group``; the rule set is ``--rules``."""
        return "--rules" if self.type == "rules" else "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """The value as stored, or :class:`ServiceError` naming the field."""
        if self.type in ("text", "key", "ref"):
            if self.required:
                return one_line(value, self.vi, self.en, max_len=self.max_len)
            if self.type == "text":
                return one_line(value, self.vi, self.en, required=False, max_len=self.max_len)
            return optional(value, self.vi, self.en, self.max_len)
        if self.type == "count":
            if value is None and self.default is not None:
                return self.default
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(
                    self.vi, self.en, "phải là số nguyên không âm", "must be a whole number >= 0"
                )
            if value < self.minimum:
                raise bad(
                    self.vi, self.en, f"ít nhất là {self.minimum}", f"at least {self.minimum}"
                )
            return value
        if self.type == "date":
            if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
                raise bad(
                    self.vi, self.en, "cần một ngày (YYYY-MM-DD)", "expected a date (YYYY-MM-DD)"
                )
            return value
        if self.type == "bool":
            value = False if value is None else value
            if not isinstance(value, bool):
                raise bad(self.vi, self.en, "phải là có hoặc không", "must be true or false")
            return value
        if self.type == "kind":
            if not isinstance(value, str) or value not in KIND_NAMES:
                raise bad(
                    self.vi,
                    self.en,
                    "phải là cá nhân, tập thể hoặc tổ chức",
                    "must be individual, collective or organization",
                )
            return value
        if self.type == "score":
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            try:
                return parse_score(value)
            except ValueError:
                raise bad(
                    self.vi,
                    self.en,
                    "phải là số điểm từ 0 đến 100, tối đa hai chữ số thập phân (ví dụ 92,5)",
                    "must be points from 0 to 100 with at most two decimals (e.g. 92.5)",
                ) from None
        if self.type == "grade":
            line = optional(value, self.vi, self.en)
            if line is not None and not _GRADE_RE.fullmatch(line):
                raise bad(
                    self.vi,
                    self.en,
                    "phải là mã một mức (ví dụ HTTNV)",
                    "must be a grade code (e.g. HTTNV)",
                )
            return line
        if self.type in ("flags", "refs"):
            try:
                items = _listed(value)
            except TypeError:
                raise bad(self.vi, self.en, "phải là một danh sách", "must be a list") from None
            for item in items:
                if self.type == "flags" and item not in FLAG_NAMES:
                    raise bad(
                        self.vi,
                        self.en,
                        f"{item!r} không phải một trong {', '.join(FLAG_NAMES)}",
                        f"{item!r} is not one of {', '.join(FLAG_NAMES)}",
                    )
                if self.type == "refs" and not KEY_RE.fullmatch(item):
                    raise bad(
                        self.vi,
                        self.en,
                        f"{item!r} không phải mã đối tượng",
                        f"{item!r} is not a subject key",
                    )
            return ",".join(sorted(set(items)))
        return rules_id(value)


def check_all(fields: tuple[Field, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared field of ``values``, checked (a missing one is checked as None)."""
    return {f.name: f.check(values.get(f.name)) for f in fields}


def names(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


def field(fields: tuple[Field, ...], name: str) -> Field:
    return next(f for f in fields if f.name == name)


def _members(label: str) -> Field:
    return Field(
        "members",
        "Tổng số thành viên",
        "Incumbent members",
        "count",
        label,
        N_("tổng số thành viên"),
        minimum=1,
    )


def _present(label: str) -> Field:
    return Field("present", "Số thành viên có mặt", "Members present", "count", label, N_("có mặt"))


CONFERENCE: tuple[Field, ...] = (
    Field("title", "Tên hội nghị", "Title", "text", N_("Tên hội nghị"), N_("tên")),
    Field(
        "body",
        "Cơ quan biểu quyết",
        "Deciding body",
        "text",
        N_("Cơ quan biểu quyết (ví dụ: Ban Thường vụ Tỉnh ủy)"),
        N_("cơ quan biểu quyết"),
    ),
    Field("date", "Ngày họp", "Date", "date", N_("Ngày họp"), N_("ngày")),
    Field("place", "Địa điểm", "Place", "text", N_("Địa điểm"), N_("địa điểm"), required=False),
    _members(N_("Tổng số thành viên đương nhiệm")),
    _present(N_("Số thành viên có mặt")),
    # The counting record's party-document header.
    Field(
        "superior_body",
        "Tổ chức đảng cấp trên",
        "Superior body",
        "text",
        N_("Tổ chức đảng (dòng đầu tiêu đề, ví dụ: ĐẢNG BỘ TỈNH ĐỒNG NAI)"),
        N_("tổ chức đảng"),
        required=False,
    ),
    Field(
        "issuing_body",
        "Cơ quan ban hành",
        "Issuing body",
        "text",
        N_("Cơ quan ban hành biên bản (ví dụ: BAN THƯỜNG VỤ TỈNH ỦY)"),
        N_("cơ quan ban hành"),
        required=False,
    ),
    Field(
        "doc_symbol",
        "Ký hiệu văn bản",
        "Document symbol",
        "text",
        N_("Ký hiệu số biên bản (ví dụ: BB/TU)"),
        N_("ký hiệu"),
        required=False,
    ),
    Field(
        "place_name",
        "Địa danh",
        "Place name",
        "text",
        N_("Địa danh ghi ở dòng ngày tháng (ví dụ: Đồng Nai)"),
        N_("địa danh"),
        required=False,
    ),
    Field(
        "session",
        "Kỳ họp",
        "Session",
        "text",
        N_("Hội nghị lần thứ, khóa (ví dụ: Hội nghị lần thứ 5 Ban Thường vụ Tỉnh ủy khóa I)"),
        N_("kỳ họp"),
        required=False,
    ),
    Field(
        "copies",
        "Số bản",
        "Copies",
        "count",
        N_("Biên bản lập thành số bản"),
        N_("số bản"),
        required=False,
        minimum=1,
        default=3,
    ),
)

POLL: tuple[Field, ...] = (
    Field(
        "title",
        "Tên cuộc biểu quyết",
        "Title",
        "text",
        N_("Tên cuộc biểu quyết (tiêu đề phiếu)"),
        N_("tên"),
    ),
    Field("rules_id", "Bộ quy tắc", "Rule set", "rules", N_("Bộ quy tắc"), N_("bộ quy tắc")),
    _members(N_("Số người được biểu quyết")),
    _present(N_("Số người có mặt")),
)

SUBJECT: tuple[Field, ...] = (
    Field(
        "key",
        "Mã đối tượng",
        "Key",
        "key",
        N_("Mã đối tượng (để trống: tạo từ tên)"),
        N_("mã"),
        required=False,
    ),
    Field("name", "Tên đối tượng", "Name", "text", N_("Tên đối tượng"), N_("tên")),
    Field("role", "Chức vụ", "Role", "text", N_("Chức vụ"), N_("chức vụ"), required=False),
    Field("kind", "Loại đối tượng", "Kind", "kind", N_("Loại đối tượng"), N_("loại")),
    Field(
        "peer_group",
        "Nhóm so sánh",
        "Peer group",
        "key",
        N_("Nhóm so sánh (tỷ lệ xuất sắc)"),
        N_("nhóm so sánh"),
        required=False,
    ),
    Field(
        "heads",
        "Đứng đầu đơn vị",
        "Heads",
        "ref",
        N_("Người đứng đầu của (tổ chức/tập thể)"),
        N_("đứng đầu"),
        required=False,
    ),
    Field(
        "part_of",
        "Lãnh đạo tổ chức",
        "Leads",
        "ref",
        N_("Tập thể lãnh đạo của (tổ chức)"),
        N_("lãnh đạo"),
        required=False,
    ),
    Field(
        "responsible_for",
        "Đơn vị phụ trách",
        "Responsible for",
        "refs",
        N_("Các đơn vị được phân công phụ trách (mã, cách nhau bởi dấu phẩy)"),
        N_("phụ trách"),
        required=False,
    ),
    Field(
        "discipline",
        "Kỷ luật",
        "Discipline",
        "flags",
        N_("Kỷ luật trong năm"),
        N_("kỷ luật"),
        required=False,
    ),
    Field(
        "self_score",
        "Điểm tự chấm",
        "Self-score",
        "score",
        N_("Điểm tự chấm (thang 100 điểm)"),
        N_("điểm tự chấm"),
        required=False,
    ),
    Field(
        "self_grade",
        "Mức tự xếp loại",
        "Self-grade",
        "grade",
        N_("Mức tự xếp loại"),
        N_("tự xếp loại"),
        required=False,
    ),
    Field(
        "proposed_grade",
        "Mức đề xuất",
        "Proposed grade",
        "grade",
        N_("Mức đề xuất (của cơ quan tham mưu)"),
        N_("mức đề xuất"),
        required=False,
    ),
)
