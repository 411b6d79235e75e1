"""The Benaloh challenge a booth reveals instead of casting (docs/protocol.md 12.6).

Version 2 (``tally-challenge/2``): before the voter chooses to cast or to challenge, the booth
shows a commitment to the ballot's ciphertexts. A challenge reveals the seed from which every
random value of that ballot was derived, and the choices; the check rebuilds the ciphertexts from
the public manifest, the seed and the choices, and compares their commitment with the one shown.
The file holds no ballot, no credential and no ciphertext: the booth gives it to the voter (a QR
code for a second device, or a file), never to the server.

Version 1 (``tally-challenge/1``, booths before version 2) revealed the ballot and its randomness;
such a file is still checked offline. A challenged ballot has revealed its vote: it is never cast.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally.ballots import (
    COMMITMENT_BYTES,
    SEED_BYTES,
    BallotError,
    check_challenge,
    commitment_code,
    commitment_hash,
    rebuild_ciphertexts,
    tracking_code,
    tracking_hash,
)
from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.credentials import Credential, verify_signature
from tally.elgamal import Ciphertext
from tally.group import GroupError, Point, scalar_from_hex
from tally.manifest import Manifest

CHALLENGE_FORMAT = "tally-challenge/2"
CHALLENGE_FORMAT_V1 = "tally-challenge/1"
QR_PREFIX = "TALLY-CHALLENGE/2:"
CHALLENGE_FIELDS = {"format", "poll", "seed", "choices", "commitment"}
# One character per subject in the QR text: the grade index in base 36, "-" for a blank.
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COMMITMENT_CHARS = COMMITMENT_BYTES * 8 // 5  # 32
# What a reader trims around a challenge and ignores inside a commitment: ASCII whitespace only,
# so that every implementation trims the same (Python's str.strip and JavaScript's trim differ).
ASCII_SPACE = " \t\n\r\x0b\x0c"


# What the booth tells the server when the voter challenges (12.6): signed by the slip's key, it
# names a hash of each challenged ciphertext's ``a`` and nothing of the choices or the seed.
NOTICE_FORMAT = "tally-challenged/1"
NOTICE_PREFIX = b"tally/v2/challenged\x00"
NOTICE_FIELDS = {"format", "poll", "credential", "a_hashes", "signature"}


class ChallengeError(ValueError):
    """Not a challenge file; ``what`` names the field that is wrong."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message)
        self.what = what


@dataclass(frozen=True)
class ChallengeResult:
    matches: bool
    # What differs when it does not match: "poll" (another poll's challenge) or "commitment"
    # (the seed or the choices are not those the booth encrypted); None when it matches.
    differs: str | None
    choices: tuple[int | None, ...]
    commitment: str  # the commitment the file names (version 2) or the tracking code (version 1)
    version: int


def normalize_commitment(text: object) -> str:
    """A typed or scanned commitment in its shown form (upper case, groups of four); raises
    ChallengeError unless it is 32 base32 characters once dashes and ASCII whitespace are
    removed (letters of either case)."""
    if not isinstance(text, str):
        raise ChallengeError("commitment", "commitment: expected a string")
    bare = re.sub(f"[{ASCII_SPACE}-]", "", text)
    if not re.fullmatch(f"[A-Za-z2-7]{{{_COMMITMENT_CHARS}}}", bare):
        raise ChallengeError(
            "commitment", f"commitment: expected {_COMMITMENT_CHARS} base32 characters (A-Z, 2-7)"
        )
    return commitment_code(base64.b32decode(bare.upper()))


def challenge_file(
    fingerprint: bytes, seed: bytes, choices: list[int | None], commitment: str
) -> dict[str, Any]:
    """The challenge file's JSON value (what a booth hands the voter)."""
    return {
        "format": CHALLENGE_FORMAT,
        "poll": fingerprint.hex(),
        "seed": seed.hex(),
        "choices": list(choices),
        "commitment": commitment,
    }


def a_hash(a: Point) -> str:
    """The hash of a ciphertext's ``a`` the server keeps for a challenged ballot: SHA-256 of the
    32-byte point, lowercase hex."""
    return hashlib.sha256(a.encode()).hexdigest()


