"""A poll's life: create and edit while draft, open (the manifest is fixed), close.

Each function runs in the caller's transaction (``ballot.db.transaction()``), writes an audit event
and raises :class:`ServiceError` with a bilingual message when the step is not allowed. Writing
functions take their lock first: the poll's write lock, or the conference's (which also locks its
polls, so nothing opens while a conference is edited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ballot.db import write_lock
from ballot.models import Ballot, Credential, Poll, PollCount
from ballot.services import audit
from ballot.services import ceremony as key_ceremony
from ballot.services.attendance import append_entry
from ballot.services.conference_file import REGIME_2025
from ballot.services.conferences import lock_conference
from ballot.services.errors import NotFound, ServiceError
from ballot.services.fields import (
    POLL,
    apply_changes,
    check_all,
    check_electorate,
    known,
    names,
    one_line,
)
from ballot.services.rounds import round_link
from tally.board import genesis
from tally.bundle import read_bundle
from tally.canonical import canonical_json, parse_json, sha256_hex
from tally.manifest import EXCLUSION_REASONS, ManifestError, make_manifest, parse_manifest
from tally.record import key_fingerprint
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


def _check_present(
    poll: Poll,
    present: int,
    members: int,
    status: int,
    code: str,
    then: tuple[str, str] = ("", ""),
) -> None:
    """The number present is at most the members less the poll's lawful exclusions."""
    excluded = len(poll.exclusions or [])
    if excluded and present > members - excluded:
        raise ServiceError(
            status,
            code,
            f"Có mặt ({present}) lớn hơn tổng số ({members}) trừ {excluded} đồng chí không"
            f" tính{then[0]}.",
            f"Present ({present}) is more than the members ({members}) less the {excluded}"
            f" excluded{then[1]}.",
        )


def update_poll(
    session: Session, poll_id: int, changes: Mapping[str, Any], actor: str = "cli"
) -> Poll:
    """Change a draft poll's title, rule set or electorate."""
    changes = known(changes, POLL_FIELDS)
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa cuộc biểu quyết", "edit the poll")
    current = {name: getattr(poll, name) for name in POLL_FIELDS}
    values = _poll_values({**current, **changes})
    _check_present(poll, values["present"], values["members"], 400, "bad_field")
    if poll.credential_list is not None:
        listed = parse_json(poll.credential_list)
        if values["members"] < max(listed["count"], listed["reserve"]):
            raise ServiceError(
                409,
                "members_below_list",
                f"Danh sách của Ban Tổ chức đã nhập có {listed['count']} phiếu và"
                f" {listed['reserve']} thẻ dự phòng: số ủy viên không thể ít hơn. Nhập lại"
                " danh sách mới trước.",
                f"The imported list has {listed['count']} slips and {listed['reserve']}"
                " reserve: the members cannot be fewer. Import a new list first.",
            )
    changed = apply_changes(poll, values)
    if changed:
        audit.record(session, actor, "poll.update", poll=poll_id, **changed)
    return poll


def rules_notice(poll: Poll) -> tuple[str, str] | None:
    """What the operator must know about the poll's rule set before opening it: not confirmed
    by the province, or the 2023 regime's for a conference held under the 2025 one."""
    try:
        rules = load_ruleset(poll.rules_id)
    except ValueError:
        return None
    notes_vi, notes_en = [], []
    if not rules.is_confirmed:
        notes_vi.append(
            f"Bộ quy tắc {rules.id} (phiên bản {rules.version}) CHƯA được tỉnh xác nhận: ngưỡng,"
            " mẫu số, cách cộng dồn, phiếu để trống và số lượng tối thiểu là giá trị mẫu. Biên"
            " bản sẽ ghi rõ điều này."
        )
        notes_en.append(
            f"Rule set {rules.id} (version {rules.version}) is NOT confirmed by the province: the"
            " threshold, denominator, cumulation, blanks and quorum are template values. The"
            " record will say so."
        )
    if rules.id == "qd124-2023" and poll.conference.date > REGIME_2025:
        notes_vi.append(
            "Hội nghị họp sau ngày 30/8/2025 nhưng dùng bộ quy tắc của Quy định 124-QĐ/TW, đã"
            " được thay thế bởi Quy định 366-QĐ/TW."
        )
        notes_en.append(
            "The conference is held after 30/08/2025 but uses the rule set of Regulation"
            " 124-QĐ/TW, replaced by Regulation 366-QĐ/TW."
        )
    return (" ".join(notes_vi), " ".join(notes_en)) if notes_vi else None


