"""One-time voting credentials.

A credential is a 128-bit random secret printed on a slip (QR code and a typable code). An Ed25519
signing key is derived from it with HKDF-SHA256; only the public key is ever stored by the service.
The set of public keys is committed (hashed) before the poll opens, and every ballot is signed with
its credential, so the server cannot invent ballots and a slip cannot vote twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as _sodium

SECRET_BYTES = 16
HKDF_INFO = b"tally/v1/credential-signing-key"
COMMITMENT_TAG = b"tally/v1/credential-set\x00"


class CredentialError(ValueError):
    """A credential code or key is malformed."""


class Credential:
    """A slip's secret and the signing key derived from it. The secret never appears in repr."""

    __slots__ = ("_key", "_public", "_secret")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
            raise CredentialError("a credential secret is 16 bytes")
        self._secret = secret
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret)
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> Credential:
        return cls(secrets.token_bytes(SECRET_BYTES))

    @classmethod
    def from_code(cls, code: str) -> Credential:
        """Parse the typable code (or the URL fragment): base32, case and dashes ignored."""
        text = "".join(ch for ch in code.upper() if ch not in "- \t")
        if len(text) != 26:
            raise CredentialError("a credential code has 26 letters and digits")
        try:
            secret = base64.b32decode(text + "======")
        except ValueError:
            raise CredentialError(
                "a credential code uses only the letters A-Z and digits 2-7"
            ) from None
        if base64.b32encode(secret).decode("ascii").rstrip("=") != text:
            raise CredentialError("a credential code is not canonical")
        return cls(secret)

    @property
    def code(self) -> str:
        """26 base32 characters in groups of 4 (the last of 2), e.g. ``ABCD-EFGH-…-YZ``."""
        text = base64.b32encode(self._secret).decode("ascii").rstrip("=")
        return "-".join(text[i : i + 4] for i in range(0, len(text), 4))

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Credential(public_key={self._public.hex()[:16]}…)"


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def is_valid_credential_key(public_key: bytes) -> bool:
    """A canonical Ed25519 point of the prime-order subgroup (never a small-order key)."""
    return len(public_key) == 32 and bool(_sodium.crypto_core_ed25519_is_valid_point(public_key))


def commitment(public_keys: Iterable[bytes]) -> str:
    """SHA-256 over the domain tag and the sorted 32-byte public keys: published before opening."""
    h = hashlib.sha256(COMMITMENT_TAG)
    for key in sorted(public_keys):
        h.update(key)
    return h.hexdigest()