def ballot_a_hashes(ciphertexts: Sequence[Sequence[Ciphertext]]) -> list[str]:
    """Every ciphertext's ``a`` hash, subject then grade order."""
    return [a_hash(ct.a) for row in ciphertexts for ct in row]


def notice_signed_bytes(notice: dict[str, Any]) -> bytes:
    body = {k: v for k, v in notice.items() if k != "signature"}
    return NOTICE_PREFIX + canonical_json(body)


def make_notice(
    fingerprint: bytes, credential: Credential, ciphertexts: Sequence[Sequence[Ciphertext]]
) -> dict[str, Any]:
    """The signed notice a booth sends before it reveals a challenged ballot's seed."""
    notice: dict[str, Any] = {
        "format": NOTICE_FORMAT,
        "poll": fingerprint.hex(),
        "credential": credential.public_key.hex(),
        "a_hashes": ballot_a_hashes(ciphertexts),
    }
    notice["signature"] = credential.sign(notice_signed_bytes(notice)).hex()
    return notice


@dataclass(frozen=True)
class Notice:
    credential: bytes
    a_hashes: tuple[str, ...]
    signature: bytes
    signed: bytes

    def signature_verifies(self) -> bool:
        return verify_signature(self.credential, self.signature, self.signed)


def parse_notice(fingerprint: bytes, ciphertexts: int, data: Any) -> Notice:
    """A notice's structure (exactly one ballot's worth of hashes, this poll); the signature is
    checked by the caller after the credential's state, being dearer. ChallengeError otherwise."""
    if not isinstance(data, dict) or data.get("format") != NOTICE_FORMAT:
        raise ChallengeError("format", f"not a {NOTICE_FORMAT} notice")
    if set(data) != NOTICE_FIELDS:
        raise ChallengeError(
            "format", "a notice has exactly the fields " + ", ".join(sorted(NOTICE_FIELDS))
        )
    if data["poll"] != fingerprint.hex():
        raise ChallengeError("poll", "the notice is for another poll")
    credential = _hex(data["credential"], 32, "credential")
    signature = _hex(data["signature"], 64, "signature")
    hashes = data["a_hashes"]
    if not isinstance(hashes, list) or len(hashes) != ciphertexts:
        raise ChallengeError(
            "a_hashes", f"a_hashes: exactly {ciphertexts} hashes, one per ciphertext"
        )
    for h in hashes:
        _hex(h, 32, "a_hashes")
    if len(set(hashes)) != len(hashes):
        raise ChallengeError("a_hashes", "a_hashes: each ciphertext has its own randomness")
    return Notice(credential, tuple(hashes), signature, notice_signed_bytes(data))


def challenge_qr_text(data: dict[str, Any]) -> str:
    """The QR code's text of a challenge file: QR_PREFIX, then the fingerprint, the seed, the
    choices and the commitment, separated by ``:``; hex in upper case, so that every character is
    in the QR alphanumeric set."""
    if any(c is not None and not 0 <= c < len(_DIGITS) for c in data["choices"]):
        raise ChallengeError("choices", "a QR text holds at most 36 grades")
    choices = "".join("-" if c is None else _DIGITS[c] for c in data["choices"])
    poll, seed, commitment = str(data["poll"]), str(data["seed"]), str(data["commitment"])
    return f"{QR_PREFIX}{poll.upper()}:{seed.upper()}:{choices}:{commitment.replace('-', '')}"


def parse_challenge_text(text: str) -> dict[str, Any]:
    """A challenge file or its QR text, as the file's JSON value (not yet checked)."""
    stripped = text.strip(ASCII_SPACE)
    if stripped.startswith(QR_PREFIX):
        parts = stripped[len(QR_PREFIX) :].split(":")
        if len(parts) != 4:
            raise ChallengeError("qr", "QR text: expected fingerprint:seed:choices:commitment")
        poll, seed, choices, commitment = parts
        parsed: list[int | None] = []
        for ch in choices:
            if ch == "-":
                parsed.append(None)
            elif ch in _DIGITS:
                parsed.append(_DIGITS.index(ch))
            else:
                raise ChallengeError("choices", "QR text: a choice is a digit or -")
        return {
            "format": CHALLENGE_FORMAT,
            "poll": poll.lower(),
            "seed": seed.lower(),
            "choices": parsed,
            "commitment": commitment,
        }
    try:
        data = parse_json(stripped.encode("utf-8"))
    except (CanonicalError, ValueError, RecursionError):
        raise ChallengeError("format", "neither a challenge file (JSON) nor its QR text") from None
    if not isinstance(data, dict):
        raise ChallengeError("format", "a challenge file is a JSON object")
    return data


