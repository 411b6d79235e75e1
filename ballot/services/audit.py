"""The audit log of operator actions, hash-chained per poll (``tally.audit``).

Callers pass only public facts, never a secret or a slip code. An action on a poll passes
``poll=<id>`` and goes to that poll's chain (exported in the poll's audit bundle); other actions
(logins, accounts, conferences) go to chain 0. Appends to one chain are serialised: poll actions
already hold the poll's write lock; on PostgreSQL an advisory lock covers the rest, and SQLite has
one writer at a time. A unique (chain, seq) constraint refuses a fork in any case. Each append
also writes the chain's head (``audit_head``), so that deleting the newest entries is caught.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ballot.models import AuditEvent, AuditHead, utcnow
from tally.audit import format_time, genesis, make_line, to_jsonl

_LOCK_SPACE = 0x62616C  # "bal": the advisory-lock namespace of the audit chains


def record(session: Session, actor: str, action: str, **detail: Any) -> None:
    """Append an event to the session's transaction: it is stored only if the action commits."""
    poll = detail.get("poll")
    chain = poll if type(poll) is int else 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :chain)"),
            {"space": _LOCK_SPACE, "chain": chain},
        )
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq = last.seq + 1 if last else 1
    prev = bytes.fromhex(last.hash) if last else genesis(chain)
    now = utcnow()
    entry = {
        "chain": chain,
        "seq": seq,
        "time": format_time(now),
        "actor": actor,
        "action": action,
        "detail": detail,
    }
    line = make_line(entry, prev)  # canonical JSON: refuses a float or a non-JSON value here
    session.add(
        AuditEvent(
            chain=chain,
            seq=seq,
            time=now,
            actor=actor,
            action=action,
            detail=detail,
            prev_hash=line["prev"],
            hash=line["hash"],
        )
    )
    head = session.get(AuditHead, chain)
    if head is None:
        session.add(AuditHead(chain=chain, seq=seq, hash=line["hash"]))
    else:
        head.seq, head.hash = seq, line["hash"]


def stored_head(session: Session, chain: int) -> tuple[int, str] | None:
    """The (seq, hash) written with the chain's newest entry, or None for an empty chain."""
    head = session.get(AuditHead, chain)
    return None if head is None else (head.seq, head.hash)


def chain_lines(session: Session, chain: int) -> list[dict[str, Any]]:
    """The chain as stored, one ``audit.jsonl`` line per event, in order (not re-checked)."""
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
    )
    return [
        {
            "chain": row.chain,
            "seq": row.seq,
            "time": format_time(row.time),
            "actor": row.actor,
            "action": row.action,
            "detail": row.detail,
            "prev": row.prev_hash,
            "hash": row.hash,
        }
        for row in rows
    ]


def chain_jsonl(session: Session, chain: int) -> bytes:
    return to_jsonl(chain_lines(session, chain))
