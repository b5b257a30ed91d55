"""Anonymous sources cannot rewrite people (issue 15, item 2): each source has an update policy —
``fill_empty`` (public forms, webhooks, LinkedIn, imports by default) fills what a contact or lead lacks
and keeps what the capture said differently on the lead as a conflict; ``overwrite`` (the authenticated
API by default, or any source by choice) replaces. No capture raises consent after a withdrawal."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.capture import Capture, capture_from_api
from chalicelib.domain.consent import withdrawn
from chalicelib.domain.entities import ConsentChange, Contact, Lead
from chalicelib.domain.forms import capture_from_submission, parse_form
from chalicelib.domain.matching import Known, plan_capture
from chalicelib.integrations import csv_import

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
EARLIER = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
EMAIL = "ada@analytical-engines.co.uk"


def ids() -> Any:
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def ada(**changes: Any) -> Contact:
    contact = Contact(
        "c_ada",
        EMAIL,
        {"email": EMAIL, "first_name": "Ada", "job_title": "Head of Engineering", "phone": "+442079460958"},
        EARLIER,
        EARLIER,
        lead_ids=["l_open"],
        consent="marketing",
        consent_history=[ConsentChange("marketing", "form:contact-us", EARLIER)],
        version=4,
    )
    return replace(contact, **changes)


def open_lead() -> Lead:
    return Lead(
        "l_open",
        "c_ada",
        {"source": "landing_page", "topic": "Pricing", "budget": "10k"},
        EARLIER,
        EARLIER,
        version=2,
    )


def hostile(policy: str = "fill_empty", consent: str | None = "marketing") -> Capture:
    return Capture(
        contact={"email": EMAIL, "first_name": "Eve", "job_title": "Intern", "city": "Leeds"},
        lead={"source": "landing_page", "topic": "Pricing", "budget": "0"},
        consent=consent,
        origin="form:contact-us",
        update_policy=policy,  # type: ignore[arg-type]
    )


def test_fill_empty_keeps_what_the_contact_holds_and_fills_only_what_it_lacks():
    plan = plan_capture(hostile(), Known(contact=ada(), open_leads=[open_lead()]), NOW, ids())
    fields = plan.contact.fields
    assert fields["first_name"] == "Ada" and fields["job_title"] == "Head of Engineering"
    assert fields["city"] == "Leeds", "an empty field is filled"
    assert plan.lead.fields["budget"] == "10k", "the lead's values are kept too"


def test_conflicting_values_are_kept_on_the_lead_with_what_the_contact_holds():
    plan = plan_capture(hostile(), Known(contact=ada(), open_leads=[open_lead()]), NOW, ids())
    conflicts = {c["field"]: c for c in plan.lead.conflicts}
    assert conflicts["contact.first_name"]["submitted"] == "Eve"
    assert conflicts["contact.first_name"]["current"] == "Ada"
    assert conflicts["contact.job_title"] == {
        "field": "contact.job_title",
        "submitted": "Intern",
        "current": "Head of Engineering",
        "source": "form:contact-us",
        "at": "2026-12-06T10:00:00.000Z",
    }
    assert conflicts["lead.budget"]["submitted"] == "0"
    assert "contact.city" not in conflicts and "lead.topic" not in conflicts, "equal or filled: no conflict"


def test_the_same_conflict_again_is_noted_once():
    first = plan_capture(hostile(), Known(contact=ada(), open_leads=[open_lead()]), NOW, ids())
    again = plan_capture(hostile(), Known(contact=first.contact, open_leads=[first.lead]), NOW, ids())
    assert len(again.lead.conflicts) == len(first.lead.conflicts)


def test_a_new_lead_of_a_known_person_carries_the_conflicts():
    plan = plan_capture(hostile(), Known(contact=ada(), open_leads=[]), NOW, ids())
    assert plan.lead_created and {c["field"] for c in plan.lead.conflicts} >= {"contact.first_name"}


def test_overwrite_replaces_and_notes_no_conflict():
    plan = plan_capture(hostile("overwrite"), Known(contact=ada(), open_leads=[open_lead()]), NOW, ids())
    assert plan.contact.fields["first_name"] == "Eve" and plan.lead.fields["budget"] == "0"
    assert [c for c in plan.lead.conflicts if c["field"] != "consent"] == []


def test_case_and_spacing_differences_are_not_conflicts():
    capture = replace(hostile(), contact={"email": EMAIL, "first_name": " ada "}, lead={"topic": "pricing"})
    plan = plan_capture(capture, Known(contact=ada(), open_leads=[open_lead()]), NOW, ids())
    assert plan.lead.conflicts == []


WITHDRAWN = [
    ConsentChange("marketing", "form:contact-us", EARLIER),
    ConsentChange("none", "withdrawn:unsubscribe-page", EARLIER),
]


@pytest.mark.parametrize("policy", ["fill_empty", "overwrite"])
def test_no_capture_raises_consent_after_a_withdrawal(policy: str):
    gone = ada(consent="none", consent_history=list(WITHDRAWN))
    plan = plan_capture(hostile(policy), Known(contact=gone, open_leads=[open_lead()]), NOW, ids())
    assert plan.contact.consent == "none"
    assert plan.contact.consent_history == WITHDRAWN
    assert plan.lead is not None
    assert {"field": "consent", "submitted": "marketing", "current": "none"}.items() <= next(
        c for c in plan.lead.conflicts if c["field"] == "consent"
    ).items()


def test_a_partial_withdrawal_is_a_withdrawal_too():
    lowered = ada(
        consent="transactional",
        consent_history=[*WITHDRAWN[:1], ConsentChange("transactional", "api", EARLIER)],
    )
    assert withdrawn(lowered)
    plan = plan_capture(hostile(), Known(contact=lowered, open_leads=[]), NOW, ids())
    assert plan.contact.consent == "transactional"


def test_a_person_never_asked_may_give_consent_by_submitting_a_form():
    imported = ada(consent="none", consent_history=[])
    assert not withdrawn(imported)
    plan = plan_capture(hostile(), Known(contact=imported, open_leads=[]), NOW, ids())
    assert plan.contact.consent == "marketing"


def test_public_sources_default_to_fill_empty_and_the_api_to_overwrite():
    form = parse_form({"name": "F", "fields": {"email": {"maps_to": "contact.email"}}})
    assert form.update_policy == "fill_empty"
    assert capture_from_submission("f", form, {"email": EMAIL}).update_policy == "fill_empty"
    assert (
        parse_form({"name": "W", "fields": {"e": {"maps_to": "contact.email"}}}, "typeform").update_policy
        == "fill_empty"
    )
    chosen = parse_form(
        {"name": "F", "update_policy": "overwrite", "fields": {"email": {"maps_to": "contact.email"}}}
    )
    assert capture_from_submission("f", chosen, {"email": EMAIL}).update_policy == "overwrite"
    assert capture_from_api({"contact": {"email": EMAIL}}).update_policy == "overwrite"
    assert (
        capture_from_api({"contact": {"email": EMAIL}, "update_policy": "fill_empty"}).update_policy
        == "fill_empty"
    )


def test_imports_default_to_fill_empty_and_may_choose_overwrite():
    default = csv_import.resolve(["Email"], csv_import.parse_mapping({"columns": {"Email": "contact.email"}}))
    chosen = csv_import.resolve(
        ["Email"],
        csv_import.parse_mapping({"columns": {"Email": "contact.email"}, "update_policy": "overwrite"}),
    )
    assert default.form.update_policy == "fill_empty" and chosen.form.update_policy == "overwrite"
