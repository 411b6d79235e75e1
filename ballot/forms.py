"""The operator's web forms (Flask-WTF: every form carries a CSRF token).

The forms check only the shape of what was typed (a number is a number, a required field is not
empty), with Vietnamese messages; the rules themselves (draft only, present <= members, a subject's
references) are checked once, by the service functions in ``ballot.polls``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields import DateField as _DateField
from wtforms.fields import IntegerField as _IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ballot.polls import KEY_MAX, MAX_MINT, TEXT_MAX

try:  # WTForms >= 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None

REQUIRED = lazy_gettext("Cần điền mục này.")


def choice(value: str, label: Any) -> Any:
    """One ``<option>`` of a SelectField, for any WTForms 3 release."""
    return (value, label) if SelectChoice is None else SelectChoice(value=value, label=label)


MAX_UPLOAD = 512 * 1024


class IntegerField(_IntegerField):  # type: ignore[misc]
    """An ``<input type=number>`` whose parse error is in the interface's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError:
            self.data = None
            raise ValueError(lazy_gettext("Cần một số nguyên.")) from None


class DateField(_DateField):  # type: ignore[misc]
    """An ``<input type=date>`` (YYYY-MM-DD) whose parse error is in the interface's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(str(valuelist[0]).strip())
        except ValueError:
            self.data = None
            raise ValueError(
                lazy_gettext("Cần một ngày theo dạng NNNN-TT-NN (năm-tháng-ngày).")
            ) from None


def _text(label: Any, *, required: bool = True, max_len: int = TEXT_MAX) -> StringField:
    first = DataRequired(message=REQUIRED) if required else Optional()
    too_long = lazy_gettext("Tối đa %(n)d ký tự.", n=max_len)
    return StringField(label, validators=[first, Length(max=max_len, message=too_long)])


def _count(label: Any, minimum: int, maximum: int = 1_000_000) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(message=REQUIRED),
            NumberRange(
                min=minimum,
                max=maximum,
                message=lazy_gettext("Cần một số từ %(lo)d đến %(hi)d.", lo=minimum, hi=maximum),
            ),
        ],
    )


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """A button alone (open, close, delete, move): only the CSRF token."""


class ConferenceForm(FlaskForm):  # type: ignore[misc]
    title = _text(lazy_gettext("Tên hội nghị"))
    body = _text(lazy_gettext("Cơ quan biểu quyết (ví dụ: Ban Thường vụ Tỉnh ủy)"))
    date = DateField(lazy_gettext("Ngày họp"), validators=[InputRequired(message=REQUIRED)])
    place = _text(lazy_gettext("Địa điểm"), required=False)
    members = _count(lazy_gettext("Tổng số thành viên đương nhiệm"), 1)
    present = _count(lazy_gettext("Số thành viên có mặt"), 0)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in CONFERENCE_FORM_FIELDS}


CONFERENCE_FORM_FIELDS = ("title", "body", "date", "place", "members", "present")


class ImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Tệp hội nghị (.toml)"),
        validators=[
            FileRequired(message=lazy_gettext("Chọn một tệp .toml.")),
            FileSize(MAX_UPLOAD, message=lazy_gettext("Tệp quá lớn (tối đa 512 KiB).")),
        ],
    )


class PollForm(FlaskForm):  # type: ignore[misc]
    title = _text(lazy_gettext("Tên cuộc biểu quyết (tiêu đề phiếu)"))
    rules_id = SelectField(lazy_gettext("Bộ quy tắc"), validators=[InputRequired(message=REQUIRED)])
    members = _count(lazy_gettext("Số người được biểu quyết"), 1)
    present = _count(lazy_gettext("Số người có mặt"), 0)

    def values(self) -> dict[str, Any]:
        return {
            name: getattr(self, name).data for name in ("title", "rules_id", "members", "present")
        }


KIND_CHOICES = [
    choice("individual", lazy_gettext("Cá nhân")),
    choice("collective", lazy_gettext("Tập thể")),
    choice("organization", lazy_gettext("Tổ chức")),
]


class SubjectForm(FlaskForm):  # type: ignore[misc]
    name = _text(lazy_gettext("Tên đối tượng"))
    key = _text(
        lazy_gettext("Mã đối tượng (để trống: tạo từ tên)"), required=False, max_len=KEY_MAX
    )
    role = _text(lazy_gettext("Chức vụ"), required=False)
    kind = SelectField(lazy_gettext("Loại đối tượng"), choices=KIND_CHOICES)
    peer_group = _text(
        lazy_gettext("Nhóm so sánh (tỷ lệ xuất sắc)"), required=False, max_len=KEY_MAX
    )
    heads = SelectField(lazy_gettext("Người đứng đầu của (tổ chức/tập thể)"), validate_choice=False)
    part_of = SelectField(lazy_gettext("Tập thể lãnh đạo của (tổ chức)"), validate_choice=False)
    disciplined = BooleanField(lazy_gettext("Bị kỷ luật trong năm"))

    def values(self, *, with_key: bool) -> dict[str, Any]:
        names = ["name", "role", "kind", "peer_group", "heads", "part_of", "disciplined"]
        if with_key:
            names.append("key")
        values = {name: getattr(self, name).data for name in names}
        for name in ("peer_group", "heads", "part_of", "key"):
            if name in values:
                values[name] = (values[name] or "").strip() or None
        return values


class TrusteeForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Tệp khóa công khai (.pub.json)"),
        validators=[
            FileRequired(message=lazy_gettext("Chọn tệp .pub.json của thành viên.")),
            FileSize(MAX_UPLOAD, message=lazy_gettext("Tệp quá lớn (tối đa 512 KiB).")),
        ],
    )


class MintForm(FlaskForm):  # type: ignore[misc]
    count = _count(lazy_gettext("Số phiếu xác thực cần tạo"), 1, MAX_MINT)
