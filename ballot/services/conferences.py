"""Conferences: create, edit while none of their polls has opened, and the conference lock.

Each function runs in the caller's transaction (``ballot.db.transaction()``), writes an audit event
and raises :class:`ServiceError` with a bilingual message when the step is not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot.db import begin_write
from ballot.models import Conference, Poll
from ballot.services import audit
from ballot.services.errors import NotFound, ServiceError
from ballot.services.fields import (
    CONFERENCE,
    apply_changes,
    check_all,
    check_electorate,
    known,
    names,
)

CONFERENCE_FIELDS = names(CONFERENCE)


def get_conference(session: Session, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
    return conference


def lock_conference(session: Session, conference_id: int) -> Conference:
    """Lock the conference and all its polls (first statement of the transaction).

    SQLite: BEGIN IMMEDIATE, one writer at a time. PostgreSQL: ``SELECT … FOR UPDATE`` on the
    conference, then on its polls, always in that order: poll-level steps (trustees, minting,
    opening, casting) lock only their poll and never a conference, so there is no lock cycle.
    """
    if session.get_bind().dialect.name == "sqlite":
        begin_write(session)
        conference = session.get(Conference, conference_id, populate_existing=True)
    else:
        conference = session.scalars(
            select(Conference)
            .where(Conference.id == conference_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if conference is not None:
            session.scalars(
                select(Poll)
                .where(Poll.conference_id == conference_id)
                .order_by(Poll.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).all()
    if conference is None:
        raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
    return conference


def lock_conference_of(session: Session, poll_id: int) -> tuple[Conference, Poll]:
    """Lock the conference of a poll and all its polls, as ``lock_conference`` (first statement
    of the transaction; on PostgreSQL the poll's conference is read first, unlocked, so that the
    locks are still taken conference first)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        begin_write(session)
    conference_id = session.scalar(select(Poll.conference_id).where(Poll.id == poll_id))
    if conference_id is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    if sqlite:
        conference = session.get_one(Conference, conference_id, populate_existing=True)
    else:
        conference = lock_conference(session, conference_id)
    return conference, session.get_one(Poll, poll_id, populate_existing=True)


def _conference_values(values: Mapping[str, Any]) -> dict[str, Any]:
    fields = check_all(CONFERENCE, values)
    check_electorate(fields["members"], fields["present"])
    return fields


def create_conference(
    session: Session, values: Mapping[str, Any], actor: str = "cli"
) -> Conference:
    """A new conference (no polls yet). ``values``: title, body, date, place, members, present."""
    fields = _conference_values(known(values, CONFERENCE_FIELDS))
    begin_write(session)
    conference = Conference(**fields)
    session.add(conference)
    session.flush()
    audit.record(
        session, actor, "conference.create", conference=conference.id, title=conference.title
    )
    return conference


def update_conference(
    session: Session, conference_id: int, changes: Mapping[str, Any], actor: str = "cli"
) -> Conference:
    """Change some of a conference's fields, only while none of its polls has opened.

    An opened poll's manifest already holds the conference's title, body, date and place.
    """
    changes = known(changes, CONFERENCE_FIELDS)
    conference = lock_conference(session, conference_id)
    started = [p.id for p in conference.polls if p.state != "draft"]
    if started:
        raise ServiceError(
            409,
            "conference_not_draft",
            f"Không thể sửa hội nghị: cuộc biểu quyết số {started[0]} đã mở hoặc đã đóng.",
            f"Cannot edit the conference: poll {started[0]} has already been opened or closed.",
        )
    current = {name: getattr(conference, name) for name in CONFERENCE_FIELDS}
    changed = apply_changes(conference, _conference_values({**current, **changes}))
    if changed:
        audit.record(session, actor, "conference.update", conference=conference_id, **changed)
    return conference
