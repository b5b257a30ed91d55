"""Identity and data rights on moto, through the real streams: duplicates, merges and their undo,
consent, segments, export and erasure."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, item_text, post_json, put_json
from tests.integration.test_handoff import RULE, make_ready, queue
from tests.integration.test_scoring import ADA, MODEL, publish

EMAIL = "ada.lovelace@analytical-engines.co.uk"
PHONES = ("+442079460958", "7946 0958", "79460958")
GRACE = load_event("http/form_submissions.json")[1]


def headers(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


def delete(client: Any, path: str, key: str) -> Any:
    return client.http.delete(path, headers=headers(key))


#: These tests read the full capture answer: they post as a server does, with an API key.
SERVER: dict[str, str] = {}


@pytest.fixture
def form(client: Any, admin_key: str) -> None:
    SERVER["X-Api-Key"] = admin_key
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )


def submit(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = post_json(client, f"/v1/forms/{FORM}/submissions", body, SERVER)
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def every_item(aws: Any) -> list[tuple[str, str]]:
    dynamodb = boto3.client("dynamodb")
    found = []
    for name, table in aws.tables.items():
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            found += [(name, item_text(item)) for item in page["Items"]]
    return found


def test_erasure_leaves_no_email_or_phone_in_any_table_and_is_recorded_with_counts_only(
    client: Any, admin_key: str, aws: Any, pump: Any, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib import wiring

    monkeypatch.setenv("ERASURE_SETTLE_SECONDS", "0")
    wiring.reset()
    SERVER["X-Api-Key"] = admin_key
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    ada = make_ready(client, admin_key, pump)  # scored, qualified, hand-offs in the outbox and history
    assert post_json(client, f"/v1/forms/{FORM}/submissions", {**ADA, "website": "bot"}).status_code == 202
    again = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": EMAIL}, "lead": {"topic": "Support"}},
        {"X-Api-Key": admin_key, "Idempotency-Key": "ada-support"},
    )
    assert again.status_code == 201 and again.json_body["contact_id"] == ada["contact_id"]
    csv = f"Email,Phone,Topic\n{EMAIL.upper()},+44 20 7946 0958,Fair\ngrace@cobol.example.org,,Fair\n"
    uploaded = client.http.post(
        "/v1/imports?name=fair",
        headers={"Content-Type": "text/csv", "X-Api-Key": admin_key},
        body=csv.encode(),
    )
    assert uploaded.status_code == 202, uploaded.body
    pump.drain()
    assert any(EMAIL in text for _, text in every_item(aws))

    answer = delete(client, f"/v1/contacts/{ada['contact_id']}", admin_key)
    assert answer.status_code == 202, answer.body
    pump.drain()  # the erasure job's two passes (ERASURE_SETTLE_SECONDS is 0 here)
    job = get(client, f"/v1/jobs/{answer.json_body['job_id']}", admin_key).json_body
    assert job["state"] == "done", job
    counts = job["result"]["counts"]
    assert counts["leads"] == 3 and counts["interactions"] >= 8 and counts["quarantine"] == 1
    assert counts["idempotency_records"] >= 1 and counts["handoffs"] >= 2 and counts["import_file_rows"] == 1

    leaks = [
        (table, text)
        for table, text in every_item(aws)
        if EMAIL in text.lower() or any(phone in text for phone in PHONES) or "Lovelace" in text
    ]
    assert leaks == []
    s3 = boto3.client("s3")
    bucket = aws.buckets["ImportsBucket"]
    files = [
        s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert files and all(EMAIL not in f.lower() and "7946" not in f for f in files)
    assert any("grace@cobol.example.org" in f for f in files), "other people's rows stay"
    erasure = json.dumps(answer.json_body) + json.dumps(job)
    assert EMAIL not in erasure and "Lovelace" not in erasure
    # the erased id answers 409 on reads (README: "answers 409 afterwards"); erasing again is the same job
    read = get(client, f"/v1/contacts/{ada['contact_id']}", admin_key)
    assert read.status_code == 409 and "was erased" in read.json_body["error"]["message"], read.json_body
    assert get(client, f"/v1/contacts/{ada['contact_id']}/export", admin_key).status_code == 409
    repeated = delete(client, f"/v1/contacts/{ada['contact_id']}", admin_key)
    assert repeated.status_code == 202 and repeated.json_body["state"] == "done", "the same job, done"
    assert get(client, "/v1/contacts/c_never_was", admin_key).status_code == 404
    grace = submit(client, GRACE)
    merge = post_json(
        client,
        f"/v1/contacts/{grace['contact_id']}/merge",
        {"duplicate_ids": [ada["contact_id"]]},
        headers(admin_key),
    )
    assert merge.status_code == 409 and "erased" in merge.json_body["error"]["message"]


def test_export_returns_everything_held_about_the_person(client: Any, admin_key: str, form: None, pump: Any):
    ada = submit(client, ADA)
    items = [
        {
            "id": "v1",
            "type": "page_visited",
            "occurred_at": "2026-11-20T10:00:00Z",
            "contact_id": ada["contact_id"],
        }
    ]
    post_json(client, "/v1/interactions", {"interactions": items}, headers(admin_key))
    pump.drain()
    answer = get(client, f"/v1/contacts/{ada['contact_id']}/export", admin_key)
    assert answer.status_code == 200
    body = answer.json_body
    assert body["contact"]["email"] == EMAIL and body["contact"]["consent_history"]
    assert [lead["lead_id"] for lead in body["leads"]] == [ada["lead_id"]]
    assert {i["interaction_id"] for i in body["interactions"]} >= {"v1"}
    assert body["account"]["name"] == "Analytical Engines Ltd"


def test_same_phone_is_listed_as_a_strong_duplicate_and_a_similar_name_as_a_weak_one(
    client: Any, admin_key: str, form: None, pump: Any
):
    ada = submit(client, ADA)
    other = submit(client, {**ADA, "email": "ada@lovelace.example.net", "topic": "Demo"})
    namesake = submit(
        client,
        {
            "email": "a.lovelace@analytical-engines.co.uk",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "topic": "X",
        },
    )
    pump.drain()
    answer = get(client, "/v1/duplicates", admin_key)
    assert answer.status_code == 200
    pairs = {frozenset(d["contact_ids"]): d for d in answer.json_body["duplicates"]}
    strong = pairs[frozenset({ada["contact_id"], other["contact_id"]})]
    assert strong["strength"] == "strong" and strong["reasons"][0]["kind"] == "same_phone"
    assert strong["lead_ids"][ada["contact_id"]] == [ada["lead_id"]]
    weak = pairs[frozenset({ada["contact_id"], namesake["contact_id"]})]
    assert weak["strength"] == "weak" and weak["confidence"] < 0.9
    lead = get(client, f"/v1/leads/{other['lead_id']}", admin_key).json_body
    assert lead["duplicate_of"][0]["contact_id"] == ada["contact_id"], "the strongest suggestion first"
    assert lead["duplicate_of"][0]["strength"] == "strong"
    assert EMAIL not in answer.body.decode() if isinstance(answer.body, bytes) else EMAIL not in answer.body


def test_merge_moves_leads_interactions_and_the_email_and_undo_restores_them(
    client: Any, admin_key: str, form: None, pump: Any, deps: Any
):
    ada = submit(client, ADA)
    dup = submit(client, {**ADA, "email": "ada@lovelace.example.net", "topic": "Demo", "job": "CTO"})
    items = [
        {
            "id": "d1",
            "type": "email_clicked",
            "occurred_at": "2026-11-20T10:00:00Z",
            "contact_id": dup["contact_id"],
        }
    ]
    post_json(client, "/v1/interactions", {"interactions": items}, headers(admin_key))
    pump.drain()

    answer = post_json(
        client,
        f"/v1/contacts/{ada['contact_id']}/merge",
        {"duplicate_ids": [dup["contact_id"]]},
        headers(admin_key),
    )
    assert answer.status_code == 200, answer.body
    merge_id = answer.json_body["merge_id"]
    pump.drain()
    survivor = get(client, f"/v1/contacts/{ada['contact_id']}", admin_key).json_body
    assert {lead["lead_id"] for lead in survivor["leads"]} == {ada["lead_id"], dup["lead_id"]}
    assert all(lead["contact_id"] == ada["contact_id"] for lead in survivor["leads"])
    assert survivor["fields"]["job_title"] == "CTO", "the newest non-empty value wins"
    assert get(client, f"/v1/contacts/{dup['contact_id']}", admin_key).status_code == 404
    assert "d1" in {i.interaction_id for i in deps.store.interactions_of(ada["contact_id"])}
    follows = submit(client, {**ADA, "email": "ada@lovelace.example.net", "topic": "Demo"})
    assert follows["contact_id"] == ada["contact_id"], "a capture for the merged email follows the survivor"

    undo = post_json(client, f"/v1/merges/{merge_id}/undo", {}, headers(admin_key))
    assert undo.status_code == 200, undo.body
    pump.drain()
    back = get(client, f"/v1/contacts/{dup['contact_id']}", admin_key).json_body
    assert [lead["lead_id"] for lead in back["leads"]] == [dup["lead_id"]]
    assert back["leads"][0]["contact_id"] == dup["contact_id"]
    assert {i.interaction_id for i in deps.store.interactions_of(dup["contact_id"])} >= {"d1"}
    assert (
        submit(client, {**ADA, "email": "ada@lovelace.example.net", "topic": "Undo"})["contact_id"]
        == dup["contact_id"]
    )
    assert post_json(client, f"/v1/merges/{merge_id}/undo", {}, headers(admin_key)).status_code == 409


def test_merging_a_contact_into_itself_is_409(client: Any, admin_key: str, form: None):
    ada = submit(client, ADA)
    answer = post_json(
        client,
        f"/v1/contacts/{ada['contact_id']}/merge",
        {"duplicate_ids": [ada["contact_id"]]},
        headers(admin_key),
    )
    assert answer.status_code == 409 and answer.json_body["error"]["field"] == "duplicate_ids"


def test_withdrawn_consent_removes_the_score_and_is_in_the_history(
    client: Any, admin_key: str, form: None, pump: Any
):
    publish(client, admin_key, MODEL, pump)
    ada = submit(client, ADA)
    pump.drain()
    assert get(client, f"/v1/leads/{ada['lead_id']}", admin_key).json_body["scores"]
    answer = put_json(
        client, f"/v1/contacts/{ada['contact_id']}/consent", {"level": "none", "source": "email"}, admin_key
    )
    assert answer.status_code == 200, answer.body
    assert answer.json_body["consent"] == "none"
    assert [c["level"] for c in answer.json_body["consent_history"]] == ["marketing", "none"]
    pump.drain()
    assert get(client, f"/v1/leads/{ada['lead_id']}", admin_key).json_body["scores"] == []
    bad = put_json(client, f"/v1/contacts/{ada['contact_id']}/consent", {"level": "maybe"}, admin_key)
    assert bad.status_code == 422 and bad.json_body["error"]["field"] == "level"


def test_no_handoff_is_published_for_a_contact_without_consent_and_the_timeline_says_why(
    client: Any, admin_key: str, aws: Any, deps: Any
):
    from chalicelib.domain.qualification import Action, handoffs
    from chalicelib.services import handoffs as handoffs_service

    made = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": "tracked@example.org"}, "lead": {"topic": "Pricing"}},
        headers(admin_key),
    ).json_body
    now = datetime.now(UTC)
    lead = deps.store.get_lead(made["lead_id"])
    [work] = handoffs(
        [Action("task", {"subject": "Call"})], "rule:r", (lead.lead_id, "r", "1"), lead, None, None, {}, now
    )
    assert deps.handoffs.write_handoffs(handoffs_service.encoded([work], deps, now), now)
    assert handoffs_service.publish_handoff(work.handoff_id, deps, now) is False
    assert queue(aws) == []
    entries = get(client, f"/v1/leads/{made['lead_id']}/timeline", admin_key).json_body["entries"]
    withheld = [e for e in entries if e["kind"] == "handoff_withheld"]
    assert withheld and "never gave consent" in withheld[0]["reason"]


def test_segment_query_returns_the_contacts_of_matching_leads_and_says_when_it_scanned(
    client: Any, admin_key: str, form: None
):
    ada, grace = submit(client, ADA), submit(client, GRACE)
    by_country = {"condition": {"field": "contact.country", "op": "eq", "value": "GB"}}
    answer = post_json(client, "/v1/segments/query", by_country, headers(admin_key))
    assert answer.status_code == 200, answer.body
    assert [c["contact_id"] for c in answer.json_body["contacts"]] == [ada["contact_id"]]
    assert answer.json_body["scanned"] is True
    indexed = {
        "condition": {
            "all": [
                {"field": "lead.state", "op": "eq", "value": "open"},
                {"field": "account.name", "op": "eq", "value": "COBOL Systems"},
            ]
        },
        "limit": 1,
    }
    seen, cursor = [], None
    while True:
        page = post_json(
            client,
            "/v1/segments/query",
            {**indexed, **({"cursor": cursor} if cursor else {})},
            headers(admin_key),
        ).json_body
        assert page["scanned"] is False and page["index"] == "by_state"
        seen += [c["contact_id"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [grace["contact_id"]]
    saved = put_json(client, "/v1/segments/uk", {"name": "UK", **by_country}, admin_key)
    assert saved.status_code == 201
    by_id = post_json(client, "/v1/segments/query", {"segment_id": "uk"}, headers(admin_key)).json_body
    assert [c["contact_id"] for c in by_id["contacts"]] == [ada["contact_id"]]


def test_unknown_field_in_a_segment_condition_is_422_naming_the_field(client: Any, admin_key: str):
    bad = {"condition": {"all": [{"field": "person.email", "op": "eq", "value": "x"}]}}
    answer = post_json(client, "/v1/segments/query", bad, headers(admin_key))
    assert answer.status_code == 422
    assert answer.json_body["error"]["fields"][0]["field"] == "condition.all[0].field"
    assert "person.email" in answer.json_body["error"]["fields"][0]["message"]


_EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def test_logs_of_a_capture_score_qualify_handoff_run_carry_no_email_or_phone(
    client: Any, admin_key: str, aws: Any, pump: Any
):
    from chalicelib.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    previous = logger._logger.level
    logger._logger.setLevel(logging.DEBUG)
    try:
        publish(client, admin_key, MODEL, pump)
        assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
        assert (
            put_json(
                client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key
            ).status_code
            == 201
        )
        make_ready(client, admin_key, pump)
        post_json(
            client,
            "/v1/leads",
            {"contact": {"email": "grace@cobol.example.org", "phone": "+1 202 555 0143"}},
            headers(admin_key),
        )
        pump.drain()
        assert len(queue(aws)) == 2, "the run went as far as the hand-offs"
    finally:
        logger._logger.removeHandler(handler)
        logger._logger.setLevel(previous)
    logs = stream.getvalue()
    assert "lead" in logs, "the run was logged"
    assert _EMAIL_PATTERN.findall(logs) == []
    assert not any(p in logs for p in (*PHONES, "2025550143", "555 0143"))


def test_a_saved_segment_is_a_scoring_models_audience_as_it_was_when_the_model_was_saved(
    client: Any, admin_key: str, form: None, pump: Any
):
    put_json(
        client,
        "/v1/segments/uk",
        {"name": "UK", "condition": {"field": "contact.country", "op": "eq", "value": "GB"}},
        admin_key,
    )
    model = {
        **MODEL,
        "audience": {"all": [{"segment": "uk"}, {"field": "lead.state", "op": "eq", "value": "open"}]},
    }
    saved = put_json(client, f"/v1/scoring-models/{MODEL['id']}", model, admin_key)
    assert saved.status_code == 201 and saved.json_body["audience_segments"] == ["uk"]
    publish_only = post_json(client, f"/v1/scoring-models/{MODEL['id']}/publish", {}, headers(admin_key))
    assert publish_only.status_code == 202
    pump.drain()
    ada, grace = submit(client, {**ADA, "newsletter": "on"}), submit(client, {**GRACE, "newsletter": "on"})
    pump.drain()

    scored = {
        who["lead_id"]: [
            s["model_id"] for s in get(client, f"/v1/leads/{who['lead_id']}", admin_key).json_body["scores"]
        ]
        for who in (ada, grace)
    }
    assert scored == {ada["lead_id"]: [MODEL["id"]], grace["lead_id"]: []}, "Grace is outside the UK segment"
    stored = get(client, f"/v1/scoring-models/{MODEL['id']}", admin_key).json_body
    assert "contact.country" in json.dumps(stored), "the version keeps the condition, not a reference"


def test_an_audience_naming_an_unknown_segment_is_422_naming_it(client: Any, admin_key: str):
    model = {**MODEL, "audience": {"segment": "nobody"}}

    answer = put_json(client, f"/v1/scoring-models/{MODEL['id']}", model, admin_key)

    assert answer.status_code == 422 and answer.json_body["error"]["field"] == "audience.segment"


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"),
    [
        ("PUT", "/v1/contacts/c_1/consent", {}, "level", "level must be one of"),
        (
            "PUT",
            "/v1/contacts/c_1/consent",
            {"level": "none", "source": None},
            "source",
            "source must be text",
        ),
        (
            "PUT",
            "/v1/contacts/c_1/consent",
            {"level": "x", "colour": 1},
            "colour",
            "is not a property of a consent",
        ),
        (
            "POST",
            "/v1/contacts/c_1/merge",
            {"duplicate_ids": "c_2"},
            "duplicate_ids",
            "must be a list of 1-20",
        ),
        ("POST", "/v1/contacts/c_1/merge", {}, "duplicate_ids", "must be a list of 1-20"),
        ("POST", "/v1/segments/query", {"condition": {}, "limit": 0}, "condition", "condition"),
        (
            "POST",
            "/v1/segments/query",
            {"condition": {"field": "lead.state", "op": "eq", "value": "open"}, "limit": 0},
            "limit",
            "from 1 to 100",
        ),
        ("POST", "/v1/segments/query", {"limit": 5}, "condition", "give a condition or a segment_id"),
        ("GET", "/v1/duplicates?strength=medium", None, "strength", "strength must be strong or weak"),
        ("GET", "/v1/duplicates?colour=red", None, "colour", "is not a filter of this list"),
    ],
)
def test_identity_routes_answer_422_naming_the_field_in_the_words_they_always_used(
    client: Any, admin_key: str, method: str, path: str, body: Any, field: str, message: str
):
    if method == "GET":
        answer = get(client, path, admin_key)
    else:
        send = client.http.put if method == "PUT" else client.http.post
        answer = send(
            path,
            headers={"Content-Type": "application/json", **headers(admin_key)},
            body=json.dumps(body),
        )
    assert answer.status_code == 422, answer.body
    (error,) = answer.json_body["error"]["fields"]
    assert error["field"] == field and message in error["message"]


def test_a_segment_query_naming_a_saved_segment_as_null_looks_for_it_and_answers_404(
    client: Any, admin_key: str
):
    answer = post_json(client, "/v1/segments/query", {"segment_id": None}, headers(admin_key))
    assert answer.status_code == 404, answer.body
