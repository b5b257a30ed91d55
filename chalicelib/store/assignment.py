"""Assignments (``AssignmentStore``): what an assignment writes in its lead's transaction
(:func:`add_assignment`), the SLA timers due, the assignments of leads qualified on given days (speed
to lead) and a person's leads from the leads table's ``by_owner`` index (never a scan).

SLA timers are the assignments themselves: one whose SLA still runs carries ``due_shard`` and so is in
the sparse ``by_due`` index; the one-minute sweep asks each shard for ``due_at <= now`` and settles a
timer by removing ``due_shard`` under the condition that it is still there (so a lapse acts once)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Lead
from chalicelib.domain.routing import AssignmentRecord, AssignmentWrite
from chalicelib.domain.stored import LeadFilter, Page
from chalicelib.store.dynamo import decode_cursor, encode_cursor, lead_from
from chalicelib.store.history import history_item
from chalicelib.store.people import LOAD, TURN
from chalicelib.store.records import AssignmentItemRecord, LeadRecord, PeopleRecord

#: Timers are spread over this many index partitions (``due#<n>``): the sweep reads each; one key value
#: would take every assignment's write and its settling (~1,000 writes/s per index partition).
DUE_SHARDS = 8
_OWNER_CURSOR = frozenset({"lead_id", "owner", "created_at"})


def sort_key(number: int) -> str:
    return f"a#{number:06d}"


def due_shard(lead_id: str) -> str:
    return f"due#{int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) % DUE_SHARDS}"


def item_record(record: AssignmentRecord) -> AssignmentItemRecord:
    return AssignmentItemRecord(
        record.lead_id,
        sort_key(record.number),
        number=record.number,
        owner=record.owner,
        team=record.team,
        at=record.at,
        by=record.by,
        why=record.why[:500],
        previous_owner=record.previous_owner,
        rule_id=record.rule_id,
        qualified_at=record.qualified_at,
        qualified_day=record.qualified_at.date().isoformat() if record.qualified_at else None,
        due_at=record.due_at,
        due_shard=due_shard(record.lead_id) if record.due_at else None,
        on_lapse=record.on_lapse,
        accepted_at=record.accepted_at,
        first_activity_at=record.first_activity_at,
    )


def assignment_from(item: AssignmentItemRecord) -> AssignmentRecord:
    return AssignmentRecord(
        lead_id=item.lead_id,
        number=int(item.number),
        owner=item.owner,
        team=item.team,
        at=item.at,
        by=item.by,
        why=item.why,
        previous_owner=item.previous_owner,
        rule_id=item.rule_id,
        qualified_at=item.qualified_at,
        due_at=item.due_at,
        on_lapse=item.on_lapse,
        accepted_at=item.accepted_at,
        first_activity_at=item.first_activity_at,
    )


def add_assignment(tx: TransactWrite, lead_id: str, write: AssignmentWrite, now: datetime) -> None:
    """The assignment's items in the lead's transaction (which is conditioned on the lead's version):
    the team's turn conditioned on the turn the decision read, so two leads never take one turn."""
    if write.turn is not None:
        expected = write.turn.expected
        tx.update(
            PeopleRecord(TURN, write.turn.team_id),
            actions=[PeopleRecord.turn.set(write.turn.to), PeopleRecord.updated_at.set(now)],
            condition=(PeopleRecord.turn == expected)
            if expected
            else (PeopleRecord.turn.does_not_exist() | (PeopleRecord.turn == 0)),
        )
    for user_id, delta in sorted(write.load.items()):
        tx.update(PeopleRecord(LOAD, user_id), actions=[PeopleRecord.open_leads.add(delta)])
    if write.record is not None:
        tx.save(item_record(write.record), condition=AssignmentItemRecord.lead_id.does_not_exist())
        if write.history is not None:
            tx.save(history_item(lead_id, "assignment", f"a{write.record.number}", now, write.history))
    if write.settle_timer is not None:
        tx.update(
            AssignmentItemRecord(lead_id, sort_key(write.settle_timer)),
            actions=[AssignmentItemRecord.due_shard.remove(), AssignmentItemRecord.lapsed_at.set(now)],
            condition=AssignmentItemRecord.due_shard.exists(),
        )
    if write.accepted is not None:
        number, at = write.accepted
        tx.update(
            AssignmentItemRecord(lead_id, sort_key(number)),
            actions=[AssignmentItemRecord.accepted_at.set(at), AssignmentItemRecord.due_shard.remove()],
            condition=AssignmentItemRecord.lead_id.exists(),
        )
    if write.first_activity is not None:
        # if_not_exists rather than a condition: an activity logged before the ``contacted`` transition
        # keeps its time, and the transition's transaction must not fail for it
        number, at = write.first_activity
        # the owner acted on the lead: its SLA timer (if one still runs) stops, as acceptance stops it
        first = AssignmentItemRecord.first_activity_at
        tx.update(
            AssignmentItemRecord(lead_id, sort_key(number)),
            actions=[first.set(first | at), AssignmentItemRecord.due_shard.remove()],
            condition=AssignmentItemRecord.lead_id.exists(),
        )


class AssignmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_assignment(self, lead_id: str, number: int) -> AssignmentRecord | None:
        try:
            return assignment_from(AssignmentItemRecord.get(lead_id, sort_key(number), consistent_read=True))
        except DoesNotExist:
            return None

    def assignments_of(self, lead_id: str) -> list[AssignmentRecord]:
        return [assignment_from(r) for r in AssignmentItemRecord.query(lead_id, consistent_read=True)]

    def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's assignments (an erasure); the number deleted."""
        found = list(AssignmentItemRecord.query(lead_id, consistent_read=True))
        for item in found:
            item.delete()
        return len(found)

    def due_timers(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        """``(lead_id, assignment number)`` of SLA timers due by ``now``, from every shard."""
        found: list[tuple[str, int]] = []
        for shard in range(DUE_SHARDS):
            if len(found) >= limit:
                break
            query = AssignmentItemRecord.by_due.query(
                f"due#{shard}", AssignmentItemRecord.due_at <= now, limit=limit - len(found)
            )
            found += [(r.lead_id, int(r.sk.removeprefix("a#"))) for r in query]
        return found

    def settle_timer(self, lead_id: str, number: int, now: datetime) -> bool:
        """A timer that no longer applies (the lead was accepted or moved on) leaves the index, once."""
        from pynamodb.exceptions import UpdateError

        try:
            AssignmentItemRecord(lead_id, sort_key(number)).update(
                actions=[AssignmentItemRecord.due_shard.remove(), AssignmentItemRecord.lapsed_at.set(now)],
                condition=AssignmentItemRecord.due_shard.exists(),
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def note_first_activity(self, lead_id: str, number: int, at: datetime) -> bool:
        """The first activity under assignment ``number``, kept once (``attribute_not_exists``): a
        retry or a later activity changes nothing (``False``), and neither does an activity dated
        before the assignment was made. The owner having acted, the SLA timer stops (it leaves the
        ``by_due`` index, as at acceptance)."""
        from pynamodb.exceptions import UpdateError

        try:
            AssignmentItemRecord(lead_id, sort_key(number)).update(
                actions=[
                    AssignmentItemRecord.first_activity_at.set(at),
                    AssignmentItemRecord.due_shard.remove(),
                ],
                condition=AssignmentItemRecord.lead_id.exists()
                & AssignmentItemRecord.first_activity_at.does_not_exist()
                & (AssignmentItemRecord.at <= at),
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def assignments_qualified(self, since: datetime, until: datetime) -> Iterator[AssignmentRecord]:
        """Assignments of leads qualified in ``[since, until]``: one index query per day."""
        day = since.date()
        while day <= until.date():
            for item in AssignmentItemRecord.by_qualified_day.query(day.isoformat()):
                if item.qualified_at is not None and since <= item.qualified_at <= until:
                    yield assignment_from(item)
            day += timedelta(days=1)

    def leads_of_owner(self, owner: str, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        """A person's leads, newest first, from ``by_owner`` (state, status and source filter the page
        read: a page may be short, ``next_cursor`` goes on)."""
        start = decode_cursor(cursor, _OWNER_CURSOR, numbers=frozenset())
        condition: Any = None
        for attribute, value in (
            (LeadRecord.state, where.state),
            (LeadRecord.status, where.status),
            (LeadRecord.fields["source"], where.source),
        ):
            if value is not None:
                clause = attribute == value
                condition = clause if condition is None else condition & clause
        results = LeadRecord.by_owner.query(
            owner,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            filter_condition=condition,
        )
        items: list[Lead] = [lead_from(r) for r in results]
        last = results.last_evaluated_key
        return Page(items=items, next_cursor=encode_cursor(last) if last else None)
