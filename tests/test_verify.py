"""The auditor's verifier: an honest bundle verifies, and each tampering is caught by name.

Deeper tamperings are re-sealed with the service key (the record's file hashes recomputed and the
record re-signed, as a dishonest operator could), so that the check under test is the one that
catches the lie and no other.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import PollKit, build_bundle, reseal

from tally.audit import genesis as audit_genesis
from tally.audit import make_line, to_jsonl
from tally.authority import AuthorityKey, sign_list
from tally.ballots import encrypt_ballot, signed_bytes, tracking_code, tracking_hash
from tally.bundle import bundle_bytes, hashed_members, read_bundle, write_bundle
from tally.canonical import canonical_json, sha256_hex
from tally.counting import CountingError, board_file, finish, poll_result
from tally.credentials import Credential, commitment
from tally.demo import DemoPoll, demo_subjects, run_demo
from tally.group import G, Point
from tally.manifest import parse_manifest
from tally.record import ServiceKey, make_record
from tally.rules import load_ruleset
from tally.verify import Report, format_report, verify_bundle

CHECKS = [
    "bundle.members",
    "manifest",
    "ballots.proofs",
    "ballots.credentials",
    "ballots.chain",
    "audit.chain",
    "attendance.chain",
    "attendance.statement",
    "tally.aggregate",
    "tally.shares",
    "tally.counts",
    "result.grades",
    "record.files",
    "record.content",
    "record.result_codes",
    "record.signature",
]

# A bundle whose manifest is version 1 has no attendance files nor result codes.
CHECKS_V1 = [c for c in CHECKS if not c.startswith("attendance.") and c != "record.result_codes"]

Reseal = Callable[..., None]


# --- helpers --------------------------------------------------------------------------------------


def verify(files: dict[str, bytes], **kwargs: Any) -> Report:
    kwargs.setdefault("workers", 1)
    return verify_bundle(bundle_bytes(files), **kwargs)


def failed(report: Report) -> set[str]:
    """Checks that ran and failed (not the ones reported as not checked)."""
    return {c.name for c in report.checks if not c.ok and not c.detail_en.startswith("not checked")}


def skipped(report: Report) -> set[str]:
    return {c.name for c in report.checks if c.detail_en.startswith("not checked")}


def detail(report: Report, name: str) -> str:
    (check,) = [c for c in report.checks if c.name == name]
    return check.detail_en


def entries(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files["ballots.jsonl"].splitlines()]


def set_entries(files: dict[str, bytes], lines: list[dict[str, Any]]) -> None:
    files["ballots.jsonl"] = b"".join(canonical_json(e) + b"\n" for e in lines)


def load(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name])


def store(files: dict[str, bytes], name: str, value: Any) -> None:
    files[name] = canonical_json(value)


def rerecord(files: dict[str, bytes], signer: ServiceKey, protocol: int = 2) -> None:
    """Rebuild record.json from the (possibly lying) other members and sign it."""
    manifest = parse_manifest(load(files, "manifest.json"))
    tally_doc, record = load(files, "tally.json"), load(files, "record.json")
    rebuilt = make_record(
        manifest=manifest.data,
        fingerprint=manifest.fingerprint,
        result=load(files, "result.json"),
        board_head=tally_doc["aggregate"]["board_head"],
        ballots_cast=tally_doc["aggregate"]["ballot_count"],
        voided=record["credentials"]["voided"],
        files={n: sha256_hex(files[n]) for n in hashed_members(files)},
        audit=record["audit"],
        created_at=record["created_at"],
        protocol=protocol,
        slips={k: record["credentials"][k] for k in ("handed_out", "lost")}
        if "handed_out" in record["credentials"]
        else None,
        attendance=load(files, "attendance.json") if "attendance.json" in files else None,
        chain_present=record.get("attendance_statement", {}).get("chain_present"),
    )
    files["record.json"] = canonical_json(rebuilt)
    files["record.sig"] = (signer.sign(files["record.json"]).hex() + "\n").encode("ascii")


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def other_point(hex_point: str) -> str:
    return (Point.from_hex(hex_point) + G).hex()


# --- an honest bundle -----------------------------------------------------------------------------


def test_the_demo_bundle_verifies(demo_files: dict[str, bytes]) -> None:
    report = verify(demo_files)
    assert [c.name for c in report.checks] == CHECKS
    assert all(c.ok for c in report.checks), format_report(report)
    assert report.ok
    assert report.to_json()["ok"] is True
    assert format_report(report).endswith("VERDICT: the bundle verifies")


def test_the_counts_are_what_the_voters_cast(demo: DemoPoll) -> None:
    tally_doc = json.loads(demo.files["tally.json"])
    subjects = len(demo.choices[0])
    expected = [[0] * 4 for _ in range(subjects)]
    blanks = [0] * subjects
    for row in demo.choices:
        for i, choice in enumerate(row):
            if choice is None:
                blanks[i] += 1
            else:
                expected[i][choice] += 1
    assert tally_doc["counts"] == expected
    assert tally_doc["blanks"] == blanks
    result = json.loads(demo.files["result.json"])
    assert [s["counts"] for s in result["subjects"]] == expected


def test_a_bundle_verifies_from_a_file_and_is_reproducible(
    demo_files: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / "bundle.zip"
    write_bundle(path, demo_files)
    assert path.read_bytes() == bundle_bytes(dict(demo_files))
    assert read_bundle(path) == demo_files
    assert verify_bundle(path, workers=1).ok


def test_the_kit_poll_verifies_and_an_unused_slip_may_still_vote(kit: PollKit) -> None:
    assert verify(kit.bundle_files()).ok
    sixth = encrypt_ballot(kit.manifest.context, kit.credentials[5], [3, 3, None])
    late = [*kit.ballots, sixth]
    report = verify(kit.bundle_files(late))
    assert report.ok, format_report(report)
    assert json.loads(kit.bundle_files(late)["tally.json"])["counts"][0][3] == 1


def test_an_empty_poll_verifies(kit: PollKit) -> None:
    # No ballots: an identity aggregate, decrypted with proofs to all-zero counts.
    files = kit.bundle_files([])
    report = verify(files)
    assert report.ok, format_report(report)
    assert files["ballots.jsonl"] == b""
    assert load(files, "tally.json")["counts"] == [[0, 0, 0, 0]] * 3
    assert load(files, "record.json")["credentials"]["unused"] == 6


def test_a_demo_with_no_voters_runs_and_verifies() -> None:
    # run_demo accepts "0 or more voters", and an empty poll is valid (see the test above).
    demo = run_demo(subjects=2, voters=0, trustees=2, seed=1)
    report = verify(dict(demo.files))
    assert report.ok, format_report(report)
    assert load(dict(demo.files), "tally.json")["counts"] == [[0, 0, 0, 0], [0, 0, 0, 0]]


# --- ballots.jsonl --------------------------------------------------------------------------------


def test_a_changed_ciphertext_is_caught_by_ballots_proofs(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    item = lines[2]["ballot"]["answers"][1]["choices"][0]
    item["b"] = other_point(item["b"])
    set_entries(demo_files, lines)

    report = verify(demo_files)
    assert not report.ok
    assert failed(report) == {"ballots.proofs", "record.files", "record.content"}
    assert "ballots.jsonl" in detail(report, "record.files")

    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"ballots.proofs"}
    assert skipped(report) == {"tally", "result.grades"}
    assert "first #3" in detail(report, "ballots.proofs")
    assert "signature" in detail(report, "ballots.proofs")


def test_a_changed_ciphertext_re_signed_by_its_slip_is_caught_by_ballots_proofs(
    kit: PollKit,
) -> None:
    # Whoever holds the slip can re-sign and re-chain; the 0/1 proof still catches the change.
    ballots = copy.deepcopy(kit.ballots)
    item = ballots[1]["answers"][1]["choices"][0]
    item["a"] = other_point(item["a"])
    body = {k: v for k, v in ballots[1].items() if k != "signature"}
    ballots[1]["signature"] = kit.credentials[1].sign(signed_bytes(body)).hex()
    files = kit.bundle_files()
    files["ballots.jsonl"], _ = board_file(
        kit.manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots)
    )
    rerecord(files, kit.signer)

    report = verify(files)
    assert failed(report) == {"attendance.statement", "ballots.proofs"}, format_report(report)
    assert "first #2: subject 2, grade 1: the 0/1 proof does not verify" in detail(
        report, "ballots.proofs"
    )


def test_an_unencrypted_ciphertext_is_caught_by_ballots_proofs(
    kit: PollKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slip's holder who encrypts with r = 0 (a = identity, b = m·G: the vote in the clear) and
    valid proofs; the server refuses it at cast, and tally verify catches it on a board."""
    import tally.ballots
    from tally.group import IDENTITY, random_scalar

    monkeypatch.setattr(tally.ballots, "checked_nonce", lambda k: k)
    ballots = copy.deepcopy(kit.ballots)
    ctx = kit.manifest.context
    ballots[1] = tally.ballots.encrypt_ballot(
        ctx,
        kit.credentials[1],
        kit.choices[1],
        nonces=lambda label: 0 if label == "0/0/r" else random_scalar(),
    )
    assert ballots[1]["answers"][0]["choices"][0]["a"] == IDENTITY.hex()
    files = kit.bundle_files()
    files["ballots.jsonl"], _ = board_file(
        kit.manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots)
    )
    rerecord(files, kit.signer)
    report = verify(files)
    assert failed(report) == {"attendance.statement", "ballots.proofs"}, format_report(report)
    assert "first #2: subject 1, grade 1: a ciphertext is not encrypted (a = 0)" in detail(
        report, "ballots.proofs"
    )


