"""A sales system's consumer of Leadflow hand-offs, as small as it can be.

    HANDOFF_QUEUE_URL=... python examples/sales_consumer.py

Against the local stack, its profile (``make run`` writes it) names the queue and moto's endpoint:
``.venv/bin/python examples/sales_consumer.py`` needs nothing else.

Each message is a CloudEvents 1.0 JSON envelope. ``id`` is the hand-off id and stays the same if the
message is delivered again (SQS delivers at least once), so remember the ids you handled and skip
repeats. Delete a message only after handling it; a message you fail on comes back, and after the
queue's receive limit moves to the dead-letter queue (``leadflow handoff redrive`` moves it back).
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from chalicelib.integrations.handoff_consumer import consume


def create_in_crm(event: dict[str, Any]) -> None:
    if event["type"] == "leadflow.contact.erased":  # the person was erased: delete what you hold
        print(f"erase lead {event['data']['lead_id']} and hand-offs {event['data']['handoff_ids']}")
        return
    work = event["data"]["handoff"]
    contact = event["data"]["contact"] or {}
    print(
        f"{event['type']}: {work.get('subject') or work.get('name')} for {contact.get('email')} "
        f"(lead {event['subject']}, owner {work.get('owner') or 'none'}, "
        f"due {work.get('due_at', 'any time')})"
    )


if __name__ == "__main__":
    from leadflow_local import profiles

    profiles.use_aws_environment(None)  # the local stack's queue and endpoint when nothing else is set
    sqs = boto3.client("sqs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    handled: set[str] = set()  # a real system keeps these in its database
    while True:
        consume(sqs, os.environ["HANDOFF_QUEUE_URL"], create_in_crm, handled, wait_seconds=20)
