"""The tablet booth and the Benaloh checker.

A slip's QR code holds ``tally-slip/1``: the poll's uid and the code, never a URL, so that nothing
of it reaches the browser's history. The operator opens a booth page once per tablet: the
conference's (``/conferences/<id>/booth``, every open poll of it, the poll taken from the slip)
or one poll's (``/booth/<poll>``). The page reads the slip with the camera (or the typed code),
derives the credential key, encrypts, proves and signs the ballot in a Web Worker
(``js/pages/booth-worker.js``) and sends only the ballot JSON to ``POST /api/polls/<id>/ballots``.
The server never sees a choice.

``/polls/<id>/check`` is a checker of challenged ballots that runs in the browser: the voter's
challenge (file or QR text) is checked against the poll's public manifest on the page and sent
nowhere. The same checker exists outside the server (``tally check-challenge``, and the static
page ``check-challenge.html`` built from the repository).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _

from ballot import db
from ballot.models import Poll
from ballot.services.conferences import get_conference
from ballot.services.errors import NotFound
from ballot.services.polls import get_poll

bp = Blueprint("booth", __name__)


def _booth_poll(poll: Poll) -> dict[str, Any]:
    """What the booth script needs of an open poll (public data only)."""
    return {
        "id": poll.id,
        "uid": poll.uid,
        "title": poll.title,
        "manifest": url_for("api.manifest", poll_id=poll.id),
        "cast": url_for("api.cast_ballot", poll_id=poll.id),
        "credential": url_for("api.credential_status", poll_id=poll.id, key="x")[:-1],
        "challenge": url_for("api.challenge_notice", poll_id=poll.id),
        "check": url_for("booth.check", poll_id=poll.id),
    }


def _render(title: str, conference_title: str, polls: list[Poll], home: str, state: str) -> str:
    return render_template(
        "booth/booth.html",
        title=title,
        conference_title=conference_title,
        state=state,
        polls=[_booth_poll(p) for p in polls],
        home=home,
        reset_seconds=current_app.config["BOOTH_RESET_SECONDS"],
        idle_seconds=current_app.config["BOOTH_IDLE_SECONDS"],
    )


@bp.get("/booth/<id:poll_id>")
def booth(poll_id: int) -> tuple[str, int]:
    """One poll's booth: a slip of another poll is refused."""
    poll = get_poll(db.get_session(), poll_id)
    is_open = poll.state == "open" and poll.manifest is not None
    page = _render(
        poll.title,
        poll.conference.title,
        [poll] if is_open else [],
        url_for("booth.booth", poll_id=poll_id),
        poll.state,
    )
    return page, 200 if is_open else 409


@bp.get("/conferences/<id:conference_id>/booth")
def conference_booth(conference_id: int) -> tuple[str, int]:
    """A conference's booth: every open poll of it; the slip says which."""
    conference = get_conference(db.get_session(), conference_id)
    polls = [p for p in conference.polls if p.state == "open" and p.manifest is not None]
    page = _render(
        _("Trang bỏ phiếu"),
        conference.title,
        sorted(polls, key=lambda p: p.id),
        url_for("booth.conference_booth", conference_id=conference_id),
        "open" if polls else "none",
    )
    return page, 200 if polls else 409


@bp.get("/polls/<id:poll_id>/check")
def check(poll_id: int) -> str:
    """The in-browser checker of a challenge: nothing is posted."""
    poll = get_poll(db.get_session(), poll_id)
    if poll.manifest is None:
        raise NotFound("cuộc biểu quyết đang mở", "open poll")
    return render_template(
        "booth/check.html",
        poll=poll,
        manifest_url=url_for("api.manifest", poll_id=poll.id),
    )
