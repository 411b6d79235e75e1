"""Regenerate the protocol test vectors in this directory (see docs/protocol.md).

    PYTHONPATH=. .venv/bin/python tests/vectors/generate.py          # rewrite the JSON files
    PYTHONPATH=. .venv/bin/python tests/vectors/generate.py --check  # exit 1 if any would change

Every random value is fixed. The module functions of ``tally`` draw their nonces from the operating
system, so the proofs here are computed by the equations of docs/protocol.md with chosen nonces
(``fixed_scalar``), using only tally's group arithmetic, hashing, encryption, signing and encodings.
Any nonce gives a valid proof; the nonces are stored next to each proof so that an independent
implementation can reproduce the bytes exactly, not only check that they verify.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl import bindings as sodium

from tally.ballots import (
    BALLOT_FORMAT,
    TAG_CHOICE,
    TAG_SUM_ONE,
    TAG_SUM_ZERO_ONE,
    PollContext,
    signed_bytes,
    tracking_code,
    tracking_hash,
)
from tally.board import BOARD_TAG, genesis, next_head
from tally.canonical import canonical_json
from tally.credentials import COMMITMENT_TAG, HKDF_INFO, Credential, commitment
from tally.elgamal import Ciphertext, add_all, encrypt
from tally.group import IDENTITY, G, L, Point, base_mul, hash_to_scalar, scalar_hex, u32
from tally.manifest import make_manifest, poll_fingerprint
from tally.proofs import DleqProof, SchnorrProof, ZeroOneProof
from tally.results import SubjectInfo
from tally.rules import RuleSet
from tally.trustees import KEY_FORMAT, TAG_DECRYPT, TAG_KEY, TrusteePublic

HERE = Path(__file__).resolve().parent
P_FIELD = 2**255 - 19
NONCE_TAG = b"tally/v1/test-vector-nonce\x00"


def fixed_scalar(label: str) -> int:
    """A fixed, non-zero 'random' scalar: SHA-512(NONCE_TAG || label) little-endian mod L."""
    k = int.from_bytes(hashlib.sha512(NONCE_TAG + label.encode("utf-8")).digest(), "little") % L
    assert k != 0
    return k


def fixed_bytes(label: str, size: int) -> bytes:
    return hashlib.sha512(NONCE_TAG + label.encode("utf-8")).digest()[:size]


def hexs(k: int) -> str:
    return scalar_hex(k)


# --- deterministic proofs, by the equations of docs/protocol.md ----------------------------------


def schnorr(x: int, w: int, tag: str, context: bytes) -> tuple[SchnorrProof, Point]:
    X = base_mul(x)
    U = base_mul(w)
    c = hash_to_scalar(tag, context, X.encode(), U.encode())
    return SchnorrProof(c, (w + c * x) % L), U


def dleq(
    x: int, H: Point, w: int, tag: str, context: bytes
) -> tuple[DleqProof, Point, Point, Point, Point]:
    """Prove log_G X = log_H Z = x; returns (proof, X, Z, U, V)."""
    X, Z = base_mul(x), H * x
    U, V = base_mul(w), H * w
    c = hash_to_scalar(tag, context, H.encode(), X.encode(), Z.encode(), U.encode(), V.encode())
    return DleqProof(c, (w + c * x) % L), X, Z, U, V


def zero_one(
    Y: Point,
    ct: Ciphertext,
    m: int,
    r: int,
    nonces: tuple[int, int, int],
    tag: str,
    context: bytes,
) -> tuple[ZeroOneProof, tuple[Point, Point, Point, Point], int]:
    """Disjunctive proof that ct encrypts m in {0, 1}; nonces = (w, c_sim, s_sim)."""
    w, c_sim, s_sim = nonces
    a, b = ct.a, ct.b
    real = (base_mul(w), Y * w)
    if m == 0:
        sim = (base_mul(s_sim) - a * c_sim, Y * s_sim - (b - G) * c_sim)
        commits = (*real, *sim)
    elif m == 1:
        sim = (base_mul(s_sim) - a * c_sim, Y * s_sim - b * c_sim)
        commits = (*sim, *real)
    else:
        raise ValueError("m must be 0 or 1")
    c = hash_to_scalar(tag, context, a.encode(), b.encode(), *(p.encode() for p in commits))
    c_real = (c - c_sim) % L
    s_real = (w + c_real * r) % L
    if m == 0:
        proof = ZeroOneProof(c_real, c_sim, s_real, s_sim)
    else:
        proof = ZeroOneProof(c_sim, c_real, s_sim, s_real)
    return proof, commits, c


def ballot_context(fingerprint: bytes, credential: bytes, subject: int, grade: int | None) -> bytes:
    out = fingerprint + credential + u32(subject)
    return out if grade is None else out + u32(grade)


def nonce_triple(label: str) -> tuple[int, int, int]:
    return (
        fixed_scalar(label + "/w"),
        fixed_scalar(label + "/c_sim"),
        fixed_scalar(label + "/s_sim"),
    )


def triple_json(t: tuple[int, int, int]) -> dict[str, str]:
    return {"w": hexs(t[0]), "c_sim": hexs(t[1]), "s_sim": hexs(t[2])}


# --- fixed poll material -------------------------------------------------------------------------

# The qd124-2023 rule set, version 1, frozen here so that editing the shipped TOML file does not
# change the vectors (the manifest carries its rule set; the fingerprint depends on every word).
RULES = RuleSet.from_dict(
    {
        "id": "qd124-2023",
        "version": "1",
        "title_vi": "Đánh giá, xếp loại chất lượng hằng năm theo Quy định 124-QĐ/TW (2023)",
        "title_en": "Annual quality rating under Regulation 124-QĐ/TW (2023)",
        "basis": "Quy định số 124-QĐ/TW ngày 04/10/2023 của Bộ Chính trị; Hướng dẫn số"
        " 25-HD/BTCTW ngày 10/11/2023 của Ban Tổ chức Trung ương",
        "grades": [
            {
                "code": "HTXSNV",
                "name_vi": "Hoàn thành xuất sắc nhiệm vụ",
                "name_en": "completed tasks excellently",
            },
            {
                "code": "HTTNV",
                "name_vi": "Hoàn thành tốt nhiệm vụ",
                "name_en": "completed tasks well",
            },
            {"code": "HTNV", "name_vi": "Hoàn thành nhiệm vụ", "name_en": "completed tasks"},
            {
                "code": "KHTNV",
                "name_vi": "Không hoàn thành nhiệm vụ",
                "name_en": "did not complete tasks",
            },
        ],
        "decision_rule": "majority_then_cumulative",
        "denominator": "valid",
        "allow_blank": True,
        "quorum": "2/3",
        "excellent_ceiling": "1/5",
        "ceiling_rounding": "floor",
        "head_not_above_unit": True,
        "collective_not_above_organization": True,
        "disciplined_max_grade": "HTNV",
    }
)

SUBJECTS = [
    SubjectInfo(key="tap-the-btv", name="Tập thể Ban Thường vụ Tỉnh ủy", kind="collective"),
    SubjectInfo(
        key="uv-01",
        name="Đồng chí Nguyễn Văn Ân",
        kind="individual",
        role="Ủy viên Ban Thường vụ Tỉnh ủy",
        peer_group="ubtv",
    ),
]

TRUSTEE_NAMES = ["Thành viên Ban kiểm phiếu 1", "Thành viên Ban kiểm phiếu 2"]
TRUSTEE_SECRETS = [fixed_scalar("trustee/1/x"), fixed_scalar("trustee/2/x")]
CREDENTIAL_SECRETS = [bytes(range(16)), fixed_bytes("credential/2", 16)]
SIGNER_SEED = fixed_bytes("record-signer/seed", 32)
PASSPHRASE = "mật khẩu thử nghiệm 2025"


def trustee_public(index: int) -> tuple[TrusteePublic, Point]:
    x = TRUSTEE_SECRETS[index]
    proof, U = schnorr(x, fixed_scalar(f"trustee/{index + 1}/w"), TAG_KEY, b"")
    return TrusteePublic(TRUSTEE_NAMES[index], base_mul(x), proof), U


def signer_public_key() -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(SIGNER_SEED)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def poll_manifest() -> dict[str, Any]:
    return make_manifest(
        poll_id="vector-2025",
        title="Phiếu biểu quyết thử nghiệm (test vector)",
        conference={
            "title": "Hội nghị kiểm điểm, đánh giá, xếp loại chất lượng năm 2025 (thử nghiệm)",
            "body": "Ban Thường vụ Tỉnh ủy",
            "date": "2025-12-15",
            "place": "Hội trường Tỉnh ủy",
        },
        subjects=SUBJECTS,
        rules=RULES,
        trustees=[trustee_public(i)[0] for i in range(2)],
        credential_keys=[Credential(s).public_key for s in CREDENTIAL_SECRETS],
        members=3,
        present=2,
        signer_public_key=signer_public_key(),
    )


def poll_context() -> PollContext:
    election = poll_manifest()["election"]
    return PollContext(
        fingerprint=poll_fingerprint(election),
        public_key=Point.from_hex(election["public_key"]),
        subjects=len(election["subjects"]),
        grades=len(election["grades"]),
        allow_blank=election["allow_blank"],
    )


# --- the vector files ----------------------------------------------------------------------------


def vec_hash_to_scalar() -> dict[str, Any]:
    cases = [
        ("tally/v1/choice-0-1", []),
        ("tally/v1/choice-0-1", [b""]),
        ("tally/v1/example", [b"a", b"bc"]),
        ("tally/v1/example", [b"ab", b"c"]),
        ("tally/v1/trustee-key", [b"", G.encode(), base_mul(2).encode()]),
        ("tally/v1/thử-nghiệm", [u32(7), bytes(32)]),
    ]
    out = []
    for tag, parts in cases:
        preimage = b"".join(len(x).to_bytes(4, "big") + x for x in (tag.encode("utf-8"), *parts))
        digest = hashlib.sha512(preimage).digest()
        out.append(
            {
                "tag": tag,
                "parts_hex": [p.hex() for p in parts],
                "preimage_hex": preimage.hex(),
                "sha512_hex": digest.hex(),
                "scalar_hex": hexs(hash_to_scalar(tag, *parts)),
            }
        )
    return {
        "description": "hash_to_scalar(tag, *parts): SHA-512 over [u32be(len) || item] for the"
        " UTF-8 tag then each part; the 64-byte digest read little-endian, reduced mod L,"
        " encoded as a 32-byte little-endian scalar. Cases 3 and 4 show the length prefixes"
        " keep ['a','bc'] and ['ab','c'] apart.",
        "cases": out,
    }


def _y_encoding(y: int, sign: int = 0) -> bytes:
    raw = bytearray(y.to_bytes(32, "little"))
    raw[31] |= sign << 7
    return bytes(raw)


def vec_points() -> dict[str, Any]:
    T8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
    mixed = sodium.crypto_core_ed25519_add(G.encode(), bytes.fromhex(T8)).hex()
    k_big = fixed_scalar("points/k")
    valid = [
        (0, "the identity (neutral element): accepted, encoded 01 00..00"),
        (1, "the base point G"),
        (2, "2G"),
        (L - 1, "(L-1)G = -G (G with the sign bit set)"),
        (k_big, "kG for a fixed 252-bit k"),
    ]
    invalid = [
        ("58666666666666666666666666666666666666666666666666666666666666", "31 bytes"),
        ("58666666666666666666666666666666666666666666666666666666666666666666", "33 bytes"),
        (base_mul(2).hex().upper(), "uppercase hex (2G)"),
        ("zz" + "66" * 31, "not hex"),
        (_y_encoding(P_FIELD + 1).hex(), "non-canonical encoding of the identity (y = p + 1)"),
        ("01" + "00" * 30 + "80", "identity with the sign bit set (x = 0 must have sign 0)"),
        (_y_encoding(P_FIELD - 1).hex(), "the point of order 2 (0, -1)"),
        ("00" * 32, "a point of order 4 (y = 0)"),
        (T8, "a point of order 8"),
        (_y_encoding(2).hex(), "not on the curve (y = 2: no x exists)"),
        (_y_encoding(P_FIELD + 3).hex(), "non-canonical y (y = p + 3 >= p)"),
        (mixed, "on the curve but not in the prime-order subgroup (G + a point of order 8)"),
    ]
    scalars_valid = [0, 1, L - 1, k_big]
    scalars_invalid = [
        (L.to_bytes(32, "little").hex(), "L itself (not reduced)"),
        ((2**256 - 1).to_bytes(32, "little").hex(), "2^256 - 1 (not reduced)"),
        (scalar_hex(L - 1).upper(), "uppercase hex"),
        (scalar_hex(1)[:62], "31 bytes"),
    ]
    return {
        "description": "Point and scalar encodings as they appear in JSON (lowercase hex)."
        " A received point is accepted iff it is the canonical RFC 8032 encoding of an element"
        " of the prime-order subgroup (the identity 01 00..00 included); a scalar iff it is 32"
        " bytes little-endian and < L.",
        "L": str(L),
        "base_point": G.hex(),
        "identity": IDENTITY.hex(),
        "valid_points": [
            {"hex": base_mul(k).hex(), "scalar_hex": hexs(k), "description": d} for k, d in valid
        ],
        "invalid_points": [{"hex": h, "reason": r} for h, r in invalid],
        "valid_scalars": [{"hex": hexs(k), "value": str(k)} for k in scalars_valid],
        "invalid_scalars": [{"hex": h, "reason": r} for h, r in scalars_invalid],
    }


def vec_credentials() -> dict[str, Any]:
    creds = []
    for secret in CREDENTIAL_SECRETS:
        c = Credential(secret)
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret)
        message = b"tally/v1/example-message"
        creds.append(
            {
                "secret_hex": secret.hex(),
                "code": c.code,
                "ed25519_seed_hex": seed.hex(),
                "public_key_hex": c.public_key.hex(),
                "example_message_hex": message.hex(),
                "example_signature_hex": c.sign(message).hex(),
            }
        )
    code = creds[0]["code"]
    plain = code.replace("-", "")
    last_bad = plain[:-1] + chr(ord(plain[-1]) + 1)  # sets one of the 2 unused low bits
    keys = [bytes.fromhex(c["public_key_hex"]) for c in creds]
    return {
        "description": "Credential: 16-byte secret -> code (RFC 4648 base32, no padding, groups of"
        " 4 joined by '-') -> Ed25519 seed = HKDF-SHA256(ikm=secret, salt=none, info, 32 bytes)"
        " -> Ed25519 public key (RFC 8032). The commitment is SHA-256(tag || sorted raw keys).",
        "hkdf": {"hash": "SHA-256", "salt": None, "info": HKDF_INFO.decode(), "length": 32},
        "credentials": creds,
        "accepted_code_inputs": [
            {"input": code.lower(), "secret_hex": creds[0]["secret_hex"]},
            {"input": plain, "secret_hex": creds[0]["secret_hex"]},
            {"input": " ".join(code.split("-")), "secret_hex": creds[0]["secret_hex"]},
        ],
        "rejected_code_inputs": [
            {"input": plain[:-1], "reason": "25 characters"},
            {"input": plain[:-1] + "1", "reason": "'1' is not a base32 digit"},
            {"input": last_bad, "reason": "non-canonical: the last character's 2 unused bits set"},
        ],
        "commitment": {
            "tag_hex": COMMITMENT_TAG.hex(),
            "public_keys_hex": [k.hex() for k in keys],
            "sorted_public_keys_hex": sorted(k.hex() for k in keys),
            "commitment_hex": commitment(keys),
        },
    }


def vec_schnorr() -> dict[str, Any]:
    public, U = trustee_public(0)
    return {
        "description": "Schnorr proof of knowledge of a trustee's secret x (X = xG):"
        " c = H(tag, context, X, U) with U = wG, s = w + c*x mod L."
        " Verify: U' = sG - cX and c == H(tag, context, X, U').",
        "tag": TAG_KEY,
        "context_hex": "",
        "x_hex": hexs(TRUSTEE_SECRETS[0]),
        "w_hex": hexs(fixed_scalar("trustee/1/w")),
        "public_key": public.public_key.hex(),
        "commitment_U": U.hex(),
        "proof": public.proof.to_json(),
        "trustee_public": public.to_json(),
    }


def vec_dleq(ctx: PollContext, ballot: dict[str, Any]) -> dict[str, Any]:
    cases = []
    # 1. A partial decryption: trustee 1 decrypts (subject 0, grade 1) of a one-ballot aggregate.
    item = ballot["answers"][0]["choices"][1]
    A = Point.from_hex(item["a"])
    x = TRUSTEE_SECRETS[0]
    w = fixed_scalar("dleq/partial-decryption/w")
    context = ctx.fingerprint + u32(0) + u32(1)
    proof, X, Z, U, V = dleq(x, A, w, TAG_DECRYPT, context)
    cases.append(
        {
            "purpose": "partial decryption D = x_i*A by trustee 1, subject 0, grade 1"
            " (H = A, X = Y_i, Z = D; context = fingerprint || u32(0) || u32(1))",
            "tag": TAG_DECRYPT,
            "context_hex": context.hex(),
            "x_hex": hexs(x),
            "w_hex": hexs(w),
            "H": A.hex(),
            "X": X.hex(),
            "Z": Z.hex(),
            "commitments": {"U": U.hex(), "V": V.hex()},
            "proof": proof.to_json(),
            "share_item": {"d": Z.hex(), "proof": proof.to_json()},
        }
    )
    # 2. A subject sum of exactly 1 in a poll without blanks: H = Y, X = A, Z = B - G, x = r.
    fingerprint = hashlib.sha256(b"a poll without blanks (test vector)").digest()
    credential = Credential(CREDENTIAL_SECRETS[1]).public_key
    Y = ctx.public_key
    r = fixed_scalar("dleq/sum-one/r")
    total = encrypt(Y, 1, r)
    w = fixed_scalar("dleq/sum-one/w")
    context = ballot_context(fingerprint, credential, 3, None)
    proof, X, Z, U, V = dleq(r, Y, w, TAG_SUM_ONE, context)
    assert total.a == X and total.b - G == Z
    cases.append(
        {
            "purpose": "a subject's ciphertexts sum to exactly 1 (no blank allowed): the sum"
            " (A, B) = (rG, rY + G); H = Y, X = A, Z = B - G;"
            " context = fingerprint || credential || u32(3)",
            "tag": TAG_SUM_ONE,
            "context_hex": context.hex(),
            "x_hex": hexs(r),
            "w_hex": hexs(w),
            "sum_ciphertext": total.to_json(),
            "H": Y.hex(),
            "X": X.hex(),
            "Z": Z.hex(),
            "commitments": {"U": U.hex(), "V": V.hex()},
            "proof": proof.to_json(),
        }
    )
    return {
        "description": "DLEQ (Chaum-Pedersen) proof that log_G X = log_H Z = x:"
        " c = H(tag, context, H, X, Z, U, V) with U = wG, V = wH, s = w + c*x mod L."
        " Verify: U' = sG - cX, V' = sH - cZ, c == H(tag, context, H, X, Z, U', V').",
        "cases": cases,
    }


def vec_zero_one(ctx: PollContext) -> dict[str, Any]:
    credential = Credential(CREDENTIAL_SECRETS[0]).public_key
    Y = ctx.public_key
    cases = []
    for m, (subject, grade) in ((0, (1, 2)), (1, (0, 3))):
        r = fixed_scalar(f"zero-one/m{m}/r")
        ct = encrypt(Y, m, r)
        nonces = nonce_triple(f"zero-one/m{m}")
        context = ballot_context(ctx.fingerprint, credential, subject, grade)
        proof, commits, c = zero_one(Y, ct, m, r, nonces, TAG_CHOICE, context)
        cases.append(
            {
                "m": m,
                "tag": TAG_CHOICE,
                "context": {
                    "fingerprint": ctx.fingerprint.hex(),
                    "credential": credential.hex(),
                    "subject": subject,
                    "grade": grade,
                },
                "context_hex": context.hex(),
                "public_key": Y.hex(),
                "r_hex": hexs(r),
                "ciphertext": ct.to_json(),
                "nonces": triple_json(nonces),
                "commitments": {
                    "A0": commits[0].hex(),
                    "B0": commits[1].hex(),
                    "A1": commits[2].hex(),
                    "B1": commits[3].hex(),
                },
                "challenge_hex": hexs(c),
                "proof": proof.to_json(),
            }
        )
    return {
        "description": "Disjunctive Chaum-Pedersen proof that (a, b) encrypts 0 or 1 under Y."
        " Branch 0: A0 = s0*G - c0*a, B0 = s0*Y - c0*b. Branch 1: A1 = s1*G - c1*a,"
        " B1 = s1*Y - c1*(b - G). Accept iff c0 + c1 = H(tag, context, a, b, A0, B0, A1, B1)"
        " mod L. The prover simulates the false branch with (c_sim, s_sim) and answers the"
        " true one with w: commitments (wG, wY), c_real = c - c_sim, s_real = w + c_real*r.",
        "cases": cases,
    }


def make_ballot(
    ctx: PollContext, credential: Credential, choices: list[int | None]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ballot with fixed randomness and nonces; returns (ballot, secrets per subject)."""
    cred = credential.public_key
    Y = ctx.public_key
    answers = []
    secrets_out = []
    for i, choice in enumerate(choices):
        rs = [fixed_scalar(f"ballot/{i}/{j}/r") for j in range(ctx.grades)]
        items = []
        triples = []
        cts = []
        for j, r in enumerate(rs):
            m = 1 if choice == j else 0
            ct = encrypt(Y, m, r)
            t = nonce_triple(f"ballot/{i}/{j}")
            proof, _, _ = zero_one(
                Y, ct, m, r, t, TAG_CHOICE, ballot_context(ctx.fingerprint, cred, i, j)
            )
            items.append({**ct.to_json(), "proof": proof.to_json()})
            triples.append(triple_json(t))
            cts.append(ct)
        total = add_all(cts)
        r_sum = sum(rs) % L
        sum_context = ballot_context(ctx.fingerprint, cred, i, None)
        sum_proof: DleqProof | ZeroOneProof
        if ctx.allow_blank:
            t = nonce_triple(f"ballot/{i}/sum")
            m_sum = 0 if choice is None else 1
            sum_proof, _, _ = zero_one(Y, total, m_sum, r_sum, t, TAG_SUM_ZERO_ONE, sum_context)
            sum_nonces: dict[str, str] = triple_json(t)
        else:
            w = fixed_scalar(f"ballot/{i}/sum/w")
            sum_proof = dleq(r_sum, Y, w, TAG_SUM_ONE, sum_context)[0]
            sum_nonces = {"w": hexs(w)}
        answers.append({"choices": items, "sum_proof": sum_proof.to_json()})
        secrets_out.append(
            {
                "choice": choice,
                "randomness": [hexs(r) for r in rs],
                "choice_proof_nonces": triples,
                "sum": total.to_json(),
                "sum_randomness": hexs(r_sum),
                "sum_proof_nonces": sum_nonces,
            }
        )
    ballot: dict[str, Any] = {
        "format": BALLOT_FORMAT,
        "poll": ctx.fingerprint.hex(),
        "credential": cred.hex(),
        "answers": answers,
    }
    ballot["signature"] = credential.sign(signed_bytes(ballot)).hex()
    return ballot, secrets_out


