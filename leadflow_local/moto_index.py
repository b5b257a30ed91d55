"""Queries that read only their partition, for moto (local stack, tests and benchmarks only; never
imported in Lambda).

moto 5.2 answers every ``Query`` by listing and sorting EVERY item of the table (``Table.all_items``)
and then keeping those whose hash key matches: on a table, and on a secondary index alike. Under the
local stack's load that was the largest single share of its CPU (py-spy on ``bench.throughput``:
moto's queries 28%) and it grows with the table, so the stack slowed down as it filled.

Here ``Table.query`` gets, instead of the whole table, the items that can match: on the table, the
partition moto already keeps (``Table.items[hash]``); on an index, the items whose index hash-key
attributes equal the query's, from an index kept per table and index (hash-key values -> table keys).
Everything else is moto's own code, unchanged: the candidates go through the same matching, range
conditions, sorting, ``ScanIndexForward``, ``Limit``/``ExclusiveStartKey``, projection and filters.
moto then sorts the candidates by keys that are unique per item (an index's keys, then the table's;
on a table, the range key within one partition), so the order they come in does not matter. The
only claim this module makes is that the candidates include every item moto would keep (a superset
is still exact, since moto's matching runs again); ``tests/integration/test_moto_index.py`` runs the
same random queries against patched and unpatched moto over random puts, updates, deletes, batch
writes and transactions.

The index is kept by marking keys dirty on every write path (``Table.put_item``/``delete_item``,
``DynamoDBBackend.update_item``, which changes an item in place, and
``leadflow_local.moto_transactions``' restore after a failed transaction), and brought up to date by
the next query on that table. A table this module has not seen (created, restored from a snapshot,
copied by moto's own transaction rollback) gets its index built from its items on its first query;
PartiQL statements, which can change items by other paths, drop the indexes of their backend.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from leadflow_local.moto_transactions import DYNAMODB_LOCK

_ORIGINAL: dict[str, Any] = {}
#: moto's DynamoDB requests' own lock (``moto_transactions``): a query swaps ``all_items`` on its table
#: for its duration, so no other request may read that table meanwhile.
_LOCK = DYNAMODB_LOCK


class _TableIndex:
    """One table's indexes: per secondary index (name and hash-key attributes), hash-key values ->
    the table keys of the items that carry them; and the table keys written since the last query."""

    def __init__(self) -> None:
        self.partitions: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], set[Any]]] = {}
        self.members: dict[tuple[str, tuple[str, ...]], dict[Any, tuple[Any, ...]]] = {}
        self.dirty: set[Any] = set()


_STATE: weakref.WeakKeyDictionary[Any, _TableIndex] = weakref.WeakKeyDictionary()


def _values(item: Any, attrs: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The item's values of ``attrs`` (hashable), or ``None`` when it lacks one (not in the index) or
    holds a value no key condition can equal (a map, a list, a set: unhashable)."""
    found = []
    for attr in attrs:
        value = item.attrs.get(attr)
        if value is None:
            return None
        try:
            hash(value)
        except TypeError:
            return None
        found.append(value)
    return tuple(found)


def _item_at(table: Any, key: Any) -> Any:
    hash_value, range_value = key
    partition = table.items.get(hash_value)
    if partition is None:
        return None
    if table.range_key_attr:
        return partition.get(range_value)
    return partition


