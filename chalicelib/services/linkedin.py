"""LinkedIn Lead Sync: answer the validation challenge, accept signed lead notifications onto a work
queue, and (in the worker) fetch each form response, map it by the form's question mapping and capture
it, or erase it when LinkedIn says it was deleted.

The route only verifies and enqueues, so LinkedIn gets its answer at once and a LinkedIn API outage
(5xx, 429, timeouts) delays a lead instead of losing it: the worker's message comes back after the
wait LinkedIn asked for, and after five failures rests in the dead-letter queue (alarmed) for a redrive.
Every step is keyed by the response id: a notification delivered again changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, NotAuthentic, NotFound, ValidationFailed
from chalicelib.integrations import linkedin
from chalicelib.wiring import Deps

SIGNATURE_HEADER = "X-LI-Signature"
_FORM_URN = re.compile(r"(?:urn:li:leadGenForm:)?([A-Za-z0-9_\-.]{1,100})")


def _secret(deps: Deps) -> str:
    """LinkedIn's client secret, read now (``deps.linkedin_secret``: a rotated one is used within the
    secrets' cache time); 409 when the stage has none."""
    secret = deps.linkedin_secret()
    if not secret:
        raise Conflict(
            "LinkedIn Lead Sync is not configured (LINKEDIN_CLIENT_SECRET)", "LINKEDIN_CLIENT_SECRET"
        )
    return secret


def challenge(code: str | None, deps: Deps) -> dict[str, str]:
    if not code or len(code) > 200:
        raise ValidationFailed(
            [FieldError("challengeCode", "challengeCode is required (at most 200 characters)")]
        )
    return {"challengeCode": code, "challengeResponse": linkedin.challenge_response(code, _secret(deps))}


def notified(body: bytes, signature: str | None, deps: Deps) -> dict[str, Any]:
    """Verify (401 before anything else), parse (422 naming the field), enqueue; other notification
    types are acknowledged and ignored."""
    if not linkedin.signature_valid(body, signature, [_secret(deps)]):
        raise NotAuthentic("X-LI-Signature does not match the body", SIGNATURE_HEADER)
    notification = linkedin.parse_notification(body)
    if notification is None:
        return {"accepted": False, "reason": "not a lead notification"}
    from chalicelib.observability import count

    answer = {"accepted": True, "action": notification.action, "response": notification.response_urn}
    # LinkedIn's signature has no time and no id: a captured notification verifies forever. The first
    # arrival of each (action, response) queues the work; a replay is acknowledged and queues nothing.
    notice = f"notice#linkedin#{notification.action}#{notification.response_id}"
    if not deps.store.claim_notice(notice, datetime.now(UTC)):
        count("LinkedInReplayed")
        return {**answer, "duplicate": True}
    try:
        deps.linkedin_queue.send_json(
            {
                "action": notification.action,
                "response_id": notification.response_id,
                "form_urn": notification.form_urn,
            }
        )
    except Exception:
        deps.store.release_notice(notice)  # not queued: LinkedIn's retry must be able to queue it
        raise
    deps.store.notice_done(notice)
    count(f"LinkedIn{notification.action.title()}")
    return answer


# ---------------------------------------------------------------- form mappings


def form_urn(value: str) -> str:
    """``urn:li:leadGenForm:3162`` or just ``3162``."""
    match = _FORM_URN.fullmatch(value)
    if match is None:
        raise ValidationFailed([FieldError("form_urn", "form_urn must be urn:li:leadGenForm:<id> or the id")])
    return f"urn:li:leadGenForm:{match.group(1)}"


@dataclass(frozen=True)
class LinkedInMapping:
    """A LinkedIn form's question mapping as shown (the integration's public part, no secrets)."""

    form_urn: str
    mapping: dict[str, Any]


