"""Counting a closed poll: publish the aggregate, take the trustees' shares, finish and sign.

All cryptography and grading is ``tally``'s (tally.counting, tally.trustees, tally.bundle); this
module is the workflow around it. Each function runs in the caller's transaction
(``ballot.db.transaction()``), takes the poll's write lock first, writes an audit event and raises
:class:`CountError` (a :class:`ServiceError`, bilingual) having changed nothing when a step is not
allowed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot.models import Ballot, CountShare, Credential, Poll, PollCount, Trustee
from ballot.services import audit
from ballot.services.attendance import attendance_jsonl, ballots_cast
from ballot.services.casting import poll_manifest
from ballot.services.errors import ServiceError
from ballot.services.paper import checked_paper, paper_files, paper_status
from ballot.services.polls import get_poll
from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import CanonicalError, canonical_json, parse_json, sha256_hex
from tally.counting import (
    CountingError,
    board_aggregate,
    board_file,
    check_statement,
    finish,
    slips_problem,
)
from tally.dkg import verify_share as verify_threshold_share
from tally.manifest import Manifest, ManifestError, counted_poll
from tally.paper import count_head
from tally.record import ServiceKey
from tally.results import Text, conference_warnings, render_conference_warning
from tally.trustees import TrusteeError, TrusteePublic, verify_share
from tally.verify import verify_ballots

# Who sent a share through the public trustee page or API, for the audit log: the share's proofs
# against the trustee's registered key are its authority, not a login.
TRUSTEE_ACTOR = "web:trustee"


class CountError(ServiceError):
    """A counting step was refused. Nothing was stored."""


@dataclass(frozen=True)
class TrusteeFiles:
    """What ``count start`` publishes for the trustees' ``tally trustee decrypt``."""

    manifest: bytes
    ballots: bytes
    aggregate: bytes
    board_head: str
    ballot_count: int
    # The paper fallback's voids.jsonl and paper.jsonl (13.3), when slips were voided for paper.
    paper: tuple[bytes, bytes] | None = None
    # What the trustees type: the board head, or with paper ballots the count head (13.3).
    count_head: str = ""

    def files(self) -> dict[str, bytes]:
        files = {
            "manifest.json": self.manifest,
            "ballots.jsonl": self.ballots,
            "aggregate.json": self.aggregate,
        }
        if self.paper is not None:
            files.update({"voids.jsonl": self.paper[0], "paper.jsonl": self.paper[1]})
        return files


def _require_closed(poll: Poll) -> None:
    if poll.state != "closed" or poll.manifest is None or poll.fingerprint is None:
        vi = {"draft": "chưa mở", "open": "vẫn đang mở"}.get(poll.state, poll.state)
        en = {"draft": "has not been opened", "open": "is still open"}.get(poll.state, poll.state)
        raise CountError(
            409,
            "poll_not_closed",
            f"Chỉ kiểm phiếu sau khi đóng cuộc biểu quyết: cuộc biểu quyết số {poll.id} {vi}.",
            f"Counting starts only after the poll closes: poll {poll.id} {en}.",
        )


def _manifest(poll: Poll) -> Manifest:
    assert poll.fingerprint is not None and poll.manifest is not None
    try:
        return poll_manifest(poll.fingerprint, poll.manifest)
    except ManifestError as exc:
        raise CountError(
            500,
            "manifest_damaged",
            f"Manifest đã lưu bị hỏng: {exc}",
            f"The stored manifest is damaged: {exc}",
        ) from None


def _board(
    session: Session, poll: Poll, manifest: Manifest, *, verify: bool = True
) -> tuple[bytes, list[Any]]:
    """Rebuild ballots.jsonl (re-verifying every ballot unless ``verify`` is false); its head
    must be the poll's."""
    rows = session.execute(
        select(Ballot.ballot, Ballot.tracking_hash)
        .where(Ballot.poll_id == poll.id)
        .order_by(Ballot.position)
    ).all()
    ballots = [parse_json(text) for text, _ in rows]
    verified = []
    checked = verify_ballots(manifest.context, ballots) if verify else []
    for k, ((item, why), (_, tracking)) in enumerate(zip(checked, rows, strict=False), start=1):
        if item is None or item.tracking_hash.hex() != tracking:
            detail = why or "tracking hash differs"
            raise CountError(
                500,
                "board_damaged",
                f"Phiếu thứ {k} trên bảng tin không hợp lệ: {detail}",
                f"Ballot {k} on the board is not valid: {detail}",
            )
        verified.append(item)
    pairs = [(b, bytes.fromhex(t)) for b, (_, t) in zip(ballots, rows, strict=True)]
    data, head = board_file(manifest.fingerprint, pairs)
    if head != poll.board_head:
        raise CountError(
            500,
            "board_head_mismatch",
            "Đầu chuỗi tính lại từ các phiếu khác với đầu chuỗi đã công bố.",
            "The head recomputed from the ballots differs from the published board head.",
        )
    return data, verified


