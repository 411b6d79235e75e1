"""The Organization Board's key, its signed credential list, and `tally credentials` as the Board
runs it on its own laptop: keygen, then mint, then what the server will check."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tally import cli, slips
from tally.authority import (
    MAX_CREDENTIALS,
    AuthorityError,
    AuthorityKey,
    mint,
    new_poll_uid,
    parse_credential_list,
    sign_list,
)
from tally.cli import main
from tally.credentials import Credential, commitment

PASSPHRASE = "mật khẩu Ban Tổ chức 2026"
BOOTH = "http://192.168.1.10:5000/booth/3"
IDENTITY = "01" + "00" * 31  # the neutral point: a small-order key, never a credential
CODE = re.compile(r'<div class="code">([A-Z2-7-]+)</div>')


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_passphrase(path: Path) -> Path:
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return path


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    return write_passphrase(tmp_path / "passphrase.txt")


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`tally credentials keygen`, once for the module (scrypt is slow on purpose): the key file
    and the fingerprint it printed. Tests never change it; one that damages a key copies it."""
    folder = tmp_path_factory.mktemp("board")
    path = folder / "board.key"
    argv = ["credentials", "keygen", "--out", str(path)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([*argv, "--passphrase-file", str(write_passphrase(folder / "pw.txt"))])
    out = printed.getvalue()
    assert code == 0
    match = re.search(r"authority key fingerprint: ([0-9a-f:]{39})", out)
    assert match is not None and "Dấu vân tay khóa Ban Tổ chức" in out
    assert "Ban kiểm phiếu" in out and "counting committee" in out
    return path, match.group(1)


def mint_args(key: Path, passphrase_file: Path, out: Path, uid: str, *extra: str) -> list[str]:
    return [
        "credentials",
        "mint",
        "--poll-uid",
        uid,
        "--count",
        "40",
        "--reserve",
        "5",
        "--key",
        str(key),
        "--booth-url",
        BOOTH,
        "--out",
        str(out),
        "--passphrase-file",
        str(passphrase_file),
        *extra,
    ]


def sheet_codes(sheet: str) -> list[str]:
    return CODE.findall(sheet)


# --- keygen and mint, end to end -----------------------------------------------------------------


def test_keygen_then_mint_writes_a_list_the_server_accepts_and_a_sheet_of_every_slip(
    tmp_path: Path,
    key_file: tuple[Path, str],
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, fingerprint = key_file
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    uid = new_poll_uid()
    out = tmp_path / "slips-out"
    title = "Ban Thường vụ <Tỉnh ủy> & co"
    code, stdout, err = run(capsys, *mint_args(key, passphrase_file, out, uid, "--title", title))
    assert (code, err) == (0, "")
    list_path, sheet_path = out / "credentials.json", out / "slips.html"
    for path in (list_path, sheet_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert str(path) in stdout
    assert "40 slips + 5 reserve" in stdout and "40 phiếu + 5 thẻ dự phòng" in stdout
    assert fingerprint in stdout
    assert "ballot credentials import POLL credentials.json" in stdout and "delete it" in stdout

    listed = parse_credential_list(json.loads(list_path.read_text(encoding="utf-8")), poll_uid=uid)
    assert (listed.count, listed.reserve, listed.fingerprint) == (40, 5, fingerprint)

    sheet = sheet_path.read_text(encoding="utf-8")
    codes = sheet_codes(sheet)
    assert len(codes) == len(set(codes)) == 45
    # Every slip on the sheet is one of the list's keys, and every key has its slip.
    assert sorted(Credential.from_code(c).public_key for c in codes) == list(listed.keys)
    for c in codes:
        assert sheet.count(c) == 1  # the typable code; the QR code holds no URL (tally-slip/1)
        assert c.replace("-", "") not in sheet
    assert "href=" not in sheet and "#" + codes[0] not in sheet
    # The booth page is printed once a page (5 of slips, 1 of reserve slips), never per slip.
    assert sheet.count("Trang bỏ phiếu / booth page:") == sheet.count(BOOTH) == 6
    assert sheet.count('class="slip reserve"') == 5
    assert sheet.count("THẺ DỰ PHÒNG / RESERVE") >= 5
    assert fingerprint in sheet and uid in sheet and "Dấu vân tay khóa Ban Tổ chức" in sheet
    assert "Ban Thường vụ &lt;Tỉnh ủy&gt; &amp; co" in sheet and "<Tỉnh ủy>" not in sheet
    # The printed order says nothing about the list's order (sorted by key): 1 in 40! otherwise.
    regular = [Credential.from_code(c).public_key for c in codes[:40]]
    assert regular != sorted(regular)

    public = list_path.read_text(encoding="utf-8")
    for c in codes:
        assert c not in public and c.replace("-", "") not in public


def test_reserve_slips_are_the_reserve_credentials_and_come_after_the_others() -> None:
    authority = AuthorityKey.generate()
    uid = new_poll_uid()
    _, regular, spare = mint(authority, uid, 9, 3)
    sheet = slips.render_slips(
        poll_uid=uid,
        title=None,
        booth_url=BOOTH,
        slips=sorted(regular, key=lambda c: c.public_key),
        reserve=spare,
        fingerprint=authority.fingerprint,
    )
    blocks = sheet.split('<div class="slip')[1:]
    assert len(blocks) == 12
    reserve_codes = {CODE.findall(b)[0] for b in blocks if b.startswith(' reserve"')}
    assert reserve_codes == {c.code for c in spare}
    assert {CODE.findall(b)[0] for b in blocks[:9]} == {c.code for c in regular}
    # Eight slips a page, the reserve from a page of its own: 9 + 3 slips are three pages.
    assert sheet.count('<section class="page">') == 3
    assert sheet.count("<header>") == 3
    assert sheet.count("Số / No. ") == 12


def test_the_sheet_order_is_not_the_list_order() -> None:
    authority = AuthorityKey.generate()
    uid = new_poll_uid()
    _, regular, _ = mint(authority, uid, 30, 0)
    ordered = sorted(regular, key=lambda c: c.public_key)
    sheet = slips.render_slips(
        poll_uid=uid,
        title="T",
        booth_url=BOOTH,
        slips=ordered,
        reserve=[],
        fingerprint=authority.fingerprint,
    )
    assert sorted(sheet_codes(sheet)) == sorted(c.code for c in ordered)
    assert sheet_codes(sheet) != [c.code for c in ordered]  # 1 in 30! that a shuffle keeps it


def test_mint_without_a_booth_url_prints_none(
    tmp_path: Path,
    key_file: tuple[Path, str],
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The QR codes hold no address (tally-slip/1): the booth's is only a reminder in the header.
    argv = mint_args(key_file[0], passphrase_file, tmp_path / "out", new_poll_uid())
    at = argv.index("--booth-url")
    del argv[at : at + 2]
    code, _, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    sheet = (tmp_path / "out" / "slips.html").read_text(encoding="utf-8")
    assert len(sheet_codes(sheet)) == 45
    assert "booth page" not in sheet and BOOTH not in sheet


# --- refusals: one bilingual message, exit status 2, nothing left behind ------------------------


def test_mint_never_overwrites(
    tmp_path: Path,
    key_file: tuple[Path, str],
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, _ = key_file
    uid = new_poll_uid()
    out = tmp_path / "out"
    assert run(capsys, *mint_args(key, passphrase_file, out, uid))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, stdout, err = run(capsys, *mint_args(key, passphrase_file, out, uid))
    assert (code, stdout) == (2, "")
    assert "không ghi đè" in err and "not overwriting" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # A sheet left from an earlier run alone also stops it, and no list is written beside it.
    other = tmp_path / "other"
    other.mkdir()
    (other / "slips.html").write_text("old", encoding="utf-8")
    code, _, err = run(capsys, *mint_args(key, passphrase_file, other, uid))
    assert code == 2 and "slips.html" in err
    assert sorted(p.name for p in other.iterdir()) == ["slips.html"]


def test_keygen_never_overwrites(
    key_file: tuple[Path, str], passphrase_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = key_file
    before = key.read_bytes()
    code, _, err = run(
        capsys,
        "credentials",
        "keygen",
        "--out",
        str(key),
        "--passphrase-file",
        str(passphrase_file),
    )
    assert code == 2 and "không ghi đè" in err and "not overwriting" in err
    assert key.read_bytes() == before


def test_keygen_refuses_a_short_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.txt"
    short.write_text("short\n", encoding="utf-8")
    out = tmp_path / "board.key"
    code, _, err = run(
        capsys, "credentials", "keygen", "--out", str(out), "--passphrase-file", str(short)
    )
    assert code == 2 and "at least 10 characters" in err and not out.exists()


def test_mint_with_the_wrong_passphrase_writes_nothing(
    tmp_path: Path, key_file: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = key_file
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n", encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, err = run(capsys, *mint_args(key, wrong, out, new_poll_uid()))
    assert (code, stdout) == (2, "")
    assert "sai mật khẩu" in err and "wrong passphrase" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "vi", "en"),
    [
        ({"--poll-uid": "12345"}, "32 chữ số hex", "32 hexadecimal digits"),
        ({"--poll-uid": "g" * 32}, "32 chữ số hex", "32 hexadecimal digits"),
        ({"--count": "0"}, "--count phải ít nhất là 1", "--count must be at least 1"),
        ({"--reserve": "-1"}, "--reserve không được âm", "--reserve cannot be negative"),
        (
            {"--count": str(MAX_CREDENTIALS), "--reserve": "1"},
            f"nhiều nhất {MAX_CREDENTIALS} phiếu",
            f"at most {MAX_CREDENTIALS} slips",
        ),
        ({"--booth-url": "javascript:alert(1)"}, "--booth-url phải là", "--booth-url must be"),
        ({"--booth-url": BOOTH + "#x"}, "không có dấu #", "without #"),
    ],
)
def test_bad_input_is_one_clear_refusal(
    tmp_path: Path,
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    vi: str,
    en: str,
) -> None:
    # Refused before the key is even opened: no key file is needed for these.
    argv = mint_args(tmp_path / "no.key", passphrase_file, tmp_path / "out", new_poll_uid())
    for option, value in change.items():
        argv[argv.index(option) + 1] = value
    code, stdout, err = run(capsys, *argv)
    assert (code, stdout) == (2, "")
    assert err.startswith("lỗi / error: ") and vi in err and en in err
    assert not (tmp_path / "out").exists()


def test_a_count_that_is_not_a_number_is_a_usage_error(
    tmp_path: Path, passphrase_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = mint_args(tmp_path / "no.key", passphrase_file, tmp_path / "out", new_poll_uid())
    argv[argv.index("--count") + 1] = "many"
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "không phải số nguyên / is not a whole number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "vi", "en"),
    [
        ("{not json", "không phải JSON", "not JSON"),
        ('{"format": "tally-trustee-key/1"}', "không phải tệp khóa Ban Tổ chức", "authority key"),
        (None, "không đọc được tệp khóa", "cannot read the key file"),
    ],
)
def test_a_damaged_or_missing_key_file_is_refused(
    tmp_path: Path,
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    vi: str,
    en: str,
) -> None:
    key = tmp_path / "board.key"
    if content is not None:
        key.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run(capsys, *mint_args(key, passphrase_file, out, new_poll_uid()))
    assert code == 2 and vi in err and en in err and "Traceback" not in err
    assert not out.exists()


def test_a_damaged_key_file_names_the_check(
    tmp_path: Path,
    key_file: tuple[Path, str],
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = json.loads(key_file[0].read_text(encoding="utf-8"))
    data["cipher"]["ciphertext"] = data["cipher"]["ciphertext"][:-2]
    key = tmp_path / "damaged.key"
    key.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run(capsys, *mint_args(key, passphrase_file, tmp_path / "o", new_poll_uid()))
    assert code == 2 and "tệp khóa bị hỏng" in err and "the key file is damaged" in err


def test_without_the_authority_extra_mint_says_what_to_install(
    tmp_path: Path,
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import qrcode` fail as it does where qrcode is not installed.
    monkeypatch.setitem(sys.modules, "qrcode", None)
    monkeypatch.setitem(sys.modules, "qrcode.image.svg", None)
    out = tmp_path / "out"
    argv = mint_args(tmp_path / "no.key", passphrase_file, out, new_poll_uid())
    code, _, err = run(capsys, *argv)
    assert code == 2 and "pip install '.[authority]'" in err
    assert "thiếu gói" in err and "missing" in err
    assert not out.exists()


def test_a_failure_after_the_list_removes_what_this_run_wrote(
    tmp_path: Path,
    key_file: tuple[Path, str],
    passphrase_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, _ = key_file
    real = cli._write_new

    def full_disk(path: Path, text: str, created: list[Path]) -> None:
        if path.name == "slips.html":
            real(path, text[:100], created)  # half a sheet, then the disk is full
            raise cli.UsageError("đĩa đầy", "disk full")
        real(path, text, created)

    monkeypatch.setattr(cli, "_write_new", full_disk)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, *mint_args(key, passphrase_file, out, new_poll_uid()))
    assert code == 2 and "disk full" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


# --- tally.authority: the key file ---------------------------------------------------------------


def test_the_key_file_round_trips_with_mode_0600(tmp_path: Path) -> None:
    key = AuthorityKey.generate()
    path = tmp_path / "board.key"
    key.save(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = AuthorityKey.load(path, PASSPHRASE)
    assert (loaded.public_key, loaded.fingerprint) == (key.public_key, key.fingerprint)
    assert PASSPHRASE not in path.read_text(encoding="utf-8")
    with pytest.raises(FileExistsError):
        key.save(path, PASSPHRASE)
    with pytest.raises(AuthorityError, match="wrong passphrase"):
        AuthorityKey.load(path, "another passphrase")


def test_a_tampered_public_part_of_the_key_file_is_refused() -> None:
    data = AuthorityKey.generate().to_encrypted_json(PASSPHRASE)
    forged = copy.deepcopy(data)
    forged["public"]["public_key"] = AuthorityKey.generate().public_key.hex()
    with pytest.raises(AuthorityError, match="altered"):
        AuthorityKey.from_encrypted_json(forged, PASSPHRASE)
    forged = copy.deepcopy(data)
    forged["public"]["extra"] = "x"
    with pytest.raises(AuthorityError, match="public part is damaged"):
        AuthorityKey.from_encrypted_json(forged, PASSPHRASE)
    with pytest.raises(AuthorityError, match="not an authority key file"):
        AuthorityKey.from_encrypted_json({**data, "format": "tally-trustee-key/1"}, PASSPHRASE)


def test_the_secret_is_never_in_repr() -> None:
    key = AuthorityKey.generate()
    assert repr(key) == f"AuthorityKey({key.fingerprint})"
    assert key._seed().hex() not in repr(key)


# --- tally.authority: the credential list --------------------------------------------------------


@pytest.fixture(scope="module")
def signed() -> tuple[AuthorityKey, str, dict[str, Any]]:
    authority = AuthorityKey.generate()
    uid = new_poll_uid()
    document, _, _ = mint(authority, uid, 6, 2)
    return authority, uid, document


def test_a_minted_list_parses_and_commits_to_its_keys(
    signed: tuple[AuthorityKey, str, dict[str, Any]],
) -> None:
    authority, uid, document = signed
    listed = parse_credential_list(copy.deepcopy(document), poll_uid=uid)
    assert (listed.poll_uid, listed.count, listed.reserve) == (uid, 6, 2)
    assert listed.authority == authority.public_key
    assert listed.commitment == commitment(listed.keys)
    assert [k.hex() for k in listed.keys] == sorted(document["keys"])


def _resigned(authority: AuthorityKey, document: dict[str, Any], **change: Any) -> dict[str, Any]:
    """``document`` changed and signed again, so only the check under test can refuse it."""
    from tally.authority import signed_bytes

    data = {**copy.deepcopy(document), **change}
    data["signature"] = authority.sign(signed_bytes(data)).hex()
    return data


def test_a_bad_signature_is_refused(signed: tuple[AuthorityKey, str, dict[str, Any]]) -> None:
    _, uid, document = signed
    data = copy.deepcopy(document)
    data["signature"] = ("0" if data["signature"][0] != "0" else "1") + data["signature"][1:]
    with pytest.raises(AuthorityError, match="signature on the credential list does not verify"):
        parse_credential_list(data, poll_uid=uid)
    # Another authority's key in the list: its signature is not that key's.
    data = copy.deepcopy(document)
    data["authority"] = AuthorityKey.generate().public_key.hex()
    with pytest.raises(AuthorityError, match="does not verify"):
        parse_credential_list(data, poll_uid=uid)


def test_a_key_twice_is_refused(signed: tuple[AuthorityKey, str, dict[str, Any]]) -> None:
    authority, uid, document = signed
    keys = list(document["keys"])
    keys[1] = keys[0]
    with pytest.raises(AuthorityError, match="a key appears twice"):
        parse_credential_list(_resigned(authority, document, keys=keys), poll_uid=uid)


def test_a_small_order_key_is_refused(signed: tuple[AuthorityKey, str, dict[str, Any]]) -> None:
    authority, uid, document = signed
    keys = sorted([*document["keys"][1:], IDENTITY])
    with pytest.raises(AuthorityError, match="not a valid Ed25519 key"):
        parse_credential_list(_resigned(authority, document, keys=keys), poll_uid=uid)
    # sign_list itself refuses to sign one (it checks what the server will check).
    other = [bytes.fromhex(k) for k in document["keys"][1:]] + [bytes.fromhex(IDENTITY)]
    with pytest.raises(AuthorityError, match="small order"):
        sign_list(authority, uid, 6, 2, other)


def test_another_polls_list_is_refused(signed: tuple[AuthorityKey, str, dict[str, Any]]) -> None:
    _, uid, document = signed
    other = new_poll_uid()
    with pytest.raises(AuthorityError, match=f"for poll {uid}, not for this poll \\({other}\\)"):
        parse_credential_list(copy.deepcopy(document), poll_uid=other)


@pytest.mark.parametrize(("count", "reserve"), [(7, 2), (6, 1), (5, 2)])
def test_count_and_reserve_must_add_up_to_the_keys(
    signed: tuple[AuthorityKey, str, dict[str, Any]], count: int, reserve: int
) -> None:
    authority, uid, document = signed
    data = _resigned(authority, document, count=count, reserve=reserve)
    with pytest.raises(AuthorityError, match=f"8 keys, but count \\+ reserve = {count + reserve}"):
        parse_credential_list(data, poll_uid=uid)


def test_unsorted_keys_are_refused(signed: tuple[AuthorityKey, str, dict[str, Any]]) -> None:
    authority, uid, document = signed
    keys = list(reversed(document["keys"]))
    with pytest.raises(AuthorityError, match="must be sorted"):
        parse_credential_list(_resigned(authority, document, keys=keys), poll_uid=uid)


def test_an_extra_or_missing_field_is_refused(
    signed: tuple[AuthorityKey, str, dict[str, Any]],
) -> None:
    authority, uid, document = signed
    with pytest.raises(AuthorityError, match="unexpected: which_are_reserve"):
        parse_credential_list(_resigned(authority, document, which_are_reserve=[0]), poll_uid=uid)
    data = copy.deepcopy(document)
    del data["signature"]
    with pytest.raises(AuthorityError, match="missing: signature"):
        parse_credential_list(data, poll_uid=uid)
    with pytest.raises(AuthorityError, match="a JSON object"):
        parse_credential_list([document], poll_uid=uid)


@pytest.mark.parametrize(
    ("uid", "count", "reserve", "message"),
    [
        ("ABC", 3, 0, "32 lowercase hexadecimal digits"),
        (None, 0, 0, "count must be a whole number >= 1"),
        (None, 3, -1, "reserve one >= 0"),
        (None, MAX_CREDENTIALS, 1, f"at most {MAX_CREDENTIALS} credentials"),
    ],
)
def test_mint_refuses_bad_sizes_and_uids(
    uid: str | None, count: int, reserve: int, message: str
) -> None:
    with pytest.raises(AuthorityError, match=re.escape(message)):
        mint(AuthorityKey.generate(), uid or new_poll_uid(), count, reserve)
