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
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField as _DateField
from wtforms.fields import IntegerField as _IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ballot.services import errors
from ballot.services.counting import parse_share
from ballot.services.errors import ServiceError
from ballot.services.fields import (
    CONFERENCE,
    FLAG_NAMES,
    KIND_NAMES,
    POLL,
    SUBJECT,
    TEXT_MAX,
    Field,
)

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


def _count(
    label: Any, minimum: int, maximum: int = 1_000_000, default: int | None = None
) -> IntegerField:
    return IntegerField(
        label,
        default=default,
        validators=[
            InputRequired(message=REQUIRED) if default is None else Optional(),
            NumberRange(
                min=minimum,
                max=maximum,
                message=lazy_gettext("Cần một số từ %(lo)d đến %(hi)d.", lo=minimum, hi=maximum),
            ),
        ],
    )


class RegimeForm(FlaskForm):  # type: ignore[misc]
    """A draft poll's Quy định 366 settings: the poll it adopts (an adoption poll), its peer
    groups with the raised ceiling, its lawful exclusions (one per line, "lý do: họ tên")."""

    adopts = SelectField(
        lazy_gettext("Thông qua kết quả của cuộc biểu quyết"), validate_choice=False
    )
    outstanding = SelectMultipleField(
        lazy_gettext("Nhóm so sánh được nâng tỷ lệ xuất sắc (đến một phần tư)"),
        validate_choice=False,
    )
    exclusions = TextAreaField(
        lazy_gettext("Không tính vào tổng số (mỗi dòng: lý do: họ tên)"),
        validators=[Length(max=20_000)],
    )


class FlagsField(SelectMultipleField):  # type: ignore[misc]
    """Discipline flags: stored as one comma-separated line, shown as a multiple choice."""

    def process_data(self, value: Any) -> None:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        super().process_data(value)


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """A button alone (open, close, delete, move): only the CSRF token."""


def _form_field(field: Field) -> Any:
    """The form field for a declared field (ballot.services.fields): its label, limits, type."""
    label = lazy_gettext(field.label)
    if field.type in ("text", "key"):
        return _text(label, required=field.required, max_len=field.max_len)
    if field.type == "count":
        return _count(label, field.minimum, default=field.default)
    if field.type == "date":
        return DateField(label, validators=[InputRequired(message=REQUIRED)])
    if field.type == "bool":
        return BooleanField(label)
    if field.type == "kind":
        return SelectField(label, choices=KIND_CHOICES)
    if field.type == "rules":  # the view sets the choices (the shipped rule sets)
        return SelectField(label, validators=[InputRequired(message=REQUIRED)])
    if field.type in ("score", "grade", "refs"):
        return _text(label, required=False, max_len=field.max_len)
    if field.type == "flags":
        return FlagsField(label, choices=FLAG_CHOICES, validate_choice=False)
    return SelectField(label, validate_choice=False)  # "ref": the view sets the choices


class DeclaredForm(FlaskForm):  # type: ignore[misc]
    """A form with one field per declared field of ``FIELDS`` (its subclass says which)."""

    FIELDS: tuple[Field, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.FIELDS:
            setattr(cls, field.name, _form_field(field))

    def values(self, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """What was typed, for the service; an empty key or reference is None."""
        values = {}
        for field in self.FIELDS:
            if field.name in skip:
                continue
            value = getattr(self, field.name).data
            if field.type in ("key", "ref"):
                value = (value or "").strip() or None
            values[field.name] = value
        return values


KIND_CHOICES = [choice(kind, lazy_gettext(vi)) for kind, (vi, _en) in KIND_NAMES.items()]
FLAG_CHOICES = [choice(flag, lazy_gettext(vi)) for flag, (vi, _en) in FLAG_NAMES.items()]


class ConferenceForm(DeclaredForm):
    FIELDS = CONFERENCE


class ImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Tệp hội nghị (.toml)"),
        validators=[
            FileRequired(message=lazy_gettext("Chọn một tệp .toml.")),
            FileSize(MAX_UPLOAD, message=lazy_gettext("Tệp quá lớn (tối đa 512 KiB).")),
        ],
    )


class PollForm(DeclaredForm):
    FIELDS = POLL


class SubjectForm(DeclaredForm):
    FIELDS = SUBJECT


class TrusteeForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Tệp khóa công khai (.pub.json)"),
        validators=[
            FileRequired(message=lazy_gettext("Chọn tệp .pub.json của thành viên.")),
            FileSize(MAX_UPLOAD, message=lazy_gettext("Tệp quá lớn (tối đa 512 KiB).")),
        ],
    )
    post = _text(
        lazy_gettext("Chức vụ (in trên biên bản; người đăng ký đầu tiên là Trưởng ban)"),
        required=False,
    )


class CredentialListForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        lazy_gettext("Danh sách thẻ biểu quyết của Ban Tổ chức (credentials.json)"),
        validators=[
            FileRequired(message=lazy_gettext("Chọn tệp credentials.json do Ban Tổ chức tạo.")),
        ],
    )


class AttendanceForm(FlaskForm):  # type: ignore[misc]
    present = _count(lazy_gettext("Số đồng chí có mặt"), 0)


class ShareForm(FlaskForm):  # type: ignore[misc]
    share = FileField("Tệp phần giải mã", validators=[FileRequired()])


def no_share_file() -> ServiceError:
    return ServiceError(
        400,
        "no_file",
        "Chưa chọn tệp phần giải mã (kết quả của tally trustee decrypt).",
        "No share file was chosen (the output of tally trustee decrypt).",
    )


def read_share_upload(form: ShareForm) -> Any:
    """The uploaded share file, parsed; ``ServiceError`` if there is none or it is not JSON."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise errors.csrf_refused()
        raise no_share_file()
    return parse_share(form.share.data.read())


class PaperVoidForm(FlaskForm):  # type: ignore[misc]
    # The statement the slip's key signed in this browser (void-page.js fills it), or a file.
    statement = HiddenField()
    file = FileField("Tệp lệnh hủy thẻ (tally credentials void)")


class PaperFileForm(FlaskForm):  # type: ignore[misc]
    statement = FileField("Tệp phiếu giấy", validators=[FileRequired()])


def read_paper_upload(form: PaperFileForm, limit: int) -> bytes:
    """The uploaded paper ballot (``tally trustee paper-ballot``) or void statement, as bytes."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise errors.csrf_refused()
        raise ServiceError(
            400,
            "no_file",
            "Chưa chọn tệp (kết quả của tally trustee paper-ballot hoặc tally credentials void).",
            "No file was chosen (the output of tally trustee paper-ballot or tally credentials"
            " void).",
        )
    data: bytes = form.statement.data.read(limit + 1)
    return data


class CeremonyFileForm(FlaskForm):  # type: ignore[misc]
    message = FileField("Tệp phần chia hoặc xác nhận", validators=[FileRequired()])


def read_ceremony_upload(form: CeremonyFileForm) -> bytes:
    """The uploaded dealing or check (``tally trustee deal`` / ``check``), as bytes."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise errors.csrf_refused()
        raise ServiceError(
            400,
            "no_file",
            "Chưa chọn tệp (kết quả của tally trustee deal hoặc tally trustee check).",
            "No file was chosen (the output of tally trustee deal or tally trustee check).",
        )
    data: bytes = form.message.data.read(256 * 1024 + 1)
    return data
