"""Trustees: keys and their proofs, the encrypted key file, partial decryption and combination."""

from __future__ import annotations

import copy
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from tally.canonical import canonical_json, sha256_hex
from tally.elgamal import ZERO, Ciphertext, add_all, encrypt
from tally.group import (
    IDENTITY,
    G,
    L,
    Point,
    base_mul,
    hash_to_scalar,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
)
from tally.proofs import prove_schnorr
from tally.trustees import (
    TAG_KEY,
    TrusteeError,
    TrusteeKey,
    TrusteePublic,
    combine,
    joint_public_key,
    make_aggregate,
    verify_share,
)

# (aggregate, the three trustees' shares, poll fingerprint, joint key)
Counted = tuple[dict[str, Any], list[dict[str, Any]], bytes, Point]

PASSPHRASE = "mật khẩu của Ban kiểm phiếu"
NAMES = ("Nguyễn Văn A", "Trần Thị B", "Lê Văn C")


@pytest.fixture(scope="module")
def committee() -> list[TrusteeKey]:
    return [TrusteeKey.generate(name) for name in NAMES]


@pytest.fixture(scope="module")
def sealed(committee: list[TrusteeKey]) -> dict[str, Any]:
    """One encrypted key file (scrypt is slow on purpose: make it once)."""
    return committee[0].to_encrypted_json(PASSPHRASE)


def secret_of(key: TrusteeKey) -> int:
    return key._x  # the test is the one place allowed to look


def ballots_to_aggregate(
    Y: Point, votes: list[list[int | None]], grades: int, fingerprint: bytes
) -> tuple[dict[str, Any], list[list[int]]]:
    """Encrypt each voter's grade per subject as 0/1 ciphertexts and sum them, as counting does.

    Returns the aggregate and the true counts, so a test can compare what decryption gives.
    """
    subjects = len(votes[0]) if votes else 2
    sums = [[ZERO] * grades for _ in range(subjects)]
    counts = [[0] * grades for _ in range(subjects)]
    for row in votes:
        for i, choice in enumerate(row):
            for j in range(grades):
                m = 1 if choice == j else 0
                counts[i][j] += m
                sums[i][j] = sums[i][j] + encrypt(Y, m, random_scalar())
    head = secrets.token_hex(32)
    return make_aggregate(fingerprint, head, len(votes), sums), counts


def decrypt_all(
    committee: list[TrusteeKey], aggregate: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[list[list[Point]]]]:
    shares = [k.decrypt_share(aggregate) for k in committee]
    partials = [
        verify_share(aggregate, k.public, s) for k, s in zip(committee, shares, strict=True)
    ]
    return shares, partials


# --- keys -----------------------------------------------------------------------------------------


def test_a_generated_key_is_x_times_G_with_a_valid_proof(committee: list[TrusteeKey]) -> None:
    key = committee[0]
    assert key.public.public_key == base_mul(secret_of(key))
    assert not key.public.public_key.is_identity
    assert TrusteePublic.from_json(key.public.to_json()) == key.public
    assert len({k.public.public_key for k in committee}) == len(committee)


def test_public_key_json_round_trip_through_text(committee: list[TrusteeKey]) -> None:
    for key in committee:
        text = json.dumps(key.public.to_json(), ensure_ascii=False)
        back = TrusteePublic.from_json(json.loads(text))
        assert back == key.public
        assert back.name == key.public.name
        assert back.to_json() == key.public.to_json()


def test_a_tampered_proof_of_knowledge_is_rejected(committee: list[TrusteeKey]) -> None:
    data = committee[1].public.to_json()
    for field in ("c", "s"):
        bad = copy.deepcopy(data)
        bad["proof"][field] = scalar_hex((scalar_from_hex(bad["proof"][field]) + 1) % L)
        with pytest.raises(TrusteeError, match="Trần Thị B: the proof of knowledge"):
            TrusteePublic.from_json(bad)


