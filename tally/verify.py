"""The auditor's verifier: check an audit bundle offline, with no database and no server.

Each check has a stable name (``ballots.proofs``, ``record.signature``, …) and a detail in
Vietnamese and English. A check whose inputs failed an earlier check is reported as not run (and
counts as failed), so the first failing check names the file that is wrong. Every form is exact
(docs/protocol.md §17, §18): canonical members, exact fields, lowercase hex. A bundle of protocol
version 1 or 2 is checked against its own version (§1.1), told by its result's format.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tally.attendance import (
    Attendance,
    AttendanceError,
    Statement,
    check_attendance,
    parse_statement,
    statement_problems,
)
from tally.audit import AuditCheck, audit_chain, check_jsonl
from tally.ballots import BallotError, PollContext, VerifiedBallot, tracking_code, verify_ballot
from tally.board_check import Board, Lines, scan_board
from tally.bundle import BundleError, hashed_members, read_bundle, read_bundle_streamed
from tally.canonical import CanonicalError, canonical_json, parse_json, sha256_hex
from tally.counting import (
    TALLY_FIELDS,
    TALLY_FORMAT,
    CountingError,
    decrypt_counts,
    decryption_summary,
    poll_result,
    slips_problem,
)
from tally.manifest import Manifest, ManifestError, parse_manifest
from tally.paper import PaperError, check_papers, check_voids, count_head, paper_problems
from tally.record import (
    key_fingerprint,
    make_record,
    read_signature_file,
    result_codes,
    verify_signature,
)
from tally.results import RESULT_FORMATS
from tally.rules import is_shipped
from tally.trustees import TrusteeError

# The fields of every line of ballots.jsonl.
BOARD_LINE_FIELDS = {"index", "ballot", "tracking_hash", "chain"}


@dataclass
class Check:
    name: str
    ok: bool
    detail_vi: str
    detail_en: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail_en,
            "detail_vi": self.detail_vi,
        }


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def void(self) -> bool:
        """The bundle verifies but records a void poll (more ballots than present)."""
        return any(c.name == "result.void" and c.ok for c in self.checks)

    def add(self, name: str, ok: bool, vi: str, en: str) -> bool:
        self.checks.append(Check(name, ok, vi, en))
        return ok

    def skip(self, name: str, because: str) -> None:
        self.add(
            name, False, f"không kiểm tra được: {because} lỗi", f"not checked: {because} failed"
        )

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "void": self.void, "checks": [c.to_json() for c in self.checks]}


# --- ballots, in parallel --------------------------------------------------------------------

_worker_context: PollContext | None = None


def _init_worker(ctx: PollContext) -> None:
    global _worker_context
    _worker_context = ctx


def _verify_chunk(ballots: list[Any]) -> list[tuple[VerifiedBallot | None, str]]:
    assert _worker_context is not None
    return _verify_list(_worker_context, ballots)


def _verify_list(ctx: PollContext, ballots: list[Any]) -> list[tuple[VerifiedBallot | None, str]]:
    out: list[tuple[VerifiedBallot | None, str]] = []
    for ballot in ballots:
        try:
            out.append((verify_ballot(ctx, ballot), ""))
        except BallotError as exc:
            out.append((None, str(exc)))
    return out


def verify_ballots(
    ctx: PollContext, ballots: Sequence[Any], workers: int | None = None
) -> list[tuple[VerifiedBallot | None, str]]:
    """Verify every ballot, on every core when there are enough ballots to pay for the processes."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(ballots) < 40:
        return _verify_list(ctx, list(ballots))
    size = max(8, len(ballots) // (workers * 4))
    chunks = [list(ballots[i : i + size]) for i in range(0, len(ballots), size)]
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(ctx,)) as pool:
        return [item for part in pool.map(_verify_chunk, chunks) for item in part]


# --- the whole bundle ------------------------------------------------------------------------


