"""One dispatcher per busy stream runs every consumer, each consumer's failures apart: a record one
consumer fails goes to that consumer's retry queue (then its dead-letter queue); the other consumers
and the stream move on, and the retry reruns that consumer only."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any

import boto3
import pytest

from chalicelib.handlers import dispatch
from tests.conftest import load_event


def records(count: int) -> list[dict[str, Any]]:
    template = load_event("streams/interaction_inserted.json")["Records"][0]
    found = []
    for n in range(1, count + 1):
        record = copy.deepcopy(template)
        record["eventID"] = f"event-{n}"
        record["dynamodb"]["SequenceNumber"] = str(n)
        record["dynamodb"]["Keys"]["interaction_id"]["S"] = f"evt-{n}"
        found.append(record)
    return found


def waiting(aws: Any, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=aws.queue_urls[queue], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append({**json.loads(message["Body"]), "_receipt": message["ReceiptHandle"]})
            sqs.delete_message(QueueUrl=aws.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def consumers(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-in consumers recording what they were given; ``fail[name]`` names the sequence numbers
    ``name`` fails (``"all"``: it raises, as Powertools does when every record fails)."""
    seen: dict[str, list[list[str]]] = defaultdict(list)
    fail: dict[str, Any] = {}

    def consumer(name: str) -> Any:
        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
            seen[name].append(sequences)
            if fail.get(name) == "all":
                raise RuntimeError(f"{name} is down")
            return {
                "batchItemFailures": [{"itemIdentifier": s} for s in sequences if s in fail.get(name, ())]
            }

        return handler

    monkeypatch.setattr(dispatch, "consumer", consumer)
    return {"seen": seen, "fail": fail}


def test_a_record_one_consumer_fails_goes_to_its_retry_queue_and_holds_back_no_one(aws: Any, consumers: Any):
    consumers["fail"]["run_triggers"] = {"2"}
    answer = dispatch.dispatch("interactions", {"Records": records(3)}, None)
    assert answer == {"batchItemFailures": []}, "the stream moves on"
    assert dict(consumers["seen"]) == {
        "note_activity": [["1", "2", "3"]],
        "score_changes": [["1", "2", "3"]],
        "run_triggers": [["1", "2", "3"]],
    }
    (queued,) = waiting(aws, "RunTriggersRetryQueue")
    assert queued["consumer"] == "run_triggers" and queued["record"]["dynamodb"]["SequenceNumber"] == "2"
    assert waiting(aws, "NoteActivityRetryQueue") == waiting(aws, "ScoreChangesRetryQueue") == []


def test_the_retry_reruns_only_the_consumer_that_failed(aws: Any, consumers: Any):
    consumers["fail"]["qualify"] = {"1"}
    dispatch.dispatch("contacts", {"Records": records(2)}, None)
    (queued,) = waiting(aws, "QualifyRetryQueue")
    consumers["seen"].clear()
    consumers["fail"].clear()
    event = load_event("sqs/tracking_batch.json")
    body = json.dumps({k: v for k, v in queued.items() if k != "_receipt"})
    message = {**event["Records"][0], "body": body, "eventSourceARN": aws.queue_arns["QualifyRetryQueue"]}
    assert dispatch.retry({"Records": [message]}, None) == {"batchItemFailures": []}
    assert dict(consumers["seen"]) == {"qualify": [["1"]]}


def test_a_consumer_that_raises_queues_the_whole_batch_for_itself_only(aws: Any, consumers: Any):
    consumers["fail"]["detect_duplicates"] = "all"
    assert dispatch.dispatch("contacts", {"Records": records(3)}, None) == {"batchItemFailures": []}
    queued = waiting(aws, "DetectDuplicatesRetryQueue")
    assert sorted(q["record"]["dynamodb"]["SequenceNumber"] for q in queued) == ["1", "2", "3"]
    assert waiting(aws, "ScoreChangesRetryQueue") == waiting(aws, "QualifyRetryQueue") == []


def test_a_record_that_cannot_be_queued_is_left_to_the_streams_retries(
    aws: Any, consumers: Any, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib import wiring

    consumers["fail"]["score_changes"] = {"2", "3"}
    queue = wiring.deps().retry_queues["score_changes"]
    monkeypatch.setattr(queue, "send_raw", lambda body: (_ for _ in ()).throw(RuntimeError("SQS is down")))
    answer = dispatch.dispatch("interactions", {"Records": records(3)}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}


def test_an_oversized_record_drops_its_old_image_and_beyond_that_stays_on_the_stream():
    record = records(1)[0]
    record["dynamodb"]["OldImage"] = {"notes": {"S": "x" * 260_000}}
    record["dynamodb"]["NewImage"]["notes"] = {"S": "y" * 100}
    body = dispatch.retry_message("qualify", "contacts", record)
    assert body is not None and "OldImage" not in json.loads(body)["record"]["dynamodb"]
    record["dynamodb"]["NewImage"]["notes"] = {"S": "y" * 300_000}
    assert dispatch.retry_message("qualify", "contacts", record) is None


def test_on_the_pump_a_poison_record_for_one_consumer_ends_in_its_dead_letter_queue(
    aws: Any, pump: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
):
    """The local stack's pump, the template's queues and redrive: the real consumers run; note_activity
    is made to fail one contact's interactions every time."""
    from datetime import UTC, datetime

    from chalicelib.domain.entities import Interaction

    real = dispatch.consumer
    ran: dict[str, int] = defaultdict(int)
    poisoned_ids: set[str] = set()

    def consumer(name: str) -> Any:
        handler = real(name)

        def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
            # the interactions stream's records (a tracked interaction also updates its contact,
            # whose stream runs score_changes too: issue 19's counts)
            ran[name] += sum("InteractionsTable" in r.get("eventSourceARN", "") for r in event["Records"])
            if name == "note_activity":
                poisoned = [
                    r for r in event["Records"] if r["dynamodb"]["Keys"]["contact_id"]["S"] in poisoned_ids
                ]
                if poisoned:
                    return {
                        "batchItemFailures": [
                            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in poisoned
                        ]
                    }
            return handler(event, context)

        return wrapped

    monkeypatch.setattr(dispatch, "consumer", consumer)
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    fine = deps.store.contact_for_email("fine@example.org", at)  # interactions need their contact
    poison = deps.store.contact_for_email("poison@example.org", at)
    pump.drain()
    ran.clear()
    poisoned_ids.add(poison)
    assert deps.store.record_interaction(Interaction("i-ok", fine, "page_visited", at))
    assert deps.store.record_interaction(Interaction("i-bad", poison, "page_visited", at))
    pump.drain()
    (dead,) = waiting(aws, "NoteActivityRetryDeadLetterQueue")
    assert dead["consumer"] == "note_activity"
    assert dead["record"]["dynamodb"]["Keys"]["interaction_id"]["S"] == "i-bad"
    assert ran["score_changes"] == ran["run_triggers"] == 2, "each ran once on both records"
    assert ran["note_activity"] == 2 + 5, "the stream's one run, then five receives of the retry"
    assert waiting(aws, "StreamFailuresQueue") == []
