"""Faster transactions for moto (local stack, tests and benchmarks only; never imported in Lambda).

moto 5.2 backs every ``TransactWriteItems`` up with ``copy.deepcopy`` of each table it touches,
stream records included, so a transaction costs time in proportion to everything ever written to those
tables: 0.1 s each after 300 imported rows here, and growing. This version keeps DynamoDB's semantics
without the copy: every condition is checked first, against the state before the transaction (items in
one transaction are distinct, so this is what DynamoDB does); only when all hold are the writes applied.
Should applying still fail half way (an invalid update expression), the items touched and the stream
records added are put back as they were, exactly.

It also applies DynamoDB requests one at a time. DynamoDB applies each conditional write atomically;
moto checks a condition and then writes, unguarded, so two threads (the tests' in-process mock, or the
local stack's threaded server) could both pass the same condition: the token bucket handed out a sixth
token of five now and then (``tests/integration/test_moto_transactions.py`` widens that gap on purpose
to show it). Other services are not held up: an SQS long poll must not stop DynamoDB."""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

#: Held while moto handles one DynamoDB request (and by the local stack's snapshots).
DYNAMODB_LOCK = threading.RLock()


def install() -> None:
    """Replace ``DynamoDBBackend.transact_write_items`` and serialise DynamoDB requests (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    if not getattr(DynamoHandler.call_action, "_leadflow_serialised", False):
        DynamoHandler.call_action = _serialised(DynamoHandler.call_action)  # type: ignore[method-assign]


def _serialised(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(call_action)
    def one_at_a_time(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return call_action(self)

    one_at_a_time._leadflow_serialised = True  # type: ignore[attr-defined]
    return one_at_a_time


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _key(self.get_table(op["TableName"]), op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        errors.append(_check(self, op, key))
        plan.append((op_type, op, op["TableName"], key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    _apply(self, plan)


def _key(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(self: Any, op: dict[str, Any], key: dict[str, Any]) -> tuple[str | None, str | None, Any]:
    """``(None, None, None)`` when the item's condition holds, moto's cancellation reason otherwise."""
    from moto.dynamodb.models import get_filter_expression

    expression = op.get("ConditionExpression")
    if expression is None:
        return None, None, None
    current = self.get_item(op["TableName"], key)
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return None, None, None
    original = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        original = current.to_json()["Attributes"]
    return "ConditionalCheckFailed", "The conditional request failed", original


def _apply(self: Any, plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]]) -> None:
    """Write every item (conditions held); on an error, restore the items and streams exactly."""
    saved: list[tuple[Any, dict[str, Any], Any]] = []
    streams: dict[str, tuple[Any, int]] = {}
    for _, _, table_name, key in plan:
        table = self.get_table(table_name)
        current = self.get_item(table_name, key)
        saved.append((table, key, copy.deepcopy(current)))
        if table.stream_shard is not None and table_name not in streams:
            streams[table_name] = (table.stream_shard, len(table.stream_shard.items))
    try:
        for op_type, op, table_name, key in plan:
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name, key, expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table, key, item in saved:
            _restore(table, key, item)
        for shard, length in streams.values():
            del shard.items[length:]
        raise


def _restore(table: Any, key: dict[str, Any], item: Any) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from leadflow_local import moto_index

    moto_index.mark(table, key)  # the item changes under the partition index (leadflow_local/moto_index.py)

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    if range_value is not None:
        if item is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item
