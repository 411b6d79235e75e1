"""Rule sets: the grades, how a subject's grade follows from its vote counts, what is checked.

A rule set is a versioned TOML file shipped in ``tally/rulesets`` (see ``docs/rules.md``). The
decision uses integers only: "more than half of D" is tested as ``votes * 2 > D``, so no rounding
can ever decide a grade.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import itertools
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib.resources.abc import Traversable
from pathlib import Path

from tally.canonical import canonical_json

GRADE_CODES: tuple[str, ...] = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")

DENOMINATORS: tuple[str, ...] = ("valid", "cast", "present", "members")
ROUNDINGS: tuple[str, ...] = ("floor", "half_up", "ceil")
DECISION_RULES: tuple[str, ...] = ("majority_then_cumulative", "adoption_majority")
# A rule set's 366 discipline checks (docs/rules.md, "Discipline").
DISCIPLINE_RULES: tuple[str, ...] = ("qd366",)
ADOPTION = "adoption_majority"

# The grades the excellent ceiling speaks about, whatever else a rule set names.
EXCELLENT = "HTXSNV"
GOOD = "HTTNV"

UNDETERMINED_VI = "Chưa xác định, báo cáo cấp có thẩm quyền xem xét"
UNDETERMINED_EN = "undetermined, refer to the competent level"

# ASCII only and matched in full, so no look-alike digit or trailing newline slips through.
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_FRACTION_RE = re.compile(r"([0-9]+)(?:/([0-9]+))?")


@dataclass(frozen=True)
class Grade:
    code: str
    name_vi: str
    name_en: str

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name_vi": self.name_vi, "name_en": self.name_en}


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: str
    title_vi: str
    title_en: str
    basis: str
    grades: tuple[Grade, ...]
    denominator: str
    allow_blank: bool
    quorum: Fraction
    excellent_ceiling: Fraction
    ceiling_rounding: str
    head_not_above_unit: bool
    collective_not_above_organization: bool
    disciplined_max_grade: str | None
    # "majority_then_cumulative" grades; "adoption_majority" adopts or rejects a proposal.
    decision_rule: str = "majority_then_cumulative"
    # Protocol version 2's keys. Each is written to the JSON form only when set, so that a rule
    # set of version 1 keeps its digest (docs/rules.md, "The JSON form").
    confirmed: bool | None = None  # None: the file does not say (a version-1 rule set)
    score_bands: tuple[int, ...] | None = None  # lowest score of each grade but the last
    discipline: str | None = None  # "qd366": the discipline checks of Quy định 366
    excellent_ceiling_outstanding: Fraction | None = None  # the 25% of outstanding groups
    leader_units_failed: Fraction | None = None  # more than this share of units KHTNV
    low_turnout: Fraction | None = None  # warn when ballots cast < this share of present

    def __post_init__(self) -> None:
        # Direct construction gets the same checks as a loaded file.
        _validate(self)

    @property
    def grade_codes(self) -> tuple[str, ...]:
        return tuple(g.code for g in self.grades)

    def grade_index(self, code: str) -> int:
        """Position of a grade, best first (lower is better)."""
        try:
            return self.grade_codes.index(code)
        except ValueError:
            raise ValueError(
                f"unknown grade {code!r}; this rule set has {', '.join(self.grade_codes)}"
            ) from None

    def grade(self, code: str) -> Grade:
        return self.grades[self.grade_index(code)]

    @property
    def is_adoption(self) -> bool:
        """An adoption rule set: the conference adopts (first choice) or rejects (second) a
        proposed result, per subject."""
        return self.decision_rule == ADOPTION

    @property
    def is_confirmed(self) -> bool:
        """Only a rule set that says ``confirmed = true`` is confirmed; one that says nothing
        (version 1) counts as not confirmed for a new poll."""
        return self.confirmed is True

    def band_grade(self, score: Fraction) -> str | None:
        """The grade the score bands allow for a self-score (None: the rule set has no bands)."""
        if self.score_bands is None:
            return None
        for code, floor in zip(self.grade_codes, self.score_bands, strict=False):
            if score >= floor:
                return code
        return self.grade_codes[-1]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "version": self.version,
            "title_vi": self.title_vi,
            "title_en": self.title_en,
            "basis": self.basis,
            "grades": [g.to_dict() for g in self.grades],
            "decision_rule": self.decision_rule,
            "denominator": self.denominator,
            "allow_blank": self.allow_blank,
            "quorum": format_fraction_ratio(self.quorum),
            "excellent_ceiling": format_fraction_ratio(self.excellent_ceiling),
            "ceiling_rounding": self.ceiling_rounding,
            "head_not_above_unit": self.head_not_above_unit,
            "collective_not_above_organization": self.collective_not_above_organization,
            "disciplined_max_grade": self.disciplined_max_grade,
            **self._v2_dict(),
        }

    def _v2_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.confirmed is not None:
            out["confirmed"] = self.confirmed
        if self.score_bands is not None:
            out["score_bands"] = list(self.score_bands)
        if self.discipline is not None:
            out["discipline"] = self.discipline
        for key in ("excellent_ceiling_outstanding", "leader_units_failed", "low_turnout"):
            value = getattr(self, key)
            if value is not None:
                out[key] = format_fraction_ratio(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RuleSet:
        """Lenient, as a TOML file: optional keys may be missing, fractions unreduced."""
        return _from_mapping(data)

    @classmethod
    def from_json(cls, data: object) -> RuleSet:
        """Strict, as a manifest carries it: exactly ``to_dict()``'s form (docs/rules.md, "The
        JSON form"): every key present, fractions reduced, nothing that writes differently."""
        if not isinstance(data, Mapping):
            raise ValueError("rule set: expected an object")
        rules = _from_mapping(data)
        expected = rules.to_dict()
        _check_keys(data, tuple(expected), (), "rule set: ")
        for key, value in expected.items():
            if canonical_json(data[key]) != canonical_json(value):
                raise ValueError(
                    f"{key}: {data[key]!r} is not in the JSON form of a rule set"
                    f" (it would be {value!r})"
                )
        return rules

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON form: what "the same rule set" means."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()


