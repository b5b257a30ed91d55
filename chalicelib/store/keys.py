"""API keys as authentication reads them, by the secret's hash (``KeyStore``)."""

from __future__ import annotations

from pynamodb.exceptions import (
    DoesNotExist,
)

from chalicelib.domain.access import ApiKey
from chalicelib.store.records import (
    ApiKeyRecord,
)


class KeyRepository:
    def find_key(self, key_hash: str) -> ApiKey | None:
        try:
            record = ApiKeyRecord.get(key_hash)
        except DoesNotExist:
            return None
        return ApiKey(
            key_id=record.key_id,
            name=record.name,
            scopes=frozenset(record.scopes or ()),
            created_at=record.created_at,
            revoked_at=record.revoked_at,
            user_id=record.user_id,
        )

    def put_key(self, key_hash: str, key: ApiKey) -> None:
        ApiKeyRecord(
            key_hash,
            key_id=key.key_id,
            name=key.name,
            scopes=set(key.scopes),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            user_id=key.user_id,
        ).save()
