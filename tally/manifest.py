"""The poll manifest: everything fixed before the poll opens, and the poll's fingerprint.

``manifest["election"]`` holds the parameters every ballot is bound to (subjects, grades, rule set,
trustee keys, joint key, credential commitment); its canonical SHA-256 is the poll fingerprint that
every proof hashes. Version 2 (``tally-manifest/2``) adds the poll's 128-bit uid, the credential
authority's key and the declared reserve to it, carries the authority's signed credential list,
and keeps only the incumbent members in the electorate: the number present is the attendance
chain's (tally.attendance). Version 1 (``tally-manifest/1``, still read) fixed the number present
at opening and held a bare list of keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tally.authority import AuthorityError, is_poll_uid, parse_credential_list
from tally.ballots import PollContext
from tally.canonical import canonical_json, is_integer, parse_json
from tally.credentials import commitment, is_valid_credential_key
from tally.dkg import Ceremony, CeremonyError, CeremonyResult, evaluate
from tally.group import Point
from tally.results import SUBJECT_FIELDS_V1, SUBJECT_FIELDS_V2, CountedPoll, SubjectInfo
from tally.rules import RuleSet, check_origin
from tally.trustees import PUBLIC_FORMAT, PUBLIC_FORMAT_V2, TrusteePublic, joint_public_key

MANIFEST_FORMAT_V1 = "tally-manifest/1"
MANIFEST_FORMAT = "tally-manifest/2"
MANIFEST_FORMATS = {MANIFEST_FORMAT_V1: 1, MANIFEST_FORMAT: 2}
GROUP = "ed25519-prime-order-subgroup"
# The lawful exclusions from the members (docs/rules.md, "Exclusions"), version 2.
EXCLUSION_REASONS: dict[str, tuple[str, str]] = {
    "suspended": ("đình chỉ sinh hoạt đảng", "suspended from party activity"),
    "exempt": ("miễn sinh hoạt, công tác", "exempt from activity and duties"),
    "long_leave": ("nghỉ dài ngày, đi học, chữa bệnh", "on long leave, study or treatment"),
}


class ManifestError(ValueError):
    """The manifest is malformed or inconsistent."""


@dataclass(frozen=True)
class Manifest:
    """A parsed and checked manifest."""

    data: dict[str, Any]
    fingerprint: bytes
    context: PollContext
    rules: RuleSet
    subjects: tuple[SubjectInfo, ...]
    trustees: tuple[TrusteePublic, ...]
    credentials: frozenset[bytes]
    signer_public_key: bytes
    version: int = 1
    poll_uid: str | None = None
    authority: bytes | None = None  # the credential authority's Ed25519 key (version 2)
    reserve: int = 0
    exclusions: tuple[dict[str, str], ...] = ()
    outstanding_groups: tuple[str, ...] = ()
    adopts: dict[str, str] | None = None  # the poll an adoption poll adopts the result of
    # Version 2 with a key ceremony (k of n, docs/protocol.md 9.4): the ceremony and its outcome.
    ceremony: Ceremony | None = None
    ceremony_result: CeremonyResult | None = None
    # Version 2, a later round (issue 18): {"number", "previous": {"poll_uid", "title", "record"}}.
    round: dict[str, Any] | None = None

    @property
    def threshold(self) -> int:
        """k: how many trustees must take part in counting (n without a ceremony)."""
        return self.ceremony.threshold if self.ceremony is not None else len(self.trustees)

    @property
    def members(self) -> int:
        return int(self.data["election"]["electorate"]["members"])

    @property
    def eligible(self) -> int:
        """The members less the lawful exclusions: the base of the quorum, of the ``members``
        denominator and of the number present (version 2; version 1 has no exclusions)."""
        return self.members - len(self.exclusions)

    @property
    def present(self) -> int:
        """Version 1's number present, fixed at opening (version 2's is the attendance's)."""
        if self.version != 1:
            raise ManifestError("a version-2 manifest does not fix the number present")
        return int(self.data["election"]["electorate"]["present"])


