"""Predictive scoring models: a logistic regression learned from past outcomes, kept as plain
parameters (JSON) and evaluated with the standard library, every prediction explained.

What a model sees of a lead (:func:`observe`): the lead's, contact's and account's fields, and per
interaction type the number of interactions and the days since the last one (up to ``as_of``).
What it makes of them (:class:`FeatureSpec`, learned at training time): a numeric field becomes a
linear term on ``z = clip((slog(x) - center) / scale)`` (``slog`` = signed ``log1p``), a weight per
quantile bin of ``x``, and, when it can be absent, a "missing" weight; a text field becomes one
indicator per frequent level, ``(missing)`` included.

The logit is ``intercept + sum(weight * x)``. The intercept is the logit of a lead about which nothing
is known (every ``x`` 0); a field's factor is the sum of ``weight * x`` over its features, so the
intercept and the factors add up to the logit exactly. Unknown levels, text in a numeric field and
fields the model never saw contribute 0.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.predictive_trees import TreeEnsemble, is_trees, parse_trees
from chalicelib.domain.rules import Compiler, as_number, as_text, finite
from chalicelib.domain.scoring import (
    DAY_SECONDS,
    Aging,
    Grade,
    RuleScore,
    Score,
    ScoringModel,
    counted_interactions,
    parse_grades,
    parse_model,
    score,
    with_timer,
)

MODEL_TYPE = "predictive"
MISSING = "(missing)"
#: Training refuses fewer examples than this of either outcome.
MIN_OUTCOMES = 40
#: Numeric features are clipped to this many standard deviations (an absurd value moves a score, a bit).
Z_LIMIT = 5.0
TOP_FACTORS = 5
DEFAULT_GRADES: list[dict[str, Any]] = [
    {"grade": "A", "min_score": 75},
    {"grade": "B", "min_score": 50},
    {"grade": "C", "min_score": 25},
    {"grade": "D"},
]
#: Personal data and identifiers never become features (a model is not a copy of the contacts); the
#: lifecycle fields are the outcome itself.
NEVER_FEATURES = frozenset(
    {
        "contact.email",
        "contact.first_name",
        "contact.last_name",
        "contact.phone",
        "account.name",
        "account.domain",
        "lead.state",
        "lead.status",
        # sales' own work on a lead happens after it was handed over: it would teach the outcome
        "interactions.phone_call_completed",
    }
)
_KEYS = {
    "id",
    "type",
    "name",
    "description",
    "grades",
    "sales_ready_score",
    "training",
    "parameters",
    "metrics",
}
_TRAINING_KEYS = {
    "algorithm",
    "regularization",
    "exclude",
    "holdout_fraction",
    "min_level_count",
    "max_levels",
    "time_limit",
}
#: ``training.algorithm``: gradient-boosted trees (the default) or the logistic regression.
ALGORITHMS = ("trees", "logistic")


# ---------------------------------------------------------------- what a model sees


def observe(
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
    as_of: datetime,
) -> dict[str, Any]:
    """Everything a model may use about a lead at ``as_of``, by path: ``lead.*``, ``contact.*``,
    ``account.*`` field values, ``interactions.<type>.count`` and ``interactions.<type>.days_since_last``
    (interactions after ``as_of`` do not exist yet)."""
    seen: dict[str, Any] = {}
    for entity, fields in (
        ("lead", lead.fields),
        ("contact", contact.fields if contact else {}),
        ("account", account.fields if account else {}),
    ):
        for name, value in fields.items():
            seen[f"{entity}.{name}"] = value
    counts: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    for interaction in counted_interactions(lead, interactions):
        if interaction.occurred_at > as_of:
            continue
        counts[interaction.type] = counts.get(interaction.type, 0) + 1
        if interaction.type not in latest or interaction.occurred_at > latest[interaction.type]:
            latest[interaction.type] = interaction.occurred_at
    for kind, number in counts.items():
        seen[f"interactions.{kind}.count"] = number
        seen[f"interactions.{kind}.days_since_last"] = (as_of - latest[kind]).total_seconds() / DAY_SECONDS
    return seen


def is_count(path: str) -> bool:
    """Interaction counts are 0, not missing, when a lead has no such interaction."""
    return path.startswith("interactions.") and path.endswith(".count")


def level_of(value: Any) -> str | None:
    """A categorical value as a level: trimmed, case-folded text (``None`` when absent or not scalar)."""
    if value is None or isinstance(value, dict | list | set | tuple):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = as_text(value)[:64]
    return text or None


def is_absent(value: Any) -> bool:
    """Nothing said (which a model may learn to read); anything else that is no usable value (a list,
    text where a number belongs) is unknown and moves no score."""
    return value is None or (isinstance(value, str) and not value.strip())


def number_of(path: str, value: Any) -> float | None:
    """A numeric value; text that is no number, booleans and absurd numbers are missing."""
    if value is None and is_count(path):
        return 0.0
    if isinstance(value, bool):
        return None
    return as_number(value)


def slog(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x)


# ---------------------------------------------------------------- the features and their weights


@dataclass
class NumericFeature:
    """A number, in three parts that each may be absent: a linear term on the standardised signed log
    (``weight``), one weight per quantile bin of the raw value (``cuts``, ``bin_weights``: the bends a
    line cannot follow), and a weight for its absence (``missing_weight``)."""

    path: str
    center: float = 0.0
    scale: float = 1.0
    weight: float | None = 0.0  # None: constant in training, no linear term
    missing_weight: float | None = None  # None: (almost) always present in training
    cuts: tuple[float, ...] = ()
    bin_weights: tuple[float, ...] = ()

    def columns(self) -> list[str]:
        names = [self.path] if self.weight is not None else []
        if self.missing_weight is not None:
            names.append(f"{self.path} {MISSING}")
        return names + [f"{self.path} bin{k}" for k in range(len(self.bin_weights))]

    def values(self, value: Any) -> list[float]:
        """This feature's columns for one raw value. An absent value is missing (which may mean
        something); a present one that is no number (text, a boolean) is unknown: all zeros."""
        number = number_of(self.path, value)
        missing = number is None and is_absent(value)
        out = []
        if self.weight is not None:
            z = 0.0 if number is None else (slog(number) - self.center) / self.scale
            out.append(max(-Z_LIMIT, min(Z_LIMIT, z)))
        if self.missing_weight is not None:
            out.append(1.0 if missing else 0.0)
        bins = [0.0] * len(self.bin_weights)
        if number is not None and bins:
            bins[bisect.bisect_right(self.cuts, number)] = 1.0
        return out + bins

    def weights(self) -> list[float]:
        out = [self.weight] if self.weight is not None else []
        if self.missing_weight is not None:
            out.append(self.missing_weight)
        return out + list(self.bin_weights)

    def with_weights(self, weights: Iterator[float]) -> NumericFeature:
        weight = next(weights) if self.weight is not None else None
        missing = next(weights) if self.missing_weight is not None else None
        bins = tuple(next(weights) for _ in self.bin_weights)
        return NumericFeature(self.path, self.center, self.scale, weight, missing, self.cuts, bins)

    def factor(self, value: Any) -> Factor | None:
        contribution = math.fsum(map(operator.mul, self.weights(), self.values(value)))
        if not contribution:
            return None
        missing = number_of(self.path, value) is None and is_absent(value)
        return Factor(
            self.path,
            f"{self.path} is missing" if missing else f"{self.path} = {_shown(value)}",
            contribution,
        )

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"field": self.path}
        if self.weight is not None:
            entry.update(center=self.center, scale=self.scale, weight=self.weight)
        if self.missing_weight is not None:
            entry["missing_weight"] = self.missing_weight
        if self.bin_weights:
            entry.update(cuts=list(self.cuts), bin_weights=list(self.bin_weights))
        return entry


@dataclass
class CategoricalFeature:
    """One indicator per frequent level (``(missing)`` included when absence was frequent); a level
    never seen in training turns no indicator on, so it contributes nothing."""

    path: str
    levels: dict[str, float]  # level -> weight

    def columns(self) -> list[str]:
        return [f"{self.path}={level}" for level in self.levels]

    def level(self, value: Any) -> str | None:
        level = MISSING if is_absent(value) else level_of(value)
        return level if level in self.levels else None

    def values(self, value: Any) -> list[float]:
        level = self.level(value)
        return [1.0 if known == level else 0.0 for known in self.levels]

    def weights(self) -> list[float]:
        return list(self.levels.values())

    def with_weights(self, weights: Iterator[float]) -> CategoricalFeature:
        return CategoricalFeature(self.path, {level: next(weights) for level in self.levels})

    def factor(self, value: Any) -> Factor | None:
        level = self.level(value)
        if level is None or not self.levels[level]:
            return None
        label = f"{self.path} is missing" if level == MISSING else f"{self.path} = {level}"
        return Factor(self.path, label, self.levels[level])

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.path, "weights": dict(self.levels)}


Feature = NumericFeature | CategoricalFeature


@dataclass
class FeatureSpec:
    """The features a model was trained on, in a fixed order (the training matrix's columns)."""

    features: list[Feature] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for feature in self.features for name in feature.columns()]

    def encode(self, seen: Mapping[str, Any]) -> dict[int, float]:
        """One lead's features as a sparse row: column index -> value (zeros left out)."""
        row: dict[int, float] = {}
        column = 0
        for feature in self.features:
            for value in feature.values(seen.get(feature.path)):
                if value:
                    row[column] = value
                column += 1
        return row

    def weights(self) -> list[float]:
        return [w for feature in self.features for w in feature.weights()]

    def with_weights(self, weights: Sequence[float]) -> FeatureSpec:
        values = iter(weights)
        return FeatureSpec([feature.with_weights(values) for feature in self.features])

    def as_dict(self) -> dict[str, Any]:
        return {
            "numeric": [f.as_dict() for f in self.features if isinstance(f, NumericFeature)],
            "categorical": [f.as_dict() for f in self.features if isinstance(f, CategoricalFeature)],
        }