def test_a_rogue_key_without_a_valid_proof_is_rejected(committee: list[TrusteeKey]) -> None:
    # The classic attack: publish Y_rogue = x·G − Y_honest so the joint key is x·G, known to the
    # attacker alone. The attacker cannot prove knowledge of log Y_rogue.
    honest = committee[0].public
    x = random_scalar()
    rogue_key = base_mul(x) - honest.public_key
    for proof in (honest.proof, prove_schnorr(x, TAG_KEY, b"")):
        rogue = {
            "format": "tally-trustee-public/1",
            "name": "Kẻ gian",
            "public_key": rogue_key.hex(),
            "proof": proof.to_json(),
        }
        with pytest.raises(TrusteeError, match="Kẻ gian: the proof of knowledge"):
            TrusteePublic.from_json(rogue)


def test_another_trustees_proof_does_not_carry_over(committee: list[TrusteeKey]) -> None:
    data = committee[0].public.to_json()
    data["proof"] = committee[1].public.proof.to_json()
    with pytest.raises(TrusteeError, match="proof of knowledge"):
        TrusteePublic.from_json(data)


def test_the_identity_and_small_order_keys_are_rejected(committee: list[TrusteeKey]) -> None:
    data = committee[0].public.to_json()
    with pytest.raises(TrusteeError, match="must not be the identity"):
        TrusteePublic.from_json({**data, "public_key": IDENTITY.hex()})
    order_8 = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
    with pytest.raises(TrusteeError, match="Nguyễn Văn A"):
        TrusteePublic.from_json({**data, "public_key": order_8})


@pytest.mark.parametrize(
    "change",
    [
        {"format": "tally-trustee-key/1"},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"public_key": "zz"},
        {"proof": {"c": "00" * 32}},
        {"proof": None},
    ],
)
def test_malformed_public_keys_are_rejected(
    committee: list[TrusteeKey], change: dict[str, Any]
) -> None:
    with pytest.raises(TrusteeError):
        TrusteePublic.from_json({**committee[0].public.to_json(), **change})


def test_the_joint_key_is_the_sum_of_the_trustees_keys(committee: list[TrusteeKey]) -> None:
    publics = [k.public for k in committee]
    assert joint_public_key(publics) == base_mul(sum(secret_of(k) for k in committee))
    with pytest.raises(TrusteeError, match="at least one trustee"):
        joint_public_key([])
    with pytest.raises(TrusteeError, match="same public key"):
        joint_public_key([publics[0], publics[1], publics[0]])
    x = secret_of(committee[0])
    negated = TrusteePublic("Đối", base_mul(L - x), prove_schnorr(L - x, TAG_KEY, b""))
    with pytest.raises(TrusteeError, match="identity"):
        joint_public_key([publics[0], negated])


def test_a_trustee_key_never_shows_its_secret(committee: list[TrusteeKey]) -> None:
    key = committee[0]
    x = secret_of(key)
    text = repr(key) + str(key)
    assert scalar_hex(x) not in text and str(x) not in text
    assert "Nguyễn Văn A" in repr(key)


# --- the encrypted key file -----------------------------------------------------------------------


