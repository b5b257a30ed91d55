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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from chalicelib.observability import logger
from leadflow_local.resources import EventSource, LocalResources

Handler = Callable[[dict[str, Any], Any], Any]
#: How long a received message stays invisible while its handler runs, and before a failed one returns.
VISIBILITY_SECONDS = 30
RETRY_DELAY_SECONDS = 1
#: How often a stream poller asks for the stream's shards (a new shard is rare; moto keeps one).
SHARD_REFRESH_SECONDS = 10.0


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


# ---------------------------------------------------------------- what moto holds, read without a call
# A lane asks these before polling (``ready()``): in the local stack moto runs in this process, so
# "is anything there?" is a look at moto's memory instead of two API calls. They read moto's internals
# (pinned, like ``persistence.py``): on any surprise they answer ``None`` and the lane just polls.

#: moto's account (``resources.PSEUDO``): the one the local stack's resources live in.
_ACCOUNT = "123456789012"


def _moto_backend(service: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)[_ACCOUNT][region]  # type: ignore[call-overload]


def _stream_length(stream_arn: str) -> int | None:
    """How many records moto's (single) shard of this stream holds."""
    try:
        _, _, _, region, _, rest = stream_arn.split(":", 5)
        table = _moto_backend("dynamodb", region).tables[rest.split("/")[1]]
        return len(table.stream_shard.items)
    except Exception:
        return None


def _queue_has_visible(queue_url: str, region: str) -> bool | None:
    try:
        queue = _moto_backend("sqs", region).queues[queue_url.rstrip("/").rsplit("/", 1)[-1]]
        return any(message.visible and not message.delayed for message in list(queue._messages))
    except Exception:
        return None


def _bucket_fingerprint(bucket: str, prefix: str) -> frozenset[tuple[str, int]] | None:
    """The objects under ``prefix`` as (key, identity of moto's object): a new or replaced object
    changes it."""
    try:
        keys = _moto_backend("s3", "global").buckets[bucket].keys
        return frozenset((name, id(key)) for name, key in list(keys.items()) if name.startswith(prefix))
    except Exception:
        return None


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


