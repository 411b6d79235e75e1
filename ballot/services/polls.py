"""A poll's life: create and edit while draft, open (the manifest is fixed), close.

Each function runs in the caller's transaction (``ballot.db.transaction()``), writes an audit event
and raises :class:`ServiceError` with a bilingual message when the step is not allowed. Writing
functions take their lock first: the poll's write lock, or the conference's (which also locks its
polls, so nothing opens while a conference is edited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ballot.db import write_lock
from ballot.models import Ballot, Credential, Poll
from ballot.services import audit
from ballot.services.attendance import append_entry
from ballot.services.conferences import lock_conference
from ballot.services.errors import NotFound, ServiceError
from ballot.services.fields import POLL, apply_changes, check_all, check_electorate, known, names
from tally.board import genesis
from tally.canonical import canonical_json, parse_json
from tally.manifest import ManifestError, make_manifest, parse_manifest
from tally.record import key_fingerprint
from tally.results import SubjectInfo
from tally.rules import load_ruleset
from tally.trustees import TrusteePublic


def get_poll(session: Session, poll_id: int, *, lock: bool = False) -> Poll:
    """The poll, or NotFound; with ``lock``, under its write lock (first statement)."""
    poll = write_lock(session, poll_id) if lock else session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    return poll


def require_draft(poll: Poll, doing_vi: str, doing_en: str) -> None:
    if poll.state != "draft":
        raise ServiceError(
            409,
            "poll_not_draft",
            f"Không thể {doing_vi}: cuộc biểu quyết số {poll.id} đã mở hoặc đã đóng.",
            f"Cannot {doing_en}: poll {poll.id} has already been opened or closed.",
        )


POLL_FIELDS = names(POLL)


def _poll_values(values: Mapping[str, Any]) -> dict[str, Any]:
    fields = check_all(POLL, values)
    check_electorate(fields["members"], fields["present"])
    return fields


def create_poll(
    session: Session, conference_id: int, values: Mapping[str, Any], actor: str = "cli"
) -> Poll:
    """A new draft poll, last in the conference; the electorate defaults to the conference's."""
    values = known(values, POLL_FIELDS)
    conference = lock_conference(session, conference_id)
    defaults = {"members": conference.members, "present": conference.present}
    fields = _poll_values({**defaults, **{k: v for k, v in values.items() if v is not None}})
    position = (
        session.scalar(select(func.max(Poll.position)).where(Poll.conference_id == conference_id))
        or 0
    ) + 1
    poll = Poll(
        conference_id=conference_id,
        position=position,
        state="draft",
        **fields,
    )
    session.add(poll)
    session.flush()
    audit.record(
        session,
        actor,
        "poll.create",
        conference=conference_id,
        poll=poll.id,
        title=poll.title,
        rules=poll.rules_id,
    )
    return poll


def update_poll(
    session: Session, poll_id: int, changes: Mapping[str, Any], actor: str = "cli"
) -> Poll:
    """Change a draft poll's title, rule set or electorate."""
    changes = known(changes, POLL_FIELDS)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa cuộc biểu quyết", "edit the poll")
    current = {name: getattr(poll, name) for name in POLL_FIELDS}
    values = _poll_values({**current, **changes})
    if poll.credential_list is not None:
        listed = parse_json(poll.credential_list)
        if values["members"] < max(listed["count"], listed["reserve"]):
            raise ServiceError(
                409,
                "members_below_list",
                f"Danh sách của Ban Tổ chức đã nhập có {listed['count']} phiếu và"
                f" {listed['reserve']} phiếu dự phòng: số ủy viên không thể ít hơn. Nhập lại"
                " danh sách mới trước.",
                f"The imported list has {listed['count']} slips and {listed['reserve']}"
                " reserve: the members cannot be fewer. Import a new list first.",
            )
    changed = apply_changes(poll, values)
    if changed:
        audit.record(session, actor, "poll.update", poll=poll_id, **changed)
    return poll


