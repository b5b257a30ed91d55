"""A lead's history (transitions, score changes, hand-offs) (``HistoryStore``).

Two places hold it (issue 19): ``LeadHistory`` items, one per entry, and the lead item itself, whose
``timeline_z`` keeps the newest entries a lead change writes (its transition and its hand-offs'
entries), zlib-compressed, while they fit :data:`LEAD_TIMELINE_BYTES`; older ones move to
``LeadHistory`` items in the same transaction. A transition in a transaction then costs no item of its
own (2 write units each, doubled by the transaction), and the timeline reads both, merged in the order
of their keys (``<time>#<kind>#<id>``), the same as before."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection

from chalicelib.domain.interactions import iso
from chalicelib.domain.timeline import Entry, timeline_entry

__all__ = ["Entry", "timeline_entry"]
from chalicelib.store.records import LeadHistoryRecord

#: The compressed size the lead's own timeline entries may take: the lead item stays well under 1 KB
#: (one write unit; 387 bytes without them in the lifecycle benchmark), each entry ~150 bytes packed.
LEAD_TIMELINE_BYTES = 420

#: What an item may weigh with the entries it keeps: under 1 KB, one write unit (and one for each index
#: that projects it). An item already heavier keeps none (every entry is a ``LeadHistory`` item then).
ITEM_BYTES = 1000


def entries_budget(record: Any, most: int) -> int:
    """The packed bytes ``record`` (its timeline not set yet) may keep: at most ``most``, and what
    leaves the item under :data:`ITEM_BYTES`. The item's size is over-estimated (its serialized JSON,
    type tags and quotes included), so the entries never take it over 1 KB."""
    size = len(json.dumps(record.serialize(), separators=(",", ":"), default=str))
    return max(0, min(most, ITEM_BYTES - size))


#: A score keeps its own changes' entries while they fit this (packed; the score item stays under
#: 1 KB: 532 bytes without them in the lifecycle benchmark).
SCORE_TIMELINE_BYTES = 300


def history_item(
    lead_id: str, kind: str, ident: str, at: datetime, data: dict[str, Any]
) -> LeadHistoryRecord:
    return LeadHistoryRecord(
        lead_id,
        f"{iso(at)}#{kind}#{ident}",
        kind=kind,
        at=at,
        data=json.dumps(data, separators=(",", ":"), default=str),
    )


def entry_item(lead_id: str, entry: Entry) -> LeadHistoryRecord:
    """A lead's entry moved to its own ``LeadHistory`` item (the same key and content)."""
    return LeadHistoryRecord(
        lead_id,
        entry["sk"],
        kind=entry["kind"],
        at=datetime.fromisoformat(entry["at"]),
        data=json.dumps(entry["data"], separators=(",", ":")),
    )


def pack_timeline(entries: Sequence[Entry]) -> bytes | None:
    if not entries:
        return None
    return zlib.compress(json.dumps(list(entries), separators=(",", ":")).encode(), 9)


def unpack_timeline(raw: bytes | str | None) -> list[Entry]:
    """The lead's entries; a stream image sent by Lambda holds the binary value base64-encoded."""
    if not raw:
        return []
    data = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    found = json.loads(zlib.decompress(data))
    return found if isinstance(found, list) else []


def keep_on_lead(
    held: Sequence[Entry], new: Sequence[Entry], budget: int = LEAD_TIMELINE_BYTES
) -> tuple[list[Entry], list[Entry]]:
    """The entries the item keeps (the newest that fit ``budget`` bytes packed) and those that move to
    ``LeadHistory`` items (the oldest), in key order."""
    kept = sorted({e["sk"]: e for e in [*held, *new]}.values(), key=lambda e: e["sk"])
    spilled: list[Entry] = []
    while kept and len(pack_timeline(kept) or b"") > budget:
        spilled.append(kept.pop(0))
    return kept, spilled


def _shown(data: dict[str, Any], kind: str, at: str) -> dict[str, Any]:
    return {**data, "kind": kind, "at": at}


class HistoryRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_history(self, lead_id: str, kind: str, ident: str, at: datetime, data: dict[str, Any]) -> None:
        history_item(lead_id, kind, ident, at, data).save()

    def history(self, lead_id: str, limit: int, held: Sequence[Entry] = ()) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first: the ``LeadHistory`` items merged with ``held``,
        the entries the lead and its scores keep (``Lead.timeline``, ``Score.timeline``)."""
        found = LeadHistoryRecord.query(lead_id, scan_index_forward=False, limit=limit)
        keyed = [(r.sk, _shown(json.loads(r.data), r.kind, iso(r.at))) for r in found]
        keyed += [(e["sk"], _shown(e["data"], e["kind"], e["at"])) for e in held]
        # an entry moved to its own item by a write that failed after it is in both: shown once
        unique = dict(sorted(keyed, key=lambda pair: pair[0], reverse=True))
        return list(unique.values())[:limit]
