"""The bulletin board: an append-only, hash-chained list of accepted ballots.

``head_0 = SHA-256("tally/v1/board" 0x00 || fingerprint)`` and
``head_i = SHA-256(head_{i-1} || tracking_hash_i)``. Publishing the head commits to every ballot
before it, in order: dropping, adding or reordering a ballot changes every later head.
"""

from __future__ import annotations

import hashlib

BOARD_TAG = b"tally/v1/board\x00"


def genesis(fingerprint: bytes) -> bytes:
    return hashlib.sha256(BOARD_TAG + fingerprint).digest()


def next_head(previous: bytes, tracking_hash: bytes) -> bytes:
    return hashlib.sha256(previous + tracking_hash).digest()
