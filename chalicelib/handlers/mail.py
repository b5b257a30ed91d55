"""SES events (configuration set -> SNS topic -> SQS queue -> here): bounces and complaints suppress
the address; Send/Delivery events reconcile a message a crash left ``sending``. Partial batch failures
(a failed record is retried, then dead-lettered: ``MailEventsDeadLetterQueue``)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.handlers.batch import process
from chalicelib.observability import logger


def _one(record: SQSRecord) -> None:
    from chalicelib.services import mail

    done = mail.ses_event(json.loads(record.body), wiring.deps())
    logger.info("ses event", extra={"message_id": record.message_id, "done": done})


def mail_events(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, EventType.SQS, _one)
