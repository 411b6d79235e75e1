"""Regenerate the protocol test vectors in this directory (see docs/protocol.md).

    PYTHONPATH=. .venv/bin/python tests/vectors/generate.py          # rewrite the JSON files
    PYTHONPATH=. .venv/bin/python tests/vectors/generate.py --check  # exit 1 if any would change

Every random value is fixed (``fixed_scalar``, ``fixed_bytes``) and handed to tally's own provers,
key generation, ballot encryption, decryption share and key file through their keyword-only nonce
arguments: the vectors are made by the code that makes real ballots, not by a copy of it. Any nonce
gives a valid proof; the nonces are stored next to each proof so that an independent implementation
can reproduce the bytes exactly, not only check that they verify.
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
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl import bindings as sodium

from tally.attendance import (
    ATTENDANCE_TAG,
    STATEMENT_TAG,
    attendance_jsonl,
    chain_lines,
    check_attendance,
    entry,
    parse_statement,
    sign_statement,
    statement_bytes,
    statement_problems,
)
from tally.attendance import (
    genesis as attendance_genesis,
)
from tally.authority import (
    LIST_TAG,
    AuthorityKey,
    parse_credential_list,
    sign_list,
)
from tally.authority import signed_bytes as list_signed_bytes
from tally.ballots import (
    TAG_CHOICE,
    TAG_SUM_ONE,
    PollContext,
    encrypt_ballot_with_randomness,
    signed_bytes,
    tracking_code,
    tracking_hash,
)
from tally.board import BOARD_TAG, genesis, next_head
from tally.canonical import canonical_json
from tally.credentials import COMMITMENT_TAG, HKDF_INFO, Credential, commitment
from tally.elgamal import Ciphertext, add_all, encrypt
from tally.group import (
    IDENTITY,
    G,
    L,
    Point,
    base_mul,
    encode_scalar,
    hash_to_scalar,
    scalar_hex,
    u32,
)
from tally.manifest import make_manifest, parse_manifest, poll_fingerprint
from tally.proofs import (
    DleqProof,
    dleq_commitments,
    prove_dleq,
    prove_zero_one,
    schnorr_commitment,
    zero_one_commitments,
)
from tally.record import key_fingerprint
from tally.results import SubjectInfo
from tally.rules import RuleSet
from tally.slips import SLIP_PREFIX, slip_payload
from tally.trustees import (
    SIGNING_INFO,
    TAG_DECRYPT,
    TAG_KEY,
    TrusteeKey,
    make_aggregate,
    proof_context,
)

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


class FixedNonces:
    """A nonce source for tally's provers: ``fixed_scalar(prefix + label)``, each one recorded."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.used: dict[str, int] = {}

    def __call__(self, label: str) -> int:
        self.used[label] = k = fixed_scalar(self.prefix + label)
        return k

    def json(self, where: str) -> dict[str, str]:
        """The nonces asked for under ``where``, as stored: {"w", "c_sim", "s_sim"} or {"w"}."""
        names = ("w", "c_sim", "s_sim")
        return {n: hexs(self.used[f"{where}/{n}"]) for n in names if f"{where}/{n}" in self.used}


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
# The poll's one reserve slip (protocol version 2: the authority lists it with the others).
RESERVE_SECRETS = [fixed_bytes("credential/reserve/1", 16)]
SIGNER_SEED = fixed_bytes("record-signer/seed", 32)
AUTHORITY_SEED = fixed_bytes("authority/seed", 32)
POLL_UID = fixed_bytes("poll/uid", 16).hex()
OTHER_POLL_UID = fixed_bytes("poll/other-uid", 16).hex()
MEMBERS = 3
PASSPHRASE = "mật khẩu thử nghiệm 2025"


def trustee_key(index: int) -> TrusteeKey:
    nonce = fixed_scalar(f"trustee/{index + 1}/w")
    return TrusteeKey.from_secret(TRUSTEE_NAMES[index], TRUSTEE_SECRETS[index], nonce=nonce)