def test_key_file_save_and_load(committee: list[TrusteeKey], tmp_path: Path) -> None:
    key = committee[2]
    path = tmp_path / "trustee.json"
    key.save(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    x = secret_of(key)
    for clear in (scalar_hex(x), x.to_bytes(32, "big").hex(), str(x)):
        assert clear not in text
        assert clear.upper() not in text
    loaded = TrusteeKey.load(path, PASSPHRASE)
    assert loaded.public == key.public
    assert secret_of(loaded) == x


def test_key_file_is_0600_even_with_a_permissive_umask(
    committee: list[TrusteeKey], tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "k.json"
        committee[0].save(path, "pw")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_never_overwrites_an_existing_key_file(
    committee: list[TrusteeKey], tmp_path: Path
) -> None:
    path = tmp_path / "k.json"
    path.write_text("an earlier key, not to be lost\n")
    with pytest.raises(FileExistsError):
        committee[0].save(path, PASSPHRASE)
    assert path.read_text() == "an earlier key, not to be lost\n"


def test_a_wrong_passphrase_gives_a_clear_error(sealed: dict[str, Any]) -> None:
    with pytest.raises(TrusteeError, match="wrong passphrase, or the key file was altered"):
        TrusteeKey.from_encrypted_json(sealed, PASSPHRASE + " ")


def test_an_altered_ciphertext_is_refused(sealed: dict[str, Any]) -> None:
    for field in ("ciphertext", "nonce"):
        bad = copy.deepcopy(sealed)
        value = bad["cipher"][field]
        bad["cipher"][field] = ("1" if value[0] != "1" else "2") + value[1:]
        with pytest.raises(TrusteeError, match="wrong passphrase, or the key file was altered"):
            TrusteeKey.from_encrypted_json(bad, PASSPHRASE)


def test_an_altered_public_part_is_refused(
    sealed: dict[str, Any], committee: list[TrusteeKey]
) -> None:
    # A renamed trustee (version 2's proof covers the name, and so does the encryption) ...
    renamed = copy.deepcopy(sealed)
    renamed["public"]["name"] = "Người khác"
    with pytest.raises(TrusteeError, match=r"proof of knowledge|altered"):
        TrusteeKey.from_encrypted_json(renamed, PASSPHRASE)
    # ... or another trustee's valid public key swapped in.
    swapped = copy.deepcopy(sealed)
    swapped["public"] = committee[1].public.to_json()
    with pytest.raises(TrusteeError, match="altered"):
        TrusteeKey.from_encrypted_json(swapped, PASSPHRASE)
    # ... or a public key whose proof fails.
    broken = copy.deepcopy(sealed)
    broken["public"]["public_key"] = (committee[0].public.public_key + G).hex()
    with pytest.raises(TrusteeError, match="proof of knowledge"):
        TrusteeKey.from_encrypted_json(broken, PASSPHRASE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("kdf"), "damaged"),
        (lambda d: d["cipher"].pop("nonce"), "damaged"),
        (lambda d: d["kdf"].update(salt="not hex"), "damaged"),
        (lambda d: d["kdf"].update(n="many"), "unsupported"),
        (lambda d: d["kdf"].update(n="65536"), "unsupported"),  # integers only, never strings
        (lambda d: d["kdf"].update(r=9), "unsupported"),
        (lambda d: d["kdf"].update(salt=d["kdf"]["salt"].upper()), "damaged"),
        (lambda d: d["cipher"].update(nonce=d["cipher"]["nonce"] + "00"), "damaged"),
        (lambda d: d["kdf"].update(n=2**21), "unsupported"),
        # Bounded so that a crafted key file cannot exhaust memory or time.
        (lambda d: d["kdf"].update(r=2**20), "unsupported"),
        (lambda d: d["kdf"].update(p=2**20), "unsupported"),
        (lambda d: d["kdf"].update(name="pbkdf2"), "unsupported"),
        (lambda d: d["cipher"].update(name="aes-128-cbc"), "unsupported"),
        (lambda d: d.update(format="tally-trustee-public/1"), "not a trustee key file"),
    ],
)
def test_a_damaged_key_file_is_refused(sealed: dict[str, Any], change: Any, message: str) -> None:
    bad = copy.deepcopy(sealed)
    change(bad)
    with pytest.raises(TrusteeError, match=message):
        TrusteeKey.from_encrypted_json(bad, PASSPHRASE)


# --- partial decryption and combination -----------------------------------------------------------


