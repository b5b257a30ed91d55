"""The local event-source mappings: read DynamoDB streams and SQS queues on moto and invoke the same
handler functions Lambda would, with AWS-shaped batches.

It honours what ``infra/template.json`` asks of Lambda: partial-failure answers (only the failed
records are retried), a finite number of retries with the batch halved on error (bisect), then the
failure destination for streams; for queues, failed messages return to the queue and the queue's own
redrive policy moves them to the dead-letter queue after ``maxReceiveCount`` receives."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.local.resources import EventSource, LocalResources
from chalicelib.observability import logger

Handler = Callable[[dict[str, Any], Any], Any]
#: How long a received message stays invisible while its handler runs, and before a failed one returns.
VISIBILITY_SECONDS = 30
RETRY_DELAY_SECONDS = 1


class LambdaContext:
    """The parts of Lambda's context object the handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(handler: Handler, function: str, event: dict[str, Any]) -> set[str] | None:
    """Run a handler; the identifiers of the failed records, or ``None`` when the whole batch failed."""
    try:
        result = handler(event, LambdaContext(function))
    except Exception:
        logger.exception("local invocation failed", extra={"function": function})
        return None
    failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
    return {str(item["itemIdentifier"]) for item in failures}


# ---------------------------------------------------------------- DynamoDB streams


def _lambda_value(value: Any) -> Any:
    """moto's stream records carry Python values where Lambda sends JSON (bytes as base64)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _lambda_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_value(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, Decimal):
        return str(value)
    return value


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    record = _lambda_value(raw)
    record.setdefault("eventSourceARN", stream_arn)
    record.setdefault("awsRegion", region)
    record.setdefault("eventVersion", "1.1")
    record.setdefault("eventSource", "aws:dynamodb")
    return dict(record)


class StreamPoller:
    def __init__(
        self,
        source: EventSource,
        handler: Handler,
        batch_size: int,
        resources: LocalResources,
        dynamodb_streams: Any,
        sqs: Any,
        region: str,
    ) -> None:
        self.source = source
        self.handler = handler
        self.batch_size = batch_size
        self.stream_arn = resources.streams[source.source]
        self.failure_queue = resources.queue_urls.get(source.on_failure) if source.on_failure else None
        self.streams = dynamodb_streams
        self.sqs = sqs
        self.region = region
        self.pending: list[dict[str, Any]] = []
        self.iterators: dict[str, str | None] = {}
        self.attempts = 0
        self.size = batch_size

    def _fill(self) -> None:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self.iterators[shard_id]
            if iterator is None or len(self.pending) >= self.batch_size:
                continue
            page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            self.iterators[shard_id] = page.get("NextShardIterator")
            self.pending.extend(stream_record(r, self.stream_arn, self.region) for r in page["Records"])

    def poll(self) -> bool:
        """Deliver one batch; ``True`` when there was something to deliver."""
        self._fill()
        if not self.pending:
            return False
        batch = self.pending[: self.size]
        failed = invoke(self.handler, self.source.function, {"Records": batch})
        if failed == set():
            del self.pending[: len(batch)]
            self.attempts, self.size = 0, self.batch_size
            return True
        first = 0
        if failed is not None and self.source.reports_failures:
            sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
            first = min(sequence.index(f) for f in failed if f in sequence) if failed & set(sequence) else 0
        del self.pending[:first]  # records before the first failure are done (Lambda's checkpoint)
        self.attempts += 1
        if self.attempts > self.source.max_retries:
            self._give_up(batch[first:])
        elif self.source.bisect and failed is None and len(batch) > 1:
            self.size = max(1, len(batch) // 2)
        time.sleep(min(RETRY_DELAY_SECONDS, 0.05 * 2**self.attempts))
        return True

    def _give_up(self, records: list[dict[str, Any]]) -> None:
        """Like Lambda: the batch's description (not its records) goes to the failure destination."""
        del self.pending[: len(records)]
        self.attempts, self.size = 0, self.batch_size
        logger.error(
            "stream batch dead-lettered", extra={"function": self.source.function, "records": len(records)}
        )
        if self.failure_queue is None:
            return
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.source.function,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.source.max_retries + 1,
            },
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": next(iter(self.iterators), None),
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.failure_queue, MessageBody=json.dumps(info))


# ---------------------------------------------------------------- SQS


class QueuePoller:
    def __init__(
        self,
        source: EventSource,
        handler: Handler,
        batch_size: int,
        resources: LocalResources,
        sqs: Any,
        region: str,
    ) -> None:
        self.source = source
        self.handler = handler
        self.batch_size = min(10, batch_size)
        self.queue_url = resources.queue_urls[source.source]
        self.queue_arn = resources.queue_arns[source.source]
        self.sqs = sqs
        self.region = region

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }

    def poll(self) -> bool:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=VISIBILITY_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        failed = invoke(self.handler, self.source.function, {"Records": [self._record(m) for m in messages]})
        for message in messages:
            if failed is None or message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_DELAY_SECONDS,
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return True


class Pump(threading.Thread):
    """Polls every event source until stopped; idles briefly when nothing arrives."""

    def __init__(self, pollers: list[StreamPoller | QueuePoller], idle_seconds: float = 0.2) -> None:
        super().__init__(name="leadflow-pump", daemon=True)
        self.pollers = pollers
        self.idle_seconds = idle_seconds
        self._stop_event = threading.Event()
        self.idle = threading.Event()

    def drain(self) -> int:
        """Poll until every source is empty; returns the number of batches delivered."""
        delivered = 0
        while sum(poller.poll() for poller in self.pollers):
            delivered += 1
        return delivered

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                busy = sum(poller.poll() for poller in self.pollers) > 0
            except Exception:
                logger.exception("pump poll failed")
                busy = False
            if busy:
                self.idle.clear()
            else:
                self.idle.set()
                self._stop_event.wait(self.idle_seconds)

    def stop(self) -> None:
        self._stop_event.set()
