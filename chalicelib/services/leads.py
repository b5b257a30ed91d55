"""Reading leads and contacts as sales and operators see them."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.entities import Account, Contact, Lead
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.interactions import iso
from chalicelib.domain.ports import LeadFilter
from chalicelib.wiring import Deps

LIST_PARAMETERS = frozenset({"state", "status", "source", "contact_id", "limit", "cursor"})
MAX_PAGE = 100


def lead_view(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "contact_id": lead.contact_id,
        "account_id": lead.account_id,
        "state": lead.state,
        "status": lead.status,
        "topic": lead.topic,
        "source": lead.source,
        "fields": lead.fields,
        "created_at": iso(lead.created_at),
        "updated_at": iso(lead.updated_at),
    }


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "contact_id": contact.contact_id,
        "email": contact.email,
        "account_id": contact.account_id,
        "marketing_only": contact.marketing_only,
        "consent": contact.consent,
        "consent_history": [
            {"level": c.level, "source": c.source, "at": iso(c.at)} for c in contact.consent_history
        ],
        "fields": contact.fields,
        "last_interaction_at": iso(contact.last_interaction_at) if contact.last_interaction_at else None,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def account_view(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "domain": account.domain,
        "fields": account.fields,
        "created_at": iso(account.created_at),
    }


def get_lead(lead_id: str, deps: Deps) -> dict[str, Any]:
    """The lead with its contact, account and scores (one per active model)."""
    lead = deps.store.get_lead(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    contact = deps.store.get_contact(lead.contact_id)
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    return {
        **lead_view(lead),
        "contact": contact_view(contact) if contact else None,
        "account": account_view(account) if account else None,
        "scores": [],
    }


def list_leads(params: dict[str, str], deps: Deps) -> dict[str, Any]:
    unknown = sorted(set(params) - LIST_PARAMETERS)
    if unknown:
        raise ValidationFailed([FieldError(name, f"{name} is not a filter of this list") for name in unknown])
    limit_text = params.get("limit", "25")
    if not re.fullmatch(r"[0-9]{1,3}", limit_text) or not 1 <= int(limit_text) <= MAX_PAGE:
        raise ValidationFailed([FieldError("limit", f"limit must be an integer from 1 to {MAX_PAGE}")])
    empty = sorted(name for name, value in params.items() if name != "limit" and not value.strip())
    if empty:
        raise ValidationFailed([FieldError(name, f"{name} must not be empty") for name in empty])
    where = LeadFilter(
        state=params.get("state"),
        status=params.get("status"),
        source=params.get("source"),
        contact_id=params.get("contact_id"),
    )
    page = deps.store.list_leads(where, int(limit_text), params.get("cursor"))
    return {"leads": [lead_view(lead) for lead in page.items], "next_cursor": page.next_cursor}


def get_contact(contact_id: str, deps: Deps) -> dict[str, Any]:
    contact = deps.store.get_contact(contact_id)
    if contact is None:
        raise NotFound("contact", contact_id)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    leads = deps.store.get_leads(contact.lead_ids)
    return {
        **contact_view(contact),
        "account": account_view(account) if account else None,
        "leads": [lead_view(lead) for lead in leads],
    }
