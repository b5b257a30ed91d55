"""A lead's timeline entries as the items that change keep them (issue 19): the lead keeps its
transitions' and hand-offs' entries, a score its own changes'. Keyed like ``LeadHistory`` items
(``<time>#<kind>#<id>``), so the timeline merges every place in one order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.interactions import iso

Entry = dict[str, Any]


def timeline_entry(kind: str, ident: str, at: datetime, data: dict[str, Any]) -> Entry:
    """``{"sk", "kind", "at", "data"}``: what a ``LeadHistory`` item would store, as JSON."""
    return {
        "sk": f"{iso(at)}#{kind}#{ident}",
        "kind": kind,
        "at": iso(at),
        "data": json.loads(json.dumps(data, default=str)),
    }
