"""The Ed25519 prime-order group, scalar and hex parsing, hashing, and exponential ElGamal."""

from __future__ import annotations

import hashlib
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from tally.elgamal import ZERO, Ciphertext, add_all, encrypt
from tally.group import (
    IDENTITY,
    G,
    GroupError,
    L,
    Point,
    base_mul,
    decode_scalar,
    encode_scalar,
    hash_to_scalar,
    random_scalar,
    scalar_from_hex,
    scalar_hex,
)

P_FIELD = 2**255 - 19
IDENTITY_BYTES = b"\x01" + b"\x00" * 31

# The eight points of small order (the torsion subgroup) in canonical encoding, from the
# libsodium / Monocypher blocklists; the identity is the one of them the group accepts.
SMALL_ORDER_NON_IDENTITY = [
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
        "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    )
]

scalars = st.integers(min_value=0, max_value=L - 1)
small = st.integers(min_value=0, max_value=60)


def decrypt(secret: int, ct: Ciphertext, limit: int = 1000) -> int:
    """Exponential ElGamal decryption by search: b - x·a = m·G."""
    target = ct.b - ct.a * secret
    acc = IDENTITY
    for m in range(limit):
        if acc == target:
            return m
        acc = acc + G
    raise AssertionError("message out of range")


# --- identity -------------------------------------------------------------------------------------


def test_zero_times_any_point_is_the_identity() -> None:
    P = base_mul(random_scalar())
    assert (P * 0).is_identity
    assert (0 * P).is_identity
    assert base_mul(0) == IDENTITY
    assert base_mul(L) == IDENTITY
    assert (G * L).is_identity
    assert (P * L).is_identity


def test_a_point_plus_its_negation_is_the_identity() -> None:
    P = base_mul(random_scalar())
    assert (P + (-P)).is_identity
    assert (P - P) == IDENTITY
    assert (IDENTITY - P) == -P
    assert -P == P * (L - 1)
    assert -IDENTITY == IDENTITY


def test_identity_is_neutral_for_addition_and_subtraction() -> None:
    P = base_mul(random_scalar())
    assert P + IDENTITY == P
    assert IDENTITY + P == P
    assert P - IDENTITY == P
    assert IDENTITY + IDENTITY == IDENTITY


def test_identity_times_a_scalar_is_the_identity() -> None:
    for k in (0, 1, 2, L - 1, random_scalar()):
        assert (IDENTITY * k).is_identity


def test_identity_decodes_and_round_trips() -> None:
    p = Point.decode(IDENTITY_BYTES)
    assert p.is_identity
    assert p == IDENTITY
    assert Point.from_hex(IDENTITY.hex()) == IDENTITY
    assert IDENTITY.encode() == IDENTITY_BYTES


def test_libsodium_refusals_do_not_leak_as_exceptions() -> None:
    # libsodium refuses the identity as an input and as a result of scalar multiplication;
    # the group must handle those cases itself rather than raise from the bindings.
    assert not sodium.crypto_core_ed25519_is_valid_point(IDENTITY_BYTES)
    P = base_mul(random_scalar())
    k = random_scalar()
    assert IDENTITY * k == IDENTITY
    assert P * 0 == IDENTITY
    assert base_mul(L) == IDENTITY
    assert (P + (-P)) * k == IDENTITY
    assert (P - P) + P == P
    assert encrypt(P, 0, 0) == ZERO  # r = 0, m = 0: both components are the identity


def test_scalar_multiplication_agrees_with_repeated_addition() -> None:
    P = base_mul(random_scalar())
    assert P * 3 == P + P + P
    assert base_mul(5) == G + G + G + G + G
    assert base_mul(7) == G * 7
    assert P * (L + 2) == P * 2
    assert P * -1 == -P


# --- rejected encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", SMALL_ORDER_NON_IDENTITY, ids=lambda b: b.hex()[:8])
def test_small_order_points_are_rejected(data: bytes) -> None:
    with pytest.raises(GroupError):
        Point.decode(data)


def test_a_point_with_a_small_order_component_is_rejected() -> None:
    P = base_mul(random_scalar())
    mixed = sodium.crypto_core_ed25519_add(P.encode(), SMALL_ORDER_NON_IDENTITY[2])
    assert sodium.crypto_core_ed25519_is_valid_point(P.encode())
    with pytest.raises(GroupError):
        Point.decode(mixed)


def test_non_canonical_encodings_are_rejected() -> None:
    # The identity with the x sign bit set, and y = p + 1 (the identity's y, not reduced).
    negative_zero_identity = IDENTITY_BYTES[:31] + b"\x80"
    unreduced_identity = (P_FIELD + 1).to_bytes(32, "little")
    for data in (negative_zero_identity, unreduced_identity):
        with pytest.raises(GroupError):
            Point.decode(data)
    # Every y >= p is non-canonical, whatever it would reduce to.
    for k in range(19):
        with pytest.raises(GroupError):
            Point.decode((P_FIELD + k).to_bytes(32, "little"))


