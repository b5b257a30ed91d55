"""Scoring models and the engine: ``score(model, lead, contact, account, interactions, as_of)``.

Pure and deterministic for a given ``as_of``: the same inputs give the same score, and the breakdown
says which rule gave which points from which interactions (see ``scoring.md``, the contract).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from chalicelib.domain.consent import CONSENT_LEVELS, consent_rank
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.rules import Compiler, Condition, EventLeaf, Facts, finite

_MODEL_KEYS = {
    "id",
    "name",
    "description",
    "audience",
    "min_consent",
    "rules",
    "grades",
    "sales_ready_score",
    "decay",
    "scope",
    "max_score",
    "min_score",
}
_RULE_KEYS = {"id", "points", "when", "per_event", "max_points", "description"}
MAX_RULES = 200
DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class Rule:
    rule_id: str
    points: int
    when: Condition
    per_event: bool = False
    max_points: int | None = None

    @property
    def event(self) -> EventLeaf:
        assert isinstance(self.when, EventLeaf)
        return self.when


@dataclass(frozen=True)
class Grade:
    grade: str
    min_score: float | None


@dataclass(frozen=True)
class ScoringModel:
    model_id: str
    version: int
    name: str
    rules: tuple[Rule, ...]
    grades: tuple[Grade, ...] = ()
    audience: Condition | None = None
    min_consent: str | None = None
    sales_ready_score: float | None = None
    half_life_days: float | None = None
    scope: str = "contact"
    max_score: float | None = None
    min_score: float | None = None
    definition: dict[str, Any] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()

    def event_leaves(self) -> list[EventLeaf]:
        leaves = [leaf for rule in self.rules for leaf in rule.when.events()]
        return leaves + (self.audience.events() if self.audience else [])

    @property
    def lookback_days(self) -> float | None:
        """How far back interactions matter: the longest window, or ``None`` for all time."""
        leaves = self.event_leaves()
        if not leaves:
            return 0.0
        if any(leaf.within_days is None for leaf in leaves):
            return None
        return max(leaf.within_days or 0.0 for leaf in leaves)

    @cached_property
    def ages(self) -> bool:
        """True when the score can change with time alone (decay or windows): it keeps a timer, and
        how it decays. Cached: the engine asks at every evaluation."""
        return self.half_life_days is not None or any(
            leaf.within_days is not None for leaf in self.event_leaves()
        )


@dataclass(frozen=True)
class RuleScore:
    """One line of a breakdown. Rule models give ``kind="rule"`` lines (points); predictive models give
    ``baseline``, ``factor`` and ``other`` lines in log-odds that add up to the prediction's logit."""

    rule_id: str
    points: float
    interaction_ids: tuple[str, ...] = ()
    kind: str = "rule"

    def as_dict(self) -> dict[str, Any]:
        entry = {
            "rule_id": self.rule_id,
            "points": self.points,
            "interaction_ids": list(self.interaction_ids),
        }
        return entry if self.kind == "rule" else {**entry, "kind": self.kind}


