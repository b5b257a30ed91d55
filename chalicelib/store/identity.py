"""Identity and data rights on DynamoDB: blocking keys and suspected duplicates, merges (one
transaction, conditioned on the versions read), saved segments, and erasure across every table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.duplicates import Suspicion, hashed
from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.matching import AccountKeys, company_key, contact_key
from chalicelib.store.dynamo import contact_from, contact_record, decode_cursor, encode_cursor, is_race
from chalicelib.store.records import (
    AccountRecord,
    ContactRecord,
    HandoffRecord,
    IdentityRecord,
    ImportChunkRecord,
    InteractionRecord,
    KeyRecord,
    LeadHistoryRecord,
    LeadRecord,
    OpportunityRecord,
    QuarantineRecord,
    ScoreRecord,
)

DUPLICATES = "duplicates"
ERASED = "[erased]"


def _item(pk: str, sk: str, data: dict[str, Any], now: datetime) -> IdentityRecord:
    return IdentityRecord(pk, sk, data=json.dumps(data, default=str), created_at=now, updated_at=now)


def _delete_if(record: Any, condition: Any) -> bool:
    """Delete under ``condition`` (whatever the item's version); ``False`` when it did not hold."""
    try:
        record.delete(condition=condition, add_version_condition=False)
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _ignore_missing(action: Callable[[], Any]) -> bool:
    try:
        action()
    except (DeleteError, UpdateError, PutError) as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _merge_out(data: dict[str, Any]) -> dict[str, Any]:
    """A merge record as stored: the contacts of ``before`` as their items (the undo restores them)."""
    before = [dict(ContactRecord.serialize(contact_record(c))) for c in data.get("before", [])]
    return {**data, "before": before}


class IdentityStore:
    def __init__(self, connection: Connection, idempotency_table: str) -> None:
        self._connection = connection
        self._idempotency_table = idempotency_table

    # ------------------------------------------------------------ blocking keys and duplicates

    def candidates(self, keys: Iterable[str], limit: int = 50) -> set[str]:
        """Contacts that share one of these (clear) blocking keys, at most ``limit`` per key (a key
        shared by thousands, such as a big account, says little)."""
        found: set[str] = set()
        for key in keys:
            found |= {r.sk for r in IdentityRecord.query(f"block#{hashed(key)}", limit=limit)}
        return found

    def replace_keys(self, contact_id: str, keys: set[str], now: datetime) -> None:
        """The contact's blocking keys become ``keys`` (stored hashed)."""
        wanted = {hashed(k) for k in keys}
        held = {r.sk for r in IdentityRecord.query(f"keys#{contact_id}")}
        for gone in held - wanted:
            IdentityRecord(f"block#{gone}", contact_id).delete()
            IdentityRecord(f"keys#{contact_id}", gone).delete()
        for new in wanted - held:
            _item(f"block#{new}", contact_id, {}, now).save()
            _item(f"keys#{contact_id}", new, {}, now).save()

    def record_suspicions(self, suspicions: Iterable[Suspicion], now: datetime) -> int:
        written = 0
        for s in suspicions:
            data = s.as_dict()
            _item(DUPLICATES, f"{s.contact_id}#{s.other_id}", data, now).save()
            _item(f"suspect#{s.contact_id}", s.other_id, data, now).save()
            _item(f"suspect#{s.other_id}", s.contact_id, data, now).save()
            written += 1
        return written

    def suspects_of(self, contact_id: str) -> list[dict[str, Any]]:
        return [
            {"contact_id": r.sk, **json.loads(r.data)} for r in IdentityRecord.query(f"suspect#{contact_id}")
        ]

    def list_duplicates(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        start = decode_cursor(cursor, frozenset({"pk", "sk"}), set())
        results = IdentityRecord.query(DUPLICATES, limit=limit, last_evaluated_key=start)
        items = [json.loads(r.data) for r in results]
        more = len(items) >= limit and results.last_evaluated_key
        return items, encode_cursor(results.last_evaluated_key) if more else None

    def forget_contact(self, contact_id: str) -> int:
        """Every identity item about the contact: its keys, blocks and suspicions (both sides)."""
        removed = 0
        for key in IdentityRecord.query(f"keys#{contact_id}"):
            IdentityRecord(f"block#{key.sk}", contact_id).delete()
            key.delete()
            removed += 1
        for suspect in IdentityRecord.query(f"suspect#{contact_id}"):
            first, second = sorted((contact_id, suspect.sk))
            IdentityRecord(DUPLICATES, f"{first}#{second}").delete()
            IdentityRecord(f"suspect#{suspect.sk}", contact_id).delete()
            suspect.delete()
            removed += 1
        return removed

    # ------------------------------------------------------------ merges

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

    def save_contact(self, contact: Contact) -> None:
        """The contact, on the version read (:class:`ConcurrentUpdate` when another write came first)."""
        try:
            contact_record(contact).save()
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("the contact changed meanwhile") from exc
            raise

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

    def move_interactions(self, from_id: str, to_id: str, only: set[str] | None = None) -> list[str]:
        """Copy each interaction to the other contact, then delete the original (a repeat finds the
        copy there and deletes the original again: safe)."""
        moved = []
        for record in InteractionRecord.query(from_id):
            if only is not None and record.interaction_id not in only:
                continue
            record.contact_id = to_id
            try:
                record.save(condition=InteractionRecord.contact_id.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise  # a copy already there (a repeated move) is fine
            InteractionRecord(from_id, record.interaction_id).delete()
            moved.append(record.interaction_id)
        return moved

    # ------------------------------------------------------------ segments

    def put_segment(self, segment_id: str, definition: dict[str, Any], now: datetime) -> bool:
        try:
            existing = IdentityRecord.get(f"segment#{segment_id}", "segment", consistent_read=True)
        except DoesNotExist:
            existing = None
        record = _item(f"segment#{segment_id}", "segment", definition, now)
        if existing is not None:
            record.created_at = existing.created_at
        record.save()
        return existing is None

    def get_segment(self, segment_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(IdentityRecord.get(f"segment#{segment_id}", "segment").data))
        except DoesNotExist:
            return None

    # ------------------------------------------------------------ erasure

    def erased(self, contact_id: str) -> str | None:
        """The erasure id when the contact's erasure was asked for (begun or done)."""
        found = self.erasure_marker(contact_id)
        return str(found.get("erasure_id")) if found else None

    def erasure_marker(self, contact_id: str) -> dict[str, Any] | None:
        try:
            record = IdentityRecord.get(f"erased#{contact_id}", "erased", consistent_read=True)
        except DoesNotExist:
            return None
        return dict(json.loads(record.data))

    def begin_erasure(
        self, contact: Contact, tombstone: str | None, data: dict[str, Any], now: datetime
    ) -> None:
        """What makes an erasure effective at once, before its job runs: the marker (ids only), the
        email's tombstone (a keyed hash: captures and interactions for it are dropped from now on), and
        the contact flagged ``erasing`` on the version read (:class:`ConcurrentUpdate` when it changed:
        re-read and try again), which fails every capture planned before."""
        try:
            _item(f"erased#{contact.contact_id}", "erased", data, now).save(
                condition=IdentityRecord.pk.does_not_exist()
            )
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise  # asked before: keep the first marker
        if tombstone:
            KeyRecord(tombstone, owner_id="-", created_at=now).save()
        if not contact.erasing:
            self.save_contact(replace(contact, erasing=True, updated_at=now))

    def erase_person(
        self,
        contact_id: str,
        email: str | None,
        lead_ids: list[str],
        account_id: str | None,
        personal: list[str],
    ) -> dict[str, Any]:
        """Remove what is held about the person, keyed or not; returns counts per kind and the ids of the
        hand-offs removed. ``personal`` (the email and phone, when the contact is still there to read
        them): the values to hunt for where records are not keyed by the person (quarantine, import
        errors, idempotency records). Safe to run again: each step deletes what is still there, and the
        contact goes last, so a run that dies half way finds it again."""
        counts: dict[str, Any] = self._erase_leads(lead_ids)

        def add(kind: str, n: int = 1) -> None:
            counts[kind] = counts.get(kind, 0) + n

        for opportunity in OpportunityRecord.scan(OpportunityRecord.contact_id == contact_id):
            opportunity.delete()
            add("opportunities")
        for interaction in InteractionRecord.query(contact_id):
            interaction.delete()
            add("interactions")
        if email and _delete_if(KeyRecord(contact_key(email)), KeyRecord.owner_id == contact_id):
            add("claims")
        add("accounts", self._erase_lone_account(account_id, contact_id))
        needles = [p.casefold() for p in personal if p]
        add("quarantine", self._erase_quarantine(needles))
        add("import_rows", self._redact_import_errors(needles))
        add("idempotency_records", self._erase_idempotency(needles, [contact_id, *lead_ids]))
        add("identity_items", self.forget_contact(contact_id))
        for merge in IdentityRecord.query(f"contact-merges#{contact_id}"):
            IdentityRecord(f"merge#{merge.sk}", "merge").delete()
            merge.delete()
            add("merges")
        try:
            ContactRecord(contact_id).delete(
                condition=ContactRecord.contact_id.exists(), add_version_condition=False
            )
            add("contacts")
        except DeleteError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
        return counts

    def finish_erasure(self, contact_id: str, erasure_id: str, counts: dict[str, Any], now: datetime) -> None:
        """The erasure's record (counts only) and the marker's time: what remains of the person is their
        contact id in the marker and the tombstone's keyed hash."""
        _item(
            f"erasure#{erasure_id}",
            "erasure",
            {"erasure_id": erasure_id, "erased_at": now, "counts": counts},
            now,
        ).save()
        marker = self.erasure_marker(contact_id) or {}
        _item(
            f"erased#{contact_id}", "erased", {**marker, "erasure_id": erasure_id, "erased_at": now}, now
        ).save()

    @staticmethod
    def _erase_lone_account(account_id: str | None, contact_id: str) -> int:
        """The person's account when nobody else is in it (its name and domain claims too): an account
        is derived from what the person submitted. Shared accounts stay."""
        if not account_id:
            return 0
        others = [
            r.contact_id for r in ContactRecord.by_account.query(account_id) if r.contact_id != contact_id
        ]
        if others:
            return 0
        try:
            account = AccountRecord.get(account_id, consistent_read=True)
        except DoesNotExist:
            return 0
        keys = AccountKeys(
            name=company_key(account.name) if account.name else None,
            domain=account.domain,
        )
        for key in keys.guard_keys():
            _delete_if(KeyRecord(key), KeyRecord.owner_id == account_id)
        account.delete(add_version_condition=False)
        return 1

    @staticmethod
    def _erase_leads(lead_ids: list[str]) -> dict[str, Any]:
        counts: dict[str, Any] = {"leads": 0, "scores": 0, "lead_history": 0, "handoffs": 0}
        sent: dict[str, list[str]] = {}
        for lead_id in lead_ids:
            for score in ScoreRecord.query(lead_id):
                score.delete()
                counts["scores"] += 1
            for entry in LeadHistoryRecord.query(lead_id):
                entry.delete()
                counts["lead_history"] += 1
            if _delete_if(LeadRecord(lead_id), LeadRecord.lead_id.exists()):
                counts["leads"] += 1
        # the outbox is keyed by hand-off id; an erasure is rare enough to scan it (IN takes 100 values)
        for start in range(0, len(lead_ids), 100):
            for handoff in HandoffRecord.scan(HandoffRecord.lead_id.is_in(*lead_ids[start : start + 100])):
                if handoff.state == "sent":
                    sent.setdefault(handoff.lead_id, []).append(handoff.handoff_id)
                handoff.delete()
                counts["handoffs"] += 1
        counts["sent_handoffs"] = sent
        return counts

    @staticmethod
    def _erase_quarantine(needles: list[str]) -> int:
        removed = 0
        for record in QuarantineRecord.scan():
            if any(n in record.payload.casefold() for n in needles):
                record.delete()
                removed += 1
        return removed

    @staticmethod
    def _redact_import_errors(needles: list[str]) -> int:
        def redact(value: Any) -> tuple[Any, int]:
            if isinstance(value, str):
                return (ERASED, 1) if any(n in value.casefold() for n in needles) else (value, 0)
            if isinstance(value, list):
                pairs = [redact(v) for v in value]
                return [p[0] for p in pairs], sum(p[1] for p in pairs)
            if isinstance(value, dict):
                done = {k: redact(v) for k, v in value.items()}
                return {k: p[0] for k, p in done.items()}, sum(p[1] for p in done.values())
            return value, 0

        redacted = 0
        for chunk in ImportChunkRecord.scan(ImportChunkRecord.item.startswith("chunk#")):
            if not chunk.errors or not any(n in chunk.errors.casefold() for n in needles):
                continue
            errors, n = redact(json.loads(chunk.errors))
            chunk.update(actions=[ImportChunkRecord.errors.set(json.dumps(errors))])
            redacted += n
        return redacted

    def _erase_idempotency(self, needles: list[str], ids: list[str]) -> int:
        """Replayable answers that name the person or their records (answers hold ids; payloads are
        kept only as hashes, but a header key or an answer may still point at them)."""
        removed = 0
        wanted = [*needles, *(i.casefold() for i in ids)]
        client = self._connection.client  # the idempotency table belongs to Powertools: no Record class
        for page in client.get_paginator("scan").paginate(TableName=self._idempotency_table):
            for item in page.get("Items", []):
                text = json.dumps(item).casefold()
                if any(w in text for w in wanted):
                    client.delete_item(TableName=self._idempotency_table, Key={"id": item["id"]})
                    removed += 1
        return removed


def contacts(ids: Iterable[str]) -> list[Contact]:
    wanted = list(dict.fromkeys(ids))
    return [contact_from(r) for r in ContactRecord.batch_get(wanted, consistent_read=True)] if wanted else []
