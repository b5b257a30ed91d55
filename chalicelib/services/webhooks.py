"""Signed lead webhooks from other tools: sources (a mapping like a form's, and up to two secrets)
and deliveries, each captured once (see ``integrations/webhooks.py`` for the signing scheme)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import (
    FieldError,
    NotAuthentic,
    NotFound,
    PersonErased,
    Replayed,
    ValidationFailed,
)
from chalicelib.domain.forms import capture_from_submission, flatten, parse_form, valid_form_id
from chalicelib.domain.ids import derived_id, new_id
from chalicelib.integrations import webhooks
from chalicelib.observability import count, logger
from chalicelib.services.capture import Received, capture
from chalicelib.wiring import Deps

if TYPE_CHECKING:  # pynamodb is imported by the first call, not by the app's import
    from chalicelib.store.integrations import Integration

#: A source may have this many active secrets: the current one and the one being replaced.
MAX_SECRETS = 2


def _integration_id(source: str) -> str:
    if not valid_form_id(source):
        raise ValidationFailed([FieldError("source", "source must be 1-64 letters, digits, _ or -")])
    return f"webhook#{source}"


def _get(source: str, deps: Deps) -> Integration:
    found = deps.integrations.get(_integration_id(source))
    if found is None:
        raise NotFound("webhook source", source)
    return found


def put_source(source: str, body: Any, deps: Deps) -> tuple[bool, dict[str, Any]]:
    """Create or change a source's mapping; its secrets are kept."""
    integration_id = _integration_id(source)
    form = parse_form(body, source)
    existing = deps.integrations.get(integration_id)
    secrets = existing.secrets if existing else ()
    deps.integrations.put(integration_id, form, secrets, datetime.now(UTC), existing)
    return existing is None, get_source(source, deps)


def get_source(source: str, deps: Deps) -> dict[str, Any]:
    return {"source": source, **deps.integrations.public(_get(source, deps))}


@dataclass(frozen=True)
class SecretAdded:
    """A new signing secret (its value shown this once) and the source's active secret ids."""

    source: str
    secret_id: str
    secret: str
    created_at: str
    active_secret_ids: list[str]


@dataclass(frozen=True)
class ActiveSecrets:
    """The source's secrets still accepted, after one was retired."""

    source: str
    active_secret_ids: list[str]


def add_secret(source: str, deps: Deps) -> SecretAdded:
    """A new secret, shown this once. With two active already, the older is retired: rotate by adding
    the new one, moving the sender to it, then retiring the old one (or adding the next)."""
    found = _get(source, deps)
    now = datetime.now(UTC)
    from chalicelib.store.integrations import Secret

    secret = Secret(secret_id=new_id("sec"), secret=webhooks.new_secret(), created_at=now.isoformat())
    kept = (*found.secrets, secret)[-MAX_SECRETS:]
    deps.integrations.put(found.integration_id, found.form, kept, now, found)
    logger.info("webhook secret added", extra={"source": source, "secret_id": secret.secret_id})
    return SecretAdded(
        source=source,
        secret_id=secret.secret_id,
        secret=secret.secret,
        created_at=secret.created_at,
        active_secret_ids=[s.secret_id for s in kept],
    )


def retire_secret(source: str, secret_id: str, deps: Deps) -> ActiveSecrets:
    found = _get(source, deps)
    kept = tuple(s for s in found.secrets if s.secret_id != secret_id)
    if len(kept) == len(found.secrets):
        raise NotFound("secret", secret_id)
    deps.integrations.put(found.integration_id, found.form, kept, datetime.now(UTC), found)
    return ActiveSecrets(source, [s.secret_id for s in kept])


def authenticate(
    source: str, headers: dict[str, str], body: bytes, deps: Deps, before_signature: Callable[[], None]
) -> tuple[Integration, str]:
    """The source and the delivery id of an authentic delivery; :class:`NotAuthentic` (401) otherwise,
    before anything is read from the body or stored. An unknown source, or one without a secret, is
    refused exactly like a wrong signature (same status, code, field and message, after the same header
    checks), so the answer does not say which sources exist. ``before_signature`` runs for a real
    source only, before its signatures are checked (the rate limit: nothing is kept about made-up
    sources, and a rotated made-up name does not reset it)."""
    signed = webhooks.read_headers(headers, time.time())
    found = deps.integrations.get(_integration_id(source)) if valid_form_id(source) else None
    if found is None or not found.secrets:
        raise NotAuthentic(webhooks.MISMATCH, webhooks.SIGNATURE_HEADER)
    before_signature()
    webhooks.check_signature(body, signed, [s.secret for s in found.secrets])
    return found, signed.delivery_id


def ingest(
    source: str, integration: Integration, delivery_id: str, payload: dict[str, Any], deps: Deps
) -> dict[str, Any]:
    """Map and capture an authentic delivery, once: the delivery id is the receipt."""
    submission = capture_from_submission(
        source, integration.form, flatten(payload), origin=f"webhook:{source}"
    )
    received = Received(
        derived_id("w", source, delivery_id),
        properties={"webhook": source, "delivery_id": delivery_id},
        receipt=f"receipt#webhook#{source}#{delivery_id}",
    )
    try:
        result = capture(submission, deps, received)
    except PersonErased:  # stored nothing; answered like any delivery (who was erased stays unsaid)
        return {"delivery_id": delivery_id, "status": "accepted"}
    if result.duplicate:
        count("WebhookReplayed")
        raise Replayed(
            f"delivery {delivery_id} was received before; nothing was stored again", webhooks.ID_HEADER
        )
    count("WebhookDelivered")
    return {"delivery_id": delivery_id, "status": "accepted"}  # ids would tell who is known
