"""The transactional outbox (``OutboxStore``): a lead's change and the hand-offs it causes, written
together; the publisher's marks; the sweeper's index of what is still pending."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.outbox import OutboxEntry, shown_work
from chalicelib.domain.routing import AssignmentWrite
from chalicelib.store.assignment import add_assignment
from chalicelib.store.dynamo import contact_record, is_race, lead_record
from chalicelib.store.history import (
    LEAD_TIMELINE_BYTES,
    Entry,
    entries_budget,
    entry_item,
    history_item,
    keep_on_lead,
    timeline_entry,
)
from chalicelib.store.opportunities import opportunity_record
from chalicelib.store.records import (
    HandoffRecord,
    OpportunityRecord,
)

OUTBOX_RETENTION = timedelta(days=90)


#: The sparse index of unsent hand-offs takes a write when a hand-off is decided and one when it is
#: sent: on one key value that would cap hand-offs near 500/s (an index partition takes ~1,000
#: writes/s), so the value is ``pending#<n>`` over this many shards (docs/scaling.md).
PENDING_SHARDS = 8


def pending_key(handoff_id: str) -> str:
    return f"pending#{int(hashlib.sha256(handoff_id.encode()).hexdigest()[:8], 16) % PENDING_SHARDS}"


def envelope_of(record: HandoffRecord) -> str:
    """The envelope as it is sent: decompressed (``envelope_z``), or as an older item holds it."""
    if record.envelope_z is not None:
        return zlib.decompress(record.envelope_z).decode()
    return record.envelope or ""


class OutboxRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _outbox(
        self,
        tx: TransactWrite,
        handoffs: Sequence[tuple[str, str, str, str, str]],
        now: datetime,
        entries: list[Entry] | None = None,
    ) -> None:
        """The hand-offs, each with its timeline entry: an item of its own, or (``entries``: the lead
        is written in the same transaction) an entry appended to ``entries`` for the lead to keep."""
        for handoff_id, lead_id, kind, origin, body in handoffs:
            tx.save(
                HandoffRecord(
                    handoff_id,
                    lead_id=lead_id,
                    kind=kind,
                    origin=origin,
                    envelope_z=zlib.compress(body.encode(), 9),
                    state="pending",
                    pending=pending_key(handoff_id),
                    created_at=now,
                    expires_at=now + OUTBOX_RETENTION,
                ),
                condition=HandoffRecord.handoff_id.does_not_exist(),
            )
            shown = {"handoff_id": handoff_id, "handoff_kind": kind, "origin": origin, **shown_work(body)}
            if entries is not None:
                entries.append(timeline_entry("handoff", handoff_id, now, shown))
            else:
                tx.save(history_item(lead_id, "handoff", handoff_id, now, shown))

    def write_lead_change(
        self,
        lead: Lead,
        transition: Transition | None,
        handoffs: Sequence[tuple[str, str, str, str, str]],
        now: datetime,
        contact: Contact | None = None,
        opportunity: Opportunity | None = None,
        closed_opportunities: Sequence[Opportunity] = (),
        assignment: AssignmentWrite | None = None,
    ) -> None:
        """The lead (conditioned on the version read), its transition, its hand-offs (each written once,
        ever), what a conversion creates and what its assignment moves (``store/assignment.py``) — all
        or nothing. A lost race raises ConcurrentUpdate.

        The transition's and the hand-offs' timeline entries are kept on the lead item (issue 19: no
        item of their own in the transaction), the oldest moving to history items when they no longer
        fit (``store/history.py``)."""
        entries: list[Entry] = []
        if transition is not None:
            entries.append(
                timeline_entry("transition", transition.action, transition.at, transition.as_dict())
            )
        own = [h for h in handoffs if h[1] == lead.lead_id]
        others = [h for h in handoffs if h[1] != lead.lead_id]
        try:
            with TransactWrite(connection=self._connection) as tx:
                self._outbox(tx, own, now, entries)
                self._outbox(tx, others, now)
                budget = entries_budget(lead_record(replace(lead, timeline=[])), LEAD_TIMELINE_BYTES)
                kept, spilled = keep_on_lead(lead.timeline, entries, budget)
                tx.save(lead_record(replace(lead, timeline=kept)))
                for entry in spilled:
                    tx.save(entry_item(lead.lead_id, entry))
                if contact is not None:
                    tx.save(contact_record(contact))
                if opportunity is not None:
                    tx.save(
                        opportunity_record(opportunity),
                        condition=OpportunityRecord.opportunity_id.does_not_exist(),
                    )
                for closed in closed_opportunities:
                    tx.save(opportunity_record(closed), condition=OpportunityRecord.opportunity_id.exists())
                if assignment is not None:
                    add_assignment(tx, lead.lead_id, assignment, now)
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("the lead changed while it was being updated") from exc
            raise

    def write_handoffs(self, handoffs: Sequence[tuple[str, str, str, str, str]], now: datetime) -> bool:
        """Hand-offs without a lead change (triggers); ``False`` when they were written before."""
        if not handoffs:
            return False
        try:
            with TransactWrite(connection=self._connection) as tx:
                self._outbox(tx, handoffs, now)
        except TransactWriteError as exc:
            if is_race(exc):
                return False
            raise
        return True

    def mark_sent(self, handoff_id: str, now: datetime) -> None:
        self._settle(handoff_id, "sent", now)  # False: already sent, a redelivered record

    def mark_withheld(self, handoff_id: str, now: datetime) -> bool:
        """A pending hand-off that must not be sent (the contact's consent); ``False`` when it was
        settled already."""
        return self._settle(handoff_id, "withheld", now)

    @staticmethod
    def _settle(handoff_id: str, state: str, now: datetime) -> bool:
        """A pending hand-off leaves the outbox as ``state``, once; ``False`` when it had left already."""
        try:
            HandoffRecord(handoff_id).update(
                actions=[
                    HandoffRecord.state.set(state),
                    HandoffRecord.sent_at.set(now),
                    HandoffRecord.pending.remove(),
                ],
                condition=HandoffRecord.state == "pending",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def unsent(self, older_than: datetime, limit: int) -> list[str]:
        """Hand-offs still pending that were written before ``older_than`` (the sweeper's work), from
        every shard of the sparse ``by_pending`` index."""
        found: list[str] = []
        for shard in range(PENDING_SHARDS):
            if len(found) >= limit:
                break
            query = HandoffRecord.by_pending.query(
                f"pending#{shard}", HandoffRecord.created_at < older_than, limit=limit - len(found)
            )
            found += [record.handoff_id for record in query]
        return found

    def get_handoff(self, handoff_id: str) -> OutboxEntry | None:
        try:
            record = HandoffRecord.get(handoff_id, consistent_read=True)
        except DoesNotExist:
            return None
        return OutboxEntry(record.handoff_id, record.lead_id, record.kind, record.state, envelope_of(record))