def open_poll(session: Session, poll_id: int, signer_public_key: bytes, actor: str = "cli") -> Poll:
    """Fix the manifest (version 2): subjects, rule set, trustees' joint key, the authority's
    credential list; start the attendance chain with the number present."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "mở cuộc biểu quyết", "open the poll")
    trustees = [TrusteePublic.from_json(t.public) for t in poll.trustees]
    if not poll.subjects:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cần ít nhất một đối tượng trên phiếu trước khi mở.",
            "Add at least one subject to the ballot before opening.",
        )
    if not trustees or poll.credential_list is None:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cần ít nhất một thành viên Ban kiểm phiếu và danh sách phiếu xác thực của Ban Tổ"
            " chức trước khi mở.",
            "Register at least one trustee and import the authority's credential list before"
            " opening.",
        )
    if any(t.signing_key is None for t in trustees):
        raise ServiceError(
            409,
            "poll_not_ready",
            "Khóa của thành viên Ban kiểm phiếu là khóa cũ (không có khóa ký): tạo lại bằng"
            " tally trustee keygen và đăng ký lại.",
            "A trustee's key is an old one (no signing key): make it again with tally trustee"
            " keygen and register it again.",
        )
    conference = poll.conference
    data = make_manifest(
        poll_id=str(poll.id),
        poll_uid=poll.uid,
        title=poll.title,
        conference={
            "title": conference.title,
            "body": conference.body,
            "date": conference.date.isoformat(),
            "place": conference.place,
        },
        subjects=[
            SubjectInfo(
                key=s.key,
                name=s.name,
                kind=s.kind,
                role=s.role,
                peer_group=s.peer_group,
                heads=s.heads,
                part_of=s.part_of,
                disciplined=s.disciplined,
            )
            for s in poll.subjects
        ],
        rules=load_ruleset(poll.rules_id),
        trustees=trustees,
        credential_list=parse_json(poll.credential_list),
        members=poll.members,
        signer_public_key=signer_public_key,
    )
    try:
        manifest = parse_manifest(data)  # the same checks an auditor's verifier will make
    except ManifestError as exc:
        raise ServiceError(
            409,
            "poll_not_ready",
            f"Chưa mở được: manifest không hợp lệ ({exc}).",
            f"Cannot open: the manifest would not verify ({exc}).",
        ) from None
    poll.manifest = canonical_json(data).decode("utf-8")
    poll.fingerprint = manifest.fingerprint.hex()
    poll.board_head = genesis(manifest.fingerprint).hex()
    poll.state = "open"
    poll.opened_at = dt.datetime.now(dt.UTC)
    append_entry(session, poll, poll.present, actor)
    audit.record(
        session,
        actor,
        "poll.open",
        poll=poll_id,
        fingerprint=poll.fingerprint,
        credentials=len(manifest.credentials),
        reserve=manifest.reserve,
        commitment=data["election"]["credentials"]["commitment"],
        authority=key_fingerprint(manifest.authority or b""),
        trustees=[t.name for t in trustees],
        present=poll.present,
    )
    return poll


def close_poll(session: Session, poll_id: int, actor: str = "cli") -> dict[str, Any]:
    """Stop accepting ballots and void every unused credential, under the poll's write lock."""
    poll = get_poll(session, poll_id, lock=True)
    if poll.state != "open":
        raise ServiceError(
            409,
            "poll_not_open",
            f"Cuộc biểu quyết số {poll_id} không đang mở.",
            f"Poll {poll_id} is not open.",
        )
    voided = session.execute(
        update(Credential)
        .where(Credential.poll_id == poll_id, Credential.used.is_(False))
        .values(voided=True)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    ballots = session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0
    poll.state = "closed"
    poll.closed_at = dt.datetime.now(dt.UTC)
    summary = {"poll": poll_id, "ballots": ballots, "voided": voided, "board_head": poll.board_head}
    audit.record(session, actor, "poll.close", **summary)
    return summary
