"""A filtered list served from a sharded GSI, newest first, instead of a filtered scan (issue 19, item 5).

A ``Scan`` with a filter reads the whole table to find a page of matches (DynamoDB filters after
reading, and charges for what it read). These lists query a GSI whose partition key is
``<group>#<n>``: ``group`` is the filter's value (a contact's audience, a quarantined submission's
state), ``n`` a stable hash of the item's id over ``shards`` values, so no single key value takes every
new item's write (one key value of an index lives on one partition: about 1,000 writes/s). The sort key
is the item's time; a reader queries the shards in parallel and merges them newest first, as
``state_index`` does for leads (which keeps its own module: its cursor format is already in use).

The cursor records, per (group, shard), the last item taken (its id and time) or that the shard is
done; it is base64 JSON decoded field by field, and the index keys are rebuilt from those fields, so a
changed cursor can only move within the caller's own list or be refused (422 naming ``cursor``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed

_DONE = "done"
_ID = re.compile(r"^[A-Za-z0-9_\-:.#]{1,256}$")
BAD_CURSOR = ValidationFailed([FieldError("cursor", "cursor is not one this API returned")])


def merge_newest(
    live: list[int],
    fetch: Callable[[int], tuple[list[Any], bool]],
    positions: Sequence[Any],
    limit: int,
    order: Callable[[Any], Any],
    position_of: Callable[[Any], dict[str, str]],
) -> tuple[list[Any], list[Any]]:
    """Fetch each live source (in parallel: ``fetch(i)`` gives its items, newest first, and whether it
    has more), take the newest ``limit`` across them, and say where each source stands after the page
    (the position of the last item taken from it, :data:`_DONE` when it is exhausted). The leads'
    ``state_index`` and :class:`ShardedIndex` both page this way."""
    with ThreadPoolExecutor(max_workers=min(len(live), 16) or 1) as pool:
        fetched = dict(zip(live, pool.map(fetch, live), strict=True))
    taken: list[Any] = []
    used = dict.fromkeys(live, 0)
    while len(taken) < limit:
        heads = [(i, fetched[i][0][used[i]]) for i in live if used[i] < len(fetched[i][0])]
        if not heads:
            break
        i, record = max(heads, key=lambda pair: order(pair[1]))
        taken.append(record)
        used[i] += 1
    after = list(positions)
    for i in live:
        records, more = fetched[i]
        if used[i]:
            after[i] = position_of(records[used[i] - 1])
        if used[i] == len(records) and not more:
            after[i] = _DONE
    return taken, after


@dataclass(frozen=True)
class ShardedIndex:
    """How a table's sharded index is named: ``index`` is the PynamoDB index object (``Record.by_x``)."""

    index: Any
    id_attribute: str  # the table's hash key (the item's id)
    key_attribute: str  # the index's partition key: ``<group>#<n>``
    time_attribute: str  # the index's sort key: a UTCDateTimeAttribute
    time_serializer: Any  # the attribute, to (de)serialize times in cursors
    shards: int
    #: A table with a range key: its name, and its value for a group (every entry of a group has the
    #: same one: a journey's enrollments are ``sk = j#<journey>``); ``None`` for a hash-key table.
    range_of_group: tuple[str, Callable[[str], str]] | None = None

    def key(self, group: str, item_id: str) -> str:
        """The index key of item ``item_id`` in ``group``."""
        shard = int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % self.shards
        return f"{group}#{shard}"

    def page(
        self,
        groups: Sequence[str],
        limit: int,
        cursor: str | None,
        filter_condition: Any = None,
    ) -> tuple[list[Any], str | None]:
        """The next ``limit`` index entries of ``groups`` after ``cursor``, newest first, and the cursor
        after them (``None`` at the end). Each (group, shard) is asked for at most ``limit`` matching
        entries, in parallel."""
        wanted = list(groups)
        sources = [(group, shard) for group in wanted for shard in range(self.shards)]
        positions = self._decode(cursor, wanted)
        live = [i for i in range(len(sources)) if positions[i] != _DONE]

        def fetch(i: int) -> tuple[list[Any], bool]:
            group, shard = sources[i]
            start = positions[i]
            results = self.index.query(
                f"{group}#{shard}",
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=self._start_key(group, shard, start) if isinstance(start, dict) else None,
                filter_condition=filter_condition,
            )
            found = list(results)
            return found, len(found) >= limit and results.last_evaluated_key is not None

        order: Callable[[Any], tuple[datetime, str]] = lambda r: (  # noqa: E731
            getattr(r, self.time_attribute),
            getattr(r, self.id_attribute),
        )
        taken, after = merge_newest(
            live,
            fetch,
            positions,
            limit,
            order,
            lambda last: {
                "id": getattr(last, self.id_attribute),
                "at": self.time_serializer.serialize(getattr(last, self.time_attribute)),
            },
        )
        if all(position == _DONE for position in after):
            return taken, None
        data = json.dumps({"groups": wanted, "shards": after}, separators=(",", ":")).encode()
        return taken, base64.urlsafe_b64encode(data).decode().rstrip("=")

    def _start_key(self, group: str, shard: int, position: dict[str, str]) -> dict[str, Any]:
        key = {
            self.id_attribute: {"S": position["id"]},
            self.key_attribute: {"S": f"{group}#{shard}"},
            self.time_attribute: {"S": position["at"]},
        }
        if self.range_of_group is not None:
            name, value_of = self.range_of_group
            key[name] = {"S": value_of(group)}
        return key

    def _decode(self, cursor: str | None, groups: list[str]) -> list[Any]:
        if not cursor:
            return [None] * (self.shards * len(groups))
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            raise BAD_CURSOR from None
        if not isinstance(data, dict) or set(data) != {"groups", "shards"} or data["groups"] != groups:
            raise BAD_CURSOR
        shards = data["shards"]
        if not isinstance(shards, list) or len(shards) != self.shards * len(groups):
            raise BAD_CURSOR
        return [self._checked(position) for position in shards]

    def _checked(self, position: Any) -> Any:
        if position is None or position == _DONE:
            return position
        if not isinstance(position, dict) or set(position) != {"id", "at"}:
            raise BAD_CURSOR
        item_id, at = position["id"], position["at"]
        if not isinstance(item_id, str) or not _ID.match(item_id) or not isinstance(at, str):
            raise BAD_CURSOR
        try:
            self.time_serializer.deserialize(at)
        except (ValueError, TypeError):
            raise BAD_CURSOR from None
        return {"id": item_id, "at": at}