def vec_ballot(
    ctx: PollContext, ballot: dict[str, Any], secrets_: list[dict[str, Any]]
) -> dict[str, Any]:
    manifest = poll_manifest()
    digest = tracking_hash(ballot)
    signed = signed_bytes(ballot)
    return {
        "description": "A complete ballot for a 2-subject, 4-grade poll that allows blanks:"
        " subject 0 rated HTTNV (grade index 1), subject 1 left blank. 'manifest' is the poll's"
        " manifest (its 'election' part hashes to the fingerprint); 'secrets' holds the choices,"
        " the encryption randomness and every proof nonce, so the ballot can be rebuilt byte for"
        " byte. The credential's secret is credentials.json's first; with both trustees'"
        " secrets the ballot decrypts to its choices.",
        "manifest": manifest,
        "poll_context": {
            "fingerprint": ctx.fingerprint.hex(),
            "public_key": ctx.public_key.hex(),
            "subjects": ctx.subjects,
            "grades": ctx.grades,
            "allow_blank": ctx.allow_blank,
        },
        "credential_secret_hex": CREDENTIAL_SECRETS[0].hex(),
        "trustee_secrets_hex": [hexs(x) for x in TRUSTEE_SECRETS],
        "secrets": secrets_,
        "ballot": ballot,
        "signed_bytes_prefix_hex": signed[: len(b"tally/v1/ballot-signature\x00")].hex(),
        "signed_bytes_sha256": hashlib.sha256(signed).hexdigest(),
        "tracking_hash": digest.hex(),
        "tracking_code": tracking_code(digest),
    }


