"""The key ceremony (k of n) and counting with any k trustees (tally/dkg.py, docs/protocol.md 13):
honest runs for every k, n and set of trustees present, a dealer who sends a bad share, a false
complaint, a wrong partial decryption, messages moved to another ceremony or another trustee, and
every tampering of the transcript caught by the manifest's check and ``tally verify``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.authority import new_poll_uid
from tally.bundle import bundle_bytes
from tally.canonical import canonical_json
from tally.counting import CountingError
from tally.demo import run_demo
from tally.dkg import (
    CHECK_SIGNATURE,
    DEAL_SIGNATURE,
    Ceremony,
    CeremonyError,
    combine,
    decrypt_share,
    default_threshold,
    evaluate,
    lagrange_at_zero,
    make_check,
    make_dealing,
    threshold_key,
    verify_share,
)
from tally.elgamal import Ciphertext
from tally.group import L, base_mul, random_scalar
from tally.manifest import ManifestError, parse_manifest
from tally.trustees import TrusteeError, TrusteeKey, make_aggregate
from tally.verify import verify_bundle

FINGERPRINT = bytes(range(32))
KEYS = [TrusteeKey.generate(f"Thành viên {m}") for m in range(1, 8)]


def ceremony(n: int, k: int, uid: str | None = None) -> Ceremony:
    return Ceremony(uid or new_poll_uid(), k, tuple(key.public for key in KEYS[:n]))


def transcript(c: Ceremony) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    keys = KEYS[: c.n]
    dealings = [make_dealing(c, key) for key in keys]
    return dealings, [make_check(c, key, dealings) for key in keys]


def resign(message: dict[str, Any], key: TrusteeKey, prefix: bytes) -> dict[str, Any]:
    body = {k: v for k, v in message.items() if k != "signature"}
    return {**body, "signature": key.sign(prefix + canonical_json(body)).hex()}


def encrypt(y: Any, m: int) -> Ciphertext:
    r = random_scalar()
    return Ciphertext(base_mul(r), y * r + base_mul(m))


COUNTS = [[3, 0, 4], [7, 0, 0]]


def aggregate_for(public_key: Any) -> dict[str, Any]:
    cts = [[encrypt(public_key, m) for m in row] for row in COUNTS]
    return make_aggregate(FINGERPRINT, "00" * 32, 7, cts)


def count_with(c: Ceremony, dealings: Any, checks: Any, present: list[int]) -> list[list[int]]:
    result = evaluate(c, dealings, checks)
    aggregate = aggregate_for(result.public_key)
    partials = {}
    for m in present:
        share = decrypt_share(aggregate, threshold_key(c, dealings, checks, KEYS[m - 1]))
        index, points = verify_share(aggregate, c, result, json.loads(json.dumps(share)))
        partials[index] = points
    counts, used = combine(aggregate, partials, c.threshold, 7)
    assert used == tuple(sorted(present)[: c.threshold])
    return counts


# --- honest ceremonies -------------------------------------------------------------------------


def test_three_of_five_with_two_absent_counts() -> None:
    c = ceremony(5, 3)
    dealings, checks = transcript(c)
    result = evaluate(c, dealings, checks)
    assert result.qualified == (1, 2, 3, 4, 5) and result.faults == ()
    assert count_with(c, dealings, checks, [2, 4, 5]) == COUNTS
    assert count_with(c, dealings, checks, [1, 2, 3, 4, 5]) == COUNTS


def test_two_of_five_cannot_decrypt() -> None:
    c = ceremony(5, 3)
    dealings, checks = transcript(c)
    with pytest.raises(TrusteeError, match="fewer than the k = 3 needed"):
        count_with(c, dealings, checks, [1, 5])


def test_the_same_key_and_ceremony_give_the_same_dealing() -> None:
    """A trustee's device keeps no state: its dealing is derived from its key and the ceremony."""
    c = ceremony(3, 2)
    assert make_dealing(c, KEYS[0]) == make_dealing(c, KEYS[0])
    other = ceremony(3, 2)
    assert make_dealing(other, KEYS[0])["commitments"] != make_dealing(c, KEYS[0])["commitments"]


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_k_of_n_count_and_fewer_do_not(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6), label="n")
    k = data.draw(st.integers(1, n), label="k")
    present = data.draw(
        st.lists(st.integers(1, n), min_size=1, max_size=n, unique=True), label="present"
    )
    c = ceremony(n, k)
    dealings, checks = transcript(c)
    if len(present) >= k:
        assert count_with(c, dealings, checks, present) == COUNTS
    else:
        with pytest.raises(TrusteeError, match="fewer than the k"):
            count_with(c, dealings, checks, present)


