"""The SLA sweep (every minute): assignment timers that are due are acted on once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib import wiring
from chalicelib.observability import flush
from chalicelib.services import assignment


def sla_sweep(now: datetime | None = None) -> dict[str, Any]:
    """Reassign or escalate the leads whose SLA lapsed (``services/assignment.py: sweep_lapsed``)."""
    try:
        return assignment.sweep_lapsed(wiring.deps(), now or datetime.now(UTC))
    finally:
        flush()
