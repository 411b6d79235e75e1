"""The paper fallback (protocol version 2, docs/protocol.md 13.3): a slip voided for paper, and a
paper ballot entered by the counting committee.

A member who votes on paper hands in their slip. On the operator's device the slip's own key
signs a **void statement** (``tally-void/1``): the server stores the statement, never the secret,
and refuses any ballot of that slip afterwards. After the poll closes and before counting starts,
a trustee enters each paper ballot as an ordinary encrypted ballot (a fresh one-time credential
signs it, so every check of 12.4 applies) wrapped in a **paper-ballot statement**
(``tally-paper-ballot/1``) signed with the trustee's signing key (9.1). Paper ballots are summed
with the board's into one aggregate, so only combined totals are ever decrypted: no separate
paper tally exists that could be subtracted from the total to reveal a lone paper voter's vote.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally.ballots import (
    BallotError,
    PollContext,
    VerifiedBallot,
    encrypt_ballot,
    tracking_hash,
    verify_ballot,
)
from tally.canonical import CanonicalError, canonical_json, fields_problem, parse_json
from tally.credentials import Credential, is_valid_credential_key, verify_signature
from tally.manifest import Manifest
from tally.trustees import TrusteeKey, TrusteePublic

VOID_FORMAT = "tally-void/1"
PAPER_FORMAT = "tally-paper-ballot/1"
VOID_TAG = b"tally/v2/void-for-paper\x00"
PAPER_TAG = b"tally/v2/paper-ballot\x00"
COUNT_HEAD_TAG = b"tally/v2/count-head\x00"
VOID_FIELDS = ("format", "poll", "poll_uid", "credential", "reason", "signature")
PAPER_FIELDS = ("format", "poll", "poll_uid", "ballot", "trustee", "signing_key", "signature")
VOID_REASON = "paper"
MAX_VOID_BYTES = 1024
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{128}")


class PaperError(ValueError):
    """A void or paper-ballot statement is malformed or fails a check; the message says which."""


def _signed(document: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in document.items() if k != "signature"})


def void_bytes(document: dict[str, Any]) -> bytes:
    """What the slip's key signs: the tag and the canonical statement without its signature."""
    return VOID_TAG + _signed(document)


def paper_bytes(document: dict[str, Any]) -> bytes:
    """What the trustee signs: the tag and the canonical statement without its signature."""
    return PAPER_TAG + _signed(document)


def make_void(credential: Credential, *, fingerprint: bytes, poll_uid: str) -> dict[str, Any]:
    """The void statement of one slip, signed with the slip's own key (the operator's device)."""
    document: dict[str, Any] = {
        "format": VOID_FORMAT,
        "poll": fingerprint.hex(),
        "poll_uid": poll_uid,
        "credential": credential.public_key.hex(),
        "reason": VOID_REASON,
    }
    document["signature"] = credential.sign(void_bytes(document)).hex()
    return document


def parse_void(
    document: Any, *, fingerprint: bytes, poll_uid: str, credentials: frozenset[bytes]
) -> bytes:
    """Check a void statement (13.3, in order): exact fields and format; this poll; the reason;
    a listed credential; the slip's signature. Returns the credential's public key."""
    if not isinstance(document, dict):
        raise PaperError("a void statement is a JSON object")
    problem = fields_problem("a void statement", document, VOID_FIELDS)
    if problem:
        raise PaperError(problem)
    if document["format"] != VOID_FORMAT:
        raise PaperError(f"not a void statement ({VOID_FORMAT})")
    if document["poll"] != fingerprint.hex() or document["poll_uid"] != poll_uid:
        raise PaperError("the void statement is for another poll")
    if document["reason"] != VOID_REASON:
        raise PaperError(f"reason: expected {VOID_REASON!r}")
    key = document["credential"]
    if not isinstance(key, str) or _HEX32.fullmatch(key) is None:
        raise PaperError("credential: expected 32 bytes in lowercase hex")
    credential = bytes.fromhex(key)
    if credential not in credentials:
        raise PaperError("the slip is not on this poll's credential list")
    signature = document["signature"]
    if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
        raise PaperError("signature: expected 64 bytes in lowercase hex")
    if not verify_signature(credential, bytes.fromhex(signature), void_bytes(document)):
        raise PaperError("the slip's signature on the void statement does not verify")
    return credential


