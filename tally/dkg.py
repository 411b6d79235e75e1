"""The key ceremony (k of n) and counting with any k trustees (docs/protocol.md 9.4, 14.5).

A joint-Feldman distributed key generation with publicly checkable complaints, as in Belenios'
threshold mode: nobody, the server included, ever holds the poll's secret key.

1. **The ceremony** (``tally-ceremony/1``) fixes a uid, the threshold k and the n trustees' public
   keys in order (trustee m is the m-th, from 1). Its SHA-256, ``H0``, is in every message.
2. **Dealing.** Trustee i draws a polynomial ``f_i`` of degree k−1 (derived from their key and
   ``H0``, so their device keeps no state), publishes its coefficients' commitments
   ``C_{i,t} = a_{i,t}·G`` with a Schnorr proof of knowledge of ``a_{i,0}`` bound to ``H0`` and i,
   and sends each trustee j (itself included) ``f_i(j)`` encrypted to j's key: ECIES with
   ``E = r·G``, ``Z = r·Y_j``, HKDF-SHA256 and AES-256-GCM. Signed with i's signing key.
3. **Checking.** Once all n dealings are in, trustee j opens the n shares sent to it and checks
   each against the dealer's commitments: ``f_i(j)·G = Σ_t j^t·C_{i,t}``. It publishes a signed
   check naming the SHA-256 of the n dealings it saw (so the relaying server cannot show
   different dealings to different trustees) and one complaint per bad share: ``Z = x_j·E`` with
   a DLEQ proof that it was made with j's key. Anyone can then open that share: a share that does
   not open or does not match makes the *dealer* faulty; a share that matches makes the
   *accuser* faulty.
4. **Result.** The qualified trustees ``Q`` are those not faulty; fewer than k stops the ceremony
   with the names of the faulty. The poll's key is ``Y = Σ_{i∈Q} C_{i,0}``; trustee m's
   verification key is ``VK_m = Σ_{i∈Q} Σ_t m^t·C_{i,t}``, and its secret share
   ``s_m = Σ_{i∈Q} f_i(m)`` (recomputed from the transcript and its own key file when counting).
5. **Counting.** Each of any k qualified trustees publishes ``D = s_m·A`` for each aggregate
   ciphertext ``(A, B)`` with a DLEQ proof against ``VK_m``; the counts are read from
   ``B − Σ λ_m·D_m`` with the Lagrange coefficients at 0 of the k lowest indices among those
   whose shares verify.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tally.canonical import canonical_json, sha256_hex
from tally.credentials import verify_signature
from tally.group import (
    IDENTITY,
    GroupError,
    L,
    Point,
    base_mul,
    decode_scalar,
    encode_scalar,
    hex_bytes,
    u32,
)
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
from tally.trustees import (
    TrusteeError,
    TrusteeKey,
    TrusteePublic,
    count_table,
    parse_aggregate,
)

CEREMONY_FORMAT = "tally-ceremony/1"
DEAL_FORMAT = "tally-dkg-deal/1"
CHECK_FORMAT = "tally-dkg-check/1"
SHARE_FORMAT_V2 = "tally-share/2"
TAG_CONSTANT = "tally/v2/dkg-constant"
TAG_COMPLAINT = "tally/v2/dkg-complaint"
TAG_EPHEMERAL = "tally/v2/dkg-ephemeral"
TAG_THRESHOLD = "tally/v2/threshold-decryption"
DEAL_SIGNATURE = b"tally/v2/dkg-deal\x00"
CHECK_SIGNATURE = b"tally/v2/dkg-check\x00"
SHARE_INFO = b"tally/v2/dkg-share\x00"
MAX_TRUSTEES = 32
_UID = re.compile(r"[0-9a-f]{32}")
_CT_BYTES = 48  # AES-256-GCM of a 32-byte scalar: 32 bytes and a 16-byte tag

DEAL_FIELDS = ("format", "ceremony", "dealer", "commitments", "proof", "shares", "signature")
CHECK_FIELDS = ("format", "ceremony", "trustee", "dealings", "complaints", "signature")


class CeremonyError(ValueError):
    """A ceremony message is malformed, out of order or does not verify; or the ceremony ends
    without a key. The message names the step and the trustee."""


def default_threshold(n: int) -> int:
    """A majority of the n trustees."""
    return n // 2 + 1


@dataclass(frozen=True)
class Ceremony:
    """What a key ceremony serves and who takes part: fixed before anyone deals."""

    uid: str
    threshold: int
    trustees: tuple[TrusteePublic, ...]

    def __post_init__(self) -> None:
        n = len(self.trustees)
        if not isinstance(self.uid, str) or _UID.fullmatch(self.uid) is None:
            raise CeremonyError("ceremony: the uid must be 32 lowercase hexadecimal digits")
        if not 1 <= n <= MAX_TRUSTEES:
            raise CeremonyError(f"ceremony: between 1 and {MAX_TRUSTEES} trustees")
        if type(self.threshold) is not int or not 1 <= self.threshold <= n:
            raise CeremonyError(f"ceremony: the threshold k must be between 1 and n = {n}")
        if any(t.signing_key is None for t in self.trustees):
            raise CeremonyError("ceremony: every trustee needs a signing key (version 2)")
        if (
            len({t.name for t in self.trustees}) != n
            or len({t.public_key for t in self.trustees}) != n
            or len({t.signing_key for t in self.trustees}) != n
        ):
            raise CeremonyError("ceremony: two trustees have the same name or the same key")

    @property
    def n(self) -> int:
        return len(self.trustees)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CEREMONY_FORMAT,
            "uid": self.uid,
            "threshold": self.threshold,
            "trustees": [t.to_json() for t in self.trustees],
        }

    @property
    def digest(self) -> bytes:
        """``H0``: SHA-256 of the canonical ceremony object."""
        return hashlib.sha256(canonical_json(self.to_json())).digest()

    def index_of(self, key: TrusteePublic) -> int:
        """The trustee's index (from 1), or a CeremonyError if they do not take part."""
        for m, t in enumerate(self.trustees, start=1):
            if t.public_key == key.public_key and t.signing_key == key.signing_key:
                return m
        raise CeremonyError(f"{key.name} is not a trustee of this ceremony")

    def name(self, m: int) -> str:
        return self.trustees[m - 1].name


