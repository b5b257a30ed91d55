"""Predictive training runs on its own queue and function (``train_predictive``: 1,769 MB, 15 minutes),
not on the rescoring queue, whose function has neither the memory nor the time."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.integration.helpers import get, post_json

PREDICTIVE = {"type": "predictive", "sales_ready_score": 70}


def _messages(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def test_a_training_run_is_queued_on_the_training_queue_and_run_by_train_predictive(
    client: Any, admin_key: str, aws: Any, pump: Any
):
    headers = {"X-Api-Key": admin_key, "Content-Type": "application/json"}
    assert (
        client.http.put(
            "/v1/scoring-models/propensity", headers=headers, body=json.dumps(PREDICTIVE)
        ).status_code
        == 201
    )
    answer = post_json(client, "/v1/scoring-models/propensity/train", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 202
    job_id = answer.json_body["job_id"]
    assert [m["job_id"] for m in _messages(aws.queue_urls["TrainingQueue"])] == [job_id]
    assert _messages(aws.queue_urls["RescoreQueue"]) == []
    readers = {p.source.source: p.source.function for p in pump.pollers if hasattr(p, "source")}
    assert readers["TrainingQueue"] == "TrainPredictive"
    pump.drain()
    job = get(client, f"/v1/jobs/{job_id}", admin_key).json_body
    assert job["state"] == "done" and job["result"]["error"]["code"] == "not_enough_outcomes"


def test_a_training_run_left_on_the_rescoring_queue_is_moved_to_the_training_queue(aws: Any, deps: Any):
    from app import app
    from tests.conftest import load_event

    message = {"kind": "train", "job_id": "train_old", "model_id": "propensity", "publish": False}
    event = load_event("sqs/tracking_batch.json")
    record = {
        **event["Records"][0],
        "body": json.dumps(message),
        "eventSourceARN": aws.queue_arns["RescoreQueue"],
    }
    answer = app.handler_map["rescore"]({"Records": [record]}, None)
    assert answer == {"batchItemFailures": []}
    assert _messages(aws.queue_urls["TrainingQueue"]) == [message]
