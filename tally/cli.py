"""The ``tally`` command: the auditor's verifier, the counting committee's and the Board's tools.

Exit status: 0 success; 1 a verification failed; 2 bad input or usage (a readable message on
stderr, in Vietnamese then English).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tally import bench
from tally.attendance import AttendanceError, check_attendance, sign_statement
from tally.authority import MAX_CREDENTIALS, AuthorityError, AuthorityKey, is_poll_uid, mint
from tally.ballots import VerifiedBallot, tracking_code
from tally.board_check import Board
from tally.bundle import BundleError, bundle_bytes, read_bundle
from tally.canonical import canonical_json, parse_json
from tally.challenge import ChallengeError, check_challenge_file, parse_challenge_text
from tally.counting import CountingError
from tally.credentials import Credential, CredentialError
from tally.dkg import (
    Ceremony,
    CeremonyError,
    make_check,
    make_dealing,
    parse_ceremony,
    threshold_key,
)
from tally.dkg import decrypt_share as decrypt_threshold
from tally.manifest import Manifest, ManifestError, counted_poll, parse_manifest
from tally.paper import (
    PaperError,
    check_papers,
    check_voids,
    code_bytes,
    count_head,
    make_paper_ballot,
    make_void,
    paper_problems,
    paper_tracking_hash,
)
from tally.record import KeyFileError, ServiceKey, key_fingerprint
from tally.results import conference_warnings, render_conference_warning
from tally.rules import (
    DENOMINATORS,
    UNDETERMINED_EN,
    UNDETERMINED_VI,
    check_local_ruleset,
    decide,
    format_fraction_ratio,
    load_ruleset,
)
from tally.trustees import TrusteeError, TrusteeKey
from tally.verify import check_board, format_report, verify_bundle

MIN_PASSPHRASE = 10


class UsageError(Exception):
    """Bad input from the user: printed as a message, exit status 2."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi}\n{en}")


def _read_json(path: Path, what_vi: str, what_en: str) -> Any:
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"không đọc được {what_vi} {path}: {exc.strerror}",
            f"cannot read {what_en} {path}: {exc.strerror}",
        ) from None
    except ValueError:
        raise UsageError(
            f"{what_vi} {path} không phải JSON", f"{what_en} {path} is not JSON"
        ) from None


def _passphrase(args: argparse.Namespace, confirm: bool) -> str:
    try:
        if args.passphrase_file:
            text = Path(args.passphrase_file).read_text(encoding="utf-8").rstrip("\n")
        elif os.environ.get("TALLY_PASSPHRASE"):
            text = os.environ["TALLY_PASSPHRASE"]
        else:
            text = getpass.getpass("Mật khẩu khóa / key passphrase: ")
            if confirm and getpass.getpass("Nhập lại / again: ") != text:
                raise UsageError("hai lần nhập mật khẩu không khớp", "the passphrases differ")
    except EOFError:
        raise UsageError(
            "không hỏi được mật khẩu (không có bàn phím): dùng --passphrase-file hoặc"
            " TALLY_PASSPHRASE",
            "cannot ask for the passphrase (no terminal): use --passphrase-file or"
            " TALLY_PASSPHRASE",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"không đọc được tệp mật khẩu: {exc}", f"cannot read the passphrase file: {exc}"
        ) from None
    if confirm and len(text) < MIN_PASSPHRASE:
        raise UsageError(
            f"mật khẩu phải có ít nhất {MIN_PASSPHRASE} ký tự",
            f"the passphrase needs at least {MIN_PASSPHRASE} characters",
        )
    return text


# --- commands --------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    pinned = None
    if args.signer_key:
        try:
            pinned = bytes.fromhex(args.signer_key)
        except ValueError:
            raise UsageError("--signer-key phải là hex", "--signer-key must be hex") from None
    path = Path(args.bundle)
    if not path.is_file():
        raise UsageError(f"không có tệp {path}", f"no such file {path}")
    linked = [Path(other) for other in args.linked or []]
    for other in linked:
        if not other.is_file():
            raise UsageError(f"không có tệp {other}", f"no such file {other}")
    report = verify_bundle(path, signer_key=pinned, workers=args.workers, linked=linked)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    # 3: authentic, but the poll is void (more ballots than present): not a valid result.
    return (3 if report.void else 0) if report.ok else 1


