"""The web layer: blueprints over ``ballot.services``, one module per area.

- ``booth`` (the tablet page, the challenge checker), ``public`` (board, record, results),
  ``trustee`` (the counting committee's page), ``auth`` (operator login), ``i18n`` (language);
- ``operator/`` (login required: set-up, the room's screen, counting, the audit log);
- ``api/`` (every JSON route and its OpenAPI description);
- ``errors`` (every refusal, JSON or a page), ``security`` (CSRF, headers), ``access`` (the access
  log), ``limits`` (rate limits), ``forms``, ``proxy`` (behind the hall's reverse proxy, only when
  ``BALLOT_TRUSTED_PROXIES`` says so).

Views are thin: they parse the request, call one service function in one transaction, and show
the result or the refusal. The web never imports ``ballot.cli``.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<id:poll_id>``: a row id, a positive 32-bit integer (a larger one is a 404, never a
    database error)."""

    def __init__(self, map: object) -> None:
        super().__init__(map, min=0, max=2_147_483_647)  # type: ignore[arg-type]


def init_app(app: Flask) -> None:
    from ballot.web import (
        access,
        api,
        auth,
        booth,
        errors,
        i18n,
        limits,
        operator,
        proxy,
        public,
        trustee,
    )
    from ballot.web.operator import counting
    from ballot.web.security import csrf, security_headers

    proxy.init_app(app)  # the original scheme and host, from a trusted proxy only
    app.url_map.converters["id"] = IdConverter
    csrf.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # authorised by signatures and proofs, not by a cookie
    app.register_blueprint(public.bp)  # public pages: board, record, results (GET only)
    app.register_blueprint(booth.bp)  # the tablet booth and the challenge checker
    app.register_blueprint(trustee.bp)  # the counting committee's page
    app.register_blueprint(auth.bp)  # operator login and logout
    app.register_blueprint(operator.bp)  # operator pages (login required)
    app.register_blueprint(counting.bp)  # the operator's counting steps
    limits.init_app(app)  # rate limits on the registered views (ballot/web/limits.py)
    errors.init_app(app)
    app.jinja_env.globals["current_operator"] = auth.current_operator
    app.after_request(security_headers)
    app.after_request(access.log_request)
