"""Rule sets and the per-subject decision: worked example, ties at half, tiny electorates."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.rules import (
    GRADE_CODES,
    UNDETERMINED_EN,
    UNDETERMINED_VI,
    Decision,
    RuleSet,
    check_origin,
    decide,
    is_shipped,
    list_rulesets,
    load_ruleset,
    parse_ruleset,
    shipped_rulesets,
)

QD124 = load_ruleset("qd124-2023")
# Bad rule sets are the shipped file with one line edited, so each case tests one thing.
QD124_TEXT = (importlib.resources.files("tally") / "rulesets" / "qd124-2023.toml").read_text(
    "utf-8"
)


def brief(decision: Decision) -> list[tuple[str, str, int, int | None, bool]]:
    """The steps as (stage, grade, votes, running total, passes), the way a record prints them."""
    return [
        (
            str(s["stage"]),
            str(s["grade"]),
            int(str(s["votes"])),
            None if s["running_total"] is None else int(str(s["running_total"])),
            bool(s["passes"]),
        )
        for s in decision.steps
    ]


def test_worked_example_10_20_13_2_of_45_is_htt_by_cumulative_sum() -> None:
    d = decide(QD124, [10, 20, 13, 2])
    assert d.grade == "HTTNV"
    assert (d.denominator, d.denominator_value) == ("valid", 45)
    assert brief(d) == [
        ("single", "HTXSNV", 10, None, False),
        ("single", "HTTNV", 20, None, False),
        ("single", "HTNV", 13, None, False),
        ("single", "KHTNV", 2, None, False),
        ("cumulative", "HTXSNV", 10, 10, False),
        ("cumulative", "HTTNV", 20, 30, True),
    ]
    assert {s["half"] for s in d.steps} == {"22.5"}


# (case, counts, blank, figures, denominator override, expected grade, expected D)
CASES: list[tuple[str, list[int], int, dict[str, int], str | None, str | None, int]] = [
    ("single majority at the top", [30, 10, 5, 0], 0, {}, None, "HTXSNV", 45),
    ("single majority at a lower grade", [1, 2, 40, 2], 0, {}, None, "HTNV", 45),
    ("single majority at the bottom", [0, 1, 1, 5], 0, {}, None, "KHTNV", 7),
    (
        "exactly half is not a majority; cumulative decides",
        [10, 10, 0, 0],
        0,
        {},
        None,
        "HTTNV",
        20,
    ),
    ("one more than half passes alone", [11, 9, 0, 0], 0, {}, None, "HTXSNV", 20),
    ("blanks excluded with valid", [6, 3, 0, 0], 3, {"cast": 12}, None, "HTXSNV", 9),
    ("blanks count against with cast", [6, 3, 0, 0], 3, {"cast": 12}, "cast", "HTTNV", 12),
    (
        "exactly half with present stays undetermined",
        [6, 4, 0, 0],
        10,
        {"cast": 20, "present": 20},
        "present",
        None,
        20,
    ),
    (
        "members denominator with absentees is undetermined",
        [5, 3, 2, 0],
        0,
        {"cast": 10, "present": 10, "members": 21},
        "members",
        None,
        21,
    ),
    (
        "members denominator passes when enough voted",
        [5, 3, 3, 0],
        0,
        {"cast": 11, "present": 11, "members": 21},
        "members",
        "HTNV",
        21,
    ),
    ("no votes at all", [0, 0, 0, 0], 0, {}, None, None, 0),
    ("all blank", [0, 0, 0, 0], 5, {"cast": 5}, None, None, 0),
    ("all blank, cast denominator", [0, 0, 0, 0], 5, {"cast": 5}, "cast", None, 5),
    ("one voter", [0, 0, 1, 0], 0, {}, None, "HTNV", 1),
    ("two voters agree", [0, 2, 0, 0], 0, {}, None, "HTTNV", 2),
    ("two voters split: the better half does not pass", [1, 0, 0, 1], 0, {}, None, "KHTNV", 2),
    ("two voters split on adjacent grades", [0, 1, 1, 0], 0, {}, None, "HTNV", 2),
    ("one voter blank, other counts with cast", [1, 0, 0, 0], 1, {"cast": 2}, "cast", None, 2),
]


@pytest.mark.parametrize(
    ("counts", "blank", "figures", "override", "grade", "d"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decision_table(
    counts: list[int],
    blank: int,
    figures: dict[str, int],
    override: str | None,
    grade: str | None,
    d: int,
) -> None:
    decision = decide(QD124, counts, blank=blank, denominator=override, **figures)
    assert decision.grade == grade
    assert decision.denominator_value == d
    last = decision.steps[-1]
    if grade is None:
        # Undetermined only after every grade was tried in both stages, none passing.
        assert [s["stage"] for s in decision.steps] == ["single"] * 4 + ["cumulative"] * 4
        assert not any(s["passes"] for s in decision.steps)
    else:
        assert last["grade"] == grade and last["passes"] is True


def test_exactly_half_steps_show_the_tie() -> None:
    d = decide(QD124, [10, 10, 0, 0])
    assert brief(d)[:2] == [
        ("single", "HTXSNV", 10, None, False),
        ("single", "HTTNV", 10, None, False),
    ]
    assert brief(d)[-2:] == [
        ("cumulative", "HTXSNV", 10, 10, False),
        ("cumulative", "HTTNV", 10, 20, True),
    ]
    assert d.steps[0]["half"] == "10"


def test_superseded_2025_rule_set_counts_members_present() -> None:
    rules = shipped_rulesets()[("qd366-2025", "1")]
    # 12 of 25 present graded HTXSNV: a majority of the valid votes, not of those present.
    d = decide(rules, [12, 0, 0, 0], blank=8, cast=20, present=25)
    assert (d.grade, d.denominator, d.denominator_value) == (None, "present", 25)
    assert decide(QD124, [12, 0, 0, 0], blank=8, cast=20, present=25).grade == "HTXSNV"


def test_decision_to_dict_is_json_without_floats() -> None:
    data = decide(QD124, [10, 20, 13, 2]).to_dict()
    text = json.dumps(data)
    assert "22.5" in text and '"half": "22.5"' in text
    assert data["grade"] == "HTTNV" and data["denominator_value"] == 45
    assert json.loads(text) == data


def test_undetermined_wording() -> None:
    assert UNDETERMINED_VI == "Chưa xác định, báo cáo cấp có thẩm quyền xem xét"
    assert UNDETERMINED_EN == "undetermined, refer to the competent level"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"counts": [1, 2, 3]}, "expected 4 numbers"),
        ({"counts": [1, 2, 3, 4, 5]}, "expected 4 numbers"),
        ({"counts": [1, -2, 3, 4]}, "counts[HTTNV]: must not be negative"),
        ({"counts": [1, 2, 3, 4], "blank": -1}, "blank: must not be negative"),
        ({"counts": [1, 2.0, 3, 4]}, "counts[HTTNV]: expected a whole number"),
        ({"counts": [True, 0, 0, 0]}, "counts[HTXSNV]: expected a whole number"),
        ({"counts": [1, 2, 3, 4], "denominator": "cast"}, "cast: the 'cast' denominator needs"),
        ({"counts": [1, 2, 3, 4], "denominator": "members", "cast": 10}, "'members' denominator"),
        ({"counts": [1, 2, 3, 4], "denominator": "quorum"}, "denominator: 'quorum' is not one of"),
        ({"counts": [5, 5, 0, 0], "cast": 9}, "votes and blanks (10) cannot be more than cast (9)"),
        ({"counts": [1, 0, 0, 0], "cast": 5, "present": 4}, "cast (5) cannot be more than present"),
        ({"counts": [1, 0, 0, 0], "present": 5, "members": 4}, "present (5) cannot be more than"),
    ],
)
def test_bad_decision_input_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        decide(QD124, **kwargs)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_blank_refused_when_rule_set_forbids_it() -> None:
    strict = parse_ruleset(QD124_TEXT.replace("allow_blank = true", "allow_blank = false"))
    assert decide(strict, [3, 0, 0, 0]).grade == "HTXSNV"
    with pytest.raises(ValueError, match="does not allow leaving a subject blank"):
        decide(strict, [3, 0, 0, 0], blank=1)


def test_the_shipped_rule_sets_load() -> None:
    assert list_rulesets() == ["qd124-2023", "qd366-2025", "thong-qua-2025"]
    old, new = load_ruleset("qd124-2023"), load_ruleset("qd366-2025")
    assert old.grade_codes == new.grade_codes == GRADE_CODES
    assert [g.name_vi for g in old.grades] == [
        "Hoàn thành xuất sắc nhiệm vụ",
        "Hoàn thành tốt nhiệm vụ",
        "Hoàn thành nhiệm vụ",
        "Không hoàn thành nhiệm vụ",
    ]
    assert old.grade("KHTNV").name_en == "did not complete tasks"
    assert (old.denominator, old.allow_blank, old.quorum) == ("valid", True, Fraction(2, 3))
    assert (old.excellent_ceiling, old.ceiling_rounding) == (Fraction(1, 5), "floor")
    assert old.disciplined_max_grade == "HTNV"
    assert "124-QĐ/TW ngày 04/10/2023" in old.basis and "25-HD/BTCTW" in old.basis
    assert new.denominator == "members" and new.confirmed is False and not new.is_confirmed
    assert new.basis == (
        "Quy định số 366-QĐ/TW ngày 30/8/2025 của Bộ Chính trị; Hướng dẫn số 43-HD/BTCTW ngày"
        " 31/10/2025 của Ban Tổ chức Trung ương"
    )
    assert (new.score_bands, new.discipline, new.disciplined_max_grade) == (
        (90, 70, 50),
        "qd366",
        None,
    )
    assert (new.excellent_ceiling, new.excellent_ceiling_outstanding) == (
        Fraction(1, 5),
        Fraction(1, 4),
    )
    assert new.leader_units_failed == Fraction(1, 2)
    adoption = load_ruleset("thong-qua-2025")
    assert adoption.is_adoption and adoption.grade_codes == ("TT", "KTT")
    assert [g.name_vi for g in adoption.grades] == ["Tán thành", "Không tán thành"]


def test_unknown_rule_set_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown rule set 'qd999'; known: qd124-2023, qd366-2025"
    ):
        load_ruleset("qd999")
    with pytest.raises(ValueError, match="unknown rule set"):
        load_ruleset("../rulesets/qd124-2023")


@pytest.mark.parametrize("rule_id", ["qd124-2023", "qd366-2025"])
def test_dict_round_trip(rule_id: str) -> None:
    rules = load_ruleset(rule_id)
    data = rules.to_dict()
    assert data["quorum"] == "2/3" and data["excellent_ceiling"] == "1/5"
    assert RuleSet.from_dict(json.loads(json.dumps(data))) == rules


def test_round_trip_keeps_no_disciplined_cap() -> None:
    rules = parse_ruleset(QD124_TEXT.replace('disciplined_max_grade = "HTNV"', ""))
    assert rules.disciplined_max_grade is None
    assert RuleSet.from_dict(rules.to_dict()) == rules


def test_quorum_defaults_to_two_thirds() -> None:
    assert parse_ruleset(QD124_TEXT.replace('quorum = "2/3"', "")).quorum == Fraction(2, 3)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('denominator = "valid"', 'denominator = "voters"', "denominator: 'voters' is not one of"),
        ("allow_blank = true", 'allow_blank = "yes"', "allow_blank: expected true or false"),
        ("allow_blank = true", "allow_blank = 1", "allow_blank: expected true or false"),
        ('version = "1"', "version = 1", "version: expected a non-empty string"),
        (
            'quorum = "2/3"',
            "quorum = 0.67",
            'quorum: expected a fraction as a string such as "2/3"',
        ),
        ('quorum = "2/3"', 'quorum = "4/3"', "quorum: 4/3 must be between 0 and 1"),
        ('quorum = "2/3"', 'quorum = "2/0"', "quorum: denominator of '2/0' is zero"),
        ('excellent_ceiling = "1/5"', 'excellent_ceiling = "20%"', "excellent_ceiling: expected"),
        ('ceiling_rounding = "floor"', 'ceiling_rounding = "round"', "ceiling_rounding: 'round'"),
        (
            'disciplined_max_grade = "HTNV"',
            'disciplined_max_grade = "TOT"',
            "disciplined_max_grade",
        ),
        ('id = "qd124-2023"', 'id = "QD 124"', "id: 'QD 124' must be lower-case"),
        ('id = "qd124-2023"', 'id = "qd124-2023"\ncolour = "red"', "unknown key(s): colour"),
        ('basis = "', 'xbasis = "', "unknown key(s): xbasis"),
        ("head_not_above_unit = true", "", "missing key(s): head_not_above_unit"),
        ('code = "HTNV"', 'code = "HTTNV"', "grades: duplicate code"),
        ('code = "HTTNV"', 'code = "TOT"', "the excellent ceiling needs grade HTTNV"),
        (
            'name_en = "completed tasks"\n',
            'name_en = "completed tasks"\nshort = "x"\n',
            "grades[2].",
        ),
        (
            'decision_rule = "majority_then_cumulative"',
            'decision_rule = "plurality"',
            "decision_rule",
        ),
        ("[[grades]]", "[[grade]]", "unknown key(s): grade"),
        ('id = "qd124-2023"', 'id = "qd124-2023', "not valid TOML"),
    ],
)
def test_strict_validation_names_the_field(old: str, new: str, message: str) -> None:
    assert old in QD124_TEXT
    with pytest.raises(ValueError) as err:
        parse_ruleset(QD124_TEXT.replace(old, new, 1))
    assert message in str(err.value)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=60), min_size=4, max_size=4),
    blank=st.integers(min_value=0, max_value=10),
)
def test_decided_grade_is_the_first_running_total_over_half(counts: list[int], blank: int) -> None:
    d = decide(QD124, counts, blank=blank)
    total = sum(counts)
    assert d.denominator_value == total
    if total == 0:
        assert d.grade is None
        return
    # With the valid denominator the cumulative stage always ends on a grade.
    assert d.grade is not None
    i = GRADE_CODES.index(d.grade)
    running = sum(counts[: i + 1])
    previous = sum(counts[:i])
    assert running * 2 > total
    assert previous * 2 <= total
    # A single-grade majority is the same grade: no other grade can hold more than half.
    for code, n in zip(GRADE_CODES, counts, strict=True):
        if n * 2 > total:
            assert code == d.grade


# --- the JSON form of a rule set (a manifest's election.rules) ---------------------------------


def json_form(**changes: object) -> dict[str, object]:
    data = QD124.to_dict()
    data.update(changes)
    return data


def test_the_json_form_round_trips_exactly() -> None:
    for rule_id in list_rulesets():
        rules = load_ruleset(rule_id)
        assert RuleSet.from_json(json.loads(json.dumps(rules.to_dict()))) == rules
        # Version 1's fifteen keys; version 2's are written only when set.
        assert len(rules.to_dict()) == 15 + len(rules._v2_dict())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (json_form(quorum="4/6"), "quorum: '4/6' is not in the JSON form of a rule set"),
        (json_form(quorum="1"), "quorum: '1' is not in the JSON form"),
        (json_form(quorum="02/3"), "quorum: '02/3' is not in the JSON form"),
        (json_form(excellent_ceiling="0.2"), "excellent_ceiling: expected a fraction as a string"),
        (json_form(excellent_ceiling=0.2), "excellent_ceiling: expected a fraction as a string"),
        (json_form(quorum="3/2"), "quorum: 3/2 must be between 0 and 1"),
        (json_form(colour="red"), "unknown key(s): colour"),
        ({k: v for k, v in json_form().items() if k != "quorum"}, "missing key(s): quorum"),
        (json_form(allow_blank=1), "allow_blank: expected true or false"),
        (json_form(disciplined_max_grade="TOT"), "disciplined_max_grade: 'TOT' is not one of"),
        (json_form(version=" "), "version: expected a non-empty string"),
        ([], "rule set: expected an object"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_json_form_is_strict(data: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        RuleSet.from_json(data)
    assert message in str(err.value)


def test_whole_and_zero_fractions_are_written_p_over_q() -> None:
    rules = RuleSet.from_json(json_form(quorum="1/1", excellent_ceiling="0/1"))
    assert (rules.quorum, rules.excellent_ceiling) == (Fraction(1), Fraction(0))
    assert RuleSet.from_json(rules.to_dict()) == rules


# --- shipped rule sets and reserved ids (docs/protocol.md §11.4) ------------------------------


def test_the_spec_lists_exactly_the_shipped_rule_sets_and_their_digests() -> None:
    spec = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text("utf-8")
    section = spec[spec.index("### 11.4 Shipped rule sets") : spec.index("## 12. Ballots")]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| `([^`]+)` \| `([0-9a-f]{64})` \|$", section, re.M)
    assert {(i, v): d for i, v, d in rows} == {
        key: rules.digest for key, rules in shipped_rulesets().items()
    }
    assert rows


def test_a_shipped_rule_set_is_shipped_and_a_changed_one_is_refused() -> None:
    assert check_origin(QD124) is True and is_shipped(QD124)
    changed = dataclasses.replace(QD124, allow_blank=False)
    assert not is_shipped(changed)
    with pytest.raises(ValueError, match="differs from the one shipped with tally"):
        check_origin(changed)
    with pytest.raises(ValueError, match="not in version '9'"):
        check_origin(dataclasses.replace(QD124, version="9"))
    local = dataclasses.replace(QD124, id="tinh-rieng")
    assert check_origin(local) is False and not is_shipped(local)


def test_a_superseded_version_stays_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Version 2 of qd124-2023 replaces the file; version 1 is kept as qd124-2023@1.toml.
    (tmp_path / "qd124-2023@1.toml").write_text(QD124_TEXT, encoding="utf-8")
    (tmp_path / "qd124-2023.toml").write_text(
        QD124_TEXT.replace('version = "1"', 'version = "2"').replace(
            'ceiling_rounding = "floor"', 'ceiling_rounding = "half_up"'
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr("tally.rules._rulesets_dir", lambda: tmp_path)
    shipped_rulesets.cache_clear()
    try:
        assert list_rulesets() == ["qd124-2023"]
        assert load_ruleset("qd124-2023").version == "2"
        assert sorted(shipped_rulesets()) == [("qd124-2023", "1"), ("qd124-2023", "2")]
        assert check_origin(QD124) is True  # an old manifest still verifies
    finally:
        shipped_rulesets.cache_clear()
