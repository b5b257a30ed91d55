"""Matching a capture to the people and companies Leadflow already knows, as a plan to write.

The store reads what exists (:class:`Known`), :func:`plan_capture` decides, and the store writes the
plan in one transaction conditioned on what it read. A lost race means a fresh read and a new plan, so
the decision is always made on current data and never half applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib.domain.capture import Capture
from chalicelib.domain.consent import consent_rank, withdrawn
from chalicelib.domain.entities import Account, ConsentChange, Contact, Lead
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import merge_fields, non_empty, same_text
from chalicelib.domain.interactions import iso

#: Mailbox providers: their domain says nothing about the person's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "fastmail.com",
        "qq.com",
        "163.com",
        "126.com",
        "free.fr",
        "orange.fr",
        "laposte.net",
        "libero.it",
        "t-online.de",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "rediffmail.com",
        "example.com",
    }
)
_LEGAL_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "spa",
        "srl",
        "co",
        "corp",
        "corporation",
        "company",
    }
)
_NOT_WORD = re.compile(r"[^\w]+")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def company_key(name: str) -> str | None:
    """``"ACME, Inc."`` and ``"acme"`` are the same company; only trailing legal forms are dropped, so
    "Limited Brands" stays "limited brands" (and "Inc." alone names no company)."""
    words = _NOT_WORD.sub(" ", name.casefold()).split()
    while words and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words) or None


def normalise_domain(value: str) -> str | None:
    """``"https://www.Acme.com/about"`` -> ``"acme.com"``; ``None`` when it is not a domain."""
    text = value.strip().lower()
    text = text.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":", 1)[0]
    text = text.removeprefix("www.")
    return text if _DOMAIN.fullmatch(text) else None


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return None if domain in FREE_MAIL_DOMAINS else domain


@dataclass(frozen=True)
class AccountKeys:
    """The keys an account is found by: a normalised company name and a company email domain."""

    name: str | None
    domain: str | None

    def guard_keys(self) -> list[str]:
        keys = []
        if self.name:
            keys.append(f"account-name#{_bounded_key(self.name)}")
        if self.domain:
            keys.append(f"account-domain#{_bounded_key(self.domain)}")
        return keys


def _bounded_key(text: str) -> str:
    """Key values stay far below DynamoDB's 2 KB key limit: a long one is replaced by its digest."""
    if len(text.encode()) <= 200:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


#: Lead fields that keep the value of the capture that created the lead.
FIRST_TOUCH = frozenset({"source", "form_id"})


def account_keys(capture: Capture) -> AccountKeys:
    name = capture.account.get("name")
    domain = capture.account.get("domain")
    return AccountKeys(
        name=company_key(name) if isinstance(name, str) else None,
        domain=(normalise_domain(domain) if isinstance(domain, str) else None) or email_domain(capture.email),
    )


def contact_key(email: str) -> str:
    return f"contact-email#{email}"


@dataclass
class Known:
    """What the store found for a capture."""

    contact: Contact | None = None
    open_leads: list[Lead] = field(default_factory=list)
    account: Account | None = None
    #: Account guard keys (see :meth:`AccountKeys.guard_keys`) that exist already, to any account.
    taken_account_keys: set[str] = field(default_factory=set)
    #: The capture's email was erased (its tombstone exists): the capture must not be written.
    erased: bool = False


@dataclass
class CapturePlan:
    contact: Contact
    contact_created: bool
    #: ``None`` for a contact-only capture (``Capture.creates_lead`` false): no lead is written.
    lead: Lead | None
    lead_created: bool
    account: Account | None = None
    account_created: bool = False
    account_changed: bool = False
    #: Uniqueness keys to claim with a conditional write in the same transaction.
    new_keys: list[str] = field(default_factory=list)


#: A lead keeps this many conflicts (the newest): enough to review, bounded in the item.
MAX_CONFLICTS = 20


