"""Form definitions and how a submission becomes a Capture (chalicelib/domain/forms.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.forms import (
    FormDefinition,
    capture_from_submission,
    form_validation_errors,
    valid_form_id,
)

FORM_ID = "contact-us"


def _refused(definition: dict[str, Any]) -> ValidationFailed:
    """Validate a definition that must be refused; the errors as the API would report them."""
    with pytest.raises(ValidationError) as caught:
        FormDefinition.model_validate(definition)
    return form_validation_errors(caught.value)


def _fields_named(failed: ValidationFailed) -> set[str]:
    return {error.field for error in failed.errors}


def _failure(form: FormDefinition, submitted: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        capture_from_submission(FORM_ID, form, submitted)
    return caught.value


# ---------------------------------------------------------------- the definition


def test_sample_contact_us_form_is_valid(contact_us):
    form = FormDefinition.model_validate(contact_us)
    assert form.fields["email"].maps_to == "contact.email"
    assert form.lead_matching == ["contact.email", "lead.topic"]
    assert form.allowed_origins == ["https://www.example.com"]


def test_form_defaults_are_landing_page_source_and_email_topic_matching():
    form = FormDefinition.model_validate({"name": "Minimal", "fields": {"e": {"maps_to": "contact.email"}}})
    assert form.source == "landing_page"
    assert form.lead_matching == ["contact.email", "lead.topic"]
    assert form.consent_on_submit == "consent_given"
    assert form.allowed_origins == []
    assert form.honeypot_field is None


def test_field_types_are_implied_by_standard_paths(contact_us_form):
    assert contact_us_form.fields["email"].kind == "email"
    assert contact_us_form.fields["phone"].kind == "phone"
    assert contact_us_form.fields["employees"].kind == "integer"
    assert contact_us_form.fields["newsletter"].kind == "boolean"
    assert contact_us_form.fields["first_name"].kind == "string"


def test_form_must_map_a_field_to_contact_email(contact_us):
    del contact_us["fields"]["email"]
    failed = _refused(contact_us)
    assert _fields_named(failed) == {"fields"}
    assert "contact.email" in failed.message


@pytest.mark.parametrize("managed", ["lead.state", "lead.status"])
def test_form_cannot_map_a_field_to_a_managed_path(contact_us, managed):
    contact_us["fields"]["topic"]["maps_to"] = managed
    failed = _refused(contact_us)
    assert _fields_named(failed) == {"fields.topic.maps_to"}
    assert "managed" in failed.message


@pytest.mark.parametrize("path", ["foo.bar", "contact.Bad Name", "email", "lead."])
def test_form_cannot_map_a_field_to_a_non_path(contact_us, path):
    contact_us["fields"]["topic"]["maps_to"] = path
    assert _fields_named(_refused(contact_us)) == {"fields.topic.maps_to"}


def test_consent_field_needs_a_level(contact_us):
    del contact_us["fields"]["newsletter"]["level"]
    failed = _refused(contact_us)
    assert _fields_named(failed) == {"fields.newsletter"}
    assert "needs a level" in failed.message


def test_level_is_only_for_consent_fields(contact_us):
    contact_us["fields"]["first_name"]["level"] = "marketing"
    assert _fields_named(_refused(contact_us)) == {"fields.first_name"}


def test_consent_level_must_be_a_known_level(contact_us):
    contact_us["fields"]["newsletter"]["level"] = "everything"
    assert _fields_named(_refused(contact_us)) == {"fields.newsletter.level"}


@pytest.mark.parametrize(
    "origin",
    [
        "www.example.com",
        "ftp://www.example.com",
        "https://www.example.com/",
        "https://www.example.com/contact",
        "https://WWW.EXAMPLE.COM",
        "https://www.example.com:123456",
        "null",
    ],
)
def test_non_origins_are_refused(contact_us, origin):
    contact_us["allowed_origins"] = ["https://ok.example.com", origin]
    failed = _refused(contact_us)
    assert _fields_named(failed) == {"allowed_origins"}
    assert repr(origin) in failed.message


@pytest.mark.parametrize("origins", [["*"], ["http://localhost:3000", "https://www.example.com"], []])
def test_wildcard_and_scheme_host_port_origins_are_allowed(contact_us, origins):
    contact_us["allowed_origins"] = origins
    assert FormDefinition.model_validate(contact_us).allowed_origins == origins


def test_honeypot_must_not_be_a_field(contact_us):
    contact_us["honeypot_field"] = "email"
    failed = _refused(contact_us)
    assert _fields_named(failed) == {"body"}
    assert "honeypot_field" in failed.message


@pytest.mark.parametrize("matching", ["new_lead_always", ["contact.email"], ["lead.topic", "account.name"]])
def test_lead_matching_accepts_new_lead_always_or_field_paths(contact_us, matching):
    contact_us["lead_matching"] = matching
    assert FormDefinition.model_validate(contact_us).lead_matching == matching


@pytest.mark.parametrize("matching", [[], ["lead.Topic"], ["topic"], "sometimes", [1], None])
def test_lead_matching_refuses_anything_else(contact_us, matching):
    contact_us["lead_matching"] = matching
    failed = _refused(contact_us)
    assert all(field.startswith("lead_matching") for field in _fields_named(failed))


def test_contact_matching_is_by_email_only(contact_us):
    contact_us["contact_matching"] = "phone"
    assert _fields_named(_refused(contact_us)) == {"contact_matching"}


def test_unknown_definition_properties_are_refused(contact_us):
    contact_us["owner"] = "someone"
    contact_us["fields"]["email"]["default"] = "x@example.org"
    assert _fields_named(_refused(contact_us)) == {"owner", "fields.email.default"}


@pytest.mark.parametrize("name", ["first name", "", "e" * 101, "email!"])
def test_unusable_submitted_field_names_are_refused(contact_us, name):
    contact_us["fields"][name] = {"maps_to": "contact.city"}
    assert _fields_named(_refused(contact_us)) == {"fields"}


@pytest.mark.parametrize("region", ["GBR", "G", "4"])
def test_phone_region_must_be_two_letters(contact_us, region):
    contact_us["phone_region"] = region
    assert _fields_named(_refused(contact_us)) == {"phone_region"}


def test_form_needs_a_name_and_at_least_one_field(contact_us):
    contact_us["name"] = ""
    contact_us["fields"] = {}
    assert _fields_named(_refused(contact_us)) == {"name", "fields"}


def test_form_validation_errors_name_every_location(contact_us):
    contact_us["fields"]["company"]["maps_to"] = "lead.state"
    contact_us["allowed_origins"] = ["nope"]
    failed = _refused(contact_us)
    assert [e.field for e in failed.errors] == ["fields.company.maps_to", "allowed_origins"]
    assert failed.message == "2 fields are invalid"
    assert failed.field == "fields.company.maps_to"
    assert failed.errors[0].message.startswith("fields.company.maps_to: ")
    assert failed.code == "validation_error"


def test_a_single_form_error_is_its_own_message(contact_us):
    contact_us["phone_region"] = "GBR"
    failed = _refused(contact_us)
    assert failed.message == failed.errors[0].message
    assert failed.message.startswith("phone_region: ")


@pytest.mark.parametrize("form_id", ["contact-us", "Contact_Us_2", "x", "a" * 64])
def test_usable_form_ids(form_id):
    assert valid_form_id(form_id)


@pytest.mark.parametrize("form_id", ["", "contact us", "contact/us", "a" * 65, "../x"])
def test_unusable_form_ids(form_id):
    assert not valid_form_id(form_id)


# ---------------------------------------------------------------- origins and honeypot


def test_a_request_without_origin_is_allowed(contact_us_form):
    assert contact_us_form.allows_origin(None)


@pytest.mark.parametrize(
    "origin", ["https://www.example.com", "https://www.example.com/", "HTTPS://WWW.Example.COM"]
)
def test_a_listed_origin_is_allowed_ignoring_case_and_trailing_slash(contact_us_form, origin):
    assert contact_us_form.allows_origin(origin)


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://www.example.com", "https://www.example.com.evil.example", ""]
)
def test_an_unlisted_origin_is_refused(contact_us_form, origin):
    assert not contact_us_form.allows_origin(origin)


def test_wildcard_allows_any_origin(contact_us):
    contact_us["allowed_origins"] = ["*"]
    assert FormDefinition.model_validate(contact_us).allows_origin("https://anywhere.example")


def test_form_without_origins_refuses_every_browser(contact_us):
    contact_us["allowed_origins"] = []
    form = FormDefinition.model_validate(contact_us)
    assert not form.allows_origin("https://www.example.com")
    assert form.allows_origin(None)


@pytest.mark.parametrize("value", ["http://spam.example", "x", 0])
def test_honeypot_with_a_value_is_filled(contact_us_form, value):
    assert contact_us_form.honeypot_filled({"email": "a@example.org", "website": value})


@pytest.mark.parametrize("submitted", [{}, {"website": ""}, {"website": "   "}, {"website": None}])
def test_empty_or_missing_honeypot_is_not_filled(contact_us_form, submitted):
    assert not contact_us_form.honeypot_filled(submitted)


def test_form_without_honeypot_is_never_filled(contact_us):
    del contact_us["honeypot_field"]
    form = FormDefinition.model_validate(contact_us)
    assert not form.honeypot_filled({"website": "http://spam.example"})


def test_blank_honeypot_posted_twice_is_not_filled(contact_us_form):
    assert not contact_us_form.honeypot_filled({"website": ["", ""]})


# ---------------------------------------------------------------- a submission becomes a capture


def test_submission_maps_fields_to_contact_account_and_lead(contact_us_form, sample_submissions):
    capture = capture_from_submission(FORM_ID, contact_us_form, sample_submissions[0])
    assert capture.contact == {
        "email": "ada.lovelace@analytical-engines.co.uk",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "job_title": "Head of Engineering",
        "phone": "+442079460958",
        "country": "GB",
    }
    assert capture.account == {"name": "Analytical Engines Ltd", "employees": 250}
    assert capture.lead == {"source": "landing_page", "form_id": FORM_ID, "topic": "Pricing"}
    assert capture.consent == "marketing"
    assert capture.origin == "form:contact-us"
    assert capture.lead_matching == ["contact.email", "lead.topic"]
    assert capture.email == "ada.lovelace@analytical-engines.co.uk"


def test_lead_gets_the_forms_source_topic_and_form_id(contact_us_form):
    capture = capture_from_submission(FORM_ID, contact_us_form, {"email": "a@example.org"})
    assert capture.lead == {"source": "landing_page", "form_id": FORM_ID, "topic": "Website inquiry"}


def test_submitted_topic_overrides_the_forms_topic(contact_us_form):
    capture = capture_from_submission(FORM_ID, contact_us_form, {"email": "a@example.org", "topic": "Demo"})
    assert capture.lead["topic"] == "Demo"


def test_form_campaign_is_given_to_the_lead(contact_us):
    contact_us["campaign"] = "spring-2026"
    form = FormDefinition.model_validate(contact_us)
    assert (
        capture_from_submission(FORM_ID, form, {"email": "a@example.org"}).lead["campaign"] == "spring-2026"
    )


def test_undeclared_submitted_fields_are_ignored(contact_us_form):
    submitted = {
        "email": "a@example.org",
        "state": "qualified",
        "status": "sales_accepted",
        "score": 100,
        "lead.state": "qualified",
        "contact_id": "c_someone_else",
        "marketing_only": False,
    }
    capture = capture_from_submission(FORM_ID, contact_us_form, submitted)
    assert capture.contact == {"email": "a@example.org"}
    assert capture.account == {}
    assert capture.lead == {"source": "landing_page", "form_id": FORM_ID, "topic": "Website inquiry"}
    assert capture.consent == "consent_given"


def test_blank_optional_fields_are_left_out(contact_us_form):
    submitted = {"email": "a@example.org", "first_name": "", "phone": "  ", "company": None, "employees": ""}
    capture = capture_from_submission(FORM_ID, contact_us_form, submitted)
    assert capture.contact == {"email": "a@example.org"}
    assert capture.account == {}


def test_every_invalid_field_is_named(contact_us_form):
    submitted = {"email": "not-an-email", "phone": "call me", "employees": "lots", "first_name": "Ada"}
    failed = _failure(contact_us_form, submitted)
    assert [e.field for e in failed.errors] == ["email", "phone", "employees"]
    assert all(e.code == "invalid" for e in failed.errors)
    assert failed.message == "3 fields are invalid"
    assert failed.errors[1].message.startswith("phone ")


def test_missing_required_field_is_named_as_required(contact_us_form):
    failed = _failure(contact_us_form, {"first_name": "Ada"})
    assert [(e.field, e.code) for e in failed.errors] == [("email", "required")]
    assert failed.message == "email is required"
    assert failed.field == "email"


def test_missing_and_invalid_fields_are_reported_together(contact_us_form):
    failed = _failure(contact_us_form, {"email": "   ", "employees": "1.5", "country": "GB", "phone": "12"})
    assert {(e.field, e.code) for e in failed.errors} == {
        ("email", "required"),
        ("phone", "invalid"),
        ("employees", "invalid"),
    }


def test_text_longer_than_the_fields_limit_is_named(contact_us):
    contact_us["fields"]["first_name"]["max_length"] = 3
    form = FormDefinition.model_validate(contact_us)
    failed = _failure(form, {"email": "a@example.org", "first_name": "Augusta"})
    assert [e.field for e in failed.errors] == ["first_name"]
    assert "longer than 3" in failed.errors[0].message


def test_a_field_posted_twice_keeps_its_last_value(contact_us_form):
    submitted = {"email": ["old@example.org", "New@Example.org"], "topic": ["Support", "Pricing"]}
    capture = capture_from_submission(FORM_ID, contact_us_form, submitted)
    assert capture.email == "new@example.org"
    assert capture.lead["topic"] == "Pricing"


def test_an_empty_list_is_an_empty_value(contact_us_form):
    failed = _failure(contact_us_form, {"email": []})
    assert [(e.field, e.code) for e in failed.errors] == [("email", "required")]


@pytest.mark.parametrize("ticked", ["on", "true", "yes", "1", ["", "on"]])
def test_ticked_consent_box_raises_consent_to_its_level(contact_us_form, ticked):
    capture = capture_from_submission(
        FORM_ID, contact_us_form, {"email": "a@example.org", "newsletter": ticked}
    )
    assert capture.consent == "marketing"


@pytest.mark.parametrize("submitted", [{}, {"newsletter": ""}, {"newsletter": "off"}, {"newsletter": "no"}])
def test_unticked_consent_box_leaves_consent_on_submit(contact_us_form, submitted):
    capture = capture_from_submission(FORM_ID, contact_us_form, {"email": "a@example.org", **submitted})
    assert capture.consent == "consent_given"


def test_consent_box_below_consent_on_submit_does_not_lower_it(contact_us):
    contact_us["consent_on_submit"] = "subscriptions"
    contact_us["fields"]["newsletter"]["level"] = "transactional"
    form = FormDefinition.model_validate(contact_us)
    capture = capture_from_submission(FORM_ID, form, {"email": "a@example.org", "newsletter": "on"})
    assert capture.consent == "subscriptions"


def test_consent_box_with_garbage_is_named(contact_us_form):
    failed = _failure(contact_us_form, {"email": "a@example.org", "newsletter": "perhaps"})
    assert [e.field for e in failed.errors] == ["newsletter"]


@pytest.mark.parametrize("submitted", [{}, {"newsletter": "off"}])
def test_required_consent_box_must_be_ticked(contact_us, submitted):
    contact_us["fields"]["newsletter"]["required"] = True
    form = FormDefinition.model_validate(contact_us)
    failed = _failure(form, {"email": "a@example.org", **submitted})
    assert [(e.field, e.code) for e in failed.errors] == [("newsletter", "required")]


def test_country_field_is_the_region_for_a_local_phone(contact_us_form):
    submitted = {"email": "a@example.org", "country": "gb", "phone": "020 7946 0958"}
    capture = capture_from_submission(FORM_ID, contact_us_form, submitted)
    assert capture.contact["phone"] == "+442079460958"
    assert capture.contact["country"] == "gb"


@pytest.mark.parametrize("country", [None, "United Kingdom", "G1"])
def test_local_phone_without_a_two_letter_country_is_named(contact_us_form, country):
    submitted = {"email": "a@example.org", "country": country, "phone": "020 7946 0958"}
    failed = _failure(contact_us_form, submitted)
    assert [e.field for e in failed.errors] == ["phone"]


def test_forms_phone_region_reads_local_phones(contact_us):
    contact_us["phone_region"] = "GB"
    form = FormDefinition.model_validate(contact_us)
    capture = capture_from_submission(FORM_ID, form, {"email": "a@example.org", "phone": "020 7946 0958"})
    assert capture.contact["phone"] == "+442079460958"


def test_forms_phone_region_wins_over_the_country_field(contact_us):
    contact_us["phone_region"] = "GB"
    form = FormDefinition.model_validate(contact_us)
    submitted = {"email": "a@example.org", "country": "US", "phone": "020 7946 0958"}
    assert capture_from_submission(FORM_ID, form, submitted).contact["phone"] == "+442079460958"


def test_declared_type_overrides_the_standard_one(contact_us):
    contact_us["fields"]["signup"] = {"maps_to": "contact.signed_up_on", "type": "date"}
    form = FormDefinition.model_validate(contact_us)
    submitted = {"email": "a@example.org", "signup": "2026-11-24T09:00:00Z"}
    assert capture_from_submission(FORM_ID, form, submitted).contact["signed_up_on"] == "2026-11-24"


def test_json_numbers_are_accepted_for_integer_fields(contact_us_form, sample_submissions):
    capture = capture_from_submission(FORM_ID, contact_us_form, sample_submissions[1])
    assert capture.account == {"name": "COBOL Systems", "employees": 1200}
    assert capture.consent == "consent_given"


def test_submission_leaves_its_input_unchanged(contact_us_form, sample_submissions):
    submitted = sample_submissions[0]
    before = dict(submitted)
    capture_from_submission(FORM_ID, contact_us_form, submitted)
    assert submitted == before


def test_submission_without_email_is_refused_even_when_the_email_field_is_optional(contact_us):
    contact_us["fields"]["email"]["required"] = False
    form = FormDefinition.model_validate(contact_us)
    failed = _failure(form, {"first_name": "Bob"})
    assert "email" in {e.field for e in failed.errors}


@pytest.mark.parametrize("kind", ["string", "integer"])
def test_contact_email_field_cannot_be_given_another_type(kind):
    import json
    from pathlib import Path

    from pydantic import ValidationError

    definition = json.loads((Path(__file__).parents[2] / "events/http/form_contact_us.json").read_text())
    definition["fields"]["email"]["type"] = kind
    with pytest.raises(ValidationError, match="only be email"):
        FormDefinition.model_validate(definition)
