"""Form definitions and how a submission becomes a :class:`Capture`.

A form maps each submitted field to a field path (``contact.email``), a type, whether it is required,
or to ``consent`` with the level a ticked box grants. Fields a form does not declare are ignored, so a
submission cannot set anything the marketer did not expose (no mass assignment).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.domain.capture import DEFAULT_LEAD_MATCHING, Capture, validate_lead_matching
from chalicelib.domain.consent import ConsentLevel, highest
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

_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:\d{1,5})?")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,100}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _lead_matching(value: Any) -> Any:
    try:
        return validate_lead_matching(value)
    except InvalidValue as exc:
        raise ValueError(str(exc)) from None


#: ``"new_lead_always"`` or the field paths an open lead must share with a capture (forms, imports).
LeadMatchingField = Annotated[Literal["new_lead_always"] | list[str], AfterValidator(_lead_matching)]


def valid_form_id(form_id: str) -> bool:
    return bool(_ID.fullmatch(form_id))


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maps_to: str
    required: bool = False
    type: FieldType | None = None
    level: ConsentLevel | None = None
    max_length: int = Field(2000, ge=1, le=10000)

    @field_validator("maps_to")
    @classmethod
    def _path(cls, value: str) -> str:
        if value == "consent":
            return value
        try:
            parse_path(value)
        except InvalidValue as exc:
            raise ValueError(str(exc)) from None
        if value in MANAGED_FIELDS:
            raise ValueError(f"{value} is managed by Leadflow; a form cannot set it")
        if value in RESERVED_FIELDS:
            raise ValueError(f"{value} is reserved: Leadflow keeps it itself; a form cannot set it")
        return value

    @model_validator(mode="after")
    def _email_is_an_email(self) -> FormField:
        if self.maps_to == "contact.email" and self.type not in (None, "email"):
            raise ValueError("contact.email is matched as an email address; its type can only be email")
        return self

    @model_validator(mode="after")
    def _consent_has_level(self) -> FormField:
        if self.maps_to == "consent" and self.level is None:
            raise ValueError("a consent field needs a level")
        if self.maps_to != "consent" and self.level is not None:
            raise ValueError("level is only for fields that map to consent")
        return self

    @property
    def kind(self) -> FieldType:
        if self.maps_to == "consent":
            return "boolean"
        return self.type or IMPLIED_TYPES.get(self.maps_to, "string")


class CaptchaSpec(BaseModel):
    """A CAPTCHA the form's page shows; its token is verified with the provider on every submission."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["turnstile", "recaptcha"]
    #: The name of the secret in the ``CAPTCHA_SECRETS`` setting (default: the provider's name).
    secret_ref: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @property
    def token_field(self) -> str:
        return "cf-turnstile-response" if self.provider == "turnstile" else "g-recaptcha-response"


class RateLimitSpec(BaseModel):
    """The form's own submissions per minute (from everyone), instead of the default."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int = Field(ge=1, le=100_000)
    burst: int = Field(10, ge=1, le=100_000)


class FormDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    source: str = Field("landing_page", min_length=1, max_length=64)
    topic: str | None = Field(None, max_length=500)
    campaign: str | None = Field(None, max_length=200)
    fields: dict[str, FormField] = Field(min_length=1, max_length=100)
    lead_matching: LeadMatchingField = Field(default_factory=lambda: list(DEFAULT_LEAD_MATCHING))
    contact_matching: Literal["email"] = "email"
    consent_on_submit: ConsentLevel = "consent_given"
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    honeypot_field: str | None = None
    phone_region: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    # abuse protection (chalicelib/api/abuse.py): the capture script sends the milliseconds between
    # showing the form and submitting it as ``_fill_ms``; faster than ``min_fill_ms`` is quarantined
    min_fill_ms: int | None = Field(None, ge=0, le=600_000)
    fill_time_required: bool = False
    captcha: CaptchaSpec | None = None
    rate_limit: RateLimitSpec | None = None
    #: A public source is anonymous: by default it only fills what a known person's record lacks.
    update_policy: Literal["fill_empty", "overwrite"] = "fill_empty"
    #: ``False``: a contact-only form (a newsletter sign-up): it creates or updates the contact (a new
    #: one is ``marketing_only``), its account and consent, and records ``form_submitted``; no lead.
    creates_lead: bool = True
    #: ``True``: the consent a submission asks for (``consent_on_submit``, ticked boxes) is not given
    #: by the submission; the person gets the double opt-in e-mail and their click gives it.
    double_opt_in: bool = False

    @field_validator("fields")
    @classmethod
    def _names(cls, value: dict[str, FormField]) -> dict[str, FormField]:
        for name in value:
            if not _FIELD_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a usable field name")
        if not any(f.maps_to == "contact.email" for f in value.values()):
            raise ValueError("one field must map to contact.email (contacts are matched by email)")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], or *)")
        return value

    @model_validator(mode="after")
    def _contact_only_sets_no_lead(self) -> FormDefinition:
        if self.creates_lead:
            return self
        lead_fields = sorted(n for n, f in self.fields.items() if f.maps_to.startswith("lead."))
        if lead_fields:
            raise ValueError(
                f"a contact-only form (creates_lead false) sets no lead field: {', '.join(lead_fields)}"
            )
        if self.topic is not None or self.lead_matching != DEFAULT_LEAD_MATCHING:
            raise ValueError("a contact-only form (creates_lead false) has no topic and no lead_matching")
        return self

    @model_validator(mode="after")
    def _honeypot_is_not_a_field(self) -> FormDefinition:
        if self.honeypot_field and self.honeypot_field in self.fields:
            raise ValueError("honeypot_field must not be one of the form's fields")
        return self

    def allows_origin(self, origin: str | None) -> bool:
        """No ``Origin`` header (a server posting) is always allowed; a browser's must be listed."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/").lower() in self.allowed_origins

    def honeypot_filled(self, submitted: dict[str, Any]) -> bool:
        if not self.honeypot_field:
            return False
        value = _one_value(submitted.get(self.honeypot_field))
        return value is not None and str(value).strip() != ""


