"""Errors a user sees: a stable code, a Vietnamese and an English message, an HTTP status."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Raised by the service layer; the web and CLI layers show it, nothing else."""

    def __init__(self, status: int, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status = status
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message_vi": self.message_vi,
                "message_en": self.message_en,
            }
        }

    def __str__(self) -> str:
        return f"{self.message_vi} / {self.message_en}"


class NotFound(ServiceError):
    def __init__(self, what_vi: str, what_en: str) -> None:
        super().__init__(404, "not_found", f"Không tìm thấy {what_vi}.", f"No such {what_en}.")


class CastError(ServiceError):
    """A ballot was refused. Nothing was stored and no credential was used."""


def malformed(detail: str) -> CastError:
    return CastError(
        400,
        "malformed_ballot",
        f"Phiếu không hợp lệ: {detail}",
        f"The ballot is not valid: {detail}",
    )


def too_large(limit: int) -> CastError:
    return CastError(
        413,
        "too_large",
        f"Phiếu quá lớn (tối đa {limit // 1024} KiB).",
        f"The ballot is too large (at most {limit // 1024} KiB).",
    )


def poll_not_open(state: str) -> CastError:
    vi = {"draft": "chưa mở", "closed": "đã đóng"}.get(state, state)
    en = {"draft": "has not opened yet", "closed": "is closed"}.get(state, state)
    return CastError(409, "poll_not_open", f"Cuộc biểu quyết {vi}.", f"The poll {en}.")


def unknown_credential() -> CastError:
    return CastError(
        403,
        "unknown_credential",
        "Thẻ biểu quyết không thuộc cuộc biểu quyết này.",
        "This credential is not valid for this poll.",
    )


def voided_credential() -> CastError:
    return CastError(
        403,
        "voided_credential",
        "Thẻ biểu quyết này đã bị hủy.",
        "This credential has been voided.",
    )


def used_credential() -> CastError:
    return CastError(
        409,
        "credential_used",
        "Thẻ biểu quyết này đã được dùng để bỏ phiếu.",
        "This credential has already been used to cast a ballot.",
    )


def challenged_ballot() -> CastError:
    return CastError(
        409,
        "challenged_ballot",
        "Phiếu này đã được kiểm tra (lộ lựa chọn) nên không thể bỏ; hãy mã hóa lại phiếu. "
        "Thẻ biểu quyết chưa bị dùng.",
        "This ballot was challenged (its choices were revealed), so it cannot be cast; encrypt "
        "the ballot again. The credential is still unused.",
    )


def over_attendance(present: int) -> CastError:
    return CastError(
        409,
        "over_attendance",
        f"Số phiếu đã bằng số đồng chí có mặt ({present}): không nhận thêm phiếu. Phiếu xác"
        " thực của đồng chí chưa bị dùng; xin báo Ban Tổ chức ghi thêm người có mặt.",
        f"The ballots already equal the members present ({present}): no more ballots are"
        " accepted. Your slip is not used; ask the Organization Board to record the arrival.",
    )


def write_conflict() -> CastError:
    return CastError(
        409,
        "write_conflict",
        "Xung đột khi ghi phiếu; phiếu chưa được ghi, xin thử lại.",
        "A write conflict occurred; the ballot was not stored, please retry.",
    )


def database_unavailable() -> CastError:
    return CastError(
        503,
        "database_unavailable",
        "Cơ sở dữ liệu tạm thời không sẵn sàng; phiếu chưa được ghi, xin thử lại.",
        "The database is temporarily unavailable; the ballot was not stored, please retry.",
    )


def csrf_refused() -> ServiceError:
    """A form posted without its CSRF token, or with an expired one: nothing was changed."""
    return ServiceError(
        400,
        "csrf",
        "Biểu mẫu thiếu mã bảo vệ hoặc mã đã hết hạn; không có gì thay đổi. Hãy tải lại trang"
        " rồi thử lại.",
        "The form's protection token is missing or has expired; nothing was changed. Reload the"
        " page and try again.",
    )
