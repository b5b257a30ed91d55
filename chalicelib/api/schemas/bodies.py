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
