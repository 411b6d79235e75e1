"""Canonical JSON: the one byte form every hash and signature in the protocol is computed over.

Sorted keys, UTF-8 (no ``\\u`` escapes for non-ASCII text), no insignificant whitespace, and no
floating-point numbers at all: counts are integers and percentages are strings, so an independent
implementation cannot disagree on number formatting.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class CanonicalError(ValueError):
    """A value cannot be written as canonical JSON."""


def _check(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise CanonicalError("floating-point numbers are not allowed in canonical JSON")
    if isinstance(value, list | tuple):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError("object keys must be strings")
            _check(item)
        return
    raise CanonicalError(f"type {type(value).__name__} is not allowed in canonical JSON")


def canonical_json(value: Any) -> bytes:
    _check(value)
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError("text must be valid Unicode (no lone surrogates)") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise CanonicalError("an object has the same key twice")
    return dict(pairs)


def parse_json(data: bytes | str) -> Any:
    """Parse JSON from outside, refusing duplicate keys (another parser could keep the other)."""
    return json.loads(data, object_pairs_hook=_no_duplicates)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
