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
    "excellent_ceiling",
    "linked_not_checked",
    "head_not_above_unit",
    "collective_not_above_organization",
    "disciplined_max_grade",
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
) -> dict[str, object]:
    """Decide every subject of one poll and report the checks; see ``docs/rules.md``.

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
    warnings += _ceiling_warnings(rules, subjects, grades)

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
        )
        if ref is not None and ref not in grades
    ]
    linked = {ref: external.get(ref) for _s, ref, _link in links}
    for s, ref, link in links:
        if external.get(ref) is None:
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
            if s.disciplined and above(own, cap):
                warnings.append(
                    _warning("disciplined_max_grade", [s.key], grade=own, max_grade=cap)
                )

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


def _ceiling_warnings(
    rules: RuleSet, subjects: Sequence[SubjectInfo], grades: Mapping[str, str | None]
) -> list[dict[str, object]]:
    groups: dict[str, list[SubjectInfo]] = {}
    for s in subjects:
        if s.peer_group is not None:
            groups.setdefault(s.peer_group, []).append(s)
    out = []
    for group, members in groups.items():
        excellent = [s.key for s in members if grades[s.key] == EXCELLENT]
        good = sum(1 for s in members if grades[s.key] == GOOD)
        product = rules.excellent_ceiling * good
        ceiling = round_fraction(product, rules.ceiling_rounding)
        if len(excellent) <= ceiling:
            continue
        out.append(
            _warning(
                "excellent_ceiling",
                excellent,
                peer_group=group,
                good=good,
                share=format_fraction_ratio(rules.excellent_ceiling),
                product=format_fraction_ratio(product),
                rounding=rules.ceiling_rounding,
                ceiling=ceiling,
            )
        )
    return out


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
        return Text(
            f"Nhóm “{group}”: {len(keys)} được xếp loại {EXCELLENT}, vượt mức tối đa {ceiling}"
            f" ({_decimal(share, ',')}% × {good} {GOOD} = {_decimal(product, ',')},"
            f" {rounding_vi} ({rounding})).",
            f"Peer group “{group}”: {len(keys)} graded {EXCELLENT}, above the ceiling of"
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
