"""The hash-chained audit log of operator actions (``audit.jsonl`` in the bundle).

Each poll has its own chain (chain number = the poll's id; chain 0 holds actions on no single poll,
such as logins). An entry's hash covers the previous hash and the canonical entry, so deleting,
reordering or editing an entry changes every later hash; the signed record names the head.

    prev_0 = SHA256("tally/v1/audit\\0" ‖ u32(chain))
    hash_n = SHA256(prev_{n-1} ‖ canonical_json(entry_n))
    entry  = {"chain", "seq", "time", "actor", "action", "detail"}     (seq = 1, 2, …)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.group import u32

ENTRY_FIELDS = ("action", "actor", "chain", "detail", "seq", "time")
LINE_FIELDS = {*ENTRY_FIELDS, "prev", "hash"}


def genesis(chain: int) -> bytes:
    return hashlib.sha256(b"tally/v1/audit\x00" + u32(chain)).digest()


def format_time(moment: dt.datetime) -> str:
    """UTC with microseconds, the same string from SQLite (naive UTC) and PostgreSQL (aware)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev: bytes, entry: dict[str, Any]) -> bytes:
    return hashlib.sha256(prev + canonical_json(entry)).digest()


def make_line(entry: dict[str, Any], prev: bytes) -> dict[str, Any]:
    """The entry with its ``prev`` and ``hash`` (hex): one line of ``audit.jsonl``."""
    return {**entry, "prev": prev.hex(), "hash": entry_hash(prev, entry).hex()}


def to_jsonl(lines: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(canonical_json(line) + b"\n" for line in lines)


@dataclass(frozen=True)
class AuditCheck:
    entries: int
    head: str  # hex hash of the last entry (genesis if none)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_chain(lines: Iterable[Any], chain: int) -> AuditCheck:
    """Recompute a chain from parsed lines; every problem is named with its line number."""
    problems: list[str] = []
    prev = genesis(chain)
    count = 0
    for n, line in enumerate(lines, start=1):
        count = n
        if not isinstance(line, dict) or set(line) != LINE_FIELDS:
            problems.append(f"line {n}: not an audit entry with exactly {sorted(LINE_FIELDS)}")
            break
        entry = {k: line[k] for k in ENTRY_FIELDS}
        if line["chain"] != chain:
            problems.append(f"line {n}: chain {line['chain']!r}, expected {chain}")
        if line["seq"] != n:
            problems.append(f"line {n}: seq {line['seq']!r}, expected {n} (an entry is missing)")
        if line["prev"] != prev.hex():
            problems.append(f"line {n}: prev is not the previous entry's hash")
        try:
            digest = entry_hash(prev, entry)
        except CanonicalError as exc:
            problems.append(f"line {n}: {exc}")
            break
        if line["hash"] != digest.hex():
            problems.append(f"line {n}: hash does not match the entry (edited)")
        # Go on from the stored hash, so that one edited entry is reported once, by its line.
        stored = line["hash"]
        well_formed = isinstance(stored, str) and re.fullmatch(r"[0-9a-f]{64}", stored)
        prev = bytes.fromhex(stored) if well_formed else digest
        if len(problems) >= 20:
            break
    return AuditCheck(count, prev.hex(), tuple(problems))


def check_jsonl(data: bytes, chain: int) -> AuditCheck:
    try:
        lines = [parse_json(line) for line in data.splitlines() if line.strip()]
    except (ValueError, CanonicalError) as exc:
        return AuditCheck(0, genesis(chain).hex(), (f"not JSON lines: {exc}",))
    return check_chain(lines, chain)


def audit_chain(manifest_data: dict[str, Any]) -> int:
    """A poll's chain number: its id when that is a number (the service's polls), else 0."""
    poll_id = manifest_data["election"]["poll_id"]
    decimal = isinstance(poll_id, str) and re.fullmatch(r"[1-9][0-9]{0,8}", poll_id) is not None
    return int(poll_id) if decimal else 0
