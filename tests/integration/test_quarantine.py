"""Quarantine is reviewable (issue 15, item 1): suspected spam is listed, inspected and released; a
release captures the lead as if the submission had been accepted, once however often it is asked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json

ADA = {**load_event("http/form_submissions.json")[0], "email": "ada.quarantined@analytical-engines.co.uk"}


@pytest.fixture
def form(client: Any, admin_key: str) -> None:
    definition = {**load_event("http/form_contact_us.json"), "min_fill_ms": 1500}
    assert put_json(client, f"/v1/forms/{FORM}", definition, admin_key).status_code == 201


def quarantine(client: Any, body: dict[str, Any]) -> str:
    answer = post_json(client, f"/v1/forms/{FORM}/submissions", body)  # no Origin: not from a page
    assert answer.status_code == 202, answer.json_body
    return str(answer.json_body["submission_id"])


def test_quarantined_submissions_are_listed_and_inspected_by_an_admin(
    client: Any, form: None, admin_key: str
):
    fast = quarantine(client, {**ADA, "_fill_ms": "3"})
    honeypot = quarantine(client, {**ADA, "email": "bot@spam.example.net", "website": "http://spam"})
    listed = get(client, "/v1/quarantine", admin_key)
    assert listed.status_code == 200
    items = {item["quarantine_id"]: item for item in listed.json_body["quarantined"]}
    assert set(items) == {fast, honeypot}
    assert items[fast]["reason"] == "too_fast" and items[fast]["signals"] == ["too_fast", "no_browser_origin"]
    assert items[fast]["form_id"] == FORM and items[fast]["state"] == "held"
    assert items[fast]["email"] == ADA["email"], "enough to recognise a person at a glance"
    assert items[honeypot]["reason"] == "honeypot"
    only_honeypots = get(client, "/v1/quarantine?reason=honeypot", admin_key).json_body["quarantined"]
    assert [i["quarantine_id"] for i in only_honeypots] == [honeypot]
    shown = get(client, f"/v1/quarantine/{fast}", admin_key).json_body
    assert shown["payload"]["email"] == ADA["email"] and shown["payload"]["first_name"] == "Ada"


def test_releasing_captures_the_lead_as_if_accepted_and_only_once(
    client: Any, form: None, admin_key: str, deps: Any
):
    held = quarantine(client, {**ADA, "_fill_ms": "3"})
    assert deps.store.contact_by_email(ADA["email"]) is None

    released = post_json(client, f"/v1/quarantine/{held}/release", {}, {"X-Api-Key": admin_key})
    again = post_json(client, f"/v1/quarantine/{held}/release", {}, {"X-Api-Key": admin_key})

    assert released.status_code == 201, released.json_body
    assert released.json_body["lead_created"] is True and released.json_body["quarantine_id"] == held
    assert again.status_code == 200 and again.json_body["lead_id"] == released.json_body["lead_id"]
    contact = deps.store.contact_by_email(ADA["email"])
    assert contact is not None and contact.lead_ids == [released.json_body["lead_id"]]
    lead = get(client, f"/v1/leads/{contact.lead_ids[0]}", admin_key).json_body
    assert lead["topic"] == "Pricing" and lead["source"] == "landing_page"
    assert lead["contact"]["consent"] == "marketing", "the form's consent mapping, as for any submission"
    [interaction] = list(deps.store.interactions_of(contact.contact_id))
    assert interaction.type == "form_submitted" and interaction.properties["released_from"] == held
    shown = get(client, f"/v1/quarantine/{held}", admin_key).json_body
    assert shown["state"] == "released" and shown["lead_id"] == released.json_body["lead_id"]


def test_release_needs_an_admin_key_and_an_existing_record(
    client: Any, form: None, deps: Any, admin_key: str
):
    from chalicelib.services.access import create_key

    held = quarantine(client, {**ADA, "_fill_ms": "3"})
    sales, _ = create_key("sales", ["sales"], deps.store)
    assert post_json(client, f"/v1/quarantine/{held}/release", {}, {"X-Api-Key": sales}).status_code == 403
    assert get(client, "/v1/quarantine", sales).status_code == 403
    assert client.http.get("/v1/quarantine").status_code == 401
    missing = post_json(client, "/v1/quarantine/q_nope/release", {}, {"X-Api-Key": admin_key})
    assert missing.status_code == 404
    assert json.dumps(get(client, "/v1/quarantine", admin_key).json_body).count(held) == 1