_REQUIRED = (
    "id",
    "version",
    "title_vi",
    "title_en",
    "basis",
    "grades",
    "denominator",
    "allow_blank",
    "excellent_ceiling",
    "ceiling_rounding",
    "head_not_above_unit",
    "collective_not_above_organization",
)
_OPTIONAL = (
    "decision_rule",
    "quorum",
    "disciplined_max_grade",
    "confirmed",
    "score_bands",
    "discipline",
    "excellent_ceiling_outstanding",
    "leader_units_failed",
    "low_turnout",
)
# An adoption rule set may leave out what only grading uses.
_GRADING_ONLY = (
    "excellent_ceiling",
    "ceiling_rounding",
    "head_not_above_unit",
    "collective_not_above_organization",
)
_GRADE_KEYS = ("code", "name_vi", "name_en")


def format_fraction_ratio(value: Fraction) -> str:
    """``Fraction(2, 3)`` -> ``"2/3"``, ``1`` -> ``"1/1"``: always ``p/q`` in lowest terms, so the
    JSON form never varies."""
    return f"{value.numerator}/{value.denominator}"


def _string(value: object, key: str, where: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}{key}: expected a non-empty string, got {value!r}")
    return value


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def _fraction(value: object, key: str) -> Fraction:
    # Strings only: a TOML float such as 0.2 would already be inexact when we see it.
    match = _FRACTION_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{key}: expected a fraction as a string such as "2/3", got {value!r}')
    num, den = int(match.group(1)), int(match.group(2) or "1")
    if den == 0:
        raise ValueError(f"{key}: denominator of {value!r} is zero")
    return Fraction(num, den)


