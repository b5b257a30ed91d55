"""Tree ensembles scored and explained in pure Python: the exported trees predict what scikit-learn
predicts; the explanations are exact path-dependent TreeSHAP (brute-force Shapley values, LightGBM's
``pred_contrib``), add up to the logit, and the compiled tables equal the general algorithm."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.predictive import parse_predictive
from chalicelib.domain.predictive_trees import (
    CATEGORICAL,
    MISSING,
    NUMERIC,
    UNKNOWN,
    CompiledEnsemble,
    Leaf,
    Split,
    Tree,
    TreeEnsemble,
    TreeFeature,
)

FEATURES = (
    TreeFeature("lead.a", NUMERIC),
    TreeFeature("lead.b", NUMERIC),
    TreeFeature("lead.c", CATEGORICAL, ("x", "y", "z", "(other)")),
    TreeFeature("lead.d", NUMERIC),
)


def random_tree(rng: random.Random, depth: int, max_fields: int) -> Tree:
    """A random tree (children after parents) whose paths hold at most ``max_fields`` fields."""
    nodes: list[Any] = []

    def grow(level: int, cover: float, used: tuple[int, ...]) -> int:
        index = len(nodes)
        nodes.append(None)
        if level == depth or cover < 4 or rng.random() < 0.15:
            nodes[index] = Leaf(round(rng.uniform(-1, 1), 6), cover)
            return index
        allowed = list(used) if len(set(used)) >= max_fields else list(range(len(FEATURES)))
        feature = rng.choice(allowed)
        share = rng.uniform(0.2, 0.8)
        left_cover = max(1.0, round(cover * share))
        right_cover = max(1.0, cover - left_cover)
        if FEATURES[feature].kind == CATEGORICAL:
            levels = frozenset(i for i in range(4) if rng.random() < 0.5)
            threshold = None
        else:
            levels, threshold = None, float(rng.randint(0, 6))
        left = grow(level + 1, left_cover, (*used, feature))
        right = grow(level + 1, right_cover, (*used, feature))
        nodes[index] = Split(
            feature, threshold, levels, rng.random() < 0.5, left, right, left_cover + right_cover
        )
        return index

    grow(0, 200.0, ())
    return Tree(tuple(nodes))


def random_lead(rng: random.Random) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for feature in FEATURES:
        roll = rng.random()
        if roll < 0.1:
            continue  # absent
        if roll < 0.15:
            lead[feature.path] = ["a list"]  # unknown
        elif feature.kind == NUMERIC:
            lead[feature.path] = rng.randint(-1, 7) + rng.choice((0, 0.5))
        else:
            lead[feature.path] = rng.choice(("x", "y", "z", "something else"))
    return lead


def expectation(tree: Tree, codes: Sequence[Any], known: set[int], index: int = 0) -> float:
    """E[tree(x) | x_S], S = ``known``: cover-weighted over the splits on the other fields."""
    node = tree.nodes[index]
    if isinstance(node, Leaf):
        return node.value
    way = tree.goes_left(node, codes[node.feature]) if node.feature in known else None
    if way is None:
        left, right = tree.nodes[node.left], tree.nodes[node.right]
        return (
            left.cover * expectation(tree, codes, known, node.left)
            + right.cover * expectation(tree, codes, known, node.right)
        ) / (left.cover + right.cover)
    return expectation(tree, codes, known, node.left if way else node.right)


def brute_force_shapley(ensemble: TreeEnsemble, seen: Mapping[str, Any]) -> list[float]:
    codes = ensemble.codes(seen)
    players = [i for i, code in enumerate(codes) if code != UNKNOWN]  # unknown: no player
    n = len(players)
    phi = [0.0] * len(codes)

    def value(subset: set[int]) -> float:
        return sum(expectation(tree, codes, subset) for tree in ensemble.trees)

    for i in players:
        others = [p for p in players if p != i]
        for size in range(len(others) + 1):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                phi[i] += weight * (value({*subset, i}) - value(set(subset)))
    return phi


@pytest.mark.parametrize("max_fields", [2, 4])
def test_tree_shap_equals_brute_force_shapley_values_of_the_path_dependent_game(max_fields: int):
    rng = random.Random(max_fields)
    ensemble = TreeEnsemble(FEATURES, tuple(random_tree(rng, 4, max_fields) for _ in range(5)), -0.3)
    for _ in range(25):
        lead = random_lead(rng)
        expected, phi = ensemble.shap(lead)
        assert phi == pytest.approx(brute_force_shapley(ensemble, lead), abs=1e-12)
        assert math.fsum([expected, *phi]) == pytest.approx(ensemble.logit(lead), abs=1e-12)


def test_compiled_tables_equal_the_general_algorithm_for_paths_of_two_fields_and_fall_back_beyond():
    rng = random.Random(3)
    narrow = tuple(random_tree(rng, 5, 2) for _ in range(30))
    wide = tuple(random_tree(rng, 5, 4) for _ in range(3))
    for trees in (narrow, narrow + wide):
        ensemble = TreeEnsemble(FEATURES, trees, 0.1)
        compiled = CompiledEnsemble.compile(FEATURES, trees, 0.1)
        assert len(compiled.general) == len(trees) - len(narrow)
        assert compiled.pairs, "trees on two fields give pair tables"
        for _ in range(200):
            lead = random_lead(rng)
            expected, phi = ensemble.shap(lead)
            assert compiled.expected_value == pytest.approx(expected, abs=1e-12)
            assert compiled.contributions(lead) == pytest.approx(phi, abs=1e-12)


def test_an_unknown_value_contributes_exactly_nothing_and_the_trees_average_over_it():
    tree = Tree(
        (
            Split(0, 2.0, None, False, 1, 2, 100.0),
            Leaf(1.0, 30.0),
            Leaf(-1.0, 70.0),
        )
    )
    ensemble = TreeEnsemble(FEATURES[:1], (tree,), 0.0)
    phi = ensemble.compiled.contributions({"lead.a": "not a number"})
    assert phi == [0.0]
    assert ensemble.logit({"lead.a": "not a number"}) == pytest.approx(0.3 * 1.0 + 0.7 * -1.0)
    assert ensemble.compiled.contributions({"lead.a": 1}) == [pytest.approx(1.0 - (-0.4))]
    assert ensemble.compiled.contributions({}) == [pytest.approx(-1.0 - (-0.4))]  # missing goes right


def test_categorical_levels_other_and_missing_are_coded_as_the_trainer_coded_them():
    feature = FEATURES[2]
    assert feature.code("Y ") == 1
    assert feature.code("never seen") == 3  # (other)
    assert feature.code(None) == MISSING and feature.code("  ") == MISSING
    assert feature.code({"an": "object"}) == UNKNOWN
    without_other = TreeFeature("lead.c", CATEGORICAL, ("x", "y"))
    assert without_other.code("never seen") == UNKNOWN


def trees_definition(trees: list[Any], features: list[Any] | None = None) -> dict[str, Any]:
    return {
        "type": "predictive",
        "parameters": {
            "algorithm": "trees",
            "base_score": 0.5,
            "features": features if features is not None else [{"field": "lead.a", "kind": "numeric"}],
            "trees": trees,
        },
    }


@pytest.mark.parametrize(
    ("trees", "field"),
    [
        ([], "parameters.trees"),
        ([[[0, 1.0, 0, 0, 2, 10], [1.0, 5], [2.0, 5]]], "parameters.trees[0]"),  # a child before itself
        ([[[3, 1.0, 0, 1, 2, 10], [1.0, 5], [2.0, 5]]], "parameters.trees[0]"),  # no feature 3
        ([[[0, "NaN", 0, 1, 2, 10], [1.0, 5], [2.0, 5]]], "parameters.trees[0]"),
        ([[[0.5, 0]]], "parameters.trees[0]"),  # a leaf no lead reached
    ],
)
def test_invalid_exported_trees_are_refused_naming_the_tree(trees: list[Any], field: str):
    with pytest.raises(ValidationFailed) as refused:
        parse_predictive("m", 1, trees_definition(trees))
    assert field in [e.field for e in refused.value.errors]


def test_a_stored_tree_model_scores_a_lead_with_a_breakdown_that_adds_up_to_the_logit():
    tree = [[0, 100.0, 1, 1, 2, 40], [-1.0, 30], [2.0, 10]]
    model = parse_predictive("m", 1, trees_definition([tree]))
    assert model.algorithm == "trees"
    prediction = model.predict_observed({"lead.a": 500})
    assert prediction.logit == pytest.approx(0.5 + 2.0)
    assert prediction.intercept == pytest.approx(0.5 + (30 * -1.0 + 10 * 2.0) / 40)
    assert [f.shown for f in prediction.factors] == ["lead.a = 500"]
    assert (
        math.fsum([prediction.intercept, *(f.contribution for f in prediction.factors)]) == prediction.logit
    )
    assert model.predict_observed({}).factors[0].shown == "lead.a is missing"


# ---------------------------------------------------------------- against the libraries (dev only)


def _synthetic(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[int]]:
    rows, labels = [], []
    for _ in range(n):
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        c = rng.choice(("x", "y", "z"))
        d = rng.random()
        logit = 1.2 * a - 0.8 * b * (c == "x") + (1.0 if c == "y" else 0.0) + (0.7 if d > 0.6 else -0.3)
        row: dict[str, Any] = {
            "lead.a": a,
            "lead.b": b if rng.random() > 0.1 else None,
            "lead.c": c,
            "lead.d": d,
        }
        rows.append(row)
        labels.append(int(rng.random() < 1 / (1 + math.exp(-logit))))
    return rows, labels


def test_exported_histgb_trees_give_scikit_learns_logits_and_exact_explanations():
    np = pytest.importorskip("numpy")
    from chalicelib.domain import predictive_trees_training as trainer

    rng = random.Random(7)
    rows, labels = _synthetic(rng, 3000)
    features = [
        TreeFeature("lead.d", NUMERIC),
        TreeFeature("lead.c", CATEGORICAL, ("x", "y", "z")),
        TreeFeature("lead.a", NUMERIC),
        TreeFeature("lead.b", NUMERIC),
    ]
    model = trainer._classifier(features, 15, 0.1, 60)
    model.set_params(warm_start=False)
    model.fit(trainer.matrix(features, rows), np.asarray(labels, dtype=float))
    ensemble = trainer.export(model, features)
    reference = model.decision_function(trainer.matrix(features, rows[:500]))
    ours = [ensemble.logit(row) for row in rows[:500]]
    assert max(abs(a - b) for a, b in zip(ours, reference, strict=True)) < 1e-6  # leaves kept to 8 digits
    compiled = ensemble.compiled
    assert not compiled.general, "the trainer's interaction constraints keep every path to two fields"
    for row in rows[:100]:
        phi = compiled.contributions(row)
        assert math.fsum([compiled.expected_value, *phi]) == pytest.approx(ensemble.logit(row), abs=1e-9)
        assert phi == pytest.approx(ensemble.shap(row)[1], abs=1e-9)


def _from_lightgbm(dumped: dict[str, Any], features: Sequence[TreeFeature]) -> TreeEnsemble:
    """LightGBM's ``dump_model()`` as Leadflow's trees (numeric splits ``<=``, categorical ``==``)."""
    trees = []
    for info in dumped["tree_info"]:
        nodes: list[Any] = []

        def add(node: dict[str, Any], nodes: list[Any] = nodes) -> int:
            index = len(nodes)
            nodes.append(None)
            if "leaf_value" in node:
                nodes[index] = Leaf(node["leaf_value"], float(node["leaf_count"]))
                return index
            left, right = add(node["left_child"]), add(node["right_child"])
            feature = node["split_feature"]
            missing_left = bool(node["default_left"])
            cover = float(node["internal_count"])
            if node["decision_type"] == "==":
                levels = frozenset(int(c) for c in str(node["threshold"]).split("||"))
                nodes[index] = Split(feature, None, levels, missing_left, left, right, cover)
            else:
                nodes[index] = Split(
                    feature, float(node["threshold"]), None, missing_left, left, right, cover
                )
            return index

        add(info["tree_structure"])
        trees.append(Tree(tuple(nodes)))
    return TreeEnsemble(tuple(features), tuple(trees), 0.0)


@pytest.mark.parametrize("constrained", [True, False])
def test_explanations_match_lightgbm_pred_contrib(constrained: bool):
    lightgbm = pytest.importorskip("lightgbm")
    np = pytest.importorskip("numpy")

    rng = random.Random(11)
    rows, labels = _synthetic(rng, 2000)
    features = [
        TreeFeature("lead.a", NUMERIC),
        TreeFeature("lead.b", NUMERIC),
        TreeFeature("lead.c", CATEGORICAL, ("x", "y", "z")),
        TreeFeature("lead.d", NUMERIC),
    ]
    x = np.array(
        [
            [f.code(r.get(f.path)) if f.code(r.get(f.path)) != MISSING else np.nan for f in features]
            for r in rows
        ]
    )
    params: dict[str, Any] = {"objective": "binary", "num_leaves": 15, "verbose": -1, "min_data_in_leaf": 20}
    if constrained:
        params["interaction_constraints"] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    data = lightgbm.Dataset(x, label=labels, categorical_feature=[2], free_raw_data=False)
    booster = lightgbm.train(params, data, num_boost_round=40)
    ensemble = _from_lightgbm(booster.dump_model(), features)
    contributions = booster.predict(x[:200], pred_contrib=True)
    raw = booster.predict(x[:200], raw_score=True)
    compiled = ensemble.compiled
    assert bool(compiled.general) is not constrained
    for row, reference, logit in zip(rows[:200], contributions, raw, strict=True):
        assert ensemble.logit(row) == pytest.approx(logit, abs=1e-9)
        phi = compiled.contributions(row)
        assert phi == pytest.approx(list(reference[:-1]), abs=1e-9)
        assert compiled.expected_value == pytest.approx(reference[-1], abs=1e-9)
