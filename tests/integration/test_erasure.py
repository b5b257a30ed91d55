"""Erasure leaves nothing and stays erased (issue 15, item 5).

A person is captured by a form, scored, qualified and handed off (the hand-off waits on the sales queue,
unread, and a copy sits in its dead-letter queue), quarantined once, imported with a rejected row that
names them, and a tracking batch naming them is dead-lettered. Interactions are queued for them by email
and by contact id, the erasure is requested (``DELETE`` -> 202 and a job), more events arrive, and only
then does the pump run: the erasure job first, the queued interactions after it. Then every table, every
queue (moto's own messages, in flight or not) and every bucket is searched for the email, the phone and
the names: nothing may be found, and late events store nothing."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, item_text, post_json, put_json, submit_as_server
from tests.integration.test_handoff import RULE, ago
from tests.integration.test_scoring import MODEL, publish

EMAIL = "zebulon.quixotic@quixote-windmills.example.org"
PHONE = "+44 20 7946 0321"
NEEDLES = (EMAIL, "+442079460321", "7946 0321", "79460321", "Zebulon", "Quixotic", "Quixote Windmills")
PERSON = {
    "email": EMAIL,
    "first_name": "Zebulon",
    "last_name": "Quixotic",
    "phone": PHONE,
    "job": "Director of Windmills",
    "company": "Quixote Windmills Ltd",
    "employees": "450",
    "topic": "Pricing",
    "newsletter": "on",
    "country": "GB",
}


def traces(aws: Any) -> list[str]:
    """Every place the person is still found: ``table:...``, ``queue:...``, ``bucket:...``."""
    return [*_in_tables(aws), *_in_queues(), *_in_buckets(aws)]


def _in_tables(aws: Any) -> list[str]:
    dynamodb = boto3.client("dynamodb")
    return [
        f"table:{name}"
        for name, table in aws.tables.items()
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
        if _holds(item_text(item))
    ]


def _in_queues() -> list[str]:
    """moto's own queues: every message, visible or in flight."""
    from moto.backends import get_backend

    return [
        f"queue:{queue.name}"
        for region in get_backend("sqs").values()
        for backend in region.values()
        for queue in backend.queues.values()
        for message in queue._messages
        if _holds(message.body + json.dumps(message.message_attributes, default=str))
    ]


def _in_buckets(aws: Any) -> list[str]:
    s3 = boto3.client("s3")
    found = []
    for bucket in aws.buckets.values():
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            if _holds(body.decode("utf-8", "replace")) or _holds(body.decode("cp1252", "replace")):
                found.append(f"bucket:{bucket}/{item['Key']}")
    return found


def _holds(text: str) -> bool:
    lowered = text.casefold()
    return any(needle.casefold() in lowered for needle in NEEDLES)