def _count_row(session: Session, poll: Poll) -> PollCount:
    row = session.scalars(select(PollCount).where(PollCount.poll_id == poll.id)).one_or_none()
    if row is None:
        raise CountError(
            409,
            "count_not_started",
            f"Chưa bắt đầu kiểm phiếu cuộc biểu quyết số {poll.id} (ballot count start).",
            f"Counting of poll {poll.id} has not started (ballot count start).",
        )
    return row


def _not_finished(row: PollCount) -> None:
    if row.finished_at is not None:
        raise CountError(
            409,
            "count_finished",
            "Việc kiểm phiếu đã hoàn tất; biên bản đã được ký.",
            "Counting is finished; the record has been signed.",
        )


def _require_statement(session: Session, poll: Poll, manifest: Manifest) -> dict[str, Any]:
    """A version-2 poll is counted only with a trustee's signed statement that matches the
    attendance chain and the board as they are now (the operator is who this guards against)."""
    if poll.attendance_statement is None:
        raise CountError(
            409,
            "attendance_not_signed",
            "Chưa có xác nhận số có mặt do một thành viên Ban kiểm phiếu ký (tally trustee"
            " attest, rồi nộp tệp ở trang kiểm phiếu hoặc ballot count attest).",
            "No attendance statement signed by a trustee yet (tally trustee attest, then"
            " upload it on the counting page or with ballot count attest).",
        )
    statement: dict[str, Any] = parse_json(poll.attendance_statement)
    assert poll.board_head is not None
    try:
        check_statement(
            manifest,
            attendance_jsonl(session, poll.id),
            statement,
            poll.board_head,
            ballots_cast(session, poll.id),
            paper_status(session, poll.id).entered,
        )
    except CountingError as exc:
        raise CountError(
            409,
            "attendance_mismatch",
            f"Xác nhận số có mặt đã ký không còn khớp với bảng tin: {exc}",
            f"The signed attendance statement no longer matches the board: {exc}",
        ) from None
    return statement


def start_count(session: Session, poll_id: int, actor: str = "cli") -> TrusteeFiles:
    """Re-check the board, compute the aggregate per subject and grade, and store it."""
    poll = get_poll(session, poll_id, lock=True)
    _require_closed(poll)
    if session.scalar(select(PollCount.id).where(PollCount.poll_id == poll_id)) is not None:
        raise CountError(
            409,
            "count_started",
            f"Đã bắt đầu kiểm phiếu cuộc biểu quyết số {poll_id}.",
            f"Counting of poll {poll_id} has already started.",
        )
    manifest = _manifest(poll)
    if manifest.version >= 2:
        _require_statement(session, poll, manifest)
    ballots_jsonl, verified = _board(session, poll, manifest)
    board = frozenset(b.credential for b in verified)
    paper, paper_ballots = checked_paper(session, poll_id, manifest, board)
    aggregate = board_aggregate(manifest, verified, paper_ballots)
    if aggregate["board_head"] != poll.board_head:  # board_file checked it too
        raise CountError(
            500,
            "board_head_mismatch",
            "Tổng mã hóa không khớp đầu chuỗi bảng tin.",
            "The aggregate does not match the board head.",
        )
    text = canonical_json(aggregate)
    session.add(PollCount(poll_id=poll_id, aggregate=text.decode("utf-8")))
    session.flush()
    audit.record(
        session,
        actor,
        "count.start",
        poll=poll_id,
        ballots=len(verified),
        paper_ballots=len(paper_ballots),
        board_head=poll.board_head,
    )
    assert poll.manifest is not None and poll.board_head is not None
    return TrusteeFiles(
        manifest=poll.manifest.encode("utf-8"),
        ballots=ballots_jsonl,
        aggregate=text,
        board_head=poll.board_head,
        ballot_count=len(verified) + len(paper_ballots),
        paper=paper,
        count_head=count_head(
            poll.board_head,
            [b.tracking_hash for b in paper_ballots],
            paper_status(session, poll_id).voided,
        ),
    )


