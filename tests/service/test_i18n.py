"""Vietnamese first, English second: every page in Vietnamese by default, English on request."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from .conftest import OpenPoll


def test_vietnamese_by_default_english_on_request(operator_client: FlaskClient) -> None:
    page = operator_client.get("/operator/").get_data(as_text=True)
    assert 'lang="vi"' in page and "Đăng xuất" in page
    switched = operator_client.get("/lang/en?next=/operator/")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/operator/")
    page = operator_client.get("/operator/").get_data(as_text=True)
    assert 'lang="en"' in page and "Log out" in page and "Đăng xuất" not in page
    operator_client.get("/lang/vi")
    assert "Đăng xuất" in operator_client.get("/operator/").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(operator_client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = operator_client.get("/lang/en", query_string={"next": target})
        assert response.headers["Location"] == "/"


def test_booth_in_english_keeps_the_rule_sets_grade_names(poll: OpenPoll) -> None:
    poll.client.get("/lang/en")
    page = poll.client.get("/booth/1").get_data(as_text=True)
    assert 'data-lang="en"' in page and "Review ballot" in page and "Xem lại phiếu" not in page


def test_voters_and_trustees_pages_offer_the_language_switch(poll: OpenPoll) -> None:
    for path in ("/booth/1", "/trustee/polls/1", "/polls/1/check"):
        client = poll.app.test_client()
        page = client.get(path).get_data(as_text=True)
        assert f'href="/lang/en?next={path}"' in page, path
        back = client.get(f"/lang/en?next={path}")
        assert back.status_code == 302 and back.headers["Location"].endswith(path)
        english = client.get(path).get_data(as_text=True)
        assert "<strong>English</strong>" in english and f'href="/lang/vi?next={path}"' in english


def test_every_interface_string_has_its_english_translation() -> None:
    """The English catalogue covers every string of the code and templates (run `make
    translations` after changing user-visible text, then translate the new entries)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with open(root / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {
        "_": None,
        "gettext": None,
        "lazy_gettext": None,
        "N_": None,  # ballot.services.fields: declared labels
        "ngettext": (1, 2),
        "pgettext": ((1, "c"), 2),
    }
    found = {
        (message if isinstance(message, str) else message[0], context)
        for _file, _line, message, _comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=keywords
        )
    }
    with open(root / "ballot/translations/en/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = read_po(po)
    untranslated = sorted(
        (m, c)
        for m, c in found
        if not (catalogue.get(m, c) and catalogue.get(m, c).string)  # type: ignore[union-attr]
    )
    assert len(found) > 300
    assert untranslated == []


NEXT_ELSEWHERE = (
    "/%09/example.com",  # a tab: browsers drop it, and /\t/host becomes //host
    "/%0a/example.com",
    "/%0d%0aX",  # CR LF: was a 500
    "/%0d%0aSet-Cookie:%20x=1",
    "//example.com",
    "/\\example.com",
    "https://example.com/",
    "javascript:alert(1)",
    "/%7f",
    "/%c3%a9",
    "/%20/example.com",
    "",
)


def test_next_is_only_a_same_origin_path(app: Flask) -> None:
    """Anything but a plain path of this site falls back to the home page: never another site,
    never a 500 (issue 14)."""
    client = app.test_client()
    for target in NEXT_ELSEWHERE:
        response = client.get(f"/lang/en?next={target}")
        assert response.status_code == 302, (target, response.status_code)
        assert response.headers["Location"] == "/", (target, response.headers["Location"])
    kept = client.get("/lang/vi?next=/polls/1/board?code=ABCD")
    assert kept.headers["Location"] == "/polls/1/board?code=ABCD"


def test_one_word_for_the_slip_everywhere() -> None:
    """Issue 17: the one-time slip is the **thẻ** (thẻ biểu quyết) on every page, in every
    message and document, as the booth says; "phiếu" is the ballot the voter fills in. Voters
    read "phiếu xác thực" as a ballot, so it is used nowhere."""
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with (root / "ballot" / "translations" / "messages.pot").open("rb") as handle:
        catalogue = read_po(handle)
    ids = [m.id if isinstance(m.id, str) else " ".join(m.id) for m in catalogue if m.id]
    assert ids and not [i for i in ids if "phiếu xác thực" in i.lower()]
    sources = [
        *root.glob("ballot/**/*.py"),
        *root.glob("tally/**/*.py"),
        *root.glob("templates/**/*.html"),
        *root.glob("tally/templates/*.html"),
        *root.glob("js/**/*.js"),
        *root.glob("docs/*.md"),
        root / "README.md",
    ]
    found = [
        str(p.relative_to(root))
        for p in sources
        if "phiếu xác thực" in p.read_text(encoding="utf-8").lower()
    ]
    assert found == []
