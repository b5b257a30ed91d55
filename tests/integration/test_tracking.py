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
