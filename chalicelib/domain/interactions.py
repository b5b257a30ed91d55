"""Interactions: what a contact did (opened an email, visited a page, submitted a form)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.fields import InvalidValue, check_storable, normalise_email

KNOWN_TYPES = frozenset(
    {
        "email_sent",
        "email_opened",
        "email_clicked",
        # an open or click at delivery, by a mail scanner or prefetcher (services/tracking.py)
        "email_scanned",
        "email_unsubscribed",
        "page_visited",
        "form_submitted",
        "event_registered",
        "event_attended",
        "webinar_attended",
        "content_downloaded",
        "phone_call_completed",
        # a meeting a sales rep logged (``POST /v1/leads/{id}/activities``, domain/working.py)
        "meeting_completed",
    }
)
MAX_BATCH = 100
EARLIEST_YEAR = 1970
MAX_PROPERTIES_BYTES = 4096
#: Clocks drift; an interaction from further in the future than this is a mistake, not a clock.
MAX_FUTURE = timedelta(hours=24)
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")


def parse_time(value: Any) -> datetime:
    """ISO 8601 with a zone (``Z`` or an offset), returned in UTC."""
    if not isinstance(value, str):
        raise InvalidValue("must be an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue("must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidValue("must include a time zone (e.g. 2026-11-24T10:00:00Z)")
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidValue("is out of range") from None
    if moment.year < EARLIEST_YEAR:
        raise InvalidValue(f"must be in {EARLIEST_YEAR} or later")
    return moment


def iso(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z``: sorts as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class InteractionInput:
    """A validated interaction as received; the contact is named by id or by (normalised) email."""

    interaction_id: str | None
    type: str
    occurred_at: datetime
    contact_id: str | None
    email: str | None
    lead_id: str | None
    properties: dict[str, Any]

    def as_message(self) -> dict[str, Any]:
        return {
            "id": self.interaction_id,
            "type": self.type,
            "occurred_at": iso(self.occurred_at),
            "contact_id": self.contact_id,
            "email": self.email,
            "lead_id": self.lead_id,
            "properties": self.properties,
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> InteractionInput:
        return cls(
            interaction_id=data.get("id"),
            type=data["type"],
            occurred_at=parse_time(data["occurred_at"]),
            contact_id=data.get("contact_id"),
            email=data.get("email"),
            lead_id=data.get("lead_id"),
            properties=data.get("properties") or {},
        )


def _optional_id(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidValue(f"{key} must be an id of 1-128 letters, digits or _.:-")
    return value


def _email(item: dict[str, Any]) -> str | None:
    email = item.get("email")
    if email is None:
        return None
    if not isinstance(email, str):
        raise InvalidValue("email must be text")
    try:
        return normalise_email(email.strip())
    except InvalidValue as exc:
        raise InvalidValue(f"email {exc}") from None


def _properties(item: dict[str, Any]) -> dict[str, Any]:
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidValue("properties must be an object")
    try:
        check_storable(properties)
    except InvalidValue as exc:
        raise InvalidValue(f"properties {exc}") from None
    if len(json.dumps(properties, ensure_ascii=False).encode()) > MAX_PROPERTIES_BYTES:
        raise InvalidValue(f"properties are larger than {MAX_PROPERTIES_BYTES} bytes")
    return properties


def _occurred_at(item: dict[str, Any], now: datetime, retention_days: int) -> datetime:
    try:
        occurred_at = parse_time(item.get("occurred_at"))
    except InvalidValue as exc:
        raise InvalidValue(f"occurred_at {exc}") from None
    if occurred_at > now + MAX_FUTURE:
        raise InvalidValue("occurred_at is more than 24 hours in the future")
    if occurred_at < now - timedelta(days=retention_days):
        raise InvalidValue(f"occurred_at is older than the retention period ({retention_days} days)")
    return occurred_at


def parse_interaction(item: Any, now: datetime, retention_days: int = 730) -> InteractionInput:
    """Validate one element of ``POST /v1/interactions``; raises :class:`InvalidValue`."""
    if not isinstance(item, dict):
        raise InvalidValue("must be an object")
    kind = item.get("type")
    if not isinstance(kind, str) or not _TYPE.fullmatch(kind):
        raise InvalidValue("type must be a lower_snake_case interaction type")
    occurred_at = _occurred_at(item, now, retention_days)
    contact_id = _optional_id(item, "contact_id")
    email = _email(item)
    if (contact_id is None) == (email is None):
        raise InvalidValue("give exactly one of contact_id or email")
    return InteractionInput(
        interaction_id=_optional_id(item, "id"),
        type=kind,
        occurred_at=occurred_at,
        contact_id=contact_id,
        email=email,
        lead_id=_optional_id(item, "lead_id"),
        properties=_properties(item),
    )
