"""Faster DynamoDB answers from moto (local stack only; never imported in Lambda).

moto 5.2 writes every answer with a serializer driven by botocore's shapes: each attribute of each
item is looked up member by member, through aliases and transformers. Under the local stack's load
that was a fifth of all its CPU (py-spy on ``bench.throughput``: ``ResponseSerializer`` 22%). For the
data-plane operations the stack's functions call thousands of times (items in, items out) moto's
result is already the answer's JSON: plain dicts of DynamoDB's attribute values (``DynamoResult``
turned moto's types into them), binary values as bytes. So they are written with ``json.dumps``,
binary values base64-encoded and missing (``None``) members left out, as the serializer does;
``tests/integration/test_moto_speed.py`` compares both writers' answers, parsed by botocore, over
every kind of attribute value and answer these operations give. DynamoDB Streams' ``GetRecords``
(the pump's every read: 10% of the CPU left after that) is written the same way, its timestamps as
epoch seconds. Every other operation (tables, streams' descriptions, errors) keeps moto's serializer.

moto's SQS checks each message it receives against the queue's retention period by asking for that one
attribute through ``get_queue_attributes``, which builds every attribute of the queue three times,
message counts included (each a pass over every message): a receive cost the square of the queue's
depth. Here the check reads the queue's retention period itself (the same integer).

Two pure functions moto calls on every request are memoised: ``method_names_from_class`` (which
lists a response class's methods with ``inspect.getmembers``, 2.4% of the stack's CPU under load)
and ``camelcase_to_underscores`` (the action's name, 1.4%); their answers depend only on their
argument (a class's method names do not change once the stack runs: every patch here replaces
methods that exist).
"""

from __future__ import annotations

import base64
import calendar
import functools
import json
from datetime import datetime
from typing import Any

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}
_ORIGINAL: list[Any] = []
_MEMOISED: dict[str, Any] = {}


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):  # epoch seconds, as the JSON protocol's timestamps (naive: UTC)
        if value.tzinfo is None:
            return calendar.timegm(value.timetuple()) + value.microsecond / 1e6
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def write(result: Any) -> str:
    """A data-plane operation's answer, as moto's serializer writes it."""
    return json.dumps(_without_none(result), default=_default, separators=(",", ":"))


def _within_retention(self: Any, queue_name: str, message: Any) -> bool:
    """moto's ``SQSBackend.is_message_valid_based_on_retention_period``, reading the one attribute."""
    from moto.core.utils import unix_time

    retention_period = self.get_queue(queue_name).message_retention_period
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


def install() -> None:
    """Data-plane answers (and DynamoDB Streams' ``GetRecords``: the pump's every read) through
    :func:`write` (idempotent; for every caller of this process's moto)."""
    from moto.core import responses
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if _ORIGINAL:
        return
    original = DynamoResult.execute_result
    get_records = DynamoDBStreamsHandler.get_records
    _ORIGINAL.append((original, get_records))
    _MEMOISED.update(
        method_names_from_class=responses.method_names_from_class,
        camelcase_to_underscores=responses.camelcase_to_underscores,
    )
    from moto.sqs.models import SQSBackend

    retention = "is_message_valid_based_on_retention_period"
    _MEMOISED[retention] = getattr(SQSBackend, retention)
    setattr(SQSBackend, retention, _within_retention)
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)
    responses.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(responses.camelcase_to_underscores)

    class Written(ActionResult):
        def execute_result(self, context: Any) -> Any:
            try:
                return 200, dict(_HEADERS), write(self.result)
            except TypeError:
                return super().execute_result(context)

    def records(self: Any) -> Any:
        return Written(get_records(self).result)

    DynamoDBStreamsHandler.get_records = records  # type: ignore[method-assign]

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in DATA_PLANE:
            try:
                return 200, dict(_HEADERS), write(self.result)
            except TypeError:  # something the plain writer does not know: moto's serializer
                pass
        return original(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def uninstall() -> None:
    """moto's own serializer again (tests compare both)."""
    from moto.core import responses
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if _ORIGINAL:
        DynamoResult.execute_result, DynamoDBStreamsHandler.get_records = _ORIGINAL.pop()  # type: ignore[method-assign]
        from moto.sqs.models import SQSBackend

        retention = "is_message_valid_based_on_retention_period"
        setattr(SQSBackend, retention, _MEMOISED.pop(retention))
        for name, function in _MEMOISED.items():
            setattr(responses, name, function)
        _MEMOISED.clear()
