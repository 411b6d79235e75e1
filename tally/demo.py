"""A complete synthetic poll through the real code path (auditor training, tests, benchmarks).

Trustee keys, credentials, ballots encrypted and signed, verified as the service verifies them,
chained on a board, summed, decrypted by every trustee with proofs, graded, recorded and signed.
``seed`` fixes only the names and the voters' choices; every cryptographic random value comes from
the operating system, as in a real poll.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tally.attendance import attendance_jsonl, check_attendance, entry, sign_statement
from tally.audit import audit_chain, format_time, make_line, to_jsonl
from tally.audit import genesis as audit_genesis
from tally.authority import AuthorityKey, mint, new_poll_uid
from tally.ballots import encrypt_ballot
from tally.counting import CountingError, aggregate_for, board_file, finish
from tally.credentials import Credential
from tally.dkg import Ceremony, default_threshold, make_check, make_dealing, threshold_key
from tally.dkg import decrypt_share as decrypt_threshold
from tally.manifest import Manifest, make_manifest, parse_manifest, poll_fingerprint
from tally.record import ServiceKey
from tally.results import SubjectInfo
from tally.rules import RuleSet, load_ruleset
from tally.trustees import TrusteeKey
from tally.verify import verify_ballots

# Share of votes per grade in the synthetic poll (best first), and of blanks where allowed.
_WEIGHTS = (25, 50, 20, 5)
_BLANK_RATE = 0.03


@dataclass(frozen=True)
class DemoPoll:
    files: dict[str, bytes]
    choices: list[list[int | None]]  # kept only so tests can compare counts with what was cast
    seconds: dict[str, float]  # wall time of each stage: encrypt, accept, count (for tally bench)


def demo_audit_log(manifest_data: dict[str, Any], ballots: int) -> bytes:
    """What the service's log of a poll looks like: opened, closed, counted."""
    chain = audit_chain(manifest_data)
    now = format_time(datetime.now(UTC))
    events: list[tuple[str, dict[str, Any]]] = [
        ("poll.open", {"fingerprint": poll_fingerprint(manifest_data["election"]).hex()}),
        ("poll.close", {"ballots": ballots}),
        ("count.start", {"ballots": ballots}),
    ]
    prev = audit_genesis(chain)
    lines = []
    for seq, (action, detail) in enumerate(events, start=1):
        entry = {"chain": chain, "seq": seq, "time": now, "actor": "demo", "action": action}
        line = make_line({**entry, "detail": {"poll": chain, **detail}}, prev)
        prev = bytes.fromhex(line["hash"])
        lines.append(line)
    return to_jsonl(lines)


def demo_attendance(
    manifest: Manifest,
    trustee: TrusteeKey,
    *,
    board_head: str,
    ballots: int,
    present: int | None = None,
    paper_ballots: int = 0,
) -> tuple[bytes, dict[str, Any]]:
    """An attendance chain (one entry at opening: ``present``, the ballots if not given) and
    the trustee's signed statement of the closed poll, as the service and a trustee make them."""
    assert manifest.poll_uid is not None
    entries = [
        entry(1, format_time(datetime.now(UTC)), ballots if present is None else present, "demo")
    ]
    jsonl = attendance_jsonl(manifest.fingerprint, entries)
    chain = check_attendance(jsonl, manifest.fingerprint, manifest.eligible)
    statement = sign_statement(
        trustee,
        fingerprint=manifest.fingerprint,
        poll_uid=manifest.poll_uid,
        attendance=chain,
        board_head=board_head,
        electronic_ballots=ballots,
        paper_ballots=paper_ballots,
    )
    return jsonl, statement


def demo_credentials(count: int, reserve: int = 0) -> tuple[str, dict[str, Any], list[Credential]]:
    """A poll uid, a credential list signed by a fresh authority key, and its slips (the
    reserve slips last)."""
    uid = new_poll_uid()
    document, slips, spare = mint(AuthorityKey.generate(), uid, count, reserve)
    return uid, document, slips + spare


def demo_subjects(count: int) -> list[SubjectInfo]:
    """The Standing Committee collective first, then its members (one peer group)."""
    subjects = [
        SubjectInfo(key="tap-the-btv", name="Tập thể Ban Thường vụ Tỉnh ủy", kind="collective")
    ]
    for k in range(1, count):
        subjects.append(
            SubjectInfo(
                key=f"uv-{k:02d}",
                name=f"Ủy viên Ban Thường vụ Tỉnh ủy số {k}",
                kind="individual",
                role="Ủy viên Ban Thường vụ Tỉnh ủy",
                peer_group="ubtv",
            )
        )
    return subjects[:count]