def test_lagrange_weights_interpolate_at_zero() -> None:
    coefficients = [random_scalar() for _ in range(3)]

    def f(x: int) -> int:
        return sum(a * x**t for t, a in enumerate(coefficients)) % L

    weights = lagrange_at_zero([2, 5, 7])
    assert sum(weights[m] * f(m) for m in (2, 5, 7)) % L == coefficients[0]


def test_default_threshold_is_a_majority() -> None:
    assert [default_threshold(n) for n in (1, 2, 3, 4, 5, 7)] == [1, 2, 2, 3, 3, 4]


# --- misbehaviour in the ceremony --------------------------------------------------------------


def bad_share_dealing(c: Ceremony, dealer: int, victim: int) -> dict[str, Any]:
    """Dealer sends ``victim`` a share that does not open (its ciphertext changed; the
    ephemeral key and its proof are the dealer's own), signed: the dealer is the one cheating."""
    dealing = make_dealing(c, KEYS[dealer - 1])
    ct = dealing["shares"][victim - 1]["ct"]
    dealing["shares"][victim - 1]["ct"] = ct[:-2] + ("00" if ct[-2:] != "00" else "01")
    return resign(dealing, KEYS[dealer - 1], DEAL_SIGNATURE)


def test_a_dealer_who_sends_a_bad_share_is_named_and_left_out() -> None:
    c = ceremony(5, 3)
    dealings = [make_dealing(c, key) for key in KEYS[:5]]
    dealings[1] = bad_share_dealing(c, 2, 4)
    checks = [make_check(c, key, dealings) for key in KEYS[:5]]
    assert [len(check["complaints"]) for check in checks] == [0, 0, 0, 1, 0]
    result = evaluate(c, dealings, checks)
    assert [(f.trustee, f.reason, f.against) for f in result.faults] == [(2, "bad_share", 4)]
    assert result.qualified == (1, 3, 4, 5)
    # The key is the qualified dealers' only, and any 3 of them count.
    assert count_with(c, dealings, checks, [3, 4, 5]) == COUNTS
    with pytest.raises(CeremonyError, match="did not qualify"):
        threshold_key(c, dealings, checks, KEYS[1])


def test_too_many_faults_stop_the_ceremony_with_the_names() -> None:
    c = ceremony(3, 3)  # n of n: one fault leaves too few
    dealings = [make_dealing(c, key) for key in KEYS[:3]]
    dealings[0] = bad_share_dealing(c, 1, 2)
    checks = [make_check(c, key, dealings) for key in KEYS[:3]]
    with pytest.raises(CeremonyError, match=r"only 2 trustees qualify.*Thành viên 1 \(bad_share\)"):
        evaluate(c, dealings, checks)


def test_a_false_complaint_names_the_accuser() -> None:
    c = ceremony(4, 2)
    dealings, checks = transcript(c)
    accuser = KEYS[2]
    h0 = c.digest
    e = dealings[0]["shares"][2]["e"]
    from tally.dkg import TAG_COMPLAINT
    from tally.group import Point, u32

    point = Point.from_hex(e)
    proof = accuser.prove_dh(point, TAG_COMPLAINT, h0 + u32(1) + u32(3), nonce=random_scalar())
    false = {"dealer": 1, "z": accuser.dh(point).hex(), "proof": proof.to_json()}
    checks[2] = resign({**checks[2], "complaints": [false]}, accuser, CHECK_SIGNATURE)
    result = evaluate(c, dealings, checks)
    assert [(f.trustee, f.reason, f.against) for f in result.faults] == [(3, "false_complaint", 1)]
    assert result.qualified == (1, 2, 4)


def test_a_complaint_without_the_recipients_proof_is_refused() -> None:
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    from tally.group import Point

    e = Point.from_hex(dealings[0]["shares"][1]["e"])
    forged = {
        "dealer": 1,
        "z": (e * 5).hex(),
        "proof": {"c": "01" + "00" * 31, "s": "02" + "00" * 31},
    }
    checks[1] = resign({**checks[1], "complaints": [forged]}, KEYS[1], CHECK_SIGNATURE)
    with pytest.raises(
        CeremonyError, match=r"check of trustee 2.*complaint against 1 does not verify"
    ):
        evaluate(c, dealings, checks)


# --- messages out of place -----------------------------------------------------------------------


def test_a_dealing_of_another_ceremony_is_refused() -> None:
    c, other = ceremony(3, 2), ceremony(3, 2)
    dealings, checks = transcript(c)
    dealings[0] = make_dealing(other, KEYS[0])
    with pytest.raises(CeremonyError, match=r"dealing of trustee 1.*another ceremony"):
        evaluate(c, dealings, checks)


