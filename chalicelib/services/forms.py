"""Form definitions, saved by operators (``PUT /v1/forms/{id}``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.forms import parse_form, valid_form_id
from chalicelib.services import capture
from chalicelib.services.capture import SubmissionOutcome, forget_form
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.screening import Verdict


def put_form(form_id: str, body: Any, deps: Deps) -> tuple[bool, dict[str, Any]]:
    """Validate and store a definition; returns ``(created, stored definition)``. Putting the same
    definition twice stores it twice, with the same result."""
    if not valid_form_id(form_id):
        raise ValidationFailed([FieldError("form_id", "form_id must be 1-64 letters, digits, _ or -")])
    form = parse_form(body)
    created = deps.store.put_form(form_id, form, datetime.now(UTC))
    forget_form(form_id, deps)
    return created, {"form_id": form_id, **form.model_dump(exclude_none=True)}


def submit(form_id: str, submitted: dict[str, Any], deps: Deps, verdict: Verdict) -> SubmissionOutcome:
    """A form submission (:func:`capture.submit_form`), then, for a double opt-in form, the
    confirmation e-mail for the consent it asked for (``services/mail.py: confirm_form_consent``: once
    per form and consent state, so a repeated submission sends no second e-mail). Runs inside the
    route's replay-safe call: a replay of the same request sends nothing."""
    from chalicelib.services.mail import confirm_form_consent

    outcome = capture.submit_form(form_id, submitted, deps, verdict)
    if isinstance(outcome, capture.SubmissionAccepted) and outcome.captured and outcome.confirm_level:
        confirm_form_consent(form_id, outcome.confirm_level, outcome.captured.contact_id, deps)
    return outcome