@pytest.fixture
def settle_at_once(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("ERASURE_SETTLE_SECONDS", "0")
    wiring.reset()


def track(client: Any, key: str, contact_id: str, tag: str, accepted: int = 2) -> None:
    items = [
        {"id": f"{tag}-id", "type": "page_visited", "occurred_at": ago(0.1), "contact_id": contact_id},
        {"id": f"{tag}-mail", "type": "email_opened", "occurred_at": ago(0.1), "email": EMAIL},
    ]
    answer = post_json(client, "/v1/interactions", {"interactions": items}, {"X-Api-Key": key})
    assert answer.status_code == 202 and answer.json_body["accepted"] == accepted, answer.json_body


def run_erasure_job_first(pump: Any) -> None:
    """The race as it happens in Lambda when the work queue is quicker than the tracking queue."""
    work = [p for p in pump.pollers if getattr(getattr(p, "source", None), "function", "") == "EraseContacts"]
    assert work, [getattr(getattr(p, "source", None), "function", p) for p in pump.pollers]
    while any(p.poll() for p in work):
        pass


def test_an_erasure_racing_queued_events_leaves_no_trace_anywhere(
    client: Any, admin_key: str, aws: Any, pump: Any, settle_at_once: None
):
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    made = submit_as_server(client, PERSON, admin_key).json_body
    contact_id, lead_id = made["contact_id"], made["lead_id"]
    clicks = [
        {"id": f"c{n}", "type": "email_clicked", "occurred_at": ago(1), "contact_id": contact_id}
        for n in range(5)
    ]
    pricing = [
        {
            "id": f"p{n}",
            "type": "page_visited",
            "occurred_at": ago(2 + n),
            "contact_id": contact_id,
            "properties": {"url": "https://www.example.com/pricing"},
        }
        for n in range(2)
    ]
    post_json(client, "/v1/interactions", {"interactions": clicks + pricing}, {"X-Api-Key": admin_key})
    pump.drain()
    sqs = boto3.client("sqs")
    handoffs = sqs.get_queue_attributes(
        QueueUrl=aws.queue_urls["SalesHandoffQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    lead_now = get(client, f"/v1/leads/{lead_id}", admin_key).json_body
    assert int(handoffs) >= 1, (
        "a hand-off naming the person waits for sales",
        {k: lead_now[k] for k in ("state", "status")},
        [(s["score"], s["sales_ready"], [b["rule_id"] for b in s["breakdown"]]) for s in lead_now["scores"]],
    )
    sqs.send_message(  # and one was dead-lettered earlier
        QueueUrl=aws.queue_urls["SalesHandoffDeadLetterQueue"],
        MessageBody=json.dumps({"id": "h_dead", "subject": lead_id, "data": {"contact": {"email": EMAIL}}}),
        MessageGroupId=lead_id,
        MessageDeduplicationId="h_dead",
    )
    sqs.send_message(  # a tracking batch that failed five times
        QueueUrl=aws.queue_urls["TrackingDeadLetterQueue"],
        MessageBody=json.dumps({"interactions": [{"id": "poison", "type": "x", "email": EMAIL}]}),
    )
    assert post_json(client, f"/v1/forms/{FORM}/submissions", {**PERSON, "website": "bot"}).status_code == 202
    csv = f"Email,Phone,Topic\n{EMAIL},{PHONE},Fair\n{EMAIL} (call {PHONE}),,Fair\n"
    imported = client.http.post(
        "/v1/imports?name=fair",
        headers={"Content-Type": "text/csv", "X-Api-Key": admin_key},
        body=csv.encode(),
    )
    assert imported.status_code == 202, imported.body
    pump.drain()
    assert traces(aws), "the person is everywhere before"

    track(client, admin_key, contact_id, "before")  # queued, not yet recorded
    erased = client.http.delete(f"/v1/contacts/{contact_id}", headers={"X-Api-Key": admin_key})
    assert erased.status_code == 202, erased.body
    job_id = erased.json_body["job_id"]
    again = client.http.delete(f"/v1/contacts/{contact_id}", headers={"X-Api-Key": admin_key})
    assert again.status_code == 202 and again.json_body["job_id"] == job_id, "asking twice is one erasure"
    track(client, admin_key, contact_id, "after")
    late_form = post_json(client, f"/v1/forms/{FORM}/submissions", PERSON)
    assert late_form.status_code == 201, "answered like any submission, stores nothing"
    late_api = post_json(client, "/v1/leads", {"contact": {"email": EMAIL}}, {"X-Api-Key": admin_key})
    assert late_api.status_code == 409 and late_api.json_body["error"]["code"] == "erased"

    run_erasure_job_first(pump)
    pump.drain()

    job = get(client, f"/v1/jobs/{job_id}", admin_key).json_body
    assert job["kind"] == "erasure" and job["state"] == "done", job
    assert EMAIL not in json.dumps(job) and "Zebulon" not in json.dumps(job)
    counts = job["result"]["counts"]
    assert counts["leads"] == 2, "the form's lead and the import's (another topic)"
    assert counts["accounts"] == 1 and counts["handoff_messages"] >= 2
    assert counts["quarantine"] == 1 and counts["import_file_rows"] == 2
    assert traces(aws) == []
    assert (
        get(client, f"/v1/contacts/{contact_id}", admin_key).status_code == 409
    )  # erased: the id answers 409
    assert get(client, f"/v1/contacts?email={EMAIL}", admin_key).json_body["contacts"] == []

    track(client, admin_key, contact_id, "much-later", accepted=1)  # by id: no such contact; by email: taken
    pump.drain()
    assert traces(aws) == []
    notices = [json.loads(m.body) for m in _messages("SalesHandoffQueue")]
    assert any(n["type"] == "leadflow.contact.erased" and n["subject"] == lead_id for n in notices), (
        "sales is told to forget what it was sent"
    )


def _messages(queue_name: str) -> list[Any]:
    from moto.backends import get_backend

    return [
        message
        for region in get_backend("sqs").values()
        for backend in region.values()
        for queue in backend.queues.values()
        if queue.name.startswith("test-" + queue_name)
        for message in queue._messages
    ]


def test_erasing_an_unknown_contact_is_404_and_the_job_is_admin_only(client: Any, admin_key: str, deps: Any):
    from chalicelib.services.access import create_key

    assert client.http.delete("/v1/contacts/c_nobody", headers={"X-Api-Key": admin_key}).status_code == 404
    sales, _ = create_key("sales", ["sales"], deps.store)
    assert client.http.delete("/v1/contacts/c_nobody", headers={"X-Api-Key": sales}).status_code == 403
