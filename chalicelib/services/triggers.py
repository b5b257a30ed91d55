"""Triggers: an interaction that matches one creates (or finds) the lead and writes its hand-offs, ids
derived from (trigger, interaction, action), so a redelivered interaction writes nothing new."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.capture import Capture
from chalicelib.domain.entities import Interaction, Lead
from chalicelib.domain.qualification import (
    Trigger,
    handoffs,
)
from chalicelib.services import capture
from chalicelib.services.handoffs import encoded
from chalicelib.services.rules import load_triggers
from chalicelib.wiring import Deps


def run_triggers(
    interaction: Interaction, deps: Deps, now: datetime, triggers: list[Trigger] | None = None
) -> int:
    """Triggers that match one new interaction: create the lead (matched like a form, so a repeat
    updates rather than duplicates) and write the hand-offs (ids from trigger and interaction)."""
    contact_id = interaction.contact_id
    candidates = triggers if triggers is not None else load_triggers(deps)
    matching = [t for t in candidates if t.matches(interaction, max(now, interaction.occurred_at))]
    written = 0
    for trigger in matching:
        contact = deps.store.get_contact(contact_id)
        if contact is None:
            continue
        lead = _trigger_lead(trigger, contact.email, contact_id, deps)
        if lead is None:
            continue
        account = deps.store.get_account(lead.account_id) if lead.account_id else None
        work = handoffs(
            trigger.actions,
            f"trigger:{trigger.trigger_id}",
            (trigger.trigger_id, contact_id, interaction.interaction_id),
            lead,
            contact,
            account,
            deps.scoring.scores_of(lead.lead_id),
            now,
        )
        if deps.handoffs.write_handoffs(encoded(work, deps, now), now):
            written += len(work)
    return written


def _trigger_lead(trigger: Trigger, email: str | None, contact_id: str, deps: Deps) -> Lead | None:
    action = trigger.creates_lead
    if action is not None and email:
        from chalicelib.domain.errors import PersonErased

        lead_fields = {"topic": action.topic, "source": action.source or "trigger"}
        try:
            made = capture.capture(
                Capture(
                    contact={"email": email},
                    lead={k: v for k, v in lead_fields.items() if v},
                    origin=f"trigger:{trigger.trigger_id}",
                    lead_matching=["contact.email", "lead.topic"],
                ),
                deps,
            )
        except PersonErased:
            return None  # erased (or being erased): no lead, no hand-off
        return deps.store.get_lead(made.lead_id) if made.lead_id else None  # a Capture creates one
    contact = deps.store.get_contact(contact_id)
    leads = deps.store.get_leads(contact.lead_ids) if contact else []
    open_leads = [lead for lead in leads if lead.is_open]
    return max(open_leads, key=lambda lead: lead.created_at) if open_leads else None
