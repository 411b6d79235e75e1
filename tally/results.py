"""A whole poll's results: quorum, each subject's decision, and the checks that are reported.

Checks are reported, never applied: a warning names the subjects and the figures, and the grades
stay as decided; the deciding authority decides. The output holds only ints, strings, booleans and
null, so it can be written as canonical JSON (percentages are strings with two decimals, rounded
half up exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from tally.rules import EXCELLENT, GOOD, RuleSet, decide, format_fraction_ratio

KINDS: tuple[str, ...] = ("individual", "collective", "organization")

_ROUNDING_TEXT = {
    "floor": ("làm tròn xuống", "rounded down"),
    "half_up": ("làm tròn đến số nguyên gần nhất, 0,5 làm tròn lên", "rounded to nearest, half up"),
    "ceil": ("làm tròn lên", "rounded up"),
}


@dataclass(frozen=True)
class SubjectInfo:
    key: str
    name: str
    kind: str  # "individual" | "collective" | "organization"
    role: str = ""
    peer_group: str | None = None
    heads: str | None = None  # key of the unit this person heads
    part_of: str | None = None  # for a collective: key of the organization it leads
    disciplined: bool = False

    def __post_init__(self) -> None:
        for field in ("key", "name"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"subject {field}: expected a non-empty string, got {value!r}")
        if self.kind not in KINDS:
            raise ValueError(
                f"subject {self.key}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if not isinstance(self.role, str):
            raise ValueError(f"subject {self.key}: role must be a string")
        for field in ("peer_group", "heads", "part_of"):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"subject {self.key}: {field} must be a non-empty string or null")
        if not isinstance(self.disciplined, bool):
            raise ValueError(f"subject {self.key}: disciplined must be true or false")
        if self.heads is not None and self.kind != "individual":
            raise ValueError(f"subject {self.key}: only an individual can head a unit")
        if self.part_of is not None and self.kind != "collective":
            raise ValueError(f"subject {self.key}: only a collective leads an organization")
        if self.key in (self.heads, self.part_of):
            raise ValueError(f"subject {self.key}: refers to itself")

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "role": self.role,
            "peer_group": self.peer_group,
            "heads": self.heads,
            "part_of": self.part_of,
            "disciplined": self.disciplined,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SubjectInfo:
        allowed = {
            "key",
            "name",
            "kind",
            "role",
            "peer_group",
            "heads",
            "part_of",
            "disciplined",
        }
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ValueError(f"subject: unknown key(s): {', '.join(unknown)}")
        missing = [k for k in ("key", "name", "kind") if k not in data]
        if missing:
            raise ValueError(f"subject: missing key(s): {', '.join(missing)}")
        return cls(
            key=_as_str(data["key"], "key"),
            name=_as_str(data["name"], "name"),
            kind=_as_str(data["kind"], "kind"),
            role=_as_str(data.get("role", ""), "role"),
            peer_group=_as_opt_str(data.get("peer_group"), "peer_group"),
            heads=_as_opt_str(data.get("heads"), "heads"),
            part_of=_as_opt_str(data.get("part_of"), "part_of"),
            disciplined=_as_bool(data.get("disciplined", False), "disciplined"),
        )


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


def _warning(vi: str, en: str, check: str, keys: Sequence[str]) -> dict[str, object]:
    return {"check": check, "subjects": list(keys), "message_vi": vi, "message_en": en}


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
) -> dict[str, object]:
    """Decide every subject of one poll and report the checks; see ``docs/rules.md``."""
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

    warnings: list[dict[str, object]] = []
    if not met:
        warnings.append(_quorum_warning(rules, present, members, required))
    warnings += _ceiling_warnings(rules, subjects, grades)
    names = {s.key: s.name for s in subjects}

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
        (s, ref)
        for s in subjects
        for ref in (
            s.heads if rules.head_not_above_unit else None,
            s.part_of if rules.collective_not_above_organization else None,
        )
        if ref is not None and ref not in grades
    ]
    linked = {ref: external.get(ref) for _s, ref in links}
    for s, ref in links:
        if external.get(ref) is None:
            warnings.append(
                _warning(
                    f"Chưa đối chiếu “{s.name}” với “{ref}”: “{ref}” được xếp loại ở cuộc biểu"
                    " quyết khác, chưa kiểm phiếu xong khi lập biên bản này.",
                    f"“{s.name}” not checked against “{ref}”: “{ref}” is graded in another"
                    " poll, not yet counted when this record was made.",
                    "linked_not_checked",
                    [s.key, ref],
                )
            )

    if rules.head_not_above_unit:
        for s in subjects:
            if s.heads is None:
                continue
            own, unit = grades[s.key], known(s.heads)
            if above(own, unit):
                unit_name = names.get(s.heads, s.heads)
                warnings.append(
                    _warning(
                        f"Người đứng đầu “{s.name}” được xếp loại {own}, cao hơn đơn vị do mình"
                        f" đứng đầu “{unit_name}” ({unit}).",
                        f"Head “{s.name}” is graded {own}, above the unit they head"
                        f" “{unit_name}” ({unit}).",
                        "head_not_above_unit",
                        [s.key, s.heads],
                    )
                )
    if rules.collective_not_above_organization:
        for s in subjects:
            if s.part_of is None:
                continue
            own, org = grades[s.key], known(s.part_of)
            if above(own, org):
                org_name = names.get(s.part_of, s.part_of)
                warnings.append(
                    _warning(
                        f"Tập thể “{s.name}” được xếp loại {own}, cao hơn tổ chức đảng do tập thể"
                        f" lãnh đạo “{org_name}” ({org}).",
                        f"Collective “{s.name}” is graded {own}, above the organization it leads"
                        f" “{org_name}” ({org}).",
                        "collective_not_above_organization",
                        [s.key, s.part_of],
                    )
                )
    cap = rules.disciplined_max_grade
    if cap is not None:
        for s in subjects:
            own = grades[s.key]
            if s.disciplined and above(own, cap):
                warnings.append(
                    _warning(
                        f"“{s.name}” bị kỷ luật trong năm nhưng được xếp loại {own},"
                        f" cao hơn mức tối đa {cap}.",
                        f"“{s.name}” was disciplined in the year but is graded {own},"
                        f" above the maximum {cap}.",
                        "disciplined_max_grade",
                        [s.key],
                    )
                )

    return {
        "rules": {"id": rules.id, "version": rules.version},
        "quorum": {
            "members": members,
            "present": present,
            "required": required,
            "fraction": format_fraction_ratio(rules.quorum),
            "met": met,
        },
        "cast": cast,
        "subjects": rows,
        "warnings": warnings,
        **({"linked": linked} if linked else {}),
    }


def _quorum_warning(rules: RuleSet, present: int, members: int, required: int) -> dict[str, object]:
    fraction = format_fraction_ratio(rules.quorum)
    return _warning(
        f"Không đủ số lượng tham dự: có mặt {present}/{members} đồng chí, cần ít nhất {required}"
        f" ({fraction} số ủy viên đương nhiệm).",
        f"Quorum not met: {present} of {members} members present, at least {required}"
        f" ({fraction} of incumbent members) required.",
        "quorum",
        [],
    )


def _ceiling_warnings(
    rules: RuleSet, subjects: Sequence[SubjectInfo], grades: Mapping[str, str | None]
) -> list[dict[str, object]]:
    groups: dict[str, list[SubjectInfo]] = {}
    for s in subjects:
        if s.peer_group is not None:
            groups.setdefault(s.peer_group, []).append(s)
    share_vi = _decimal(rules.excellent_ceiling * 100, ",") + "%"
    share_en = _decimal(rules.excellent_ceiling * 100, ".") + "%"
    rounding = rules.ceiling_rounding
    rounding_vi, rounding_en = _ROUNDING_TEXT[rounding]
    out = []
    for group, members in groups.items():
        excellent = [s.key for s in members if grades[s.key] == EXCELLENT]
        good = sum(1 for s in members if grades[s.key] == GOOD)
        exact = rules.excellent_ceiling * good
        ceiling = round_fraction(exact, rounding)
        if len(excellent) <= ceiling:
            continue
        out.append(
            _warning(
                f"Nhóm “{group}”: {len(excellent)} được xếp loại {EXCELLENT}, vượt mức tối đa"
                f" {ceiling} ({share_vi} × {good} {GOOD} = {_decimal(exact, ',')},"
                f" {rounding_vi} ({rounding})).",
                f"Peer group “{group}”: {len(excellent)} graded {EXCELLENT}, above the ceiling of"
                f" {ceiling} ({share_en} × {good} {GOOD} = {_decimal(exact, '.')},"
                f" {rounding_en} ({rounding})).",
                "excellent_ceiling",
                excellent,
            )
        )
    return out
