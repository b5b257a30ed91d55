"""Working a lead in DynamoDB (``WorkStore``): an edit, a note, a link — each one transaction conditioned
on the versions read — and the bounded reads of the 360° view (an index query each, never a scan)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.matching import contact_key
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.stored import Page
from chalicelib.store import secrets
from chalicelib.store.dynamo import (
    contact_record,
    decode_cursor,
    encode_cursor,
    interaction_from,
    is_race,
    lead_record,
)
from chalicelib.store.history import history_item
from chalicelib.store.opportunities import opportunity_record
from chalicelib.store.records import (
    ContactRecord,
    InteractionRecord,
    KeyRecord,
    LeadHistoryRecord,
    LeadRecord,
)

#: The keys of a ``by_time`` page's last item (the LSI's key and the table's).
_INTERACTION_CURSOR = frozenset({"contact_id", "interaction_id", "at"})


class WorkRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def write_lead_edit(
        self, lead: Lead, contact: Contact | None, at: datetime, entry: dict[str, Any]
    ) -> None:
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(lead_record(lead))  # conditioned on the version read (VersionAttribute)
                if contact is not None:
                    tx.save(
                        contact_record(contact),
                        condition=ContactRecord.erasing.does_not_exist(),
                    )
                tx.save(history_item(lead.lead_id, "edit", f"v{(lead.version or 0) + 1}", at, entry))
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("the lead or its contact changed while it was being edited") from exc
            raise

    def add_note(self, lead_id: str, note_id: str, at: datetime, entry: dict[str, Any]) -> None:
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.condition_check(LeadRecord, lead_id, condition=LeadRecord.lead_id.exists())
                tx.save(
                    history_item(lead_id, "note", note_id, at, entry),
                    condition=LeadHistoryRecord.sk.does_not_exist(),
                )
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("the lead is gone, or the note was added before") from exc
            raise

    def write_link(
        self,
        lead: Lead,
        old: Contact | None,
        new: Contact,
        created: bool,
        email_key: str | None,
        at: datetime,
        entry: dict[str, Any],
        opportunities: Sequence[Opportunity] = (),
    ) -> None:
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(lead_record(lead))
                if old is not None:
                    tx.save(contact_record(old))
                if created:
                    tx.save(contact_record(new), condition=ContactRecord.contact_id.does_not_exist())
                    if email_key is not None:
                        tx.save(
                            KeyRecord(email_key, owner_id=new.contact_id, created_at=at),
                            condition=KeyRecord.key.does_not_exist(),
                        )
                else:
                    # nothing may be linked to a person whose erasure began meanwhile
                    tx.save(contact_record(new), condition=ContactRecord.erasing.does_not_exist())
                for opportunity in opportunities:
                    tx.save(opportunity_record(opportunity))  # on the version read
                tx.save(history_item(lead.lead_id, "link", new.contact_id, at, entry))
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("the lead or a contact changed while the lead was linked") from exc
            raise

    def email_owner(self, email: str) -> tuple[str | None, bool]:
        key, tombstone = contact_key(email), secrets.tombstone_key(email)
        found = {r.key: r.owner_id for r in KeyRecord.batch_get([key, tombstone], consistent_read=True)}
        return (str(found[key]) if key in found else None), tombstone in found

    def interactions_page(self, contact_id: str, limit: int, cursor: str | None) -> Page:
        start = decode_cursor(cursor, _INTERACTION_CURSOR, set())
        results = InteractionRecord.by_time.query(
            contact_id, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        items = [interaction_from(r) for r in results]
        more = len(items) >= limit and results.last_evaluated_key
        return Page(items, encode_cursor(results.last_evaluated_key) if more else None)

    def contacts_of_account(self, account_id: str, limit: int) -> list[str]:
        return [r.contact_id for r in ContactRecord.by_account.query(account_id, limit=limit)]
