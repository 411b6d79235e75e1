"""The credential authority: the Organization Board's key and the signed list of credentials.

The Board mints the slips on its own laptop (``tally credentials mint``), never on the server: the
secrets go onto the printed sheet only, and the server receives the public list, signed by the
authority's Ed25519 key and bound to the poll's uid (docs/protocol.md §10.5). The list is sorted by
key, never in slip order, and does not say which keys are reserve slips, so a ballot cast with a
reserve slip looks like any other.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tally.canonical import canonical_json, fields_problem, is_integer, parse_json
from tally.credentials import (
    Credential,
    commitment,
    is_valid_credential_key,
    verify_signature,
)
from tally.keyfile import KeyFileError, seal, unseal, write_private
from tally.record import key_fingerprint

KEY_FORMAT = "tally-authority-key/1"
LIST_FORMAT = "tally-credential-list/1"
LIST_TAG = b"tally/v2/credential-list\x00"
LIST_FIELDS = ("format", "poll_uid", "count", "reserve", "keys", "authority", "signature")
# A conference of 5000 voters is far beyond any party committee; the bound keeps files small.
MAX_CREDENTIALS = 5000
_UID = re.compile(r"[0-9a-f]{32}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{128}")


class AuthorityError(ValueError):
    """An authority key file or a credential list is malformed or does not verify."""


def new_poll_uid() -> str:
    """128 random bits, lowercase hex: a poll's identity across every deployment."""
    return secrets.token_hex(16)


def is_poll_uid(value: object) -> bool:
    return isinstance(value, str) and _UID.fullmatch(value) is not None


class AuthorityKey:
    """The Board's Ed25519 signing key. Never printed, logged or written unencrypted."""

    __slots__ = ("_key", "public_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise AuthorityError("an authority key is a 32-byte Ed25519 seed")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> AuthorityKey:
        return cls(secrets.token_bytes(32))

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"AuthorityKey({self.fingerprint})"

    def _seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def to_encrypted_json(
        self, passphrase: str, *, salt: bytes | None = None, nonce: bytes | None = None
    ) -> dict[str, Any]:
        public = {"public_key": self.public_key.hex()}
        try:
            sealed = seal(self._seed(), public, passphrase, salt=salt, nonce=nonce)
        except KeyFileError as exc:
            raise AuthorityError(str(exc)) from None
        return {"format": KEY_FORMAT, "public": public, **sealed}

    @classmethod
    def from_encrypted_json(cls, data: Any, passphrase: str) -> AuthorityKey:
        if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
            raise AuthorityError(f"not an authority key file ({KEY_FORMAT})")
        public = data.get("public")
        if not isinstance(public, dict) or set(public) != {"public_key"}:
            raise AuthorityError("the key file's public part is damaged")
        try:
            key = cls(unseal(data, public, passphrase, 32))
        except KeyFileError as exc:
            raise AuthorityError(str(exc)) from None
        if key.public_key.hex() != public["public_key"]:
            raise AuthorityError("the key file's private and public keys do not match")
        return key

    def save(self, path: Path, passphrase: str) -> None:
        """Write the encrypted key file with mode 0600; never overwrite one."""
        data = json.dumps(self.to_encrypted_json(passphrase), indent=2, ensure_ascii=False)
        write_private(path, data + "\n")

    @classmethod
    def load(cls, path: Path, passphrase: str) -> AuthorityKey:
        return cls.from_encrypted_json(parse_json(path.read_text(encoding="utf-8")), passphrase)


def signed_bytes(document: dict[str, Any]) -> bytes:
    """What the authority signs: the tag and the canonical list without its signature."""
    return LIST_TAG + canonical_json({k: v for k, v in document.items() if k != "signature"})


def sign_list(
    authority: AuthorityKey, poll_uid: str, count: int, reserve: int, keys: Sequence[bytes]
) -> dict[str, Any]:
    """The signed public list of ``keys`` (``count`` slips and ``reserve`` reserve slips)."""
    document: dict[str, Any] = {
        "format": LIST_FORMAT,
        "poll_uid": poll_uid,
        "count": count,
        "reserve": reserve,
        "keys": sorted(k.hex() for k in keys),
        "authority": authority.public_key.hex(),
    }
    document["signature"] = authority.sign(signed_bytes(document)).hex()
    parse_credential_list(document, poll_uid=poll_uid)  # what the server will check
    return document


def mint(
    authority: AuthorityKey, poll_uid: str, count: int, reserve: int
) -> tuple[dict[str, Any], list[Credential], list[Credential]]:
    """New slips for one poll: (the signed public list, the slips, the reserve slips).

    The secrets exist only in the returned credentials: the caller prints them and drops them.
    """
    if not is_poll_uid(poll_uid):
        raise AuthorityError("a poll uid is 32 lowercase hexadecimal digits")
    _check_sizes(count, reserve)
    slips = [Credential.generate() for _ in range(count)]
    spare = [Credential.generate() for _ in range(reserve)]
    document = sign_list(authority, poll_uid, count, reserve, [c.public_key for c in slips + spare])
    return document, slips, spare


def _check_sizes(count: Any, reserve: Any) -> None:
    if not is_integer(count) or not is_integer(reserve) or count < 1 or reserve < 0:
        raise AuthorityError("count must be a whole number >= 1 and reserve one >= 0")
    if count + reserve > MAX_CREDENTIALS:
        raise AuthorityError(f"at most {MAX_CREDENTIALS} credentials in one list")


@dataclass(frozen=True)
class CredentialList:
    """A checked credential list: its signature verifies under ``authority``."""

    data: dict[str, Any]
    poll_uid: str
    count: int
    reserve: int
    keys: tuple[bytes, ...]
    authority: bytes

    @property
    def commitment(self) -> str:
        return commitment(self.keys)

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.authority)


