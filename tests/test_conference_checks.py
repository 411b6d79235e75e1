"""The excellent ceiling across the polls of one conference (Quy định 366: per peer group,
whichever poll each member was graded in), table-driven; and `tally conference-check` on real
bundles."""

from __future__ import annotations

import pytest

from tally.results import (
    CountedPoll,
    SubjectInfo,
    conference_warnings,
    render_conference_warning,
)
from tally.rules import RuleSet, load_ruleset, shipped_rulesets

QD366 = load_ruleset("qd366-2025")
QD124 = load_ruleset("qd124-2023")
ADOPTION = load_ruleset("thong-qua-2025")


def poll(
    name: str,
    grades: list[str],
    *,
    rules: RuleSet = QD366,
    group: str = "g",
    outstanding: tuple[str, ...] | list[str] = (),
) -> CountedPoll:
    subjects = [
        SubjectInfo(f"{name}-{i}", f"{name} {i}", "organization", peer_group=group)
        for i in range(len(grades))
    ]
    return CountedPoll(
        name,
        rules,
        subjects,
        {s.key: g for s, g in zip(subjects, grades, strict=True)},
        tuple(outstanding),
    )


T, X = "HTTNV", "HTXSNV"


@pytest.mark.parametrize(
    ("polls", "expected"),
    [
        # 8 HTTNV across two polls: at most floor(8/5) = 1 HTXSNV; two are above it.
        (
            [poll("A", [T] * 4 + [X]), poll("B", [T] * 4 + [X])],
            ("excellent_ceiling_across_polls", 2, 1),
        ),
        # 10 HTTNV: 2 allowed, 2 graded: nothing to report.
        ([poll("A", [T] * 5 + [X]), poll("B", [T] * 5 + [X])], None),
        # The competent level's 25% for an outstanding group: floor(8/4) = 2.
        ([poll("A", [T] * 4 + [X], outstanding=["g"]), poll("B", [T] * 4 + [X])], None),
        # 25%, but three graded HTXSNV.
        (
            [poll("A", [T] * 4 + [X, X], outstanding=["g"]), poll("B", [T] * 4 + [X])],
            ("excellent_ceiling_across_polls", 3, 2),
        ),
        # A group graded in one poll only is that poll's own warning, not repeated here.
        ([poll("A", [T] + [X] * 3), poll("B", [T], group="h")], None),
        # Different rule sets: not checked, and said so.
        (
            [poll("A", [T] * 4 + [X]), poll("B", [T] * 4 + [X], rules=QD124)],
            ("ceiling_not_checked", 0, None),
        ),
        # An adoption poll grades nothing.
        ([poll("A", [T] * 5 + [X]), poll("B", ["TT"], rules=ADOPTION)], None),
        # Three polls, one group.
        (
            [poll("A", [T, X]), poll("B", [T, X]), poll("C", [T, T, T])],
            ("excellent_ceiling_across_polls", 2, 1),
        ),
    ],
    ids=[
        "20%-over",
        "20%-within",
        "25%-within",
        "25%-over",
        "one-poll",
        "rule-sets",
        "adoption",
        "three",
    ],
)
def test_the_ceiling_across_polls(
    polls: list[CountedPoll], expected: tuple[str, int, int | None] | None
) -> None:
    warnings = conference_warnings(polls)
    if expected is None:
        assert warnings == []
        return
    check, excellent, ceiling = expected
    [w] = warnings
    assert w["check"] == check and len(w["subjects"]) == excellent  # type: ignore[arg-type]
    assert w.get("ceiling") == ceiling
    assert w["polls"] == [
        p.poll for p in polls if not p.rules.is_adoption and p.subjects[0].peer_group == "g"
    ]
    text = render_conference_warning(w)
    assert text.vi and text.en and text.vi != text.en
    if check == "excellent_ceiling_across_polls":
        assert "Cả nhóm" in text.vi and "across polls" in text.en
        share = "25" if w.get("outstanding") else "20"
        assert f"{share}%" in text.vi


def test_superseded_rule_sets_are_still_loaded_for_old_polls() -> None:
    assert ("qd366-2025", "1") in shipped_rulesets()
