"""Conferences and a poll's life: set up while draft, register trustees, mint, open, close.

Each function runs in the caller's transaction (``ballot.db.transaction()``), writes an audit event
and raises :class:`ServiceError` with a bilingual message when the step is not allowed. Writing
functions take their lock first: the poll's write lock, or the conference's (which also locks its
polls, so nothing opens while a conference is edited).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ballot import audit
from ballot.db import begin_write, write_lock
from ballot.errors import NotFound, ServiceError
from ballot.models import Ballot, Conference, Credential, Poll, Subject, Trustee
from tally.board import genesis
from tally.canonical import canonical_json
from tally.credentials import Credential as SecretCredential
from tally.manifest import make_manifest, parse_manifest
from tally.results import KINDS, SubjectInfo
from tally.rules import list_rulesets, load_ruleset
from tally.trustees import TrusteeError, TrusteePublic

MAX_MINT = 5000


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


# --- Validation shared by the conference and poll set-up functions ------------------------------

TEXT_MAX = 500
KEY_MAX = 100
_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def _bad(field_vi: str, field_en: str, problem_vi: str, problem_en: str) -> ServiceError:
    return ServiceError(
        400, "bad_field", f"{field_vi}: {problem_vi}.", f"{field_en}: {problem_en}."
    )


def has_control_characters(value: str) -> bool:
    """A name or title is one line of printable text: control characters (a NUL byte, which
    PostgreSQL refuses; a line break inside a printed name) are refused on every path alike."""
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def _text(
    value: Any, field_vi: str, field_en: str, *, required: bool = True, max_len: int = TEXT_MAX
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _bad(field_vi, field_en, "phải là chuỗi ký tự", "must be text")
    value = value.strip()
    if has_control_characters(value):
        raise _bad(
            field_vi, field_en, "có ký tự điều khiển không hợp lệ", "holds a control character"
        )
    if required and not value:
        raise _bad(field_vi, field_en, "không được để trống", "must not be empty")
    if len(value) > max_len:
        raise _bad(field_vi, field_en, f"tối đa {max_len} ký tự", f"at most {max_len} characters")
    return value


def _optional(value: Any, field_vi: str, field_en: str, max_len: int = KEY_MAX) -> str | None:
    text = _text(value, field_vi, field_en, required=False, max_len=max_len)
    return text or None


def _electorate(members: Any, present: Any) -> tuple[int, int]:
    for value, vi, en in (
        (members, "Tổng số thành viên", "Incumbent members"),
        (present, "Số thành viên có mặt", "Members present"),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _bad(vi, en, "phải là số nguyên không âm", "must be a whole number >= 0")
    if members < 1:
        raise _bad("Tổng số thành viên", "Incumbent members", "ít nhất là 1", "at least 1")
    if present > members:
        raise ServiceError(
            400,
            "bad_field",
            f"Số thành viên có mặt ({present}) lớn hơn tổng số thành viên ({members}).",
            f"Members present ({present}) is more than the incumbent members ({members}).",
        )
    return members, present


def _rules_id(value: Any) -> str:
    known = list_rulesets()
    if value not in known:
        raise ServiceError(
            400,
            "bad_field",
            f"Bộ quy tắc {value!r} không có; các bộ có sẵn: {', '.join(known)}.",
            f"No rule set {value!r}; the shipped ones are: {', '.join(known)}.",
        )
    return str(value)


def _changes(changes: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:  # a programming error, not a user's
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    return dict(changes)


def _diff(row: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set the changed attributes; return them (JSON-ready) for the audit log."""
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed[name] = value.isoformat() if isinstance(value, dt.date) else value
    return changed


# --- Conferences ---------------------------------------------------------------------------------

CONFERENCE_FIELDS = ("title", "body", "date", "place", "members", "present")