@dataclass
class _Shard:
    """Lambda reads each shard on its own: one poison record holds back only its shard."""

    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    size: int = 0
    retry_at: float = 0.0
    #: The sequence number of the last record done with (delivered, or given up on): where a restarted
    #: stack resumes (``leadflow_local/persistence.py``).
    checkpoint: str | None = None

    def done_with(self, records: list[dict[str, Any]]) -> None:
        if records:
            self.checkpoint = str(records[-1]["dynamodb"]["SequenceNumber"])


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
        self.shards: dict[str, _Shard] = {}
        #: Where to resume each shard after a restart (shard id -> last sequence number done with).
        self.resume: dict[str, str] = {}
        self._refresh_at = 0.0
        #: moto's stream length when it was last read to the end (:meth:`ready`).
        self._read_length: int | None = None

    def ready(self) -> bool:
        """Anything to deliver? (moto's memory: no call.)"""
        if not self.shards or any(shard.pending for shard in self.shards.values()):
            return True
        length = _stream_length(self.stream_arn)
        return length is None or length != self._read_length

    def _refresh(self) -> None:
        # new shards are looked for every few seconds, not on every poll (moto keeps one shard)
        if self.shards and time.monotonic() < self._refresh_at:
            return
        self._refresh_at = time.monotonic() + SHARD_REFRESH_SECONDS
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self.shards:
                after = self.resume.get(shard_id)
                position: dict[str, Any] = (
                    {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                    if after
                    else {"ShardIteratorType": "TRIM_HORIZON"}
                )
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, **position
                )["ShardIterator"]
                self.shards[shard_id] = _Shard(shard_id, iterator, size=self.batch_size, checkpoint=after)

    def positions(self) -> dict[str, str]:
        return {
            shard_id: shard.checkpoint for shard_id, shard in list(self.shards.items()) if shard.checkpoint
        }

    def _fill(self, shard: _Shard) -> None:
        if shard.iterator is None or len(shard.pending) >= shard.size:
            return
        length = _stream_length(self.stream_arn)
        page = self.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        self._read_length = length if len(page["Records"]) < 1000 else None
        shard.iterator = page.get("NextShardIterator")
        shard.pending.extend(stream_record(r, self.stream_arn, self.region) for r in page["Records"])

    def poll(self) -> bool:
        """Deliver one batch per shard that has records; ``True`` when anything was delivered."""
        self._refresh()
        delivered = False
        for shard in self.shards.values():
            if shard.retry_at > time.monotonic():
                continue  # backing off after a failure, without holding up the other shards
            self._fill(shard)
            self._expire(shard)
            if shard.pending:
                self._deliver(shard)
                delivered = True
        return delivered

    def has_pending(self) -> bool:
        """Records read but not yet done (some may be waiting out a retry back-off)."""
        return any(shard.pending for shard in self.shards.values())

    def _expire(self, shard: _Shard) -> None:
        """Records older than ``MaximumRecordAgeInSeconds`` go to the failure destination unprocessed."""
        if self.source.max_record_age is None:
            return
        oldest = time.time() - self.source.max_record_age
        stale = 0
        while (
            stale < len(shard.pending)
            and shard.pending[stale]["dynamodb"]["ApproximateCreationDateTime"] < oldest
        ):
            stale += 1
        if stale:
            self._give_up(shard, shard.pending[:stale], "RecordAgeExceeded")

    def _deliver(self, shard: _Shard) -> None:
        batch = shard.pending[: shard.size]
        failed = invoke(self.handler, self.source.function, {"Records": batch})
        if failed == set():
            del shard.pending[: len(batch)]
            shard.done_with(batch)
            shard.attempts, shard.size = 0, self.batch_size
            return
        first = 0
        if failed is not None and self.source.reports_failures:
            sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
            first = min(sequence.index(f) for f in failed if f in sequence) if failed & set(sequence) else 0
        del shard.pending[:first]  # records before the first failure are done (Lambda's checkpoint)
        shard.done_with(batch[:first])
        shard.attempts += 1
        if shard.attempts > self.source.max_retries:
            self._give_up(shard, batch[first:], "RetryAttemptsExhausted")
            return
        if self.source.bisect and failed is None and len(batch) > 1:
            shard.size = max(1, len(batch) // 2)
        shard.retry_at = time.monotonic() + min(RETRY_DELAY_SECONDS, 0.05 * 2**shard.attempts)

    def _give_up(self, shard: _Shard, records: list[dict[str, Any]], condition: str) -> None:
        """Like Lambda: the batch's description (not its records) goes to the failure destination."""
        del shard.pending[: len(records)]
        shard.done_with(records)
        shard.attempts, shard.size, shard.retry_at = 0, self.batch_size, 0.0
        logger.error(
            "stream records dead-lettered",
            extra={"function": self.source.function, "records": len(records), "condition": condition},
        )
        if self.failure_queue is None:
            return
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.source.function,
                "condition": condition,
                "approximateInvokeCount": self.source.max_retries + 1,
            },
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.failure_queue, MessageBody=json.dumps(info))