@dataclass(frozen=True)
class Aging:
    """What a stored score needs to be computed at a later time without reading its interactions
    (issue 19: a score that only ages is computed when read, not rewritten every day).

    ``terms``: each decaying rule's points at ``as_of`` before its ``max_points`` cap, as
    ``(rule_id, raw points, cap)``; every one decays by the same factor, ``0.5 ** (days / half_life)``.
    ``next_check_at``: the first time the stored score stops being exact by projection alone (an
    interaction leaves or enters a window) or its grade or sales-ready flag changes by decay (a
    crossing): the lead's timer, when it is rescored from its interactions and written."""

    half_life_days: float | None = None
    terms: tuple[tuple[str, float, float | None], ...] = ()
    min_score: float | None = None
    max_score: float | None = None
    next_check_at: datetime | None = None
    #: The points that do not decay (the total at ``as_of`` less the decaying rules' capped points).
    static: float = 0.0

    def value_at(self, stored: int, as_of: datetime, at: datetime) -> int:
        """The score at ``at`` from the stored one (what an index holds: no breakdown needed)."""
        if self.half_life_days is None or not self.terms or at <= as_of:
            return stored
        f = self.factor(as_of, at)
        total = self.static + math.fsum(_capped(raw * f, cap) for _, raw, cap in self.terms)
        return _bounded(_round(total), self.min_score, self.max_score)

    def factor(self, as_of: datetime, at: datetime) -> float:
        if self.half_life_days is None or at <= as_of:
            return 1.0
        return float(0.5 ** ((at - as_of).total_seconds() / DAY_SECONDS / self.half_life_days))

    def as_dict(self) -> dict[str, Any]:
        return {
            "h": self.half_life_days,
            "terms": [list(term) for term in self.terms],
            "lo": self.min_score,
            "hi": self.max_score,
            "s": self.static,
        }

    @staticmethod
    def from_dict(data: dict[str, Any], next_check_at: datetime | None) -> Aging:
        return Aging(
            half_life_days=data.get("h"),
            terms=tuple(
                (str(t[0]), float(t[1]), None if t[2] is None else float(t[2])) for t in data["terms"]
            ),
            min_score=data.get("lo"),
            max_score=data.get("hi"),
            next_check_at=next_check_at,
            static=float(data.get("s", 0.0)),
        )


@dataclass(frozen=True)
class Score:
    model_id: str
    model_version: int
    as_of: datetime
    score: int
    grade: str | None
    sales_ready: bool
    breakdown: tuple[RuleScore, ...]
    #: The score this lead had under the model at the scoring before (``None``: its first score); not
    #: part of the result, so it never makes a rescoring write on its own.
    previous_score: int | None = field(default=None, compare=False)
    #: How the score ages (``None``: it does not), and when its timer is due.
    aging: Aging | None = field(default=None, compare=False)
    #: The newest timeline entries of this score's changes, kept on the score item (issue 19: no
    #: ``LeadHistory`` item of their own; ``domain/timeline.py``).
    timeline: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def next_check_at(self) -> datetime | None:
        return self.aging.next_check_at if self.aging is not None else None

    def at(self, when: datetime) -> Score:
        """The score as it is at ``when``, from this stored evaluation alone: each decaying rule's
        points decayed (and capped again), the total rounded and bounded as the engine does. The grade
        and sales-ready flag are the stored ones: exact until ``next_check_at``, when the timer writes
        the crossing."""
        aging = self.aging
        if aging is None or aging.half_life_days is None or not aging.terms or when <= self.as_of:
            return self
        f = aging.factor(self.as_of, when)
        decayed = {rule_id: _capped(raw * f, cap) for rule_id, raw, cap in aging.terms}
        breakdown = tuple(
            replace(entry, points=decayed[entry.rule_id]) if entry.rule_id in decayed else entry
            for entry in self.breakdown
        )
        value = _bounded(
            _round(math.fsum(entry.points for entry in breakdown)), aging.min_score, aging.max_score
        )
        return replace(self, score=value, breakdown=breakdown)

    @property
    def trend(self) -> str | None:
        """``up``, ``down`` or ``flat`` since the previous scoring (Dynamics 365's score trend)."""
        if self.previous_score is None:
            return None
        if self.score == self.previous_score:
            return "flat"
        return "up" if self.score > self.previous_score else "down"

    def following(self, previous: Score | None) -> Score:
        """This score, with the trend from the one it replaces (and the timeline entries it kept)."""
        return replace(
            self,
            previous_score=previous.score if previous is not None else None,
            timeline=previous.timeline if previous is not None else (),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_version": self.model_version,
            "score": self.score,
            "grade": self.grade,
            "sales_ready": self.sales_ready,
        }

    def same_result(self, other: Score | None) -> bool:
        """Equal but for ``as_of``, and the same timer: nothing to write."""
        return other is not None and (
            other.model_version,
            other.score,
            other.grade,
            other.sales_ready,
            other.breakdown,
            other.next_check_at,
        ) == (
            self.model_version,
            self.score,
            self.grade,
            self.sales_ready,
            self.breakdown,
            self.next_check_at,
        )


# ---------------------------------------------------------------- the engine


