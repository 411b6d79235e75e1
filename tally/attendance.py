"""The attendance chain and the trustee's attendance statement (protocol version 2).

The number of members present is not fixed when the poll opens: the operator records arrivals and
departures while it is open, each one entry of a hash chain that starts at the poll's fingerprint
(``attendance.jsonl``). No entry records the ballots cast or the board head, so the chain links no
moment to a ballot. After the poll closes, a trustee of the manifest signs the statement
(``attendance.json``): this poll, the final number present, the chain's head, the board's head and
the ballots. Counting needs it, and the verifier takes the number present from it
(docs/protocol.md §13.1, §13.2).

    prev_0 = SHA256("tally/v2/attendance\\0" ‖ fingerprint)
    hash_n = SHA256(prev_{n-1} ‖ canonical_json(entry_n))
    entry  = {"seq", "time", "present", "actor"}                      (seq = 1, 2, …)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally.audit import entry_hash, make_line, to_jsonl
from tally.canonical import CanonicalError, canonical_json, fields_problem, is_integer, parse_json
from tally.credentials import verify_signature
from tally.trustees import TrusteeKey, TrusteePublic

ATTENDANCE_TAG = b"tally/v2/attendance\x00"
ENTRY_FIELDS = ("seq", "time", "present", "actor")
LINE_FIELDS = {*ENTRY_FIELDS, "prev", "hash"}
STATEMENT_FORMAT = "tally-attendance/1"
STATEMENT_TAG = b"tally/v2/attendance-statement\x00"
STATEMENT_FIELDS = (
    "format",
    "poll",
    "poll_uid",
    "present",
    "attendance_entries",
    "attendance_head",
    "board_head",
    "electronic_ballots",
    "paper_ballots",
    "trustee",
    "signing_key",
    "signature",
)
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{128}")


class AttendanceError(ValueError):
    """An attendance chain or statement is malformed or does not verify."""


def genesis(fingerprint: bytes) -> bytes:
    return hashlib.sha256(ATTENDANCE_TAG + fingerprint).digest()


def entry(seq: int, time: str, present: int, actor: str) -> dict[str, Any]:
    return {"seq": seq, "time": time, "present": present, "actor": actor}


def chain_lines(fingerprint: bytes, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines of ``attendance.jsonl`` for these entries, in order."""
    lines, prev = [], genesis(fingerprint)
    for item in entries:
        line = make_line(item, prev)
        lines.append(line)
        prev = bytes.fromhex(line["hash"])
    return lines


def attendance_jsonl(fingerprint: bytes, entries: Sequence[dict[str, Any]]) -> bytes:
    return to_jsonl(chain_lines(fingerprint, entries))


@dataclass(frozen=True)
class Attendance:
    """A checked chain: its entries, its head and the last number present."""

    entries: int
    head: str
    present: int


def check_attendance(data: bytes, fingerprint: bytes, members: int) -> Attendance:
    """Check ``attendance.jsonl`` (§13.1): canonical lines ending in ``\\n``, at least one (the
    opening), each with exactly its fields, ``seq = n``, ``time`` and ``actor`` strings,
    ``0 ≤ present ≤ members``, ``prev`` the previous hash (genesis first), ``hash`` recomputed."""
    if data and not data.endswith(b"\n"):
        raise AttendanceError("attendance.jsonl: the last line does not end in a newline")
    raw_lines = data.split(b"\n")[:-1] if data else []
    if not raw_lines:
        raise AttendanceError("attendance.jsonl: no entry (the opening entry is missing)")
    prev = genesis(fingerprint)
    present = 0
    for n, raw in enumerate(raw_lines, start=1):
        try:
            line = parse_json(raw)
            canonical = canonical_json(line) == raw
        except (ValueError, UnicodeDecodeError, CanonicalError) as exc:
            raise AttendanceError(f"attendance.jsonl line {n}: not JSON ({exc})") from None
        if not canonical:
            raise AttendanceError(f"attendance.jsonl line {n}: not canonical JSON")
        if not isinstance(line, dict) or set(line) != LINE_FIELDS:
            raise AttendanceError(
                f"attendance.jsonl line {n}: expected exactly {', '.join(sorted(LINE_FIELDS))}"
            )
        if line["seq"] != n or not is_integer(line["seq"]):
            raise AttendanceError(f"attendance.jsonl line {n}: seq {line['seq']!r}, expected {n}")
        if not isinstance(line["time"], str) or not isinstance(line["actor"], str):
            raise AttendanceError(f"attendance.jsonl line {n}: time and actor must be strings")
        present = line["present"]
        if not is_integer(present) or not 0 <= present <= members:
            raise AttendanceError(
                f"attendance.jsonl line {n}: present {present!r} is not between 0 and {members}"
            )
        if line["prev"] != prev.hex():
            raise AttendanceError(f"attendance.jsonl line {n}: prev is not the previous hash")
        digest = entry_hash(prev, {k: line[k] for k in ENTRY_FIELDS})
        if line["hash"] != digest.hex():
            raise AttendanceError(f"attendance.jsonl line {n}: hash does not match (edited)")
        prev = digest
    return Attendance(len(raw_lines), prev.hex(), present)


