"""Rate limits (Flask-Limiter) on the requests worth guessing at or flooding.

Counted per client address (``request.remote_addr``) over a moving 60-second window. A conference
hall is the case to design for: every tablet may reach the server through one NAT address, and
when voting opens a room of 300 tablets may all ask for their credential's status and cast within
the same minute. So the voters' limits leave that room (and its retries) well inside them, and
only stop one runaway or hostile client from monopolising the ballot verification (~60 ms of CPU
each):

====================================  ==================  ========================================
what                                  default (per IP)    why
====================================  ==================  ========================================
operator login, failed POSTs          10/min, 50/hour     password guessing; a correct login is
                                                          not counted
``POST /api/polls/<id>/ballots``      600/min             2x a 300-tablet room casting at once
``GET …/credentials/<key>``           1200/min            ~4 look-ups per tablet in that minute
trustee shares (API, trustee page,    30/min together     a handful of trustees; each share costs
operator upload), statements, key                         proof checks (a paper ballot: a whole
ceremony messages, paper ballots                          ballot's)
Benaloh checks (page and booth API)   300/min together    re-encrypt a whole ballot; each tablet
                                                          of a 300-tablet room may check at once
====================================  ==================  ========================================

Each limit can be changed in the app config or environment (``BALLOT_RATELIMIT_LOGIN``, ``…_CAST``,
``…_CREDENTIAL``, ``…_SHARES``, ``…_CHECK``; Flask-Limiter's notation, e.g. ``"900 per minute"``),
e.g. for a congress of 500 delegates behind one address. The counters live in memory (one process:
``ballot serve``), or in Redis when ``BALLOT_RATELIMIT_STORAGE_URL`` is set (e.g.
``redis://127.0.0.1:6379``), which several app servers or gunicorn workers then share. If Redis
becomes unreachable the service keeps counting in memory rather than refusing voters. Behind the
hall's reverse proxy (docs/hall-network.md) every client has the proxy's address, as behind one
NAT address, and keeps it: ``BALLOT_TRUSTED_PROXIES`` never believes ``X-Forwarded-For``, so no
tablet's address is kept beside a counter (``ballot.web.proxy``).

A refused request gets ``429`` with a ``Retry-After`` header: the bilingual JSON error under
``/api/`` (the booth shows its message), a readable page elsewhere. Nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import TooManyRequests

from ballot import config
from ballot.services.errors import ServiceError


@dataclass(frozen=True)
class Rule:
    setting: str  # app config key (and environment variable) holding the limit: ballot.config
    endpoints: tuple[str, ...]  # one counter shared by all of them
    methods: tuple[str, ...] = ("POST",)
    failures_only: bool = False  # count only responses that are not a success

    @property
    def default(self) -> str:
        return str(config.default_of(self.setting))


RULES = (
    Rule("BALLOT_RATELIMIT_LOGIN", ("auth.login",), ("POST",), True),
    Rule("BALLOT_RATELIMIT_CAST", ("api.cast_ballot",)),
    Rule("BALLOT_RATELIMIT_CREDENTIAL", ("api.credential_status",), ("GET",)),
    Rule(
        "BALLOT_RATELIMIT_SHARES",
        (
            "api.share",
            "trustee.upload",
            "counting.upload_share",
            "api.attendance_statement",
            "counting.upload_statement",
            "api.ceremony_dealing",
            "api.ceremony_check",
            "api.add_paper",
            "trustee.paper_upload",
        ),
    ),
    Rule("BALLOT_RATELIMIT_CHECK", ("booth.check", "api.challenge_notice")),
)


def rate_limited() -> ServiceError:
    return ServiceError(
        429,
        "rate_limited",
        "Có quá nhiều yêu cầu từ địa chỉ mạng này; không có gì được ghi. Xin chờ một lát rồi thử"
        " lại.",
        "Too many requests from this network address; nothing was stored. Please wait a moment"
        " and try again.",
    )


def _retry_after() -> int:
    """Seconds until the breached limit lets a request through again (a minute if unknown)."""
    limiter: Limiter | None = current_app.extensions.get("ballot.limiter")
    try:
        current = limiter.current_limit if limiter else None
        if current is not None:
            return max(1, int(current.reset_at - time.time()) + 1)
    except Exception:  # the counter store went away meanwhile: the default is fine
        pass
    return 60


def _too_many_requests(_exc: TooManyRequests) -> tuple[Response | str, int, dict[str, str]]:
    error = rate_limited()
    headers = {"Retry-After": str(_retry_after())}
    if request.path.startswith("/api/"):
        return jsonify(error.to_json()), 429, headers
    return render_template("public_error.html", error=error), 429, headers


def _not_a_success(response: Response) -> bool:
    # A good login redirects (302); a wrong password is 401, a refused form 400.
    return response.status_code >= 400


def _limit_of(setting: str) -> Callable[[], str]:
    def value() -> str:
        return str(current_app.config[setting])

    return value


def init_app(app: Flask) -> None:
    """Create this app's limiter and wrap the limited views. Call after every blueprint is
    registered: the limits are attached to the endpoints by name."""
    settings = app.config
    settings.setdefault("RATELIMIT_STRATEGY", "moving-window")
    settings.setdefault("RATELIMIT_KEY_PREFIX", "ballot")
    # Never refuse a voter because the counter store is down: count in memory meanwhile.
    settings.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    settings.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    limiter = Limiter(get_remote_address, app=app)
    for rule in RULES:
        options: dict[str, Any] = {"methods": list(rule.methods)}
        if rule.failures_only:
            options["deduct_when"] = _not_a_success
        decorate = (
            limiter.shared_limit(_limit_of(rule.setting), scope=rule.setting, **options)
            if len(rule.endpoints) > 1
            else limiter.limit(_limit_of(rule.setting), **options)
        )
        for endpoint in rule.endpoints:
            view = app.view_functions.get(endpoint)
            if view is None:  # a renamed view must not silently lose its limit
                raise RuntimeError(f"rate limit {rule.setting}: no endpoint {endpoint}")
            app.view_functions[endpoint] = decorate(view)  # type: ignore[assignment]
    app.extensions["ballot.limiter"] = limiter
    app.register_error_handler(429, _too_many_requests)
