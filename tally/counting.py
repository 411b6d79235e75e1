"""From accepted ballots to the audit bundle: board file, aggregate, shares, result, signed record.

The service and ``tally demo-election`` both go through these functions, and the verifier
(tally.verify) recomputes each step from the bundle alone. ``finish`` writes protocol version 2
(``tally-result/2``, ``tally-record/2``); the verifier also rebuilds version 1's forms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tally import dkg
from tally.attendance import (
    Attendance,
    AttendanceError,
    Statement,
    check_attendance,
    parse_statement,
    statement_problems,
)
from tally.audit import audit_chain, check_jsonl
from tally.ballots import VerifiedBallot
from tally.board import genesis, next_head
from tally.bundle import hashed_members
from tally.canonical import canonical_json, parse_json, sha256_hex
from tally.elgamal import ZERO, Ciphertext
from tally.manifest import Manifest, ManifestError, parse_manifest
from tally.paper import PaperError, check_papers, check_voids, count_head, paper_problems
from tally.record import ServiceKey, make_record, signature_file
from tally.results import RESULT_FORMATS, evaluate_poll, void_result, warnings_v1
from tally.rules import is_shipped
from tally.trustees import TrusteeError, combine, make_aggregate, verify_share

PROTOCOL_VERSIONS = (1, 2)
PROTOCOL_VERSION = 2  # what finish writes
RESULT_FORMAT = RESULT_FORMATS[PROTOCOL_VERSION]
TALLY_FORMAT = "tally-tally/1"  # the same in both versions
TALLY_FIELDS = ("format", "aggregate", "shares", "counts", "blanks")
SHARE_FIELDS = ("format", "poll", "trustee", "public_key", "aggregate_sha256", "shares")
SHARE_ITEM_FIELDS = ("d", "proof")
SHARE_FIELDS_V2 = dkg.SHARE_FIELDS  # a share of a poll with a key ceremony (k of n)


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


def board_aggregate(
    manifest: Manifest,
    ballots: Sequence[VerifiedBallot],
    paper: Sequence[VerifiedBallot] = (),
) -> dict[str, Any]:
    """The aggregate recomputed from the board's ballots (head included) and the paper ballots
    the counting committee entered (13.3): one sum, so no paper tally exists on its own."""
    head = genesis(manifest.fingerprint)
    for ballot in ballots:
        head = next_head(head, ballot.tracking_hash)
    return aggregate_for(manifest, head.hex(), [*ballots, *paper])


def decrypt_counts(
    manifest: Manifest, aggregate: dict[str, Any], shares: Sequence[dict[str, Any]]
) -> tuple[list[list[int]], list[int]]:
    """Check every trustee's share, combine them, and return (counts, blanks) per subject.
    With a key ceremony every share given must verify and at least k be given; the k lowest
    indexes are combined."""
    ballots = aggregate["ballot_count"]
    if manifest.ceremony is not None:
        assert manifest.ceremony_result is not None
        partials: dict[int, list[list[Any]]] = {}
        for item in shares:
            m, points = dkg.verify_share(
                aggregate, manifest.ceremony, manifest.ceremony_result, item
            )
            if m in partials:
                raise CountingError(f"two shares from trustee {m} ({manifest.ceremony.name(m)})")
            partials[m] = points
        counts, _used = dkg.combine(aggregate, partials, manifest.ceremony.threshold, ballots)
        return _with_blanks(manifest, counts, ballots)
    for n, item in enumerate(shares, start=1):
        problem = _share_fields_problem(item)
        if problem:
            who = item.get("trustee") if isinstance(item, dict) else None
            named = f" (trustee {who})" if isinstance(who, str) else ""
            raise CountingError(f"share {n}{named}: {problem}")
    by_key = {s.get("public_key"): s for s in shares if isinstance(s, dict)}
    every = []
    for trustee in manifest.trustees:
        share = by_key.get(trustee.public_key.hex())
        if share is None:
            raise CountingError(f"no decryption share from trustee {trustee.name}")
        every.append(verify_share(aggregate, trustee, share))
    if len(shares) != len(manifest.trustees):
        raise CountingError("there are shares from keys that are not the poll's trustees")
    return _with_blanks(manifest, combine(aggregate, every, ballots), ballots)


def _with_blanks(
    manifest: Manifest, counts: list[list[int]], ballots: int
) -> tuple[list[list[int]], list[int]]:
    blanks = [ballots - sum(row) for row in counts]
    if any(b < 0 for b in blanks) or (not manifest.rules.allow_blank and any(blanks)):
        raise CountingError("the decrypted counts do not add up to the number of ballots")
    return counts, blanks


def _share_fields_problem(share: Any) -> str:
    """A share in tally.json has exactly the fields of docs/protocol.md §14.2, at every level."""
    if not isinstance(share, dict) or set(share) != set(SHARE_FIELDS):
        return f"not an object with exactly the fields {', '.join(SHARE_FIELDS)}"
    rows = share["shares"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return "shares is not a list of lists"
    for i, row in enumerate(rows, start=1):
        for j, item in enumerate(row, start=1):
            if not isinstance(item, dict) or set(item) != set(SHARE_ITEM_FIELDS):
                return f"subject {i}, grade {j}: not an object with exactly the fields d, proof"
    return ""


def exact_share(share: Any) -> Any:
    """The share reduced to exactly its specified fields: a trustee's tool may have added
    others, which verify_share ignores and tally.json must not carry. A share lacking a field
    is returned as it is, to be refused by decrypt_counts."""
    if isinstance(share, dict) and share.get("format") == dkg.SHARE_FORMAT_V2:
        try:
            rows = [
                [{k: item[k] for k in SHARE_ITEM_FIELDS} for item in row] for row in share["shares"]
            ]
            return {**{k: share[k] for k in SHARE_FIELDS_V2 if k != "shares"}, "shares": rows}
        except (KeyError, TypeError):
            return share
    try:
        rows = [
            [{k: item[k] for k in SHARE_ITEM_FIELDS} for item in row] for row in share["shares"]
        ]
        return {**{k: share[k] for k in SHARE_FIELDS if k != "shares"}, "shares": rows}
    except (KeyError, TypeError):
        return share


def decryption_summary(
    manifest: Manifest, shares: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    """Who decrypted (k of n, the record's ``decryption``, 16.4): the k trustees whose shares
    were combined, others whose shares were given and verified, the qualified trustees who gave
    none, and the ceremony's faulty. None without a key ceremony (every trustee decrypted)."""
    ceremony, outcome = manifest.ceremony, manifest.ceremony_result
    if ceremony is None or outcome is None:
        return None
    given = sorted({int(s["trustee"]) for s in shares})
    return {
        "threshold": ceremony.threshold,
        "trustees": ceremony.n,
        "combined": [ceremony.name(m) for m in given[: ceremony.threshold]],
        "also_given": [ceremony.name(m) for m in given[ceremony.threshold :]],
        "absent": [ceremony.name(m) for m in outcome.qualified if m not in given],
        "faulty": [f.to_json() for f in outcome.faults],
    }


def poll_result(
    manifest: Manifest,
    counts: Sequence[Sequence[int]],
    blanks: Sequence[int],
    cast: int,
    external_grades: Mapping[str, str] | None = None,
    *,
    protocol: int = PROTOCOL_VERSION,
    present: int | None = None,
) -> dict[str, Any]:
    """Grade the poll: result.json of the given protocol version (docs/protocol.md §15).

    ``external_grades``: the grades of linked subjects (a head's unit, a collective's
    organization) decided in other, already counted polls of the conference; they are written
    to the result as ``linked`` so that the verifier recomputes the same. ``present``: the
    number present of the trustee's attendance statement (a version-2 manifest); a version-1
    manifest fixes it. In version 2 a poll with more ballots than members present is void."""
    if protocol not in PROTOCOL_VERSIONS:
        raise ValueError(f"unknown protocol version {protocol!r}")
    if manifest.version == 1:
        present = manifest.present
    elif protocol < 2:
        raise ValueError("a version-2 manifest is graded by protocol version 2 only")
    elif present is None:
        raise ValueError("a version-2 manifest needs the number present of the attendance")
    if protocol >= 2 and cast > present:
        evaluated = void_result(
            manifest.rules,
            manifest.subjects,
            counts,
            blanks,
            cast=cast,
            present=present,
            members=manifest.eligible,
        )
    else:
        evaluated = evaluate_poll(
            manifest.rules,
            manifest.subjects,
            counts,
            blanks,
            cast=cast,
            present=present,
            members=manifest.eligible,
            external_grades=external_grades,
            outstanding_groups=manifest.outstanding_groups,
        )
    if protocol == 1:
        names = {s.key: s.name for s in manifest.subjects}
        evaluated["warnings"] = warnings_v1(evaluated["warnings"], names)  # type: ignore[arg-type]
    else:
        evaluated["rules"] = {
            "id": manifest.rules.id,
            "version": manifest.rules.version,
            "shipped": is_shipped(manifest.rules),
        }
    return {"format": RESULT_FORMATS[protocol], "poll": manifest.fingerprint.hex(), **evaluated}


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
    protocol: int = PROTOCOL_VERSION,
    attendance_jsonl: bytes | None = None,
    attendance: dict[str, Any] | None = None,
    handed_out: int | None = None,
    lost: int = 0,
    document: dict[str, Any] | None = None,
    voids_jsonl: bytes | None = None,
    paper_jsonl: bytes | None = None,
) -> dict[str, bytes]:
    """Combine, grade and sign: return every member of the audit bundle.

    ``voids_jsonl`` and ``paper_jsonl`` (version 2, 13.3): the slips voided for paper and the
    paper ballots the counting committee entered, both given or neither; the aggregate then
    sums the board's and the paper ballots, and the record shows the reconciliation.

    ``document`` (protocol version 2): the counting committee's posts and when the count
    started, for the record in party-document form (``tally.record.make_document``).

    ``audit_jsonl`` is the poll's hash-chained log of operator actions (``tally.audit``).
    ``protocol`` 1 writes version 1's result and record (tests of the verifier's version 1).
    A version-2 manifest needs ``attendance_jsonl`` (the attendance chain) and ``attendance``
    (a trustee's signed statement, which must match the chain and the board); ``handed_out``
    (slips given to voters, all of them if not given) and ``lost`` go into the record's
    reconciliation of the slips.
    """
    if protocol not in PROTOCOL_VERSIONS:
        raise CountingError(f"unknown protocol version {protocol!r}")
    try:
        manifest = parse_manifest(manifest_data, shipped_rules=True)
    except ManifestError as exc:
        raise CountingError(f"the manifest does not verify: {exc}") from None
    if signer.public_key != manifest.signer_public_key:
        raise CountingError("the signing key is not the one named in the manifest")
    try:
        # Only the specified fields of each share go into tally.json (and are verified there).
        shares = [exact_share(s) for s in shares]
        counts, blanks = decrypt_counts(manifest, aggregate, shares)
    except TrusteeError as exc:
        raise CountingError(str(exc)) from None
    cast = int(aggregate["ballot_count"])
    electronic = ballots_jsonl.count(b"\n")
    present: int | None = None
    chain_present: int | None = None
    extra_files: dict[str, bytes] = {}
    paper: dict[str, Any] | None = None
    if (voids_jsonl is None) != (paper_jsonl is None):
        raise CountingError("the paper fallback needs both voids.jsonl and paper.jsonl")
    if voids_jsonl is not None and paper_jsonl is not None:
        if manifest.version < 2:
            raise CountingError("paper ballots need a version-2 manifest")
        paper = _paper_reconciliation(manifest, ballots_jsonl, voids_jsonl, paper_jsonl)
    if cast != electronic + (paper["ballots"] if paper else 0):
        raise CountingError(
            f"the aggregate counts {cast} ballots, the board {electronic}"
            + (f" and the paper ballots {paper['ballots']}" if paper else "")
        )
    if manifest.version >= 2:
        if protocol < 2:
            raise CountingError("a version-2 manifest is counted with protocol version 2")
        if attendance_jsonl is None or attendance is None:
            raise CountingError("a version-2 poll needs its attendance chain and statement")
        statement, chain = check_statement(
            manifest,
            attendance_jsonl,
            attendance,
            str(aggregate["board_head"]),
            electronic,
            paper["ballots"] if paper else 0,
        )
        present, chain_present = statement.present, chain.present
        extra_files = {
            "attendance.jsonl": attendance_jsonl,
            "attendance.json": canonical_json(attendance),
        }
        if voids_jsonl is not None and paper_jsonl is not None:
            extra_files.update({"voids.jsonl": voids_jsonl, "paper.jsonl": paper_jsonl})
    try:
        result = poll_result(
            manifest, counts, blanks, cast, external_grades, protocol=protocol, present=present
        )
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
        **extra_files,
    }
    minted = len(manifest.credentials)
    slips = {"handed_out": minted if handed_out is None else handed_out, "lost": lost}
    if manifest.version >= 2:
        voided_for_paper = paper["voided_slips"] if paper else 0
        problem = slips_problem(minted, electronic, slips["handed_out"], lost, voided_for_paper)
        if problem:
            raise CountingError(problem)
    record = make_record(
        manifest=manifest_data,
        fingerprint=manifest.fingerprint,
        result=result,
        board_head=str(aggregate["board_head"]),
        ballots_cast=cast,
        voided=voided,
        files={name: sha256_hex(files[name]) for name in hashed_members(files)},
        audit={"entries": audit.entries, "head": audit.head},
        created_at=created_at,
        protocol=protocol,
        slips=slips if manifest.version >= 2 else None,
        attendance=attendance,
        chain_present=chain_present,
        document=document,
        decryption=decryption_summary(manifest, shares),
        electronic=electronic,
        paper=paper,
    )
    record_bytes = canonical_json(record)
    files["record.json"] = record_bytes
    files["record.sig"] = signature_file(signer.sign(record_bytes))
    return files


