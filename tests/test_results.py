"""A poll's results: quorum, percentages, and the checks that are reported but never applied."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from fractions import Fraction

import pytest

from tally.results import SubjectInfo, evaluate_poll, percent
from tally.rules import RuleSet, load_ruleset

QD124 = load_ruleset("qd124-2023")

# One subject's counts that give each grade with three voters (cast = present = members = 3).
BY_GRADE = {
    "HTXSNV": [3, 0, 0, 0],
    "HTTNV": [0, 3, 0, 0],
    "HTNV": [0, 0, 3, 0],
    "KHTNV": [0, 0, 0, 3],
    None: [0, 0, 0, 0],  # everyone left it blank: undetermined
}


def poll(
    rules: RuleSet,
    graded: Sequence[tuple[SubjectInfo, str | None]],
    external: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Run a three-voter poll where each subject gets the grade given (None = all blank)."""
    return evaluate_poll(
        rules,
        [s for s, _ in graded],
        [BY_GRADE[g] for _, g in graded],
        [3 if g is None else 0 for _, g in graded],
        cast=3,
        present=3,
        members=3,
        external_grades=external,
    )


def warnings(result: dict[str, object], check: str) -> list[dict[str, object]]:
    found = result["warnings"]
    assert isinstance(found, list)
    return [w for w in found if w["check"] == check]


def checks(result: dict[str, object]) -> list[object]:
    found = result["warnings"]
    assert isinstance(found, list)
    return [w["check"] for w in found]


def subjects_of(result: dict[str, object]) -> list[dict[str, object]]:
    rows = result["subjects"]
    assert isinstance(rows, list)
    return rows


def assert_no_floats(value: object) -> None:
    assert not isinstance(value, float)
    if isinstance(value, dict):
        for item in value.values():
            assert_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_floats(item)


def person(key: str, **kw: object) -> SubjectInfo:
    return SubjectInfo(key=key, name=f"Đồng chí {key.upper()}", kind="individual", **kw)  # type: ignore[arg-type]


def test_conference_with_worked_example() -> None:
    subjects = [
        person("a", role="Bí thư", peer_group="btv", heads="tinh"),
        SubjectInfo("btv", "Tập thể Ban Thường vụ Tỉnh ủy", "collective", part_of="tinh"),
        SubjectInfo("tinh", "Đảng bộ tỉnh", "organization"),
    ]
    result = evaluate_poll(
        QD124,
        subjects,
        [[10, 20, 13, 2], [30, 10, 5, 0], [5, 38, 2, 0]],
        [0, 0, 0],
        cast=45,
        present=45,
        members=49,
    )
    assert_no_floats(result)
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result
    assert result["rules"] == {"id": "qd124-2023", "version": "1"}
    assert result["quorum"] == {
        "members": 49,
        "present": 45,
        "required": 33,
        "fraction": "2/3",
        "met": True,
    }
    assert result["cast"] == 45
    a, btv, tinh = subjects_of(result)
    assert a["percentages"] == ["22.22", "44.44", "28.89", "4.44"]
    assert (a["grade"], a["denominator"], a["denominator_value"]) == ("HTTNV", "valid", 45)
    assert isinstance(a["steps"], list) and len(a["steps"]) == 6
    # The collective (HTXSNV) is above its organization (HTTNV): reported, grade kept.
    assert btv["grade"] == "HTXSNV" and tinh["grade"] == "HTTNV"
    assert checks(result) == ["collective_not_above_organization"]
    [w] = warnings(result, "collective_not_above_organization")
    assert w["subjects"] == ["btv", "tinh"]
    assert "Tập thể Ban Thường vụ Tỉnh ủy" in str(w["message_vi"])
    assert "(HTTNV)" in str(w["message_en"])


def test_output_is_deterministic() -> None:
    graded = [(person(f"p{i}", peer_group="g", disciplined=True), "HTXSNV") for i in range(4)]
    assert json.dumps(poll(QD124, graded)) == json.dumps(poll(QD124, graded))


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (20, 45, "44.44"),
        (13, 45, "28.89"),
        (1, 8, "12.50"),
        (1, 3, "33.33"),
        (2, 3, "66.67"),
        (1, 200, "0.50"),
        (1, 400, "0.25"),
        (1, 800, "0.13"),  # 0.125 rounds half up, not to even
        (3, 800, "0.38"),
        (45, 45, "100.00"),
        (0, 0, "0.00"),
    ],
)
def test_percent_two_decimals_half_up(part: int, whole: int, shown: str) -> None:
    assert percent(part, whole) == shown


