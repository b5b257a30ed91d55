"""The JSON answers of the lead and contact reads, shaped from the services' typed results
(``services/leads.py``). Key order is part of the answer: tests/contract and the e2e suite compare it."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.entities import Contact
from chalicelib.services.leads import (
    ContactDetail,
    ContactPage,
    LeadDetail,
    LeadPage,
    account_view,
    contact_view,
    lead_view,
    score_view,
)


def lead_detail(detail: LeadDetail, duplicate_of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **lead_view(detail.lead),
        "contact": contact_view(detail.contact) if detail.contact else None,
        "account": account_view(detail.account) if detail.account else None,
        "scores": [score_view(score) for score in detail.scores],
        "duplicate_of": duplicate_of,
    }


def lead_page(page: LeadPage) -> dict[str, Any]:
    leads = []
    for lead in page.leads:
        shown = lead_view(lead)
        about = page.summaries.get(lead.lead_id)
        if about is not None:
            shown.update(
                name=about.name,
                company=about.company,
                score=about.score,
                grade=about.grade,
                score_model=about.score_model,
            )
        if page.scores is not None:  # listed by a model's score: that model's score
            shown["score"] = page.scores[lead.lead_id]
        leads.append(shown)
    return {"leads": leads, "next_cursor": page.next_cursor}


def contact_detail(detail: ContactDetail, duplicate_of: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **contact_view(detail.contact),
        "account": account_view(detail.account) if detail.account else None,
        "leads": [lead_view(lead) for lead in detail.leads],
        "duplicate_of": duplicate_of,
    }


def contact_page(page: ContactPage) -> dict[str, Any]:
    return {"contacts": [contact_view(c) for c in page.contacts], "next_cursor": page.next_cursor}


def contacts_found(contact: Contact | None) -> dict[str, Any]:
    """``GET /v1/contacts?email=``: the one contact holding the address, with its lead ids, or none."""
    found = [{**contact_view(contact), "lead_ids": contact.lead_ids}] if contact else []
    return {"contacts": found, "next_cursor": None}
