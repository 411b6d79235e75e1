"""Protocol version 2 (issue 12) in the verifier: the authority's list bounds the slips, the
attendance statement gives the number present, and a poll whose ballots exceed it is void.

Each test changes one thing as a dishonest server or operator would (re-signing the record with
the service key, which they hold) and shows which check catches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import build_bundle, reseal

from tally.attendance import (
    AttendanceError,
    attendance_jsonl,
    check_attendance,
    entry,
    sign_statement,
)
from tally.authority import AuthorityError, AuthorityKey, mint, parse_credential_list
from tally.canonical import canonical_json
from tally.cli import main as tally_main
from tally.demo import demo_credentials, demo_subjects
from tally.manifest import ManifestError, make_manifest, parse_manifest
from tally.record import ServiceKey
from tally.results import render_texts
from tally.rules import load_ruleset
from tally.trustees import TrusteeKey, TrusteePublic
from tally.verify import format_report, verify_bundle

RULES = load_ruleset("qd124-2023")


def load(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name])


def failed(files: dict[str, bytes]) -> set[str]:
    report = verify_bundle(files_zip(files), workers=1)
    return {c.name for c in report.checks if not c.ok}


def files_zip(files: dict[str, bytes]) -> bytes:
    from tally.bundle import bundle_bytes

    return bundle_bytes(files)


@pytest.fixture
def signer() -> ServiceKey:
    return ServiceKey.generate()


def bundle(signer: ServiceKey, *, present: int, voters: int = 4) -> dict[str, bytes]:
    choices: list[list[int | None]] = [[0, 1, 1]] * voters
    return build_bundle(
        rules=RULES,
        subjects=demo_subjects(3),
        choices=choices,
        members=7,
        present=present,
        signer=signer,
    )


def test_a_poll_with_more_ballots_than_present_is_void_and_says_so(signer: ServiceKey) -> None:
    files = bundle(signer, present=3, voters=4)
    result, record = load(files, "result.json"), load(files, "record.json")
    assert result["void"] == {"reason": "ballots_exceed_present", "ballots": 4, "present": 3}
    assert record["void"] == result["void"]
    assert all(row["grade"] is None and row["steps"] == [] for row in result["subjects"])
    report = verify_bundle(files_zip(files), workers=1)
    assert report.ok, format_report(report)
    assert "VOID" in next(c.detail_en for c in report.checks if c.name == "result.void")
    assert report.void and report.to_json()["void"] is True
    assert "RESULT IS VOID" in format_report(report)
    texts = render_texts(record)
    assert "void" in texts.warnings[0].en and "không có giá trị" in texts.warnings[0].vi
    assert all("phải biểu quyết lại" in t.vi for t in texts.decisions.values())
    # Claiming grades instead (the result and record re-signed) is caught.
    result.pop("void")
    files["result.json"] = canonical_json(result)
    reseal(files, signer)
    assert "result.grades" in failed(files)


def test_tally_verify_exits_3_for_a_void_poll(
    signer: ServiceKey, tmp_path: Path, capsys: Any
) -> None:
    """Authentic but void is neither 0 (a valid result) nor 1 (tampering)."""
    path = tmp_path / "void.zip"
    path.write_bytes(files_zip(bundle(signer, present=3, voters=4)))
    assert tally_main(["verify", str(path)]) == 3
    assert "RESULT IS VOID" in capsys.readouterr().out
    path.write_bytes(files_zip(bundle(signer, present=4, voters=4)))
    assert tally_main(["verify", str(path)]) == 0


def test_an_honest_poll_has_no_void_and_takes_present_from_the_statement(
    signer: ServiceKey,
) -> None:
    files = bundle(signer, present=5, voters=4)
    assert "void" not in load(files, "result.json")
    assert load(files, "result.json")["quorum"]["present"] == 5
    assert load(files, "record.json")["attendance_statement"]["present"] == 5
    assert not failed(files)


def test_more_credentials_than_members_plus_reserve_fail_the_manifest() -> None:
    trustee = TrusteeKey.generate("Thành viên 1")
    uid, listed, _ = demo_credentials(8, reserve=1)
    data = make_manifest(
        poll_id="7",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=demo_subjects(1),
        rules=RULES,
        trustees=[trustee.public],
        credential_list=listed,
        members=7,
        signer_public_key=bytes(32),
    )
    with pytest.raises(ManifestError, match="more than the 7 members plus the 1 reserve"):
        parse_manifest(data)
    data = make_manifest(
        poll_id="7",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=demo_subjects(1),
        rules=RULES,
        trustees=[trustee.public],
        credential_list=listed,
        members=8,
        signer_public_key=bytes(32),
    )
    assert len(parse_manifest(data).credentials) == 9  # 8 members + 1 reserve: the most allowed


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        (lambda s: s.update(present=s["present"] - 1), "attendance.statement", "does not verify"),
        (lambda s: s.update(poll="00" * 32), "attendance.statement", "another poll"),
        (lambda s: s.update(extra=1), "attendance.statement", "unexpected: extra"),
        (lambda s: s.update(trustee="Người khác"), "attendance.statement", "not signed by"),
        (lambda s: s.update(present=8), "attendance.statement", "more than the 7 members"),
    ],
    ids=["present", "other-poll", "extra-field", "other-name", "above-members"],
)
def test_a_changed_statement_is_caught(
    signer: ServiceKey, change: Any, check: str, words: str
) -> None:
    files = bundle(signer, present=5)
    statement = load(files, "attendance.json")
    change(statement)
    files["attendance.json"] = canonical_json(statement)
    reseal(files, signer)
    report = verify_bundle(files_zip(files), workers=1)
    bad = {c.name: c.detail_en for c in report.checks if not c.ok}
    assert check in bad and words in bad[check], format_report(report)


def test_a_statement_re_signed_by_a_stranger_or_over_another_chain_is_caught(
    signer: ServiceKey,
) -> None:
    files = bundle(signer, present=5)
    manifest = parse_manifest(load(files, "manifest.json"))
    assert manifest.poll_uid is not None
    lines = files["ballots.jsonl"].splitlines()
    chain = check_attendance(files["attendance.jsonl"], manifest.fingerprint, manifest.members)
    stranger = TrusteeKey.generate(manifest.trustees[0].name)
    forged = sign_statement(
        stranger,
        fingerprint=manifest.fingerprint,
        poll_uid=manifest.poll_uid,
        attendance=chain,
        board_head=json.loads(lines[-1])["chain"],
        electronic_ballots=len(lines),
    )
    files["attendance.json"] = canonical_json(forged)
    reseal(files, signer)
    assert "attendance.statement" in failed(files)

    # The operator rewrites the chain to 7 present (a trustee signed 5): the chain no longer
    # matches the signed head.
    files = bundle(signer, present=5)
    entries = [entry(1, "2025-12-01T09:00:00.000000Z", 7, "operator")]
    files["attendance.jsonl"] = attendance_jsonl(manifest_of(files).fingerprint, entries)
    reseal(files, signer)
    report = verify_bundle(files_zip(files), workers=1)
    bad = {c.name: c.detail_en for c in report.checks if not c.ok}
    assert "attendance head is not the chain's" in bad["attendance.statement"]


def manifest_of(files: dict[str, bytes]) -> Any:
    return parse_manifest(load(files, "manifest.json"))


def test_an_edited_chain_line_and_a_missing_attendance_file_are_caught(signer: ServiceKey) -> None:
    files = bundle(signer, present=5)
    line = json.loads(files["attendance.jsonl"])
    line["present"] = 6
    files["attendance.jsonl"] = canonical_json(line) + b"\n"
    reseal(files, signer)
    assert "attendance.chain" in failed(files)
    with pytest.raises(AttendanceError, match="hash does not match"):
        check_attendance(files["attendance.jsonl"], manifest_of(files).fingerprint, 7)
    with pytest.raises(AttendanceError, match="opening entry is missing"):
        check_attendance(b"", manifest_of(files).fingerprint, 7)
    files = bundle(signer, present=5)
    del files["attendance.jsonl"], files["attendance.json"]
    import io
    import zipfile

    from tally.bundle import MEMBERS

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in MEMBERS:
            zf.writestr(name, files[name])
    report = verify_bundle(buf.getvalue(), workers=1)
    assert not report.ok and "bundle.version" in {c.name for c in report.checks if not c.ok}


def test_a_version_2_manifest_with_a_version_1_result_is_refused(signer: ServiceKey) -> None:
    files = bundle(signer, present=5)
    result = load(files, "result.json")
    result["format"] = "tally-result/1"
    files["result.json"] = canonical_json(result)
    reseal(files, signer)
    report = verify_bundle(files_zip(files), workers=1)
    bad = {c.name: c.detail_en for c in report.checks if not c.ok}
    assert "version-2 manifest" in bad["result.grades"]


# --- the authority's list -----------------------------------------------------------------------


def test_the_list_names_its_poll_and_is_sorted_without_saying_which_keys_are_reserve() -> None:
    board = AuthorityKey.generate()
    uid = "ab" * 16
    document, slips, spare = mint(board, uid, 3, 2)
    assert document["keys"] == sorted(document["keys"])
    assert {c.public_key.hex() for c in slips + spare} == set(document["keys"])
    assert set(document) == {
        "format",
        "poll_uid",
        "count",
        "reserve",
        "keys",
        "authority",
        "signature",
    }
    with pytest.raises(AuthorityError, match="not for this poll"):
        parse_credential_list(document, poll_uid="cd" * 16)
    assert parse_credential_list(document, poll_uid=uid).fingerprint == board.fingerprint


# --- the trustee's tools ------------------------------------------------------------------------


def test_trustee_attest_signs_only_what_the_committee_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signer: ServiceKey, capsys: Any
) -> None:
    monkeypatch.setenv("TALLY_PASSPHRASE", "mật khẩu dài của thành viên")
    key_path = tmp_path / "t.key"
    assert tally_main(["trustee", "keygen", "--out", str(key_path), "--name", "Thành viên 1"]) == 0
    public = TrusteePublic.from_json(json.loads((tmp_path / "t.key.pub.json").read_text()))
    assert public.signing_key is not None
    uid, listed, _ = demo_credentials(2)
    data = make_manifest(
        poll_id="7",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=demo_subjects(1),
        rules=RULES,
        trustees=[public],
        credential_list=listed,
        members=3,
        signer_public_key=signer.public_key,
    )
    manifest = parse_manifest(data)
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    (tmp_path / "ballots.jsonl").write_text("")
    chain = attendance_jsonl(manifest.fingerprint, [entry(1, "t", 2, "op")])
    (tmp_path / "attendance.jsonl").write_bytes(chain)
    from tally.board import genesis

    head = genesis(manifest.fingerprint).hex()
    args = [
        "trustee",
        "attest",
        "--key",
        str(key_path),
        "--manifest",
        str(tmp_path / "manifest.json"),
    ]
    args += ["--ballots", str(tmp_path / "ballots.jsonl"), "--attendance"]
    args += [str(tmp_path / "attendance.jsonl"), "--out", str(tmp_path / "s.json")]
    assert tally_main([*args, "--expected-head", head, "--present", "4"]) == 2  # > members
    assert tally_main([*args, "--expected-head", "00" * 32, "--present", "2"]) == 2
    assert "not signing" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
    # The committee's own count is signed, with a note when the chain says otherwise.
    assert tally_main([*args, "--expected-head", head, "--present", "3"]) == 0
    assert "the committee counted 3" in capsys.readouterr().err
    statement = json.loads((tmp_path / "s.json").read_text())
    assert statement["present"] == 3 and statement["signing_key"] == public.signing_key.hex()
    (tmp_path / "s.json").unlink()
    assert tally_main([*args, "--expected-head", head, "--present", "2"]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["present"] == 2
    # A manifest that names another signing key for this trustee is refused: the key's proof is
    # bound to its own signing key (a server could otherwise sign in the trustee's name).
    other = TrusteeKey.generate("x").public.signing_key
    assert other is not None
    data["election"]["trustees"][0]["signing_key"] = other.hex()
    with pytest.raises(ManifestError, match="proof of knowledge"):
        parse_manifest(data)
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    (tmp_path / "s.json").unlink()
    assert tally_main([*args, "--expected-head", head, "--present", "2"]) == 2
    assert "proof of knowledge" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_a_manifest_with_two_trustees_of_one_name_is_refused() -> None:
    a, b = TrusteeKey.generate("A"), TrusteeKey.generate("A")
    uid, listed, _ = demo_credentials(2)
    data = make_manifest(
        poll_id="7",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=demo_subjects(1),
        rules=RULES,
        trustees=[a.public, b.public],
        credential_list=listed,
        members=3,
        signer_public_key=bytes(32),
    )
    with pytest.raises(ManifestError, match="same name or the same signing key"):
        parse_manifest(data)


def test_a_reserve_above_the_members_is_refused() -> None:
    trustee = TrusteeKey.generate("A")
    uid, listed, _ = demo_credentials(2, reserve=4)
    data = make_manifest(
        poll_id="7",
        poll_uid=uid,
        title="t",
        conference={},
        subjects=demo_subjects(1),
        rules=RULES,
        trustees=[trustee.public],
        credential_list=listed,
        members=3,
        signer_public_key=bytes(32),
    )
    with pytest.raises(ManifestError, match="4 reserve slips, more than the 3 members"):
        parse_manifest(data)
