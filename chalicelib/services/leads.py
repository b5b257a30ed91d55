"""Reading leads and contacts as sales and operators see them."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.entities import Account, Contact, Lead
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.interactions import iso
from chalicelib.domain.scoring import Score
from chalicelib.domain.stored import LeadFilter
from chalicelib.services import scoring
from chalicelib.wiring import Deps

LIST_PARAMETERS = frozenset(
    {"state", "status", "source", "contact_id", "limit", "cursor", "model_id", "grade", "min_score"}
)
MAX_PAGE = 100


def score_view(score: Score) -> dict[str, Any]:
    return {
        **score.summary(),
        "previous_score": score.previous_score,
        "trend": score.trend,
        "as_of": iso(score.as_of),
        "breakdown": [entry.as_dict() for entry in score.breakdown],
    }


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
        "conflicts": lead.conflicts,
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
        "scores": _scores(lead_id, deps),
    }


def _scores(lead_id: str, deps: Deps) -> list[dict[str, Any]]:
    """One score per active model (a retired model's score is not shown)."""
    active = {model.model_id for model in scoring.active_models(deps)}
    stored = deps.scoring.scores_of(lead_id)
    return [score_view(stored[model_id]) for model_id in sorted(stored) if model_id in active]


def page_size(params: dict[str, str]) -> int:
    text = params.get("limit", "25")
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationFailed([FieldError("limit", f"limit must be an integer from 1 to {MAX_PAGE}")])
    return int(text)


def list_leads(params: dict[str, str], deps: Deps) -> dict[str, Any]:
    unknown = sorted(set(params) - LIST_PARAMETERS)
    if unknown:
        raise ValidationFailed([FieldError(name, f"{name} is not a filter of this list") for name in unknown])
    limit = page_size(params)
    empty = sorted(name for name, value in params.items() if name != "limit" and not value.strip())
    if empty:
        raise ValidationFailed([FieldError(name, f"{name} must not be empty") for name in empty])
    long = sorted(name for name, value in params.items() if name != "cursor" and len(value.encode()) > 256)
    if long:
        raise ValidationFailed([FieldError(name, f"{name} is longer than 256 bytes") for name in long])
    if "model_id" in params or "grade" in params or "min_score" in params:
        return _list_by_score(params, limit, deps)
    where = LeadFilter(
        state=params.get("state"),
        status=params.get("status"),
        source=params.get("source"),
        contact_id=params.get("contact_id"),
    )
    page = deps.store.list_leads(where, limit, params.get("cursor"))
    return {"leads": [lead_view(lead) for lead in page.items], "next_cursor": page.next_cursor}


def get_contact(contact_id: str, deps: Deps) -> dict[str, Any]:
    contact = deps.store.get_contact(contact_id)
    if contact is None or contact.erasing:  # being erased: gone for every reader from the DELETE on
        raise NotFound("contact", contact_id)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    leads = deps.store.get_leads(contact.lead_ids)
    return {
        **contact_view(contact),
        "account": account_view(account) if account else None,
        "leads": [lead_view(lead) for lead in leads],
    }


def _list_by_score(params: dict[str, str], limit: int, deps: Deps) -> dict[str, Any]:
    """Leads by a model's score, highest first, read from the scores index (never a scan); other
    filters apply to the page read."""
    model_id = params.get("model_id")
    if model_id is None:
        raise ValidationFailed(
            [FieldError("model_id", "grade and min_score filter a model's scores: give model_id")]
        )
    min_score = None
    if "min_score" in params:
        if not re.fullmatch(r"-?[0-9]{1,9}", params["min_score"]):
            raise ValidationFailed([FieldError("min_score", "min_score must be an integer")])
        min_score = int(params["min_score"])
    page = deps.scoring.leads_by_score(model_id, params.get("grade"), min_score, limit, params.get("cursor"))
    scores = dict(page.items)
    wanted = {k: params[k] for k in ("state", "status", "source", "contact_id") if k in params}
    leads = []
    for lead in deps.store.get_leads(list(scores)):
        seen = {
            "state": lead.state,
            "status": lead.status,
            "source": lead.source,
            "contact_id": lead.contact_id,
        }
        if all(seen[k] == v for k, v in wanted.items()):
            leads.append({**lead_view(lead), "score": scores[lead.lead_id]})
    return {"leads": leads, "next_cursor": page.next_cursor}


def list_contacts(params: dict[str, str], deps: Deps) -> dict[str, Any]:
    """Contacts, paged; ``marketing_only=false`` is the sales view (contacts made only to hold a lead
    are left out)."""
    unknown = sorted(set(params) - {"marketing_only", "limit", "cursor", "email"})
    if unknown:
        raise ValidationFailed([FieldError(name, f"{name} is not a filter of this list") for name in unknown])
    if "email" in params:
        return _contact_by_email(params, deps)
    flag = params.get("marketing_only")
    if flag not in (None, "true", "false"):
        raise ValidationFailed([FieldError("marketing_only", "marketing_only must be true or false")])
    limit = page_size(params)
    marketing_only = None if flag is None else flag == "true"
    page = deps.store.list_contacts(marketing_only, limit, params.get("cursor"))
    return {"contacts": [contact_view(c) for c in page.items], "next_cursor": page.next_cursor}


def _contact_by_email(params: dict[str, str], deps: Deps) -> dict[str, Any]:
    """``?email=``: the one contact holding that address (its claim: one read), with its lead ids; the
    way an operator finds a person (public answers never name contacts)."""
    from chalicelib.domain.fields import InvalidValue, normalise_email

    if set(params) - {"email"}:
        raise ValidationFailed([FieldError("email", "email cannot be combined with other filters")])
    try:
        email = normalise_email(params["email"])
    except InvalidValue as exc:
        raise ValidationFailed([FieldError("email", f"email {exc}")]) from None
    contact = deps.store.contact_by_email(email)
    found = [{**contact_view(contact), "lead_ids": contact.lead_ids}] if contact else []
    return {"contacts": found, "next_cursor": None}
