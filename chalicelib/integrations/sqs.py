"""SQS queues: validated interactions travel to the recording function, rescoring work to its workers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.observability import correlation_id

#: SQS takes 256 KiB per message; stay clear of it with the envelope around the body.
MAX_MESSAGE_BYTES = 200_000


def chunks(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split a batch into message-sized parts, halving until each part fits."""
    body = json.dumps({"interactions": items})
    if len(body.encode()) <= MAX_MESSAGE_BYTES or len(items) == 1:
        return [items]
    middle = len(items) // 2
    return chunks(items[:middle]) + chunks(items[middle:])


def correlated(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the current correlation id (the consumer binds it again)."""
    current = correlation_id()
    return {**body, "correlation_id": current} if current and "correlation_id" not in body else body


class _LazySqs:
    """An SQS client built on first use (never at import: cold starts that send nothing pay nothing)."""

    def __init__(self, region: str, endpoint_url: str | None, config: Any) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = config
        self._client: Any = None

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "sqs", region_name=self._region, endpoint_url=self._endpoint_url, config=self._config
            )
        return self._client


class SqsQueue(_LazySqs):
    """A queue that JSON messages are sent to."""

    def __init__(self, queue_url: str, region: str, endpoint_url: str | None, config: Any) -> None:
        super().__init__(region, endpoint_url, config)
        self._queue_url = queue_url

    def send_json(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self._sqs().send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(correlated(body), separators=(",", ":")),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )

    def send_raw(self, body: str) -> None:
        self._sqs().send_message(QueueUrl=self._queue_url, MessageBody=body)

    def send_fifo(self, body: str, group: str, deduplication_id: str) -> None:
        """FIFO queues drop a second send with the same deduplication id within five minutes."""
        self._sqs().send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=deduplication_id,
        )

    def send_many(self, bodies: list[dict[str, Any]]) -> None:
        """Ten to a request; any entry SQS refuses raises, so the caller's retry sends the lot again."""
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(correlated(body), separators=(",", ":"))}
                for n, body in enumerate(bodies[start : start + 10])
            ]
            failed = self._sqs().send_message_batch(QueueUrl=self._queue_url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Code')}")


class SqsTrackingQueue(SqsQueue):
    def send(self, interactions: list[dict[str, Any]]) -> None:
        """One message per part; a failed send raises, and the client's retry sends the batch again,
        which the recording function deduplicates by interaction id."""
        for part in chunks(interactions):
            self.send_json({"interactions": part})


def sweep(
    sqs: Any,
    queue_url: str,
    doomed: Any,
    limit: int = 1000,
    visibility_seconds: int = 30,
) -> tuple[int, bool]:
    """Delete the messages of ``queue_url`` for which ``doomed(message)`` holds; ``(deleted, stopped
    early)``. Every visible message is received once (held out of sight while the sweep runs, so the
    next receive returns others, and on a FIFO queue the next of a doomed group), then those kept are
    made visible again at once. What a consumer holds at that moment (in flight) cannot be seen or
    recalled: that is the limit of a polled queue. Each kept message counts one more receive toward
    the queue's redrive limit."""
    deleted, kept, seen = 0, [], 0
    while seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility_seconds,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen += 1
            if doomed(message):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1
            else:
                kept.append(message["ReceiptHandle"])
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return deleted, seen >= limit


class SqsAdmin(_LazySqs):
    """Queues looked into and tidied (the hand-off dead letters, an erasure's sweep)."""

    def depth(self, url: str) -> int:
        """The queue's approximate number of visible messages."""
        answer = self._sqs().get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def peek(self, url: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, each once, received with a zero visibility timeout: every message
        stays in the queue, visible again at once."""
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(5):
            messages = (
                self._sqs()
                .receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=0,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                )
                .get("Messages", [])
            )
            new = [m for m in messages if m["MessageId"] not in seen]
            if not new:
                break
            for message in new:
                seen[message["MessageId"]] = message
            if len(seen) >= limit:
                break
        return list(seen.values())[:limit]

    def redrive(self, source_url: str, target_url: str) -> int:
        """Move dead-lettered hand-offs back (:func:`~chalicelib.integrations.handoff_consumer.redrive`)."""
        from chalicelib.integrations.handoff_consumer import redrive

        return redrive(self._sqs(), source_url, target_url)

    def sweep(self, url: str, doomed: Callable[[dict[str, Any]], bool]) -> tuple[int, bool]:
        """Delete the messages ``doomed`` holds for (:func:`sweep`)."""
        return sweep(self._sqs(), url, doomed)