def add_share(session: Session, poll_id: int, share_data: Any, actor: str = "cli") -> str:
    """Check a trustee's decryption share against the stored aggregate and store it.

    Returns the trustee's name.
    """
    poll = get_poll(session, poll_id, lock=True)
    row = _count_row(session, poll)
    _not_finished(row)
    manifest = _manifest(poll)
    if manifest.ceremony is not None:
        return _add_threshold_share(session, poll, row, manifest, share_data, actor)
    key = share_data.get("public_key") if isinstance(share_data, dict) else None
    trustee = None
    # Only a well-formed key is looked up: PostgreSQL refuses text holding a NUL byte.
    if isinstance(key, str) and re.fullmatch(r"[0-9a-f]{64}", key):
        trustee = session.scalars(
            select(Trustee).where(Trustee.poll_id == poll_id, Trustee.public_key == key)
        ).one_or_none()
    if trustee is None:
        raise CountError(
            400,
            "unknown_trustee",
            "Phần giải mã không phải của một thành viên Ban kiểm phiếu của cuộc biểu quyết này.",
            "The share is not from a trustee of this poll.",
        )
    if session.scalar(
        select(CountShare.id).where(
            CountShare.poll_id == poll_id, CountShare.trustee_id == trustee.id
        )
    ):
        raise CountError(
            409,
            "share_exists",
            f"Phần giải mã của {trustee.name} đã được nhận trước đó; tệp này không được nhận"
            " lần nữa, không có gì thay đổi.",
            f"{trustee.name}'s share was received before; this file was not taken again, nothing"
            " changed.",
        )
    try:
        verify_share(parse_json(row.aggregate), TrusteePublic.from_json(trustee.public), share_data)
    except TrusteeError as exc:
        raise CountError(
            400,
            "bad_share",
            f"Phần giải mã không hợp lệ: {exc}",
            f"The decryption share is not valid: {exc}",
        ) from None
    session.add(
        CountShare(
            poll_id=poll_id, trustee_id=trustee.id, share=canonical_json(share_data).decode("utf-8")
        )
    )
    session.flush()
    audit.record(session, actor, "count.share", poll=poll_id, trustee=trustee.name, public_key=key)
    return trustee.name


def _add_threshold_share(
    session: Session,
    poll: Poll,
    row: PollCount,
    manifest: Manifest,
    share_data: Any,
    actor: str,
) -> str:
    """A ``tally-share/2`` (k of n, 14.5): checked against the trustee's verification key; a
    wrong one is refused and another trustee's can be used. Returns the trustee's name."""
    assert manifest.ceremony is not None and manifest.ceremony_result is not None
    try:
        index, _ = verify_threshold_share(
            parse_json(row.aggregate), manifest.ceremony, manifest.ceremony_result, share_data
        )
    except TrusteeError as exc:
        raise CountError(
            400,
            "bad_share",
            f"Phần giải mã không hợp lệ, không được lưu (dùng phần của thành viên khác): {exc}",
            f"The decryption share is not valid and was not stored (use another trustee's): {exc}",
        ) from None
    key = manifest.trustees[index - 1].public_key.hex()
    trustee = session.scalars(
        select(Trustee).where(Trustee.poll_id == poll.id, Trustee.public_key == key)
    ).one()
    if session.scalar(
        select(CountShare.id).where(
            CountShare.poll_id == poll.id, CountShare.trustee_id == trustee.id
        )
    ):
        raise CountError(
            409,
            "share_exists",
            f"Phần giải mã của {trustee.name} đã được nhận trước đó; tệp này không được nhận"
            " lần nữa, không có gì thay đổi.",
            f"{trustee.name}'s share was received before; this file was not taken again, nothing"
            " changed.",
        )
    session.add(
        CountShare(
            poll_id=poll.id, trustee_id=trustee.id, share=canonical_json(share_data).decode("utf-8")
        )
    )
    session.flush()
    audit.record(session, actor, "count.share", poll=poll.id, trustee=trustee.name, public_key=key)
    return trustee.name


def parse_share(data: bytes | str) -> Any:
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError, CanonicalError) as exc:
        raise CountError(
            400,
            "bad_share",
            f"Tệp phần giải mã không phải JSON: {exc}",
            f"The share file is not JSON: {exc}",
        ) from None


def linked_grades(session: Session, poll: Poll, manifest: Manifest) -> dict[str, str]:
    """Grades decided in the conference's other counted polls for the subjects this poll's
    subjects link to (a head's unit, a collective's organization), read from their bundles.
    A linked subject whose poll is not counted yet is left out: the record says not checked."""
    own = {s.key for s in manifest.subjects}
    wanted = {
        ref
        for s in manifest.subjects
        for ref in (s.heads, s.part_of, *s.responsible_for)
        if ref and ref not in own
    }
    found: dict[str, str] = {}
    if not wanted:
        return found
    others = session.execute(
        select(PollCount.bundle)
        .join(Poll, Poll.id == PollCount.poll_id)
        .where(
            Poll.conference_id == poll.conference_id,
            Poll.id != poll.id,
            PollCount.bundle.is_not(None),
        )
        .order_by(Poll.id)
    ).scalars()
    for bundle in others:
        if bundle is None:  # excluded by the query
            continue
        result = parse_json(read_bundle(bundle)["result.json"])
        for row in result["subjects"]:
            if row["key"] in wanted and row["grade"] in manifest.rules.grade_codes:
                found.setdefault(row["key"], row["grade"])
    return found


