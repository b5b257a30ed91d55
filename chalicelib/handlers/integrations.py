"""The integration functions: a CSV file arrived (S3), import rows (SQS), LinkedIn notifications (SQS).

The queue handlers report partial batch failures: a failing message comes back after its visibility
timeout and is dead-lettered after five tries; a LinkedIn notification that must wait for LinkedIn comes
back after the wait LinkedIn asked for."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.handlers.batch import process
from chalicelib.observability import flush, logger


def import_uploaded(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """S3 ``ObjectCreated`` under ``imports/``: plan the import. S3 delivers at least once; a second
    delivery finds the import planned and does nothing. A failure raises: Lambda's asynchronous retries
    (then the on-failure destination) take over."""
    from chalicelib.services import imports

    deps = wiring.deps()
    planned = []
    try:
        for record in event.get("Records", []):
            key = unquote_plus(record["s3"]["object"]["key"])
            planned.append(imports.object_created(key, deps))
    finally:
        flush()
    return {"planned": [p for p in planned if p]}


def _import_chunk(record: SQSRecord) -> None:
    from chalicelib.services import imports

    message = json.loads(record.body)
    counted = imports.process_chunk(message, wiring.deps())
    logger.info(
        "import chunk done",
        extra={"import_id": message["import_id"], "chunk": message["chunk"], "counted": counted},
    )


def import_rows(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Import work queue: capture each chunk's rows (every row once, however often it comes)."""
    return process(event, context, EventType.SQS, _import_chunk)


#: How many times a notification waits for LinkedIn (each wait up to 15 minutes) before it fails.
MAX_DEFERRALS = 12


def _linkedin_notification(record: SQSRecord) -> None:
    from chalicelib.integrations.linkedin import RetryLater
    from chalicelib.services import linkedin

    deps = wiring.deps()
    message = json.loads(record.body)
    try:
        outcome = linkedin.process(message, deps)
    except RetryLater as exc:
        # LinkedIn asked us to wait (429) or is unwell: the notification comes back after that wait
        # (SQS delays up to 15 minutes) as a new message; after MAX_DEFERRALS of those, this one fails
        # and the queue's own retries, then its dead-letter queue, keep it
        deferrals = int(message.get("deferrals", 0))
        if deferrals >= MAX_DEFERRALS:
            raise
        deps.linkedin_queue.send_json({**message, "deferrals": deferrals + 1}, int(exc.retry_after) + 1)
        logger.warning(
            "LinkedIn unavailable; notification deferred",
            extra={
                "response_id": message["response_id"],
                "retry_after": exc.retry_after,
                "deferrals": deferrals + 1,
            },
        )
        return
    logger.info(
        "LinkedIn notification processed",
        extra={"action": message["action"], "response_id": message["response_id"], "outcome": outcome},
    )


def linkedin_leads(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """LinkedIn work queue: fetch each created response and capture it; erase each deleted one."""
    return process(event, context, EventType.SQS, _linkedin_notification)
