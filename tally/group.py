"""The prime-order subgroup of Ed25519, through PyNaCl's bindings of libsodium.

Points are 32-byte canonical Ed25519 encodings; scalars are integers modulo the group order ``L``
(encoded as 32 bytes, little-endian). Every point that arrives from outside goes through
:meth:`Point.decode`, which accepts only canonical encodings of prime-order subgroup elements.

libsodium refuses the identity point in ``is_valid_point`` and in scalar multiplication, but
exponential ElGamal meets it whenever a count is zero (``0·G``) or an aggregate is empty, so the
identity is handled here explicitly rather than by every caller.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from nacl import bindings as _sodium
from nacl.exceptions import RuntimeError as _NaClRuntimeError

# Order of the prime-order subgroup (RFC 8032).
L = 2**252 + 27742317777372353535851937790883648493

_IDENTITY = b"\x01" + b"\x00" * 31
_BASE = bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")


class GroupError(ValueError):
    """A received value is not a valid group element or scalar encoding."""


class Point:
    """An element of the prime-order subgroup of Ed25519 (immutable)."""

    __slots__ = ("_b",)
    _b: bytes

    def __init__(self, encoded: bytes) -> None:
        # Internal: callers outside this module use decode() for untrusted bytes.
        object.__setattr__(self, "_b", encoded)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    def __reduce__(self) -> tuple[type[Point], tuple[bytes]]:
        # Points cross process boundaries when the verifier uses every core.
        return (Point, (self._b,))

    @classmethod
    def decode(cls, data: bytes) -> Point:
        """Parse untrusted bytes: canonical, on the curve, in the prime-order subgroup."""
        if not isinstance(data, bytes) or len(data) != 32:
            raise GroupError("a point must be 32 bytes")
        if data == _IDENTITY:
            return IDENTITY
        if not _sodium.crypto_core_ed25519_is_valid_point(data):
            raise GroupError("not a canonical point of the prime-order subgroup")
        return cls(data)

    @classmethod
    def from_hex(cls, text: object) -> Point:
        return cls.decode(hex_bytes(text, 32, "point"))

    @classmethod
    def decode_deferred(cls, data: bytes) -> Point:
        """Untrusted bytes whose check is left to the libsodium call that multiplies them.

        ``crypto_scalarmult_ed25519_noclamp`` makes exactly the checks of ``is_valid_point``
        (canonical, on the curve, not of small order, in the prime-order subgroup) before it
        multiplies, and refuses otherwise: checking first as well doubles the cost of the
        subgroup check (a multiplication by L). Only for a point that is then multiplied by a
        non-zero scalar before anything is concluded from it, or checked with :meth:`require`
        (the ballot's ciphertexts, docs/protocol.md 12.4); every other point uses :meth:`decode`.
        """
        if not isinstance(data, bytes) or len(data) != 32:
            raise GroupError("a point must be 32 bytes")
        if data == _IDENTITY:
            return IDENTITY
        return cls(data)

    def require(self) -> None:
        """Make the check of :meth:`decode` now (a point from :meth:`decode_deferred`)."""
        if self._b != _IDENTITY and not _sodium.crypto_core_ed25519_is_valid_point(self._b):
            raise GroupError("not a canonical point of the prime-order subgroup")

    def encode(self) -> bytes:
        return self._b

    def hex(self) -> str:
        return self._b.hex()

    @property
    def is_identity(self) -> bool:
        return self._b == _IDENTITY

    def __add__(self, other: Point) -> Point:
        if self._b == _IDENTITY:
            return other
        if other._b == _IDENTITY:
            return self
        try:
            return Point(_sodium.crypto_core_ed25519_add(self._b, other._b))
        except _NaClRuntimeError:  # only a deferred point can be off the curve
            raise GroupError("not a canonical point of the prime-order subgroup") from None

    def __sub__(self, other: Point) -> Point:
        if other._b == _IDENTITY:
            return self
        if self._b == other._b:
            return IDENTITY
        try:
            return Point(_sodium.crypto_core_ed25519_sub(self._b, other._b))
        except _NaClRuntimeError:
            raise GroupError("not a canonical point of the prime-order subgroup") from None

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __mul__(self, scalar: int) -> Point:
        k = scalar % L
        if k == 0 or self._b == _IDENTITY:
            return IDENTITY
        if self._b == _BASE:
            return Point(_sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar_bytes(k)))
        try:
            return Point(_sodium.crypto_scalarmult_ed25519_noclamp(_scalar_bytes(k), self._b))
        except _NaClRuntimeError:  # a deferred point that is not valid (decode_deferred)
            raise GroupError("not a canonical point of the prime-order subgroup") from None

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and secrets.compare_digest(self._b, other._b)

    def __hash__(self) -> int:
        return hash(self._b)

    def __repr__(self) -> str:
        return f"Point({self._b.hex()[:16]}…)"


IDENTITY = Point(_IDENTITY)
G = Point(_BASE)


def base_mul(k: int) -> Point:
    """k·G using libsodium's fixed-base tables (several times faster than a variable base)."""
    k %= L
    if k == 0:
        return IDENTITY
    return Point(_sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar_bytes(k)))


def _scalar_bytes(k: int) -> bytes:
    return k.to_bytes(32, "little")


def encode_scalar(k: int) -> bytes:
    if not 0 <= k < L:
        raise GroupError("scalar out of range")
    return _scalar_bytes(k)


def decode_scalar(data: bytes) -> int:
    """Parse untrusted bytes: 32 bytes little-endian, strictly below L (no other encodings)."""
    if not isinstance(data, bytes) or len(data) != 32:
        raise GroupError("a scalar must be 32 bytes")
    k = int.from_bytes(data, "little")
    if k >= L:
        raise GroupError("non-canonical scalar (not reduced modulo L)")
    return k


def scalar_hex(k: int) -> str:
    return encode_scalar(k).hex()


def scalar_from_hex(text: object) -> int:
    return decode_scalar(hex_bytes(text, 32, "scalar"))


def random_scalar() -> int:
    """A uniformly random non-zero scalar (64 random bytes reduced modulo L)."""
    while True:
        k = int.from_bytes(secrets.token_bytes(64), "little") % L
        if k:
            return k


def hash_to_scalar(tag: str, *parts: bytes) -> int:
    """Fiat-Shamir challenge: SHA-512 over the domain tag and length-prefixed parts, mod L.

    Each item is prefixed with its length as 4 bytes big-endian, so no two different lists of
    parts hash the same input (docs/protocol.md, "Hashing").
    """
    h = hashlib.sha512()
    for item in (tag.encode("utf-8"), *parts):
        h.update(len(item).to_bytes(4, "big"))
        h.update(item)
    return int.from_bytes(h.digest(), "little") % L


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


_LOWER_HEX = re.compile(r"[0-9a-f]*")


def hex_bytes(text: object, size: int, what: str) -> bytes:
    """Exactly ``2·size`` lowercase hex digits (``bytes.fromhex`` alone would also skip spaces)."""
    if not isinstance(text, str) or len(text) != 2 * size:
        raise GroupError(f"a {what} must be {2 * size} hex characters")
    if text != text.lower():
        raise GroupError(f"a {what} must be lowercase hex")
    if _LOWER_HEX.fullmatch(text) is None:
        raise GroupError(f"a {what} must be hex")
    return bytes.fromhex(text)