def parse_ceremony(data: Any) -> Ceremony:
    """A ``tally-ceremony/1`` object (what the service hands each trustee): exactly its four
    fields, every trustee a ``tally-trustee-public/2`` whose proof verifies."""
    fields = ("format", "uid", "threshold", "trustees")
    if not isinstance(data, dict) or data.get("format") != CEREMONY_FORMAT:
        raise CeremonyError(f"not a ceremony file ({CEREMONY_FORMAT})")
    if set(data) != set(fields):
        raise CeremonyError(f"a ceremony has exactly the fields {', '.join(fields)}")
    if not isinstance(data["trustees"], list):
        raise CeremonyError("ceremony: trustees must be a list")
    try:
        trustees = tuple(TrusteePublic.from_json(t) for t in data["trustees"])
    except TrusteeError as exc:
        raise CeremonyError(f"ceremony: {exc}") from None
    ceremony = Ceremony(data["uid"], data["threshold"], trustees)
    if ceremony.to_json() != data:
        raise CeremonyError("ceremony: a trustee is not in its exact published form")
    return ceremony


@dataclass(frozen=True)
class Dealing:
    dealer: int
    commitments: tuple[Point, ...]
    shares: tuple[tuple[Point, bytes], ...]  # (E, AES-GCM ciphertext) for j = 1..n


@dataclass(frozen=True)
class Complaint:
    dealer: int
    z: Point
    proof: DleqProof


@dataclass(frozen=True)
class Fault:
    trustee: int
    name: str
    reason: str  # "bad_share" (a dealer) or "false_complaint" (an accuser)
    against: int  # the other party: the accuser of a dealer, the dealer a false complaint named

    def to_json(self) -> dict[str, Any]:
        return {
            "trustee": self.trustee,
            "name": self.name,
            "reason": self.reason,
            "against": self.against,
        }


@dataclass(frozen=True)
class CeremonyResult:
    """The ceremony's outcome: the qualified trustees, who was faulty, the poll's key and every
    qualified trustee's verification key."""

    qualified: tuple[int, ...]
    faults: tuple[Fault, ...]
    public_key: Point
    verification_keys: Mapping[int, Point] = field(default_factory=dict)


