"""A later round (issue 18): vote again, in a new poll of the same conference, on the subjects
whose grade a counted poll left undetermined (all of them when its result is void).

The new poll is a draft with those subjects (their data as in the earlier poll), the same rule
set, electorate and counting committee; it needs its own credential list (new slips, minted for
its uid) and opens as any poll does. Its manifest names the earlier poll (``election.round``,
docs/protocol.md 11.1) with the SHA-256 of the earlier signed record, so ``tally verify --linked``
checks that only undetermined subjects were voted again; the record carries the link, and the
public pages and the Board's summary show it both ways (the summary takes the last round).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Poll, PollCount, PollRound, Subject, Trustee
from ballot.services import audit
from ballot.services.conferences import lock_conference_of
from ballot.services.errors import ServiceError
from tally.bundle import read_bundle
from tally.canonical import parse_json, sha256_hex


def round_number(poll: Poll) -> int:
    """1 for a first poll, 2 for the round after it, …"""
    number, earlier = 1, poll.previous_round
    while earlier is not None:
        number, earlier = number + 1, earlier.previous_round
    return number


def next_round_of(session: Session, poll_id: int) -> Poll | None:
    """The later round that votes again after this poll, if one was started."""
    return session.scalars(
        select(Poll)
        .join(PollRound, PollRound.poll_id == Poll.id)
        .where(PollRound.previous_id == poll_id)
    ).first()


def _counted_files(session: Session, poll: Poll) -> dict[str, bytes]:
    bundle = session.scalar(select(PollCount.bundle).where(PollCount.poll_id == poll.id))
    if bundle is None:
        raise ServiceError(
            409,
            "round_not_counted",
            f"Cuộc biểu quyết số {poll.id} ({poll.title}) chưa kiểm phiếu xong: chỉ biểu quyết"
            " vòng sau khi đã có biên bản kiểm phiếu của vòng này. Không có gì được tạo.",
            f"Poll {poll.id} ({poll.title}) is not counted yet: a later round follows only a"
            " signed counting record. Nothing was created.",
        )
    return read_bundle(bundle)


def round_link(session: Session, poll: Poll) -> dict[str, Any] | None:
    """The manifest's ``election.round`` of a later round, from the earlier poll's stored
    record (checked again when the poll opens), or None for a first poll."""
    earlier = poll.previous_round
    if earlier is None:
        return None
    if earlier.conference_id != poll.conference_id:
        raise ServiceError(
            409,
            "round_foreign",
            f"Cuộc biểu quyết số {earlier.id} không thuộc hội nghị này.",
            f"Poll {earlier.id} is not of this conference.",
        )
    files = _counted_files(session, earlier)
    record = parse_json(files["record.json"])
    # The subjects voted again are the earlier round's, as they were (tally verify --linked
    # checks the same): undetermined there (or all, if void), their data unchanged.
    before = {s["key"]: s for s in parse_json(files["manifest.json"])["election"]["subjects"]}
    grades = {row["key"]: row["grade"] for row in record["subjects"]}
    changed = [
        s.key
        for s in poll.subjects
        if s.info().to_dict(2) != before.get(s.key)
        or (grades.get(s.key) is not None and not record.get("void"))
    ]
    if changed:
        raise ServiceError(
            409,
            "round_subjects_changed",
            "Vòng sau chỉ biểu quyết lại đúng các đối tượng chưa xác định của cuộc số"
            f" {earlier.id}, dữ liệu như cũ: {', '.join(changed)} khác. Chưa mở.",
            f"A later round votes again only on poll {earlier.id}'s undetermined subjects, their"
            f" data unchanged: {', '.join(changed)} differ. Not opened.",
        )
    return {
        "number": round_number(poll),
        "previous": {
            "poll_uid": earlier.uid,
            "title": earlier.title,
            "record": sha256_hex(files["record.json"]),
        },
    }


def start_next_round(
    session: Session, poll_id: int, subject_keys: Sequence[str] = (), actor: str = "cli"
) -> Poll:
    """A draft poll voting again on ``subject_keys`` (default: every subject the poll left
    undetermined; every subject when its result is void). Refused, with nothing created: a poll
    not counted, a later round already started, an unknown subject or one already graded, no
    subject left to vote on."""
    conference, earlier = lock_conference_of(session, poll_id)
    record = parse_json(_counted_files(session, earlier)["record.json"])
    later = next_round_of(session, poll_id)
    if later is not None:
        raise ServiceError(
            409,
            "round_exists",
            f"Đã có vòng sau của cuộc biểu quyết này: cuộc số {later.id} ({later.title}).",
            f"A later round of this poll already exists: poll {later.id} ({later.title}).",
        )
    void = bool(record.get("void"))
    grades = {row["key"]: row["grade"] for row in record["subjects"]}
    open_keys = [k for k, g in grades.items() if g is None or void]
    wanted = list(dict.fromkeys(subject_keys)) or open_keys
    unknown = [k for k in wanted if k not in grades]
    if unknown:
        raise ServiceError(
            400,
            "unknown_subject",
            f"Không có đối tượng {', '.join(unknown)} trong cuộc biểu quyết số {poll_id}. Không"
            " có gì được tạo.",
            f"No subject {', '.join(unknown)} in poll {poll_id}. Nothing was created.",
        )
    graded = [k for k in wanted if k not in open_keys]
    if graded:
        raise ServiceError(
            409,
            "subject_determined",
            f"Đối tượng {', '.join(graded)} đã có kết quả xếp loại ở cuộc biểu quyết số"
            f" {poll_id}: chỉ biểu quyết lại đối tượng chưa xác định. Không có gì được tạo.",
            f"Subject {', '.join(graded)} already has a grade in poll {poll_id}: only"
            " undetermined subjects are voted again. Nothing was created.",
        )
    if not wanted:
        raise ServiceError(
            409,
            "nothing_undetermined",
            f"Mọi đối tượng của cuộc biểu quyết số {poll_id} đều đã có kết quả: không cần vòng"
            " sau. Không có gì được tạo.",
            f"Every subject of poll {poll_id} has a grade: no later round is needed. Nothing was"
            " created.",
        )
    position = (
        session.scalar(select(func.max(Poll.position)).where(Poll.conference_id == conference.id))
        or 0
    ) + 1
    number = round_number(earlier) + 1
    poll = Poll(
        conference_id=conference.id,
        position=position,
        state="draft",
        title=f"{earlier.title} — vòng {number}",
        rules_id=earlier.rules_id,
        members=earlier.members,
        present=earlier.present,
        exclusions=earlier.exclusions,
        rules_acknowledged=earlier.rules_acknowledged,
        previous_round=earlier,
    )
    session.add(poll)
    session.flush()
    chosen = set(wanted)
    kept = [s for s in earlier.subjects if s.key in chosen]
    peer = {s.peer_group for s in kept if s.peer_group}
    poll.outstanding_groups = [g for g in earlier.outstanding_groups or () if g in peer] or None
    for n, s in enumerate(kept, start=1):
        session.add(
            Subject(
                poll_id=poll.id,
                position=n,
                key=s.key,
                name=s.name,
                role=s.role,
                kind=s.kind,
                peer_group=s.peer_group,
                heads=s.heads,
                part_of=s.part_of,
                discipline=s.discipline,
                responsible_for=s.responsible_for,
                self_score=s.self_score,
                self_grade=s.self_grade,
                proposed_grade=s.proposed_grade,
            )
        )
    for t in earlier.trustees:
        session.add(
            Trustee(
                poll_id=poll.id, name=t.name, public_key=t.public_key, public=t.public, post=t.post
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "poll.next_round",
        conference=conference.id,
        poll=poll.id,
        previous=poll_id,
        round=number,
        subjects=[s.key for s in kept],
    )
    return poll
