"""JSON request bodies. Unknown keys are refused with the same words the services used before."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator

from chalicelib.api.schemas.common import RequestModel, invalid
from chalicelib.domain.consent import CONSENT_LEVELS
from chalicelib.domain.interactions import MAX_BATCH

_TEXT = {"type": "string"}


class TrainRequest(RequestModel):
    """``POST /v1/scoring-models/{model_id}/train``: publish the trained version when it passes the gate."""

    unknown_message: ClassVar[str] = "the body may hold only publish: true or false"
    unknown_field: ClassVar[str | None] = "publish"
    all_unknown: ClassVar[bool] = False

    publish: bool = False

    @field_validator("publish", mode="before")
    @classmethod
    def _strict(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise invalid(cls.unknown_message, "publish")
        return value


class InteractionsRequest(RequestModel):
    """``POST /v1/interactions``: each item is checked on its own (an invalid one is listed in the
    answer's ``rejected``, by index); other keys beside ``interactions`` are ignored."""

    model_config = ConfigDict(extra="ignore", defer_build=True, frozen=True)

    interactions: Annotated[
        list[Any],
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "description": "each {id, type, occurred_at, contact_id or email, lead_id?, properties}",
                "items": {},
            }
        ),
    ] = Field(None, validate_default=True)

    @field_validator("interactions", mode="before")
    @classmethod
    def _batch(cls, value: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise invalid("interactions must be a non-empty list")
        if len(value) > MAX_BATCH:
            raise invalid(f"at most {MAX_BATCH} interactions per request")
        return value


class MergeRequest(RequestModel):
    """``POST /v1/contacts/{contact_id}/merge`` (``domain.merging.MergeOrder`` checks the ids)."""

    unknown_message: ClassVar[str] = "{name} is not a property of a merge"

    duplicate_ids: Annotated[
        Any,
        WithJsonSchema(
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 20}
        ),
    ] = None


class ConsentRequest(RequestModel):
    """``PUT /v1/contacts/{contact_id}/consent`` (``domain.consent.ConsentUpdate`` checks the values)."""

    unknown_message: ClassVar[str] = "{name} is not a property of a consent change"

    level: Annotated[Any, WithJsonSchema({"enum": list(CONSENT_LEVELS)})] = None
    source: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100})] = None


class SegmentQueryRequest(RequestModel):
    """``POST /v1/segments/query``: a condition (``docs/scoring.md``'s language) or a saved segment."""

    unknown_message: ClassVar[str] = "{name} is not a property of a segment query"

    condition: Annotated[Any, WithJsonSchema({"type": "object"})] = None
    segment_id: Annotated[Any, WithJsonSchema(_TEXT)] = None
    limit: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100})] = None
    cursor: Annotated[Any, WithJsonSchema(_TEXT)] = None


class UploadRequest(RequestModel):
    """``POST /v1/imports`` as JSON: a pre-signed URL to upload a large file to."""

    unknown_code: ClassVar[str] = "unknown_field"
    all_unknown: ClassVar[bool] = False

    mapping: Annotated[Any, WithJsonSchema({"type": "object"})] = None
    name: str | None = Field(None, max_length=200)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise invalid("name must be a string of at most 200 characters")
        return value


class OpportunityPatch(RequestModel):
    """``PATCH /v1/opportunities/{opportunity_id}``: the fields to change (at least one); ``null``
    clears ``estimated_value``, ``close_date`` or ``owner``. ``status: won|lost`` closes it and needs a
    ``reason``; ``status: open`` reopens a closed one."""

    unknown_message: ClassVar[str] = "{name} is not a property of an opportunity one may change"

    stage: Annotated[Any, WithJsonSchema({"enum": ["qualify", "develop", "propose", "close"]})] = None
    status: Annotated[Any, WithJsonSchema({"enum": ["open", "won", "lost"]})] = None
    reason: Annotated[Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 500})] = None
    estimated_value: Annotated[
        Any, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1e15, "nullable": True})
    ] = None
    close_date: Annotated[Any, WithJsonSchema({"type": "string", "format": "date", "nullable": True})] = None
    owner: Annotated[
        Any, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 256, "nullable": True})
    ] = None

    @field_validator("stage", "status", mode="before")
    @classmethod
    def _choice(cls, value: Any, info: Any) -> Any:
        choices = {"stage": ("qualify", "develop", "propose", "close"), "status": ("open", "won", "lost")}
        allowed = choices[info.field_name]
        if value not in allowed:
            raise invalid(f"{info.field_name} must be one of {', '.join(allowed)}")
        return value

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            raise invalid("reason must be text of 1 to 500 characters")
        return value.strip()

    @field_validator("owner", mode="before")
    @classmethod
    def _owner(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or len(value.encode()) > 256:
            raise invalid("owner must be text of 1 to 256 bytes, or null")
        return value.strip()

    @field_validator("estimated_value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> Any:
        from decimal import Decimal

        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid("estimated_value must be a number, or null")
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0 or amount > Decimal("1e15"):
            raise invalid("estimated_value must be from 0 to 1e15")
        return amount

    @field_validator("close_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        from datetime import date

        if value is None:
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise invalid("close_date must be a date, YYYY-MM-DD, or null") from None