def put_form(urn: str, body: Any, deps: Deps) -> tuple[bool, LinkedInMapping]:
    """A LinkedIn form's question mapping: a form definition whose field names are question ids
    (``"1"``) and ``consent_<consentId>`` for its consent boxes."""
    from chalicelib.domain.forms import parse_form

    urn = form_urn(urn)
    form = parse_form(body, "linkedin")
    existing = deps.integrations.get(f"linkedin-form#{urn}")
    deps.integrations.put(f"linkedin-form#{urn}", form, (), datetime.now(UTC), existing)
    return existing is None, get_form(urn, deps)


def get_form(urn: str, deps: Deps) -> LinkedInMapping:
    urn = form_urn(urn)
    found = deps.integrations.get(f"linkedin-form#{urn}")
    if found is None:
        raise NotFound("LinkedIn form mapping", urn)
    public = deps.integrations.public(found)
    public.pop("secrets", None)
    return LinkedInMapping(urn, public)


# ---------------------------------------------------------------- the worker


class MappingMissing(Exception):
    """No question mapping for the form yet: the message waits (then dead-letters) until one is put."""


def receipt_key(response_id: str) -> str:
    return f"receipt#linkedin#{response_id}"


def process(message: dict[str, Any], deps: Any, api: linkedin.LinkedInClient | None = None) -> str:
    """One queued notification; returns what happened. Raises :class:`linkedin.RetryLater` (the
    caller delays the message by ``retry_after``), :class:`MappingMissing` or a validation error
    (the message is retried, then dead-lettered for a redrive once the mapping is fixed)."""
    response_id = str(message["response_id"])
    if message["action"] == "DELETED":
        return erase(response_id, deps)
    if deps.store.receipt(receipt_key(response_id)) is not None:
        return "duplicate"  # captured before, or deleted before it was ever captured
    urn = str(message["form_urn"])
    mapping = deps.integrations.get(f"linkedin-form#{urn}")
    if mapping is None:
        raise MappingMissing(f"no question mapping for {urn}: PUT /v1/integrations/linkedin/forms/{urn}")
    try:
        response = (api or deps.linkedin()).form_response(response_id)
    except linkedin.ResponseGone:
        deps.store.mark_receipt(receipt_key(response_id), {"status": "gone"}, datetime.now(UTC))
        return "gone"
    return _capture(response, urn, mapping.form, deps)


def _capture(response: linkedin.FormResponse, urn: str, form: Any, deps: Deps) -> str:
    from dataclasses import replace

    from chalicelib.domain.forms import capture_from_submission
    from chalicelib.domain.ids import derived_id
    from chalicelib.services.capture import Received, capture

    submission = capture_from_submission(
        urn, form, linkedin.submitted_fields(response), origin=f"linkedin:{urn}"
    )
    if response.test_lead:
        submission = replace(submission, lead={**submission.lead, "test_lead": True})
    received = Received(
        derived_id("li", response.response_id),
        properties={
            "linkedin_form": urn,
            "response_id": response.response_id,
            "test_lead": response.test_lead,
            "consents": response.consents,
        },
        receipt=receipt_key(response.response_id),
        occurred_at=response.submitted_at,
    )
    from chalicelib.domain.errors import PersonErased

    try:
        result = capture(submission, deps, received)
    except PersonErased:
        return "erased"  # the member was erased here: their response is not kept again
    return "duplicate" if result.duplicate else "captured"


def erase(response_id: str, deps: Deps) -> str:
    """LinkedIn deleted the response (the member asked): remove what it brought — its lead and its
    interaction, and its contact when the response created it and nothing else uses it. The receipt
    stays, without personal data, so a late ``CREATED`` for the same response stores nothing."""
    now = datetime.now(UTC)
    key = receipt_key(response_id)
    detail = deps.store.receipt(key)
    if detail is None:
        if deps.store.mark_receipt(key, {"status": "erased", "erased_at": now.isoformat()}, now):
            return "erased"
        detail = deps.store.receipt(key) or {}
    if detail.get("status") in ("erased", "gone"):
        return "duplicate"
    if detail.get("lead_id"):
        deps.store.erase_capture(detail)
    deps.store.replace_receipt(key, {"status": "erased", "erased_at": now.isoformat()}, now)
    return "erased"
