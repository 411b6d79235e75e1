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
from tally.results import SubjectInfo
from tally.rules import load_ruleset


class ConferenceFileError(ValueError):
    """The conference file is invalid; the message names the field."""


# The conference table's keys are its declared fields; a poll names its rule set ``rules`` and
# may give its own ``[polls.electorate]``.
_CONFERENCE_KEYS = set(names(CONFERENCE))
_REQUIRED_CONFERENCE_KEYS = {f.name for f in CONFERENCE if f.required}
_POLL_KEYS = {"title", "rules", "electorate", "subjects"}


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
            load_ruleset(rules_id)
        except ValueError as exc:
            raise ConferenceFileError(f"{where}.rules: {exc}") from None
        if "electorate" in poll:
            if not isinstance(poll["electorate"], dict):
                raise ConferenceFileError(f"{where}.electorate: expected a table")
            _keys(poll["electorate"], {"members", "present"}, {"members", "present"}, where)
            p_members, p_present = _electorate(poll["electorate"], f"{where}.electorate")
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
            try:
                subjects.append(SubjectInfo.from_dict(subject))
            except ValueError as exc:
                raise ConferenceFileError(f"{s_where}: {exc}") from None
        keys = [s.key for s in subjects]
        for s, key in enumerate(keys):
            if key in keys[:s]:
                raise ConferenceFileError(f"{where}.subjects[{s}].key: {key!r} appears twice")
        polls.append(
            {
                "title": _text(poll, "title", where),
                "rules_id": rules_id,
                "members": p_members,
                "present": p_present,
                "subjects": subjects,
            }
        )
    # heads / part_of name a subject of this conference (often in another poll): catch typos.
    known = {s.key for poll in polls for s in poll["subjects"]}
    for p, poll in enumerate(polls):
        for s, subject in enumerate(poll["subjects"]):
            for field in ("heads", "part_of"):
                ref = getattr(subject, field)
                if ref is not None and ref not in known:
                    raise ConferenceFileError(
                        f"polls[{p}].subjects[{s}].{field}: no subject {ref!r} in this file"
                    )
    return conference, polls


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
    for position, spec in enumerate(polls, start=1):
        poll = Poll(
            conference=conference,
            title=spec["title"],
            position=position,
            rules_id=spec["rules_id"],
            members=spec["members"],
            present=spec["present"],
            state="draft",
        )
        session.add(poll)
        for s_pos, info in enumerate(spec["subjects"], start=1):
            session.add(Subject(poll=poll, position=s_pos, **info.to_dict()))
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
