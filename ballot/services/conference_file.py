"""Import a whole conference (its polls, subjects and electorates) from a TOML file.

See ``docs/examples/hoi-nghi-2023.toml`` for the format. Every error names the field, e.g.
``polls[1].subjects[0].kind``, and nothing is stored unless the whole file is valid.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ballot.models import Conference, Poll, Subject
from ballot.services import audit
from ballot.services.fields import CONFERENCE, TEXT_MAX, has_control_characters, names
from tally.manifest import EXCLUSION_REASONS
from tally.results import SubjectInfo, parse_score
from tally.rules import load_ruleset

# A poll dated after this uses the 2025 regime (Quy định 366-QĐ/TW of 30/08/2025).
REGIME_2025 = dt.date(2025, 8, 30)


class ConferenceFileError(ValueError):
    """The conference file is invalid; the message names the field."""


# The conference table's keys are its declared fields; a poll names its rule set ``rules`` and
# may give its own ``[polls.electorate]``.
_CONFERENCE_KEYS = set(names(CONFERENCE))
_REQUIRED_CONFERENCE_KEYS = {f.name for f in CONFERENCE if f.required}
_POLL_KEYS = {"key", "title", "rules", "electorate", "subjects", "outstanding_groups", "adopts"}


def _keys(table: Mapping[str, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConferenceFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(required - set(table))
    if missing:
        raise ConferenceFileError(f"{where}.{missing[0]}: missing")


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ConferenceFileError(f"{where}.{key}: expected a non-empty string")
    _one_line(value, f"{where}.{key}")
    return value.strip()


def _one_line(value: str, where: str) -> None:
    """The same limits as the forms' (ballot.services.fields): one line of printable text, not
    too long."""
    if has_control_characters(value):  # stored as written for subjects: check it all
        raise ConferenceFileError(f"{where}: holds a control character (ký tự điều khiển)")
    if len(value.strip()) > TEXT_MAX:
        raise ConferenceFileError(f"{where}: at most {TEXT_MAX} characters")


def _count(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConferenceFileError(f"{where}.{key}: expected a whole number >= 0, got {value!r}")
    return value


def _electorate(table: Mapping[str, Any], where: str) -> tuple[int, int]:
    members, present = _count(table, "members", where), _count(table, "present", where)
    if members < 1:
        raise ConferenceFileError(f"{where}.members: at least 1")
    if present > members:
        raise ConferenceFileError(f"{where}.present: {present} is more than members ({members})")
    return members, present


def _copies(conf: Mapping[str, Any]) -> int:
    if "copies" not in conf:
        return 3
    value = _count(conf, "copies", "conference")
    if value < 1:
        raise ConferenceFileError("conference.copies: at least 1")
    return value


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ConferenceFileError(f"{where}: expected a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConferenceFileError(f"{where}: expected a date (YYYY-MM-DD), got {value!r}")


def parse_conference(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check the file's contents; return the conference fields and the polls."""
    _keys(data, {"conference", "polls"}, {"conference", "polls"}, "file")
    conf = data["conference"]
    if not isinstance(conf, dict):
        raise ConferenceFileError("conference: expected a table")
    _keys(conf, _CONFERENCE_KEYS, _REQUIRED_CONFERENCE_KEYS, "conference")
    members, present = _electorate(conf, "conference")
    conference = {
        "title": _text(conf, "title", "conference"),
        "body": _text(conf, "body", "conference"),
        "date": _date(conf["date"], "conference.date"),
        "place": _text(conf, "place", "conference") if "place" in conf else "",
        "members": members,
        "present": present,
        **{
            key: _text(conf, key, "conference") if key in conf else ""
            for key in ("superior_body", "issuing_body", "doc_symbol", "place_name", "session")
        },
        "copies": _copies(conf),
    }
    polls_in = data["polls"]
    if not isinstance(polls_in, list) or not polls_in:
        raise ConferenceFileError("polls: expected at least one [[polls]] table")
    polls: list[dict[str, Any]] = []
    for p, poll in enumerate(polls_in):
        where = f"polls[{p}]"
        if not isinstance(poll, dict):
            raise ConferenceFileError(f"{where}: expected a table")
        _keys(poll, _POLL_KEYS, {"title", "rules", "subjects"}, where)
        rules_id = _text(poll, "rules", where)
        try:
            rules = load_ruleset(rules_id)
        except ValueError as exc:
            raise ConferenceFileError(f"{where}.rules: {exc}") from None
        exclusions: list[dict[str, str]] = []
        if "electorate" in poll:
            if not isinstance(poll["electorate"], dict):
                raise ConferenceFileError(f"{where}.electorate: expected a table")
            _keys(
                poll["electorate"],
                {"members", "present", "exclusions"},
                {"members", "present"},
                f"{where}.electorate",
            )
            p_members, p_present = _electorate(poll["electorate"], f"{where}.electorate")
            exclusions = _exclusions(
                poll["electorate"], f"{where}.electorate", p_members, p_present
            )
        else:
            p_members, p_present = members, present
        subjects_in = poll["subjects"]
        if not isinstance(subjects_in, list) or not subjects_in:
            raise ConferenceFileError(f"{where}.subjects: expected at least one subject")
        subjects: list[SubjectInfo] = []
        for s, subject in enumerate(subjects_in):
            s_where = f"{where}.subjects[{s}]"
            if not isinstance(subject, dict):
                raise ConferenceFileError(f"{s_where}: expected a table")
            for field, value in subject.items():
                if isinstance(value, str):
                    _one_line(value, f"{s_where}.{field}")
            subjects.append(_subject(subject, s_where, rules))
        keys = [s.key for s in subjects]
        for s, key in enumerate(keys):
            if key in keys[:s]:
                raise ConferenceFileError(f"{where}.subjects[{s}].key: {key!r} appears twice")
        groups = poll.get("outstanding_groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ConferenceFileError(f"{where}.outstanding_groups: expected a list of peer groups")
        peer = {s.peer_group for s in subjects}
        for g in groups:
            if g not in peer:
                raise ConferenceFileError(
                    f"{where}.outstanding_groups: no subject of this poll in peer group {g!r}"
                )
        if groups and rules.excellent_ceiling_outstanding is None:
            raise ConferenceFileError(
                f"{where}.outstanding_groups: rule set {rules.id} has no"
                " excellent_ceiling_outstanding"
            )
        adopts = poll.get("adopts")
        if rules.is_adoption and adopts is None:
            raise ConferenceFileError(
                f"{where}.adopts: an adoption poll ({rules.id}) names the key of the poll it adopts"
            )
        if adopts is not None and not rules.is_adoption:
            raise ConferenceFileError(
                f"{where}.adopts: only a poll under an adoption rule set adopts another's result"
            )
        polls.append(
            {
                "key": _text(poll, "key", where) if "key" in poll else None,
                "title": _text(poll, "title", where),
                "rules_id": rules_id,
                "members": p_members,
                "present": p_present,
                "subjects": subjects,
                "exclusions": exclusions,
                "outstanding_groups": sorted(set(groups)),
                "adopts": adopts,
            }
        )
    # heads / part_of / responsible_for name a subject of this conference (often in another
    # poll): catch typos. An adoption poll's subjects are those of the poll it adopts.
    known = {s.key for poll in polls for s in poll["subjects"]}
    keys = [poll["key"] for poll in polls]
    for p, poll in enumerate(polls):
        if poll["key"] is not None and poll["key"] in keys[:p]:
            raise ConferenceFileError(f"polls[{p}].key: {poll['key']!r} appears twice")
    for p, poll in enumerate(polls):
        if poll["adopts"] is not None:
            earlier = {q["key"]: q for q in polls[:p] if q["key"] is not None}
            adopted = earlier.get(poll["adopts"]) if isinstance(poll["adopts"], str) else None
            if adopted is None or adopted["adopts"] is not None:
                raise ConferenceFileError(
                    f"polls[{p}].adopts: no grading poll with key {poll['adopts']!r} earlier in"
                    " this file (the adopted poll is counted first)"
                )
            graded = {s.key for s in adopted["subjects"]}
            for s, subject in enumerate(poll["subjects"]):
                if subject.key not in graded:
                    raise ConferenceFileError(
                        f"polls[{p}].subjects[{s}].key: {subject.key!r} is not a subject of the"
                        f" adopted poll {poll['adopts']!r}"
                    )
            continue
        for s, subject in enumerate(poll["subjects"]):
            for field in ("heads", "part_of"):
                ref = getattr(subject, field)
                if ref is not None and ref not in known:
                    raise ConferenceFileError(
                        f"polls[{p}].subjects[{s}].{field}: no subject {ref!r} in this file"
                    )
            for ref in subject.responsible_for:
                if ref not in known:
                    raise ConferenceFileError(
                        f"polls[{p}].subjects[{s}].responsible_for: no subject {ref!r} in this file"
                    )
    return conference, polls


def _subject(subject: dict[str, Any], where: str, rules: Any) -> SubjectInfo:
    """One subject of the file; ``disciplined = true`` (the 2023 form) is the kind's flag."""
    data = dict(subject)
    if "self_score" in data:
        try:
            data["self_score"] = parse_score(data["self_score"])
        except ValueError as exc:
            raise ConferenceFileError(f"{where}.self_score: {exc}") from None
    for name in ("discipline", "responsible_for"):
        if name in data:
            value = data[name]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConferenceFileError(f"{where}.{name}: expected a list of strings")
            data[name] = sorted(set(value))
    if data.get("disciplined") is True and data.get("kind") == "organization":
        raise ConferenceFileError(
            f"{where}.disciplined: an organization has no discipline flag (only an individual"
            " or a collective)"
        )
    try:
        info = SubjectInfo.from_dict(data)
    except ValueError as exc:
        field = next((f for f in _SUBJECT_KEYS if f in str(exc)), None)
        raise ConferenceFileError(f"{where}{'.' + field if field else ''}: {exc}") from None
    if not rules.is_adoption:
        try:
            info.check_grades(rules.grade_codes)
        except ValueError as exc:
            field = "self_grade" if "self_grade" in str(exc) else "proposed_grade"
            raise ConferenceFileError(f"{where}.{field}: {exc}") from None
    elif info.proposed_grade is not None:
        raise ConferenceFileError(
            f"{where}.proposed_grade: an adoption poll takes the proposed grade from the"
            " adopted poll's record when it opens"
        )
    return info


_SUBJECT_KEYS = (
    "responsible_for",
    "discipline",
    "self_score",
    "self_grade",
    "proposed_grade",
    "peer_group",
    "heads",
    "part_of",
    "kind",
    "key",
    "name",
    "role",
)


def _exclusions(
    table: Mapping[str, Any], where: str, members: int, present: int
) -> list[dict[str, str]]:
    items = table.get("exclusions", [])
    if not isinstance(items, list):
        raise ConferenceFileError(f"{where}.exclusions: expected a list of {{name, reason}}")
    out = []
    for n, item in enumerate(items):
        w = f"{where}.exclusions[{n}]"
        if not isinstance(item, dict):
            raise ConferenceFileError(f"{w}: expected a table with name and reason")
        _keys(item, {"name", "reason"}, {"name", "reason"}, w)
        name = _text(item, "name", w)
        if item["reason"] not in EXCLUSION_REASONS:
            raise ConferenceFileError(
                f"{w}.reason: {item['reason']!r} is not one of {', '.join(EXCLUSION_REASONS)}"
            )
        out.append({"name": name, "reason": item["reason"]})
    if present > members - len(out):
        raise ConferenceFileError(
            f"{where}.present: {present} is more than the members less the exclusions"
            f" ({members} - {len(out)})"
        )
    if len(out) >= members:
        raise ConferenceFileError(f"{where}.exclusions: they leave no member to vote")
    return out


def parse_conference_text(
    text: str | bytes, name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Parse and check a conference file's contents; errors start with the file's ``name``."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConferenceFileError(f"{name}: not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConferenceFileError(f"{name}: not valid TOML: {exc}") from None
    try:
        return parse_conference(data)
    except ConferenceFileError as exc:
        raise ConferenceFileError(f"{name}: {exc}") from None


def load_conference_file(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConferenceFileError(f"{path}: {exc.strerror}") from None
    return parse_conference_text(data, path.name)


def _store(
    session: Session,
    fields: dict[str, Any],
    polls: list[dict[str, Any]],
    name: str,
    actor: str,
) -> Conference:
    conference = Conference(**fields)
    session.add(conference)
    made: dict[str, Poll] = {}
    for position, spec in enumerate(polls, start=1):
        poll = Poll(
            conference=conference,
            title=spec["title"],
            position=position,
            rules_id=spec["rules_id"],
            members=spec["members"],
            present=spec["present"],
            state="draft",
            exclusions=spec["exclusions"] or None,
            outstanding_groups=spec["outstanding_groups"] or None,
        )
        session.add(poll)
        if spec["key"] is not None:
            made[spec["key"]] = poll
        if spec["adopts"] is not None:
            poll.adopts = made[spec["adopts"]]  # an earlier poll (parse_conference checks it)
        for s_pos, info in enumerate(spec["subjects"], start=1):
            session.add(Subject(poll=poll, position=s_pos, **subject_columns(info)))
    session.flush()
    audit.record(
        session,
        actor,
        "conference.import",
        conference=conference.id,
        file=name,
        polls=[p.id for p in conference.polls],
    )
    return conference


def subject_columns(info: SubjectInfo) -> dict[str, Any]:
    """A subject's database columns (lists comma-separated)."""
    data = info.to_dict(2)
    data["discipline"] = ",".join(info.discipline)
    data["responsible_for"] = ",".join(info.responsible_for)
    return data


def import_conference(session: Session, path: Path, actor: str = "cli") -> Conference:
    """Create the conference and its draft polls in the session's current transaction."""
    fields, polls = load_conference_file(path)
    return _store(session, fields, polls, path.name, actor)


def import_conference_text(
    session: Session, text: str | bytes, name: str, actor: str = "cli"
) -> Conference:
    """The same from a file's contents (an upload); ``name`` is the file's name for messages."""
    fields, polls = parse_conference_text(text, name)
    return _store(session, fields, polls, name, actor)
