"""Journeys' engine (docs/journeys.md): the minute sweep queues the enrollments that are due; the
JourneySteps queue's worker moves each one on (partial batch failures: a failed message is retried,
then dead-lettered to ``JourneyStepsDeadLetterQueue``, alarmed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.handlers.batch import process
from chalicelib.observability import flush, logger


def _one(record: SQSRecord) -> None:
    from chalicelib.services import journeys

    body = json.loads(record.body)
    deps = wiring.deps()
    if "populate" in body:
        entered = journeys.populate(str(body["populate"]), body.get("cursor"), deps)
        logger.info(
            "journey segment page entered", extra={"journey_id": body["populate"], "entered": entered}
        )
        return
    if "stop" in body:
        left = journeys.leave_stopped(str(body["stop"]), body.get("cursor"), deps)
        logger.info("stopped journey page left", extra={"journey_id": body["stop"], "left": left})
        return
    done = journeys.run(str(body["contact_id"]), str(body["journey_id"]), deps)
    if done:
        logger.info("journey steps", extra={"journey_id": body["journey_id"], "done": done})


def journey_steps(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, EventType.SQS, _one)


def journey_sweep(now: datetime | None = None) -> dict[str, Any]:
    """Queue every enrollment due by now (``services/journeys.py: sweep``)."""
    from chalicelib.services import journeys

    try:
        return journeys.sweep(wiring.deps(), now or datetime.now(UTC))
    finally:
        flush()
