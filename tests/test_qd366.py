"""The checks of Quy định 366-QĐ/TW (rule set qd366-2025) and the adoption rule set.

Each check is reported, never applied: the tests assert which warnings appear (check, subjects,
facts), that the grades stay as voted, and that each warning has its sentence in Vietnamese and
English (``render_warning``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pytest

from tally.results import (
    SubjectInfo,
    evaluate_poll,
    parse_score,
    render_decision,
    render_warning,
)
from tally.rules import RuleSet, decide, load_ruleset

QD366 = load_ruleset("qd366-2025")
QD124 = load_ruleset("qd124-2023")
ADOPT = load_ruleset("thong-qua-2025")
RULES = {"qd366-2025": QD366, "qd124-2023": QD124}

GRADES = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")

# One subject's counts that give each grade with three voters (cast = present = members = 3): with
# the "members" denominator of qd366-2025, more than half of 3 is 2 votes or more.
BY_GRADE: Mapping[str | None, list[int]] = {
    "HTXSNV": [3, 0, 0, 0],
    "HTTNV": [0, 3, 0, 0],
    "HTNV": [0, 0, 3, 0],
    "KHTNV": [0, 0, 0, 3],
    None: [0, 0, 0, 0],  # everyone left it blank: undetermined
}

# A phrase of each check's sentence, Vietnamese and English, that the rendering must hold.
PHRASES: Mapping[str, tuple[str, str]] = {
    "low_turnout": ("Số phiếu thu vào", "Ballots cast"),
    "excellent_ceiling": ("vượt mức tối đa", "above the ceiling of"),
    "linked_not_checked": ("Chưa đối chiếu", "not checked against"),
    "disciplined_max_grade": ("bị kỷ luật trong năm", "was disciplined in the year"),
    "discipline_individual": ("bị kỷ luật từ khiển trách trở lên", "duty-related violation"),
    "discipline_collective": ("có thành viên bị kỷ luật", "has a member disciplined"),
    "leader_units_failed": ("đơn vị do mình phụ trách", "units they are responsible for"),
    "score_band": ("cao hơn mức tương ứng với điểm tự chấm", "above the grade of its self-score"),
    "self_grade_band": ("tự xếp loại", "self-graded"),
    "differs_from_proposal": ("khác mức đề xuất", "not the proposed"),
}


def person(key: str, **kw: Any) -> SubjectInfo:
    return SubjectInfo(key=key, name=f"Đồng chí {key.upper()}", kind="individual", **kw)


def collective(key: str, **kw: Any) -> SubjectInfo:
    return SubjectInfo(key=key, name=f"Tập thể {key.upper()}", kind="collective", **kw)


def unit(key: str) -> SubjectInfo:
    return SubjectInfo(key=key, name=f"Đảng bộ {key.upper()}", kind="organization")


def poll(
    rules: RuleSet,
    graded: Sequence[tuple[SubjectInfo, str | None]],
    *,
    external: Mapping[str, str] | None = None,
    outstanding: Sequence[str] = (),
) -> dict[str, Any]:
    """A three-voter poll where each subject gets the grade given (None = all blank)."""
    return evaluate_poll(
        rules,
        [s for s, _ in graded],
        [BY_GRADE[g] for _, g in graded],
        [3 if g is None else 0 for _, g in graded],
        cast=3,
        present=3,
        members=3,
        external_grades=external,
        outstanding_groups=outstanding,
    )


def rendered(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every warning of a result with its two sentences, each checked to exist: not empty, not
    the same in both languages, naming the first subject, holding its check's phrase."""
    names = {str(r["key"]): str(r["name"]) for r in result["subjects"]}
    out = []
    for w in result["warnings"]:
        text = render_warning(w, names)
        assert text.vi.strip() and text.en.strip(), w
        assert text.vi != text.en, w
        if w["check"] == "excellent_ceiling":  # names the peer group, not each subject
            assert f"“{w['peer_group']}”" in text.vi and f"“{w['peer_group']}”" in text.en
        elif w["subjects"]:
            first = names.get(w["subjects"][0], w["subjects"][0])
            assert first in text.vi and first in text.en, (w, text)
        phrase_vi, phrase_en = PHRASES.get(w["check"], ("", ""))
        assert phrase_vi in text.vi, (w, text)
        assert phrase_en in text.en, (w, text)
        out.append({**w, "vi": text.vi, "en": text.en})
    return out


