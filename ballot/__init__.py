"""The conference web service: polls, credentials, casting, counting and the public board.

``create_app`` is the Flask application factory (flaskr style); the settings are one table in
``ballot.config``. The layers (docs/architecture.md): ``ballot.web`` and ``ballot.cli`` over
``ballot.services`` over ``tally``; import-linter checks the direction in ``make test``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from ballot import cli, db, web
    from ballot.config import PROJECT_ROOT, instance_folder, load
    from ballot.keys import session_secret

    overrides = dict(config or {})
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=instance_folder(overrides),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(load(instance, overrides))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = session_secret(instance)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    db.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
