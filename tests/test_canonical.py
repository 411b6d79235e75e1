"""Canonical JSON and the parser for JSON from outside."""

from __future__ import annotations

import pytest

from tally.ballots import BallotError, PollContext, verify_ballot
from tally.canonical import MAX_DEPTH, CanonicalError, canonical_json, parse_json
from tally.group import base_mul


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_nesting_is_refused_not_a_crash() -> None:
    parse_json(nested(MAX_DEPTH))
    with pytest.raises(CanonicalError, match="nested deeper"):
        parse_json(nested(MAX_DEPTH + 2))
    # Far past Python's recursion limit: still a clear error.
    with pytest.raises(CanonicalError, match="nested deeper"):
        parse_json(nested(5000))
    value: list[object] = []
    for _ in range(MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(CanonicalError):
        canonical_json(value)


def test_a_deeply_nested_ballot_is_rejected_as_a_ballot_error() -> None:
    ctx = PollContext(bytes(32), base_mul(7), 1, 4, True)
    deep: list[object] = []
    for _ in range(990):
        deep = [deep]
    ballot = {"format": "x", "poll": "00" * 32, "credential": "00" * 32, "answers": deep}
    ballot["signature"] = "00" * 64
    ballot["format"] = "tally-ballot/1"
    with pytest.raises(BallotError):
        verify_ballot(ctx, ballot)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(CanonicalError, match="same key twice"):
        parse_json('{"a": 1, "a": 2}')
