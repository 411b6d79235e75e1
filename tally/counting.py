"""From accepted ballots to the audit bundle: board file, aggregate, shares, result, signed record.

The service and ``tally demo-election`` both go through these functions, and the verifier
(tally.verify) recomputes each step from the bundle alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tally.audit import audit_chain, check_jsonl
from tally.ballots import VerifiedBallot
from tally.board import genesis, next_head
from tally.bundle import HASHED_MEMBERS
from tally.canonical import canonical_json, parse_json, sha256_hex
from tally.elgamal import ZERO, Ciphertext
from tally.manifest import Manifest, parse_manifest
from tally.record import ServiceKey, make_record
from tally.results import evaluate_poll
from tally.trustees import TrusteeError, combine, make_aggregate, verify_share

RESULT_FORMAT = "tally-result/1"
TALLY_FORMAT = "tally-tally/1"


class CountingError(ValueError):
    """Counting cannot go on; the message says why and nothing has been produced."""


def board_entry(index: int, ballot: dict[str, Any], tracking_hash: bytes, chain: bytes) -> bytes:
    """One line of ballots.jsonl (canonical JSON, no newline)."""
    return canonical_json(
        {
            "index": index,
            "ballot": ballot,
            "tracking_hash": tracking_hash.hex(),
            "chain": chain.hex(),
        }
    )


def board_file(
    fingerprint: bytes, ballots: Iterable[tuple[dict[str, Any], bytes]]
) -> tuple[bytes, str]:
    """ballots.jsonl from (ballot, tracking hash) pairs in board order -> (bytes, head hex)."""
    head = genesis(fingerprint)
    lines = []
    for index, (ballot, tracking) in enumerate(ballots, start=1):
        head = next_head(head, tracking)
        lines.append(board_entry(index, ballot, tracking, head))
    return b"".join(line + b"\n" for line in lines), head.hex()


def sum_ciphertexts(
    manifest: Manifest, ballots: Iterable[VerifiedBallot]
) -> list[list[Ciphertext]]:
    """Component-wise sum per subject and grade. No ballot is ever decrypted."""
    ctx = manifest.context
    sums = [[ZERO] * ctx.grades for _ in range(ctx.subjects)]
    for ballot in ballots:
        for i, row in enumerate(ballot.ciphertexts):
            sums[i] = [s + c for s, c in zip(sums[i], row, strict=True)]
    return sums


def aggregate_for(
    manifest: Manifest, board_head: str, ballots: Sequence[VerifiedBallot]
) -> dict[str, Any]:
    return make_aggregate(
        manifest.fingerprint, board_head, len(ballots), sum_ciphertexts(manifest, ballots)
    )


def board_aggregate(manifest: Manifest, ballots: Sequence[VerifiedBallot]) -> dict[str, Any]:
    """The aggregate recomputed from the board's ballots alone (head included)."""
    head = genesis(manifest.fingerprint)
    for ballot in ballots:
        head = next_head(head, ballot.tracking_hash)
    return aggregate_for(manifest, head.hex(), ballots)


def decrypt_counts(
    manifest: Manifest, aggregate: dict[str, Any], shares: Sequence[dict[str, Any]]
) -> tuple[list[list[int]], list[int]]:
    """Check every trustee's share, combine them, and return (counts, blanks) per subject."""
    by_key = {s.get("public_key"): s for s in shares if isinstance(s, dict)}
    partials = []
    for trustee in manifest.trustees:
        share = by_key.get(trustee.public_key.hex())
        if share is None:
            raise CountingError(f"no decryption share from trustee {trustee.name}")
        partials.append(verify_share(aggregate, trustee, share))
    if len(shares) != len(manifest.trustees):
        raise CountingError("there are shares from keys that are not the poll's trustees")
    ballots = aggregate["ballot_count"]
    counts = combine(aggregate, partials, ballots)
    blanks = [ballots - sum(row) for row in counts]
    if any(b < 0 for b in blanks) or (not manifest.rules.allow_blank and any(blanks)):
        raise CountingError("the decrypted counts do not add up to the number of ballots")
    return counts, blanks


def poll_result(
    manifest: Manifest,
    counts: Sequence[Sequence[int]],
    blanks: Sequence[int],
    cast: int,
    external_grades: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Grade the poll. ``external_grades``: the grades of linked subjects (a head's unit, a
    collective's organization) decided in other, already counted polls of the conference;
    they are written to the result as ``linked`` so that the verifier recomputes the same."""
    evaluated = evaluate_poll(
        manifest.rules,
        manifest.subjects,
        counts,
        blanks,
        cast=cast,
        present=manifest.present,
        members=manifest.members,
        external_grades=external_grades,
    )
    return {"format": RESULT_FORMAT, "poll": manifest.fingerprint.hex(), **evaluated}


def tally_document(
    aggregate: dict[str, Any],
    shares: Sequence[dict[str, Any]],
    counts: Sequence[Sequence[int]],
    blanks: Sequence[int],
) -> dict[str, Any]:
    return {
        "format": TALLY_FORMAT,
        "aggregate": aggregate,
        "shares": list(shares),
        "counts": [list(r) for r in counts],
        "blanks": list(blanks),
    }


def finish(
    manifest_data: dict[str, Any],
    ballots_jsonl: bytes,
    aggregate: dict[str, Any],
    shares: Sequence[dict[str, Any]],
    *,
    signer: ServiceKey,
    voided: int,
    created_at: str,
    audit_jsonl: bytes,
    external_grades: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """Combine, grade and sign: return every member of the audit bundle.

    ``audit_jsonl`` is the poll's hash-chained log of operator actions (``tally.audit``).
    """
    manifest = parse_manifest(manifest_data)
    if signer.public_key != manifest.signer_public_key:
        raise CountingError("the signing key is not the one named in the manifest")
    try:
        counts, blanks = decrypt_counts(manifest, aggregate, shares)
    except TrusteeError as exc:
        raise CountingError(str(exc)) from None
    cast = int(aggregate["ballot_count"])
    try:
        result = poll_result(manifest, counts, blanks, cast, external_grades)
    except ValueError as exc:
        raise CountingError(f"the rule set cannot grade these figures: {exc}") from None
    audit = check_jsonl(audit_jsonl, audit_chain(manifest_data))
    if not audit.ok:
        raise CountingError("the audit log's chain is broken: " + "; ".join(audit.problems))
    files = {
        "manifest.json": canonical_json(manifest_data),
        "ballots.jsonl": ballots_jsonl,
        "audit.jsonl": audit_jsonl,
        "tally.json": canonical_json(tally_document(aggregate, shares, counts, blanks)),
        "result.json": canonical_json(result),
    }
    record = make_record(
        manifest=manifest_data,
        fingerprint=manifest.fingerprint,
        result=result,
        board_head=str(aggregate["board_head"]),
        ballots_cast=cast,
        voided=voided,
        files={name: sha256_hex(files[name]) for name in HASHED_MEMBERS},
        audit={"entries": audit.entries, "head": audit.head},
        created_at=created_at,
    )
    record_bytes = canonical_json(record)
    files["record.json"] = record_bytes
    files["record.sig"] = (signer.sign(record_bytes).hex() + "\n").encode("ascii")
    return files


def load_jsonl(data: bytes) -> list[Any]:
    return [parse_json(line) for line in data.splitlines() if line.strip()]
