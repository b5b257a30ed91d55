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
    design,
    fit,
    fit_logistic,
    learn_spec,
    publish_refusals,
    roc_auc,
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
    result = train(examples, TrainingConfig(regularization=1.0))
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
    config = TrainingConfig(regularization=1.0)
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
    config = TrainingConfig(regularization=1.0)
    shuffled = train(synthetic(3000, seed=5, shuffle=True), config).metrics
    assert shuffled["auc"] == pytest.approx(0.5, abs=0.05)
    real = train(synthetic(3000, seed=5), config).metrics
    assert real["auc"] > 0.7
    assert real["auc"] > real["baseline_auc"] - 0.02
    assert real["split"] == {**real["split"], "train_leads": 2400, "evaluation_leads": 600}


def test_the_split_trains_on_older_leads_and_evaluates_on_newer_ones(examples: list[Example]):
    metrics = train(list(reversed(examples)), TrainingConfig(regularization=1.0)).metrics
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


def with_auc(auc: float | None, baseline: float) -> PredictiveModel:
    return parse_predictive(
        "p",
        1,
        {
            "type": "predictive",
            "parameters": {"intercept": 0},
            "metrics": {"auc": auc, "baseline_auc": baseline},
        },
    )


def test_publish_gate_requires_beating_the_baseline_and_95_percent_of_the_active_auc():
    assert publish_refusals(with_auc(0.80, 0.75), None) == []
    assert "naive Bayes" in publish_refusals(with_auc(0.74, 0.75), None)[0]
    assert publish_refusals(with_auc(0.80, 0.70), with_auc(0.84, 0.70)) == []  # 0.80 >= 0.95 * 0.84
    assert "95%" in publish_refusals(with_auc(0.79, 0.70), with_auc(0.84, 0.70))[0]
    assert "AUC is unknown" in publish_refusals(with_auc(None, 0.70), None)[0]
    untrained = parse_predictive("p", 1, {"type": "predictive"})
    assert "not been trained" in publish_refusals(untrained, None)[0]


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
