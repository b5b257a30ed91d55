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
    IdentityRecord,
)


class DuplicateRepository(IdentityTable):
    """``DuplicateStore``: rewriting the same keys and suspicions changes nothing."""

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
