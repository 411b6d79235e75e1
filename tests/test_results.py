"""A poll's results: quorum, percentages, and the checks that are reported but never applied."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from conftest import build_bundle

from tally.bundle import bundle_bytes, read_bundle
from tally.canonical import canonical_json
from tally.demo import DemoPoll
from tally.record import ServiceKey
from tally.results import (
    SubjectInfo,
    evaluate_poll,
    percent,
    render_decision,
    render_texts,
    render_warning,
)
from tally.rules import RuleSet, load_ruleset, shipped_rulesets
from tally.verify import verify_bundle

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
    """The warnings of one check, each with its sentences rendered (as a page shows them)."""
    found = result["warnings"]
    assert isinstance(found, list)
    names = {str(r["key"]): str(r["name"]) for r in subjects_of(result)}
    out = []
    for w in found:
        if w["check"] == check:
            text = render_warning(w, names)
            out.append({**w, "message_vi": text.vi, "message_en": text.en})
    return out


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
    rules = shipped_rulesets()[("qd366-2025", "1")]  # the superseded version counted "present"
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


# --- result.json rebuilt byte for byte from the specification alone ------------------------------
#
# An independent path: this code does not call tally.results or tally.rules. It follows
# docs/rules.md ("Results in result.json", "Warnings", "Texts") and docs/protocol.md §15, and takes
# the sentences' templates from the tables of docs/rules.md itself, so the spec, the code and the
# bundles agree byte for byte.

DOCS = Path(__file__).resolve().parent.parent / "docs"
DATA = Path(__file__).resolve().parent / "data"
_ROW = re.compile(r"^\| `([a-z_]+)`[^|]* \| `(.*)` \| `(.*)` \|$")


def spec_templates() -> dict[str, tuple[str, str]]:
    """Every three-column row of the "Texts" section: check, rounding, decision, denominator."""
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    section = text[text.index("### Texts") :]
    rows = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def spec_decimal(value: Fraction, sep: str) -> str:
    for digits in range(64):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            n = scaled.numerator
            return f"{n // 10**digits}{sep}{n % 10**digits:0{digits}d}" if digits else str(n)
    return f"{value.numerator}/{value.denominator}"


def spec_fraction(text: str) -> Fraction:
    p, q = text.split("/")
    return Fraction(int(p), int(q))


def spec_warning_texts(w: dict[str, Any], names: dict[str, str]) -> tuple[str, str]:
    """The two sentences of a warning (version 2 facts) by the templates of docs/rules.md."""
    templates = spec_templates()
    keys = w["subjects"]
    values: dict[str, Any] = {k: v for k, v in w.items() if k not in ("check", "subjects")}
    values["n"] = len(keys)
    if keys:
        values["name0"] = names.get(keys[0], keys[0])
    if len(keys) > 1:
        values["name1"] = names.get(keys[1], keys[1])
        values["key1"] = keys[1]
    out = []
    for lang, sep in ((0, ","), (1, ".")):
        if w["check"] == "excellent_ceiling":
            values["share_percent"] = spec_decimal(spec_fraction(w["share"]) * 100, sep)
            values["product"] = spec_decimal(spec_fraction(w["product"]), sep)
            values["rounding_text"] = templates[w["rounding"]][lang]
        out.append(templates[w["check"]][lang].format(**values))
    return out[0], out[1]


def spec_result(files: dict[str, bytes]) -> bytes:
    """result.json from manifest.json and tally.json (and, for linked grades, result.linked)."""
    manifest, tally_doc = json.loads(files["manifest.json"]), json.loads(files["tally.json"])
    linked_given = json.loads(files["result.json"]).get("linked", {})
    version = 1 if json.loads(files["result.json"])["format"] == "tally-result/1" else 2
    election, fingerprint = (
        manifest["election"],
        hashlib.sha256(canonical_json(manifest["election"])).hexdigest(),
    )
    rules, codes = election["rules"], election["grades"]
    members = election["electorate"]["members"]
    # Version 2's manifest leaves the number present to the trustee's attendance statement.
    present = (
        json.loads(files["attendance.json"])["present"]
        if "attendance.json" in files
        else election["electorate"]["present"]
    )
    cast = tally_doc["aggregate"]["ballot_count"]
    p, q = (int(x) for x in rules["quorum"].split("/"))
    required = -(-p * members // q)
    rank = {code: i for i, code in enumerate(codes)}
    rows, grade_of = [], {}
    for subject, counts, blank in zip(
        election["subjects"], tally_doc["counts"], tally_doc["blanks"], strict=True
    ):
        d = {"valid": sum(counts), "cast": cast, "present": present, "members": members}[
            rules["denominator"]
        ]
        half = str(d // 2) + (".5" if d % 2 else "")
        steps: list[dict[str, Any]] = []
        grade = None
        for code, votes in zip(codes, counts, strict=True):
            passes = 2 * votes > d
            steps.append(
                {"stage": "single", "grade": code, "votes": votes, "running_total": None}
                | {"half": half, "passes": passes}
            )
            if passes:
                grade = code
                break
        if grade is None:
            running = 0
            for code, votes in zip(codes, counts, strict=True):
                running += votes
                passes = 2 * running > d
                steps.append(
                    {"stage": "cumulative", "grade": code, "votes": votes}
                    | {"running_total": running, "half": half, "passes": passes}
                )
                if passes:
                    grade = code
                    break
        hundredths = [(20000 * v + d) // (2 * d) if d else 0 for v in counts]
        grade_of[subject["key"]] = grade
        rows.append(
            {
                "key": subject["key"],
                "name": subject["name"],
                "kind": subject["kind"],
                "counts": counts,
                "blank": blank,
                "percentages": [f"{h // 100}.{h % 100:02d}" for h in hundredths],
                "denominator": rules["denominator"],
                "denominator_value": d,
                "grade": grade,
                "steps": steps,
            }
        )
    external = {k: v for k, v in linked_given.items() if v is not None}

    def better(own: str | None, other: str | None) -> bool:
        return own is not None and other is not None and rank[own] < rank[other]

    warnings: list[dict[str, Any]] = []
    if present < required:
        warnings.append(
            {"check": "quorum", "subjects": []}
            | {"present": present, "members": members, "required": required}
            | {"fraction": rules["quorum"]}
        )
    groups: list[str] = []
    for s in election["subjects"]:
        if s["peer_group"] is not None and s["peer_group"] not in groups:
            groups.append(s["peer_group"])
    for group in groups:
        in_group = [s["key"] for s in election["subjects"] if s["peer_group"] == group]
        excellent = [k for k in in_group if grade_of[k] == "HTXSNV"]
        good = sum(1 for k in in_group if grade_of[k] == "HTTNV")
        product = spec_fraction(rules["excellent_ceiling"]) * good
        ceiling = {
            "floor": math.floor(product),
            "half_up": math.floor(product + Fraction(1, 2)),
            "ceil": math.ceil(product),
        }[rules["ceiling_rounding"]]
        if len(excellent) > ceiling:
            warnings.append(
                {"check": "excellent_ceiling", "subjects": excellent, "peer_group": group}
                | {"good": good, "share": rules["excellent_ceiling"]}
                | {"product": f"{product.numerator}/{product.denominator}"}
                | {"rounding": rules["ceiling_rounding"], "ceiling": ceiling}
            )
    linked: dict[str, str | None] = {}
    enabled = {
        "heads": rules["head_not_above_unit"],
        "part_of": rules["collective_not_above_organization"],
    }
    for s in election["subjects"]:
        for link in ("heads", "part_of"):
            ref = s[link]
            if enabled[link] and ref is not None and ref not in grade_of:
                linked[ref] = external.get(ref)
                if ref not in external:
                    warnings.append(
                        {"check": "linked_not_checked", "subjects": [s["key"], ref], "link": link}
                    )
    for link, check in (
        ("heads", "head_not_above_unit"),
        ("part_of", "collective_not_above_organization"),
    ):
        if not enabled[link]:
            continue
        for s in election["subjects"]:
            ref = s[link]
            if ref is None:
                continue
            own, other = grade_of[s["key"]], grade_of.get(ref, external.get(ref))
            if better(own, other):
                warnings.append(
                    {"check": check, "subjects": [s["key"], ref], "grade": own}
                    | {"other_grade": other}
                )
    cap = rules["disciplined_max_grade"]
    for s in election["subjects"]:
        disciplined = (
            s["disciplined"]
            if "disciplined" in s
            else any(f != "self_remedied" for f in s["discipline"])
        )
        if cap is not None and disciplined and better(grade_of[s["key"]], cap):
            warnings.append(
                {"check": "disciplined_max_grade", "subjects": [s["key"]]}
                | {"grade": grade_of[s["key"]], "max_grade": cap}
            )
    rule_fields: dict[str, Any] = {"id": rules["id"], "version": rules["version"]}
    if version == 1:
        names = {r["key"]: r["name"] for r in rows}
        for i, w in enumerate(warnings):
            vi, en = spec_warning_texts(w, names)
            warnings[i] = {"check": w["check"], "subjects": w["subjects"]}
            warnings[i] |= {"message_vi": vi, "message_en": en}
    else:
        rule_fields["shipped"] = rules["id"] in ("qd124-2023", "qd366-2025")
    result: dict[str, Any] = {
        "format": f"tally-result/{version}",
        "poll": fingerprint,
        "rules": rule_fields,
        "quorum": {"members": members, "present": present, "required": required}
        | {"fraction": rules["quorum"], "met": present >= required},
        "cast": cast,
        "subjects": rows,
        "warnings": warnings,
    }
    if linked:
        result["linked"] = linked
    return json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def every_warning_poll(protocol: int) -> dict[str, bytes]:
    """A poll with a warning of every kind: quorum not met (6 of 10), a peer group over its
    ceiling, a head and a collective above their organization, a disciplined head above the cap,
    and a unit graded in a poll not counted yet."""
    subjects = [
        SubjectInfo("tinh", "Đảng bộ tỉnh", "organization"),
        SubjectInfo("btv", "Tập thể Ban Thường vụ", "collective", part_of="tinh"),
        person("bt", heads="tinh", disciplined=True, peer_group="ubtv"),
        person("pbt", heads="db-khoi", peer_group="ubtv"),
        person("uv", peer_group="ubtv"),
    ]
    choices: list[list[int | None]] = [
        [1, 0, 0, 1, 0],
        [1, 0, 0, 1, 0],
        [1, 0, 0, 1, 1],
        [1, 1, 0, 2, 0],
        [2, 0, 1, None, 0],
        [None, 0, 0, 1, 0],
    ]
    return build_bundle(
        rules=QD124,
        subjects=subjects,
        choices=choices,
        members=10,
        present=6,
        signer=ServiceKey.generate(),
        protocol=protocol,
    )


@pytest.mark.parametrize("protocol", [1, 2])
def test_every_warning_result_is_rebuilt_byte_for_byte_from_the_spec(protocol: int) -> None:
    files = every_warning_poll(protocol)
    result = json.loads(files["result.json"])
    assert [w["check"] for w in result["warnings"]] == [
        "quorum",
        "excellent_ceiling",
        "linked_not_checked",
        "head_not_above_unit",
        "collective_not_above_organization",
        "disciplined_max_grade",
    ]
    assert result["linked"] == {"db-khoi": None}
    assert spec_result(files) == files["result.json"]
    assert verify_bundle(bundle_bytes(files), workers=1).ok


@pytest.mark.parametrize("name", ["bundle-v1.zip", "bundle-v1-warning.zip"])
def test_a_version_1_result_is_rebuilt_byte_for_byte_from_the_spec(name: str) -> None:
    files = read_bundle(DATA / name)
    assert spec_result(files) == files["result.json"]


def test_a_demo_result_is_rebuilt_byte_for_byte_from_the_spec(demo: DemoPoll) -> None:
    assert json.loads(demo.files["result.json"])["format"] == "tally-result/2"
    assert spec_result(dict(demo.files)) == demo.files["result.json"]


def test_rendered_sentences_follow_the_templates_of_the_spec() -> None:
    # Version 2 keeps facts; the page's sentences are exactly version 1's (same templates).
    v1 = json.loads(every_warning_poll(1)["result.json"])
    v2_files = every_warning_poll(2)
    v2 = json.loads(v2_files["result.json"])
    texts = render_texts(v2)
    names = {r["key"]: r["name"] for r in v2["subjects"]}
    assert [(t.vi, t.en) for t in texts.warnings] == [
        spec_warning_texts(w, names) for w in v2["warnings"]
    ]
    assert [(t.vi, t.en) for t in texts.warnings] == [
        (w["message_vi"], w["message_en"]) for w in v1["warnings"]
    ]
    assert not any("message_vi" in w or "message_en" in w for w in v2["warnings"])
    # A version-1 document renders its own sentences.
    assert render_texts(v1).warnings == texts.warnings
    record = json.loads(v2_files["record.json"])
    assert record["format"] == "tally-record/2" and record["warnings"] == v2["warnings"]
    assert render_texts(record) == texts


def spec_decision(row: dict[str, Any]) -> tuple[str, str]:
    """A subject's decision sentences by the templates of docs/rules.md."""
    templates = spec_templates()
    steps = row["steps"]
    last = steps[-1]
    kind = "undetermined" if row["grade"] is None else last["stage"]
    out = []
    for lang, sep in ((0, ","), (1, ".")):
        values = {
            "grade": row["grade"],
            "votes": last["votes"],
            "running_total": last["running_total"],
            "parts": " + ".join(
                f"{s['grade']} {s['votes']}" for s in steps if s["stage"] == "cumulative"
            ),
            "denominator_text": templates[row["denominator"]][lang],
            "D": row["denominator_value"],
            "half": last["half"].replace(".", sep),
        }
        out.append(templates[kind][lang].format(**values))
    return out[0], out[1]


