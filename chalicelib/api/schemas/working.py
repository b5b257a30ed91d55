"""Bodies and queries of working a lead and of the 360° view. Values are checked by the domain
(``domain/working.py``), which names each offending field; the schemas document the limits."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import WithJsonSchema

from chalicelib.api.schemas.common import RequestModel
from chalicelib.api.schemas.queries import PagedQuery
from chalicelib.domain.working import (
    ACTIVITY_TYPES,
    MAX_NOTE,
    MAX_OUTCOME,
    MAX_SUBJECT,
    NEW_CONTACT_FIELDS,
)

_FIELDS = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}


class LeadPatch(RequestModel):
    """``PATCH /v1/leads/{lead_id}`` (``If-Match``: the lead's ETag): field name -> value, ``null``
    clears. ``lead``: the lead's own fields (topic, product, budget, timeframe, ...; not source,
    form_id, state, status, owner); ``contact``: the contact's (not email)."""

    unknown_message: ClassVar[str] = "{name} is not editable here: give lead and/or contact"

    lead: Annotated[Any, WithJsonSchema(_FIELDS)] = None
    contact: Annotated[Any, WithJsonSchema(_FIELDS)] = None


class NoteRequest(RequestModel):
    """``POST /v1/leads/{lead_id}/notes``."""

    unknown_message: ClassVar[str] = "{name} is not a property of a note"

    text: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_NOTE})] = None


class ActivityRequest(RequestModel):
    """``POST /v1/leads/{lead_id}/activities``: a completed call, meeting or e-mail."""

    unknown_message: ClassVar[str] = "{name} is not a property of an activity"

    type: Annotated[Any, WithJsonSchema({"enum": list(ACTIVITY_TYPES)})] = None
    subject: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT})] = (
        None
    )
    outcome: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": MAX_OUTCOME, "nullable": True})
    ] = None
    occurred_at: Annotated[
        Any,
        WithJsonSchema(
            {"type": "string", "format": "date-time", "description": "default now; not in the future"}
        ),
    ] = None


class LinkRequest(RequestModel):
    """``POST /v1/leads/{lead_id}/link``: ``contact_id`` (an existing contact) or ``new_contact``."""

    unknown_message: ClassVar[str] = "{name} is not a property of a link: give contact_id or new_contact"

    contact_id: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64})] = None
    new_contact: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "object",
                "required": ["email"],
                "additionalProperties": False,
                "properties": {name: {"type": "string"} for name in NEW_CONTACT_FIELDS},
            }
        ),
    ] = None


class OverviewQuery(PagedQuery):
    """``GET /v1/contacts/{contact_id}/overview``: ``limit``/``cursor`` page the interactions."""
