"""A province's own rule set: a TOML file in $TALLY_RULESETS_DIR, offered beside the shipped ones
without a code change, and `tally rules check FILE`, which prints what it sets or a bilingual
error naming the key."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from tally.cli import main
from tally.rules import LOCAL_DIR_ENV, list_rulesets, load_ruleset

TEMPLATE = (importlib.resources.files("tally") / "rulesets" / "qd366-2025.toml").read_text("utf-8")
PROVINCE = TEMPLATE.replace('id = "qd366-2025"', 'id = "dong-nai-2026"').replace(
    "confirmed = false", "confirmed = true"
)


def check(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    try:
        code = main(["rules", "check", str(path)])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_confirmed_province_rule_set_checks_and_is_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dong-nai-2026.toml"
    path.write_text(PROVINCE, encoding="utf-8")
    code, out, _err = check(capsys, path)
    assert code == 0 and "HỢP LỆ / VALID" in out
    assert "đã xác nhận / confirmed: có / yes" in out and "CẢNH BÁO" not in out
    assert "score_bands: [90, 70, 50]" in out
    monkeypatch.setenv(LOCAL_DIR_ENV, str(tmp_path))
    assert "dong-nai-2026" in list_rulesets()
    rules = load_ruleset("dong-nai-2026")
    assert rules.is_confirmed and rules.denominator == "members"


def test_the_template_warns_that_it_is_not_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mau-2026.toml"
    path.write_text(TEMPLATE.replace('id = "qd366-2025"', 'id = "mau-2026"'), encoding="utf-8")
    code, out, _err = check(capsys, path)
    assert code == 0 and "CẢNH BÁO" in out and "WARNING: not confirmed" in out


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("score_bands = [90, 70, 50]", "score_bands = [90, 50]"), "score_bands"),
        (("score_bands = [90, 70, 50]", "score_bands = [50, 70, 90]"), "score_bands"),
        (('denominator = "members"', 'denominator = "everyone"'), "denominator"),
        (('discipline = "qd366"', 'discipline = "strict"'), "discipline"),
        (('low_turnout = "9/10"', "low_turnout = 0.9"), "low_turnout"),
        (
            ('excellent_ceiling_outstanding = "1/4"', 'excellent_ceiling_outstanding = "5/4"'),
            "excellent_ceiling_outstanding",
        ),
        (("\nconfirmed = true", '\nconfirmed = "yes"'), "confirmed"),
        (('id = "dong-nai-2026"', 'id = "qd366-2025"'), "id"),
        (('id = "dong-nai-2026"', 'id = "dong-nai-2027"'), "id"),
        (("[[grades]]", "[[grade]]"), "unknown key"),
        (('quorum = "2/3"', "quorum = "), "not valid TOML"),
    ],
)
def test_a_malformed_province_rule_set_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], key: str
) -> None:
    old, new = change
    assert old in PROVINCE
    path = tmp_path / "dong-nai-2026.toml"
    path.write_text(PROVINCE.replace(old, new, 1), encoding="utf-8")
    code, out, err = check(capsys, path)
    assert code == 2 and "HỢP LỆ" not in out
    assert "bộ quy tắc không hợp lệ" in err and "invalid rule set" in err and key in err, err


def test_a_province_rule_set_may_not_take_a_shipped_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "qd366-2025.toml").write_text(TEMPLATE, encoding="utf-8")
    monkeypatch.setenv(LOCAL_DIR_ENV, str(tmp_path))
    # The shipped file is what the id names; a local file under a shipped id is never read.
    assert load_ruleset("qd366-2025").confirmed is False
    assert list_rulesets().count("qd366-2025") == 1
