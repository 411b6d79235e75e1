"""Rating ballots: encrypt, prove, sign, verify, and the voter's tracking code.

A ballot rates every subject of a poll. For each subject it holds one ciphertext per grade
encrypting 0 or 1, a 0/1 proof for each, and a proof that the subject's ciphertexts add up to
exactly 1 (or to 0 or 1 where the rule set allows a blank). The whole ballot is signed with the
slip's credential key. The plaintext choices exist only inside :func:`encrypt_ballot`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tally.canonical import CanonicalError, canonical_json
from tally.credentials import Credential, verify_signature
from tally.elgamal import Ciphertext, add_all, encrypt
from tally.group import G, GroupError, L, Point, hex_bytes, random_scalar, scalar_hex, u32
from tally.proofs import (
    DleqProof,
    NonceSource,
    ProofError,
    ZeroOneProof,
    checked_nonce,
    prove_dleq,
    prove_zero_one,
    verify_dleq,
    verify_zero_one,
)

BALLOT_FORMAT = "tally-ballot/1"
TAG_CHOICE = "tally/v1/choice-0-1"
TAG_SUM_ONE = "tally/v1/subject-sum-1"
TAG_SUM_ZERO_ONE = "tally/v1/subject-sum-0-1"
SIGNATURE_PREFIX = b"tally/v1/ballot-signature\x00"
# Version 2 (docs/protocol.md 12.6): the booth derives every random value of a ballot from one
# seed, and shows a commitment to the ciphertexts before the voter casts or challenges.
SEED_INFO = b"tally/v2/ballot-seed\x00"
COMMITMENT_PREFIX = b"tally/v2/ballot-commitment\x00"
SEED_BYTES = 32
COMMITMENT_BYTES = 20  # 160 bits, shown as 32 base32 characters in groups of four


class BallotError(ValueError):
    """A ballot is malformed or fails a check; the message says which."""


@dataclass(frozen=True)
class PollContext:
    """What a ballot is bound to: fixed when the poll opens (see tally.manifest)."""

    fingerprint: bytes  # SHA-256 of the canonical election parameters
    public_key: Point  # the trustees' joint key
    subjects: int
    grades: int
    allow_blank: bool


@dataclass(frozen=True)
class VerifiedBallot:
    """A ballot that passed every check, with its parsed ciphertexts."""

    credential: bytes
    ciphertexts: tuple[tuple[Ciphertext, ...], ...]
    tracking_hash: bytes
    canonical: bytes  # the canonical JSON of the whole ballot, what the board stores


def _context(ctx: PollContext, credential: bytes, subject: int, grade: int | None) -> bytes:
    parts = ctx.fingerprint + credential + u32(subject)
    return parts if grade is None else parts + u32(grade)


def signed_bytes(ballot: dict[str, Any]) -> bytes:
    """What the credential signs: the domain prefix and the canonical ballot minus its signature."""
    body = {k: v for k, v in ballot.items() if k != "signature"}
    return SIGNATURE_PREFIX + canonical_json(body)


def seed_nonces(fingerprint: bytes, seed: bytes) -> NonceSource:
    """Every random value of one ballot, derived from its seed (12.6):
    ``HKDF-SHA512(IKM = seed, salt = none, info = SEED_INFO ‖ fingerprint ‖ label, L = 64)`` read
    little-endian modulo L, for the labels of :func:`encrypt_ballot_with_randomness`. A value of
    zero is refused (``checked_nonce``): that encryption fails, and the next draws another seed."""
    if len(seed) != SEED_BYTES:
        raise BallotError(f"a ballot seed is {SEED_BYTES} bytes")

    def nonce(label: str) -> int:
        okm = HKDF(
            algorithm=hashes.SHA512(),
            length=64,
            salt=None,
            info=SEED_INFO + fingerprint + label.encode("ascii"),
        ).derive(seed)
        return checked_nonce(int.from_bytes(okm, "little") % L)

    return nonce


def new_seed() -> bytes:
    """A fresh ballot seed from the operating system: one per encryption, never reused."""
    return secrets.token_bytes(SEED_BYTES)


def encrypt_ballot_from_seed(
    ctx: PollContext, credential: Credential, choices: Sequence[int | None], seed: bytes
) -> dict[str, Any]:
    """The booth's encryption (version 2): every random value from ``seed`` (12.6)."""
    return encrypt_ballot(ctx, credential, choices, nonces=seed_nonces(ctx.fingerprint, seed))


