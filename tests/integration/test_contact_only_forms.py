"""Contact-only forms (issue 18, item 5): a newsletter sign-up (``"creates_lead": false``) creates or
updates a contact and its consent, never a lead, on moto through the public route a landing page
posts to, as a careless visitor and an attacker would use it: replays, autofill over a known person,
consent after a withdrawal, double opt-in, another person's address posted again and again."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, post_json, put_json

NEWSLETTER: dict[str, Any] = {
    "name": "Newsletter",
    "source": "newsletter",
    "campaign": "winter-2026",
    "creates_lead": False,
    "fields": {
        "email": {"maps_to": "contact.email", "required": True},
        "first_name": {"maps_to": "contact.first_name"},
        "company": {"maps_to": "account.name"},
        "news": {"maps_to": "consent", "level": "marketing"},
    },
    "allowed_origins": ["https://www.example.com"],
    "honeypot_field": "website",
}
PAGE = {"Origin": "https://www.example.com"}
ADA = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}  # consent: marketing


def put_form(client: Any, key: str, form_id: str, body: dict[str, Any]) -> None:
    answer = put_json(client, f"/v1/forms/{form_id}", body, key)
    assert answer.status_code in (200, 201), answer.json_body


def visit(client: Any, form_id: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """What a landing page's visitor posts (no key): the answer is ``{submission_id, status}`` only."""
    return post_json(client, f"/v1/forms/{form_id}/submissions", body, {**PAGE, **(headers or {})})


def ses_sent() -> list[Any]:
    from moto.backends import get_backend

    return list(get_backend("ses")["123456789012"]["us-east-1"].sent_messages)


def by_email(deps: Any, email: str) -> Any:
    return deps.store.contact_by_email(email)


def form_submissions(deps: Any, contact_id: str) -> list[Any]:
    return [i for i in deps.store.interactions_of(contact_id) if i.type == "form_submitted"]


def test_a_newsletter_sign_up_makes_a_marketing_only_contact_with_its_consent_and_no_lead(
    client: Any, admin_key: str, deps: Any
):
    put_form(client, admin_key, "newsletter", NEWSLETTER)
    answer = visit(
        client, "newsletter", {"email": "New.Reader@Example.org", "first_name": "Nell", "news": "on"}
    )
    assert answer.status_code == 201
    assert set(answer.json_body) == {"submission_id", "status"} and answer.json_body["status"] == "accepted"
    contact = by_email(deps, "new.reader@example.org")
    assert contact is not None and contact.lead_ids == [] and contact.marketing_only is True
    assert contact.consent == "marketing" and contact.fields["first_name"] == "Nell"
    [submitted] = form_submissions(deps, contact.contact_id)
    assert submitted.lead_id is None
    assert submitted.properties == {"form_id": "newsletter", "campaign": "winter-2026"}
    keyed = post_json(
        client, "/v1/forms/newsletter/submissions", {"email": "other@example.org"}, {"X-Api-Key": admin_key}
    )
    assert keyed.status_code == 201 and keyed.json_body["lead_id"] is None
    assert keyed.json_body["contact_created"] is True


def test_a_known_persons_sign_up_fills_only_what_is_empty_and_leaves_their_leads_alone(
    client: Any, admin_key: str, deps: Any
):
    put_form(client, admin_key, FORM, load_event("http/form_contact_us.json"))
    made = post_json(client, f"/v1/forms/{FORM}/submissions", ADA, {"X-Api-Key": admin_key}).json_body
    before = deps.store.get_lead(made["lead_id"])
    put_form(client, admin_key, "newsletter", NEWSLETTER)
    autofilled = {
        "email": ADA["email"].upper(),
        "first_name": "Mallory",
        "company": "Evil Corp",
        "news": "on",
    }
    assert visit(client, "newsletter", autofilled).status_code == 201
    contact = deps.store.get_contact(made["contact_id"])
    assert contact.fields["first_name"] == "Ada"  # an anonymous page does not rewrite a known person
    assert contact.lead_ids == [made["lead_id"]]
    assert deps.store.get_lead(made["lead_id"]) == before  # not a field, not a version touched
    assert len(form_submissions(deps, made["contact_id"])) == 2


