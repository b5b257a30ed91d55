"""Interactions: accepted by the API in batches, queued, then recorded by the tracking function.

The API validates and queues (202); the recording function appends each interaction with a
conditional write keyed by (contact, time, id), so a redelivered message records nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.entities import Interaction
from chalicelib.domain.fields import InvalidValue
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import InteractionInput, parse_interaction
from chalicelib.observability import count
from chalicelib.wiring import Deps


@dataclass(frozen=True)
class Rejected:
    index: int
    error: str


@dataclass(frozen=True)
class BatchAccepted:
    """How many of the batch were accepted (queued, or repeated within it), and the others with why."""

    accepted: int
    rejected: list[Rejected]


def accept_batch(items: list[Any], deps: Deps) -> BatchAccepted:
    """Queue the valid interactions of a batch (1 to ``MAX_BATCH``, as ``api/`` parsed them) and list
    the others with why. An interaction repeated in one request (same id, same contact) is accepted
    once; give ids so that a retried request records nothing twice."""
    now = datetime.now(UTC)
    parsed: list[tuple[int, InteractionInput]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    for index, item in enumerate(items):
        try:
            interaction = parse_interaction(item, now, deps.settings.interaction_retention_days)
        except InvalidValue as exc:
            rejected.append({"index": index, "error": str(exc)})
            continue
        if interaction.interaction_id is None:
            interaction = replace(interaction, interaction_id=new_id("i"))
        identity = (interaction.contact_id, interaction.email, interaction.interaction_id or "")
        if identity not in seen:
            seen.add(identity)
            parsed.append((index, interaction))
    accepted, unknown = _check_references(parsed, deps)
    rejected.extend(unknown)
    if accepted:
        deps.tracking.send([item.as_message() for item in accepted])
    count("InteractionsAccepted", len(accepted))
    ordered = sorted(rejected, key=lambda r: r["index"])
    return BatchAccepted(len(items) - len(rejected), [Rejected(r["index"], r["error"]) for r in ordered])


def _check_references(
    items: list[tuple[int, InteractionInput]], deps: Deps
) -> tuple[list[InteractionInput], list[dict[str, Any]]]:
    """Contacts named by id must exist, and a lead named must be a lead of the interaction's contact,
    whether that contact is named by id or by email (two batch reads at most)."""
    contact_ids = [i.contact_id for _, i in items if i.contact_id]
    leads = {lead.lead_id: lead for lead in deps.store.get_leads([i.lead_id for _, i in items if i.lead_id])}
    owners = {
        c.contact_id: c
        for c in deps.store.get_contacts([*contact_ids, *(lead.contact_id for lead in leads.values())])
    }
    kept: list[InteractionInput] = []
    rejected: list[dict[str, Any]] = []
    for index, item in items:
        lead = leads.get(item.lead_id or "")
        owner = owners.get(lead.contact_id) if lead else None
        if item.contact_id and item.contact_id not in owners:
            rejected.append({"index": index, "error": f"contact {item.contact_id!r} does not exist"})
        elif item.lead_id and lead is None:
            rejected.append({"index": index, "error": f"lead {item.lead_id!r} does not exist"})
        elif lead and not (
            lead.contact_id == item.contact_id or (owner and item.email and owner.email == item.email)
        ):
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
        if contact_id is None:
            count("InteractionOfErasedPersonDropped")
            continue  # the person was erased: nothing about them is recorded again
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


def recount(contact_id: str, deps: Deps) -> None:
    """The contact's interaction counts again from its history (after a retention TTL removed some)."""
    if deps.store.recount_interactions(contact_id):
        count("InteractionCountsCorrected")


def note_activity(contact_id: str, occurred_at: datetime, deps: Deps) -> None:
    """Keep the contact's last-interaction time (newest wins, so a replayed record changes nothing)."""
    deps.store.note_activity(contact_id, occurred_at)