# --- the statement ------------------------------------------------------------------------------


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """What the trustee signs: the tag and the canonical statement without its signature."""
    return STATEMENT_TAG + canonical_json({k: v for k, v in statement.items() if k != "signature"})


def sign_statement(
    key: TrusteeKey,
    *,
    fingerprint: bytes,
    poll_uid: str,
    attendance: Attendance,
    board_head: str,
    electronic_ballots: int,
    paper_ballots: int = 0,
    present: int | None = None,
) -> dict[str, Any]:
    """The trustee's signed statement of the poll's final figures; ``present`` is the
    committee's own count (the chain's last entry if not given)."""
    if key.public.signing_key is None:
        raise AttendanceError("this trustee key has no signing key")
    statement: dict[str, Any] = {
        "format": STATEMENT_FORMAT,
        "poll": fingerprint.hex(),
        "poll_uid": poll_uid,
        "present": attendance.present if present is None else present,
        "attendance_entries": attendance.entries,
        "attendance_head": attendance.head,
        "board_head": board_head,
        "electronic_ballots": electronic_ballots,
        "paper_ballots": paper_ballots,
        "trustee": key.public.name,
        "signing_key": key.public.signing_key.hex(),
    }
    statement["signature"] = key.sign(statement_bytes(statement)).hex()
    return statement


@dataclass(frozen=True)
class Statement:
    data: dict[str, Any]
    present: int
    attendance_entries: int
    attendance_head: str
    board_head: str
    electronic_ballots: int
    paper_ballots: int
    trustee: TrusteePublic

    @property
    def ballots(self) -> int:
        return self.electronic_ballots + self.paper_ballots


def parse_statement(
    data: Any,
    *,
    fingerprint: bytes,
    poll_uid: str,
    trustees: Sequence[TrusteePublic],
    members: int,
) -> Statement:
    """Check a statement (§13.2, in order): exact fields and format; this poll's fingerprint and
    uid; integers ≥ 0 and heads in hex; the signer is a trustee of the manifest (same name and
    signing key); the signature verifies. The figures are compared by the caller."""
    if not isinstance(data, dict):
        raise AttendanceError("an attendance statement is a JSON object")
    problem = fields_problem("an attendance statement", data, STATEMENT_FIELDS)
    if problem:
        raise AttendanceError(problem)
    if data["format"] != STATEMENT_FORMAT:
        raise AttendanceError(f"not an attendance statement ({STATEMENT_FORMAT})")
    if data["poll"] != fingerprint.hex() or data["poll_uid"] != poll_uid:
        raise AttendanceError("the attendance statement is for another poll")
    for name in ("present", "attendance_entries", "electronic_ballots", "paper_ballots"):
        if not is_integer(data[name]) or data[name] < 0:
            raise AttendanceError(f"{name}: expected a whole number >= 0")
    if data["present"] > members:
        raise AttendanceError(f"present: {data['present']} is more than the {members} members")
    for name in ("attendance_head", "board_head", "signing_key"):
        if not isinstance(data[name], str) or _HEX32.fullmatch(data[name]) is None:
            raise AttendanceError(f"{name}: expected 32 bytes in lowercase hex")
    signer = next(
        (
            t
            for t in trustees
            if t.signing_key is not None
            and t.signing_key.hex() == data["signing_key"]
            and t.name == data["trustee"]
        ),
        None,
    )
    if signer is None:
        raise AttendanceError("the attendance statement is not signed by a trustee of this poll")
    signature = data["signature"]
    if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
        raise AttendanceError("signature: expected 64 bytes in lowercase hex")
    if not verify_signature(
        bytes.fromhex(data["signing_key"]), bytes.fromhex(signature), statement_bytes(data)
    ):
        raise AttendanceError("the trustee's signature on the attendance statement does not verify")
    return Statement(
        data,
        data["present"],
        data["attendance_entries"],
        data["attendance_head"],
        data["board_head"],
        data["electronic_ballots"],
        data["paper_ballots"],
        signer,
    )


def statement_problems(
    statement: Statement,
    attendance: Attendance,
    *,
    board_head: str,
    electronic_ballots: int,
    paper_ballots: int = 0,
) -> list[str]:
    """Where the signed figures differ from the chain and the board (empty when they agree).

    The number present is the trustee's own count at close, which may differ from the chain's
    last entry (an arrival or a departure the operator did not record): the statement's is the
    one that grades, and the record shows both. So a wrong chain never makes a closed poll
    uncountable, and an inflated one does not raise the number present."""
    problems = []
    if (statement.attendance_entries, statement.attendance_head) != (
        attendance.entries,
        attendance.head,
    ):
        problems.append("the signed attendance head is not the chain's")
    if statement.board_head != board_head:
        problems.append("the signed board head is not the board's")
    if statement.electronic_ballots != electronic_ballots:
        problems.append(
            f"electronic ballots: signed {statement.electronic_ballots},"
            f" the board has {electronic_ballots}"
        )
    if statement.paper_ballots != paper_ballots:
        problems.append(
            f"paper ballots: signed {statement.paper_ballots}, the counting committee entered"
            f" {paper_ballots}"
        )
    return problems
