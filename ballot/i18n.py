"""Vietnamese first, English second (Flask-Babel).

Source strings in templates and code are Vietnamese; ``ballot/translations/en`` holds the English
catalogue, compiled to ``.mo`` by the install step (``make``; ``pybabel compile -d
ballot/translations``). Without a compiled catalogue every page simply stays in Vietnamese.
The chosen language lives in the session cookie; ``/lang/<code>`` switches it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, session
from flask_babel import Babel
from werkzeug.wrappers import Response

LANGUAGES = ("vi", "en")
DEFAULT = "vi"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never an absolute URL (open redirect) or ``//host``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@bp.get("/lang/<code>")
def switch(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals["current_lang"] = select_locale
