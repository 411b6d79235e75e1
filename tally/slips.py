"""The printable A4 sheet of credential slips, made on the Organization Board's laptop.

``tally credentials mint`` renders it offline (docs/operator-guide.md, step 3): each slip holds a
QR code of the booth address with the code in the URL fragment (browsers never send a fragment
to the server) and the typable code. The regular slips and the reserve slips are each shuffled
with the operating system's randomness, so the sheet's order says nothing about the order of the
public list (sorted by key). This sheet is the only place the secrets ever exist.

``qrcode`` and ``jinja2`` are the optional extra ``tally[authority]``: an auditor's install of
tally has neither, so they are imported only here, when a sheet is made.
"""

from __future__ import annotations

import importlib.resources
import secrets
from collections.abc import Sequence
from typing import Any

from tally.credentials import Credential

# Two columns of four: eight slips and the header fit one A4 page (templates/slips.html), and
# the sheet is cut into pages by hand, so no slip is ever split by the printer's page break.
SLIPS_PER_PAGE = 8
# The distribution is ballot-rating (PyPI's "tally" is another project): install from the source.
INSTALL_HINT = "pip install '.[authority]'"


class SlipsUnavailable(RuntimeError):
    """The optional extra (qrcode, jinja2) that renders the sheet is not installed."""


def require_extra() -> None:
    """Raise ``SlipsUnavailable`` unless the sheet can be rendered; call it before minting."""
    try:
        import jinja2  # noqa: F401
        import qrcode.image.svg  # noqa: F401
    except ImportError as exc:
        raise SlipsUnavailable(f"{exc.name or 'qrcode'} is missing: {INSTALL_HINT}") from None


def slip_url(booth_url: str, code: str) -> str:
    """The QR code's content: the booth address and, in the fragment, the slip's code."""
    return f"{booth_url}#{code}"


def _qr_svg(data: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    return str(image.to_string(encoding="unicode"))


def _pages(slips: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [slips[i : i + SLIPS_PER_PAGE] for i in range(0, len(slips), SLIPS_PER_PAGE)]


def render_slips(
    *,
    poll_uid: str,
    title: str | None,
    booth_url: str,
    slips: Sequence[Credential],
    reserve: Sequence[Credential],
    fingerprint: str,
) -> str:
    """The HTML sheet: the slips, then the reserve slips from a new page, each set shuffled."""
    require_extra()
    import jinja2
    from markupsafe import Markup

    rng = secrets.SystemRandom()
    regular, spare = list(slips), list(reserve)
    rng.shuffle(regular)
    rng.shuffle(spare)
    entries: list[dict[str, Any]] = []
    for number, (cred, is_reserve) in enumerate(
        [(c, False) for c in regular] + [(c, True) for c in spare], start=1
    ):
        url = slip_url(booth_url, cred.code)
        entries.append(
            {
                "number": number,
                "code": cred.code,
                "url": url,
                # Made by qrcode from the URL alone: markup with no text of the user's in it.
                "qr": Markup(_qr_svg(url)),
                "reserve": is_reserve,
            }
        )
    source = importlib.resources.files("tally").joinpath("templates/slips.html")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(source.read_text(encoding="utf-8"))
    return template.render(
        poll_uid=poll_uid,
        title=title or "",
        booth_url=booth_url,
        count=len(regular),
        reserve=len(spare),
        fingerprint=fingerprint,
        pages=_pages(entries[: len(regular)]) + _pages(entries[len(regular) :]),
    )
