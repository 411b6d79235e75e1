"""The service's own access log (``ballot serve`` prints it, with no time on its lines): refusals
and errors only; successful requests are counted, never logged one by one."""

from __future__ import annotations

import logging
import threading
from collections import Counter

from flask import Response, current_app, request

from ballot.config import ACCESS_LOGGER

ACCESS_LOG = logging.getLogger(ACCESS_LOGGER)
# Never passed on to the app's logger ("ballot"): once any request has ended in a 500, Flask puts
# its default handler there, which stamps every line with a time, and the k-th timed cast line
# would be board position k. Only ``ballot serve``'s own handler, with no time, prints these.
ACCESS_LOG.propagate = False


# The app's counts of successful requests (``app.extensions``): ``ballot serve`` prints them when
# it stops, without importing the web layer.
EXTENSION = "ballot.accepted"
_ACCEPTED_LOCK = threading.Lock()


def log_request(response: Response) -> Response:
    """A line for a refusal or an error only, never for a request that succeeded: one line per
    accepted cast, whatever adds a time to it (journald, Docker, a terminal), would time every
    ballot, the k-th line being board position k. Successful requests are only counted, by
    route, in ``app.extensions[EXTENSION]`` (a ``Counter``; ``ballot serve`` prints the totals
    when it stops). Never a body; a credential's public key in the path (the booth's status
    lookup) is left out."""
    if response.status_code < 400:
        rule = request.url_rule.rule if request.url_rule is not None else "-"
        with _ACCEPTED_LOCK:
            counts = current_app.extensions.setdefault(EXTENSION, Counter())
            counts[f"{request.method} {rule} {response.status_code}"] += 1
        return response
    path = request.path
    key = (request.view_args or {}).get("key")
    if isinstance(key, str) and key:
        path = path.replace(key, "<key>")
    ACCESS_LOG.info("%s %s %s", request.method, path, response.status_code)
    return response
