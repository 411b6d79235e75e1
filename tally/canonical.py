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


# Every protocol document is at most a few levels deep; a deeper one is hostile (and would
# otherwise exhaust Python's recursion limit).
MAX_DEPTH = 32


def _check(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise CanonicalError("floating-point numbers are not allowed in canonical JSON")
    if isinstance(value, list | tuple):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError("object keys must be strings")
            _check(item, depth + 1)
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
    """Parse JSON from outside: no duplicate keys (another parser could keep the other value),
    no nesting deeper than MAX_DEPTH."""
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CanonicalError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    _depth_ok(value, 0)
    return value


def _depth_ok(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        for item in value:
            _depth_ok(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _depth_ok(item, depth + 1)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_integer(value: Any) -> bool:
    """A JSON integer (``true`` is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def fields_problem(what: str, value: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """``"<what> has exactly the fields …; unexpected: …; missing: …"``, or None when ``value``
    has exactly ``fields``."""
    extra = sorted(k for k in value if k not in fields)
    missing = [k for k in fields if k not in value]
    if not extra and not missing:
        return None
    return (
        f"{what} has exactly the fields "
        + ", ".join(fields)
        + (f"; unexpected: {', '.join(extra)}" if extra else "")
        + (f"; missing: {', '.join(missing)}" if missing else "")
    )
