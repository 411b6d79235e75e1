"""Exponential ElGamal over the Ed25519 prime-order subgroup.

A message ``m`` (a small count) encrypted under public key ``Y`` with randomness ``r`` is
``(a, b) = (r·G, r·Y + m·G)``. Ciphertexts add component-wise, which adds the messages: that is how
the counts are formed without decrypting any ballot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tally.group import IDENTITY, Point, base_mul


@dataclass(frozen=True, slots=True)
class Ciphertext:
    a: Point
    b: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.a + other.a, self.b + other.b)

    def to_json(self) -> dict[str, str]:
        return {"a": self.a.hex(), "b": self.b.hex()}

    @classmethod
    def from_json(cls, data: Any) -> Ciphertext:
        if not isinstance(data, dict):
            raise ValueError("a ciphertext must be an object")
        return cls(Point.from_hex(data.get("a")), Point.from_hex(data.get("b")))


ZERO = Ciphertext(IDENTITY, IDENTITY)


def encrypt(public_key: Point, message: int, randomness: int) -> Ciphertext:
    return Ciphertext(base_mul(randomness), public_key * randomness + base_mul(message))


def add_all(ciphertexts: Iterable[Ciphertext]) -> Ciphertext:
    total = ZERO
    for c in ciphertexts:
        total = total + c
    return total
