"""The slip payload tally-slip/1 (docs/protocol.md): the vectors against tally.slips, and the
printed sheet, whose QR codes hold the payload and never a URL the tablet would keep in its
history."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import qrcode
import qrcode.util

from tally import slips
from tally.authority import AuthorityKey, mint, new_poll_uid
from tally.credentials import Credential, CredentialError

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "slip_payload.json").read_text(encoding="utf-8")
)
CODE = re.compile(r'<div class="code">([A-Z2-7-]+)</div>')
BOOTH = "http://192.168.1.10:5000/booth/3"


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_a_slip_payload_gives_its_poll_and_code(case: dict[str, Any]) -> None:
    assert slips.parse_slip_payload(case["payload"]) == (case["poll_uid"], case["code"])
    # The code is the slip's credential, as the typed code would be.
    assert Credential.from_code(case["code"]).code.replace("-", "") == case["code"]
    if case["canonical"]:
        assert slips.slip_payload(case["poll_uid"], case["code"]) == case["payload"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_any_other_text_is_not_a_slip_and_the_error_never_quotes_it(case: dict[str, Any]) -> None:
    with pytest.raises(slips.SlipPayloadError) as caught:
        slips.parse_slip_payload(case["payload"])
    assert caught.value.kind == case["kind"]
    assert isinstance(caught.value, ValueError)
    text = case["payload"].strip()
    assert not text or text not in str(caught.value)
    # No chained exception carries the text either (a CredentialError of the code, say).
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_every_payload_character_is_qr_alphanumeric() -> None:
    for case in VECTORS["valid"]:
        if case["canonical"]:
            assert qrcode.util.optimal_mode(case["payload"].encode()) == qrcode.util.MODE_ALPHA_NUM


def test_the_payload_takes_the_display_code_and_refuses_what_is_not_a_slip() -> None:
    credential = Credential(bytes(range(16)))
    uid = "0123456789abcdef0123456789abcdef"
    payload = slips.slip_payload(uid, credential.code)  # ABCD-EFGH-…: the dashes dropped
    assert payload == "TALLY-SLIP/1:0123456789ABCDEF0123456789ABCDEF:AAAQEAYEAUDAOCAJBIFQYDIOB4"
    with pytest.raises(ValueError, match="32 hexadecimal"):
        slips.slip_payload(uid[:-1], credential.code)
    with pytest.raises(CredentialError):
        slips.slip_payload(uid, credential.code.lower())
    with pytest.raises(CredentialError):
        slips.slip_payload(uid, "AAAQEAYEAUDAOCAJBIFQYDIOB5")  # an unused bit set


def _sheet(booth_url: str | None) -> tuple[str, str, list[Credential]]:
    uid = new_poll_uid()
    authority = AuthorityKey.generate()
    _, regular, spare = mint(authority, uid, 9, 2)
    sheet = slips.render_slips(
        poll_uid=uid,
        title="Phiếu",
        booth_url=booth_url,
        slips=regular,
        reserve=spare,
        fingerprint=authority.fingerprint,
    )
    return sheet, uid, regular + spare


def _qr(payload: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def test_each_qr_code_on_the_sheet_is_the_slip_payload_in_alphanumeric_mode() -> None:
    sheet, uid, credentials = _sheet(BOOTH)
    blocks = sheet.split('<div class="slip')[1:]
    assert len(blocks) == len(credentials) == 11
    by_code = {c.code: c for c in credentials}
    for block in blocks:
        (code,) = CODE.findall(block)
        payload = slips.slip_payload(uid, by_code.pop(code).code)
        assert slips.parse_slip_payload(payload) == (uid, code.replace("-", ""))
        # The SVG is exactly the one of that payload: the same QR code, not a URL's.
        (svg,) = re.findall(r"<svg.*?</svg>", block, flags=re.S)
        assert svg == slips._qr_svg(payload)
    assert not by_code
    # qrcode's own choice for the payload is alphanumeric, one segment: the small QR code.
    qr = _qr(payload)
    assert [d.mode for d in qr.data_list] == [qrcode.util.MODE_ALPHA_NUM]
    assert qr.version <= 4  # 33 x 33 modules at level M


def test_the_sheet_holds_no_url_with_a_code_and_prints_the_booth_page_once_a_page() -> None:
    sheet, _, credentials = _sheet(BOOTH)
    assert "href=" not in sheet
    assert "://" not in sheet.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(BOOTH, "")
    for credential in credentials:
        assert sheet.count(credential.code) == 1  # the typable code, nothing else
        assert credential.code.replace("-", "") not in sheet
        assert "#" + credential.code not in sheet
    pages = sheet.count('<section class="page">')
    assert pages == 3  # 9 slips (8 + 1), then the 2 reserve slips
    assert sheet.count("Trang bỏ phiếu / booth page:") == pages
    assert sheet.count(BOOTH) == pages


def test_without_a_booth_url_the_header_has_none() -> None:
    sheet, _, credentials = _sheet(None)
    assert "booth page" not in sheet
    assert "://" not in sheet.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert len(CODE.findall(sheet)) == len(credentials)


def test_a_qr_code_outside_the_alphanumeric_set_is_refused_not_made_in_byte_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        slips._qr_svg("tally-slip/1:lowercase")
