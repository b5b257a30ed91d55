"""API keys and scopes. Keys are random secrets; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

Scope = Literal["ingest", "sales", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
KEY_PREFIX = "lf_"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None
    #: The person the key belongs to (``PUT /v1/users/{id}``): what they do is attributed to them.
    user_id: str | None = None

    @property
    def actor(self) -> str:
        """Who acts, as the timeline records it: ``user:<id>`` for a person's key, else ``key:<id>``."""
        return f"user:{self.user_id}" if self.user_id else f"key:{self.key_id}"

    def allows(self, required: str) -> bool:
        """``admin`` may do everything; other scopes only what they name."""
        return self.revoked_at is None and ("admin" in self.scopes or required in self.scopes)


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 cannot be reversed by guessing."""
    return hashlib.sha256(secret.encode()).hexdigest()
