"""The tablet booth: the page a slip's QR code opens, and the Benaloh checker.

The slip's code travels in the URL fragment (``/booth/<poll>#CODE``), which browsers never send to
a server; the booth script reads it, removes it from the address bar and history, derives the
credential key, encrypts, proves and signs the ballot in a Web Worker
(``js/pages/booth-worker.js``), and sends only the ballot JSON to
``POST /api/polls/<id>/ballots``. The server never sees a choice.

``/polls/<id>/check`` is the checker for a challenged ballot: the voter (or anyone they give the
file to) pastes what the booth revealed, and the server recomputes the ciphertexts from the choices
and randomness. A challenged ballot reveals its choices and is never cast.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ballot import db
from ballot.services import challenges
from ballot.services.challenges import MAX_CHALLENGE_BYTES
from ballot.services.errors import NotFound
from ballot.services.polls import get_poll

bp = Blueprint("booth", __name__)


@bp.get("/booth/<id:poll_id>")
def booth(poll_id: int) -> tuple[str, int]:
    poll = get_poll(db.get_session(), poll_id)
    status = 200 if poll.state == "open" else 409
    return render_template(
        "booth/booth.html",
        poll=poll,
        reset_seconds=current_app.config["BOOTH_RESET_SECONDS"],
        idle_seconds=current_app.config["BOOTH_IDLE_SECONDS"],
    ), status


class ChallengeForm(FlaskForm):  # type: ignore[misc]
    challenge = TextAreaField(
        "Dữ liệu kiểm tra", validators=[DataRequired(), Length(max=MAX_CHALLENGE_BYTES)]
    )


@bp.route("/polls/<id:poll_id>/check", methods=["GET", "POST"])
def check(poll_id: int) -> tuple[str, int]:
    poll = get_poll(db.get_session(), poll_id)
    if poll.manifest is None:
        raise NotFound(_("cuộc biểu quyết đang mở"), "open poll")
    form = ChallengeForm()
    result = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            result = challenges.check(poll, form.challenge.data)
            status = 200 if result["ok"] else 422
            form.challenge.data = ""  # the revealed choices are not kept on the page
        else:
            status = 400
    return render_template("booth/check.html", poll=poll, form=form, result=result), status
