"""A draft poll's subjects (the ballot's lines, in order): add, edit, delete, move.

Each function runs in the caller's transaction under the poll's write lock and writes an audit
event; a subject's ``heads`` and ``part_of`` may name a subject of another poll of the conference.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Poll, Subject
from ballot.services import audit
from ballot.services.errors import NotFound, ServiceError
from ballot.services.fields import (
    KEY_RE,
    SUBJECT,
    apply_changes,
    bad,
    check_all,
    field,
    known,
    names,
)
from ballot.services.polls import get_poll, require_draft
from tally.results import SubjectInfo
from tally.rules import load_ruleset

SUBJECT_FIELDS = names(SUBJECT)


def slug(text: str) -> str:
    """An ASCII key from a Vietnamese name: "Đảng bộ tỉnh" -> "dang-bo-tinh"."""
    text = text.replace("Đ", "D").replace("đ", "d")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def conference_subjects(session: Session, conference_id: int) -> list[Subject]:
    """Every subject of the conference's polls (heads and part_of may name one in another poll)."""
    return list(
        session.scalars(
            select(Subject)
            .join(Poll, Subject.poll_id == Poll.id)
            .where(Poll.conference_id == conference_id)
            .order_by(Poll.position, Subject.position)
        )
    )


def _subject(session: Session, poll: Poll, ref: int | str) -> Subject:
    """A subject of this poll by id (web) or by key (command line)."""
    column = Subject.id if isinstance(ref, int) else Subject.key
    subject = session.scalar(select(Subject).where(Subject.poll_id == poll.id, column == ref))
    if subject is None:
        raise NotFound(
            f"đối tượng {ref} trong cuộc biểu quyết số {poll.id}",
            f"subject {ref} in poll {poll.id}",
        )
    return subject


def subject_info(fields: Mapping[str, Any]) -> SubjectInfo:
    """A subject's checked fields (comma-separated lists as stored) as the manifest has it."""
    lists = {
        name: tuple(v for v in str(fields.get(name) or "").split(",") if v)
        for name in ("discipline", "responsible_for")
    }
    return SubjectInfo.from_dict(
        {k: v for k, v in fields.items() if k not in lists} | {k: list(v) for k, v in lists.items()}
    )


def _subject_values(
    values: Mapping[str, Any], others: list[Subject], key: str, poll: Poll | None = None
) -> dict[str, Any]:
    """Check a subject's fields against the other subjects of the conference and the poll's
    rule set."""
    # The key was checked when it was made (_new_key); it never changes.
    fields = {"key": key, **check_all(tuple(f for f in SUBJECT if f.name != "key"), values)}
    kind = fields["kind"]
    by_key = {s.key: s for s in others}
    for name, vi, en, allowed_kind in (
        (
            "heads",
            "Chỉ cá nhân mới đứng đầu một đơn vị",
            "Only an individual heads a unit",
            "individual",
        ),
        (
            "part_of",
            "Chỉ tập thể mới lãnh đạo một tổ chức",
            "Only a collective leads an organization",
            "collective",
        ),
    ):
        ref = fields[name]
        if ref is None:
            continue
        if kind != allowed_kind:
            raise ServiceError(400, "bad_field", f"{vi}.", f"{en}.")
        if ref == key:
            raise ServiceError(
                400,
                "bad_field",
                "Đối tượng không thể tham chiếu chính nó.",
                "A subject cannot refer to itself.",
            )
        if ref not in by_key:
            raise ServiceError(
                400,
                "bad_field",
                f"Không có đối tượng mã {ref!r} trong hội nghị này.",
                f"No subject with key {ref!r} in this conference.",
            )
    for ref in (r for r in (fields.get("responsible_for") or "").split(",") if r):
        if ref == key or ref not in by_key:
            raise bad(
                "Đơn vị phụ trách",
                "Responsible for",
                f"không có đối tượng mã {ref!r} khác trong hội nghị này",
                f"no other subject with key {ref!r} in this conference",
            )
    try:
        info = subject_info(fields)  # the checks the manifest will make when the poll opens
        if poll is not None:
            rules = load_ruleset(poll.rules_id)
            if not rules.is_adoption:
                info.check_grades(rules.grade_codes)
    except ValueError as exc:
        raise ServiceError(
            400, "bad_field", f"Đối tượng không hợp lệ: {exc}", f"Invalid subject: {exc}"
        ) from None
    return fields


