"""The hand-off envelope: CloudEvents 1.0, structured JSON mode, as sales systems read it from SQS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.interactions import iso
from chalicelib.domain.qualification import Handoff

SPEC_VERSION = "1.0"


def envelope(
    handoff: Handoff, stage: str, now: datetime, correlation_id: str | None = None
) -> dict[str, Any]:
    """``id`` is the hand-off id: the same on every redelivery, so a consumer can tell a repeat.
    ``correlationid`` (a CloudEvents extension attribute) names the request the hand-off came from."""
    event = {
        "specversion": SPEC_VERSION,
        "id": handoff.handoff_id,
        "source": f"urn:leadflow:{stage}",
        "type": f"leadflow.handoff.{handoff.kind}",
        "time": iso(now),
        "subject": handoff.lead_id,
        "datacontenttype": "application/json",
        "data": handoff.data,
    }
    if correlation_id:
        event["correlationid"] = correlation_id
    return event


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), sort_keys=True, default=str)
