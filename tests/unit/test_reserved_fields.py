"""Custom fields cannot shadow what Leadflow itself keeps (ids, owner, score, consent, marketing_only,
the lifecycle): no form, webhook source, LinkedIn mapping, import or API capture may write them, and a
condition on such a path reads the real attribute, never a custom field stored under its name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.capture import capture_from_api
from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.fields import RESERVED_FIELDS
from chalicelib.domain.forms import parse_form
from chalicelib.domain.rules import Compiler, Facts
from chalicelib.integrations import csv_import

SHADOWS = [
    "contact.marketing_only",
    "contact.consent",
    "contact.contact_id",
    "contact.account_id",
    "lead.owner",
    "lead.score",
    "lead.grade",
    "lead.lead_id",
    "lead.contact_id",
    "lead.form_id",
    "lead.state",
    "account.account_id",
]
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_the_reserved_names_cover_ids_owner_score_consent_and_marketing_only():
    assert set(SHADOWS) <= RESERVED_FIELDS


@pytest.mark.parametrize("path", SHADOWS)
def test_a_form_definition_cannot_map_onto_a_reserved_name(path: str):
    body = {"name": "F", "fields": {"email": {"maps_to": "contact.email"}, "x": {"maps_to": path}}}
    with pytest.raises(ValidationFailed) as refused:
        parse_form(body)
    assert refused.value.errors[0].field == "fields.x.maps_to"
    assert "reserved" in refused.value.errors[0].message or "managed" in refused.value.errors[0].message


@pytest.mark.parametrize("path", SHADOWS)
def test_an_api_capture_cannot_set_a_reserved_name(path: str):
    entity, name = path.split(".")
    body: dict[str, Any] = {"contact": {"email": "ada@example.org"}}
    body.setdefault(entity, {})[name] = "x"
    with pytest.raises(ValidationFailed) as refused:
        capture_from_api(body)
    assert path in [e.field for e in refused.value.errors]


@pytest.mark.parametrize("path", SHADOWS)
def test_an_import_column_cannot_map_onto_a_reserved_name(path: str):
    mapping = csv_import.parse_mapping({"columns": {"Email": "contact.email", "X": path}})
    with pytest.raises(ValidationFailed) as refused:
        csv_import.resolve(["Email", "X"], mapping)
    assert refused.value.errors[0].field == "columns.X"


def test_an_unmapped_column_named_like_a_reserved_field_gets_another_name():
    mapping = csv_import.parse_mapping({"columns": {"Email": "contact.email"}, "unmapped": "custom"})
    resolved = csv_import.resolve(["Email", "Marketing Only", "Consent"], mapping)
    targets = set(resolved.mapped.values())
    assert "contact.marketing_only" not in targets and "contact.consent" not in targets, targets
    assert not targets & RESERVED_FIELDS, targets


def _facts(contact_fields: dict[str, Any], lead_fields: dict[str, Any]) -> Facts:
    contact = Contact(
        "c_real", "ada@example.org", contact_fields, NOW, NOW, marketing_only=True, consent="marketing"
    )
    lead = Lead("l_real", "c_real", lead_fields, NOW, NOW, owner="rep-1")
    return Facts(lead, contact, None, [], NOW)


@pytest.mark.parametrize(
    ("path", "real"),
    [
        ("contact.marketing_only", True),
        ("contact.consent", "marketing"),
        ("contact.contact_id", "c_real"),
        ("lead.owner", "rep-1"),
        ("lead.lead_id", "l_real"),
        ("lead.contact_id", "c_real"),
    ],
)
def test_conditions_read_the_real_attribute_not_a_custom_field_of_that_name(path: str, real: Any):
    entity, name = path.split(".")
    stored = {name: "forged"}  # written before names were reserved, or by hand
    facts = _facts(stored if entity == "contact" else {}, stored if entity == "lead" else {})
    compiler = Compiler()
    holds = compiler.condition({"field": path, "op": "eq", "value": real}, "when")
    forged = compiler.condition({"field": path, "op": "eq", "value": "forged"}, "when")
    assert holds is not None and forged is not None
    assert holds.test(facts)[0] and not forged.test(facts)[0]