def cmd_grade(args: argparse.Namespace) -> int:
    try:
        rules = load_ruleset(args.rules)
        counts = [int(x) for x in args.counts.split(",")]
    except ValueError as exc:
        raise UsageError(f"dữ liệu không hợp lệ: {exc}", f"invalid input: {exc}") from None
    try:
        decision = decide(
            rules,
            counts,
            blank=args.blank,
            cast=args.cast,
            present=args.present,
            members=args.members,
            denominator=args.denominator,
        )
    except ValueError as exc:
        raise UsageError(f"không tính được: {exc}", f"cannot grade: {exc}") from None
    if args.json:
        print(
            json.dumps(
                {"rules": {"id": rules.id, "version": rules.version}, **decision.to_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
    elif decision.grade is None:
        print("UNDETERMINED")
        print(f"{UNDETERMINED_VI} / {UNDETERMINED_EN}", file=sys.stderr)
    else:
        print(decision.grade)
        grade = rules.grade(decision.grade)
        print(f"{grade.name_vi} / {grade.name_en}", file=sys.stderr)
    return 0


def cmd_conference_check(args: argparse.Namespace) -> int:
    """Verify the bundles of one conference's polls, then check what spans them: the excellent
    ceiling of a peer group graded in several polls (docs/rules.md)."""
    polls = []
    failed = False
    seen: dict[str, str] = {}
    conference: Any = None
    for path in args.bundles:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(
                f"không đọc được {path}: {exc}", f"cannot read {path}: {exc}"
            ) from None
        report = verify_bundle(data, workers=args.workers)
        mark = "ĐẠT / OK  " if report.ok else "LỖI / FAIL"
        print(f"[{mark}] {path}")
        if not report.ok:
            failed = True
            continue
        files = read_bundle(data)
        manifest = parse_json(files["manifest.json"])
        uid = manifest["election"].get("poll_uid") or manifest["election"]["poll_id"]
        if uid in seen:
            raise UsageError(
                f"{path}: cùng cuộc biểu quyết với {seen[uid]}",
                f"{path}: the same poll as {seen[uid]}",
            )
        seen[uid] = str(path)
        if conference is not None and manifest["conference"] != conference:
            print(f"[LỖI / FAIL] {path}: hội nghị khác / another conference")
            failed = True
            continue
        conference = manifest["conference"]
        polls.append(counted_poll(Path(path).name, files))
    if failed:
        print(
            "KẾT LUẬN: có gói không hợp lệ; không đối chiếu giữa các cuộc biểu quyết /"
            " VERDICT: a bundle does not verify; nothing is checked across the polls"
        )
        return 1
    warnings = conference_warnings(polls)
    for w in warnings:
        text = render_conference_warning(w)
        print(f"CẢNH BÁO / WARNING: {text.vi}")
        print(f"{' ' * 19}{text.en}")
    if not warnings:
        print(
            "Không có cảnh báo giữa các cuộc biểu quyết / no warning across the polls"
            f" ({len(polls)} gói / bundles)"
        )
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Check a province's rule set file and print what it sets (docs/rules.md)."""
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"không đọc được {path}: {exc}", f"cannot read {path}: {exc}") from None
    try:
        rules = check_local_ruleset(text, path.name)
    except ValueError as exc:
        raise UsageError(f"bộ quy tắc không hợp lệ: {exc}", f"invalid rule set: {exc}") from None
    yes_no = {True: "có / yes", False: "không / no", None: "không nói / not stated"}
    lines = [
        f"{rules.id} phiên bản / version {rules.version}: {rules.title_vi}",
        f"  căn cứ / basis: {rules.basis}",
        f"  đã xác nhận / confirmed: {yes_no[rules.confirmed]}",
        f"  cách tính / decision rule: {rules.decision_rule}; mẫu số / denominator:"
        f" {rules.denominator}; để trống / blanks: {yes_no[rules.allow_blank]}; số lượng tối"
        f" thiểu / quorum: {format_fraction_ratio(rules.quorum)}",
        f"  các mức / grades: {', '.join(f'{g.code} ({g.name_vi})' for g in rules.grades)}",
    ]
    for key, value in rules.to_dict().items():
        if key in ("id", "version", "title_vi", "title_en", "basis", "grades", "confirmed"):
            continue
        if key in ("decision_rule", "denominator", "allow_blank", "quorum"):
            continue
        lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    if not rules.is_confirmed:
        lines.append(
            "  CẢNH BÁO: bộ quy tắc chưa được tỉnh xác nhận (confirmed = true); cuộc biểu quyết"
            " chỉ mở được khi người điều hành xác nhận đã biết /"
        )
        lines.append(
            "  WARNING: not confirmed by the province (confirmed = true); a poll opens only"
            " after the operator acknowledges it"
        )
    lines.append(f"  SHA-256: {rules.digest}")
    lines.append("HỢP LỆ / VALID")
    print("\n".join(lines))
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    public_path = out.with_name(out.name + ".pub.json")
    for path in (out, public_path):
        if path.exists():
            raise UsageError(f"{path} đã có, không ghi đè", f"{path} exists; not overwriting")
    passphrase = _passphrase(args, confirm=True)
    key = TrusteeKey.generate(args.name)
    key.save(out, passphrase)
    public_path.write_text(
        json.dumps(key.public.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"Khóa bí mật (đã mã hóa) / private key (encrypted): {out}")
    print(f"Khóa công khai để nộp / public key to register:    {public_path}")
    print(f"Khóa công khai / public key: {key.public.public_key.hex()}")
    return 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    aggregate = _read_json(Path(args.aggregate), "tệp tổng", "aggregate file")
    manifest, head = _check_aggregate_against_board(
        aggregate, Path(args.manifest), Path(args.ballots), args
    )
    # Any prefix of a real board is itself a valid board, and any subset of the paper ballots a
    # valid set: only the head read out in the room (the board head at close; with paper ballots,
    # the count head after they were entered, 13.3) tells the whole from a part that would single
    # out some voters' ballots.
    _require_head(head, args.expected_head, "không giải mã", "not decrypting")
    print("Tổng mã hóa khớp bảng tin / the aggregate matches the board")
    try:
        key = TrusteeKey.from_encrypted_json(
            _read_json(Path(args.key), "tệp khóa", "key file"), _passphrase(args, confirm=False)
        )
        _require_trustee(key, manifest)
        if manifest.ceremony is None:
            share = key.decrypt_share(aggregate)
        else:
            # k of n (14.5): the trustee's share of the poll's secret, from the ceremony in the
            # manifest and this key file.
            ceremony_data = manifest.data["election"]["ceremony"]
            held = threshold_key(
                manifest.ceremony, ceremony_data["dealings"], ceremony_data["checks"], key
            )
            share = decrypt_threshold(aggregate, held)
    except (TrusteeError, CeremonyError) as exc:
        raise UsageError(f"không giải mã được: {exc}", f"cannot decrypt: {exc}") from None
    out = Path(args.out)
    out.write_text(json.dumps(share, indent=2) + "\n", encoding="utf-8")
    print(f"Phần giải mã / decryption share: {out}")
    return 0


def _choices_from(mapping: Any, manifest: Manifest) -> list[int | None]:
    """A paper ballot's choices ``{subject key: grade code or null}`` as grade indexes, every
    subject once; a blank only where the rule set allows it."""
    keys = [s.key for s in manifest.subjects]
    codes = [g.code for g in manifest.rules.grades]
    if not isinstance(mapping, dict) or sorted(mapping) != sorted(keys):
        raise UsageError(
            "tệp lựa chọn phải có đúng mọi đối tượng của phiếu: " + ", ".join(keys),
            "the choices file must name exactly every subject of the ballot: " + ", ".join(keys),
        )
    choices: list[int | None] = []
    for key in keys:
        code = mapping[key]
        if code is None and manifest.rules.allow_blank:
            choices.append(None)
        elif isinstance(code, str) and code in codes:
            choices.append(codes.index(code))
        else:
            raise UsageError(
                f"{key}: {code!r} không phải mức của phiếu ({', '.join(codes)})",
                f"{key}: {code!r} is not a grade of the ballot ({', '.join(codes)})",
            )
    return choices


def cmd_paper_ballot(args: argparse.Namespace) -> int:
    try:
        manifest = parse_manifest(
            _read_json(Path(args.manifest), "manifest", "manifest"), shipped_rules=True
        )
    except ManifestError as exc:
        raise UsageError(f"manifest không hợp lệ: {exc}", f"invalid manifest: {exc}") from None
    if manifest.version < 2 or manifest.poll_uid is None:
        raise UsageError(
            "phiếu giấy cần manifest phiên bản 2", "paper ballots need a version-2 manifest"
        )
    choices = _choices_from(
        _read_json(Path(args.choices_file), "tệp lựa chọn", "choices"), manifest
    )
    try:
        key = TrusteeKey.from_encrypted_json(
            _read_json(Path(args.key), "tệp khóa", "key file"), _passphrase(args, confirm=False)
        )
        _require_trustee(key, manifest)
        document = make_paper_ballot(
            manifest.context, key, poll_uid=manifest.poll_uid, choices=choices
        )
    except (TrusteeError, PaperError) as exc:
        raise UsageError(f"không ký được: {exc}", f"cannot sign: {exc}") from None
    out = Path(args.out)
    out.write_bytes(canonical_json(document) + b"\n")
    code = tracking_code(paper_tracking_hash(document))
    print(
        "Phiếu giấy đã mã hóa và ký (tệp không chứa lựa chọn; xóa tệp lựa chọn) / paper ballot"
        f" encrypted and signed (the file holds no choice; delete the choices file): {out}"
    )
    print(
        f"Mã theo dõi của phiếu giấy (ghi lên phiếu giấy) / its tracking code (write it on the"
        f" paper ballot): {code}"
    )
    return 0


def cmd_count_head(args: argparse.Namespace) -> int:
    """The count head (13.3) from the board head read out at close and the tracking codes written
    on the paper ballots: what the committee reads out, computed on its own computer."""
    board_head = args.board_head.strip().lower().replace(":", "").replace(" ", "")
    if len(board_head) != 64 or any(c not in "0123456789abcdef" for c in board_head):
        raise UsageError("--board-head: 64 chữ số hex", "--board-head: 64 hexadecimal digits")
    try:
        codes = [code_bytes(c) for c in args.codes]
    except PaperError as exc:
        raise UsageError(f"mã theo dõi không đúng: {exc}", f"bad tracking code: {exc}") from None
    if len(set(codes)) != len(codes):
        raise UsageError("một mã theo dõi ghi hai lần", "a tracking code is given twice")
    voided = args.voided if args.voided is not None else len(codes)
    head = count_head(board_head, codes, voided)
    print(
        f"Đầu chuỗi kiểm phiếu ({len(codes)} phiếu giấy, {voided} thẻ hủy) / count head"
        f" ({len(codes)} paper ballots, {voided} slips voided): {head}"
    )
    return 0


def cmd_credentials_void(args: argparse.Namespace) -> int:
    try:
        manifest = parse_manifest(
            _read_json(Path(args.manifest), "manifest", "manifest"), shipped_rules=True
        )
    except ManifestError as exc:
        raise UsageError(f"manifest không hợp lệ: {exc}", f"invalid manifest: {exc}") from None
    if manifest.version < 2 or manifest.poll_uid is None:
        raise UsageError("hủy thẻ cần manifest phiên bản 2", "voiding needs a version-2 manifest")
    code = getpass.getpass("Mã trên thẻ biểu quyết / the slip's code: ")
    try:
        credential = Credential.from_code(code)
    except CredentialError as exc:
        raise UsageError(f"mã thẻ không đúng: {exc}", f"bad slip code: {exc}") from None
    if credential.public_key not in manifest.credentials:
        raise UsageError(
            "thẻ này không có trong danh sách của cuộc biểu quyết",
            "this slip is not on the poll's credential list",
        )
    document = make_void(credential, fingerprint=manifest.fingerprint, poll_uid=manifest.poll_uid)
    out = Path(args.out)
    out.write_bytes(canonical_json(document) + b"\n")
    print(f"Đã ký lệnh hủy thẻ để bỏ phiếu giấy / void statement signed: {out}")
    return 0


def _ceremony_file(path: Path) -> Ceremony:
    try:
        return parse_ceremony(_read_json(path, "tệp lễ tạo khóa", "ceremony file"))
    except CeremonyError as exc:
        raise UsageError(f"tệp lễ tạo khóa lỗi: {exc}", f"ceremony file: {exc}") from None


def _show_ceremony(ceremony: Ceremony) -> None:
    """What the committee compares at the table, on paper, before anyone deals."""
    print(
        f"Lễ tạo khóa / key ceremony {ceremony.uid}: {ceremony.threshold} trong {ceremony.n}"
        f" thành viên đủ để kiểm phiếu / any {ceremony.threshold} of {ceremony.n} trustees count"
    )
    digest = ceremony.digest.hex()
    grouped = " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))
    print(f"  Mã lễ (đối chiếu trên giấy) / ceremony digest (compare on paper): {grouped}")
    for m, t in enumerate(ceremony.trustees, start=1):
        assert t.signing_key is not None
        print(f"  {m}. {t.name}: {key_fingerprint(t.signing_key)}")


def cmd_deal(args: argparse.Namespace) -> int:
    """Step 1 of the key ceremony (docs/protocol.md 9.4): the trustee's signed dealing."""
    ceremony = _ceremony_file(Path(args.ceremony))
    _show_ceremony(ceremony)
    try:
        key = TrusteeKey.from_encrypted_json(
            _read_json(Path(args.key), "tệp khóa", "key file"), _passphrase(args, confirm=False)
        )
        dealing = make_dealing(ceremony, key)
    except (TrusteeError, CeremonyError) as exc:
        raise UsageError(f"không tạo được phần chia: {exc}", f"cannot deal: {exc}") from None
    out = Path(args.out)
    out.write_text(json.dumps(dealing, indent=2) + "\n", encoding="utf-8")
    print(
        f"Phần chia của thành viên {dealing['dealer']} (đã ký) / signed dealing of trustee"
        f" {dealing['dealer']}: {out}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Step 2 of the key ceremony: open and check the shares sent to this trustee; a signed
    check, with a complaint for each bad one."""
    ceremony = _ceremony_file(Path(args.ceremony))
    _show_ceremony(ceremony)
    dealings = _read_json(Path(args.dealings), "tệp các phần chia", "dealings file")
    try:
        key = TrusteeKey.from_encrypted_json(
            _read_json(Path(args.key), "tệp khóa", "key file"), _passphrase(args, confirm=False)
        )
        check = make_check(ceremony, key, dealings)
    except (TrusteeError, CeremonyError) as exc:
        raise UsageError(f"không kiểm tra được: {exc}", f"cannot check: {exc}") from None
    out = Path(args.out)
    out.write_text(json.dumps(check, indent=2) + "\n", encoding="utf-8")
    for complaint in check["complaints"]:
        i = complaint["dealer"]
        print(
            f"KHIẾU NẠI: phần của {ceremony.name(i)} (thành viên {i}) gửi cho đồng chí không đúng"
            f" / COMPLAINT: the share of {ceremony.name(i)} (trustee {i}) sent to you is wrong",
            file=sys.stderr,
        )
    if not check["complaints"]:
        print(f"Mọi phần chia nhận được đều đúng / every share received is right ({ceremony.n})")
    print(f"Xác nhận (đã ký) / signed check: {out}")
    return 0


def _require_trustee(key: TrusteeKey, manifest: Manifest) -> None:
    """The key is one of the poll's trustees, and the manifest names its own signing key (a
    server that swapped in a signing key of its own could sign the attendance in its name)."""
    entry = next((t for t in manifest.trustees if t.public_key == key.public.public_key), None)
    if entry is None:
        raise TrusteeError("this key is not one of the poll's trustees")
    if manifest.version >= 2 and entry.signing_key != key.public.signing_key:
        raise TrusteeError("the manifest names another signing key for this trustee")


def cmd_attest(args: argparse.Namespace) -> int:
    """Sign the closed poll's attendance statement (docs/protocol.md §13.2)."""
    manifest_path, ballots_path = Path(args.manifest), Path(args.ballots)
    try:
        manifest = parse_manifest(
            _read_json(manifest_path, "manifest", "manifest"), shipped_rules=True
        )
        board = ballots_path.read_bytes()
        chain_bytes = Path(args.attendance).read_bytes()
    except (ManifestError, OSError) as exc:
        raise UsageError(f"không đọc được tệp: {exc}", f"cannot read a file: {exc}") from None
    if manifest.version < 2 or manifest.poll_uid is None:
        raise UsageError(
            "cuộc biểu quyết này (manifest phiên bản 1) không cần xác nhận số có mặt",
            "this poll (a version-1 manifest) needs no attendance statement",
        )
    report, verified = check_board(manifest, board)
    if verified is None:
        failed = [c for c in report.checks if not c.ok]
        raise UsageError(
            "BẢNG TIN KHÔNG HỢP LỆ, không ký: " + "; ".join(c.detail_vi for c in failed),
            "THE BOARD DOES NOT VERIFY, not signing: " + "; ".join(c.detail_en for c in failed),
        )
    head = verified.head
    paper, voided = _paper_files(args, manifest, verified)
    _require_head(
        count_head(head, [p.tracking_hash for p in paper], voided),
        args.expected_head,
        "không ký",
        "not signing",
    )
    try:
        chain = check_attendance(chain_bytes, manifest.fingerprint, manifest.eligible)
    except AttendanceError as exc:
        raise UsageError(f"chuỗi điểm danh lỗi: {exc}", f"attendance chain: {exc}") from None
    if args.present < 0 or args.present > manifest.eligible:
        raise UsageError(
            f"số có mặt phải từ 0 đến {manifest.eligible}",
            f"the number present must be between 0 and {manifest.eligible}",
        )
    if chain.present != args.present:
        # The committee's own count is what is signed (and grades); the record shows both.
        print(
            f"CHÚ Ý: chuỗi điểm danh ghi {chain.present} có mặt, Ban kiểm phiếu đếm được"
            f" {args.present}: ký số đếm được / NOTE: the attendance chain says {chain.present}"
            f" present, the committee counted {args.present}: signing the count",
            file=sys.stderr,
        )
    try:
        key = TrusteeKey.from_encrypted_json(
            _read_json(Path(args.key), "tệp khóa", "key file"), _passphrase(args, confirm=False)
        )
        _require_trustee(key, manifest)
        statement = sign_statement(
            key,
            fingerprint=manifest.fingerprint,
            poll_uid=manifest.poll_uid,
            attendance=chain,
            board_head=head,
            electronic_ballots=verified.count,
            paper_ballots=len(paper),
            present=args.present,
        )
    except (TrusteeError, AttendanceError) as exc:
        raise UsageError(f"không ký được: {exc}", f"cannot sign: {exc}") from None
    out = Path(args.out)
    out.write_text(json.dumps(statement, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if verified.count + len(paper) > args.present:
        print(
            f"CHÚ Ý: {verified.count + len(paper)} phiếu, nhiều hơn số có mặt {args.present}: kết"
            f" quả sẽ không có giá trị / WARNING: {verified.count + len(paper)} ballots, more than"
            " the"
            f" {args.present} present: the result will be void",
            file=sys.stderr,
        )
    print(
        f"Có mặt {args.present}, {verified.count} phiếu điện tử, {len(paper)} phiếu giấy, đầu chuỗi"
        f" bảng tin {head} / present {args.present}, {verified.count} electronic ballots,"
        f" {len(paper)} paper ballots, board head {head}"
    )
    print(f"Xác nhận số có mặt (đã ký) / signed attendance statement: {out}")
    return 0


def _paper_files(
    args: argparse.Namespace, manifest: Manifest, verified: Board
) -> tuple[list[VerifiedBallot], int]:
    """The paper ballots of ``--voids`` and ``--paper`` (both or neither), every check of 13.3
    made, and the number of slips voided for paper; refused, with nothing signed or decrypted, if
    any check fails. Prints the paper ballots' tracking codes, to compare with those written on
    the paper ballots."""
    voids_path, paper_path = getattr(args, "voids", None), getattr(args, "paper", None)
    if voids_path is None and paper_path is None:
        return [], 0
    if voids_path is None or paper_path is None:
        raise UsageError(
            "phiếu giấy cần cả --voids và --paper", "paper ballots need both --voids and --paper"
        )
    try:
        voided = check_voids(Path(voids_path).read_bytes(), manifest=manifest)
        papers = check_papers(Path(paper_path).read_bytes(), manifest=manifest)
    except (PaperError, OSError) as exc:
        raise UsageError(f"PHIẾU GIẤY KHÔNG HỢP LỆ: {exc}", f"PAPER BALLOTS: {exc}") from None
    problems = paper_problems(voided, papers, verified.credentials)
    if problems:
        raise UsageError(
            "PHIẾU GIẤY KHÔNG KHỚP: " + "; ".join(problems),
            "THE PAPER BALLOTS DO NOT RECONCILE: " + "; ".join(problems),
        )
    print(
        f"{len(papers)} phiếu giấy hợp lệ ({len(voided)} thẻ hủy để bỏ phiếu giấy) / {len(papers)}"
        f" valid paper ballots ({len(voided)} slips voided for paper); mã theo dõi, đối chiếu với"
        " mã ghi trên phiếu giấy / tracking codes, compare with those on the paper ballots:"
    )
    for code in sorted(tracking_code(p.ballot.tracking_hash) for p in papers):
        print(f"  {code}")
    return [p.ballot for p in papers], len(voided)


def _require_head(head: str, typed: str, refusal_vi: str, refusal_en: str) -> None:
    """The board head, or with paper ballots the count head (13.3), must be the one typed."""
    if head != typed.strip().lower().replace(":", "").replace(" ", ""):
        raise UsageError(
            "đầu chuỗi khác đầu chuỗi đã công bố trong hội trường (đầu chuỗi bảng tin khi đóng;"
            f" có phiếu giấy: đầu chuỗi kiểm phiếu sau khi nhập phiếu giấy): {refusal_vi}",
            "the head differs from the published head read out in the room (the board head at"
            f" close; with paper ballots, the count head after they were entered): {refusal_en}",
        )


def _check_aggregate_against_board(
    aggregate: Any, manifest_path: Path, ballots_path: Path, args: argparse.Namespace
) -> tuple[Manifest, str]:
    """Refuse to decrypt unless the aggregate is exactly the sum of a valid board's ballots."""
    try:
        manifest = parse_manifest(
            _read_json(manifest_path, "manifest", "manifest"), shipped_rules=True
        )
        board = ballots_path.read_bytes()
    except (ManifestError, OSError) as exc:
        raise UsageError(
            f"không đọc được bảng tin: {exc}", f"cannot read the board: {exc}"
        ) from None
    report, verified = check_board(manifest, board)
    if verified is None:
        failed = [c for c in report.checks if not c.ok]
        raise UsageError(
            "BẢNG TIN KHÔNG HỢP LỆ, không giải mã: " + "; ".join(c.detail_vi for c in failed),
            "THE BOARD DOES NOT VERIFY, not decrypting: " + "; ".join(c.detail_en for c in failed),
        )
    paper, voided = _paper_files(args, manifest, verified)
    expected = verified.aggregate(manifest, paper)
    if canonical_json(expected) != canonical_json(aggregate):
        raise UsageError(
            "TỔNG KHÔNG KHỚP BẢNG TIN: không giải mã",
            "THE AGGREGATE DOES NOT MATCH THE BOARD: not decrypting",
        )
    head = count_head(str(expected["board_head"]), [p.tracking_hash for p in paper], voided)
    return manifest, head


CHALLENGE_DIFFERS = {
    "poll": (
        "tệp kiểm tra thuộc cuộc biểu quyết khác (dấu vân tay khác manifest)",
        "the challenge is another poll's (its fingerprint is not the manifest's)",
    ),
    "commitment": (
        "mã cam kết không khớp: hạt giống hoặc các lựa chọn không phải là những gì máy bỏ phiếu"
        " đã mã hóa",
        "the commitment differs: the seed or the choices are not what the booth encrypted",
    ),
    "ciphertexts": (
        "bản mã không phải là các lựa chọn và số ngẫu nhiên đã công bố",
        "the ciphertexts are not the revealed choices and randomness",
    ),
}


def cmd_check_challenge(args: argparse.Namespace) -> int:
    try:
        manifest = parse_manifest(_read_json(Path(args.manifest), "manifest", "manifest"))
    except ManifestError as exc:
        raise UsageError(f"manifest không hợp lệ: {exc}", f"invalid manifest: {exc}") from None
    path = Path(args.challenge)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise UsageError(
            f"không đọc được tệp kiểm tra {path}: {reason}",
            f"cannot read the challenge file {path}: {reason}",
        ) from None
    try:
        result = check_challenge_file(manifest, parse_challenge_text(text))
    except ChallengeError as exc:
        raise UsageError(
            f"không phải tệp kiểm tra hợp lệ ({exc.what}): {exc}",
            f"not a valid challenge ({exc.what}): {exc}",
        ) from None
    if not result.matches:
        vi, en = CHALLENGE_DIFFERS[result.differs or "commitment"]
        print(f"KHÔNG KHỚP / DOES NOT MATCH: {result.commitment}")
        print(f"  {vi}")
        print(f"  {en}")
        return 1
    label = "mã cam kết / commitment" if result.version == 2 else "mã theo dõi / tracking code"
    print(f"KHỚP / MATCH — {label}: {result.commitment}")
    grades = manifest.rules.grades
    for subject, choice in zip(manifest.subjects, result.choices, strict=True):
        grade = "—" if choice is None else f"{grades[choice].name_vi} / {grades[choice].name_en}"
        print(f"  {subject.name}: {grade}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tally.demo import run_demo

    signer = ServiceKey.load_or_create(Path(args.signing_key)) if args.signing_key else None
    try:
        rules = load_ruleset(args.rules)
        demo = run_demo(
            subjects=args.subjects,
            voters=args.voters,
            trustees=args.trustees,
            seed=args.seed,
            rules=rules,
            signer=signer,
            threshold=args.threshold,
            absent=args.absent,
        )
    except CountingError as exc:
        raise UsageError(
            f"không kiểm phiếu được, không có gói kiểm toán: {exc}",
            f"the poll cannot be counted, no bundle: {exc}",
        ) from None
    except ValueError as exc:
        raise UsageError(
            f"không tạo được cuộc bỏ phiếu mẫu: {exc}", f"cannot run the demo: {exc}"
        ) from None
    Path(args.out).write_bytes(bundle_bytes(demo.files))
    print(f"Gói kiểm toán mẫu / demo audit bundle: {args.out}")
    print(f"Kiểm tra bằng / verify with: tally verify {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    sizes = [int(x) for x in args.sizes.split(",") if x]
    figures = bench.run(
        subjects=args.subjects,
        grades=args.grades,
        repeat=args.repeat,
        sizes=sizes,
        electionguard=Path(args.electionguard) if args.electionguard else None,
    )
    print(json.dumps(figures, indent=2) if args.json else bench.format_figures(figures))
    return 0


# --- the Organization Board's credentials (on its own offline laptop) ------------------------

# What an authority key file's refusal says, in Vietnamese (the English is the exception's text).
_KEY_ERRORS_VI = {
    "wrong passphrase, or the key file was altered": "sai mật khẩu, hoặc tệp khóa đã bị sửa",
    "the key file is damaged": "tệp khóa bị hỏng",
    "unsupported key file encryption": "tệp khóa mã hóa theo cách không hỗ trợ",
    "the key file's public part is damaged": "phần công khai của tệp khóa bị hỏng",
    "the key file's private and public keys do not match": (
        "khóa bí mật và khóa công khai không khớp"
    ),
}


def _fresh(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} đã có, không ghi đè", f"{path} exists; not overwriting")


def _write_new(path: Path, text: str, created: list[Path]) -> None:
    """Create ``path`` (mode 0600, never overwriting) and note it in ``created`` for clean-up."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} đã có, không ghi đè", f"{path} exists; not overwriting") from None
    except OSError as exc:
        raise UsageError(
            f"không ghi được {path}: {exc.strerror}", f"cannot write {path}: {exc.strerror}"
        ) from None
    created.append(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(
            f"không ghi được {path}: {exc.strerror}", f"cannot write {path}: {exc.strerror}"
        ) from None


def _key_passphrase(args: argparse.Namespace, confirm: bool) -> str:
    try:
        return _passphrase(args, confirm)
    except OSError as exc:
        raise UsageError(
            f"không đọc được tệp mật khẩu {args.passphrase_file}: {exc.strerror}",
            f"cannot read the passphrase file {args.passphrase_file}: {exc.strerror}",
        ) from None


def _announce(fingerprint: str) -> None:
    print(f"Dấu vân tay khóa Ban Tổ chức / authority key fingerprint: {fingerprint}")


def cmd_credentials_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _fresh(out)
    passphrase = _key_passphrase(args, confirm=True)
    key = AuthorityKey.generate()
    try:
        key.save(out, passphrase)
    except FileExistsError:
        raise UsageError(f"{out} đã có, không ghi đè", f"{out} exists; not overwriting") from None
    except OSError as exc:
        raise UsageError(
            f"không ghi được {out}: {exc.strerror}", f"cannot write {out}: {exc.strerror}"
        ) from None
    print(f"Khóa Ban Tổ chức (đã mã hóa) / authority key (encrypted): {out}")
    _announce(key.fingerprint)
    print(
        "Hãy công bố dấu vân tay này cho Ban kiểm phiếu (đọc to, ghi vào biên bản) trước khi in"
        " phiếu; giữ tệp khóa và mật khẩu ở máy này.\n"
        "Announce this fingerprint to the counting committee (read it out, write it on the paper"
        " record) before printing slips; keep the key file and its passphrase on this laptop."
    )
    return 0


def _load_authority(path: Path, passphrase: str) -> AuthorityKey:
    try:
        return AuthorityKey.load(path, passphrase)
    except OSError as exc:
        raise UsageError(
            f"không đọc được tệp khóa {path}: {exc.strerror}",
            f"cannot read the key file {path}: {exc.strerror}",
        ) from None
    except AuthorityError as exc:
        vi = _KEY_ERRORS_VI.get(str(exc), "không phải tệp khóa Ban Tổ chức")
        raise UsageError(
            f"không mở được khóa Ban Tổ chức {path}: {vi}",
            f"cannot open the authority key {path}: {exc}",
        ) from None
    except ValueError:
        raise UsageError(
            f"tệp khóa {path} bị hỏng (không phải JSON)",
            f"the key file {path} is damaged (not JSON)",
        ) from None


def _booth_url(text: str) -> str:
    url = text.strip()
    scheme, _, rest = url.partition("://")
    if (
        scheme.lower() not in ("http", "https")
        or not rest
        or rest.startswith("/")
        or "#" in url
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)
    ):
        raise UsageError(
            "--booth-url phải là địa chỉ trang bỏ phiếu http(s)://… lấy ở trang cuộc biểu quyết,"
            " không có dấu #",
            "--booth-url must be the booth's http(s)://… address from the poll page, without #",
        )
    return url


def cmd_credentials_mint(args: argparse.Namespace) -> int:
    from tally import slips

    poll_uid = args.poll_uid.strip().lower()
    if not is_poll_uid(poll_uid):
        raise UsageError(
            "--poll-uid phải là mã cuộc biểu quyết gồm 32 chữ số hex, lấy ở trang cuộc biểu quyết",
            "--poll-uid must be the poll's uid, 32 hexadecimal digits, from the poll page",
        )
    count, reserve = args.count, args.reserve
    if count < 1:
        raise UsageError("--count phải ít nhất là 1", "--count must be at least 1")
    if reserve < 0:
        raise UsageError("--reserve không được âm", "--reserve cannot be negative")
    if count + reserve > MAX_CREDENTIALS:
        raise UsageError(
            f"nhiều nhất {MAX_CREDENTIALS} phiếu (kể cả dự phòng) cho một cuộc biểu quyết",
            f"at most {MAX_CREDENTIALS} slips (reserve included) for one poll",
        )
    # Printed in the sheet's header only, for whoever opens the booth on the tablets.
    booth_url = _booth_url(args.booth_url) if args.booth_url is not None else None
    title = args.title.strip() if args.title else None
    if title is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in title):
        raise UsageError("--title có ký tự điều khiển", "--title holds control characters")
    try:
        slips.require_extra()
    except slips.SlipsUnavailable:
        raise UsageError(
            "thiếu gói để in phiếu (qrcode, jinja2); cài trong thư mục mã nguồn:"
            f" {slips.INSTALL_HINT}",
            "the slip sheet's packages (qrcode, jinja2) are missing; install them from the"
            f" source folder: {slips.INSTALL_HINT}",
        ) from None
    out = Path(args.out)
    list_path, sheet_path = out / "credentials.json", out / "slips.html"
    for path in (list_path, sheet_path):
        _fresh(path)
    key = _load_authority(Path(args.key), _key_passphrase(args, confirm=False))

    try:
        document, regular, spare = mint(key, poll_uid, count, reserve)
    except AuthorityError as exc:  # checked above; kept so no case ends in a traceback
        raise UsageError(f"không tạo được phiếu: {exc}", f"cannot mint: {exc}") from None
    sheet = slips.render_slips(
        poll_uid=poll_uid,
        title=title,
        booth_url=booth_url,
        slips=regular,
        reserve=spare,
        fingerprint=key.fingerprint,
    )
    created: list[Path] = []
    made_dir = False
    try:
        if not out.is_dir():
            try:
                out.mkdir(mode=0o700)
            except OSError as exc:
                raise UsageError(
                    f"không tạo được thư mục {out}: {exc.strerror}",
                    f"cannot create the directory {out}: {exc.strerror}",
                ) from None
            made_dir = True
        # The list first: a sheet without its list would be slips the server never accepts.
        _write_new(list_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", created)
        _write_new(sheet_path, sheet, created)
    except BaseException:
        for path in reversed(created):
            path.unlink(missing_ok=True)
        if made_dir:
            out.rmdir()
        raise

    print(
        f"Đã tạo {count} phiếu + {reserve} thẻ dự phòng cho cuộc biểu quyết {poll_uid}"
        f" / minted {count} slips + {reserve} reserve for poll {poll_uid}"
    )
    print(f"Danh sách công khai đã ký / signed public list:        {list_path}")
    print(f"Tờ in phiếu (CHỨA MÃ BÍ MẬT) / slip sheet (SECRET):    {sheet_path}")
    _announce(key.fingerprint)
    print(
        "Tải credentials.json lên máy chủ: `ballot credentials import POLL credentials.json`"
        " hoặc ở trang cuộc biểu quyết; in slips.html, rồi xóa tệp.\n"
        "Upload credentials.json to the server: `ballot credentials import POLL credentials.json`"
        " or the poll page; print slips.html, then delete it."
    )
    return 0


# --- parser ----------------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} không phải số nguyên / is not a whole number"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tally",
        description="Kiểm phiếu có thể kiểm chứng / verifiable counting for rating ballots",
    )
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="kiểm tra gói kiểm toán / verify an audit bundle")
    v.add_argument("bundle")
    v.add_argument("--json", action="store_true")
    v.add_argument(
        "--signer-key", help="khóa công khai ký biên bản (hex) phải khớp / pin the signer"
    )
    v.add_argument("--workers", type=_positive, default=None, help="số tiến trình / processes")
    v.add_argument(
        "--linked",
        action="append",
        metavar="BUNDLE",
        help="gói của cuộc biểu quyết khác cùng hội nghị có mức được dùng (result.linked) /"
        " another poll's bundle whose grades this result used; repeatable",
    )
    v.set_defaults(func=cmd_verify)

    cc = sub.add_parser(
        "conference-check",
        help="kiểm các gói của một hội nghị và tỷ lệ xuất sắc của cả nhóm /"
        " verify a conference's bundles and the ceiling across its polls",
    )
    cc.add_argument("bundles", nargs="+", metavar="BUNDLE")
    cc.add_argument("--workers", type=_positive, default=None, help="số tiến trình / processes")
    cc.set_defaults(func=cmd_conference_check)

    r = sub.add_parser("rules", help="bộ quy tắc / rule sets")
    rsub = r.add_subparsers(dest="rules_command", required=True)
    rc = rsub.add_parser(
        "check", help="kiểm tra tệp bộ quy tắc của tỉnh / check a province's rule set file"
    )
    rc.add_argument("file")
    rc.set_defaults(func=cmd_rules_check)

    g = sub.add_parser("grade", help="xếp loại thử từ số phiếu / what-if grade from counts")
    g.add_argument("--rules", default="qd124-2023")
    g.add_argument("--counts", required=True, help="XS,T,HT,KHT")
    g.add_argument("--blank", type=int, default=0)
    g.add_argument("--denominator", choices=DENOMINATORS)
    g.add_argument("--cast", type=int)
    g.add_argument("--present", type=int)
    g.add_argument("--members", type=int)
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=cmd_grade)

    t = sub.add_parser("trustee", help="Ban kiểm phiếu / trustee tools")
    tsub = t.add_subparsers(dest="trustee_command", required=True)
    k = tsub.add_parser("keygen", help="tạo khóa / generate a key")
    k.add_argument("--out", required=True)
    k.add_argument("--name", default="Thành viên Ban kiểm phiếu")
    k.add_argument("--passphrase-file")
    k.set_defaults(func=cmd_keygen)
    d = tsub.add_parser("decrypt", help="giải mã phần của mình / partial decryption")
    d.add_argument("--key", required=True)
    d.add_argument("--aggregate", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--manifest", required=True, help="manifest.json của cuộc biểu quyết")
    d.add_argument("--ballots", required=True, help="ballots.jsonl của bảng tin / the board")
    d.add_argument(
        "--expected-head",
        required=True,
        help="đầu chuỗi bảng tin công bố khi đóng (lấy từ màn chiếu, không từ máy chủ); có phiếu"
        " giấy: đầu chuỗi kiểm phiếu đọc sau khi nhập phiếu giấy / board head published at close"
        " (from the projector, not from the server); with paper ballots, the count head read out"
        " after they were entered",
    )
    d.add_argument("--voids", help="voids.jsonl: thẻ hủy để bỏ phiếu giấy / slips voided for paper")
    d.add_argument("--paper", help="paper.jsonl: phiếu giấy đã nhập / the paper ballots entered")
    d.add_argument("--passphrase-file")
    d.set_defaults(func=cmd_decrypt)
    dl = tsub.add_parser(
        "deal", help="lễ tạo khóa, bước 1: phần chia của mình / key ceremony step 1: your dealing"
    )
    dl.add_argument("--key", required=True)
    dl.add_argument("--ceremony", required=True, help="tệp lễ tạo khóa / the ceremony file")
    dl.add_argument("--out", required=True)
    dl.add_argument("--passphrase-file")
    dl.set_defaults(func=cmd_deal)
    chk = tsub.add_parser(
        "check",
        help="lễ tạo khóa, bước 2: kiểm tra các phần nhận được / step 2: check the shares received",
    )
    chk.add_argument("--key", required=True)
    chk.add_argument("--ceremony", required=True, help="tệp lễ tạo khóa / the ceremony file")
    chk.add_argument(
        "--dealings", required=True, help="danh sách n phần chia / the list of the n dealings"
    )
    chk.add_argument("--out", required=True)
    chk.add_argument("--passphrase-file")
    chk.set_defaults(func=cmd_check)
    a = tsub.add_parser(
        "attest",
        help="ký xác nhận số có mặt khi đóng / sign the attendance statement at close",
    )
    a.add_argument("--key", required=True)
    a.add_argument("--manifest", required=True, help="manifest.json của cuộc biểu quyết")
    a.add_argument("--ballots", required=True, help="ballots.jsonl của bảng tin / the board")
    a.add_argument("--attendance", required=True, help="attendance.jsonl (chuỗi điểm danh)")
    a.add_argument(
        "--expected-head",
        required=True,
        help="đầu chuỗi bảng tin công bố khi đóng (từ màn chiếu); có phiếu giấy: đầu chuỗi kiểm"
        " phiếu / board head published at close; with paper ballots, the count head",
    )
    a.add_argument(
        "--present",
        required=True,
        type=int,
        help="số có mặt Ban kiểm phiếu đếm được / members present as the committee counted",
    )
    a.add_argument("--voids", help="voids.jsonl: thẻ hủy để bỏ phiếu giấy / slips voided for paper")
    a.add_argument("--paper", help="paper.jsonl: phiếu giấy đã nhập / the paper ballots entered")
    a.add_argument("--out", required=True)
    a.add_argument("--passphrase-file")
    a.set_defaults(func=cmd_attest)
    pb = tsub.add_parser(
        "paper-ballot",
        help="nhập một phiếu giấy (mã hóa, ký) sau khi đóng / enter one paper ballot after close",
    )
    pb.add_argument("--key", required=True)
    pb.add_argument("--manifest", required=True, help="manifest.json của cuộc biểu quyết")
    pb.add_argument(
        "--choices-file",
        required=True,
        help="tệp JSON {mã đối tượng: mã mức hoặc null} theo phiếu giấy / JSON file {subject key:"
        " grade code or null} as on the paper ballot (never on the command line)",
    )
    pb.add_argument("--out", required=True)
    pb.add_argument("--passphrase-file")
    pb.set_defaults(func=cmd_paper_ballot)

    ch = sub.add_parser(
        "count-head",
        help="đầu chuỗi kiểm phiếu từ đầu chuỗi bảng tin và mã ghi trên phiếu giấy / the count"
        " head from the board head and the codes written on the paper ballots",
    )
    ch.add_argument("--board-head", required=True, help="đầu chuỗi bảng tin khi đóng")
    ch.add_argument(
        "--voided",
        type=int,
        help="số thẻ hủy để bỏ phiếu giấy (mặc định: số mã) / slips voided for paper (default:"
        " the number of codes)",
    )
    ch.add_argument("codes", nargs="*", metavar="MÃ", help="mã theo dõi của từng phiếu giấy")
    ch.set_defaults(func=cmd_count_head)
    cr = sub.add_parser(
        "credentials",
        help="thẻ biểu quyết, trên máy của Ban Tổ chức / the Board's slips, on its own laptop",
    )
    crsub = cr.add_subparsers(dest="credentials_command", required=True)
    ck = crsub.add_parser("keygen", help="tạo khóa Ban Tổ chức / make the authority key")
    ck.add_argument("--out", required=True, metavar="KEYFILE")
    ck.add_argument("--passphrase-file")
    ck.set_defaults(func=cmd_credentials_keygen)
    cm = crsub.add_parser(
        "mint", help="tạo phiếu và danh sách đã ký, không cần mạng / mint slips offline"
    )
    cm.add_argument("--poll-uid", required=True, help="mã cuộc biểu quyết / the poll's uid")
    cm.add_argument("--count", required=True, type=_whole, help="số phiếu / number of slips")
    cm.add_argument(
        "--reserve", required=True, type=_whole, help="số thẻ dự phòng / reserve slips (0: none)"
    )
    cm.add_argument("--key", required=True, metavar="KEYFILE")
    cm.add_argument(
        "--booth-url",
        help="địa chỉ trang bỏ phiếu, in ở đầu trang (không có trong mã QR) / the booth's address,"
        " printed in the sheet's header (never in the QR codes)",
    )
    cm.add_argument("--out", required=True, metavar="DIR")
    cm.add_argument("--title", help="tên cuộc biểu quyết in trên phiếu / poll title on the sheet")
    cm.add_argument("--passphrase-file")
    cm.set_defaults(func=cmd_credentials_mint)
    cv = crsub.add_parser(
        "void",
        help="hủy một thẻ để đồng chí đó bỏ phiếu giấy (ký bằng khóa của thẻ) / void a slip for"
        " a paper ballot (signed with the slip's key)",
    )
    cv.add_argument("--manifest", required=True, help="manifest.json của cuộc biểu quyết")
    cv.add_argument("--out", required=True)
    cv.set_defaults(func=cmd_credentials_void)

    c = sub.add_parser(
        "check-challenge", help="kiểm tra phiếu kiểm tra (Benaloh) / check a challenged ballot"
    )
    c.add_argument(
        "challenge",
        help="tệp kiểm tra hoặc nội dung mã QR từ trang bỏ phiếu / the booth's file or QR text",
    )
    c.add_argument("--manifest", required=True, help="manifest.json của cuộc biểu quyết")
    c.set_defaults(func=cmd_check_challenge)

    m = sub.add_parser("demo-election", help="cuộc bỏ phiếu mẫu / a synthetic poll")
    m.add_argument("--subjects", type=int, default=15)
    m.add_argument("--voters", type=int, default=60)
    m.add_argument("--trustees", type=int, default=3)
    m.add_argument(
        "--threshold",
        type=int,
        help="K: số thành viên đủ để kiểm phiếu (mặc định quá bán; 0: tất cả, không có lễ tạo khóa)"
        " / any K trustees count (default a majority; 0: all, no key ceremony)",
    )
    m.add_argument(
        "--absent",
        type=int,
        default=0,
        help="số thành viên vắng khi kiểm phiếu / trustees who take no part in counting",
    )
    m.add_argument("--seed", type=int)
    m.add_argument("--rules", default="qd124-2023")
    m.add_argument("--signing-key", help="tệp khóa ký (tạo nếu chưa có) / signing key file")
    m.add_argument("--out", required=True)
    m.set_defaults(func=cmd_demo)

    b = sub.add_parser("bench", help="đo tốc độ / benchmark")
    b.add_argument("--subjects", type=int, default=15)
    b.add_argument("--grades", type=int, default=4)
    b.add_argument("--repeat", type=int, default=20)
    b.add_argument("--sizes", default="60,500")
    b.add_argument("--electionguard", help="Python 3.10 with electionguard (default .venv-eg)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except (UsageError, BundleError, KeyFileError) as exc:
        print(f"lỗi / error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
