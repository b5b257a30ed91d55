"""Reading the sales-handoff queue as a sales system does: receive, handle, delete; and redriving the
dead-letter queue. Used by ``leadflow handoff tail|redrive`` and ``examples/sales_consumer.py``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib.observability import logger


def receive(
    sqs: Any, queue_url: str, wait_seconds: int = 1, batch: Callable[[], int] = lambda: 10
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(CloudEvent, SQS message) pairs until the queue is empty for ``wait_seconds``; ``batch`` says
    how many to receive at a time (at most 10)."""
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max(1, min(10, batch())),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            yield json.loads(message["Body"]), message


def consume(
    sqs: Any,
    queue_url: str,
    handle: Callable[[dict[str, Any]], None],
    seen: set[str],
    wait_seconds: int = 1,
    limit: int | None = None,
) -> int:
    """Handle each hand-off once: a redelivered id (same CloudEvent ``id``) is deleted unhandled; a
    failure leaves the message to come back (and, after the queue's receive limit, to the DLQ). With
    ``limit``, stop after handling that many (only as many as are still wanted are received)."""
    handled = 0
    if limit is not None and limit <= 0:
        return 0

    def wanted() -> int:
        return 10 if limit is None else limit - handled

    for event, message in receive(sqs, queue_url, wait_seconds, wanted):
        if event["id"] not in seen:
            try:
                handle(event)
            except Exception:  # the consumer's failure: SQS redelivers the message
                logger.exception("hand-off not handled; it will come back", extra={"handoff_id": event["id"]})
                continue
            seen.add(event["id"])
            handled += 1
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if limit is not None and handled >= limit:
            break
    return handled


def redrive(sqs: Any, dead_letter_url: str, queue_url: str) -> int:
    """Move dead-lettered hand-offs back (same group; a fresh deduplication id so the queue takes it)."""
    moved = 0
    for event, message in receive(sqs, dead_letter_url, wait_seconds=0):
        attributes = message.get("Attributes", {})
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=message["Body"],
            MessageGroupId=attributes.get("MessageGroupId", event.get("subject", "redrive")),
            MessageDeduplicationId=f"{event['id']}.redrive.{message['MessageId']}"[:128],
        )
        sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    return moved


def summary(event: dict[str, Any]) -> str:
    """One line: when, what kind, the work's text, its owner and due time, the lead, the hand-off id."""
    work = event.get("data", {}).get("handoff", {})
    text = work.get("subject") or work.get("name") or ""
    owner = f"  owner {work['owner']}" if work.get("owner") else ""
    due = f"  due {work['due_at']}" if work.get("due_at") else ""
    kind = str(event.get("type", "")).removeprefix("leadflow.handoff.")
    lead = event.get("subject", "")
    return f"{event.get('time', '')}  {kind}  {text}{owner}{due}  lead {lead}  [{event['id']}]"
