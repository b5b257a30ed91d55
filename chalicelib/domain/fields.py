"""Field paths (``<entity>.<name>``) and the normalisation of submitted values.

Every value that reaches storage passes through :func:`normalise_value`: text is stripped and bounded,
emails are validated without DNS and lower-cased, phones become E.164, numbers become numbers. An empty
value normalises to ``None``, which the merge treats as "nothing said" (ignore empty values).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, Literal

Entity = Literal["contact", "account", "lead"]
ENTITIES: tuple[Entity, ...] = ("contact", "account", "lead")
FieldType = Literal["string", "integer", "number", "boolean", "email", "phone", "date"]

STANDARD_FIELDS: dict[str, frozenset[str]] = {
    "contact": frozenset({"email", "first_name", "last_name", "phone", "job_title", "country", "city"}),
    "account": frozenset({"name", "domain", "employees", "industry"}),
    "lead": frozenset({"topic", "source", "campaign", "state", "status"}),
}
#: Set by Leadflow's lifecycle only; no form, webhook or API capture may write them.
MANAGED_FIELDS = frozenset({"lead.state", "lead.status"})
#: What Leadflow itself keeps on each entity (ids, the lifecycle, owner, consent, scores and their
#: grade, times, conflicts). No capture may write a custom field of these names, and conditions on
#: these paths read the entity's own attribute (``domain/rules.py``), so nothing a visitor submits can
#: pose as them.
RESERVED_NAMES: dict[str, frozenset[str]] = {
    "contact": frozenset(
        {
            "contact_id",
            "account_id",
            "lead_ids",
            "consent",
            "consent_history",
            "marketing_only",
            "last_interaction_at",
            "created_at",
            "updated_at",
            "version",
        }
    ),
    "account": frozenset({"account_id", "created_at", "updated_at", "version"}),
    "lead": frozenset(
        {
            "lead_id",
            "contact_id",
            "account_id",
            "state",
            "status",
            "owner",
            "score",
            "scores",
            "grade",
            "sales_ready",
            "round",
            "fired_rules",
            "form_id",
            "conflicts",
            "created_at",
            "updated_at",
            "version",
        }
    ),
}
RESERVED_FIELDS = frozenset(f"{entity}.{name}" for entity, names in RESERVED_NAMES.items() for name in names)
#: Reserved names Leadflow itself writes into the entity's fields (the form a lead came from).
KEPT_IN_FIELDS = frozenset({"lead.form_id"})
#: The type a standard field has unless a form says otherwise.
IMPLIED_TYPES: dict[str, FieldType] = {
    "contact.email": "email",
    "contact.phone": "phone",
    "account.employees": "integer",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INTEGER = re.compile(r"[+-]?(\d{1,3}(,\d{3}){1,12}|\d{1,40})")
_TRUE = frozenset({"true", "1", "yes", "on", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "n"})
MAX_TEXT_LENGTH = 2000


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message is safe to show to the person who sent it."""


def parse_path(path: str) -> tuple[Entity, str]:
    """``"contact.email"`` -> ``("contact", "email")``; raises :class:`InvalidValue` otherwise."""
    entity, _, name = path.partition(".")
    if entity not in ENTITIES or not _NAME.fullmatch(name):
        raise InvalidValue(
            f"{path!r} is not a field path: use <entity>.<name> with entity lead, contact or account"
        )
    return entity, name


def normalise_email(value: str) -> str:
    # imported on first use: the stream functions never validate an address (and these two cost ~90 ms)
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(f"is not a valid email address ({exc})") from None
    return result.normalized.lower()


def normalise_phone(value: str, region: str | None) -> str:
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise InvalidValue(
            "is not a phone number (include the country code, e.g. +44 20 7946 0958)"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("is not a valid phone number") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(value: Any, max_length: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue("must be text")
    text = str(value).strip()
    if len(text) > max_length:
        raise InvalidValue(f"is longer than {max_length} characters")
    return text or None


#: DynamoDB keeps 38 significant digits and magnitudes down to 1e-130: beyond, a number cannot be
#: stored as sent.
_MAX_MAGNITUDE = 10**38
_MIN_MAGNITUDE = 1e-130
MAX_NESTING = 16
MAX_KEY_LENGTH = 255


def _bounded(number: int | float) -> int | float:
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidValue("must be a finite number")
    if abs(number) >= _MAX_MAGNITUDE:
        raise InvalidValue("is too large")
    if number and abs(number) < _MIN_MAGNITUDE:
        raise InvalidValue("is too small")
    return number


def check_storable(value: Any, depth: int = 0) -> None:
    """Free-form JSON (interaction properties) must be something DynamoDB can keep: numbers in its
    range, keys that are short non-empty text, and no deeper than :data:`MAX_NESTING` levels."""
    if depth > MAX_NESTING:
        raise InvalidValue(f"is nested deeper than {MAX_NESTING} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        _bounded(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
                raise InvalidValue(f"keys must be text of 1-{MAX_KEY_LENGTH} characters")
            check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth + 1)
    else:
        raise InvalidValue("must be JSON")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue("must be an integer")
    if isinstance(value, int):
        return int(_bounded(value))
    if isinstance(value, float) and value.is_integer():
        return int(_bounded(value))
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(_bounded(int(value.strip().replace(",", ""))))
    raise InvalidValue("must be an integer")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue("must be a number")
    if isinstance(value, int):
        return _bounded(value)  # exact
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return _bounded(int(value.strip().replace(",", "")))
    try:
        number = float(value if isinstance(value, float) else str(value).strip())
    except (ValueError, OverflowError):
        raise InvalidValue("must be a number") from None
    if not math.isfinite(number):
        raise InvalidValue("must be a finite number")
    return _bounded(int(number) if number.is_integer() else number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValue("must be true or false")


def _date(value: Any) -> str:
    text = str(value).strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise InvalidValue("must be a date (YYYY-MM-DD)") from None


def normalise_value(
    value: Any,
    kind: FieldType = "string",
    *,
    phone_region: str | None = None,
    max_length: int = MAX_TEXT_LENGTH,
) -> Any:
    """Normalise one submitted value; ``None`` means empty. Raises :class:`InvalidValue`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "boolean":
        return _boolean(value)
    if kind == "integer":
        return _integer(value)
    if kind == "number":
        return _number(value)
    text = _text(value, max_length)
    if text is None:
        return None
    if kind == "email":
        return normalise_email(text)
    if kind == "phone":
        return normalise_phone(text, phone_region)
    if kind == "date":
        return _date(text)
    return text


def non_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def merge_fields(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Newer non-empty values win; a blank incoming value never overwrites stored data."""
    return {**stored, **non_empty(incoming)}


def same_text(a: Any, b: Any) -> bool:
    """Text equality as users mean it: case and surrounding spaces do not count."""

    def norm(v: Any) -> str:
        return str(v).strip().casefold() if v is not None else ""

    return norm(a) == norm(b)
