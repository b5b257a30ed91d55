"""A contact-only capture (a newsletter form, ``"creates_lead": false``) plans the contact, its account
and consent and no lead: pure, no AWS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.capture import Capture
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.forms import capture_from_submission, parse_form
from chalicelib.domain.matching import Known, plan_capture
from tests.unit.test_matching import NOW, counter_ids, stored_contact, stored_lead

NEWSLETTER = {
    "name": "Newsletter",
    "creates_lead": False,
    "fields": {"email": {"maps_to": "contact.email"}, "news": {"maps_to": "consent", "level": "marketing"}},
}


def sign_up(email: str = "reader@example.org") -> Capture:
    return capture_from_submission("newsletter", parse_form(NEWSLETTER), {"email": email, "news": "on"})


def test_a_new_person_signing_up_is_a_marketing_only_contact_without_a_lead():
    plan = plan_capture(sign_up(), Known(), NOW, counter_ids())
    assert plan.lead is None and plan.lead_created is False
    assert plan.contact_created and plan.contact.marketing_only and plan.contact.lead_ids == []
    assert plan.contact.consent == "marketing"


def test_a_known_person_signing_up_keeps_their_leads_and_gains_no_new_one():
    contact = stored_contact()
    lead = stored_lead("l_known", "Pricing")
    plan = plan_capture(
        replace(sign_up(str(contact.email)), creates_lead=False),
        Known(contact=contact, open_leads=[lead]),
        NOW,
        counter_ids(),
    )
    assert plan.lead is None and plan.contact.lead_ids == contact.lead_ids


def test_a_contact_only_form_naming_a_lead_field_is_refused():
    body = {**NEWSLETTER, "fields": {**NEWSLETTER["fields"], "t": {"maps_to": "lead.topic"}}}
    with pytest.raises(ValidationFailed) as refused:
        parse_form(body)
    assert "creates_lead" in refused.value.errors[0].message


def test_a_double_opt_in_form_gives_no_consent_by_any_path_only_asks_for_it():
    form = parse_form({**NEWSLETTER, "double_opt_in": True})
    asked = capture_from_submission("newsletter", form, {"email": "a@example.org", "news": "on"})
    assert asked.consent is None and asked.pending_consent == "marketing"
    plan = plan_capture(asked, Known(), NOW, counter_ids())
    assert plan.contact.consent == "none" and plan.contact.consent_history == []