def acknowledge_unconfirmed_rules(session: Session, poll_id: int, actor: str = "cli") -> Poll:
    """The operator acknowledges, for this draft poll, that its rule set is not confirmed by
    the province (audited; a changed rule set needs a new acknowledgement)."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "xác nhận bộ quy tắc", "acknowledge the rule set")
    rules = load_ruleset(poll.rules_id)
    if poll.rules_acknowledged != rules.digest:
        poll.rules_acknowledged = rules.digest
        audit.record(
            session,
            actor,
            "poll.acknowledge_rules",
            poll=poll_id,
            rules=rules.id,
            version=rules.version,
            digest=rules.digest,
            confirmed=rules.is_confirmed,
        )
    return poll


def _adopted(session: Session, poll: Poll) -> tuple[dict[str, str], dict[str, str]]:
    """An adoption poll's link: the adopted poll (same conference, counted, not void) and each
    subject's adopted grade, read from its signed record."""
    adopted = poll.adopts
    if adopted is None:
        raise ServiceError(
            409,
            "poll_not_ready",
            "Cuộc biểu quyết thông qua phải chọn cuộc biểu quyết có kết quả được thông qua.",
            "An adoption poll must name the poll whose result it adopts.",
        )
    if adopted.conference_id != poll.conference_id or adopted.id == poll.id:
        raise ServiceError(
            409,
            "adopts_foreign",
            f"Cuộc biểu quyết số {adopted.id} không thuộc hội nghị này.",
            f"Poll {adopted.id} is not of this conference.",
        )
    bundle = session.scalar(select(PollCount.bundle).where(PollCount.poll_id == adopted.id))
    if bundle is None:
        raise ServiceError(
            409,
            "adopts_not_counted",
            f"Cuộc biểu quyết số {adopted.id} ({adopted.title}) chưa kiểm phiếu xong: kiểm phiếu"
            " trước khi mở cuộc biểu quyết thông qua.",
            f"Poll {adopted.id} ({adopted.title}) is not counted yet: count it before opening"
            " the adoption poll.",
        )
    files = read_bundle(bundle)
    record = parse_json(files["record.json"])
    if record.get("void"):
        raise ServiceError(
            409,
            "adopts_void",
            f"Kết quả cuộc biểu quyết số {adopted.id} không có giá trị: không thể thông qua.",
            f"Poll {adopted.id}'s result is void: it cannot be adopted.",
        )
    grades = {row["key"]: row["grade"] for row in record["subjects"]}
    chosen: dict[str, str] = {}
    for s in poll.subjects:
        grade = grades.get(s.key)
        if grade is None:
            raise ServiceError(
                409,
                "adopts_undetermined",
                f"{s.name}: không có mức đã xác định ở cuộc biểu quyết số {adopted.id} để thông"
                " qua.",
                f"{s.name}: poll {adopted.id} has no determined grade to adopt.",
            )
        chosen[s.key] = grade
    link = {
        "poll_uid": adopted.uid,
        "title": adopted.title,
        "record": sha256_hex(files["record.json"]),
    }
    return link, chosen


