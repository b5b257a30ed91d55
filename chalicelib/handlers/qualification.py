"""Qualification (scores stream), the hand-off publisher (outbox stream) and triggers (interactions
stream). Each reports partial batch failures and is safe to run twice on a record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib import wiring
from chalicelib.domain.entities import Interaction
from chalicelib.domain.interactions import parse_time
from chalicelib.handlers.batch import last_touches, process
from chalicelib.observability import flush
from chalicelib.services import handoffs, qualification, rules, triggers


def _is(record: DynamoDBRecord, *names: str) -> bool:
    return record.event_name is not None and record.event_name.name in names and record.dynamodb is not None


def _keys(record: DynamoDBRecord) -> dict[str, Any]:
    return dict(record.dynamodb.keys or {}) if record.dynamodb else {}


def _image(record: DynamoDBRecord) -> dict[str, Any]:
    return dict(record.dynamodb.new_image or {}) if record.dynamodb else {}


def qualify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A score, a lead or a contact changed: fire the qualification rules that now hold (each lead once
    per batch, at its last record: ``last_touches``)."""
    deps = wiring.deps()
    now = datetime.now(UTC)
    done: set[str] = set()
    loaded = rules.load_rules(deps)  # once per batch, not per record

    def touched(record: DynamoDBRecord) -> list[str]:
        if record.event_name is None or record.dynamodb is None:
            return []
        old = dict(record.dynamodb.old_image or {})
        return qualification.leads_to_qualify(record.event_name.name, _keys(record), old, _image(record))

    last = last_touches(event, touched)

    def handle(record: DynamoDBRecord) -> None:
        sequence = str(record.dynamodb.sequence_number) if record.dynamodb else ""
        for lead_id in touched(record):
            if lead_id not in done and last.get(lead_id, sequence) == sequence:
                qualification.qualify_lead(lead_id, deps, now, loaded)
                done.add(lead_id)

    return process(event, context, EventType.DynamoDBStreams, handle)


def publish_handoffs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """New outbox records go to the sales-handoff FIFO queue, then are marked sent."""
    deps = wiring.deps()

    def handle(record: DynamoDBRecord) -> None:
        if _is(record, "INSERT"):
            handoffs.publish_handoff(str(_keys(record)["handoff_id"]), deps, datetime.now(UTC))

    return process(event, context, EventType.DynamoDBStreams, handle)


def run_triggers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each new interaction is offered to the triggers, once."""
    deps = wiring.deps()
    loaded = rules.load_triggers(deps)  # once per batch, not per record

    def handle(record: DynamoDBRecord) -> None:
        if not _is(record, "INSERT"):
            return
        image = _image(record)
        interaction = Interaction(
            interaction_id=str(image["interaction_id"]),
            contact_id=str(image["contact_id"]),
            type=str(image["type"]),
            occurred_at=parse_time(str(image["occurred_at"]).replace("+0000", "+00:00")),
            properties=dict(image.get("properties") or {}),
            lead_id=image.get("lead_id"),
        )
        triggers.run_triggers(interaction, deps, datetime.now(UTC), loaded)

    return process(event, context, EventType.DynamoDBStreams, handle)


def republish_handoffs() -> dict[str, Any]:
    """Every five minutes: send the hand-offs the publisher could not (see ``republish_unsent``)."""
    try:
        return {"republished": handoffs.republish_unsent(wiring.deps(), datetime.now(UTC))}
    finally:
        flush()
