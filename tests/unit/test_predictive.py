"""Predictive scoring (chalicelib/domain/predictive*.py): training refuses too few outcomes, the JSON
model predicts what the trainer learnt, explanations add up, shuffled outcomes teach nothing, and bad
input never breaks scoring. Synthetic leads with a known generating model; no AWS."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.predictive import (
    PredictiveModel,
    TrainingConfig,
    observe,
    parse_any,
    parse_predictive,
)
from chalicelib.domain.predictive_training import (
    Example,
    NotEnoughOutcomes,
    _weighted_auc,
    design,
    fit,
    fit_logistic,
    leak_check,
    learn_spec,
    paired_auc_difference,
    publish_refusals,
    roc_auc,
    split_in_time,
    train,
)
from chalicelib.domain.scoring import ScoringModel

START = datetime(2025, 1, 1, tzinfo=UTC)
SOURCES = ["linkedin", "google", "event", "import"]
TITLES = ["Head of Data", "Engineer", "VP Sales", "Student", None]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def a_lead(rng: random.Random, n: int) -> tuple[Lead, Contact, Account, list[Interaction], datetime]:
    created = START + timedelta(hours=n)
    as_of = created + timedelta(days=20)
    source = rng.choice(SOURCES)
    employees: Any = rng.choice([None, 8, 40, 250, 1200, 9000])
    lead = Lead(f"l{n}", f"c{n}", {"source": source, "campaign": "autumn"}, created, as_of)
    contact = Contact(
        f"c{n}", f"p{n}@example.org", {"job_title": rng.choice(TITLES), "city": f"city-{n}"}, created, as_of
    )
    account = Account(
        f"a{n}", f"Acme {n}", None, {"employees": employees, "always_empty": None}, created, as_of
    )
    visits = int(rng.expovariate(0.4))
    clicks = rng.choice([0, 0, 1, 3])
    interactions = [
        Interaction(f"i{n}-v{k}", f"c{n}", "page_visited", created + timedelta(days=rng.uniform(0, 19)))
        for k in range(visits)
    ] + [
        Interaction(f"i{n}-c{k}", f"c{n}", "email_clicked", created + timedelta(days=rng.uniform(0, 19)))
        for k in range(clicks)
    ]
    return lead, contact, account, interactions, as_of


def true_logit(lead: Lead, account: Account, interactions: list[Interaction]) -> float:
    employees = account.fields["employees"] or 0
    return (
        -1.2
        + {"event": 1.2, "linkedin": 0.5, "google": 0.0, "import": -0.8}[lead.fields["source"]]
        + 0.35 * math.log1p(employees)
        - 0.6
        + 0.5 * math.log1p(sum(i.type == "page_visited" for i in interactions))
        + 0.3 * sum(i.type == "email_clicked" for i in interactions)
    )


def synthetic(n: int, seed: int = 1, shuffle: bool = False) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        lead, contact, account, interactions, as_of = a_lead(rng, k)
        outcome = rng.random() < sigmoid(true_logit(lead, account, interactions))
        out.append(
            Example(
                observe(lead, contact, account, interactions, as_of), outcome, lead.created_at, lead.lead_id
            )
        )
    if shuffle:
        labels = [e.outcome for e in out]
        random.Random(seed + 1).shuffle(labels)
        out = [Example(e.seen, y, e.created_at, e.key) for e, y in zip(out, labels, strict=True)]
    return out


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return synthetic(1500)


@pytest.fixture(scope="module")
def trained(examples: list[Example]) -> dict[str, Any]:
    result = train(examples, TrainingConfig(algorithm="logistic", regularization=1.0))
    definition = {
        "type": "predictive",
        "name": "Propensity",
        "parameters": result.parameters,
        "metrics": result.metrics,
    }
    return json.loads(json.dumps(definition))  # what the store keeps: plain JSON


# ---------------------------------------------------------------- refusing to train


def test_training_refuses_fewer_than_40_of_either_outcome_and_says_how_many_it_found(examples: list[Example]):
    positives = [e for e in examples if e.outcome][:39]
    negatives = [e for e in examples if not e.outcome][:200]
    with pytest.raises(NotEnoughOutcomes) as refused:
        train(positives + negatives, TrainingConfig())
    message = refused.value.message
    assert "at least 40" in message and "39 positive" in message and "200 negative" in message
    assert isinstance(refused.value, ValidationFailed)  # a 422 over HTTP
    with pytest.raises(NotEnoughOutcomes, match=r"40 positive .* 39 negative"):
        train([e for e in examples if e.outcome][:40] + negatives[:39], TrainingConfig())


# ---------------------------------------------------------------- the exported model


def test_exported_json_model_gives_the_same_probabilities_as_the_trainer(examples: list[Example]):
    config = TrainingConfig(algorithm="logistic", regularization=1.0)
    spec = learn_spec([e.seen for e in examples], config)
    rows = design(spec, [e.seen for e in examples])
    intercept, weights = fit_logistic(rows, [int(e.outcome) for e in examples], len(spec.names()), 1.0)
    trainer = [sigmoid(intercept + sum(weights[c] * v for c, v in row.items())) for row in rows]

    exported = json.loads(
        json.dumps(
            {
                "type": "predictive",
                "parameters": {"intercept": intercept, **spec.with_weights(weights).as_dict()},
            }
        )
    )
    model = parse_predictive("p", 1, exported)
    served = [model.predict_observed(e.seen).probability for e in examples]
    assert max(abs(a - b) for a, b in zip(trainer, served, strict=True)) < 1e-12


def test_trainer_agrees_with_scikit_learn_logistic_regression(examples: list[Example]):
    np = pytest.importorskip("numpy")
    linear_model = pytest.importorskip("sklearn.linear_model")
    spec = learn_spec([e.seen for e in examples], TrainingConfig())
    rows = design(spec, [e.seen for e in examples])
    labels = [int(e.outcome) for e in examples]
    intercept, weights = fit_logistic(rows, labels, len(spec.names()), 2.0, tol=1e-9)
    dense = np.zeros((len(rows), len(spec.names())))
    for i, row in enumerate(rows):
        for c, v in row.items():
            dense[i, c] = v
    reference = linear_model.LogisticRegression(C=1 / 2.0, tol=1e-10, max_iter=10_000).fit(dense, labels)
    assert np.abs(reference.coef_[0] - np.array(weights)).max() < 1e-3
    assert abs(reference.intercept_[0] - intercept) < 1e-3
    ours = 1 / (1 + np.exp(-(dense @ np.array(weights) + intercept)))
    assert np.abs(reference.predict_proba(dense)[:, 1] - ours).max() < 1e-4


def test_roc_auc_matches_scikit_learn_with_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(3)
    scores = [rng.choice([0.1, 0.2, 0.5, 0.7, 0.9]) for _ in range(500)]
    labels = [int(rng.random() < s) for s in scores]
    assert roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    assert roc_auc([0.3, 0.4], [1, 1]) is None


# ---------------------------------------------------------------- explanations


def test_factors_and_the_baseline_add_up_to_the_logit(trained: dict[str, Any]):
    model = parse_predictive("p", 1, trained)
    rng = random.Random(99)
    for n in range(200):
        lead, contact, account, interactions, as_of = a_lead(rng, n)
        prediction = model.predict(lead, contact, account, interactions, as_of)
        assert (
            math.fsum([prediction.intercept, *(f.contribution for f in prediction.factors)])
            == prediction.logit
        )
        assert prediction.logit == pytest.approx(
            math.log(prediction.probability / (1 - prediction.probability))
        )
        result = model.score(lead, contact, account, interactions, as_of)
        assert result is not None
        lines = result.breakdown
        assert math.fsum(line.points for line in lines) == pytest.approx(prediction.logit, abs=1e-12)
        assert lines[0].kind == "baseline"
        factors = [line for line in lines if line.kind == "factor"]
        assert sum(line.points > 0 for line in factors) <= 5 and sum(line.points < 0 for line in factors) <= 5
        assert result.score == round(100 * prediction.probability)


def test_the_largest_factors_name_the_fields_that_generate_the_outcome(trained: dict[str, Any]):
    model = parse_predictive("p", 1, trained)
    lead = Lead("l", "c", {"source": "event"}, START, START)
    account = Account("a", None, None, {"employees": 9000}, START, START)
    prediction = model.predict(lead, None, account, [], START)
    top = {f.feature for f in prediction.factors[:3]}
    assert {"lead.source", "account.employees"} <= top
    by_field = {f.feature: f for f in prediction.factors}
    assert by_field["lead.source"].label == "lead.source = event" and by_field["lead.source"].contribution > 0


def test_shuffled_outcomes_give_an_auc_near_one_half_and_real_ones_do_not():
    config = TrainingConfig(algorithm="logistic", regularization=1.0)
    shuffled = train(synthetic(3000, seed=5, shuffle=True), config).metrics
    assert shuffled["auc"] == pytest.approx(0.5, abs=0.05)
    real = train(synthetic(3000, seed=5), config).metrics
    assert real["auc"] > 0.7
    assert real["auc"] > real["baseline_auc"] - 0.02
    assert real["split"] == {**real["split"], "train_leads": 2400, "evaluation_leads": 600}


def test_the_split_trains_on_older_leads_and_evaluates_on_newer_ones(examples: list[Example]):
    metrics = train(
        list(reversed(examples)), TrainingConfig(algorithm="logistic", regularization=1.0)
    ).metrics
    newest = sorted(e.created_at for e in examples)[-300]
    assert metrics["split"]["evaluated_from"] == newest.isoformat()
    assert 0 <= metrics["model"]["brier"] <= 0.25 and metrics["model"]["reliability"]


# ---------------------------------------------------------------- bad input


def test_unseen_levels_text_in_numbers_and_unknown_fields_contribute_nothing(trained: dict[str, Any]):
    model = parse_predictive("p", 1, trained)
    lead = Lead("l", "c", {"source": "carrier pigeon", "brand_new_field": 12}, START, START)
    account = Account("a", None, None, {"employees": "lots of them"}, START, START)
    contact = Contact("c", None, {"job_title": ["not", "a", "title"]}, START, START)
    interactions = [Interaction("i", "c", "never_seen_type", START)]
    prediction = model.predict(lead, contact, account, interactions, START)
    named = {f.feature for f in prediction.factors}
    assert not named & {"lead.source", "account.employees", "lead.brand_new_field", "contact.job_title"}
    assert not any("never_seen_type" in name for name in named)
    assert 0 < prediction.probability < 1


def test_absurd_numbers_move_a_score_a_bounded_amount(trained: dict[str, Any]):
    model = parse_predictive("p", 1, trained)
    lead = Lead("l", "c", {"source": "google"}, START, START)
    for employees in (1e300, -1e300, float("inf"), float("nan"), "1e999", True):
        account = Account("a", None, None, {"employees": employees}, START, START)
        prediction = model.predict(lead, None, account, [], START)
        assert math.isfinite(prediction.logit) and 0 < prediction.probability < 1


def test_constant_empty_and_mostly_missing_columns_train_without_crashing(examples: list[Example]):
    rows = [
        {
            **e.seen,
            "lead.constant": 7,
            "lead.label": "same",
            "lead.empty": None,
            "lead.sparse": 1 if n < 3 else None,
        }
        for n, e in enumerate(examples)
    ]
    spec = learn_spec(rows, TrainingConfig())
    names = spec.names()
    assert not any(
        name.startswith(
            (
                "lead.constant",
                "lead.label",
                "lead.empty",
                "lead.sparse",
                "account.always_empty",
                "lead.campaign",
            )
        )
        for name in names
    )
    assert not any(name.startswith(("contact.email", "contact.city")) for name in names), (
        "no personal data, no singletons"
    )
    assert "lead.source=event" in names and "account.employees" in names


def test_sales_calls_and_excluded_fields_never_become_features(examples: list[Example]):
    rows = [{**e.seen, "interactions.phone_call_completed.count": n % 3} for n, e in enumerate(examples)]
    names = learn_spec(rows, TrainingConfig()).names()
    assert not any(name.startswith("interactions.phone_call") for name in names)
    spec = learn_spec(rows, TrainingConfig(exclude=("lead.source", "interactions.page_visited")))
    assert not any(name.startswith(("lead.source", "interactions.page_visited")) for name in spec.names())
    assert any(name.startswith("interactions.email_clicked") for name in spec.names())


def test_text_among_numbers_in_training_is_read_as_unknown(examples: list[Example]):
    rows = [
        {**e.seen, "account.employees": "n/a" if n % 50 == 0 else e.seen.get("account.employees")}
        for n, e in enumerate(examples)
    ]
    relabelled = [Example(row, e.outcome, e.created_at, e.key) for row, e in zip(rows, examples, strict=True)]
    intercept, spec = fit(relabelled, TrainingConfig(), 1.0)
    assert "account.employees" in spec.names()
    model = PredictiveModel("p", 1, "p", intercept, spec, ())
    assert all(
        f.feature != "account.employees" for f in model.predict_observed({"account.employees": "n/a"}).factors
    )


def test_too_few_outcomes_leave_a_baseline_only_model_that_still_scores():
    model = parse_predictive("p", 1, {"type": "predictive", "parameters": {"intercept": 0.0}})
    lead = Lead("l", "c", {}, START, START)
    result = model.score(lead, None, None, [], START)
    assert result is not None and result.score == 50 and result.grade == "B"


# ---------------------------------------------------------------- definitions, grades and the gate


def test_grades_follow_the_configured_bands(trained: dict[str, Any]):
    bands = [{"grade": "hot", "min_score": 60}, {"grade": "warm", "min_score": 30}, {"grade": "cold"}]
    model = parse_predictive("p", 1, {**trained, "grades": bands, "sales_ready_score": 60})
    rng = random.Random(4)
    for n in range(100):
        lead, contact, account, interactions, as_of = a_lead(rng, n)
        result = model.score(lead, contact, account, interactions, as_of)
        assert result is not None
        expected = "hot" if result.score >= 60 else "warm" if result.score >= 30 else "cold"
        assert (result.grade, result.sales_ready) == (expected, result.score >= 60)


def test_untrained_definition_is_a_valid_draft_that_scores_nothing():
    model = parse_any("p", 1, {"type": "predictive", "training": {"exclude": ["lead.campaign"]}})
    assert isinstance(model, PredictiveModel) and not model.trained
    assert model.score(Lead("l", "c", {}, START, START), None, None, [], START) is None
    assert isinstance(
        parse_any("r", 1, {"rules": [{"id": "x", "points": 1, "when": {"event": "*"}}]}), ScoringModel
    )


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"type": "predictive", "rules": []}, "rules"),
        ({"type": "predictive", "grades": [{"grade": "A", "min_score": "high"}]}, "grades[0].min_score"),
        ({"type": "predictive", "training": {"regularization": -1}}, "training.regularization"),
        ({"type": "predictive", "parameters": {"intercept": "zero"}}, "parameters.intercept"),
        (
            {
                "type": "predictive",
                "parameters": {"intercept": 0, "numeric": [{"field": "x", "weight": 1, "scale": 0}]},
            },
            "parameters.numeric[0].scale",
        ),
        (
            {"type": "predictive", "parameters": {"intercept": 0, "categorical": [{"field": "x"}]}},
            "parameters.categorical[0]",
        ),
    ],
)
def test_invalid_predictive_definitions_name_the_field(definition: dict[str, Any], field: str):
    with pytest.raises(ValidationFailed) as refused:
        parse_predictive("p", 1, definition)
    assert field in [error.field for error in refused.value.errors]


def candidate(
    auc: float | None,
    baseline: tuple[float, float] = (0.01, 0.03),
    active: dict[str, Any] | None = None,
    leaks: list[dict[str, Any]] | None = None,
    version: int = 2,
) -> PredictiveModel:
    low, high = baseline
    gate = {
        "auc_floor": 0.55,
        "baseline": {"difference": (low + high) / 2, "low": low, "high": high, "resamples": 1000},
        "active": active,
        "leaks": leaks or [],
    }
    return parse_predictive(
        "p",
        version,
        {
            "type": "predictive",
            "parameters": {"intercept": 0},
            "metrics": {"auc": auc, "baseline_auc": 0.7, "gate": gate},
        },
    )


def codes(refusals: list[Any]) -> list[str]:
    return [r.code for r in refusals]


def test_publish_gate_publishes_a_candidate_that_clears_the_floor_the_baseline_and_the_active_version():
    active = candidate(0.80, version=1)
    compared = {"version": 1, "difference": -0.004, "low": -0.012, "high": 0.003}
    assert publish_refusals(candidate(0.80, active=compared), active) == []


def test_publish_gate_refuses_an_auc_below_the_floor_even_when_it_beats_the_baseline():
    refusals = publish_refusals(candidate(0.54, baseline=(0.005, 0.02)), None)
    assert codes(refusals) == ["auc_floor"]
    assert refusals[0].figures == {"auc": 0.54, "floor": 0.55}


def test_publish_gate_refuses_a_gain_over_the_baseline_that_the_bootstrap_cannot_tell_from_noise():
    # the case: 0.467 against the baseline's 0.466 would have been published by a bare comparison
    refusals = publish_refusals(candidate(0.467, baseline=(-0.02, 0.022)), None)
    assert codes(refusals) == ["auc_floor", "not_better_than_baseline"]
    assert refusals[1].figures["low"] == -0.02 and "noise" in refusals[1].message


def test_publish_gate_refuses_a_candidate_worse_than_the_active_version_beyond_noise():
    active = candidate(0.85, version=1)
    worse = {"version": 1, "difference": -0.03, "low": -0.045, "high": -0.012}
    refusals = publish_refusals(candidate(0.82, active=worse), active)
    assert codes(refusals) == ["worse_than_active"]
    assert refusals[0].figures["high"] == -0.012
    # compared with another version at training time: the recorded AUCs and the evaluation's noise
    assert codes(publish_refusals(candidate(0.82, baseline=(0.01, 0.03)), active)) == ["worse_than_active"]
    assert publish_refusals(candidate(0.84, baseline=(0.01, 0.03)), active) == []


def test_publish_gate_names_a_leaking_field_with_its_figures():
    leak = {"field": "lead.last_activity", "in_time_auc": 0.78, "out_of_time_auc": 0.61, "shift": 0.25}
    refusals = publish_refusals(candidate(0.88, leaks=[leak]), None)
    assert codes(refusals) == ["leak"]
    assert refusals[0].figures == leak and "lead.last_activity" in refusals[0].message


def test_publish_gate_refuses_untrained_unknown_and_unrecorded_candidates():
    assert codes(publish_refusals(parse_predictive("p", 1, {"type": "predictive"}), None)) == ["untrained"]
    assert codes(publish_refusals(candidate(None), None)) == ["auc_unknown"]
    legacy = parse_predictive(
        "p",
        1,
        {"type": "predictive", "parameters": {"intercept": 0}, "metrics": {"auc": 0.9, "baseline_auc": 0.8}},
    )
    assert codes(publish_refusals(legacy, None)) == ["gate_figures_missing"]


def test_paired_bootstrap_interval_covers_the_difference_and_its_resamples_are_true_aucs():
    rng = random.Random(2)
    labels = [int(rng.random() < 0.4) for _ in range(400)]
    ours = [y * 0.8 + rng.random() for y in labels]
    theirs = [y * 0.3 + rng.random() for y in labels]
    figures = paired_auc_difference(labels, ours, theirs, resamples=300)
    assert figures["difference"] == pytest.approx(roc_auc(ours, labels) - roc_auc(theirs, labels))
    assert 0 < figures["low"] < figures["difference"] < figures["high"]
    same = paired_auc_difference(labels, ours, ours, resamples=50)
    assert same["low"] == same["high"] == 0.0
    weights = [rng.randrange(3) for _ in labels]
    expanded = [(s, y) for s, y, w in zip(ours, labels, weights, strict=True) for _ in range(w)]
    order = sorted(range(len(ours)), key=ours.__getitem__)
    assert _weighted_auc(order, ours, labels, weights) == pytest.approx(
        roc_auc([s for s, _ in expanded], [y for _, y in expanded])
    )


def test_leak_check_flags_a_field_recorded_with_the_outcome_and_not_an_honest_one():
    rng = random.Random(4)
    examples = []
    for n in range(3000):
        outcome = rng.random() < 0.4
        honest = "good" if rng.random() < (0.7 if outcome else 0.3) else "bad"
        # written by sales as they work a lead: the older a lead, the more it tells the outcome
        worked = n < 2400 and rng.random() < 0.8
        recorded = (
            ("sms sent" if outcome else "no answer") if worked else rng.choice(("email opened", "no answer"))
        )
        seen = {"lead.honest": honest, "lead.last_activity": recorded}
        examples.append(Example(seen, outcome, START + timedelta(hours=n), f"l{n}"))
    older, newer = split_in_time(examples, 0.2)
    spec = learn_spec([e.seen for e in older], TrainingConfig())
    flagged = leak_check(older, newer, spec)
    assert [f["field"] for f in flagged] == ["lead.last_activity"]
    assert flagged[0]["in_time_auc"] - flagged[0]["out_of_time_auc"] > 0.07 and flagged[0]["shift"] > 0.1


ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None)
@given(
    lead_fields=st.dictionaries(st.sampled_from(["source", "campaign", "other"]), ANY_VALUE, max_size=3),
    account_fields=st.dictionaries(st.sampled_from(["employees", "industry"]), ANY_VALUE, max_size=2),
)
def test_any_field_values_score_without_failing_and_explanations_still_add_up(
    trained: dict[str, Any], lead_fields: dict[str, Any], account_fields: dict[str, Any]
):
    model = parse_predictive("p", 1, trained)
    lead = Lead("l", "c", lead_fields, START, START)
    account = Account("a", None, None, account_fields, START, START)
    result = model.score(lead, None, account, [], START)
    assert result is not None and 0 <= result.score <= 100
    prediction = model.predict(lead, None, account, [], START)
    assert math.isfinite(prediction.logit)
    assert math.fsum(line.points for line in result.breakdown) == pytest.approx(prediction.logit, abs=1e-9)


@pytest.fixture(scope="module")
def trained_trees(examples: list[Example]) -> dict[str, Any]:
    result = train(examples, TrainingConfig(time_limit=2))
    return json.loads(
        json.dumps({"type": "predictive", "parameters": result.parameters, "metrics": result.metrics})
    )


def test_trees_are_the_default_model_and_learn_from_the_leads(trained_trees: dict[str, Any]):
    metrics = trained_trees["metrics"]
    assert metrics["algorithm"] == "trees" and trained_trees["parameters"]["algorithm"] == "trees"
    assert metrics["auc"] > 0.65 and metrics["gate"]["baseline"]["resamples"] == 1000
    assert metrics["selection"]["tried"] and metrics["selection"]["rounds"] >= 1
    model = parse_predictive("p", 1, trained_trees)
    assert (
        model.trees is not None and not model.trees.compiled.general
    )  # every path holds at most two fields: tables, exact


@settings(max_examples=150, deadline=None)
@given(
    lead_fields=st.dictionaries(st.sampled_from(["source", "campaign", "other"]), ANY_VALUE, max_size=3),
    account_fields=st.dictionaries(st.sampled_from(["employees", "industry"]), ANY_VALUE, max_size=2),
)
def test_any_field_values_score_with_trees_and_the_tables_agree_with_the_trees(
    trained_trees: dict[str, Any], lead_fields: dict[str, Any], account_fields: dict[str, Any]
):
    model = parse_predictive("p", 1, trained_trees)
    lead = Lead("l", "c", lead_fields, START, START)
    account = Account("a", None, None, account_fields, START, START)
    result = model.score(lead, None, account, [], START)
    assert result is not None and 0 <= result.score <= 100
    prediction = model.predict(lead, None, account, [], START)
    assert math.fsum(line.points for line in result.breakdown) == pytest.approx(prediction.logit, abs=1e-9)
    seen = observe(lead, None, account, [], START)
    assert model.trees is not None
    assert prediction.logit == pytest.approx(model.trees.logit(seen), abs=1e-9)


def test_the_trend_says_up_down_or_flat_against_the_score_it_replaces():
    from chalicelib.domain.scoring import Score

    def score(value: int) -> Score:
        return Score("m", 1, START, value, None, False, ())

    assert score(60).following(None).trend is None
    assert score(60).following(score(40)).trend == "up"
    assert score(30).following(score(40)).trend == "down"
    assert score(40).following(score(40)).trend == "flat"
    assert score(60).following(score(40)).same_result(score(60)), "the trend alone is no change to write"


def test_trees_without_the_training_layer_are_refused_with_a_reason_not_a_crash(
    examples: list[Example], monkeypatch: pytest.MonkeyPatch
):
    import sys

    from chalicelib.domain.predictive_training import TrainingLayerMissing

    monkeypatch.setitem(sys.modules, "sklearn", None)  # a function without the layer: import fails
    with pytest.raises(TrainingLayerMissing) as refused:
        train(examples, TrainingConfig())
    assert refused.value.errors[0].field == "training.algorithm" and "layer" in refused.value.message
    assert (
        train(examples, TrainingConfig(algorithm="logistic", regularization=1.0)).metrics["algorithm"]
        == "logistic"
    )


def test_the_cli_shows_the_trend_beside_the_score():
    from leadflow_local.cli_ops import trend_text

    assert trend_text({"score": 35, "trend": "up", "previous_score": 30}) == " ↑ from 30"
    assert trend_text({"score": 20, "trend": "down", "previous_score": 30}) == " ↓ from 30"
    assert trend_text({"score": 35, "trend": None, "previous_score": None}) == ""