def set_exclusions(
    session: Session, poll_id: int, exclusions: list[dict[str, str]], actor: str = "cli"
) -> Poll:
    """The draft poll's lawful exclusions from its members ([{name, reason}], reasons of
    tally.manifest.EXCLUSION_REASONS): the quorum's and the members denominator's base and the
    bound on the number present are the members less them; each is listed in the record."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa danh sách không tính vào tổng số", "edit the exclusions")
    checked = []
    for n, item in enumerate(exclusions, start=1):
        name = one_line(item.get("name"), f"Người không tính thứ {n}", f"Exclusion {n}")
        reason = item.get("reason")
        if reason not in EXCLUSION_REASONS:
            raise ServiceError(
                400,
                "bad_field",
                f"Lý do không tính thứ {n}: {reason!r} không phải một trong"
                f" {', '.join(EXCLUSION_REASONS)}.",
                f"Exclusion {n}'s reason: {reason!r} is not one of {', '.join(EXCLUSION_REASONS)}.",
            )
        checked.append({"name": name, "reason": str(reason)})
    if poll.present > poll.members - len(checked) or len(checked) >= poll.members:
        raise ServiceError(
            400,
            "bad_field",
            f"Có mặt ({poll.present}) phải không quá tổng số ({poll.members}) trừ số không tính"
            f" ({len(checked)}), và phải còn người biểu quyết.",
            f"Present ({poll.present}) must be at most the members ({poll.members}) less the"
            f" exclusions ({len(checked)}), with someone left to vote.",
        )
    poll.exclusions = checked or None
    audit.record(session, actor, "poll.exclusions", poll=poll_id, exclusions=checked)
    return poll


def set_outstanding_groups(
    session: Session, poll_id: int, groups: list[str], actor: str = "cli"
) -> Poll:
    """The peer groups of this draft poll whose excellent ceiling the competent level raised
    (the rule set's excellent_ceiling_outstanding, Quy định 366: up to 25%)."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "sửa nhóm được nâng tỷ lệ", "edit the outstanding groups")
    rules = load_ruleset(poll.rules_id)
    peer = {s.peer_group for s in poll.subjects if s.peer_group}
    wanted = sorted(set(groups))
    unknown = [g for g in wanted if g not in peer]
    if unknown or (wanted and rules.excellent_ceiling_outstanding is None):
        raise ServiceError(
            400,
            "bad_field",
            f"Nhóm so sánh: {', '.join(unknown) or '—'} không có trong cuộc biểu quyết, hoặc bộ"
            f" quy tắc {rules.id} không có tỷ lệ nâng (excellent_ceiling_outstanding).",
            f"Peer groups: {', '.join(unknown) or '—'} not in this poll, or rule set {rules.id}"
            " has no raised ceiling (excellent_ceiling_outstanding).",
        )
    poll.outstanding_groups = wanted or None
    audit.record(session, actor, "poll.outstanding_groups", poll=poll_id, groups=wanted)
    return poll


def set_adopts(session: Session, poll_id: int, adopted_id: int | None, actor: str = "cli") -> Poll:
    """Name the poll whose result this draft adoption poll adopts (same conference, a grading
    poll); whether it is counted is checked when the poll opens."""
    poll = get_poll(session, poll_id, lock=True)
    require_draft(poll, "chọn cuộc biểu quyết được thông qua", "set the adopted poll")
    if not load_ruleset(poll.rules_id).is_adoption:
        raise ServiceError(
            400,
            "bad_field",
            "Chỉ cuộc biểu quyết theo bộ quy tắc thông qua mới thông qua kết quả khác.",
            "Only a poll under an adoption rule set adopts another poll's result.",
        )
    adopted = None if adopted_id is None else get_poll(session, adopted_id)
    if adopted is not None and (
        adopted.conference_id != poll.conference_id
        or adopted.id == poll.id
        or load_ruleset(adopted.rules_id).is_adoption
    ):
        raise ServiceError(
            400,
            "adopts_foreign",
            f"Cuộc biểu quyết số {adopted.id} không phải cuộc xếp loại khác của hội nghị này.",
            f"Poll {adopted.id} is not another grading poll of this conference.",
        )
    poll.adopts = adopted
    audit.record(session, actor, "poll.adopts", poll=poll_id, adopts=adopted_id)
    return poll


def open_poll(
    session: Session,
    poll_id: int,
    signer_public_key: bytes,
    actor: str = "cli",
    *,
    acknowledge_rules: bool = False,
) -> Poll:
    """Fix the manifest (version 2): subjects, rule set, trustees' joint key, the authority's
    credential list; start the attendance chain with the number present.

    A rule set the province has not confirmed opens only with ``acknowledge_rules`` (or an
    earlier ``acknowledge_rules``), which is audited. An adoption poll takes each subject's
    proposed grade from the adopted poll's signed record."""
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
            "Cần ít nhất một thành viên Ban kiểm phiếu và danh sách thẻ biểu quyết của Ban Tổ"
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
    rules = load_ruleset(poll.rules_id)
    if not rules.is_confirmed and poll.rules_acknowledged != rules.digest:
        if not acknowledge_rules:
            raise ServiceError(
                409,
                "rules_not_confirmed",
                f"Bộ quy tắc {rules.id} chưa được tỉnh xác nhận. Người điều hành phải xác nhận"
                " đã biết điều này trước khi mở (ô xác nhận trên trang mở, hoặc ballot poll"
                " open --acknowledge-unconfirmed-rules); việc xác nhận được ghi vào nhật ký.",
                f"Rule set {rules.id} is not confirmed by the province. The operator must"
                " acknowledge it before opening (the box on the open page, or ballot poll open"
                " --acknowledge-unconfirmed-rules); the acknowledgement is logged.",
            )
        acknowledge_unconfirmed_rules(session, poll_id, actor)
    _check_present(
        poll,
        poll.present,
        poll.members,
        409,
        "poll_not_ready",
        (": sửa số có mặt trước khi mở", ": correct it before opening"),
    )
    conference = poll.conference
    # The conference's key ceremony, if it holds one: any k of the trustees count (9.4).
    ceremony = key_ceremony.for_poll(session, poll)
    subjects = [s.info() for s in poll.subjects]
    adopts = None
    if rules.is_adoption:
        adopts, chosen = _adopted(session, poll)
        subjects = [replace(info, proposed_grade=chosen[info.key]) for info in subjects]
    data = make_manifest(
        poll_id=str(poll.id),
        poll_uid=poll.uid,
        title=poll.title,
        conference=manifest_conference(conference),
        subjects=subjects,
        rules=rules,
        trustees=trustees,
        credential_list=parse_json(poll.credential_list),
        members=poll.members,
        signer_public_key=signer_public_key,
        exclusions=poll.exclusions or (),
        outstanding_groups=poll.outstanding_groups or (),
        adopts=adopts,
        ceremony=None if ceremony is None else ceremony.manifest_part,
        round=round_link(session, poll),
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


def manifest_conference(conference: Any) -> dict[str, str]:
    """The manifest's ``conference`` (strings only): what the record's header prints. The
    party-document fields are written only when set; ``copies`` always (protocol v2)."""
    out = {
        "title": conference.title,
        "body": conference.body,
        "date": conference.date.isoformat(),
        "place": conference.place,
    }
    for key in ("superior_body", "issuing_body", "doc_symbol", "place_name", "session"):
        value = getattr(conference, key, "") or ""
        if value:
            out[key] = value
    out["copies"] = str(getattr(conference, "copies", 3) or 3)
    return out


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
