"""Predictive scoring on moto: train from stored leads whose outcome is known (through the API and
the work queue), publish through the gate, and score a new lead with probability, grade and factors."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_as_server

NOW = datetime.now(UTC)


def seed_outcomes(deps: Any, leads: int, seed: int = 2) -> int:
    """Closed leads whose outcome follows company size (and a little the page visits); ten copies of a
    weak opt-in answer on each contact are the trap that makes naive Bayes count it ten times."""
    from chalicelib.domain.entities import Account, Contact, Interaction, Lead
    from chalicelib.store.dynamo import account_record, contact_record, lead_record

    rng = random.Random(seed)
    positives = 0
    for k in range(leads):
        created = NOW - timedelta(days=300 - k)
        closed = created + timedelta(days=5)
        opted_in = rng.random() < 0.5
        employees = rng.choice([5, 20, 80, 300, 1200, 5000])
        visits = rng.randint(0, 2)
        logit = (
            1.2 * (math.log(employees) - math.log(150)) + 0.2 * (1 if opted_in else -1) + 0.3 * (visits - 1)
        )
        won = rng.random() < 1 / (1 + math.exp(-logit))
        positives += won
        optins = {f"optin_{q}": "yes" if opted_in else "no" for q in range(10)}
        account_record(
            Account(f"a{k}", f"Company {k}", None, {"employees": employees}, created, created)
        ).save()
        contact_record(
            Contact(f"c{k}", None, optins, created, created, account_id=f"a{k}", lead_ids=[f"l{k}"])
        ).save()
        state, status = ("qualified", "qualified") if won else ("disqualified", "lost")
        lead_record(
            Lead(f"l{k}", f"c{k}", {"topic": "Pricing"}, created, closed, f"a{k}", state, status)
        ).save()
        for j in range(visits):
            deps.store.record_interaction(
                Interaction(f"i{k}-{j}", f"c{k}", "page_visited", created + timedelta(hours=j + 1))
            )
    return positives


def train(client: Any, admin_key: str, model_id: str, body: dict[str, Any]) -> str:
    answer = post_json(client, f"/v1/scoring-models/{model_id}/train", body, {"X-Api-Key": admin_key})
    assert answer.status_code == 202, answer.body
    return str(answer.json_body["job_id"])


def test_trained_predictive_model_is_published_and_scores_a_new_lead_with_grade_and_factors(
    client: Any, admin_key: str, pump: Any, deps: Any
):
    grades = [{"grade": "A", "min_score": 70}, {"grade": "B", "min_score": 40}, {"grade": "C"}]
    assert (
        put_json(
            client, "/v1/scoring-models/propensity", {"type": "predictive", "grades": grades}, admin_key
        ).status_code
        == 201
    )
    seed_outcomes(deps, 120)
    job_id = train(client, admin_key, "propensity", {"publish": True})
    pump.drain()

    job = get(client, f"/v1/jobs/{job_id}", admin_key).json_body
    assert job["state"] == "done", job
    result = job["result"]
    assert result["state"] == "active" and result["version"] == 2, result
    assert result["auc"] > result["baseline_auc"]
    assert result["examples"]["positive"] >= 40 and result["examples"]["negative"] >= 40
    model = get(client, "/v1/scoring-models/propensity", admin_key).json_body
    assert model["active_version"] == 2
    definition = model["versions"][0]["definition"]
    assert definition["type"] == "predictive" and definition["grades"] == grades, "configuration kept"
    assert {"auc", "baseline_auc", "model", "baseline", "split"} <= set(definition["metrics"])
    assert definition["parameters"]["algorithm"] == "trees" and definition["metrics"]["gate"]["baseline"]
    assert not any("optin" in f["field"] and "@" in f["field"] for f in definition["parameters"]["features"])

    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    big = {"email": "cto@big.example.com", "company": "Big Co", "employees": 5000, "topic": "Demo"}
    small = {"email": "owner@tiny.example.com", "company": "Tiny", "employees": 5, "topic": "Demo"}
    answers = [submit_as_server(client, body, admin_key) for body in (big, small)]
    assert all(a.status_code == 201 for a in answers), [a.body for a in answers]
    pump.drain()

    scores = []
    for answer in answers:
        lead_id = answer.json_body["lead_id"]
        [shown] = get(client, f"/v1/leads/{lead_id}", admin_key).json_body["scores"]
        stored = deps.scoring.scores_of(lead_id)["propensity"]
        assert (shown["model_id"], shown["model_version"], shown["score"]) == ("propensity", 2, stored.score)
        assert 0 <= stored.score <= 100 and stored.grade in {"A", "B", "C"}
        kinds = [line.kind for line in stored.breakdown]
        assert kinds[0] == "baseline" and "factor" in kinds
        logit = math.fsum(line.points for line in stored.breakdown)
        assert round(100 / (1 + math.exp(-logit))) == stored.score, "the breakdown adds up to the logit"
        scores.append(stored)
    big_score, small_score = scores
    assert big_score.score > small_score.score
    assert any(line.rule_id == "account.employees = 5000" and line.points > 0 for line in big_score.breakdown)
    assert any(line.rule_id == "account.employees = 5" and line.points < 0 for line in small_score.breakdown)


def test_training_with_too_few_outcomes_is_refused_in_the_job_and_says_so(
    client: Any, admin_key: str, pump: Any, deps: Any
):
    seed_outcomes(deps, 30)
    job_id = train(client, admin_key, "propensity", {})
    pump.drain()
    job = get(client, f"/v1/jobs/{job_id}", admin_key).json_body
    assert job["state"] == "done"
    error = job["result"]["error"]
    assert error["code"] == "not_enough_outcomes" and "at least 40" in error["message"]
    assert get(client, "/v1/scoring-models/propensity", admin_key).status_code == 404, "no version saved"


def test_an_untrained_predictive_draft_cannot_be_published(client: Any, admin_key: str):
    assert (
        put_json(client, "/v1/scoring-models/propensity", {"type": "predictive"}, admin_key).status_code
        == 201
    )
    answer = post_json(client, "/v1/scoring-models/propensity/publish", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 409
    assert "not been trained" in answer.json_body["error"]["message"]


@pytest.mark.parametrize("body", [{"publish": "yes"}, {"publish": True, "epochs": 3}])
def test_train_request_takes_only_a_publish_flag(client: Any, admin_key: str, body: dict[str, Any]):
    answer = post_json(client, "/v1/scoring-models/propensity/train", body, {"X-Api-Key": admin_key})
    assert answer.status_code == 422


def test_training_a_rule_model_is_refused(client: Any, admin_key: str, pump: Any):
    model = load_event("models/b2b_default.json")
    assert put_json(client, "/v1/scoring-models/b2b-default", model, admin_key).status_code == 201
    answer = post_json(client, "/v1/scoring-models/b2b-default/train", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 422 and "rule model" in answer.json_body["error"]["message"]


def test_weekly_retrain_trains_each_predictive_model_once_a_week(
    client: Any, admin_key: str, deps: Any, pump: Any
):
    from chalicelib.services.predictive import retrain_all

    assert (
        put_json(client, "/v1/scoring-models/propensity", {"type": "predictive"}, admin_key).status_code
        == 201
    )
    seed_outcomes(deps, 120)
    first = retrain_all(deps, NOW)
    job_id = first["propensity"]["queued"]
    pump.drain()  # the training queue's function runs it
    job = get(client, f"/v1/jobs/{job_id}", admin_key).json_body
    assert job["result"]["state"] == "active", job
    again = retrain_all(deps, NOW)
    assert "already" in again["propensity"]["skipped"]


def test_trained_draft_is_simulated_then_published_and_its_grade_qualifies_a_lead(
    client: Any, admin_key: str, pump: Any, deps: Any
):
    from chalicelib.services.predictive import train_model

    seed_outcomes(deps, 120)
    trained = train_model("propensity", deps, NOW)
    assert (trained["version"], trained["state"], trained["publishable"]) == (1, "draft", True)
    simulated = post_json(client, "/v1/scoring-models/propensity/simulate", {}, {"X-Api-Key": admin_key})
    assert simulated.status_code == 200, simulated.body
    assert simulated.json_body["scored"] == 120 and set(simulated.json_body["per_grade"]) <= {
        "A",
        "B",
        "C",
        "D",
    }
    answer = post_json(client, "/v1/scoring-models/propensity/publish", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 202, answer.body
    pump.drain()

    rule = {
        "id": "likely-buyers",
        "when": {"grade": "propensity", "op": "in", "value": ["A"]},
        "actions": [
            {"type": "task", "subject": "Call {account.name} about {lead.topic}", "due_in_hours": 24}
        ],
    }
    assert put_json(client, "/v1/qualification-rules/likely-buyers", rule, admin_key).status_code == 201
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    big = {"email": "cfo@huge.example.com", "company": "Huge Co", "employees": 5000, "topic": "Demo"}
    created = submit_as_server(client, big, admin_key)
    assert created.status_code == 201, created.body
    pump.drain()
    lead = get(client, f"/v1/leads/{created.json_body['lead_id']}", admin_key).json_body
    [score] = lead["scores"]
    assert score["grade"] == "A", score
    assert (lead["state"], lead["status"]) == ("open", "marketing_qualified")