# ---------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Factor:
    """One feature's share of a prediction, in log-odds; ``label`` names the field and its value."""

    feature: str
    label: str
    contribution: float
    #: The lead's value, for a label made only when the factor is shown (trees: ``label`` is empty).
    value: Any = field(default=None, compare=False)

    @property
    def shown(self) -> str:
        return self.label or _tree_label(self.feature, self.value)


@dataclass(frozen=True)
class Prediction:
    probability: float
    logit: float
    intercept: float
    factors: tuple[Factor, ...]  # every non-zero contribution, largest effect first


@dataclass(frozen=True)
class PredictiveModel:
    model_id: str
    version: int
    name: str
    intercept: float
    spec: FeatureSpec
    grades: tuple[Grade, ...]
    sales_ready_score: float | None = None
    definition: dict[str, Any] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()
    scope: str = "contact"
    lookback_days: float | None = None  # counts are over all the contact's (retained) interactions
    #: A tree ensemble (``parameters.algorithm == "trees"``); ``None``: the logistic model above.
    trees: TreeEnsemble | None = field(default=None, compare=False)

    @property
    def algorithm(self) -> str:
        return "trees" if self.trees is not None else "logistic"

    @property
    def ages(self) -> bool:
        """Days since the last interaction grow every day: each lead's score keeps a daily timer."""
        paths = [f.path for f in self.trees.features] if self.trees else [f.path for f in self.spec.features]
        return any(path.endswith(".days_since_last") for path in paths)

    @property
    def trained(self) -> bool:
        return "parameters" in self.definition

    @property
    def metrics(self) -> dict[str, Any]:
        value = self.definition.get("metrics")
        return value if isinstance(value, dict) else {}

    def logit_of(self, seen: Mapping[str, Any]) -> float:
        return self.predict_observed(seen).logit

    def predict_observed(self, seen: Mapping[str, Any]) -> Prediction:
        """The probability, and each field's share of the logit (one factor per field)."""
        if self.trees is not None:
            return self._predict_trees(self.trees, seen)
        factors = [f for f in (feature.factor(seen.get(feature.path)) for feature in self.spec.features) if f]
        factors.sort(key=lambda f: (-abs(f.contribution), f.feature))
        logit = math.fsum([self.intercept, *(f.contribution for f in factors)])
        return Prediction(_sigmoid(logit), logit, self.intercept, tuple(factors))

    def _predict_trees(self, trees: TreeEnsemble, seen: Mapping[str, Any]) -> Prediction:
        """Trees: the factors are the fields' TreeSHAP values and the intercept is the expected value."""
        compiled = trees.compiled
        phi = compiled.contributions(seen)
        factors = [
            Factor(feature.path, "", share, seen.get(feature.path))
            for feature, share in zip(trees.features, phi, strict=True)
            if share
        ]
        factors.sort(key=lambda f: (-abs(f.contribution), f.feature))
        logit = math.fsum([compiled.expected_value, *phi])
        return Prediction(_sigmoid(logit), logit, compiled.expected_value, tuple(factors))

    def predict(
        self,
        lead: Lead,
        contact: Contact | None,
        account: Account | None,
        interactions: Sequence[Interaction],
        as_of: datetime,
    ) -> Prediction:
        return self.predict_observed(observe(lead, contact, account, interactions, as_of))

    def score(
        self,
        lead: Lead,
        contact: Contact | None,
        account: Account | None,
        interactions: Sequence[Interaction],
        as_of: datetime,
    ) -> Score | None:
        """The probability as a 0-100 score, its grade, and a breakdown in log-odds: the baseline,
        the top positive and negative factors, and the rest summed as ``other``; the lines add up
        to the logit. ``None`` for a model not trained yet."""
        if not self.trained:
            return None
        return self.score_observed(observe(lead, contact, account, interactions, as_of), as_of)

    def score_observed(self, seen: Mapping[str, Any], as_of: datetime) -> Score:
        prediction = self.predict_observed(seen)
        value = int(Decimal(repr(100.0 * prediction.probability)).quantize(Decimal(1), ROUND_HALF_UP))
        return Score(
            model_id=self.model_id,
            model_version=self.version,
            as_of=as_of,
            score=value,
            grade=next((g.grade for g in self.grades if g.min_score is None or g.min_score <= value), None),
            sales_ready=self.sales_ready_score is not None and value >= self.sales_ready_score,
            breakdown=breakdown(prediction),
            # days since the last interaction grow every day, in no closed form of time: such a model's
            # leads keep a daily timer each (issue 19: was a daily job rescoring every lead)
            aging=Aging(next_check_at=as_of + timedelta(days=1)) if self.ages else None,
        )


