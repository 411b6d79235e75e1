"""``ballot serve`` with one more route, ``/test/fault``, which raises: no route of the service
ends in an unhandled error any more, and the log test (tests/service/test_server.py) needs one
inside the real server before its burst of casts. Everything else is ``ballot serve`` itself.

    python tests/support/serve_with_fault.py serve --port …
"""

from __future__ import annotations

from typing import Any

import ballot
from ballot.cli import main

_create_app = ballot.create_app


def create_app(config: dict[str, Any] | None = None) -> Any:
    app = _create_app(config)

    @app.get("/test/fault")
    def fault() -> str:
        raise RuntimeError("a fault planted by the log test")

    return app


ballot.create_app = create_app  # ballot.cli imports it when it builds the app

if __name__ == "__main__":
    main()
