"""DynamoDB capacity units per request: what the service reports, and what item sizes cost.

:func:`metering` hooks botocore's events on every client created while it is installed (boto3's,
PynamoDB's, Powertools'): ``before-parameter-build`` asks every DynamoDB call for
``ReturnConsumedCapacity=TOTAL`` and hands its parameters to the :class:`Meter`; ``after-call`` gives
the meter the answer, whose ``ConsumedCapacity`` is summed as the *reported* units. Against real
DynamoDB those are the units billed. moto answers with a constant (and nothing for transactions), so
the meter also sizes every item written or read the way DynamoDB does and charges (the *computed*
units, the figures the benchmarks report on moto):

- writes: 1 WCU per started KB of the larger of the item before and after the write (a delete: the
  item deleted), x2 inside a transaction; plus each secondary index the write changes, by DynamoDB's
  rule (Developer Guide, "Global Secondary Indexes", "Write Capacity Units": "if a write to a table
  does not require a global secondary index update, then no write capacity is consumed from the
  index"): an item entering or leaving the index (indexes are sparse: it holds the index's keys) or
  changing a projected attribute, 1 WCU per started KB of what the index projects (``ALL``: the item;
  ``KEYS_ONLY``/``INCLUDE``: the keys and the included attributes); an index key changed (A to B), 2
  (the old entry deleted, the new one put); nothing projected changed, nothing. The item before and
  after come from :attr:`Meter.peek` (moto's memory: :func:`moto_peek`), read around each write.
  Without it (a meter fed by hand) the old approximation stands: a put is charged every index its new
  item is in, an update or delete its minimum, 1, and 1 per index whose attributes it names (a delete:
  every index) — an update of an ``ALL``-projected index was charged even when the item is not in it,
  and a put that changes nothing an index holds was charged that index. Index writes
  are charged x1 inside a transaction too (``TRANSACTION_INDEX_FACTOR``): DynamoDB's guide ("Capacity
  management for transactions") doubles the *item* writes of a transaction (prepare and commit), and
  an index is updated from the committed item, asynchronously, as for any write. Until 2026-12-07 the
  meter doubled them as an upper bound; ``LEADFLOW_BENCH_TX_INDEX_FACTOR=2`` gives that reading back
  (issue 19's before/after figures are given on both);
- reads: 1 RCU per started 4 KB for a strongly consistent read, 0.5 for an eventually consistent
  one, x2 inside a transaction; a query or scan charges the sum of the items' sizes it returns.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Operations that accept ``ReturnConsumedCapacity``.
CAPACITY_OPERATIONS = frozenset(
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
#: Index writes inside a transaction: x1 (see the module's docstring); 2 for the old upper bound.
TRANSACTION_INDEX_FACTOR = int(os.environ.get("LEADFLOW_BENCH_TX_INDEX_FACTOR", "1"))
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def attribute_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = len(str(data).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in data.items())
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in data)
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in data)
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass(frozen=True)
class Index:
    """A secondary index as the template declares it."""

    keys: tuple[str, ...]
    table_keys: tuple[str, ...]
    projection: str = "ALL"
    include: tuple[str, ...] = ()

    def projected(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """What the index stores of ``item``; ``None`` when the item is not in it."""
        if any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return item
        names = {*self.keys, *self.table_keys, *self.include}
        return {k: v for k, v in item.items() if k in names}

    def names(self) -> set[str]:
        return {*self.keys, *self.include}

    def writes(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
        """Write units the index takes when ``old`` becomes ``new`` (``None``: no item), by DynamoDB's
        rule (the module's docstring): 0 when nothing it holds changes, 2 when its key changes."""
        before = self.projected(old) if old is not None else None
        after = self.projected(new) if new is not None else None
        if before == after:
            return 0
        if before is None or after is None:
            return max(1, math.ceil(item_size(before or after or {}) / 1024))
        if any(before[k] != after[k] for k in self.keys):
            return max(1, math.ceil(item_size(before) / 1024)) + max(1, math.ceil(item_size(after) / 1024))
        return max(1, math.ceil(item_size(after) / 1024))


def indexes_of(template: dict[str, Any]) -> dict[str, list[Index]]:
    """The secondary indexes (global and local) of every table of a CloudFormation template, by logical
    id."""
    found: dict[str, list[Index]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        table_keys = tuple(k["AttributeName"] for k in props["KeySchema"])
        found[logical_id] = [
            Index(
                keys=tuple(k["AttributeName"] for k in index["KeySchema"]),
                table_keys=table_keys,
                projection=index["Projection"]["ProjectionType"],
                include=tuple(index["Projection"].get("NonKeyAttributes", [])),
            )
            for index in map(
                _deployed, [*props.get("GlobalSecondaryIndexes", []), *props.get("LocalSecondaryIndexes", [])]
            )
            if index is not None
        ]
    return found


def _deployed(index: dict[str, Any]) -> dict[str, Any] | None:
    """An index under a condition (``Fn::If``: its parameter's default is to have it) is metered."""
    if "Fn::If" in index:
        chosen = index["Fn::If"][1]
        return chosen if isinstance(chosen, dict) and "IndexName" in chosen else None
    return index


@dataclass
class Meter:
    """Feed it every DynamoDB call (:meth:`before` and :meth:`after`); read ``wcu``, ``rcu``, ``calls``
    (computed from item sizes) and ``reported_wcu``, ``reported_rcu`` (the service's
    ``ConsumedCapacity``). Calls to other services are counted as ``"<service>:<operation>"``."""

    indexes: dict[str, list[Index]] = field(default_factory=dict)
    wcu: float = 0.0
    rcu: float = 0.0
    reported_wcu: float = 0.0
    reported_rcu: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    #: computed units by table (logical id without the stack's prefix): ``{"LeadsTable": [wcu, rcu]}``
    by_table: dict[str, list[float]] = field(default_factory=dict)
    #: computed units and calls by call site: ``{"LeadsTable GetItem services.x:f <- store.y:g": [wcu,
    #: rcu, calls]}`` (the caller is found by :func:`call_site` when the hooks run)
    by_site: dict[str, list[float]] = field(default_factory=dict)
    #: the call site of the call being metered (set by the hooks; "" when fed by hand)
    site: str = ""
    operation: str = ""
    #: ``peek(table name, item or key)``: the item stored under that key now (DynamoDB JSON), or
    #: ``None``; with it, writes are charged from the items before and after (:func:`moto_peek`)
    peek: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None

    def _charge(self, table: str, wcu: float, rcu: float) -> None:
        self.wcu += wcu
        self.rcu += rcu
        name = table.rsplit("-", 1)[-1]
        entry = self.by_table.setdefault(name, [0.0, 0.0])
        entry[0] += wcu
        entry[1] += rcu
        site = self.by_site.setdefault(f"{name} {self.operation} {self.site}".rstrip(), [0.0, 0.0, 0.0])
        site[0] += wcu
        site[1] += rcu

    @property
    def dynamodb_calls(self) -> int:
        return sum(v for k, v in self.calls.items() if ":" not in k)

    def reported(self, name: str, parsed: dict[str, Any]) -> None:
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            if "WriteCapacityUnits" in entry or "ReadCapacityUnits" in entry:
                self.reported_wcu += float(entry.get("WriteCapacityUnits", 0.0))
                self.reported_rcu += float(entry.get("ReadCapacityUnits", 0.0))
            elif name in _WRITES:
                self.reported_wcu += float(entry.get("CapacityUnits", 0.0))
            else:
                self.reported_rcu += float(entry.get("CapacityUnits", 0.0))

    def before(self, name: str, params: dict[str, Any]) -> list[_Pending] | None:
        """Count the call; charge a write now, or (with :attr:`peek`) read the items it writes and
        return them, for :meth:`after` to charge once it is done."""
        self.calls[name] += 1
        self.operation = name
        for table in _tables(name, params):
            self.by_site.setdefault(
                f"{table.rsplit('-', 1)[-1]} {name} {self.site}".rstrip(), [0.0, 0.0, 0.0]
            )[2] += 1
        if self.peek is not None and name in _WRITES:
            return self._before_write(name, params)
        if name == "PutItem":
            self._write(params["TableName"], params["Item"], 1)
        elif name in ("UpdateItem", "DeleteItem"):
            self._change(params["TableName"], params, 1)
        elif name == "TransactWriteItems":
            self._transaction(params["TransactItems"])
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    put = request.get("PutRequest", {}).get("Item")
                    if put is not None:
                        self._write(table, put, 1)
                    else:
                        self._change(table, request["DeleteRequest"], 1)
        return None

    def _before_write(self, name: str, params: dict[str, Any]) -> list[_Pending]:
        assert self.peek is not None
        writes: list[tuple[str, dict[str, Any], int, bool]] = []  # table, key or item, factor, delete
        if name == "PutItem":
            writes.append((params["TableName"], params["Item"], 1, False))
        elif name in ("UpdateItem", "DeleteItem"):
            writes.append((params["TableName"], params["Key"], 1, name == "DeleteItem"))
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        writes.append((table, request["PutRequest"]["Item"], 1, False))
                    else:
                        writes.append((table, request["DeleteRequest"]["Key"], 1, True))
        else:  # TransactWriteItems
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                if kind == "ConditionCheck":
                    self._charge(body["TableName"], 0.0, 2.0)
                else:
                    writes.append((body["TableName"], body.get("Item") or body["Key"], 2, kind == "Delete"))
        return [
            _Pending(table, key, factor, delete, self.peek(table, key))
            for table, key, factor, delete in writes
        ]

    def _after_write(self, pending: list[_Pending]) -> None:
        """Charge each write from its item before and after (a failed one changed nothing: its item
        units only, as DynamoDB charges a failed conditional write)."""
        assert self.peek is not None
        for write in pending:
            new = None if write.delete else self.peek(write.table, write.key)
            size = max(item_size(write.old or {}), item_size(new or {}))
            units = write.factor * max(1, math.ceil(size / 1024))
            index_factor = TRANSACTION_INDEX_FACTOR if write.factor > 1 else 1
            for index in self.indexes.get(write.table, []):
                units += index_factor * index.writes(write.old, new)
            self._charge(write.table, units, 0.0)

    def after(
        self, name: str, params: dict[str, Any], parsed: dict[str, Any], pending: list[_Pending] | None = None
    ) -> None:
        self.operation = name
        if pending is not None:
            self._after_write(pending)
        if name == "GetItem":
            item = parsed.get("Item")
            self._charge(
                params["TableName"],
                0.0,
                self._read([item] if item else [], bool(params.get("ConsistentRead"))),
            )
        elif name in ("Query", "Scan"):
            read = self._read(parsed.get("Items", []), bool(params.get("ConsistentRead")), summed=True)
            self._charge(params["TableName"], 0.0, read)
        elif name == "BatchGetItem":
            # every requested key is charged, found or not (a missing item costs the minimum)
            for table, request in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                consistent = bool(request.get("ConsistentRead"))
                missing = len(request["Keys"]) - len(found)
                self._charge(
                    table,
                    0.0,
                    (self._read(found, consistent) if found else 0) + missing * (1.0 if consistent else 0.5),
                )

    def _transaction(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            ((kind, body),) = entry.items()
            if kind == "Put":
                self._write(body["TableName"], body["Item"], 2)
            elif kind == "ConditionCheck":
                self._charge(body["TableName"], 0.0, 2.0)
            else:
                self._change(body["TableName"], body, 2)

    def _write(self, table: str, item: dict[str, Any], factor: int) -> None:
        units = factor * max(1, math.ceil(item_size(item) / 1024))
        index_factor = TRANSACTION_INDEX_FACTOR if factor > 1 else 1
        for index in self.indexes.get(table, []):
            projected = index.projected(item)
            if projected is not None:
                units += index_factor * max(1, math.ceil(item_size(projected) / 1024))
        self._charge(table, units, 0.0)

    def _change(self, table: str, body: dict[str, Any], factor: int) -> None:
        """An update or a delete: the item is not known here, so its minimum, and 1 per index it may
        touch (a delete: every index; an update: those whose attributes it names)."""
        named = set(body.get("ExpressionAttributeNames", {}).values())
        touched = [
            index
            for index in self.indexes.get(table, [])
            if "UpdateExpression" not in body or index.projection == "ALL" or named & index.names()
        ]
        index_factor = TRANSACTION_INDEX_FACTOR if factor > 1 else 1
        self._charge(table, factor + index_factor * len(touched), 0.0)

    @staticmethod
    def _read(items: list[dict[str, Any]], consistent: bool, summed: bool = False) -> float:
        per = 1.0 if consistent else 0.5
        if not items:
            return per
        if summed:
            return per * max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
        return sum(per * max(1, math.ceil(item_size(i) / 4096)) for i in items)


@dataclass(frozen=True)
class _Pending:
    """A write being made: its table, key (or item), factor (2 in a transaction), and the item before."""

    table: str
    key: dict[str, Any]
    factor: int
    delete: bool
    old: dict[str, Any] | None


def moto_peek(table_name: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """The item stored under ``item``'s key in moto's memory (in-process ``mock_aws``), unmetered."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)][
        os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    ]
    table = backend.get_table(table_name)
    key = {table.hash_key_attr: item[table.hash_key_attr]}
    if table.range_key_attr:
        key[table.range_key_attr] = item[table.range_key_attr]
    found = backend.get_item(table_name, key)
    return dict(found.to_json()["Attributes"]) if found is not None else None


def _tables(name: str, params: dict[str, Any]) -> list[str]:
    if "TableName" in params:
        return [params["TableName"]]
    if name == "TransactWriteItems":
        return sorted({next(iter(e.values()))["TableName"] for e in params["TransactItems"]})
    return sorted(params.get("RequestItems", {}))


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def call_site() -> str:
    """Where the call comes from: the innermost function of ``chalicelib/services`` (or the handler's
    module) and the innermost of ``chalicelib/store``, as ``"services.x:f <- store.y:g"``."""
    frame = sys._getframe(2)
    store = service = ""
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(_ROOT) and "/bench/" not in path and "/.venv/" not in path:
            module = os.path.relpath(path, _ROOT).removesuffix(".py").replace(os.sep, ".")
            module = module.removeprefix("chalicelib.")
            where = f"{module}:{frame.f_code.co_name}"
            if module.startswith("store.") or module.startswith("leadflow_local"):
                store = store or where
            elif not service:
                service = where
                break
        frame = frame.f_back  # type: ignore[assignment]
    return " <- ".join(w for w in (service, store) if w)


# ---------------------------------------------------------------- botocore event hooks

_active: list[Meter] = []
_installed: list[Any] = []


def _before_parameter_build(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    if model.name in CAPACITY_OPERATIONS:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    context["bench_params"] = params
    site = call_site() if _active else ""
    context["bench_site"] = site
    pending = context.setdefault("bench_pending", {})
    for meter in _active:
        meter.site = site
        pending[id(meter)] = meter.before(model.name, params)


def _after_call(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    params = context.get("bench_params", {})
    pending = context.get("bench_pending", {})
    for meter in _active:
        meter.site = context.get("bench_site", "")
        meter.after(model.name, params, parsed, pending.get(id(meter)))
        meter.reported(model.name, parsed)


def _before_call(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if service != "dynamodb":
        for meter in _active:
            meter.calls[f"{service}:{model.name}"] += 1


def install() -> None:
    """Register the hooks on every botocore client created from now on (idempotent). Install it before
    the code under test builds its clients (they are cached)."""
    if _installed:
        return
    from botocore.session import Session

    original = Session.create_client

    def create_client(self: Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", _before_parameter_build)
        events.register("after-call.dynamodb", _after_call)
        events.register("before-call", _before_call)
        return client

    Session.create_client = create_client
    _installed.append(original)


@contextlib.contextmanager
def metering(meter: Meter) -> Iterator[Meter]:
    """Feed ``meter`` every call made by clients created after :func:`install`, while in the block."""
    install()
    _active.append(meter)
    try:
        yield meter
    finally:
        _active.remove(meter)
