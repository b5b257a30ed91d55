"""E-mail request bodies and queries (issue 18). Templates' parts are checked by the domain
(``domain/email.py: parse_template``: every part compiles in Jinja2's sandbox), which names the part
and line of a template that does not parse."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema, field_validator

from chalicelib.api.schemas.common import RequestModel, ResponseModel, invalid
from chalicelib.domain.consent import CONSENT_LEVELS

_TEXT = {"type": "string", "minLength": 1}


MessageStatus = Literal["unknown", "sent", "failed", "no_consent", "suppressed", "capped", "unrenderable"]


class TemplateRequest(RequestModel):
    """``PUT /v1/email-templates/{template_id}``: Jinja2 placeholders over ``contact``, ``lead`` and
    ``account`` (``{{ contact.first_name | default("there") }}``), ``unsubscribe_url``."""

    unknown_message: ClassVar[str] = "{name} is not a property of an e-mail template"

    subject: Annotated[Any, WithJsonSchema(_TEXT)] = None
    html: Annotated[Any, WithJsonSchema(_TEXT)] = None
    text: Annotated[Any, WithJsonSchema(_TEXT)] = None
    from_: Annotated[Any, WithJsonSchema({"type": "string", "format": "email"})] = Field(None, alias="from")
    consent: Annotated[Any, WithJsonSchema({"enum": list(CONSENT_LEVELS[1:])})] = None


class SendRequest(RequestModel):
    """``POST /v1/email-templates/{template_id}/send``."""

    unknown_message: ClassVar[str] = "{name} is not a property of a send"

    contact_id: str
    lead_id: str | None = None

    @field_validator("contact_id", "lead_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 128):
            raise invalid("must be an id of 1-128 characters")
        return value


class MessagesQuery(RequestModel):
    """``GET /v1/messages``."""

    unknown_message: ClassVar[str] = "{name} is not a filter of this list"

    contact_id: str | None = Field(None, max_length=128)
    template_id: str | None = Field(None, max_length=64)
    journey_id: str | None = Field(None, max_length=64)
    status: MessageStatus | None = None
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=4000)


class PreviewQuery(RequestModel):
    """``GET /v1/email-templates/{template_id}/preview``."""

    unknown_message: ClassVar[str] = "{name} is not a parameter of a preview"

    contact_id: str | None = Field(None, max_length=128)


class TemplateAnswer(ResponseModel):
    template_id: str
    version: int
    subject: str
    html: str
    text: str
    from_: str | None = Field(None, alias="from")
    consent: str
    updated_at: str | None


class MessageAnswer(ResponseModel):
    message_id: str
    template_id: str
    version: int
    contact_id: str
    lead_id: str | None
    cause: str = Field(
        description="why it was sent: journey:<id>:<version>:<step> (a journey's e-mail step) or api:<key>"
    )
    journey_id: str | None = Field(description="the journey that sent it (from its cause), else null")
    to: str
    subject: str
    status: str = Field(
        description=(
            "sent, failed, unknown (sending when a crash came), no_consent, suppressed, capped,"
            " unrenderable (this person's fields took the template past a bound)"
        )
    )
    reason: str | None
    created_at: str
    sent_at: str | None
    ses_message_id: str | None
    opens: int
    clicks: int
    links: list[dict[str, str]]


class ConfirmRequest(RequestModel):
    """``POST /v1/contacts/{contact_id}/confirm-request``: the consent the confirmation sets."""

    unknown_message: ClassVar[str] = "{name} is not a property of a confirmation request"

    level: Annotated[Any, WithJsonSchema({"enum": list(CONSENT_LEVELS[1:])})] = "marketing"