def _check_keys(
    data: Mapping[str, object], required: Sequence[str], optional: Sequence[str], where: str
) -> None:
    unknown = sorted(str(k) for k in data if k not in required and k not in optional)
    if unknown:
        raise ValueError(f"{where}unknown key(s): {', '.join(unknown)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{where}missing key(s): {', '.join(missing)}")


def _grades(value: object) -> tuple[Grade, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("grades: expected a non-empty list of {code, name_vi, name_en} tables")
    grades = []
    for i, item in enumerate(value):
        where = f"grades[{i}]."
        if not isinstance(item, Mapping):
            raise ValueError(f"grades[{i}]: expected a table with code, name_vi, name_en")
        _check_keys(item, _GRADE_KEYS, (), where)
        grades.append(
            Grade(
                code=_string(item["code"], "code", where),
                name_vi=_string(item["name_vi"], "name_vi", where),
                name_en=_string(item["name_en"], "name_en", where),
            )
        )
    return tuple(grades)


def _opt_fraction(data: Mapping[str, object], key: str) -> Fraction | None:
    return None if data.get(key) is None else _fraction(data[key], key)


def _bands(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"score_bands: expected a list of whole numbers of points, got {value!r}")
    return tuple(value)


def _from_mapping(data: Mapping[str, object]) -> RuleSet:
    if not isinstance(data, Mapping):
        raise ValueError("rule set: expected a table of keys")
    adoption = data.get("decision_rule") == ADOPTION
    required = tuple(k for k in _REQUIRED if not (adoption and k in _GRADING_ONLY))
    _check_keys(data, required, (*_OPTIONAL, *_GRADING_ONLY), "rule set: ")
    for key in ("disciplined_max_grade", "discipline"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key}: expected a string, got {value!r}")
    confirmed = data.get("confirmed")
    if confirmed is not None:
        _bool(confirmed, "confirmed")
    dmax = data.get("disciplined_max_grade")
    return RuleSet(
        id=_string(data["id"], "id"),
        version=_string(data["version"], "version"),
        title_vi=_string(data["title_vi"], "title_vi"),
        title_en=_string(data["title_en"], "title_en"),
        basis=_string(data["basis"], "basis"),
        grades=_grades(data["grades"]),
        denominator=_string(data["denominator"], "denominator"),
        allow_blank=_bool(data["allow_blank"], "allow_blank"),
        quorum=_fraction(data.get("quorum", "2/3"), "quorum"),
        excellent_ceiling=_fraction(data.get("excellent_ceiling", "0"), "excellent_ceiling"),
        ceiling_rounding=_string(data.get("ceiling_rounding", "floor"), "ceiling_rounding"),
        head_not_above_unit=_bool(data.get("head_not_above_unit", False), "head_not_above_unit"),
        collective_not_above_organization=_bool(
            data.get("collective_not_above_organization", False),
            "collective_not_above_organization",
        ),
        disciplined_max_grade=dmax if isinstance(dmax, str) else None,
        decision_rule=_string(data.get("decision_rule", DECISION_RULES[0]), "decision_rule"),
        confirmed=confirmed if isinstance(confirmed, bool) else None,
        score_bands=_bands(data.get("score_bands")),
        discipline=data.get("discipline") if isinstance(data.get("discipline"), str) else None,  # type: ignore[arg-type]
        excellent_ceiling_outstanding=_opt_fraction(data, "excellent_ceiling_outstanding"),
        leader_units_failed=_opt_fraction(data, "leader_units_failed"),
        low_turnout=_opt_fraction(data, "low_turnout"),
    )


def _validate(r: RuleSet) -> None:
    if not _ID_RE.fullmatch(r.id):
        raise ValueError(f"id: {r.id!r} must be lower-case letters, digits and '-'")
    if len(r.grades) < 2:
        raise ValueError("grades: a rule set needs at least two grades")
    codes = [g.code for g in r.grades]
    for code in codes:
        if not _CODE_RE.fullmatch(code):
            raise ValueError(f"grades: code {code!r} must be upper-case letters, digits and '_'")
    if len(set(codes)) != len(codes):
        raise ValueError(f"grades: duplicate code in {', '.join(codes)}")
    if r.decision_rule not in DECISION_RULES:
        raise ValueError(
            f"decision_rule: {r.decision_rule!r} is not one of {', '.join(DECISION_RULES)}"
        )
    if r.is_adoption:
        _validate_adoption(r)
    else:
        for needed in (EXCELLENT, GOOD):
            if needed not in codes:
                raise ValueError(f"grades: the excellent ceiling needs grade {needed}")
    if r.score_bands is not None:
        bands = list(r.score_bands)
        if len(bands) != len(codes) - 1:
            raise ValueError(
                f"score_bands: expected {len(codes) - 1} lowest scores (one for each grade"
                f" but the last: {', '.join(codes[:-1])}), got {len(bands)}"
            )
        if any(not 0 < b <= 100 for b in bands) or bands != sorted(set(bands), reverse=True):
            raise ValueError(f"score_bands: {bands} must fall from best to worst, each in 1..100")
    if r.discipline is not None and r.discipline not in DISCIPLINE_RULES:
        raise ValueError(
            f"discipline: {r.discipline!r} is not one of {', '.join(DISCIPLINE_RULES)}"
        )
    for key in ("excellent_ceiling_outstanding", "leader_units_failed", "low_turnout"):
        value = getattr(r, key)
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{key}: {value} must be between 0 and 1")
    if r.denominator not in DENOMINATORS:
        raise ValueError(f"denominator: {r.denominator!r} is not one of {', '.join(DENOMINATORS)}")
    if not 0 <= r.quorum <= 1:
        raise ValueError(f"quorum: {r.quorum} must be between 0 and 1")
    if not 0 <= r.excellent_ceiling <= 1:
        raise ValueError(f"excellent_ceiling: {r.excellent_ceiling} must be between 0 and 1")
    if r.ceiling_rounding not in ROUNDINGS:
        raise ValueError(
            f"ceiling_rounding: {r.ceiling_rounding!r} is not one of {', '.join(ROUNDINGS)}"
        )
    if r.disciplined_max_grade is not None and r.disciplined_max_grade not in codes:
        raise ValueError(
            f"disciplined_max_grade: {r.disciplined_max_grade!r} is not one of {', '.join(codes)}"
        )


def _validate_adoption(r: RuleSet) -> None:
    if len(r.grades) != 2:
        raise ValueError(
            "grades: an adoption rule set has exactly two choices, adopt first, reject second"
        )
    grading_only = {
        "score_bands": r.score_bands,
        "discipline": r.discipline,
        "disciplined_max_grade": r.disciplined_max_grade,
        "excellent_ceiling_outstanding": r.excellent_ceiling_outstanding,
        "leader_units_failed": r.leader_units_failed,
    }
    used = [k for k, v in grading_only.items() if v is not None]
    if r.excellent_ceiling or r.head_not_above_unit or r.collective_not_above_organization:
        used.append("excellent_ceiling / head_not_above_unit / collective_not_above_organization")
    if used:
        raise ValueError(f"{used[0]}: only a grading rule set has this check, not an adoption one")


def parse_ruleset(toml_text: str) -> RuleSet:
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"rule set is not valid TOML: {exc}") from exc
    return _from_mapping(data)


