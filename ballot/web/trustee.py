"""The counting committee's public page, ``/trustee/polls/<id>``: the poll, the published board
head, the trustees' status, a share upload form (CSRF) and the in-browser path (the trustee page
script: the key file is read locally and never sent; only the share is POSTed, to
``POST /api/polls/<id>/shares``).

No login: a share is authorised by its own proofs against the trustee's registered key, as a
ballot is by its credential's signature.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as Redirect

from ballot import db
from ballot.models import Conference
from ballot.services.ceremony import add_message, ceremony_of
from ballot.services.counting import TRUSTEE_ACTOR, add_share
from ballot.services.counting_status import count_status
from ballot.services.errors import ServiceError
from ballot.web.forms import CeremonyFileForm, ShareForm, read_ceremony_upload, read_share_upload
from tally.record import key_fingerprint

bp = Blueprint("trustee", __name__)


def _trustee_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    status = count_status(db.get_session(), poll_id)
    page = render_template(
        "counting/trustee.html",
        status=status,
        poll=status.poll,
        share_form=ShareForm(),
        error=error,
    )
    return page, error.status if error else 200


@bp.get("/trustee/polls/<id:poll_id>")
def page(poll_id: int) -> tuple[str, int]:
    return _trustee_page(poll_id)


@bp.post("/trustee/polls/<id:poll_id>/shares")
def upload(poll_id: int) -> Redirect | tuple[str, int]:
    try:
        share = read_share_upload(ShareForm())
        with db.transaction() as tx:
            name = add_share(tx, poll_id, share, actor=TRUSTEE_ACTOR)
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _trustee_page(poll_id, exc)
    flash(_("Đã nhận phần giải mã hợp lệ của %(name)s.", name=name), "success")
    return redirect(url_for("trustee.page", poll_id=poll_id))


def _ceremony_page(conference_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    session = db.get_session()
    view = ceremony_of(session, conference_id)
    conference = session.get_one(Conference, conference_id)
    page = render_template(
        "counting/ceremony.html",
        view=view,
        conference=conference,
        form=CeremonyFileForm(),
        error=error,
        fingerprint=key_fingerprint,
    )
    return page, error.status if error else 200


@bp.get("/trustee/conferences/<id:conference_id>/ceremony")
def ceremony_page(conference_id: int) -> tuple[str, int]:
    """The key ceremony for the counting committee: what to compare on paper, where it is, and
    both ways of taking part (the tally trustee files, or in this browser)."""
    return _ceremony_page(conference_id)


@bp.post("/trustee/conferences/<id:conference_id>/ceremony")
def ceremony_upload(conference_id: int) -> Redirect | tuple[str, int]:
    try:
        body = read_ceremony_upload(CeremonyFileForm())
        with db.transaction() as tx:
            kind, index = add_message(tx, conference_id, body, actor=TRUSTEE_ACTOR)
            name = ceremony_of(tx, conference_id).ceremony.name(index)
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _ceremony_page(conference_id, exc)
    if kind == "deal":
        flash(
            _("Đã nhận phần chia (chữ ký và chứng minh đúng) của %(name)s.", name=name), "success"
        )
    else:
        flash(_("Đã nhận xác nhận (đã kiểm tra chữ ký) của %(name)s.", name=name), "success")
    return redirect(url_for("trustee.ceremony_page", conference_id=conference_id))