def test_off_curve_points_are_rejected() -> None:
    # y = 2 is not the y coordinate of any curve point (x^2 would be a non-square).
    with pytest.raises(GroupError):
        Point.decode((2).to_bytes(32, "little"))
    # Flip bits of G until the encoding is not a valid point: decode must refuse it.
    rejected = 0
    for i in range(255):
        data = bytearray(G.encode())
        data[i // 8] ^= 1 << (i % 8)
        if not sodium.crypto_core_ed25519_is_valid_point(bytes(data)):
            with pytest.raises(GroupError):
                Point.decode(bytes(data))
            rejected += 1
    assert rejected > 100


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_wrong_length_points_are_rejected(size: int) -> None:
    with pytest.raises(GroupError, match="32 bytes"):
        Point.decode(G.encode()[:size] if size <= 32 else G.encode() + b"\x00" * (size - 32))


def test_non_bytes_points_are_rejected() -> None:
    with pytest.raises(GroupError):
        Point.decode(bytearray(G.encode()))  # type: ignore[arg-type]
    with pytest.raises(GroupError):
        Point.decode(G.hex())  # type: ignore[arg-type]


def test_negated_point_via_sign_bit_decodes() -> None:
    data = bytearray(G.encode())
    data[31] ^= 0x80
    assert Point.decode(bytes(data)) == -G


@given(scalars)
@settings(max_examples=25, deadline=None)
def test_valid_points_round_trip(k: int) -> None:
    P = base_mul(k)
    assert Point.decode(P.encode()) == P
    assert Point.from_hex(P.hex()) == P


# --- scalars --------------------------------------------------------------------------------------


def test_scalars_at_or_above_L_are_rejected() -> None:
    assert decode_scalar((L - 1).to_bytes(32, "little")) == L - 1
    for k in (L, L + 1, 2 * L, 2**256 - 1):
        with pytest.raises(GroupError, match="non-canonical"):
            decode_scalar(k.to_bytes(32, "little"))
    for k in (L, -1):
        with pytest.raises(GroupError, match="out of range"):
            encode_scalar(k)


def test_an_unreduced_scalar_in_hex_is_rejected() -> None:
    # The same value mod L, written as s + L: a malleated proof response must not parse.
    s = random_scalar() % (2**256 - L)
    assert scalar_from_hex(scalar_hex(s)) == s
    with pytest.raises(GroupError):
        scalar_from_hex((s + L).to_bytes(32, "little").hex())


@pytest.mark.parametrize("size", [0, 31, 33])
def test_wrong_length_scalars_are_rejected(size: int) -> None:
    with pytest.raises(GroupError, match="32 bytes"):
        decode_scalar(b"\x01" * size)


@given(scalars)
@settings(max_examples=25, deadline=None)
def test_scalars_round_trip_little_endian(k: int) -> None:
    assert decode_scalar(encode_scalar(k)) == k
    assert encode_scalar(k) == k.to_bytes(32, "little")
    assert scalar_from_hex(scalar_hex(k)) == k


def test_random_scalars_are_non_zero_and_reduced() -> None:
    values = {random_scalar() for _ in range(50)}
    assert len(values) == 50
    assert all(0 < k < L for k in values)


# --- hex ------------------------------------------------------------------------------------------


def test_uppercase_hex_is_rejected() -> None:
    P = base_mul(random_scalar())
    text = P.hex()
    assert text == text.lower()
    upper = text.upper()
    assert upper != text  # a 64-digit hex string with no letter a-f is vanishingly unlikely
    with pytest.raises(GroupError, match="lowercase"):
        Point.from_hex(upper)
    mixed = text[:-1] + text[-1].upper() if text[-1].isalpha() else "A" + text[1:]
    with pytest.raises(GroupError):
        Point.from_hex(mixed)
    with pytest.raises(GroupError, match="lowercase"):
        scalar_from_hex(scalar_hex(L - 1).upper())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "00",
        "g" * 64,
        " " + "0" * 63,
        "0" * 62 + " 0",
        "0" * 65,
        None,
        123,
        b"0" * 64,
    ],
)
def test_malformed_hex_is_rejected(text: object) -> None:
    with pytest.raises(GroupError):
        Point.from_hex(text)
    with pytest.raises(GroupError):
        scalar_from_hex(text)


# --- hash to scalar -------------------------------------------------------------------------------


def test_hash_to_scalar_is_length_prefixed_sha512_mod_L() -> None:
    # The construction as documented: every item (tag first) prefixed with 4-byte big-endian length.
    parts = (b"abc", b"", b"\x00" * 40)
    h = hashlib.sha512()
    for item in (b"tag", *parts):
        h.update(len(item).to_bytes(4, "big") + item)
    assert hash_to_scalar("tag", *parts) == int.from_bytes(h.digest(), "little") % L


