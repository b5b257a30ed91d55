"""Interactions: accepted by the API, queued, recorded by the queue handler, noted by the stream handler."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.conftest import load_event
from tests.integration.helpers import post_json


def queued_messages(aws: Any) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=aws.queue_urls["TrackingQueue"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def test_interactions_are_validated_then_queued(client: Any, admin_key: str, aws: Any):
    body = {
        "interactions": [
            {
                "id": "e1",
                "type": "page_visited",
                "occurred_at": "2026-11-20T10:00:00Z",
                "email": "A@B.example.org",
                "properties": {"url": "/pricing"},
            },
            {
                "id": "e2",
                "type": "Bad Type",
                "occurred_at": "2026-11-20T10:00:00Z",
                "email": "a@b.example.org",
            },
            {"id": "e3", "type": "email_opened", "occurred_at": "yesterday", "email": "a@b.example.org"},
            {
                "id": "e4",
                "type": "email_opened",
                "occurred_at": "2026-11-20T10:00:00Z",
                "contact_id": "c_missing",
            },
        ]
    }
    response = post_json(client, "/v1/interactions", body, {"X-Api-Key": admin_key})
    assert response.status_code == 202
    assert response.json_body["accepted"] == 1
    assert [r["index"] for r in response.json_body["rejected"]] == [1, 2, 3]
    [message] = queued_messages(aws)
    assert [(i["id"], i["email"]) for i in message["interactions"]] == [("e1", "a@b.example.org")]


def test_more_than_100_interactions_is_422(client: Any, admin_key: str):
    item = {"type": "page_visited", "occurred_at": "2026-11-20T10:00:00Z", "email": "a@b.example.org"}
    response = post_json(client, "/v1/interactions", {"interactions": [item] * 101}, {"X-Api-Key": admin_key})
    assert response.status_code == 422
    assert response.json_body["error"]["field"] == "interactions"


def test_queue_handler_records_each_interaction_once_even_when_redelivered(client: Any, deps: Any):
    from chalicelib.handlers.tracking import record_interactions

    event = load_event("sqs/tracking_batch.json")
    assert record_interactions(event, None) == {"batchItemFailures": []}
    assert record_interactions(event, None) == {"batchItemFailures": []}  # at-least-once delivery

    ada = deps.store.contact_for_email("ada.lovelace@analytical-engines.co.uk", None)
    grace = deps.store.contact_for_email("grace@cobol.example.org", None)
    assert ada != grace
    assert [i.interaction_id for i in deps.store.interactions_of(ada)] == ["evt-1002", "evt-1001"]
    assert [i.interaction_id for i in deps.store.interactions_of(grace)] == ["evt-1003"]
    contact = deps.store.get_contact(ada)
    assert contact.consent == "none", "a tracked contact was never asked for consent"


def test_queue_handler_reports_only_the_poison_message(deps: Any):
    from chalicelib.handlers.tracking import record_interactions

    event = load_event("sqs/tracking_batch.json")
    event["Records"][1]["body"] = "{not json"
    result = record_interactions(event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    ada = deps.store.contact_for_email("ada.lovelace@analytical-engines.co.uk", None)
    assert len(list(deps.store.interactions_of(ada))) == 2


def test_stream_handler_keeps_the_newest_activity_time(deps: Any):
    from chalicelib.domain.capture import Capture
    from chalicelib.handlers.tracking import note_activity
    from chalicelib.services.capture import capture

    contact_id = capture(Capture(contact={"email": "ada@example.org"}), deps).contact_id
    event = load_event("streams/interaction_inserted.json")
    for record in event["Records"]:
        for image in (record["dynamodb"]["Keys"], record["dynamodb"]["NewImage"]):
            image["contact_id"]["S"] = contact_id
    newest_first = {"Records": list(reversed(event["Records"]))}
    assert note_activity(newest_first, None) == {"batchItemFailures": []}
    assert note_activity(event, None) == {"batchItemFailures": []}  # replayed, older first
    contact = deps.store.get_contact(contact_id)
    assert contact.last_interaction_at.isoformat() == "2026-11-21T14:02:11.250000+00:00"


def test_an_interaction_id_seen_before_is_ignored_whatever_its_time(
    client: Any, admin_key: str, aws: Any, deps: Any
):
    from chalicelib.handlers.tracking import record_interactions

    item = {
        "id": "dup-1",
        "type": "email_opened",
        "occurred_at": "2026-11-20T10:00:00Z",
        "email": "d@e.example.org",
    }
    later = {**item, "occurred_at": "2026-11-21T10:00:00Z"}
    answer = post_json(client, "/v1/interactions", {"interactions": [item, item]}, {"X-Api-Key": admin_key})
    assert answer.json_body == {"accepted": 2, "rejected": []}
    post_json(client, "/v1/interactions", {"interactions": [later]}, {"X-Api-Key": admin_key})
    sqs = boto3.client("sqs")
    url = aws.queue_urls["TrackingQueue"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
    assert sum(len(json.loads(m["Body"])["interactions"]) for m in messages) == 2, (
        "the repeat in one request is dropped"
    )
    record_interactions(event, None)
    contact_id = deps.store.contact_for_email("d@e.example.org", None)
    assert [i.interaction_id for i in deps.store.interactions_of(contact_id)] == ["dup-1"]


def test_activity_update_bumps_the_version_so_a_stale_capture_cannot_overwrite_it(deps: Any):
    from datetime import UTC, datetime

    from chalicelib.domain.capture import Capture
    from chalicelib.domain.errors import ConcurrentUpdate
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.matching import plan_capture
    from chalicelib.services.capture import capture

    ada = Capture(
        contact={"email": "ada@example.org"}, lead={"topic": "Pricing"}, lead_matching="new_lead_always"
    )
    contact_id = capture(ada, deps).contact_id
    stale = plan_capture(ada, deps.store.find_for_capture(ada), datetime.now(UTC), new_id)  # planned on v1
    capture(ada, deps)  # v2
    deps.store.note_activity(contact_id, datetime(2026, 11, 20, tzinfo=UTC))  # v3, must not reset to v1
    try:
        deps.store.write_capture(stale, None)
    except ConcurrentUpdate:
        pass
    else:
        raise AssertionError("a capture planned on an old version was written")
    contact = deps.store.get_contact(contact_id)
    assert len(contact.lead_ids) == 2
    assert contact.last_interaction_at == datetime(2026, 11, 20, tzinfo=UTC)


def test_retrying_a_batch_with_an_idempotency_key_queues_it_once(client: Any, admin_key: str, aws: Any):
    body = {
        "interactions": [
            {"type": "page_visited", "occurred_at": "2026-11-20T10:00:00Z", "email": "r@s.example.org"}
        ]
    }
    headers = {"X-Api-Key": admin_key, "Idempotency-Key": "batch-7"}
    first = post_json(client, "/v1/interactions", body, headers)
    again = post_json(client, "/v1/interactions", body, headers)
    assert first.status_code == again.status_code == 202
    assert len(queued_messages(aws)) == 1


def test_the_same_id_for_two_contacts_in_one_request_is_two_interactions(
    client: Any, admin_key: str, aws: Any
):
    at = "2026-11-20T10:00:00Z"
    body = {
        "interactions": [
            {"id": "web-1", "type": "page_visited", "occurred_at": at, "email": "a1@b.example.org"},
            {"id": "web-1", "type": "page_visited", "occurred_at": at, "email": "a2@b.example.org"},
        ]
    }
    post_json(client, "/v1/interactions", body, {"X-Api-Key": admin_key})
    [message] = queued_messages(aws)
    assert [i["email"] for i in message["interactions"]] == ["a1@b.example.org", "a2@b.example.org"]


def test_an_interaction_cannot_name_another_contacts_lead_by_email(client: Any, admin_key: str, deps: Any):
    from chalicelib.domain.capture import Capture
    from chalicelib.services.capture import capture

    owner = capture(Capture(contact={"email": "owner@example.org"}), deps)
    item = {"type": "page_visited", "occurred_at": "2026-11-20T10:00:00Z", "lead_id": owner.lead_id}
    body = {
        "interactions": [{**item, "email": "stranger@example.org"}, {**item, "email": "owner@example.org"}]
    }
    answer = post_json(client, "/v1/interactions", body, {"X-Api-Key": admin_key}).json_body
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0]


def test_a_form_capture_writes_the_activity_time_itself_and_its_interaction_is_not_noted_again(
    client: Any, admin_key: str, deps: Any, pump: Any
):
    """Issue 19: the capture's contact write carries its interaction's time; the activity function
    skips that interaction (it made one more conditional write, a write unit, a capture)."""
    from chalicelib.store.records import InteractionRecord

    form = load_event("http/form_contact_us.json")
    client.http.put(
        "/v1/forms/contact-us",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=json.dumps(form),
    )
    body = load_event("http/form_submissions.json")[0]
    answer = client.http.post(
        "/v1/forms/contact-us/submissions",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=json.dumps(body),
    ).json_body
    [interaction] = list(InteractionRecord.query(answer["contact_id"]))
    assert interaction.noted is True
    contact = deps.store.get_contact(answer["contact_id"])
    assert contact.last_interaction_at == interaction.occurred_at
    pump.drain()  # the streams: the activity function among them (it bumps the version when it writes)
    assert deps.store.get_contact(answer["contact_id"]).version == contact.version, "not written again"