def signer_public_key() -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(SIGNER_SEED)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def authority() -> AuthorityKey:
    return AuthorityKey(AUTHORITY_SEED)


def slip_keys() -> list[bytes]:
    return [Credential(s).public_key for s in CREDENTIAL_SECRETS + RESERVE_SECRETS]


def credential_list() -> dict[str, Any]:
    """The authority's signed list of the poll's 2 slips and 1 reserve slip (Ed25519 signatures
    are deterministic, so the fixed seed gives a fixed signature)."""
    return sign_list(
        authority(), POLL_UID, len(CREDENTIAL_SECRETS), len(RESERVE_SECRETS), slip_keys()
    )


def poll_manifest() -> dict[str, Any]:
    return make_manifest(
        poll_id="vector-2025",
        poll_uid=POLL_UID,
        title="Phiếu biểu quyết thử nghiệm (test vector)",
        conference={
            "title": "Hội nghị kiểm điểm, đánh giá, xếp loại chất lượng năm 2025 (thử nghiệm)",
            "body": "Ban Thường vụ Tỉnh ủy",
            "date": "2025-12-15",
            "place": "Hội trường Tỉnh ủy",
        },
        subjects=SUBJECTS,
        rules=RULES,
        trustees=[trustee_key(i).public for i in range(2)],
        credential_list=credential_list(),
        members=MEMBERS,
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
    public = trustee_key(0).public
    U = schnorr_commitment(public.public_key, public.proof)
    return {
        "description": "Schnorr proof of knowledge of a trustee's secret x (X = xG):"
        " c = H(tag, context, X, U) with U = wG, s = w + c*x mod L."
        " Verify: U' = sG - cX and c == H(tag, context, X, U')."
        " In tally-trustee-public/2 the context is the signing key's 32 bytes and the name in"
        " UTF-8 (tally.trustees.proof_context); in /1 it is empty.",
        "tag": TAG_KEY,
        "context_hex": proof_context(public.signing_key, public.name).hex(),
        "x_hex": hexs(TRUSTEE_SECRETS[0]),
        "w_hex": hexs(fixed_scalar("trustee/1/w")),
        "public_key": public.public_key.hex(),
        "commitment_U": U.hex(),
        "proof": public.proof.to_json(),
        "trustee_public": public.to_json(),
    }


def vec_dleq(ctx: PollContext, ballot: dict[str, Any]) -> dict[str, Any]:
    cases = []
    # 1. A partial decryption: trustee 1's share of a one-ballot aggregate (its cells are the
    # ballot's own ciphertexts), item (subject 0, grade 1) kept; its nonce is labelled ".../w".
    cells = [[Ciphertext.from_json(c) for c in a["choices"]] for a in ballot["answers"]]
    aggregate = make_aggregate(ctx.fingerprint, genesis(ctx.fingerprint).hex(), 1, cells)
    nonces = FixedNonces("dleq/partial-decryption/")
    trustee = trustee_key(0)
    share = trustee.decrypt_share(
        aggregate, nonces=lambda label: nonces("w" if label == "0/1/w" else label)
    )
    item = share["shares"][0][1]
    A, X, Z = cells[0][1].a, trustee.public.public_key, Point.from_hex(item["d"])
    proof = DleqProof.from_json(item["proof"])
    U, V = dleq_commitments(A, X, Z, proof)
    context = ctx.fingerprint + u32(0) + u32(1)
    cases.append(
        {
            "purpose": "partial decryption D = x_i*A by trustee 1, subject 0, grade 1"
            " (H = A, X = Y_i, Z = D; context = fingerprint || u32(0) || u32(1))",
            "tag": TAG_DECRYPT,
            "context_hex": context.hex(),
            "x_hex": hexs(TRUSTEE_SECRETS[0]),
            "w_hex": hexs(nonces.used["w"]),
            "H": A.hex(),
            "X": X.hex(),
            "Z": Z.hex(),
            "commitments": {"U": U.hex(), "V": V.hex()},
            "proof": proof.to_json(),
            "share_item": item,
        }
    )
    # 2. A subject sum of exactly 1 in a poll without blanks: H = Y, X = A, Z = B - G, x = r.
    fingerprint = hashlib.sha256(b"a poll without blanks (test vector)").digest()
    credential = Credential(CREDENTIAL_SECRETS[1]).public_key
    Y = ctx.public_key
    r = fixed_scalar("dleq/sum-one/r")
    total = encrypt(Y, 1, r)
    w = fixed_scalar("dleq/sum-one/w")
    context = fingerprint + credential + u32(3)
    X, Z = total.a, total.b - G
    proof = prove_dleq(r, Y, X, Z, TAG_SUM_ONE, context, nonce=w)
    U, V = dleq_commitments(Y, X, Z, proof)
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
        w, c_sim, s_sim = (fixed_scalar(f"zero-one/m{m}/{n}") for n in ("w", "c_sim", "s_sim"))
        context = ctx.fingerprint + credential + u32(subject) + u32(grade)
        proof = prove_zero_one(Y, ct, m, r, TAG_CHOICE, context, nonces=(w, c_sim, s_sim))
        commits = zero_one_commitments(Y, ct, proof)
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
                "nonces": {"w": hexs(w), "c_sim": hexs(c_sim), "s_sim": hexs(s_sim)},
                "commitments": {
                    "A0": commits[0].hex(),
                    "B0": commits[1].hex(),
                    "A1": commits[2].hex(),
                    "B1": commits[3].hex(),
                },
                "challenge_hex": hexs((proof.c0 + proof.c1) % L),
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
    """A ballot made by tally with fixed nonces; returns (ballot, secrets per subject)."""
    nonces = FixedNonces("ballot/")
    ballot, randomness = encrypt_ballot_with_randomness(ctx, credential, choices, nonces=nonces)
    secrets_out = []
    for i, (choice, rs, answer) in enumerate(
        zip(choices, randomness, ballot["answers"], strict=True)
    ):
        secrets_out.append(
            {
                "choice": choice,
                "randomness": [hexs(r) for r in rs],
                "choice_proof_nonces": [nonces.json(f"{i}/{j}") for j in range(ctx.grades)],
                "sum": add_all(Ciphertext.from_json(c) for c in answer["choices"]).to_json(),
                "sum_randomness": hexs(sum(rs) % L),
                "sum_proof_nonces": nonces.json(f"{i}/sum"),
            }
        )
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
        " manifest (tally-manifest/2: its 'election' part hashes to the fingerprint; its"
        " credential_list is credential_list.json's, its trustees' signing keys derive from"
        " their secrets); 'secrets' holds the choices, the encryption randomness and every proof"
        " nonce, so the ballot can be rebuilt byte for byte. The credential's secret is"
        " credentials.json's first; with both trustees' secrets the ballot decrypts to its"
        " choices.",
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
    salt = fixed_bytes("trustee-key/salt", 16)
    nonce = fixed_bytes("trustee-key/nonce", 12)
    key_file = trustee_key(0).to_encrypted_json(PASSPHRASE, salt=salt, nonce=nonce)
    kdf = key_file["kdf"]
    key = Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        PASSPHRASE.encode("utf-8")
    )
    # The same secret in a key file written before protocol version 2: its public part is the
    # tally-trustee-public/1 form (no signing key); same salt (same scrypt key), its own nonce.
    old = trustee_key(0)
    v1_public = old.public_v1(nonce=fixed_scalar("trustee/1/w"))
    key_file_v1 = TrusteeKey(TRUSTEE_SECRETS[0], v1_public).to_encrypted_json(
        PASSPHRASE, salt=salt, nonce=fixed_bytes("trustee-key/v1/nonce", 12)
    )
    return {
        "description": "A trustee's encrypted key file: key = scrypt(UTF-8 passphrase, salt, n, r,"
        " p, 32 bytes); ciphertext = AES-256-GCM(key, nonce, plaintext = 32-byte little-endian"
        " secret scalar, associated data = canonical JSON of 'public'), tag appended."
        " 'key_file' embeds the public key as tally-trustee-public/2 (with the signing key"
        " derived from the secret); 'key_file_v1' is the same secret with the version-1 public"
        " form (no signing key), same salt and passphrase, another nonce: both open, and the"
        " opened key has the same derived signing key.",
        "passphrase": PASSPHRASE,
        "scrypt_key_hex": key.hex(),
        "x_hex": hexs(TRUSTEE_SECRETS[0]),
        "key_file": key_file,
        "key_file_v1": key_file_v1,
    }


