"""Duplicate detection: the contacts stream -> blocking keys and suspected duplicates.

Safe to repeat: a redelivered record rewrites the same suspicions. It consumes contacts and
writes only the identity table, so it never feeds itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.domain.changes import ContactChange, differs
from chalicelib.handlers.batch import process
from chalicelib.services import duplicates
from chalicelib.store import changes

#: Contact attributes duplicates are judged on; other changes (activity time, version) are ignored.
_WATCHED = ("email", "fields", "account_id")
#: The contact item's blocking keys (``records.ContactRecord``): a change of them alone is the backfill
#: giving a contact written before issue 19 its keys, which makes it findable: it is judged then.
_KEY_ATTRIBUTES = ("dup_mail", "dup_email", "dup_phone")


def _keys_changed(record: DynamoDBRecord) -> bool:
    images = record.raw_event.get("dynamodb", {})
    old, new = images.get("OldImage") or {}, images.get("NewImage") or {}
    return any(old.get(name) != new.get(name) for name in _KEY_ATTRIBUTES)


def _detect(record: DynamoDBRecord) -> None:
    change = changes.decode(record)
    if not isinstance(change, ContactChange):
        return
    if change.event == "REMOVE":
        wiring.deps().identity.forget_contact(change.contact_id)
        return
    unchanged = not differs(change.old, change.new, _WATCHED) and not _keys_changed(record)
    if change.event == "MODIFY" and unchanged:
        return
    duplicates.detect(change.contact_id, wiring.deps(), datetime.now(UTC))


def _erase(record: SQSRecord) -> None:
    from chalicelib.services import erasure

    erasure.run_erasure(json.loads(record.body), wiring.deps(), datetime.now(UTC))


def erase_contacts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The erasure queue: one pass of one erasure job per message (safe to repeat: every step
    deletes what is still there; a failure comes back, then rests in the dead-letter queue)."""
    return process(event, context, EventType.SQS, _erase)


def detect_duplicates(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Contacts stream -> suspected duplicates (never a merge)."""
    return process(event, context, EventType.DynamoDBStreams, _detect)
