"""The printable A4 sheet of credential slips, made on the Organization Board's laptop.

``tally credentials mint`` renders it offline (docs/operator-guide.md, step 3): each slip holds a
QR code of its payload ``tally-slip/1`` (docs/protocol.md: a short text, the poll's uid and the
code, never a URL, which the tablet's browser would keep in its history; the booth page reads it
with the camera) and the typable code. The regular slips and the reserve slips are each shuffled
with the operating system's randomness, so the sheet's order says nothing about the order of the
public list (sorted by key). This sheet is the only place the secrets ever exist.

``qrcode`` and ``jinja2`` are the optional extra ``tally[authority]``: an auditor's install of
tally has neither, so they are imported only here, when a sheet is made.
"""

from __future__ import annotations

import importlib.resources
import re
import secrets
from collections.abc import Sequence
from typing import Any, Literal

from tally.authority import is_poll_uid
from tally.credentials import Credential, CredentialError

# Two columns of four: eight slips and the header fit one A4 page (templates/slips.html), and
# the sheet is cut into pages by hand, so no slip is ever split by the printer's page break.
SLIPS_PER_PAGE = 8
# The distribution is ballot-rating (PyPI's "tally" is another project): install from the source.
INSTALL_HINT = "pip install '.[authority]'"


class SlipsUnavailable(RuntimeError):
    """The optional extra (qrcode, jinja2) that renders the sheet is not installed."""


def require_extra() -> None:
    """Raise ``SlipsUnavailable`` unless the sheet can be rendered; call it before minting."""
    try:
        import jinja2  # noqa: F401
        import qrcode.image.svg  # noqa: F401
    except ImportError as exc:
        raise SlipsUnavailable(f"{exc.name or 'qrcode'} is missing: {INSTALL_HINT}") from None


# tally-slip/1 (docs/protocol.md): every character is in the QR alphanumeric set (0-9, A-Z, space,
# $%*+-./:), so the code is a small alphanumeric-mode QR code.
SLIP_PREFIX = "TALLY-SLIP/1:"
# Only ASCII whitespace is trimmed, as js/tally/slip.js trims it: both readers agree on every text.
_SPACE = " \t\n\r\f\v"
_UID_HEX = re.compile(r"[0-9A-Fa-f]{32}")
_CODE = re.compile(r"[A-Z2-7]{26}")

SlipErrorKind = Literal["not-slip", "bad-slip"]


class SlipPayloadError(ValueError):
    """A scanned text that is not a slip (``not-slip``) or a damaged slip (``bad-slip``).

    The message never quotes the text: a slip's payload holds its secret code."""

    def __init__(self, kind: SlipErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: SlipErrorKind = kind


def slip_payload(poll_uid: str, code: str) -> str:
    """The QR code's content: ``TALLY-SLIP/1:`` + the uid in uppercase hex + ``:`` + the code
    without dashes (a code in its display form, ``ABCD-EFGH-…``, is accepted)."""
    if not is_poll_uid(poll_uid.lower()):
        raise ValueError("a poll uid is 32 hexadecimal digits")
    plain = code.replace("-", "")
    if not _CODE.fullmatch(plain):
        raise CredentialError("a credential code has 26 letters A-Z and digits 2-7")
    Credential.from_code(plain)  # the 2 unused bits: the same rule as a typed code
    return f"{SLIP_PREFIX}{poll_uid.upper()}:{plain}"


def parse_slip_payload(text: str) -> tuple[str, str]:
    """``(poll_uid, code)`` of a scanned slip: the uid in lowercase hex, the code as its 26
    characters without dashes. ``SlipPayloadError`` for any other text."""
    body = text.strip(_SPACE)
    if not body.startswith(SLIP_PREFIX):
        raise SlipPayloadError("not-slip", "this QR code is not a tally slip")
    fields = body[len(SLIP_PREFIX) :].split(":")
    if len(fields) != 2 or not _UID_HEX.fullmatch(fields[0]) or not _CODE.fullmatch(fields[1]):
        raise SlipPayloadError("bad-slip", "this slip's QR code is damaged or incomplete")
    uid, code = fields
    try:
        Credential.from_code(code)
    except CredentialError:
        raise SlipPayloadError("bad-slip", "this slip's QR code is damaged or incomplete") from None
    return uid.lower(), code


def _qr_svg(payload: str) -> str:
    """The QR code of a slip payload, in alphanumeric mode (refused if the text does not fit)."""
    import qrcode
    import qrcode.image.svg
    import qrcode.util

    qr = qrcode.QRCode(
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    # check_data: qrcode raises rather than fall back to byte mode for a character outside the set.
    qr.add_data(qrcode.util.QRData(payload, mode=qrcode.util.MODE_ALPHA_NUM))
    qr.make(fit=True)
    return str(qr.make_image().to_string(encoding="unicode"))


def _pages(slips: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [slips[i : i + SLIPS_PER_PAGE] for i in range(0, len(slips), SLIPS_PER_PAGE)]


def render_slips(
    *,
    poll_uid: str,
    title: str | None,
    booth_url: str | None = None,
    slips: Sequence[Credential],
    reserve: Sequence[Credential],
    fingerprint: str,
) -> str:
    """The HTML sheet: the slips, then the reserve slips from a new page, each set shuffled.

    ``booth_url``, if given, is only printed in each page's header, for the operator who opens
    the booth page on a tablet; the QR codes never hold it."""
    require_extra()
    import jinja2
    from markupsafe import Markup

    rng = secrets.SystemRandom()
    regular, spare = list(slips), list(reserve)
    rng.shuffle(regular)
    rng.shuffle(spare)
    entries: list[dict[str, Any]] = []
    for number, (cred, is_reserve) in enumerate(
        [(c, False) for c in regular] + [(c, True) for c in spare], start=1
    ):
        entries.append(
            {
                "number": number,
                "code": cred.code,
                # Made by qrcode from the uid and code alone: markup with no text of the user's.
                "qr": Markup(_qr_svg(slip_payload(poll_uid, cred.code))),
                "reserve": is_reserve,
            }
        )
    source = importlib.resources.files("tally").joinpath("templates/slips.html")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(source.read_text(encoding="utf-8"))
    return template.render(
        poll_uid=poll_uid,
        title=title or "",
        booth_url=booth_url,
        count=len(regular),
        reserve=len(spare),
        fingerprint=fingerprint,
        pages=_pages(entries[: len(regular)]) + _pages(entries[len(regular) :]),
    )
