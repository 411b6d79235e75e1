"""The counting record (biên bản kiểm phiếu) and the service key that signs it.

``record.json`` is canonical JSON; ``record.sig`` is the hex Ed25519 signature of exactly those
bytes by the service key whose public key is in the manifest and on the printed record, in
lowercase hex with one newline. Version 2 (``tally-record/2``) carries the result's warnings as
facts, without their sentences, and says whether the rule set is one shipped with tally.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tally.canonical import canonical_json
from tally.rules import RuleSet, is_shipped

# record.json's format per protocol version.
RECORD_FORMATS: Mapping[int, str] = {1: "tally-record/1", 2: "tally-record/2"}
RECORD_FORMAT = RECORD_FORMATS[2]
TITLE_VI = "BIÊN BẢN KIỂM PHIẾU"
TITLE_EN = "Counting record"

_SIGNATURE_FILE = re.compile(r"[0-9a-f]{128}\n")


class KeyFileError(ValueError):
    """A key file is missing, unreadable or too widely readable."""


class ServiceKey:
    """The service's Ed25519 record-signing key. The private half never appears in repr."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> ServiceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceKey:
        """Load the key, or create it with mode 0600; refuse a key others can read."""
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyFileError(
                    f"{path}: quyền {mode:o} cho người khác đọc khóa ký; chạy chmod 600 {path} /"
                    f" mode {mode:o} lets other users read the signing key; run chmod 600 {path}"
                )
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyFileError(
                    f"{path}: không phải khóa bí mật Ed25519 / not an Ed25519 private key"
                )
            return cls(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        new = Ed25519PrivateKey.generate()
        pem = new.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return cls(new)

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"ServiceKey(fingerprint={self.fingerprint})"


def key_fingerprint(public_key: bytes) -> str:
    """First 16 bytes of SHA-256 of the raw public key, in groups of four hex digits."""
    digest = hashlib.sha256(public_key).hexdigest()[:32]
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def signature_file(signature: bytes) -> bytes:
    """``record.sig``: the signature in lowercase hex and one newline (129 bytes)."""
    return (signature.hex() + "\n").encode("ascii")


def read_signature_file(data: bytes) -> bytes:
    """The signature in ``record.sig``, which must be exactly ``signature_file``'s form."""
    text = data.decode("ascii", "replace")
    if _SIGNATURE_FILE.fullmatch(text) is None:
        raise ValueError("not exactly 128 lowercase hex digits and one newline")
    return bytes.fromhex(text[:128])


def verify_signature(public_key: bytes, record_bytes: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, record_bytes)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_record_signature(public_key: bytes, record_bytes: bytes, signature_hex: str) -> bool:
    """Check a signature given as lowercase hex (surrounding whitespace ignored)."""
    text = signature_hex.strip()
    if re.fullmatch(r"[0-9a-f]{128}", text) is None:
        return False
    return verify_signature(public_key, record_bytes, bytes.fromhex(text))


RESULT_CODE_TAG = b"tally-result-code/1"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def result_code(fingerprint: bytes, row: Mapping[str, Any]) -> str:
    """A subject's short result code (docs/protocol.md §16.3): the first 40 bits of
    SHA-256(tag || 0x00 || fingerprint || canonical_json([key, counts, blank, grade])) in RFC 4648
    base32, as two groups of four ("KQ7M-2XBD"). The paper copy and the signed record can be
    compared line by line with it; ``tally verify`` derives it again."""
    body = canonical_json([row["key"], row["counts"], row["blank"], row["grade"]])
    digest = hashlib.sha256(RESULT_CODE_TAG + b"\x00" + fingerprint + body).digest()
    bits = int.from_bytes(digest[:5], "big")
    text = "".join(_BASE32[(bits >> (35 - 5 * i)) & 31] for i in range(8))
    return f"{text[:4]}-{text[4:]}"


def result_codes(fingerprint: bytes, subjects: Any) -> dict[str, str]:
    return {row["key"]: result_code(fingerprint, row) for row in subjects}


_ISO_LOCAL = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}"
)


def make_document(
    manifest: Mapping[str, Any], posts: Any, counting_started_at: Any, created_at: str
) -> dict[str, Any]:
    """The record's ``document`` (protocol version 2): the counting committee in the manifest's
    order, its first member the head (Trưởng ban), each with a post, and when counting started
    (ISO 8601 with the local offset; not after ``created_at``). Raises ValueError if malformed."""
    names = [t["name"] for t in manifest["election"]["trustees"]]
    if not isinstance(posts, list | tuple) or len(posts) != len(names):
        raise ValueError(f"document: expected one post for each of the {len(names)} trustees")
    if not all(
        isinstance(p, str)
        and len(p) <= 500
        and not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in p)
        for p in posts
    ):
        raise ValueError("document: each post is one line of printable text")
    for name, value in (
        ("document.counting_started_at", counting_started_at),
        ("created_at", created_at),
    ):
        if not isinstance(value, str) or not _ISO_LOCAL.fullmatch(value):
            raise ValueError(f"{name}: expected YYYY-MM-DDTHH:MM:SS+HH:MM")
    started = dt.datetime.fromisoformat(counting_started_at)
    created = dt.datetime.fromisoformat(created_at)
    if started > created:
        raise ValueError("document.counting_started_at: after the record was made")
    return {
        "committee": [
            {"name": name, "post": post, "role": "head" if i == 0 else "member"}
            for i, (name, post) in enumerate(zip(names, posts, strict=True))
        ],
        "counting_started_at": counting_started_at,
    }