def verify_bundle(
    source: Path | bytes,
    *,
    signer_key: bytes | None = None,
    workers: int | None = None,
    linked: Sequence[Path | bytes] = (),
) -> Report:
    """Every check of docs/protocol.md §18. ``linked``: the bundles of the conference's other
    polls, to check the grades this result took from them (``result.linked``)."""
    report = Report()
    try:
        files, pieces = read_bundle_streamed(source)
    except BundleError as exc:
        report.add("bundle.members", False, f"gói kiểm toán không đọc được: {exc}", str(exc))
        return report
    n = len(files) + 1  # and ballots.jsonl, read as the board is checked
    report.add(
        "bundle.members", True, f"gói có đủ {n} tệp", f"the bundle has exactly its {n} files"
    )

    manifest_doc = _load_json(report, "manifest.json", files["manifest.json"])
    manifest = None if manifest_doc is _NOT_JSON else _check_manifest(report, manifest_doc)
    if manifest is None:
        if manifest_doc is _NOT_JSON:
            report.skip("manifest", "manifest.json")
        for name in ("ballots", "tally", "result", "record"):
            report.skip(name, "manifest.json")
        return report
    if (manifest.version >= 2) != ("attendance.jsonl" in files):
        # A version-2 manifest leaves the number present to the attendance files; a version-1
        # manifest fixed it, and its bundle has no attendance files.
        report.add(
            "bundle.version",
            False,
            "manifest phiên bản 2 cần tệp điểm danh (attendance.jsonl, attendance.json);"
            " manifest phiên bản 1 không có",
            "a version-2 manifest needs the attendance files (attendance.jsonl,"
            " attendance.json); a version-1 manifest has none",
        )
        return report

    board_report, scanned, board_ok = _board_checks(manifest, Lines(pieces), workers)
    report.checks += board_report.checks
    verified = scanned if board_ok else None  # the board's figures once every check passed
    paper: PaperCheck | None = None
    if "paper.jsonl" in files:
        paper = check_paper(report, manifest, files, verified, scanned)
        if paper is None:
            verified = None  # the paper ballots are part of the one aggregate
    audit = check_jsonl(files["audit.jsonl"], audit_chain(manifest.data))
    problems = [*_line_problems(files["audit.jsonl"], audit_line=True), *audit.problems]
    report.add(
        "audit.chain",
        not problems,
        f"nhật ký thao tác: chuỗi băm {audit.entries} mục nguyên vẹn"
        if not problems
        else "audit.jsonl: " + "; ".join(problems),
        f"operator audit log: hash chain of {audit.entries} entries intact"
        if not problems
        else "audit.jsonl: " + "; ".join(problems),
    )
    statement, chain_present = None, None
    if manifest.version >= 2:
        statement, chain_present = _check_attendance(report, manifest, files, scanned)

    tally_doc = _load_json(report, "tally.json", files["tally.json"])
    if tally_doc is _NOT_JSON:
        tally_doc = None
    else:
        _check_tally_fields(report, tally_doc)
    counts_ok = False
    if verified is not None and tally_doc is not None:
        counts_ok = _check_tally(
            report, manifest, verified, tally_doc, paper.ballots if paper is not None else ()
        )
    else:
        report.skip("tally", "ballots.jsonl / tally.json")

    result = _load_json(report, "result.json", files["result.json"])
    if result is _NOT_JSON:
        result = None
    # The bundle's protocol version is its result's: tally-result/1 is version 1; anything else
    # is checked as version 2 (so a wrong format shows up in result.grades as "format").
    protocol = 1 if isinstance(result, dict) and result.get("format") == RESULT_FORMATS[1] else 2
    attendance_ok = manifest.version == 1 or statement is not None
    if counts_ok and attendance_ok and result is not None and tally_doc is not None:
        try:
            expected = poll_result(
                manifest,
                tally_doc["counts"],
                tally_doc["blanks"],
                tally_doc["aggregate"]["ballot_count"],
                _linked_grades(result),
                protocol=protocol,
                present=statement.present if statement is not None else None,
            )
            diff = _differences(expected, result)
        except ValueError as exc:  # e.g. more ballots cast than members present
            diff = [f"the rule set cannot grade these figures: {exc}"]
        report.add(
            "result.grades",
            not diff,
            "xếp loại, cảnh báo và số đại biểu có mặt đúng theo bộ quy tắc"
            f" (giao thức phiên bản {protocol})"
            if not diff
            else "result.json khác với kết quả tính lại theo bộ quy tắc ở: " + ", ".join(diff),
            f"grades, warnings and quorum follow the rule set (protocol version {protocol})"
            if not diff
            else "result.json differs from the rule set's result in: " + ", ".join(diff),
        )
    else:
        report.skip("result.grades", "tally.json / result.json / attendance.json")
    if isinstance(result, dict) and "linked" in result:
        _check_linked(report, manifest, result, linked, signer_key, workers)
    if manifest.adopts is not None:
        _check_adopts(report, manifest, linked, signer_key, workers)
    if manifest.round is not None:
        _check_round(report, manifest, linked, signer_key, workers)
    if isinstance(result, dict) and result.get("void") and counts_ok:
        void = result["void"]
        report.add(
            "result.void",
            True,
            f"KẾT QUẢ KHÔNG CÓ GIÁ TRỊ: {void.get('ballots')} phiếu thu vào, nhiều hơn số có mặt"
            f" ({void.get('present')}); cuộc biểu quyết phải tiến hành lại",
            f"THE RESULT IS VOID: {void.get('ballots')} ballots, more than the members present"
            f" ({void.get('present')}); the poll must be voted again",
        )

    _check_record(
        report,
        manifest,
        files,
        result,
        tally_doc,
        signer_key,
        audit,
        protocol,
        statement,
        chain_present,
        paper,
        scanned,
    )
    return report


@dataclass(frozen=True)
class PaperCheck:
    """The paper fallback of a bundle, every check passed (13.3)."""

    voided: int
    ballots: tuple[VerifiedBallot, ...]
    signers: tuple[str, ...]
    head: str  # the count head (13.3)