def test_a_ballot_from_an_uncommitted_slip_is_caught_by_ballots_credentials(
    kit: PollKit,
) -> None:
    # The server invents a voter: a valid ballot, chained, counted, decrypted and signed.
    invented = encrypt_ballot(kit.manifest.context, Credential.generate(), [0, 0, 0])
    files = kit.bundle_files([*kit.ballots, invented])
    report = verify(files)
    assert failed(report) == {"ballots.credentials"}, format_report(report)
    assert "uncommitted credentials at [6]" in detail(report, "ballots.credentials")


def test_a_slip_used_twice_is_caught_by_ballots_credentials(kit: PollKit) -> None:
    again = encrypt_ballot(kit.manifest.context, kit.credentials[0], [3, 3, 3])
    files = kit.bundle_files([*kit.ballots, again])
    report = verify(files)
    assert failed(report) == {"ballots.credentials"}, format_report(report)
    assert "reused at [6]" in detail(report, "ballots.credentials")


def test_a_dropped_ballot_line_is_caught_by_ballots_chain(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    set_entries(demo_files, lines[:3] + lines[4:])
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "ballots.chain"}, format_report(report)
    assert "entry 4 has index 5" in detail(report, "ballots.chain")


def test_a_dropped_last_line_is_caught_by_tally_aggregate(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    # The shortened board is a consistent chain on its own; the aggregate no longer matches it.
    set_entries(demo_files, entries(demo_files)[:-1])
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "tally.aggregate"}, format_report(report)


def test_a_dropped_ballot_with_the_board_rebuilt_is_caught_by_tally_aggregate(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    manifest = parse_manifest(load(demo_files, "manifest.json"))
    kept = [e["ballot"] for e in entries(demo_files)]
    del kept[1]
    demo_files["ballots.jsonl"], _ = board_file(
        manifest.fingerprint, ((b, tracking_hash(b)) for b in kept)
    )
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "tally.aggregate"}, format_report(report)


def test_a_duplicated_ballot_line_is_caught(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    set_entries(demo_files, [*lines[:2], lines[1], *lines[2:]])
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "ballots.credentials", "ballots.chain"}, (
        format_report(report)
    )
    assert "reused at [3]" in detail(report, "ballots.credentials")
    assert "entry 3 has index 2" in detail(report, "ballots.chain")


