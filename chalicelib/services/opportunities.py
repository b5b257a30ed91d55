"""Opportunities as sales work them: read, list, change (conditioned on the version the caller read)
and the pipeline report. Those a lead's change creates or closes are in ``services/lifecycle.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain import opportunities
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.interactions import iso
from chalicelib.domain.opportunities import Opportunity, OpportunityChanges, StaleVersion
from chalicelib.domain.stored import OpportunityFilter

if TYPE_CHECKING:  # the ports are Protocol classes: imported for typing only (cold start)
    from chalicelib.domain.ports import OpportunityStore

#: The pipeline report reads at most this many opportunities (newest first) and says when it stopped.
PIPELINE_LIMIT = 10_000


def opportunity_view(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity.opportunity_id,
        "lead_id": opportunity.lead_id,
        "contact_id": opportunity.contact_id,
        "account_id": opportunity.account_id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "status": opportunity.status,
        "owner": opportunity.owner,
        "estimated_value": None
        if opportunity.estimated_value is None
        else float(opportunity.estimated_value),
        "close_date": opportunity.close_date.isoformat() if opportunity.close_date else None,
        "reason": opportunity.reason,
        "closed_at": iso(opportunity.closed_at) if opportunity.closed_at else None,
        "created_at": iso(opportunity.created_at),
        "updated_at": iso(opportunity.updated_at),
        "version": opportunity.version or 0,
    }


def get_opportunity(opportunity_id: str, store: OpportunityStore) -> Opportunity:
    found = store.get_opportunity(opportunity_id)
    if found is None:
        raise NotFound("opportunity", opportunity_id)
    return found


def list_opportunities(
    where: OpportunityFilter, limit: int, cursor: str | None, store: OpportunityStore
) -> dict[str, Any]:
    page = store.list_opportunities(where, limit, cursor)
    return {"opportunities": [opportunity_view(o) for o in page.items], "next_cursor": page.next_cursor}


def update_opportunity(
    opportunity_id: str, expected_version: int, changes: OpportunityChanges, store: OpportunityStore
) -> Opportunity:
    """The changes applied to the opportunity as it is at ``expected_version``; :class:`StaleVersion`
    (412) when it has moved on, so a rep never overwrites what another saved. Safe to retry: the
    retry of a change that was saved finds the next version and is refused, never applied twice."""
    current = get_opportunity(opportunity_id, store)
    if (current.version or 0) != expected_version:
        raise StaleVersion(current.version)
    updated = opportunities.apply_changes(current, changes, datetime.now(UTC))
    try:
        return store.save_opportunity(updated)
    except ConcurrentUpdate:
        latest = store.get_opportunity(opportunity_id)
        raise StaleVersion(latest.version if latest else None) from None


def pipeline(store: OpportunityStore) -> dict[str, Any]:
    """Count and value of the open opportunities by stage and owner, and of the closed by outcome."""
    read = list(store.every_opportunity(PIPELINE_LIMIT + 1))
    report = opportunities.pipeline(read[:PIPELINE_LIMIT])

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return float(value) if not isinstance(value, int | str) else value

    return {
        **plain(report),
        "opportunities_counted": min(len(read), PIPELINE_LIMIT),
        "truncated": len(read) > PIPELINE_LIMIT,
    }


def of_leads(lead_ids: list[str], store: OpportunityStore) -> list[dict[str, Any]]:
    """Every opportunity of these leads (a contact's export)."""
    return [opportunity_view(o) for lead_id in lead_ids for o in store.opportunities_of_lead(lead_id)]
