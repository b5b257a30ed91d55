"""Stream records decoded once into typed changes (``chalicelib/domain/changes.py``): the table a
record comes from, its keys, and its old and new images mapped to domain entities by the same
``*Record`` classes and mappers that wrote them.

The table is the one the record's ``eventSourceARN`` names when it is one of ours; otherwise (records
rebuilt from a retry message, hand-made test events) the key schema tells, which is unique per streamed
table (``records.py`` documents it): ``contact_id`` + ``interaction_id`` interactions, ``lead_id`` +
``model_id`` scores, ``lead_id`` leads, ``contact_id`` contacts, ``account_id`` accounts,
``handoff_id`` the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib.domain.changes import (
    AccountChange,
    AnyChange,
    ContactChange,
    Event,
    HandoffChange,
    InteractionChange,
    LeadChange,
    ScoreChange,
)
from chalicelib.store.dynamo import account_from, contact_from, interaction_from, lead_from
from chalicelib.store.records import (
    AccountRecord,
    ContactRecord,
    HandoffRecord,
    InteractionRecord,
    LeadRecord,
    ScoreRecord,
)

_EVENTS: frozenset[str] = frozenset({"INSERT", "MODIFY", "REMOVE"})


def _table_of_arn(arn: str | None) -> str | None:
    """``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`` -> the record class's name."""
    if not arn or ":table/" not in arn:
        return None
    name = arn.split(":table/", 1)[1].split("/", 1)[0]
    for record in (ContactRecord, AccountRecord, LeadRecord, InteractionRecord, ScoreRecord, HandoffRecord):
        if record.Meta.table_name == name:
            return record.__name__
    return None


def _table_of_keys(keys: dict[str, Any]) -> str | None:
    names = set(keys)
    if names == {"contact_id", "interaction_id"}:
        return InteractionRecord.__name__
    if names == {"lead_id", "model_id"}:
        return ScoreRecord.__name__
    if names == {"lead_id"}:
        return LeadRecord.__name__
    if names == {"contact_id"}:
        return ContactRecord.__name__
    if names == {"account_id"}:
        return AccountRecord.__name__
    if names == {"handoff_id"}:
        return HandoffRecord.__name__
    return None


def _image(raw: dict[str, Any] | None, record: Any, mapper: Callable[[Any], Any]) -> Any:
    return mapper(record.from_raw_data(raw)) if raw else None


def decode(record: DynamoDBRecord) -> AnyChange | None:
    """The change a stream record describes; ``None`` for a record that is not one (no event name or
    no ``dynamodb`` part) or comes from a table no stream function reads."""
    stream = record.dynamodb
    if stream is None or record.event_name is None or record.event_name.name not in _EVENTS:
        return None
    event: Event = record.event_name.name  # type: ignore[assignment]
    raw: dict[str, Any] = stream.raw_event
    keys = {k: str(v) for k, v in (stream.keys or {}).items()}
    old, new = raw.get("OldImage"), raw.get("NewImage")
    sequence = str(stream.sequence_number)
    table = _table_of_arn(record.event_source_arn) or _table_of_keys(keys)
    if table == ContactRecord.__name__:
        return ContactChange(
            event=event,
            sequence=sequence,
            contact_id=keys["contact_id"],
            old=_image(old, ContactRecord, contact_from),
            new=_image(new, ContactRecord, contact_from),
        )
    if table == AccountRecord.__name__:
        return AccountChange(
            event=event,
            sequence=sequence,
            account_id=keys["account_id"],
            old=_image(old, AccountRecord, account_from),
            new=_image(new, AccountRecord, account_from),
        )
    if table == LeadRecord.__name__:
        return LeadChange(
            event=event,
            sequence=sequence,
            lead_id=keys["lead_id"],
            old=_image(old, LeadRecord, lead_from),
            new=_image(new, LeadRecord, lead_from),
        )
    if table == InteractionRecord.__name__:
        return InteractionChange(
            event=event,
            sequence=sequence,
            contact_id=keys["contact_id"],
            interaction_id=keys["interaction_id"],
            new=_image(new, InteractionRecord, interaction_from),
        )
    if table == ScoreRecord.__name__:
        return ScoreChange(event=event, sequence=sequence, lead_id=keys["lead_id"], model_id=keys["model_id"])
    if table == HandoffRecord.__name__:
        return HandoffChange(event=event, sequence=sequence, handoff_id=keys["handoff_id"])
    return None


def decoder() -> Callable[[DynamoDBRecord], AnyChange | None]:
    """:func:`decode` remembered per sequence number, for a batch a handler reads twice (once to find
    each key's last record, once to process): each record is decoded once."""
    seen: dict[str, AnyChange | None] = {}

    def decoded(record: DynamoDBRecord) -> AnyChange | None:
        sequence = str(record.dynamodb.sequence_number) if record.dynamodb else ""
        if not sequence:
            return decode(record)
        if sequence not in seen:
            seen[sequence] = decode(record)
        return seen[sequence]

    return decoded