def poll_fingerprint(election: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(election)).digest()


def make_manifest(
    *,
    poll_id: str,
    poll_uid: str,
    title: str,
    conference: dict[str, str],
    subjects: Sequence[SubjectInfo],
    rules: RuleSet,
    trustees: Sequence[TrusteePublic],
    credential_list: dict[str, Any],
    members: int,
    signer_public_key: bytes,
    exclusions: Sequence[dict[str, str]] = (),
    outstanding_groups: Sequence[str] = (),
    adopts: dict[str, str] | None = None,
    ceremony: dict[str, Any] | None = None,
    round: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A version-2 manifest (``tally-manifest/2``) around the authority's signed list.
    ``ceremony`` (k of n): ``{"uid", "threshold", "dealings", "checks"}`` of a key ceremony among
    ``trustees``; the poll's key is then the ceremony's. Without it, every trustee decrypts and
    the key is the sum of theirs."""
    checked = parse_credential_list(credential_list, poll_uid=poll_uid)
    if ceremony is None:
        public_key = joint_public_key(trustees)
    else:
        public_key = _ceremony(ceremony, tuple(trustees))[1].public_key
    election = {
        "group": GROUP,
        "poll_id": poll_id,
        "poll_uid": poll_uid,
        "title": title,
        "subjects": [s.to_dict(2) for s in subjects],
        "grades": [g.code for g in rules.grades],
        "allow_blank": rules.allow_blank,
        "rules": rules.to_dict(),
        "trustees": [t.to_json() for t in trustees],
        "public_key": public_key.hex(),
        "credentials": {
            "count": len(checked.keys),
            "reserve": checked.reserve,
            "commitment": checked.commitment,
            "authority": checked.authority.hex(),
        },
        "electorate": {
            "members": members,
            "exclusions": [{"name": e["name"], "reason": e["reason"]} for e in exclusions],
        },
        "outstanding_groups": sorted(set(outstanding_groups)),
        "adopts": None if adopts is None else dict(adopts),
    }
    if ceremony is not None:
        election["ceremony"] = {k: ceremony[k] for k in CEREMONY_FIELDS}
    if round is not None:
        election["round"] = {"number": round["number"], "previous": dict(round["previous"])}
    return {
        "format": MANIFEST_FORMAT,
        "election": election,
        "conference": dict(conference),
        "credential_list": dict(credential_list),
        "signer": {"public_key": signer_public_key.hex()},
    }


def make_manifest_v1(
    *,
    poll_id: str,
    title: str,
    conference: dict[str, str],
    subjects: Sequence[SubjectInfo],
    rules: RuleSet,
    trustees: Sequence[TrusteePublic],
    credential_keys: Sequence[bytes],
    members: int,
    present: int,
    signer_public_key: bytes,
) -> dict[str, Any]:
    """A version-1 manifest (tests of the verifier's version 1; the service writes version 2)."""
    election = {
        "group": GROUP,
        "poll_id": poll_id,
        "title": title,
        "subjects": [s.to_dict(1) for s in subjects],
        "grades": [g.code for g in rules.grades],
        "allow_blank": rules.allow_blank,
        "rules": rules.to_dict(),
        "trustees": [t.to_json() for t in trustees],
        "public_key": joint_public_key(trustees).hex(),
        "credentials": {"count": len(credential_keys), "commitment": commitment(credential_keys)},
        "electorate": {"members": members, "present": present},
    }
    return {
        "format": MANIFEST_FORMAT_V1,
        "election": election,
        "conference": dict(conference),
        "credentials": sorted(k.hex() for k in credential_keys),
        "signer": {"public_key": signer_public_key.hex()},
    }


def parse_manifest(data: Any, *, shipped_rules: bool = False) -> Manifest:
    """Check the manifest: exact fields, rule set, subjects, trustee proofs, joint key,
    credentials, electorate, signer (docs/protocol.md §11.3).

    ``shipped_rules``: also refuse a rule set that uses the id of a rule set shipped with tally
    without being, word for word, a shipped version of it (the verifier and ``finish`` ask it).
    """
    try:
        return _parse(data, shipped_rules)
    except (KeyError, TypeError) as exc:
        raise ManifestError(f"missing or malformed field: {exc}") from None
    except ManifestError:
        raise
    except ValueError as exc:  # GroupError, TrusteeError and malformed subjects or hex
        raise ManifestError(str(exc)) from None


CEREMONY_FIELDS = ("uid", "threshold", "dealings", "checks")
TOP_FIELDS = ("format", "election", "conference", "credentials", "signer")
TOP_FIELDS_V2 = ("format", "election", "conference", "credential_list", "signer")
ELECTION_FIELDS_V2 = (
    "group",
    "poll_id",
    "poll_uid",
    "title",
    "subjects",
    "grades",
    "allow_blank",
    "rules",
    "trustees",
    "public_key",
    "credentials",
    "electorate",
    "outstanding_groups",
    "adopts",
)
ELECTION_FIELDS = (
    "group",
    "poll_id",
    "title",
    "subjects",
    "grades",
    "allow_blank",
    "rules",
    "trustees",
    "public_key",
    "credentials",
    "electorate",
)
TRUSTEE_FIELDS = ("format", "name", "public_key", "proof")
TRUSTEE_FIELDS_V2 = ("format", "name", "public_key", "proof", "signing_key")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_GRADE_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


def _object(value: Any, fields: Sequence[str], where: str) -> dict[str, Any]:
    """``value`` must be a JSON object with exactly ``fields``."""
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected an object with exactly {', '.join(fields)}")
    extra = sorted(k for k in value if k not in fields)
    missing = [k for k in fields if k not in value]
    if extra or missing:
        parts = ([f"unexpected field(s) {', '.join(extra)}"] if extra else []) + (
            [f"missing field(s) {', '.join(missing)}"] if missing else []
        )
        raise ManifestError(f"{where}: {'; '.join(parts)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ManifestError(f"{where}: expected a list")
    return value


def _parse(data: Any, shipped_rules: bool) -> Manifest:
    version = MANIFEST_FORMATS.get(str(data.get("format"))) if isinstance(data, dict) else None
    if version is None:
        raise ManifestError(f"not a manifest ({MANIFEST_FORMAT} or {MANIFEST_FORMAT_V1})")
    _object(data, TOP_FIELDS_V2 if version == 2 else TOP_FIELDS, "manifest")
    election_fields: tuple[str, ...] = ELECTION_FIELDS_V2 if version == 2 else ELECTION_FIELDS
    if version == 2 and isinstance(data["election"], dict):
        optional = tuple(k for k in ("ceremony", "round") if k in data["election"])
        election_fields = (*ELECTION_FIELDS_V2, *optional)
    election = _object(data["election"], election_fields, "election")
    if election["group"] != GROUP:
        raise ManifestError(f"unknown group {election['group']!r} (expected {GROUP})")
    if not isinstance(election["poll_id"], str) or not election["poll_id"]:
        raise ManifestError("election.poll_id: expected a non-empty string")
    poll_uid = election.get("poll_uid")
    if version == 2 and not is_poll_uid(poll_uid):
        raise ManifestError("election.poll_uid: expected 32 lowercase hexadecimal digits")
    if not isinstance(election["title"], str):
        raise ManifestError("election.title: expected a string")
    try:
        rules = RuleSet.from_json(election["rules"])
        if shipped_rules:
            check_origin(rules)
    except ValueError as exc:
        raise ManifestError(f"election.rules: {exc}") from None
    if version == 1 and (rules.is_adoption or rules._v2_dict()):
        # Version 1 is closed: the rule-set keys and the adoption rule are version 2's.
        raise ManifestError("election.rules: a version-1 manifest has a version-1 rule set")
    grades = [g.code for g in rules.grades]
    if election["grades"] != grades:
        raise ManifestError("the grades differ from the rule set's grades")
    if election["allow_blank"] is not rules.allow_blank:
        raise ManifestError("allow_blank differs from the rule set")
    subjects = []
    fields = SUBJECT_FIELDS_V2 if version == 2 else SUBJECT_FIELDS_V1
    for n, item in enumerate(_list(election["subjects"], "election.subjects"), start=1):
        info = SubjectInfo.from_dict(_object(item, fields, f"subject {n}"))
        if info.to_dict(version) != item:  # e.g. a score not in its one written form
            raise ManifestError(f"subject {n}: not in the manifest's form of a subject")
        subjects.append(info)
    if not subjects:
        raise ManifestError("a poll needs at least one subject")
    if len({s.key for s in subjects}) != len(subjects):
        raise ManifestError("two subjects have the same key")
    outstanding, adopts = _subjects_v2(election, rules, subjects) if version == 2 else ((), None)
    trustee_fields, trustee_format = (
        (TRUSTEE_FIELDS_V2, PUBLIC_FORMAT_V2) if version == 2 else (TRUSTEE_FIELDS, PUBLIC_FORMAT)
    )
    trustees = []
    for n, t in enumerate(_list(election["trustees"], "election.trustees"), start=1):
        _object(t, trustee_fields, f"trustee {n}")
        if t["format"] != trustee_format:
            raise ManifestError(f"trustee {n}: expected format {trustee_format}")
        trustees.append(TrusteePublic.from_json(t))
    if version == 2 and (
        len({t.name for t in trustees}) != len(trustees)
        or len({t.signing_key for t in trustees}) != len(trustees)
    ):
        raise ManifestError("two trustees have the same name or the same signing key")
    ceremony: Ceremony | None = None
    outcome: CeremonyResult | None = None
    if "ceremony" in election:
        ceremony, outcome = _ceremony(election["ceremony"], tuple(trustees))
        if election["public_key"] != outcome.public_key.hex():
            raise ManifestError("the poll's public key is not the key ceremony's")
    else:
        joint = joint_public_key(trustees)
        if election["public_key"] != joint.hex():
            raise ManifestError("the poll's public key is not the sum of the trustees' keys")
    if version == 2:
        credentials, authority, reserve = _credentials_v2(data, election)
    else:
        credentials, authority, reserve = _credentials_v1(data, election), None, 0
    electorate = _object(
        election["electorate"],
        ("members", "exclusions") if version == 2 else ("members", "present"),
        "election.electorate",
    )
    members = electorate["members"]
    present = electorate.get("present", 0)
    if not all(is_integer(n) for n in (members, present)) or members < 1:
        raise ManifestError("electorate: members must be a whole number >= 1")
    exclusions = _exclusions(electorate, members) if version == 2 else ()
    if version == 1 and not 0 <= present <= members:
        raise ManifestError("electorate: members >= 1 and 0 <= present <= members")
    if version == 2 and reserve > members:
        raise ManifestError(
            f"the credential list declares {reserve} reserve slips, more than the {members} members"
        )
    if version == 2 and len(credentials) > members + reserve:
        # More slips than members plus the declared reserve: someone could add ballots.
        raise ManifestError(
            f"the credential list has {len(credentials)} credentials, more than the"
            f" {members} members plus the {reserve} reserve slips"
        )
    conference = data["conference"]
    if not isinstance(conference, dict) or not all(isinstance(v, str) for v in conference.values()):
        raise ManifestError("conference: expected an object whose values are strings")
    signer_hex = _object(data["signer"], ("public_key",), "signer")["public_key"]
    if not isinstance(signer_hex, str) or _HEX32.fullmatch(signer_hex) is None:
        raise ManifestError("signer.public_key: expected 32 bytes in lowercase hex")
    signer = bytes.fromhex(signer_hex)
    fingerprint = poll_fingerprint(election)
    context = PollContext(
        fingerprint,
        Point.from_hex(election["public_key"]),
        len(subjects),
        len(grades),
        rules.allow_blank,
    )
    return Manifest(
        data,
        fingerprint,
        context,
        rules,
        tuple(subjects),
        tuple(trustees),
        frozenset(credentials),
        signer,
        version,
        poll_uid if version == 2 else None,
        authority,
        reserve,
        exclusions,
        tuple(outstanding),
        adopts,
        ceremony,
        outcome,
        _round(election) if "round" in election else None,
    )


def _round(election: dict[str, Any]) -> dict[str, Any]:
    """A later round's ``election.round`` (11.1): its number (2 or more) and the earlier poll,
    named by uid, title and the SHA-256 of its record.json."""
    data = _object(election["round"], ("number", "previous"), "election.round")
    if not is_integer(data["number"]) or data["number"] < 2:
        raise ManifestError("election.round.number: expected a whole number of at least 2")
    previous = _object(data["previous"], ("poll_uid", "title", "record"), "election.round.previous")
    if not is_poll_uid(previous["poll_uid"]) or previous["poll_uid"] == election["poll_uid"]:
        raise ManifestError("election.round.previous.poll_uid: the uid of another poll")
    if not isinstance(previous["title"], str) or not previous["title"].strip():
        raise ManifestError("election.round.previous.title: expected the earlier poll's title")
    if not isinstance(previous["record"], str) or _HEX32.fullmatch(previous["record"]) is None:
        raise ManifestError("election.round.previous.record: expected a SHA-256 in lowercase hex")
    return {"number": data["number"], "previous": dict(previous)}


def _ceremony(value: Any, trustees: tuple[TrusteePublic, ...]) -> tuple[Ceremony, CeremonyResult]:
    """The manifest's key ceremony among its trustees, checked step by step (9.4)."""
    data = _object(value, CEREMONY_FIELDS, "election.ceremony")
    try:
        ceremony = Ceremony(data["uid"], data["threshold"], trustees)
        return ceremony, evaluate(ceremony, data["dealings"], data["checks"])
    except CeremonyError as exc:
        raise ManifestError(f"election.ceremony: {exc}") from None


def _exclusions(electorate: dict[str, Any], members: int) -> tuple[dict[str, str], ...]:
    out = []
    for n, item in enumerate(_list(electorate["exclusions"], "electorate.exclusions"), start=1):
        entry = _object(item, ("name", "reason"), f"electorate.exclusions[{n}]")
        if not isinstance(entry["name"], str) or not entry["name"].strip():
            raise ManifestError(f"electorate.exclusions[{n}].name: expected a non-empty string")
        if entry["reason"] not in EXCLUSION_REASONS:
            raise ManifestError(
                f"electorate.exclusions[{n}].reason: {entry['reason']!r} is not one of"
                f" {', '.join(EXCLUSION_REASONS)}"
            )
        out.append({"name": entry["name"], "reason": entry["reason"]})
    if len(out) >= members:
        raise ManifestError("electorate: the exclusions leave no member to vote")
    return tuple(out)


def _subjects_v2(
    election: dict[str, Any], rules: RuleSet, subjects: Sequence[SubjectInfo]
) -> tuple[list[str], dict[str, str] | None]:
    """Version 2's subject data against the rule set; the peer groups with the raised ceiling;
    what an adoption poll adopts."""
    codes = rules.grade_codes
    adopts = election["adopts"]
    if rules.is_adoption:
        adopts = _object(adopts, ("poll_uid", "title", "record"), "election.adopts")
        if not is_poll_uid(adopts["poll_uid"]) or adopts["poll_uid"] == election["poll_uid"]:
            raise ManifestError("election.adopts.poll_uid: the uid of another poll")
        if not isinstance(adopts["title"], str) or not adopts["title"].strip():
            raise ManifestError("election.adopts.title: expected the adopted poll's title")
        if not isinstance(adopts["record"], str) or _HEX32.fullmatch(adopts["record"]) is None:
            raise ManifestError("election.adopts.record: expected a SHA-256 in lowercase hex")
    elif adopts is not None:
        raise ManifestError("election.adopts: only a poll under an adoption rule set adopts")
    for s in subjects:
        if rules.is_adoption:
            if s.proposed_grade is None or _GRADE_CODE.fullmatch(s.proposed_grade) is None:
                raise ManifestError(
                    f"subject {s.key}: proposed_grade: an adoption poll adopts a proposed grade"
                    " (a grade code)"
                )
            if s.self_grade is not None and _GRADE_CODE.fullmatch(s.self_grade) is None:
                raise ManifestError(f"subject {s.key}: self_grade: expected a grade code")
        else:
            try:
                s.check_grades(codes)
            except ValueError as exc:
                raise ManifestError(str(exc)) from None
    groups = election["outstanding_groups"]
    if not isinstance(groups, list) or groups != sorted(set(groups)):
        raise ManifestError("election.outstanding_groups: expected distinct names, sorted")
    peer = {s.peer_group for s in subjects if s.peer_group is not None}
    for g in groups:
        if g not in peer:
            raise ManifestError(f"election.outstanding_groups: no subject in peer group {g!r}")
    if groups and rules.excellent_ceiling_outstanding is None:
        raise ManifestError(
            "election.outstanding_groups: the rule set has no excellent_ceiling_outstanding"
        )
    return list(groups), None if adopts is None else dict(adopts)


def _credentials_v1(data: dict[str, Any], election: dict[str, Any]) -> list[bytes]:
    keys = data["credentials"]
    if not isinstance(keys, list) or any(not isinstance(k, str) or len(k) != 64 for k in keys):
        raise ManifestError("credentials must be a list of 32-byte public keys in hex")
    if keys != sorted(set(keys)) or any(_HEX32.fullmatch(k) is None for k in keys):
        raise ManifestError("credentials must be lowercase hex, sorted, each once")
    credentials = [bytes.fromhex(k) for k in keys]
    if not all(is_valid_credential_key(k) for k in credentials):
        # A small-order key (the identity, say) would let anyone sign for that slip.
        raise ManifestError("a credential public key is not a valid Ed25519 point")
    committed = _object(election["credentials"], ("count", "commitment"), "election.credentials")
    if (
        not is_integer(committed["count"])
        or committed["count"] != len(credentials)
        or committed["commitment"] != commitment(credentials)
    ):
        raise ManifestError("the credential list does not match the committed hash")
    return credentials


def _credentials_v2(
    data: dict[str, Any], election: dict[str, Any]
) -> tuple[list[bytes], bytes, int]:
    committed = _object(
        election["credentials"],
        ("count", "reserve", "commitment", "authority"),
        "election.credentials",
    )
    try:
        listed = parse_credential_list(data["credential_list"], poll_uid=election["poll_uid"])
    except AuthorityError as exc:
        raise ManifestError(f"credential_list: {exc}") from None
    if committed["authority"] != listed.authority.hex():
        raise ManifestError("credential_list: not signed by the authority the election names")
    if (
        not is_integer(committed["count"])
        or committed["count"] != len(listed.keys)
        or committed["reserve"] != listed.reserve
        or not is_integer(committed["reserve"])
        or committed["commitment"] != listed.commitment
    ):
        raise ManifestError(
            "the credential list does not match election.credentials (count, reserve, commitment)"
        )
    return list(listed.keys), listed.authority, listed.reserve


def counted_poll(name: str, files: Mapping[str, bytes]) -> CountedPoll:
    """A counted poll from its audit bundle's files (manifest and result; the caller verifies
    the bundle first)."""
    manifest = parse_manifest(parse_json(files["manifest.json"]))
    result = parse_json(files["result.json"])
    grades = {row["key"]: row["grade"] for row in result["subjects"]}
    return CountedPoll(name, manifest.rules, manifest.subjects, grades, manifest.outstanding_groups)
