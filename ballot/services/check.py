"""``ballot check POLL``: an operator's tamper check of one poll, at any time, from the database.

It recomputes, without trusting any stored summary: the audit log's hash chains (the poll's and
chain 0), the manifest's fingerprint and credential commitment against the credential rows, the
board (positions 1..N, tracking hashes, the hash chain to the poll's head, every ballot's proofs
and signature), that each ballot's credential row is marked used and no other is, and, once
counted, that the stored audit bundle verifies and holds this board and this log. Deleting or
editing an audit entry, a ballot or a credential row makes one of these fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot.models import Ballot, Credential, Poll, PollCount
from ballot.services import audit
from ballot.services.attendance import attendance_jsonl
from ballot.services.errors import NotFound
from tally.attendance import AttendanceError, check_attendance
from tally.audit import check_chain
from tally.ballots import tracking_hash
from tally.bundle import BundleError, read_bundle
from tally.canonical import CanonicalError, parse_json
from tally.counting import board_file
from tally.credentials import commitment
from tally.manifest import ManifestError, parse_manifest, poll_fingerprint
from tally.verify import check_board, verify_bundle


@dataclass
class CheckReport:
    lines: list[tuple[bool, str, str]] = field(default_factory=list)

    def add(self, ok: bool, vi: str, en: str) -> None:
        self.lines.append((ok, vi, en))

    @property
    def ok(self) -> bool:
        return all(ok for ok, _, _ in self.lines)


def _check_audit(report: CheckReport, session: Session, chain: int, what: str) -> None:
    # The head first, then the lines: an entry appended in between (a login while the check
    # runs) only makes the chain longer than the head, which is fine; a shorter chain, or another
    # entry at the head's place, is not.
    stored = audit.stored_head(session, chain)
    lines = audit.chain_lines(session, chain)
    result = check_chain(lines, chain)
    seq, head = stored or (0, "")
    intact = (stored is not None or not lines) and (
        seq == 0 or (len(lines) >= seq and lines[seq - 1]["hash"] == head)
    )
    if result.ok and not intact:
        report.add(
            False,
            f"nhật ký {what} bị xóa/sửa ở cuối: đầu chuỗi ghi cùng mục mới nhất là mục {seq} "
            f"({head}), nhật ký hiện dừng ở mục {result.entries} ({result.head})",
            f"audit log ({what}) cut or changed at its end: the head written with the newest "
            f"entry is entry {seq} ({head}), the log now ends at entry {result.entries} "
            f"({result.head})",
        )
    elif result.ok:
        report.add(
            True,
            f"nhật ký {what}: {result.entries} mục, chuỗi băm nguyên vẹn, đầu chuỗi {result.head}",
            f"audit log ({what}): {result.entries} entries, hash chain intact, head {result.head}",
        )
    else:
        problems = "; ".join(result.problems)
        report.add(
            False, f"nhật ký {what} bị sửa/xóa: {problems}", f"audit log ({what}): {problems}"
        )


def check_poll(session: Session, poll_id: int) -> CheckReport:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    report = CheckReport()
    _check_audit(report, session, poll_id, f"cuộc biểu quyết {poll_id} / poll {poll_id}")
    _check_audit(report, session, 0, "chung / service")
    rows = session.scalars(select(Credential).where(Credential.poll_id == poll_id)).all()
    ballots = session.scalars(
        select(Ballot).where(Ballot.poll_id == poll_id).order_by(Ballot.position)
    ).all()
    if poll.manifest is None:
        report.add(
            not ballots and not any(r.used for r in rows),
            f"chưa mở: {len(rows)} thẻ, {len(ballots)} phiếu",
            f"not opened: {len(rows)} credentials, {len(ballots)} ballots",
        )
        return report

    # The manifest, and the credential rows against its commitment.
    try:
        data = parse_json(poll.manifest.encode("utf-8"))
        manifest = parse_manifest(data)
    except (ManifestError, CanonicalError, ValueError) as exc:
        report.add(False, f"manifest hỏng: {exc}", f"manifest damaged: {exc}")
        return report
    fingerprint_ok = poll_fingerprint(data["election"]).hex() == poll.fingerprint
    report.add(
        fingerprint_ok,
        "dấu vân tay cuộc biểu quyết khớp manifest"
        if fingerprint_ok
        else "dấu vân tay đã lưu KHÁC manifest",
        "poll fingerprint matches the manifest"
        if fingerprint_ok
        else "the stored fingerprint DIFFERS from the manifest",
    )
    keys = sorted(r.public_key for r in rows)
    committed = data["election"]["credentials"]["commitment"]
    listed = data["credential_list"]["keys"] if manifest.version >= 2 else data["credentials"]
    rows_ok = keys == listed and commitment(bytes.fromhex(k) for k in keys) == committed
    report.add(
        rows_ok,
        f"{len(keys)} thẻ trong cơ sở dữ liệu khớp cam kết đã công bố"
        if rows_ok
        else "các thẻ trong cơ sở dữ liệu KHÁC danh sách đã cam kết (thêm, xóa hoặc sửa)",
        f"{len(keys)} credential rows match the published commitment"
        if rows_ok
        else "credential rows DIFFER from the committed list (added, deleted or changed)",
    )

    if manifest.version >= 2:
        # The imported list as stored, and the attendance chain against its stored head.
        list_ok = (
            poll.credential_list is not None
            and parse_json(poll.credential_list.encode("utf-8")) == data["credential_list"]
        )
        report.add(
            list_ok,
            "danh sách của Ban Tổ chức đã lưu khớp manifest"
            if list_ok
            else "danh sách của Ban Tổ chức đã lưu KHÁC manifest (hoặc bị xóa)",
            "the stored authority list matches the manifest"
            if list_ok
            else "the stored authority list DIFFERS from the manifest (or was deleted)",
        )
        try:
            chain = check_attendance(
                attendance_jsonl(session, poll.id), manifest.fingerprint, manifest.eligible
            )
            chain_ok = chain.head == poll.attendance_head and chain.present == poll.present
            why = "" if chain_ok else "the head or the number present differs from the poll's"
        except AttendanceError as exc:
            chain_ok, why = False, str(exc)
        report.add(
            chain_ok,
            "chuỗi điểm danh nguyên vẹn, khớp đầu chuỗi đã lưu"
            if chain_ok
            else f"chuỗi điểm danh bị sửa/xóa ({why})",
            "attendance chain intact, matching the stored head"
            if chain_ok
            else f"the attendance chain was edited or cut ({why})",
        )

    # The board: order, tracking hashes, chain, proofs and signatures.
    positions_ok = [b.position for b in ballots] == list(range(1, len(ballots) + 1))
    parsed = []
    hashes_ok = True
    for b in ballots:
        try:
            ballot = parse_json(b.ballot.encode("utf-8"))
        except (CanonicalError, ValueError):
            hashes_ok = False
            continue
        parsed.append(ballot)
        hashes_ok &= tracking_hash(ballot).hex() == b.tracking_hash
    jsonl, head = board_file(manifest.fingerprint, ((p, tracking_hash(p)) for p in parsed))
    head_ok = positions_ok and hashes_ok and head == poll.board_head
    board_report, verified = check_board(manifest, jsonl)
    proofs_ok = verified is not None and board_report.ok
    board_ok = head_ok and proofs_ok
    failed = ", ".join(c.name for c in board_report.checks if not c.ok)
    report.add(
        board_ok,
        f"bảng tin: {len(ballots)} phiếu hợp lệ, chuỗi băm tới đầu chuỗi {poll.board_head}"
        if board_ok
        else f"bảng tin bị sửa/xóa: vị trí {positions_ok}, mã băm {hashes_ok},"
        f" đầu chuỗi {head == poll.board_head}, chứng minh {proofs_ok} {failed}",
        f"board: {len(ballots)} valid ballots chained to head {poll.board_head}"
        if board_ok
        else f"board tampered: positions {positions_ok}, hashes {hashes_ok},"
        f" head {head == poll.board_head}, proofs {proofs_ok} {failed}",
    )

    # Spent credentials: exactly the ballots' credentials.
    used = {r.public_key for r in rows if r.used}
    cast = [b.credential for b in ballots]
    spent_ok = sorted(used) == sorted(cast) and len(set(cast)) == len(cast)
    report.add(
        spent_ok,
        f"{len(used)} thẻ đã dùng, đúng bằng các phiếu trên bảng tin"
        if spent_ok
        else f"thẻ đã dùng ({len(used)}) KHÔNG khớp các phiếu trên bảng tin ({len(cast)})",
        f"{len(used)} used credentials, exactly the board's ballots"
        if spent_ok
        else f"used credentials ({len(used)}) do NOT match the board's ballots ({len(cast)})",
    )

    # Once counted: the stored bundle verifies and holds this board and this log.
    count = session.scalars(select(PollCount).where(PollCount.poll_id == poll_id)).one_or_none()
    if count is not None and count.bundle is not None:
        verdict = verify_bundle(count.bundle, workers=1)
        try:
            files = read_bundle(count.bundle)
            same_board = files["ballots.jsonl"] == jsonl
            logged = audit.chain_jsonl(session, poll_id)
            same_log = logged.startswith(files["audit.jsonl"])
        except BundleError:
            same_board = same_log = False
        bundle_ok = verdict.ok and same_board and same_log
        report.add(
            bundle_ok,
            "gói kiểm toán đã lưu hợp lệ (tally verify) và khớp bảng tin, nhật ký"
            if bundle_ok
            else f"gói kiểm toán: hợp lệ {verdict.ok}, khớp bảng tin {same_board},"
            f" khớp nhật ký {same_log}",
            "the stored audit bundle verifies and matches the board and the log"
            if bundle_ok
            else f"audit bundle: verifies {verdict.ok}, same board {same_board},"
            f" same log {same_log}",
        )
    return report