def run_demo(
    *,
    subjects: int,
    voters: int,
    trustees: int,
    seed: int | None = None,
    rules: RuleSet | None = None,
    signer: ServiceKey | None = None,
    threshold: int | None = None,
    absent: int = 0,
) -> DemoPoll:
    """``threshold`` k: a key ceremony among the trustees, any k of whom count (a majority if
    not given); 0 for the n-of-n key of version 1's kind, every trustee decrypting. ``absent``:
    how many trustees (the last ones) take no part in counting."""
    if subjects < 1 or voters < 0 or trustees < 1:
        raise ValueError("need at least 1 subject and 1 trustee, and 0 or more voters")
    k = default_threshold(trustees) if threshold is None else threshold
    if not 0 <= k <= trustees:
        raise ValueError(f"the threshold must be between 1 and the {trustees} trustees")
    if not 0 <= absent < trustees or (k == 0 and absent):
        raise ValueError("the absent trustees: from 0 to n - 1, and none without a threshold")
    rng = random.Random(seed)
    rules = rules or load_ruleset("qd124-2023")
    signer = signer or ServiceKey.generate()
    keys = [TrusteeKey.generate(f"Thành viên Ban kiểm phiếu {k + 1}") for k in range(trustees)]
    uid, credential_list, credentials = demo_credentials(max(1, voters))
    credentials = credentials[:voters]
    members = max(1, voters + voters // 10)  # a few absent members; never an empty committee
    ceremony: dict[str, Any] | None = None
    if k:
        # The key ceremony (9.4): every trustee deals, then every trustee checks.
        setup = Ceremony(new_poll_uid(), k, tuple(key.public for key in keys))
        dealings = [make_dealing(setup, key) for key in keys]
        checks = [make_check(setup, key, dealings) for key in keys]
        ceremony = {"uid": setup.uid, "threshold": k, "dealings": dealings, "checks": checks}
    manifest_data = make_manifest(
        poll_id="demo",
        poll_uid=uid,
        title="Phiếu biểu quyết đánh giá, xếp loại Ban Thường vụ Tỉnh ủy (mô phỏng)",
        conference={
            "title": "Hội nghị đánh giá, xếp loại chất lượng năm (mô phỏng)",
            "body": "Ban Thường vụ Tỉnh ủy",
            "date": datetime.now(UTC).date().isoformat(),
            "place": "Hội trường Tỉnh ủy",
        },
        subjects=demo_subjects(subjects),
        rules=rules,
        trustees=[k.public for k in keys],
        credential_list=credential_list,
        members=members,
        signer_public_key=signer.public_key,
        ceremony=ceremony,
    )
    manifest = parse_manifest(manifest_data)
    grades = len(rules.grades)
    weights = list(_WEIGHTS[:grades]) + [5] * max(0, grades - len(_WEIGHTS))

    choices: list[list[int | None]] = []
    for _ in credentials:
        row: list[int | None] = []
        for _ in range(subjects):
            if rules.allow_blank and rng.random() < _BLANK_RATE:
                row.append(None)
            else:
                row.append(rng.choices(range(grades), weights)[0])
        choices.append(row)
    started = time.perf_counter()
    ballots = [
        encrypt_ballot(manifest.context, cred, row)
        for cred, row in zip(credentials, choices, strict=True)
    ]

    encrypted = time.perf_counter()
    # Accept each ballot as the service does: verify it completely, then chain it.
    checked = verify_ballots(manifest.context, ballots)
    accepted = [vb for vb, _ in checked if vb is not None]
    if len(accepted) != len(ballots):
        raise RuntimeError("an honest demo ballot failed verification")
    jsonl, head = board_file(
        manifest.fingerprint,
        ((b, vb.tracking_hash) for b, vb in zip(ballots, accepted, strict=True)),
    )
    accepted_at = time.perf_counter()
    aggregate = aggregate_for(manifest, head, accepted)
    present = keys[: len(keys) - absent]
    if ceremony is None:
        shares: list[dict[str, Any]] = [key.decrypt_share(aggregate) for key in present]
    else:
        if len(present) < k:
            raise CountingError(
                f"too few trustees took part in counting: {len(present)} of the k = {k} needed;"
                " no result"
            )
        shares = [
            decrypt_threshold(
                aggregate,
                threshold_key(setup, ceremony["dealings"], ceremony["checks"], key),
            )
            for key in present
        ]
    attendance_lines, statement = demo_attendance(
        manifest, keys[0], board_head=head, ballots=len(ballots)
    )
    files = finish(
        manifest_data,
        jsonl,
        aggregate,
        shares,
        signer=signer,
        voided=0,
        created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        audit_jsonl=demo_audit_log(manifest_data, len(ballots)),
        attendance_jsonl=attendance_lines,
        attendance=statement,
        handed_out=len(ballots),
    )
    seconds = {
        "encrypt": encrypted - started,
        "accept": accepted_at - encrypted,
        "count": time.perf_counter() - accepted_at,
    }
    return DemoPoll(files, choices, seconds)