def _paper_reconciliation(
    manifest: Manifest, ballots_jsonl: bytes, voids_jsonl: bytes, paper_jsonl: bytes
) -> dict[str, Any]:
    """Check the paper files in full (13.3) and return the record's ``paper`` figures."""
    try:
        voided = check_voids(voids_jsonl, manifest=manifest)
        papers = check_papers(paper_jsonl, manifest=manifest)
    except PaperError as exc:
        raise CountingError(str(exc)) from None
    lines = load_jsonl(ballots_jsonl)
    board = frozenset(bytes.fromhex(e["ballot"]["credential"]) for e in lines)
    problems = paper_problems(voided, papers, board)
    if problems:
        raise CountingError("the paper ballots do not reconcile: " + "; ".join(problems))
    board_head = lines[-1]["chain"] if lines else genesis(manifest.fingerprint).hex()
    head = count_head(board_head, [p.ballot.tracking_hash for p in papers], len(voided))
    return {"voided_slips": len(voided), "ballots": len(papers), "head": head}


def check_statement(
    manifest: Manifest,
    attendance_jsonl: bytes,
    attendance: Any,
    board_head: str,
    electronic_ballots: int,
    paper_ballots: int = 0,
) -> tuple[Statement, Attendance]:
    """The attendance chain and the trustee's statement agree with each other and the board
    (docs/protocol.md §13.2), or CountingError says where not."""
    assert manifest.poll_uid is not None
    try:
        chain = check_attendance(attendance_jsonl, manifest.fingerprint, manifest.eligible)
        statement = parse_statement(
            attendance,
            fingerprint=manifest.fingerprint,
            poll_uid=manifest.poll_uid,
            trustees=manifest.trustees,
            members=manifest.eligible,
        )
    except AttendanceError as exc:
        raise CountingError(str(exc)) from None
    problems = statement_problems(
        statement,
        chain,
        board_head=board_head,
        electronic_ballots=electronic_ballots,
        paper_ballots=paper_ballots,
    )
    if problems:
        raise CountingError("the attendance statement does not match: " + "; ".join(problems))
    return statement, chain


def slips_problem(
    minted: int, used: int, handed_out: Any, lost: Any, voided_for_paper: int = 0
) -> str | None:
    """The reconciliation of the slips must hold: used + voided for paper + lost <= handed out
    <= minted (a slip voided for paper was handed out, then handed back, 16.1)."""
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (handed_out, lost)):
        return "handed_out and lost must be whole numbers"
    if not (lost >= 0 and used + voided_for_paper + lost <= handed_out <= minted):
        paper = f" + voided for paper ({voided_for_paper})" if voided_for_paper else ""
        return (
            f"the slips do not reconcile: used ({used}){paper} + lost ({lost}) <= handed out"
            f" ({handed_out}) <= minted ({minted}) does not hold"
        )
    return None


def load_jsonl(data: bytes) -> list[Any]:
    return [parse_json(line) for line in data.splitlines() if line.strip()]
