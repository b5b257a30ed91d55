"""Query strings, parsed into typed values before any service runs. Every value arrives as text
(``api/http.py``'s ``query`` has already refused repeated parameters and control characters)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.api.schemas.common import RequestModel, invalid
from chalicelib.domain.errors import FieldError, ValidationFailed

MAX_PAGE = 100
MAX_FILTER_BYTES = 256


def page_size(value: Any) -> int:
    text = "25" if value is None else str(value)
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_PAGE:
        raise invalid(f"limit must be an integer from 1 to {MAX_PAGE}")
    return int(text)


class PagedQuery(RequestModel):
    unknown_message: ClassVar[str] = "{name} is not a filter of this list"

    limit: int = Field(25, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(None, description="the previous page's next_cursor")

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> int:
        return page_size(value)


class LeadsQuery(PagedQuery):
    """``GET /v1/leads``: filters (none may be empty or longer than 256 bytes); ``model_id`` with
    ``grade`` / ``min_score`` lists by that model's score, highest first."""

    state: str | None = None
    status: str | None = None
    source: str | None = None
    contact_id: str | None = None
    model_id: str | None = None
    grade: str | None = None
    min_score: int | None = Field(None, description="an integer")
    owner: str | None = Field(None, description="a user id, or `me`: the caller's key's user")

    @model_validator(mode="before")
    @classmethod
    def _texts(cls, data: Any) -> Any:
        """The hand-written order: unknown keys (reported by the model), the page size, every empty
        value, every long one."""
        if not isinstance(data, dict) or set(data) - cls.model_fields.keys():
            return data
        try:
            page_size(data.get("limit"))
        except ValueError as exc:
            raise ValidationFailed([FieldError("limit", str(exc))]) from None
        empty = sorted(k for k, v in data.items() if k != "limit" and isinstance(v, str) and not v.strip())
        if empty:
            raise ValidationFailed([FieldError(k, f"{k} must not be empty") for k in empty])
        long = sorted(
            k
            for k, v in data.items()
            if k != "cursor" and isinstance(v, str) and len(v.encode()) > MAX_FILTER_BYTES
        )
        if long:
            raise ValidationFailed(
                [FieldError(k, f"{k} is longer than {MAX_FILTER_BYTES} bytes") for k in long]
            )
        return data

    @field_validator("min_score", mode="before")
    @classmethod
    def _min_score(cls, value: Any) -> int | None:
        if value is None:
            return None
        if not re.fullmatch(r"-?[0-9]{1,9}", str(value)):
            raise invalid("min_score must be an integer")
        return int(value)


class ContactsQuery(PagedQuery):
    """``GET /v1/contacts``: paged (``marketing_only=false`` is the sales view), or ``?email=`` alone."""

    marketing_only: bool | None = None
    email: str | None = Field(None, description="the one contact holding this address")

    @model_validator(mode="before")
    @classmethod
    def _email_alone(cls, data: Any) -> Any:
        given = set(data) if isinstance(data, dict) else set()
        # unknown keys are reported first (by the model)
        if "email" in given and given - {"email"} and not given - ContactsQuery.model_fields.keys():
            raise invalid("email cannot be combined with other filters", "email")
        return data

    @field_validator("marketing_only", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if value not in ("true", "false"):
            raise invalid("marketing_only must be true or false")
        return value == "true"


class QuarantineQuery(PagedQuery):
    """``GET /v1/quarantine``: an empty filter is no filter."""

    form_id: str | None = None
    reason: str | None = None
    state: Literal["held", "released"] | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> Any:
        if value not in (None, "held", "released"):
            raise invalid("state must be held or released")
        return value

    def filters(self) -> dict[str, str]:
        return {k: v for k in ("form_id", "reason", "state") if (v := getattr(self, k))}


class DuplicatesQuery(PagedQuery):
    """``GET /v1/duplicates``."""

    strength: Literal["strong", "weak"] | None = None

    @field_validator("strength", mode="before")
    @classmethod
    def _strength(cls, value: Any) -> Any:
        if value not in (None, "strong", "weak"):
            raise invalid("strength must be strong or weak")
        return value


def _moment(name: str, value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} must be an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FunnelQuery(RequestModel):
    """``GET /v1/reports/funnel``: leads created in ``[since, until]``, of one ``source``."""

    unknown_message: ClassVar[str] = "{name} is not a parameter of the funnel"

    since: datetime | None = Field(None, description="ISO 8601 date or time (UTC when no offset)")
    until: datetime | None = Field(None, description="ISO 8601 date or time (UTC when no offset)")
    source: str | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _when(cls, value: Any, info: Any) -> datetime | None:
        return _moment(info.field_name, value)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return value or None


class NoQuery(RequestModel):
    """A route that takes no query parameters."""

    unknown_message: ClassVar[str] = "this report takes no parameters"
    all_unknown: ClassVar[bool] = False


class ChallengeQuery(RequestModel):
    """LinkedIn's challenge (other parameters LinkedIn may add are ignored)."""

    model_config = ConfigDict(extra="ignore", defer_build=True, frozen=True)

    challengeCode: str | None = None  # noqa: N815 - LinkedIn's name


class ImportQuery(RequestModel):
    """``POST /v1/imports`` with a CSV body: the column mapping as JSON, and shortcuts that fill what it
    leaves out. Parameters it does not know are ignored (the CSV upload forms of other tools add some)."""

    model_config = ConfigDict(extra="ignore", defer_build=True, frozen=True)

    mapping: str | None = Field(None, description="the column mapping, as a JSON object")
    name: str | None = None
    source: str | None = None
    topic: str | None = None
    campaign: str | None = None
    consent: str | None = None


class OpportunitiesQuery(PagedQuery):
    """``GET /v1/opportunities``: newest first, filtered by stage, owner, status or lead."""

    stage: Literal["qualify", "develop", "propose", "close"] | None = None
    owner: str | None = Field(None, max_length=MAX_FILTER_BYTES)
    status: Literal["open", "won", "lost"] | None = None
    lead_id: str | None = Field(None, max_length=MAX_FILTER_BYTES)

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: Any) -> Any:
        if value not in (None, "qualify", "develop", "propose", "close"):
            raise invalid("stage must be qualify, develop, propose or close")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        if value not in (None, "open", "won", "lost"):
            raise invalid("status must be open, won or lost")
        return value

    @field_validator("owner", "lead_id", mode="before")
    @classmethod
    def _text(cls, value: Any, info: Any) -> Any:
        if value is not None and not str(value).strip():
            raise invalid(f"{info.field_name} must not be empty")
        return value
