"""What scoring reads in bulk: accounts' contacts, interactions since, pages of leads (``ScoringReads``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection

from chalicelib.domain.entities import Account, Interaction, Lead
from chalicelib.domain.interactions import iso
from chalicelib.store import shared_reads, state_index
from chalicelib.store.dynamo import (
    account_from,
    interaction_from,
    lead_from,
)
from chalicelib.store.records import (
    AccountRecord,
    ContactRecord,
    InteractionRecord,
    LeadRecord,
)


class ScoringReadRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def contacts_of_account(self, account_id: str) -> list[str]:
        return [r.contact_id for r in ContactRecord.by_account.query(account_id)]

    def interactions_since(self, contact_id: str, since: datetime | None) -> list[Interaction]:
        """One query: the contact's interactions from ``since`` (all when ``None``)."""
        condition = InteractionRecord.at >= iso(since) if since is not None else None
        return [interaction_from(r) for r in InteractionRecord.by_time.query(contact_id, condition)]

    def interactions_of_account(self, account_id: str, since: datetime | None) -> list[Interaction]:
        """The account's interactions from ``since`` (all when ``None``), whoever of its contacts they
        are of: one query of ``by_account_time`` (paged by DynamoDB past 1 MB), not one per contact.
        The index is eventually consistent: the caller reads the contacts whose change it is handling
        from ``by_time`` (consistently)."""
        condition = InteractionRecord.at >= iso(since) if since is not None else None
        return [interaction_from(r) for r in InteractionRecord.by_account_time.query(account_id, condition)]

    def latest_interactions(self, contact_id: str, limit: int) -> list[Interaction]:
        query = InteractionRecord.by_time.query(contact_id, scan_index_forward=False, limit=limit)
        return [interaction_from(r) for r in query]

    def scan_leads(
        self, segment: int, segments: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Lead], dict[str, Any] | None]:
        results = LeadRecord.scan(
            segment=segment, total_segments=segments, limit=limit, last_evaluated_key=start
        )
        leads = [lead_from(r) for r in results]
        return leads, results.last_evaluated_key if len(leads) >= limit else None

    def leads_in_state(self, state: str, limit: int) -> list[Lead]:
        """The newest ``limit`` leads in a lifecycle state (the state index, its shards merged), for
        training."""
        return [lead_from(r) for r in itertools.islice(state_index.newest(state, page_size=500), limit)]

    def get_accounts(self, account_ids: Sequence[str], consistent: bool = False) -> list[Account]:
        def read(ids: list[str]) -> list[Account]:
            return [account_from(r) for r in AccountRecord.batch_get(ids, consistent_read=consistent)]

        if not consistent:
            ids = list(dict.fromkeys(account_ids))
            return read(ids) if ids else []
        return shared_reads.many("account", account_ids, read, lambda a: a.account_id)

    def iter_leads(self, page_size: int) -> Iterator[Lead]:
        for record in LeadRecord.scan(page_size=page_size):
            yield lead_from(record)
