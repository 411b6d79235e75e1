"""Behind a reverse proxy that ends TLS (docs/hall-network.md: Caddy in front of ``ballot serve``):
the original scheme and host, from the proxy's ``X-Forwarded-Proto`` and ``X-Forwarded-Host``.

Only when ``BALLOT_TRUSTED_PROXIES`` says how many proxies stand in front (default 0: those headers
are believed from no one, since any client can send them). Then ``request.is_secure`` and the
addresses the pages print (``url_for(..., _external=True)``) say ``https://`` and the hall's name.

``X-Forwarded-For`` is never believed: the client's address would be the one thing about a voter
the app could keep (beside a rate-limit counter, in a log line), so ``request.remote_addr`` stays
the proxy's, as behind the hall's NAT, which the rate limits are sized for (``limits``).
``X-Forwarded-Port`` and ``-Prefix`` neither: Caddy passes a client's own through unchanged.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trusted_proxies(value: object) -> int:
    """The setting as a count of proxies, or a clear error (it may come from the app config)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"BALLOT_TRUSTED_PROXIES phải là số nguyên không âm / must be a whole number, 0 or"
            f" more (the proxies in front of the app), not {value!r}"
        )
    return value


def init_app(app: Flask) -> None:
    proxies = trusted_proxies(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=0, x_proto=proxies, x_host=proxies, x_port=0, x_prefix=0
        )
