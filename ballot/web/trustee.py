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
from ballot.services.paper import MAX_PAPER_BYTES, add_paper_ballot, paper_status, parse_upload
from ballot.services.polls import get_poll
from ballot.web.forms import (
    CeremonyFileForm,
    PaperFileForm,
    ShareForm,
    read_ceremony_upload,
    read_paper_upload,
    read_share_upload,
)
from tally.record import key_fingerprint
from tally.rules import load_ruleset

bp = Blueprint("trustee", __name__)


def _trustee_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    status = count_status(db.get_session(), poll_id)
    page = render_template(
        "counting/trustee.html",
        status=status,
        poll=status.poll,
        paper=paper_status(db.get_session(), poll_id),
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


def _paper_page(poll_id: int, error: ServiceError | None = None) -> tuple[str, int]:
    session = db.get_session()
    poll = get_poll(session, poll_id)
    status = count_status(session, poll_id)
    page = render_template(
        "counting/paper.html",
        poll=poll,
        paper=paper_status(session, poll_id),
        started=status.started,
        grades=load_ruleset(poll.rules_id).grades,
        allow_blank=load_ruleset(poll.rules_id).allow_blank,
        form=PaperFileForm(),
        error=error,
    )
    return page, error.status if error else 200


@bp.get("/trustee/polls/<id:poll_id>/paper")
def paper_page(poll_id: int) -> tuple[str, int]:
    """Entering the paper ballots (13.3): after close, before counting starts, one at a time,
    encrypted and signed by a trustee (the tally trustee file, or in this browser)."""
    return _paper_page(poll_id)


@bp.post("/trustee/polls/<id:poll_id>/paper")
def paper_upload(poll_id: int) -> Redirect | tuple[str, int]:
    try:
        data = read_paper_upload(PaperFileForm(), MAX_PAPER_BYTES)
        document = parse_upload(data, MAX_PAPER_BYTES, "Tệp phiếu giấy", "The paper ballot file")
        with db.transaction() as tx:
            status = add_paper_ballot(tx, poll_id, document, actor=TRUSTEE_ACTOR)
    except ServiceError as exc:
        if exc.code == "csrf":
            raise
        return _paper_page(poll_id, exc)
    flash(
        _(
            "Đã nhập phiếu giấy (chữ ký và chứng minh đúng): %(entered)d trong %(voided)d thẻ"
            " đã hủy để bỏ phiếu giấy.",
            entered=status.entered,
            voided=status.voided,
        ),
        "success",
    )
    return redirect(url_for("trustee.paper_page", poll_id=poll_id))


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
