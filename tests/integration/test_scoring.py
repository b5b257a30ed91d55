"""Scoring on moto: models through the API, the scoring function fed by the real streams (through the
local pump), rescoring jobs on the work queue, and scores read back."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json

MODEL = load_event("models/b2b_default.json")


#: These tests read the full capture answer: they post as a server does, with an API key.
SERVER: dict[str, str] = {}


@pytest.fixture
def form(client: Any, admin_key: str) -> None:
    SERVER["X-Api-Key"] = admin_key
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )


def publish(client: Any, admin_key: str, model: dict[str, Any], pump: Any) -> dict[str, Any]:
    assert put_json(client, f"/v1/scoring-models/{model['id']}", model, admin_key).status_code == 201
    answer = post_json(client, f"/v1/scoring-models/{model['id']}/publish", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 202, answer.body
    pump.drain()
    return dict(answer.json_body)


def submit(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = post_json(client, f"/v1/forms/{FORM}/submissions", body, SERVER)
    assert response.status_code == 201, response.body
    return dict(response.json_body)


ADA = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}  # consent: marketing


def an_hour_ago() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_invalid_model_is_422_naming_rule_and_field_and_never_becomes_a_draft(client: Any, admin_key: str):
    bad = copy.deepcopy(MODEL)
    bad["rules"][0]["when"]["op"] = "like"
    response = put_json(client, "/v1/scoring-models/b2b-default", bad, admin_key)
    assert response.status_code == 422
    error = response.json_body["error"]
    assert error["field"] == "rules[senior-title].when.op"
    assert "like" in error["message"]
    assert get(client, "/v1/scoring-models/b2b-default", admin_key).status_code == 404


def test_publishing_without_a_draft_is_409(client: Any, admin_key: str, pump: Any):
    publish(client, admin_key, MODEL, pump)
    again = post_json(client, "/v1/scoring-models/b2b-default/publish", {}, {"X-Api-Key": admin_key})
    assert again.status_code == 409


def test_unknown_interaction_type_is_allowed_with_a_warning(client: Any, admin_key: str):
    model = copy.deepcopy(MODEL)
    model["rules"].append({"id": "webinar", "points": 5, "when": {"event": "webinar_watched"}})
    response = put_json(client, "/v1/scoring-models/b2b-default", model, admin_key)
    assert response.status_code == 201
    assert any("webinar_watched" in w for w in response.json_body["warnings"])


def test_versions_and_states_are_listed(client: Any, admin_key: str, pump: Any):
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/scoring-models/b2b-default", MODEL, admin_key).json_body["version"] == 2
    model = get(client, "/v1/scoring-models/b2b-default", admin_key).json_body
    assert (model["active_version"], model["draft_version"]) == (1, 2)
    assert [(v["version"], v["state"]) for v in model["versions"]] == [(2, "draft"), (1, "active")]
    listed = get(client, "/v1/scoring-models", admin_key).json_body["models"]
    assert [m["model_id"] for m in listed] == ["b2b-default"]


def test_capture_and_interactions_flow_through_the_streams_to_a_stored_score(
    client: Any, admin_key: str, form: None, pump: Any
):
    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    clicks = [
        {
            "id": f"click-{n}",
            "type": "email_clicked",
            "occurred_at": an_hour_ago(),
            "contact_id": created["contact_id"],
        }
        for n in range(2)
    ]
    assert (
        post_json(client, "/v1/interactions", {"interactions": clicks}, {"X-Api-Key": admin_key}).status_code
        == 202
    )
    pump.drain()

    lead = get(client, f"/v1/leads/{created['lead_id']}", admin_key).json_body
    [score] = lead["scores"]
    rules = {entry["rule_id"]: entry for entry in score["breakdown"]}
    assert set(rules) == {"senior-title", "big-company", "email-clicks"}
    assert rules["senior-title"]["points"] == 20 and rules["big-company"]["points"] == 10
    assert sorted(rules["email-clicks"]["interaction_ids"]) == ["click-0", "click-1"]
    assert score["score"] == round(sum(e["points"] for e in score["breakdown"]))
    assert score["model_version"] == 1 and score["grade"] in ("B", "C")


def test_a_replayed_change_writes_no_new_score(client: Any, admin_key: str, form: None, pump: Any, deps: Any):
    from datetime import UTC, datetime

    from chalicelib.services.scoring import rescore_contacts

    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    pump.drain()
    before = deps.scoring.scores_of(created["lead_id"])["b2b-default"]
    assert rescore_contacts([created["contact_id"]], deps, datetime.now(UTC)) == 0
    assert deps.scoring.scores_of(created["lead_id"])["b2b-default"].as_of == before.as_of


def test_leads_outside_the_audience_or_without_consent_are_not_scored(
    client: Any, admin_key: str, form: None, pump: Any
):
    publish(client, admin_key, MODEL, pump)
    no_consent = submit(client, {**ADA, "email": "quiet@analytical-engines.co.uk", "newsletter": ""})
    pump.drain()
    assert get(client, f"/v1/leads/{no_consent['lead_id']}", admin_key).json_body["scores"] == []


def test_publish_rescores_existing_leads_through_a_job(client: Any, admin_key: str, form: None, pump: Any):
    for n in range(7):
        submit(client, {**ADA, "email": f"person{n}@analytical-engines.co.uk"})
    pump.drain()
    answer = publish(client, admin_key, MODEL, pump)
    job = get(client, f"/v1/jobs/{answer['job_id']}", admin_key).json_body
    assert job["state"] == "done" and job["leads_scored"] == 7
    page = get(client, "/v1/leads?model_id=b2b-default&min_score=30&limit=100", admin_key).json_body
    assert len(page["leads"]) == 7
    assert all(lead["score"] >= 30 for lead in page["leads"])
    graded = get(client, "/v1/leads?model_id=b2b-default&grade=Z", admin_key).json_body
    assert graded["leads"] == []
    # a grade is a range of the model's score index (no index of its own): each grade lists its leads
    by_grade: dict[str, set[str]] = {}
    for lead in page["leads"]:
        by_grade.setdefault(lead["grade"], set()).add(lead["lead_id"])
    for grade, ids in by_grade.items():
        listed = get(client, f"/v1/leads?model_id=b2b-default&grade={grade}&limit=100", admin_key).json_body
        assert {lead["lead_id"] for lead in listed["leads"]} == ids, grade
    assert get(client, "/v1/leads?grade=A", admin_key).status_code == 422


def test_simulate_compares_the_draft_with_the_active_version_and_writes_nothing(
    client: Any, admin_key: str, form: None, pump: Any, deps: Any
):
    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    pump.drain()
    generous = copy.deepcopy(MODEL)
    generous["rules"].append(
        {"id": "everyone", "points": 60, "when": {"field": "contact.email", "op": "exists"}}
    )
    put_json(client, "/v1/scoring-models/b2b-default", generous, admin_key)
    before = deps.scoring.scores_of(created["lead_id"])
    result = post_json(
        client, "/v1/scoring-models/b2b-default/simulate", {}, {"X-Api-Key": admin_key}
    ).json_body
    assert result["leads_evaluated"] == 1 and result["scored"] == 1 and result["sales_ready"] == 1
    assert result["crossing"]["into_sales_ready"] == [created["lead_id"]]
    assert deps.scoring.scores_of(created["lead_id"]) == before


def test_account_scoped_model_counts_every_contact_of_the_account(
    client: Any, admin_key: str, form: None, pump: Any
):
    model = {
        "id": "abm",
        "name": "Account engagement",
        "scope": "account",
        "rules": [{"id": "visits", "points": 10, "per_event": True, "when": {"event": "page_visited"}}],
    }
    publish(client, admin_key, model, pump)
    ada = submit(client, ADA)
    colleague = submit(client, {**ADA, "email": "charles@analytical-engines.co.uk"})
    visit = {
        "id": "v1",
        "type": "page_visited",
        "occurred_at": an_hour_ago(),
        "contact_id": ada["contact_id"],
    }
    post_json(client, "/v1/interactions", {"interactions": [visit]}, {"X-Api-Key": admin_key})
    pump.drain()
    for lead_id in (ada["lead_id"], colleague["lead_id"]):
        [score] = get(client, f"/v1/leads/{lead_id}", admin_key).json_body["scores"]
        assert score["score"] == 10, "a visit by one contact counts for every lead of the account"


def test_an_aging_score_is_rewritten_only_at_its_timer_by_the_minute_schedule(
    client: Any, admin_key: str, form: None, pump: Any, deps: Any
):
    """Issue 19: no daily rescoring of every score. The score's timer (the form submission leaving the
    90-day window of ``silent-90-days``: the rule holds from then) is on the sparse ``by_due`` index;
    the minute schedule rescores the lead then, and not before."""
    from datetime import UTC, datetime, timedelta

    from app import app
    from chalicelib.services.scoring import run_timers
    from chalicelib.store.records import ScoreRecord
    from leadflow_local.stack import schedules

    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    pump.drain()
    [timer] = [runner for runner in schedules(app) if runner.name == "score_timers"]
    assert timer.interval == 60
    stored = ScoreRecord.get(created["lead_id"], "b2b-default")
    assert stored.next_check_at is not None and stored.due is not None
    due_at = datetime.strptime(stored.next_check_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(days=89) < due_at - datetime.now(UTC) <= timedelta(days=90)
    assert "silent-90-days" not in (stored.breakdown or "")

    assert run_timers(deps, datetime.now(UTC)) == {"due": 0, "rescored": 0, "cleared": 0}
    assert ScoreRecord.get(created["lead_id"], "b2b-default").as_of == stored.as_of, "nothing written"

    later = due_at + timedelta(minutes=1)
    done = run_timers(deps, later)
    assert done["due"] == 1 and done["rescored"] == 1
    again = ScoreRecord.get(created["lead_id"], "b2b-default")
    assert again.as_of == later and "silent-90-days" in (again.breakdown or "")
    assert int(again.score) == int(stored.score) - 10
    assert run_timers(deps, later) == {"due": 0, "rescored": 0, "cleared": 0}, "the timer moved on"


def test_the_lead_view_shows_the_trend_since_the_previous_scoring(
    client: Any, admin_key: str, form: None, pump: Any
):
    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    pump.drain()
    [first] = get(client, f"/v1/leads/{created['lead_id']}", admin_key).json_body["scores"]
    assert first["trend"] is None and first["previous_score"] is None, "a first score has no trend"
    click = {
        "id": "click-t",
        "type": "email_clicked",
        "occurred_at": an_hour_ago(),
        "contact_id": created["contact_id"],
    }
    answer = post_json(client, "/v1/interactions", {"interactions": [click]}, {"X-Api-Key": admin_key})
    assert answer.status_code == 202
    pump.drain()
    [second] = get(client, f"/v1/leads/{created['lead_id']}", admin_key).json_body["scores"]
    assert second["score"] == first["score"] + 5
    assert (second["trend"], second["previous_score"]) == ("up", first["score"])


def test_score_changes_are_on_the_timeline_from_the_score_item_and_none_is_lost(
    client: Any, admin_key: str, form: None, pump: Any, deps: Any
):
    """Issue 19: a score change's timeline entry is kept on the score item (no LeadHistory write); the
    oldest move to LeadHistory items when they no longer fit, and a removed score's entries too; the
    timeline shows every change once, newest first."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from chalicelib.domain.timeline import timeline_entry
    from chalicelib.store.records import LeadHistoryRecord

    publish(client, admin_key, MODEL, pump)
    created = submit(client, ADA)
    pump.drain()
    lead_id = created["lead_id"]
    assert list(LeadHistoryRecord.query(lead_id)) == [], "the first score's entry is on the score item"
    timeline = get(client, f"/v1/leads/{lead_id}/timeline", admin_key).json_body["entries"]
    [first] = [e for e in timeline if e["kind"] == "score"]
    assert first["model_id"] == "b2b-default" and first["previous_score"] is None

    lead = deps.store.get_lead(lead_id)
    score = deps.scoring.scores_of(lead_id)["b2b-default"]
    start = datetime.now(UTC)
    for n in range(1, 41):  # forty more changes, as rescoring would write them
        at = start + timedelta(seconds=n)
        entry = timeline_entry(
            "score", "b2b-default", at, {**score.summary(), "score": n, "previous_score": n}
        )
        score = replace(score, as_of=at, score=n, timeline=(*score.timeline, entry))
        assert deps.scoring.put_score(lead, score, False)
        score = deps.scoring.scores_of(lead_id)["b2b-default"]
    moved = list(LeadHistoryRecord.query(lead_id))
    assert moved and score.timeline and len(moved) + len(score.timeline) == 41
    timeline = get(client, f"/v1/leads/{lead_id}/timeline", admin_key).json_body["entries"]
    assert [e["score"] for e in timeline if e["kind"] == "score"] == [*range(40, 0, -1), first["score"]]

    assert deps.scoring.delete_score(lead_id, "b2b-default", start + timedelta(minutes=1), score.timeline)
    timeline = get(client, f"/v1/leads/{lead_id}/timeline", admin_key).json_body["entries"]
    assert [e["score"] for e in timeline if e["kind"] == "score"] == [*range(40, 0, -1), first["score"]]
    assert len(list(LeadHistoryRecord.query(lead_id))) == 41
