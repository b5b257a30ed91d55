"""Merges of duplicate contacts and their undo: one transaction each, then repeatable moves."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.matching import contact_key
from chalicelib.store.dynamo import contact_from, contact_record, is_race
from chalicelib.store.identity_table import (
    IdentityTable,
    _ignore_missing,
    _item,
    _merge_out,
)
from chalicelib.store.records import (
    ContactRecord,
    IdentityRecord,
    InteractionRecord,
    KeyRecord,
    LeadRecord,
    ScoreRecord,
)


class MergeRepository(IdentityTable):
    """``MergeStore``: the merge record keeps the contacts as they were, to restore them."""

    def write_merge(
        self,
        survivor: Contact,
        duplicates: list[Contact],
        merge_id: str,
        data: dict[str, Any],
        now: datetime,
    ) -> None:
        """One transaction: the survivor as merged (on the version read), each duplicate deleted (on its
        version read), each duplicate's email claim handed to the survivor, and the merge record. A
        capture that changed any of these contacts first cancels it all (:class:`ConcurrentUpdate`);
        one that comes after finds the claim on the survivor."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(contact_record(survivor))
                for duplicate in duplicates:
                    tx.delete(contact_record(duplicate))
                    if duplicate.email and duplicate.email != survivor.email:
                        tx.update(
                            KeyRecord(contact_key(duplicate.email)),
                            actions=[KeyRecord.owner_id.set(survivor.contact_id)],
                            condition=KeyRecord.owner_id == duplicate.contact_id,
                        )
                tx.save(_item(f"merge#{merge_id}", "merge", _merge_out(data), now))
                for contact_id in [survivor.contact_id, *(d.contact_id for d in duplicates)]:
                    tx.save(_item(f"contact-merges#{contact_id}", merge_id, {}, now))
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("a contact of the merge changed meanwhile") from exc
            raise

    def write_unmerge(
        self, survivor: Contact, restored: list[Contact], merge_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        """The undo, all or nothing: the survivor (on the version read), the duplicates back, their
        claims back, the merge record marked undone (on its state)."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(contact_record(survivor))
                for contact in restored:
                    record = contact_record(replace(contact, version=None))  # back as a new item
                    tx.save(record, condition=ContactRecord.contact_id.does_not_exist())
                    if contact.email and contact.email != survivor.email:
                        tx.update(
                            KeyRecord(contact_key(contact.email)),
                            actions=[KeyRecord.owner_id.set(contact.contact_id)],
                            condition=KeyRecord.owner_id == survivor.contact_id,
                        )
                tx.save(
                    _item(f"merge#{merge_id}", "merge", _merge_out(data), now),
                    condition=IdentityRecord.data.contains('"state": "done"'),
                )
        except TransactWriteError as exc:
            if is_race(exc):
                raise ConcurrentUpdate("the merge or its contacts changed meanwhile") from exc
            raise

    def note_moved_interactions(self, merge_id: str, moved: dict[str, list[str]]) -> None:
        """Which interactions each duplicate brought, for the undo."""
        record = IdentityRecord.get(f"merge#{merge_id}", "merge", consistent_read=True)
        data = json.loads(record.data)
        data["moved_interactions"] = moved
        record.update(actions=[IdentityRecord.data.set(json.dumps(data))])

    def get_merge(self, merge_id: str) -> dict[str, Any] | None:
        """The merge record, ``before`` holding the contacts as they were (to restore them on undo)."""
        try:
            data = json.loads(IdentityRecord.get(f"merge#{merge_id}", "merge", consistent_read=True).data)
        except DoesNotExist:
            return None
        return {
            **data,
            "before": [contact_from(ContactRecord.from_raw_data(i)) for i in data.get("before", [])],
        }

    def move_lead(self, lead_id: str, from_id: str, to_id: str) -> bool:
        def update() -> None:
            LeadRecord(lead_id).update(
                actions=[LeadRecord.contact_id.set(to_id)],
                condition=LeadRecord.contact_id == from_id,
                add_version_condition=False,
            )

        moved = _ignore_missing(update)
        for score in ScoreRecord.query(lead_id):
            score.update(actions=[ScoreRecord.contact_id.set(to_id)])
        return moved

    def move_interactions(
        self, from_id: str, to_id: str, only: set[str] | None = None, account_id: str | None = None
    ) -> list[str]:
        """Copy each interaction to the other contact, then delete the original (a repeat finds the
        copy there and deletes the original again: safe). The copy carries ``account_id``, the
        receiving contact's account (``by_account_time``)."""
        moved = []
        for record in InteractionRecord.query(from_id):
            if only is not None and record.interaction_id not in only:
                continue
            record.contact_id = to_id
            record.account_id = account_id
            try:
                record.save(condition=InteractionRecord.contact_id.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise  # a copy already there (a repeated move) is fine
            InteractionRecord(from_id, record.interaction_id).delete()
            moved.append(record.interaction_id)
        return moved