def breakdown(prediction: Prediction) -> tuple[RuleScore, ...]:
    positive = [f for f in prediction.factors if f.contribution > 0][:TOP_FACTORS]
    negative = [f for f in prediction.factors if f.contribution < 0][:TOP_FACTORS]
    shown = {f.feature for f in positive + negative}
    rest = [f.contribution for f in prediction.factors if f.feature not in shown]
    lines = [RuleScore("baseline", prediction.intercept, (), "baseline")]
    lines += [RuleScore(f.shown, f.contribution, (), "factor") for f in positive + negative]
    if rest:
        lines.append(RuleScore(f"{len(rest)} other factors", math.fsum(rest), (), "other"))
    return tuple(lines)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _tree_label(path: str, value: Any) -> str:
    if is_absent(value) and not is_count(path):
        return f"{path} is missing"
    return f"{path} = {_shown(value) if as_number(value) is not None else level_of(value) or '?'}"


def _shown(value: Any) -> str:
    number = as_number(value)
    if number is None:
        return str(value)[:64]
    return f"{number:g}"


# ---------------------------------------------------------------- reading a model


AnyModel = ScoringModel | PredictiveModel


def is_predictive(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("type") == MODEL_TYPE


def parse_any(model_id: str, version: int, spec: Any) -> AnyModel:
    """A rule model, or a predictive one (``"type": "predictive"``)."""
    return (
        parse_predictive(model_id, version, spec)
        if is_predictive(spec)
        else parse_model(model_id, version, spec)
    )


def evaluate(
    model: AnyModel,
    lead: Lead,
    contact: Contact | None,
    account: Account | None,
    interactions: Sequence[Interaction],
    as_of: datetime,
    totals: Mapping[str, int] | None = None,
) -> Score | None:
    """The lead's score under a model of either kind, with its timer when it ages (``with_timer``).
    ``totals``: the lead's kept interaction counts (a rule model's "all time" rules count from them)."""
    if isinstance(model, PredictiveModel):
        return model.score(lead, contact, account, interactions, as_of)
    found = score(model, lead, contact, account, interactions, as_of, totals)
    return with_timer(model, found, lead, contact, account, interactions) if found is not None else None


def parse_predictive(model_id: str, version: int, spec: Any) -> PredictiveModel:
    """Validate a predictive model definition. Without ``parameters`` it is a configuration waiting
    for training (a valid draft that scores nothing)."""
    compiler = Compiler()
    for key in sorted(set(spec) - _KEYS):
        compiler.fail(key, f"{key} is not a property of a predictive model")
    name = spec.get("name", model_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        compiler.fail("name", "name must be text of 1-200 characters")
    grades = parse_grades(spec.get("grades", DEFAULT_GRADES), compiler)
    ready = spec.get("sales_ready_score")
    if ready is not None and finite(ready) is None:
        compiler.fail("sales_ready_score", "sales_ready_score must be a number")
    training_config(spec, compiler)
    intercept, features, trees = 0.0, FeatureSpec(), None
    if "parameters" in spec:
        if is_trees(spec["parameters"]):
            trees = parse_trees(spec["parameters"], compiler)
        else:
            intercept, features = _parameters(spec["parameters"], compiler)
    if compiler.errors:
        raise ValidationFailed(compiler.errors)
    return PredictiveModel(
        model_id=model_id,
        version=version,
        name=str(name),
        intercept=intercept,
        spec=features,
        grades=tuple(grades),
        sales_ready_score=float(ready) if ready is not None else None,
        definition=spec,
        trees=trees,
    )


@dataclass(frozen=True)
class TrainingConfig:
    #: L2 strength (scikit-learn's 1/C); ``None``: chosen from ``REGULARIZATION_GRID`` on a time split
    #: of the training leads (never on the evaluation leads).
    regularization: float | None = None
    exclude: tuple[str, ...] = ()
    holdout_fraction: float = 0.2
    min_level_count: int = 5
    max_levels: int = 30
    algorithm: str = "trees"
    #: Seconds the trees' model selection may take (no new setting starts after it).
    time_limit: float = 120.0


def training_config(spec: dict[str, Any], compiler: Compiler | None = None) -> TrainingConfig:
    compiler = compiler or Compiler()
    raw = spec.get("training", {})
    if not isinstance(raw, dict):
        compiler.fail("training", "training must be an object")
        return TrainingConfig()
    for key in sorted(set(raw) - _TRAINING_KEYS):
        compiler.fail(f"training.{key}", f"{key} is not a training setting")
    config = TrainingConfig()
    bounds = {
        "regularization": (1e-6, 1e6),
        "holdout_fraction": (0.05, 0.5),
        "min_level_count": (1, 10_000),
        "max_levels": (1, 200),
        "time_limit": (1, 600),
    }
    values: dict[str, Any] = {}
    for key, (low, high) in bounds.items():
        if key not in raw:
            continue
        number = finite(raw[key])
        if number is None or not low <= number <= high:
            compiler.fail(f"training.{key}", f"training.{key} must be a number from {low:g} to {high:g}")
            continue
        values[key] = int(number) if key in ("min_level_count", "max_levels") else number
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(p, str) for p in exclude):
        compiler.fail("training.exclude", "training.exclude must be a list of field paths")
        exclude = []
    algorithm = raw.get("algorithm", config.algorithm)
    if algorithm not in ALGORITHMS:
        compiler.fail("training.algorithm", "training.algorithm must be trees or logistic")
        algorithm = config.algorithm
    return TrainingConfig(
        algorithm=algorithm,
        time_limit=values.get("time_limit", config.time_limit),
        regularization=values.get("regularization", config.regularization),
        exclude=tuple(exclude),
        holdout_fraction=values.get("holdout_fraction", config.holdout_fraction),
        min_level_count=values.get("min_level_count", config.min_level_count),
        max_levels=values.get("max_levels", config.max_levels),
    )


def _number(value: Any, where: str, compiler: Compiler) -> float:
    number = finite(value)
    if number is None:
        compiler.fail(where, f"{where} must be a number")
        return 0.0
    return number


def _numbers(raw: Any, where: str, compiler: Compiler) -> tuple[float, ...]:
    if not isinstance(raw, list):
        compiler.fail(where, f"{where} must be a list of numbers")
        return ()
    return tuple(_number(v, where, compiler) for v in raw)


def _numeric_feature(entry: dict[str, Any], where: str, compiler: Compiler) -> NumericFeature:
    scale = _number(entry.get("scale", 1.0), f"{where}.scale", compiler)
    if scale <= 0:
        compiler.fail(f"{where}.scale", f"{where}.scale must be positive")
    missing = entry.get("missing_weight")
    cuts = _numbers(entry.get("cuts", []), f"{where}.cuts", compiler)
    bins = _numbers(entry.get("bin_weights", []), f"{where}.bin_weights", compiler)
    if bins and (len(bins) != len(cuts) + 1 or list(cuts) != sorted(cuts)):
        compiler.fail(f"{where}.cuts", f"{where}: cuts must be sorted, one fewer than bin_weights")
    return NumericFeature(
        entry["field"],
        _number(entry.get("center", 0.0), f"{where}.center", compiler),
        scale,
        _number(entry["weight"], f"{where}.weight", compiler) if "weight" in entry else None,
        _number(missing, f"{where}.missing_weight", compiler) if missing is not None else None,
        cuts if bins else (),
        bins,
    )


def _parameters(raw: Any, compiler: Compiler) -> tuple[float, FeatureSpec]:
    if not isinstance(raw, dict):
        compiler.fail("parameters", "parameters must be an object")
        return 0.0, FeatureSpec()
    intercept = _number(raw.get("intercept"), "parameters.intercept", compiler)
    features: list[Feature] = []
    for index, entry in enumerate(raw.get("numeric", [])):
        where = f"parameters.numeric[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            compiler.fail(where, f"{where} needs a field")
            continue
        features.append(_numeric_feature(entry, where, compiler))
    for index, entry in enumerate(raw.get("categorical", [])):
        where = f"parameters.categorical[{index}]"
        weights = entry.get("weights") if isinstance(entry, dict) else None
        if not isinstance(weights, dict) or not isinstance(entry.get("field"), str):
            compiler.fail(where, f"{where} needs a field and weights")
            continue
        levels = {str(k): _number(v, f"{where}.weights", compiler) for k, v in weights.items()}
        features.append(CategoricalFeature(entry["field"], levels))
    return intercept, FeatureSpec(features)


#: What :func:`paths_read` answers for a model whose definition is not known (built in code): it may
#: read anything a change touches.
_ANY_LEAD_PATH = frozenset({"lead.state", "lead.status", "lead.owner", "lead.round"})


def paths_read(model: AnyModel) -> frozenset[str]:
    """The attribute paths (``lead.status``, ``contact.job_title``...) a model's rules, audience or
    features read: a change to nothing among them cannot change its scores (issue 19: a lead's
    qualification does not rescore it unless a model reads ``lead.status``)."""
    if isinstance(model, PredictiveModel):
        features = model.trees.features if model.trees else model.spec.features
        return frozenset(f.path for f in features)
    if not model.definition:
        return _ANY_LEAD_PATH
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "field" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model.definition)
    return frozenset(found)
