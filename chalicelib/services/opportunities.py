"""Opportunities as sales work them: read, list, change (conditioned on the version the caller read)
and the pipeline report. Those a lead's change creates or closes are in ``services/lifecycle.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain import opportunities
from chalicelib.domain.errors import ConcurrentUpdate, NotFound
from chalicelib.domain.opportunities import Opportunity, OpportunityChanges, StaleVersion
from chalicelib.domain.stored import OpportunityFilter, Page

if TYPE_CHECKING:  # the ports are Protocol classes: imported for typing only (cold start)
    from chalicelib.domain.ports import OpportunityStore

#: The pipeline report reads at most this many opportunities (newest first) and says when it stopped.
PIPELINE_LIMIT = 10_000


def get_opportunity(opportunity_id: str, store: OpportunityStore) -> Opportunity:
    found = store.get_opportunity(opportunity_id)
    if found is None:
        raise NotFound("opportunity", opportunity_id)
    return found


def list_opportunities(
    where: OpportunityFilter, limit: int, cursor: str | None, store: OpportunityStore
) -> Page:
    return store.list_opportunities(where, limit, cursor)


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


def of_leads(lead_ids: list[str], store: OpportunityStore) -> list[Opportunity]:
    """Every opportunity of these leads (a contact's export)."""
    return [o for lead_id in lead_ids for o in store.opportunities_of_lead(lead_id)]
