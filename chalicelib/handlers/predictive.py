"""Predictive training: queued runs (``POST .../train``, the training queue) and the weekly retrain (an
EventBridge schedule).

A queued run redelivered finds its job done and does nothing; a schedule event may arrive twice: each
model is trained once per ISO week (a job records it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.handlers.batch import process
from chalicelib.observability import flush, logger
from chalicelib.services import predictive


def train_predictive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Training queue: one run per message (batch size 1: a run may take most of the 15 minutes)."""
    deps = wiring.deps()

    def handle(record: SQSRecord) -> None:
        predictive.run_training_job(json.loads(record.body), deps, datetime.now(UTC))

    return process(event, context, EventType.SQS, handle)


def retrain_weekly() -> dict[str, Any]:
    try:
        results = predictive.retrain_all(wiring.deps(), datetime.now(UTC))
        logger.info(
            "predictive retrain queued",
            extra={"models": {k: "queued" if "queued" in v else "skipped" for k, v in results.items()}},
        )
        return {"models": results}
    finally:
        flush()
