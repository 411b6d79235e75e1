#!/usr/bin/env python3
"""Peer benchmark: ElectionGuard 1.4.0 (PyPI `electionguard`).

Runs under the dedicated Python 3.10 virtualenv created by
bench/setup-electionguard.sh (ElectionGuard 1.4.0 fails to import on 3.11+):

    .venv-eg/bin/python bench/electionguard_bench.py --subjects 15 --grades 4 --ballots 0 --repeat 5

Builds a manifest with S one-of-m contests ("subjects") of G selections each
(votes_allowed 1), runs a 3-guardian key ceremony (quorum 3), then measures

  * encrypt_ms   median wall time of `encrypt_ballot(...)` (encryption + all proofs:
                 disjunctive 0/1 proof per selection incl. placeholders, constant-sum
                 proof per contest, hashed-ElGamal contest data), over R ballots;
  * verify_ms    median wall time of `ballot_is_valid_for_election(..., True)` on the
                 cast (nonce-free) ballot: the check `BallotBox.cast` runs, i.e. the style
                 check plus `ballot.is_valid_encryption(manifest_hash, joint key, Q')`,
                 which recomputes the hashes and verifies every selection and contest proof;
  * ballot_bytes size of one cast `SubmittedBallot` serialised with electionguard's
                 `to_raw` (JSON, UTF-8 bytes);
  * tally_s      (only if --ballots N > 0) accumulate N cast ballots into a
                 `CiphertextTally` and decrypt it with all 3 guardians through a
                 `DecryptionMediator`; the plaintext result is checked against the votes.

Prints ONE JSON object on stdout; everything else goes to stderr. With --interleave it prints a
ready line, then one JSON line per "round" read on stdin (one encrypt + verify each).
Imports only electionguard and the standard library.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version as dist_version

if sys.version_info[:2] != (3, 10):
    sys.stderr.write(
        "electionguard_bench: warning: ElectionGuard 1.4.0 only imports on Python 3.10 "
        f"(this is {platform.python_version()}); run bench/setup-electionguard.sh and use "
        ".venv-eg/bin/python\n"
    )

# electionguard installs a stdout StreamHandler at import time; stdout must carry only
# our JSON, so the handlers are replaced right after import (see quiet_electionguard_logging).
try:
    from electionguard import logs as eg_logs
    from electionguard.ballot import (
        BallotBoxState,
        CiphertextBallot,
        PlaintextBallot,
        PlaintextBallotContest,
        PlaintextBallotSelection,
        SubmittedBallot,
    )
    from electionguard.ballot_box import submit_ballot
    from electionguard.ballot_validator import ballot_is_valid_for_election
    from electionguard.decryption_mediator import DecryptionMediator
    from electionguard.election import (
        CiphertextElectionContext,
        make_ciphertext_election_context,
    )
    from electionguard.encrypt import EncryptionDevice, encrypt_ballot
    from electionguard.guardian import Guardian
    from electionguard.key_ceremony import CeremonyDetails
    from electionguard.key_ceremony_mediator import KeyCeremonyMediator
    from electionguard.manifest import (
        BallotStyle,
        Candidate,
        ContestDescription,
        ElectionType,
        GeopoliticalUnit,
        InternalManifest,
        Manifest,
        ReportingUnitType,
        SelectionDescription,
        SpecVersion,
        VoteVariationType,
    )
    from electionguard.scheduler import Scheduler
    from electionguard.serialize import to_raw
    from electionguard.tally import CiphertextTally
except Exception as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"electionguard_bench: cannot import electionguard ({type(exc).__name__}: {exc}).\n"
        "Create the environment with bench/setup-electionguard.sh and run this script with "
        ".venv-eg/bin/python.\n"
    )
    sys.exit(2)


def log(msg: str) -> None:
    sys.stderr.write(f"[eg-bench] {msg}\n")
    sys.stderr.flush()


def quiet_electionguard_logging(level: int, eager_format: bool) -> None:
    """Send electionguard's log to stderr at `level` and drop its per-message cost.

    `ElectionGuardLog.info/debug/...` build the message (calling `inspect.stack()`)
    *before* the logging module checks the level, so raising the level alone does not
    remove the cost: encryption logs ~6 INFO messages per contest plus one per
    selection. Unless `eager_format`, the LOG singleton's methods are wrapped so that a
    message below `level` is dropped before the stack is inspected (the library's own
    files are not modified).
    """
    logger = logging.getLogger("electionguard")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(eg_logs.FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    if eager_format:
        return
    eg_log = eg_logs.LOG
    for name, lvl in (
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("warn", logging.WARNING),
        ("error", logging.ERROR),
        ("critical", logging.CRITICAL),
    ):
        original = getattr(type(eg_log), name)

        def guarded(msg, *args, _orig=original, _lvl=lvl, **kwargs):  # type: ignore[no-untyped-def]
            if logger.isEnabledFor(_lvl):
                # caller info in the prefix is off by one frame; only matters for
                # messages that are actually printed (warnings and above)
                _orig(eg_log, msg, *args, **kwargs)

        setattr(eg_log, name, guarded)


# --------------------------------------------------------------------------- election


def build_manifest(subjects: int, grades: int) -> Manifest:
    gp_unit = "bench-district"
    candidates: list[Candidate] = []
    contests: list[ContestDescription] = []
    for s in range(subjects):
        selections = []
        for g in range(grades):
            cand_id = f"subject-{s}-grade-{g}"
            candidates.append(Candidate(cand_id))
            selections.append(SelectionDescription(f"{cand_id}-selection", g, cand_id))
        contests.append(
            ContestDescription(
                object_id=f"subject-{s}",
                sequence_order=s,
                electoral_district_id=gp_unit,
                vote_variation=VoteVariationType.one_of_m,
                number_elected=1,
                votes_allowed=1,
                name=f"Subject {s}",
                ballot_selections=selections,
            )
        )
    style = BallotStyle("bench-style", geopolitical_unit_ids=[gp_unit])
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (runs on Python 3.10)
    manifest = Manifest(
        election_scope_id="bench-election",
        spec_version=SpecVersion.EG1_0,
        type=ElectionType.general,
        start_date=now,
        end_date=now,
        geopolitical_units=[GeopoliticalUnit(gp_unit, "Bench district", ReportingUnitType.school)],
        parties=[],
        candidates=candidates,
        contests=contests,
        ballot_styles=[style],
    )
    if not manifest.is_valid():
        raise RuntimeError("generated manifest failed Manifest.is_valid()")
    return manifest


def key_ceremony(n: int, quorum: int) -> tuple[list[Guardian], object]:
    """Full key ceremony (announce, partial-key backups, backup verification)."""
    details = CeremonyDetails(n, quorum)
    guardians = [Guardian.from_nonce(str(i + 1), i + 1, n, quorum) for i in range(n)]
    mediator = KeyCeremonyMediator("bench-key-ceremony", details)
    # round 1: public keys
    for g in guardians:
        mediator.announce(g.share_key())
    for g in guardians:
        for key in mediator.share_announced(g.id) or []:
            g.save_guardian_key(key)
    # round 2: partial key backups
    for g in guardians:
        g.generate_election_partial_key_backups()
        mediator.receive_backups(g.share_election_partial_key_backups())
    for g in guardians:
        for backup in mediator.share_backups(g.id) or []:
            g.save_election_partial_key_backup(backup)
    # round 3: verify backups
    for g in guardians:
        verifications = [
            g.verify_election_partial_key_backup(other.id)
            for other in guardians
            if other.id != g.id
        ]
        mediator.receive_backup_verifications([v for v in verifications if v])
    if not mediator.all_backups_verified():
        raise RuntimeError("key ceremony: backups not verified")
    joint_key = mediator.publish_joint_key()
    if joint_key is None:
        raise RuntimeError("key ceremony: no joint key")
    return guardians, joint_key


def make_plaintext_ballot(
    manifest: Manifest, ballot_id: str, rng: random.Random
) -> tuple[PlaintextBallot, dict[str, int]]:
    """One vote per contest (a grade per subject); returns the ballot and its votes."""
    contests = []
    votes: dict[str, int] = {}
    for contest in manifest.contests:
        chosen = rng.randrange(len(contest.ballot_selections))
        selections = []
        for i, sel in enumerate(contest.ballot_selections):
            vote = 1 if i == chosen else 0
            selections.append(PlaintextBallotSelection(sel.object_id, vote))
            votes[sel.object_id] = vote
        contests.append(PlaintextBallotContest(contest.object_id, selections))
    return PlaintextBallot(ballot_id, manifest.ballot_styles[0].object_id, contests), votes


# --------------------------------------------------------------------------- measures


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subjects", type=int, default=15, help="contests (default 15)")
    ap.add_argument("--grades", type=int, default=4, help="selections per contest (default 4)")
    ap.add_argument(
        "--ballots", type=int, default=0, help="ballots to tally and decrypt (0 = skip the tally)"
    )
    ap.add_argument(
        "--repeat", type=int, default=5, help="ballots timed for encrypt/verify medians (default 5)"
    )
    ap.add_argument(
        "--warmup", type=int, default=1, help="untimed encrypt+verify rounds first (default 1)"
    )
    ap.add_argument("--guardians", type=int, default=3, help="guardians (default 3)")
    ap.add_argument("--quorum", type=int, default=None, help="quorum (default = guardians)")
    ap.add_argument(
        "--tally-validate",
        action="store_true",
        help="re-verify every ballot's proofs while accumulating "
        "(CiphertextTally.batch_append should_validate=True, as "
        "electionguard.tally.tally_ballots does); default off: verify_ms "
        "already measures that cost",
    )
    ap.add_argument(
        "--eg-log-overhead",
        action="store_true",
        help="keep electionguard's eager log formatting (inspect.stack() per "
        "message, even when filtered out): the library's as-shipped cost",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed for the votes (not the crypto)")
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="after the warm-up, time one ballot per 'round' line read on stdin and print its "
        "figures as one JSON line (tally bench runs its own ballots in between)",
    )
    args = ap.parse_args()
    if args.subjects < 1 or args.grades < 2 or args.repeat < 1 or args.ballots < 0:
        ap.error("need --subjects >= 1, --grades >= 2, --repeat >= 1, --ballots >= 0")
    quorum = args.quorum or args.guardians

    quiet_electionguard_logging(logging.WARNING, eager_format=args.eg_log_overhead)
    rng = random.Random(args.seed)
    t_start = time.perf_counter()

    manifest = build_manifest(args.subjects, args.grades)
    internal_manifest = InternalManifest(manifest)

    t0 = time.perf_counter()
    guardians, joint_key = key_ceremony(args.guardians, quorum)
    t_ceremony = time.perf_counter() - t0
    context: CiphertextElectionContext = make_ciphertext_election_context(
        args.guardians,
        quorum,
        joint_key.joint_public_key,
        joint_key.commitment_hash,
        manifest.crypto_hash(),
    )
    log(f"key ceremony ({args.guardians} guardians, quorum {quorum}): {t_ceremony:.2f} s")

    device = EncryptionDevice(1234, 5678, 9012, "bench-location")
    seed = device.get_hash()
    expected_totals: dict[str, int] = {}
    cast: list[SubmittedBallot] = []
    serial = [0]

    def encrypt_one(record: bool) -> tuple[CiphertextBallot, float]:
        nonlocal seed
        serial[0] += 1
        plain, votes = make_plaintext_ballot(manifest, f"ballot-{serial[0]}", rng)
        t = time.perf_counter()
        enc = encrypt_ballot(plain, internal_manifest, context, seed)
        dt = time.perf_counter() - t
        if enc is None:
            raise RuntimeError("encrypt_ballot returned None")
        seed = enc.code  # chain ballot codes as EncryptionMediator does
        if record:
            for k, v in votes.items():
                expected_totals[k] = expected_totals.get(k, 0) + v
        return enc, dt

    def verify_one(ballot: CiphertextBallot) -> float:
        t = time.perf_counter()
        ok = ballot_is_valid_for_election(ballot, internal_manifest, context, True)
        dt = time.perf_counter() - t
        if not ok:
            raise RuntimeError(f"ballot {ballot.object_id} failed verification")
        return dt

    for _ in range(args.warmup):
        enc, _ = encrypt_one(record=False)
        verify_one(submit_ballot(enc, BallotBoxState.CAST))

    if args.interleave:
        # One encrypt + verify per "round" line on stdin, one JSON line back each: the caller
        # (tally bench) alternates these with its own, so that both see the same machine load.
        print(json.dumps({"ready": True, "version": dist_version("electionguard")}), flush=True)
        for line in sys.stdin:
            if line.strip() != "round":
                break
            enc, dt = encrypt_one(record=False)
            submitted = submit_ballot(enc, BallotBoxState.CAST)
            answer = {
                "encrypt_ms": ms(dt),
                "verify_ms": ms(verify_one(submitted)),
                "ballot_bytes": len(to_raw(submitted).encode("utf-8")),
            }
            print(json.dumps(answer), flush=True)
        return 0

    enc_times: list[float] = []
    ver_times: list[float] = []
    sizes: list[int] = []
    raw_sizes: list[int] = []
    for i in range(args.repeat):
        enc, dt = encrypt_one(record=True)
        enc_times.append(dt)
        submitted = submit_ballot(enc, BallotBoxState.CAST)  # nonces stripped
        ver_times.append(verify_one(submitted))
        sizes.append(len(to_raw(submitted).encode("utf-8")))
        raw_sizes.append(len(to_raw(enc).encode("utf-8")))
        cast.append(submitted)
        log(
            f"ballot {i + 1}/{args.repeat}: encrypt {ms(dt)} ms, verify {ms(ver_times[-1])} ms, "
            f"{sizes[-1]} bytes"
        )

    tally_s = None
    tally_acc_s = None
    tally_dec_s = None
    if args.ballots > 0:
        extra = max(0, args.ballots - len(cast))
        if extra:
            log(f"encrypting {extra} more ballots for the tally (untimed)")
        t0 = time.perf_counter()
        for _ in range(extra):
            enc, _ = encrypt_one(record=True)
            cast.append(submit_ballot(enc, BallotBoxState.CAST))
        log(f"  ... {time.perf_counter() - t0:.1f} s")
        tally_ballots = cast[: args.ballots]
        if len(tally_ballots) < len(cast):  # recompute expectations for the subset
            expected_totals = {}
            log("note: --ballots < --repeat; expected totals are not checked")

        # electionguard opens a new multiprocessing Pool per Scheduler() and never closes
        # it; use one explicit scheduler for accumulation (created before timing).
        scheduler = Scheduler()
        try:
            tally = CiphertextTally("bench-tally", internal_manifest, context)
            t0 = time.perf_counter()
            ok = tally.batch_append(
                [(b.object_id, b) for b in tally_ballots],
                args.tally_validate,
                scheduler,
            )
            tally_acc_s = time.perf_counter() - t0
            if not ok or tally.cast() != len(tally_ballots):
                raise RuntimeError(f"tally accumulated {tally.cast()} of {len(tally_ballots)}")

            t0 = time.perf_counter()
            dmediator = DecryptionMediator("bench-decryption", context)
            for g in guardians:
                share = g.compute_tally_share(tally, context)
                if share is None:
                    raise RuntimeError(f"guardian {g.id}: no tally share")
                dmediator.announce(g.share_key(), share)
            plaintext = dmediator.get_plaintext_tally(tally, manifest)
            tally_dec_s = time.perf_counter() - t0
        finally:
            scheduler.close()
        if plaintext is None:
            raise RuntimeError("decryption mediator returned no plaintext tally")
        tally_s = tally_acc_s + tally_dec_s
        if expected_totals:
            got = {
                sel_id: sel.tally
                for contest in plaintext.contests.values()
                for sel_id, sel in contest.selections.items()
            }
            wrong = {k: (got.get(k), v) for k, v in expected_totals.items() if got.get(k) != v}
            if wrong:
                raise RuntimeError(f"decrypted tally mismatch (got, expected): {wrong}")
            log(f"decrypted tally matches the {len(tally_ballots)} ballots' votes")
        log(
            f"tally: accumulate {tally_acc_s:.3f} s, decrypt (3 shares + combine) "
            f"{tally_dec_s:.3f} s"
        )

    result = {
        "implementation": "electionguard",
        "version": dist_version("electionguard"),
        "python": platform.python_version(),
        "subjects": args.subjects,
        "grades": args.grades,
        "encrypt_ms": ms(statistics.median(enc_times)),
        "verify_ms": ms(statistics.median(ver_times)),
        "ballot_bytes": int(statistics.median_low(sizes)),
        "tally_ballots": args.ballots,
        "tally_s": None if tally_s is None else round(tally_s, 3),
        # extra detail (consumers may ignore)
        "repeat": args.repeat,
        "guardians": args.guardians,
        "quorum": quorum,
        "encrypt_ms_all": [ms(t) for t in enc_times],
        "verify_ms_all": [ms(t) for t in ver_times],
        "ciphertext_ballot_bytes": int(statistics.median_low(raw_sizes)),
        "tally_accumulate_s": None if tally_acc_s is None else round(tally_acc_s, 3),
        "tally_decrypt_s": None if tally_dec_s is None else round(tally_dec_s, 3),
        "tally_validate": bool(args.tally_validate),
        "eg_log_overhead": bool(args.eg_log_overhead),
        "key_ceremony_s": round(t_ceremony, 3),
        "cpus": os.cpu_count(),
    }
    log(f"total wall time {time.perf_counter() - t_start:.1f} s")
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