def test_shares_combine_to_the_right_counts(committee: list[TrusteeKey]) -> None:
    Y = joint_public_key([k.public for k in committee])
    # Grade 4 of subject 1 and grade 1 of subject 2 get no votes; subject 3 has a blank.
    votes: list[list[int | None]] = [
        [0, 1, 2],
        [1, 1, None],
        [1, 2, 2],
        [2, 1, 0],
        [0, 3, 1],
    ]
    aggregate, counts = ballots_to_aggregate(Y, votes, 4, secrets.token_bytes(32))
    shares, partials = decrypt_all(committee, aggregate)
    assert counts == [[2, 2, 1, 0], [0, 3, 1, 1], [1, 1, 2, 0]]
    assert combine(aggregate, partials, max_count=len(votes)) == counts
    for share, key in zip(shares, committee, strict=True):
        assert share["trustee"] == key.public.name
        assert share["aggregate_sha256"] == sha256_hex(canonical_json(aggregate))


def test_an_empty_poll_decrypts_to_all_zero_counts(committee: list[TrusteeKey]) -> None:
    # No ballots: every aggregate ciphertext is (identity, identity).
    empty = [[ZERO] * 4 for _ in range(3)]
    aggregate = make_aggregate(secrets.token_bytes(32), "00" * 32, 0, empty)
    assert all(Ciphertext.from_json(c) == ZERO for row in aggregate["ciphertexts"] for c in row)
    _, partials = decrypt_all(committee, aggregate)
    assert all(d.is_identity for p in partials for row in p for d in row)
    assert combine(aggregate, partials, max_count=0) == [[0] * 4 for _ in range(3)]


def test_every_trustee_is_needed(committee: list[TrusteeKey]) -> None:
    Y = joint_public_key([k.public for k in committee])
    aggregate, _ = ballots_to_aggregate(Y, [[0], [1], [1]], 2, secrets.token_bytes(32))
    _, partials = decrypt_all(committee, aggregate)
    with pytest.raises(TrusteeError, match="subject 1, grade 1: the decrypted count"):
        combine(aggregate, partials[:2], max_count=3)


def test_a_count_above_the_ballot_count_is_refused(committee: list[TrusteeKey]) -> None:
    Y = joint_public_key([k.public for k in committee])
    fingerprint = secrets.token_bytes(32)
    aggregate = make_aggregate(fingerprint, "00" * 32, 2, [[encrypt(Y, 3, random_scalar())]])
    _, partials = decrypt_all(committee, aggregate)
    assert combine(aggregate, partials, max_count=3) == [[3]]
    with pytest.raises(TrusteeError, match=r"subject 1, grade 1: .* between 0 and 2"):
        combine(aggregate, partials, max_count=2)


@pytest.fixture(scope="module")
def counted(committee: list[TrusteeKey]) -> Counted:
    Y = joint_public_key([k.public for k in committee])
    fingerprint = secrets.token_bytes(32)
    aggregate, _ = ballots_to_aggregate(Y, [[0, 1], [1, 1], [2, 0]], 3, fingerprint)
    shares = [k.decrypt_share(aggregate) for k in committee]
    return aggregate, shares, fingerprint, Y


def test_a_share_for_another_aggregate_is_refused(
    committee: list[TrusteeKey], counted: Counted
) -> None:
    _, shares, fingerprint, Y = counted
    other, _ = ballots_to_aggregate(Y, [[0, 1], [1, 1], [2, 2]], 3, fingerprint)
    with pytest.raises(TrusteeError, match="trustee Trần Thị B: the share is for a different"):
        verify_share(other, committee[1].public, shares[1])
    # Claiming the other aggregate's hash does not help: the proofs are about other ciphertexts.
    relabelled = {**shares[1], "aggregate_sha256": sha256_hex(canonical_json(other))}
    with pytest.raises(
        TrusteeError, match="trustee Trần Thị B: subject 1, grade 1: the decryption proof"
    ):
        verify_share(other, committee[1].public, relabelled)


