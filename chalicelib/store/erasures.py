"""Erasures: the marker and tombstone that make one effective at once, and the deletion passes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.domain.entities import Contact
from chalicelib.domain.matching import AccountKeys, company_key, contact_key
from chalicelib.store import secrets
from chalicelib.store.duplicates import DuplicateRepository
from chalicelib.store.identity_table import (
    ERASED,
    _delete_if,
    _item,
)
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


class ErasureRepository(DuplicateRepository):
    """``ErasureStore``: every pass deletes what is still there, so it can run again. It forgets the
    person's suspected duplicates too (hence the duplicates repository beneath it)."""

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

    def begin_erasure(self, contact: Contact, data: dict[str, Any], now: datetime) -> None:
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
        if contact.email:
            KeyRecord(secrets.tombstone_key(contact.email), owner_id="-", created_at=now).save()
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
