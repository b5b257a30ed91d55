"""Working a lead, in pure Python: editing its fields (and its contact's) on the version read, notes,
completed activities (calls, meetings, e-mails) as interactions, and linking the lead to another or a
new contact. The services read, call these to decide, and write once (``services/working.py``).

Edits follow the trust issue's update policy as an authenticated person's word: a rep speaks for what
the lead and contact hold, so given values **overwrite** and ``null`` clears (unlike an anonymous
capture's ``fill_empty``); a field a rep sets settles the lead's pending conflicts on that field. What a
PATCH may not change, and why:

- ``contact.email``: the contact's identity (its uniqueness claim): link the lead to another contact, or
  merge the duplicates, instead;
- ``lead.source``, ``lead.form_id``: where the lead came from is history, not an opinion;
- the lifecycle (``state``/``status``), ``owner`` and every reserved name: their own routes;
- the account: shared by everyone who works there, and its name and domain are uniqueness claims."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Contact, Interaction, Lead
from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed
from chalicelib.domain.fields import (
    IMPLIED_TYPES,
    RESERVED_NAMES,
    FieldType,
    InvalidValue,
    normalise_value,
)
from chalicelib.domain.interactions import iso, parse_time
from chalicelib.domain.matching import MAX_FIELDS, MAX_FIELDS_BYTES
from chalicelib.domain.opportunities import StaleVersion

#: A note is a few paragraphs, not a document (it lives in the lead's history item).
MAX_NOTE = 4000
MAX_SUBJECT = 200
MAX_OUTCOME = 2000
#: The activity types a rep logs, and the interaction type each is recorded as (scoring sees these:
#: ``phone_call_completed`` and ``email_sent`` were known types already; ``meeting_completed`` is new).
ACTIVITY_TYPES: dict[str, str] = {
    "call": "phone_call_completed",
    "meeting": "meeting_completed",
    "email": "email_sent",
}
#: Interactions a rep recorded carry this source (the timeline shows their subject and outcome).
ACTIVITY_SOURCE = "activity"
#: Lead fields that are history (where the lead came from), never edited.
FIXED_LEAD_FIELDS = frozenset({"source", "form_id"})
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: Contact fields a PATCH may not change (the identity claim).
FIXED_CONTACT_FIELDS = frozenset({"email"})


class LeadStaleVersion(StaleVersion):
    """``If-Match`` named a lead version that is no longer current (412 ``stale_version``)."""

    def __init__(self, current: int | None) -> None:
        Conflict.__init__(self, "the lead changed since that version was read; read it again", "If-Match")
        self.details = {"current_version": current}


class ContactUnavailable(Conflict):
    """Linking to a contact that is being (or was) erased: nothing may be written for that person."""

    code = "erased"


# ---------------------------------------------------------------- editing


@dataclass(frozen=True)
class LeadEdit:
    """What a PATCH asks for: per entity, field name -> normalised value (``None``: clear it)."""

    lead: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> list[str]:
        return [f"lead.{n}" for n in self.lead] + [f"contact.{n}" for n in self.contact]


def _field_error(entity: str, name: Any, fixed: frozenset[str]) -> str | None:
    """Why ``entity.name`` may not be edited, or ``None`` when it may."""
    path = f"{entity}.{name}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"{path} is not a field name (lower case letters, digits and _, at most 64)"
    if name in fixed:
        return f"{path} cannot be edited: {_why_fixed(entity)}"
    if name in RESERVED_NAMES[entity]:
        return f"{path} is kept by Leadflow itself; it has its own route"
    return None


def _section(values: Any, entity: str, fixed: frozenset[str], errors: list[FieldError]) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        errors.append(FieldError(entity, f"{entity} must be an object of field names to values"))
        return {}
    found: dict[str, Any] = {}
    for name, raw in values.items():
        path = f"{entity}.{name}"
        refused = _field_error(entity, name, fixed)
        if refused is not None:
            errors.append(FieldError(path, refused))
            continue
        kind: FieldType = IMPLIED_TYPES.get(path, "string")
        if kind == "string" and isinstance(raw, bool | int | float):
            kind = "boolean" if isinstance(raw, bool) else "number"
        try:
            if raw is not None and not isinstance(raw, str | bool | int | float):
                raise InvalidValue("must be text, a number, true/false or null")
            found[name] = normalise_value(raw, kind)
        except InvalidValue as exc:
            errors.append(FieldError(path, f"{path} {exc}"))
    return found


def _why_fixed(entity: str) -> str:
    if entity == "contact":
        return "the e-mail is the contact's identity; link the lead to another contact instead"
    return "where the lead came from is history"


def parse_edit(lead_values: Any, contact_values: Any) -> LeadEdit:
    """The PATCH's ``lead`` and ``contact`` objects, each value normalised like a capture's (e-mail,
    phone, numbers, text bounds); 422 naming each offending ``entity.field``."""
    errors: list[FieldError] = []
    edit = LeadEdit(
        lead=_section(lead_values, "lead", FIXED_LEAD_FIELDS, errors),
        contact=_section(contact_values, "contact", FIXED_CONTACT_FIELDS, errors),
    )
    if not errors and not edit.lead and not edit.contact:
        errors.append(FieldError("body", "give at least one field in lead or contact"))
    if errors:
        raise ValidationFailed(errors)
    return edit


def _edited(fields: dict[str, Any], changes: dict[str, Any], entity: str) -> dict[str, Any]:
    result = {k: v for k, v in fields.items() if not (k in changes and changes[k] is None)}
    result.update({k: v for k, v in changes.items() if v is not None})
    _check_size(entity, result)
    return result


def _check_size(entity: str, fields: dict[str, Any]) -> None:
    import json

    size = len(json.dumps(fields, ensure_ascii=False, default=str).encode())
    if len(fields) > MAX_FIELDS or size > MAX_FIELDS_BYTES:
        raise ValidationFailed(
            [
                FieldError(
                    entity, f"{entity} would hold more than {MAX_FIELDS} fields or {MAX_FIELDS_BYTES} bytes"
                )
            ]
        )


@dataclass(frozen=True)
class EditResult:
    lead: Lead
    contact: Contact | None
    #: ``{"entity.field": {"from", "to"}}`` of what actually changed (the timeline's entry).
    changed: dict[str, dict[str, Any]]


def apply_edit(lead: Lead, contact: Contact | None, edit: LeadEdit, now: datetime) -> EditResult:
    """The lead (and its contact, when contact fields are given) after the edit. The rep's word
    overwrites (``null`` clears); pending conflicts on the edited fields are settled (dropped)."""
    if edit.contact and (contact is None or contact.erasing):
        raise Conflict("the lead's contact is being erased: nothing about it may change", "contact")
    changed: dict[str, dict[str, Any]] = {}
    for entity, before, changes in (
        ("lead", lead.fields, edit.lead),
        ("contact", contact.fields if contact else {}, edit.contact),
    ):
        for name, value in changes.items():
            if before.get(name) != value:
                changed[f"{entity}.{name}"] = {"from": before.get(name), "to": value}
    settled = set(edit.paths)
    new_lead = replace(
        lead,
        fields=_edited(lead.fields, edit.lead, "lead"),
        conflicts=[c for c in lead.conflicts if c.get("field") not in settled],
        updated_at=now,
    )
    new_contact = None
    if edit.contact and contact is not None:
        new_contact = replace(
            contact, fields=_edited(contact.fields, edit.contact, "contact"), updated_at=now
        )
    return EditResult(new_lead, new_contact, changed)


# ---------------------------------------------------------------- notes and activities


def _text(value: Any, name: str, limit: int, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed([FieldError(name, f"{name} must be non-empty text", "required")])
    text = value.strip()
    if len(text) > limit:
        raise ValidationFailed([FieldError(name, f"{name} is longer than {limit} characters")])
    if any(not (c.isprintable() or c in "\n\t") for c in text):
        raise ValidationFailed([FieldError(name, f"{name} must be text without control characters")])
    return text


def note_text(value: Any) -> str:
    text = _text(value, "text", MAX_NOTE)
    assert text is not None  # required
    return text


@dataclass(frozen=True)
class Activity:
    type: str
    subject: str
    outcome: str | None
    occurred_at: datetime


def parse_activity(type_: Any, subject: Any, outcome: Any, occurred_at: Any, now: datetime) -> Activity:
    """A completed activity as a rep logs it: a known type, a subject, an optional outcome and when it
    happened (not in the future: a rep logs what was done; clocks may drift by a minute or two)."""
    errors: list[FieldError] = []
    if not isinstance(type_, str) or type_ not in ACTIVITY_TYPES:  # a list or object: 422, not a 500
        errors.append(FieldError("type", f"type must be one of {', '.join(ACTIVITY_TYPES)}"))
    texts: dict[str, str | None] = {}
    for name, value, limit, required in (
        ("subject", subject, MAX_SUBJECT, True),
        ("outcome", outcome, MAX_OUTCOME, False),
    ):
        try:
            texts[name] = _text(value, name, limit, required)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    moment = now
    if occurred_at is not None:
        try:
            moment = parse_time(occurred_at)
        except InvalidValue as exc:
            errors.append(FieldError("occurred_at", f"occurred_at {exc}"))
        else:
            if moment > now + timedelta(minutes=5):
                errors.append(FieldError("occurred_at", "occurred_at is in the future: log what was done"))
            elif moment < now - timedelta(days=365):
                errors.append(FieldError("occurred_at", "occurred_at is more than a year ago"))
    if errors:
        raise ValidationFailed(errors)
    return Activity(str(type_), texts["subject"] or "", texts["outcome"], moment)


def activity_interaction(activity: Activity, lead: Lead, interaction_id: str, by: str) -> Interaction:
    """The interaction an activity is recorded as: on the lead's contact and naming the lead, so the
    interactions stream scores it, notes the contact's last activity and runs triggers like any other."""
    return Interaction(
        interaction_id=interaction_id,
        contact_id=lead.contact_id,
        type=ACTIVITY_TYPES[activity.type],
        occurred_at=activity.occurred_at,
        properties={
            "activity": activity.type,
            "subject": activity.subject,
            **({"outcome": activity.outcome} if activity.outcome else {}),
            "by": by,
        },
        lead_id=lead.lead_id,
        source=ACTIVITY_SOURCE,
    )


