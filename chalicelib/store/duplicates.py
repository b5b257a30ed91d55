"""Suspected duplicates: the contacts sharing a blocking key (from the contacts' own indexes) and the
suspicions between contacts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.domain.duplicates import Suspicion, indexed_keys
from chalicelib.domain.entities import Contact
from chalicelib.store.dynamo import decode_cursor, encode_cursor
from chalicelib.store.identity_table import (
    DUPLICATES,
    IdentityTable,
    _item,
)
from chalicelib.store.records import (
    ContactRecord,
    IdentityRecord,
)

#: The sort key of a contact's one item listing its hashed blocking keys (the layout before issue 19:
#: read only to remove it, by erasure and the backfill).
KEYS_ITEM = "all"
#: Contacts read per blocking key: a key shared by thousands (a big account or company domain) says
#: little, and only its first ``LIMIT`` are judged.
LIMIT = 50


class DuplicateRepository(IdentityTable):
    """``DuplicateStore``: rewriting the same suspicions changes nothing. A contact's blocking keys are
    attributes of its own item (``dynamo.contact_record``, ``domain.duplicates.IndexedKeys``), each kind
    a sparse keys-only index of the contacts table: the capture that writes the contact writes them (an
    index write each, no item of their own: issue 19, 4 write units a new contact to 2), a change of
    email or phone moves them in the same write, and the contact's deletion or erasure removes them."""

    def candidates(self, contact: Contact, limit: int = LIMIT) -> set[str]:
        """Contacts that share one of ``contact``'s blocking keys (itself included), at most ``limit``
        per key; eventually consistent, as every index (a contact written a moment ago is found when its
        own change is judged). One query per kind: the email's ``mail`` key (a company domain's contacts:
        the same address among them, unless the domain has more than ``limit``, then the address is
        asked for as well), the phone's (unless the stage is between the two updates that add the
        indexes: ``Settings.duplicate_phone_index``), and the account's (the ``by_account`` index)."""
        keys = indexed_keys(contact)
        found: set[str] = set()
        if keys.mail is not None:
            page = ContactRecord.by_dup_mail.query(keys.mail, limit=limit)
            found |= {r.contact_id for r in page}
            if page.last_evaluated_key is not None and keys.email is not None:
                found |= {
                    r.contact_id
                    for r in ContactRecord.by_dup_mail.query(
                        keys.mail, ContactRecord.dup_email == keys.email, limit=limit
                    )
                }
        if keys.phone is not None and self._phone_index:
            found |= {r.contact_id for r in ContactRecord.by_dup_phone.query(keys.phone, limit=limit)}
        if contact.account_id and not contact.erasing:
            found |= {r.contact_id for r in ContactRecord.by_account.query(contact.account_id, limit=limit)}
        return found

    @staticmethod
    def _legacy_items(contact_id: str) -> list[IdentityRecord]:
        """The contact's blocking-key items of the layout before issue 19: its ``keys#<contact>`` items
        (the list ``all``, or one per key) and the ``block#<hash>`` item of each key they name."""
        found: list[IdentityRecord] = []
        for record in IdentityRecord.query(f"keys#{contact_id}"):
            hashes = json.loads(record.data).get("hashes", []) if record.sk == KEYS_ITEM else [record.sk]
            found += [IdentityRecord(f"block#{h}", contact_id) for h in hashes]
            found.append(record)
        return found

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
        """Every identity item about the contact: its suspicions (both sides), and the blocking-key items
        of the layout before issue 19 if the backfill has not removed them yet (its keys now go with its
        item: erasure marks it ``erasing``, which drops them, then deletes it)."""
        removed = 0
        for record in self._legacy_items(contact_id):
            record.delete()
            removed += record.pk.startswith("block#")
        for suspect in IdentityRecord.query(f"suspect#{contact_id}"):
            first, second = sorted((contact_id, suspect.sk))
            IdentityRecord(DUPLICATES, f"{first}#{second}").delete()
            IdentityRecord(f"suspect#{suspect.sk}", contact_id).delete()
            suspect.delete()
            removed += 1
        return removed
