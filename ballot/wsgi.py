"""The WSGI application for a multi-process server, with the checks ``ballot serve`` makes:

    gunicorn -w 2 --threads 4 -b 127.0.0.1:5000 ballot.wsgi:app

It refuses to load (the server exits with the reason) when the database is not initialised or not
at the newest revision, or when a key file others can read: the record-signing key in ``keys/``,
the session key in the instance folder.
"""

from __future__ import annotations

from ballot import create_app, db
from ballot.startup import startup_problem

app = create_app()
with app.app_context():
    _problem = startup_problem()
    db.engine().dispose()  # no connection from the checks is shared by forked workers
if _problem is not None:
    raise SystemExit(f"không khởi động máy chủ / not starting the server: {_problem}")