def plan_capture(capture: Capture, known: Known, now: datetime, new_id: Callable[[str], str]) -> CapturePlan:
    """Decide which contact, account and lead a capture writes. Pure: same inputs, same plan.

    Under the capture's ``update_policy`` ``fill_empty`` a known contact's and lead's values are kept
    and only what they lack is filled; what the capture said differently is kept on the lead as a
    conflict (the contact's record is not written over by an anonymous source). No capture raises a
    consent the person withdrew."""
    conflicts: list[dict[str, Any]] = []
    contact, contact_created = _plan_contact(capture, known.contact, now, new_id, conflicts)
    new_keys = [contact_key(contact.email)] if contact_created and contact.email else []
    account, account_created, account_changed, account_keys_to_claim = _plan_account(
        capture, known, now, new_id
    )
    new_keys += account_keys_to_claim
    if account is not None:
        contact.account_id = account.account_id
    lead: Lead | None = None
    lead_created = False
    if capture.creates_lead:
        lead, lead_created = _plan_lead(capture, contact, known.open_leads, now, new_id, conflicts)
        lead.account_id = contact.account_id
        if conflicts:
            lead.conflicts = _noted(lead.conflicts, conflicts)
        if lead_created:
            contact.lead_ids = [*contact.lead_ids, lead.lead_id]
        _check_size("lead", lead.fields)
    # a contact-only capture has no lead to keep its conflicts on: the contact's values are kept
    # (``fill_empty``) and a withdrawn consent stays withdrawn all the same
    _check_size("contact", contact.fields)
    if account is not None:
        _check_size("account", account.fields)
    return CapturePlan(
        contact=contact,
        contact_created=contact_created,
        lead=lead,
        lead_created=lead_created,
        account=account,
        account_created=account_created,
        account_changed=account_changed,
        new_keys=new_keys,
    )


#: A person, a company or a lead holds at most this many fields and bytes of them (DynamoDB keeps
#: items up to 400 KB; these leave room for everything else).
MAX_FIELDS = 200
MAX_FIELDS_BYTES = 64 * 1024


def _check_size(entity: str, fields: dict[str, Any]) -> None:
    size = len(json.dumps(fields, ensure_ascii=False, default=str).encode())
    if len(fields) > MAX_FIELDS or size > MAX_FIELDS_BYTES:
        raise ValidationFailed(
            [
                FieldError(
                    entity,
                    f"{entity} would hold more than {MAX_FIELDS} fields or {MAX_FIELDS_BYTES} bytes of them",
                )
            ]
        )