@pytest.mark.parametrize(
    ("members", "present", "required", "met"),
    [
        (45, 30, 30, True),  # exactly 2/3
        (45, 29, 30, False),
        (10, 7, 7, True),  # 6.67 needs 7
        (10, 6, 7, False),
        (3, 2, 2, True),
        (1, 1, 1, True),
        (1, 0, 1, False),
    ],
)
def test_quorum_at_two_thirds(members: int, present: int, required: int, met: bool) -> None:
    result = evaluate_poll(
        QD124,
        [person("a")],
        [[present, 0, 0, 0]],
        [0],
        cast=present,
        present=present,
        members=members,
    )
    quorum = result["quorum"]
    assert isinstance(quorum, dict)
    assert (quorum["required"], quorum["met"]) == (required, met)
    found = warnings(result, "quorum")
    if met:
        assert found == []
    else:
        [w] = found
        assert f"có mặt {present}/{members} đồng chí, cần ít nhất {required}" in str(
            w["message_vi"]
        )
        assert f"{present} of {members} members present, at least {required}" in str(
            w["message_en"]
        )


@pytest.mark.parametrize(
    ("rounding", "good", "excellent", "ceiling", "shown"),
    [
        ("floor", 7, 1, None, ""),
        ("floor", 7, 2, 1, "1.4"),
        ("half_up", 7, 2, 1, "1.4"),
        ("floor", 8, 2, 1, "1.6"),
        ("half_up", 8, 2, None, ""),
        ("ceil", 8, 2, None, ""),
        ("ceil", 6, 2, None, ""),
        ("ceil", 5, 2, 1, "1"),
        ("floor", 5, 1, None, ""),
        ("floor", 0, 1, 0, "0"),
    ],
)
def test_excellent_ceiling_boundaries(
    rounding: str, good: int, excellent: int, ceiling: int | None, shown: str
) -> None:
    rules = dataclasses.replace(QD124, ceiling_rounding=rounding)
    graded = [(person(f"x{i}", peer_group="g"), "HTXSNV") for i in range(excellent)]
    graded += [(person(f"t{i}", peer_group="g"), "HTTNV") for i in range(good)]
    # Outside the peer group: never counted.
    graded += [(person("free"), "HTXSNV"), (person("other", peer_group="h"), "HTTNV")]
    result = poll(rules, graded)
    found = warnings(result, "excellent_ceiling")
    if ceiling is None:
        assert found == []
        return
    [w] = found
    assert w["subjects"] == [f"x{i}" for i in range(excellent)]
    names = {
        "floor": "rounded down",
        "half_up": "rounded to nearest, half up",
        "ceil": "rounded up",
    }
    assert (
        f"{excellent} graded HTXSNV, above the ceiling of {ceiling} "
        f"(20% × {good} HTTNV = {shown}, {names[rounding]} ({rounding}))"
    ) in str(w["message_en"])
    assert f"vượt mức tối đa {ceiling} (20% × {good} HTTNV = {shown.replace('.', ',')}," in str(
        w["message_vi"]
    )
    # Reported, never applied: everyone keeps the grade they were voted.
    assert [r["grade"] for r in subjects_of(result)][:excellent] == ["HTXSNV"] * excellent


@pytest.mark.parametrize(("rounding", "warned"), [("half_up", False), ("floor", True)])
def test_excellent_ceiling_half_rounds_up(rounding: str, warned: bool) -> None:
    # A province allowing 50%: 5 good -> 2.5; half_up makes it 3, where rounding to even gives 2.
    rules = dataclasses.replace(QD124, excellent_ceiling=Fraction(1, 2), ceiling_rounding=rounding)
    graded = [(person(f"x{i}", peer_group="g"), "HTXSNV") for i in range(3)]
    graded += [(person(f"t{i}", peer_group="g"), "HTTNV") for i in range(5)]
    found = warnings(poll(rules, graded), "excellent_ceiling")
    assert bool(found) == warned
    if warned:
        assert "above the ceiling of 2 (50% × 5 HTTNV = 2.5, rounded down" in str(
            found[0]["message_en"]
        )