def test_a_dealing_under_another_trustees_index_or_key_is_refused() -> None:
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    moved = resign({**dealings[0], "dealer": 2}, KEYS[0], DEAL_SIGNATURE)
    with pytest.raises(
        CeremonyError, match=r"dealing of trustee 2.*(proof of knowledge|ephemeral key)"
    ):
        evaluate(c, [moved, dealings[1], dealings[2]], checks)
    # Trustee 2 signs trustee 1's dealing as its own: the proof is bound to index 1.
    stolen = resign({**dealings[0], "dealer": 2}, KEYS[1], DEAL_SIGNATURE)
    with pytest.raises(
        CeremonyError, match=r"dealing of trustee 2.*(proof of knowledge|ephemeral key)"
    ):
        evaluate(c, [dealings[0], stolen, dealings[2]], checks)
    unsigned = {**dealings[2], "signature": dealings[1]["signature"]}
    with pytest.raises(CeremonyError, match="signature of Thành viên 3 does not verify"):
        evaluate(c, [dealings[0], dealings[1], unsigned], checks)


def test_a_trustee_outside_the_ceremony_cannot_deal() -> None:
    c = ceremony(3, 2)
    with pytest.raises(CeremonyError, match="not a trustee of this ceremony"):
        make_dealing(c, KEYS[5])


def test_replayed_missing_or_reordered_messages_are_refused() -> None:
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    with pytest.raises(CeremonyError, match="in trustee order, one each"):
        evaluate(c, [dealings[0], dealings[0], dealings[2]], checks)
    with pytest.raises(CeremonyError, match="expected the n = 3 dealings"):
        evaluate(c, dealings[:2], checks)
    with pytest.raises(CeremonyError, match="in trustee order, one each"):
        evaluate(c, dealings, [checks[1], checks[0], checks[2]])
    with pytest.raises(CeremonyError, match="expected the n = 3 checks"):
        evaluate(c, dealings, checks[:2])
    with pytest.raises(CeremonyError, match="expected the n = 3 dealings"):
        make_check(c, KEYS[0], dealings[:2])  # a check before every dealing is in


def test_a_check_of_other_dealings_is_refused() -> None:
    """The server cannot show trustees different dealings: each check names their hash."""
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    other = ceremony(3, 2, uid=c.uid)
    assert other.digest == c.digest
    regenerated = copy.deepcopy(dealings)
    ct = regenerated[2]["shares"][0]["ct"]
    regenerated[2]["shares"][0]["ct"] = ct[:-2] + ("00" if ct[-2:] != "00" else "01")
    regenerated[2] = resign(regenerated[2], KEYS[2], DEAL_SIGNATURE)
    with pytest.raises(CeremonyError, match="names other dealings"):
        evaluate(c, regenerated, checks)


MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "commitment-not-a-point": lambda d: d["commitments"].__setitem__(0, "zz" * 32),
    "too-few-commitments": lambda d: d["commitments"].pop(),
    "share-missing": lambda d: d["shares"].pop(),
    "share-extra-field": lambda d: d["shares"][0].__setitem__("x", 1),
    "share-short-ciphertext": lambda d: d["shares"][0].__setitem__("ct", "00" * 40),
    # 96 characters that bytes.fromhex alone would read as 32 bytes (found in review).
    "share-ciphertext-with-spaces": lambda d: d["shares"][0].__setitem__("ct", "ab " * 32),
    "share-without-proof": lambda d: d["shares"][0].pop("proof"),
    "identity-ephemeral": lambda d: d["shares"][0].__setitem__("e", "01" + "00" * 31),
    "extra-field": lambda d: d.__setitem__("note", "x"),
    "dealer-not-an-index": lambda d: d.__setitem__("dealer", "1"),
    "dealer-out-of-range": lambda d: d.__setitem__("dealer", 9),
    "proof-changed": lambda d: d["proof"].__setitem__("s", "00" * 32),
}


@pytest.mark.parametrize("change", sorted(MALFORMED))
def test_a_malformed_dealing_is_refused(change: str) -> None:
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    bad = copy.deepcopy(dealings[0])
    MALFORMED[change](bad)
    with pytest.raises(CeremonyError):
        evaluate(c, [bad, *dealings[1:]], checks)


# --- counting ----------------------------------------------------------------------------------


