"""Training gradient-boosted trees with scikit-learn's ``HistGradientBoostingClassifier``, then exporting
them as JSON (:mod:`chalicelib.domain.predictive_trees` scores and explains them in pure Python).

numpy and scikit-learn are imported inside the functions that need them: they are in the training
function's layer (``requirements-training.txt``, ``infra/build_training_layer.py``) and the dev venv,
never in the API or stream functions' zip, which import this module's neighbours only.

- Fields: the same choice as the logistic model's (:func:`predictive_training.learn_spec`): numbers stay
  numbers (trees need no scaling), text becomes one category per frequent level, the rest ``(other)``;
  an absent value is missing and each split learns where missing values go.
- Interactions: every root-to-leaf path holds at most two distinct fields (``interaction_cst`` with every
  pair), which lets the scorer tabulate exact explanations (see the scorer's docstring).
- Model selection, automatic and bounded in time: a few (leaves, learning rate) settings, each grown on
  the older part of the training leads with rounds chosen by early stopping on the newest part
  (time-ordered, log-loss, patience ``PATIENCE`` rounds); the best validation AUC wins. Settings are
  tried cheapest first and no new one starts after ``time_limit`` seconds.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.predictive import (
    MISSING,
    CategoricalFeature,
    FeatureSpec,
    NumericFeature,
    is_absent,
    level_of,
)
from chalicelib.domain.predictive_trees import (
    CATEGORICAL,
    NUMERIC,
    OTHER,
    Leaf,
    Split,
    Tree,
    TreeEnsemble,
    TreeFeature,
)

if TYPE_CHECKING:  # the training layer's libraries: never imported where the app serves
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

#: (max_leaf_nodes, learning_rate), cheapest first.
SETTINGS: tuple[tuple[int, float], ...] = ((7, 0.1), (15, 0.1), (7, 0.2), (31, 0.1), (15, 0.05), (31, 0.05))
STEP = 50
PATIENCE = 50
MAX_ROUNDS = 500
#: The exported model is one DynamoDB item: rounds are capped so the trees stay under this many nodes.
MAX_NODES = 12_000
MIN_SAMPLES_LEAF = 20
#: Leaf values are exported to this many significant digits (the exported trees are what is scored
#: and evaluated, so the rounding is measured with them).
LEAF_DIGITS = 8


def tree_features(spec: FeatureSpec, rows: Sequence[Mapping[str, Any]]) -> list[TreeFeature]:
    """The learned fields as trees read them: a categorical field keeps its frequent levels and adds
    ``(other)`` when some training value is none of them."""
    features = []
    for feature in spec.features:
        if isinstance(feature, NumericFeature):
            features.append(TreeFeature(feature.path, NUMERIC))
        elif isinstance(feature, CategoricalFeature):
            levels = [level for level in feature.levels if level != MISSING]
            known = set(levels)
            rare = any(
                (level := level_of(row.get(feature.path))) is not None
                and not is_absent(row.get(feature.path))
                and level not in known
                for row in rows
            )
            features.append(TreeFeature(feature.path, CATEGORICAL, (*levels, *((OTHER,) if rare else ()))))
    return features


def matrix(features: Sequence[TreeFeature], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Rows as scikit-learn reads them: numbers, level indices, NaN for missing (and unreadable)."""
    import numpy as np

    out = np.full((len(rows), len(features)), np.nan)
    for j, feature in enumerate(features):
        for i, row in enumerate(rows):
            code = feature.code(row.get(feature.path))
            if not isinstance(code, str):
                out[i, j] = code
    return out


