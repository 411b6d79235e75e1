"""The Benaloh challenge file a booth reveals instead of casting (``tally-challenge/1``).

A challenged ballot's file holds the ballot, the voter's choices and every encryption randomness;
checking it re-encrypts each choice with its randomness and compares the ciphertexts (see
``tally.ballots.check_challenge`` and docs/protocol.md §12.6). A challenged ballot has revealed its
vote: it must never be cast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tally.ballots import check_challenge, tracking_code, tracking_hash
from tally.canonical import CanonicalError
from tally.group import GroupError, scalar_from_hex
from tally.manifest import Manifest

CHALLENGE_FORMAT = "tally-challenge/1"


class ChallengeError(ValueError):
    """Not a challenge file."""


@dataclass(frozen=True)
class ChallengeResult:
    matches: bool  # the ciphertexts are exactly the revealed choices
    same_poll: bool
    tracking_code: str
    choices: tuple[int | None, ...]


def check_challenge_file(manifest: Manifest, data: Any) -> ChallengeResult:
    """Check a parsed challenge file against a poll; ChallengeError if it is not one."""
    if not isinstance(data, dict) or data.get("format") != CHALLENGE_FORMAT:
        raise ChallengeError(f"not a {CHALLENGE_FORMAT} file")
    ballot, choices, randomness = data.get("ballot"), data.get("choices"), data.get("randomness")
    if not isinstance(ballot, dict) or not isinstance(choices, list):
        raise ChallengeError("ballot must be an object and choices a list")
    if not all(c is None or (type(c) is int) for c in choices):
        raise ChallengeError("each choice is a grade index or null")
    if not isinstance(randomness, list) or not all(isinstance(row, list) for row in randomness):
        raise ChallengeError("randomness must be a list of lists")
    try:
        rs = [[scalar_from_hex(r) for r in row] for row in randomness]
        code = tracking_code(tracking_hash(ballot))
    except (GroupError, CanonicalError) as exc:
        raise ChallengeError(str(exc)) from None
    same_poll = ballot.get("poll") == manifest.fingerprint.hex()
    matches = same_poll and check_challenge(manifest.context, ballot, choices, rs)
    return ChallengeResult(matches, same_poll, code, tuple(choices))
