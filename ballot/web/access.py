"""The service's own access log (``ballot serve`` prints it, with no time on its lines)."""

from __future__ import annotations

import logging

from flask import Response, request

from ballot.config import ACCESS_LOGGER

ACCESS_LOG = logging.getLogger(ACCESS_LOGGER)
# Never passed on to the app's logger ("ballot"): once any request has ended in a 500, Flask puts
# its default handler there, which stamps every line with a time, and the k-th timed cast line
# would be board position k. Only ``ballot serve``'s own handler, with no time, prints these.
ACCESS_LOG.propagate = False


def log_request(response: Response) -> Response:
    """One line per request. Never a body: a ballot is only ever logged as its path, and a slip's
    code travels in the URL fragment, which never reaches us. A credential's public key in the
    path (the booth's status lookup) is left out: it is on the public board with its ballot, and
    a logged moment would tie that ballot to a time."""
    path = request.path
    key = (request.view_args or {}).get("key")
    if isinstance(key, str) and key:
        path = path.replace(key, "<key>")
    ACCESS_LOG.info("%s %s %s", request.method, path, response.status_code)
    return response