def test_a_duplicated_ballot_with_the_chain_rebuilt_is_caught_by_ballots_credentials(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    manifest = parse_manifest(load(demo_files, "manifest.json"))
    ballots = [e["ballot"] for e in entries(demo_files)]
    ballots.append(ballots[0])
    demo_files["ballots.jsonl"], _ = board_file(
        manifest.fingerprint, ((b, tracking_hash(b)) for b in ballots)
    )
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "ballots.credentials"}, format_report(report)
    assert "reused at [9]" in detail(report, "ballots.credentials")


def test_two_reordered_lines_are_caught_by_ballots_chain(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    lines[1], lines[2] = lines[2], lines[1]
    set_entries(demo_files, lines)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"ballots.chain"}, format_report(report)
    assert "entry 2 has index 3" in detail(report, "ballots.chain")


def test_reordered_lines_with_renumbered_indexes_break_the_chain(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    lines[1], lines[2] = lines[2], lines[1]
    lines[1]["index"], lines[2]["index"] = 2, 3
    set_entries(demo_files, lines)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"ballots.chain"}, format_report(report)
    assert "entry 2: chain hash breaks" in detail(report, "ballots.chain")


def test_a_wrong_tracking_hash_is_caught_by_ballots_chain(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = entries(demo_files)
    lines[4]["tracking_hash"] = "00" * 32
    set_entries(demo_files, lines)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"ballots.chain"}
    assert "entry 5: tracking hash does not match the ballot" in detail(report, "ballots.chain")


@pytest.mark.parametrize("bad", ["zz", 5, None, "00" * 31])
def test_a_malformed_tracking_hash_on_an_invalid_ballot_is_reported_not_raised(
    demo_files: dict[str, bytes], bad: Any
) -> None:
    lines = entries(demo_files)
    lines[0]["ballot"] = {}
    lines[0]["tracking_hash"] = bad
    set_entries(demo_files, lines)
    report = verify(demo_files)
    assert {"ballots.proofs", "ballots.chain"} <= failed(report)
    assert "entry 1" in detail(report, "ballots.chain")


@pytest.mark.parametrize(
    "line", [b"not json", b"[]", b'{"index": 1}', b'{"index":1,"index":1,"ballot":{}}']
)
def test_a_malformed_board_line_is_caught_by_ballots_format(
    demo_files: dict[str, bytes], line: bytes
) -> None:
    raw = demo_files["ballots.jsonl"].splitlines()
    raw[1] = line
    demo_files["ballots.jsonl"] = b"\n".join(raw) + b"\n"
    report = verify(demo_files)
    assert "ballots.format" in failed(report)
    assert "line 2" in detail(report, "ballots.format")
    assert not report.ok


def test_the_voters_tracking_code_is_on_the_board(demo_files: dict[str, bytes]) -> None:
    # What a voter checks: the code on their receipt is the one the board lists for their ballot.
    for entry in entries(demo_files):
        code = tracking_code(tracking_hash(entry["ballot"]))
        assert code == tracking_code(bytes.fromhex(entry["tracking_hash"]))


# --- tally.json and result.json -------------------------------------------------------------------


def test_a_changed_count_is_caught_by_tally_counts(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    tally_doc = load(demo_files, "tally.json")
    tally_doc["counts"][0][0] += 1
    tally_doc["blanks"][0] -= 1
    store(demo_files, "tally.json", tally_doc)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"tally.counts"}, format_report(report)
    assert skipped(report) == {"result.grades"}
    assert (
        detail(report, "tally.counts") == "tally.json: recorded counts differ from the decryption"
    )