def parse_form(body: Any, source: str | None = None) -> FormDefinition:
    """A form definition from a client's JSON (a form, a webhook source, a LinkedIn form's question
    mapping); ``source`` is the lead source when the body names none. 422 naming each bad field."""
    from pydantic import ValidationError

    if source is not None and isinstance(body, dict):
        body = {"source": source, **body}
    try:
        return FormDefinition.model_validate(body)
    except ValidationError as exc:
        raise form_validation_errors(exc) from None


def form_validation_errors(exc: Any) -> ValidationFailed:
    """Turn a pydantic ``ValidationError`` on a form definition into field errors."""
    errors = [
        FieldError(
            ".".join(str(p) for p in err["loc"]) or "body",
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
        )
        for err in exc.errors()
    ]
    return ValidationFailed(errors)


def _one_value(raw: Any) -> Any:
    """urlencoded bodies give lists; a field posted twice keeps its last value."""
    if isinstance(raw, list):
        return raw[-1] if raw else None
    return raw


def capture_from_submission(
    form_id: str, form: FormDefinition, submitted: dict[str, Any], origin: str | None = None
) -> Capture:
    """Map and normalise a submission; raises :class:`ValidationFailed` naming every bad field.

    ``origin`` names a source other than the form itself (``webhook:typeform``, ``linkedin:<urn>``,
    ``import:<id>``); only a form's own submissions record ``lead.form_id``."""
    sections: dict[str, dict[str, Any]] = {"contact": {}, "account": {}, "lead": {}}
    errors: list[FieldError] = []
    consents: list[str | None] = [form.consent_on_submit]
    region = form.phone_region or _region_hint(form, submitted)
    for name, spec in form.fields.items():
        try:
            value = _field_value(name, spec, submitted, region)
        except _Rejected as rejected:
            errors.append(rejected.error)
            continue
        if value is None:
            continue
        if spec.maps_to == "consent":
            consents.append(spec.level if value is True else None)
            continue
        entity, field_name = parse_path(spec.maps_to)
        sections[entity][field_name] = value
    if errors:
        raise ValidationFailed(errors)
    lead = {"source": form.source} if origin else {"source": form.source, "form_id": form_id}
    for key, default in (("topic", form.topic), ("campaign", form.campaign)):
        if default is not None:
            lead[key] = default
    asked = highest(*consents)
    return Capture(
        contact=sections["contact"],
        account=sections["account"],
        lead={**lead, **sections["lead"]},
        # a double opt-in form gives no consent by any path (a form, a released quarantine, a webhook)
        consent=None if form.double_opt_in else asked,
        pending_consent=asked if form.double_opt_in else None,
        origin=origin or f"form:{form_id}",
        lead_matching=form.lead_matching,
        update_policy=form.update_policy,
        creates_lead=form.creates_lead,
    )


class _Rejected(Exception):
    def __init__(self, error: FieldError) -> None:
        self.error = error


def _field_value(name: str, spec: FormField, submitted: dict[str, Any], region: str | None) -> Any:
    """One field's normalised value (``None`` when empty); a required field must be there, and a
    required consent box must be ticked."""
    try:
        value = normalise_value(
            _one_value(submitted.get(name)), spec.kind, phone_region=region, max_length=spec.max_length
        )
    except InvalidValue as exc:
        raise _Rejected(FieldError(name, f"{name} {exc}")) from None
    if value is None and (spec.required or spec.maps_to == "contact.email"):
        # contacts are matched by email: without one, every submission would make a new person
        raise _Rejected(FieldError(name, f"{name} is required", "required"))
    if spec.required and spec.maps_to == "consent" and value is not True:
        raise _Rejected(FieldError(name, f"{name} must be accepted", "required"))
    return value


def _region_hint(form: FormDefinition, submitted: dict[str, Any]) -> str | None:
    """A two-letter country the person gave in the same submission helps read a local phone number."""
    for name, spec in form.fields.items():
        if spec.maps_to == "contact.country":
            value = _one_value(submitted.get(name))
            if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isalpha():
                return value.strip().upper()
    return None


MAX_FLAT_FIELDS = 500


def flatten(payload: dict[str, Any], max_depth: int = 8) -> dict[str, Any]:
    """A nested JSON delivery as flat fields a mapping can name: ``{"data": {"email": x}}`` gives
    ``data.email``, lists give ``answers[0].text``. Deeper than ``max_depth`` or more than
    :data:`MAX_FLAT_FIELDS` values is refused, naming the body."""
    flat: dict[str, Any] = {}

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > max_depth:
            raise ValidationFailed([FieldError(path or "body", f"{path or 'body'} is nested too deeply")])
        if isinstance(value, dict) and (value or not path):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", depth + 1)
        else:
            if len(flat) >= MAX_FLAT_FIELDS:
                raise ValidationFailed(
                    [FieldError("body", f"the body holds more than {MAX_FLAT_FIELDS} values")]
                )
            flat[path] = value

    walk(payload, "", 0)
    return flat
