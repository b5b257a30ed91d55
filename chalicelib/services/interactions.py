"""Interactions: accepted by the API in batches, queued, then recorded by the tracking function.

The API validates and queues (202); the recording function appends each interaction with a
conditional write keyed by (contact, time, id), so a redelivered message records nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.entities import Interaction
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import InvalidValue
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import MAX_BATCH, InteractionInput, parse_interaction
from chalicelib.observability import count
from chalicelib.wiring import Deps


def accept_batch(body: Any, deps: Deps) -> dict[str, Any]:
    """Validate ``{"interactions": [...]}`` and queue the valid ones; the others are listed with why."""
    items = body.get("interactions") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ValidationFailed([FieldError("interactions", "interactions must be a non-empty list")])
    if len(items) > MAX_BATCH:
        raise ValidationFailed([FieldError("interactions", f"at most {MAX_BATCH} interactions per request")])
    now = datetime.now(UTC)
    accepted: list[InteractionInput] = []
    rejected: list[dict[str, Any]] = []
    indexes: list[int] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            parsed = parse_interaction(item, now)
        except InvalidValue as exc:
            rejected.append({"index": index, "error": str(exc)})
            continue
        if parsed.interaction_id is not None:
            if parsed.interaction_id in seen:
                continue  # the same interaction twice in one request: accepted once
            seen.add(parsed.interaction_id)
        if parsed.interaction_id is None:
            parsed = InteractionInput(**{**parsed.__dict__, "interaction_id": new_id("i")})
        accepted.append(parsed)
        indexes.append(index)
    accepted, more_rejected = _check_references(accepted, indexes, deps)
    rejected.extend(more_rejected)
    if accepted:
        deps.tracking.send([item.as_message() for item in accepted])
    count("InteractionsAccepted", len(accepted))
    return {"accepted": len(items) - len(rejected), "rejected": sorted(rejected, key=lambda r: r["index"])}


def _check_references(
    items: list[InteractionInput], indexes: list[int], deps: Deps
) -> tuple[list[InteractionInput], list[dict[str, Any]]]:
    """Contacts named by id and leads named by id must exist (one batch read each)."""
    contacts = deps.store.existing_contacts([i.contact_id for i in items if i.contact_id])
    leads = {lead.lead_id: lead for lead in deps.store.get_leads([i.lead_id for i in items if i.lead_id])}
    kept: list[InteractionInput] = []
    rejected: list[dict[str, Any]] = []
    for index, item in zip(indexes, items, strict=True):
        if item.contact_id and item.contact_id not in contacts:
            rejected.append({"index": index, "error": f"contact {item.contact_id!r} does not exist"})
        elif item.lead_id and item.lead_id not in leads:
            rejected.append({"index": index, "error": f"lead {item.lead_id!r} does not exist"})
        elif item.lead_id and item.contact_id and leads[item.lead_id].contact_id != item.contact_id:
            rejected.append({"index": index, "error": f"lead {item.lead_id!r} is not a lead of that contact"})
        else:
            kept.append(item)
    return kept, rejected


def record_batch(message: dict[str, Any], deps: Deps) -> int:
    """Record the interactions of one queue message; returns how many were new. Safe to repeat."""
    recorded = 0
    for data in message["interactions"]:
        item = InteractionInput.from_message(data)
        contact_id = item.contact_id or deps.store.contact_for_email(item.email or "", datetime.now(UTC))
        interaction = Interaction(
            interaction_id=item.interaction_id or new_id("i"),
            contact_id=contact_id,
            type=item.type,
            occurred_at=item.occurred_at,
            properties=item.properties,
            lead_id=item.lead_id,
            source="api",
        )
        if deps.store.record_interaction(interaction):
            recorded += 1
    count("InteractionRecorded", recorded)
    return recorded


def note_activity(contact_id: str, occurred_at: datetime, deps: Deps) -> None:
    """Keep the contact's last-interaction time (newest wins, so a replayed record changes nothing)."""
    deps.store.note_activity(contact_id, occurred_at)