def check_paper(
    report: Report,
    manifest: Manifest,
    files: dict[str, bytes],
    verified: Board | None,
    scanned: Board,
) -> PaperCheck | None:
    """``paper.voids`` and ``paper.ballots`` (13.3, 18): every void signed by its listed slip,
    every paper ballot valid and signed by a trustee of the manifest, no voided slip on the
    board, no more paper ballots than slips voided for paper."""
    try:
        voided = check_voids(files["voids.jsonl"], manifest=manifest)
        report.add(
            "paper.voids",
            True,
            f"{len(voided)} thẻ hủy để bỏ phiếu giấy, mỗi thẻ tự ký bằng khóa của mình và có"
            " trong danh sách",
            f"{len(voided)} slips voided for paper, each signed with its own listed key",
        )
    except PaperError as exc:
        report.add("paper.voids", False, f"thẻ hủy để bỏ phiếu giấy: {exc}", str(exc))
        report.skip("paper.ballots", "voids.jsonl")
        return None
    try:
        papers = check_papers(files["paper.jsonl"], manifest=manifest)
    except PaperError as exc:
        report.add("paper.ballots", False, f"phiếu giấy: {exc}", str(exc))
        return None
    if verified is None:
        report.skip("paper.ballots", "ballots.jsonl")
        return None
    problems = paper_problems(voided, papers, verified.credentials)
    signers = tuple(sorted({p.trustee.name for p in papers}))
    who = ", ".join(signers) or "—"
    head = ""
    if scanned.published_head is not None:
        head = count_head(
            scanned.published_head, [p.ballot.tracking_hash for p in papers], len(voided)
        )
    codes = ", ".join(sorted(tracking_code(p.ballot.tracking_hash) for p in papers)) or "—"
    report.add(
        "paper.ballots",
        not problems,
        f"{len(papers)} phiếu giấy ({len(voided)} thẻ hủy để bỏ phiếu giấy): chứng minh đúng,"
        f" do thành viên Ban kiểm phiếu ký ({who}). NỘI DUNG CÁC PHIẾU GIẤY DO BAN KIỂM PHIẾU"
        " XÁC NHẬN khi nhập; đối chiếu mã theo dõi với các mã ghi trên phiếu giấy được niêm"
        f" phong: {codes}; đầu chuỗi kiểm phiếu {head}"
        if not problems
        else "phiếu giấy: " + "; ".join(problems),
        f"{len(papers)} paper ballots ({len(voided)} slips voided for paper): proofs valid,"
        f" signed by trustees ({who}). THEIR CONTENT IS ATTESTED BY THE COUNTING COMMITTEE, who"
        " entered them; compare these tracking codes with those written on the sealed paper"
        f" ballots: {codes}; count head {head}"
        if not problems
        else "paper ballots: " + "; ".join(problems),
    )
    if problems:
        return None
    return PaperCheck(len(voided), tuple(p.ballot for p in papers), signers, head)


def _check_attendance(
    report: Report,
    manifest: Manifest,
    files: dict[str, bytes],
    scanned: Board,
) -> tuple[Statement | None, int | None]:
    """``attendance.chain`` and ``attendance.statement`` (§13.1, §13.2, §18). Returns the
    statement when it parses and its signature verifies, even if its figures differ (reported
    here), so that the later checks still grade and rebuild the record with its number present."""
    chain: Attendance | None
    try:
        chain = check_attendance(files["attendance.jsonl"], manifest.fingerprint, manifest.eligible)
        report.add(
            "attendance.chain",
            True,
            f"chuỗi điểm danh {chain.entries} mục nguyên vẹn, cuối cùng có mặt {chain.present}",
            f"attendance chain of {chain.entries} entries intact, last present {chain.present}",
        )
    except AttendanceError as exc:
        chain = None
        report.add("attendance.chain", False, f"điểm danh: {exc}", str(exc))
    assert manifest.poll_uid is not None
    try:
        doc = parse_json(files["attendance.json"])
        if canonical_json(doc) != files["attendance.json"]:
            raise AttendanceError("attendance.json is not canonical JSON")
        statement = parse_statement(
            doc,
            fingerprint=manifest.fingerprint,
            poll_uid=manifest.poll_uid,
            trustees=manifest.trustees,
            members=manifest.eligible,
        )
    except (AttendanceError, ValueError, CanonicalError, UnicodeDecodeError) as exc:
        report.add("attendance.statement", False, f"attendance.json: {exc}", str(exc))
        return None, chain.present if chain else None
    board = None if scanned.published_head is None else (scanned.published_head, scanned.lines)
    if chain is None or board is None:
        report.skip("attendance.statement", "attendance.jsonl / ballots.jsonl")
        return statement, chain.present if chain else None
    problems = statement_problems(
        statement,
        chain,
        board_head=board[0],
        electronic_ballots=board[1],
        paper_ballots=files.get("paper.jsonl", b"").count(b"\n"),
    )
    fp = key_fingerprint(statement.trustee.signing_key or b"")
    report.add(
        "attendance.statement",
        not problems,
        f"xác nhận số có mặt {statement.present} do {statement.trustee.name} (khóa {fp}) ký,"
        " khớp chuỗi điểm danh và bảng tin"
        + (
            f" (mục cuối của chuỗi điểm danh ghi {chain.present})"
            if chain.present != statement.present
            else ""
        )
        if not problems
        else "attendance.json: " + "; ".join(problems),
        f"number present {statement.present} signed by {statement.trustee.name} (key {fp}),"
        " matching the attendance chain and the board"
        + (
            f" (the chain's last entry says {chain.present})"
            if chain.present != statement.present
            else ""
        )
        if not problems
        else "attendance.json: " + "; ".join(problems),
    )
    return statement, chain.present


