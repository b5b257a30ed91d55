"""The deployment's own key: it signs the cursors the API hands out and peppers erasure tombstones.

``LEADFLOW_SECRET`` (in AWS from Secrets Manager, see ``docs/deploy.md``) is the key when set: then it
is kept apart from the data. Without it, a random key is created once in the keys table
(``config#deployment-key``, a conditional put, so concurrent first calls agree; every function that
captures or lists already reads that table) and used by every function: cursors stay unforgeable for
clients, but someone who can read the tables could also read the key, so a tombstone is then only
salted, not peppered. Read once per container."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store.records import KeyRecord

_KEY = "config#deployment-key"
#: ``configured``: the setting; ``key``: the key in use, once read.
_state: dict[str, str | bytes | None] = {"configured": "", "key": None}


def configure(secret: str) -> None:
    """The ``LEADFLOW_SECRET`` setting (empty: use the stored key); forgets a key read before."""
    _state.update(configured=secret, key=None)


def deployment_key() -> bytes:
    key = _state["key"]
    if not isinstance(key, bytes):
        configured = str(_state["configured"] or "")
        key = hashlib.sha256(configured.encode()).digest() if configured else _stored_key()
        _state["key"] = key
    return key


def _stored_key() -> bytes:
    for _ in range(3):
        try:
            return bytes.fromhex(KeyRecord.get(_KEY, consistent_read=True).detail or "")
        except DoesNotExist:
            pass
        now = datetime.now(UTC)
        try:
            KeyRecord(_KEY, owner_id="-", created_at=now, detail=secrets.token_hex(32)).save(
                condition=KeyRecord.key.does_not_exist()
            )
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    return bytes.fromhex(KeyRecord.get(_KEY, consistent_read=True).detail or "")


def mac(purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` under the deployment key, separated by ``purpose``."""
    return hmac.new(deployment_key(), purpose.encode() + b"\0" + message, hashlib.sha256).digest()


def tombstone_key(email: str) -> str:
    """The keys-table item that says this (normalised) email was erased: a keyed hash, never the email."""
    return "tombstone#" + mac("tombstone", email.strip().lower().encode()).hex()
