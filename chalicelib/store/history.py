"""A lead's history (transitions, score changes, hand-offs) (``HistoryStore``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection

from chalicelib.domain.interactions import iso
from chalicelib.store.records import LeadHistoryRecord


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


class HistoryRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_history(self, lead_id: str, kind: str, ident: str, at: datetime, data: dict[str, Any]) -> None:
        history_item(lead_id, kind, ident, at, data).save()

    def history(self, lead_id: str, limit: int) -> list[dict[str, Any]]:
        found = LeadHistoryRecord.query(lead_id, scan_index_forward=False, limit=limit)
        return [{**json.loads(r.data), "kind": r.kind, "at": iso(r.at)} for r in found]
