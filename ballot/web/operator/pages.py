"""What the operator's pages share: the address patterns, the names of states and kinds, the
confirmation page and the POST of its button, and which refusals are a whole error page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as WerkzeugResponse

from ballot import db
from ballot.models import Poll
from ballot.services import polls
from ballot.services.errors import ServiceError
from ballot.services.fields import KIND_NAMES
from ballot.web.forms import (
    ButtonForm,
)
from ballot.web.operator import bp

POLL = "/polls/<id:poll_id>"
SUBJECT = f"{POLL}/subjects/<id:subject_id>"

STATES = {
    "draft": lazy_gettext("Nháp"),
    "open": lazy_gettext("Đang mở"),
    "closed": lazy_gettext("Đã đóng"),
}
# These refusals concern the whole page (it does not exist, or can no longer change): shown as an
# error page. Any other refusal is shown above the form, with what was typed kept.
PAGE_ERRORS = {"not_found", "poll_not_draft", "conference_not_draft"}


@bp.app_template_global()
def state_name(state: str) -> str:
    return str(STATES.get(state, state))


@bp.app_template_global()
def kind_name(kind: str) -> str:
    return gettext(KIND_NAMES[kind][0]) if kind in KIND_NAMES else kind


def page_error(exc: ServiceError) -> None:
    """Re-raise a refusal that concerns the whole page (shown as an error page)."""
    if exc.code in PAGE_ERRORS:
        raise exc


def draft_poll(poll_id: int, doing_vi: str, doing_en: str) -> Poll:
    """The poll, for a form page: refused (409 page) unless it is still a draft."""
    poll_row = polls.get_poll(db.get_session(), poll_id)
    polls.require_draft(poll_row, doing_vi, doing_en)
    return poll_row


def confirm(
    title: str,
    message: str,
    button: str,
    *,
    poll_row: Poll,
    danger: bool = False,
    facts: list[tuple[str, Any]] | None = None,
    notice: tuple[str, str] | None = None,
    acknowledge: bool = False,
) -> str:
    """``notice``: a warning in both languages; ``acknowledge``: a box the operator must tick
    (named ``acknowledge_rules``)."""
    return render_template(
        "operator/confirm.html",
        notice=notice,
        acknowledge=acknowledge,
        title=title,
        message=message,
        button_label=button,
        danger=danger,
        facts=facts or [],
        poll=poll_row,
        form=ButtonForm(),
    )


def button_post(
    poll_id: int, step: Callable[[Any], str], anchor: str | None = None
) -> WerkzeugResponse:
    """A button's POST: CSRF checked, one transaction, a flash message, back to the poll."""
    if not ButtonForm().validate_on_submit():  # CSRFProtect has already refused a bad token
        raise CSRFError()
    with db.transaction() as tx:
        message = step(tx)
    flash(message, "success")
    return redirect(url_for("operator.poll", poll_id=poll_id, _anchor=anchor))
