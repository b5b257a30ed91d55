"""The tracking functions: record queued interactions; keep each contact's last-activity time.

Both answer with ``batchItemFailures`` so one bad record is retried (then dead-lettered, see
``infra/template.json``) without holding back the others; both are safe to run twice on a record."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.domain.changes import InteractionChange
from chalicelib.handlers.batch import process
from chalicelib.observability import logger
from chalicelib.services import interactions
from chalicelib.store import changes


def _record_message(record: SQSRecord) -> None:
    recorded = interactions.record_batch(json.loads(record.body), wiring.deps())
    logger.info("interactions recorded", extra={"message_id": record.message_id, "recorded": recorded})


def record_interactions(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS (tracking queue) -> interactions table. Redelivery is harmless: writes are conditional."""
    return process(event, context, EventType.SQS, _record_message)


#: Who removes an item whose TTL passed (the stream record's ``userIdentity``).
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def expired(record: DynamoDBRecord) -> bool:
    """A removal by DynamoDB's TTL (an interaction past its retention), not by a write of ours."""
    identity = record.raw_event.get("userIdentity") or {}
    return record.raw_event.get("eventName") == "REMOVE" and identity.get("principalId") == TTL_PRINCIPAL


def _note_activity(record: DynamoDBRecord) -> None:
    change = changes.decode(record)
    if isinstance(change, InteractionChange) and expired(record):
        # an interaction past its retention leaves the contact's counts (issue 19, item 5): counted
        # again from the history, which is idempotent where a decrement would not be on redelivery
        interactions.recount(change.contact_id, wiring.deps())
        return
    if isinstance(change, InteractionChange) and change.event == "INSERT" and change.new is not None:
        if change.new.noted:
            return  # its capture wrote the contact's last_interaction_at with it
        interactions.note_activity(change.contact_id, change.new.occurred_at, wiring.deps())


def note_activity(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Interactions stream -> the contact's ``last_interaction_at`` (newest wins: idempotent)."""
    return process(event, context, EventType.DynamoDBStreams, _note_activity)
