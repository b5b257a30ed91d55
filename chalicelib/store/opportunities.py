"""Opportunities (``OpportunityRepository``): read, listed newest first with signed cursors, and saved
conditioned on the version read. Those a lead's change creates or closes are written in the lead's
transaction (``store/outbox.py``, with :func:`opportunity_record`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.stored import OpportunityFilter, Page
from chalicelib.store.dynamo import decode_cursor, encode_cursor
from chalicelib.store.records import OpportunityRecord

LISTING = "opportunity"
_CURSOR_KEYS = frozenset({"opportunity_id", "listing", "created_at"})


def opportunity_record(opportunity: Opportunity) -> OpportunityRecord:
    """The record to save; its ``version`` is the one read, so PynamoDB conditions the write on it (a
    new opportunity, or one stored before versions existed, read as 0: on there being none) and stores
    the next."""
    record = OpportunityRecord(
        opportunity.opportunity_id,
        lead_id=opportunity.lead_id,
        contact_id=opportunity.contact_id,
        account_id=opportunity.account_id,
        name=opportunity.name,
        created_at=opportunity.created_at,
        listing=LISTING,
        updated_at=opportunity.updated_at,
        stage=opportunity.stage,
        status=opportunity.status,
        owner=opportunity.owner,
        estimated_value=None if opportunity.estimated_value is None else str(opportunity.estimated_value),
        close_date=opportunity.close_date.isoformat() if opportunity.close_date else None,
        reason=opportunity.reason,
        closed_at=opportunity.closed_at,
    )
    if opportunity.version:  # a VersionAttribute takes no None: left unset, it means "none stored"
        record.version = opportunity.version
    return record


def opportunity_from(record: OpportunityRecord) -> Opportunity:
    return Opportunity(
        opportunity_id=record.opportunity_id,
        lead_id=record.lead_id,
        contact_id=record.contact_id,
        account_id=record.account_id,
        name=record.name,
        created_at=record.created_at,
        updated_at=record.updated_at or record.created_at,
        stage=record.stage or "qualify",
        status=record.status or "open",
        owner=record.owner,
        estimated_value=Decimal(record.estimated_value) if record.estimated_value is not None else None,
        close_date=date.fromisoformat(record.close_date) if record.close_date else None,
        reason=record.reason,
        closed_at=record.closed_at,
        # an opportunity written before versions existed reads as version 0 (stored as 1 on its first change)
        version=record.version or 0,
    )


class OpportunityRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_opportunity(self, opportunity_id: str) -> Opportunity | None:
        try:
            return opportunity_from(OpportunityRecord.get(opportunity_id, consistent_read=True))
        except DoesNotExist:
            return None

    def save_opportunity(self, opportunity: Opportunity) -> Opportunity:
        """Saved only if the stored version is still ``opportunity.version``; the saved opportunity
        (its new version) is returned, a lost race raises ConcurrentUpdate."""
        record = opportunity_record(opportunity)
        try:
            record.save(condition=OpportunityRecord.opportunity_id.exists())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("the opportunity changed while it was being updated") from exc
            raise
        return opportunity_from(record)

    def opportunities_of_lead(self, lead_id: str) -> list[Opportunity]:
        """Oldest first (an index read: an opportunity made in the last instant may be missing)."""
        return [opportunity_from(r) for r in OpportunityRecord.by_lead.query(lead_id)]

    def list_opportunities(self, where: OpportunityFilter, limit: int, cursor: str | None) -> Page:
        """Newest first; the filters apply to the page read (a page may be short, ``next_cursor`` goes on)."""
        start = decode_cursor(cursor, _CURSOR_KEYS, numbers=frozenset())
        condition = None
        for attribute, value in (
            (OpportunityRecord.stage, where.stage),
            (OpportunityRecord.owner, where.owner),
            (OpportunityRecord.status, where.status),
            (OpportunityRecord.lead_id, where.lead_id),
        ):
            if value is not None:
                clause = attribute == value
                condition = clause if condition is None else condition & clause
        results = OpportunityRecord.by_created.query(
            LISTING,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            filter_condition=condition,
        )
        items = [opportunity_from(r) for r in results]
        last = results.last_evaluated_key
        return Page(items=items, next_cursor=encode_cursor(last) if last else None)

    def every_opportunity(self, limit: int) -> Iterator[Opportunity]:
        """Every opportunity, newest first, at most ``limit`` (the pipeline report)."""
        for record in OpportunityRecord.by_created.query(LISTING, scan_index_forward=False, limit=limit):
            yield opportunity_from(record)
