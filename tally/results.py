"""A whole poll's results: quorum, each subject's decision, and the checks that are reported.

Checks are reported, never applied: a warning names the subjects and the figures, and the grades
stay as decided; the deciding authority decides. The output holds only ints, strings, booleans and
null, so it can be written as canonical JSON (percentages are strings with two decimals, rounded
half up exactly).

The result holds facts, not sentences. What a reader sees, each warning and each decision in
Vietnamese and English, is rendered from those facts (``render_warning``, ``render_decision``,
``render_texts``) by the templates of docs/rules.md, so that no prose is signed (protocol
version 2). A version-1 result carried each warning's rendered text (``message_vi``,
``message_en``); ``warnings_v1`` writes it, by the same templates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from tally.rules import (
    EXCELLENT,
    GOOD,
    UNDETERMINED_EN,
    UNDETERMINED_VI,
    RuleSet,
    decide,
    format_fraction_ratio,
    format_half,
)

KINDS: tuple[str, ...] = ("individual", "collective", "organization")

# result.json's format per protocol version; version 2 has no prose in its warnings.
RESULT_FORMATS: Mapping[int, str] = {1: "tally-result/1", 2: "tally-result/2"}

# The reported checks, in the order their warnings are listed.
CHECKS: tuple[str, ...] = (
    "quorum",
    "low_turnout",
    "excellent_ceiling",
    "linked_not_checked",
    "head_not_above_unit",
    "collective_not_above_organization",
    "disciplined_max_grade",
    "discipline_individual",
    "discipline_collective",
    "leader_units_failed",
    "score_band",
    "self_grade_band",
    "differs_from_proposal",
)

_ROUNDING_TEXT = {
    "floor": ("làm tròn xuống", "rounded down"),
    "half_up": ("làm tròn đến số nguyên gần nhất, 0,5 làm tròn lên", "rounded to nearest, half up"),
    "ceil": ("làm tròn lên", "rounded up"),
}

DENOMINATOR_TEXT: Mapping[str, tuple[str, str]] = {
    "valid": ("số phiếu hợp lệ", "valid votes"),
    "cast": ("số phiếu thu về", "ballots cast"),
    "present": ("số đồng chí có mặt", "members present"),
    "members": ("số ủy viên đương nhiệm", "incumbent members"),
}


# The discipline flags of a subject (protocol version 2, docs/rules.md "Discipline"), and the
# kind of subject each applies to ("self_remedied" qualifies either).
DISCIPLINE_FLAGS: Mapping[str, tuple[str, ...]] = {
    "duty_violation": ("individual",),
    "member_disciplined": ("collective",),
    "self_remedied": ("individual", "collective"),
}
_SCORE_RE = re.compile(r"100|[1-9]?[0-9](?:\.[0-9]?[1-9])?")

SUBJECT_FIELDS_V1: tuple[str, ...] = (
    "key",
    "name",
    "kind",
    "role",
    "peer_group",
    "heads",
    "part_of",
    "disciplined",
)
SUBJECT_FIELDS_V2: tuple[str, ...] = (
    "key",
    "name",
    "kind",
    "role",
    "peer_group",
    "heads",
    "part_of",
    "responsible_for",
    "discipline",
    "self_score",
    "self_grade",
    "proposed_grade",
)


def parse_score(value: object) -> str:
    """A self-score in its one written form: a number of points 0..100 with at most two
    decimals, a decimal point and no trailing zero ("92.5", "90"). A TOML number or a string
    with a decimal comma ("92,50") is accepted and written so."""
    if isinstance(value, bool):
        raise ValueError(f"self_score: expected points 0..100, got {value!r}")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", ".")
    else:
        raise ValueError(f"self_score: expected points 0..100, got {value!r}")
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        whole, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        text = f"{int(whole)}.{frac}" if frac else str(int(whole))
    if _SCORE_RE.fullmatch(text) is None:
        raise ValueError(
            f"self_score: expected points from 0 to 100 with at most two decimals, got {value!r}"
        )
    return text


def score_fraction(text: str) -> Fraction:
    return Fraction(text)


@dataclass(frozen=True)
class SubjectInfo:
    key: str
    name: str
    kind: str  # "individual" | "collective" | "organization"
    role: str = ""
    peer_group: str | None = None
    heads: str | None = None  # key of the unit this person heads
    part_of: str | None = None  # for a collective: key of the organization it leads
    disciplined: bool = False  # version 1's one flag
    # Protocol version 2: the units a leader is responsible for, the discipline flags, and the
    # self-assessment of Quy định 366 (Art. 12 step 1) with the proposal (step 2).
    responsible_for: tuple[str, ...] = ()
    discipline: tuple[str, ...] = ()
    self_score: str | None = None
    self_grade: str | None = None
    proposed_grade: str | None = None

    def __post_init__(self) -> None:
        for field in ("key", "name"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"subject {field}: expected a non-empty string, got {value!r}")
        if self.disciplined is True and self.kind in ("individual", "collective"):
            # Version 1's one flag is the kind's violation flag of version 2 (docs/rules.md).
            flag = "duty_violation" if self.kind == "individual" else "member_disciplined"
            object.__setattr__(self, "discipline", tuple(sorted({*self.discipline, flag})))
            object.__setattr__(self, "disciplined", False)
        if self.kind not in KINDS:
            raise ValueError(
                f"subject {self.key}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if not isinstance(self.role, str):
            raise ValueError(f"subject {self.key}: role must be a string")
        for field in ("peer_group", "heads", "part_of", "self_grade", "proposed_grade"):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"subject {self.key}: {field} must be a non-empty string or null")
        if not isinstance(self.disciplined, bool):
            raise ValueError(f"subject {self.key}: disciplined must be true or false")
        if self.heads is not None and self.kind != "individual":
            raise ValueError(f"subject {self.key}: only an individual can head a unit")
        if self.part_of is not None and self.kind != "collective":
            raise ValueError(f"subject {self.key}: only a collective leads an organization")
        if self.key in (self.heads, self.part_of, *self.responsible_for):
            raise ValueError(f"subject {self.key}: refers to itself")
        if self.responsible_for:
            if self.kind != "individual":
                raise ValueError(
                    f"subject {self.key}: responsible_for: only an individual is responsible"
                    " for units"
                )
            if list(self.responsible_for) != sorted(set(self.responsible_for)) or not all(
                isinstance(k, str) and k.strip() for k in self.responsible_for
            ):
                raise ValueError(
                    f"subject {self.key}: responsible_for: expected distinct keys in sorted order"
                )
        for flag in self.discipline:
            kinds = DISCIPLINE_FLAGS.get(flag) if isinstance(flag, str) else None
            if kinds is None:
                raise ValueError(
                    f"subject {self.key}: discipline: {flag!r} is not one of"
                    f" {', '.join(DISCIPLINE_FLAGS)}"
                )
            if self.kind not in kinds:
                raise ValueError(
                    f"subject {self.key}: discipline: {flag!r} applies to"
                    f" {' or '.join(kinds)} subjects, not to a subject of kind {self.kind}"
                )
        if list(self.discipline) != sorted(set(self.discipline)):
            raise ValueError(f"subject {self.key}: discipline: expected distinct flags, sorted")
        if self.discipline == ("self_remedied",):
            raise ValueError(
                f"subject {self.key}: discipline: 'self_remedied' qualifies a violation;"
                " give the violation too"
            )
        if self.self_score is not None and (
            not isinstance(self.self_score, str) or parse_score(self.self_score) != self.self_score
        ):
            raise ValueError(
                f"subject {self.key}: self_score: {self.self_score!r} is not points 0..100 in"
                " its written form"
            )

    @property
    def is_disciplined(self) -> bool:
        """Disciplined in the year (version 1's flag, or a violation of version 2)."""
        return self.disciplined or any(f != "self_remedied" for f in self.discipline)

    def check_grades(self, codes: Sequence[str]) -> None:
        """The self-grade and proposed grade must be grades of the poll's rule set."""
        for field in ("self_grade", "proposed_grade"):
            value = getattr(self, field)
            if value is not None and value not in codes:
                raise ValueError(
                    f"subject {self.key}: {field}: {value!r} is not one of {', '.join(codes)}"
                )

    def to_dict(self, version: int = 2) -> dict[str, object]:
        common: dict[str, object] = {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "role": self.role,
            "peer_group": self.peer_group,
            "heads": self.heads,
            "part_of": self.part_of,
        }
        if version == 1:
            return {**common, "disciplined": self.is_disciplined}
        if self.disciplined:
            raise ValueError(
                f"subject {self.key}: discipline: an organization has no discipline flag"
                " (only an individual or a collective)"
            )
        return {
            **common,
            "responsible_for": list(self.responsible_for),
            "discipline": list(self.discipline),
            "self_score": self.self_score,
            "self_grade": self.self_grade,
            "proposed_grade": self.proposed_grade,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SubjectInfo:
        allowed = set(SUBJECT_FIELDS_V1) | set(SUBJECT_FIELDS_V2)
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ValueError(f"subject: unknown key(s): {', '.join(unknown)}")
        missing = [k for k in ("key", "name", "kind") if k not in data]
        if missing:
            raise ValueError(f"subject: missing key(s): {', '.join(missing)}")
        score = data.get("self_score")
        return cls(
            key=_as_str(data["key"], "key"),
            name=_as_str(data["name"], "name"),
            kind=_as_str(data["kind"], "kind"),
            role=_as_str(data.get("role", ""), "role"),
            peer_group=_as_opt_str(data.get("peer_group"), "peer_group"),
            heads=_as_opt_str(data.get("heads"), "heads"),
            part_of=_as_opt_str(data.get("part_of"), "part_of"),
            disciplined=_as_bool(data.get("disciplined", False), "disciplined"),
            responsible_for=_as_strs(data.get("responsible_for", []), "responsible_for"),
            discipline=_as_strs(data.get("discipline", []), "discipline"),
            self_score=None if score is None else _as_str(score, "self_score"),
            self_grade=_as_opt_str(data.get("self_grade"), "self_grade"),
            proposed_grade=_as_opt_str(data.get("proposed_grade"), "proposed_grade"),
        )


def _as_strs(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"subject {field}: expected a list of strings, got {value!r}")
    return tuple(value)


def _as_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"subject {field}: expected a string, got {value!r}")
    return value


def _as_opt_str(value: object, field: str) -> str | None:
    return None if value is None else _as_str(value, field)


def _as_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"subject {field}: expected true or false, got {value!r}")
    return value


