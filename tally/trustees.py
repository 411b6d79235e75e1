"""Trustees (the counting committee): keys, partial decryptions, combination.

Each trustee generates ``x_i`` on their own device and publishes ``Y_i = x_i·G`` with a Schnorr
proof of knowledge (which stops a trustee from choosing a key that cancels the others'). The poll's
key is ``Y = Σ Y_i``; decryption needs every trustee (n of n). A trustee decrypts only the
aggregate, publishing ``D = x_i·A`` for each aggregate ciphertext with a DLEQ proof.

Private keys are stored only encrypted under a passphrase (scrypt, then AES-256-GCM).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as _sodium

from tally.canonical import canonical_json, parse_json, sha256_hex
from tally.elgamal import Ciphertext
from tally.group import (
    IDENTITY,
    G,
    GroupError,
    L,
    Point,
    base_mul,
    decode_scalar,
    encode_scalar,
    hex_bytes,
    random_scalar,
    u32,
)
from tally.keyfile import KeyFileError, seal, unseal, write_private
from tally.proofs import (
    DleqProof,
    NonceSource,
    ProofError,
    SchnorrProof,
    prove_dleq,
    prove_schnorr,
    verify_dleq,
    verify_schnorr,
)

TAG_KEY = "tally/v1/trustee-key"
TAG_DECRYPT = "tally/v1/partial-decryption"
KEY_FORMAT = "tally-trustee-key/1"
PUBLIC_FORMAT = "tally-trustee-public/1"
PUBLIC_FORMAT_V2 = "tally-trustee-public/2"  # with the trustee's Ed25519 signing key
SIGNING_INFO = b"tally/v2/trustee-signing-key"
DERIVE_INFO = b"tally/v2/trustee-derive\x00"
SHARE_FORMAT = "tally-share/1"
AGGREGATE_FORMAT = "tally-aggregate/1"


class TrusteeError(ValueError):
    """A trustee key, share or aggregate is malformed or does not verify."""


@dataclass(frozen=True)
class TrusteePublic:
    """A trustee's published key: the ElGamal key with its proof of knowledge and, from protocol
    version 2, the Ed25519 key with which the trustee signs the attendance statement."""

    name: str
    public_key: Point
    proof: SchnorrProof
    signing_key: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": PUBLIC_FORMAT if self.signing_key is None else PUBLIC_FORMAT_V2,
            "name": self.name,
            "public_key": self.public_key.hex(),
            "proof": self.proof.to_json(),
        }
        if self.signing_key is not None:
            data["signing_key"] = self.signing_key.hex()
        return data

    @classmethod
    def from_json(cls, data: Any) -> TrusteePublic:
        """Parse and check a published trustee key (either format), including its proof of
        knowledge and, in version 2, that the signing key is a valid Ed25519 key."""
        if not isinstance(data, dict) or data.get("format") not in (
            PUBLIC_FORMAT,
            PUBLIC_FORMAT_V2,
        ):
            raise TrusteeError(
                f"not a trustee public key file ({PUBLIC_FORMAT} or {PUBLIC_FORMAT_V2})"
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise TrusteeError("a trustee needs a name")
        try:
            key = Point.from_hex(data.get("public_key"))
            proof = SchnorrProof.from_json(data.get("proof"))
        except (GroupError, ProofError) as exc:
            raise TrusteeError(f"trustee {name}: {exc}") from None
        if key.is_identity:
            raise TrusteeError(f"trustee {name}: the public key must not be the identity")
        signing: bytes | None = None
        if data["format"] == PUBLIC_FORMAT_V2:
            text = data.get("signing_key")
            if not isinstance(text, str) or re.fullmatch(r"[0-9a-f]{64}", text) is None:
                raise TrusteeError(f"trustee {name}: signing_key must be 32 bytes in lowercase hex")
            signing = bytes.fromhex(text)
            if not _sodium.crypto_core_ed25519_is_valid_point(signing):
                raise TrusteeError(f"trustee {name}: signing_key is not a valid Ed25519 key")
        if not verify_schnorr(key, proof, TAG_KEY, proof_context(signing, name)):
            raise TrusteeError(f"trustee {name}: the proof of knowledge of the key does not verify")
        return cls(name, key, proof, signing)


def proof_context(signing_key: bytes | None, name: str) -> bytes:
    """The context of the key's Schnorr proof: empty in version 1; in version 2 the signing key
    and the name (UTF-8), so that nobody without the secret can pair the key with another
    signing key or another name."""
    return b"" if signing_key is None else signing_key + name.encode("utf-8")


def _signing_key(x: int) -> Ed25519PrivateKey:
    """The trustee's Ed25519 key, derived from the ElGamal secret (so every key file, old ones
    included, holds it): seed = HKDF-SHA256(encode_scalar(x), info = SIGNING_INFO)."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_INFO).derive(
        encode_scalar(x)
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