def test_a_changed_count_carried_into_result_and_record_is_still_caught(
    demo: DemoPoll, demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    # The lie made consistent everywhere the operator can write: tally, result, record, signature.
    manifest = parse_manifest(load(demo_files, "manifest.json"))
    tally_doc = load(demo_files, "tally.json")
    counts = tally_doc["counts"]
    counts[1] = [counts[1][1], counts[1][0], *counts[1][2:]]
    assert counts != json.loads(demo.files["tally.json"])["counts"]
    store(demo_files, "tally.json", tally_doc)
    cast = tally_doc["aggregate"]["ballot_count"]
    present = load(demo_files, "attendance.json")["present"]
    result = poll_result(manifest, counts, tally_doc["blanks"], cast, present=present)
    store(demo_files, "result.json", result)
    rerecord(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"tally.counts"}, format_report(report)


def test_a_changed_share_is_caught_by_tally_shares(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    tally_doc = load(demo_files, "tally.json")
    item = tally_doc["shares"][1]["shares"][2][3]
    item["d"] = other_point(item["d"])
    store(demo_files, "tally.json", tally_doc)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"tally.shares"}, format_report(report)
    text = detail(report, "tally.shares")
    assert "trustee Thành viên Ban kiểm phiếu 2" in text
    assert "subject 3, grade 4: the decryption proof does not verify" in text


def test_a_missing_share_is_caught_by_tally_shares(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    tally_doc = load(demo_files, "tally.json")
    del tally_doc["shares"][2]
    store(demo_files, "tally.json", tally_doc)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"tally.shares"}
    assert "no decryption share from trustee Thành viên Ban kiểm phiếu 3" in detail(
        report, "tally.shares"
    )


def test_a_changed_aggregate_is_caught_by_tally_aggregate(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    tally_doc = load(demo_files, "tally.json")
    tally_doc["aggregate"]["ballot_count"] += 1
    store(demo_files, "tally.json", tally_doc)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    # The record repeats the aggregate's ballot count, so its recomputation differs too.
    assert failed(report) == {"tally.aggregate", "record.content"}, format_report(report)
    assert skipped(report) == {"result.grades"}


def test_a_changed_grade_is_caught_by_result_grades(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    result = load(demo_files, "result.json")
    was = result["subjects"][0]["grade"]
    result["subjects"][0]["grade"] = "KHTNV" if was != "KHTNV" else "HTXSNV"
    store(demo_files, "result.json", result)

    report = verify(demo_files)
    assert {"result.grades", "record.files"} <= failed(report)

    # The record rebuilt from the lie and re-signed: only the rule set's recomputation objects.
    rerecord(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"result.grades"}, format_report(report)
    assert "subjects" in detail(report, "result.grades")


# --- manifest.json --------------------------------------------------------------------------------


def test_a_changed_subject_name_in_the_manifest_is_caught(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    manifest = load(demo_files, "manifest.json")
    manifest["election"]["subjects"][1]["name"] = "Người khác"
    store(demo_files, "manifest.json", manifest)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    # Every ballot and the board's first link are bound to the old fingerprint; the record names
    # the old poll, and its result codes (which hash the fingerprint) are not this poll's.
    assert failed(report) == {
        "ballots.proofs",
        "ballots.chain",
        "attendance.chain",
        "attendance.statement",
        "record.result_codes",
    }, format_report(report)
    assert "record.content" in skipped(report)
    assert "another poll" in detail(report, "ballots.proofs")
    assert "another poll" in detail(report, "attendance.statement")
    assert "entry 1: chain hash breaks" in detail(report, "ballots.chain")


def test_a_removed_credential_is_caught_by_manifest(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    manifest = load(demo_files, "manifest.json")
    manifest["credential_list"]["keys"].pop(0)
    manifest["credential_list"]["count"] -= 1
    store(demo_files, "manifest.json", manifest)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert [c.name for c in report.checks] == [
        "bundle.members",
        "manifest",
        "ballots",
        "tally",
        "result",
        "record",
    ]
    assert failed(report) == {"manifest"}
    assert "signature on the credential list does not verify" in detail(report, "manifest")


def test_a_removed_credential_with_the_commitment_redone_is_caught(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    # Without the Board's key, dropping a slip means signing the list with another key, and
    # naming that key in the election changes the poll's fingerprint.
    manifest = load(demo_files, "manifest.json")
    listed = manifest["credential_list"]
    keys = [bytes.fromhex(k) for k in listed["keys"][1:]]
    forger = AuthorityKey.generate()
    listed = sign_list(forger, listed["poll_uid"], listed["count"] - 1, 0, keys)
    manifest["credential_list"] = listed
    manifest["election"]["credentials"].update(
        count=len(keys), commitment=commitment(keys), authority=forger.public_key.hex()
    )
    store(demo_files, "manifest.json", manifest)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert "ballots.proofs" in failed(report)
    assert "another poll" in detail(report, "ballots.proofs")


def test_a_broken_trustee_proof_in_the_manifest_is_caught(demo_files: dict[str, bytes]) -> None:
    manifest = load(demo_files, "manifest.json")
    proof = manifest["election"]["trustees"][0]["proof"]
    proof["s"], proof["c"] = proof["c"], proof["s"]
    store(demo_files, "manifest.json", manifest)
    report = verify(demo_files)
    assert failed(report) == {"manifest"}
    assert "proof of knowledge" in detail(report, "manifest")


@pytest.mark.parametrize(
    ("data", "check"),
    [(b"not json", "manifest.json"), (b"[]", "manifest"), (b"{}", "manifest")],
)
def test_a_malformed_manifest_is_caught(
    demo_files: dict[str, bytes], data: bytes, check: str
) -> None:
    demo_files["manifest.json"] = data
    report = verify(demo_files)
    assert failed(report) == {check}
    assert not report.ok


# --- record.json and record.sig -------------------------------------------------------------------


def test_a_flipped_signature_digit_is_caught_by_record_signature(
    demo_files: dict[str, bytes],
) -> None:
    sig = demo_files["record.sig"].decode()
    demo_files["record.sig"] = (
        ("1" if sig[10] != "1" else "2").join((sig[:10], sig[11:]))
    ).encode()
    report = verify(demo_files)
    assert failed(report) == {"record.signature"}
    assert "signature fails with key" in detail(report, "record.signature")


@pytest.mark.parametrize("sig", [b"", b"\xff\xfe", b"zz\n", b"00" * 64 + b"\n"])
def test_a_malformed_signature_is_caught_by_record_signature(
    demo_files: dict[str, bytes], sig: bytes
) -> None:
    demo_files["record.sig"] = sig
    report = verify(demo_files)
    assert failed(report) == {"record.signature"}


def test_a_changed_record_fails_its_signature_and_content(demo_files: dict[str, bytes]) -> None:
    record = load(demo_files, "record.json")
    record["ballots_cast"] += 1
    store(demo_files, "record.json", record)
    report = verify(demo_files)
    assert failed(report) == {"record.content", "record.signature"}
    assert "ballots_cast" in detail(report, "record.content")


def test_a_changed_file_hash_in_the_record_fails_files_content_and_signature(
    demo_files: dict[str, bytes],
) -> None:
    record = load(demo_files, "record.json")
    record["files"]["tally.json"] = "00" * 32
    store(demo_files, "record.json", record)
    report = verify(demo_files)
    assert failed(report) == {"record.files", "record.content", "record.signature"}
    assert "tally.json" in detail(report, "record.files")


def test_a_changed_record_time_fails_only_the_signature(demo_files: dict[str, bytes]) -> None:
    record = load(demo_files, "record.json")
    record["created_at"] = "2099-01-01T00:00:00+00:00"
    store(demo_files, "record.json", record)
    assert failed(verify(demo_files)) == {"record.signature"}
    # Made before its count started, or in another form than §16.3's: the content is wrong too.
    for moment in ("1999-01-01T00:00:00+00:00", "2099-01-01T00:00:00Z"):
        record["created_at"] = moment
        store(demo_files, "record.json", record)
        assert failed(verify(demo_files)) == {"record.content", "record.signature"}, moment


def test_a_re_signed_record_with_a_changed_grade_fails_record_content(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    record = load(demo_files, "record.json")
    record["subjects"][0]["grade"] = (
        "KHTNV" if record["subjects"][0]["grade"] != "KHTNV" else "HTNV"
    )
    resealer(demo_files, demo_signer, subjects=record["subjects"])
    report = verify(demo_files)
    assert failed(report) == {"record.content"}, format_report(report)
    assert "subjects" in detail(report, "record.content")


@pytest.mark.parametrize(
    "change",
    [
        {"files": []},
        {"files": None},
        {"credentials": []},
        {"credentials": {"voided": "x"}},
        {"credentials": {"voided": 99, "unused": 0}},
    ],
    ids=["files-list", "files-null", "credentials-list", "voided-text", "voided-too-many"],
)
def test_a_malformed_record_is_reported_not_raised(
    demo_files: dict[str, bytes], change: dict[str, Any]
) -> None:
    record = load(demo_files, "record.json")
    record.update(change)
    store(demo_files, "record.json", record)
    report = verify(demo_files)
    assert not report.ok
    assert "record.signature" in failed(report)
    assert failed(report) & {"record.files", "record.content"}


def test_a_non_object_record_skips_the_record_checks(demo_files: dict[str, bytes]) -> None:
    demo_files["record.json"] = b"[]"
    report = verify(demo_files)
    assert not report.ok
    assert "record" in skipped(report)


# --- the ZIP itself -------------------------------------------------------------------------------


def only_members_check(report: Report) -> str:
    assert [c.name for c in report.checks] == ["bundle.members"]
    assert not report.ok
    return detail(report, "bundle.members")


def test_an_extra_zip_member_is_caught(demo_files: dict[str, bytes]) -> None:
    data = zip_of([*demo_files.items(), ("notes.txt", b"hello")])
    assert "unexpected notes.txt" in only_members_check(verify_bundle(data, workers=1))


def test_a_missing_zip_member_is_caught(demo_files: dict[str, bytes]) -> None:
    data = zip_of([(n, d) for n, d in demo_files.items() if n != "record.sig"])
    assert "missing record.sig" in only_members_check(verify_bundle(data, workers=1))


def test_a_member_in_a_folder_is_not_the_member(demo_files: dict[str, bytes]) -> None:
    members = [(("poll/" + n) if n == "tally.json" else n, d) for n, d in demo_files.items()]
    text = only_members_check(verify_bundle(zip_of(members), workers=1))
    assert "missing tally.json" in text


def test_a_duplicated_zip_member_is_caught(demo_files: dict[str, bytes]) -> None:
    members = [*demo_files.items(), ("result.json", demo_files["result.json"])]
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = zip_of(members)
    assert "twice" in only_members_check(verify_bundle(data, workers=1))


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 not really", b"%PDF-1.7\n"])
def test_a_non_zip_file_is_caught(data: bytes) -> None:
    assert "not a readable ZIP" in only_members_check(verify_bundle(data, workers=1))


def test_a_truncated_zip_is_caught(demo_files: dict[str, bytes]) -> None:
    data = bundle_bytes(demo_files)
    only_members_check(verify_bundle(data[: len(data) // 2], workers=1))


def test_a_missing_bundle_file_is_caught(tmp_path: Path) -> None:
    only_members_check(verify_bundle(tmp_path / "absent.zip", workers=1))


# --- pinning the signer ---------------------------------------------------------------------------


def test_pinning_the_right_signer_key_verifies(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    assert verify(demo_files, signer_key=demo_signer.public_key).ok


def test_pinning_the_wrong_signer_key_fails_record_signature(demo_files: dict[str, bytes]) -> None:
    report = verify(demo_files, signer_key=ServiceKey.generate().public_key)
    assert failed(report) == {"record.signature"}
    assert "is not the pinned key" in detail(report, "record.signature")


def test_a_bundle_re_signed_by_an_impostor_is_caught_only_by_the_pin(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    # An impostor swaps the manifest's signer for their own key and signs a new record: the bundle
    # is self-consistent, so only the key pinned from the paper record shows the substitution.
    impostor = ServiceKey.generate()
    manifest = load(demo_files, "manifest.json")
    manifest["signer"]["public_key"] = impostor.public_key.hex()
    store(demo_files, "manifest.json", manifest)
    rerecord(demo_files, impostor)
    assert verify(demo_files).ok
    report = verify(demo_files, signer_key=demo_signer.public_key)
    assert failed(report) == {"record.signature"}


# --- every core -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_parallel_verification_gives_the_same_report() -> None:
    demo = run_demo(subjects=2, voters=45, trustees=2, seed=3)
    files = dict(demo.files)
    one = verify_bundle(bundle_bytes(files), workers=1)
    two = verify_bundle(bundle_bytes(files), workers=2)
    assert one.ok and two.ok
    assert two.to_json() == one.to_json()

    # A bad ballot late in the board (in the last chunk) is reported the same way by both.
    lines = entries(files)
    item = lines[42]["ballot"]["answers"][0]["choices"][1]
    item["a"] = other_point(item["a"])
    set_entries(files, lines)
    one = verify_bundle(bundle_bytes(files), workers=1)
    two = verify_bundle(bundle_bytes(files), workers=2)
    assert "first #43" in detail(one, "ballots.proofs")
    assert two.to_json() == one.to_json()


# --- the operator audit log -------------------------------------------------------------------


def test_an_edited_audit_entry_is_caught_by_audit_chain(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    lines = [json.loads(line) for line in demo_files["audit.jsonl"].splitlines()]
    lines[1]["actor"] = "someone-else"  # a dishonest operator rewrites who closed the poll
    demo_files["audit.jsonl"] = b"".join(canonical_json(line) + b"\n" for line in lines)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"audit.chain"}, format_report(report)
    assert "line 2" in detail(report, "audit.chain")


def test_a_deleted_audit_entry_with_the_chain_rebuilt_is_caught_by_record_content(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    # Rebuilding the chain without an entry is consistent on its own; the signed record's audit
    # head and count no longer match it (unless the record is re-made, as the next test shows).
    lines = [json.loads(line) for line in demo_files["audit.jsonl"].splitlines()]
    entries_kept = [{k: v for k, v in line.items() if k not in ("prev", "hash")} for line in lines]
    del entries_kept[1]
    prev = audit_genesis(entries_kept[0]["chain"])
    rebuilt = []
    for seq, entry in enumerate(entries_kept, start=1):
        line = make_line({**entry, "seq": seq}, prev)
        prev = bytes.fromhex(line["hash"])
        rebuilt.append(line)
    demo_files["audit.jsonl"] = to_jsonl(rebuilt)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"record.content"}, format_report(report)
    assert "audit" in detail(report, "record.content")


# --- version 1 bundles, written by the version-1 code --------------------------------------------

DATA = Path(__file__).resolve().parent / "data"
V1_BUNDLES = {
    "bundle-v1.zip": "4153e89538041f47f2bbfa80de8c217a7773a8251073a118f73add5bfe9007b0",
    "bundle-v1-warning.zip": "a8219dfb00e15aee81ef1af9207c823671a61acf43c87f784cc3331727e610d8",
}


@pytest.mark.parametrize("name", sorted(V1_BUNDLES))
def test_a_version_1_bundle_still_verifies(name: str) -> None:
    report = verify_bundle(DATA / name, signer_key=bytes.fromhex(V1_BUNDLES[name]), workers=1)
    assert [c.name for c in report.checks] == CHECKS_V1
    assert report.ok, format_report(report)


@pytest.mark.parametrize("name", sorted(V1_BUNDLES))
def test_a_tampered_version_1_bundle_fails(name: str) -> None:
    files = read_bundle(DATA / name)
    result = load(files, "result.json")
    row = result["subjects"][0]
    row["grade"] = "KHTNV" if row["grade"] != "KHTNV" else "HTNV"
    store(files, "result.json", result)
    report = verify(files)
    assert not report.ok
    assert failed(report) == {"result.grades", "record.files", "record.content"}


def test_a_version_1_bundle_is_checked_as_version_1() -> None:
    report = verify_bundle(DATA / "bundle-v1-warning.zip", workers=1)
    assert "(protocol version 1)" in detail(report, "result.grades")
    files = read_bundle(DATA / "bundle-v1-warning.zip")
    [warning] = load(files, "result.json")["warnings"]
    assert set(warning) == {"check", "subjects", "message_vi", "message_en"}


# --- strict forms: exact fields, canonical members, lowercase hex (docs/protocol.md §11, 14, 17) --


def _manifest(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, bytes]], None]:
    def apply(files: dict[str, bytes]) -> None:
        manifest = load(files, "manifest.json")
        change(manifest)
        store(files, "manifest.json", manifest)

    return apply


def _tally(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, bytes]], None]:
    def apply(files: dict[str, bytes]) -> None:
        tally_doc = load(files, "tally.json")
        change(tally_doc)
        store(files, "tally.json", tally_doc)

    return apply


def _pretty(name: str) -> Callable[[dict[str, bytes]], None]:
    def apply(files: dict[str, bytes]) -> None:
        files[name] = json.dumps(load(files, name), ensure_ascii=False, indent=1).encode()

    return apply


def _escaped(name: str) -> Callable[[dict[str, bytes]], None]:
    """The same JSON value with every non-ASCII character as a \\u escape."""

    def apply(files: dict[str, bytes]) -> None:
        value = load(files, name)
        files[name] = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        assert files[name] != canonical_json(value)

    return apply


def _lines(name: str, change: Callable[[list[bytes]], None]) -> Callable[[dict[str, bytes]], None]:
    def apply(files: dict[str, bytes]) -> None:
        lines = files[name].split(b"\n")[:-1]
        change(lines)
        files[name] = b"".join(line + b"\n" for line in lines)

    return apply


def _spaced(lines: list[bytes]) -> None:
    lines[1] = json.dumps(json.loads(lines[1]), ensure_ascii=False).encode()


def _crlf(lines: list[bytes]) -> None:
    lines[0] += b"\r"


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _upper(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = target[path[-1]].upper()

    return change


# (id, change, the one failing check, words of its detail). Each bundle is re-sealed (file hashes
# and signature redone), so the named check is the one that catches it.
STRICT: list[tuple[str, Callable[[dict[str, bytes]], None], str, str]] = [
    (
        "manifest-extra-field",
        _manifest(_set(("notes",), "x")),
        "manifest",
        "manifest.json: manifest: unexpected field(s) notes",
    ),
    (
        "signer-extra-field",
        _manifest(_set(("signer", "comment"), "x")),
        "manifest",
        "manifest.json: signer: unexpected field(s) comment",
    ),
    (
        "signer-uppercase-hex",
        _manifest(_upper(("signer", "public_key"))),
        "manifest",
        "manifest.json: signer.public_key: expected 32 bytes in lowercase hex",
    ),
    (
        "conference-not-text",
        _manifest(_set(("conference", "date"), 2025)),
        "manifest",
        "conference: expected an object whose values are strings",
    ),
    (
        "manifest-pretty",
        _pretty("manifest.json"),
        "manifest.json",
        "manifest.json is not canonical JSON",
    ),
    (
        "tally-extra-field",
        _tally(_set(("note",), "x")),
        "tally.json",
        "tally.json: unexpected field(s) note",
    ),
    (
        "tally-format",
        _tally(_set(("format",), "tally-tally/2")),
        "tally.json",
        "tally.json: format 'tally-tally/2' is not tally-tally/1",
    ),
    (
        "tally-pretty",
        _pretty("tally.json"),
        "tally.json",
        "tally.json is not canonical JSON",
    ),
    (
        "share-extra-field",
        _tally(_set(("shares", 1, "note"), "x")),
        "tally.shares",
        "share 2 (trustee Thành viên Ban kiểm phiếu 2): not an object with exactly the fields",
    ),
    (
        "share-item-extra-field",
        _tally(_set(("shares", 0, "shares", 0, 0, "x"), 1)),
        "tally.shares",
        "subject 1, grade 1: not an object with exactly the fields d, proof",
    ),
    (
        "result-pretty",
        _pretty("result.json"),
        "result.json",
        "result.json is not canonical JSON",
    ),
    (
        "result-ascii-escapes",
        _escaped("result.json"),
        "result.json",
        "result.json is not canonical JSON",
    ),
    (
        "ballots-line-not-canonical",
        _lines("ballots.jsonl", _spaced),
        "ballots.format",
        "ballots.jsonl: line 2: not canonical JSON",
    ),
    (
        "ballots-crlf",
        _lines("ballots.jsonl", _crlf),
        "ballots.format",
        "ballots.jsonl: line 1: not canonical JSON",
    ),
    (
        "audit-line-not-canonical",
        _lines("audit.jsonl", _spaced),
        "audit.chain",
        "audit.jsonl: line 2: not canonical JSON",
    ),
]


@pytest.mark.parametrize(
    ("change", "check", "words"), [c[1:] for c in STRICT], ids=[c[0] for c in STRICT]
)
def test_a_strict_form_is_refused_by_its_own_check(
    demo_files: dict[str, bytes],
    demo_signer: ServiceKey,
    resealer: Reseal,
    change: Callable[[dict[str, bytes]], None],
    check: str,
    words: str,
) -> None:
    assert verify(demo_files).ok
    change(demo_files)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {check}, format_report(report)
    assert words in detail(report, check)


def test_a_final_line_without_newline_is_refused(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    demo_files["ballots.jsonl"] = demo_files["ballots.jsonl"].rstrip(b"\n")
    demo_files["audit.jsonl"] = demo_files["audit.jsonl"].rstrip(b"\n")
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"attendance.statement", "ballots.format", "audit.chain"}, (
        format_report(report)
    )
    assert "the last line does not end with a newline" in detail(report, "ballots.format")
    assert "the last line does not end with a newline" in detail(report, "audit.chain")


def test_an_audit_seq_of_true_is_not_the_integer_1(
    demo_files: dict[str, bytes], demo_signer: ServiceKey, resealer: Reseal
) -> None:
    # The chain recomputed over "seq": true is self-consistent; JSON true is still not 1.
    lines = [json.loads(line) for line in demo_files["audit.jsonl"].splitlines()]
    entries_kept = [{k: v for k, v in line.items() if k not in ("prev", "hash")} for line in lines]
    entries_kept[0]["seq"] = True
    prev = audit_genesis(entries_kept[0]["chain"])
    rebuilt = []
    for entry in entries_kept:
        line = make_line(entry, prev)
        prev = bytes.fromhex(line["hash"])
        rebuilt.append(line)
    demo_files["audit.jsonl"] = to_jsonl(rebuilt)
    resealer(demo_files, demo_signer, audit={"entries": len(rebuilt), "head": prev.hex()})
    report = verify(demo_files)
    assert failed(report) == {"audit.chain"}, format_report(report)
    assert "line 1: seq is not an integer" in detail(report, "audit.chain")


def test_a_pretty_printed_record_validly_signed_is_refused_by_record_json(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    _pretty("record.json")(demo_files)
    demo_files["record.sig"] = (demo_signer.sign(demo_files["record.json"]).hex() + "\n").encode()
    report = verify(demo_files)
    assert failed(report) == {"record.json"}, format_report(report)
    assert "record.json is not canonical JSON" in detail(report, "record.json")


@pytest.mark.parametrize(
    "form",
    [
        lambda sig: sig.upper() + "\n",
        lambda sig: sig,
        lambda sig: sig + "\r\n",
        lambda sig: " " + sig + "\n",
        lambda sig: sig + "\n\n",
    ],
    ids=["uppercase", "no-newline", "crlf", "leading-space", "two-newlines"],
)
def test_a_valid_signature_in_another_form_is_refused_by_record_signature(
    demo_files: dict[str, bytes], form: Callable[[str], str]
) -> None:
    sig = demo_files["record.sig"].decode().strip()
    demo_files["record.sig"] = form(sig).encode()
    report = verify(demo_files)
    assert failed(report) == {"record.signature"}, format_report(report)
    assert "record.sig: not exactly 128 lowercase hex digits and one newline" in detail(
        report, "record.signature"
    )


def test_a_result_of_an_unknown_format_is_refused_by_result_grades(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    result = load(demo_files, "result.json")
    result["format"] = "tally-result/3"
    store(demo_files, "result.json", result)
    rerecord(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"result.grades"}, format_report(report)
    assert "format" in detail(report, "result.grades")


def test_a_version_1_record_over_a_version_2_result_is_refused_by_record_content(
    demo_files: dict[str, bytes], demo_signer: ServiceKey
) -> None:
    with pytest.raises(ValueError, match="version-2 manifest"):
        rerecord(demo_files, demo_signer, protocol=1)
    record = load(demo_files, "record.json")
    record["format"] = "tally-record/1"
    del record["rules"]["shipped"]
    store(demo_files, "record.json", record)
    demo_files["record.sig"] = (demo_signer.sign(demo_files["record.json"]).hex() + "\n").encode()
    report = verify(demo_files)
    assert failed(report) == {"record.content"}, format_report(report)
    assert "format" in detail(report, "record.content")
    assert "rules" in detail(report, "record.content")


def test_finish_keeps_only_a_shares_specified_fields(kit: PollKit) -> None:
    # A trustee tool may add fields that verify_share ignores; tally.json carries none of them.
    files = kit.bundle_files()
    tally_doc = load(files, "tally.json")
    manifest = parse_manifest(load(files, "manifest.json"))
    shares = [{**copy.deepcopy(s), "tool": "v9"} for s in tally_doc["shares"]]
    shares[0]["shares"][0][0] = {**shares[0]["shares"][0][0], "note": "x"}
    again = finish(
        manifest.data,
        files["ballots.jsonl"],
        tally_doc["aggregate"],
        shares,
        signer=kit.signer,
        voided=0,
        created_at="2025-01-02T03:04:05+00:00",
        audit_jsonl=files["audit.jsonl"],
        attendance_jsonl=files["attendance.jsonl"],
        attendance=load(files, "attendance.json"),
    )
    assert load(again, "tally.json")["shares"] == tally_doc["shares"]
    assert verify(again).ok


# --- rule sets: a shipped id names exactly its shipped content (docs/protocol.md §11.4) ----------


def _rules(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, bytes]], None]:
    return _manifest(lambda m: change(m["election"]["rules"]))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            _rules(_set(("title_en",), "Annual rating, our way")),
            "rule set qd124-2023 version 1 differs from the one shipped with tally",
        ),
        (
            _rules(_set(("excellent_ceiling",), "1/4")),
            "rule set qd124-2023 version 1 differs from the one shipped with tally",
        ),
        (
            _rules(_set(("version",), "2")),
            "qd124-2023 is a rule set shipped with tally, but not in version '2'",
        ),
        (
            _rules(_set(("quorum",), "4/6")),
            "quorum: '4/6' is not in the JSON form of a rule set (it would be '2/3')",
        ),
        (
            _rules(lambda r: r.pop("disciplined_max_grade")),
            "rule set: missing key(s): disciplined_max_grade",
        ),
    ],
    ids=[
        "changed-title",
        "changed-ceiling",
        "unknown-version",
        "unreduced-fraction",
        "missing-key",
    ],
)
def test_a_rule_set_that_is_not_what_its_id_says_is_refused_by_manifest(
    demo_files: dict[str, bytes],
    demo_signer: ServiceKey,
    resealer: Reseal,
    change: Callable[[dict[str, bytes]], None],
    words: str,
) -> None:
    change(demo_files)
    resealer(demo_files, demo_signer)
    report = verify(demo_files)
    assert failed(report) == {"manifest"}, format_report(report)
    assert words in detail(report, "manifest")


LOCAL = dataclasses.replace(load_ruleset("qd124-2023"), id="tinh-thu-2025", denominator="cast")


def test_a_local_rule_set_verifies_and_says_it_is_not_shipped() -> None:
    signer = ServiceKey.generate()
    files = build_bundle(
        rules=LOCAL,
        subjects=demo_subjects(2),
        choices=[[0, 1], [1, None], [1, 1]],
        members=3,
        present=3,
        signer=signer,
    )
    report = verify(files)
    assert report.ok, format_report(report)
    assert "rule set tinh-thu-2025 version 1 is NOT shipped with tally" in detail(
        report, "manifest"
    )
    assert load(files, "result.json")["rules"] == {
        "id": "tinh-thu-2025",
        "version": "1",
        "shipped": False,
    }
    assert load(files, "record.json")["rules"]["shipped"] is False

    # The same content under the reserved id is refused, by the manifest check alone.
    _rules(_set(("id",), "qd124-2023"))(files)
    reseal(files, signer)
    report = verify(files)
    assert failed(report) == {"manifest"}, format_report(report)
    assert "differs from the one shipped with tally" in detail(report, "manifest")


def test_the_shipped_rule_sets_say_so_in_result_and_record(demo_files: dict[str, bytes]) -> None:
    assert load(demo_files, "result.json")["rules"]["shipped"] is True
    assert load(demo_files, "record.json")["rules"]["shipped"] is True
    assert "as shipped with tally" in detail(verify(demo_files), "manifest")


def test_finish_refuses_a_changed_rule_set_under_a_shipped_id() -> None:
    changed = dataclasses.replace(load_ruleset("qd124-2023"), allow_blank=False)
    with pytest.raises(CountingError, match="differs from the one shipped with tally"):
        build_bundle(
            rules=changed,
            subjects=demo_subjects(1),
            choices=[[0]],
            members=1,
            present=1,
            signer=ServiceKey.generate(),
        )


# --- version 1 stays exact too --------------------------------------------------------------------


@pytest.fixture
def v1_files() -> tuple[dict[str, bytes], ServiceKey]:
    """The committed version-1 bundle re-signed with a key the test holds (the signer is not in
    the fingerprint), so that a test can re-seal its changes."""
    files = read_bundle(DATA / "bundle-v1-warning.zip")
    signer = ServiceKey.generate()
    _manifest(_set(("signer", "public_key"), signer.public_key.hex()))(files)
    rerecord(files, signer, protocol=1)
    assert verify(files).ok
    return files, signer


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        (_tally(_set(("note",), "x")), "tally.json", "unexpected field(s) note"),
        (_manifest(_set(("signer", "x"), 1)), "manifest", "signer: unexpected field(s) x"),
        (_pretty("result.json"), "result.json", "not canonical JSON"),
    ],
    ids=["tally-extra-field", "signer-extra-field", "result-pretty"],
)
def test_a_version_1_bundle_is_held_to_the_strict_forms(
    v1_files: tuple[dict[str, bytes], ServiceKey],
    change: Callable[[dict[str, bytes]], None],
    check: str,
    words: str,
) -> None:
    files, signer = v1_files
    change(files)
    reseal(files, signer)
    report = verify(files)
    assert failed(report) == {check}, format_report(report)
    assert words in detail(report, check)


def test_a_version_1_record_pretty_printed_or_upper_case_signed_is_refused(
    v1_files: tuple[dict[str, bytes], ServiceKey],
) -> None:
    files, signer = v1_files
    sig = files["record.sig"]
    files["record.sig"] = sig.upper()
    assert failed(verify(files)) == {"record.signature"}
    files["record.sig"] = sig
    _pretty("record.json")(files)
    files["record.sig"] = (signer.sign(files["record.json"]).hex() + "\n").encode()
    assert failed(verify(files)) == {"record.json"}


def test_a_version_1_result_with_version_2_warnings_is_refused(
    v1_files: tuple[dict[str, bytes], ServiceKey],
) -> None:
    # Version 1 requires the sentences; a result that dropped them is not version 1's.
    files, signer = v1_files
    result = load(files, "result.json")
    for w in result["warnings"]:
        del w["message_vi"], w["message_en"]
    store(files, "result.json", result)
    rerecord(files, signer, protocol=1)
    report = verify(files)
    assert failed(report) == {"result.grades"}, format_report(report)
    assert "warnings" in detail(report, "result.grades")


def test_finish_can_still_write_version_1_and_it_verifies(kit: PollKit) -> None:
    files = kit.bundle_files()
    v1 = build_bundle(
        rules=kit.manifest.rules,
        subjects=kit.manifest.subjects,
        choices=kit.choices,
        members=7,
        present=6,
        signer=kit.signer,
        protocol=1,
    )
    assert load(v1, "result.json")["format"] == "tally-result/1"
    assert load(v1, "record.json")["format"] == "tally-record/1"
    assert "shipped" not in load(v1, "record.json")["rules"]
    assert verify(v1).ok
    assert load(files, "record.json")["format"] == "tally-record/2"
