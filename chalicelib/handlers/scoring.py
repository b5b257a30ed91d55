"""The scoring functions: rescore on change (four DynamoDB streams), rescoring jobs (SQS), daily aging.

Each reports partial batch failures; a record that keeps failing is dead-lettered by the event-source
settings in ``infra/template.json``. Rescoring writes only changed scores, so replays are harmless."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.domain.changes import AccountChange, ContactChange
from chalicelib.handlers.batch import last_touches, process
from chalicelib.observability import flush, logger
from chalicelib.services import scoring
from chalicelib.store import changes


def score_changes(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A new interaction, or a change to a lead's, contact's or account's fields, rescores the leads
    of the contacts concerned for every active model (each contact once per batch, at its last record:
    ``last_touches``)."""
    deps = wiring.deps()
    now = datetime.now(UTC)
    done: set[str] = set()

    decoded = changes.decoder()

    def touched(record: DynamoDBRecord) -> list[str]:
        change = decoded(record)
        return scoring.contacts_touched(change, deps) if change is not None else []

    def without_io(record: DynamoDBRecord) -> list[str]:
        if isinstance(decoded(record), AccountChange):
            raise LookupError("an account's contacts are read when its record is processed")
        return touched(record)

    last = last_touches(event, without_io)

    def handle(record: DynamoDBRecord) -> None:
        change = decoded(record)
        if (
            isinstance(change, ContactChange)
            and change.event == "MODIFY"
            and change.old is not None
            and change.new is not None
            and change.old.account_id != change.new.account_id
        ):
            # the contact moved: its interactions carry their account for the account index (issue
            # 19, item 5); before rescoring, so the new account's read finds them
            deps.store.restamp_interactions(change.contact_id, change.new.account_id)
        sequence = str(record.dynamodb.sequence_number) if record.dynamodb else ""
        fresh = [
            contact_id
            for contact_id in touched(record)
            if contact_id not in done and last.get(contact_id, sequence) == sequence
        ]
        if fresh:
            changed = scoring.rescore_contacts(fresh, deps, now)
            logger.info("rescored", extra={"contacts": len(fresh), "scores_changed": changed})
        done.update(fresh)

    return process(event, context, EventType.DynamoDBStreams, handle)


def rescore(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Rescoring jobs: one page of one scan segment per message. A training run queued here before
    training had its own queue is moved there (its function has the memory and time it needs)."""
    deps = wiring.deps()

    def handle(record: SQSRecord) -> None:
        message = json.loads(record.body)
        if message.get("kind") == "train":
            deps.training_queue.send_json(message)
            logger.info("training run moved to the training queue", extra={"job_id": message.get("job_id")})
        else:
            scoring.rescore_page(message, deps, datetime.now(UTC))

    return process(event, context, EventType.SQS, handle)


def score_timers() -> dict[str, Any]:
    """Every minute: rescore the leads whose score timer is due (``services/scoring.py: run_timers``):
    the crossings decay makes, and interactions leaving a window. No scan: a sparse index of timers."""
    try:
        done = scoring.run_timers(wiring.deps(), datetime.now(UTC))
        if done["due"]:
            logger.info("score timers", extra=done)
        return done
    finally:
        flush()
