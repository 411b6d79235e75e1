"""Proofs and ballots: honest ballots verify, and any change to a ballot makes it fail.

Most tampering tests re-sign the changed ballot with its own credential, so the credential's
signature is valid and the failure comes from the proofs themselves (what a dishonest voter's
device, or a server holding a stolen slip, could do).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from conftest import JointKey
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.ballots import (
    TAG_CHOICE,
    TAG_SUM_ONE,
    TAG_SUM_ZERO_ONE,
    BallotError,
    PollContext,
    check_challenge,
    encrypt_ballot,
    encrypt_ballot_with_randomness,
    randomness_to_json,
    signed_bytes,
    tracking_code,
    tracking_hash,
    verify_ballot,
)
from tally.canonical import canonical_json
from tally.credentials import Credential
from tally.elgamal import Ciphertext, add_all, encrypt
from tally.group import (
    IDENTITY,
    G,
    GroupError,
    L,
    Point,
    base_mul,
    hash_to_scalar,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
    u32,
)
from tally.proofs import (
    NonceSource,
    SchnorrProof,
    ZeroOneProof,
    prove_dleq,
    prove_schnorr,
    prove_zero_one,
    verify_dleq,
    verify_schnorr,
    verify_zero_one,
)

GRADES = 4
FAST = settings(max_examples=25, deadline=None)


# --- helpers --------------------------------------------------------------------------------------


def make_ctx(key: JointKey, subjects: int, allow_blank: bool) -> PollContext:
    return PollContext(secrets.token_bytes(32), key.public, subjects, GRADES, allow_blank)


def resign(ballot: dict[str, Any], credential: Credential) -> dict[str, Any]:
    ballot = {k: v for k, v in ballot.items() if k != "signature"}
    ballot["signature"] = credential.sign(signed_bytes(ballot)).hex()
    return ballot


def other_point(hex_point: str) -> str:
    """A different valid group element: adding G keeps it in the group."""
    return (Point.from_hex(hex_point) + G).hex()


def bump(hex_scalar: str) -> str:
    return scalar_hex((scalar_from_hex(hex_scalar) + 1) % L)


def grade_context(ctx: PollContext, cred: bytes, subject: int, grade: int) -> bytes:
    # As docs/protocol.md will state it: fingerprint || credential || u32(subject) || u32(grade).
    return ctx.fingerprint + cred + u32(subject) + u32(grade)


def sum_context(ctx: PollContext, cred: bytes, subject: int) -> bytes:
    return ctx.fingerprint + cred + u32(subject)


def rejected(ctx: PollContext, ballot: Any) -> str:
    with pytest.raises(BallotError) as info:
        verify_ballot(ctx, ballot)
    return str(info.value)


@st.composite
def polls(draw: st.DrawFn) -> tuple[int, bool, list[int | None]]:
    """(subjects, allow_blank, choices): blanks only where the rule set allows them."""
    subjects = draw(st.integers(min_value=1, max_value=5))
    allow_blank = draw(st.booleans())
    grade = st.integers(min_value=0, max_value=GRADES - 1)
    choice = grade | st.none() if allow_blank else grade
    choices = draw(st.lists(choice, min_size=subjects, max_size=subjects))
    return subjects, allow_blank, choices


def honest(
    key: JointKey, shape: tuple[int, bool, list[int | None]]
) -> tuple[PollContext, Credential, dict[str, Any]]:
    subjects, allow_blank, choices = shape
    ctx = make_ctx(key, subjects, allow_blank)
    cred = Credential.generate()
    return ctx, cred, encrypt_ballot(ctx, cred, choices)


def decrypt_bit(key: JointKey, item: dict[str, str]) -> int:
    ct = Ciphertext.from_json(item)
    mG = ct.b - ct.a * key.secret
    assert mG.is_identity or mG == G
    return 0 if mG.is_identity else 1


# --- honest ballots -------------------------------------------------------------------------------


@given(polls())
@FAST
def test_honest_ballots_verify_and_encrypt_the_choices(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]]
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    vb = verify_ballot(ctx, ballot)
    assert vb.credential == cred.public_key
    assert vb.tracking_hash == tracking_hash(ballot)
    # Encoded once from the signed part, it is the canonical form of the whole ballot.
    assert vb.canonical == canonical_json(ballot)
    assert len(vb.ciphertexts) == ctx.subjects
    for choice, answer, row in zip(shape[2], ballot["answers"], vb.ciphertexts, strict=True):
        bits = [decrypt_bit(joint_key, item) for item in answer["choices"]]
        assert bits == [1 if choice == j else 0 for j in range(GRADES)]
        assert [ct.to_json() for ct in row] == [
            {"a": i["a"], "b": i["b"]} for i in answer["choices"]
        ]


def test_a_ballot_holds_no_plaintext_and_two_encryptions_differ(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 2, False)
    cred = Credential.generate()
    first, second = encrypt_ballot(ctx, cred, [0, 3]), encrypt_ballot(ctx, cred, [0, 3])
    assert first["answers"] != second["answers"]
    assert set(first) == {"format", "poll", "credential", "answers", "signature"}
    assert first["poll"] == ctx.fingerprint.hex()
    assert first["credential"] == cred.public_key.hex()


# --- every part of a ballot is bound --------------------------------------------------------------


@given(polls(), st.data())
@FAST
def test_a_changed_ciphertext_component_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    i = data.draw(st.integers(0, ctx.subjects - 1), label="subject")
    j = data.draw(st.integers(0, GRADES - 1), label="grade")
    part = data.draw(st.sampled_from(["a", "b"]), label="component")
    forged = copy.deepcopy(ballot)
    item = forged["answers"][i]["choices"][j]
    item[part] = other_point(item[part])
    # Not re-signed: the signature catches it.
    assert "signature" in rejected(ctx, forged)
    # Re-signed by the credential: the 0/1 proof of that very grade catches it.
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {i + 1}, grade {j + 1}: the 0/1 proof does not verify"
    )


@given(polls(), st.data())
@FAST
def test_a_changed_choice_proof_scalar_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    i = data.draw(st.integers(0, ctx.subjects - 1), label="subject")
    j = data.draw(st.integers(0, GRADES - 1), label="grade")
    field = data.draw(st.sampled_from(["c0", "c1", "s0", "s1"]), label="field")
    forged = copy.deepcopy(ballot)
    proof = forged["answers"][i]["choices"][j]["proof"]
    proof[field] = bump(proof[field])
    assert "signature" in rejected(ctx, forged)
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {i + 1}, grade {j + 1}: the 0/1 proof does not verify"
    )


@given(polls(), st.data())
@FAST
def test_a_changed_sum_proof_scalar_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    i = data.draw(st.integers(0, ctx.subjects - 1), label="subject")
    forged = copy.deepcopy(ballot)
    proof = forged["answers"][i]["sum_proof"]
    # A DLEQ proof (c, s) where every subject must be rated; a 0/1 proof where blanks are allowed.
    assert set(proof) == ({"c0", "c1", "s0", "s1"} if ctx.allow_blank else {"c", "s"})
    field = data.draw(st.sampled_from(sorted(proof)), label="field")
    proof[field] = bump(proof[field])
    assert "signature" in rejected(ctx, forged)
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {i + 1}: the proof that exactly one grade is chosen does not verify"
    )


def test_an_unreduced_proof_scalar_is_rejected(joint_key: JointKey) -> None:
    # s + L is the same response modulo L; accepting it would make ballots malleable.
    ctx = make_ctx(joint_key, 1, False)
    cred = Credential.generate()
    for _ in range(20):
        ballot = encrypt_ballot(ctx, cred, [1])
        s = scalar_from_hex(ballot["answers"][0]["sum_proof"]["s"])
        if s + L < 2**256:
            break
    else:
        pytest.fail("no response small enough to malleate in 20 tries")
    forged = copy.deepcopy(ballot)
    forged["answers"][0]["sum_proof"]["s"] = (s + L).to_bytes(32, "little").hex()
    assert "non-canonical scalar" in rejected(ctx, resign(forged, cred))


@given(polls(), st.data())
@FAST
def test_swapped_grades_fail(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    i = data.draw(st.integers(0, ctx.subjects - 1), label="subject")
    j, k = data.draw(
        st.lists(st.integers(0, GRADES - 1), min_size=2, max_size=2, unique=True), label="grades"
    )
    # Whole entries (ciphertext with its proof) swapped: the proofs are bound to the grade index.
    forged = copy.deepcopy(ballot)
    items = forged["answers"][i]["choices"]
    items[j], items[k] = items[k], items[j]
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {i + 1}, grade {min(j, k) + 1}: the 0/1 proof does not verify"
    )
    # Only the ciphertexts swapped, proofs left in place.
    forged = copy.deepcopy(ballot)
    items = forged["answers"][i]["choices"]
    for part in ("a", "b"):
        items[j][part], items[k][part] = items[k][part], items[j][part]
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {i + 1}, grade {min(j, k) + 1}: the 0/1 proof does not verify"
    )


@given(polls().filter(lambda s: s[0] >= 2), st.data())
@FAST
def test_swapped_subjects_fail(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    i, k = data.draw(
        st.lists(st.integers(0, ctx.subjects - 1), min_size=2, max_size=2, unique=True),
        label="subjects",
    )
    forged = copy.deepcopy(ballot)
    answers = forged["answers"]
    answers[i], answers[k] = answers[k], answers[i]
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {min(i, k) + 1}, grade 1: the 0/1 proof does not verify"
    )
    # Swapping only the sum proofs between subjects fails too.
    forged = copy.deepcopy(ballot)
    answers = forged["answers"]
    answers[i]["sum_proof"], answers[k]["sum_proof"] = (
        answers[k]["sum_proof"],
        answers[i]["sum_proof"],
    )
    assert rejected(ctx, resign(forged, cred)) == (
        f"subject {min(i, k) + 1}: the proof that exactly one grade is chosen does not verify"
    )


@given(polls())
@FAST
def test_a_ballot_moved_to_another_poll_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]]
) -> None:
    ctx, cred, ballot = honest(joint_key, shape)
    other = PollContext(
        secrets.token_bytes(32), ctx.public_key, ctx.subjects, ctx.grades, ctx.allow_blank
    )
    assert rejected(other, ballot) == "the ballot is for another poll (fingerprint differs)"
    # Relabelled for the other poll and re-signed: the proofs still name the first poll.
    moved = resign({**ballot, "poll": other.fingerprint.hex()}, cred)
    assert rejected(other, moved) == "subject 1, grade 1: the 0/1 proof does not verify"


@given(polls())
@FAST
def test_a_ballot_signed_by_another_credential_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]]
) -> None:
    ctx, _, ballot = honest(joint_key, shape)
    thief = Credential.generate()
    stolen = resign({**ballot, "credential": thief.public_key.hex()}, thief)
    # The signature is valid for the new credential, but the proofs are bound to the old one.
    assert rejected(ctx, stolen) == "subject 1, grade 1: the 0/1 proof does not verify"
    # The credential swapped without re-signing: the signature fails.
    assert "signature" in rejected(ctx, {**ballot, "credential": thief.public_key.hex()})


@given(polls(), st.integers(min_value=0, max_value=63), st.integers(1, 255))
@FAST
def test_a_flipped_signature_byte_fails(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], pos: int, mask: int
) -> None:
    ctx, _, ballot = honest(joint_key, shape)
    sig = bytearray.fromhex(ballot["signature"])
    sig[pos] ^= mask
    assert rejected(ctx, {**ballot, "signature": sig.hex()}) == (
        "the credential's signature does not verify"
    )


def test_signature_and_credential_must_be_lowercase_hex(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 1, False)
    ballot = encrypt_ballot(ctx, Credential.generate(), [2])
    for field in ("signature", "credential"):
        upper = {**ballot, field: ballot[field].upper()}
        assert "lowercase hex" in rejected(ctx, upper)
        short = {**ballot, field: ballot[field][:-2]}
        assert "lowercase hex" in rejected(ctx, short)
        # As long as the hex, but with spaces that bytes.fromhex would skip.
        spaced = {**ballot, field: ballot[field][:-6] + " " + ballot[field][-4:] + " "}
        assert "must be hex" in rejected(ctx, spaced)


def test_extra_or_missing_fields_fail(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 2, True)
    cred = Credential.generate()
    ballot = encrypt_ballot(ctx, cred, [1, None])
    verify_ballot(ctx, ballot)

    for top in ({**ballot, "note": "x"}, {k: v for k, v in ballot.items() if k != "poll"}):
        assert "exactly the fields" in rejected(ctx, top)
    assert "unknown ballot format" in rejected(ctx, resign({**ballot, "format": "v0"}, cred))

    def edited(change: Any) -> dict[str, Any]:
        forged = copy.deepcopy(ballot)
        change(forged)
        return resign(forged, cred)

    answer_extra = edited(lambda b: b["answers"][1].update(comment="x"))
    assert rejected(ctx, answer_extra) == (
        "subject 2: an answer has exactly the fields choices, sum_proof"
    )
    answer_missing = edited(lambda b: b["answers"][0].pop("sum_proof"))
    assert rejected(ctx, answer_missing) == (
        "subject 1: an answer has exactly the fields choices, sum_proof"
    )
    item_extra = edited(lambda b: b["answers"][0]["choices"][2].update(m=0))
    assert rejected(ctx, item_extra) == "subject 1, grade 3: fields must be a, b, proof"
    item_missing = edited(lambda b: b["answers"][1]["choices"][0].pop("proof"))
    assert rejected(ctx, item_missing) == "subject 2, grade 1: fields must be a, b, proof"
    proof_extra = edited(lambda b: b["answers"][0]["choices"][0]["proof"].update(c=scalar_hex(1)))
    assert "exactly the fields c0, c1, s0, s1" in rejected(ctx, proof_extra)
    sum_missing = edited(lambda b: b["answers"][0]["sum_proof"].pop("s1"))
    assert "exactly the fields c0, c1, s0, s1" in rejected(ctx, sum_missing)
    assert rejected(ctx, [ballot]) == "a ballot must be a JSON object"


def test_a_float_in_a_ballot_is_rejected_not_crashing(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 1, False)
    ballot = encrypt_ballot(ctx, Credential.generate(), [0])
    assert "floating-point" in rejected(ctx, {**ballot, "answers": [1.5]})


def test_wrong_number_of_subjects_or_grades_fails(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 3, False)
    cred = Credential.generate()
    ballot = encrypt_ballot(ctx, cred, [0, 1, 2])

    dropped = resign({**ballot, "answers": ballot["answers"][:2]}, cred)
    assert rejected(ctx, dropped) == "the ballot must rate exactly 3 subjects"
    added = resign({**ballot, "answers": [*ballot["answers"], ballot["answers"][0]]}, cred)
    assert rejected(ctx, added) == "the ballot must rate exactly 3 subjects"

    forged = copy.deepcopy(ballot)
    forged["answers"][1]["choices"].pop()
    assert rejected(ctx, resign(forged, cred)) == "subject 2: expected 4 encrypted grades"
    forged = copy.deepcopy(ballot)
    forged["answers"][2]["choices"].append(forged["answers"][2]["choices"][0])
    assert rejected(ctx, resign(forged, cred)) == "subject 3: expected 4 encrypted grades"

    # The same ballot against a poll with a different shape.
    for subjects, grades in ((2, 4), (4, 4), (3, 3), (3, 5)):
        shape = PollContext(ctx.fingerprint, ctx.public_key, subjects, grades, False)
        with pytest.raises(BallotError):
            verify_ballot(shape, ballot)

    with pytest.raises(BallotError, match="must rate 3 subjects, got 2"):
        encrypt_ballot(ctx, cred, [0, 1])
    with pytest.raises(BallotError, match="grade index out of range"):
        encrypt_ballot(ctx, cred, [0, 1, 4])
    with pytest.raises(BallotError, match="grade index out of range"):
        encrypt_ballot(ctx, cred, [-1, 1, 2])


# --- what a ballot may encrypt --------------------------------------------------------------------


def forge_ballot(
    ctx: PollContext,
    cred: Credential,
    rows: list[list[int]],
    zero_one: Any = None,
    randomness: list[list[int]] | None = None,
) -> dict[str, Any]:
    """A hand-made ballot whose grade ciphertexts encrypt ``rows`` (any integers), with the honest
    prover's proofs claiming 0/1 (``zero_one`` for other plaintexts) and "sums to one", whether
    or not the plaintexts support the claims."""
    Y = ctx.public_key
    cred_key = cred.public_key
    answers = []
    for i, row in enumerate(rows):
        rs = randomness[i] if randomness else [random_scalar() for _ in row]
        items = []
        for j, (m, r) in enumerate(zip(row, rs, strict=True)):
            ct = encrypt(Y, m, r)
            claim = m if m in (0, 1) else (zero_one if zero_one is not None else 1)
            proof = prove_zero_one(Y, ct, claim, r, TAG_CHOICE, grade_context(ctx, cred_key, i, j))
            items.append({**ct.to_json(), "proof": proof.to_json()})
        total = add_all(Ciphertext.from_json(item) for item in items)
        r_sum = sum(rs) % L
        where = sum_context(ctx, cred_key, i)
        sum_proof: SchnorrProof | ZeroOneProof
        if ctx.allow_blank:
            sum_proof = prove_zero_one(Y, total, 1, r_sum, TAG_SUM_ZERO_ONE, where)
        else:
            sum_proof = prove_dleq(r_sum, Y, total.a, total.b - G, TAG_SUM_ONE, where)
        answers.append({"choices": items, "sum_proof": sum_proof.to_json()})
    ballot = {
        "format": "tally-ballot/1",
        "poll": ctx.fingerprint.hex(),
        "credential": cred_key.hex(),
        "answers": answers,
    }
    return resign(ballot, cred)


def test_an_unencrypted_ciphertext_is_refused(joint_key: JointKey) -> None:
    """r = 0 gives a = identity and b = m·G: the vote readable on the board. Refused, with valid
    proofs and signature; so is a subject whose randomness sums to 0 (its sum shows a blank)."""
    for allow_blank in (False, True):
        ctx = make_ctx(joint_key, 2, allow_blank)
        rows = [[0, 1, 0, 0], [0, 0, 0, 1]]
        fresh = [[random_scalar() for _ in range(GRADES)] for _ in rows]
        zero = [[0, *fresh[0][1:]], fresh[1]]
        ballot = forge_ballot(ctx, Credential.generate(), rows, randomness=zero)
        assert ballot["answers"][0]["choices"][0]["a"] == IDENTITY.hex()
        assert "not encrypted (a = 0)" in rejected(ctx, ballot)
        k = random_scalar()
        cancelling = [fresh[0], [k, L - k, fresh[1][2], (L - fresh[1][2]) % L]]
        ballot = forge_ballot(ctx, Credential.generate(), rows, randomness=cancelling)
        assert "not encrypted (sum a = 0)" in rejected(ctx, ballot)


def test_the_forger_reproduces_an_honest_ballot(joint_key: JointKey) -> None:
    # Guard for the tests below: with honest plaintexts the hand-made ballot verifies, so their
    # failures come from the plaintexts, not from a mistake in the forger.
    for allow_blank in (False, True):
        ctx = make_ctx(joint_key, 2, allow_blank)
        rows = [[0, 1, 0, 0], [0, 0, 0, 1]]
        verify_ballot(ctx, forge_ballot(ctx, Credential.generate(), rows))


def test_a_blank_is_refused_where_the_rule_set_allows_none(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 2, False)
    cred = Credential.generate()
    with pytest.raises(BallotError, match="subject 2 must be rated"):
        encrypt_ballot(ctx, cred, [1, None])
    # Hand-forged: four encryptions of 0 (each with a valid 0/1 proof) and a sum proof for 1.
    forged = forge_ballot(ctx, cred, [[0, 1, 0, 0], [0, 0, 0, 0]])
    assert rejected(ctx, forged) == (
        "subject 2: the proof that exactly one grade is chosen does not verify"
    )
    # A blank made where blanks are allowed, presented to a poll that allows none.
    blank_ctx = PollContext(ctx.fingerprint, ctx.public_key, 2, GRADES, True)
    blank = encrypt_ballot(blank_ctx, cred, [1, None])
    verify_ballot(blank_ctx, blank)
    assert "exactly the fields c, s" in rejected(ctx, blank)


def test_a_blank_is_accepted_where_the_rule_set_allows_it(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 2, True)
    verify_ballot(ctx, encrypt_ballot(ctx, Credential.generate(), [None, None]))


def test_two_grades_for_one_subject_fail(joint_key: JointKey) -> None:
    for allow_blank in (False, True):
        ctx = make_ctx(joint_key, 1, allow_blank)
        cred = Credential.generate()
        forged = forge_ballot(ctx, cred, [[1, 1, 0, 0]])
        assert rejected(ctx, forged) == (
            "subject 1: the proof that exactly one grade is chosen does not verify"
        )


@pytest.mark.parametrize("claim", [0, 1])
def test_an_encryption_of_two_fails_whatever_the_prover_claims(
    joint_key: JointKey, claim: int
) -> None:
    ctx = make_ctx(joint_key, 1, False)
    cred = Credential.generate()
    # 2 in one grade and -1 in another: the sum is 1, so only the 0/1 proofs can catch it.
    forged = forge_ballot(ctx, cred, [[2, L - 1, 0, 0]], zero_one=claim)
    assert rejected(ctx, forged) == "subject 1, grade 1: the 0/1 proof does not verify"
    # The sum proof alone is honest: this ballot fails only because of the 0/1 proof.
    Y = ctx.public_key
    items = forged["answers"][0]["choices"]
    total = add_all(Ciphertext.from_json(i) for i in items)
    assert verify_dleq(
        Y,
        total.a,
        total.b - G,
        SchnorrProof.from_json(forged["answers"][0]["sum_proof"]),
        TAG_SUM_ONE,
        sum_context(ctx, cred.public_key, 0),
    )


def test_the_prover_refuses_a_message_other_than_zero_or_one(joint_key: JointKey) -> None:
    r = random_scalar()
    ct = encrypt(joint_key.public, 2, r)
    with pytest.raises(ValueError, match="0 or 1"):
        prove_zero_one(joint_key.public, ct, 2, r, TAG_CHOICE, b"")


# --- the three proof kinds on their own -----------------------------------------------------------


def test_schnorr_proof_verifies_and_any_change_fails() -> None:
    x = random_scalar()
    X = base_mul(x)
    proof = prove_schnorr(x, "tag", b"ctx")
    assert verify_schnorr(X, proof, "tag", b"ctx")
    assert SchnorrProof.from_json(proof.to_json()) == proof
    assert not verify_schnorr(X, SchnorrProof((proof.c + 1) % L, proof.s), "tag", b"ctx")
    assert not verify_schnorr(X, SchnorrProof(proof.c, (proof.s + 1) % L), "tag", b"ctx")
    assert not verify_schnorr(X + G, proof, "tag", b"ctx")
    assert not verify_schnorr(X, proof, "other", b"ctx")
    assert not verify_schnorr(X, proof, "tag", b"ctx2")


def test_schnorr_proof_for_another_key_fails() -> None:
    x, y = random_scalar(), random_scalar()
    assert not verify_schnorr(base_mul(y), prove_schnorr(x, "tag", b""), "tag", b"")


def test_dleq_proof_verifies_and_any_change_fails() -> None:
    x = random_scalar()
    H = base_mul(random_scalar())
    X, Z = base_mul(x), H * x
    proof = prove_dleq(x, H, X, Z, "tag", b"ctx")
    assert verify_dleq(H, X, Z, proof, "tag", b"ctx")
    bad = [
        (H, X, Z, SchnorrProof((proof.c + 1) % L, proof.s), "tag", b"ctx"),
        (H, X, Z, SchnorrProof(proof.c, (proof.s + 1) % L), "tag", b"ctx"),
        (H + G, X, Z, proof, "tag", b"ctx"),
        (H, X + G, Z, proof, "tag", b"ctx"),
        (H, X, Z + G, proof, "tag", b"ctx"),
        (H, X, Z, proof, "tag2", b"ctx"),
        (H, X, Z, proof, "tag", b"ctx2"),
    ]
    for args in bad:
        assert not verify_dleq(*args)


def test_dleq_proof_of_unequal_logs_fails() -> None:
    # Z = y·H with y != x: the prover knows x, but the statement is false.
    x, y = random_scalar(), random_scalar()
    H = base_mul(random_scalar())
    X, Z = base_mul(x), H * y
    assert not verify_dleq(H, X, Z, prove_dleq(x, H, X, Z, "tag", b""), "tag", b"")


@pytest.mark.parametrize("m", [0, 1])
def test_zero_one_proof_verifies_and_any_change_fails(joint_key: JointKey, m: int) -> None:
    Y = joint_key.public
    r = random_scalar()
    ct = encrypt(Y, m, r)
    proof = prove_zero_one(Y, ct, m, r, "tag", b"ctx")
    assert verify_zero_one(Y, ct, proof, "tag", b"ctx")
    assert ZeroOneProof.from_json(proof.to_json()) == proof
    assert not verify_zero_one(Y, Ciphertext(ct.a + G, ct.b), proof, "tag", b"ctx")
    assert not verify_zero_one(Y, Ciphertext(ct.a, ct.b + G), proof, "tag", b"ctx")
    assert not verify_zero_one(Y + G, ct, proof, "tag", b"ctx")
    assert not verify_zero_one(Y, ct, proof, "tag", b"ctx2")
    assert not verify_zero_one(Y, ct, proof, "tag2", b"ctx")
    for field in ("c0", "c1", "s0", "s1"):
        values = proof.to_json()
        values[field] = bump(values[field])
        assert not verify_zero_one(Y, ct, ZeroOneProof.from_json(values), "tag", b"ctx")


# --- Benaloh challenge ----------------------------------------------------------------------------


@given(polls())
@FAST
def test_benaloh_challenge_accepts_the_true_choices_and_randomness(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]]
) -> None:
    subjects, allow_blank, choices = shape
    ctx = make_ctx(joint_key, subjects, allow_blank)
    ballot, randomness = encrypt_ballot_with_randomness(ctx, Credential.generate(), choices)
    assert check_challenge(ctx, ballot, choices, randomness)
    as_json = randomness_to_json(randomness)
    back = [[scalar_from_hex(r) for r in rs] for rs in as_json]
    assert check_challenge(ctx, ballot, choices, back)


@given(polls(), st.data())
@FAST
def test_benaloh_challenge_rejects_another_choice_or_randomness(
    joint_key: JointKey, shape: tuple[int, bool, list[int | None]], data: st.DataObject
) -> None:
    subjects, allow_blank, choices = shape
    ctx = make_ctx(joint_key, subjects, allow_blank)
    ballot, randomness = encrypt_ballot_with_randomness(ctx, Credential.generate(), choices)
    i = data.draw(st.integers(0, subjects - 1), label="subject")

    options: list[int | None] = [*range(GRADES), None]
    other = data.draw(st.sampled_from([c for c in options if c != choices[i]]), label="claim")
    lie = list(choices)
    lie[i] = other
    assert not check_challenge(ctx, ballot, lie, randomness)

    j = data.draw(st.integers(0, GRADES - 1), label="grade")
    altered = [list(rs) for rs in randomness]
    altered[i][j] = (altered[i][j] + 1) % L
    assert not check_challenge(ctx, ballot, choices, altered)

    assert not check_challenge(ctx, ballot, choices, randomness[:-1])
    assert not check_challenge(ctx, ballot, choices[:-1], randomness)


def test_benaloh_challenge_rejects_a_ballot_under_another_key(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 2, False)
    ballot, randomness = encrypt_ballot_with_randomness(ctx, Credential.generate(), [0, 1])
    other = PollContext(ctx.fingerprint, base_mul(random_scalar()), 2, GRADES, False)
    assert check_challenge(ctx, ballot, [0, 1], randomness)
    assert not check_challenge(other, ballot, [0, 1], randomness)
    assert not check_challenge(ctx, {"answers": "x"}, [0, 1], randomness)


# --- tracking code --------------------------------------------------------------------------------

CODE = re.compile(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


def test_tracking_code_format(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 1, False)
    ballot = encrypt_ballot(ctx, Credential.generate(), [0])
    code = tracking_code(tracking_hash(ballot))
    assert CODE.fullmatch(code), code
    assert tracking_code(bytes(32)) == "AAAA-AAAA-AAAA-AAAA"
    assert tracking_code(b"\xff" * 32) == "7777-7777-7777-7777"


def test_tracking_code_does_not_depend_on_key_order(joint_key: JointKey) -> None:
    ctx = make_ctx(joint_key, 1, False)
    ballot = encrypt_ballot(ctx, Credential.generate(), [0])
    reordered = dict(reversed(list(ballot.items())))
    assert tracking_hash(reordered) == tracking_hash(ballot)


@given(st.data())
@FAST
def test_tracking_code_changes_with_any_byte_of_the_ballot(
    joint_key: JointKey, data: st.DataObject
) -> None:
    ctx = make_ctx(joint_key, 2, True)
    ballot = encrypt_ballot(ctx, Credential.generate(), [1, None])
    code = tracking_code(tracking_hash(ballot))

    # Every hex string in the ballot, by path; change one digit of one of them.
    paths: list[tuple[Any, ...]] = [("poll",), ("credential",), ("signature",)]
    for i, answer in enumerate(ballot["answers"]):
        for j, item in enumerate(answer["choices"]):
            paths += [("answers", i, "choices", j, "a"), ("answers", i, "choices", j, "b")]
            paths += [("answers", i, "choices", j, "proof", f) for f in item["proof"]]
        paths += [("answers", i, "sum_proof", f) for f in answer["sum_proof"]]
    path = data.draw(st.sampled_from(paths), label="field")
    changed = copy.deepcopy(ballot)
    node = changed
    for step in path[:-1]:
        node = node[step]
    text = node[path[-1]]
    pos = data.draw(st.integers(0, len(text) - 1), label="position")
    digit = data.draw(st.sampled_from([d for d in "0123456789abcdef" if d != text[pos]]))
    node[path[-1]] = text[:pos] + digit + text[pos + 1 :]

    assert tracking_code(tracking_hash(changed)) != code


def test_benaloh_challenge_rejects_an_out_of_range_grade_for_a_blank(joint_key: JointKey) -> None:
    # A blank encrypts 0 in every grade, so does a claimed grade 7 of 4: the check must say no.
    ctx = make_ctx(joint_key, 1, True)
    ballot, randomness = encrypt_ballot_with_randomness(ctx, Credential.generate(), [None])
    assert check_challenge(ctx, ballot, [None], randomness)
    assert not check_challenge(ctx, ballot, [GRADES + 3], randomness)
    assert not check_challenge(ctx, ballot, [-1], randomness)


# --- explicit nonces (for test vectors) -----------------------------------------------------------


def labelled(seed: str) -> NonceSource:
    """A deterministic nonce source: a scalar per label, different per seed."""
    return lambda label: hash_to_scalar("test/nonce", seed.encode(), label.encode())


def test_schnorr_and_dleq_with_a_given_nonce_are_deterministic() -> None:
    x, w = random_scalar(), random_scalar()
    X = base_mul(x)
    proof = prove_schnorr(x, "tag", b"ctx", nonce=w)
    assert proof == prove_schnorr(x, "tag", b"ctx", nonce=w)
    assert verify_schnorr(X, proof, "tag", b"ctx")
    assert proof != prove_schnorr(x, "tag", b"ctx", nonce=w + 1)
    assert proof != prove_schnorr(x, "tag", b"ctx") != prove_schnorr(x, "tag", b"ctx")
    H = base_mul(random_scalar())
    dleq = prove_dleq(x, H, X, H * x, "tag", b"ctx", nonce=w)
    assert dleq == prove_dleq(x, H, X, H * x, "tag", b"ctx", nonce=w)
    assert verify_dleq(H, X, H * x, dleq, "tag", b"ctx")
    assert dleq != prove_dleq(x, H, X, H * x, "tag", b"ctx", nonce=w + 1)


@pytest.mark.parametrize("m", [0, 1])
def test_zero_one_with_given_nonces_is_deterministic(joint_key: JointKey, m: int) -> None:
    Y = joint_key.public
    r = random_scalar()
    ct = encrypt(Y, m, r)
    nonces = (random_scalar(), random_scalar(), random_scalar())
    proof = prove_zero_one(Y, ct, m, r, "tag", b"ctx", nonces=nonces)
    assert proof == prove_zero_one(Y, ct, m, r, "tag", b"ctx", nonces=nonces)
    assert verify_zero_one(Y, ct, proof, "tag", b"ctx")
    # The simulated branch is exactly (c_sim, s_sim).
    assert ((proof.c1, proof.s1) if m == 0 else (proof.c0, proof.s0)) == nonces[1:]
    w, c_sim, s_sim = nonces
    for other in ((w + 1, c_sim, s_sim), (w, c_sim + 1, s_sim), (w, c_sim, s_sim + 1)):
        assert proof != prove_zero_one(Y, ct, m, r, "tag", b"ctx", nonces=other)


@pytest.mark.parametrize("bad", [0, L, L + 1, -1])
def test_a_prover_refuses_a_nonce_that_is_not_a_non_zero_scalar(
    joint_key: JointKey, bad: int
) -> None:
    # A zero nonce would publish the secret itself as the response.
    x, ok = random_scalar(), random_scalar()
    X = base_mul(x)
    Y = joint_key.public
    ct = encrypt(Y, 1, x)
    with pytest.raises(ValueError, match="nonce"):
        prove_schnorr(x, "tag", b"", nonce=bad)
    with pytest.raises(ValueError, match="nonce"):
        prove_dleq(x, G, X, X, "tag", b"", nonce=bad)
    for nonces in ((bad, ok, ok), (ok, bad, ok), (ok, ok, bad)):
        with pytest.raises(ValueError, match="nonce"):
            prove_zero_one(Y, ct, 1, x, "tag", b"", nonces=nonces)
    ctx = make_ctx(joint_key, 1, True)
    with pytest.raises(ValueError, match="nonce"):
        encrypt_ballot(ctx, Credential.generate(), [0], nonces=lambda label: bad)


@pytest.mark.parametrize("allow_blank", [False, True])
def test_a_ballot_from_a_nonce_source_is_deterministic_and_verifies(
    joint_key: JointKey, allow_blank: bool
) -> None:
    ctx = make_ctx(joint_key, 2, allow_blank)
    cred = Credential.generate()
    choices: list[int | None] = [2, None] if allow_blank else [2, 0]
    asked: list[str] = []
    source = labelled("a")

    def recording(label: str) -> int:
        asked.append(label)
        return source(label)

    ballot, randomness = encrypt_ballot_with_randomness(ctx, cred, choices, nonces=recording)
    assert encrypt_ballot(ctx, cred, choices, nonces=source) == ballot
    verify_ballot(ctx, ballot)
    assert check_challenge(ctx, ballot, choices, randomness)
    assert randomness == [[source(f"{i}/{j}/r") for j in range(GRADES)] for i in range(2)]
    sum_labels = ("w", "c_sim", "s_sim") if allow_blank else ("w",)
    expected = [
        *(
            f"{i}/{j}/{n}"
            for i in range(2)
            for j in range(GRADES)
            for n in ("r", "w", "c_sim", "s_sim")
        ),
        *(f"{i}/sum/{n}" for i in range(2) for n in sum_labels),
    ]
    assert sorted(asked) == sorted(expected)
    assert len(set(asked)) == len(asked)  # no nonce asked for twice
    other = encrypt_ballot(ctx, cred, choices, nonces=labelled("b"))
    assert other != ballot and tracking_hash(other) != tracking_hash(ballot)


# --- the ciphertexts' points are checked by the proof's multiplications (issue 19) ---------------

POINT_VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "points.json").read_text(encoding="utf-8")
)
BAD_POINT = "not a canonical point of the prime-order subgroup"


@pytest.mark.parametrize(
    "vector",
    [
        v
        for v in POINT_VECTORS["invalid_points"]
        if len(v["hex"]) == 64 and v["hex"] == v["hex"].lower()
    ],
    ids=lambda v: v["reason"],
)
@pytest.mark.parametrize("part", ["a", "b"])
@pytest.mark.parametrize("proof_too", [False, True])
def test_every_invalid_point_is_still_refused_first(
    joint_key: JointKey, vector: dict[str, str], part: str, proof_too: bool
) -> None:
    # The check of a and b is left to libsodium's multiplications; the first failure must still
    # be the point (12.4), even when the proof object after it is malformed as well.
    ctx = make_ctx(joint_key, 2, True)
    cred = Credential.generate()
    forged = encrypt_ballot(ctx, cred, [1, None])
    item = forged["answers"][1]["choices"][2]
    item[part] = vector["hex"]
    if proof_too:
        item["proof"] = {"c0": "00"}
    with pytest.raises(GroupError) as decoding:  # what the strict decoding says of it
        Point.from_hex(vector["hex"])
    assert rejected(ctx, resign(forged, cred)) == str(decoding.value)


def test_a_proof_with_c0_zero_does_not_let_a_non_canonical_b_through(joint_key: JointKey) -> None:
    """With c0 = 0, b goes to no multiplication (only b − G does, which libsodium decodes modulo
    p and whatever its sign bit): a prover who knows log_Y G can encrypt 1 as b = identity, write
    b non-canonically and make a 0/1 proof over those bytes that checks. It must be refused."""
    ctx = make_ctx(joint_key, 1, True)
    cred = Credential.generate()
    r = (-pow(joint_key.secret, -1, L)) % L  # r·Y = −G, so b = r·Y + G is the identity
    nonces: NonceSource = lambda name: r if name == "0/0/r" else random_scalar()  # noqa: E731
    ballot, _ = encrypt_ballot_with_randomness(ctx, cred, [0], nonces=nonces)
    item = ballot["answers"][0]["choices"][0]
    assert item["b"] == IDENTITY.hex()
    a = Point.from_hex(item["a"])
    for spelling in ("01" + "00" * 30 + "80", "ee" + "ff" * 30 + "7f"):  # x = 0 signed; y = p + 1
        b = Point(bytes.fromhex(spelling))  # as the verifier would hold it: the bytes given
        w, s0 = random_scalar(), random_scalar()
        commits = (base_mul(s0), ctx.public_key * s0, base_mul(w), ctx.public_key * w)
        context = grade_context(ctx, cred.public_key, 0, 0)
        c = hash_to_scalar(
            TAG_CHOICE, context, a.encode(), bytes.fromhex(spelling), *(p.encode() for p in commits)
        )
        proof = ZeroOneProof(0, c, s0, (w + c * r) % L)
        assert verify_zero_one(ctx.public_key, Ciphertext(a, b), proof, TAG_CHOICE, context)
        forged = copy.deepcopy(ballot)
        forged["answers"][0]["choices"][0]["b"] = spelling
        forged["answers"][0]["choices"][0]["proof"] = proof.to_json()
        assert rejected(ctx, resign(forged, cred)) == BAD_POINT