def _all_keys(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [(h, r) for h, partition in table.items.items() for r in partition]
    return [(h, None) for h in table.items]


def _update(table: Any, state: _TableIndex, name: tuple[str, tuple[str, ...]], keys: Any) -> None:
    partitions = state.partitions[name]
    members = state.members[name]
    for key in keys:
        old = members.pop(key, None)
        if old is not None:
            bucket = partitions.get(old)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del partitions[old]
        item = _item_at(table, key)
        values = _values(item, name[1]) if item is not None else None
        if values is not None:
            members[key] = values
            partitions.setdefault(values, set()).add(key)


def _candidates(table: Any, index: Any, conditions: dict[str, Any]) -> list[Any] | None:
    """The items that can match a query on ``index`` with these hash-key conditions; ``None`` when
    the conditions are not exactly the index's hash keys."""
    hash_attrs = tuple(key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH")
    if not hash_attrs or set(hash_attrs) != set(conditions):
        return None
    name = (index.name, hash_attrs)
    state = _STATE.get(table)
    if state is None:
        state = _STATE[table] = _TableIndex()
    if name not in state.partitions:
        state.partitions[name], state.members[name] = {}, {}
        _update(table, state, name, _all_keys(table))
    if state.dirty:
        for other in state.partitions:
            _update(table, state, other, state.dirty)
        state.dirty.clear()
    try:
        wanted = tuple(conditions[attr] for attr in hash_attrs)
        keys = state.partitions[name].get(wanted, ())
    except TypeError:
        return None
    return [item for item in (_item_at(table, key) for key in keys) if item is not None]


def _partition(table: Any, hash_key: Any) -> list[Any]:
    """The table's items under ``hash_key`` (moto keeps them so)."""
    try:
        partition = table.items.get(hash_key)
    except TypeError:
        partition = None
    if partition is None:
        return []
    if table.range_key_attr:
        return list(partition.values())
    return [partition]


def _mark(table: Any, hash_value: Any, range_value: Any) -> None:
    state = _STATE.get(table)
    if state is not None and state.partitions:
        state.dirty.add((hash_value, range_value if table.range_key_attr else None))


def mark(table: Any, key: dict[str, Any]) -> None:
    """The item at ``key`` (attribute values as DynamoDB sends them) may have changed."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    range_attr = table.range_key_attr
    range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
    _mark(table, DynamoType(key[table.hash_key_attr]), range_value)


#: Set while :func:`bypassed`: queries take moto's own path (the index is still kept).
_BYPASS: list[bool] = []


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """moto's own query inside the ``with``, the index still kept by writes (the equivalence test
    asks both, over the same state)."""
    _BYPASS.append(True)
    try:
        yield
    finally:
        _BYPASS.pop()


def _query(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if _BYPASS:
            return original(self, hash_key, *args, **kwargs)
        index_name = kwargs.get("index_name")
        if index_name is None and len(args) >= 7:
            index_name = args[6]
        conditions = kwargs.get("hash_key_conditions") or []
        with _LOCK:
            found: list[Any] | None = None
            if index_name:
                index = {i.name: i for i in self.all_indexes()}.get(index_name)
                if index is not None:
                    found = _candidates(self, index, dict(conditions))
            elif hash_key is not None:
                found = _partition(self, hash_key)
            if found is None:
                return original(self, hash_key, *args, **kwargs)
            self.all_items = lambda: found  # moto's query, over the candidates only
            try:
                return original(self, hash_key, *args, **kwargs)
            finally:
                del self.all_items

    return query


def _marking_put(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, item_attrs, *args, **kwargs)
        finally:
            if isinstance(item_attrs, dict) and self.hash_key_attr in item_attrs:
                try:
                    mark(self, item_attrs)
                except Exception:  # a malformed key: moto has refused the write
                    _forget(self)

    return put_item


def _marking_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original(self, hash_key, range_key)
        finally:
            _mark(self, hash_key, range_key)

    return delete_item


def _marking_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, table_name, key, *args, **kwargs)
        finally:
            try:
                table = self.get_table(table_name)
            except Exception:  # no such table: nothing changed
                table = None
            if table is not None:
                try:
                    mark(table, key)
                except Exception:  # a key moto could not read either: start over
                    _forget(table)

    return update_item


def _forgetting(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def statement(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            for table in list(getattr(self, "tables", {}).values()):
                _forget(table)

    return statement


def _forget(table: Any) -> None:
    _STATE.pop(table, None)


def install() -> None:
    """Patch moto's ``Table.query`` and its write paths (idempotent; for every caller of this
    process's moto)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _LOCK:
        if _ORIGINAL:
            return
        _STATE.clear()  # nothing was marked while uninstalled
        _ORIGINAL.update(
            query=Table.query,
            put_item=Table.put_item,
            delete_item=Table.delete_item,
            update_item=DynamoDBBackend.update_item,
            execute_statement=DynamoDBBackend.execute_statement,
            batch_execute_statement=DynamoDBBackend.batch_execute_statement,
            execute_transaction=DynamoDBBackend.execute_transaction,
        )
        Table.query = _query(_ORIGINAL["query"])  # type: ignore[method-assign]
        Table.put_item = _marking_put(_ORIGINAL["put_item"])  # type: ignore[method-assign]
        Table.delete_item = _marking_delete(_ORIGINAL["delete_item"])  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _marking_update(_ORIGINAL["update_item"])  # type: ignore[method-assign]
        for name in ("execute_statement", "batch_execute_statement", "execute_transaction"):
            setattr(DynamoDBBackend, name, _forgetting(_ORIGINAL[name]))


def uninstall() -> None:
    """moto's own query again (the equivalence test compares both)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _LOCK:
        if not _ORIGINAL:
            return
        Table.query = _ORIGINAL["query"]  # type: ignore[method-assign]
        Table.put_item = _ORIGINAL["put_item"]  # type: ignore[method-assign]
        Table.delete_item = _ORIGINAL["delete_item"]  # type: ignore[method-assign]
        for name in ("update_item", "execute_statement", "batch_execute_statement", "execute_transaction"):
            setattr(DynamoDBBackend, name, _ORIGINAL[name])
        _ORIGINAL.clear()
        _STATE.clear()