def test_excellent_ceiling_is_per_peer_group() -> None:
    graded = [
        (person("a1", peer_group="A"), "HTXSNV"),
        (person("a2", peer_group="A"), "HTTNV"),
        (person("b1", peer_group="B"), "HTXSNV"),
        *[(person(f"b{i}", peer_group="B"), "HTTNV") for i in range(2, 7)],
    ]
    found = warnings(poll(QD124, graded), "excellent_ceiling")
    # Group B: 1 excellent vs 5 good (ceiling 1) is fine; group A: 1 vs 1 (ceiling 0) is not.
    assert [w["subjects"] for w in found] == [["a1"]]
    assert "“A”" in str(found[0]["message_vi"])


@pytest.mark.parametrize(
    ("own", "unit", "warned"),
    [
        ("HTXSNV", "HTTNV", True),
        ("HTTNV", "HTTNV", False),
        ("HTNV", "HTTNV", False),
        ("HTNV", "KHTNV", True),
        ("HTXSNV", None, False),  # the unit's grade is undetermined
        (None, "KHTNV", False),  # the head's grade is undetermined
    ],
)
def test_head_not_above_unit_in_same_poll(own: str | None, unit: str | None, warned: bool) -> None:
    graded = [
        (person("head", heads="org"), own),
        (SubjectInfo("org", "Đảng bộ Khối", "organization"), unit),
    ]
    result = poll(QD124, graded)
    found = warnings(result, "head_not_above_unit")
    assert bool(found) == warned
    if warned:
        assert found[0]["subjects"] == ["head", "org"]
        assert f"được xếp loại {own}, cao hơn" in str(found[0]["message_vi"])
        assert f"“Đảng bộ Khối” ({unit})" in str(found[0]["message_en"])
        assert subjects_of(result)[0]["grade"] == own


@pytest.mark.parametrize(
    ("external", "warned"),
    [
        ({"org": "HTNV"}, True),
        ({"org": "HTTNV"}, False),
        ({}, False),  # unknown: nothing to compare with
        ({"elsewhere": "KHTNV"}, False),
    ],
)
def test_head_compared_with_a_unit_graded_elsewhere(external: dict[str, str], warned: bool) -> None:
    result = poll(QD124, [(person("head", heads="org"), "HTTNV")], external)
    found = warnings(result, "head_not_above_unit")
    assert bool(found) == warned
    if warned:
        assert "“org” (HTNV)" in str(found[0]["message_en"])


def test_checks_switched_off_by_the_rule_set() -> None:
    rules = dataclasses.replace(
        QD124,
        head_not_above_unit=False,
        collective_not_above_organization=False,
        disciplined_max_grade=None,
    )
    graded = [
        (person("head", heads="org", disciplined=True), "HTXSNV"),
        (SubjectInfo("col", "Tập thể", "collective", part_of="org"), "HTXSNV"),
        (SubjectInfo("org", "Đảng bộ", "organization"), "KHTNV"),
    ]
    assert checks(poll(QD124, graded)) == [
        "head_not_above_unit",
        "collective_not_above_organization",
        "disciplined_max_grade",
    ]
    assert checks(poll(rules, graded)) == []


@pytest.mark.parametrize(
    ("own", "org", "warned"),
    [
        ("HTXSNV", "HTTNV", True),
        ("HTTNV", "HTTNV", False),
        ("HTNV", "HTXSNV", False),
        ("HTTNV", None, False),
    ],
)
def test_collective_not_above_organization(own: str, org: str | None, warned: bool) -> None:
    graded = [
        (SubjectInfo("col", "Tập thể BTV", "collective", part_of="org"), own),
        (SubjectInfo("org", "Đảng bộ tỉnh", "organization"), org),
    ]
    found = warnings(poll(QD124, graded), "collective_not_above_organization")
    assert bool(found) == warned
    if warned:
        assert found[0]["subjects"] == ["col", "org"]


@pytest.mark.parametrize(
    ("grade", "disciplined", "warned"),
    [
        ("HTNV", True, False),  # at the cap
        ("KHTNV", True, False),
        ("HTTNV", True, True),
        ("HTXSNV", True, True),
        ("HTXSNV", False, False),
        (None, True, False),
    ],
)
def test_disciplined_max_grade(grade: str | None, disciplined: bool, warned: bool) -> None:
    found = warnings(
        poll(QD124, [(person("d", disciplined=disciplined), grade)]), "disciplined_max_grade"
    )
    assert bool(found) == warned
    if warned:
        assert f"bị kỷ luật trong năm nhưng được xếp loại {grade}" in str(found[0]["message_vi"])
        assert "above the maximum HTNV" in str(found[0]["message_en"])


