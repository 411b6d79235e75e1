"""A conference's key ceremony (k of n, docs/protocol.md 9.4): start it, take the trustees'
signed dealings and checks, and give what the polls' manifests carry.

The server only relays and checks. Every message is checked by ``tally.dkg`` before it is
stored (its form, the ceremony it names, the proof, the sending trustee's signature), so what
is stored is exactly what ``tally verify`` will accept; the outcome (the qualified trustees, the
faulty, the poll's key) is computed from the stored messages alone, never taken from anyone.

One ceremony serves every poll of the conference (9.4: the counting committee counts all the
conference's polls, and a second round needs no new ceremony). Its trustees are those
registered for the conference's polls, which must be the same members in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ballot import db
from ballot.models import Conference, KeyCeremony, Poll
from ballot.services import audit, errors
from ballot.services.errors import NotFound, ServiceError
from tally.authority import new_poll_uid
from tally.canonical import canonical_json, parse_json
from tally.dkg import (
    Ceremony,
    CeremonyError,
    CeremonyResult,
    dealings_digest,
    default_threshold,
    evaluate,
    parse_check,
    parse_dealing,
)
from tally.trustees import TrusteePublic

MAX_MESSAGE_BYTES = 256 * 1024  # a dealing of 32 trustees is about 12 KiB


class CeremonyRefused(ServiceError):
    """A ceremony step was refused; nothing was stored."""


@dataclass(frozen=True)
class CeremonyView:
    """What the pages, the API and the CLI show of a ceremony."""

    conference_id: int
    ceremony: Ceremony
    state: str
    dealings: list[Any]
    checks: list[Any]
    failure: str | None
    outcome: CeremonyResult | None

    def to_json(self) -> dict[str, Any]:
        outcome = None
        if self.outcome is not None:
            outcome = {
                "qualified": list(self.outcome.qualified),
                "faults": [f.to_json() for f in self.outcome.faults],
                "public_key": self.outcome.public_key.hex(),
                "verification_keys": {
                    str(m): vk.hex() for m, vk in self.outcome.verification_keys.items()
                },
            }
        # While dealing, who has dealt is public but not what: nobody (a last dealer above
        # all) sees the others' dealings before every trustee has committed to theirs.
        dealings = (
            [None if d is None else {"dealer": d["dealer"]} for d in self.dealings]
            if self.state == "dealing"
            else self.dealings
        )
        return {
            "conference": self.conference_id,
            "ceremony": self.ceremony.to_json(),
            "digest": self.ceremony.digest.hex(),
            "state": self.state,
            "dealings": dealings,
            "checks": self.checks,
            "failure": self.failure,
            "outcome": outcome,
        }

    @property
    def manifest_part(self) -> dict[str, Any]:
        """``election.ceremony`` of a poll's manifest (9.4)."""
        return {
            "uid": self.ceremony.uid,
            "threshold": self.ceremony.threshold,
            "dealings": self.dealings,
            "checks": self.checks,
        }


def _refused(status: int, code: str, vi: str, en: str) -> CeremonyRefused:
    return CeremonyRefused(status, code, vi, en)


def _ceremony(row: KeyCeremony) -> Ceremony:
    trustees = tuple(TrusteePublic.from_json(t) for t in parse_json(row.trustees))
    return Ceremony(row.uid, row.threshold, trustees)


def view(row: KeyCeremony) -> CeremonyView:
    ceremony = _ceremony(row)
    dealings, checks = parse_json(row.dealings), parse_json(row.checks)
    outcome = evaluate(ceremony, dealings, checks) if row.state == "done" else None
    return CeremonyView(
        row.conference_id, ceremony, row.state, dealings, checks, row.failure, outcome
    )


