"""Bodies and queries of the people and routing routes (``api/people.py``): users, teams, assignment
rules, assigning a lead, speed to lead. Whether the teams, users and managers named exist is the
service's check (``services/people.py``), as it needs the store."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, WithJsonSchema, field_validator

from chalicelib.api.schemas.common import RequestModel, invalid

#: As ``domain/routing.py`` names them (kept here so the routes' models do not import the routing domain
#: at every cold start; tests/unit/test_routing.py checks they agree).
ROLES = ("admin", "marketing", "sales_manager", "sales_rep")
DISTRIBUTIONS = ("round_robin", "load_balanced")

_ID = r"^[A-Za-z0-9_-]{1,64}$"


class UserBody(RequestModel):
    """``PUT /v1/users/{user_id}``."""

    unknown_message: ClassVar[str] = "{name} is not a property of a user"

    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[Any, WithJsonSchema({"type": "string", "format": "email"})]
    roles: Annotated[Any, WithJsonSchema({"type": "array", "items": {"enum": list(ROLES)}, "minItems": 1})]
    teams: Annotated[
        Any, WithJsonSchema({"type": "array", "items": {"type": "string", "pattern": _ID}, "maxItems": 20})
    ] = ()
    capacity: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 0
    available: Annotated[bool, Field(strict=True)] = True

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> Any:
        from chalicelib.domain.fields import InvalidValue, normalise_email

        if not isinstance(value, str):
            raise invalid("email must be an e-mail address")
        try:
            return normalise_email(value)
        except InvalidValue as exc:
            raise invalid(f"email {exc}") from None

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value or any(r not in ROLES for r in value):
            raise invalid(f"roles must be a non-empty list of {', '.join(ROLES)}")
        return tuple(dict.fromkeys(value))

    @field_validator("teams", mode="before")
    @classmethod
    def _teams(cls, value: Any) -> Any:
        import re

        if not isinstance(value, list | tuple) or len(value) > 20:
            raise invalid("teams must be a list of at most 20 team ids")
        if any(not isinstance(t, str) or not re.fullmatch(_ID, t) for t in value):
            raise invalid("teams must be team ids (1-64 letters, digits, _ or -)")
        return tuple(dict.fromkeys(value))


class TeamBody(RequestModel):
    """``PUT /v1/teams/{team_id}``."""

    unknown_message: ClassVar[str] = "{name} is not a property of a team"

    name: Annotated[str, Field(min_length=1, max_length=200)]
    distribution: Annotated[Any, WithJsonSchema({"enum": list(DISTRIBUTIONS)})] = "round_robin"
    manager: Annotated[str | None, Field(None, pattern=_ID)] = None

    @field_validator("distribution", mode="before")
    @classmethod
    def _distribution(cls, value: Any) -> Any:
        if value not in DISTRIBUTIONS:
            raise invalid(f"distribution must be one of {', '.join(DISTRIBUTIONS)}")
        return value


class AssignBody(RequestModel):
    """``POST /v1/leads/{lead_id}/assign``: the user who takes the lead, and why (on the timeline)."""

    unknown_message: ClassVar[str] = "{name} is not a property of an assignment"

    owner: Annotated[str, Field(min_length=1, max_length=64, pattern=_ID)]
    reason: Annotated[str | None, Field(None, min_length=1, max_length=500)] = None


class SpeedQuery(RequestModel):
    """``GET /v1/reports/speed-to-lead``: leads qualified from ``since`` (default 30 days ago) until
    ``until`` (default now), at most 92 days."""

    unknown_message: ClassVar[str] = "{name} is not a filter of this report"

    since: datetime | None = None
    until: datetime | None = None
