"""DynamoDB capacity units per request, computed from item sizes with DynamoDB's published rules.

moto answers ``ReturnConsumedCapacity`` with a constant (and nothing for transactions), so its figure
says nothing about a design. This meter hooks botocore's events, sizes every item written or read the
way DynamoDB does, and charges:

- writes: 1 WCU per started KB of the item (the larger of old and new is not known here: the new item
  is used), x2 inside a transaction, plus the same again for every global secondary index that
  projects the item (``ALL`` projection);
- reads: 1 RCU per started 4 KB for a strongly consistent read, 0.5 for an eventually consistent
  one, x2 inside a transaction; a query or scan charges the sum of the items' sizes it returns.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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


@dataclass
class Meter:
    """Feed it every DynamoDB call (:meth:`before` and :meth:`after`); read ``wcu``, ``rcu``, ``calls``."""

    gsi_count: dict[str, int] = field(default_factory=dict)
    wcu: float = 0.0
    rcu: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    def before(self, name: str, params: dict[str, Any]) -> None:
        self.calls[name] += 1
        if name == "PutItem":
            self._write(params["TableName"], params["Item"], 1)
        elif name in ("UpdateItem", "DeleteItem"):
            self._write(params["TableName"], params.get("Key", {}), 1, minimum=1)
        elif name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                if kind == "Put":
                    self._write(body["TableName"], body["Item"], 2)
                elif kind == "ConditionCheck":
                    self.rcu += 2
                else:
                    self._write(body["TableName"], body.get("Key", {}), 2, minimum=1)
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    put = request.get("PutRequest", {}).get("Item")
                    self._write(table, put or request["DeleteRequest"]["Key"], 1)

    def after(self, name: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if name == "GetItem":
            item = parsed.get("Item")
            self.rcu += self._read([item] if item else [], bool(params.get("ConsistentRead")))
        elif name in ("Query", "Scan"):
            self.rcu += self._read(parsed.get("Items", []), bool(params.get("ConsistentRead")), summed=True)
        elif name == "BatchGetItem":
            # every requested key is charged, found or not (a missing item costs the minimum)
            for table, request in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                consistent = bool(request.get("ConsistentRead"))
                missing = len(request["Keys"]) - len(found)
                self.rcu += (self._read(found, consistent) if found else 0) + missing * (
                    1.0 if consistent else 0.5
                )

    def _write(self, table: str, item: dict[str, Any], factor: int, minimum: int = 0) -> None:
        units = max(minimum, math.ceil(item_size(item) / 1024))
        self.wcu += factor * units * (1 + self.gsi_count.get(table, 0))

    @staticmethod
    def _read(items: list[dict[str, Any]], consistent: bool, summed: bool = False) -> float:
        per = 1.0 if consistent else 0.5
        if not items:
            return per
        if summed:
            return per * max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
        return sum(per * max(1, math.ceil(item_size(i) / 4096)) for i in items)