class TrusteeKey:
    """A trustee's private key. Never printed, logged or written unencrypted."""

    __slots__ = ("_x", "public")

    def __init__(self, x: int, public: TrusteePublic) -> None:
        self._x = x
        self.public = public

    @classmethod
    def generate(cls, name: str) -> TrusteeKey:
        return cls.from_secret(name, random_scalar())

    @classmethod
    def from_secret(cls, name: str, x: int, *, nonce: int | None = None) -> TrusteeKey:
        """The key with secret ``x`` and its proof of knowledge (``nonce``: the proof's ``w``).

        A chosen secret is for test vectors and tests; a trustee's device uses :meth:`generate`.
        """
        if not 0 < x < L:
            raise TrusteeError("a trustee's secret must be a non-zero scalar below L")
        signing = (
            _signing_key(x)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        proof = prove_schnorr(x, TAG_KEY, proof_context(signing, name), nonce=nonce)
        return cls(x, TrusteePublic(name, base_mul(x), proof, signing))

    def public_v1(self, *, nonce: int | None = None) -> TrusteePublic:
        """The published key in version 1's form (no signing key, a proof without context), for
        version-1 manifests (``nonce``: the proof's ``w``, for vectors)."""
        proof = prove_schnorr(self._x, TAG_KEY, b"", nonce=nonce)
        return TrusteePublic(self.public.name, self.public.public_key, proof)

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature with the trustee's signing key (``public.signing_key``)."""
        return _signing_key(self._x).sign(data)

    def derive(self, label: bytes) -> int:
        """A secret scalar for one use, derived from the key (the key ceremony's polynomial,
        ephemeral keys and nonces, docs/protocol.md 9.4): ``HKDF-SHA512(IKM = encode(x),
        salt = none, info = DERIVE_INFO ‖ label, L = 64)`` read little-endian modulo L; zero is
        refused. The same label always gives the same scalar, so a trustee's device keeps no
        state between the ceremony's steps."""
        okm = HKDF(
            algorithm=hashes.SHA512(), length=64, salt=None, info=DERIVE_INFO + label
        ).derive(encode_scalar(self._x))
        k = int.from_bytes(okm, "little") % L
        if k == 0:  # pragma: no cover - probability 2^-252
            raise TrusteeError("a derived scalar is zero")
        return k

    def dh(self, point: Point) -> Point:
        """``x·P``: the Diffie-Hellman value with which a ceremony share sent to this trustee is
        opened."""
        return point * self._x

    def prove_dh(self, point: Point, tag: str, context: bytes, *, nonce: int) -> DleqProof:
        """A DLEQ proof that ``dh(point)`` was made with this trustee's key (a complaint)."""
        return prove_dleq(
            self._x, point, self.public.public_key, point * self._x, tag, context, nonce=nonce
        )

    def __repr__(self) -> str:
        key = self.public.public_key.hex()[:16]
        return f"TrusteeKey(name={self.public.name!r}, public_key={key}…)"

    # -- storage ------------------------------------------------------------------------------

    def to_encrypted_json(
        self, passphrase: str, *, salt: bytes | None = None, nonce: bytes | None = None
    ) -> dict[str, Any]:
        """The key file; ``salt`` (16 bytes) and ``nonce`` (12) random unless given (vectors)."""
        public = self.public.to_json()
        try:
            sealed = seal(encode_scalar(self._x), public, passphrase, salt=salt, nonce=nonce)
        except KeyFileError as exc:
            raise TrusteeError(str(exc)) from None
        return {"format": KEY_FORMAT, "public": public, **sealed}

    @classmethod
    def from_encrypted_json(cls, data: Any, passphrase: str) -> TrusteeKey:
        if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
            raise TrusteeError(f"not a trustee key file ({KEY_FORMAT})")
        public = TrusteePublic.from_json(data.get("public"))
        try:
            plain = unseal(data, data["public"], passphrase, 32)
        except KeyFileError as exc:
            raise TrusteeError(str(exc)) from None
        x = decode_scalar(plain)
        if base_mul(x) != public.public_key:
            raise TrusteeError("the key file's private and public keys do not match")
        signing = (
            _signing_key(x)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        if public.signing_key is None:
            # A version-1 key file: its version-2 public key (derived signing key, new proof).
            return cls.from_secret(public.name, x)
        if public.signing_key != signing:
            raise TrusteeError("the key file's signing key does not match its secret")
        return cls(x, public)

    def save(self, path: Path, passphrase: str) -> None:
        """Write the encrypted key file with mode 0600 (created so, never widened)."""
        data = json.dumps(self.to_encrypted_json(passphrase), indent=2, ensure_ascii=False)
        write_private(path, data + "\n")

    @classmethod
    def load(cls, path: Path, passphrase: str) -> TrusteeKey:
        return cls.from_encrypted_json(parse_json(path.read_text(encoding="utf-8")), passphrase)

    # -- decryption ---------------------------------------------------------------------------

    def decrypt_share(
        self, aggregate: dict[str, Any], *, nonces: NonceSource | None = None
    ) -> dict[str, Any]:
        """Partial decryption of every aggregate ciphertext, each with its DLEQ proof.

        A given ``nonces`` source (test vectors only) is asked for ``"i/j/w"``, the nonce of the
        proof for subject ``i``, grade ``j``; by default the nonces are random.
        """
        fingerprint, cts = parse_aggregate(aggregate)
        Y = self.public.public_key
        rows = []
        for i, row in enumerate(cts):
            out = []
            for j, ct in enumerate(row):
                D = ct.a * self._x
                proof = prove_dleq(
                    self._x,
                    ct.a,
                    Y,
                    D,
                    TAG_DECRYPT,
                    _share_context(fingerprint, i, j),
                    nonce=None if nonces is None else nonces(f"{i}/{j}/w"),
                )
                out.append({"d": D.hex(), "proof": proof.to_json()})
            rows.append(out)
        return {
            "format": SHARE_FORMAT,
            "poll": fingerprint.hex(),
            "trustee": self.public.name,
            "public_key": Y.hex(),
            "aggregate_sha256": sha256_hex(canonical_json(aggregate)),
            "shares": rows,
        }


def joint_public_key(trustees: Sequence[TrusteePublic]) -> Point:
    if not trustees:
        raise TrusteeError("a poll needs at least one trustee")
    keys = [t.public_key for t in trustees]
    if len(set(keys)) != len(keys):
        raise TrusteeError("two trustees have the same public key")
    total = IDENTITY
    for k in keys:
        total = total + k
    if total.is_identity:
        raise TrusteeError("the joint key is the identity")
    return total


def _share_context(fingerprint: bytes, subject: int, grade: int) -> bytes:
    return fingerprint + u32(subject) + u32(grade)


def make_aggregate(
    fingerprint: bytes, board_head: str, ballot_count: int, sums: Sequence[Sequence[Ciphertext]]
) -> dict[str, Any]:
    return {
        "format": AGGREGATE_FORMAT,
        "poll": fingerprint.hex(),
        "board_head": board_head,
        "ballot_count": ballot_count,
        "ciphertexts": [[ct.to_json() for ct in row] for row in sums],
    }


def parse_aggregate(aggregate: Any) -> tuple[bytes, list[list[Ciphertext]]]:
    if not isinstance(aggregate, dict) or aggregate.get("format") != AGGREGATE_FORMAT:
        raise TrusteeError(f"not an aggregate file ({AGGREGATE_FORMAT})")
    try:
        fingerprint = hex_bytes(aggregate["poll"], 32, "poll fingerprint")
        rows = aggregate["ciphertexts"]
        if not isinstance(rows, list):
            raise ValueError
        cts = [[Ciphertext.from_json(c) for c in row] for row in rows]
    except (KeyError, TypeError, ValueError) as exc:
        raise TrusteeError(f"the aggregate file is damaged: {exc}") from None
    return fingerprint, cts


def verify_share(
    aggregate: dict[str, Any], trustee: TrusteePublic, share: Any
) -> list[list[Point]]:
    """Check a trustee's share against the aggregate; return the partial decryptions."""
    fingerprint, cts = parse_aggregate(aggregate)
    who = f"trustee {trustee.name}"
    if not isinstance(share, dict) or share.get("format") != SHARE_FORMAT:
        raise TrusteeError(f"{who}: not a decryption share ({SHARE_FORMAT})")
    if share.get("poll") != fingerprint.hex():
        raise TrusteeError(f"{who}: the share is for another poll")
    if share.get("trustee") != trustee.name:
        raise TrusteeError(f"{who}: the share names another trustee")
    if share.get("public_key") != trustee.public_key.hex():
        raise TrusteeError(f"{who}: the share was made with another key")
    if share.get("aggregate_sha256") != sha256_hex(canonical_json(aggregate)):
        raise TrusteeError(f"{who}: the share is for a different aggregate")
    rows = share.get("shares")
    if not isinstance(rows, list) or [len(r) if isinstance(r, list) else -1 for r in rows] != [
        len(r) for r in cts
    ]:
        raise TrusteeError(f"{who}: the share does not have one value per aggregate ciphertext")
    out: list[list[Point]] = []
    for i, (row, ct_row) in enumerate(zip(rows, cts, strict=True)):
        points = []
        for j, (item, ct) in enumerate(zip(row, ct_row, strict=True)):
            try:
                D = Point.from_hex(item["d"])
                proof = DleqProof.from_json(item["proof"])
            except (GroupError, ProofError, KeyError, TypeError) as exc:
                raise TrusteeError(f"{who}: subject {i + 1}, grade {j + 1}: {exc}") from None
            if not verify_dleq(
                ct.a, trustee.public_key, D, proof, TAG_DECRYPT, _share_context(fingerprint, i, j)
            ):
                raise TrusteeError(
                    f"{who}: subject {i + 1}, grade {j + 1}: the decryption proof does not verify"
                )
            points.append(D)
        out.append(points)
    return out


def count_table(max_count: int) -> dict[Point, int]:
    """``m·G -> m`` for ``0 <= m <= max_count`` (the identity for 0): where a decrypted count is
    read (14.3, 14.5)."""
    table: dict[Point, int] = {}
    p = IDENTITY
    for m in range(max_count + 1):
        table[p] = m
        p = p + G
    return table


def combine(
    aggregate: dict[str, Any], partials: Sequence[Sequence[Sequence[Point]]], max_count: int
) -> list[list[int]]:
    """Add the trustees' partial decryptions and read each count from a small table of m·G."""
    _, cts = parse_aggregate(aggregate)
    table = count_table(max_count)
    counts = []
    for i, row in enumerate(cts):
        out = []
        for j, ct in enumerate(row):
            mG = ct.b
            for partial in partials:
                mG = mG - partial[i][j]
            if mG not in table:
                raise TrusteeError(
                    f"subject {i + 1}, grade {j + 1}: the decrypted count is not between 0 and"
                    f" {max_count}"
                )
            out.append(table[mG])
        counts.append(out)
    return counts