def test_tiny_and_empty_electorates() -> None:
    one = evaluate_poll(QD124, [person("a")], [[0, 1, 0, 0]], [0], cast=1, present=1, members=1)
    assert subjects_of(one)[0]["grade"] == "HTTNV"
    assert subjects_of(one)[0]["percentages"] == ["0.00", "100.00", "0.00", "0.00"]
    blank = evaluate_poll(QD124, [person("a")], [[0, 0, 0, 0]], [2], cast=2, present=2, members=2)
    row = subjects_of(blank)[0]
    assert (row["grade"], row["denominator_value"], row["blank"]) == (None, 0, 2)
    assert row["percentages"] == ["0.00"] * 4
    nobody = evaluate_poll(QD124, [person("a")], [[0, 0, 0, 0]], [0], cast=0, present=0, members=3)
    assert subjects_of(nobody)[0]["grade"] is None
    assert checks(nobody) == ["quorum"]


def test_present_denominator_poll() -> None:
    rules = load_ruleset("qd366-2025")
    result = evaluate_poll(
        rules, [person("a")], [[6, 4, 0, 0]], [8], cast=18, present=20, members=24
    )
    row = subjects_of(result)[0]
    assert (row["grade"], row["denominator"], row["denominator_value"]) == (None, "present", 20)
    assert row["percentages"] == ["30.00", "20.00", "0.00", "0.00"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"blanks": []}, "got 1 subjects, 1 rows of counts and 0 blanks"),
        ({"counts": [[1, 0, 0]]}, "subject a: counts: expected 4 numbers"),
        ({"counts": [[-1, 0, 0, 0]]}, "subject a: counts[HTXSNV]: must not be negative"),
        (
            {"counts": [[5, 0, 0, 0]]},
            "subject a: votes and blanks (5) cannot be more than cast (3)",
        ),
        ({"cast": 4}, "cast (4) <= present (3) <= members (3) does not hold"),
        ({"members": 0, "present": 0, "cast": 0}, "members: a poll needs at least one"),
        ({"cast": -1}, "cast: expected a whole number >= 0"),
        (
            {
                "subjects": [person("a"), person("a")],
                "counts": [[1, 0, 0, 0]] * 2,
                "blanks": [0, 0],
            },
            "duplicate subject key(s): a",
        ),
        ({"external_grades": {"x": "TOT"}}, "external_grades[x]: 'TOT' is not one of"),
        ({"external_grades": {"a": "HTNV"}}, "external_grades: a is a subject of this poll"),
    ],
)
def test_bad_poll_input_is_refused(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "subjects": [person("a")],
        "counts": [[1, 1, 1, 0]],
        "blanks": [0],
        "cast": 3,
        "present": 3,
        "members": 3,
    }
    args.update(change)
    with pytest.raises(ValueError) as err:
        evaluate_poll(QD124, **args)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_blank_refused_when_not_allowed() -> None:
    rules = dataclasses.replace(QD124, allow_blank=False)
    with pytest.raises(ValueError, match="subject a: blank: rule set qd124-2023 does not allow"):
        evaluate_poll(rules, [person("a")], [[1, 1, 0, 0]], [1], cast=3, present=3, members=3)


def test_subject_info_round_trip_and_validation() -> None:
    info = person("a", role="Phó Bí thư", peer_group="btv", heads="org", disciplined=True)
    assert SubjectInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    assert SubjectInfo.from_dict({"key": "o", "name": "Đảng bộ", "kind": "organization"}) == (
        SubjectInfo("o", "Đảng bộ", "organization")
    )
    bad: list[tuple[dict[str, object], str]] = [
        ({"key": "a", "name": "A", "kind": "person"}, "kind 'person' is not one of"),
        ({"key": "a", "name": "A", "kind": "individual", "age": 50}, "unknown key(s): age"),
        ({"key": "a", "name": "A"}, "missing key(s): kind"),
        ({"key": "", "name": "A", "kind": "individual"}, "subject key: expected a non-empty"),
        ({"key": "a", "name": "A", "kind": "collective", "heads": "o"}, "only an individual"),
        ({"key": "a", "name": "A", "kind": "individual", "part_of": "o"}, "only a collective"),
        ({"key": "a", "name": "A", "kind": "individual", "heads": "a"}, "refers to itself"),
        ({"key": "a", "name": "A", "kind": "individual", "disciplined": "no"}, "true or false"),
    ]
    for data, message in bad:
        with pytest.raises(ValueError) as err:
            SubjectInfo.from_dict(data)
        assert message in str(err.value)
