"""The local pump behaves like Lambda's event-source mappings declared in infra/template.json."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadflow_local.pump import QueuePoller, StreamPoller, drain
from leadflow_local.resources import EventSource, event_sources, load_template


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    import leadflow_local.pump as pump

    monkeypatch.setattr(pump, "RETRY_DELAY_SECONDS", 0)


def source(function: str) -> EventSource:
    return next(s for s in event_sources(load_template()) if s.function == function)


def notes_poller(aws: Any, handler: Any) -> StreamPoller:
    """The pump's reader of the interactions stream, delivering to ``handler`` instead of the app."""
    return StreamPoller(
        source("InteractionsStream"),
        handler,
        100,
        aws,
        boto3.client("dynamodbstreams"),
        boto3.client("sqs"),
        "us-east-1",
    )


def put_interactions(aws: Any, count: int) -> None:
    dynamodb = boto3.client("dynamodb")
    for n in range(count):
        dynamodb.put_item(
            TableName=aws.tables["InteractionsTable"],
            Item={
                "contact_id": {"S": "c_1"},
                "interaction_id": {"S": f"e{n}"},
                "at": {"S": f"2026-11-20T10:00:0{n}.000Z#e{n}"},
                "occurred_at": {"S": f"2026-11-20T10:00:0{n}.000000+0000"},
                "payload": {"B": b"\x00\x01"},
            },
        )


def test_template_declares_partial_failures_retries_bisect_and_a_failure_destination():
    notes = source("InteractionsStream")
    assert (notes.kind, notes.source, notes.on_failure) == (
        "DynamoDB",
        "InteractionsTable",
        "StreamFailuresQueue",
    )
    assert notes.reports_failures and notes.bisect and notes.max_retries == 5
    assert source("RecordInteractions").reports_failures


def test_stream_records_arrive_lambda_shaped_and_failed_ones_alone_are_retried(aws: Any, no_backoff: None):
    put_interactions(aws, 3)
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        record = event["Records"][0]
        assert (
            record["eventSource"] == "aws:dynamodb"
            and record["eventSourceARN"] == aws.streams["InteractionsTable"]
        )
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert isinstance(record["dynamodb"]["NewImage"]["payload"]["B"], str), (
            "binary as base64, like Lambda"
        )
        keys = [r["dynamodb"]["Keys"]["interaction_id"]["S"] for r in event["Records"]]
        calls.append(keys)
        failed = [r for r in event["Records"] if r["dynamodb"]["Keys"]["interaction_id"]["S"] == "e1"]
        if failed and len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": failed[0]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    poller = notes_poller(aws, handler)
    drain([poller])
    assert [len(c) for c in calls] == [3, 2], "the retry starts at the first failed record"
    assert calls[1][0] == "e1"