def make_paper_ballot(
    ctx: PollContext, key: TrusteeKey, *, poll_uid: str, choices: Sequence[int | None]
) -> dict[str, Any]:
    """One paper ballot as the counting committee enters it: encrypted and proved like any
    ballot under a one-time credential drawn here and forgotten, then signed by the trustee."""
    if key.public.signing_key is None:
        raise PaperError("this trustee key has no signing key")
    ballot = encrypt_ballot(ctx, Credential.generate(), choices)
    document: dict[str, Any] = {
        "format": PAPER_FORMAT,
        "poll": ctx.fingerprint.hex(),
        "poll_uid": poll_uid,
        "ballot": ballot,
        "trustee": key.public.name,
        "signing_key": key.public.signing_key.hex(),
    }
    document["signature"] = key.sign(paper_bytes(document)).hex()
    return document


@dataclass(frozen=True)
class PaperBallot:
    """A paper-ballot statement that passed every check."""

    data: dict[str, Any]
    ballot: VerifiedBallot
    trustee: TrusteePublic


def parse_paper_ballot(
    document: Any,
    *,
    ctx: PollContext,
    poll_uid: str,
    trustees: Sequence[TrusteePublic],
    credentials: frozenset[bytes],
) -> PaperBallot:
    """Check a paper-ballot statement (13.3, in order): exact fields and format; this poll; the
    signer is a trustee of the manifest (same name and signing key) and the signature verifies;
    the one-time credential is a valid key and not on the credential list; the ballot passes
    every check of 12.4."""
    if not isinstance(document, dict):
        raise PaperError("a paper-ballot statement is a JSON object")
    problem = fields_problem("a paper-ballot statement", document, PAPER_FIELDS)
    if problem:
        raise PaperError(problem)
    if document["format"] != PAPER_FORMAT:
        raise PaperError(f"not a paper-ballot statement ({PAPER_FORMAT})")
    if document["poll"] != ctx.fingerprint.hex() or document["poll_uid"] != poll_uid:
        raise PaperError("the paper ballot is for another poll")
    signer = next(
        (
            t
            for t in trustees
            if t.signing_key is not None
            and t.signing_key.hex() == document["signing_key"]
            and t.name == document["trustee"]
        ),
        None,
    )
    if signer is None:
        raise PaperError("the paper ballot is not signed by a trustee of this poll")
    signature = document["signature"]
    if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
        raise PaperError("signature: expected 64 bytes in lowercase hex")
    assert signer.signing_key is not None
    if not verify_signature(signer.signing_key, bytes.fromhex(signature), paper_bytes(document)):
        raise PaperError("the trustee's signature on the paper ballot does not verify")
    ballot = document["ballot"]
    key = ballot.get("credential") if isinstance(ballot, dict) else None
    if not isinstance(key, str) or _HEX32.fullmatch(key) is None:
        raise PaperError("ballot.credential: expected 32 bytes in lowercase hex")
    if not is_valid_credential_key(bytes.fromhex(key)):
        raise PaperError("ballot.credential: not a valid Ed25519 key")
    if bytes.fromhex(key) in credentials:
        raise PaperError("ballot.credential: a slip's key; a paper ballot has its own one-time key")
    try:
        verified = verify_ballot(ctx, ballot)
    except BallotError as exc:
        raise PaperError(f"ballot: {exc}") from None
    return PaperBallot(document, verified, signer)


def paper_problems(
    voided: Sequence[bytes], papers: Sequence[PaperBallot], board_credentials: frozenset[bytes]
) -> list[str]:
    """What the set of voids and paper ballots breaks (13.3): a slip voided twice, a voided slip
    that also cast a ballot, a one-time credential used twice, more paper ballots than slips
    voided for paper."""
    problems = []
    if len(set(voided)) != len(voided):
        problems.append("a slip is voided twice")
    cast = sorted(k.hex()[:16] for k in set(voided) & board_credentials)
    if cast:
        problems.append(f"voided slips that also cast a ballot: {', '.join(cast)}")
    keys = [p.ballot.credential for p in papers]
    if len(set(keys)) != len(keys):
        problems.append("two paper ballots have the same one-time credential")
    if keys and set(keys) & board_credentials:
        problems.append("a paper ballot's one-time credential also signed a board ballot")
    if len(papers) > len(voided):
        problems.append(
            f"{len(papers)} paper ballots, more than the {len(voided)} slips voided for paper"
        )
    return problems