def test_hash_to_scalar_separates_domains() -> None:
    assert hash_to_scalar("tally/v1/a", b"x") != hash_to_scalar("tally/v1/b", b"x")
    # The tag is not just a prefix of the data.
    assert hash_to_scalar("ab", b"c") != hash_to_scalar("a", b"bc")
    assert hash_to_scalar("a", b"bc") != hash_to_scalar("abc")


def test_different_splits_of_the_same_bytes_give_different_challenges() -> None:
    data = b"0123456789"
    splits = [
        (data,),
        (data[:3], data[3:]),
        (data[:5], data[5:]),
        (data[:3], data[3:7], data[7:]),
        (b"", data),
        (data, b""),
        (b"", b"", data),
    ]
    challenges = {hash_to_scalar("t", *s) for s in splits}
    assert len(challenges) == len(splits)


@given(st.binary(max_size=20), st.binary(max_size=20))
@settings(max_examples=25, deadline=None)
def test_moving_the_boundary_between_two_parts_changes_the_challenge(a: bytes, b: bytes) -> None:
    joined = a + b
    for cut in range(len(joined) + 1):
        if cut != len(a):
            assert hash_to_scalar("t", joined[:cut], joined[cut:]) != hash_to_scalar("t", a, b)


def test_hash_to_scalar_is_below_L() -> None:
    for i in range(50):
        assert 0 <= hash_to_scalar("t", i.to_bytes(4, "big")) < L


# --- pickling and immutability --------------------------------------------------------------------


def test_points_survive_pickling() -> None:
    P = base_mul(random_scalar())
    for q in (P, G, IDENTITY):
        back = pickle.loads(pickle.dumps(q))
        assert back == q
        assert hash(back) == hash(q)
        assert back.is_identity == q.is_identity
    back_identity = pickle.loads(pickle.dumps(IDENTITY))
    assert (back_identity + P) == P
    assert (P * 3 + pickle.loads(pickle.dumps(-P))) == P * 2
    ct = encrypt(P, 1, random_scalar())
    assert pickle.loads(pickle.dumps(ct)) == ct


def test_points_are_immutable() -> None:
    P = base_mul(5)
    with pytest.raises(AttributeError):
        P._b = G.encode()  # type: ignore[misc]
    assert base_mul(5) == P


def test_points_hash_and_compare_by_value() -> None:
    a, b = base_mul(9), G * 9
    assert a == b and a is not b
    assert {a: 1}[b] == 1
    assert a != base_mul(10)
    assert a != a.encode()


# --- ElGamal --------------------------------------------------------------------------------------


@given(st.lists(small, min_size=1, max_size=6))
@settings(max_examples=25, deadline=None)
def test_homomorphic_addition_decrypts_to_the_sum(messages: list[int]) -> None:
    x = random_scalar()
    Y = base_mul(x)
    cts = [encrypt(Y, m, random_scalar()) for m in messages]
    assert decrypt(x, add_all(cts)) == sum(messages)
    assert decrypt(x, cts[0]) == messages[0]


@given(small, small)
@settings(max_examples=25, deadline=None)
def test_ciphertexts_add_component_wise(m1: int, m2: int) -> None:
    x = random_scalar()
    Y = base_mul(x)
    r1, r2 = random_scalar(), random_scalar()
    total = encrypt(Y, m1, r1) + encrypt(Y, m2, r2)
    assert total == encrypt(Y, m1 + m2, (r1 + r2) % L)


def test_an_empty_sum_is_an_encryption_of_zero() -> None:
    x = random_scalar()
    assert add_all([]) == ZERO
    assert decrypt(x, ZERO) == 0


def test_encryption_of_zero_hides_the_message_behind_randomness() -> None:
    Y = base_mul(random_scalar())
    a, b = encrypt(Y, 0, random_scalar()), encrypt(Y, 0, random_scalar())
    assert a != b
    assert not a.a.is_identity and not a.b.is_identity


def test_ciphertext_json_round_trip_and_rejection() -> None:
    Y = base_mul(random_scalar())
    ct = encrypt(Y, 1, random_scalar())
    assert Ciphertext.from_json(ct.to_json()) == ct
    assert Ciphertext.from_json(ZERO.to_json()) == ZERO
    with pytest.raises(ValueError):
        Ciphertext.from_json([ct.a.hex(), ct.b.hex()])
    with pytest.raises(GroupError):
        Ciphertext.from_json({"a": ct.a.hex()})
    with pytest.raises(GroupError):
        Ciphertext.from_json({"a": ct.a.hex(), "b": SMALL_ORDER_NON_IDENTITY[2].hex()})