def test_a_wrong_partial_decryption_is_refused_and_a_fourth_trustee_counts() -> None:
    c = ceremony(5, 3)
    dealings, checks = transcript(c)
    result = evaluate(c, dealings, checks)
    aggregate = aggregate_for(result.public_key)
    shares = {
        m: decrypt_share(aggregate, threshold_key(c, dealings, checks, KEYS[m - 1]))
        for m in (1, 2, 3, 4)
    }
    wrong = copy.deepcopy(shares[2])
    wrong["shares"][0][0]["d"] = base_mul(5).hex()
    with pytest.raises(TrusteeError, match=r"trustee 2 .*subject 1, grade 1: the decryption proof"):
        verify_share(aggregate, c, result, wrong)
    partials = dict(verify_share(aggregate, c, result, shares[m]) for m in (1, 3, 4))
    counts, used = combine(aggregate, partials, 3, 7)
    assert counts == COUNTS and used == (1, 3, 4)
    # A share under another trustee's index or verification key is refused.
    moved = {**shares[1], "trustee": 5, "name": c.name(5)}
    with pytest.raises(TrusteeError, match="another verification key"):
        verify_share(aggregate, c, result, moved)


# --- in the manifest and the bundle ------------------------------------------------------------


@pytest.fixture(scope="module")
def threshold_bundle() -> dict[str, bytes]:
    return run_demo(subjects=3, voters=6, trustees=5, threshold=3, absent=2, seed=11).files


def test_a_three_of_five_bundle_verifies_and_names_who_decrypted(
    threshold_bundle: dict[str, bytes],
) -> None:
    report = verify_bundle(bundle_bytes(threshold_bundle), workers=1)
    assert report.ok, [c.detail_en for c in report.checks if not c.ok]
    record = json.loads(threshold_bundle["record.json"])
    assert record["decryption"] == {
        "threshold": 3,
        "trustees": 5,
        "combined": [
            "Thành viên Ban kiểm phiếu 1",
            "Thành viên Ban kiểm phiếu 2",
            "Thành viên Ban kiểm phiếu 3",
        ],
        "also_given": [],
        "absent": ["Thành viên Ban kiểm phiếu 4", "Thành viên Ban kiểm phiếu 5"],
        "faulty": [],
    }


def test_too_few_trustees_make_no_bundle() -> None:
    with pytest.raises(
        CountingError, match="too few trustees took part in counting: 2 of the k = 3"
    ):
        run_demo(subjects=2, voters=3, trustees=5, threshold=3, absent=3, seed=1)


TAMPER: dict[str, Callable[[dict[str, Any]], None]] = {
    "threshold": lambda cer: cer.__setitem__("threshold", 2),
    "uid": lambda cer: cer.__setitem__("uid", "0" * 32),
    "commitment": lambda cer: cer["dealings"][1]["commitments"].__setitem__(
        1, cer["dealings"][2]["commitments"][1]
    ),
    "share": lambda cer: cer["dealings"][0]["shares"].__setitem__(
        1, cer["dealings"][0]["shares"][2]
    ),
    "dealing-signature": lambda cer: cer["dealings"][3].__setitem__(
        "signature", cer["dealings"][4]["signature"]
    ),
    "check-dealings": lambda cer: cer["checks"][0].__setitem__("dealings", "00" * 32),
    "complaint-added": lambda cer: cer["checks"][0]["complaints"].append(
        {
            "dealer": 2,
            "z": cer["dealings"][0]["commitments"][0],
            "proof": cer["dealings"][0]["proof"],
        }
    ),
    "check-dropped": lambda cer: cer["checks"].pop(),
    "dealing-dropped": lambda cer: cer["dealings"].pop(),
}


@pytest.mark.parametrize("change", sorted(TAMPER))
def test_tally_verify_rejects_a_tampered_ceremony(
    threshold_bundle: dict[str, bytes], change: str
) -> None:
    manifest = json.loads(threshold_bundle["manifest.json"])
    TAMPER[change](manifest["election"]["ceremony"])
    with pytest.raises(ManifestError, match=r"election\.ceremony"):
        parse_manifest(manifest)
    files = {**threshold_bundle, "manifest.json": canonical_json(manifest)}
    report = verify_bundle(bundle_bytes(files), workers=1)
    failed = [c.name for c in report.checks if not c.ok]
    assert not report.ok and failed[0] == "manifest", failed