def _check_linked(
    report: Report,
    manifest: Manifest,
    result: dict[str, Any],
    others: Sequence[Path | bytes],
    signer_key: bytes | None,
    workers: int | None,
) -> None:
    """``result.linked``: grades taken from other polls. Without their bundles the check lists
    them to be compared; with them, each bundle must verify, be of the same conference, and
    grade each named subject as claimed."""
    claimed = result["linked"]
    if not isinstance(claimed, dict):
        report.add("result.linked", False, "result.linked không hợp lệ", "malformed result.linked")
        return
    listing = ", ".join(f"{key} = {grade or '—'}" for key, grade in sorted(claimed.items()))
    if not others:
        report.add(
            "result.linked",
            True,
            f"mức lấy từ cuộc biểu quyết khác: {listing}; chưa đối chiếu (thêm --linked GÓI.zip)",
            f"grades taken from other polls: {listing};"
            " not cross-checked (add --linked BUNDLE.zip)",
        )
        return
    graded: dict[str, Any] = {}
    problems: list[str] = []
    for k, other in enumerate(others, start=1):
        sub = verify_bundle(other, signer_key=signer_key, workers=workers)
        if not sub.ok:
            problems.append(f"linked bundle {k} does not verify")
            continue
        files = read_bundle(other)
        if parse_json(files["manifest.json"])["conference"] != manifest.data["conference"]:
            problems.append(f"linked bundle {k} is of another conference")
            continue
        for row in parse_json(files["result.json"])["subjects"]:
            graded[row["key"]] = row["grade"]
    for key, grade in sorted(claimed.items()):
        if grade is not None and graded.get(key, grade) != grade:
            problems.append(f"{key}: the result says {grade}, its poll graded {graded[key]}")
        elif grade is not None and key not in graded:
            problems.append(f"{key}: graded {grade} in none of the linked bundles")
    report.add(
        "result.linked",
        not problems,
        f"mức lấy từ cuộc biểu quyết khác khớp với gói của các cuộc đó: {listing}"
        if not problems
        else "result.linked: " + "; ".join(problems),
        f"grades taken from other polls match their bundles: {listing}"
        if not problems
        else "result.linked: " + "; ".join(problems),
    )


def _check_adopts(
    report: Report,
    manifest: Manifest,
    others: Sequence[Path | bytes],
    signer_key: bytes | None,
    workers: int | None,
) -> None:
    """An adoption poll's ``election.adopts``: the poll whose result it adopts. Without that
    poll's bundle the check names it to be compared; with it (``--linked``), the bundle must
    verify, be that poll (uid), of the same conference, its record.json hash the one named, and
    its record grade each subject as the adoption poll proposes."""
    adopts = manifest.adopts
    assert adopts is not None
    named = f"{adopts['title']} (uid {adopts['poll_uid']}, record SHA-256 {adopts['record']})"
    found = _bundle_of(others, adopts["poll_uid"])
    if found is None:
        report.add(
            "manifest.adopts",
            True,
            f"thông qua kết quả của: {named}; chưa đối chiếu (thêm --linked GÓI.zip của cuộc đó)",
            f"adopts the result of: {named}; not cross-checked (add --linked with its bundle)",
        )
        return
    other, files = found
    first = _linked_poll_problem(
        manifest, other, files, adopts["record"], "the adopted poll", signer_key, workers
    )
    problems = [first] if first else []
    if not problems:
        record = parse_json(files["record.json"])
        grades = {row["key"]: row["grade"] for row in record["subjects"]}
        for s in manifest.subjects:
            if grades.get(s.key) != s.proposed_grade:
                problems.append(
                    f"{s.key}: proposes {s.proposed_grade}, the adopted record says"
                    f" {grades.get(s.key)}"
                )
    report.add(
        "manifest.adopts",
        not problems,
        f"thông qua đúng kết quả đã ký của: {named}"
        if not problems
        else "manifest.adopts: " + "; ".join(problems),
        f"adopts exactly the signed result of: {named}"
        if not problems
        else "manifest.adopts: " + "; ".join(problems),
    )