def finish_count(
    session: Session,
    poll_id: int,
    signer: ServiceKey,
    actor: str = "cli",
    *,
    handed_out: int | None = None,
    lost: int = 0,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> dict[str, Any]:
    """Combine every trustee's share, grade, sign the record and store the audit bundle.

    ``handed_out`` (slips given to voters; by default the number present, at most the slips
    listed) and ``lost`` are the counting committee's reconciliation of the slips. A poll with
    more ballots than members present gets a void record. Returns the result.
    """
    poll = get_poll(session, poll_id, lock=True)
    _require_closed(poll)
    row = _count_row(session, poll)
    _not_finished(row)
    have = session.execute(
        select(CountShare.trustee_id, CountShare.share)
        .where(CountShare.poll_id == poll_id)
        .order_by(CountShare.trustee_id)
    ).all()
    received = {trustee_id for trustee_id, _ in have}
    missing = [t.name for t in poll.trustees if t.id not in received]
    manifest = _manifest(poll)
    if manifest.ceremony is not None:
        k = manifest.ceremony.threshold
        if len(received) < k:
            raise CountError(
                409,
                "shares_missing",
                f"Mới có {len(received)} phần giải mã, cần {k} (bất kỳ {k} trong"
                f" {len(poll.trustees)} thành viên); chưa có kết quả nào được giải mã.",
                f"Only {len(received)} decryption shares, {k} are needed (any {k} of the"
                f" {len(poll.trustees)} trustees); nothing has been decrypted.",
            )
        missing = []
    if missing:
        names = ", ".join(missing)
        raise CountError(
            409,
            "shares_missing",
            f"Còn thiếu phần giải mã của: {names}.",
            f"Decryption shares are still missing from: {names}.",
        )
    zone = ZoneInfo(timezone)
    # The ballots were verified by ``count start`` and the board cannot change after close:
    # rebuilding the file and matching its head to the aggregate's is enough here.
    ballots_jsonl, _ = _board(session, poll, manifest, verify=False)
    voided = session.scalar(
        select(func.count()).where(Credential.poll_id == poll_id, Credential.voided.is_(True))
    )
    assert poll.manifest is not None
    attendance: dict[str, Any] = {}
    paper = paper_files(session, poll_id)
    paper_args: dict[str, Any] = (
        {} if paper is None else {"voids_jsonl": paper[0], "paper_jsonl": paper[1]}
    )
    if manifest.version >= 2:
        statement = _require_statement(session, poll, manifest)
        cast = ballots_cast(session, poll_id)
        listed = len(manifest.credentials)
        for_paper = paper_status(session, poll_id).voided  # handed out, then handed back
        default = max(statement["present"], cast + for_paper)
        given = min(listed, default) if handed_out is None else handed_out
        problem = slips_problem(listed, cast, given, lost, for_paper)
        if problem:
            paper_vi = f" + hủy để bỏ phiếu giấy ({for_paper})" if for_paper else ""
            raise CountError(
                400,
                "bad_reconciliation",
                f"Số thẻ biểu quyết không khớp: đã dùng ({cast}){paper_vi} + bị mất ({lost}) phải"
                f" không quá số đã phát ({given}), và số đã phát không quá số phiếu trong danh sách"
                f" ({listed}). Xin nhập lại số phiếu đã phát và số bị mất.",
                f"{problem[0].upper()}{problem[1:]}: enter the slips handed out and lost again.",
            )
        attendance = {
            "attendance_jsonl": attendance_jsonl(session, poll_id),
            "attendance": statement,
            "handed_out": given,
            "lost": lost,
        }
        row.handed_out, row.lost = given, lost
    try:
        files = finish(
            parse_json(poll.manifest),
            ballots_jsonl,
            parse_json(row.aggregate),
            [parse_json(share) for _, share in have],
            signer=signer,
            voided=int(voided or 0),
            created_at=_local(dt.datetime.now(dt.UTC), zone),
            # The poll's log up to now; the count.finish event itself follows the bundle.
            audit_jsonl=audit.chain_jsonl(session, poll_id),
            external_grades=linked_grades(session, poll, manifest),
            document={
                "posts": [t.post for t in poll.trustees],
                "counting_started_at": _local(row.started_at, zone),
            }
            if manifest.version >= 2
            else None,
            **attendance,
            **paper_args,
        )
    except CountingError as exc:
        raise CountError(
            409,
            "count_failed",
            f"Không thể hoàn tất kiểm phiếu: {exc}",
            f"Counting cannot be finished: {exc}",
        ) from None
    row.bundle = bundle_bytes(files)
    row.finished_at = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = parse_json(files["result.json"])
    audit.record(
        session,
        actor,
        "count.finish",
        poll=poll_id,
        ballots=result["cast"],
        grades={s["key"]: s["grade"] for s in result["subjects"]},
        warnings=len(result["warnings"]),
        void=bool(result.get("void")),
        record_sha256=sha256_hex(files["record.json"]),
        signer=signer.fingerprint,
    )
    return result


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    """A stored time in the conference's zone, to the second, with its offset: what the record
    prints (the count's start and end are moments of counting, not of any ballot)."""
    if moment.tzinfo is None:  # SQLite returns naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).isoformat(timespec="seconds")


def conference_checks(session: Session, conference_id: int) -> list[Text]:
    """The checks across the conference's counted polls (the excellent ceiling of a peer group
    graded in several polls), read from their stored bundles; reported, never applied."""
    rows = session.execute(
        select(Poll.id, PollCount.bundle)
        .join(PollCount, PollCount.poll_id == Poll.id)
        .where(Poll.conference_id == conference_id, PollCount.bundle.is_not(None))
        .order_by(Poll.position)
    ).all()
    counted = [counted_poll(str(poll_id), read_bundle(b)) for poll_id, b in rows if b is not None]
    return [render_conference_warning(w) for w in conference_warnings(counted)]


def stored_bundle(session: Session, poll_id: int) -> bytes:
    """The finished poll's audit bundle (ZIP bytes)."""
    get_poll(session, poll_id)
    row = session.scalars(select(PollCount).where(PollCount.poll_id == poll_id)).one_or_none()
    if row is None or row.bundle is None:
        raise CountError(
            409,
            "count_not_finished",
            f"Cuộc biểu quyết số {poll_id} chưa kiểm phiếu xong; chưa có gói kiểm toán.",
            f"Poll {poll_id} has not been counted yet; there is no audit bundle.",
        )
    return row.bundle


def published_files(session: Session, poll_id: int) -> TrusteeFiles:
    """What ``start_count`` published, again (for the trustees' downloads and the trustee page).

    The board is rebuilt from the stored ballots and its head matched to the poll's, without
    re-verifying every proof (``start_count`` did, and the board cannot change after close).
    """
    poll = get_poll(session, poll_id)
    row = _count_row(session, poll)
    ballots_jsonl, _ = _board(session, poll, _manifest(poll), verify=False)
    assert poll.manifest is not None and poll.board_head is not None
    return TrusteeFiles(
        manifest=poll.manifest.encode("utf-8"),
        ballots=ballots_jsonl,
        aggregate=row.aggregate.encode("utf-8"),
        board_head=poll.board_head,
        ballot_count=int(parse_json(row.aggregate)["ballot_count"]),
        paper=paper_files(session, poll_id),
        count_head=paper_status(session, poll_id).head or poll.board_head,
    )


def closed_files(session: Session, poll_id: int) -> dict[str, bytes]:
    """What a trustee needs once the poll is closed, before counting: the manifest, the board
    and the attendance chain (for ``tally trustee attest``), and the aggregate once counting
    has started."""
    poll = get_poll(session, poll_id)
    _require_closed(poll)
    assert poll.manifest is not None
    ballots_jsonl, _ = _board(session, poll, _manifest(poll), verify=False)
    files = {
        "manifest.json": poll.manifest.encode("utf-8"),
        "ballots.jsonl": ballots_jsonl,
        "attendance.jsonl": attendance_jsonl(session, poll_id),
    }
    paper = paper_files(session, poll_id)
    if paper is not None:
        files.update({"voids.jsonl": paper[0], "paper.jsonl": paper[1]})
    row = session.scalars(select(PollCount).where(PollCount.poll_id == poll_id)).one_or_none()
    if row is not None:
        files["aggregate.json"] = row.aggregate.encode("utf-8")
    return files


def published_aggregate(session: Session, poll_id: int) -> bytes:
    """The stored aggregate (canonical JSON), once counting has started."""
    return _count_row(session, get_poll(session, poll_id)).aggregate.encode("utf-8")
