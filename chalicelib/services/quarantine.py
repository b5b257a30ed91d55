"""Quarantine review: suspected spam set aside by the public form route (a honeypot, a rejected
CAPTCHA, two weak signals) is listed, inspected and, when it was a person after all, released.

A release captures the submission as if it had been accepted then (the form's mapping, consent and
lead matching, the ``form_submitted`` interaction at the time it was received). It is safe to repeat:
the release claims ``receipt#quarantine#<id>`` in the capture's own transaction, so a second release
(or two operators at once) captures nothing more and answers with the first release's ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.forms import FormDefinition, capture_from_submission
from chalicelib.domain.ids import derived_id
from chalicelib.observability import count, logger
from chalicelib.services.capture import Received, capture, load_form
from chalicelib.wiring import Deps


def _email_field(form: FormDefinition | None) -> str | None:
    if form is None:
        return None
    return next((name for name, spec in form.fields.items() if spec.maps_to == "contact.email"), None)


def _summary(item: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """A list entry: what was kept, without the whole payload (the email to recognise a person)."""
    try:
        email_field = _email_field(load_form(item["form_id"], deps))
    except NotFound:
        email_field = None
    email = item["payload"].get(email_field) if email_field else None
    released = item.get("released") or {}
    return {
        **{k: v for k, v in item.items() if k not in ("payload", "released")},
        "email": email if isinstance(email, str) else None,
        "lead_id": released.get("lead_id"),
    }


def list_quarantined(filters: dict[str, str], limit: int, cursor: str | None, deps: Deps) -> dict[str, Any]:
    """Newest first per page; ``filters``: ``form_id``, ``reason``, ``state`` (held or released)."""
    items, next_cursor = deps.store.list_quarantined(filters, limit, cursor)
    return {"quarantined": [_summary(item, deps) for item in items], "next_cursor": next_cursor}


def get_quarantined(quarantine_id: str, deps: Deps) -> dict[str, Any]:
    item = deps.store.get_quarantined(quarantine_id)
    if item is None:
        raise NotFound("quarantined submission", quarantine_id)
    released = item.pop("released") or {}
    return {**item, "lead_id": released.get("lead_id"), "contact_id": released.get("contact_id")}


def release(quarantine_id: str, deps: Deps) -> tuple[bool, dict[str, Any]]:
    """Capture a quarantined submission; ``(captured now, answer)``. Raises :class:`NotFound`, or
    :class:`ValidationFailed` when what was submitted cannot be captured (naming each field)."""
    item = deps.store.get_quarantined(quarantine_id)
    if item is None:
        raise NotFound("quarantined submission", quarantine_id)
    form_id = item["form_id"]
    submission = capture_from_submission(form_id, load_form(form_id, deps), item["payload"])
    submission_id = derived_id("s", "quarantine", quarantine_id)
    received = Received(
        submission_id,
        properties={"form_id": form_id, "released_from": quarantine_id, "signals": item["signals"]},
        receipt=f"receipt#quarantine#{quarantine_id}",
        occurred_at=datetime.fromisoformat(item["received_at"].replace("Z", "+00:00")),
    )
    result = capture(submission, deps, received)
    deps.store.mark_released(quarantine_id, result.as_dict(), datetime.now(UTC))
    if not result.duplicate:
        count("QuarantineReleased")
        logger.info("quarantined submission released", extra={"quarantine_id": quarantine_id})
    answer = {
        "quarantine_id": quarantine_id,
        "submission_id": submission_id,
        "status": "released",
        **result.as_dict(),
    }
    return not result.duplicate, answer
