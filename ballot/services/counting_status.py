"""Where a poll's count stands, for the operator's counting page, the trustees' page and the API:
ballots, started, finished, and each trustee's share received or missing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Ballot, CountShare, Poll, PollCount
from ballot.services.casting import poll_manifest
from ballot.services.polls import get_poll
from tally.canonical import parse_json
from tally.record import key_fingerprint


@dataclass(frozen=True)
class TrusteeStatus:
    name: str
    public_key: str
    key_fingerprint: str
    received_at: dt.datetime | None


@dataclass(frozen=True)
class CountStatus:
    """Where a poll's count stands, for the operator's and the trustees' pages."""

    poll: Poll
    ballots: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    trustees: list[TrusteeStatus]
    # A version-2 poll is counted only after a trustee signed the attendance statement.
    needs_statement: bool = False
    statement_by: str | None = None
    statement_present: int | None = None

    @property
    def statement_void(self) -> bool:
        """The signed number present is below the ballots: the result will be void."""
        return self.statement_present is not None and self.statement_present < self.ballots

    @property
    def statement_differs(self) -> bool:
        """The committee's count is not the attendance chain's last entry (the poll's row)."""
        return self.statement_present is not None and self.statement_present != self.poll.present

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def missing(self) -> list[str]:
        return [t.name for t in self.trustees if t.received_at is None]

    @property
    def can_start(self) -> bool:
        return (
            self.poll.state == "closed"
            and not self.started
            and (self.statement_by is not None or not self.needs_statement)
        )

    @property
    def can_attest(self) -> bool:
        return self.poll.state == "closed" and not self.started and self.needs_statement

    @property
    def can_add_share(self) -> bool:
        return self.started and not self.finished

    @property
    def can_finish(self) -> bool:
        return self.started and not self.finished and not self.missing


def count_status(session: Session, poll_id: int) -> CountStatus:
    poll = get_poll(session, poll_id)
    row = session.scalars(select(PollCount).where(PollCount.poll_id == poll_id)).one_or_none()
    received = dict(
        session.execute(
            select(CountShare.trustee_id, CountShare.added_at).where(CountShare.poll_id == poll_id)
        ).all()
    )
    ballots = session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0
    statement = parse_json(poll.attendance_statement) if poll.attendance_statement else None
    version_2 = (
        poll.manifest is not None
        and poll.fingerprint is not None
        and poll_manifest(poll.fingerprint, poll.manifest).version >= 2
    )
    return CountStatus(
        needs_statement=version_2,
        statement_by=statement["trustee"] if statement else None,
        statement_present=statement["present"] if statement else None,
        poll=poll,
        ballots=int(ballots),
        started_at=row.started_at if row else None,
        finished_at=row.finished_at if row else None,
        trustees=[
            TrusteeStatus(
                name=t.name,
                public_key=t.public_key,
                key_fingerprint=key_fingerprint(bytes.fromhex(t.public_key)),
                received_at=received.get(t.id),
            )
            for t in poll.trustees
        ],
    )


def counting_finished(session: Session, poll_id: int) -> bool:
    """The poll's count is finished: its signed record and bundle are stored."""
    found = session.scalar(
        select(PollCount.id).where(PollCount.poll_id == poll_id, PollCount.bundle.is_not(None))
    )
    return found is not None