def _rulesets_dir() -> Traversable:
    return importlib.resources.files("tally") / "rulesets"


# A province's own rule sets: TOML files in this folder (docs/rules.md, "A province's own rule
# set"), offered beside the shipped ones. Their ids must not be shipped ids.
LOCAL_DIR_ENV = "TALLY_RULESETS_DIR"


def local_rulesets_dir() -> Path | None:
    value = os.environ.get(LOCAL_DIR_ENV, "").strip()
    return Path(value) if value else None


def _shipped_ids() -> list[str]:
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _rulesets_dir().iterdir()
        if entry.name.endswith(".toml") and "@" not in entry.name and entry.is_file()
    )


def _local_files() -> dict[str, Path]:
    folder = local_rulesets_dir()
    if folder is None or not folder.is_dir():
        return {}
    return {
        p.name.removesuffix(".toml"): p
        for p in sorted(folder.iterdir())
        if p.name.endswith(".toml") and p.is_file() and _ID_RE.fullmatch(p.stem)
    }


def list_rulesets() -> list[str]:
    """The ids of the rule sets offered for new polls: the current shipped ones (a superseded
    version, ``<id>@<version>.toml``, stays shipped for old manifests: see ``shipped_rulesets``)
    and a province's own, in ``$TALLY_RULESETS_DIR``."""
    return sorted({*_shipped_ids(), *_local_files()})


