"""Journey request bodies and answers (issue 18). A definition's steps are checked by the domain
(``domain/journeys.py: parse_journey``), which names the step (``steps[2].template_id``)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, WithJsonSchema, field_validator

from chalicelib.api.schemas.common import RequestModel, ResponseModel, invalid

_STEP = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": {"type": "string"},
        "type": {
            "enum": ["email", "wait", "branch", "split", "update_field", "create_lead", "sales_work", "exit"]
        },
    },
}


class JourneyRequest(RequestModel):
    """``PUT /v1/journeys/{journey_id}``: a new version (docs/journeys.md lists every step's keys)."""

    unknown_message: ClassVar[str] = "{name} is not a property of a journey"

    name: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200})] = None
    description: Annotated[Any, WithJsonSchema({"type": "string"})] = None
    entry: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "object",
                "description": (
                    "{segment_id} | {trigger: event condition | {form_id} | {grade, value}} | {api: true}"
                ),
            }
        ),
    ] = None
    consent: Annotated[Any, WithJsonSchema({"type": "string"})] = None
    re_entry: Annotated[
        Any, WithJsonSchema({"oneOf": [{"enum": ["never", "always"]}, {"type": "object"}]})
    ] = None
    steps: Annotated[
        Any, WithJsonSchema({"type": "array", "items": _STEP, "minItems": 1, "maxItems": 50})
    ] = None
    exits: Annotated[Any, WithJsonSchema({"type": "object"})] = None
    goal: Annotated[Any, WithJsonSchema({"type": "object"})] = None


class EnrollRequest(RequestModel):
    """``POST /v1/journeys/{journey_id}/enroll``: a contact, or a lead (its contact enters with it)."""

    unknown_message: ClassVar[str] = "{name} is not a property of an enrollment"

    contact_id: str | None = None
    lead_id: str | None = None

    @field_validator("contact_id", "lead_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 128):
            raise invalid("must be an id of 1-128 characters")
        return value


class JourneyMessagesQuery(RequestModel):
    """``GET /v1/journeys/{journey_id}/messages``."""

    unknown_message: ClassVar[str] = "{name} is not a filter of this list"

    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=4000)


class JourneyAnswer(ResponseModel):
    journey_id: str
    name: str
    state: str = Field(description="draft, live, paused, stopped")
    version: int
    updated_at: str
    entry: dict[str, Any]
    definition: dict[str, Any] | None = None


class EnrollAnswer(ResponseModel):
    result: str = Field(description="enrolled, already, not_again (re-entry policy), not_live")
    journey_id: str
    contact_id: str
    version: int | None
    step: str | None
    state: str | None


class ReportAnswer(ResponseModel):
    journey_id: str
    state: str
    version: int
    entered: int
    active: int
    sent: int
    opened: int
    clicked: int
    qualified: int
    exited: dict[str, int]
    steps: list[dict[str, Any]]