# --- messages ----------------------------------------------------------------------------------


def dealings_digest(dealings: Sequence[dict[str, Any]]) -> str:
    """What each check names: SHA-256 of the canonical JSON list of the n dealings, in order."""
    return sha256_hex(canonical_json(list(dealings)))


def _share_key(z: Point, h0: bytes, dealer: int, to: int, e: Point) -> tuple[bytes, bytes]:
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=44,
        salt=None,
        info=SHARE_INFO + h0 + u32(dealer) + u32(to) + e.encode(),
    ).derive(z.encode())
    return okm[:32], okm[32:]


def _open_share(z: Point, h0: bytes, dealer: int, to: int, e: Point, ct: bytes) -> int | None:
    """The share ``f_dealer(to)`` if it opens with ``Z`` and is a canonical scalar, else None."""
    key, iv = _share_key(z, h0, dealer, to, e)
    try:
        return decode_scalar(AESGCM(key).decrypt(iv, ct, None))
    except (InvalidTag, GroupError):
        return None


def evaluate_commitments(commitments: Sequence[Point], m: int) -> Point:
    """``Σ_t m^t·C_t`` (Horner's rule), what ``f(m)·G`` must be."""
    total = IDENTITY
    for c in reversed(commitments):
        total = total * m + c
    return total


def make_dealing(ceremony: Ceremony, key: TrusteeKey) -> dict[str, Any]:
    """Trustee i's signed dealing. Every secret comes from :meth:`TrusteeKey.derive` with labels
    ``H0 ‖ "a/" t`` (the coefficients), ``H0 ‖ "a/w"`` (the proof's nonce) and ``H0 ‖ "r/" j``
    (the ephemeral key of the share sent to j): the same key and ceremony give the same bytes."""
    h0 = ceremony.digest
    i = ceremony.index_of(key.public)
    k, n = ceremony.threshold, ceremony.n
    coefficients = [key.derive(h0 + f"a/{t}".encode("ascii")) for t in range(k)]
    proof = prove_schnorr(coefficients[0], TAG_CONSTANT, h0 + u32(i), nonce=key.derive(h0 + b"a/w"))
    shares = []
    for j, recipient in enumerate(ceremony.trustees, start=1):
        value = 0
        for a in reversed(coefficients):
            value = (value * j + a) % L
        r = key.derive(h0 + f"r/{j}".encode("ascii"))
        e = base_mul(r)
        aes, iv = _share_key(recipient.public_key * r, h0, i, j, e)
        # The dealer proves it knows r: a complaint's Z = x_j·E then tells it nothing it did not
        # know (r·Y_j), so no dealing can make a trustee compute x_j·P for a point of its choice.
        known = prove_schnorr(
            r,
            TAG_EPHEMERAL,
            h0 + u32(i) + u32(j),
            nonce=key.derive(h0 + f"r/{j}/w".encode("ascii")),
        )
        shares.append(
            {
                "e": e.hex(),
                "ct": AESGCM(aes).encrypt(iv, encode_scalar(value), None).hex(),
                "proof": known.to_json(),
            }
        )
    assert len(shares) == n
    message: dict[str, Any] = {
        "format": DEAL_FORMAT,
        "ceremony": h0.hex(),
        "dealer": i,
        "commitments": [base_mul(a).hex() for a in coefficients],
        "proof": proof.to_json(),
        "shares": shares,
    }
    message["signature"] = key.sign(DEAL_SIGNATURE + canonical_json(message)).hex()
    return message