def test_a_share_from_another_key_is_refused(committee: list[TrusteeKey], counted: Counted) -> None:
    aggregate, shares, _, _ = counted
    c = committee[2].public
    # A's share presented as C's: it names A.
    with pytest.raises(TrusteeError, match="trustee Lê Văn C: the share names another trustee"):
        verify_share(aggregate, c, shares[0])
    # Renamed to C but still carrying A's key.
    renamed = {**shares[0], "trustee": c.name}
    with pytest.raises(TrusteeError, match="trustee Lê Văn C: the share was made with another key"):
        verify_share(aggregate, c, renamed)
    # Renamed and relabelled with C's key: the proofs were made with A's secret.
    relabelled = {**renamed, "public_key": c.public_key.hex()}
    with pytest.raises(
        TrusteeError, match="trustee Lê Văn C: subject 1, grade 1: the decryption proof"
    ):
        verify_share(aggregate, c, relabelled)


def test_a_share_for_another_poll_is_refused(committee: list[TrusteeKey], counted: Counted) -> None:
    aggregate, shares, _, _ = counted
    # The same ciphertexts presented as another poll's aggregate.
    other = {**aggregate, "poll": secrets.token_hex(32)}
    with pytest.raises(TrusteeError, match="trustee Nguyễn Văn A: the share is for another poll"):
        verify_share(other, committee[0].public, shares[0])
    relabelled = {
        **shares[0],
        "poll": other["poll"],
        "aggregate_sha256": sha256_hex(canonical_json(other)),
    }
    with pytest.raises(
        TrusteeError, match="trustee Nguyễn Văn A: subject 1, grade 1: the decryption proof"
    ):
        verify_share(other, committee[0].public, relabelled)


@pytest.mark.parametrize(("i", "j"), [(0, 0), (1, 2), (0, 1)])
@pytest.mark.parametrize("field", ["d", "c", "s"])
def test_an_altered_share_value_names_trustee_subject_and_grade(
    committee: list[TrusteeKey],
    counted: Counted,
    i: int,
    j: int,
    field: str,
) -> None:
    aggregate, shares, _, _ = counted
    verify_share(aggregate, committee[1].public, shares[1])
    bad = copy.deepcopy(shares[1])
    item = bad["shares"][i][j]
    if field == "d":
        item["d"] = (Point.from_hex(item["d"]) + G).hex()
    else:
        item["proof"][field] = scalar_hex((scalar_from_hex(item["proof"][field]) + 1) % L)
    with pytest.raises(TrusteeError) as info:
        verify_share(aggregate, committee[1].public, bad)
    message = str(info.value)
    assert message.startswith(f"trustee Trần Thị B: subject {i + 1}, grade {j + 1}:"), message
    assert "the decryption proof does not verify" in message


def test_a_malformed_share_value_names_trustee_subject_and_grade(
    committee: list[TrusteeKey], counted: Counted
) -> None:
    aggregate, shares, _, _ = counted
    for value in ({"d": "zz", "proof": {}}, {"proof": {}}, "d", None):
        bad = copy.deepcopy(shares[2])
        bad["shares"][1][2] = value
        with pytest.raises(TrusteeError, match="trustee Lê Văn C: subject 2, grade 3: "):
            verify_share(aggregate, committee[2].public, bad)


def test_a_share_of_the_wrong_shape_is_refused(
    committee: list[TrusteeKey], counted: Counted
) -> None:
    aggregate, shares, _, _ = counted
    for rows in (shares[0]["shares"][:1], [r[:2] for r in shares[0]["shares"]], None, ["x", "y"]):
        with pytest.raises(TrusteeError, match="one value per aggregate ciphertext"):
            verify_share(aggregate, committee[0].public, {**shares[0], "shares": rows})
    with pytest.raises(TrusteeError, match="not a decryption share"):
        verify_share(aggregate, committee[0].public, {**shares[0], "format": "x"})
    with pytest.raises(TrusteeError, match="not a decryption share"):
        verify_share(aggregate, committee[0].public, [shares[0]])