def facts(warning: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered warning without its sentences: the facts the result holds."""
    return {k: v for k, v in warning.items() if k not in ("vi", "en")}


def grades_of(result: Mapping[str, Any]) -> list[str | None]:
    return [row["grade"] for row in result["subjects"]]


# --- 1. score bands ------------------------------------------------------------------------------

# The grade the bands of qd366-2025 allow for each self-score: >= 90, >= 70, >= 50, else KHTNV.
BAND = {
    "95": "HTXSNV",
    "90": "HTXSNV",
    "89.99": "HTTNV",
    "70": "HTTNV",
    "69.5": "HTNV",
    "50": "HTNV",
    "49.99": "KHTNV",
    "0": "KHTNV",
    "100": "HTXSNV",
}


def test_the_rule_set_has_the_values_of_the_brief() -> None:
    assert QD366.score_bands == (90, 70, 50)
    assert QD366.discipline == "qd366"
    assert str(QD366.excellent_ceiling) == "1/5"
    assert str(QD366.excellent_ceiling_outstanding) == "1/4"
    assert str(QD366.leader_units_failed) == "1/2"
    assert str(QD366.low_turnout) == "9/10"
    assert QD366.denominator == "members"


@pytest.mark.parametrize("score", list(BAND), ids=list(BAND))
def test_band_grade_of_each_score(score: str) -> None:
    assert QD366.band_grade(Fraction(score)) == BAND[score]
    assert QD124.band_grade(Fraction(score)) is None


@pytest.mark.parametrize(
    ("score", "grade"),
    [(s, g) for s in BAND for g in (*GRADES, None)],
    ids=[f"{s}-{g or 'undetermined'}" for s in BAND for g in (*GRADES, None)],
)
def test_score_band(score: str, grade: str | None) -> None:
    band = BAND[score]
    result = poll(QD366, [(person("a", self_score=score), grade)])
    found = rendered(result)
    assert grades_of(result) == [grade]  # reported, never applied
    if grade is not None and GRADES.index(grade) < GRADES.index(band):
        [w] = found
        assert facts(w) == {
            "check": "score_band",
            "subjects": ["a"],
            "grade": grade,
            "score": score,
            "band": band,
        }
        assert f"được xếp loại {grade}" in w["vi"]
        assert f"điểm tự chấm {score.replace('.', ',')} ({band})" in w["vi"]
        assert f"is graded {grade}, above the grade of its self-score {score} ({band})" in w["en"]
    else:
        assert found == []


@pytest.mark.parametrize(
    ("score", "self_grade"),
    [(s, g) for s in BAND for g in GRADES],
    ids=[f"{s}-{g}" for s in BAND for g in GRADES],
)
def test_self_grade_band(score: str, self_grade: str) -> None:
    band = BAND[score]
    # Decided KHTNV: never above a band, so only the self-grade can be.
    result = poll(QD366, [(person("a", self_score=score, self_grade=self_grade), "KHTNV")])
    found = rendered(result)
    if GRADES.index(self_grade) < GRADES.index(band):
        [w] = found
        assert facts(w) == {
            "check": "self_grade_band",
            "subjects": ["a"],
            "self_grade": self_grade,
            "score": score,
            "band": band,
        }
        assert f"tự xếp loại {self_grade}" in w["vi"]
        assert f"{score.replace('.', ',')} ({band})" in w["vi"]
        assert f"self-graded {self_grade}, above the grade of its self-score {score}" in w["en"]
    else:
        assert found == []


def test_score_band_and_self_grade_band_together() -> None:
    a = person("a", self_score="69.5", self_grade="HTXSNV")
    result = poll(QD366, [(a, "HTTNV")])
    found = rendered(result)
    assert [(w["check"], w["band"]) for w in found] == [
        ("score_band", "HTNV"),
        ("self_grade_band", "HTNV"),
    ]
    # An undetermined grade is never above a band, the self-grade still is.
    result = poll(QD366, [(a, None)])
    assert [w["check"] for w in rendered(result)] == ["self_grade_band"]


@pytest.mark.parametrize("grade", [*GRADES, None], ids=[*GRADES, "undetermined"])
def test_no_band_warning_without_a_self_score(grade: str | None) -> None:
    result = poll(QD366, [(person("a", self_grade="HTXSNV"), grade)])
    assert rendered(result) == []


@pytest.mark.parametrize("score", ["0", "49.99", "69.5"])
def test_no_band_warning_in_a_rule_set_without_bands(score: str) -> None:
    result = poll(QD124, [(person("a", self_score=score, self_grade="HTXSNV"), "HTXSNV")])
    assert rendered(result) == []


def test_a_score_in_its_written_form_through_parse_score() -> None:
    a = person("a", self_score=parse_score("69,50"))
    assert a.self_score == "69.5"
    [w] = rendered(poll(QD366, [(a, "HTTNV")]))
    assert (w["check"], w["score"], w["band"]) == ("score_band", "69.5", "HTNV")
    assert "điểm tự chấm 69,5 (HTNV)" in w["vi"]


# --- 2. the proposal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposed", "grade", "warned"),
    [
        ("HTTNV", "HTXSNV", True),
        ("HTXSNV", "HTTNV", True),
        ("HTXSNV", "KHTNV", True),
        ("KHTNV", "HTNV", True),
        ("HTTNV", "HTTNV", False),
        ("KHTNV", "KHTNV", False),
        ("HTXSNV", None, False),  # undetermined: nothing to compare
        (None, "HTTNV", False),  # nothing proposed
    ],
    ids=[
        "above-proposal",
        "below-proposal",
        "far-below",
        "above-worst",
        "equal",
        "equal-worst",
        "undetermined",
        "no-proposal",
    ],
)
def test_differs_from_proposal(proposed: str | None, grade: str | None, warned: bool) -> None:
    result = poll(QD366, [(person("a", proposed_grade=proposed), grade)])
    found = rendered(result)
    assert grades_of(result) == [grade]
    if not warned:
        assert found == []
        return
    [w] = found
    assert facts(w) == {
        "check": "differs_from_proposal",
        "subjects": ["a"],
        "grade": grade,
        "proposed": proposed,
    }
    assert f"được xếp loại {grade}, khác mức đề xuất {proposed}." in w["vi"]
    assert f"is graded {grade}, not the proposed {proposed}." in w["en"]


# --- 3. discipline -------------------------------------------------------------------------------


def _individual(grade: str, remedied: bool) -> list[dict[str, Any]]:
    return [
        {
            "check": "discipline_individual",
            "subjects": ["s"],
            "grade": grade,
            "expected": "KHTNV",
            "remedied": remedied,
        }
    ]


def _collective(remedied: bool) -> list[dict[str, Any]]:
    return [
        {
            "check": "discipline_collective",
            "subjects": ["s"],
            "grade": "HTXSNV",
            "remedied": remedied,
        }
    ]


def _capped(grade: str) -> list[dict[str, Any]]:
    return [
        {"check": "disciplined_max_grade", "subjects": ["s"], "grade": grade, "max_grade": "HTNV"}
    ]


DV = ("duty_violation",)
DVR = ("duty_violation", "self_remedied")
MD = ("member_disciplined",)
MDR = ("member_disciplined", "self_remedied")

DISCIPLINE_CASES: list[tuple[str, str, tuple[str, ...], str | None, list[dict[str, Any]]]] = [
    # (rule set, kind, flags, grade, expected warnings)
    ("qd366-2025", "individual", DV, "HTXSNV", _individual("HTXSNV", False)),
    ("qd366-2025", "individual", DV, "HTTNV", _individual("HTTNV", False)),
    ("qd366-2025", "individual", DV, "HTNV", _individual("HTNV", False)),
    ("qd366-2025", "individual", DV, "KHTNV", []),
    ("qd366-2025", "individual", DV, None, []),
    ("qd366-2025", "individual", DVR, "HTXSNV", _individual("HTXSNV", True)),
    ("qd366-2025", "individual", DVR, "HTNV", _individual("HTNV", True)),
    ("qd366-2025", "individual", DVR, "KHTNV", []),
    ("qd366-2025", "individual", (), "HTXSNV", []),
    ("qd366-2025", "collective", MD, "HTXSNV", _collective(False)),
    ("qd366-2025", "collective", MDR, "HTXSNV", _collective(True)),
    ("qd366-2025", "collective", MD, "HTTNV", []),
    ("qd366-2025", "collective", MD, "HTNV", []),
    ("qd366-2025", "collective", MD, "KHTNV", []),
    ("qd366-2025", "collective", MD, None, []),
    ("qd366-2025", "collective", (), "HTXSNV", []),
    # qd124-2023 has no 366 discipline checks, but its cap at HTNV still fires.
    ("qd124-2023", "individual", DV, "HTXSNV", _capped("HTXSNV")),
    ("qd124-2023", "individual", DV, "HTTNV", _capped("HTTNV")),
    ("qd124-2023", "individual", DVR, "HTTNV", _capped("HTTNV")),
    ("qd124-2023", "individual", DV, "HTNV", []),
    ("qd124-2023", "individual", DV, "KHTNV", []),
    ("qd124-2023", "collective", MD, "HTXSNV", _capped("HTXSNV")),
    ("qd124-2023", "collective", MD, "HTNV", []),
]


@pytest.mark.parametrize(
    ("rules_id", "kind", "flags", "grade", "expected"),
    DISCIPLINE_CASES,
    ids=[
        f"{r}-{k}-{'+'.join(f) or 'none'}-{g or 'undetermined'}"
        for r, k, f, g, _ in DISCIPLINE_CASES
    ],
)
def test_discipline(
    rules_id: str,
    kind: str,
    flags: tuple[str, ...],
    grade: str | None,
    expected: list[dict[str, Any]],
) -> None:
    subject = SubjectInfo("s", f"Chủ thể {kind}", kind, discipline=flags)
    result = poll(RULES[rules_id], [(subject, grade)])
    found = rendered(result)
    assert [facts(w) for w in found] == expected
    assert grades_of(result) == [grade]  # reported, never applied
    for w in found:
        if w["check"] == "discipline_individual":
            if w["remedied"]:
                assert "tự phát hiện, khắc phục" in w["vi"]
                assert "(thông thường là KHTNV)" in w["vi"]
                assert "self-detected and remedied" in w["en"]
            else:
                assert "theo Quy định phải là KHTNV" in w["vi"]
                assert "the regulation says KHTNV" in w["en"]
        elif w["check"] == "discipline_collective":
            assert "không được xếp loại HTXSNV" in w["vi"]
            assert "it cannot be HTXSNV" in w["en"]
            assert ("tự phát hiện, khắc phục" in w["vi"]) == w["remedied"]
            assert ("self-detected and remedied" in w["en"]) == w["remedied"]
        else:
            assert f"được xếp loại {grade}, cao hơn mức tối đa HTNV" in w["vi"]


@pytest.mark.parametrize(
    ("kind", "check"),
    [("individual", "discipline_individual"), ("collective", "discipline_collective")],
)
def test_version_1_flag_is_the_kinds_violation(kind: str, check: str) -> None:
    subject = SubjectInfo("s", "Chủ thể", kind, disciplined=True)
    assert subject.discipline == (DV if kind == "individual" else MD)
    assert [w["check"] for w in rendered(poll(QD366, [(subject, "HTXSNV")]))] == [check]


# --- 4. the excellent ceiling: 20%, 25% for an outstanding group ---------------------------------

CEILING_CASES: list[tuple[int, int, bool, int | None, str]] = [
    # (good, excellent, outstanding, ceiling if warned, product)
    (8, 1, False, None, ""),
    (8, 2, False, 1, "8/5"),
    (8, 2, True, None, ""),
    (8, 3, True, 2, "2/1"),
    (4, 1, False, 0, "4/5"),
    (4, 1, True, None, ""),
    (4, 2, True, 1, "1/1"),
    (3, 1, True, 0, "3/4"),
    (7, 2, True, 1, "7/4"),
    (10, 2, False, None, ""),
    (10, 3, False, 2, "2/1"),
    (10, 3, True, 2, "5/2"),
    (0, 1, True, 0, "0/1"),
]


@pytest.mark.parametrize(
    ("good", "excellent", "outstanding", "ceiling", "product"),
    CEILING_CASES,
    ids=[
        f"{n}good-{m}excellent-{'outstanding' if o else 'normal'}"
        for n, m, o, _c, _p in CEILING_CASES
    ],
)
def test_excellent_ceiling(
    good: int, excellent: int, outstanding: bool, ceiling: int | None, product: str
) -> None:
    graded: list[tuple[SubjectInfo, str | None]] = [
        (person(f"x{i}", peer_group="g"), "HTXSNV") for i in range(excellent)
    ]
    graded += [(person(f"t{i}", peer_group="g"), "HTTNV") for i in range(good)]
    result = poll(QD366, graded, outstanding=["g"] if outstanding else [])
    found = rendered(result)
    assert grades_of(result)[:excellent] == ["HTXSNV"] * excellent  # never applied
    if ceiling is None:
        assert found == []
        return
    [w] = found
    expected: dict[str, Any] = {
        "check": "excellent_ceiling",
        "subjects": [f"x{i}" for i in range(excellent)],
        "peer_group": "g",
        "good": good,
        "share": "1/4" if outstanding else "1/5",
        "product": product,
        "rounding": "floor",
        "ceiling": ceiling,
    }
    if outstanding:
        expected["outstanding"] = True
    assert facts(w) == expected
    pct = "25" if outstanding else "20"
    assert f"vượt mức tối đa {ceiling} ({pct}% × {good} HTTNV =" in w["vi"]
    assert f"above the ceiling of {ceiling} ({pct}% × {good} HTTNV =" in w["en"]
    assert ("(nhóm có thành tích nổi bật)" in w["vi"]) == outstanding
    assert ("(an outstanding group)" in w["en"]) == outstanding


def test_the_outstanding_share_is_per_peer_group() -> None:
    graded: list[tuple[SubjectInfo, str | None]] = []
    for group in ("a", "b"):
        graded += [(person(f"{group}x{i}", peer_group=group), "HTXSNV") for i in range(2)]
        graded += [(person(f"{group}t{i}", peer_group=group), "HTTNV") for i in range(8)]
    found = rendered(poll(QD366, graded, outstanding=["a"]))
    # Group a, outstanding: 2 of at most 2. Group b: 2 of at most 1.
    assert [(w["peer_group"], w["share"], w["ceiling"]) for w in found] == [("b", "1/5", 1)]
    assert "outstanding" not in found[0]


# --- 5. the leader whose units failed ------------------------------------------------------------

UNITS = ("u1", "u2", "u3", "u4", "u5")


def _leader_poll(
    unit_grades: Mapping[str, str], leader_grade: str | None, where: str
) -> dict[str, Any]:
    """A leader responsible for the units given, each graded here, elsewhere, or half-and-half."""
    leader = person("lead", responsible_for=tuple(sorted(unit_grades)))
    graded: list[tuple[SubjectInfo, str | None]] = [(leader, leader_grade)]
    external: dict[str, str] = {}
    for i, (key, grade) in enumerate(sorted(unit_grades.items())):
        if where == "here" or (where == "mixed" and i % 2 == 0):
            graded.append((unit(key), grade))
        else:
            external[key] = grade
    return poll(QD366, graded, external=external)


LEADER_CASES: list[tuple[tuple[str, ...], str | None, list[str] | None]] = [
    # (unit grades, leader grade, failed units if warned)
    (("KHTNV", "HTNV", "KHTNV", "HTNV", "KHTNV"), "HTTNV", ["u1", "u3", "u5"]),
    (("KHTNV", "KHTNV", "KHTNV", "KHTNV", "KHTNV"), "HTXSNV", ["u1", "u2", "u3", "u4", "u5"]),
    (("KHTNV", "KHTNV", "HTNV", "HTTNV"), "HTNV", None),  # exactly half
    (("KHTNV", "KHTNV", "KHTNV", "HTTNV"), "HTNV", ["u1", "u2", "u3"]),
    (("KHTNV", "HTNV", "KHTNV", "HTNV", "HTNV"), "HTTNV", None),
    (("KHTNV",), "HTTNV", ["u1"]),
    (("KHTNV", "HTNV"), "HTTNV", None),
    (("KHTNV", "HTNV", "KHTNV", "HTNV", "KHTNV"), "KHTNV", None),  # the leader is KHTNV already
    (("KHTNV", "HTNV", "KHTNV", "HTNV", "KHTNV"), None, None),  # the leader is undetermined
]


@pytest.mark.parametrize("where", ["here", "elsewhere", "mixed"])
@pytest.mark.parametrize(
    ("unit_grades", "leader_grade", "failed"),
    LEADER_CASES,
    ids=[
        f"{sum(g == 'KHTNV' for g in u)}of{len(u)}-leader-{lg or 'undetermined'}"
        for u, lg, _f in LEADER_CASES
    ],
)
def test_leader_units_failed(
    unit_grades: tuple[str, ...], leader_grade: str | None, failed: list[str] | None, where: str
) -> None:
    grades = dict(zip(UNITS, unit_grades, strict=False))
    result = _leader_poll(grades, leader_grade, where)
    found = rendered(result)
    assert grades_of(result)[0] == leader_grade  # never applied
    # The units graded elsewhere are listed with the grade they came with.
    here = {row["key"] for row in result["subjects"]}
    assert result.get("linked", {}) == {k: g for k, g in grades.items() if k not in here}
    if failed is None:
        assert found == []
        return
    [w] = found
    assert facts(w) == {
        "check": "leader_units_failed",
        "subjects": ["lead", *failed],
        "grade": leader_grade,
        "failed": len(failed),
        "units": len(grades),
        "share": "1/2",
    }
    assert (
        f"“Đồng chí LEAD” được xếp loại {leader_grade}, nhưng {len(failed)}/{len(grades)} đơn vị"
        " do mình phụ trách xếp loại Không hoàn thành nhiệm vụ, trên 50%." in w["vi"]
    )
    assert (
        f"“Đồng chí LEAD” is graded {leader_grade}, but {len(failed)} of the {len(grades)} units"
        " they are responsible for are KHTNV, more than 50%." in w["en"]
    )


def test_a_unit_graded_nowhere_is_reported_not_checked() -> None:
    leader = person("lead", responsible_for=("u1", "u2", "u3", "u4", "u5"))
    graded: list[tuple[SubjectInfo, str | None]] = [
        (leader, "HTTNV"),
        (unit("u1"), "KHTNV"),
        (unit("u2"), "HTNV"),
    ]
    result = poll(QD366, graded, external={"u3": "KHTNV", "u4": "KHTNV"})
    found = rendered(result)
    assert [facts(w) for w in found] == [
        {"check": "linked_not_checked", "subjects": ["lead", "u5"], "link": "responsible_for"},
        {
            "check": "leader_units_failed",
            "subjects": ["lead", "u1", "u3", "u4"],
            "grade": "HTTNV",
            "failed": 3,
            "units": 5,
            "share": "1/2",
        },
    ]
    assert result["linked"] == {"u3": "KHTNV", "u4": "KHTNV", "u5": None}
    assert "Chưa đối chiếu “Đồng chí LEAD” với “u5”" in found[0]["vi"]
    assert "“Đồng chí LEAD” not checked against “u5”" in found[0]["en"]


def test_units_graded_nowhere_are_each_reported() -> None:
    leader = person("lead", responsible_for=("u1", "u2"))
    found = rendered(poll(QD366, [(leader, "HTXSNV")]))
    assert [facts(w) for w in found] == [
        {"check": "linked_not_checked", "subjects": ["lead", "u1"], "link": "responsible_for"},
        {"check": "linked_not_checked", "subjects": ["lead", "u2"], "link": "responsible_for"},
    ]


def test_a_rule_set_without_the_check_ignores_responsible_for() -> None:
    leader = person("lead", responsible_for=("u1", "u2", "u3"))
    graded: list[tuple[SubjectInfo, str | None]] = [(leader, "HTXSNV"), (unit("u1"), "KHTNV")]
    result = poll(QD124, graded, external={"u2": "KHTNV"})
    assert rendered(result) == []
    assert "linked" not in result


# --- 6. low turnout ------------------------------------------------------------------------------

TURNOUT_CASES = [
    # (cast, present, members, warned)
    (8, 10, 10, True),
    (9, 10, 10, False),  # exactly 9/10
    (10, 10, 12, False),
    (17, 20, 20, True),
    (18, 20, 25, False),  # exactly 9/10
    (26, 29, 30, True),  # 9/10 of 29 is 26.1
    (27, 29, 30, False),
    (1, 2, 2, True),
    (0, 0, 1, False),  # nobody present: nothing to fall below
]


@pytest.mark.parametrize(
    ("cast", "present", "members", "warned"),
    TURNOUT_CASES,
    ids=[f"{c}of{p}" for c, p, _m, _w in TURNOUT_CASES],
)
def test_low_turnout(cast: int, present: int, members: int, warned: bool) -> None:
    for rules in (QD366, ADOPT):
        result = evaluate_poll(
            rules,
            [person("a")],
            [[cast] + [0] * (len(rules.grades) - 1)],
            [0],
            cast=cast,
            present=present,
            members=members,
        )
        found = [w for w in rendered(result) if w["check"] != "quorum"]
        if not warned:
            assert found == []
            continue
        [w] = found
        assert facts(w) == {
            "check": "low_turnout",
            "subjects": [],
            "cast": cast,
            "present": present,
            "share": "9/10",
        }
        assert (
            f"Số phiếu thu vào ({cast}) thấp hơn nhiều so với số đồng chí có mặt ({present})"
            in (w["vi"])
        )
        assert "dưới 90% số có mặt" in w["vi"]
        assert f"Ballots cast ({cast}) fall well below the members present ({present})" in w["en"]
        assert "under 90% of those present" in w["en"]
    # A rule set without the check never warns.
    other: dict[str, Any] = evaluate_poll(
        QD124, [person("a")], [[cast, 0, 0, 0]], [0], cast=cast, present=present, members=members
    )
    assert [w["check"] for w in other["warnings"] if w["check"] != "quorum"] == []


# --- 7. input errors -----------------------------------------------------------------------------

BAD_SCORES = ["100.5", "100.01", "101", "-1", "abc", "92.123", "", "9 2", "1e2", "nan"]


def _via_parse_score(score: str) -> object:
    return parse_score(score)


def _via_subject(score: str) -> object:
    return person("a", self_score=score)


def _via_from_dict(score: str) -> object:
    return SubjectInfo.from_dict(
        {"key": "a", "name": "A", "kind": "individual", "self_score": score}
    )


@pytest.mark.parametrize(
    "via",
    [_via_parse_score, _via_subject, _via_from_dict],
    ids=["parse_score", "SubjectInfo", "from_dict"],
)
@pytest.mark.parametrize("score", BAD_SCORES, ids=[repr(s) for s in BAD_SCORES])
def test_a_bad_self_score_is_refused(score: str, via: Any) -> None:
    with pytest.raises(ValueError, match="self_score"):
        via(score)


@pytest.mark.parametrize("score", [100.5, 100.25, -1, 92.123])
def test_a_bad_self_score_number_is_refused(score: float) -> None:
    with pytest.raises(ValueError, match="self_score"):
        parse_score(score)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("92.5", "92.5"),
        ("92,50", "92.5"),
        ("90.0", "90"),
        ("090", "90"),
        (" 70 ", "70"),
        (90, "90"),
        (92.5, "92.5"),
        (100, "100"),
        ("100.00", "100"),
        ("0", "0"),
        ("49.99", "49.99"),
        ("0.05", "0.05"),
    ],
)
def test_a_self_score_is_written_one_way(value: object, written: str) -> None:
    assert parse_score(value) == written
    assert person("a", self_score=written).self_score == written


@pytest.mark.parametrize("score", ["92.50", "090", "90.0", "92,5", " 90"])
def test_a_self_score_not_in_its_written_form_is_refused(score: str) -> None:
    with pytest.raises(ValueError, match="self_score"):
        person("a", self_score=score)


@pytest.mark.parametrize("value", [True, None, [90], 92.123])
def test_a_self_score_of_the_wrong_type_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="self_score"):
        parse_score(value)


BAD_FLAGS: list[tuple[str, tuple[str, ...], str]] = [
    ("collective", ("duty_violation",), "'duty_violation' applies to individual"),
    ("individual", ("member_disciplined",), "'member_disciplined' applies to collective"),
    ("organization", ("duty_violation",), "not to a subject of kind organization"),
    ("organization", ("member_disciplined",), "not to a subject of kind organization"),
    ("organization", ("self_remedied",), "not to a subject of kind organization"),
    ("organization", DVR, "not to a subject of kind organization"),
    ("individual", ("self_remedied",), "'self_remedied' qualifies a violation"),
    ("collective", ("self_remedied",), "'self_remedied' qualifies a violation"),
    ("individual", ("reprimand",), "'reprimand' is not one of"),
    ("collective", ("", "member_disciplined"), "'' is not one of"),
    ("individual", ("self_remedied", "duty_violation"), "expected distinct flags, sorted"),
    ("individual", ("duty_violation", "duty_violation"), "expected distinct flags, sorted"),
]


@pytest.mark.parametrize(
    ("kind", "flags", "message"),
    BAD_FLAGS,
    ids=[f"{k}-{'+'.join(f) or 'empty'}" for k, f, _m in BAD_FLAGS],
)
def test_a_bad_discipline_flag_is_refused(kind: str, flags: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match="discipline") as err:
        SubjectInfo("s", "S", kind, discipline=flags)
    assert message in str(err.value)
    with pytest.raises(ValueError, match="discipline"):
        SubjectInfo.from_dict({"key": "s", "name": "S", "kind": kind, "discipline": list(flags)})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("self_grade", "XS"),
        ("proposed_grade", "XS"),
        ("self_grade", "htxsnv"),
        ("self_grade", "TT"),
    ],
)
def test_check_grades_names_the_field(field: str, value: str) -> None:
    info = person("a", **{field: value})
    with pytest.raises(ValueError, match=field) as err:
        info.check_grades(GRADES)
    assert f"{value!r} is not one of HTXSNV, HTTNV, HTNV, KHTNV" in str(err.value)
    # The grades of the rule set pass.
    person("a", self_grade="HTXSNV", proposed_grade="KHTNV").check_grades(GRADES)
    person("a").check_grades(GRADES)


# --- 8. the adoption rule set --------------------------------------------------------------------

ADOPTION_CASES = [
    # (for, against, present, members, adopted)
    (3, 2, 5, 5, True),
    (2, 3, 5, 5, False),
    (3, 3, 6, 6, False),  # exactly half of the members
    (4, 2, 6, 6, True),
    (6, 0, 8, 10, True),
    (5, 0, 9, 10, False),  # all the votes, but only half of the members
    (0, 0, 3, 3, False),
    (1, 0, 1, 1, True),
]


@pytest.mark.parametrize(
    ("votes_for", "against", "present", "members", "adopted"),
    ADOPTION_CASES,
    ids=[f"{f}for-{a}against-of{m}" for f, a, _p, m, _ad in ADOPTION_CASES],
)
def test_adoption(votes_for: int, against: int, present: int, members: int, adopted: bool) -> None:
    assert ADOPT.is_adoption and ADOPT.grade_codes == ("TT", "KTT")
    assert ADOPT.denominator == "members"
    cast = votes_for + against
    decision = decide(ADOPT, [votes_for, against], cast=cast, present=present, members=members)
    assert decision.grade == ("TT" if votes_for * 2 > members else "KTT")
    assert decision.grade == ("TT" if adopted else "KTT")
    assert (decision.denominator, decision.denominator_value) == ("members", members)

    result: dict[str, Any] = evaluate_poll(
        ADOPT,
        [SubjectInfo("kq", "Đảng bộ tỉnh xếp loại HTTNV", "organization", proposed_grade="HTTNV")],
        [[votes_for, against]],
        [0],
        cast=cast,
        present=present,
        members=members,
    )
    [row] = result["subjects"]
    assert row["grade"] == decision.grade
    # No grading check speaks about an adoption (not even the proposal).
    assert [
        w["check"] for w in rendered(result) if w["check"] not in ("low_turnout", "quorum")
    ] == []
    text = render_decision(row)
    half = f"{members // 2},5" if members % 2 else str(members // 2)
    if adopted:
        assert text.vi.startswith(f"Thông qua: {votes_for} phiếu tán thành,")
        assert text.en.startswith(f"Adopted: {votes_for} votes for,")
    else:
        assert text.vi.startswith(f"Không thông qua: {votes_for} phiếu tán thành, không")
        assert text.en.startswith(f"Not adopted: {votes_for} votes for (TT),")
    assert f"(số ủy viên đương nhiệm = {members}, một nửa là {half})" in text.vi
    assert f"(incumbent members = {members}, half is {half.replace(',', '.')})" in text.en


def test_adoption_refuses_blanks() -> None:
    with pytest.raises(ValueError, match="blank"):
        decide(ADOPT, [2, 0], blank=1, cast=3, present=3, members=3)