def get_row(session: Session, conference_id: int, *, lock: bool = False) -> KeyCeremony | None:
    """The conference's ceremony row; with ``lock``, taken as the transaction's first statement
    under the write lock (BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL)."""
    query = select(KeyCeremony).where(KeyCeremony.conference_id == conference_id)
    if lock:
        db.begin_write(session)
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def ceremony_of(session: Session, conference_id: int) -> CeremonyView:
    row = get_row(session, conference_id)
    if row is None:
        if session.get(Conference, conference_id) is None:
            raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
        raise _refused(
            404,
            "no_ceremony",
            f"Hội nghị số {conference_id} chưa có lễ tạo khóa.",
            f"Conference {conference_id} has no key ceremony yet.",
        )
    return view(row)


def committee(session: Session, conference_id: int) -> list[dict[str, Any]]:
    """The conference's counting committee: the trustees registered for its polls, which must be
    the same members in the same order for every poll that has any."""
    polls = session.scalars(
        select(Poll).where(Poll.conference_id == conference_id).order_by(Poll.position)
    ).all()
    lists = [[t.public for t in poll.trustees] for poll in polls if poll.trustees]
    if not lists:
        raise _refused(
            409,
            "no_trustees",
            "Chưa có thành viên Ban kiểm phiếu nào được đăng ký cho các cuộc biểu quyết của hội"
            " nghị: đăng ký trước khi tạo khóa.",
            "No trustee is registered for the conference's polls: register them first.",
        )
    first = lists[0]
    if any(canonical_json(other) != canonical_json(first) for other in lists[1:]):
        raise _refused(
            409,
            "committees_differ",
            "Các cuộc biểu quyết của hội nghị có Ban kiểm phiếu khác nhau: đăng ký cùng các thành"
            " viên, cùng thứ tự, cho mọi cuộc có Ban kiểm phiếu.",
            "The conference's polls have different counting committees: register the same"
            " members, in the same order, for every poll that has any.",
        )
    return [dict(t) for t in first]


def start_ceremony(
    session: Session,
    conference_id: int,
    threshold: int | None,
    actor: str = "cli",
    *,
    restart: bool = False,
) -> CeremonyView:
    """Fix the trustees and k (a majority by default) and open the dealing step. Only while
    every poll of the conference is a draft: a poll opened with every trustee's key (n of n)
    would share the trustees' keys with the ceremony. A failed ceremony is replaced; a stalled
    or finished one only with ``restart`` (audited), while no poll has opened with it."""
    row = get_row(session, conference_id, lock=True)
    if session.get(Conference, conference_id) is None:
        raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
    # The polls' rows locked too (PostgreSQL), so that no poll opens while this starts.
    states = session.scalars(
        select(Poll.state).where(Poll.conference_id == conference_id).with_for_update()
    ).all()
    if any(state != "draft" for state in states):
        raise _refused(
            409,
            "conference_started",
            "Đã có cuộc biểu quyết của hội nghị được mở: lễ tạo khóa chỉ làm trước khi mở cuộc"
            " đầu tiên.",
            "A poll of the conference has been opened: the key ceremony is held before the"
            " first poll opens.",
        )
    if row is not None and row.state != "failed" and not restart:
        raise _refused(
            409,
            "ceremony_exists",
            "Hội nghị đã có lễ tạo khóa. Làm lại (ví dụ khi một thành viên không làm tiếp được):"
            " ballot ceremony start --restart, hoặc nút “Làm lại lễ tạo khóa”.",
            "The conference already has a key ceremony. To start again (a member cannot go on,"
            " say): ballot ceremony start --restart, or the “start again” button.",
        )
    trustees = committee(session, conference_id)
    n = len(trustees)
    k = default_threshold(n) if threshold is None else threshold
    if type(k) is not int or not 1 <= k <= n:
        raise _refused(
            400,
            "bad_threshold",
            f"Số thành viên đủ để kiểm phiếu phải từ 1 đến {n}.",
            f"The threshold must be between 1 and the {n} trustees.",
        )
    try:
        ceremony = Ceremony(new_poll_uid(), k, tuple(TrusteePublic.from_json(t) for t in trustees))
    except CeremonyError as exc:
        raise _refused(
            409,
            "bad_committee",
            f"Ban kiểm phiếu không dùng được cho lễ tạo khóa: {exc}",
            f"The counting committee cannot hold a key ceremony: {exc}",
        ) from None
    empty = canonical_json([None] * n).decode("utf-8")
    if row is not None:
        audit.record(session, actor, "ceremony.restart", conference=conference_id, uid=row.uid)
        session.delete(row)
        session.flush()
    row = KeyCeremony(
        conference_id=conference_id,
        uid=ceremony.uid,
        threshold=k,
        trustees=canonical_json([t.to_json() for t in ceremony.trustees]).decode("utf-8"),
        dealings=empty,
        checks=empty,
        state="dealing",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "ceremony.start",
        conference=conference_id,
        uid=ceremony.uid,
        threshold=k,
        trustees=n,
    )
    return view(row)