def vec_credential_list() -> dict[str, Any]:
    key = authority()
    document = credential_list()
    parsed = parse_credential_list(document, poll_uid=POLL_UID)
    slips = [
        {"secret_hex": secret.hex(), "public_key_hex": Credential(secret).public_key.hex()}
        for secret in CREDENTIAL_SECRETS
    ]
    reserve = [
        {"secret_hex": secret.hex(), "public_key_hex": Credential(secret).public_key.hex()}
        for secret in RESERVE_SECRETS
    ]

    def resigned(change: dict[str, Any]) -> dict[str, Any]:
        # A list the authority itself signed, which the checks before the signature refuse.
        out = {**document, **change}
        out["signature"] = key.sign(list_signed_bytes(out)).hex()
        return out

    identity = IDENTITY.hex()
    rejected = [
        {
            "check": "signature",
            "reason": "poll_uid changed after signing: the signature does not verify",
            "poll_uid": OTHER_POLL_UID,
            "document": {**document, "poll_uid": OTHER_POLL_UID},
        },
        {
            "check": "signature",
            "reason": "a key replaced after signing: the signature does not verify",
            "poll_uid": POLL_UID,
            "document": {
                **document,
                "keys": sorted([*document["keys"][:-1], base_mul(5).hex()]),
            },
        },
        {
            "check": "poll_uid",
            "reason": "a valid list of another poll, offered for this one",
            "poll_uid": POLL_UID,
            "document": sign_list(
                key, OTHER_POLL_UID, parsed.count, parsed.reserve, list(parsed.keys)
            ),
        },
        {
            "check": "keys",
            "reason": "keys not sorted (signed)",
            "poll_uid": POLL_UID,
            "document": resigned({"keys": list(reversed(document["keys"]))}),
        },
        {
            "check": "keys",
            "reason": "a small-order key (the identity) in the list (signed)",
            "poll_uid": POLL_UID,
            "document": resigned({"keys": sorted([*document["keys"][:-1], identity])}),
        },
        {
            "check": "sizes",
            "reason": "count + reserve is not the number of keys (signed)",
            "poll_uid": POLL_UID,
            "document": resigned({"reserve": 0}),
        },
    ]
    return {
        "description": "The credential authority's signed list (tally-credential-list/1): the"
        " Board's Ed25519 key (from a fixed 32-byte seed, RFC 8032) signs signed_bytes ="
        " tag || canonical JSON of the list without 'signature'; Ed25519 is deterministic, so"
        " the seed gives this signature. The keys are sorted and do not say which are reserve"
        " slips. 'parsed' is what a check of the list for this poll's uid gives (the commitment"
        " as in credentials.json); 'rejected' are lists refused for the poll_uid shown, with the"
        " check that refuses each. This list is ballot.json's manifest's credential_list.",
        "authority_seed_hex": AUTHORITY_SEED.hex(),
        "authority_public_key_hex": key.public_key.hex(),
        "authority_fingerprint": key.fingerprint,
        "poll_uid": POLL_UID,
        "slips": slips,
        "reserve_slips": reserve,
        "tag_hex": LIST_TAG.hex(),
        "list": document,
        "signed_bytes_hex": list_signed_bytes(document).hex(),
        "signature_hex": document["signature"],
        "parsed": {
            "poll_uid": parsed.poll_uid,
            "count": parsed.count,
            "reserve": parsed.reserve,
            "keys": [k.hex() for k in parsed.keys],
            "authority": parsed.authority.hex(),
            "commitment": parsed.commitment,
            "fingerprint": key_fingerprint(parsed.authority),
        },
        "rejected": rejected,
    }