CODE_BYTES = 10  # a tracking code is the first 80 bits of the tracking hash (12.5)


def count_head(board_head: str, paper_hashes: Sequence[bytes], voided: int = 0) -> str:
    """The **count head** (13.3) a trustee types before signing the statement or decrypting:
    the board head when no slip was voided for paper and there is no paper ballot, else
    ``hex(SHA256(COUNT_HEAD_TAG ‖ board_head ‖ c_1 ‖ … ‖ c_P))`` over the paper ballots'
    tracking codes as bytes (the first 10 bytes of each tracking hash) in ascending order. It
    pins the whole set of paper ballots as the board head pins the board, and anyone can compute
    it again from the board head and the codes written on the paper ballots (``tally
    count-head``): so a server that hands out a subset, or shows a head over another set, is
    found out."""
    if not paper_hashes and not voided:
        return board_head
    codes = sorted(h[:CODE_BYTES] for h in paper_hashes)
    return hashlib.sha256(COUNT_HEAD_TAG + bytes.fromhex(board_head) + b"".join(codes)).hexdigest()


def code_bytes(code: str) -> bytes:
    """A typed tracking code (``XXXX-XXXX-XXXX-XXXX``, case and separators free) as its 10
    bytes; PaperError if it is not one."""
    import base64

    text = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(text) != 16:
        raise PaperError(f"{code!r}: a tracking code has 16 letters and digits")
    try:
        return base64.b32decode(text)
    except ValueError:
        raise PaperError(f"{code!r}: not a tracking code (A-Z, 2-7)") from None


def paper_tracking_hash(document: dict[str, Any]) -> bytes:
    """A paper ballot's tracking hash: its inner ballot's (12.5), shown as a tracking code when
    entered and written on the paper ballot by the committee."""
    return tracking_hash(document["ballot"])


def paper_jsonl(documents: Sequence[dict[str, Any]]) -> bytes:
    """``voids.jsonl`` or ``paper.jsonl``: one canonical statement per line, the lines in
    ascending byte order (so the file keeps no order of entry), each ending in ``\\n``."""
    return b"".join(line + b"\n" for line in sorted(canonical_json(d) for d in documents))


def _lines(data: bytes, name: str) -> list[Any]:
    """The statements of a paper file: canonical lines in ascending order, nothing else."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise PaperError(f"{name}: the last line does not end in a newline")
    raw = data[:-1].split(b"\n")
    out = []
    for n, line in enumerate(raw, start=1):
        try:
            value = parse_json(line)
        except (ValueError, CanonicalError, UnicodeDecodeError, RecursionError) as exc:
            raise PaperError(f"{name} line {n}: not JSON ({exc})") from None
        if canonical_json(value) != line:
            raise PaperError(f"{name} line {n}: not canonical JSON")
        out.append(value)
    if raw != sorted(raw) or len(set(raw)) != len(raw):
        raise PaperError(f"{name}: the lines are not in ascending byte order, each once")
    return out


def check_voids(data: bytes, *, manifest: Manifest) -> list[bytes]:
    """Every void statement of ``voids.jsonl`` (13.3); the voided slips' public keys."""
    assert manifest.poll_uid is not None
    voided = []
    for n, document in enumerate(_lines(data, "voids.jsonl"), start=1):
        try:
            voided.append(
                parse_void(
                    document,
                    fingerprint=manifest.fingerprint,
                    poll_uid=manifest.poll_uid,
                    credentials=manifest.credentials,
                )
            )
        except PaperError as exc:
            raise PaperError(f"voids.jsonl line {n}: {exc}") from None
    return voided


def check_papers(data: bytes, *, manifest: Manifest) -> list[PaperBallot]:
    """Every paper-ballot statement of ``paper.jsonl`` (13.3), each checked in full."""
    assert manifest.poll_uid is not None
    papers = []
    for n, document in enumerate(_lines(data, "paper.jsonl"), start=1):
        try:
            papers.append(
                parse_paper_ballot(
                    document,
                    ctx=manifest.context,
                    poll_uid=manifest.poll_uid,
                    trustees=manifest.trustees,
                    credentials=manifest.credentials,
                )
            )
        except PaperError as exc:
            raise PaperError(f"paper.jsonl line {n}: {exc}") from None
    return papers
