"""What one capture says about a person: contact, account and lead fields, and the consent it implies.

A capture comes from a form submission, the leads API, and later webhooks and imports; all of them
become a :class:`Capture` and go through the same matching and the same write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.domain.consent import CONSENT_LEVELS, highest
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import (
    IMPLIED_TYPES,
    MANAGED_FIELDS,
    RESERVED_FIELDS,
    FieldType,
    InvalidValue,
    normalise_value,
    parse_path,
)

#: ``"new_lead_always"``, or the fields an open lead must share with the capture to be updated by it.
LeadMatching = str | list[str]
#: What a capture may do to a contact's and a lead's stored values: ``fill_empty`` fills only what
#: they lack (and keeps what it said differently on the lead, as conflicts); ``overwrite`` replaces.
UpdatePolicy = Literal["fill_empty", "overwrite"]
UPDATE_POLICIES: tuple[str, ...] = ("fill_empty", "overwrite")
DEFAULT_LEAD_MATCHING: list[str] = ["contact.email", "lead.topic"]


@dataclass(frozen=True)
class Capture:
    contact: dict[str, Any]
    account: dict[str, Any] = field(default_factory=dict)
    lead: dict[str, Any] = field(default_factory=dict)
    consent: str | None = None
    #: Where the capture came from, for the consent history and the interaction (``form:contact-us``).
    origin: str = "api"
    lead_matching: LeadMatching = field(default_factory=lambda: list(DEFAULT_LEAD_MATCHING))
    #: Anonymous sources (forms, webhooks, LinkedIn) and imports fill only what is empty; the
    #: authenticated API overwrites unless told otherwise.
    update_policy: UpdatePolicy = "fill_empty"
    #: ``False``: a contact-only capture (a newsletter form): the contact, its account and consent are
    #: written, no lead is created or updated.
    creates_lead: bool = True
    #: A double opt-in form's: the consent the submission asked for, which the capture does not give
    #: (``consent`` is then ``None``); the person's confirmation does.
    pending_consent: str | None = None

    @property
    def email(self) -> str | None:
        value = self.contact.get("email")
        return value if isinstance(value, str) else None


def _section(entity_values: Any, entity: str, errors: list[FieldError], region: str | None) -> dict[str, Any]:
    if entity_values is None:
        return {}
    if not isinstance(entity_values, dict):
        errors.append(FieldError(entity, "must be an object"))
        return {}
    result: dict[str, Any] = {}
    for name, raw in entity_values.items():
        path = f"{entity}.{name}"
        try:
            parse_path(path)
            if path in MANAGED_FIELDS:
                raise InvalidValue("is managed by Leadflow and cannot be set by a capture")
            if path in RESERVED_FIELDS:
                raise InvalidValue("is reserved: Leadflow keeps it itself; a capture cannot set it")
            kind: FieldType = IMPLIED_TYPES.get(path, "string")
            if kind == "string" and isinstance(raw, bool | int | float):
                kind = "boolean" if isinstance(raw, bool) else "number"
            result[name] = normalise_value(raw, kind, phone_region=region)
        except InvalidValue as exc:
            errors.append(FieldError(path, f"{path} {exc}"))
    return result


def capture_from_api(body: dict[str, Any]) -> Capture:
    """``POST /v1/leads``: ``{"contact", "account", "lead", "consent"?, "lead_matching"?,
    "update_policy"?}``. An authenticated integration is the system of record for what it sends, so it
    overwrites by default (``"update_policy": "fill_empty"`` to only fill gaps)."""
    errors: list[FieldError] = []
    known = {"contact", "account", "lead", "consent", "lead_matching", "phone_region", "update_policy"}
    unknown = sorted(set(body) - known)
    errors.extend(FieldError(name, f"{name} is not a known property", "unknown_field") for name in unknown)
    region = body.get("phone_region") if isinstance(body.get("phone_region"), str) else None
    contact = _section(body.get("contact"), "contact", errors, region)
    account = _section(body.get("account"), "account", errors, region)
    lead = _section(body.get("lead"), "lead", errors, region)
    if not contact.get("email") and not any(e.field == "contact.email" for e in errors):
        errors.append(FieldError("contact.email", "contact.email is required", "required"))
    consent = body.get("consent")
    if consent is not None and consent not in CONSENT_LEVELS:
        errors.append(FieldError("consent", f"consent must be one of {', '.join(CONSENT_LEVELS)}"))
    policy = body.get("update_policy", "overwrite")
    if policy not in UPDATE_POLICIES:
        errors.append(FieldError("update_policy", "update_policy must be fill_empty or overwrite"))
    matching = body.get("lead_matching", "new_lead_always")
    try:
        matching = validate_lead_matching(matching)
    except InvalidValue as exc:
        errors.append(FieldError("lead_matching", f"lead_matching {exc}"))
    if errors:
        raise ValidationFailed(errors)
    return Capture(
        contact=contact,
        account=account,
        lead={"source": "api", **lead},
        consent=highest(consent),
        origin="api",
        lead_matching=matching,
        update_policy=policy,
    )


def validate_lead_matching(value: Any) -> LeadMatching:
    if value == "new_lead_always":
        return "new_lead_always"
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidValue('must be "new_lead_always" or a non-empty list of field paths')
    for path in value:
        parse_path(path)
    return list(value)