def test_a_damaged_aggregate_is_refused(committee: list[TrusteeKey]) -> None:
    good = make_aggregate(secrets.token_bytes(32), "00" * 32, 0, [[ZERO]])
    for bad in (
        {**good, "format": "x"},
        {**good, "poll": "abcd"},
        {**good, "ciphertexts": "x"},
        {**good, "ciphertexts": [[{"a": "00", "b": "00"}]]},
        {k: v for k, v in good.items() if k != "poll"},
    ):
        with pytest.raises(TrusteeError):
            committee[0].decrypt_share(bad)


def test_a_trustee_decrypts_only_the_aggregate_sum(committee: list[TrusteeKey]) -> None:
    # The share holds one value per aggregate ciphertext, computed from the sum alone.
    Y = joint_public_key([k.public for k in committee])
    cts = [encrypt(Y, m, random_scalar()) for m in (1, 0, 1, 1)]
    total = add_all(cts)
    aggregate = make_aggregate(secrets.token_bytes(32), "00" * 32, 4, [[total]])
    share = committee[0].decrypt_share(aggregate)
    assert share["shares"][0][0]["d"] == (total.a * secret_of(committee[0])).hex()
    _, partials = decrypt_all(committee, aggregate)
    assert combine(aggregate, partials, max_count=4) == [[3]]


# --- explicit nonces (for test vectors) -----------------------------------------------------------


def test_a_key_from_a_given_secret_and_nonce_is_deterministic() -> None:
    x, w = random_scalar(), random_scalar()
    key = TrusteeKey.from_secret("Nguyễn Văn A", x, nonce=w)
    assert key.public == TrusteeKey.from_secret("Nguyễn Văn A", x, nonce=w).public
    assert key.public.public_key == base_mul(x) and secret_of(key) == x
    assert TrusteePublic.from_json(key.public.to_json()) == key.public
    assert TrusteeKey.from_secret("Nguyễn Văn A", x).public.proof != key.public.proof
    assert scalar_hex(x) not in repr(key) and str(x) not in repr(key)
    for bad in (0, L):
        with pytest.raises(TrusteeError, match="non-zero scalar"):
            TrusteeKey.from_secret("Nguyễn Văn A", bad)


def test_a_share_with_given_nonces_is_deterministic(
    committee: list[TrusteeKey], counted: Counted
) -> None:
    aggregate, shares, _, _ = counted
    asked: list[str] = []

    def nonces(label: str) -> int:
        asked.append(label)
        return hash_to_scalar("test/nonce", label.encode())

    share = committee[0].decrypt_share(aggregate, nonces=nonces)
    assert share == committee[0].decrypt_share(aggregate, nonces=nonces)
    rows = aggregate["ciphertexts"]
    assert asked[: sum(map(len, rows))] == [
        f"{i}/{j}/w" for i, row in enumerate(rows) for j in range(len(row))
    ]
    verify_share(aggregate, committee[0].public, share)
    # The same partial decryptions as a share made with random nonces; other proofs.
    assert [[d["d"] for d in row] for row in share["shares"]] == [
        [d["d"] for d in row] for row in shares[0]["shares"]
    ]
    assert share["shares"] != shares[0]["shares"]


def test_a_key_file_with_a_given_salt_and_nonce_is_deterministic(
    committee: list[TrusteeKey], sealed: dict[str, Any]
) -> None:
    salt, nonce = bytes(range(16)), bytes(range(12))
    made = committee[0].to_encrypted_json(PASSPHRASE, salt=salt, nonce=nonce)
    assert made == committee[0].to_encrypted_json(PASSPHRASE, salt=salt, nonce=nonce)
    assert (made["kdf"]["salt"], made["cipher"]["nonce"]) == (salt.hex(), nonce.hex())
    assert secret_of(TrusteeKey.from_encrypted_json(made, PASSPHRASE)) == secret_of(committee[0])
    assert sealed["kdf"]["salt"] != salt.hex()  # by default both are random
    for bad in ({"salt": salt[:15]}, {"nonce": nonce + b"\x00"}):
        with pytest.raises(TrusteeError, match="16 bytes"):
            committee[0].to_encrypted_json(PASSPHRASE, **bad)
