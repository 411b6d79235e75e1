"""Operator pages (the Organization Board): conferences, polls, trustees, slips, the room.

Every page needs a login; every change is a Flask-WTF form (CSRF) handled by one service function
of ``ballot.polls`` in one transaction, which also writes the audit event. A refused change shows
its bilingual message with its HTTP status and leaves the database as it was.

- ``/operator/``: conferences; ``/operator/conferences/new``, ``…/import`` (TOML upload),
  ``/operator/conferences/<id>`` and ``…/edit``, ``…/polls/new``.
- ``/operator/polls/<id>``: the poll (read-only once open), ``…/edit``, ``…/subjects/new``,
  ``…/subjects/<sid>/edit|delete|move/<up|down>``, ``…/trustees`` (upload),
  ``…/trustees/<tid>/remove``, ``…/credentials`` (mint: the slips come back as a download, once),
  ``…/open`` and ``…/close`` (a confirmation page, then a POST).
- ``/operator/polls/<id>/dashboard`` (for the room's screen) and ``…/status`` (JSON, polled by
  ``js/pages/dashboard.js``): ballots cast against credentials issued. Never a count of votes.
- ``/operator/audit``: the audit log, filterable by conference or poll.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("operator", __name__, url_prefix="/operator")

from ballot.web.operator import audit, conferences, pages, polls, room, subjects  # noqa: E402

__all__ = ["audit", "bp", "conferences", "pages", "polls", "room", "subjects"]
