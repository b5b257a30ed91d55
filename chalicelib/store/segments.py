"""Saved segments: conditions over leads, stored whole under their id."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.identity_table import (
    IdentityTable,
    _item,
)
from chalicelib.store.records import (
    IdentityRecord,
)


class SegmentRepository(IdentityTable):
    """``SegmentStore``."""

    def put_segment(self, segment_id: str, definition: dict[str, Any], now: datetime) -> bool:
        try:
            existing = IdentityRecord.get(f"segment#{segment_id}", "segment", consistent_read=True)
        except DoesNotExist:
            existing = None
        record = _item(f"segment#{segment_id}", "segment", definition, now)
        if existing is not None:
            record.created_at = existing.created_at
        record.save()
        return existing is None

    def get_segment(self, segment_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(IdentityRecord.get(f"segment#{segment_id}", "segment").data))
        except DoesNotExist:
            return None