def check_local_ruleset(text: str, name: str) -> RuleSet:
    """A province's rule set file: valid, under an id tally does not ship, named ``<id>.toml``."""
    try:
        rules = parse_ruleset(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if rules.id in _shipped_ids() or any(i == rules.id for i, _v in shipped_rulesets()):
        raise ValueError(
            f"{name}: id: {rules.id!r} is the id of a rule set shipped with tally; a province's"
            " rule set needs its own id"
        )
    if name.endswith(".toml") and Path(name).stem != rules.id:
        raise ValueError(f"{name}: id: the file declares {rules.id!r}; name it {rules.id}.toml")
    return rules


def load_ruleset(rule_id: str) -> RuleSet:
    known = list_rulesets()
    # Look the id up in the listing rather than joining it into a path: no "../" tricks.
    if rule_id not in known:
        raise ValueError(f"unknown rule set {rule_id!r}; known: {', '.join(known)}")
    if rule_id not in _shipped_ids():
        path = _local_files()[rule_id]
        return check_local_ruleset(path.read_text(encoding="utf-8"), str(path))
    text = (_rulesets_dir() / f"{rule_id}.toml").read_text(encoding="utf-8")
    try:
        rules = parse_ruleset(text)
    except ValueError as exc:
        raise ValueError(f"rule set file {rule_id}.toml: {exc}") from exc
    if rules.id != rule_id:
        raise ValueError(f"rule set file {rule_id}.toml declares id {rules.id!r}")
    return rules


# --- shipped rule sets: an id of ours names exactly one content per version ---------------------


@functools.cache
def shipped_rulesets() -> Mapping[tuple[str, str], RuleSet]:
    """Every rule set shipped in ``tally/rulesets`` by (id, version): the current ones and every
    superseded version, kept as ``<id>@<version>.toml`` so that old manifests keep verifying."""
    shipped = {(r.id, r.version): r for r in (load_ruleset(i) for i in _shipped_ids())}
    for entry in _rulesets_dir().iterdir():
        if entry.name.endswith(".toml") and "@" in entry.name and entry.is_file():
            rules = parse_ruleset(entry.read_text(encoding="utf-8"))
            if entry.name != f"{rules.id}@{rules.version}.toml":
                raise ValueError(f"rule set file {entry.name} declares {rules.id} {rules.version}")
            shipped[(rules.id, rules.version)] = rules
    return shipped


def is_shipped(rules: RuleSet) -> bool:
    """True iff this is, word for word, a rule set shipped with tally under its id and version."""
    shipped = shipped_rulesets().get((rules.id, rules.version))
    return shipped is not None and shipped.digest == rules.digest


def check_origin(rules: RuleSet) -> bool:
    """A shipped rule set's id is reserved: under it only the shipped content of a shipped
    version is accepted. Returns whether the rule set is shipped (False: a local rule set, with
    an id that tally does not ship)."""
    versions = {v for (i, v) in shipped_rulesets() if i == rules.id}
    if not versions:
        return False
    if rules.version not in versions:
        raise ValueError(
            f"{rules.id} is a rule set shipped with tally, but not in version {rules.version!r}"
            f" (shipped: {', '.join(sorted(versions))}); a rule set of one's own needs its own id"
        )
    if not is_shipped(rules):
        raise ValueError(
            f"rule set {rules.id} version {rules.version} differs from the one shipped with tally"
            " under that id and version; a rule set of one's own needs an id tally does not ship"
        )
    return True


@dataclass(frozen=True)
class Decision:
    grade: str | None  # None = undetermined, refer to the competent level
    denominator: str
    denominator_value: int
    steps: tuple[dict[str, object], ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "grade": self.grade,
            "denominator": self.denominator,
            "denominator_value": self.denominator_value,
            "steps": [dict(step) for step in self.steps],
        }


def format_half(value: int) -> str:
    """Half of a count, exactly: 45 -> "22.5", 44 -> "22"."""
    return f"{value // 2}.5" if value % 2 else str(value // 2)


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what}: expected a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{what}: must not be negative, got {value}")
    return value


def decide(
    rules: RuleSet,
    counts: Sequence[int],
    *,
    blank: int = 0,
    cast: int | None = None,
    present: int | None = None,
    members: int | None = None,
    denominator: str | None = None,
) -> Decision:
    """Grade one subject from its vote counts (in grade order), keeping every step.

    ``denominator`` overrides the rule set's (to ask "what if"). Figures not needed by the
    denominator may be omitted; those given must be consistent:
    votes + blank <= cast <= present <= members.
    """
    which = rules.denominator if denominator is None else denominator
    if which not in DENOMINATORS:
        raise ValueError(f"denominator: {which!r} is not one of {', '.join(DENOMINATORS)}")
    if isinstance(counts, str | bytes) or len(counts) != len(rules.grades):
        raise ValueError(
            f"counts: expected {len(rules.grades)} numbers ({', '.join(rules.grade_codes)}),"
            f" got {counts!r}"
        )
    votes = [
        _count(c, f"counts[{code}]") for c, code in zip(counts, rules.grade_codes, strict=True)
    ]
    blank = _count(blank, "blank")
    if blank and not rules.allow_blank:
        raise ValueError(f"blank: rule set {rules.id} does not allow leaving a subject blank")
    figures = {"valid": sum(votes), "blank": blank}
    for name, value in (("cast", cast), ("present", present), ("members", members)):
        if value is not None:
            figures[name] = _count(value, name)
    _check_order(figures)
    if which not in figures:
        raise ValueError(f"{which}: the '{which}' denominator needs this figure, none was given")
    d = figures[which]
    half = format_half(d)

    steps: list[dict[str, object]] = []
    grade: str | None = None
    if rules.is_adoption:
        # Adopted when the first choice has more than half of D; otherwise rejected.
        adopt, reject = rules.grade_codes
        passes = votes[0] * 2 > d
        steps.append(_step("adoption", adopt, votes[0], None, half, passes))
        grade = adopt if passes else reject
        return Decision(grade=grade, denominator=which, denominator_value=d, steps=tuple(steps))
    for code, n in zip(rules.grade_codes, votes, strict=True):
        passes = n * 2 > d
        steps.append(_step("single", code, n, None, half, passes))
        if passes:
            grade = code
            break
    if grade is None:
        running = 0
        for code, n in zip(rules.grade_codes, votes, strict=True):
            running += n
            passes = running * 2 > d
            steps.append(_step("cumulative", code, n, running, half, passes))
            if passes:
                grade = code
                break
    return Decision(grade=grade, denominator=which, denominator_value=d, steps=tuple(steps))


def _step(
    stage: str, code: str, votes: int, running: int | None, half: str, passes: bool
) -> dict[str, object]:
    return {
        "stage": stage,
        "grade": code,
        "votes": votes,
        "running_total": running,
        "half": half,
        "passes": passes,
    }


def _check_order(figures: Mapping[str, int]) -> None:
    # Each figure bounds the next larger one; skip the ones not given.
    chain = [
        ("votes and blanks", figures["valid"] + figures["blank"]),
        *((name, figures[name]) for name in ("cast", "present", "members") if name in figures),
    ]
    for (small_name, small), (big_name, big) in itertools.pairwise(chain):
        if small > big:
            raise ValueError(f"{small_name} ({small}) cannot be more than {big_name} ({big})")