def vec_attendance(ctx: PollContext, first: bytes) -> dict[str, Any]:
    fingerprint = ctx.fingerprint
    entries = [
        entry(1, "2025-12-15T07:45:00.000000Z", 2, "Thư ký hội nghị"),
        entry(2, "2025-12-15T08:10:00.000000Z", 3, "Thư ký hội nghị"),
    ]
    lines = chain_lines(fingerprint, entries)
    jsonl = attendance_jsonl(fingerprint, entries)
    chain = check_attendance(jsonl, fingerprint, MEMBERS)
    board = vec_board(ctx, first)
    key = trustee_key(0)
    assert key.public.signing_key is not None
    x = TRUSTEE_SECRETS[0]
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_INFO).derive(
        encode_scalar(x)
    )
    derived = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert derived == key.public.signing_key
    statement = sign_statement(
        key,
        fingerprint=fingerprint,
        poll_uid=POLL_UID,
        attendance=chain,
        board_head=board["head"],
        electronic_ballots=len(board["entries"]),
        present=chain.present,  # the committee's own count, here the chain's last entry's
    )
    manifest = parse_manifest(poll_manifest())
    checked = parse_statement(
        statement,
        fingerprint=fingerprint,
        poll_uid=POLL_UID,
        trustees=manifest.trustees,
        members=manifest.members,
    )
    assert not statement_problems(
        checked, chain, board_head=board["head"], electronic_ballots=len(board["entries"])
    )
    return {
        "description": "The attendance chain (attendance.jsonl) of ballot.json's poll and trustee"
        " 1's signed statement (tally-attendance/1). prev_0 = SHA-256(tag || fingerprint);"
        " each line is the entry {seq, time, present, actor} with prev and hash ="
        " SHA-256(prev || canonical JSON of the entry), written as canonical JSON and a newline;"
        " 'checked' is what a check of the file gives (entries, head, the last number present)."
        " The trustee's Ed25519 signing key: seed = HKDF-SHA256(IKM = 32-byte little-endian"
        " secret x, salt none, info, 32 bytes) (RFC 8032 key from the seed), as in ballot.json's"
        " manifest. The statement's number present is the counting committee's own count (here"
        " equal to the chain's last entry), its board head and ballots are board.json's;"
        " signed_bytes = statement tag || canonical JSON of the statement without 'signature'.",
        "tag_hex": ATTENDANCE_TAG.hex(),
        "fingerprint": fingerprint.hex(),
        "members": MEMBERS,
        "genesis": attendance_genesis(fingerprint).hex(),
        "entries": entries,
        "lines": lines,
        "jsonl": jsonl.decode("utf-8"),
        "checked": {"entries": chain.entries, "head": chain.head, "present": chain.present},
        "trustee": {
            "name": key.public.name,
            "x_hex": hexs(x),
            "signing_key": {
                "hkdf": {
                    "hash": "SHA-256",
                    "salt": None,
                    "info": SIGNING_INFO.decode(),
                    "length": 32,
                },
                "ikm_hex": encode_scalar(x).hex(),
                "seed_hex": seed.hex(),
                "public_key_hex": derived.hex(),
            },
        },
        "statement_tag_hex": STATEMENT_TAG.hex(),
        "statement": statement,
        "signed_bytes_hex": statement_bytes(statement).hex(),
        "signature_hex": statement["signature"],
    }