def _hex(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(f"[0-9a-f]{{{2 * size}}}", value):
        raise ChallengeError(what, f"{what}: expected {2 * size} lowercase hex characters")
    return bytes.fromhex(value)


def check_challenge_file(manifest: Manifest, data: Any) -> ChallengeResult:
    """Check a parsed challenge file (either version) against a poll; ChallengeError if it is not
    one, naming the field."""
    if isinstance(data, dict) and data.get("format") == CHALLENGE_FORMAT_V1:
        return _check_v1(manifest, data)
    if not isinstance(data, dict) or data.get("format") != CHALLENGE_FORMAT:
        raise ChallengeError("format", f"not a {CHALLENGE_FORMAT} file")
    if set(data) != CHALLENGE_FIELDS:
        raise ChallengeError(
            "format",
            "a challenge file has exactly the fields " + ", ".join(sorted(CHALLENGE_FIELDS)),
        )
    poll = _hex(data["poll"], 32, "poll")
    seed = _hex(data["seed"], SEED_BYTES, "seed")
    commitment = normalize_commitment(data["commitment"])
    choices = data["choices"]
    if not isinstance(choices, list) or not all(c is None or type(c) is int for c in choices):
        raise ChallengeError("choices", "choices: a list of grade indexes or null")
    if poll != manifest.fingerprint:
        return ChallengeResult(False, "poll", tuple(choices), commitment, 2)
    ctx = manifest.context
    try:
        rebuilt = rebuild_ciphertexts(ctx, choices, seed)
    except BallotError as exc:
        raise ChallengeError("choices", f"choices: {exc}") from None
    except ValueError:  # a derived value of zero: no booth encrypts with this seed
        return ChallengeResult(False, "commitment", tuple(choices), commitment, 2)
    matches = commitment_code(commitment_hash(ctx.fingerprint, rebuilt)) == commitment
    return ChallengeResult(
        matches, None if matches else "commitment", tuple(choices), commitment, 2
    )


def _check_v1(manifest: Manifest, data: dict[str, Any]) -> ChallengeResult:
    ballot, choices, randomness = data.get("ballot"), data.get("choices"), data.get("randomness")
    if not isinstance(ballot, dict) or not isinstance(choices, list):
        raise ChallengeError("format", "ballot must be an object and choices a list")
    if not all(c is None or (type(c) is int) for c in choices):
        raise ChallengeError("choices", "each choice is a grade index or null")
    if not isinstance(randomness, list) or not all(isinstance(row, list) for row in randomness):
        raise ChallengeError("randomness", "randomness must be a list of lists")
    try:
        rs = [[scalar_from_hex(r) for r in row] for row in randomness]
        code = tracking_code(tracking_hash(ballot))
    except (GroupError, CanonicalError) as exc:
        raise ChallengeError("randomness", str(exc)) from None
    if ballot.get("poll") != manifest.fingerprint.hex():
        return ChallengeResult(False, "poll", tuple(choices), code, 1)
    ctx = manifest.context
    answers = ballot.get("answers")
    if (
        len(choices) != ctx.subjects
        or len(rs) != ctx.subjects
        or not isinstance(answers, list)
        or len(answers) != ctx.subjects
        or any(len(row) != ctx.grades for row in rs)
    ):
        return ChallengeResult(False, "ciphertexts", tuple(choices), code, 1)
    matches = check_challenge(ctx, ballot, choices, rs)
    return ChallengeResult(matches, None if matches else "ciphertexts", tuple(choices), code, 1)
