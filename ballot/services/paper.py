"""The paper fallback (issue 18, docs/protocol.md 13.3): void a slip for paper while the poll is
open, and take the counting committee's paper ballots after close, before counting starts.

The server checks and stores signed statements only. A void statement is signed with the slip's
own key on the operator's device (the server never sees the secret); a paper ballot is an
encrypted ballot under a one-time key, signed by a trustee (the server never sees its choices).
Paper ballots are summed with the board's into the one aggregate that is decrypted, so no paper
tally exists: one that could be subtracted from the total to reveal a lone paper voter's vote.

Refused, with nothing stored: a void of a slip that is not listed, used, already voided, or of a
poll not open; a paper ballot of a poll not closed or already being counted, one not signed by
a trustee of the poll, one more than the slips voided for paper, or one that would make the
ballots more than the members present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Credential, PaperBallot, Poll, PollCount, SlipVoid
from ballot.services import audit
from ballot.services.attendance import ballots_cast
from ballot.services.casting import poll_manifest, refuse_unusable, slip_row
from ballot.services.errors import ServiceError
from ballot.services.polls import get_poll
from tally.ballots import VerifiedBallot, tracking_code
from tally.canonical import CanonicalError, canonical_json, parse_json
from tally.manifest import Manifest
from tally.paper import (
    PaperError,
    check_papers,
    check_voids,
    count_head,
    paper_jsonl,
    paper_problems,
    paper_tracking_hash,
    parse_paper_ballot,
    parse_void,
)
from tally.record import key_fingerprint

MAX_PAPER_BYTES = 256 * 1024  # a 15-subject ballot is ~30 KB


@dataclass(frozen=True)
class PaperStatus:
    voided: int  # slips voided for paper
    entered: int  # paper ballots entered
    electronic: int  # ballots on the board
    present: int
    # The entered paper ballots' tracking codes, sorted (the committee wrote each on its paper
    # ballot), and, once the poll is closed, the count head the trustees type (13.3).
    codes: tuple[str, ...] = ()
    head: str | None = None

    @property
    def room(self) -> int:
        """How many more paper ballots may be entered: no more than the slips voided for paper,
        and electronic and paper together no more than the members present."""
        return max(
            0, min(self.voided - self.entered, self.present - self.electronic - self.entered)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "voided_for_paper": self.voided,
            "paper_ballots": self.entered,
            "electronic_ballots": self.electronic,
            "present": self.present,
            "room": self.room,
            "tracking_codes": list(self.codes),
            "count_head": self.head,
        }


def paper_status(session: Session, poll_id: int) -> PaperStatus:
    poll = get_poll(session, poll_id)
    return _status(session, poll)


def _status(session: Session, poll: Poll) -> PaperStatus:
    voided = session.scalar(select(func.count()).where(SlipVoid.poll_id == poll.id)) or 0
    statements = session.scalars(
        select(PaperBallot.statement).where(PaperBallot.poll_id == poll.id)
    ).all()
    hashes = [paper_tracking_hash(parse_json(text)) for text in statements]
    head = None
    if poll.state == "closed" and poll.board_head is not None:
        head = count_head(poll.board_head, hashes, int(voided))
    return PaperStatus(
        int(voided),
        len(hashes),
        ballots_cast(session, poll.id),
        poll.present,
        tuple(sorted(tracking_code(h) for h in hashes)),
        head,
    )


def parse_upload(data: bytes | str, limit: int, what_vi: str, what_en: str) -> Any:
    """An uploaded statement as JSON, or a clear refusal."""
    if len(data) > limit:
        raise _refused(413, "too_large", f"{what_vi} quá lớn", f"{what_en} is too large")
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError, CanonicalError) as exc:
        raise _refused(
            400, "malformed", f"{what_vi} không phải JSON ({exc})", f"{what_en} is not JSON ({exc})"
        ) from None


def _refused(status: int, code: str, vi: str, en: str) -> ServiceError:
    return ServiceError(status, code, f"{vi}. Không có gì được lưu.", f"{en}. Nothing was stored.")


def _manifest(poll: Poll) -> Manifest:
    assert poll.fingerprint is not None and poll.manifest is not None
    manifest = poll_manifest(poll.fingerprint, poll.manifest)
    if manifest.version < 2:
        raise _refused(
            409,
            "paper_not_supported",
            "Cuộc biểu quyết mở theo giao thức phiên bản 1 không nhận phiếu giấy",
            "A poll opened under protocol version 1 takes no paper ballots",
        )
    return manifest


def void_for_paper(
    session: Session, poll_id: int, document: Any, actor: str = "cli"
) -> PaperStatus:
    """Void one slip so that its holder votes on paper: the poll must be open, the statement
    signed by the slip's own key, the slip listed, unused and not voided."""
    poll = get_poll(session, poll_id, lock=True)
    if poll.state != "open" or poll.manifest is None:
        raise _refused(
            409,
            "poll_not_open",
            f"Chỉ hủy thẻ để bỏ phiếu giấy khi cuộc biểu quyết đang mở (cuộc số {poll_id}"
            f" {'chưa mở' if poll.state == 'draft' else 'đã đóng'})",
            f"A slip is voided for paper only while the poll is open (poll {poll_id} is"
            f" {'not open yet' if poll.state == 'draft' else 'closed'})",
        )
    manifest = _manifest(poll)
    assert manifest.poll_uid is not None
    try:
        key = parse_void(
            document,
            fingerprint=manifest.fingerprint,
            poll_uid=manifest.poll_uid,
            credentials=manifest.credentials,
        )
    except PaperError as exc:
        raise _refused(
            400, "bad_void", f"Lệnh hủy thẻ không hợp lệ ({exc})", f"The void is refused ({exc})"
        ) from None
    row = slip_row(session, poll_id, key.hex())
    refuse_unusable(row)
    assert row is not None
    row.voided = True
    session.add(
        SlipVoid(poll_id=poll_id, credential=key.hex(), statement=canonical_json(document).decode())
    )
    session.flush()
    status = _status(session, poll)
    audit.record(session, actor, "paper.void", poll=poll_id, voided_for_paper=status.voided)
    return status