def vec_slip_payload() -> dict[str, Any]:
    uid = POLL_UID
    codes = [Credential(secret).code.replace("-", "") for secret in CREDENTIAL_SECRETS]
    slip = slip_payload(uid, codes[0])
    rest = slip[len(SLIP_PREFIX) :]
    upper = uid.upper()
    valid = [
        {
            "name": "as printed",
            "payload": slip,
            "poll_uid": uid,
            "code": codes[0],
            "canonical": True,
        },
        {
            "name": "second slip",
            "payload": slip_payload(uid, codes[1]),
            "poll_uid": uid,
            "code": codes[1],
            "canonical": True,
        },
        {
            "name": "the example of docs/protocol.md",
            "payload": f"{SLIP_PREFIX}0123456789ABCDEF0123456789ABCDEF:{codes[0]}",
            "poll_uid": "0123456789abcdef0123456789abcdef",
            "code": codes[0],
            "canonical": True,
        },
        {
            "name": "lowercase uid",
            "payload": f"{SLIP_PREFIX}{uid}:{codes[0]}",
            "poll_uid": uid,
            "code": codes[0],
            "canonical": False,
        },
        {
            "name": "mixed-case uid",
            "payload": f"{SLIP_PREFIX}{upper[:16]}{uid[16:]}:{codes[0]}",
            "poll_uid": uid,
            "code": codes[0],
            "canonical": False,
        },
        {
            "name": "surrounding ASCII whitespace",
            "payload": f" \t{slip}\r\n",
            "poll_uid": uid,
            "code": codes[0],
            "canonical": False,
        },
    ]
    last_bad = codes[0][:-1] + chr(ord(codes[0][-1]) + 1)  # one of the 2 unused low bits set
    not_slip = [
        ("a booth URL (the old slips)", f"http://192.168.1.10:5000/booth/3#{codes[0]}"),
        ("empty", ""),
        ("only whitespace", " \r\n"),
        ("lowercase prefix", "tally-slip/1:" + rest),
        ("another version", "TALLY-SLIP/2:" + rest),
        ("prefix without its colon", "TALLY-SLIP/1" + rest),
        ("the code alone", codes[0]),
        ("text before the prefix", "X" + slip),
        ("non-ASCII whitespace is not trimmed", "\u00a0" + slip),
    ]
    bad_slip = [
        ("prefix alone", SLIP_PREFIX),
        ("truncated code", slip[:-3]),
        ("code of 25 characters", slip[:-1]),
        ("code of 27 characters", slip + "A"),
        ("unused bits not zero", f"{SLIP_PREFIX}{upper}:{last_bad}"),
        ("code with dashes", f"{SLIP_PREFIX}{upper}:{Credential(CREDENTIAL_SECRETS[0]).code}"),
        ("lowercase code", f"{SLIP_PREFIX}{upper}:{codes[0].lower()}"),
        ("'1' is not a base32 digit", f"{SLIP_PREFIX}{upper}:{codes[0][:-1]}1"),
        ("uid of 31 digits", f"{SLIP_PREFIX}{upper[:-1]}:{codes[0]}"),
        ("uid of 33 digits", f"{SLIP_PREFIX}{upper}0:{codes[0]}"),
        ("uid not hex", f"{SLIP_PREFIX}{upper[:-1]}G:{codes[0]}"),
        ("no uid", f"{SLIP_PREFIX}:{codes[0]}"),
        ("no separator", f"{SLIP_PREFIX}{upper}{codes[0]}"),
        ("extra field", f"{slip}:1"),
        ("fields swapped", f"{SLIP_PREFIX}{codes[0]}:{upper}"),
        ("space inside", f"{SLIP_PREFIX}{upper}: {codes[0]}"),
    ]
    return {
        "description": "Slip payload tally-slip/1 (docs/protocol.md): the QR code of a slip holds"
        " 'TALLY-SLIP/1:' + the poll uid in 32 uppercase hex digits + ':' + the credential code"
        " as 26 base32 characters (A-Z, 2-7, the 2 unused bits zero), in QR alphanumeric mode. A"
        " reader trims ASCII whitespace (space, tab, LF, VT, FF, CR), compares the prefix exactly"
        " (absent: 'not-slip'), accepts the uid in either case and returns it lowercase; any other"
        " rest is 'bad-slip'. 'canonical': slip_payload(poll_uid, code) makes exactly this text.",
        "prefix": SLIP_PREFIX,
        "valid": valid,
        "invalid": [{"name": n, "payload": t, "kind": "not-slip"} for n, t in not_slip]
        + [{"name": n, "payload": t, "kind": "bad-slip"} for n, t in bad_slip],
    }


