"""Merging duplicate contacts, and undoing a merge.

A merge is one transaction on the versions read (a capture that changed a contact first makes it start
again); the moves that follow it (leads, interactions) are conditional and repeatable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.domain.merging import MergeOrder, check_merge, merged, unmerged_counts
from chalicelib.observability import count, logger
from chalicelib.services import journeys, scoring
from chalicelib.services.data_rights import contact_or_refuse
from chalicelib.services.duplicates import detect
from chalicelib.store.retry import on_conflict
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.ports import MergeStore


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MergeDone:
    """A merge made: the survivor (``contact_id``) with the leads it now holds."""

    merge_id: str
    contact_id: str
    merged_ids: list[str]
    lead_ids: list[str]
    interactions_moved: int


@dataclass(frozen=True)
class MergeUndone:
    """A merge undone: the contacts it touched (the survivor first)."""

    merge_id: str
    contact_ids: list[str]


def merge(survivor_id: str, order: MergeOrder, deps: Deps) -> MergeDone:
    """Merge ``order.duplicate_ids`` into the survivor; 409 for itself or an erased contact."""
    ids = order.duplicate_ids
    check_merge(survivor_id, ids)

    def attempt() -> tuple[datetime, str, Any, list[Contact]]:
        now = _now()
        survivor = contact_or_refuse(survivor_id, deps)
        duplicates = [contact_or_refuse(i, deps) for i in ids]
        result = merged(survivor, duplicates, now)
        merge_id = new_id("m")
        record = {
            "merge_id": merge_id,
            "state": "done",
            "survivor_id": survivor_id,
            "duplicate_ids": ids,
            "merged_at": iso(now),
            "before": [survivor, *duplicates],
            "moved_leads": {d.contact_id: d.lead_ids for d in duplicates},
        }
        deps.identity.write_merge(result, duplicates, merge_id, record, now)
        return now, merge_id, result, duplicates

    # the moves after the merge are conditional and repeatable: a conflict there is not the merge's
    now, merge_id, result, duplicates = on_conflict(
        attempt, ConcurrentUpdate("the contacts kept changing; send the merge again")
    )
    interactions = {}
    for duplicate in duplicates:
        for lead_id in duplicate.lead_ids:
            deps.identity.move_lead(lead_id, duplicate.contact_id, survivor_id)
        interactions[duplicate.contact_id] = deps.identity.move_interactions(
            duplicate.contact_id, survivor_id, account_id=result.account_id
        )
        journeys.merge_person(duplicate.contact_id, survivor_id, deps, now)  # their journeys follow
        deps.identity.forget_contact(duplicate.contact_id)
    deps.identity.note_moved_interactions(merge_id, interactions)
    scoring.rescore_contacts([survivor_id], deps, now)
    detect(survivor_id, deps, now)
    count("ContactsMerged")
    logger.info("contacts merged", extra={"merge_id": merge_id, "survivor_id": survivor_id, "merged": ids})
    return MergeDone(
        merge_id=merge_id,
        contact_id=survivor_id,
        merged_ids=ids,
        lead_ids=result.lead_ids,
        interactions_moved=sum(len(v) for v in interactions.values()),
    )


def undo_merge(merge_id: str, deps: Deps) -> MergeUndone:
    """The duplicates come back as they were, with their leads and the interactions they brought; the
    survivor gets its own values back and keeps leads it gained since. 409 when undone already."""

    def attempt() -> tuple[datetime, dict[str, Any], Contact, list[Contact]]:
        now = _now()
        record = deps.identity.get_merge(merge_id)
        if record is None:
            raise NotFound("merge", merge_id)
        if record["state"] != "done":
            raise Conflict(f"merge {merge_id} was undone already", "merge_id")
        before: list[Contact] = record["before"]
        survivor_before, restored = before[0], before[1:]
        current = deps.store.get_contact(record["survivor_id"])
        if current is None:
            raise Conflict("the surviving contact no longer exists (erased)", "merge_id")
        moved = {lead for leads in record["moved_leads"].values() for lead in leads}
        survivor = replace(
            survivor_before,
            lead_ids=[i for i in current.lead_ids if i not in moved],
            version=current.version,
            updated_at=now,
            agg=unmerged_counts(current, restored),
        )
        undone = {**record, "state": "undone", "undone_at": iso(now)}
        deps.identity.write_unmerge(survivor, restored, merge_id, undone, now)
        return now, record, survivor, restored

    now, record, survivor, restored = on_conflict(
        attempt, ConcurrentUpdate("the contacts kept changing; send the undo again")
    )
    for contact in restored:
        for lead_id in contact.lead_ids:
            deps.identity.move_lead(lead_id, survivor.contact_id, contact.contact_id)
    _move_back_interactions(record, restored, deps.identity)
    touched = [survivor.contact_id, *(c.contact_id for c in restored)]
    scoring.rescore_contacts(touched, deps, now)
    for contact_id in touched:
        detect(contact_id, deps, now)
    count("MergeUndone")
    return MergeUndone(merge_id, touched)


def _move_back_interactions(record: dict[str, Any], restored: list[Contact], identity: MergeStore) -> None:
    """Interactions that came with a duplicate go back to it (read from the survivor, by id)."""
    for contact in restored:
        ids = set(record.get("moved_interactions", {}).get(contact.contact_id, []))
        if ids:
            identity.move_interactions(
                record["survivor_id"], contact.contact_id, only=ids, account_id=contact.account_id
            )
