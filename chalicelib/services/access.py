"""API keys: created by operators, checked on every non-public route."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from chalicelib.domain.access import SCOPES, ApiKey, hash_secret, new_secret
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.ports import KeyStore

#: A found key is trusted for this long without another read; a revocation takes effect within it.
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, ApiKey | None]] = {}


def authenticate(secret: str | None, store: KeyStore) -> ApiKey | None:
    """The key for this secret, or ``None`` when it is unknown or revoked."""
    if not secret:
        return None
    key_hash = hash_secret(secret)
    cached = _cache.get(key_hash)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    key = store.find_key(key_hash)
    if key is not None and key.revoked_at is None:
        _cache[key_hash] = (time.monotonic() + CACHE_SECONDS, key)
        return key
    return None


def create_key(
    name: str, scopes: list[str], store: KeyStore, secret: str | None = None
) -> tuple[str, ApiKey]:
    """Store a new key and return its secret (shown once; only its hash is kept)."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValidationFailed([FieldError("scopes", f"scopes must be some of {', '.join(SCOPES)}")])
    secret = secret or new_secret()
    key = ApiKey(key_id=new_id("k"), name=name, scopes=frozenset(scopes), created_at=datetime.now(UTC))
    store.put_key(hash_secret(secret), key)
    return secret, key
