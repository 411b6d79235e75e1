"""The service's key files: the record-signing key in ``keys/`` and the session key in the
instance folder, both mode 0600.

Only ``ballot init`` (and ``ballot demo``, which runs it) creates the record-signing key; a request
or any other command only loads it, and a missing key is an error that says to run ``ballot init``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from ballot.services.errors import ServiceError
from tally.record import KeyFileError, ServiceKey

SIGNING_KEY_FILE = "record-signing-key.pem"
SESSION_KEY_FILE = "secret_key"


def signing_key_path() -> Path:
    return Path(current_app.config["KEYS_DIR"]) / SIGNING_KEY_FILE


def create_signing_key() -> ServiceKey:
    """``ballot init``: load the record-signing key, or create it (mode 0600)."""
    path = signing_key_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return ServiceKey.load_or_create(path)


def load_signing_key() -> ServiceKey:
    """The record-signing key; ``KeyFileError`` if it is missing or others can read it."""
    path = signing_key_path()
    if not path.exists():
        raise KeyFileError(
            f"{path}: chưa có khóa ký biên bản; chạy / no record-signing key yet; run: ballot init"
        )
    try:
        return ServiceKey.load_or_create(path)
    except (ValueError, OSError) as exc:
        if isinstance(exc, KeyFileError):
            raise
        raise KeyFileError(
            f"{path}: không đọc được khóa ký biên bản / cannot read the record-signing key: {exc}"
        ) from None


def signing_key() -> ServiceKey:
    """The record-signing key for a service step (open a poll, finish a count): a missing or
    unreadable key is a bilingual 500 refusal, and nothing is changed."""
    try:
        return load_signing_key()
    except KeyFileError as exc:
        raise ServiceError(
            500,
            "signing_key",
            f"Không đọc được khóa ký biên bản: {exc}",
            f"Cannot read the record-signing key: {exc}",
        ) from None


def session_secret(instance: Path) -> str:
    """The session-signing key, read from the instance folder or created there with mode 0600
    (when the app is created, never by a request)."""
    path = instance / SESSION_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key