def make_record(
    *,
    manifest: dict[str, Any],
    fingerprint: bytes,
    result: dict[str, Any],
    board_head: str,
    ballots_cast: int,
    voided: int,
    files: dict[str, str],
    audit: dict[str, Any],
    created_at: str,
    protocol: int = 2,
    slips: dict[str, int] | None = None,
    attendance: dict[str, Any] | None = None,
    chain_present: int | None = None,
    document: dict[str, Any] | None = None,
    decryption: dict[str, Any] | None = None,
    electronic: int | None = None,
    paper: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the record from the manifest and the result; ``files`` maps name -> SHA-256.
    ``decryption``: who decrypted, for a poll with a key ceremony (k of n). ``electronic``:
    the board's ballots, the slips used (``ballots_cast`` when not given); ``paper``: the paper
    fallback's ``{"voided_slips", "ballots", "head"}`` (13.3), shown as the record's ``paper``.

    ``protocol`` 1 writes version 1's record (for the verifier of old bundles). ``document``:
    ``make_document``'s inputs (``posts``, ``counting_started_at``) for a version-2 manifest;
    without it the posts are empty and counting started when the record was made."""
    if protocol not in RECORD_FORMATS:
        raise ValueError(f"unknown protocol version {protocol!r}")
    election = manifest["election"]
    minted = election["credentials"]["count"]
    used = ballots_cast if electronic is None else electronic
    rules = election["rules"]
    signer = bytes.fromhex(manifest["signer"]["public_key"])
    rules_fields = {"id": rules["id"], "version": rules["version"], "basis": rules["basis"]}
    if protocol >= 2:
        rules_fields["shipped"] = is_shipped(RuleSet.from_dict(rules))
    record: dict[str, Any] = {
        "format": RECORD_FORMATS[protocol],
        "title_vi": TITLE_VI,
        "title_en": TITLE_EN,
        "conference": manifest["conference"],
        "poll": {
            "id": election["poll_id"],
            "title": election["title"],
            "fingerprint": fingerprint.hex(),
        },
        "rules": rules_fields,
        "counting_committee": [
            {"name": t["name"], "key_fingerprint": key_fingerprint(bytes.fromhex(t["public_key"]))}
            for t in election["trustees"]
        ],
        "attendance": result["quorum"],
        "credentials": {
            "commitment": election["credentials"]["commitment"],
            "minted": minted,
            "used": used,
            "unused": minted - used,
            "voided": voided,
        },
        "ballots_cast": ballots_cast,
        "subjects": result["subjects"],
        "warnings": result["warnings"],
        "board_head": board_head,
        "audit": {"entries": audit["entries"], "head": audit["head"]},
        "files": dict(sorted(files.items())),
        "signer": {"public_key": signer.hex(), "fingerprint": key_fingerprint(signer)},
        "created_at": created_at,
    }
    if manifest["format"] != "tally-manifest/1":
        # Version 2's manifest: the authority, the reconciliation of the slips, the signed
        # attendance, and the void mark of a poll whose figures do not reconcile.
        if protocol < 2 or slips is None or attendance is None or chain_present is None:
            raise ValueError(
                "a version-2 manifest's record is version 2, with slips and attendance"
            )
        authority = bytes.fromhex(election["credentials"]["authority"])
        record["poll"]["uid"] = election["poll_uid"]
        # The party-document form (protocol v2, §16.3): the rule set's confirmation, the
        # exclusions, the adopted poll, the committee's posts and head, the result codes.
        record["rules"]["confirmed"] = RuleSet.from_dict(rules).is_confirmed
        record["electorate"] = {
            "members": election["electorate"]["members"],
            "exclusions": list(election["electorate"]["exclusions"]),
        }
        record["adopts"] = election["adopts"]
        if "round" in election:
            record["round"] = election["round"]  # a later round names the earlier poll
        given = document or {}
        record["document"] = make_document(
            manifest,
            given.get("posts", [""] * len(election["trustees"])),
            given.get("counting_started_at", created_at),
            created_at,
        )
        record["result_codes"] = result_codes(fingerprint, result["subjects"])
        record["authority"] = {
            "public_key": authority.hex(),
            "fingerprint": key_fingerprint(authority),
        }
        record["credentials"].update(
            reserve=election["credentials"]["reserve"],
            handed_out=slips["handed_out"],
            lost=slips["lost"],
            sealed=minted - used - slips["lost"],
        )
        record["attendance_statement"] = {
            "present": attendance["present"],
            "chain_present": chain_present,
            "entries": attendance["attendance_entries"],
            "head": attendance["attendance_head"],
            "signed_by": attendance["trustee"],
            "signing_key_fingerprint": key_fingerprint(bytes.fromhex(attendance["signing_key"])),
        }
    if paper is not None:
        # The paper fallback (13.3): slips voided for paper and paper ballots entered, which
        # should be equal; electronic + paper = ballots_cast.
        record["paper"] = {
            "voided_slips": paper["voided_slips"],
            "ballots": paper["ballots"],
            "electronic": used,
            "head": paper["head"],  # the count head (13.3), recomputed by the verifier
        }
    if decryption is not None:
        record["decryption"] = decryption
    if protocol >= 2 and result.get("void"):
        record["void"] = result["void"]  # more ballots than present: to be voted again
    return record