def _exact(data: Any, fields: Sequence[str], fmt: str, what: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise CeremonyError(f"{what}: not a {fmt} message")
    if set(data) != set(fields):
        raise CeremonyError(f"{what}: expected exactly the fields {', '.join(fields)}")
    return data


def _index(value: Any, n: int, what: str) -> int:
    if type(value) is not int or not 1 <= value <= n:
        raise CeremonyError(f"{what}: expected a trustee index between 1 and {n}")
    return value


def _signed(data: dict[str, Any], prefix: bytes, signer: TrusteePublic, what: str) -> None:
    body = {k: v for k, v in data.items() if k != "signature"}
    try:
        signature = hex_bytes(data["signature"], 64, "signature")
    except GroupError as exc:
        raise CeremonyError(f"{what}: {exc}") from None
    assert signer.signing_key is not None
    if not verify_signature(signer.signing_key, signature, prefix + canonical_json(body)):
        raise CeremonyError(f"{what}: the signature of {signer.name} does not verify")


def parse_dealing(ceremony: Ceremony, data: Any) -> Dealing:
    """Check a dealing's form, its proof and its dealer's signature (not the shares' contents,
    which only their recipients can open)."""
    _exact(data, DEAL_FIELDS, DEAL_FORMAT, "dealing")
    n, k = ceremony.n, ceremony.threshold
    i = _index(data["dealer"], n, "dealing")
    what = f"dealing of trustee {i} ({ceremony.name(i)})"
    if data["ceremony"] != ceremony.digest.hex():
        raise CeremonyError(f"{what}: made for another ceremony")
    commitments, shares = data["commitments"], data["shares"]
    if not isinstance(commitments, list) or len(commitments) != k:
        raise CeremonyError(f"{what}: expected k = {k} commitments")
    if not isinstance(shares, list) or len(shares) != n:
        raise CeremonyError(f"{what}: expected one share for each of the n = {n} trustees")
    try:
        points = tuple(Point.from_hex(c) for c in commitments)
        proof = SchnorrProof.from_json(data["proof"])
        opened: list[tuple[Point, bytes]] = []
        for j, share in enumerate(shares, start=1):
            if not isinstance(share, dict) or set(share) != {"e", "ct", "proof"}:
                raise CeremonyError(f"{what}: a share has exactly the fields e, ct and proof")
            e = Point.from_hex(share["e"])
            if e.is_identity:
                raise CeremonyError(f"{what}: a share's ephemeral key is the identity")
            known = SchnorrProof.from_json(share["proof"])
            if not verify_schnorr(e, known, TAG_EPHEMERAL, ceremony.digest + u32(i) + u32(j)):
                raise CeremonyError(
                    f"{what}: the proof of the ephemeral key of the share for trustee {j}"
                    " does not verify"
                )
            opened.append((e, hex_bytes(share["ct"], _CT_BYTES, "share ciphertext")))
    except (GroupError, ProofError) as exc:
        raise CeremonyError(f"{what}: {exc}") from None
    if points[0].is_identity:
        raise CeremonyError(f"{what}: the constant commitment is the identity")
    if not verify_schnorr(points[0], proof, TAG_CONSTANT, ceremony.digest + u32(i)):
        raise CeremonyError(f"{what}: the proof of knowledge of the constant term does not verify")
    _signed(data, DEAL_SIGNATURE, ceremony.trustees[i - 1], what)
    return Dealing(i, points, tuple(opened))


def _dealings(ceremony: Ceremony, dealings: Sequence[Any]) -> list[Dealing]:
    if not isinstance(dealings, list) or len(dealings) != ceremony.n:
        raise CeremonyError(f"ceremony: expected the n = {ceremony.n} dealings, one per trustee")
    parsed = [parse_dealing(ceremony, d) for d in dealings]
    if [d.dealer for d in parsed] != list(range(1, ceremony.n + 1)):
        raise CeremonyError("ceremony: the dealings must be in trustee order, one each")
    return parsed


def make_check(
    ceremony: Ceremony, key: TrusteeKey, dealings: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Trustee j's signed check of the n dealings: a complaint for each share sent to it that
    does not open or does not match its dealer's commitments (nonce of a complaint's proof:
    ``derive(H0 ‖ "c/" i)``)."""
    h0 = ceremony.digest
    j = ceremony.index_of(key.public)
    complaints = []
    for dealing in _dealings(ceremony, list(dealings)):
        e, ct = dealing.shares[j - 1]
        value = _open_share(key.dh(e), h0, dealing.dealer, j, e, ct)
        expected = evaluate_commitments(dealing.commitments, j)
        if value is None or base_mul(value) != expected:
            context = h0 + u32(dealing.dealer) + u32(j)
            z = key.dh(e)
            # The nonce is derived from the whole statement (E and Z), never from the dealer
            # alone: two complaints with one nonce and two E would give the key away.
            label = h0 + b"c/" + u32(dealing.dealer) + e.encode() + z.encode()
            proof = key.prove_dh(e, TAG_COMPLAINT, context, nonce=key.derive(label))
            complaints.append({"dealer": dealing.dealer, "z": z.hex(), "proof": proof.to_json()})
    message: dict[str, Any] = {
        "format": CHECK_FORMAT,
        "ceremony": h0.hex(),
        "trustee": j,
        "dealings": dealings_digest(dealings),
        "complaints": complaints,
    }
    message["signature"] = key.sign(CHECK_SIGNATURE + canonical_json(message)).hex()
    return message


def parse_check(
    ceremony: Ceremony, data: Any, dealings: Sequence[Dealing], digest: str
) -> tuple[int, list[Complaint]]:
    """Check a check message's form, signature, the dealings it names and each complaint's
    proof. Returns the trustee's index and complaints."""
    _exact(data, CHECK_FIELDS, CHECK_FORMAT, "check")
    j = _index(data["trustee"], ceremony.n, "check")
    what = f"check of trustee {j} ({ceremony.name(j)})"
    if data["ceremony"] != ceremony.digest.hex():
        raise CeremonyError(f"{what}: made for another ceremony")
    if data["dealings"] != digest:
        raise CeremonyError(f"{what}: names other dealings than those of the transcript")
    if not isinstance(data["complaints"], list):
        raise CeremonyError(f"{what}: complaints must be a list")
    complaints: list[Complaint] = []
    recipient = ceremony.trustees[j - 1]
    for item in data["complaints"]:
        if not isinstance(item, dict) or set(item) != {"dealer", "z", "proof"}:
            raise CeremonyError(f"{what}: a complaint has exactly the fields dealer, z and proof")
        i = _index(item["dealer"], ceremony.n, what)
        if i == j or any(c.dealer == i for c in complaints):
            raise CeremonyError(f"{what}: a complaint against itself or a second one against {i}")
        if complaints and i < complaints[-1].dealer:
            raise CeremonyError(f"{what}: complaints must be in dealer order")
        try:
            z = Point.from_hex(item["z"])
            proof = DleqProof.from_json(item["proof"])
        except (GroupError, ProofError) as exc:
            raise CeremonyError(f"{what}: {exc}") from None
        e = dealings[i - 1].shares[j - 1][0]
        context = ceremony.digest + u32(i) + u32(j)
        if not verify_dleq(e, recipient.public_key, z, proof, TAG_COMPLAINT, context):
            raise CeremonyError(f"{what}: the proof of the complaint against {i} does not verify")
        complaints.append(Complaint(i, z, proof))
    _signed(data, CHECK_SIGNATURE, recipient, what)
    return j, complaints


def evaluate(ceremony: Ceremony, dealings: Sequence[Any], checks: Sequence[Any]) -> CeremonyResult:
    """The ceremony's outcome from its public transcript, or a CeremonyError naming the step that
    failed (a malformed or unsigned message) or, when fewer than k trustees qualify, the faulty."""
    parsed = _dealings(ceremony, dealings)
    digest = dealings_digest(dealings)
    if not isinstance(checks, list) or len(checks) != ceremony.n:
        raise CeremonyError(f"ceremony: expected the n = {ceremony.n} checks, one per trustee")
    faults: dict[int, Fault] = {}
    h0 = ceremony.digest
    for position, data in enumerate(checks, start=1):
        j, complaints = parse_check(ceremony, data, parsed, digest)
        if j != position:
            raise CeremonyError("ceremony: the checks must be in trustee order, one each")
        for complaint in complaints:
            dealing = parsed[complaint.dealer - 1]
            e, ct = dealing.shares[j - 1]
            value = _open_share(complaint.z, h0, complaint.dealer, j, e, ct)
            good = value is not None and base_mul(value) == evaluate_commitments(
                dealing.commitments, j
            )
            if good:
                faults.setdefault(j, Fault(j, ceremony.name(j), "false_complaint", dealing.dealer))
            else:
                faults.setdefault(
                    dealing.dealer,
                    Fault(dealing.dealer, ceremony.name(dealing.dealer), "bad_share", j),
                )
    qualified = tuple(m for m in range(1, ceremony.n + 1) if m not in faults)
    ordered = tuple(faults[m] for m in sorted(faults))
    if len(qualified) < ceremony.threshold:
        names = "; ".join(f"{f.name} ({f.reason})" for f in ordered)
        raise CeremonyError(
            f"ceremony: only {len(qualified)} trustees qualify, fewer than k ="
            f" {ceremony.threshold}; faulty: {names}"
        )
    public_key = IDENTITY
    for i in qualified:
        public_key = public_key + parsed[i - 1].commitments[0]
    if public_key.is_identity:
        raise CeremonyError("ceremony: the joint key is the identity")
    verification = {
        m: _sum(evaluate_commitments(parsed[i - 1].commitments, m) for i in qualified)
        for m in qualified
    }
    return CeremonyResult(qualified, ordered, public_key, verification)


def _sum(points: Any) -> Point:
    total = IDENTITY
    for p in points:
        total = total + p
    return total


# --- counting with any k ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdKey:
    """A qualified trustee's share of the poll's secret, recomputed on their device from the
    transcript and their key file; never stored or sent."""

    index: int
    name: str
    verification_key: Point
    _s: int = field(repr=False)


def threshold_key(
    ceremony: Ceremony, dealings: Sequence[Any], checks: Sequence[Any], key: TrusteeKey
) -> ThresholdKey:
    result = evaluate(ceremony, dealings, checks)
    m = ceremony.index_of(key.public)
    if m not in result.qualified:
        raise CeremonyError(f"{ceremony.name(m)} did not qualify in the ceremony")
    h0 = ceremony.digest
    parsed = _dealings(ceremony, dealings)
    s = 0
    for i in result.qualified:
        e, ct = parsed[i - 1].shares[m - 1]
        value = _open_share(key.dh(e), h0, i, m, e, ct)
        if value is None:
            raise CeremonyError(f"the share of trustee {i} does not open with this key")
        s = (s + value) % L
    if base_mul(s) != result.verification_keys[m]:
        raise CeremonyError("the shares do not add up to this trustee's verification key")
    return ThresholdKey(m, ceremony.name(m), result.verification_keys[m], s)


def _context(fingerprint: bytes, m: int, subject: int, grade: int) -> bytes:
    return fingerprint + u32(m) + u32(subject) + u32(grade)


def decrypt_share(
    aggregate: dict[str, Any], key: ThresholdKey, *, nonces: NonceSource | None = None
) -> dict[str, Any]:
    """Trustee m's partial decryption of every aggregate ciphertext (``tally-share/2``), each
    ``D = s_m·A`` with a DLEQ proof against ``VK_m`` (nonce labels ``"i/j/w"``)."""
    fingerprint, cts = parse_aggregate(aggregate)
    rows = []
    for i, row in enumerate(cts):
        out = []
        for j, ct in enumerate(row):
            d = ct.a * key._s
            proof = prove_dleq(
                key._s,
                ct.a,
                key.verification_key,
                d,
                TAG_THRESHOLD,
                _context(fingerprint, key.index, i, j),
                nonce=None if nonces is None else nonces(f"{i}/{j}/w"),
            )
            out.append({"d": d.hex(), "proof": proof.to_json()})
        rows.append(out)
    return {
        "format": SHARE_FORMAT_V2,
        "poll": fingerprint.hex(),
        "trustee": key.index,
        "name": key.name,
        "verification_key": key.verification_key.hex(),
        "aggregate_sha256": sha256_hex(canonical_json(aggregate)),
        "shares": rows,
    }


SHARE_FIELDS = (
    "format",
    "poll",
    "trustee",
    "name",
    "verification_key",
    "aggregate_sha256",
    "shares",
)


def verify_share(
    aggregate: dict[str, Any], ceremony: Ceremony, result: CeremonyResult, share: Any
) -> tuple[int, list[list[Point]]]:
    """Check a ``tally-share/2`` against the aggregate and the trustee's verification key;
    return the trustee's index and partial decryptions."""
    fingerprint, cts = parse_aggregate(aggregate)
    if not isinstance(share, dict) or share.get("format") != SHARE_FORMAT_V2:
        raise TrusteeError(f"not a decryption share ({SHARE_FORMAT_V2})")
    if set(share) != set(SHARE_FIELDS):
        raise TrusteeError(f"a share has exactly the fields {', '.join(SHARE_FIELDS)}")
    m = share["trustee"]
    if type(m) is not int or not 1 <= m <= ceremony.n:
        raise TrusteeError("the share names no trustee of the ceremony")
    who = f"trustee {m} ({ceremony.name(m)})"
    if m not in result.qualified:
        raise TrusteeError(f"{who} did not qualify in the key ceremony")
    if share["name"] != ceremony.name(m):
        raise TrusteeError(f"{who}: the share names another trustee")
    vk = result.verification_keys[m]
    if share["verification_key"] != vk.hex():
        raise TrusteeError(f"{who}: the share was made with another verification key")
    if share["poll"] != fingerprint.hex():
        raise TrusteeError(f"{who}: the share is for another poll")
    if share["aggregate_sha256"] != sha256_hex(canonical_json(aggregate)):
        raise TrusteeError(f"{who}: the share is for a different aggregate")
    rows = share["shares"]
    if not isinstance(rows, list) or [len(r) if isinstance(r, list) else -1 for r in rows] != [
        len(r) for r in cts
    ]:
        raise TrusteeError(f"{who}: the share does not have one value per aggregate ciphertext")
    out: list[list[Point]] = []
    for i, (row, ct_row) in enumerate(zip(rows, cts, strict=True)):
        points = []
        for j, (item, ct) in enumerate(zip(row, ct_row, strict=True)):
            try:
                if not isinstance(item, dict) or set(item) != {"d", "proof"}:
                    raise TrusteeError("expected exactly the fields d and proof")
                d = Point.from_hex(item["d"])
                proof = DleqProof.from_json(item["proof"])
            except (GroupError, ProofError, TrusteeError) as exc:
                raise TrusteeError(f"{who}: subject {i + 1}, grade {j + 1}: {exc}") from None
            if not verify_dleq(ct.a, vk, d, proof, TAG_THRESHOLD, _context(fingerprint, m, i, j)):
                raise TrusteeError(
                    f"{who}: subject {i + 1}, grade {j + 1}: the decryption proof does not verify"
                )
            points.append(d)
        out.append(points)
    return m, out


def lagrange_at_zero(indexes: Sequence[int]) -> dict[int, int]:
    """``λ_m = Π_{l≠m} l / (l − m) mod L`` for each m of ``indexes`` (distinct, from 1)."""
    if len(set(indexes)) != len(indexes) or any(m < 1 for m in indexes):
        raise ValueError("distinct trustee indexes from 1")
    out = {}
    for m in indexes:
        num, den = 1, 1
        for other in indexes:
            if other != m:
                num = num * other % L
                den = den * (other - m) % L
        out[m] = num * pow(den, -1, L) % L
    return out


def combine(
    aggregate: dict[str, Any],
    partials: Mapping[int, Sequence[Sequence[Point]]],
    threshold: int,
    max_count: int,
) -> tuple[list[list[int]], tuple[int, ...]]:
    """The counts from the partial decryptions of at least k trustees (the k lowest indexes are
    used); returns the counts and the indexes used."""
    if len(partials) < threshold:
        raise TrusteeError(
            f"only {len(partials)} trustees' shares, fewer than the k = {threshold} needed"
        )
    used = tuple(sorted(partials)[:threshold])
    weights = lagrange_at_zero(used)
    _, cts = parse_aggregate(aggregate)
    table = count_table(max_count)
    counts = []
    for i, row in enumerate(cts):
        out = []
        for j, ct in enumerate(row):
            mg = ct.b
            for m in used:
                mg = mg - partials[m][i][j] * weights[m]
            if mg not in table:
                raise TrusteeError(
                    f"subject {i + 1}, grade {j + 1}: the decrypted count is not between 0 and"
                    f" {max_count}"
                )
            out.append(table[mg])
        counts.append(out)
    return counts, used