def _bundle_of(
    others: Sequence[Path | bytes], poll_uid: str
) -> tuple[Path | bytes, dict[str, bytes]] | None:
    """The first of ``others`` whose manifest has ``election.poll_uid == poll_uid`` (a bundle that
    does not read, or has no such manifest, is passed over), with its files."""
    for other in others:
        try:
            files = read_bundle(other)
            uid = parse_json(files["manifest.json"])["election"].get("poll_uid")
        except (BundleError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if uid == poll_uid:
            return other, files
    return None


def _linked_poll_problem(
    manifest: Manifest,
    other: Path | bytes,
    files: dict[str, bytes],
    record_sha256: str,
    noun: str,
    signer_key: bytes | None,
    workers: int | None,
) -> str | None:
    """The first of the checks that the poll a manifest names (the adopted poll, 12b; the
    earlier round, 12d) makes of that poll's bundle: it verifies, its record.json has the SHA-256
    named, it is of the same conference. None when all hold."""
    if not verify_bundle(other, signer_key=signer_key, workers=workers).ok:
        return f"{noun}'s bundle does not verify"
    if sha256_hex(files["record.json"]) != record_sha256:
        return f"{noun}'s record is not the one the manifest names"
    if parse_json(files["manifest.json"])["conference"] != manifest.data["conference"]:
        return f"{noun} is of another conference"
    return None


def _check_round(
    report: Report,
    manifest: Manifest,
    others: Sequence[Path | bytes],
    signer_key: bytes | None,
    workers: int | None,
) -> None:
    """A later round's ``election.round`` (11.1, 18 check 12d): without the earlier poll's bundle
    the check names it; with it (``--linked``), that bundle must verify, be that poll (uid), of
    the same conference, its record.json hash the one named, and each subject of this round must
    be a subject of it whose grade it left undetermined (or the whole earlier poll void)."""
    info = manifest.round
    assert info is not None
    previous = info["previous"]
    named = f"{previous['title']} (uid {previous['poll_uid']}, record SHA-256 {previous['record']})"
    found = _bundle_of(others, previous["poll_uid"])
    if found is None:
        report.add(
            "manifest.round",
            True,
            f"vòng {info['number']}, biểu quyết lại sau: {named}; chưa đối chiếu (thêm --linked"
            " GÓI.zip của cuộc đó)",
            f"round {info['number']}, voting again after: {named}; not cross-checked (add"
            " --linked with its bundle)",
        )
        return
    other, files = found
    first = _linked_poll_problem(
        manifest, other, files, previous["record"], "the earlier round", signer_key, workers
    )
    problems = [first] if first else []
    if not problems:
        record = parse_json(files["record.json"])
        earlier = parse_json(files["manifest.json"])["election"]
        number = earlier["round"]["number"] if "round" in earlier else 1
        if info["number"] != number + 1:
            problems.append(f"round {info['number']} follows round {number}")
        grades = {row["key"]: row["grade"] for row in record["subjects"]}
        subjects = {s["key"]: s for s in earlier["subjects"]}
        for s in manifest.subjects:
            if s.key not in grades:
                problems.append(f"{s.key}: not a subject of the earlier round")
            elif grades[s.key] is not None and not record.get("void"):
                problems.append(f"{s.key}: the earlier round graded it {grades[s.key]}")
            elif subjects.get(s.key) != s.to_dict(2):
                problems.append(f"{s.key}: its data differ from the earlier round's")
    report.add(
        "manifest.round",
        not problems,
        f"vòng {info['number']}: biểu quyết lại đúng các đối tượng chưa xác định của: {named}"
        if not problems
        else "manifest.round: " + "; ".join(problems),
        f"round {info['number']}: votes again exactly on subjects left undetermined by: {named}"
        if not problems
        else "manifest.round: " + "; ".join(problems),
    )


def _linked_grades(result: Any) -> dict[str, str] | None:
    """The grades of linked subjects from other polls that the result says it used (to be
    compared with those polls' own bundles); the recomputed result must say the same."""
    linked = result.get("linked") if isinstance(result, dict) else None
    if not isinstance(linked, dict):
        return None
    return {k: v for k, v in linked.items() if isinstance(k, str) and isinstance(v, str)}


def check_board(
    manifest: Manifest, ballots_jsonl: bytes | Lines, workers: int | None = None
) -> tuple[Report, Board | None]:
    """The board alone: every ballot valid, committed credentials each used once, chain intact.

    A trustee runs this before decrypting, so a server cannot slip in ballots of its own making.
    Returns the board's figures (``Board``: the heads, the credentials, the sums) when every check
    passed."""
    lines = ballots_jsonl if isinstance(ballots_jsonl, Lines) else Lines.of(ballots_jsonl)
    report, board, ok = _board_checks(manifest, lines, workers)
    return report, board if ok else None


def _check_manifest(report: Report, data: Any) -> Manifest | None:
    try:
        manifest = parse_manifest(data, shipped_rules=True)
    except ManifestError as exc:
        report.add("manifest", False, f"manifest.json không hợp lệ: {exc}", f"manifest.json: {exc}")
        return None
    n = len(manifest.trustees)
    rules = manifest.rules
    if is_shipped(rules):
        origin_vi = f"bộ quy tắc {rules.id} phiên bản {rules.version} đúng như bản đi kèm tally"
        origin_en = f"rule set {rules.id} version {rules.version} as shipped with tally"
    else:
        origin_vi = (
            f"bộ quy tắc {rules.id} phiên bản {rules.version} KHÔNG đi kèm tally"
            " (nội dung là của manifest, đọc trong manifest.json)"
        )
        origin_en = (
            f"rule set {rules.id} version {rules.version} is NOT shipped with tally"
            " (its content is the manifest's own: read it in manifest.json)"
        )
    if manifest.authority is None:
        origin_vi += (
            f"; PHIÊN BẢN 1: không có chữ ký của Ban Tổ chức, {len(manifest.credentials)} thẻ"
            f" cho {manifest.members} ủy viên không được giới hạn"
        )
        origin_en += (
            f"; VERSION 1: no authority signature, {len(manifest.credentials)} credentials for"
            f" {manifest.members} members are not bounded"
        )
    else:
        fp = key_fingerprint(manifest.authority)
        origin_vi += (
            f"; danh sách thẻ do Ban Tổ chức ký (khóa {fp}), {manifest.reserve} thẻ dự phòng,"
            f" không quá {manifest.members} ủy viên cộng số dự phòng"
        )
        origin_en += (
            f"; credential list signed by the authority (key {fp}), {manifest.reserve} reserve,"
            f" at most the {manifest.members} members plus the reserve"
        )
    report.add(
        "manifest",
        True,
        f"manifest.json hợp lệ: {n} khóa thành viên Ban kiểm phiếu có chứng minh, khóa chung đúng,"
        f" {len(manifest.credentials)} thẻ biểu quyết khớp cam kết; {origin_vi};"
        f" dấu vân tay cuộc biểu quyết {manifest.fingerprint.hex()}",
        f"manifest.json valid: {n} trustee keys with proofs, joint key correct,"
        f" {len(manifest.credentials)} credentials match the commitment; {origin_en};"
        f" poll fingerprint {manifest.fingerprint.hex()}",
    )
    if manifest.ceremony is not None and manifest.ceremony_result is not None:
        outcome = manifest.ceremony_result
        faulty = "; ".join(f"{f.name} ({f.reason})" for f in outcome.faults) or "—"
        report.add(
            "manifest.ceremony",
            True,
            f"lễ tạo khóa {manifest.threshold}/{n} (mã {manifest.ceremony.uid}): {n} phần chia và"
            f" {n} xác nhận có chữ ký, chứng minh và khiếu nại đúng; {len(outcome.qualified)}"
            f" thành viên đủ điều kiện; sai phạm: {faulty}; khóa chung và khóa kiểm tra tính lại"
            " từ các cam kết",
            f"key ceremony {manifest.threshold} of {n} (uid {manifest.ceremony.uid}): {n} dealings"
            f" and {n} checks signed, proofs and complaints verified; {len(outcome.qualified)}"
            f" qualified; faulty: {faulty}; joint and verification keys recomputed from the"
            " commitments",
        )
    return manifest


class _NotJson:
    """What a member that is not JSON at all parses to (JSON's null is a value)."""


_NOT_JSON: Any = _NotJson()


def _canonical_problem(value: Any, data: bytes) -> str:
    try:
        same = canonical_json(value) == data
    except CanonicalError as exc:
        return f"not canonical JSON ({exc})"
    return "" if same else "not canonical JSON (docs/protocol.md §5)"


def _load_json(report: Report, name: str, data: bytes) -> Any:
    """Parse a JSON member. Reported (as ``name``) only on failure: not JSON, which the later
    checks cannot use, or not canonical, which they still check."""
    try:
        value = parse_json(data)
    except ValueError as exc:
        report.add(name, False, f"{name} không phải JSON: {exc}", f"{name} is not JSON: {exc}")
        return _NOT_JSON
    problem = _canonical_problem(value, data)
    if problem:
        report.add(
            name,
            False,
            f"{name} không ở dạng JSON chuẩn tắc (docs/protocol.md §5)",
            f"{name} is {problem}",
        )
    return value


def _check_tally_fields(report: Report, tally_doc: Any) -> None:
    """``tally.json`` (only on failure): exactly its fields, its format."""
    if not isinstance(tally_doc, dict):
        problem = "not an object"
    elif set(tally_doc) != set(TALLY_FIELDS):
        extra = sorted(set(tally_doc) - set(TALLY_FIELDS))
        missing = [f for f in TALLY_FIELDS if f not in tally_doc]
        problem = "; ".join(
            ([f"unexpected field(s) {', '.join(extra)}"] if extra else [])
            + ([f"missing field(s) {', '.join(missing)}"] if missing else [])
        )
    elif tally_doc["format"] != TALLY_FORMAT:
        problem = f"format {tally_doc['format']!r} is not {TALLY_FORMAT}"
    else:
        return
    report.add("tally.json", False, f"tally.json: {problem}", f"tally.json: {problem}")


def _line_problems(data: bytes, *, audit_line: bool = False) -> list[str]:
    """A JSON-lines member: every line canonical JSON followed by a newline (none empty). For
    audit.jsonl also: ``chain`` and ``seq`` are integers (a JSON true is not 1)."""
    problems = []
    if data and not data.endswith(b"\n"):
        problems.append("the last line does not end with a newline")
    for n, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            value = parse_json(line)
        except ValueError:
            problems.append(f"line {n}: not JSON")
            continue
        problem = _canonical_problem(value, line)
        if problem:
            problems.append(f"line {n}: {problem}")
        if audit_line and isinstance(value, dict):
            for name in ("chain", "seq"):
                if name in value and (type(value[name]) is not int):
                    problems.append(f"line {n}: {name} is not an integer")
    return problems


def _board_checks(
    manifest: Manifest, lines: Lines, workers: int | None
) -> tuple[Report, Board, bool]:
    """Checks 3-6 of §18 on a streamed board (``tally.board_check``): ``ballots.format``
    (reported only on failure, and then nothing else of the board), ``ballots.proofs``,
    ``ballots.credentials``, ``ballots.chain``. Returns the report, the board's figures and
    whether every check passed."""
    report = Report()
    board, order, problems = scan_board(manifest, lines, workers)
    if order.malformed_at is not None:
        problems.insert(0, f"line {order.malformed_at} is malformed")
    if problems:
        report.add(
            "ballots.format",
            False,
            "ballots.jsonl không đúng định dạng: " + "; ".join(problems),
            "ballots.jsonl: " + "; ".join(problems),
        )
        return report, board, False
    bad, unknown, twice = order.bad, order.unknown, order.twice
    report.add(
        "ballots.proofs",
        not bad,
        f"cả {board.lines} phiếu: chứng minh và chữ ký hợp lệ"
        if not bad
        else f"ballots.jsonl: {len(bad)} phiếu không hợp lệ, đầu tiên #{bad[0][0]}: {bad[0][1]}",
        f"all {board.lines} ballots: proofs and signatures valid"
        if not bad
        else f"ballots.jsonl: {len(bad)} invalid ballots, first #{bad[0][0]}: {bad[0][1]}",
    )
    report.add(
        "ballots.credentials",
        not unknown and not twice,
        "mọi phiếu dùng thẻ đã cam kết, mỗi thẻ một lần"
        if not unknown and not twice
        else f"ballots.jsonl: thẻ ngoài danh sách ở {unknown[:5]}, thẻ dùng lại ở {twice[:5]}",
        "every ballot uses a committed credential, each once"
        if not unknown and not twice
        else f"ballots.jsonl: uncommitted credentials at {unknown[:5]}, reused at {twice[:5]}",
    )
    chain_error = order.chain_error
    report.add(
        "ballots.chain",
        not chain_error,
        f"chuỗi băm của bảng tin liền mạch, đầu chuỗi {board.head}"
        if not chain_error
        else f"ballots.jsonl: chuỗi băm bị đứt ({chain_error})",
        f"board hash chain intact, head {board.head}"
        if not chain_error
        else f"ballots.jsonl: {chain_error}",
    )
    return report, board, not (bad or unknown or twice or chain_error)


def _check_tally(
    report: Report,
    manifest: Manifest,
    verified: Board,
    tally_doc: Any,
    paper: Sequence[VerifiedBallot] = (),
) -> bool:
    try:
        aggregate = tally_doc["aggregate"]
        expected = verified.aggregate(manifest, paper)
        same = canonical_json(expected) == canonical_json(aggregate)
    except (KeyError, TypeError) as exc:
        report.add(
            "tally.aggregate", False, f"tally.json thiếu trường {exc}", f"tally.json lacks {exc}"
        )
        return False
    if not report.add(
        "tally.aggregate",
        same,
        "tổng mã hóa bằng tổng các phiếu trên bảng tin"
        + (f" và {len(paper)} phiếu giấy" if paper else "")
        + ", khớp đầu chuỗi"
        if same
        else "tally.json: tổng mã hóa khác tổng các phiếu (hoặc đầu chuỗi / số phiếu khác)",
        "the aggregate is the sum of the board's ballots"
        + (f" and {len(paper)} paper ballots" if paper else "")
        + " and matches its head"
        if same
        else "tally.json: the aggregate is not the sum of the ballots (or head / count differ)",
    ):
        return False
    try:
        counts, blanks = decrypt_counts(manifest, aggregate, tally_doc["shares"])
    except (CountingError, TrusteeError, KeyError, TypeError) as exc:
        report.add(
            "tally.shares", False, f"tally.json: phần giải mã lỗi: {exc}", f"tally.json: {exc}"
        )
        return False
    summary = decryption_summary(manifest, tally_doc["shares"])
    if summary is None:
        report.add(
            "tally.shares",
            True,
            f"phần giải mã của cả {len(manifest.trustees)} thành viên Ban kiểm phiếu"
            " có chứng minh đúng",
            f"decryption shares of all {len(manifest.trustees)} trustees verify",
        )
    else:
        given = len(summary["combined"]) + len(summary["also_given"])
        names = ", ".join(summary["combined"])
        absent = ", ".join(summary["absent"]) or "—"
        report.add(
            "tally.shares",
            True,
            f"phần giải mã của {given} thành viên có chứng minh đúng theo khóa kiểm tra của họ;"
            f" kết hợp (Lagrange) {summary['threshold']} phần: {names}; không giải mã: {absent}",
            f"the decryption shares of {given} trustees verify against their verification keys;"
            f" {summary['threshold']} combined (Lagrange): {names}; did not decrypt: {absent}",
        )
    # Compared as canonical JSON so that true or 1.0 never pass for the integer 1.
    try:
        recorded = canonical_json([tally_doc.get("counts"), tally_doc.get("blanks")])
    except CanonicalError:
        recorded = b""
    match = recorded == canonical_json([counts, blanks])
    return report.add(
        "tally.counts",
        match,
        "số phiếu giải mã khớp với tally.json"
        if match
        else "tally.json: số phiếu ghi khác số giải mã",
        "decrypted counts match tally.json"
        if match
        else "tally.json: recorded counts differ from the decryption",
    )


def _check_record(
    report: Report,
    manifest: Manifest,
    files: dict[str, bytes],
    result: Any,
    tally_doc: Any,
    signer_key: bytes | None,
    audit: AuditCheck,
    protocol: int,
    statement: Statement | None = None,
    chain_present: int | None = None,
    paper: PaperCheck | None = None,
    scanned: Board | None = None,
) -> None:
    record = _load_json(report, "record.json", files["record.json"])
    digests = {name: sha256_hex(data) for name, data in files.items()}
    if scanned is not None:
        digests["ballots.jsonl"] = scanned.sha256
    if not isinstance(record, dict):
        report.skip("record", "record.json")
        return
    listed = record.get("files")
    if not isinstance(listed, dict):
        listed = {}
    hashed = hashed_members(digests)
    wrong = [n for n in hashed if listed.get(n) != digests[n]]
    report.add(
        "record.files",
        not wrong,
        "mã băm các tệp trong biên bản khớp"
        if not wrong
        else "record.json: mã băm sai với " + ", ".join(wrong),
        "the record's file hashes match"
        if not wrong
        else "record.json: hash mismatch for " + ", ".join(wrong),
    )
    if manifest.version >= 2 and (statement is None or chain_present is None):
        report.skip("record.content", "attendance.json / attendance.jsonl")
    elif "paper.jsonl" in files and paper is None:
        report.skip("record.content", "voids.jsonl / paper.jsonl")
    elif isinstance(result, dict) and isinstance(tally_doc, dict):
        try:
            credentials = record.get("credentials", {})
            # The slips used: the aggregate's ballots less the paper ballots (13.3).
            electronic = int(tally_doc["aggregate"]["ballot_count"]) - (
                len(paper.ballots) if paper is not None else 0
            )
            expected = make_record(
                manifest=manifest.data,
                fingerprint=manifest.fingerprint,
                result=result,
                board_head=str(tally_doc["aggregate"]["board_head"]),
                ballots_cast=int(tally_doc["aggregate"]["ballot_count"]),
                voided=int(credentials.get("voided", -1)),
                files={n: digests[n] for n in hashed},
                audit={"entries": audit.entries, "head": audit.head},
                created_at=str(record.get("created_at")),
                protocol=protocol,
                slips={"handed_out": credentials.get("handed_out"), "lost": credentials.get("lost")}
                if manifest.version >= 2
                else None,
                attendance=statement.data if statement is not None else None,
                chain_present=chain_present,
                document=_document_inputs(record) if manifest.version >= 2 else None,
                decryption=decryption_summary(manifest, tally_doc["shares"]),
                electronic=electronic,
                paper=None
                if paper is None
                else {
                    "voided_slips": paper.voided,
                    "ballots": len(paper.ballots),
                    "head": paper.head,
                },
            )
            diff = _differences(expected, record)
            voided = record["credentials"]["voided"]
            if not 0 <= voided <= record["credentials"]["unused"]:
                diff.append("credentials.voided")
            if manifest.version >= 2 and slips_problem(
                len(manifest.credentials),
                electronic,
                credentials.get("handed_out"),
                credentials.get("lost"),
                paper.voided if paper is not None else 0,
            ):
                diff.append("credentials.handed_out / credentials.lost")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            diff = [f"malformed ({exc})"]
        report.add(
            "record.content",
            not diff,
            "nội dung biên bản khớp với kết quả và manifest"
            if not diff
            else "record.json khác kết quả ở: " + ", ".join(diff),
            "the record matches the result and manifest"
            if not diff
            else "record.json differs in: " + ", ".join(diff),
        )
    else:
        report.skip("record.content", "result.json / tally.json")
    if manifest.version >= 2 and isinstance(result, dict):
        _check_result_codes(report, manifest, result, record)

    public = manifest.signer_public_key
    try:
        signature = read_signature_file(files["record.sig"])
    except ValueError as exc:
        signature = None
        form = str(exc)
    good = signature is not None and verify_signature(public, files["record.json"], signature)
    pinned = signer_key is None or signer_key == public
    fp = key_fingerprint(public)
    if signature is None:
        vi, en = (
            "record.sig: không đúng dạng (đúng 128 chữ số hex thường và một dấu xuống dòng)",
            f"record.sig: {form}",
        )
    elif not good:
        vi, en = (
            f"record.sig: chữ ký sai với khóa {fp}",
            f"record.sig: signature fails with key {fp}",
        )
    elif not pinned:
        vi, en = (
            f"khóa ký {fp} không phải khóa được chỉ định",
            f"signing key {fp} is not the pinned key",
        )
    else:
        vi, en = (
            f"chữ ký biên bản hợp lệ, khóa ký {fp}",
            f"record signature valid, signing key {fp}",
        )
    report.add("record.signature", good and pinned, vi, en)


def _check_result_codes(
    report: Report, manifest: Manifest, result: dict[str, Any], record: dict[str, Any]
) -> None:
    """Each subject's result code (§16.3), derived again from the result's rows and the poll's
    fingerprint, must be the record's: the line an auditor compares with the paper copy."""
    try:
        codes = result_codes(manifest.fingerprint, result["subjects"])
    except (KeyError, TypeError, ValueError, CanonicalError) as exc:
        report.add(
            "record.result_codes",
            False,
            f"không tính được mã kết quả: {exc}",
            f"the result codes cannot be derived: {exc}",
        )
        return
    listed = record.get("result_codes")
    ok = isinstance(listed, dict) and canonical_json(listed) == canonical_json(codes)
    wrong = (
        sorted(k for k in codes if listed.get(k) != codes[k])
        if isinstance(listed, dict)
        else ["(missing)"]
    )
    report.add(
        "record.result_codes",
        ok,
        f"mã kết quả của {len(codes)} đối tượng tính lại khớp với biên bản: "
        + ", ".join(codes.values())
        if ok
        else "record.json: mã kết quả khác với mã tính lại ở: " + ", ".join(wrong),
        f"the result codes of the {len(codes)} subjects are derived again and match: "
        + ", ".join(codes.values())
        if ok
        else "record.json: result codes differ from those derived again for: " + ", ".join(wrong),
    )


def _document_inputs(record: dict[str, Any]) -> dict[str, Any]:
    """What the record's ``document`` takes from the service (posts, when counting started);
    the rest of it (names, order, head) is derived from the manifest and compared."""
    document = record.get("document")
    if not isinstance(document, dict) or not isinstance(document.get("committee"), list):
        raise ValueError("document: expected an object with the committee")
    return {
        "posts": [m.get("post") if isinstance(m, dict) else None for m in document["committee"]],
        "counting_started_at": document.get("counting_started_at"),
    }


def _differences(expected: dict[str, Any], actual: Any) -> list[str]:
    if not isinstance(actual, dict):
        return ["(not an object)"]
    keys = sorted(set(expected) | set(actual))
    return [k for k in keys if canonical_json(expected.get(k)) != canonical_json(actual.get(k))]


def format_report(report: Report) -> str:
    lines = []
    for c in report.checks:
        mark = "ĐẠT / OK  " if c.ok else "LỖI / FAIL"
        lines.append(f"[{mark}] {c.name}: {c.detail_vi}")
        lines.append(f"{' ' * 13}{c.detail_en}")
    if report.ok and report.void:
        verdict = (
            "KẾT LUẬN: gói kiểm toán xác thực, nhưng KẾT QUẢ KHÔNG CÓ GIÁ TRỊ (phải biểu quyết"
            " lại) / VERDICT: the bundle is authentic, but the RESULT IS VOID (vote again)"
        )
    elif report.ok:
        verdict = "KẾT LUẬN: gói kiểm toán hợp lệ / VERDICT: the bundle verifies"
    else:
        verdict = "KẾT LUẬN: gói kiểm toán KHÔNG hợp lệ / VERDICT: the bundle does NOT verify"
    lines.append(verdict)
    return "\n".join(lines)


__all__ = ["Check", "Report", "check_board", "format_report", "verify_ballots", "verify_bundle"]