def _new_key(values: Mapping[str, Any], taken: set[str]) -> str:
    explicit: str | None = field(SUBJECT, "key").check(values.get("key"))
    if explicit is not None:
        if not KEY_RE.fullmatch(explicit):
            raise bad(
                "Mã đối tượng",
                "Key",
                "chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang (ví dụ ubtv-01)",
                "only lowercase ASCII letters, digits and hyphens (e.g. ubtv-01)",
            )
        if explicit in taken:
            raise ServiceError(
                409,
                "subject_exists",
                f"Mã đối tượng {explicit!r} đã có trong hội nghị này.",
                f"The key {explicit!r} is already used in this conference.",
            )
        return explicit
    base = slug(field(SUBJECT, "name").check(values.get("name"))) or "doi-tuong"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


def add_subject(
    session: Session, poll_id: int, values: Mapping[str, Any], actor: str = "cli"
) -> Subject:
    """Append a subject to a draft poll. Without a key, one is made from the name."""
    values = known(values, SUBJECT_FIELDS)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "thêm đối tượng", "add a subject")
    others = conference_subjects(session, poll.conference_id)
    taken = {s.key for s in others}
    if poll.adopts is not None:
        # An adoption poll's subject is a subject of the adopted poll, under the same key.
        own = {s.key for s in poll.subjects}
        taken -= {s.key for s in poll.adopts.subjects} - own
    key = _new_key(values, taken)
    fields = _subject_values(values, others, key, poll)
    position = (
        session.scalar(select(func.max(Subject.position)).where(Subject.poll_id == poll_id)) or 0
    ) + 1
    subject = Subject(poll_id=poll_id, position=position, **fields)
    session.add(subject)
    session.flush()
    audit.record(
        session, actor, "subject.add", poll=poll_id, key=key, name=subject.name, position=position
    )
    return subject


def update_subject(
    session: Session,
    poll_id: int,
    ref: int | str,
    changes: Mapping[str, Any],
    actor: str = "cli",
) -> Subject:
    """Change a draft poll's subject. Its key stays: other subjects may refer to it."""
    changes = known(changes, tuple(f for f in SUBJECT_FIELDS if f != "key"))
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa đối tượng", "edit a subject")
    subject = _subject(session, poll, ref)
    others = [s for s in conference_subjects(session, poll.conference_id) if s.id != subject.id]
    current = {name: getattr(subject, name) for name in SUBJECT_FIELDS}
    fields = _subject_values({**current, **changes}, others, subject.key, poll)
    changed = apply_changes(subject, fields)
    if changed:
        audit.record(session, actor, "subject.update", poll=poll_id, key=subject.key, **changed)
    return subject


def delete_subject(session: Session, poll_id: int, ref: int | str, actor: str = "cli") -> str:
    """Remove a draft poll's subject (unless another refers to it); returns its name."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "xóa đối tượng", "delete a subject")
    subject = _subject(session, poll, ref)
    referring = [
        s.name
        for s in conference_subjects(session, poll.conference_id)
        if subject.key in (s.heads, s.part_of, *s.responsible_for.split(","))
    ]
    if referring:
        raise ServiceError(
            409,
            "subject_referenced",
            f"Không thể xóa {subject.name}: {', '.join(referring)} tham chiếu tới đối tượng này.",
            f"Cannot delete {subject.name}: {', '.join(referring)} refer(s) to it.",
        )
    name, key, position = subject.name, subject.key, subject.position
    session.delete(subject)
    session.flush()
    later = session.scalars(
        select(Subject)
        .where(Subject.poll_id == poll_id, Subject.position > position)
        .order_by(Subject.position)
    ).all()
    for s in later:  # one at a time, so (poll, position) stays unique after every statement
        s.position -= 1
        session.flush()
    audit.record(session, actor, "subject.delete", poll=poll_id, key=key, name=name)
    return name


def move_subject(
    session: Session,
    poll_id: int,
    ref: int | str,
    direction: Literal["up", "down"],
    actor: str = "cli",
) -> Subject:
    """Swap a draft poll's subject with the one above or below it on the ballot."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be up or down, not {direction!r}")
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "đổi thứ tự đối tượng", "reorder the subjects")
    subject = _subject(session, poll, ref)
    query = select(Subject).where(Subject.poll_id == poll_id)
    if direction == "up":
        query = query.where(Subject.position < subject.position).order_by(Subject.position.desc())
    else:
        query = query.where(Subject.position > subject.position).order_by(Subject.position)
    neighbour = session.scalars(query.limit(1)).first()
    if neighbour is None:
        raise ServiceError(
            409,
            "cannot_move",
            f"{subject.name} đã ở {'đầu' if direction == 'up' else 'cuối'} phiếu.",
            f"{subject.name} is already {'first' if direction == 'up' else 'last'} on the ballot.",
        )
    mine, theirs = subject.position, neighbour.position
    subject.position = 0  # positions start at 1: a free slot while the two swap
    session.flush()
    neighbour.position = mine
    session.flush()
    subject.position = theirs
    session.flush()
    audit.record(session, actor, "subject.move", poll=poll_id, key=subject.key, position=theirs)
    return subject