def test_a_replayed_or_double_clicked_sign_up_is_one_submission(client: Any, admin_key: str, deps: Any):
    put_form(client, admin_key, "newsletter", NEWSLETTER)
    body = {"email": "twice@example.org", "news": "on"}
    first = visit(client, "newsletter", body)
    again = visit(client, "newsletter", body)  # a double click: the same fields
    assert first.json_body == again.json_body
    keyed = [visit(client, "newsletter", {**body, "first_name": n}, {"Idempotency-Key": "k1"}) for n in "AA"]
    assert keyed[0].json_body == keyed[1].json_body
    contact = by_email(deps, "twice@example.org")
    assert len(form_submissions(deps, contact.contact_id)) == 2  # the first post and the keyed one


def test_a_sign_up_never_raises_a_consent_the_person_withdrew(client: Any, admin_key: str, deps: Any):
    put_form(client, admin_key, "newsletter", NEWSLETTER)
    visit(client, "newsletter", {"email": "gone@example.org", "news": "on"})
    contact = by_email(deps, "gone@example.org")
    put_json(client, f"/v1/contacts/{contact.contact_id}/consent", {"level": "none"}, admin_key)
    assert visit(client, "newsletter", {"email": "gone@example.org", "news": "on"}).status_code == 201
    assert deps.store.get_contact(contact.contact_id).consent == "none"


def confirm_path(deps: Any, contact_id: str) -> str:
    from chalicelib.domain.email import MessageFilter

    [message] = deps.mail.list_messages(MessageFilter(contact_id=contact_id), 10, None).items
    match = re.search(r"http://[^\"]+(/t/k/[^\"]+)", message.html)
    assert match is not None
    return match.group(1)


@pytest.fixture
def double_opt_in(client: Any, admin_key: str) -> None:
    put_form(client, admin_key, "newsletter", {**NEWSLETTER, "double_opt_in": True})


def test_with_double_opt_in_the_sign_up_gives_no_consent_until_the_person_confirms(
    client: Any, deps: Any, double_opt_in: None
):
    sent_before = len(ses_sent())
    answer = visit(client, "newsletter", {"email": "careful@example.org", "news": "on"})
    assert answer.status_code == 201 and set(answer.json_body) == {"submission_id", "status"}
    contact = by_email(deps, "careful@example.org")
    assert contact.consent == "none"
    assert len(ses_sent()) == sent_before + 1
    path = confirm_path(deps, contact.contact_id)
    assert client.http.get(path).status_code == 200  # a mail scanner's GET changes nothing
    assert deps.store.get_contact(contact.contact_id).consent == "none"
    assert client.http.post(path).status_code == 200
    confirmed = deps.store.get_contact(contact.contact_id)
    assert confirmed.consent == "marketing"
    assert confirmed.consent_history[-1].source.startswith("double-opt-in:")


def test_someone_posting_another_persons_address_again_and_again_sends_one_confirmation(
    client: Any, deps: Any, double_opt_in: None
):
    sent_before = len(ses_sent())
    for n in range(5):  # different bodies: not replays, five real submissions
        visit(client, "newsletter", {"email": "victim@example.org", "first_name": f"x{n}", "news": "on"})
    assert len(ses_sent()) == sent_before + 1
    assert by_email(deps, "victim@example.org").consent == "none"


def test_a_person_who_unsubscribed_and_signs_up_again_gets_a_new_confirmation(
    client: Any, admin_key: str, deps: Any, double_opt_in: None
):
    visit(client, "newsletter", {"email": "back@example.org", "news": "on"})
    contact = by_email(deps, "back@example.org")
    client.http.post(confirm_path(deps, contact.contact_id))
    put_json(client, f"/v1/contacts/{contact.contact_id}/consent", {"level": "none"}, admin_key)
    sent_before = len(ses_sent())
    visit(client, "newsletter", {"email": "back@example.org", "news": "on", "first_name": "Back"})
    assert len(ses_sent()) == sent_before + 1
    assert deps.store.get_contact(contact.contact_id).consent == "none"  # until confirmed again


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": {**NEWSLETTER["fields"], "topic": {"maps_to": "lead.topic"}}}, "creates_lead"),
        ({"topic": "Newsletter"}, "creates_lead"),
    ],
)
def test_a_contact_only_form_that_sets_lead_fields_is_refused_on_save(
    client: Any, admin_key: str, change: dict[str, Any], field: str
):
    answer = put_json(client, "/v1/forms/bad-news", {**NEWSLETTER, **change}, admin_key)
    assert answer.status_code == 422
    assert field in answer.json_body["error"]["message"]
