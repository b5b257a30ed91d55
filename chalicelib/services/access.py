"""API keys: created by operators, checked on every non-public route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.domain.access import SCOPES, ApiKey, hash_secret, new_secret
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.ids import new_id

if TYPE_CHECKING:
    from chalicelib.domain.ports import Cache, KeyStore

#: A found key is trusted for this long without another read; a revocation takes effect within it.
CACHE_SECONDS = 60.0


def authenticate(secret: str | None, store: KeyStore, cache: Cache[str, ApiKey | None]) -> ApiKey | None:
    """The key for this secret, or ``None`` when it is unknown or revoked. A valid key is kept in the
    container's ``cache`` (``Deps.keys_cache``) for ``CACHE_SECONDS``."""
    if not secret:
        return None
    key_hash = hash_secret(secret)

    def valid() -> ApiKey | None:
        key = store.find_key(key_hash)
        return key if key is not None and key.revoked_at is None else None

    return cache.get(key_hash, valid, CACHE_SECONDS)


def create_key(
    name: str, scopes: list[str], store: KeyStore, secret: str | None = None, user_id: str | None = None
) -> tuple[str, ApiKey]:
    """Store a new key and return its secret (shown once; only its hash is kept). ``user_id``: the
    person the key belongs to (checked to exist by the caller: ``leadflow keys create --user``)."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValidationFailed([FieldError("scopes", f"scopes must be some of {', '.join(SCOPES)}")])
    secret = secret or new_secret()
    key = ApiKey(
        key_id=new_id("k"),
        name=name,
        scopes=frozenset(scopes),
        created_at=datetime.now(UTC),
        user_id=user_id,
    )
    store.put_key(hash_secret(secret), key)
    return secret, key