def counted_interactions(lead: Lead, interactions: Sequence[Interaction]) -> list[Interaction]:
    """A contact's interactions count for all its leads, except those that name another lead of the
    same contact (a colleague's interaction naming the colleague's lead still counts for the account)."""
    return [
        i
        for i in interactions
        if i.lead_id is None or i.lead_id == lead.lead_id or i.contact_id != lead.contact_id
    ]


def in_audience(model: ScoringModel, facts: Facts) -> bool:
    if model.min_consent is not None:
        consent = facts.contact.consent if facts.contact else "none"
        if consent_rank(consent) < consent_rank(model.min_consent):
            return False
    return model.audience is None or model.audience.test(facts)[0]


def score(
    model: ScoringModel,
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
    as_of: datetime,
    totals: Mapping[str, int] | None = None,
) -> Score | None:
    """The lead's score under ``model`` at ``as_of``; ``None`` when the model does not score this lead
    (outside the audience, or consent below ``min_consent``). ``interactions`` are those of the
    contact (or, for an account-scoped model, of every contact of the account); with ``totals`` (the
    lead's kept counts per type, ``interaction_counts.totals_for``) only those of the model's longest
    window need be given: its "all time" rules count from ``totals``."""
    facts = Facts(lead, contact, account, counted_interactions(lead, interactions), as_of, totals=totals)
    if not in_audience(model, facts):
        return None
    breakdown = []
    for rule in model.rules:
        result = _rule_points(model, rule, facts)
        if result is not None:
            breakdown.append(result)
    total = math.fsum(entry.points for entry in breakdown)
    value = _bounded(_round(total), model.min_score, model.max_score)
    grade = grade_of(model, value)
    ready = model.sales_ready_score is not None and value >= model.sales_ready_score
    return Score(
        model_id=model.model_id,
        model_version=model.version,
        as_of=as_of,
        score=value,
        grade=grade,
        sales_ready=ready,
        breakdown=tuple(breakdown),
    )


def with_timer(
    model: ScoringModel,
    found: Score,
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
) -> Score:
    """The score with how it ages (``Aging``: each decaying rule's points before its cap, the points
    that do not decay) and its timer (``next_check_at``): the first of an interaction leaving (or
    entering) a window and a crossing of a grade's or the sales-ready line by decay. Computed where a
    score is written (``predictive.evaluate``), not in every evaluation (``score``): the engine's
    speed is the interpreter's."""
    if not model.ages:
        return found
    terms: list[tuple[str, float, float | None]] = []
    if model.half_life_days is not None:
        by_id = {i.interaction_id: i for i in interactions}
        rules = {rule.rule_id: rule for rule in model.rules if rule.per_event}
        for entry in found.breakdown:
            rule = rules.get(entry.rule_id)
            if rule is not None:
                raw = math.fsum(
                    rule.points * _decay(model, found.as_of, by_id[i])
                    for i in entry.interaction_ids
                    if i in by_id
                )
                terms.append(
                    (rule.rule_id, raw, float(rule.max_points) if rule.max_points is not None else None)
                )
    static = math.fsum(e.points for e in found.breakdown) - math.fsum(
        _capped(raw, cap) for _, raw, cap in terms
    )
    aging = Aging(
        half_life_days=model.half_life_days if terms else None,
        terms=tuple(terms),
        min_score=model.min_score,
        max_score=model.max_score,
        static=static,
    )
    facts = Facts(lead, contact, account, counted_interactions(lead, interactions), found.as_of)
    due = [
        t
        for t in (
            _window_change(model, facts),
            _crossing(model, aging, static, found.as_of, found.grade, found.sales_ready),
        )
        if t is not None
    ]
    return replace(found, aging=replace(aging, next_check_at=min(due) if due else None))


def _capped(points: float, cap: float | None) -> float:
    return math.copysign(cap, points) if cap is not None and abs(points) > cap else points


def _bounded(value: int, low: float | None, high: float | None) -> int:
    if high is not None and value > high:
        value = math.floor(high)
    if low is not None and value < low:
        value = math.ceil(low)
    return value