def drain(pollers: list[Any], timeout: float = 300.0) -> None:
    """Poll until nothing is left to deliver, waiting out retry back-offs (tests, ``Pump.drain``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivered = sum(poller.poll() for poller in pollers)
        if not delivered and not any(getattr(p, "has_pending", lambda: False)() for p in pollers):
            return
        if not delivered:
            time.sleep(0.01)
    raise TimeoutError("event sources did not drain")


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

    def ready(self) -> bool:
        """A visible message waiting? (moto's memory: no call.)"""
        return _queue_has_visible(self.queue_url, self.region) is not False

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


class BucketPoller:
    """S3's part: a new or replaced object under the prefix invokes the function with an
    ``ObjectCreated:Put`` event, as S3 would (at least once: a restarted stack sees the objects again)."""

    def __init__(
        self, function: str, handler: Handler, bucket: str, prefix: str, s3: Any, region: str
    ) -> None:
        self.function = function
        self.handler = handler
        self.bucket = bucket
        self.prefix = prefix
        self.s3 = s3
        self.region = region
        self.seen: set[tuple[str, str]] = set()
        self.failures: dict[tuple[str, str], int] = {}
        self._listed: frozenset[tuple[str, int]] | None = None

    def ready(self) -> bool:
        """A new or replaced object, or one whose delivery failed? (moto's memory: no call.)"""
        if self.failures.keys() - self.seen:
            return True
        fingerprint = _bucket_fingerprint(self.bucket, self.prefix)
        return fingerprint is None or fingerprint != self._listed

    def poll(self) -> bool:
        self._listed = _bucket_fingerprint(self.bucket, self.prefix)
        # listed on every poll (one cheap call): a drain must never miss an object that just arrived
        fresh = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                tag = (item["Key"], item["ETag"])
                if tag not in self.seen:
                    fresh.append(item)
        for item in fresh:
            event = {
                "Records": [
                    {
                        "eventVersion": "2.1",
                        "eventSource": "aws:s3",
                        "awsRegion": self.region,
                        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "eventName": "ObjectCreated:Put",
                        "s3": {
                            "s3SchemaVersion": "1.0",
                            "bucket": {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
                            "object": {
                                "key": quote_plus(item["Key"], safe="/"),
                                "size": item["Size"],
                                "eTag": item["ETag"].strip('"'),
                            },
                        },
                    }
                ]
            }
            tag = (item["Key"], item["ETag"])
            try:
                self.handler(event, LambdaContext(self.function))
            except Exception:
                # Lambda retries an asynchronous invocation twice, then gives up (to the destination)
                self.failures[tag] = self.failures.get(tag, 0) + 1
                logger.exception("bucket event failed", extra={"function": self.function})
                if self.failures[tag] < 3:
                    continue
            self.seen.add(tag)
        return bool(fresh)


_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleRunner:
    """EventBridge's part: runs a scheduled function at its rate (``rate(1 day)``), first when the
    stack starts, with an event shaped like a scheduled event."""

    def __init__(self, name: str, handler: Handler, expression: str, region: str) -> None:
        value, unit = expression.removeprefix("rate(").removesuffix(")").split()
        self.name = name
        self.handler = handler
        self.interval = int(value) * _RATE_UNITS[unit.rstrip("s")]
        self.region = region
        self.next_run = time.monotonic()

    def ready(self) -> bool:
        return time.monotonic() >= self.next_run

    def poll(self) -> bool:
        if time.monotonic() < self.next_run:
            return False
        self.next_run = time.monotonic() + self.interval
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:000000000000:rule/{self.name}"],
            "detail": {},
        }
        invoke(self.handler, self.name, event)
        return True


#: How long a lane that a write woke waits before it looks (seconds): the records and messages written
#: together arrive in one batch (Lambda's ``MaximumBatchingWindowInSeconds``, here a fixed 20 ms), and
#: an idle lane looks at most 50 times a second however many writes wake it.
BATCHING_WINDOW_SECONDS = 0.02
#: How often a lane with a failed batch waiting out its back-off looks again (seconds).
RETRY_TICK_SECONDS = 0.05


class _Lane(threading.Thread):
    """One event source's own thread: Lambda reads every mapping on its own, so a slow function (a
    rescoring job, an import) holds up only its own source."""

    def __init__(self, pump: Pump, poller: Any) -> None:
        super().__init__(name=f"leadflow-pump:{_label(poller)}", daemon=True)
        self.pump = pump
        self.poller = poller
        self.wake = threading.Event()
        #: Its last look found nothing (and no wake came since: :meth:`Pump.lane_idle`).
        self.settled = False

    def run(self) -> None:
        pump, poller = self.pump, self.poller
        ready = getattr(poller, "ready", None)
        has_pending = getattr(poller, "has_pending", None)
        while not pump.stopping.is_set():
            self.wake.clear()  # a write from here on wakes the wait below
            try:
                busy = False
                if ready is None or ready():
                    self.settled = False  # something to deliver: not idle while it is delivered
                    pump.idle.clear()
                    busy = bool(poller.poll())
            except Exception:
                logger.exception("pump poll failed", extra={"source": self.name})
                busy = False
            if busy:
                self.settled = False
                pump.idle.clear()
                continue
            self.settled = True
            pump.lane_idle()
            pending = has_pending is not None and has_pending()
            if self.wake.wait(RETRY_TICK_SECONDS if pending else pump.idle_seconds):
                time.sleep(BATCHING_WINDOW_SECONDS)


def _label(poller: Any) -> str:
    source = getattr(poller, "source", None)
    if source is not None:
        return f"{source.function}<-{source.source}"
    return str(getattr(poller, "name", None) or getattr(poller, "function", type(poller).__name__))


def wake_key(poller: Any) -> tuple[str, str] | None:
    """What wakes a poller's lane: a stream's lane a record in its table, a queue's lane a message in
    its queue (``("table", name)``, ``("queue", name)``: :func:`listen_to_moto`), a schedule only its
    clock (``("clock", name)``); ``None``: any write (a bucket's objects, a poller of unknown kind)."""
    if isinstance(poller, StreamPoller):
        return ("table", poller.stream_arn.split(":", 5)[5].split("/")[1])
    if isinstance(poller, QueuePoller):
        return ("queue", poller.queue_url.rstrip("/").rsplit("/", 1)[-1])
    if isinstance(poller, ScheduleRunner):
        return ("clock", poller.name)
    return None


class Pump:
    """Every event source, each polled on its own thread (:class:`_Lane`) until stopped.

    A lane that finds nothing sleeps ``idle_seconds``, or until something it reads may have arrived:
    in the local stack moto tells the pump of each stream record and each message it adds
    (:func:`listen_to_moto`), so a stream's lane wakes for a record in its table and a queue's lane
    for a message in its queue (not for every write: the stack has some 25 lanes, and waking them all
    on each of a lead's 30 writes was a tenth of the stack's CPU under load); every other write
    (:meth:`written`, the gate's) wakes the lanes without a key (S3's). What arrives with no write (a
    retry's delay, a message becoming visible, a schedule) waits at most ``idle_seconds``. A poller
    may have a cheap ``ready()`` (is there anything to read? asked of moto's memory, no API call) so
    that wakes cost an idle lane almost nothing; ``poll()`` itself always goes through the AWS API.

    **Registering an event source** is one line: append its poller to :attr:`pollers` before
    :meth:`start` (``leadflow_local/stack.py`` builds them from ``infra/template.json``'s event source
    mappings and bucket notifications, and from the app's ``@app.schedule`` functions). A poller is
    any object with ``poll() -> bool`` (``True`` when it delivered something), optionally
    ``ready() -> bool`` and ``has_pending() -> bool`` (records waiting out a retry back-off)."""

    def __init__(self, pollers: list[Any], idle_seconds: float = 0.2) -> None:
        self.pollers = pollers
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()
        #: Set while every lane found nothing since it was last woken (``bench``, ``scripts/hostile.py``).
        self.idle = threading.Event()
        #: Wakes so far (any kind).
        self.generation = 0
        self._lanes: list[_Lane] = []
        self._by_key: dict[tuple[str, str], list[_Lane]] = {}
        self._on_any_write: list[_Lane] = []
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Every lane looks again (after its batching window)."""
        self._wake(self._lanes)

    def written(self) -> None:
        """Something was written to moto (the local stack's gate): the lanes without a key look again."""
        if self._on_any_write:
            self._wake(self._on_any_write)

    def arrived(self, kind: str, name: str) -> None:
        """A stream record in table ``name`` (``kind`` ``"table"``) or a message in queue ``name``
        (``"queue"``): the lanes reading it look again."""
        lanes = self._by_key.get((kind, name))
        if lanes:
            self._wake(lanes)

    def _wake(self, lanes: list[_Lane]) -> None:
        # under the lock that lane_idle takes: a lane settling at this moment cannot set idle after it
        with self._lock:
            self.generation += 1
            for lane in lanes:
                if not lane.wake.is_set():
                    lane.wake.set()
            self.idle.clear()

    def lane_idle(self) -> None:
        with self._lock:
            if all(lane.settled and not lane.wake.is_set() for lane in self._lanes):
                self.idle.set()

    def drain(self, timeout: float = 300.0) -> None:
        """Deliver everything that is waiting (only when the lanes are not running)."""
        drain(list(self.pollers), timeout)

    def positions(self) -> dict[str, Any]:
        """How far each stream shard was delivered and which bucket objects were handled (a snapshot
        keeps these with moto's data, so a restarted stack resumes instead of starting over)."""
        return {
            "streams": {p.stream_arn: p.positions() for p in self.pollers if isinstance(p, StreamPoller)},
            "buckets": {
                f"{p.function}:{p.bucket}": sorted(p.seen)
                for p in self.pollers
                if isinstance(p, BucketPoller)
            },
        }

    def resume(self, positions: dict[str, Any]) -> None:
        streams, buckets = positions.get("streams", {}), positions.get("buckets", {})
        for poller in self.pollers:
            if isinstance(poller, StreamPoller):
                poller.resume = dict(streams.get(poller.stream_arn, {}))
            elif isinstance(poller, BucketPoller):
                poller.seen = {
                    (key, tag) for key, tag in buckets.get(f"{poller.function}:{poller.bucket}", [])
                }

    def start(self) -> None:
        self._lanes = [_Lane(self, poller) for poller in self.pollers]
        for lane in self._lanes:
            key = wake_key(lane.poller)
            if key is None:
                self._on_any_write.append(lane)
            else:
                self._by_key.setdefault(key, []).append(lane)
        for lane in self._lanes:
            lane.start()

    def is_alive(self) -> bool:
        return any(lane.is_alive() for lane in self._lanes)

    def stop(self) -> None:
        self.stopping.set()
        with _LISTENING_LOCK:
            if self in _LISTENING:
                _LISTENING.remove(self)
        for lane in self._lanes:
            lane.wake.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for every lane (each finishes the batch it is delivering) up to ``timeout`` in all."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for lane in self._lanes:
            lane.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


# ---------------------------------------------------------------- moto tells the pump what arrived

#: The pumps moto tells of each stream record and message it adds (:func:`listen_to_moto`).
_LISTENING: list[Pump] = []
_LISTENING_LOCK = threading.Lock()
_MOTO_PATCHED: list[bool] = []


def listen_to_moto(pump: Pump) -> None:
    """From now until ``pump.stop()``, moto (in this process) calls :meth:`Pump.arrived` after adding
    a stream record (``StreamShard.add``: every write to a table with a stream) or a message to a queue
    (``Queue.add_message``: every send). Reads moto's internals (pinned, like ``persistence.py``)."""
    from moto.dynamodb.models.table import StreamShard
    from moto.sqs.models import Queue

    with _LISTENING_LOCK:
        if not _MOTO_PATCHED:
            add_record, add_message = StreamShard.add, Queue.add_message

            def record_added(self: Any, old: Any, new: Any) -> None:
                add_record(self, old, new)
                _arrived("table", self.table.name)

            def message_added(self: Any, message: Any) -> None:
                add_message(self, message)
                _arrived("queue", self.name)

            StreamShard.add = record_added  # type: ignore[method-assign]
            Queue.add_message = message_added  # type: ignore[method-assign]
            _MOTO_PATCHED.append(True)
        if pump not in _LISTENING:
            _LISTENING.append(pump)


def _arrived(kind: str, name: str) -> None:
    for pump in list(_LISTENING):
        pump.arrived(kind, name)
