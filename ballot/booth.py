"""The tablet booth: the page a slip's QR code opens, and the Benaloh checker.

The slip's code travels in the URL fragment (``/booth/<poll>#CODE``), which browsers never send to
a server; the booth script reads it, removes it from the address bar and history, derives the
credential key, encrypts, proves and signs the ballot in a Web Worker (``js/booth-worker.js``), and
sends only the ballot JSON to ``POST /api/polls/<id>/ballots``. The server never sees a choice.

``/polls/<id>/check`` is the checker for a challenged ballot: the voter (or anyone they give the
file to) pastes what the booth revealed, and the server recomputes the ciphertexts from the choices
and randomness. A challenged ballot reveals its choices and is never cast.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ballot import csrf, db, errors
from ballot.casting import challenged_ciphertexts
from ballot.errors import NotFound, ServiceError
from ballot.models import ChallengedCiphertext, Poll
from tally.canonical import CanonicalError, parse_json
from tally.challenge import ChallengeError, check_challenge_file
from tally.manifest import parse_manifest

bp = Blueprint("booth", __name__)

MAX_CHALLENGE_BYTES = 512 * 1024


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> tuple[str | Response, int]:
    if request.path.startswith("/api/"):
        return jsonify(exc.to_json()), exc.status
    return render_template("public_error.html", error=exc), exc.status


@bp.errorhandler(DBAPIError)
def _db_error(_exc: DBAPIError) -> tuple[str | Response, int]:
    return _service_error(errors.database_unavailable())


def _poll(poll_id: int) -> Poll:
    poll = db.get_session().get(Poll, poll_id)
    if poll is None:
        raise NotFound(f"cuộc biểu quyết số {poll_id}", f"poll {poll_id}")
    return poll


@bp.get("/booth/<int(max=2147483647):poll_id>")
def booth(poll_id: int) -> tuple[str, int]:
    poll = _poll(poll_id)
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


def _never_cast(poll_id: int, ciphertexts: list[str]) -> None:
    """A ballot whose choices and randomness were revealed here can prove how it votes: record
    its ciphertexts' public ``a`` values (nothing else), so that no ballot reusing any of them
    is cast, whatever proofs or signature it carries."""
    session = db.new_session()
    try:
        with session.begin():
            db.begin_write(session)
            known = set(
                session.scalars(
                    select(ChallengedCiphertext.a).where(
                        ChallengedCiphertext.poll_id == poll_id,
                        ChallengedCiphertext.a.in_(ciphertexts),
                    )
                )
            )
            for a in dict.fromkeys(ciphertexts):
                if a not in known:
                    session.add(ChallengedCiphertext(poll_id=poll_id, a=a))
    except IntegrityError:
        pass  # the same file checked twice at once: recorded by the other request
    finally:
        session.close()


def _check(poll: Poll, text: str) -> dict[str, Any]:
    """Check a pasted challenge file; the verdict and, if it matches, the revealed choices."""
    assert poll.manifest is not None
    manifest = parse_manifest(parse_json(poll.manifest.encode("utf-8")))
    try:
        result = check_challenge_file(manifest, parse_json(text.encode("utf-8")))
    except (ChallengeError, CanonicalError, ValueError):
        return {"ok": False, "malformed": True}
    grades = manifest.data["election"]["rules"]["grades"]
    rows = []
    if result.matches:
        for subject, choice in zip(manifest.subjects, result.choices, strict=True):
            rows.append((subject.name, None if choice is None else grades[choice]))
    if result.matches:
        _never_cast(poll.id, challenged_ciphertexts(parse_json(text.encode("utf-8"))["ballot"]))
    return {
        "ok": result.matches,
        "malformed": False,
        "same_poll": result.same_poll,
        "tracking_code": result.tracking_code,
        "rows": rows,
    }


@bp.post("/api/polls/<int(max=2147483647):poll_id>/challenges")
def check_api(poll_id: int) -> tuple[Response, int]:
    """The booth's inline check of a challenge file: a verdict (JSON). A matching file's ballot
    is recorded as challenged, so it can never be cast; nothing else is stored."""
    poll = _poll(poll_id)
    if poll.manifest is None:
        raise errors.poll_not_open(poll.state)
    body = request.get_data(cache=False)
    if len(body) > MAX_CHALLENGE_BYTES:
        raise errors.too_large(MAX_CHALLENGE_BYTES)
    result = _check(poll, body.decode("utf-8", "replace"))
    if result["malformed"]:
        raise errors.CastError(
            400,
            "malformed_challenge",
            "Không phải tệp kiểm tra phiếu (tally-challenge/1).",
            "Not a challenge file (tally-challenge/1).",
        )
    return jsonify(
        {
            "matches": result["ok"],
            "same_poll": result["same_poll"],
            "tracking_code": result["tracking_code"],
        }
    ), 200


@bp.route("/polls/<int(max=2147483647):poll_id>/check", methods=["GET", "POST"])
def check(poll_id: int) -> tuple[str, int]:
    poll = _poll(poll_id)
    if poll.manifest is None:
        raise NotFound(_("cuộc biểu quyết đang mở"), "open poll")
    form = ChallengeForm()
    result = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            result = _check(poll, form.challenge.data)
            status = 200 if result["ok"] else 422
            form.challenge.data = ""  # the revealed choices are not kept on the page
        else:
            status = 400
    return render_template("booth/check.html", poll=poll, form=form, result=result), status


# No CSRF token: the only thing stored is that a ballot whose randomness the caller already
# holds may not be cast, which no other site can use against a voter.
csrf.exempt(check_api)
