"""Zero-knowledge proofs, made non-interactive with Fiat-Shamir (tally.group.hash_to_scalar).

Three kinds, all in "challenge/response" form so the verifier recomputes the commitments and
checks the hash (docs/protocol.md, "Proofs"):

- Schnorr proof of knowledge of ``x`` with ``X = x·G`` (trustee keys);
- DLEQ (Chaum-Pedersen) proof that ``log_G X = log_H Z`` (correct decryption, and "this
  subject's ciphertexts sum to exactly 1");
- disjunctive Chaum-Pedersen proof that a ciphertext encrypts 0 or 1.

Every challenge hashes a domain tag, the caller's context (poll fingerprint, credential, subject and
grade indexes) and all public values and commitments.

Each prover takes its nonces as a keyword-only argument that defaults to the operating system's
randomness (as ElectionGuard's do): the test vectors are then made by this code with fixed nonces,
not by a copy of it. A fixed nonce is for vectors and tests only: a nonce used twice with the same
secret gives the secret away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tally.elgamal import Ciphertext
from tally.group import (
    G,
    L,
    Point,
    base_mul,
    hash_to_scalar,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
)


class ProofError(ValueError):
    """A proof is malformed or does not verify."""


# The nonces of a prover that makes many proofs (a ballot, a decryption share): a function from a
# label such as ``"0/1/w"`` to a scalar. Each such prover documents its labels (docs/protocol.md,
# section 20).
NonceSource = Callable[[str], int]


def checked_nonce(k: int) -> int:
    """A caller's fixed nonce, refused unless it is a non-zero scalar below L.

    Zero would make a commitment the identity and the response the bare secret.
    """
    if type(k) is not int or not 0 < k < L:
        raise ValueError("a nonce must be a non-zero scalar below L")
    return k


def _nonce(k: int | None) -> int:
    return random_scalar() if k is None else checked_nonce(k)


def _scalars(data: Any, names: tuple[str, ...]) -> list[int]:
    if not isinstance(data, dict) or set(data) != set(names):
        raise ProofError(f"a proof must be an object with exactly the fields {', '.join(names)}")
    return [scalar_from_hex(data[n]) for n in names]


@dataclass(frozen=True, slots=True)
class SchnorrProof:
    c: int
    s: int

    def to_json(self) -> dict[str, str]:
        return {"c": scalar_hex(self.c), "s": scalar_hex(self.s)}

    @classmethod
    def from_json(cls, data: Any) -> SchnorrProof:
        c, s = _scalars(data, ("c", "s"))
        return cls(c, s)


# A DLEQ proof has the same shape as a Schnorr proof: a challenge and a response.
DleqProof = SchnorrProof


@dataclass(frozen=True, slots=True)
class ZeroOneProof:
    c0: int
    c1: int
    s0: int
    s1: int

    def to_json(self) -> dict[str, str]:
        return {
            "c0": scalar_hex(self.c0),
            "c1": scalar_hex(self.c1),
            "s0": scalar_hex(self.s0),
            "s1": scalar_hex(self.s1),
        }

    @classmethod
    def from_json(cls, data: Any) -> ZeroOneProof:
        c0, c1, s0, s1 = _scalars(data, ("c0", "c1", "s0", "s1"))
        return cls(c0, c1, s0, s1)


# --- Schnorr -------------------------------------------------------------------------------------


def prove_schnorr(x: int, tag: str, context: bytes, *, nonce: int | None = None) -> SchnorrProof:
    """Prove knowledge of ``x`` for ``X = x·G``; ``nonce`` is ``w`` (random if not given)."""
    X = base_mul(x)
    w = _nonce(nonce)
    c = hash_to_scalar(tag, context, X.encode(), base_mul(w).encode())
    return SchnorrProof(c, (w + c * x) % L)


def schnorr_commitment(X: Point, proof: SchnorrProof) -> Point:
    """The commitment ``U = s·G − c·X`` a verifier recomputes (``w·G`` for an honest proof)."""
    return base_mul(proof.s) - X * proof.c


def verify_schnorr(X: Point, proof: SchnorrProof, tag: str, context: bytes) -> bool:
    U = schnorr_commitment(X, proof)
    return hash_to_scalar(tag, context, X.encode(), U.encode()) == proof.c


# --- DLEQ (Chaum-Pedersen) -----------------------------------------------------------------------


def prove_dleq(
    x: int,
    H: Point,
    X: Point,
    Z: Point,
    tag: str,
    context: bytes,
    *,
    nonce: int | None = None,
) -> DleqProof:
    """Prove ``X = x·G`` and ``Z = x·H`` for the same secret ``x``; ``nonce`` is ``w``."""
    w = _nonce(nonce)
    U, V = base_mul(w), H * w
    c = hash_to_scalar(tag, context, H.encode(), X.encode(), Z.encode(), U.encode(), V.encode())
    return DleqProof(c, (w + c * x) % L)


def dleq_commitments(H: Point, X: Point, Z: Point, proof: DleqProof) -> tuple[Point, Point]:
    """The commitments ``(U, V) = (s·G − c·X, s·H − c·Z)`` a verifier recomputes."""
    return base_mul(proof.s) - X * proof.c, H * proof.s - Z * proof.c


def verify_dleq(H: Point, X: Point, Z: Point, proof: DleqProof, tag: str, context: bytes) -> bool:
    U, V = dleq_commitments(H, X, Z, proof)
    c = hash_to_scalar(tag, context, H.encode(), X.encode(), Z.encode(), U.encode(), V.encode())
    return c == proof.c


# --- 0 or 1 (disjunctive Chaum-Pedersen) ---------------------------------------------------------


def prove_zero_one(
    Y: Point,
    ct: Ciphertext,
    m: int,
    r: int,
    tag: str,
    context: bytes,
    *,
    nonces: tuple[int, int, int] | None = None,
) -> ZeroOneProof:
    """Prove that ``ct`` (made with randomness ``r``) encrypts ``m`` in {0, 1} under ``Y``.

    ``nonces`` is ``(w, c_sim, s_sim)``: the true branch's nonce, then the simulated branch's
    challenge and response (all random if not given).
    """
    if m not in (0, 1):
        raise ValueError("m must be 0 or 1")
    a, b = ct.a, ct.b
    b_minus_g = b - G
    if nonces is None:
        w, c_sim, s_sim = random_scalar(), random_scalar(), random_scalar()
    else:
        w, c_sim, s_sim = (checked_nonce(k) for k in nonces)
    real = (base_mul(w), Y * w)
    if m == 0:
        # Branch 1 is simulated: its commitments are made to fit a chosen challenge.
        sim = (base_mul(s_sim) - a * c_sim, Y * s_sim - b_minus_g * c_sim)
        commits = (*real, *sim)
    else:
        sim = (base_mul(s_sim) - a * c_sim, Y * s_sim - b * c_sim)
        commits = (*sim, *real)
    c = _zero_one_challenge(tag, context, a, b, commits)
    c_real = (c - c_sim) % L
    s_real = (w + c_real * r) % L
    if m == 0:
        return ZeroOneProof(c_real, c_sim, s_real, s_sim)
    return ZeroOneProof(c_sim, c_real, s_sim, s_real)


def zero_one_commitments(
    Y: Point, ct: Ciphertext, proof: ZeroOneProof
) -> tuple[Point, Point, Point, Point]:
    """The commitments ``(A0, B0, A1, B1)`` a verifier recomputes (docs/protocol.md, 7.3)."""
    a, b = ct.a, ct.b
    return (
        base_mul(proof.s0) - a * proof.c0,
        Y * proof.s0 - b * proof.c0,
        base_mul(proof.s1) - a * proof.c1,
        Y * proof.s1 - (b - G) * proof.c1,
    )


def verify_zero_one(
    Y: Point, ct: Ciphertext, proof: ZeroOneProof, tag: str, context: bytes
) -> bool:
    commits = zero_one_commitments(Y, ct, proof)
    return (proof.c0 + proof.c1) % L == _zero_one_challenge(tag, context, ct.a, ct.b, commits)


def _zero_one_challenge(
    tag: str, context: bytes, a: Point, b: Point, commits: tuple[Point, Point, Point, Point]
) -> int:
    return hash_to_scalar(tag, context, a.encode(), b.encode(), *(p.encode() for p in commits))