def test_tally_verify_rejects_a_tampered_share(threshold_bundle: dict[str, bytes]) -> None:
    tally_doc = json.loads(threshold_bundle["tally.json"])
    tally_doc["shares"][1]["shares"][0][0]["d"] = base_mul(3).hex()
    files = {**threshold_bundle, "tally.json": canonical_json(tally_doc)}
    report = verify_bundle(bundle_bytes(files), workers=1)
    failed = {c.name: c.detail_en for c in report.checks if not c.ok}
    assert "tally.shares" in failed and "decryption proof does not verify" in failed["tally.shares"]
    dropped = json.loads(threshold_bundle["tally.json"])
    dropped["shares"].pop()
    files = {**threshold_bundle, "tally.json": canonical_json(dropped)}
    failed = {
        c.name: c.detail_en
        for c in verify_bundle(bundle_bytes(files), workers=1).checks
        if not c.ok
    }
    assert "fewer than the k = 3 needed" in failed["tally.shares"]


def test_a_share_for_another_aggregate_of_the_same_key_is_refused() -> None:
    """Two polls of one conference share the ceremony's key: a share of one poll's aggregate is
    refused for the other's (poll fingerprint and aggregate hash)."""
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    result = evaluate(c, dealings, checks)
    first = aggregate_for(result.public_key)
    other = make_aggregate(
        bytes(range(1, 33)), "00" * 32, 7, [[encrypt(result.public_key, 1)] * 3] * 2
    )
    key = threshold_key(c, dealings, checks, KEYS[0])
    share = decrypt_share(first, key)
    with pytest.raises(TrusteeError, match="another poll"):
        verify_share(other, c, result, share)
    same_poll = make_aggregate(FINGERPRINT, "11" * 32, 7, [[encrypt(result.public_key, 1)] * 3] * 2)
    with pytest.raises(TrusteeError, match="different aggregate"):
        verify_share(same_poll, c, result, share)


def test_a_dealing_cannot_borrow_an_ephemeral_key_it_does_not_know() -> None:
    """Attack found in review: a dealer that puts another dealer's E (or a ballot's a) in its
    dealing would turn the recipient's complaint Z = x_j·E into an oracle opening that share.
    Every E carries a proof that its dealer knows r, bound to (H0, dealer, recipient)."""
    c = ceremony(3, 2)
    dealings, checks = transcript(c)
    thief = copy.deepcopy(dealings[2])
    thief["shares"][0] = {
        **thief["shares"][0],
        **{k: dealings[1]["shares"][0][k] for k in ("e", "proof")},
    }
    thief = resign(thief, KEYS[2], DEAL_SIGNATURE)
    with pytest.raises(
        CeremonyError, match="ephemeral key of the share for trustee 1 does not verify"
    ):
        evaluate(c, [dealings[0], dealings[1], thief], checks)
    # A point whose discrete log the dealer does not know (e.g. a ballot's a) cannot be proven.
    foreign = copy.deepcopy(dealings[2])
    foreign["shares"][0]["e"] = base_mul(random_scalar()).hex()
    foreign = resign(foreign, KEYS[2], DEAL_SIGNATURE)
    with pytest.raises(CeremonyError, match="ephemeral key"):
        evaluate(c, [dealings[0], dealings[1], foreign], checks)


def test_two_complaints_against_two_versions_of_a_dealing_do_not_give_the_key_away() -> None:
    """Attack found in review: a server that shows trustee 1 two versions of dealer 2's dealing
    (each with a bad share under a different E) gets two complaints; with one nonce for both,
    (s1 − s2)/(c1 − c2) would be trustee 1's secret. The nonce is derived from E and Z too."""
    from tally.dkg import TAG_EPHEMERAL
    from tally.group import L as ORDER
    from tally.group import u32
    from tally.proofs import prove_schnorr

    c = ceremony(3, 2)
    h0 = c.digest
    honest = [make_dealing(c, key) for key in KEYS[:3]]
    proofs = []
    for factor in (1, 2):
        variant = copy.deepcopy(honest[1])
        r = KEYS[1].derive(h0 + b"r/1") * factor % ORDER
        variant["shares"][0] = {
            "e": base_mul(r).hex(),
            "ct": "00" * 48,
            "proof": prove_schnorr(r, TAG_EPHEMERAL, h0 + u32(2) + u32(1)).to_json(),
        }
        variant = resign(variant, KEYS[1], DEAL_SIGNATURE)
        check = make_check(c, KEYS[0], [honest[0], variant, honest[2]])
        proofs.append(check["complaints"][0]["proof"])
    values = [[int.from_bytes(bytes.fromhex(p[k]), "little") for k in ("c", "s")] for p in proofs]
    (c1, s1), (c2, s2) = values
    assert c1 != c2
    guess = (s1 - s2) * pow(c1 - c2, -1, ORDER) % ORDER
    assert base_mul(guess) != KEYS[0].public.public_key
