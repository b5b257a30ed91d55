"""Suspected duplicates: each contact's blocking keys (hashed) and the suspicions between contacts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.domain.duplicates import Suspicion, hashed
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

#: The sort key of a contact's one item listing its hashed blocking keys.
KEYS_ITEM = "all"
#: The blocking key of a contact's account (``domain/duplicates.py``): read from the contacts' own
#: ``by_account`` index, never stored here.
ACCOUNT_KEY = "account#"


class DuplicateRepository(IdentityTable):
    """``DuplicateStore``: rewriting the same keys and suspicions changes nothing."""

    def candidates(self, keys: Iterable[str], limit: int = 50) -> set[str]:
        """Contacts that share one of these (clear) blocking keys, at most ``limit`` per key (a key
        shared by thousands, such as a big account, says little). An account's key is answered by the
        contacts' ``by_account`` index, which every contact of an account is in already: no item of
        its own (issue 19: one write a contact less)."""
        found: set[str] = set()
        for key in keys:
            if key.startswith(ACCOUNT_KEY):
                account_id = key[len(ACCOUNT_KEY) :]
                found |= {r.contact_id for r in ContactRecord.by_account.query(account_id, limit=limit)}
            else:
                found |= {r.sk for r in IdentityRecord.query(f"block#{hashed(key)}", limit=limit)}
        return found

    def _held_keys(self, contact_id: str) -> tuple[set[str], list[IdentityRecord]]:
        """The contact's hashed keys, from its one ``keys#<contact>`` / ``all`` item, and the per-key
        items an older layout wrote (``keys#<contact>`` / ``<hash>``: read, then replaced)."""
        held: set[str] = set()
        legacy: list[IdentityRecord] = []
        for record in IdentityRecord.query(f"keys#{contact_id}"):
            if record.sk == KEYS_ITEM:
                held |= set(json.loads(record.data).get("hashes", []))
            else:
                held.add(record.sk)
                legacy.append(record)
        return held, legacy

    def replace_keys(self, contact_id: str, keys: set[str], now: datetime) -> None:
        """The contact's blocking keys become ``keys`` (stored hashed): one ``block#<hash>`` item per
        key (what :meth:`candidates` queries) and the contact's list of them in one item (issue 19: was
        one item per key, 2 writes per key instead of 1 + 1 per contact)."""
        wanted = {hashed(k) for k in keys if not k.startswith(ACCOUNT_KEY)}
        held, legacy = self._held_keys(contact_id)
        if held == wanted and not legacy:
            return
        with IdentityRecord.batch_write() as batch:
            for gone in held - wanted:
                batch.delete(IdentityRecord(f"block#{gone}", contact_id))
            for new in wanted - held:
                batch.save(_item(f"block#{new}", contact_id, {}, now))
            for record in legacy:
                batch.delete(record)
        if wanted:
            _item(f"keys#{contact_id}", KEYS_ITEM, {"hashes": sorted(wanted)}, now).save()
        elif held:
            IdentityRecord(f"keys#{contact_id}", KEYS_ITEM).delete()

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
        held, legacy = self._held_keys(contact_id)
        for hash_ in held:
            IdentityRecord(f"block#{hash_}", contact_id).delete()
            removed += 1
        for record in legacy:
            record.delete()
        if held:
            IdentityRecord(f"keys#{contact_id}", KEYS_ITEM).delete()
        for suspect in IdentityRecord.query(f"suspect#{contact_id}"):
            first, second = sorted((contact_id, suspect.sk))
            IdentityRecord(DUPLICATES, f"{first}#{second}").delete()
            IdentityRecord(f"suspect#{suspect.sk}", contact_id).delete()
            suspect.delete()
            removed += 1
        return removed