def rebuild_ciphertexts(
    ctx: PollContext, choices: Sequence[int | None], seed: bytes
) -> list[list[Ciphertext]]:
    """The ciphertexts a seed and choices give (what a challenge check compares): no credential,
    no proof. BallotError if a choice is not one the poll allows."""
    _check_choices(ctx, choices)
    nonces = seed_nonces(ctx.fingerprint, seed)
    return [
        [
            encrypt(ctx.public_key, 1 if choice == j else 0, nonces(f"{i}/{j}/r"))
            for j in range(ctx.grades)
        ]
        for i, choice in enumerate(choices)
    ]


def commitment_hash(fingerprint: bytes, ciphertexts: Sequence[Sequence[Ciphertext]]) -> bytes:
    """``SHA256(COMMITMENT_PREFIX ‖ fingerprint ‖ a_00 ‖ b_00 ‖ a_01 ‖ …)`` over the raw points, in
    subject then grade order: the commitment the booth shows before cast or challenge."""
    points = (p.encode() for row in ciphertexts for ct in row for p in (ct.a, ct.b))
    return _commitment(fingerprint, points)


def commitment_code(digest: bytes) -> str:
    """The commitment as shown: base32 of its first 160 bits, 8 groups of 4 joined by ``-``."""
    text = base64.b32encode(digest[:COMMITMENT_BYTES]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def ballot_commitment(fingerprint: bytes, ballot: dict[str, Any]) -> str:
    """The commitment code of a ballot already verified (the board's): from the points' hex as
    they stand, not decoded again, so that a board of thousands is shown at once."""
    points = (
        bytes.fromhex(c[k]) for answer in ballot["answers"] for c in answer["choices"] for k in "ab"
    )
    return commitment_code(_commitment(fingerprint, points))


def _commitment(fingerprint: bytes, points: Iterable[bytes]) -> bytes:
    h = hashlib.sha256(COMMITMENT_PREFIX + fingerprint)
    for point in points:
        h.update(point)
    return h.digest()


def _check_choices(ctx: PollContext, choices: Sequence[int | None]) -> None:
    if len(choices) != ctx.subjects:
        raise BallotError(f"the ballot must rate {ctx.subjects} subjects, got {len(choices)}")
    for i, choice in enumerate(choices):
        if choice is None and not ctx.allow_blank:
            raise BallotError(f"subject {i + 1} must be rated (this rule set allows no blank)")
        if choice is not None and (type(choice) is not int or not 0 <= choice < ctx.grades):
            raise BallotError(f"subject {i + 1}: grade index out of range")


def encrypt_ballot(
    ctx: PollContext,
    credential: Credential,
    choices: Sequence[int | None],
    *,
    nonces: NonceSource | None = None,
) -> dict[str, Any]:
    """Encrypt, prove and sign; ``choices[i]`` is the grade index for subject i, None for blank.

    ``nonces`` fixes every random value, for test vectors only (see
    :func:`encrypt_ballot_with_randomness`); by default they come from the operating system.
    """
    ballot, _ = encrypt_ballot_with_randomness(ctx, credential, choices, nonces=nonces)
    return ballot


def encrypt_ballot_with_randomness(
    ctx: PollContext,
    credential: Credential,
    choices: Sequence[int | None],
    *,
    nonces: NonceSource | None = None,
) -> tuple[dict[str, Any], list[list[int]]]:
    """As :func:`encrypt_ballot`, also returning the randomness (for a Benaloh challenge only).

    A given ``nonces`` source is asked, for subject ``i`` and grade ``j``, for ``"i/j/r"`` (the
    encryption randomness) and ``"i/j/w"``, ``"i/j/c_sim"``, ``"i/j/s_sim"`` (the 0/1 proof's
    nonces); for the subject's sum proof, ``"i/sum/w"``, ``"i/sum/c_sim"``, ``"i/sum/s_sim"`` (a
    blank allowed) or ``"i/sum/w"`` alone (the DLEQ proof of a sum of exactly 1).
    """
    _check_choices(ctx, choices)
    cred = credential.public_key
    Y = ctx.public_key
    answers: list[dict[str, Any]] = []
    randomness: list[list[int]] = []
    for i, choice in enumerate(choices):
        if nonces is None:
            rs = [random_scalar() for _ in range(ctx.grades)]
        else:
            rs = [checked_nonce(nonces(f"{i}/{j}/r")) for j in range(ctx.grades)]
        cts = []
        for j, r in enumerate(rs):
            m = 1 if choice == j else 0
            ct = encrypt(Y, m, r)
            proof = prove_zero_one(
                Y,
                ct,
                m,
                r,
                TAG_CHOICE,
                _context(ctx, cred, i, j),
                nonces=_triple(nonces, f"{i}/{j}"),
            )
            cts.append((ct, proof))
        total = add_all(ct for ct, _ in cts)
        r_sum = sum(rs) % L
        sum_context = _context(ctx, cred, i, None)
        sum_proof: DleqProof | ZeroOneProof
        if ctx.allow_blank:
            m_sum = 0 if choice is None else 1
            sum_proof = prove_zero_one(
                Y,
                total,
                m_sum,
                r_sum,
                TAG_SUM_ZERO_ONE,
                sum_context,
                nonces=_triple(nonces, f"{i}/sum"),
            )
        else:
            w = None if nonces is None else nonces(f"{i}/sum/w")
            sum_proof = prove_dleq(
                r_sum, Y, total.a, total.b - G, TAG_SUM_ONE, sum_context, nonce=w
            )
        answers.append(
            {
                "choices": [{**ct.to_json(), "proof": p.to_json()} for ct, p in cts],
                "sum_proof": sum_proof.to_json(),
            }
        )
        randomness.append(rs)
    ballot: dict[str, Any] = {
        "format": BALLOT_FORMAT,
        "poll": ctx.fingerprint.hex(),
        "credential": cred.hex(),
        "answers": answers,
    }
    ballot["signature"] = credential.sign(signed_bytes(ballot)).hex()
    return ballot, randomness


def _triple(nonces: NonceSource | None, where: str) -> tuple[int, int, int] | None:
    if nonces is None:
        return None
    return nonces(f"{where}/w"), nonces(f"{where}/c_sim"), nonces(f"{where}/s_sim")


def verify_ballot(ctx: PollContext, ballot: Any) -> VerifiedBallot:
    """Check structure, group membership, every proof and the signature; raise BallotError."""
    try:
        return _verify(ctx, ballot)
    except (GroupError, ProofError, CanonicalError) as exc:
        raise BallotError(str(exc)) from None


def _verify(ctx: PollContext, ballot: Any) -> VerifiedBallot:
    if not isinstance(ballot, dict):
        raise BallotError("a ballot must be a JSON object")
    expected = {"format", "poll", "credential", "answers", "signature"}
    if set(ballot) != expected:
        raise BallotError("a ballot must have exactly the fields " + ", ".join(sorted(expected)))
    if ballot["format"] != BALLOT_FORMAT:
        raise BallotError(f"unknown ballot format (expected {BALLOT_FORMAT})")
    if ballot["poll"] != ctx.fingerprint.hex():
        raise BallotError("the ballot is for another poll (fingerprint differs)")
    cred = _hex(ballot["credential"], 32, "credential")
    signature = _hex(ballot["signature"], 64, "signature")
    # The signature is cheap next to the proofs: check it first so forged ballots cost little.
    signed = signed_bytes(ballot)
    if not verify_signature(cred, signature, signed):
        raise BallotError("the credential's signature does not verify")
    answers = ballot["answers"]
    if not isinstance(answers, list) or len(answers) != ctx.subjects:
        raise BallotError(f"the ballot must rate exactly {ctx.subjects} subjects")
    Y = ctx.public_key
    parsed: list[tuple[Ciphertext, ...]] = []
    for i, answer in enumerate(answers):
        where = f"subject {i + 1}"
        if not isinstance(answer, dict) or set(answer) != {"choices", "sum_proof"}:
            raise BallotError(f"{where}: an answer has exactly the fields choices, sum_proof")
        choices = answer["choices"]
        if not isinstance(choices, list) or len(choices) != ctx.grades:
            raise BallotError(f"{where}: expected {ctx.grades} encrypted grades")
        cts = []
        for j, item in enumerate(choices):
            if not isinstance(item, dict) or set(item) != {"a", "b", "proof"}:
                raise BallotError(f"{where}, grade {j + 1}: fields must be a, b, proof")
            # a and b are checked (2.2) by the multiplications of the 0/1 proof's check, which
            # libsodium makes only for valid points: a by c0 and c1 (not both 0, their sum is a
            # hash), b by c0. Where that is not enough (c0 = 0), and on every failure so that the
            # first failure is named as 12.4 orders them, they are checked here.
            a = Point.decode_deferred(hex_bytes(item["a"], 32, "point"))
            b = Point.decode_deferred(hex_bytes(item["b"], 32, "point"))
            ct = Ciphertext(a, b)
            try:
                # a = identity means r = 0: b = m·G shows the vote to anyone reading the board.
                if a.is_identity:
                    b.require()
                    raise BallotError(
                        f"{where}, grade {j + 1}: a ciphertext is not encrypted (a = 0)"
                    )
                proof = ZeroOneProof.from_json(item["proof"])
                ok = verify_zero_one(Y, ct, proof, TAG_CHOICE, _context(ctx, cred, i, j))
            except (GroupError, ProofError, BallotError):
                a.require()
                b.require()
                raise
            if not ok:
                a.require()
                b.require()
                raise BallotError(f"{where}, grade {j + 1}: the 0/1 proof does not verify")
            if proof.c0 == 0:  # b's encoding went to no multiplication (never so when honest)
                a.require()
                b.require()
            cts.append(ct)
        total = add_all(cts)
        if total.a.is_identity:  # the randomness sums to 0: the sum would be readable
            raise BallotError(f"{where}: the subject's ciphertexts are not encrypted (sum a = 0)")
        sum_context = _context(ctx, cred, i, None)
        if ctx.allow_blank:
            ok = verify_zero_one(
                Y, total, ZeroOneProof.from_json(answer["sum_proof"]), TAG_SUM_ZERO_ONE, sum_context
            )
        else:
            ok = verify_dleq(
                Y,
                total.a,
                total.b - G,
                DleqProof.from_json(answer["sum_proof"]),
                TAG_SUM_ONE,
                sum_context,
            )
        if not ok:
            raise BallotError(
                f"{where}: the proof that exactly one grade is chosen does not verify"
            )
        parsed.append(tuple(cts))
    # The whole ballot's canonical form from the signed part's, encoded once (issue 19): the keys
    # are exactly the five above, sorted (1.), so "signature" comes last, and its value is 128
    # hexadecimal digits, which JSON writes as they are.
    tail = b',"signature":"' + signature.hex().encode() + b'"}'
    whole = signed[len(SIGNATURE_PREFIX) : -1] + tail
    return VerifiedBallot(cred, tuple(parsed), hashlib.sha256(whole).digest(), whole)


def check_challenge(
    ctx: PollContext,
    ballot: dict[str, Any],
    choices: Sequence[int | None],
    randomness: Sequence[Sequence[int]],
) -> bool:
    """Benaloh check: do the revealed choices and randomness give exactly these ciphertexts?"""
    answers = ballot.get("answers")
    if not isinstance(answers, list) or not (
        len(answers) == len(choices) == len(randomness) == ctx.subjects
    ):
        return False
    for answer, choice, rs in zip(answers, choices, randomness, strict=True):
        # An out-of-range grade would "match" an all-zero (blank) encryption and mislead the voter.
        if choice is None and not ctx.allow_blank:
            return False
        if choice is not None and not 0 <= choice < ctx.grades:
            return False
        items = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not len(items) == len(rs) == ctx.grades:
            return False
        for j, (item, r) in enumerate(zip(items, rs, strict=True)):
            ct = encrypt(ctx.public_key, 1 if choice == j else 0, r)
            if not isinstance(item, dict) or (item.get("a"), item.get("b")) != (
                ct.a.hex(),
                ct.b.hex(),
            ):
                return False
    return True


def randomness_to_json(randomness: Sequence[Sequence[int]]) -> list[list[str]]:
    return [[scalar_hex(r) for r in rs] for rs in randomness]


def tracking_hash(ballot: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical ballot, signature included: what the board chains."""
    return hashlib.sha256(canonical_json(ballot)).digest()


def tracking_code(digest: bytes) -> str:
    """The voter's short code: the first 80 bits of the tracking hash in base32, as XXXX-XXXX-…"""
    text = base64.b32encode(digest[:10]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def _hex(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise BallotError(f"the {what} must be {2 * size} lowercase hex characters")
    try:
        return hex_bytes(value, size, what)  # strict: bytes.fromhex alone would skip spaces
    except GroupError:
        raise BallotError(f"the {what} must be hex") from None
