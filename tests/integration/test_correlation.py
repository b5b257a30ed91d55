"""A correlation id follows the work from the API request through the queue and the streams into the
hand-off's CloudEvent (``correlationid``), and every record written on the way carries it."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from tests.conftest import load_event
from tests.integration.helpers import post_json, put_json, submit_as_server


def _handoffs(aws: Any) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = aws.queue_urls["SalesHandoffQueue"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _item(aws: Any, table: str, key: dict[str, str]) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.tables[table], Key={k: {"S": v} for k, v in key.items()}
    )
    return dict(item["Item"])


def test_the_request_that_qualifies_a_lead_is_named_in_the_hand_off(
    client: Any, admin_key: str, aws: Any, pump: Any
):
    assert (
        put_json(
            client, "/v1/scoring-models/b2b-default", load_event("models/b2b_default.json"), admin_key
        ).status_code
        == 201
    )
    assert (
        post_json(client, "/v1/scoring-models/b2b-default/publish", {}, {"X-Api-Key": admin_key}).status_code
        == 202
    )
    assert (
        put_json(
            client, "/v1/qualification-rules/mql-default", load_event("rules/mql_default.json"), admin_key
        ).status_code
        == 201
    )
    put_json(client, "/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin_key)
    pump.drain()
    ada = {**load_event("http/form_submissions.json")[0], "email": "ada.correlated@analytical-engines.co.uk"}
    answer = submit_as_server(client, ada, admin_key, "contact-us", {"X-Correlation-Id": "form-request-1"})
    assert answer.status_code == 201 and answer.headers["X-Correlation-Id"] == "form-request-1"
    lead_id, contact_id = answer.json_body["lead_id"], answer.json_body["contact_id"]
    assert _item(aws, "LeadsTable", {"lead_id": lead_id})["correlation_id"] == {"S": "form-request-1"}
    pump.drain()
    assert _handoffs(aws) == [], "not sales-ready yet"

    at = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600 * (n + 1))) for n in range(7)]
    items = [
        {"id": f"corr-click-{n}", "type": "email_clicked", "occurred_at": at[n], "contact_id": contact_id}
        for n in range(5)
    ]
    items += [
        {
            "id": f"corr-price-{n}",
            "type": "page_visited",
            "occurred_at": at[5 + n],
            "contact_id": contact_id,
            "properties": {"url": "/pricing"},
        }
        for n in range(2)
    ]
    headers = {"X-Api-Key": admin_key, "X-Correlation-Id": "clicks-request-2"}
    assert post_json(client, "/v1/interactions", {"interactions": items}, headers).status_code == 202
    pump.drain()
    interaction = _item(
        aws, "InteractionsTable", {"contact_id": contact_id, "interaction_id": "corr-click-0"}
    )
    assert interaction["correlation_id"] == {"S": "clicks-request-2"}
    score = _item(aws, "ScoresTable", {"lead_id": lead_id, "model_id": "b2b-default"})
    assert score["correlation_id"] == {"S": "clicks-request-2"}
    handoffs = _handoffs(aws)
    assert sorted(h["type"] for h in handoffs) == [
        "leadflow.handoff.opportunity",
        "leadflow.handoff.phone_call",
    ]
    assert {h["correlationid"] for h in handoffs} == {"clicks-request-2"}


def test_a_request_without_a_usable_correlation_id_gets_one(client: Any, admin_key: str):
    plain = client.http.get("/v1/health")
    assert len(plain.headers["X-Correlation-Id"]) >= 16
    forged = client.http.get("/v1/health", headers={"X-Correlation-Id": "two words\r\nSet-Cookie: x"})
    assert forged.headers["X-Correlation-Id"] != "two words\r\nSet-Cookie: x"
    assert " " not in forged.headers["X-Correlation-Id"]
    again = client.http.get("/v1/health", headers={"X-Correlation-Id": "trace-me_01"})
    assert again.headers["X-Correlation-Id"] == "trace-me_01"
