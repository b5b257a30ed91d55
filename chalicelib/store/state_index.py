"""Leads by lifecycle state, newest first, without a hot partition.

A GSI keyed on ``state`` alone puts every new lead on one partition value (``open``): DynamoDB serves
about 1,000 writes/s per partition value of an index, so a burst of captures would throttle the index
(and, through back-pressure, the table's writes). The key is ``state_shard`` = ``<state>#<n>``, with
``n`` a stable hash of the lead id over :data:`SHARDS` values; a reader queries the shards (in
parallel) and merges them by ``created_at``, newest first.

Paging keeps the merge exact: a page takes the newest ``limit`` leads across the shards, and the
cursor records, per shard, the last lead it took (or that the shard is done). The cursor is opaque
(base64 JSON) and tamper-safe: it is decoded field by field (the state it was made for, one position
per shard, ids and times of the right shape) and the index keys are rebuilt from those fields, so a
changed cursor can only move within the caller's own list or be refused with a 422 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.store.records import LeadRecord
from chalicelib.store.sharded_index import _DONE, merge_newest

#: Partition values per state: 16 x ~1,000 writes/s of index throughput (100x today's measured ingest
#: is ~8,500 new leads/s: ~530/s per shard); a page reads 16 queries, in parallel.
SHARDS = 16
_ID = re.compile(r"^[A-Za-z0-9_\-:.#]{1,256}$")
BAD_CURSOR = ValidationFailed([FieldError("cursor", "cursor is not one this API returned")])


def shard_of(lead_id: str) -> int:
    return int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) % SHARDS


def state_key(state: str, lead_id: str) -> str:
    """The index key of a lead in ``state``."""
    return f"{state}#{shard_of(lead_id)}"


def _order(record: LeadRecord) -> tuple[datetime, str]:
    return record.created_at, record.lead_id


def _position(record: LeadRecord) -> dict[str, str]:
    return {"lead_id": record.lead_id, "created_at": LeadRecord.created_at.serialize(record.created_at)}


def _start_key(state: str, shard: int, position: dict[str, str]) -> dict[str, Any]:
    return {
        "lead_id": {"S": position["lead_id"]},
        "state_shard": {"S": f"{state}#{shard}"},
        "created_at": {"S": position["created_at"]},
    }


def _query(state: str, shard: int, start: dict[str, str] | None, limit: int | None, **options: Any) -> Any:
    return LeadRecord.by_state_shard.query(
        f"{state}#{shard}",
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=_start_key(state, shard, start) if start else None,
        **options,
    )


def newest(state: str, range_condition: Any = None, **options: Any) -> Iterator[LeadRecord]:
    """Every lead in ``state`` (within ``range_condition`` on ``created_at``), newest first: the shards'
    queries, paged lazily, merged."""
    streams = [
        iter(_query(state, shard, None, None, range_key_condition=range_condition, **options))
        for shard in range(SHARDS)
    ]
    heads: list[LeadRecord | None] = [next(stream, None) for stream in streams]
    while True:
        live = [(i, head) for i, head in enumerate(heads) if head is not None]
        if not live:
            return
        index, head = max(live, key=lambda pair: _order(pair[1]))
        yield head
        heads[index] = next(streams[index], None)


def page(
    states: str | tuple[str, ...], limit: int, cursor: str | None, filter_condition: Any = None
) -> tuple[list[LeadRecord], str | None]:
    """The next ``limit`` leads in ``states`` (one state, or several merged: every lead whatever its
    state) after ``cursor``, newest first, and the cursor after them (``None`` at the end). Each
    (state, shard) is asked for at most ``limit`` matching leads, in parallel."""
    wanted = (states,) if isinstance(states, str) else tuple(states)
    sources = [(state, shard) for state in wanted for shard in range(SHARDS)]
    positions = decode(cursor, wanted)
    live = [i for i in range(len(sources)) if positions[i] != _DONE]

    def fetch(i: int) -> tuple[list[LeadRecord], bool]:
        state, shard = sources[i]
        start = positions[i]
        results = _query(
            state, shard, start if isinstance(start, dict) else None, limit, filter_condition=filter_condition
        )
        found = list(results)
        return found, len(found) >= limit and results.last_evaluated_key is not None

    taken, after = merge_newest(live, fetch, positions, limit, _order, _position)
    finished = all(position == _DONE for position in after)
    return taken, None if finished else encode(wanted, after)


def encode(states: str | tuple[str, ...], positions: list[Any]) -> str:
    wanted = [states] if isinstance(states, str) else list(states)
    data = json.dumps({"states": wanted, "shards": positions}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(cursor: str | None, states: str | tuple[str, ...]) -> list[Any]:
    """One position per (state, shard): ``None`` (from the newest), ``"done"``, or the last lead taken."""
    wanted = [states] if isinstance(states, str) else list(states)
    if not cursor:
        return [None] * (SHARDS * len(wanted))
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise BAD_CURSOR from None
    if not isinstance(data, dict) or set(data) != {"states", "shards"} or data["states"] != wanted:
        raise BAD_CURSOR
    shards = data["shards"]
    if not isinstance(shards, list) or len(shards) != SHARDS * len(wanted):
        raise BAD_CURSOR
    return [_checked(position) for position in shards]


def _checked(position: Any) -> Any:
    if position is None or position == _DONE:
        return position
    if not isinstance(position, dict) or set(position) != {"lead_id", "created_at"}:
        raise BAD_CURSOR
    lead_id, created_at = position["lead_id"], position["created_at"]
    if not isinstance(lead_id, str) or not _ID.match(lead_id) or not isinstance(created_at, str):
        raise BAD_CURSOR
    try:
        LeadRecord.created_at.deserialize(created_at)
    except (ValueError, TypeError):
        raise BAD_CURSOR from None
    return {"lead_id": lead_id, "created_at": created_at}
