"""The lead lifecycle as sales drive it (accept, qualify, disqualify, reopen) and the lead's timeline.

Retried safely: a transition is one write conditioned on the lead's version; a lost race re-reads the
lead and decides again (409 with the current state when the transition is no longer possible)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import lifecycle, opportunities
from chalicelib.domain.entities import Interaction, Lead
from chalicelib.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.working import ACTIVITY_SOURCE
from chalicelib.observability import count
from chalicelib.store.retry import on_conflict
from chalicelib.wiring import Deps


@dataclass(frozen=True)
class TransitionDone:
    """The lead as a transition left it, the transition, and the opportunity it made (qualify) or
    those it closed (disqualify, reopen)."""

    lead: Lead
    transition: Any
    opportunity_id: str | None = None
    closed_opportunities: tuple[str, ...] = ()


def transition(lead_id: str, action: str, body: dict[str, Any], by: str, deps: Deps) -> TransitionDone:
    """accept | contacted | qualify | disqualify | reopen; 409 with the current state when impossible."""
    from chalicelib.services.assignment import on_transition  # routing: imported when a lead moves

    def attempt() -> tuple[Lead, Any, Opportunity | None, list[Opportunity]]:
        now = datetime.now(UTC)
        lead = deps.store.get_lead(lead_id)
        if lead is None:
            raise NotFound("lead", lead_id)
        contact = opportunity = None
        closed: list[Opportunity] = []
        if action in ("accept", "contacted"):
            step = lifecycle.accept if action == "accept" else lifecycle.contacted
            updated, moved = step(lead, now, by)
        elif action in ("disqualify", "reopen"):
            if action == "disqualify":
                updated, moved = lifecycle.disqualify(lead, body.get("reason"), now, by)
            else:
                updated, moved = lifecycle.reopen(lead, now, by)
            # the lead's open opportunities close with it, in the same transaction
            for found in deps.handoffs.opportunities_of_lead(lead_id):
                done = opportunities.close_for_lead(found, action, now)
                if done is not None:
                    closed.append(done)
        else:
            updated, moved = lifecycle.qualify(lead, now, by)
            contact, opportunity = _conversion(updated, body, deps, now, by)
        deps.handoffs.write_lead_change(
            updated,
            moved,
            [],
            now,
            contact=contact,
            opportunity=opportunity,
            closed_opportunities=closed,
            assignment=on_transition(lead, updated, action, now),
        )
        return updated, moved, opportunity, closed

    updated, moved, opportunity, closed = on_conflict(
        attempt, Conflict("the lead kept changing; retry the request")
    )
    count(f"Lead{action.capitalize()}")
    return TransitionDone(
        updated,
        moved,
        opportunity.opportunity_id if opportunity is not None else None,
        tuple(o.opportunity_id for o in closed),
    )


def _conversion(
    lead: Lead, body: dict[str, Any], deps: Deps, now: datetime, by: str
) -> tuple[Any, Opportunity | None]:
    """Qualifying makes the contact a sales contact and, unless told not to, an opportunity."""
    create = body.get("create_opportunity", True)
    if not isinstance(create, bool):
        raise ValidationFailed([FieldError("create_opportunity", "create_opportunity must be true or false")])
    contact = deps.store.get_contact(lead.contact_id)
    sales_contact = replace(contact, marketing_only=False, updated_at=now) if contact else None
    if not create:
        return sales_contact, None
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    name = ": ".join(p for p in ((account.name if account else None), lead.topic or "Opportunity") if p)
    return sales_contact, Opportunity(
        opportunity_id=new_id("o"),
        lead_id=lead.lead_id,
        contact_id=lead.contact_id,
        account_id=lead.account_id,
        name=name[:500],
        created_at=now,
        updated_at=now,
        # the person (key) who qualified it works it until it is handed to another
        owner=by,
    )


def timeline(lead_id: str, deps: Deps, limit: int = 200) -> dict[str, Any]:
    """Interactions, score changes, transitions and hand-offs of a lead, newest first."""
    lead = deps.store.get_lead(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    # the entries the lead and its scores keep, with the LeadHistory items (store/history.py)
    held = [*lead.timeline, *(e for s in deps.scoring.scores_of(lead_id).values() for e in s.timeline)]
    entries = deps.handoffs.history(lead_id, limit, held)
    # a lead linked from another contact keeps that person's interactions on its timeline
    former = [e["from_contact_id"] for e in entries if e.get("kind") == "link" and e.get("from_contact_id")]
    for contact_id in dict.fromkeys([lead.contact_id, *former]):
        for interaction in deps.scoring.latest_interactions(contact_id, limit):
            if interaction.lead_id in (None, lead_id) and (
                contact_id == lead.contact_id or interaction.lead_id
            ):
                entries.append(_interaction_entry(interaction))
    entries.sort(key=lambda e: e["at"], reverse=True)
    return {"lead_id": lead_id, "entries": entries[:limit]}


def _interaction_entry(interaction: Interaction) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "interaction",
        "at": iso(interaction.occurred_at),
        "interaction_id": interaction.interaction_id,
        "type": interaction.type,
    }
    if interaction.source == ACTIVITY_SOURCE:  # a rep's call, meeting or e-mail: what was said
        entry.update({k: interaction.properties.get(k) for k in ("activity", "subject", "outcome", "by")})
    return entry
