"""Every setting of the service in one table: its app-config key, its environment variable, its
default and what it is for (docs/service.md lists the same table for operators).

Lowest first: the defaults here, then the environment, then the ``config`` argument of
``create_app`` (tests). The rate limits' settings (``BALLOT_RATELIMIT_*``) are in the same table;
``ballot.web.limits`` attaches them to the views.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The project's top-level folders: templates/ (Jinja) and keys/ (secret keys, never committed).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The access log's logger: ``ballot.web`` writes to it, ``ballot serve`` prints it.
ACCESS_LOGGER = "ballot.access"


@dataclass(frozen=True)
class Setting:
    key: str  # app.config key
    env: str  # environment variable
    default: Callable[[Path], Any]  # from the instance folder
    doc: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "BALLOT_DATABASE_URL",
        lambda instance: f"sqlite:///{instance / 'ballot.sqlite3'}",
        "SQLAlchemy URL: SQLite in the instance folder by default, or postgresql+psycopg://…",
    ),
    Setting(
        "KEYS_DIR",
        "BALLOT_KEYS_DIR",
        lambda _instance: str(PROJECT_ROOT / "keys"),
        "folder of the record-signing key (made by `ballot init`, mode 0600)",
    ),
    Setting(
        "BASE_URL",
        "BALLOT_BASE_URL",
        lambda _instance: "http://127.0.0.1:5000",
        "the address tablets reach (printed in the slips' QR codes); https:… makes cookies Secure",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "BALLOT_TRUSTED_PROXIES",
        lambda _instance: 0,
        "reverse proxies in front of the app (1 for the hall's Caddy, docs/hall-network.md):"
        " their X-Forwarded-Proto and -Host give the original scheme and host; 0 believes them"
        " from no one; X-Forwarded-For is never believed",
        int,
    ),
    Setting(
        "BOOTH_RESET_SECONDS",
        "BALLOT_BOOTH_RESET_SECONDS",
        lambda _instance: 20,
        "seconds the booth shows the receipt before it clears itself for the next voter",
        int,
    ),
    Setting(
        "BOOTH_IDLE_SECONDS",
        "BALLOT_BOOTH_IDLE_SECONDS",
        lambda _instance: 180,
        "seconds of no touch after which the booth clears a half-filled ballot",
        int,
    ),
    Setting(
        "SESSION_HOURS",
        "BALLOT_SESSION_HOURS",
        lambda _instance: 14,
        "hours an operator's login lasts (one conference day); logout or a password change"
        " ends it sooner",
        int,
    ),
    Setting(
        "VERIFY_PROCESSES",
        "BALLOT_VERIFY_PROCESSES",
        lambda _instance: os.cpu_count() or 1,
        "ballot serve: processes that verify cast ballots outside the serving threads (0: the"
        " threads verify them)",
        int,
    ),
    Setting(
        "TIMEZONE",
        "BALLOT_TIMEZONE",
        lambda _instance: "Asia/Ho_Chi_Minh",
        "time zone of the times shown on pages and in the audit log",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "BALLOT_RATELIMIT_STORAGE_URL",
        lambda _instance: "memory://",
        "rate-limit counters: in memory (one process) or redis://… shared by several servers",
    ),
    Setting(
        "BALLOT_RATELIMIT_LOGIN",
        "BALLOT_RATELIMIT_LOGIN",
        lambda _instance: "10 per minute; 50 per hour",
        "failed operator logins per client address",
    ),
    Setting(
        "BALLOT_RATELIMIT_CAST",
        "BALLOT_RATELIMIT_CAST",
        lambda _instance: "600 per minute",
        "ballots cast per client address",
    ),
    Setting(
        "BALLOT_RATELIMIT_CREDENTIAL",
        "BALLOT_RATELIMIT_CREDENTIAL",
        lambda _instance: "1200 per minute",
        "credential look-ups per client address",
    ),
    Setting(
        "BALLOT_RATELIMIT_SHARES",
        "BALLOT_RATELIMIT_SHARES",
        lambda _instance: "30 per minute",
        "trustee shares per client address (API, trustee page, operator upload together)",
    ),
    Setting(
        "BALLOT_RATELIMIT_CHECK",
        "BALLOT_RATELIMIT_CHECK",
        lambda _instance: "300 per minute",
        "Benaloh checks per client address (page and booth API together)",
    ),
)

# Fixed settings: not for operators to change.
FIXED: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Every page says Referrer-Policy: no-referrer, so browsers send no Referer: Flask-WTF's HTTPS
    # referrer check would refuse every form whenever the app knows it is reached over HTTPS (TLS
    # in the app server, or behind the hall's proxy with BALLOT_TRUSTED_PROXIES). The CSRF token
    # and the SameSite cookie protect them.
    "WTF_CSRF_SSL_STRICT": False,
    "JSON_AS_ASCII": False,
}


def default_of(key: str) -> Any:
    """A setting's default (those that do not depend on the instance folder)."""
    return next(s for s in SETTINGS if s.key == key).default(Path())


def instance_folder(config: dict[str, Any]) -> str | None:
    """The instance folder (database, session key): ``INSTANCE_PATH`` or ``BALLOT_INSTANCE``."""
    value = config.pop("INSTANCE_PATH", None) or os.environ.get("BALLOT_INSTANCE")
    return str(Path(value).resolve()) if value else None


def load(instance: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the environment, then ``overrides``."""
    values: dict[str, Any] = dict(FIXED)
    for setting in SETTINGS:
        raw = os.environ.get(setting.env)
        values[setting.key] = setting.parse(raw) if raw else setting.default(instance)
    values.update(overrides)
    # Cookies only over HTTPS when the service is reached over HTTPS (a conference LAN may be
    # plain HTTP; then the cookie is still HttpOnly and SameSite).
    values.setdefault("SESSION_COOKIE_SECURE", str(values["BASE_URL"]).startswith("https:"))
    return values
