"""The paper fallback (docs/protocol.md 13.3): slips voided for paper, paper ballots entered by a
trustee, one aggregate, and what ``tally verify`` catches when the server or a trustee lies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tally.bundle import bundle_bytes
from tally.canonical import canonical_json, parse_json
from tally.counting import CountingError
from tally.credentials import Credential
from tally.paper import (
    PaperError,
    count_head,
    make_paper_ballot,
    make_void,
    paper_jsonl,
    paper_tracking_hash,
    parse_paper_ballot,
    parse_void,
)
from tally.trustees import TrusteeKey
from tally.verify import verify_bundle

PAPER_CHOICE = [3, 0, 2]  # what the one paper voter marked


def _void(kit: Any, credential: Credential) -> dict[str, Any]:
    assert kit.manifest.poll_uid is not None
    return make_void(
        credential, fingerprint=kit.manifest.fingerprint, poll_uid=kit.manifest.poll_uid
    )


def _paper(kit: Any, choices: list[int | None], key: TrusteeKey | None = None) -> dict[str, Any]:
    assert kit.manifest.poll_uid is not None
    return make_paper_ballot(
        kit.manifest.context,
        key or kit.trustees[1],
        poll_uid=kit.manifest.poll_uid,
        choices=choices,
    )


def _failed(files: dict[str, bytes], signer: bytes) -> dict[str, str]:
    report = verify_bundle(bundle_bytes(files), signer_key=signer)
    return {c.name: c.detail_en for c in report.checks if not c.ok}


@pytest.fixture(scope="module")
def paper_files(kit: Any) -> dict[str, bytes]:
    return kit.bundle_files(
        voids=[_void(kit, kit.credentials[5])], paper=[_paper(kit, PAPER_CHOICE)]
    )


def test_a_paper_ballot_is_counted_in_the_one_aggregate_and_the_record_reconciles(
    kit: Any, paper_files: dict[str, bytes]
) -> None:

    report = verify_bundle(bundle_bytes(paper_files), signer_key=kit.signer.public_key)
    assert report.ok, [c.to_json() for c in report.checks if not c.ok]
    names = {c.name: c for c in report.checks}
    assert "ATTESTED BY THE COUNTING COMMITTEE" in names["paper.ballots"].detail_en
    assert "DO BAN KIỂM PHIẾU XÁC NHẬN" in names["paper.ballots"].detail_vi
    record = parse_json(paper_files["record.json"])
    paper_doc = parse_json(paper_files["paper.jsonl"].rstrip(b"\n"))
    head = count_head(record["board_head"], [paper_tracking_hash(paper_doc)], 1)
    assert record["paper"] == {"voided_slips": 1, "ballots": 1, "electronic": 5, "head": head}
    assert head != record["board_head"]
    assert record["ballots_cast"] == 6
    assert record["credentials"]["used"] == 5
    assert set(record["files"]) >= {"voids.jsonl", "paper.jsonl"}
    tally = parse_json(paper_files["tally.json"])
    expected = [[0] * 4 for _ in range(3)]
    for row in [*kit.choices, PAPER_CHOICE]:
        for i, c in enumerate(row):
            if c is not None:
                expected[i][c] += 1
    assert tally["counts"] == expected
    # Only combined totals are decrypted: one aggregate, one share per trustee, no paper sum.
    assert tally["aggregate"]["ballot_count"] == 6
    assert len(tally["shares"]) == len(kit.trustees)
    assert "paper" not in json.dumps(tally)


def test_a_single_paper_ballots_choices_appear_nowhere_in_the_bundle(
    paper_files: dict[str, bytes],
) -> None:
    line = parse_json(paper_files["paper.jsonl"].rstrip(b"\n"))
    assert set(line) == {
        "format",
        "poll",
        "poll_uid",
        "ballot",
        "trustee",
        "signing_key",
        "signature",
    }
    assert set(line["ballot"]) == {"format", "poll", "credential", "answers", "signature"}
    # Nothing of the paper ballot but names, points, scalars and signatures: not one number or
    # grade code that a choice could hide in. The only plaintext figures in the whole bundle are
    # the combined totals (tally.json, result.json, record.json).
    leaves: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            leaves.append(value)

    walk(line)
    assert all(isinstance(v, str) for v in leaves)
    texts = {v for v in leaves if not all(c in "0123456789abcdef" for c in v)}
    assert texts == {"tally-paper-ballot/1", "tally-ballot/1", "Thành viên 2"}


def test_a_paper_ballot_from_a_key_that_is_not_a_trustee_is_refused(kit: Any) -> None:
    stranger = TrusteeKey.generate("Người lạ")
    document = _paper(kit, PAPER_CHOICE, key=stranger)
    with pytest.raises(PaperError, match="not signed by a trustee"):
        parse_paper_ballot(
            document,
            ctx=kit.manifest.context,
            poll_uid=kit.manifest.poll_uid,
            trustees=kit.manifest.trustees,
            credentials=kit.manifest.credentials,
        )
    with pytest.raises(CountingError, match="not signed by a trustee"):
        kit.bundle_files(voids=[_void(kit, kit.credentials[5])], paper=[document])


def test_more_paper_ballots_than_slips_voided_are_refused(kit: Any) -> None:
    with pytest.raises(CountingError, match="more than the 1 slips voided"):
        kit.bundle_files(
            voids=[_void(kit, kit.credentials[5])],
            paper=[_paper(kit, PAPER_CHOICE), _paper(kit, [0, 0, 0])],
        )


def test_a_slip_that_voted_cannot_also_be_voided_for_paper(kit: Any) -> None:
    with pytest.raises(CountingError, match="voided slips that also cast a ballot"):
        kit.bundle_files(voids=[_void(kit, kit.credentials[0])], paper=[])


def test_a_void_not_signed_by_its_slip_is_refused(kit: Any) -> None:
    forged = _void(kit, kit.credentials[5])
    forged["signature"] = _void(kit, kit.credentials[4])["signature"]
    with pytest.raises(PaperError, match="does not verify"):
        parse_void(
            forged,
            fingerprint=kit.manifest.fingerprint,
            poll_uid=kit.manifest.poll_uid,
            credentials=kit.manifest.credentials,
        )
    stranger = _void(kit, Credential.generate())
    with pytest.raises(PaperError, match="not on this poll's credential list"):
        parse_void(
            stranger,
            fingerprint=kit.manifest.fingerprint,
            poll_uid=kit.manifest.poll_uid,
            credentials=kit.manifest.credentials,
        )


def test_a_paper_ballot_under_a_slips_key_is_refused(kit: Any) -> None:
    from tally.ballots import encrypt_ballot
    from tally.paper import paper_bytes

    document = _paper(kit, PAPER_CHOICE)
    document["ballot"] = encrypt_ballot(kit.manifest.context, kit.credentials[5], PAPER_CHOICE)
    document["signature"] = kit.trustees[1].sign(paper_bytes(document)).hex()
    with pytest.raises(PaperError, match="a slip's key"):
        parse_paper_ballot(
            document,
            ctx=kit.manifest.context,
            poll_uid=kit.manifest.poll_uid,
            trustees=kit.manifest.trustees,
            credentials=kit.manifest.credentials,
        )


def test_verify_catches_a_paper_ballot_dropped_added_or_edited_after_counting(
    kit: Any, paper_files: dict[str, bytes], resealer: Any
) -> None:
    # Dropped: the server removes the paper ballot (and reseals): the aggregate and the
    # trustee-signed statement no longer match.
    files = dict(paper_files)
    files["paper.jsonl"] = b""
    resealer(files, kit.signer)
    failed = _failed(files, kit.signer.public_key)
    assert "tally.aggregate" in failed and "attendance.statement" in failed
    # Added: a second, validly signed paper ballot beyond the voided slips.
    files = dict(paper_files)
    files["paper.jsonl"] = paper_jsonl(
        [parse_json(paper_files["paper.jsonl"].rstrip(b"\n")), _paper(kit, [0, 0, 0])]
    )
    resealer(files, kit.signer)
    assert "more than the 1 slips voided" in _failed(files, kit.signer.public_key)["paper.ballots"]
    # Edited: one proof's ciphertext changed, the trustee's signature no longer holds.
    files = dict(paper_files)
    doc = parse_json(paper_files["paper.jsonl"].rstrip(b"\n"))
    first = doc["ballot"]["answers"][0]["choices"]
    first[0]["a"], first[1]["a"] = first[1]["a"], first[0]["a"]
    files["paper.jsonl"] = canonical_json(doc) + b"\n"
    resealer(files, kit.signer)
    assert "does not verify" in _failed(files, kit.signer.public_key)["paper.ballots"]
    # The void list emptied: the paper ballot has no slip voided for it.
    files = dict(paper_files)
    files["voids.jsonl"] = b""
    resealer(files, kit.signer)
    assert "paper.ballots" in _failed(files, kit.signer.public_key)
