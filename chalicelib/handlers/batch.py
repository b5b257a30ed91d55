"""The one way batch handlers run: Powertools partial-failure processing, metrics flushed after."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.observability import bind_correlation_id, flush, valid_correlation_id


def _correlation_of(record: Any) -> str | None:
    """The correlation id a record carries: a stream record's new image, a queue message's body."""
    dynamodb = getattr(record, "dynamodb", None)
    if dynamodb is not None:
        return valid_correlation_id((dynamodb.new_image or {}).get("correlation_id"))
    body = getattr(record, "body", None)
    if isinstance(body, str) and body.startswith("{") and '"correlation_id"' in body:
        with contextlib.suppress(ValueError):
            return valid_correlation_id(json.loads(body).get("correlation_id"))
    return None


def process(
    event: dict[str, Any], context: Any, kind: EventType, handle: Callable[[Any], None]
) -> dict[str, Any]:
    """``{"batchItemFailures": [...]}`` naming only the records ``handle`` raised on. Each record's
    work is bound to the correlation id it carries."""

    def each(record: Any) -> None:  # Powertools passes ``record=``
        bind_correlation_id(_correlation_of(record))
        try:
            handle(record)
        finally:
            bind_correlation_id(None)

    try:
        return dict(
            process_partial_response(
                event=event, record_handler=each, processor=BatchProcessor(kind), context=context
            )
        )
    finally:
        flush()


def last_touches(event: dict[str, Any], touched: Callable[[Any], list[str]]) -> dict[str, str]:
    """Key (a contact, a lead) -> the sequence number of the batch's last stream record touching it.

    A stream function evaluates each key once per batch, from the stored state, which already holds
    every change of the batch: it does so at the key's last record, so the work is bound to the
    correlation id of the newest change (the request that completed what the evaluation sees).
    ``touched`` must not do I/O; records it cannot judge (it raises) are left out."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    found: dict[str, str] = {}
    for raw in event.get("Records", []):
        record = DynamoDBRecord(raw)
        if record.dynamodb is None or record.event_name is None:
            continue
        try:
            keys = touched(record)
        except Exception:  # noqa: S112 - judged again, with I/O, when the record is processed
            continue
        for key in keys:
            found[key] = str(record.dynamodb.sequence_number)
    return found
