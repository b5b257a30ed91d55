"""Form definitions, saved by operators (``PUT /v1/forms/{id}``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.forms import parse_form, valid_form_id
from chalicelib.services.capture import forget_form
from chalicelib.wiring import Deps


def put_form(form_id: str, body: Any, deps: Deps) -> tuple[bool, dict[str, Any]]:
    """Validate and store a definition; returns ``(created, stored definition)``. Putting the same
    definition twice stores it twice, with the same result."""
    if not valid_form_id(form_id):
        raise ValidationFailed([FieldError("form_id", "form_id must be 1-64 letters, digits, _ or -")])
    form = parse_form(body)
    created = deps.store.put_form(form_id, form, datetime.now(UTC))
    forget_form(form_id, deps)
    return created, {"form_id": form_id, **form.model_dump(exclude_none=True)}