def _window_change(model: ScoringModel, facts: Facts) -> datetime | None:
    """The first time an interaction the model sees leaves a window (or a future-dated one enters):
    the score may change then, so the lead is rescored from its interactions."""
    times = [i.occurred_at for i in facts.interactions if i.occurred_at > facts.as_of]
    for leaf in model.event_leaves():
        if leaf.window is not None:
            times += [i.occurred_at + leaf.window for i in leaf.matching(facts)]
    return min(times) if times else None


#: The crossing search: steps of half_life / CROSSING_STEPS, refined to a minute.
CROSSING_STEPS = 32
_MINUTE = 60.0


def _crossing(
    model: ScoringModel, aging: Aging, static: float, as_of: datetime, grade: str | None, ready: bool
) -> datetime | None:
    """The first time decay alone moves the score across a grade's line or the sales-ready line; ``None``
    when it never does (the decaying points fall under half a point first: the score is constant from
    then on). Stepped search, then bisection to the minute: a crossing that goes and comes back within
    one step (rules of both signs) is not seen, and said in ``docs/scaling.md``."""
    if aging.half_life_days is None or not aging.terms:
        return None
    weight = math.fsum(abs(raw) for _, raw, _cap in aging.terms)
    if weight < 0.5:
        return None
    half_life = aging.half_life_days * DAY_SECONDS
    horizon = half_life * math.log2(2 * weight) + half_life  # beyond it the decaying part is < 0.5

    def state(seconds: float) -> tuple[str | None, bool]:
        f = float(0.5 ** (seconds / half_life))
        total = static + math.fsum(_capped(raw * f, cap) for _, raw, cap in aging.terms)
        value = _bounded(_round(total), aging.min_score, aging.max_score)
        return grade_of(
            model, value
        ), model.sales_ready_score is not None and value >= model.sales_ready_score

    initial = (grade, ready)
    if all(raw > 0 for _, raw, _cap in aging.terms) or all(raw < 0 for _, raw, _cap in aging.terms):
        # every decaying term moves one way, so the score does: the grade and the flag leave their
        # first values once and for all, and a bisection over time finds when (to the minute)
        if state(horizon) == initial:
            return None
        low, high = 0.0, horizon
    else:
        low, last = _stepped(state, initial, half_life / CROSSING_STEPS, horizon)
        if last is None:
            return None
        high = last
    while high - low > _MINUTE:
        middle = (low + high) / 2
        if state(middle) != initial:
            high = middle
        else:
            low = middle
    return as_of + timedelta(seconds=math.ceil(high))


def _stepped(
    state: Any, initial: tuple[str | None, bool], step: float, horizon: float
) -> tuple[float, float | None]:
    """Rules of both signs: the first step at which the state differs, and the one before it."""
    before, t = 0.0, step
    while t <= horizon + step:
        if state(t) != initial:
            return before, t
        before, t = t, t + step
    return before, None


def _rule_points(model: ScoringModel, rule: Rule, facts: Facts) -> RuleScore | None:
    if not rule.per_event:
        holds, ids = rule.when.test(facts)
        return RuleScore(rule.rule_id, float(rule.points), tuple(sorted(ids))) if holds else None
    leaf = rule.event
    count, found = leaf.counted(facts)
    if count == 0 or count < leaf.min_count or (leaf.max_count is not None and count > leaf.max_count):
        return None
    if count != len(found):  # counted from totals: no decay (``interaction_counts.countable``)
        total = float(rule.points * count)
    else:
        # fsum: the same interactions give the same points in whatever order they arrive
        total = math.fsum(rule.points * _decay(model, facts.as_of, interaction) for interaction in found)
    return RuleScore(
        rule.rule_id, _capped(total, rule.max_points), tuple(sorted(i.interaction_id for i in found))
    )


def _decay(model: ScoringModel, as_of: datetime, interaction: Interaction) -> float:
    if model.half_life_days is None:
        return 1.0
    age_days = (as_of - interaction.occurred_at).total_seconds() / DAY_SECONDS
    return float(0.5 ** (age_days / model.half_life_days))