def vec_challenge(ctx: PollContext) -> dict[str, Any]:
    """A ballot encrypted from a seed, its commitment, challenge file, QR text and notice."""
    from tally.ballots import (
        ballot_commitment,
        commitment_hash,
        encrypt_ballot_from_seed,
        rebuild_ciphertexts,
        seed_nonces,
    )
    from tally.challenge import challenge_file, challenge_qr_text, make_notice

    seed = fixed_bytes("challenge/seed", 32)
    choices: list[int | None] = [1, None]
    credential = Credential(CREDENTIAL_SECRETS[1])
    nonces = seed_nonces(ctx.fingerprint, seed)
    labels = [
        f"{i}/{j}/{part}"
        for i in range(2)
        for j in range(4)
        for part in ("r", "w", "c_sim", "s_sim")
    ]
    labels += [f"{i}/sum/{part}" for i in range(2) for part in ("w", "c_sim", "s_sim")]
    ballot = encrypt_ballot_from_seed(ctx, credential, choices, seed)
    rows = rebuild_ciphertexts(ctx, choices, seed)
    commitment = ballot_commitment(ctx.fingerprint, ballot)
    file = challenge_file(ctx.fingerprint, seed, choices, commitment)
    return {
        "description": "Version 2's Benaloh challenge (docs/protocol.md 12.6) for ballot.json's"
        " poll: every value of the ballot derived from 'seed' (HKDF-SHA512, info"
        " 'tally/v2/ballot-seed\\0' || fingerprint || label, mod L), the ballot signed with"
        " credentials.json's second credential, its commitment (SHA-256 of the prefix, the"
        " fingerprint and every a, b; base32 of 20 bytes), the challenge file and its QR text,"
        " and the signed notice (SHA-256 of each a). 'wrong' are files that do not match, with"
        " what differs.",
        "seed_hex": seed.hex(),
        "choices": choices,
        "credential_secret_hex": CREDENTIAL_SECRETS[1].hex(),
        "derived": {label: hexs(nonces(label)) for label in labels},
        "ballot": ballot,
        "tracking_hash": tracking_hash(ballot).hex(),
        "commitment_hash": commitment_hash(ctx.fingerprint, rows).hex(),
        "commitment": commitment,
        "file": file,
        "qr_text": challenge_qr_text(file),
        "notice": make_notice(ctx.fingerprint, credential, rows),
        "wrong": [
            {"file": dict(file, choices=[2, None]), "differs": "commitment"},
            {
                "file": dict(file, seed=fixed_bytes("challenge/other", 32).hex()),
                "differs": "commitment",
            },
            {"file": dict(file, poll="00" * 32), "differs": "poll"},
        ],
    }


