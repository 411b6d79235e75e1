"""The audit log of operator actions. Callers pass only public facts: never a secret or a code."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ballot.models import AuditEvent


def record(session: Session, actor: str, action: str, **detail: Any) -> None:
    """Add an event to the session's transaction: it is stored only if the action commits."""
    session.add(AuditEvent(actor=actor, action=action, detail=detail))