def get_conference(session: Session, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
    return conference


def _lock_conference(session: Session, conference_id: int) -> Conference:
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


def _conference_values(values: Mapping[str, Any]) -> dict[str, Any]:
    date = values.get("date")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise _bad("Ngày họp", "Date", "cần một ngày (YYYY-MM-DD)", "expected a date (YYYY-MM-DD)")
    members, present = _electorate(values.get("members"), values.get("present"))
    return {
        "title": _text(values.get("title"), "Tên hội nghị", "Title"),
        "body": _text(values.get("body"), "Cơ quan biểu quyết", "Deciding body"),
        "date": date,
        "place": _text(values.get("place"), "Địa điểm", "Place", required=False),
        "members": members,
        "present": present,
    }


def create_conference(
    session: Session, values: Mapping[str, Any], actor: str = "cli"
) -> Conference:
    """A new conference (no polls yet). ``values``: title, body, date, place, members, present."""
    fields = _conference_values(_changes(values, CONFERENCE_FIELDS))
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
    changes = _changes(changes, CONFERENCE_FIELDS)
    conference = _lock_conference(session, conference_id)
    started = [p.id for p in conference.polls if p.state != "draft"]
    if started:
        raise ServiceError(
            409,
            "conference_not_draft",
            f"Không thể sửa hội nghị: cuộc biểu quyết số {started[0]} đã mở hoặc đã đóng.",
            f"Cannot edit the conference: poll {started[0]} has already been opened or closed.",
        )
    current = {name: getattr(conference, name) for name in CONFERENCE_FIELDS}
    changed = _diff(conference, _conference_values({**current, **changes}))
    if changed:
        audit.record(session, actor, "conference.update", conference=conference_id, **changed)
    return conference


# --- Polls ---------------------------------------------------------------------------------------

POLL_FIELDS = ("title", "rules_id", "members", "present")


def _poll_values(values: Mapping[str, Any]) -> dict[str, Any]:
    members, present = _electorate(values.get("members"), values.get("present"))
    return {
        "title": _text(values.get("title"), "Tên cuộc biểu quyết", "Title"),
        "rules_id": _rules_id(values.get("rules_id")),
        "members": members,
        "present": present,
    }


def create_poll(
    session: Session, conference_id: int, values: Mapping[str, Any], actor: str = "cli"
) -> Poll:
    """A new draft poll, last in the conference; the electorate defaults to the conference's."""
    values = _changes(values, POLL_FIELDS)
    conference = _lock_conference(session, conference_id)
    defaults = {"members": conference.members, "present": conference.present}
    fields = _poll_values({**defaults, **{k: v for k, v in values.items() if v is not None}})
    position = (
        session.scalar(select(func.max(Poll.position)).where(Poll.conference_id == conference_id))
        or 0
    ) + 1
    poll = Poll(conference_id=conference_id, position=position, state="draft", **fields)
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
    changes = _changes(changes, POLL_FIELDS)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa cuộc biểu quyết", "edit the poll")
    current = {name: getattr(poll, name) for name in POLL_FIELDS}
    changed = _diff(poll, _poll_values({**current, **changes}))
    if changed:
        audit.record(session, actor, "poll.update", poll=poll_id, **changed)
    return poll


# --- Subjects (the ballot's lines, in order) -----------------------------------------------------

SUBJECT_FIELDS = ("key", "name", "role", "kind", "peer_group", "heads", "part_of", "disciplined")


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


def _subject_values(values: Mapping[str, Any], others: list[Subject], key: str) -> dict[str, Any]:
    """Check a subject's fields against the other subjects of the conference."""
    kind = values.get("kind")
    if kind not in KINDS:
        raise _bad(
            "Loại đối tượng",
            "Kind",
            "phải là cá nhân, tập thể hoặc tổ chức",
            "must be individual, collective or organization",
        )
    disciplined = values.get("disciplined", False)
    if not isinstance(disciplined, bool):
        raise _bad("Bị kỷ luật", "Disciplined", "phải là có hoặc không", "must be true or false")
    fields = {
        "key": key,
        "name": _text(values.get("name"), "Tên đối tượng", "Name"),
        "role": _text(values.get("role"), "Chức vụ", "Role", required=False),
        "kind": kind,
        "peer_group": _optional(values.get("peer_group"), "Nhóm so sánh", "Peer group"),
        "heads": _optional(values.get("heads"), "Đứng đầu đơn vị", "Heads"),
        "part_of": _optional(values.get("part_of"), "Lãnh đạo tổ chức", "Leads"),
        "disciplined": disciplined,
    }
    known = {s.key: s for s in others}
    for field, vi, en, allowed_kind in (
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
        ref = fields[field]
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
        if ref not in known:
            raise ServiceError(
                400,
                "bad_field",
                f"Không có đối tượng mã {ref!r} trong hội nghị này.",
                f"No subject with key {ref!r} in this conference.",
            )
    try:
        SubjectInfo.from_dict(fields)  # the checks the manifest will make when the poll opens
    except ValueError as exc:
        raise ServiceError(
            400, "bad_field", f"Đối tượng không hợp lệ: {exc}", f"Invalid subject: {exc}"
        ) from None
    return fields


def _new_key(values: Mapping[str, Any], taken: set[str]) -> str:
    explicit = _optional(values.get("key"), "Mã đối tượng", "Key")
    if explicit is not None:
        if not _KEY_RE.fullmatch(explicit):
            raise _bad(
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
    base = slug(_text(values.get("name"), "Tên đối tượng", "Name")) or "doi-tuong"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


def add_subject(
    session: Session, poll_id: int, values: Mapping[str, Any], actor: str = "cli"
) -> Subject:
    """Append a subject to a draft poll. Without a key, one is made from the name."""
    values = _changes(values, SUBJECT_FIELDS)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "thêm đối tượng", "add a subject")
    others = conference_subjects(session, poll.conference_id)
    key = _new_key(values, {s.key for s in others})
    fields = _subject_values(values, others, key)
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
    changes = _changes(changes, tuple(f for f in SUBJECT_FIELDS if f != "key"))
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa đối tượng", "edit a subject")
    subject = _subject(session, poll, ref)
    others = [s for s in conference_subjects(session, poll.conference_id) if s.id != subject.id]
    current = {name: getattr(subject, name) for name in SUBJECT_FIELDS}
    fields = _subject_values({**current, **changes}, others, subject.key)
    changed = _diff(subject, fields)
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
        if subject.key in (s.heads, s.part_of)
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


def add_trustee(session: Session, poll_id: int, public: Any, actor: str = "cli") -> Trustee:
    """Register a trustee's published key (``tally trustee keygen``'s .pub.json), proof checked."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "thêm thành viên Ban kiểm phiếu", "add a trustee")
    try:
        trustee = TrusteePublic.from_json(public)
    except TrusteeError as exc:
        raise ServiceError(
            400,
            "bad_trustee_key",
            f"Khóa công khai của thành viên Ban kiểm phiếu không hợp lệ: {exc}",
            f"The trustee's public key is not valid: {exc}",
        ) from None
    _text(trustee.name, "Tên thành viên Ban kiểm phiếu", "Trustee name")  # printed on the record
    key = trustee.public_key.hex()
    if session.scalar(
        select(Trustee.id).where(Trustee.poll_id == poll_id, Trustee.public_key == key)
    ):
        raise ServiceError(
            409,
            "trustee_exists",
            "Khóa này đã được đăng ký cho cuộc biểu quyết.",
            "This key is already registered for the poll.",
        )
    row = Trustee(poll_id=poll_id, name=trustee.name, public_key=key, public=trustee.to_json())
    session.add(row)
    session.flush()
    audit.record(session, actor, "trustee.add", poll=poll_id, name=trustee.name, public_key=key)
    return row


def remove_trustee(session: Session, poll_id: int, trustee_id: int, actor: str = "cli") -> str:
    """Unregister a trustee of a draft poll (e.g. a key uploaded by mistake); returns the name."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "bỏ thành viên Ban kiểm phiếu", "remove a trustee")
    trustee = session.scalar(
        select(Trustee).where(Trustee.poll_id == poll_id, Trustee.id == trustee_id)
    )
    if trustee is None:
        raise NotFound(
            f"thành viên Ban kiểm phiếu số {trustee_id} của cuộc biểu quyết số {poll_id}",
            f"trustee {trustee_id} of poll {poll_id}",
        )
    name, key = trustee.name, trustee.public_key
    session.delete(trustee)
    audit.record(session, actor, "trustee.remove", poll=poll_id, name=name, public_key=key)
    return name


def credential_counts(session: Session, poll_id: int) -> dict[str, int]:
    """Credentials issued (minted), used (a ballot was cast with it) and voided (at close)."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Credential.used.is_(True)),
            func.count().filter(Credential.voided.is_(True)),
        ).where(Credential.poll_id == poll_id)
    ).one()
    return {"issued": row[0], "used": row[1], "voided": row[2]}


def poll_status(session: Session, poll_id: int) -> dict[str, Any]:
    """What the room may see while a poll runs: never a count of votes, only of ballots."""
    poll = get_poll(session, poll_id)
    counts = credential_counts(session, poll_id)
    cast = session.scalar(select(func.count()).where(Ballot.poll_id == poll_id)) or 0
    return {
        "state": poll.state,
        "issued": counts["issued"],
        "cast": cast,
        "voided": counts["voided"],
    }


def mint_credentials(
    session: Session, poll_id: int, count: int, actor: str = "cli"
) -> list[SecretCredential]:
    """Create ``count`` credentials; store only their public keys; return the secrets, once.

    The caller prints the slips and then drops the returned objects; the secrets exist nowhere
    else.
    """
    if not 1 <= count <= MAX_MINT:
        raise ServiceError(
            400,
            "bad_count",
            f"Số phiếu xác thực phải từ 1 đến {MAX_MINT}.",
            f"The number of credentials must be between 1 and {MAX_MINT}.",
        )
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "tạo thêm phiếu xác thực", "mint credentials")
    minted = [SecretCredential.generate() for _ in range(count)]
    session.add_all(
        Credential(poll_id=poll_id, public_key=c.public_key.hex(), used=False, voided=False)
        for c in minted
    )
    session.flush()
    total = session.scalar(select(func.count()).where(Credential.poll_id == poll_id))
    audit.record(session, actor, "credentials.mint", poll=poll_id, count=count, total=total)
    return minted


def open_poll(session: Session, poll_id: int, signer_public_key: bytes, actor: str = "cli") -> Poll:
    """Fix the manifest: subjects, rule set, trustees' joint key, credential commitment."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "mở cuộc biểu quyết", "open the poll")
    trustees = [TrusteePublic.from_json(t.public) for t in poll.trustees]
    keys = session.scalars(
        select(Credential.public_key).where(
            Credential.poll_id == poll_id, Credential.voided.is_(False)
        )
    ).all()
    if not poll.subjects:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cần ít nhất một đối tượng trên phiếu trước khi mở.",
            "Add at least one subject to the ballot before opening.",
        )
    if not trustees or not keys:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cần ít nhất một thành viên Ban kiểm phiếu và một phiếu xác thực trước khi mở.",
            "Register at least one trustee and mint at least one credential before opening.",
        )
    conference = poll.conference
    data = make_manifest(
        poll_id=str(poll.id),
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
        credential_keys=[bytes.fromhex(k) for k in keys],
        members=poll.members,
        present=poll.present,
        signer_public_key=signer_public_key,
    )
    manifest = parse_manifest(data)  # the same checks an auditor's verifier will make
    poll.manifest = canonical_json(data).decode("utf-8")
    poll.fingerprint = manifest.fingerprint.hex()
    poll.board_head = genesis(manifest.fingerprint).hex()
    poll.state = "open"
    poll.opened_at = dt.datetime.now(dt.UTC)
    audit.record(
        session,
        actor,
        "poll.open",
        poll=poll_id,
        fingerprint=poll.fingerprint,
        credentials=len(keys),
        commitment=data["election"]["credentials"]["commitment"],
        trustees=[t.name for t in trustees],
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