def export(model: HistGradientBoostingClassifier, features: Sequence[TreeFeature]) -> TreeEnsemble:
    """The fitted trees as a :class:`TreeEnsemble`. scikit-learn moves categorical columns first and
    re-numbers their values (an ``OrdinalEncoder`` over the values seen in fit): both are undone here,
    so the exported splits read the lead's own level indices."""
    import numpy as np

    columns = list(range(len(features)))  # the fitted model's column -> our feature
    categories: list[Any] = []
    if model._preprocessor is not None:
        categorical = np.flatnonzero(model.is_categorical_).tolist()
        columns = categorical + np.flatnonzero(~model.is_categorical_).tolist()
        categories = list(model._preprocessor.named_transformers_["encoder"].categories_)
    base = float(np.ravel(model._baseline_prediction)[0])
    trees = []
    for (predictor,) in model._predictors:
        bitsets = predictor.raw_left_cat_bitsets
        nodes: list[Leaf | Split] = []
        for node in predictor.nodes:
            cover = float(node["count"])
            if node["is_leaf"]:
                nodes.append(Leaf(float(f"{float(node['value']):.{LEAF_DIGITS}g}"), cover))
                continue
            column = int(node["feature_idx"])
            left_levels = None
            # "every present value left, missing right" has the threshold +inf, which JSON cannot hold:
            # the largest float reads the same for every (finite) value a lead can have
            threshold: float | None = min(float(node["num_threshold"]), sys.float_info.max)
            if node["is_categorical"]:
                words = bitsets[int(node["bitset_idx"])]
                seen = categories[column]
                left_levels = frozenset(
                    int(seen[c])
                    for c in range(len(seen))
                    if not np.isnan(seen[c]) and (int(words[c // 32]) >> (c % 32)) & 1
                )
                threshold = None
            nodes.append(
                Split(
                    columns[column],
                    threshold,
                    left_levels,
                    bool(node["missing_go_to_left"]),
                    int(node["left"]),
                    int(node["right"]),
                    cover,
                )
            )
        trees.append(Tree(tuple(nodes)))
    return TreeEnsemble(tuple(features), tuple(trees), base)


@dataclass(frozen=True)
class Selection:
    max_leaf_nodes: int
    learning_rate: float
    rounds: int
    tried: list[dict[str, Any]]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_leaf_nodes": self.max_leaf_nodes,
            "learning_rate": self.learning_rate,
            "rounds": self.rounds,
            "tried": self.tried,
            "seconds": round(self.seconds, 2),
        }


def _classifier(
    features: Sequence[TreeFeature], leaves: int, rate: float, rounds: int
) -> HistGradientBoostingClassifier:
    from sklearn.ensemble import HistGradientBoostingClassifier

    count = len(features)
    pairs = [{i, j} for i in range(count) for j in range(i + 1, count)] or [{0}]
    return HistGradientBoostingClassifier(
        learning_rate=rate,
        max_leaf_nodes=leaves,
        max_iter=rounds,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        categorical_features=[f.kind == CATEGORICAL for f in features],
        interaction_cst=pairs,
        early_stopping=False,
        warm_start=True,
        random_state=0,
    )


def _log_loss(raw: np.ndarray, labels: np.ndarray) -> float:
    import numpy as np

    return float(np.mean(np.logaddexp(0.0, raw) - labels * raw))


def _auc(raw: Sequence[float], labels: Sequence[int]) -> float | None:
    from chalicelib.domain.predictive_training import roc_auc

    return roc_auc(list(raw), list(labels))


def _grow(
    features: Sequence[TreeFeature],
    leaves: int,
    rate: float,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_check: np.ndarray,
    y_check: np.ndarray,
) -> tuple[int, float | None]:
    """Rounds by early stopping on the (newer) check leads, and their AUC there. Trees are added in
    chunks (warm start) and every round's log-loss is read from the staged predictions."""
    model = _classifier(features, leaves, rate, STEP)
    best_loss, best_rounds, best_raw = math.inf, 0, None
    grown = 0
    while grown < MAX_ROUNDS and grown - best_rounds < PATIENCE:
        model.set_params(max_iter=grown + STEP)
        model.fit(x_fit, y_fit)
        if model.n_iter_ <= grown:
            break  # nothing more to learn (every tree a single leaf)
        if sum(len(p[0].nodes) for p in model._predictors) > MAX_NODES:
            break
        for rounds, raw in enumerate(model.staged_decision_function(x_check), start=1):
            if rounds <= grown:
                continue
            loss = _log_loss(raw, y_check)
            if loss < best_loss - 1e-9:
                best_loss, best_rounds, best_raw = loss, rounds, raw
        grown = model.n_iter_
    auc = _auc(best_raw.tolist(), y_check.astype(int).tolist()) if best_raw is not None else None
    return max(best_rounds, 1), auc


def select(
    features: Sequence[TreeFeature],
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[int],
    holdout_fraction: float,
    time_limit: float,
) -> Selection:
    """Choose the leaves, learning rate and rounds on a time split of these (time-ordered) leads."""
    import numpy as np

    started = time.monotonic()
    cut = len(rows) - max(1, round(len(rows) * holdout_fraction))
    x = matrix(features, rows)
    y = np.asarray(labels, dtype=float)
    tried: list[dict[str, Any]] = []
    best: tuple[float, int, float, int] | None = None
    for leaves, rate in SETTINGS:
        if tried and time.monotonic() - started > time_limit:
            break
        if len(set(labels[:cut])) < 2 or len(set(labels[cut:])) < 2:
            rounds, auc = 100, None
        else:
            rounds, auc = _grow(features, leaves, rate, x[:cut], y[:cut], x[cut:], y[cut:])
        tried.append({"max_leaf_nodes": leaves, "learning_rate": rate, "rounds": rounds, "auc": auc})
        score = auc if auc is not None else 0.0
        if best is None or score > best[0]:
            best = (score, leaves, rate, rounds)
    assert best is not None
    _, leaves, rate, rounds = best
    return Selection(leaves, rate, rounds, tried, time.monotonic() - started)


def fit_trees(
    features: Sequence[TreeFeature],
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[int],
    selection: Selection,
) -> TreeEnsemble:
    """Grow the chosen setting on these leads and export it."""
    import numpy as np

    if not features:
        raise ValidationFailed(
            [
                FieldError(
                    "training", "no field varies among the training leads: there is nothing to learn from"
                )
            ]
        )
    model = _classifier(features, selection.max_leaf_nodes, selection.learning_rate, selection.rounds)
    model.set_params(warm_start=False)
    model.fit(matrix(features, rows), np.asarray(labels, dtype=float))
    ensemble = export(model, features)
    while ensemble.node_count() > MAX_NODES and len(ensemble.trees) > 1:
        ensemble = TreeEnsemble(
            ensemble.features, ensemble.trees[: len(ensemble.trees) * 9 // 10], ensemble.base_score
        )
    return ensemble