def test_stream_batch_that_keeps_failing_goes_to_the_failure_destination(aws: Any, no_backoff: None):
    put_interactions(aws, 2)
    attempts = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts.append(len(event["Records"]))
        raise RuntimeError("poison")

    poller = notes_poller(aws, handler)
    drain([poller])
    assert attempts[0] == 2 and 1 in attempts, "bisected after a whole-batch failure"
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_urls["StreamFailuresQueue"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    infos = [json.loads(m["Body"]) for m in messages]
    assert all(i["requestContext"]["condition"] == "RetryAttemptsExhausted" for i in infos)
    assert sum(i["DDBStreamBatchInfo"]["batchSize"] for i in infos) == 2


def test_queue_message_that_keeps_failing_ends_in_the_dead_letter_queue(aws: Any, monkeypatch: Any):
    import leadflow_local.pump as pump

    monkeypatch.setattr(pump, "RETRY_DELAY_SECONDS", 0)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_urls["TrackingQueue"], MessageBody="good")
    sqs.send_message(QueueUrl=aws.queue_urls["TrackingQueue"], MessageBody="poison")
    handled: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs" and record["receiptHandle"]
            if record["body"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                handled.append(record["body"])
        return {"batchItemFailures": failures}

    poller = QueuePoller(source("RecordInteractions"), handler, 10, aws, sqs, "us-east-1")
    for _ in range(10):
        poller.poll()
    assert handled == ["good"]
    dead = sqs.receive_message(QueueUrl=aws.queue_urls["TrackingDeadLetterQueue"], MaxNumberOfMessages=10)
    assert [m["Body"] for m in dead.get("Messages", [])] == ["poison"]


def test_stream_records_older_than_the_maximum_age_are_dead_lettered_unprocessed(aws: Any, monkeypatch: Any):
    import time as clock

    put_interactions(aws, 1)
    delivered: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        delivered.append(len(event["Records"]))
        return {"batchItemFailures": []}

    poller = notes_poller(aws, handler)
    later = clock.time() + (source("InteractionsStream").max_record_age or 0) + 10
    monkeypatch.setattr(clock, "time", lambda: later)
    drain([poller])
    assert delivered == []
    messages = boto3.client("sqs").receive_message(QueueUrl=aws.queue_urls["StreamFailuresQueue"])["Messages"]
    assert json.loads(messages[0]["Body"])["requestContext"]["condition"] == "RecordAgeExceeded"


# ---------------------------------------------------------------- the pump's lanes (issue 19, item 4)


class Counting:
    """A boto3 client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.client, name)
        if not callable(found) or name == "exceptions":
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return found(*args, **kwargs)

        return counted


def wait_for(condition: Any, seconds: float = 10) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_each_source_has_its_own_lane_so_a_slow_function_holds_up_only_its_own(aws: Any):
    import threading

    from leadflow_local.pump import Pump

    sqs = boto3.client("sqs")
    release = threading.Event()
    fast: list[str] = []

    def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(10)
        return {"batchItemFailures": []}

    def fast_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        fast.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    pump = Pump(
        [
            QueuePoller(source("ImportRows"), slow_handler, 10, aws, sqs, "us-east-1"),
            QueuePoller(source("RecordInteractions"), fast_handler, 10, aws, sqs, "us-east-1"),
        ],
        idle_seconds=0.05,
    )
    pump.start()
    try:
        sqs.send_message(QueueUrl=aws.queue_urls["ImportQueue"], MessageBody="a long import")
        assert wait_for(lambda: not pump.idle.is_set(), 5)
        sqs.send_message(QueueUrl=aws.queue_urls["TrackingQueue"], MessageBody="a click")
        assert wait_for(lambda: fast == ["a click"], 5), "delivered while the import's function still runs"
        assert not release.is_set()
    finally:
        release.set()
        pump.stop()
        pump.join(timeout=10)
    assert not pump.is_alive()


def test_idle_lanes_ask_moto_memory_and_make_no_aws_calls(aws: Any):
    import time

    from leadflow_local.pump import Pump

    sqs = Counting(boto3.client("sqs"))
    streams = Counting(boto3.client("dynamodbstreams"))
    delivered: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        delivered.append(len(event["Records"]))
        return {"batchItemFailures": []}

    stream = StreamPoller(source("InteractionsStream"), handler, 100, aws, streams, sqs, "us-east-1")
    queue = QueuePoller(source("RecordInteractions"), handler, 10, aws, sqs, "us-east-1")
    pump = Pump([stream, queue], idle_seconds=0.02)
    pump.start()
    try:
        assert wait_for(pump.idle.is_set)
        before = sqs.calls + streams.calls
        time.sleep(1.0)  # some 50 looks per lane
        assert sqs.calls + streams.calls == before, "an idle lane polls moto's memory, not its API"
        put_interactions(aws, 2)
        pump.wake()  # every lane looks again (the local stack wakes each by its own stream or queue)
        assert wait_for(lambda: sum(delivered) == 2)
        assert wait_for(pump.idle.is_set)
    finally:
        pump.stop()
        pump.join(timeout=10)


def test_pump_is_idle_only_once_every_lane_found_nothing_after_the_last_write(aws: Any):
    from leadflow_local.pump import Pump

    sqs = boto3.client("sqs")
    pollers = [
        QueuePoller(source(name), lambda e, c: {"batchItemFailures": []}, 10, aws, sqs, "us-east-1")
        for name in ("RecordInteractions", "ImportRows")
    ]
    pump = Pump(pollers, idle_seconds=30)  # the lanes look again only when woken
    pump.start()
    try:
        assert wait_for(pump.idle.is_set)
        pump.wake()
        assert not pump.idle.is_set(), "a write: not idle until every lane has looked again"
        assert wait_for(pump.idle.is_set, 2), "woken lanes look (after the batching window) and settle"
    finally:
        pump.stop()
        pump.join(timeout=10)
    assert not pump.is_alive()


def test_moto_wakes_only_the_lanes_of_the_stream_or_queue_it_added_to(aws: Any):
    """``listen_to_moto``: a record in the interactions table wakes the interactions stream's lane and
    not the queue's; a message in the tracking queue wakes the queue's lane (the lanes sleep 30 s
    otherwise)."""
    from leadflow_local.pump import Pump, listen_to_moto

    sqs = Counting(boto3.client("sqs"))
    streams = Counting(boto3.client("dynamodbstreams"))
    delivered: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        delivered.extend(r.get("eventSource", "") for r in event["Records"])
        return {"batchItemFailures": []}

    stream = StreamPoller(source("InteractionsStream"), handler, 100, aws, streams, sqs, "us-east-1")
    queue = QueuePoller(source("RecordInteractions"), handler, 10, aws, sqs, "us-east-1")
    pump = Pump([stream, queue], idle_seconds=30)
    listen_to_moto(pump)
    pump.start()
    lanes = {lane.poller: lane for lane in pump._lanes}
    try:
        assert wait_for(pump.idle.is_set)
        woken: list[str] = []
        for poller, name in ((stream, "stream"), (queue, "queue")):
            event = lanes[poller].wake
            original = event.set

            def spy(_original: Any = original, _name: str = name) -> None:
                woken.append(_name)
                _original()

            event.set = spy  # type: ignore[method-assign]
        put_interactions(aws, 2)
        assert wait_for(lambda: delivered.count("aws:dynamodb") == 2, 5)
        assert "queue" not in woken and "stream" in woken
        sqs.send_message(QueueUrl=aws.queue_urls["TrackingQueue"], MessageBody="a click")
        assert wait_for(lambda: "aws:sqs" in delivered, 5), "the queue's lane woke for its message"
        assert wait_for(pump.idle.is_set, 5)
    finally:
        pump.stop()
        pump.join(timeout=10)