def _message(body: bytes | str | Any) -> Any:
    if isinstance(body, bytes | str):
        if len(body) > MAX_MESSAGE_BYTES:
            raise _refused(
                413,
                "too_large",
                "Tệp quá lớn; không có gì được lưu.",
                "The file is too large; nothing was stored.",
            )
        try:
            return parse_json(body)
        except ValueError:
            raise _refused(
                400,
                "bad_ceremony_message",
                "Tệp không phải JSON; không có gì được lưu.",
                "The file is not JSON; nothing was stored.",
            ) from None
    return body


def _bad(exc: CeremonyError) -> CeremonyRefused:
    return _refused(
        400,
        "bad_ceremony_message",
        f"Bị từ chối, không có gì được lưu: {exc}",
        f"Refused, nothing was stored: {exc}",
    )


def _locked_open(session: Session, conference_id: int, step: str) -> KeyCeremony:
    row = get_row(session, conference_id, lock=True)
    if row is None:
        if session.get(Conference, conference_id) is None:
            raise NotFound(f"hội nghị số {conference_id}", f"conference {conference_id}")
        raise _refused(
            404,
            "no_ceremony",
            "Hội nghị chưa có lễ tạo khóa.",
            "The conference has no key ceremony.",
        )
    if row.state != step:
        now = {
            "dealing": ("đang nhận các phần chia", "taking the dealings"),
            "checking": ("đang nhận các xác nhận", "taking the checks"),
            "done": ("đã xong", "finished"),
            "failed": ("đã không thành", "failed"),
        }[row.state]
        raise _refused(
            409,
            "ceremony_step",
            f"Lễ tạo khóa {now[0]}: bước này không nhận lúc này; không có gì được lưu.",
            f"The key ceremony is {now[1]}: this step is not taken now; nothing was stored.",
        )
    return row


def add_dealing(
    session: Session, conference_id: int, body: bytes | str | Any, actor: str = "web"
) -> int:
    """Store a trustee's dealing (step 1) once it checks; the same dealing sent again is
    accepted and changes nothing. Returns the dealer's index."""
    data = _message(body)
    row = _locked_open(session, conference_id, "dealing")
    ceremony = _ceremony(row)
    try:
        dealing = parse_dealing(ceremony, data)
    except CeremonyError as exc:
        raise _bad(exc) from None
    dealings = parse_json(row.dealings)
    held = dealings[dealing.dealer - 1]
    if held is not None:
        if canonical_json(held) == canonical_json(data):
            return dealing.dealer
        raise _refused(
            409,
            "already_dealt",
            f"Đã nhận phần chia của {ceremony.name(dealing.dealer)}; không nhận phần thứ hai.",
            f"The dealing of {ceremony.name(dealing.dealer)} is already in; no second one.",
        )
    dealings[dealing.dealer - 1] = data
    row.dealings = canonical_json(dealings).decode("utf-8")
    if all(d is not None for d in dealings):
        row.state = "checking"
    audit.record(
        session,
        actor,
        "ceremony.deal",
        conference=conference_id,
        trustee=dealing.dealer,
        name=ceremony.name(dealing.dealer),
    )
    return dealing.dealer


