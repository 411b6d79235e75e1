"""The poll manifest: everything fixed before the poll opens, and the poll's fingerprint.

``manifest["election"]`` holds the parameters every ballot is bound to (subjects, grades, rule set,
trustee keys, joint key, credential commitment); its canonical SHA-256 is the poll fingerprint that
every proof hashes. The electorate (incumbent members, members present) is in it too, so the
quorum and the ``present``/``members`` denominators cannot be changed after the poll opens. The rest
of the manifest (conference, the public credential list and the record signer's key) describes the
poll for the record and the verifier.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally.ballots import PollContext
from tally.canonical import canonical_json
from tally.credentials import commitment, is_valid_credential_key
from tally.group import Point
from tally.results import SubjectInfo
from tally.rules import RuleSet, check_origin
from tally.trustees import TrusteePublic, joint_public_key

MANIFEST_FORMAT = "tally-manifest/1"
GROUP = "ed25519-prime-order-subgroup"


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

    @property
    def members(self) -> int:
        return int(self.data["election"]["electorate"]["members"])

    @property
    def present(self) -> int:
        return int(self.data["election"]["electorate"]["present"])


def poll_fingerprint(election: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(election)).digest()


def make_manifest(
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
    election = {
        "group": GROUP,
        "poll_id": poll_id,
        "title": title,
        "subjects": [s.to_dict() for s in subjects],
        "grades": [g.code for g in rules.grades],
        "allow_blank": rules.allow_blank,
        "rules": rules.to_dict(),
        "trustees": [t.to_json() for t in trustees],
        "public_key": joint_public_key(trustees).hex(),
        "credentials": {"count": len(credential_keys), "commitment": commitment(credential_keys)},
        "electorate": {"members": members, "present": present},
    }
    return {
        "format": MANIFEST_FORMAT,
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


TOP_FIELDS = ("format", "election", "conference", "credentials", "signer")
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
SUBJECT_FIELDS = ("key", "name", "kind", "role", "peer_group", "heads", "part_of", "disciplined")
TRUSTEE_FIELDS = ("format", "name", "public_key", "proof")
_HEX32 = re.compile(r"[0-9a-f]{64}")


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


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse(data: Any, shipped_rules: bool) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"not a manifest ({MANIFEST_FORMAT})")
    _object(data, TOP_FIELDS, "manifest")
    election = _object(data["election"], ELECTION_FIELDS, "election")
    if election["group"] != GROUP:
        raise ManifestError(f"unknown group {election['group']!r} (expected {GROUP})")
    if not isinstance(election["poll_id"], str) or not election["poll_id"]:
        raise ManifestError("election.poll_id: expected a non-empty string")
    if not isinstance(election["title"], str):
        raise ManifestError("election.title: expected a string")
    try:
        rules = RuleSet.from_json(election["rules"])
        if shipped_rules:
            check_origin(rules)
    except ValueError as exc:
        raise ManifestError(f"election.rules: {exc}") from None
    grades = [g.code for g in rules.grades]
    if election["grades"] != grades:
        raise ManifestError("the grades differ from the rule set's grades")
    if election["allow_blank"] is not rules.allow_blank:
        raise ManifestError("allow_blank differs from the rule set")
    subjects = []
    for n, item in enumerate(_list(election["subjects"], "election.subjects"), start=1):
        subjects.append(SubjectInfo.from_dict(_object(item, SUBJECT_FIELDS, f"subject {n}")))
    if not subjects:
        raise ManifestError("a poll needs at least one subject")
    if len({s.key for s in subjects}) != len(subjects):
        raise ManifestError("two subjects have the same key")
    trustees = tuple(
        TrusteePublic.from_json(_object(t, TRUSTEE_FIELDS, f"trustee {n}"))
        for n, t in enumerate(_list(election["trustees"], "election.trustees"), start=1)
    )
    joint = joint_public_key(trustees)
    if election["public_key"] != joint.hex():
        raise ManifestError("the poll's public key is not the sum of the trustees' keys")
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
        not _integer(committed["count"])
        or committed["count"] != len(credentials)
        or committed["commitment"] != commitment(credentials)
    ):
        raise ManifestError("the credential list does not match the committed hash")
    electorate = _object(election["electorate"], ("members", "present"), "election.electorate")
    members, present = electorate["members"], electorate["present"]
    if (
        not all(_integer(n) for n in (members, present))
        or not 0 <= present <= members
        or members < 1
    ):
        raise ManifestError("electorate: members >= 1 and 0 <= present <= members")
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
        data, fingerprint, context, rules, tuple(subjects), trustees, frozenset(credentials), signer
    )