def _noted(held: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lead's conflicts with ``new`` added: the same field and submitted value once (its time is
    the latest), the newest :data:`MAX_CONFLICTS` kept."""
    fresh = {(c["field"], str(c["submitted"])) for c in new}
    kept = [c for c in held if (c.get("field"), str(c.get("submitted"))) not in fresh]
    return [*kept, *new][-MAX_CONFLICTS:]


def _apply(
    stored: dict[str, Any],
    incoming: dict[str, Any],
    capture: Capture,
    entity: str,
    now: datetime,
    conflicts: list[dict[str, Any]],
) -> dict[str, Any]:
    """``stored`` updated by ``incoming`` under the capture's update policy; under ``fill_empty`` each
    value that differs from a stored one (text compared without case and spaces) becomes a conflict."""
    if capture.update_policy == "overwrite":
        return merge_fields(stored, incoming)
    result = dict(stored)
    for name, value in non_empty(incoming).items():
        current = stored.get(name)
        if current is None or current == "":
            result[name] = value
        elif not _same_value(current, value):
            conflicts.append(_conflict(f"{entity}.{name}", value, current, capture, now))
    return result


def _same_value(a: Any, b: Any) -> bool:
    """Equal as people mean it: case and every run of spaces or line breaks do not count."""
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def _conflict(
    field_path: str, submitted: Any, current: Any, capture: Capture, now: datetime
) -> dict[str, Any]:
    return {
        "field": field_path,
        "submitted": submitted,
        "current": current,
        "source": capture.origin,
        "at": iso(now),
    }


def _plan_contact(
    capture: Capture,
    existing: Contact | None,
    now: datetime,
    new_id: Callable[[str], str],
    conflicts: list[dict[str, Any]],
) -> tuple[Contact, bool]:
    if existing is None:
        contact = Contact(
            contact_id=new_id("c"),
            email=capture.email,
            fields=non_empty(capture.contact),
            created_at=now,
            updated_at=now,
            marketing_only=True,
            agg={},  # new: its interactions are counted from the first (the capture's own)
        )
        created = True
    else:
        fields = _apply(existing.fields, capture.contact, capture, "contact", now, conflicts)
        contact = replace(existing, fields=fields, updated_at=now)
        contact.consent_history = list(existing.consent_history)
        created = False
    if capture.consent and consent_rank(capture.consent) > consent_rank(contact.consent):
        if withdrawn(contact):  # only an explicit, authenticated change brings consent back
            conflicts.append(_conflict("consent", capture.consent, contact.consent, capture, now))
        else:
            contact.consent = capture.consent
            contact.consent_history.append(
                ConsentChange(level=capture.consent, source=capture.origin, at=now)
            )
    return contact, created


def _plan_account(
    capture: Capture, known: Known, now: datetime, new_id: Callable[[str], str]
) -> tuple[Account | None, bool, bool, list[str]]:
    keys = account_keys(capture)
    wanted = keys.guard_keys()
    if known.account is not None:
        return _fill_account(known.account, capture, keys, known.taken_account_keys, now)
    if not wanted:
        return None, False, False, []
    fields = non_empty(capture.account)
    if keys.domain:
        fields.setdefault("domain", keys.domain)
    account = Account(
        account_id=new_id("a"),
        name=fields.get("name"),
        domain=keys.domain,
        fields=fields,
        created_at=now,
        updated_at=now,
    )
    claim = [k for k in wanted if k not in known.taken_account_keys]
    return account, True, True, claim


def _fill_account(
    stored: Account, capture: Capture, keys: AccountKeys, taken: set[str], now: datetime
) -> tuple[Account, bool, bool, list[str]]:
    """An account is shared by everyone who works there, and a public form is anonymous: a capture
    fills in what the account lacks but never overwrites it, so no one can rename a company by
    posting a form. Only the keys of the account's own name and domain are claimed for it."""
    fields = {**non_empty(capture.account), **stored.fields}
    domain = stored.domain or keys.domain
    if domain:
        fields.setdefault("domain", domain)
    name = stored.name or fields.get("name")
    own = AccountKeys(name=company_key(name) if isinstance(name, str) else None, domain=domain)
    claim = [k for k in own.guard_keys() if k in keys.guard_keys() and k not in taken]
    changed = fields != stored.fields or domain != stored.domain or name != stored.name
    account = replace(
        stored, fields=fields, name=name, domain=domain, updated_at=now if changed else stored.updated_at
    )
    return account, False, changed or bool(claim), claim


def lead_matches(lead: Lead, capture: Capture, contact: Contact, strategy: list[str]) -> bool:
    for path in strategy:
        entity, name = path.split(".", 1)
        if entity == "lead":
            if not same_text(lead.fields.get(name), capture.lead.get(name)):
                return False
        elif entity == "contact":
            if not same_text(contact.fields.get(name), capture.contact.get(name)):
                return False
        elif entity == "account" and lead.account_id != contact.account_id:
            return False
    return True


def _plan_lead(
    capture: Capture,
    contact: Contact,
    open_leads: list[Lead],
    now: datetime,
    new_id: Callable[[str], str],
    conflicts: list[dict[str, Any]],
) -> tuple[Lead, bool]:
    if capture.lead_matching != "new_lead_always":
        strategy = list(capture.lead_matching)
        candidates = [
            lead for lead in open_leads if lead.is_open and lead_matches(lead, capture, contact, strategy)
        ]
        if candidates:
            newest = max(candidates, key=lambda lead: lead.created_at)
            # where a lead came from is its first capture's: a later form does not rewrite it
            incoming = {
                k: v for k, v in capture.lead.items() if k not in FIRST_TOUCH or k not in newest.fields
            }
            fields = _apply(newest.fields, incoming, capture, "lead", now, conflicts)
            lead = replace(newest, fields=fields, updated_at=now)
            lead.conflicts = list(newest.conflicts)
            return lead, False
    lead = Lead(
        lead_id=new_id("l"),
        contact_id=contact.contact_id,
        fields=non_empty(capture.lead),
        created_at=now,
        updated_at=now,
    )
    return lead, True
