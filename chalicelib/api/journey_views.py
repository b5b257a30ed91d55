"""The JSON of the journeys' typed results."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.interactions import iso
from chalicelib.domain.journeys import Enrollment, JourneyHead


def journey(head: JourneyHead, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "journey_id": head.journey_id,
        "name": head.name,
        "state": head.state,
        "version": head.version,
        "updated_at": iso(head.updated_at),
        "entry": head.entry,
    }
    if definition is not None:
        answer["definition"] = definition
    return answer


def enrollment(result: str, journey_id: str, contact_id: str, found: Enrollment | None) -> dict[str, Any]:
    return {
        "result": result,
        "journey_id": journey_id,
        "contact_id": found.contact_id if found else contact_id,
        "version": found.version if found else None,
        "step": found.step if found else None,
        "state": found.state if found else None,
        "entered_at": iso(found.entered_at) if found else None,
        "due_at": iso(found.due_at) if found and found.due_at else None,
        "reason": found.reason if found else None,
    }
