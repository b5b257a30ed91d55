"""Reading leads and contacts as sales and operators see them: typed results (``LeadDetail``,
``LeadPage``, ``ContactDetail``, ``ContactPage``) that ``api/views.py`` shapes to JSON.

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.entities import Account, Contact, Lead
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.scoring import Score, grade_bounds
from chalicelib.domain.stored import LeadFilter
from chalicelib.services import scoring
from chalicelib.wiring import Deps


@dataclass(frozen=True)
class LeadDetail:
    """A lead with its contact, account and scores (one per active model, by model id)."""

    lead: Lead
    contact: Contact | None
    account: Account | None
    scores: list[Score]


@dataclass(frozen=True)
class LeadSummary:
    """Who a listed lead is, and its score and grade by the first active model (``score_model``)."""

    name: str | None
    company: str | None
    score: int | None
    grade: str | None
    score_model: str | None


@dataclass(frozen=True)
class LeadPage:
    """A page of leads; listed by a model's score, ``scores`` holds each lead's score by lead id;
    ``summaries`` who each lead is, by lead id."""

    leads: list[Lead]
    next_cursor: str | None
    scores: dict[str, int] | None = None
    summaries: dict[str, LeadSummary] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactDetail:
    """A contact with its account and leads."""

    contact: Contact
    account: Account | None
    leads: list[Lead]


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    next_cursor: str | None


def get_lead(lead_id: str, deps: Deps) -> LeadDetail:
    """The lead with its contact, account and scores (one per active model)."""
    lead = deps.store.get_lead(lead_id)
    if lead is None:
        raise NotFound("lead", lead_id)
    contact = deps.store.get_contact(lead.contact_id)
    account = deps.store.get_account(lead.account_id) if lead.account_id else None
    return LeadDetail(lead, contact, account, _scores(lead_id, deps))


def _scores(lead_id: str, deps: Deps) -> list[Score]:
    """One score per active model (a retired model's score is not shown)."""
    active = {model.model_id for model in scoring.active_models(deps)}
    stored = deps.scoring.scores_of(lead_id)
    return [stored[model_id] for model_id in sorted(stored) if model_id in active]


@dataclass(frozen=True)
class LeadQuery:
    """``GET /v1/leads``'s filters, parsed (``api/schemas/queries.py``); ``model_id`` with ``grade`` /
    ``min_score`` lists by that model's score."""

    state: str | None = None
    status: str | None = None
    source: str | None = None
    contact_id: str | None = None
    model_id: str | None = None
    grade: str | None = None
    min_score: int | None = None
    #: A user id (``owner=me`` is resolved to the caller's user by the route).
    owner: str | None = None
    limit: int = 25
    cursor: str | None = None


def list_leads(query: LeadQuery, deps: Deps) -> LeadPage:
    if query.owner is not None:  # a person's leads: the by_owner index, never a scan
        other = [k for k in ("contact_id", "model_id", "grade", "min_score") if getattr(query, k) is not None]
        if other:
            raise ValidationFailed([FieldError(other[0], f"{other[0]} cannot be combined with owner")])
        where = LeadFilter(state=query.state, status=query.status, source=query.source)
        page = deps.assignments.leads_of_owner(query.owner, where, query.limit, query.cursor)
        return LeadPage(list(page.items), page.next_cursor, summaries=_summaries(page.items, deps))
    if query.model_id is not None or query.grade is not None or query.min_score is not None:
        return _list_by_score(query, deps)
    where = LeadFilter(
        state=query.state, status=query.status, source=query.source, contact_id=query.contact_id
    )
    page = deps.store.list_leads(where, query.limit, query.cursor)
    return LeadPage(list(page.items), page.next_cursor, summaries=_summaries(page.items, deps))


def _summaries(leads: list[Lead], deps: Deps) -> dict[str, LeadSummary]:
    """Each listed lead's person (``name``, ``company``) and its score and grade by the first active
    model (``score_model``): three batch reads per page (contacts, accounts, scores), so a rep's list
    needs no call per lead."""
    if not leads:
        return {}
    contacts = {c.contact_id: c for c in deps.store.get_contacts(list({lead.contact_id for lead in leads}))}
    account_ids = list({lead.account_id for lead in leads if lead.account_id})
    accounts = {a.account_id: a for a in deps.scoring.get_accounts(account_ids)} if account_ids else {}
    models = sorted(model.model_id for model in scoring.active_models(deps))
    scores = deps.scoring.scores_for([lead.lead_id for lead in leads], models[:1]) if models else {}
    summaries = {}
    for lead in leads:
        contact = contacts.get(lead.contact_id)
        account = accounts.get(lead.account_id) if lead.account_id else None
        score = scores.get(lead.lead_id, {}).get(models[0]) if models else None
        summaries[lead.lead_id] = LeadSummary(
            name=person_name(contact),
            company=(account.name if account else None)
            or _text(contact.fields.get("company") if contact else None),
            score=score.score if score is not None else None,
            grade=score.grade if score is not None else None,
            score_model=models[0] if score is not None else None,
        )
    return summaries


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def person_name(contact: Contact | None) -> str | None:
    """First and last name, else the e-mail address, else ``None``."""
    if contact is None:
        return None
    parts = [_text(contact.fields.get(k)) for k in ("first_name", "last_name")]
    return " ".join(p for p in parts if p) or contact.email


def get_contact(contact_id: str, deps: Deps) -> ContactDetail:
    contact = deps.store.get_contact(contact_id)
    if contact is None or contact.erasing:  # being erased: gone for every reader from the DELETE on
        raise NotFound("contact", contact_id)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    return ContactDetail(contact, account, deps.store.get_leads(contact.lead_ids))


def _list_by_score(query: LeadQuery, deps: Deps) -> LeadPage:
    """Leads by a model's score, highest first, read from the scores index (never a scan); other
    filters apply to the page read."""
    if query.model_id is None:
        raise ValidationFailed(
            [FieldError("model_id", "grade and min_score filter a model's scores: give model_id")]
        )
    low: float | None = query.min_score
    below: float | None = None
    if query.grade is not None:
        model = next((m for m in scoring.active_models(deps) if m.model_id == query.model_id), None)
        if model is not None:
            line, below = grade_bounds(model.grades, query.grade)
            low = line if low is None or (line is not None and line > low) else low
    page = deps.scoring.leads_by_score(query.model_id, query.grade, low, query.limit, query.cursor, below)
    scores = dict(page.items)
    wanted = {
        k: v for k in ("state", "status", "source", "contact_id") if (v := getattr(query, k)) is not None
    }
    matched = []
    for lead in deps.store.get_leads(list(scores)):
        seen = {
            "state": lead.state,
            "status": lead.status,
            "source": lead.source,
            "contact_id": lead.contact_id,
        }
        if all(seen[k] == v for k, v in wanted.items()):
            matched.append(lead)
    return LeadPage(
        matched,
        page.next_cursor,
        {lead.lead_id: scores[lead.lead_id] for lead in matched},
        _summaries(matched, deps),
    )


def list_contacts(marketing_only: bool | None, limit: int, cursor: str | None, deps: Deps) -> ContactPage:
    """Contacts, paged; ``marketing_only=False`` is the sales view (contacts made only to hold a lead
    are left out)."""
    page = deps.store.list_contacts(marketing_only, limit, cursor)
    return ContactPage(list(page.items), page.next_cursor)


def contact_by_email(email: str, deps: Deps) -> Contact | None:
    """``?email=``: the one contact holding that address (its claim: one read), or ``None``; the way
    an operator finds a person (public answers never name contacts)."""
    from chalicelib.domain.fields import InvalidValue, normalise_email

    try:
        normalised = normalise_email(email)
    except InvalidValue as exc:
        raise ValidationFailed([FieldError("email", f"email {exc}")]) from None
    return deps.store.contact_by_email(normalised)