def vec_board(ctx: PollContext, first: bytes) -> dict[str, Any]:
    trackings = [first, hashlib.sha256(b"ballot 2").digest(), hashlib.sha256(b"ballot 3").digest()]
    head = genesis(ctx.fingerprint)
    entries = []
    for n, t in enumerate(trackings, start=1):
        head = next_head(head, t)
        entries.append({"index": n, "tracking_hash": t.hex(), "chain": head.hex()})
    return {
        "description": "Board hash chain: head_0 = SHA-256(tag || fingerprint),"
        " head_n = SHA-256(head_{n-1} || tracking_hash_n) over raw bytes. The first tracking"
        " hash is ballot.json's ballot; the other two are arbitrary 32-byte values.",
        "tag_hex": BOARD_TAG.hex(),
        "fingerprint": ctx.fingerprint.hex(),
        "genesis": genesis(ctx.fingerprint).hex(),
        "entries": entries,
        "head": head.hex(),
    }


def vec_canonical() -> dict[str, Any]:
    nfc = "Hoàn thành tốt nhiệm vụ"
    nfd = unicodedata.normalize("NFD", nfc)
    inputs = [
        (
            "Vietnamese text, unsorted keys, whitespace, \\u escapes in the input",
            '{ "tên" : "Hoàn thành xuất sắc nhiệm vụ",\n  "mã": "HTXSNV",'
            ' "đếm": [10, 20, 13, 2], "bỏ trống": 0, "đạt": true, "ghi chú": null,'
            ' "Đảng bộ": "\\u0110\\u1ea3ng b\\u1ed9 t\\u1ec9nh" }',
        ),
        (
            "key order is by Unicode code point (not UTF-16 units): U+FF01 sorts before U+1F600",
            '{"\\ud83d\\ude00": 1, "\\uff01": 2, "Z": 3, "a": 4, "\\u00e9": 5}',
        ),
        (
            "escapes: only \\\" \\\\ and control characters; '/', DEL and U+2028 are written raw",
            '{"s": "quote \\" backslash \\\\ slash / tab \\t nl \\n bell \\u0007 del \\u007f'
            ' ls \\u2028"}',
        ),
        (
            "no Unicode normalization: NFC and NFD of the same words are different bytes",
            json.dumps({"nfc": nfc, "nfd": nfd}),
        ),
        (
            "integers are written in full; nested arrays and empty containers",
            "[0, -1, 9007199254740993, [], {}, [[]]]",
        ),
    ]
    cases = []
    for description, text in inputs:
        out = canonical_json(json.loads(text))
        cases.append(
            {
                "description": description,
                "input_json": text,
                "canonical": out.decode("utf-8"),
                "canonical_hex": out.hex(),
                "sha256": hashlib.sha256(out).hexdigest(),
            }
        )
    return {
        "description": "Canonical JSON: keys sorted by code point, separators ',' and ':' with no"
        " whitespace, UTF-8 with no \\u escapes except for control characters, no floats.",
        "cases": cases,
        "rejected": [
            {"input_json": '{"percent": 44.44}', "reason": "floating-point number"},
            {"input_json": "1e3", "reason": "floating-point number (exponent form)"},
            {"input_json": "[NaN]", "reason": "NaN is not JSON"},
            {"input_json": '"\\ud800"', "reason": "lone surrogate: not encodable as UTF-8"},
        ],
    }


