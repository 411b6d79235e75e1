"""Vietnamese first, English second (Flask-Babel).

Source strings in templates and code are Vietnamese; ``ballot/translations/en`` holds the English
catalogue, compiled to ``.mo`` by the install step (``make``; ``pybabel compile -d
ballot/translations``). Without a compiled catalogue every page simply stays in Vietnamese.
The chosen language lives in the session cookie; ``/lang/<code>`` switches it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, redirect, request, session
from flask_babel import Babel
from markupsafe import Markup
from werkzeug.wrappers import Response

LANGUAGES = ("vi", "en")
DEFAULT = "vi"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never an absolute URL (open redirect), ``//host``, a backslash,
    or any control, space or non-ASCII character (browsers drop a tab or a newline inside a URL,
    so ``/\t/host`` would become ``//host``; a CR or LF would split the header). Anything else
    is the default page, never an error."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if any(not 0x21 <= ord(ch) <= 0x7E or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    return target


@bp.get("/lang/<code>")
def switch(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


def compile_catalogues(folder: Path) -> None:
    """Compile a ``.po`` whose ``.mo`` is missing or older (a checkout run without ``make``).

    A read-only installation keeps what it has; its pages then stay Vietnamese.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in folder.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        try:
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source)
            tmp = mo.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as out:
                write_mo(out, catalog, use_fuzzy=True)
            tmp.replace(mo)  # atomic: two processes starting at once both end with a whole file
        except OSError:
            continue


def local_time(moment: dt.datetime | str | None, with_seconds: bool = False) -> str:
    """A stored UTC time in the service's time zone (``BALLOT_TIMEZONE``, default
    Asia/Ho_Chi_Minh), as Vietnamese write it: ``25/01/2024 08:30``."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M" + (":%S" if with_seconds else ""))


def hex_groups(value: object) -> Markup:
    """A hex value people read aloud, compare or type (a board head, a fingerprint), in groups of
    four separated by spaces, each group kept on one line: it wraps only between groups. Copied
    text keeps the spaces, which every place that takes such a value ignores."""
    text = str(value or "")
    if not text or not all(c in "0123456789abcdef" for c in text):
        return Markup.escape(text or "—")
    groups = [text[i : i + 4] for i in range(0, len(text), 4)]
    return Markup(" ").join(Markup('<span class="g">{}</span>').format(g) for g in groups)


def init_app(app: Flask) -> None:
    compile_catalogues(Path(app.root_path) / "translations")
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["hex_groups"] = hex_groups
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals["current_lang"] = select_locale