# ---------------------------------------------------------------- linking

#: What a new contact made by linking may hold (the standard contact fields; ``email`` required).
NEW_CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "job_title", "country", "city")


def parse_new_contact(values: Any) -> dict[str, Any]:
    """``new_contact``'s fields, normalised like a capture's; 422 naming ``new_contact.<field>``."""
    if not isinstance(values, dict):
        raise ValidationFailed([FieldError("new_contact", "new_contact must be an object")])
    errors: list[FieldError] = []
    found: dict[str, Any] = {}
    for name, raw in values.items():
        path = f"new_contact.{name}"
        if name not in NEW_CONTACT_FIELDS:
            errors.append(
                FieldError(path, f"{path} is not one of {', '.join(NEW_CONTACT_FIELDS)}", "unknown_field")
            )
            continue
        try:
            if raw is not None and not isinstance(raw, str):
                raise InvalidValue("must be text")
            found[name] = normalise_value(raw, IMPLIED_TYPES.get(f"contact.{name}", "string"))
        except InvalidValue as exc:
            errors.append(FieldError(path, f"{path} {exc}"))
    if not errors and not found.get("email"):
        errors.append(FieldError("new_contact.email", "new_contact.email is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class LinkPlan:
    """Move ``lead`` from ``old`` to ``new`` (created when ``created``): the lead's contact and account,
    both contacts' ``lead_ids`` and the move on the timeline, written in one transaction."""

    lead: Lead
    old: Contact | None
    new: Contact
    created: bool
    changed: bool


def plan_link(lead: Lead, old: Contact | None, new: Contact, created: bool, now: datetime) -> LinkPlan:
    """Decide a link. Linking to the contact the lead already has changes nothing (a retry is safe)."""
    if new.erasing:
        raise ContactUnavailable("that contact is being erased: no lead may be linked to it", "contact_id")
    if lead.contact_id == new.contact_id:
        return LinkPlan(lead, old, new, created=False, changed=False)
    moved = replace(lead, contact_id=new.contact_id, account_id=new.account_id, updated_at=now)
    left = None
    if old is not None:
        left = replace(old, lead_ids=[i for i in old.lead_ids if i != lead.lead_id], updated_at=now)
    joined = replace(
        new, lead_ids=[*[i for i in new.lead_ids if i != lead.lead_id], lead.lead_id], updated_at=now
    )
    return LinkPlan(moved, left, joined, created=created, changed=True)


def link_entry(plan: LinkPlan, by: str, at: datetime) -> dict[str, Any]:
    return {
        "from_contact_id": plan.old.contact_id if plan.old else None,
        "to_contact_id": plan.new.contact_id,
        "new_contact": plan.created,
        "by": by,
        "at": iso(at),
    }
