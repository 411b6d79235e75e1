"""Passphrase-sealed secrets: the private part of a trustee's or the authority's key file.

The secret is encrypted with AES-256-GCM under a key derived from the passphrase with scrypt; the
file's public part is the associated data, so it cannot be swapped without the passphrase's
holder noticing (docs/protocol.md §9.2).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tally.canonical import canonical_json
from tally.group import hex_bytes

# scrypt cost: ~0.1 s and 64 MiB here; a stolen key file costs an attacker that much per guess.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**16, 8, 1


class KeyFileError(ValueError):
    """A key file is damaged, altered, or opened with the wrong passphrase."""


def seal(
    secret: bytes,
    public: Any,
    passphrase: str,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """``{"kdf", "cipher"}`` of a key file; ``salt`` (16 bytes) and ``nonce`` (12) are random
    unless given (test vectors). An AES-GCM nonce used twice under one key breaks the cipher."""
    salt = secrets.token_bytes(16) if salt is None else salt
    nonce = secrets.token_bytes(12) if nonce is None else nonce
    if len(salt) != 16 or len(nonce) != 12:
        raise KeyFileError("a key file's salt is 16 bytes and its nonce 12")
    key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )
    sealed = AESGCM(key).encrypt(nonce, secret, canonical_json(public))
    return {
        "kdf": {"name": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex(), "ciphertext": sealed.hex()},
    }


def unseal(data: dict[str, Any], public: Any, passphrase: str, size: int) -> bytes:
    """The ``size``-byte secret of a key file whose public part is ``public``."""
    try:
        kdf, cipher = data["kdf"], data["cipher"]
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        # Integers only, and bounded so a crafted key file cannot exhaust memory or time
        # (n = 2^20 with r = 8 is 1 GiB of scrypt memory, the most a browser can be asked for).
        if (
            kdf["name"] != "scrypt"
            or cipher["name"] != "aes-256-gcm"
            or not all(type(v) is int for v in (n, r, p))
            or not (2**14 <= n <= 2**20 and 1 <= r <= 8 and p == 1)
        ):
            raise KeyFileError("unsupported key file encryption")
        salt = hex_bytes(kdf["salt"], 16, "salt")
        nonce = hex_bytes(cipher["nonce"], 12, "nonce")
        sealed = hex_bytes(cipher["ciphertext"], size + 16, "ciphertext")
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
        return AESGCM(key).decrypt(nonce, sealed, canonical_json(public))
    except InvalidTag:
        raise KeyFileError("wrong passphrase, or the key file was altered") from None
    except KeyFileError:
        raise
    except (KeyError, TypeError, ValueError):
        raise KeyFileError("the key file is damaged") from None


def write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (created so, never widened); refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