def vec_trustee_key() -> dict[str, Any]:
    public, _ = trustee_public(0)
    public_json = public.to_json()
    salt = fixed_bytes("trustee-key/salt", 16)
    nonce = fixed_bytes("trustee-key/nonce", 12)
    n, r, p = 2**16, 8, 1
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(PASSPHRASE.encode("utf-8"))
    sealed = AESGCM(key).encrypt(
        nonce, TRUSTEE_SECRETS[0].to_bytes(32, "little"), canonical_json(public_json)
    )
    return {
        "description": "A trustee's encrypted key file: key = scrypt(UTF-8 passphrase, salt, n, r,"
        " p, 32 bytes); ciphertext = AES-256-GCM(key, nonce, plaintext = 32-byte little-endian"
        " secret scalar, associated data = canonical JSON of 'public'), tag appended.",
        "passphrase": PASSPHRASE,
        "scrypt_key_hex": key.hex(),
        "x_hex": hexs(TRUSTEE_SECRETS[0]),
        "key_file": {
            "format": KEY_FORMAT,
            "public": public_json,
            "kdf": {"name": "scrypt", "salt": salt.hex(), "n": n, "r": r, "p": p},
            "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex(), "ciphertext": sealed.hex()},
        },
    }


def build() -> dict[str, Any]:
    """Every vector file: name -> JSON value."""
    ctx = poll_context()
    ballot, secrets_ = make_ballot(ctx, Credential(CREDENTIAL_SECRETS[0]), [1, None])
    return {
        "hash_to_scalar.json": vec_hash_to_scalar(),
        "points.json": vec_points(),
        "credentials.json": vec_credentials(),
        "schnorr.json": vec_schnorr(),
        "dleq.json": vec_dleq(ctx, ballot),
        "zero_one.json": vec_zero_one(ctx),
        "ballot.json": vec_ballot(ctx, ballot, secrets_),
        "board.json": vec_board(ctx, tracking_hash(ballot)),
        "canonical_json.json": vec_canonical(),
        "trustee_key.json": vec_trustee_key(),
    }


def render(value: Any) -> str:
    """Indented JSON, with every object or array that fits in 100 columns kept on one line."""
    return _render(value, 0, 0) + "\n"


def _render(value: Any, indent: int, prefix: int) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + prefix + len(flat) <= 100:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = json.dumps(k, ensure_ascii=False) + ": "
            items.append(pad + key + _render(v, indent + 2, len(key)))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _render(v, indent + 2, 0) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, value in build().items():
        path = HERE / name
        text = render(value)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
