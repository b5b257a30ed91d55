"""Training and judging predictive models. This module uses the standard library only; tree models are
fitted by :mod:`predictive_trees_training` (scikit-learn, imported only when trees are trained, from
the training function's layer), and the logistic model here (the tests cross-check it against
scikit-learn).

- :func:`learn_spec` decides the features from the training leads (numeric or categorical, frequent
  levels, means and scales; constant and empty columns are dropped).
- :func:`fit_logistic` minimises ``sum(log-loss) + regularization / 2 * |w|^2`` (the intercept is not
  penalised: scikit-learn's ``LogisticRegression(C=1/regularization)``) with L-BFGS on sparse rows.
- :class:`NaiveBayes` is the baseline, the way Odoo scores leads: per field, the frequency of each value
  among won and lost leads, Laplace-smoothed, multiplied as if independent.
- :func:`train` splits in time (older leads train, newer ones evaluate), measures the model, the
  baseline and the active version on the newer leads (ROC AUC, precision and recall in the top decile,
  Brier score, calibration), records the gate's figures (paired bootstrap intervals, the leak check),
  then refits on every lead for serving.
- :func:`publish_refusals` is the publish gate: each refusal a code, a message and its figures.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.predictive import (
    MIN_OUTCOMES,
    MISSING,
    NEVER_FEATURES,
    CategoricalFeature,
    Feature,
    FeatureSpec,
    NumericFeature,
    PredictiveModel,
    TrainingConfig,
    is_absent,
    is_count,
    level_of,
    number_of,
    slog,
)

NUMERIC_SHARE = 0.95
BASELINE_BINS = 5
REGULARIZATION_GRID = (0.1, 1.0, 10.0)
#: Numbers get a weight per quantile bin besides their linear term (at most this many bins).
QUANTILE_BINS = 5
DEFAULT_REGULARIZATION = 1.0


class NotEnoughOutcomes(ValidationFailed):
    code = "not_enough_outcomes"

    def __init__(self, positives: int, negatives: int) -> None:
        super().__init__(
            [
                FieldError(
                    "outcomes",
                    f"training needs at least {MIN_OUTCOMES} leads of each outcome; found {positives} "
                    f"positive (qualified or converted) and {negatives} negative (disqualified)",
                    "not_enough_outcomes",
                )
            ]
        )
        self.positives, self.negatives = positives, negatives


class TrainingLayerMissing(ValidationFailed):
    """Trees are fitted with scikit-learn, which only the training functions have (their layer)."""

    code = "training_layer_missing"

    def __init__(self) -> None:
        super().__init__(
            [
                FieldError(
                    "training.algorithm",
                    "this function cannot fit trees: scikit-learn is in the training layer "
                    "(infra/build_training_layer.py), which it lacks; attach the layer, or set "
                    'training.algorithm to "logistic"',
                    "training_layer_missing",
                )
            ]
        )


class PublishRefused(Conflict):
    """409 ``publish_gate``: the body's ``reasons`` hold each refusal's code, message and figures."""

    code = "publish_gate"

    def __init__(self, message: str, reasons: list[dict[str, Any]]) -> None:
        super().__init__(message, "model_id")
        self.details = {"reasons": reasons}


@dataclass(frozen=True)
class Example:
    """One lead whose outcome is known: what the model could see (:func:`~predictive.observe`), the
    outcome, and when the lead was created (the split is in that order; ``key`` breaks ties)."""

    seen: Mapping[str, Any]
    outcome: bool
    created_at: datetime
    key: str


# ---------------------------------------------------------------- features


def _excluded(path: str, exclude: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in (*NEVER_FEATURES, *exclude))


def learn_spec(rows: Sequence[Mapping[str, Any]], config: TrainingConfig) -> FeatureSpec:
    """The features worth having, from training rows alone (weights still 0)."""
    paths = sorted({p for row in rows for p in row if not _excluded(p, config.exclude)})
    numeric: list[Feature] = []
    categorical: list[Feature] = []
    for path in paths:
        values = [row.get(path) for row in rows]
        present = [v for v in values if not is_absent(v) or is_count(path)]
        if not present:
            continue
        numbers = [x for x in (number_of(path, v) for v in present) if x is not None]
        if path.startswith("interactions.") or len(numbers) >= NUMERIC_SHARE * len(present):
            feature = _numeric(path, numbers, len(values) - len(present), config)
            if feature is not None:
                numeric.append(feature)
        else:
            cat = _categorical(path, values, config)
            if cat is not None:
                categorical.append(cat)
    return FeatureSpec(numeric + categorical)


def _numeric(path: str, numbers: list[float], missing: int, config: TrainingConfig) -> NumericFeature | None:
    if not numbers:
        return None
    transformed = [slog(x) for x in numbers]
    center = math.fsum(transformed) / len(transformed)
    scale = statistics.pstdev(transformed, center) if len(transformed) > 1 else 0.0
    has_value = scale > 1e-9 and len(numbers) >= config.min_level_count
    can_miss = missing >= config.min_level_count and len(numbers) >= config.min_level_count
    if not has_value and not can_miss:
        return None  # constant, or (almost) never there
    cuts = _quantile_cuts(numbers, config) if has_value else ()
    return NumericFeature(
        path,
        center if has_value else 0.0,
        scale if has_value else 1.0,
        0.0 if has_value else None,
        0.0 if can_miss else None,
        cuts,
        (0.0,) * (len(cuts) + 1) if cuts else (),
    )


def _quantile_cuts(numbers: list[float], config: TrainingConfig) -> tuple[float, ...]:
    """Cut points between quantile bins of the raw values, each bin holding enough leads."""
    ordered = sorted(numbers)
    cuts = sorted({ordered[len(ordered) * k // QUANTILE_BINS] for k in range(1, QUANTILE_BINS)})
    kept: list[float] = []
    for cut in cuts:
        below = bisect.bisect_left(ordered, cut) - (bisect.bisect_left(ordered, kept[-1]) if kept else 0)
        if (
            below >= config.min_level_count
            and len(ordered) - bisect.bisect_left(ordered, cut) >= config.min_level_count
        ):
            kept.append(cut)
    return tuple(kept)


def _categorical(path: str, values: list[Any], config: TrainingConfig) -> CategoricalFeature | None:
    levels = (MISSING if is_absent(v) else level_of(v) for v in values)
    counts = Counter(level for level in levels if level is not None)  # lists, objects: no level
    frequent = sorted(
        (level for level, n in counts.items() if n >= config.min_level_count),
        key=lambda level: (-counts[level], level),
    )[: config.max_levels]
    if not frequent or (len(frequent) == 1 and counts[frequent[0]] == len(values)):
        return None  # constant: no indicator can tell leads apart
    return CategoricalFeature(path, dict.fromkeys(frequent, 0.0))


def design(spec: FeatureSpec, rows: Sequence[Mapping[str, Any]]) -> list[dict[int, float]]:
    return [spec.encode(row) for row in rows]


# ---------------------------------------------------------------- logistic regression


def _loss_and_residual(margin: float, label: int) -> tuple[float, float]:
    """Log-loss and ``p - y`` at one margin, without overflow."""
    if margin >= 0:
        e = math.exp(-margin)
        p = 1.0 / (1.0 + e)
        loss = math.log1p(e) + (0.0 if label else margin)
    else:
        e = math.exp(margin)
        p = e / (1.0 + e)
        loss = math.log1p(e) - (margin if label else 0.0)
    return loss, p - label


def fit_logistic(
    rows: Sequence[Mapping[int, float]],
    labels: Sequence[int],
    n_features: int,
    regularization: float,
    *,
    max_iter: int = 500,
    tol: float = 1e-6,
) -> tuple[float, list[float]]:
    """(intercept, weights) minimising ``sum(log-loss) + regularization / 2 * |w|^2``."""
    by_row = [([c + 1 for c in row], list(row.values())) for row in rows]
    by_column: list[tuple[list[int], list[float]]] = [([], []) for _ in range(n_features + 1)]
    for i, row in enumerate(rows):
        for c, v in row.items():
            by_column[c + 1][0].append(i)
            by_column[c + 1][1].append(v)
    ys = [int(y) for y in labels]
    mul = operator.mul

    def objective(theta: list[float]) -> tuple[float, list[float]]:
        total = 0.0
        residuals = []
        intercept = theta[0]
        get = theta.__getitem__
        for (cols, vals), label in zip(by_row, ys, strict=True):
            loss, residual = _loss_and_residual(intercept + sum(map(mul, map(get, cols), vals)), label)
            total += loss
            residuals.append(residual)
        grad = [math.fsum(residuals)]
        at = residuals.__getitem__
        for j in range(1, n_features + 1):
            index, vals = by_column[j]
            grad.append(sum(map(mul, map(at, index), vals)) + regularization * theta[j])
        total += 0.5 * regularization * math.fsum(w * w for w in theta[1:])
        return total, grad

    theta = lbfgs(objective, [0.0] * (n_features + 1), max_iter=max_iter, gtol=tol * max(1, len(rows)))
    return theta[0], theta[1:]


def lbfgs(
    objective: Callable[[list[float]], tuple[float, list[float]]],
    start: list[float],
    *,
    memory: int = 10,
    max_iter: int = 500,
    gtol: float = 1e-6,
) -> list[float]:
    """Limited-memory BFGS with a backtracking (Armijo) line search, for smooth convex objectives."""
    x = list(start)
    value, grad = objective(x)
    history: list[tuple[list[float], list[float], float]] = []
    for _ in range(max_iter):
        if max(abs(g) for g in grad) <= gtol:
            break
        direction = _two_loop(grad, history)
        slope = _dot(grad, direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            history.clear()
            direction = [-g for g in grad]
            slope = _dot(grad, direction)
        step = 1.0 if history else min(1.0, 1.0 / max(1e-12, math.sqrt(-slope)))
        while True:
            candidate = [xi + step * di for xi, di in zip(x, direction, strict=True)]
            new_value, new_grad = objective(candidate)
            if new_value <= value + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.5
        s = [a - b for a, b in zip(candidate, x, strict=True)]
        y = [a - b for a, b in zip(new_grad, grad, strict=True)]
        sy = _dot(s, y)
        if sy > 1e-12:
            history.append((s, y, 1.0 / sy))
            del history[:-memory]
        improvement = value - new_value
        x, value, grad = candidate, new_value, new_grad
        if step < 1e-12 or improvement <= 1e-14 * max(1.0, abs(value)):
            break
    return x


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(map(operator.mul, a, b))


def _two_loop(grad: list[float], history: list[tuple[list[float], list[float], float]]) -> list[float]:
    q = list(grad)
    alphas = []
    for s, y, rho in reversed(history):
        alpha = rho * _dot(s, q)
        alphas.append(alpha)
        q = [qi - alpha * yi for qi, yi in zip(q, y, strict=True)]
    if history:
        s, y, _ = history[-1]
        gamma = _dot(s, y) / _dot(y, y)
        q = [gamma * qi for qi in q]
    for (s, y, rho), alpha in zip(history, reversed(alphas), strict=True):
        beta = rho * _dot(y, q)
        q = [qi + (alpha - beta) * si for qi, si in zip(q, s, strict=True)]
    return [-qi for qi in q]


# ---------------------------------------------------------------- the baseline


@dataclass(frozen=True)
class NaiveBayes:
    """Odoo-style frequency scoring: ``P(won) * prod P(value | won)`` against the same for lost, each
    field's value counted among won and lost leads with Laplace smoothing. Numbers are cut into
    quantile bins first; a value never seen in training is a value with zero counts."""

    prior: float
    tables: dict[str, tuple[dict[str, tuple[int, int]], int]]  # path -> (token -> (won, lost), levels)
    bins: dict[str, list[float]]
    won: int
    lost: int

    @classmethod
    def fit(cls, spec: FeatureSpec, rows: Sequence[Mapping[str, Any]], labels: Sequence[int]) -> NaiveBayes:
        bins: dict[str, list[float]] = {}
        for feature in spec.features:
            if not isinstance(feature, NumericFeature):
                continue
            numbers = sorted(
                x for x in (number_of(feature.path, r.get(feature.path)) for r in rows) if x is not None
            )
            if numbers:
                cuts = [numbers[len(numbers) * k // BASELINE_BINS] for k in range(1, BASELINE_BINS)]
                bins[feature.path] = sorted(set(cuts))
        paths = [f.path for f in spec.features]
        won = sum(labels)
        lost = len(labels) - won
        model = cls(math.log((won + 1) / (lost + 1)), {}, bins, won, lost)
        for path in paths:
            counts: dict[str, list[int]] = {}
            for row, label in zip(rows, labels, strict=True):
                pair = counts.setdefault(model.token(path, row.get(path)), [0, 0])
                pair[0 if label else 1] += 1
            model.tables[path] = ({k: (v[0], v[1]) for k, v in counts.items()}, len(counts) + 1)
        return model

    def token(self, path: str, value: Any) -> str:
        if path in self.bins:
            number = number_of(path, value)
            return MISSING if number is None else f"bin{bisect.bisect_right(self.bins[path], number)}"
        return level_of(value) or MISSING

    def logit(self, row: Mapping[str, Any]) -> float:
        total = self.prior
        for path, (table, levels) in self.tables.items():
            won, lost = table.get(self.token(path, row.get(path)), (0, 0))
            total += math.log((won + 1) / (self.won + levels)) - math.log((lost + 1) / (self.lost + levels))
        return total


# ---------------------------------------------------------------- metrics


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """The probability that a random positive outranks a random negative (ties count half)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def top_decile(scores: Sequence[float], labels: Sequence[int]) -> dict[str, float]:
    """Precision and recall among the 10% highest-scored leads (what a sales team calls first)."""
    k = max(1, math.ceil(len(scores) / 10))
    top = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    hits = sum(labels[i] for i in top)
    positives = sum(labels)
    base = positives / len(labels) if labels else 0.0
    precision = hits / k
    return {
        "precision": precision,
        "recall": hits / positives if positives else 0.0,
        "lift": precision / base if base else 0.0,
    }