@pytest.mark.parametrize(
    ("counts", "blank", "rules_id", "vi"),
    [
        (
            [10, 20, 13, 2],
            0,
            "qd124-2023",
            "HTTNV: không mức nào riêng được nhiều hơn một nửa; cộng dồn từ mức cao xuống,"
            " HTXSNV 10 + HTTNV 20 = 30, nhiều hơn một nửa mẫu số (số phiếu hợp lệ = 45,"
            " một nửa là 22,5).",
        ),
        (
            [30, 10, 5, 0],
            0,
            "qd124-2023",
            "HTXSNV: riêng mức HTXSNV được 30 phiếu, nhiều hơn một nửa mẫu số"
            " (số phiếu hợp lệ = 45, một nửa là 22,5).",
        ),
        (
            [0, 0, 0, 0],
            3,
            "qd124-2023",
            "Chưa xác định, báo cáo cấp có thẩm quyền xem xét: không mức nào riêng và không tổng"
            " cộng dồn nào nhiều hơn một nửa mẫu số (số phiếu hợp lệ = 0, một nửa là 0).",
        ),
        (
            [6, 4, 0, 0],
            0,
            "qd366-2025",
            "Chưa xác định, báo cáo cấp có thẩm quyền xem xét: không mức nào riêng và không tổng"
            " cộng dồn nào nhiều hơn một nửa mẫu số (số ủy viên đương nhiệm = 50, một nửa là 25).",
        ),
    ],
    ids=["cumulative", "single", "all-blank", "members-at-half"],
)
def test_decision_sentences(counts: list[int], blank: int, rules_id: str, vi: str) -> None:
    rules = load_ruleset(rules_id)
    cast = sum(counts) + blank
    result = evaluate_poll(
        rules, [person("a")], [counts], [blank], cast=cast, present=max(cast, 20), members=50
    )
    [row] = subjects_of(result)
    text = render_decision(row)
    assert text.vi == vi
    assert (text.vi, text.en) == spec_decision(row)  # type: ignore[arg-type]
    assert render_texts(result).decisions == {"a": text}
