"""Opportunities on moto, through the API: qualify makes one; sales read, list and change it with
If-Match; it closes with its lead; the pipeline report; export and erasure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_as_server
from tests.integration.test_scoring import ADA


def patch(client: Any, path: str, body: Any, key: str, if_match: str | None) -> Any:
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.http.request("PATCH", path, headers=headers, body=json.dumps(body).encode())


@pytest.fixture
def sales_key(deps: Any) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key("rep", ["sales"], deps.store)
    return secret


def qualified(client: Any, admin_key: str, person: dict[str, Any] | None = None) -> dict[str, Any]:
    """A form lead accepted and qualified by sales: the answer names its opportunity."""
    form = put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    assert form.status_code in (200, 201), form.body
    created = submit_as_server(client, person or ADA, admin_key).json_body
    key = {"X-Api-Key": admin_key}
    assert post_json(client, f"/v1/leads/{created['lead_id']}/accept", {}, key).status_code == 200
    converted = post_json(client, f"/v1/leads/{created['lead_id']}/qualify", {}, key)
    assert converted.status_code == 200, converted.body
    return {**created, "opportunity_id": converted.json_body["opportunity_id"]}


def test_a_qualified_lead_becomes_an_opportunity_sales_can_read_and_list_newest_first(
    client: Any, admin_key: str, sales_key: str
):
    first = qualified(client, admin_key)
    second = qualified(client, admin_key, {**ADA, "email": "grace@hopper.example.org", "topic": "Support"})
    one = get(client, f"/v1/opportunities/{first['opportunity_id']}", sales_key)
    assert one.status_code == 200, one.body
    body = one.json_body
    assert (body["lead_id"], body["stage"], body["status"], body["version"]) == (
        first["lead_id"],
        "qualify",
        "open",
        1,
    )
    assert body["name"] == "Analytical Engines Ltd: Pricing" and body["owner"].startswith("key:")
    assert one.headers["ETag"] == '"1"'
    listed = get(client, "/v1/opportunities", sales_key).json_body
    assert [o["opportunity_id"] for o in listed["opportunities"]] == [
        second["opportunity_id"],
        first["opportunity_id"],
    ]
    paged = get(client, "/v1/opportunities?limit=1", sales_key).json_body
    assert [o["opportunity_id"] for o in paged["opportunities"]] == [second["opportunity_id"]]
    rest = get(client, f"/v1/opportunities?limit=1&cursor={paged['next_cursor']}", sales_key).json_body
    assert [o["opportunity_id"] for o in rest["opportunities"]] == [first["opportunity_id"]]
    forged = get(client, "/v1/opportunities?cursor=eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", sales_key)
    assert forged.status_code == 422 and forged.json_body["error"]["field"] == "cursor"
    assert get(client, "/v1/opportunities/o_missing", sales_key).status_code == 404


def test_patch_needs_the_version_read_refuses_a_stale_one_and_filters_see_the_change(
    client: Any, admin_key: str, sales_key: str
):
    opp = qualified(client, admin_key)["opportunity_id"]
    path = f"/v1/opportunities/{opp}"
    change = {"stage": "propose", "estimated_value": 125000.5, "close_date": "2027-03-31"}
    missing = patch(client, path, change, sales_key, None)
    assert missing.status_code == 428 and missing.json_body["error"]["field"] == "If-Match"
    moved = patch(client, path, change, sales_key, '"1"')
    assert moved.status_code == 200, moved.body
    assert (moved.json_body["stage"], moved.json_body["estimated_value"], moved.json_body["version"]) == (
        "propose",
        125000.5,
        2,
    )
    assert moved.headers["ETag"] == '"2"'
    stale = patch(client, path, {"stage": "develop"}, sales_key, '"1"')
    assert stale.status_code == 412 and stale.json_body["error"]["code"] == "stale_version"
    assert get(client, path, sales_key).json_body["stage"] == "propose", "the stale change wrote nothing"
    assert [
        o["opportunity_id"]
        for o in get(client, "/v1/opportunities?stage=propose", sales_key).json_body["opportunities"]
    ] == [opp]
    assert get(client, "/v1/opportunities?stage=develop", sales_key).json_body["opportunities"] == []
    won = patch(client, path, {"status": "won", "reason": "signed"}, sales_key, "2")
    assert won.status_code == 200 and (won.json_body["status"], won.json_body["stage"]) == ("won", "close")
    assert won.json_body["closed_at"] is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "negotiate"}, "stage"),
        ({"status": "won"}, "reason"),
        ({"estimated_value": -1}, "estimated_value"),
        ({"estimated_value": "lots"}, "estimated_value"),
        ({"close_date": "31/03/2027"}, "close_date"),
        ({"colour": "red"}, "colour"),
        ({}, "body"),
        ({"reason": "why not"}, "reason"),
    ],
)
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(
    client: Any, admin_key: str, sales_key: str, body: dict[str, Any], field: str
):
    opp = qualified(client, admin_key)["opportunity_id"]
    answer = patch(client, f"/v1/opportunities/{opp}", body, sales_key, '"1"')
    assert answer.status_code == 422, answer.body
    assert field in {f["field"] for f in answer.json_body["error"].get("fields", [])} | {
        answer.json_body["error"].get("field")
    }
    assert get(client, f"/v1/opportunities/{opp}", sales_key).json_body["version"] == 1


def test_a_malformed_if_match_is_422_and_an_unknown_opportunity_404(
    client: Any, admin_key: str, sales_key: str
):
    opp = qualified(client, admin_key)["opportunity_id"]
    bad = patch(client, f"/v1/opportunities/{opp}", {"stage": "develop"}, sales_key, "yesterday")
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "If-Match"
    assert (
        patch(client, "/v1/opportunities/o_nope", {"stage": "develop"}, sales_key, '"1"').status_code == 404
    )


def test_an_opportunity_closes_as_lost_when_its_lead_is_reopened(client: Any, admin_key: str, sales_key: str):
    made = qualified(client, admin_key)
    reopened = post_json(client, f"/v1/leads/{made['lead_id']}/reopen", {}, {"X-Api-Key": admin_key})
    assert reopened.status_code == 200 and reopened.json_body["closed_opportunities"] == [
        made["opportunity_id"]
    ]
    closed = get(client, f"/v1/opportunities/{made['opportunity_id']}", sales_key).json_body
    assert (closed["status"], closed["stage"], closed["reason"]) == ("lost", "close", "lead reopened")
    assert closed["version"] == 2
    # the reopened lead is qualified again: a new opportunity, the old one stays lost
    key = {"X-Api-Key": admin_key}
    again = post_json(client, f"/v1/leads/{made['lead_id']}/qualify", {}, key).json_body
    assert again["opportunity_id"] != made["opportunity_id"]
    open_ones = get(client, "/v1/opportunities?status=open", sales_key).json_body["opportunities"]
    assert [o["opportunity_id"] for o in open_ones] == [again["opportunity_id"]]


def test_the_pipeline_counts_and_values_open_opportunities_by_stage_and_owner(
    client: Any, admin_key: str, sales_key: str
):
    a = qualified(client, admin_key)["opportunity_id"]
    b = qualified(client, admin_key, {**ADA, "email": "grace@hopper.example.org", "topic": "Support"})[
        "opportunity_id"
    ]
    c = qualified(client, admin_key, {**ADA, "email": "alan@turing.example.org", "topic": "Demo"})[
        "opportunity_id"
    ]
    assert (
        patch(
            client,
            f"/v1/opportunities/{a}",
            {"stage": "propose", "estimated_value": 1000, "owner": "u_ann"},
            sales_key,
            '"1"',
        ).status_code
        == 200
    )
    assert (
        patch(
            client, f"/v1/opportunities/{b}", {"estimated_value": 250.5, "owner": "u_ann"}, sales_key, '"1"'
        ).status_code
        == 200
    )
    assert (
        patch(
            client,
            f"/v1/opportunities/{c}",
            {"status": "lost", "reason": "budget", "estimated_value": 99},
            sales_key,
            '"1"',
        ).status_code
        == 200
    )
    report = get(client, "/v1/reports/pipeline", sales_key)
    assert report.status_code == 200, report.body
    body = report.json_body
    assert body["open"] == {"count": 2, "value": 1250.5}
    assert body["by_stage"]["propose"] == {"count": 1, "value": 1000.0}
    assert body["by_stage"]["qualify"] == {"count": 1, "value": 250.5}
    assert body["by_owner"]["u_ann"]["count"] == 2 and body["by_owner"]["u_ann"]["value"] == 1250.5
    assert body["closed"]["lost"] == {"count": 1, "value": 99.0}
    assert get(client, "/v1/reports/pipeline?x=1", sales_key).status_code in (400, 422)


def test_a_contacts_export_holds_its_opportunities_and_erasure_removes_them(
    client: Any, admin_key: str, sales_key: str, pump: Any
):
    made = qualified(client, admin_key)
    exported = get(client, f"/v1/contacts/{made['contact_id']}/export", admin_key)
    assert exported.status_code == 200, exported.body
    assert [o["opportunity_id"] for o in exported.json_body["opportunities"]] == [made["opportunity_id"]]
    assert (
        client.http.delete(f"/v1/contacts/{made['contact_id']}", headers={"X-Api-Key": admin_key}).status_code
        == 202
    )
    pump.drain()
    assert get(client, f"/v1/opportunities/{made['opportunity_id']}", sales_key).status_code == 404


def test_a_marketing_key_cannot_read_or_change_opportunities(client: Any, admin_key: str, deps: Any):
    from chalicelib.services.access import create_key

    opp = qualified(client, admin_key)["opportunity_id"]
    marketing, _ = create_key("marketing", ["ingest"], deps.store)
    assert get(client, f"/v1/opportunities/{opp}", marketing).status_code == 403
    assert (
        patch(client, f"/v1/opportunities/{opp}", {"stage": "develop"}, marketing, '"1"').status_code == 403
    )
    assert get(client, "/v1/reports/pipeline", marketing).status_code == 403


def test_listed_leads_name_their_person_company_score_and_grade(client: Any, admin_key: str, pump: Any):
    """Issue 17 item 7: the console's list showed contact ids (the list carried no name, company, score
    or grade)."""
    from tests.integration.test_handoff import MODEL, RULE, make_ready
    from tests.integration.test_scoring import publish

    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    form = put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    assert form.status_code == 201
    ready = make_ready(client, admin_key, pump)
    listed = get(client, "/v1/leads", admin_key).json_body["leads"]
    [row] = [lead for lead in listed if lead["lead_id"] == ready["lead_id"]]
    assert (row["name"], row["company"]) == ("Ada Lovelace", "Analytical Engines Ltd")
    assert (row["score"], row["grade"], row["score_model"]) == (70, "B", "b2b-default")
    by_score = get(client, "/v1/leads?model_id=b2b-default", admin_key).json_body["leads"]
    assert by_score[0]["name"] == "Ada Lovelace" and by_score[0]["score"] == 70
