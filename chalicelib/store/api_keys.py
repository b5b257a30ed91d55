"""Operator reads and writes of the API keys table beyond authentication: listing keys and revoking
one by its id. The table is keyed by the secret's hash and holds a handful of items, so both read it
whole (a scan of a tiny table, never on a request path)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.domain.access import ApiKey
from chalicelib.store.records import ApiKeyRecord


def list_keys() -> list[ApiKey]:
    keys = [
        ApiKey(
            key_id=record.key_id,
            name=record.name,
            scopes=frozenset(record.scopes or ()),
            created_at=record.created_at,
            revoked_at=record.revoked_at,
            user_id=record.user_id,
        )
        for record in ApiKeyRecord.scan()
    ]
    return sorted(keys, key=lambda key: key.created_at)


def revoke(key_id: str, at: datetime) -> bool:
    """Mark the key revoked (``False`` when no key has this id). Revoking twice keeps the first time.
    API containers trust a key they have seen for up to a minute, so it stops working within that."""
    found = False
    for record in ApiKeyRecord.scan(ApiKeyRecord.key_id == key_id):
        found = True
        try:
            record.update(
                actions=[ApiKeyRecord.revoked_at.set(at)],
                condition=ApiKeyRecord.revoked_at.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return found