def calibration(probabilities: Sequence[float], labels: Sequence[int], bins: int = 10) -> dict[str, Any]:
    """Brier score, log-loss, and per probability bin the mean prediction against the observed rate."""
    n = len(labels)
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(probabilities):
        groups.setdefault(min(bins - 1, int(p * bins)), []).append(i)
    reliability: list[dict[str, Any]] = [
        {
            "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
            "leads": len(members),
            "predicted": round(math.fsum(probabilities[i] for i in members) / len(members), 4),
            "observed": round(sum(labels[i] for i in members) / len(members), 4),
        }
        for b, members in sorted(groups.items())
    ]
    eps = 1e-15
    return {
        "brier": math.fsum((p - y) ** 2 for p, y in zip(probabilities, labels, strict=True)) / n,
        "log_loss": -math.fsum(
            math.log(max(eps, p)) if y else math.log(max(eps, 1 - p))
            for p, y in zip(probabilities, labels, strict=True)
        )
        / n,
        "expected_calibration_error": math.fsum(
            r["leads"] * abs(r["predicted"] - r["observed"]) for r in reliability
        )
        / n,
        "reliability": reliability,
    }


def measure(probabilities: Sequence[float], labels: Sequence[int]) -> dict[str, Any]:
    return {
        "auc": roc_auc(probabilities, labels),
        "top_decile": top_decile(probabilities, labels),
        **calibration(probabilities, labels),
    }


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# ---------------------------------------------------------------- how sure: bootstrap and leaks

