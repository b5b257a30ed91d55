"""Form definitions, submissions and leads through the real routes, on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json

#: These tests read the full capture answer, so they post as a server with an API key does
#: (anonymous visitors get only submission_id and status: tests/security/test_security.py).
SERVER: dict[str, str] = {}

SUBMISSIONS = load_event("http/form_submissions.json")
ADA, GRACE, ADA_AGAIN, BOT = SUBMISSIONS


@pytest.fixture(autouse=True)
def _as_server(admin_key: str) -> None:
    SERVER["X-Api-Key"] = admin_key


@pytest.fixture
def form(client: Any, admin_key: str) -> dict[str, Any]:
    definition = load_event("http/form_contact_us.json")
    response = put_json(client, f"/v1/forms/{FORM}", definition, admin_key)
    assert response.status_code == 201
    return dict(definition)


def submit(client: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return post_json(client, f"/v1/forms/{FORM}/submissions", body, {**SERVER, **(headers or {})})


def scan(deps: Any, record: Any) -> list[Any]:
    return list(record.scan())


def test_submission_creates_contact_account_lead_and_interaction(
    client: Any, form: Any, admin_key: str, deps: Any
):
    response = submit(client, ADA)
    assert response.status_code == 201
    body = response.json_body
    assert body["lead_created"] is True and body["contact_created"] is True

    lead = get(client, f"/v1/leads/{body['lead_id']}", admin_key).json_body
    assert lead["state"] == "open" and lead["status"] == "new"
    assert lead["topic"] == "Pricing" and lead["source"] == "landing_page"
    assert lead["contact"]["email"] == "ada.lovelace@analytical-engines.co.uk"
    assert lead["contact"]["fields"]["phone"] == "+442079460958"
    assert lead["contact"]["marketing_only"] is True
    assert lead["contact"]["consent"] == "marketing"
    assert lead["account"]["name"] == "Analytical Engines Ltd"
    assert lead["account"]["domain"] == "analytical-engines.co.uk"
    assert lead["account"]["fields"]["employees"] == 250
    assert lead["scores"] == []

    interactions = list(deps.store.interactions_of(body["contact_id"]))
    assert [(i.type, i.interaction_id, i.lead_id) for i in interactions] == [
        ("form_submitted", body["submission_id"], body["lead_id"])
    ]


def test_second_submission_with_same_email_and_topic_updates_the_open_lead(
    client: Any, form: Any, admin_key: str
):
    first = submit(client, ADA).json_body
    second = submit(client, ADA_AGAIN).json_body
    assert second["lead_id"] == first["lead_id"]
    assert second["contact_id"] == first["contact_id"]
    assert second["lead_created"] is False and second["contact_created"] is False

    contact = get(client, f"/v1/contacts/{first['contact_id']}", admin_key).json_body
    assert contact["fields"]["first_name"] == "Ada", "a blank field never overwrites stored data"
    assert contact["fields"]["job_title"] == ADA["job"], "a public form fills gaps, it does not rewrite"
    assert [lead["lead_id"] for lead in contact["leads"]] == [first["lead_id"]]
    [conflict] = contact["leads"][0]["conflicts"]
    assert (conflict["field"], conflict["submitted"]) == ("contact.job_title", "VP Engineering")


def test_another_topic_creates_a_second_lead_for_the_same_contact(client: Any, form: Any, admin_key: str):
    first = submit(client, ADA).json_body
    other = submit(client, {**ADA, "topic": "Partnership"}).json_body
    assert other["contact_id"] == first["contact_id"]
    assert other["lead_created"] is True and other["lead_id"] != first["lead_id"]


def test_new_lead_always_strategy_creates_a_lead_per_submission(client: Any, admin_key: str):
    definition = {**load_event("http/form_contact_us.json"), "lead_matching": "new_lead_always"}
    assert put_json(client, "/v1/forms/always", definition, admin_key).status_code == 201
    a = post_json(client, "/v1/forms/always/submissions", ADA, SERVER).json_body
    b = post_json(client, "/v1/forms/always/submissions", {**ADA, "first_name": "Augusta"}, SERVER).json_body
    assert a["lead_id"] != b["lead_id"] and a["contact_id"] == b["contact_id"]


def test_account_is_matched_by_email_domain_when_no_company_is_given(client: Any, form: Any, admin_key: str):
    first = submit(client, ADA).json_body
    colleague = submit(client, {"email": "charles@analytical-engines.co.uk", "topic": "Pricing"}).json_body
    assert colleague["account_id"] == first["account_id"]


def test_urlencoded_submission_is_accepted(client: Any, form: Any):
    response = client.http.post(
        f"/v1/forms/{FORM}/submissions",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="email=alan%40turing.example.org&first_name=Alan&topic=Enigma&newsletter=on",
    )
    assert response.status_code == 201, response.body


def test_invalid_fields_are_all_named_in_a_422_and_nothing_is_written(client: Any, form: Any, deps: Any):
    from chalicelib.store.records import ContactRecord, LeadRecord

    response = submit(client, {"email": "not-an-email", "phone": "12", "employees": "many"})
    assert response.status_code == 422
    error = response.json_body["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["fields"]} == {"email", "phone", "employees"}
    assert scan(deps, ContactRecord) == [] and scan(deps, LeadRecord) == []


def test_missing_required_email_is_named(client: Any, form: Any):
    response = submit(client, {"first_name": "Nobody"})
    assert response.status_code == 422
    assert response.json_body["error"]["field"] == "email"


def test_submission_cannot_set_state_status_or_unknown_fields(client: Any, form: Any, admin_key: str):
    body = submit(client, {**GRACE, "state": "qualified", "status": "qualified", "score": 100}).json_body
    lead = get(client, f"/v1/leads/{body['lead_id']}", admin_key).json_body
    assert lead["state"] == "open" and lead["status"] == "new"
    assert "score" not in lead["fields"] and "state" not in lead["fields"]


def test_filled_honeypot_answers_202_and_stores_only_a_quarantine_record(client: Any, form: Any, deps: Any):
    from chalicelib.store.records import ContactRecord, LeadRecord, QuarantineRecord

    response = submit(client, BOT)
    assert response.status_code == 202
    assert scan(deps, ContactRecord) == [] and scan(deps, LeadRecord) == []
    assert [q.reason for q in scan(deps, QuarantineRecord)] == ["honeypot"]


def test_unknown_form_is_404(client: Any, aws: Any):
    response = post_json(client, "/v1/forms/nope/submissions", ADA)
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"


def test_wrong_content_type_is_415_with_json_error(client: Any, form: Any):
    response = client.http.post(
        f"/v1/forms/{FORM}/submissions", headers={"Content-Type": "text/plain"}, body="hi"
    )
    assert response.status_code == 415
    assert response.json_body["error"]["field"] == "Content-Type"


def test_malformed_json_is_400(client: Any, form: Any):
    response = client.http.post(
        f"/v1/forms/{FORM}/submissions", headers={"Content-Type": "application/json"}, body="{not json"
    )
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "malformed_body"


def test_body_over_64_kb_is_413(client: Any, form: Any):
    response = submit(client, {**ADA, "first_name": "x" * 70_000})
    assert response.status_code == 413


def test_browser_origin_must_be_allowed_by_the_form(client: Any, form: Any):
    allowed = submit(client, ADA, {"Origin": "https://www.example.com"})
    assert allowed.status_code == 201
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    refused = submit(client, GRACE, {"Origin": "https://evil.example.net"})
    assert refused.status_code == 403


def test_preflight_lists_methods_and_headers_for_allowed_origin(client: Any, form: Any):
    response = client.http.request(
        "OPTIONS", f"/v1/forms/{FORM}/submissions", headers={"Origin": "https://www.example.com"}, body=b""
    )
    assert response.status_code == 204
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]


def test_identical_resubmission_returns_the_first_answer(client: Any, form: Any, deps: Any):
    from chalicelib.store.records import InteractionRecord

    first = submit(client, ADA)
    again = submit(client, ADA)
    assert again.status_code == first.status_code == 201
    assert again.json_body == first.json_body
    assert len(scan(deps, InteractionRecord)) == 1


def test_idempotency_key_returns_first_answer_and_refuses_another_body(client: Any, form: Any):
    headers = {"Idempotency-Key": "retry-123"}
    first = submit(client, ADA, headers)
    again = submit(client, ADA, headers)
    assert again.json_body == first.json_body
    reused = submit(client, GRACE, headers)
    assert reused.status_code == 422
    assert reused.json_body["error"]["code"] == "idempotency_key_reused"


def test_invalid_form_definition_is_422_naming_the_field(client: Any, admin_key: str):
    definition = load_event("http/form_contact_us.json")
    definition["fields"]["status"] = {"maps_to": "lead.status"}
    response = put_json(client, "/v1/forms/bad", definition, admin_key)
    assert response.status_code == 422
    assert "fields.status.maps_to" in response.json_body["error"]["field"]


def test_create_lead_by_api_with_idempotency_key(client: Any, admin_key: str, deps: Any):
    from chalicelib.store.records import LeadRecord

    body = {
        "contact": {"email": "Ken@Unix.example.org", "first_name": "Ken"},
        "account": {"name": "Bell Labs"},
        "lead": {"topic": "Renewal"},
    }
    headers = {"X-Api-Key": admin_key, "Idempotency-Key": "lead-1"}
    first = post_json(client, "/v1/leads", body, headers)
    again = post_json(client, "/v1/leads", body, headers)
    assert first.status_code == 201 and again.json_body == first.json_body
    assert len(scan(deps, LeadRecord)) == 1
    lead = get(client, f"/v1/leads/{first.json_body['lead_id']}", admin_key).json_body
    assert lead["source"] == "api" and lead["contact"]["email"] == "ken@unix.example.org"


def test_create_lead_refuses_managed_fields(client: Any, admin_key: str):
    body = {"contact": {"email": "ken@unix.example.org"}, "lead": {"state": "qualified"}}
    response = post_json(client, "/v1/leads", body, {"X-Api-Key": admin_key})
    assert response.status_code == 422
    assert response.json_body["error"]["field"] == "lead.state"


def test_list_leads_filters_and_pages(client: Any, form: Any, admin_key: str):
    for n in range(5):
        submit(client, {"email": f"person{n}@example.org", "topic": "Pricing"})
    seen: list[str] = []
    cursor = None
    while True:
        query = "?state=open&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = get(client, f"/v1/leads{query}", admin_key).json_body
        seen += [lead["lead_id"] for lead in page["leads"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert get(client, "/v1/leads?state=qualified", admin_key).json_body["leads"] == []
    assert get(client, "/v1/leads?colour=red", admin_key).status_code == 422
    assert get(client, "/v1/leads?cursor=%%%", admin_key).status_code == 422


def test_routes_need_a_key_with_the_right_scope(client: Any, deps: Any):
    from chalicelib.services.access import create_key

    ingest, _ = create_key("ingest only", ["ingest"], deps.store)
    assert client.http.get("/v1/leads").status_code == 401
    assert get(client, "/v1/leads", "lf_wrong").status_code == 401
    response = get(client, "/v1/leads", ingest)
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["code"] == "forbidden"
    assert put_json(client, "/v1/forms/x", {}, ingest).status_code == 403


def test_health_is_public(client: Any):
    assert client.http.get("/v1/health").status_code == 200


def test_list_leads_of_one_contact_newest_first_with_filters(client: Any, form: Any, admin_key: str):
    first = submit(client, ADA).json_body
    second = submit(client, {**ADA, "topic": "Partnership"}).json_body
    submit(client, GRACE)
    page = get(client, f"/v1/leads?contact_id={first['contact_id']}&limit=1", admin_key).json_body
    assert [lead["lead_id"] for lead in page["leads"]] == [second["lead_id"]]
    rest = get(
        client, f"/v1/leads?contact_id={first['contact_id']}&cursor={page['next_cursor']}", admin_key
    ).json_body
    assert [lead["lead_id"] for lead in rest["leads"]] == [first["lead_id"]]
    assert rest["next_cursor"] is None
    none = get(client, f"/v1/leads?contact_id={first['contact_id']}&state=qualified", admin_key).json_body
    assert none["leads"] == []


def test_field_errors_carry_cors_headers_so_the_page_can_show_them(client: Any, form: Any):
    response = submit(client, {"email": "nope"}, {"Origin": "https://www.example.com"})
    assert response.status_code == 422
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"


@pytest.mark.parametrize(
    "query",
    [
        "?limit=%C2%B2",
        "?limit=0",
        "?limit=abc",
        "?state=",
        "?contact_id=",
        "?cursor=eyJhIjp7fX0",
        "?state=open&cursor=eyJsZWFkX2lkIjp7IlMiOiJ4In19",
    ],
)
def test_odd_list_parameters_are_422_not_500(client: Any, admin_key: str, query: str):
    response = get(client, f"/v1/leads{query}", admin_key)
    assert response.status_code == 422, response.body


def test_well_formed_cursor_for_another_list_is_never_a_500(client: Any, form: Any, admin_key: str):
    import base64

    forged = (
        base64.urlsafe_b64encode(
            json.dumps({"lead_id": {"S": "x"}, "state": {"S": "zzz"}, "created_at": {"S": "y"}}).encode()
        )
        .decode()
        .rstrip("=")
    )
    submit(client, ADA)
    response = get(client, f"/v1/leads?state=open&cursor={forged}", admin_key)
    assert response.status_code in (200, 422)


def test_deeply_nested_json_is_400_not_500(client: Any, form: Any):
    body = '{"email":' + "[" * 30000 + "]" * 30000 + "}"
    response = client.http.post(
        f"/v1/forms/{FORM}/submissions", headers={"Content-Type": "application/json"}, body=body
    )
    assert response.status_code == 400


def test_numbers_dynamodb_cannot_store_are_422(client: Any, admin_key: str, form: Any):
    response = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": "n@x.example.org", "ratio": 1e-200}},
        {"X-Api-Key": admin_key},
    )
    assert response.status_code == 422
    assert response.json_body["error"]["field"] == "contact.ratio"
    assert submit(client, {**ADA, "employees": "9" * 5000}).status_code == 422


def test_idempotency_keys_of_two_api_keys_never_meet(client: Any, admin_key: str, deps: Any):
    from chalicelib.services.access import create_key

    other, _ = create_key("other integration", ["ingest"], deps.store)
    body = {"contact": {"email": "same@x.example.org"}}
    first = post_json(client, "/v1/leads", body, {"X-Api-Key": admin_key, "Idempotency-Key": "k1"})
    second = post_json(client, "/v1/leads", body, {"X-Api-Key": other, "Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json_body["lead_id"] != second.json_body["lead_id"]


def test_overlong_ids_and_filters_are_4xx(client: Any, admin_key: str):
    long = "x" * 3000
    assert get(client, f"/v1/leads/{long}", admin_key).status_code == 400
    assert get(client, f"/v1/leads?model_id={long}", admin_key).status_code == 422