def add_paper_ballot(
    session: Session, poll_id: int, document: Any, actor: str = "cli"
) -> PaperStatus:
    """Take one paper ballot entered by a trustee after close and before counting starts."""
    poll = get_poll(session, poll_id, lock=True)
    if poll.state != "closed" or poll.manifest is None:
        raise _refused(
            409,
            "poll_not_closed",
            f"Phiếu giấy được nhập sau khi đóng cuộc biểu quyết số {poll_id}, trước khi kiểm phiếu",
            f"Paper ballots are entered after poll {poll_id} closes, before counting starts",
        )
    if session.scalar(select(PollCount.id).where(PollCount.poll_id == poll_id)) is not None:
        raise _refused(
            409,
            "count_started",
            "Đã bắt đầu kiểm phiếu: không nhận thêm phiếu giấy",
            "Counting has started: no more paper ballots are taken",
        )
    manifest = _manifest(poll)
    assert manifest.poll_uid is not None
    try:
        paper = parse_paper_ballot(
            document,
            ctx=manifest.context,
            poll_uid=manifest.poll_uid,
            trustees=manifest.trustees,
            credentials=manifest.credentials,
        )
    except PaperError as exc:
        raise _refused(
            400,
            "bad_paper_ballot",
            f"Phiếu giấy không hợp lệ ({exc})",
            f"The paper ballot is refused ({exc})",
        ) from None
    status = _status(session, poll)
    if status.entered >= status.voided:
        raise _refused(
            409,
            "paper_exceeds_voids",
            f"Đã nhập {status.entered} phiếu giấy, bằng số thẻ đã hủy để bỏ phiếu giấy"
            f" ({status.voided}): không nhập thêm",
            f"{status.entered} paper ballots entered, as many as the slips voided for paper"
            f" ({status.voided}): no more",
        )
    if status.electronic + status.entered >= status.present:
        raise _refused(
            409,
            "paper_exceeds_present",
            f"{status.electronic} phiếu điện tử và {status.entered} phiếu giấy đã bằng số có mặt"
            f" ({status.present}): không nhập thêm",
            f"{status.electronic} electronic and {status.entered} paper ballots already equal"
            f" the members present ({status.present}): no more",
        )
    key = paper.ballot.credential.hex()
    taken = session.scalar(
        select(func.count()).where(PaperBallot.credential == key)
    ) or session.scalar(select(func.count()).where(Credential.public_key == key))
    if taken:
        raise _refused(
            409,
            "paper_duplicate",
            "Phiếu giấy này đã được nhập",
            "This paper ballot has already been entered",
        )
    session.add(
        PaperBallot(poll_id=poll_id, credential=key, statement=canonical_json(document).decode())
    )
    cleared = poll.attendance_statement is not None
    # A statement signed before this paper ballot counts one fewer: it no longer matches, and a
    # trustee signs the figures again (the count cannot start without a matching statement).
    poll.attendance_statement = None
    session.flush()
    status = _status(session, poll)
    assert paper.trustee.signing_key is not None
    audit.record(
        session,
        actor,
        "paper.ballot",
        poll=poll_id,
        trustee=paper.trustee.name,
        trustee_key=key_fingerprint(paper.trustee.signing_key),
        paper_ballots=status.entered,
        attendance_statement_cleared=cleared,
    )
    return status


def checked_paper(
    session: Session, poll_id: int, manifest: Manifest, board: frozenset[bytes]
) -> tuple[tuple[bytes, bytes] | None, list[VerifiedBallot]]:
    """The poll's paper files and its paper ballots, every check of 13.3 made again (as
    ``tally verify`` will make them), or a refusal that says which fails."""
    files = paper_files(session, poll_id)
    if files is None:
        return None, []
    try:
        voided = check_voids(files[0], manifest=manifest)
        papers = check_papers(files[1], manifest=manifest)
        problems = paper_problems(voided, papers, board)
        if problems:
            raise PaperError("; ".join(problems))
    except PaperError as exc:
        raise ServiceError(
            500,
            "paper_damaged",
            f"Phiếu giấy đã lưu không qua được kiểm tra: {exc}",
            f"The stored paper ballots fail a check: {exc}",
        ) from None
    return files, [p.ballot for p in papers]


def paper_files(session: Session, poll_id: int) -> tuple[bytes, bytes] | None:
    """``voids.jsonl`` and ``paper.jsonl`` of the poll (13.3), or None when no slip was voided
    for paper (the bundle then has no paper files)."""
    voids = session.scalars(select(SlipVoid.statement).where(SlipVoid.poll_id == poll_id)).all()
    papers = session.scalars(
        select(PaperBallot.statement).where(PaperBallot.poll_id == poll_id)
    ).all()
    if not voids and not papers:
        return None
    return (
        paper_jsonl([parse_json(v) for v in voids]),
        paper_jsonl([parse_json(p) for p in papers]),
    )
