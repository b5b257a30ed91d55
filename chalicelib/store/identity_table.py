"""The identity table's items and what every identity repository shares (``records.py`` documents the
item types): blocking keys, suspicions, merges, segments and erasure markers live in one table, each
aggregate's repository in its own module (``duplicates``, ``merges``, ``segments``, ``erasures``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.store.dynamo import contact_from, contact_record
from chalicelib.store.records import (
    ContactRecord,
    IdentityRecord,
)

DUPLICATES = "duplicates"
ERASED = "[erased]"


def _item(pk: str, sk: str, data: dict[str, Any], now: datetime) -> IdentityRecord:
    return IdentityRecord(pk, sk, data=json.dumps(data, default=str), created_at=now, updated_at=now)


def _delete_if(record: Any, condition: Any) -> bool:
    """Delete under ``condition`` (whatever the item's version); ``False`` when it did not hold."""
    try:
        record.delete(condition=condition, add_version_condition=False)
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _ignore_missing(action: Callable[[], Any]) -> bool:
    try:
        action()
    except (DeleteError, UpdateError, PutError) as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _merge_out(data: dict[str, Any]) -> dict[str, Any]:
    """A merge record as stored: the contacts of ``before`` as their items (the undo restores them)."""
    before = [dict(ContactRecord.serialize(contact_record(c))) for c in data.get("before", [])]
    return {**data, "before": before}


class IdentityTable:
    """The connection (for transactions) and the contact writes every identity repository makes."""

    def __init__(self, connection: Connection, idempotency_table: str, phone_index: bool = True) -> None:
        self._connection = connection
        self._idempotency_table = idempotency_table
        #: Whether the contacts' ``by_dup_phone`` index exists (``Settings.duplicate_phone_index``).
        self._phone_index = phone_index

    def save_contact(self, contact: Contact) -> None:
        """The contact, on the version read (:class:`ConcurrentUpdate` when another write came first)."""
        try:
            contact_record(contact).save()
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("the contact changed meanwhile") from exc
            raise


def contacts(ids: Iterable[str]) -> list[Contact]:
    wanted = list(dict.fromkeys(ids))
    return [contact_from(r) for r in ContactRecord.batch_get(wanted, consistent_read=True)] if wanted else []