def parse_credential_list(data: Any, *, poll_uid: str | None = None) -> CredentialList:
    """Check a list (docs/protocol.md §10.5, in order): exact fields, format, uid, sizes, keys
    sorted and distinct and valid, the authority's key, the signature; and, when ``poll_uid`` is
    given, that the list is that poll's."""
    if not isinstance(data, dict):
        raise AuthorityError("a credential list is a JSON object")
    problem = fields_problem("a credential list", data, LIST_FIELDS)
    if problem:
        raise AuthorityError(problem)
    if data["format"] != LIST_FORMAT:
        raise AuthorityError(f"not a credential list ({LIST_FORMAT})")
    if not is_poll_uid(data["poll_uid"]):
        raise AuthorityError("poll_uid: expected 32 lowercase hexadecimal digits")
    _check_sizes(data["count"], data["reserve"])
    keys = data["keys"]
    if not isinstance(keys, list) or any(
        not isinstance(k, str) or _HEX32.fullmatch(k) is None for k in keys
    ):
        raise AuthorityError("keys: expected a list of 32-byte public keys in lowercase hex")
    if len(set(keys)) != len(keys):
        raise AuthorityError("keys: a key appears twice")
    if keys != sorted(keys):
        raise AuthorityError("keys: the list must be sorted")
    if len(keys) != data["count"] + data["reserve"]:
        raise AuthorityError(
            f"keys: {len(keys)} keys, but count + reserve = {data['count'] + data['reserve']}"
        )
    raw = tuple(bytes.fromhex(k) for k in keys)
    for k, key in zip(keys, raw, strict=True):
        if not is_valid_credential_key(key):
            raise AuthorityError(f"keys: {k[:16]}… is not a valid Ed25519 key (small order?)")
    authority_hex, signature = data["authority"], data["signature"]
    if not isinstance(authority_hex, str) or _HEX32.fullmatch(authority_hex) is None:
        raise AuthorityError("authority: expected a 32-byte Ed25519 key in lowercase hex")
    authority = bytes.fromhex(authority_hex)
    if not is_valid_credential_key(authority):
        raise AuthorityError("authority: not a valid Ed25519 key")
    if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
        raise AuthorityError("signature: expected 64 bytes in lowercase hex")
    if not verify_signature(authority, bytes.fromhex(signature), signed_bytes(data)):
        raise AuthorityError("the authority's signature on the credential list does not verify")
    if poll_uid is not None and data["poll_uid"] != poll_uid:
        raise AuthorityError(
            f"the list is for poll {data['poll_uid']}, not for this poll ({poll_uid})"
        )
    return CredentialList(data, data["poll_uid"], data["count"], data["reserve"], raw, authority)
