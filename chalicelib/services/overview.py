"""The 360° view: everything about one contact (or one account) in one call, read with bounded key and
index reads (never a scan): the contact, its account, its newest leads with their scores (with the
breakdown), hand-offs and opportunities, its interactions newest first a page at a time, and its
consent changes. Typed results; ``api/working.py`` shapes them to JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import NotFound
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.scoring import Score
from chalicelib.services import scoring
from chalicelib.wiring import Deps

#: A contact's (an account's) newest leads shown; ``leads_total`` says how many it has.
MAX_LEADS = 50
#: An account's contacts shown (from its index).
MAX_CONTACTS = 100
#: Each lead's newest timeline entries read for its hand-offs, notes and activities.
HISTORY_PER_LEAD = 100
HANDOFF_KINDS = ("handoff", "handoff_withheld")


@dataclass(frozen=True)
class LeadWork:
    """One lead as the 360° view shows it."""

    lead: Lead
    scores: list[Score]
    handoffs: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    opportunities: list[Opportunity]


@dataclass(frozen=True)
class ContactOverview:
    contact: Contact
    account: Account | None
    leads: list[LeadWork]
    leads_total: int
    interactions: list[Interaction]
    next_cursor: str | None


@dataclass(frozen=True)
class AccountOverview:
    account: Account
    contacts: list[Contact]
    leads: list[LeadWork]
    leads_total: int
    #: The ids of the active models that score the account as a whole (``"scope": "account"``).
    account_models: list[str]


def _active_scope(deps: Deps) -> dict[str, str]:
    """Active model id -> its scope (``contact`` or ``account``)."""
    return {m.model_id: str(getattr(m, "scope", "contact")) for m in scoring.active_models(deps)}


def _lead_work(leads: list[Lead], models: set[str], deps: Deps) -> list[LeadWork]:
    found = []
    for lead in leads:
        stored = deps.scoring.scores_of(lead.lead_id)
        history = deps.handoffs.history(lead.lead_id, HISTORY_PER_LEAD, lead.timeline)
        found.append(
            LeadWork(
                lead=lead,
                scores=[stored[m] for m in sorted(stored) if m in models],
                handoffs=[e for e in history if e.get("kind") in HANDOFF_KINDS],
                notes=[e for e in history if e.get("kind") == "note"],
                opportunities=deps.handoffs.opportunities_of_lead(lead.lead_id),
            )
        )
    return found


def _newest(lead_ids: list[str], deps: Deps) -> list[Lead]:
    """The newest :data:`MAX_LEADS` of these leads (ids are time-ordered), newest first."""
    newest = sorted(lead_ids, reverse=True)[:MAX_LEADS]
    return sorted(deps.store.get_leads(newest), key=lambda lead: lead.created_at, reverse=True)


def _contact(contact_id: str, deps: Deps) -> Contact:
    contact = deps.store.get_contact(contact_id)
    if contact is None:
        from chalicelib.services.data_rights import refuse_if_erased

        refuse_if_erased(contact_id, deps.identity)  # an erased id: 409, as on every route
    if contact is None or contact.erasing:
        raise NotFound("contact", contact_id)
    return contact


def contact_overview(contact_id: str, limit: int, cursor: str | None, deps: Deps) -> ContactOverview:
    """The contact's 360° view; ``limit``/``cursor`` page its interactions (newest first)."""
    contact = _contact(contact_id, deps)
    account = deps.store.get_account(contact.account_id) if contact.account_id else None
    models = set(_active_scope(deps))
    page = deps.work.interactions_page(contact_id, limit, cursor)
    return ContactOverview(
        contact=contact,
        account=account,
        leads=_lead_work(_newest(contact.lead_ids, deps), models, deps),
        leads_total=len(contact.lead_ids),
        interactions=list(page.items),
        next_cursor=page.next_cursor,
    )


def account_overview(account_id: str, deps: Deps) -> AccountOverview:
    """The account with its contacts (the newest :data:`MAX_CONTACTS` by its index), their leads and
    the scores of the models that score accounts as a whole."""
    account = deps.store.get_account(account_id)
    if account is None:
        raise NotFound("account", account_id)
    contact_ids = deps.work.contacts_of_account(account_id, MAX_CONTACTS)
    contacts = [c for c in deps.store.get_contacts(contact_ids) if not c.erasing]
    lead_ids = [i for c in contacts for i in c.lead_ids]
    scopes = _active_scope(deps)
    account_models = sorted(m for m, scope in scopes.items() if scope == "account")
    leads = _newest(lead_ids, deps)
    return AccountOverview(
        account=account,
        contacts=sorted(contacts, key=lambda c: c.created_at),
        leads=_lead_work(leads, set(account_models), deps),
        leads_total=len(lead_ids),
        account_models=account_models,
    )