def add_check(
    session: Session, conference_id: int, body: bytes | str | Any, actor: str = "web"
) -> int:
    """Store a trustee's check (step 2) once it checks; when the last is in, the outcome is
    computed: done (the poll's key exists) or failed (too few qualified, named)."""
    data = _message(body)
    row = _locked_open(session, conference_id, "checking")
    ceremony = _ceremony(row)
    dealings = parse_json(row.dealings)
    try:
        parsed = [parse_dealing(ceremony, d) for d in dealings]
        trustee, _complaints = parse_check(ceremony, data, parsed, dealings_digest(dealings))
    except CeremonyError as exc:
        raise _bad(exc) from None
    checks = parse_json(row.checks)
    held = checks[trustee - 1]
    if held is not None:
        if canonical_json(held) == canonical_json(data):
            return trustee
        raise _refused(
            409,
            "already_checked",
            f"Đã nhận xác nhận của {ceremony.name(trustee)}; không nhận lần thứ hai.",
            f"The check of {ceremony.name(trustee)} is already in; no second one.",
        )
    checks[trustee - 1] = data
    row.checks = canonical_json(checks).decode("utf-8")
    audit.record(
        session,
        actor,
        "ceremony.check",
        conference=conference_id,
        trustee=trustee,
        name=ceremony.name(trustee),
        complaints=[c["dealer"] for c in data["complaints"]],
    )
    if all(c is not None for c in checks):
        try:
            outcome = evaluate(ceremony, dealings, checks)
        except CeremonyError as exc:
            row.state, row.failure = "failed", str(exc)
            audit.record(session, actor, "ceremony.failed", conference=conference_id, why=str(exc))
        else:
            row.state = "done"
            audit.record(
                session,
                actor,
                "ceremony.done",
                conference=conference_id,
                public_key=outcome.public_key.hex(),
                qualified=list(outcome.qualified),
                faulty=[f.to_json() for f in outcome.faults],
            )
    return trustee


def add_message(
    session: Session, conference_id: int, body: bytes | str | Any, actor: str = "web"
) -> tuple[str, int]:
    """A dealing or a check, told apart by its format (the trustee page's file upload)."""
    data = _message(body)
    kind = data.get("format") if isinstance(data, dict) else None
    if kind == "tally-dkg-deal/1":
        return "deal", add_dealing(session, conference_id, data, actor)
    if kind == "tally-dkg-check/1":
        return "check", add_check(session, conference_id, data, actor)
    raise _refused(
        400,
        "bad_ceremony_message",
        "Không phải phần chia (tally trustee deal) hay xác nhận (tally trustee check); không có"
        " gì được lưu.",
        "Neither a dealing (tally trustee deal) nor a check (tally trustee check); nothing was"
        " stored.",
    )


def record_message(conference_id: int, kind: str, body: bytes) -> dict[str, Any]:
    """The API's door: one transaction, a refusal leaves nothing; the database down is a 503."""
    try:
        with db.transaction() as session:
            index = (add_dealing if kind == "dealings" else add_check)(session, conference_id, body)
            state = get_row(session, conference_id)
            assert state is not None
            return {"trustee": index, "state": state.state, "failure": state.failure}
    except DBAPIError:
        raise errors.database_unavailable() from None


def for_poll(session: Session, poll: Poll) -> CeremonyView | None:
    """The ceremony a poll of this conference opens with, or None (n of n). A ceremony that is
    not finished, or whose trustees are not the poll's, refuses the opening."""
    row = get_row(session, poll.conference_id)
    if row is None:
        return None
    if row.state != "done":
        raise _refused(
            409,
            "poll_not_ready",
            "Lễ tạo khóa của hội nghị chưa xong (hoặc không thành): chưa mở được.",
            "The conference's key ceremony is not finished (or failed): cannot open yet.",
        )
    if canonical_json([t.public for t in poll.trustees]) != row.trustees.encode("utf-8"):
        raise _refused(
            409,
            "poll_not_ready",
            "Ban kiểm phiếu của cuộc biểu quyết khác với Ban kiểm phiếu của lễ tạo khóa.",
            "The poll's counting committee is not the key ceremony's.",
        )
    return view(row)
