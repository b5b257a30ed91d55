"""``POST /v1/leads`` bodies become a Capture (chalicelib/domain/capture.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.domain.capture import Capture, capture_from_api, validate_lead_matching
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import InvalidValue


def _errors(body: dict[str, Any]) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as caught:
        capture_from_api(body)
    return caught.value.errors


def _fields_named(body: dict[str, Any]) -> list[str]:
    return [e.field for e in _errors(body)]


def test_minimal_body_is_a_capture_with_api_defaults():
    capture = capture_from_api({"contact": {"email": "Ada@Example.ORG"}})
    assert capture == Capture(
        contact={"email": "ada@example.org"},
        account={},
        lead={"source": "api"},
        consent=None,
        origin="api",
        lead_matching="new_lead_always",
        update_policy="overwrite",
    )


def test_api_lead_matching_defaults_to_new_lead_always():
    assert capture_from_api({"contact": {"email": "a@example.org"}}).lead_matching == "new_lead_always"


def test_api_lead_source_defaults_to_api():
    capture = capture_from_api({"contact": {"email": "a@example.org"}, "lead": {"topic": "Pricing"}})
    assert capture.lead == {"source": "api", "topic": "Pricing"}


def test_given_lead_source_replaces_the_default():
    capture = capture_from_api({"contact": {"email": "a@example.org"}, "lead": {"source": "webinar"}})
    assert capture.lead["source"] == "webinar"


def test_full_body_is_normalised_section_by_section():
    body = {
        "contact": {
            "email": " Grace@COBOL.example.org ",
            "first_name": "Grace",
            "phone": "+1 202 555 0143",
            "vip": True,
            "favourite_colour": "  blue ",
        },
        "account": {"name": "COBOL Systems", "employees": "1,200", "founded": 1959},
        "lead": {"topic": "Demo request", "budget": 2500.5},
        "consent": "marketing",
        "lead_matching": ["contact.email", "lead.topic"],
    }
    capture = capture_from_api(body)
    assert capture.contact == {
        "email": "grace@cobol.example.org",
        "first_name": "Grace",
        "phone": "+12025550143",
        "vip": True,
        "favourite_colour": "blue",
    }
    assert capture.account == {"name": "COBOL Systems", "employees": 1200, "founded": 1959}
    assert capture.lead == {"source": "api", "topic": "Demo request", "budget": 2500.5}
    assert capture.consent == "marketing"
    assert capture.lead_matching == ["contact.email", "lead.topic"]


def test_phone_region_reads_local_phones():
    body = {"contact": {"email": "a@example.org", "phone": "020 7946 0958"}, "phone_region": "GB"}
    assert capture_from_api(body).contact["phone"] == "+442079460958"


def test_unknown_top_level_properties_are_refused_each_by_name():
    body = {"contact": {"email": "a@example.org"}, "state": "qualified", "score": 100}
    errors = _errors(body)
    assert [(e.field, e.code) for e in errors] == [("score", "unknown_field"), ("state", "unknown_field")]


def test_contact_email_is_required():
    errors = _errors({"contact": {"first_name": "Ada"}})
    assert [(e.field, e.code) for e in errors] == [("contact.email", "required")]


@pytest.mark.parametrize("body", [{}, {"contact": None}, {"contact": {}}, {"contact": {"email": "  "}}])
def test_body_without_an_email_is_refused(body):
    assert _fields_named(body) == ["contact.email"]


def test_invalid_email_is_named_once_not_also_as_missing():
    errors = _errors({"contact": {"email": "not-an-email"}})
    assert [(e.field, e.code) for e in errors] == [("contact.email", "invalid")]
    assert errors[0].message.startswith("contact.email is not a valid email address")


@pytest.mark.parametrize("section", ["contact", "account", "lead"])
def test_section_that_is_not_an_object_is_refused(section):
    body = {"contact": {"email": "a@example.org"}, section: ["not", "an", "object"]}
    assert section in _fields_named(body)


@pytest.mark.parametrize("managed", ["state", "status"])
def test_lead_state_and_status_are_managed_and_refused(managed):
    errors = _errors({"contact": {"email": "a@example.org"}, "lead": {managed: "qualified"}})
    assert [e.field for e in errors] == [f"lead.{managed}"]
    assert "managed" in errors[0].message


@pytest.mark.parametrize("name", ["Bad Name", "Email", "1st", "x.y"])
def test_custom_field_with_an_unusable_name_is_refused(name):
    assert _fields_named({"contact": {"email": "a@example.org", name: "x"}}) == [f"contact.{name}"]


@pytest.mark.parametrize("value", [{"nested": 1}, ["a", "b"]])
def test_non_scalar_field_value_is_refused(value):
    assert _fields_named({"contact": {"email": "a@example.org", "city": value}}) == ["contact.city"]


def test_non_integer_employees_is_refused():
    assert _fields_named({"contact": {"email": "a@example.org"}, "account": {"employees": "many"}}) == [
        "account.employees"
    ]


def test_non_finite_number_is_refused():
    assert _fields_named({"contact": {"email": "a@example.org"}, "lead": {"budget": float("inf")}}) == [
        "lead.budget"
    ]


@pytest.mark.parametrize("consent", ["everything", "Marketing", 3, ["marketing"]])
def test_unknown_consent_level_is_refused(consent):
    errors = _errors({"contact": {"email": "a@example.org"}, "consent": consent})
    assert [e.field for e in errors] == ["consent"]
    assert "marketing" in errors[0].message


@pytest.mark.parametrize(
    "level", ["none", "consent_given", "transactional", "subscriptions", "marketing", "profiling"]
)
def test_every_known_consent_level_is_accepted(level):
    assert capture_from_api({"contact": {"email": "a@example.org"}, "consent": level}).consent == level


@pytest.mark.parametrize("matching", [[], ["lead.Topic"], "sometimes", [42]])
def test_bad_lead_matching_is_refused(matching):
    assert _fields_named({"contact": {"email": "a@example.org"}, "lead_matching": matching}) == [
        "lead_matching"
    ]


def test_every_problem_in_a_body_is_reported_at_once():
    body = {
        "contact": {"email": "nope", "phone": "123"},
        "lead": {"state": "open"},
        "consent": "all",
        "lead_matching": "sometimes",
        "owner": "me",
    }
    errors = _errors(body)
    assert [e.field for e in errors] == [
        "owner",
        "contact.email",
        "contact.phone",
        "lead.state",
        "consent",
        "lead_matching",
    ]
    with pytest.raises(ValidationFailed, match="6 fields are invalid"):
        capture_from_api(body)


def test_capture_email_is_none_unless_text():
    assert Capture(contact={"email": 42}).email is None
    assert Capture(contact={}).email is None


def test_capture_defaults_match_the_form_defaults():
    capture = Capture(contact={"email": "a@example.org"})
    assert capture.origin == "api"
    assert capture.lead_matching == ["contact.email", "lead.topic"]


def test_validate_lead_matching_returns_a_copy():
    paths = ["contact.email"]
    result = validate_lead_matching(paths)
    assert result == paths
    assert result is not paths


def test_validate_lead_matching_names_a_bad_path():
    with pytest.raises(InvalidValue, match=re.escape("'contact.Email' is not a field path")):
        validate_lead_matching(["contact.Email"])
