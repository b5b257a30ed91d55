"""Qualification (scores stream), the hand-off publisher (outbox stream) and triggers (interactions
stream). Each reports partial batch failures and is safe to run twice on a record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib import wiring
from chalicelib.domain.changes import HandoffChange, InteractionChange
from chalicelib.handlers.batch import last_touches, process
from chalicelib.observability import flush
from chalicelib.services import handoffs, qualification, rules, triggers
from chalicelib.store import changes


def qualify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A score, a lead or a contact changed: fire the qualification rules that now hold (each lead once
    per batch, at its last record: ``last_touches``); a person whose change may end their journeys (an
    unsubscribe, a lead qualified, a goal) has their enrollments looked at now (``ExitWakes``)."""
    from chalicelib.services import journeys

    deps = wiring.deps()
    now = datetime.now(UTC)
    done: set[str] = set()
    loaded = rules.load_rules(deps)  # once per batch, not per record
    # journeys (issue 18): the journeys' heads read once per batch (kept a few seconds), for entries
    # and exits alike
    wakes = journeys.ExitWakes(deps)
    entering: list[Any] | None = None

    decoded = changes.decoder()

    def touched(record: DynamoDBRecord) -> list[str]:
        change = decoded(record)
        return qualification.leads_to_qualify(change) if change is not None else []

    last = last_touches(event, touched)

    def handle(record: DynamoDBRecord) -> None:
        nonlocal entering
        sequence = str(record.dynamodb.sequence_number) if record.dynamodb else ""
        for lead_id in touched(record):
            if lead_id not in done and last.get(lead_id, sequence) == sequence:
                qualification.qualify_lead(lead_id, deps, now, loaded)
                # journeys: a person newly in a journey's segment, or at its grade, enters
                entering = journeys.entries_on_change(deps, wakes.heads()) if entering is None else entering
                journeys.on_lead_change(lead_id, deps, now, entering)
                done.add(lead_id)
        # journeys: an unsubscribe, a lead qualified (qualification's own status write included: it is
        # not in ``leads_to_qualify``), a goal reached ends the person's journeys now, not at their next
        # step; no read while no journey runs
        change = decoded(record)
        if change is not None:
            wakes.offer(change)

    return process(event, context, EventType.DynamoDBStreams, handle)


def publish_handoffs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """New outbox records go to the sales-handoff FIFO queue, then are marked sent."""
    deps = wiring.deps()

    def handle(record: DynamoDBRecord) -> None:
        change = changes.decode(record)
        if isinstance(change, HandoffChange) and change.event == "INSERT":
            handoffs.publish_handoff(change.handoff_id, deps, datetime.now(UTC))

    return process(event, context, EventType.DynamoDBStreams, handle)


def run_triggers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each new interaction is offered to the triggers, once."""
    from chalicelib.services import journeys

    deps = wiring.deps()
    loaded = rules.load_triggers(deps)  # once per batch, not per record
    heads = deps.journeys.heads(deps.settings.models_cache_seconds)  # journeys (issue 18): likewise

    def handle(record: DynamoDBRecord) -> None:
        change = changes.decode(record)
        if isinstance(change, InteractionChange) and change.event == "INSERT" and change.new is not None:
            triggers.run_triggers(change.new, deps, datetime.now(UTC), loaded)
            # journeys: wake engagement branches, count opens/clicks, enter by trigger
            journeys.on_interaction(change.new, deps, datetime.now(UTC), heads)

    return process(event, context, EventType.DynamoDBStreams, handle)


def republish_handoffs() -> dict[str, Any]:
    """Every five minutes: send the hand-offs the publisher could not (see ``republish_unsent``)."""
    try:
        return {"republished": handoffs.republish_unsent(wiring.deps(), datetime.now(UTC))}
    finally:
        flush()