def percent(part: int, whole: int) -> str:
    """``part / whole`` in percent, two decimals, rounded half up exactly: 20/45 -> "44.44".

    An empty denominator gives "0.00": there is nothing to be a share of.
    """
    if whole == 0:
        return "0.00"
    hundredths = math.floor(Fraction(part * 10000, whole) + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def round_fraction(value: Fraction, rounding: str) -> int:
    if rounding == "floor":
        return math.floor(value)
    if rounding == "ceil":
        return math.ceil(value)
    if rounding == "half_up":
        return math.floor(value + Fraction(1, 2))
    raise ValueError(f"rounding: {rounding!r} is not one of floor, half_up, ceil")


def _decimal(value: Fraction, sep: str) -> str:
    """Exact decimal if the fraction terminates (1.6), else ``p/q`` (7/3), never rounded."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = max(twos, fives)
    scaled = value.numerator * 10**digits // value.denominator
    whole, frac = divmod(scaled, 10**digits)
    return f"{whole}{sep}{frac:0{digits}d}" if digits else str(whole)


def _warning(check: str, keys: Sequence[str], **facts: object) -> dict[str, object]:
    return {"check": check, "subjects": list(keys), **facts}


def evaluate_poll(
    rules: RuleSet,
    subjects: Sequence[SubjectInfo],
    counts: Sequence[Sequence[int]],
    blanks: Sequence[int],
    *,
    cast: int,
    present: int,
    members: int,
    external_grades: Mapping[str, str] | None = None,
    outstanding_groups: Sequence[str] = (),
) -> dict[str, object]:
    """Decide every subject of one poll and report the checks; see ``docs/rules.md``.

    ``outstanding_groups``: the peer groups whose ceiling the competent level raised to the
    rule set's ``excellent_ceiling_outstanding`` (Quy định 366: up to 25%).

    The warnings are facts (version 2's form); ``warnings_v1`` gives version 1's texts.
    """
    if not len(subjects) == len(counts) == len(blanks):
        raise ValueError(
            f"got {len(subjects)} subjects, {len(counts)} rows of counts and {len(blanks)} blanks;"
            " they must match"
        )
    for name, value in (("cast", cast), ("present", present), ("members", members)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}: expected a whole number >= 0, got {value!r}")
    if members < 1:
        raise ValueError("members: a poll needs at least one incumbent member")
    if cast > present or present > members:
        raise ValueError(
            f"cast ({cast}) <= present ({present}) <= members ({members}) does not hold"
        )
    keys = [s.key for s in subjects]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate subject key(s): {', '.join(duplicates)}")
    external = dict(external_grades or {})
    for key, code in external.items():
        if key in keys:
            raise ValueError(f"external_grades: {key} is a subject of this poll, graded here")
        if code not in rules.grade_codes:
            raise ValueError(
                f"external_grades[{key}]: {code!r} is not one of {', '.join(rules.grade_codes)}"
            )

    required = math.ceil(rules.quorum * members)
    met = present >= required
    rows: list[dict[str, object]] = []
    grades: dict[str, str | None] = {}
    for info, row, blank in zip(subjects, counts, blanks, strict=True):
        try:
            decision = decide(rules, row, blank=blank, cast=cast, present=present, members=members)
        except ValueError as exc:
            raise ValueError(f"subject {info.key}: {exc}") from exc
        grades[info.key] = decision.grade
        rows.append(
            {
                "key": info.key,
                "name": info.name,
                "kind": info.kind,
                "counts": list(row),
                "blank": blank,
                "percentages": [percent(n, decision.denominator_value) for n in row],
                "denominator": decision.denominator,
                "denominator_value": decision.denominator_value,
                "grade": decision.grade,
                "steps": [dict(step) for step in decision.steps],
            }
        )

    fraction = format_fraction_ratio(rules.quorum)
    warnings: list[dict[str, object]] = []
    if not met:
        warnings.append(
            _warning(
                "quorum", [], present=present, members=members, required=required, fraction=fraction
            )
        )
    if rules.low_turnout is not None and cast < rules.low_turnout * present:
        warnings.append(
            _warning(
                "low_turnout",
                [],
                cast=cast,
                present=present,
                share=format_fraction_ratio(rules.low_turnout),
            )
        )
    if not rules.is_adoption:  # an adoption grades nothing: no ceiling
        warnings += _ceiling_warnings(rules, subjects, grades, outstanding_groups)

    def known(key: str) -> str | None:
        return grades[key] if key in grades else external.get(key)

    def above(own: str | None, other: str | None) -> bool:
        return (
            own is not None
            and other is not None
            and rules.grade_index(own) < rules.grade_index(other)
        )

    # A head's unit or a collective's organization is often graded in another poll of the same
    # conference: its grade comes in ``external_grades`` once that poll is counted. A link whose
    # grade is not known is reported as not checked, never skipped silently.
    links = [
        (s, ref, link)
        for s in subjects
        for ref, link in (
            (s.heads if rules.head_not_above_unit else None, "heads"),
            (s.part_of if rules.collective_not_above_organization else None, "part_of"),
            *(
                (unit, "responsible_for")
                for unit in (s.responsible_for if rules.leader_units_failed is not None else ())
            ),
        )
        if ref is not None and ref not in grades
    ]
    linked = {ref: external.get(ref) for _s, ref, _link in links}
    for s, ref, link in links:
        if external.get(ref) is None and not any(
            w["check"] == "linked_not_checked" and w["subjects"] == [s.key, ref] for w in warnings
        ):
            warnings.append(_warning("linked_not_checked", [s.key, ref], link=link))

    if rules.head_not_above_unit:
        for s in subjects:
            if s.heads is None:
                continue
            own, unit = grades[s.key], known(s.heads)
            if above(own, unit):
                warnings.append(
                    _warning("head_not_above_unit", [s.key, s.heads], grade=own, other_grade=unit)
                )
    if rules.collective_not_above_organization:
        for s in subjects:
            if s.part_of is None:
                continue
            own, org = grades[s.key], known(s.part_of)
            if above(own, org):
                warnings.append(
                    _warning(
                        "collective_not_above_organization",
                        [s.key, s.part_of],
                        grade=own,
                        other_grade=org,
                    )
                )
    cap = rules.disciplined_max_grade
    if cap is not None:
        for s in subjects:
            own = grades[s.key]
            if s.is_disciplined and above(own, cap):
                warnings.append(
                    _warning("disciplined_max_grade", [s.key], grade=own, max_grade=cap)
                )
    warnings += _qd366_warnings(rules, subjects, grades, known)

    return {
        "rules": {"id": rules.id, "version": rules.version},
        "quorum": {
            "members": members,
            "present": present,
            "required": required,
            "fraction": fraction,
            "met": met,
        },
        "cast": cast,
        "subjects": rows,
        "warnings": warnings,
        **({"linked": linked} if linked else {}),
    }


def _qd366_warnings(
    rules: RuleSet,
    subjects: Sequence[SubjectInfo],
    grades: Mapping[str, str | None],
    known: Any,
) -> list[dict[str, object]]:
    """The checks of Quy định 366 (docs/rules.md): discipline by kind, the leader whose units
    failed, the score bands and the proposal. Reported, never applied."""
    out: list[dict[str, object]] = []
    worst = rules.grade_codes[-1]
    if rules.discipline == "qd366":
        for s in subjects:
            own = grades[s.key]
            remedied = "self_remedied" in s.discipline
            if "duty_violation" in s.discipline and own is not None and own != worst:
                out.append(
                    _warning(
                        "discipline_individual",
                        [s.key],
                        grade=own,
                        expected=worst,
                        remedied=remedied,
                    )
                )
            if "member_disciplined" in s.discipline and own == EXCELLENT:
                out.append(_warning("discipline_collective", [s.key], grade=own, remedied=remedied))
    share = rules.leader_units_failed
    if share is not None:
        for s in subjects:
            if not s.responsible_for:
                continue
            own = grades[s.key]
            unit_grades = [known(u) for u in s.responsible_for]
            failed = [u for u, g in zip(s.responsible_for, unit_grades, strict=True) if g == worst]
            total = len(s.responsible_for)
            if own is not None and own != worst and len(failed) > share * total:
                out.append(
                    _warning(
                        "leader_units_failed",
                        [s.key, *failed],
                        grade=own,
                        failed=len(failed),
                        units=total,
                        share=format_fraction_ratio(share),
                    )
                )
    for s in subjects:
        own = grades[s.key]
        if s.self_score is not None and rules.score_bands is not None:
            band = rules.band_grade(score_fraction(s.self_score))
            assert band is not None
            if own is not None and rules.grade_index(own) < rules.grade_index(band):
                out.append(
                    _warning("score_band", [s.key], grade=own, score=s.self_score, band=band)
                )
            if s.self_grade is not None and rules.grade_index(s.self_grade) < rules.grade_index(
                band
            ):
                out.append(
                    _warning(
                        "self_grade_band",
                        [s.key],
                        self_grade=s.self_grade,
                        score=s.self_score,
                        band=band,
                    )
                )
        if (
            not rules.is_adoption
            and s.proposed_grade is not None
            and own is not None
            and own != s.proposed_grade
        ):
            out.append(
                _warning("differs_from_proposal", [s.key], grade=own, proposed=s.proposed_grade)
            )
    order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(out, key=lambda w: order[str(w["check"])])


def _ceiling_warnings(
    rules: RuleSet,
    subjects: Sequence[SubjectInfo],
    grades: Mapping[str, str | None],
    outstanding_groups: Sequence[str] = (),
) -> list[dict[str, object]]:
    groups: dict[str, list[SubjectInfo]] = {}
    for s in subjects:
        if s.peer_group is not None:
            groups.setdefault(s.peer_group, []).append(s)
    out = []
    for group, members in groups.items():
        excellent = [s.key for s in members if grades[s.key] == EXCELLENT]
        good = sum(1 for s in members if grades[s.key] == GOOD)
        facts = _over_ceiling(rules, len(excellent), good, group in outstanding_groups)
        if facts is not None:
            out.append(_warning("excellent_ceiling", excellent, peer_group=group, **facts))
    return out


def _over_ceiling(
    rules: RuleSet, excellent: int, good: int, raised: bool
) -> dict[str, object] | None:
    """The ceiling's facts when ``excellent`` HTXSNV are more than the ceiling over ``good``
    HTTNV (``raised``: the competent level raised the group's share, where the rule set has
    one), else None."""
    outstanding = raised and rules.excellent_ceiling_outstanding is not None
    share = (
        rules.excellent_ceiling_outstanding
        if outstanding and rules.excellent_ceiling_outstanding is not None
        else rules.excellent_ceiling
    )
    product = share * good
    ceiling = round_fraction(product, rules.ceiling_rounding)
    if excellent <= ceiling:
        return None
    facts: dict[str, object] = {
        "good": good,
        "share": format_fraction_ratio(share),
        "product": format_fraction_ratio(product),
        "rounding": rules.ceiling_rounding,
        "ceiling": ceiling,
    }
    if outstanding:
        facts["outstanding"] = True
    return facts


@dataclass(frozen=True)
class CountedPoll:
    """One counted poll of a conference, for the checks across its polls."""

    poll: str  # how the poll is named in a warning (its id or title)
    rules: RuleSet
    subjects: Sequence[SubjectInfo]
    grades: Mapping[str, str | None]  # by subject key, as the signed result decided
    outstanding_groups: Sequence[str] = ()


def conference_warnings(polls: Sequence[CountedPoll]) -> list[dict[str, object]]:
    """The excellent ceiling across the polls of one conference (Quy định 366: per peer group,
    whatever poll a member of it was graded in). A peer group graded in two polls or more is
    checked as one group; one graded in a single poll is that poll's own warning already.
    Reported, never applied; a group whose polls use different rule sets is reported as not
    checked."""
    groups: dict[str, list[tuple[CountedPoll, SubjectInfo]]] = {}
    for counted in polls:
        if counted.rules.is_adoption:
            continue
        for s in counted.subjects:
            if s.peer_group is not None:
                groups.setdefault(s.peer_group, []).append((counted, s))
    out: list[dict[str, object]] = []
    for group, members in groups.items():
        names = list(dict.fromkeys(c.poll for c, _s in members))
        if len(names) < 2:
            continue
        rule_sets = {(c.rules.id, c.rules.version) for c, _s in members}
        if len(rule_sets) > 1:
            out.append(_warning("ceiling_not_checked", [], peer_group=group, polls=names))
            continue
        excellent = [s.key for c, s in members if c.grades.get(s.key) == EXCELLENT]
        good = sum(1 for c, s in members if c.grades.get(s.key) == GOOD)
        raised = any(group in c.outstanding_groups for c, _s in members)
        facts = _over_ceiling(members[0][0].rules, len(excellent), good, raised)
        if facts is not None:
            out.append(
                _warning(
                    "excellent_ceiling_across_polls",
                    excellent,
                    peer_group=group,
                    polls=names,
                    **facts,
                )
            )
    return out


def render_conference_warning(warning: Mapping[str, Any]) -> Text:
    polls = ", ".join(str(p) for p in warning["polls"])
    group = warning["peer_group"]
    if warning["check"] == "ceiling_not_checked":
        return Text(
            f"Nhóm “{group}” được xếp loại ở các cuộc biểu quyết {polls} theo các bộ quy tắc"
            " khác nhau: chưa đối chiếu tỷ lệ Hoàn thành xuất sắc nhiệm vụ của cả nhóm.",
            f"Peer group “{group}” is graded in polls {polls} under different rule sets: its"
            " excellent ceiling is not checked across them.",
        )
    single = render_warning({**warning, "check": "excellent_ceiling"}, {})
    return Text(
        f"Cả nhóm, qua các cuộc biểu quyết {polls}: {single.vi}",
        f"The whole group, across polls {polls}: {single.en}",
    )


# --- the sentences, rendered from the facts (docs/rules.md, "Texts") ----------------------------


@dataclass(frozen=True)
class Text:
    """One sentence in both languages."""

    vi: str
    en: str


@dataclass(frozen=True)
class ResultTexts:
    """Every sentence of a result or record: its warnings in order, each subject's decision."""

    warnings: tuple[Text, ...]
    decisions: Mapping[str, Text]  # by subject key


def void_result(
    rules: RuleSet,
    subjects: Sequence[SubjectInfo],
    counts: Sequence[Sequence[int]],
    blanks: Sequence[int],
    *,
    cast: int,
    present: int,
    members: int,
) -> dict[str, object]:
    """A poll whose figures do not reconcile (more ballots than members present): no subject is
    graded, the counts are shown against the ballots, and ``void`` says why; the poll is to be
    voted again (protocol version 2, docs/rules.md "A void poll")."""
    required = math.ceil(rules.quorum * members)
    rows: list[dict[str, object]] = [
        {
            "key": info.key,
            "name": info.name,
            "kind": info.kind,
            "counts": list(row),
            "blank": blank,
            "percentages": [percent(n, cast) for n in row],
            "denominator": "cast",
            "denominator_value": cast,
            "grade": None,
            "steps": [],
        }
        for info, row, blank in zip(subjects, counts, blanks, strict=True)
    ]
    return {
        "rules": {"id": rules.id, "version": rules.version},
        "quorum": {
            "members": members,
            "present": present,
            "required": required,
            "fraction": format_fraction_ratio(rules.quorum),
            "met": present >= required,
        },
        "cast": cast,
        "subjects": rows,
        "warnings": [],
        "void": {"reason": "ballots_exceed_present", "ballots": cast, "present": present},
    }


VOID_TEXT = Text(
    "Không xếp loại: số phiếu thu vào nhiều hơn số đồng chí có mặt; kết quả cuộc biểu quyết"
    " không có giá trị, phải biểu quyết lại.",
    "Not graded: more ballots than members present; the poll's result is void and the vote"
    " must be held again.",
)


def _fraction(text: object) -> Fraction:
    if not isinstance(text, str) or "/" not in text:
        raise ValueError(f"expected a fraction p/q, got {text!r}")
    num, den = text.split("/", 1)
    return Fraction(int(num), int(den))


def render_warning(warning: Mapping[str, Any], names: Mapping[str, str]) -> Text:
    """A warning's sentence from its facts; ``names`` maps subject keys to names (a key that is
    not a subject of the poll stands for itself)."""
    check = warning["check"]
    keys = list(warning["subjects"])

    def name(i: int) -> str:
        return names.get(keys[i], keys[i])

    if check == "quorum":
        present, members = warning["present"], warning["members"]
        required, fraction = warning["required"], warning["fraction"]
        return Text(
            f"Không đủ số lượng tham dự: có mặt {present}/{members} đồng chí, cần ít nhất"
            f" {required} ({fraction} số ủy viên đương nhiệm).",
            f"Quorum not met: {present} of {members} members present, at least {required}"
            f" ({fraction} of incumbent members) required.",
        )
    if check == "excellent_ceiling":
        group, good, ceiling = warning["peer_group"], warning["good"], warning["ceiling"]
        share, product = _fraction(warning["share"]) * 100, _fraction(warning["product"])
        rounding = warning["rounding"]
        rounding_vi, rounding_en = _ROUNDING_TEXT[rounding]
        tag_vi = " (nhóm có thành tích nổi bật)" if warning.get("outstanding") else ""
        tag_en = " (an outstanding group)" if warning.get("outstanding") else ""
        return Text(
            f"Nhóm “{group}”{tag_vi}: {len(keys)} được xếp loại {EXCELLENT}, vượt mức tối đa"
            f" {ceiling} ({_decimal(share, ',')}% × {good} {GOOD} = {_decimal(product, ',')},"
            f" {rounding_vi} ({rounding})).",
            f"Peer group “{group}”{tag_en}: {len(keys)} graded {EXCELLENT}, above the ceiling of"
            f" {ceiling} ({_decimal(share, '.')}% × {good} {GOOD} = {_decimal(product, '.')},"
            f" {rounding_en} ({rounding})).",
        )
    if check == "linked_not_checked":
        own, ref = name(0), keys[1]
        return Text(
            f"Chưa đối chiếu “{own}” với “{ref}”: “{ref}” được xếp loại ở cuộc biểu"
            " quyết khác, chưa kiểm phiếu xong khi lập biên bản này.",
            f"“{own}” not checked against “{ref}”: “{ref}” is graded in another"
            " poll, not yet counted when this record was made.",
        )
    if check == "head_not_above_unit":
        grade, other = warning["grade"], warning["other_grade"]
        return Text(
            f"Người đứng đầu “{name(0)}” được xếp loại {grade}, cao hơn đơn vị do mình"
            f" đứng đầu “{name(1)}” ({other}).",
            f"Head “{name(0)}” is graded {grade}, above the unit they head “{name(1)}” ({other}).",
        )
    if check == "collective_not_above_organization":
        grade, other = warning["grade"], warning["other_grade"]
        return Text(
            f"Tập thể “{name(0)}” được xếp loại {grade}, cao hơn tổ chức đảng do tập thể"
            f" lãnh đạo “{name(1)}” ({other}).",
            f"Collective “{name(0)}” is graded {grade}, above the organization it leads"
            f" “{name(1)}” ({other}).",
        )
    if check == "disciplined_max_grade":
        grade, cap = warning["grade"], warning["max_grade"]
        return Text(
            f"“{name(0)}” bị kỷ luật trong năm nhưng được xếp loại {grade},"
            f" cao hơn mức tối đa {cap}.",
            f"“{name(0)}” was disciplined in the year but is graded {grade},"
            f" above the maximum {cap}.",
        )
    if check == "low_turnout":
        cast, present, share = warning["cast"], warning["present"], _fraction(warning["share"])
        pct_vi, pct_en = _decimal(share * 100, ","), _decimal(share * 100, ".")
        return Text(
            f"Số phiếu thu vào ({cast}) thấp hơn nhiều so với số đồng chí có mặt ({present}):"
            f" dưới {pct_vi}% số có mặt; đề nghị Hội nghị xem xét.",
            f"Ballots cast ({cast}) fall well below the members present ({present}):"
            f" under {pct_en}% of those present; the conference should consider it.",
        )
    if check == "discipline_individual":
        grade, expected = warning["grade"], warning["expected"]
        if warning["remedied"]:
            return Text(
                f"“{name(0)}” bị kỷ luật từ khiển trách trở lên do vi phạm liên quan đến thực hiện"
                f" chức trách, nhiệm vụ, được xếp loại {grade}; vi phạm do tự phát hiện, khắc"
                f" phục: cấp có thẩm quyền xem xét (thông thường là {expected}).",
                f"“{name(0)}” was disciplined (reprimand or above) for a duty-related violation"
                f" and is graded {grade}; the violation was self-detected and remedied: the"
                f" competent level weighs it (otherwise {expected}).",
            )
        return Text(
            f"“{name(0)}” bị kỷ luật từ khiển trách trở lên do vi phạm liên quan đến thực hiện"
            f" chức trách, nhiệm vụ nhưng được xếp loại {grade}; theo Quy định phải là {expected}.",
            f"“{name(0)}” was disciplined (reprimand or above) for a duty-related violation but"
            f" is graded {grade}; the regulation says {expected}.",
        )
    if check == "discipline_collective":
        grade = warning["grade"]
        extra_vi = " (vi phạm do tự phát hiện, khắc phục)" if warning["remedied"] else ""
        extra_en = " (the violation was self-detected and remedied)" if warning["remedied"] else ""
        return Text(
            f"Tập thể “{name(0)}” có thành viên bị kỷ luật do vi phạm chức trách,"
            f" nhiệm vụ{extra_vi} nhưng được xếp loại {grade}: không được xếp loại {EXCELLENT};"
            " trong các trường hợp Quy định nêu, xếp loại Không hoàn thành nhiệm vụ.",
            f"Collective “{name(0)}” has a member disciplined for a duty violation{extra_en} but"
            f" is graded {grade}: it cannot be {EXCELLENT}, and in the listed cases it is KHTNV.",
        )
    if check == "leader_units_failed":
        grade, failed, units = warning["grade"], warning["failed"], warning["units"]
        share = _fraction(warning["share"]) * 100
        return Text(
            f"“{name(0)}” được xếp loại {grade}, nhưng {failed}/{units} đơn vị do mình phụ trách"
            f" xếp loại Không hoàn thành nhiệm vụ, trên {_decimal(share, ',')}%.",
            f"“{name(0)}” is graded {grade}, but {failed} of the {units} units they are"
            f" responsible for are KHTNV, more than {_decimal(share, '.')}%.",
        )
    if check == "score_band":
        grade, score, band = warning["grade"], warning["score"], warning["band"]
        return Text(
            f"“{name(0)}” được xếp loại {grade}, cao hơn mức tương ứng với điểm tự chấm"
            f" {score.replace('.', ',')} ({band}).",
            f"“{name(0)}” is graded {grade}, above the grade of its self-score {score} ({band}).",
        )
    if check == "self_grade_band":
        own, score, band = warning["self_grade"], warning["score"], warning["band"]
        return Text(
            f"“{name(0)}” tự xếp loại {own}, cao hơn mức tương ứng với điểm tự chấm"
            f" {score.replace('.', ',')} ({band}).",
            f"“{name(0)}” self-graded {own}, above the grade of its self-score {score} ({band}).",
        )
    if check == "differs_from_proposal":
        grade, proposed = warning["grade"], warning["proposed"]
        return Text(
            f"“{name(0)}” được xếp loại {grade}, khác mức đề xuất {proposed}.",
            f"“{name(0)}” is graded {grade}, not the proposed {proposed}.",
        )
    raise ValueError(f"unknown check {check!r}")


def render_decision(row: Mapping[str, Any]) -> Text:
    """How one subject's grade was reached, from its ``steps`` (a row of ``subjects``)."""
    steps = list(row["steps"])
    grade = row["grade"]
    d = row["denominator_value"]
    half = format_half(d)
    dn_vi, dn_en = DENOMINATOR_TEXT[row["denominator"]]
    of_vi = f"nhiều hơn một nửa mẫu số ({dn_vi} = {d}, một nửa là {half.replace('.', ',')})"
    of_en = f"more than half of the denominator ({dn_en} = {d}, half is {half})"
    if grade is None:
        return Text(
            f"{UNDETERMINED_VI}: không mức nào riêng và không tổng cộng dồn nào {of_vi}.",
            f"{UNDETERMINED_EN[0].upper()}{UNDETERMINED_EN[1:]}: neither a grade alone nor a"
            f" running total is {of_en}.",
        )
    last = steps[-1]
    if last["stage"] == "adoption":
        votes, code = last["votes"], last["grade"]
        if last["passes"]:
            return Text(
                f"Thông qua: {votes} phiếu tán thành, {of_vi}.",
                f"Adopted: {votes} votes for, {of_en}.",
            )
        return Text(
            f"Không thông qua: {votes} phiếu tán thành, không {of_vi}.",
            f"Not adopted: {votes} votes for ({code}), not {of_en}.",
        )
    if last["stage"] == "single":
        votes = last["votes"]
        return Text(
            f"{grade}: riêng mức {grade} được {votes} phiếu, {of_vi}.",
            f"{grade}: the votes for {grade} alone ({votes}) are {of_en}.",
        )
    parts = " + ".join(f"{s['grade']} {s['votes']}" for s in steps if s["stage"] == "cumulative")
    running = last["running_total"]
    return Text(
        f"{grade}: không mức nào riêng được nhiều hơn một nửa; cộng dồn từ mức cao xuống,"
        f" {parts} = {running}, {of_vi}.",
        f"{grade}: no grade alone has more than half; adding from the best grade down,"
        f" {parts} = {running}, {of_en}.",
    )


def _names(doc: Mapping[str, Any]) -> dict[str, str]:
    return {row["key"]: row["name"] for row in doc["subjects"]}


def warnings_v1(
    warnings: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, object]]:
    """Version 1's form of the warnings: each check and subjects with its rendered sentence."""
    out: list[dict[str, object]] = []
    for w in warnings:
        text = render_warning(w, names)
        out.append(
            {
                "check": w["check"],
                "subjects": list(w["subjects"]),
                "message_vi": text.vi,
                "message_en": text.en,
            }
        )
    return out


def render_texts(doc: Mapping[str, Any]) -> ResultTexts:
    """The sentences of a result or record (``result.json``, ``record.json``; version 1 or 2):
    its warnings in order and each subject's decision, for a page to show."""
    names = _names(doc)
    if doc.get("void"):
        void = doc["void"]
        reason = Text(
            f"Kết quả không có giá trị: {void['ballots']} phiếu thu vào, nhiều hơn số đồng chí"
            f" có mặt ({void['present']}). Phải biểu quyết lại.",
            f"The result is void: {void['ballots']} ballots, more than the members present"
            f" ({void['present']}). The vote must be held again.",
        )
        return ResultTexts((reason,), {row["key"]: VOID_TEXT for row in doc["subjects"]})
    warnings = []
    for w in doc["warnings"]:
        if "message_vi" in w and "message_en" in w:  # version 1: the text is in the document
            warnings.append(Text(str(w["message_vi"]), str(w["message_en"])))
        else:
            warnings.append(render_warning(w, names))
    decisions = {row["key"]: render_decision(row) for row in doc["subjects"]}
    return ResultTexts(tuple(warnings), decisions)
