"""Vietnamese first, English second: every page in Vietnamese by default, English on request."""

from __future__ import annotations

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