#: OpenMP threads for fitting trees (see ``_fit_tree_model``).
TRAINING_THREADS = 1
#: A candidate's evaluation AUC must reach this (a coin is 0.5).
AUC_FLOOR = 0.55
BOOTSTRAP_RESAMPLES = 1000
#: A field leaks when it predicts the outcome much better among leads of the same period than on the
#: newest leads (``LEAK_AUC_DROP``) while its values moved between the two (``LEAK_SHIFT``, population
#: stability index): the signature of a value recorded as the outcome was (X Education's Last Activity).
LEAK_AUC_DROP = 0.07
LEAK_SHIFT = 0.1
LEAK_MIN_AUC = 0.55


def paired_auc_difference(
    labels: Sequence[int],
    ours: Sequence[float],
    theirs: Sequence[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 11,
) -> dict[str, Any]:
    """AUC(ours) - AUC(theirs) on the same leads, with a 95% paired bootstrap interval: both are
    measured on each resample of the leads (drawn with replacement)."""
    n = len(labels)
    order_ours = sorted(range(n), key=ours.__getitem__)
    order_theirs = sorted(range(n), key=theirs.__getitem__)
    rng = random.Random(seed)
    differences = []
    for _ in range(resamples):
        counts = [0] * n
        for i in rng.choices(range(n), k=n):
            counts[i] += 1
        a = _weighted_auc(order_ours, ours, labels, counts)
        b = _weighted_auc(order_theirs, theirs, labels, counts)
        if a is not None and b is not None:
            differences.append(a - b)
    differences.sort()
    whole_ours, whole_theirs = roc_auc(ours, labels), roc_auc(theirs, labels)
    if not differences or whole_ours is None or whole_theirs is None:
        return {"difference": None, "low": None, "high": None, "resamples": 0}
    return {
        "difference": whole_ours - whole_theirs,
        "low": differences[int(0.025 * len(differences))],
        "high": differences[max(0, int(0.975 * len(differences)) - 1)],
        "resamples": len(differences),
    }


def _weighted_auc(
    order: list[int], scores: Sequence[float], labels: Sequence[int], weights: list[int]
) -> float | None:
    """AUC with each lead counted ``weights[i]`` times, in one pass over the leads in score order."""
    negatives_below = 0.0
    total = 0.0
    positives = negatives = 0.0
    i = 0
    while i < len(order):
        j = i
        tie_pos = tie_neg = 0.0
        score = scores[order[i]]
        while j < len(order) and scores[order[j]] == score:
            k = order[j]
            if labels[k]:
                tie_pos += weights[k]
            else:
                tie_neg += weights[k]
            j += 1
        total += tie_pos * (negatives_below + 0.5 * tie_neg)
        negatives_below += tie_neg
        positives += tie_pos
        negatives += tie_neg
        i = j
    if not positives or not negatives:
        return None
    return total / (positives * negatives)


def _tokens(path: str, examples: Sequence[Example], numeric: bool, cuts: list[float]) -> list[str]:
    out = []
    for e in examples:
        value = e.seen.get(path)
        if numeric:
            number = number_of(path, value)
            out.append(MISSING if number is None else f"bin{bisect.bisect_right(cuts, number)}")
        else:
            out.append(level_of(value) or MISSING)
    return out


def _field_auc(train: list[str], train_labels: list[int], test: list[str], test_labels: list[int]) -> float:
    """The AUC of one field alone: each value scored by its smoothed log-odds among ``train``."""
    won: Counter[str] = Counter(t for t, y in zip(train, train_labels, strict=True) if y)
    lost: Counter[str] = Counter(t for t, y in zip(train, train_labels, strict=True) if not y)
    positives, negatives = sum(won.values()), sum(lost.values())
    odds = {
        t: math.log((won[t] + 1) / (positives + 2)) - math.log((lost[t] + 1) / (negatives + 2))
        for t in set(won) | set(lost)
    }
    return roc_auc([odds.get(t, 0.0) for t in test], test_labels) or 0.5


def _shift(older: list[str], newer: list[str]) -> float:
    """Population stability index of a field's values, older leads against the newest."""
    a, b = Counter(older), Counter(newer)
    levels = set(a) | set(b)
    total = 0.0
    for level in levels:
        p = (a[level] + 0.5) / (len(older) + 0.5 * len(levels))
        q = (b[level] + 0.5) / (len(newer) + 0.5 * len(levels))
        total += (p - q) * math.log(p / q)
    return total


def leak_check(older: Sequence[Example], newer: Sequence[Example], spec: FeatureSpec) -> list[dict[str, Any]]:
    """Fields whose link to the outcome does not survive time: each field alone is scored (a) on a
    random half of the older leads, learnt from the other half (same period), and (b) on the newest
    leads, learnt from all the older ones (out of time). A field that predicts well in its period,
    much worse out of time, and whose values moved meanwhile is flagged with its figures."""
    rng = random.Random(5)
    shuffled = list(range(len(older)))
    rng.shuffle(shuffled)
    half_a, half_b = shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2 :]
    older_labels = [int(e.outcome) for e in older]
    newer_labels = [int(e.outcome) for e in newer]
    flagged = []
    for feature in spec.features:
        numeric = isinstance(feature, NumericFeature)
        cuts = list(feature.cuts) if numeric and isinstance(feature, NumericFeature) else []
        if numeric and not cuts:
            numbers = sorted(
                x for x in (number_of(feature.path, e.seen.get(feature.path)) for e in older) if x is not None
            )
            cuts = (
                sorted({numbers[len(numbers) * k // BASELINE_BINS] for k in range(1, BASELINE_BINS)})
                if numbers
                else []
            )
        old_tokens = _tokens(feature.path, older, numeric, cuts)
        new_tokens = _tokens(feature.path, newer, numeric, cuts)
        in_time = _field_auc(
            [old_tokens[i] for i in half_a],
            [older_labels[i] for i in half_a],
            [old_tokens[i] for i in half_b],
            [older_labels[i] for i in half_b],
        )
        out_of_time = _field_auc(old_tokens, older_labels, new_tokens, newer_labels)
        shift = _shift(old_tokens, new_tokens)
        if in_time >= LEAK_MIN_AUC and in_time - out_of_time >= LEAK_AUC_DROP and shift >= LEAK_SHIFT:
            flagged.append(
                {
                    "field": feature.path,
                    "in_time_auc": round(in_time, 4),
                    "out_of_time_auc": round(out_of_time, 4),
                    "shift": round(shift, 4),
                }
            )
    return flagged


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class Trained:
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    #: The evaluation leads' outcomes and the models' probabilities (for reports; not stored).
    evaluation: dict[str, list[float]]


def fit(
    examples: Sequence[Example], config: TrainingConfig, regularization: float
) -> tuple[float, FeatureSpec]:
    """Learn the features and their weights from these examples."""
    rows = [e.seen for e in examples]
    spec = learn_spec(rows, config)
    intercept, weights = fit_logistic(
        design(spec, rows), [int(e.outcome) for e in examples], len(spec.names()), regularization
    )
    return intercept, spec.with_weights(weights)


def predict_all(intercept: float, spec: FeatureSpec, examples: Sequence[Example]) -> list[float]:
    model = PredictiveModel("evaluation", 0, "evaluation", intercept, spec, ())
    return [model.predict_observed(e.seen).probability for e in examples]


def choose_regularization(
    examples: Sequence[Example], config: TrainingConfig
) -> tuple[float, dict[str, Any]]:
    """The configured strength, or the grid's best AUC on the newest part of these (training) leads."""
    if config.regularization is not None:
        return config.regularization, {}
    older, newer = split_in_time(examples, config.holdout_fraction)
    labels = [int(e.outcome) for e in newer]
    tried: dict[str, Any] = {}
    for strength in REGULARIZATION_GRID:
        intercept, spec = fit(older, config, strength)
        tried[f"{strength:g}"] = roc_auc(predict_all(intercept, spec, newer), labels)
    scored = [
        (auc, strength) for strength, auc in zip(REGULARIZATION_GRID, tried.values(), strict=True) if auc
    ]
    best = max(scored)[1] if scored else DEFAULT_REGULARIZATION
    return best, tried


def split_in_time(
    examples: Sequence[Example], holdout_fraction: float
) -> tuple[list[Example], list[Example]]:
    """Older leads to learn from, the newest ``holdout_fraction`` to evaluate on."""
    ordered = sorted(examples, key=lambda e: (e.created_at, e.key))
    cut = len(ordered) - max(1, round(len(ordered) * holdout_fraction))
    return ordered[:cut], ordered[cut:]


def check_outcomes(examples: Sequence[Example]) -> None:
    positives = sum(e.outcome for e in examples)
    negatives = len(examples) - positives
    if positives < MIN_OUTCOMES or negatives < MIN_OUTCOMES:
        raise NotEnoughOutcomes(positives, negatives)


def _fit_logistic_model(
    older: Sequence[Example], examples: Sequence[Example], config: TrainingConfig
) -> tuple[PredictiveModel, dict[str, Any], dict[str, Any]]:
    strength, tried = choose_regularization(older, config)
    intercept, spec = fit(older, config, strength)
    evaluated = PredictiveModel("evaluation", 0, "evaluation", intercept, spec, ())
    final_intercept, final_spec = fit(examples, config, strength)
    parameters = {"intercept": final_intercept, **final_spec.as_dict()}
    about = {"features": len(final_spec.names()), "regularization": strength, "regularization_tried": tried}
    return evaluated, parameters, about


def _fit_tree_model(
    older: Sequence[Example], examples: Sequence[Example], config: TrainingConfig
) -> tuple[PredictiveModel, dict[str, Any], dict[str, Any]]:
    try:
        import sklearn  # noqa: F401 - the training layer's; absent where the app only serves
    except ImportError as missing:
        raise TrainingLayerMissing from missing
    from chalicelib.domain import predictive_trees_training as trees  # numpy, scikit-learn: training only

    def grow(part: Sequence[Example], selection: trees.Selection | None) -> tuple[Any, trees.Selection]:
        ordered = sorted(part, key=lambda e: (e.created_at, e.key))
        rows = [e.seen for e in ordered]
        labels = [int(e.outcome) for e in ordered]
        features = trees.tree_features(learn_spec(rows, config), rows)
        if selection is None:
            selection = trees.select(features, rows, labels, config.holdout_fraction, config.time_limit)
        return trees.fit_trees(features, rows, labels, selection), selection

    from threadpoolctl import threadpool_limits

    # One OpenMP thread: the training function gets one vCPU's worth of CPU at 1,769 MB, and OpenMP
    # threads that outnumber the cores they are given spin-wait instead of working
    with threadpool_limits(limits=TRAINING_THREADS, user_api="openmp"):
        ensemble, selection = grow(older, None)
        evaluated = PredictiveModel("evaluation", 0, "evaluation", 0.0, FeatureSpec(), (), trees=ensemble)
        final, _ = grow(examples, selection)
    about = {
        "features": len(final.features),
        "trees": len(final.trees),
        "nodes": final.node_count(),
        "selection": selection.as_dict(),
    }
    return evaluated, final.as_dict(), about


def train(
    examples: Sequence[Example], config: TrainingConfig, active: PredictiveModel | None = None
) -> Trained:
    """Evaluate on a time split against the naive Bayes baseline (and the active version, on the same
    leads), check for leaks, then fit on every example for serving."""
    check_outcomes(examples)
    older, newer = split_in_time(examples, config.holdout_fraction)
    labels = [int(e.outcome) for e in newer]
    fitter = _fit_logistic_model if config.algorithm == "logistic" else _fit_tree_model
    evaluated, parameters, about = fitter(older, examples, config)
    model_probabilities = [evaluated.predict_observed(e.seen).probability for e in newer]
    spec = learn_spec([e.seen for e in older], config)
    baseline = NaiveBayes.fit(spec, [e.seen for e in older], [int(e.outcome) for e in older])
    baseline_probabilities = [_sigmoid(baseline.logit(e.seen)) for e in newer]
    model_metrics = measure(model_probabilities, labels)
    baseline_metrics = measure(baseline_probabilities, labels)
    gate: dict[str, Any] = {
        "auc_floor": AUC_FLOOR,
        "baseline": paired_auc_difference(labels, model_probabilities, baseline_probabilities),
        "active": None,
        "leaks": leak_check(older, newer, spec),
    }
    evaluation = {
        "outcome": [float(y) for y in labels],
        "model": model_probabilities,
        "baseline": baseline_probabilities,
    }
    if active is not None and active.trained:
        active_probabilities = [active.predict_observed(e.seen).probability for e in newer]
        gate["active"] = {
            "version": active.version,
            "auc": roc_auc(active_probabilities, labels),
            **paired_auc_difference(labels, model_probabilities, active_probabilities),
        }
        evaluation["active"] = active_probabilities
    positives = sum(e.outcome for e in examples)
    metrics = {
        "algorithm": config.algorithm,
        "auc": model_metrics["auc"],
        "baseline_auc": baseline_metrics["auc"],
        "model": model_metrics,
        "baseline": {"method": "naive Bayes over field frequencies (Laplace)", **baseline_metrics},
        "split": {
            "order": "lead created_at",
            "train_leads": len(older),
            "evaluation_leads": len(newer),
            "evaluation_positives": sum(labels),
            "evaluated_from": newer[0].created_at.isoformat() if newer else None,
        },
        "examples": {"positive": positives, "negative": len(examples) - positives},
        "gate": gate,
        **about,
    }
    return Trained(parameters, metrics, evaluation)


# ---------------------------------------------------------------- the publish gate


@dataclass(frozen=True)
class Refusal:
    """Why a candidate may not be published: a code, a sentence, and the figures behind it."""

    code: str
    message: str
    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "figures": self.figures}


def _interval(figures: dict[str, Any]) -> str:
    return f"{figures['difference']:+.4f} [{figures['low']:+.4f}, {figures['high']:+.4f}]"


def publish_refusals(candidate: PredictiveModel, active: PredictiveModel | None) -> list[Refusal]:
    """Why ``candidate`` may not replace ``active`` (an empty list: it may). On its evaluation leads
    (the newest, by time) it must reach an AUC of ``AUC_FLOOR``; beat the naive Bayes baseline with
    a 95% paired bootstrap interval of the difference above zero; not be worse than the active
    version beyond noise (the interval of the difference on the same leads must reach zero); and no
    field may leak (:func:`leak_check`)."""
    if not candidate.trained:
        return [Refusal("untrained", "the model has not been trained: run training first", {})]
    metrics = candidate.metrics
    auc = metrics.get("auc")
    if not isinstance(auc, int | float):
        message = "the evaluation split lacks one of the outcomes, so the model's AUC is unknown"
        return [Refusal("auc_unknown", message, {})]
    gate = metrics.get("gate") if isinstance(metrics.get("gate"), dict) else None
    if gate is None:
        message = "the version was trained before the gate's figures were recorded: train it again"
        return [Refusal("gate_figures_missing", message, {"auc": auc})]
    reasons = []
    if auc < AUC_FLOOR:
        reasons.append(
            Refusal(
                "auc_floor",
                f"its AUC {auc:.3f} on the newest leads is below the floor of {AUC_FLOOR:.2f}",
                {"auc": auc, "floor": AUC_FLOOR},
            )
        )
    baseline = gate.get("baseline") or {}
    if baseline.get("low") is None or baseline["low"] <= 0:
        figures = {"auc": auc, "baseline_auc": metrics.get("baseline_auc"), **baseline}
        shown = _interval(baseline) if baseline.get("low") is not None else "unknown"
        reasons.append(
            Refusal(
                "not_better_than_baseline",
                f"its AUC gain over the naive Bayes baseline, {shown} (95% paired bootstrap), does not "
                "lie above zero: it may be noise",
                figures,
            )
        )
    reasons += _against_active(candidate, active, gate, baseline)
    for leak in gate.get("leaks") or []:
        reasons.append(
            Refusal(
                "leak",
                f"{leak['field']} predicts the outcome among leads of its own period (AUC "
                f"{leak['in_time_auc']:.3f}) far better than on the newest leads "
                f"({leak['out_of_time_auc']:.3f}) "
                f"and its values moved (shift {leak['shift']:.2f}): it looks recorded with the outcome; "
                f"leave it out with training.exclude",
                leak,
            )
        )
    return reasons


def _against_active(
    candidate: PredictiveModel, active: PredictiveModel | None, gate: dict[str, Any], baseline: dict[str, Any]
) -> list[Refusal]:
    if active is None or not active.trained or active.version == candidate.version:
        return []
    auc = candidate.metrics["auc"]
    compared = gate.get("active")
    if (
        isinstance(compared, dict)
        and compared.get("version") == active.version
        and compared.get("high") is not None
    ):
        if compared["high"] < 0:
            message = (
                f"it is worse than the active version {active.version} on the same leads: AUC difference "
                f"{_interval(compared)} (95% paired bootstrap) lies below zero"
            )
            return [Refusal("worse_than_active", message, {"auc": auc, **compared})]
        return []
    # compared with another version at training time: the recorded AUCs, with this model's own noise
    active_auc = active.metrics.get("auc")
    if not isinstance(active_auc, int | float):
        return []
    noise = (baseline["high"] - baseline["low"]) / 2 if baseline.get("low") is not None else 0.01
    if auc < active_auc - noise:
        message = (
            f"its AUC {auc:.3f} is below the active version {active.version}'s {active_auc:.3f} by more "
            f"than the evaluation's noise ({noise:.3f})"
        )
        figures = {"auc": auc, "active_version": active.version, "active_auc": active_auc, "noise": noise}
        return [Refusal("worse_than_active", message, figures)]
    return []