def vec_ceremony() -> dict[str, Any]:
    """A key ceremony of three trustees, k = 2 (docs/protocol.md 9.4), in which trustee 3 sends
    trustee 1 a share that does not open and is left out by trustee 1's complaint; then both
    qualified trustees' partial decryptions (14.5) of a fixed aggregate and the counts."""
    from tally.canonical import canonical_json as cj
    from tally.dkg import (
        DEAL_SIGNATURE,
        Ceremony,
        combine,
        decrypt_share,
        evaluate,
        make_check,
        make_dealing,
        threshold_key,
    )
    from tally.elgamal import Ciphertext
    from tally.trustees import make_aggregate

    names = [f"Thành viên Ban kiểm phiếu {m}" for m in (1, 2, 3)]
    secrets_ = [fixed_scalar(f"trustee/{m}/x") for m in (1, 2, 3)]
    keys = [
        TrusteeKey.from_secret(names[m], secrets_[m], nonce=fixed_scalar(f"trustee/{m + 1}/w"))
        for m in range(3)
    ]
    setup = Ceremony(fixed_bytes("ceremony/uid", 16).hex(), 2, tuple(k.public for k in keys))
    dealings = [make_dealing(setup, key) for key in keys]
    bad = dict(dealings[2])
    ct = dealings[2]["shares"][0]["ct"]
    bad["shares"] = [
        {**dealings[2]["shares"][0], "ct": ct[:-2] + ("00" if ct[-2:] != "00" else "01")},
        *dealings[2]["shares"][1:],
    ]
    body = {k: v for k, v in bad.items() if k != "signature"}
    bad["signature"] = keys[2].sign(DEAL_SIGNATURE + cj(body)).hex()
    dealings[2] = bad
    checks = [make_check(setup, key, dealings) for key in keys]
    outcome = evaluate(setup, dealings, checks)
    counts = [[2, 1], [0, 3]]
    cells = []
    for i, row in enumerate(counts):
        out = []
        for j, m in enumerate(row):
            r = fixed_scalar(f"ceremony/aggregate/{i}/{j}")
            out.append(Ciphertext(base_mul(r), outcome.public_key * r + base_mul(m)))
        cells.append(out)
    fingerprint = fixed_bytes("ceremony/poll", 32)
    aggregate = make_aggregate(fingerprint, "00" * 32, 3, cells)
    shares = []
    for m in outcome.qualified:
        key = threshold_key(setup, dealings, checks, keys[m - 1])
        shares.append(
            decrypt_share(
                aggregate,
                key,
                nonces=lambda label, m=m: fixed_scalar(f"ceremony/share/{m}/{label}"),
            )
        )
    partials = {
        s["trustee"]: [[Point.from_hex(x["d"]) for x in row] for row in s["shares"]] for s in shares
    }
    combined, used = combine(aggregate, partials, 2, 3)
    assert combined == counts
    return {
        "description": "A key ceremony (9.4): three trustees, k = 2; trustee 3 deals trustee 1 a"
        " share whose ciphertext's last byte is changed, trustee 1 complains and trustee 3 is"
        " faulty. Every secret"
        " of a dealing and a check is derived from the trustee's key (9.4), so the messages are"
        " the same bytes from any implementation; the shares (14.5) use the nonces"
        " fixed_scalar('ceremony/share/<m>/<i>/<j>/w').",
        "trustee_secrets_hex": [hexs(x) for x in secrets_],
        "trustees": [k.public.to_json() for k in keys],
        "ceremony": setup.to_json(),
        "ceremony_digest": setup.digest.hex(),
        "dealings": dealings,
        "checks": checks,
        "honest_dealing_3": make_dealing(setup, keys[2]),
        "outcome": {
            "qualified": list(outcome.qualified),
            "faults": [f.to_json() for f in outcome.faults],
            "public_key": outcome.public_key.hex(),
            "verification_keys": {str(m): vk.hex() for m, vk in outcome.verification_keys.items()},
        },
        "aggregate": aggregate,
        "shares": shares,
        "share_nonces_hex": {
            f"{m}/{i}/{j}": hexs(fixed_scalar(f"ceremony/share/{m}/{i}/{j}/w"))
            for m in outcome.qualified
            for i in range(2)
            for j in range(2)
        },
        "counts": counts,
        "combined_with": list(used),
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
        "credential_list.json": vec_credential_list(),
        "attendance.json": vec_attendance(ctx, tracking_hash(ballot)),
        "slip_payload.json": vec_slip_payload(),
        "challenge.json": vec_challenge(ctx),
        "ceremony.json": vec_ceremony(),
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