def _round(total: float) -> int:
    """Half away from zero, on the shortest decimal that names the float (2.5 -> 3, -2.5 -> -3)."""
    return int(Decimal(repr(total)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def grade_bounds(grades: Sequence[Grade], grade: str) -> tuple[float | None, float | None]:
    """The scores that get ``grade``: ``[low, below)`` (``None``: unbounded). A grade is the first whose
    line a score reaches, so the grades listed before it bound it from above."""
    below: float | None = None
    for entry in grades:
        if entry.grade == grade:
            return entry.min_score, below
        if entry.min_score is None:
            return None, None  # never reached: an earlier grade takes every score
        below = entry.min_score if below is None else min(below, entry.min_score)
    return None, None


def grade_of(model: ScoringModel, value: float) -> str | None:
    for entry in model.grades:
        if entry.min_score is None or entry.min_score <= value:
            return entry.grade
    return None


# ---------------------------------------------------------------- reading a model


def parse_model(model_id: str, version: int, spec: Any) -> ScoringModel:
    """Validate and compile a model definition; :class:`ValidationFailed` names each rule and field."""
    if not isinstance(spec, dict):
        raise ValidationFailed([FieldError("body", "a scoring model must be a JSON object")])
    compiler = Compiler()
    for key in sorted(set(spec) - _MODEL_KEYS):
        compiler.fail(key, f"{key} is not a property of a scoring model")
    name = spec.get("name", model_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        compiler.fail("name", "name must be text of 1-200 characters")
    audience = compiler.condition(spec["audience"], "audience") if "audience" in spec else None
    min_consent = spec.get("min_consent")
    if min_consent is not None and min_consent not in CONSENT_LEVELS:
        compiler.fail(
            "min_consent", f"min_consent {min_consent!r} is not a consent level ({', '.join(CONSENT_LEVELS)})"
        )
    scope = spec.get("scope", "contact")
    if scope not in ("contact", "account"):
        compiler.fail("scope", "scope must be contact or account")
    rules = _rules(spec.get("rules"), compiler)
    grades = _grades(spec.get("grades", []), compiler)
    numbers = {
        key: _optional_number(spec, key, compiler) for key in ("sales_ready_score", "max_score", "min_score")
    }
    half_life = _decay_spec(spec.get("decay"), compiler)
    if (
        numbers["max_score"] is not None
        and numbers["min_score"] is not None
        and numbers["max_score"] < numbers["min_score"]
    ):
        compiler.fail("max_score", "max_score is smaller than min_score")
    if compiler.errors:
        raise ValidationFailed(compiler.errors)
    return ScoringModel(
        model_id=model_id,
        version=version,
        name=str(name),
        rules=tuple(rules),
        grades=tuple(grades),
        audience=audience,
        min_consent=min_consent,
        sales_ready_score=numbers["sales_ready_score"],
        half_life_days=half_life,
        scope=scope,
        max_score=numbers["max_score"],
        min_score=numbers["min_score"],
        definition=spec,
        warnings=tuple(compiler.warnings),
    )


def _rules(spec: Any, compiler: Compiler) -> list[Rule]:
    if not isinstance(spec, list) or not spec:
        compiler.fail("rules", "rules must be a non-empty list")
        return []
    if len(spec) > MAX_RULES:
        compiler.fail("rules", f"at most {MAX_RULES} rules")
        return []
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, rule_spec in enumerate(spec):
        rule = _rule(index, rule_spec, seen, compiler)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(index: int, spec: Any, seen: set[str], compiler: Compiler) -> Rule | None:
    if not isinstance(spec, dict):
        compiler.fail(f"rules[{index}]", f"rules[{index}] must be an object")
        return None
    rule_id = spec.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip() or len(rule_id) > 64:
        compiler.fail(f"rules[{index}].id", f"rules[{index}] needs an id of 1-64 characters")
        return None
    where = f"rules[{rule_id}]"
    if rule_id in seen:
        compiler.fail(f"{where}.id", f"rule {rule_id}: the id is used twice")
    seen.add(rule_id)
    for key in sorted(set(spec) - _RULE_KEYS):
        compiler.fail(f"{where}.{key}", f"rule {rule_id}: {key!r} is not a property of a rule")
    errors_before = len(compiler.errors)
    points, per_event, max_points = _rule_numbers(spec, rule_id, where, compiler)
    when = compiler.condition(spec.get("when"), f"{where}.when")
    if per_event and when is not None and not isinstance(when, EventLeaf):
        compiler.fail(
            f"{where}.when", f"rule {rule_id}: a per-event rule's condition must be one event condition"
        )
    if when is None or len(compiler.errors) > errors_before:
        return None
    return Rule(rule_id, points, when, per_event, max_points)


def _rule_numbers(
    spec: dict[str, Any], rule_id: str, where: str, compiler: Compiler
) -> tuple[int, bool, int | None]:
    points = spec.get("points")
    if isinstance(points, bool) or not isinstance(points, int) or abs(points) > 10**6:
        compiler.fail(f"{where}.points", f"rule {rule_id}: points must be an integer")
        points = 0
    per_event = spec.get("per_event", False)
    if not isinstance(per_event, bool):
        compiler.fail(f"{where}.per_event", f"rule {rule_id}: per_event must be true or false")
        per_event = False
    max_points = spec.get("max_points")
    if max_points is not None and (
        isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 0
    ):
        compiler.fail(f"{where}.max_points", f"rule {rule_id}: max_points must be a non-negative integer")
        max_points = None
    if max_points is not None and not per_event:
        compiler.fail(f"{where}.max_points", f"rule {rule_id}: max_points caps per-event rules only")
    return points, per_event, max_points


def parse_grades(spec: Any, compiler: Compiler) -> list[Grade]:
    """Grades as rule models declare them (also read by predictive models)."""
    return _grades(spec, compiler)


def _grades(spec: Any, compiler: Compiler) -> list[Grade]:
    if not isinstance(spec, list):
        compiler.fail("grades", "grades must be a list")
        return []
    grades: list[Grade] = []
    for index, entry in enumerate(spec):
        where = f"grades[{index}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("grade"), str)
            or not entry["grade"].strip()
        ):
            compiler.fail(where, f"{where} needs a grade name")
            continue
        if set(entry) - {"grade", "min_score"}:
            compiler.fail(where, f"{where}: only grade and min_score")
        threshold = entry.get("min_score")
        if threshold is not None and finite(threshold) is None:
            compiler.fail(f"{where}.min_score", f"{where}.min_score must be a number")
            continue
        grades.append(Grade(entry["grade"], float(threshold) if threshold is not None else None))
    _check_grade_order(grades, compiler)
    return grades


def _check_grade_order(grades: list[Grade], compiler: Compiler) -> None:
    """Grades are read top-down: thresholds strictly decreasing, a catch-all only last, names unique."""
    names = [g.grade for g in grades]
    for index, entry in enumerate(grades):
        if names.count(entry.grade) > 1:
            compiler.fail(f"grades[{index}].grade", f"grade {entry.grade!r} is listed twice")
        if entry.min_score is None and index != len(grades) - 1:
            compiler.fail(
                f"grades[{index}]", f"grade {entry.grade!r} has no min_score, so it must be the last"
            )
        if index and entry.min_score is not None:
            previous = grades[index - 1].min_score
            if previous is not None and entry.min_score >= previous:
                compiler.fail(
                    f"grades[{index}].min_score",
                    f"grade {entry.grade!r} overlaps or is out of order: "
                    f"its min_score must be below {previous:g}",
                )


def _optional_number(spec: dict[str, Any], key: str, compiler: Compiler) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if finite(value) is None:
        compiler.fail(key, f"{key} must be a number")
        return None
    return float(value)


def _decay_spec(spec: Any, compiler: Compiler) -> float | None:
    if spec is None:
        return None
    half_life = spec.get("half_life_days") if isinstance(spec, dict) else None
    if isinstance(half_life, bool) or not isinstance(half_life, int | float) or not 0 < half_life <= 36500:
        compiler.fail("decay.half_life_days", "decay.half_life_days must be a positive number of days")
        return None
    if set(spec) - {"half_life_days"}:
        compiler.fail("decay", "decay takes only half_life_days")
    return float(half_life)
