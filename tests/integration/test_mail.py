"""E-mail on moto (issue 18): templates, a send through SESv2 once per key, refusals, tracked links,
the open pixel and one-click unsubscribe, through the app's routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import load_event
from tests.integration.helpers import get, post_json, put_json, submit_people

ADA = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}  # consent: marketing
GRACE = load_event("http/form_submissions.json")[1]  # no newsletter: below marketing
TEMPLATE = {
    "subject": "Hello {{ contact.first_name | default('there') }}",
    "html": (
        "<html><body><p>Hi {{ contact.first_name }} from {{ account.name }}</p>"
        '<a data-link="pricing" href="https://example.com/pricing?a=1&amp;b=2">Pricing</a>'
        '<a href="https://example.com/demo">Demo</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
    ),
    "text": "Hi {{ contact.first_name | default('there') }}, see https://example.com/pricing",
}


def ses_sent() -> list[Any]:
    from moto.backends import get_backend

    return list(get_backend("ses")["123456789012"]["us-east-1"].sent_messages)


@pytest.fixture
def people(client: Any, admin_key: str) -> dict[str, str]:
    ids = submit_people(client, admin_key, {"ada": ADA, "grace": GRACE})
    assert put_json(client, "/v1/email-templates/welcome", TEMPLATE, admin_key).status_code == 201
    return ids


def send(client: Any, key: str, contact_id: str, idempotency_key: str, template: str = "welcome") -> Any:
    return post_json(
        client,
        f"/v1/email-templates/{template}/send",
        {"contact_id": contact_id},
        {"X-Api-Key": key, "Idempotency-Key": idempotency_key},
    )


def test_template_is_saved_in_versions_and_read_back(client: Any, admin_key: str) -> None:
    first = put_json(client, "/v1/email-templates/welcome", TEMPLATE, admin_key)
    assert first.status_code == 201 and first.json_body["version"] == 1
    second = put_json(client, "/v1/email-templates/welcome", {**TEMPLATE, "subject": "Hi"}, admin_key)
    assert second.status_code == 200 and second.json_body["version"] == 2
    assert get(client, "/v1/email-templates/welcome", admin_key).json_body["subject"] == "Hi"
    listed = get(client, "/v1/email-templates", admin_key).json_body["items"]
    assert [t["template_id"] for t in listed] == ["welcome"]


def test_template_that_does_not_parse_is_422_naming_part_and_line(client: Any, admin_key: str) -> None:
    bad = {**TEMPLATE, "html": "<p>ok</p>\n<p>{% if contact.first_name %}</p>"}
    answer = put_json(client, "/v1/email-templates/broken", bad, admin_key)
    assert answer.status_code == 422
    errors = (
        answer.json_body["error"]["fields"]
        if "fields" in answer.json_body["error"]
        else answer.json_body["error"]
    )
    assert "html" in str(errors) and "line 2" in str(errors)
    assert get(client, "/v1/email-templates/broken", admin_key).status_code == 404


def test_send_goes_through_ses_once_per_idempotency_key(
    client: Any, admin_key: str, people: dict[str, str]
) -> None:
    first = send(client, admin_key, people["ada"], "k-1")
    assert first.status_code == 201, first.body
    assert first.json_body["status"] == "sent" and first.json_body["ses_message_id"]
    again = send(client, admin_key, people["ada"], "k-1")
    assert again.status_code == 200
    assert again.json_body["message_id"] == first.json_body["message_id"]
    sent = ses_sent()
    assert len(sent) == 1
    assert sent[0].subject == "Hello Ada"
    assert "Analytical Engines" in sent[0].body and "/t/c/" in sent[0].body and "/t/o/" in sent[0].body
    assert "https://example.com/pricing" not in sent[0].body  # every link goes through the redirect
    listed = get(client, f"/v1/messages?contact_id={people['ada']}", admin_key).json_body["items"]
    assert [m["status"] for m in listed] == ["sent"]
    assert [link["name"] for link in listed[0]["links"]] == ["pricing", "link2"]


def test_no_email_below_the_templates_consent_and_the_refusal_is_recorded(
    client: Any, admin_key: str, people: dict[str, str]
) -> None:
    answer = send(client, admin_key, people["grace"], "k-2")
    assert answer.status_code == 201
    assert answer.json_body["status"] == "no_consent" and "marketing" in answer.json_body["reason"]
    assert ses_sent() == []


def test_send_to_an_unknown_contact_is_404_and_a_bad_body_is_422(
    client: Any, admin_key: str, people: dict[str, str]
) -> None:
    assert send(client, admin_key, "ct_nobody", "k-3").status_code == 404
    bad = post_json(client, "/v1/email-templates/welcome/send", {"contact": "x"}, {"X-Api-Key": admin_key})
    assert bad.status_code == 422 and "contact" in bad.body.decode()
    assert send(client, admin_key, people["ada"], "k-4", template="nope").status_code == 404


def test_suppressed_address_is_refused(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    from datetime import UTC, datetime

    deps.mail.suppress(ADA["email"].lower(), "bounce", datetime.now(UTC))
    answer = send(client, admin_key, people["ada"], "k-5")
    assert answer.json_body["status"] == "suppressed" and ses_sent() == []


def _path(url: str) -> str:
    return urlparse(url).path


def _tracked_links(deps: Any, message_id: str) -> dict[str, str]:
    import re

    html = deps.mail.get_message(message_id).html
    found: dict[str, str] = {}
    for match in re.finditer(r"http://[^\"]+/t/([cou])/[^\"]+", html):
        found.setdefault(match.group(1), _path(match.group(0)))  # the first of each kind
    return found


def test_tracked_link_records_the_click_and_redirects(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    message = send(client, admin_key, people["ada"], "k-6").json_body
    links = _tracked_links(deps, message["message_id"])
    answer = client.http.get(links["c"])
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://example.com/pricing?a=1&b=2"
    clicks = [i for i in deps.store.interactions_of(people["ada"]) if i.type == "email_clicked"]
    assert [c.properties["link"] for c in clicks] == ["pricing"]
    assert deps.mail.get_message(message["message_id"]).clicks == 1
    # what browsers and mail image proxies send; a binary answer needs an Accept that matches it
    pixel = client.http.get(links["o"], headers={"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})
    assert pixel.status_code == 200 and pixel.headers["Content-Type"] == "image/gif"
    assert "no-store" in pixel.headers["Cache-Control"]
    assert pixel.body[:6] == b"GIF89a"
    assert deps.mail.get_message(message["message_id"]).opens == 1
    opens = [i for i in deps.store.interactions_of(people["ada"]) if i.type == "email_opened"]
    assert len(opens) == 1


@pytest.mark.parametrize(
    "accept", ["image/avif,image/webp,image/*,*/*;q=0.8", "image/*", "text/html", "application/json", None]
)
def test_the_open_pixel_answers_a_gif_whatever_the_accept_header(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, accept: str | None
) -> None:
    message = send(client, admin_key, people["ada"], "k-pixel").json_body
    path = _tracked_links(deps, message["message_id"])["o"]
    pixel = client.http.get(path, headers={"Accept": accept} if accept else {})
    assert (pixel.status_code, pixel.headers["Content-Type"]) == (200, "image/gif"), pixel.body[:200]
    assert pixel.body[:6] == b"GIF89a"
    assert deps.mail.get_message(message["message_id"]).opens == 1


@pytest.mark.parametrize("mangle", ["forge", "truncate", "garbage"])
def test_forged_or_truncated_token_lands_on_the_neutral_page_and_records_nothing(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, mangle: str
) -> None:
    message = send(client, admin_key, people["ada"], "k-7").json_body
    path = _tracked_links(deps, message["message_id"])["c"]
    token = path.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    bad = {"forge": f"{payload}.{mac[:-2]}AA", "truncate": token[:-5], "garbage": "x" * 40}[mangle]
    answer = client.http.get(f"/t/c/{bad}")
    assert answer.status_code == 302 and answer.headers["Location"] == "../gone"
    assert [i for i in deps.store.interactions_of(people["ada"]) if i.type == "email_clicked"] == []
    assert client.http.get("/t/gone").status_code == 200


def _public_answer(client: Any, method: str, path: str) -> tuple[int, str, str, bytes]:
    """What a person's client sees: status, Location, Content-Type, and the page's title (or body)."""
    import re

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if method == "POST":
        answer = client.http.post(path, headers=form, body="List-Unsubscribe=One-Click")
    else:
        answer = client.http.get(path, headers={"Accept": "image/gif"} if "/t/o/" in path else {})
    title = re.search(rb"<title>(.*?)</title>", answer.body or b"")
    return (
        answer.status_code,
        answer.headers.get("Location", ""),
        answer.headers.get("Content-Type", "").split(";")[0],
        title.group(1) if title else (answer.body or b"")[:6],
    )


@pytest.mark.parametrize(
    ("method", "kind"), [("GET", "c"), ("GET", "o"), ("GET", "u"), ("POST", "u"), ("GET", "k"), ("POST", "k")]
)
@pytest.mark.parametrize("malformed", ["a" * 257, "a" * 4000, "abc%01def", "%C3%A9t%C3%A9.x"])
def test_a_malformed_token_gets_the_same_neutral_answer_as_a_forged_one(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, method: str, kind: str, malformed: str
) -> None:
    forged = _public_answer(client, method, f"/t/{kind}/{'x' * 40}")
    assert forged[0] in (200, 302), forged
    assert _public_answer(client, method, f"/t/{kind}/{malformed}") == forged
    interactions = deps.store.interactions_of(people["ada"])
    assert [i for i in interactions if i.type in ("email_clicked", "email_opened")] == []


def test_one_click_unsubscribe_lowers_consent_and_stops_marketing(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    message = send(client, admin_key, people["ada"], "k-8").json_body
    path = _tracked_links(deps, message["message_id"])["u"]
    page = client.http.get(path)
    assert page.status_code == 200 and b"Unsubscribe" in page.body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = client.http.post(path, headers=form, body="something=else")
    assert refused.status_code == 400 and b"List-Unsubscribe" in refused.body
    answer = client.http.post(path, headers=form, body="List-Unsubscribe=One-Click")
    assert answer.status_code == 200 and "Location" not in answer.headers
    contact = deps.store.get_contact(people["ada"])
    assert contact.consent == "subscriptions"
    assert contact.consent_history[-1].source.startswith("unsubscribe:")
    assert [i.type for i in deps.store.interactions_of(people["ada"])].count("email_unsubscribed") == 1
    assert send(client, admin_key, people["ada"], "k-9").json_body["status"] == "no_consent"


def test_bounce_and_complaint_events_suppress_and_a_send_event_reconciles(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    import json

    import boto3

    queue_url = (
        deps.settings.model_dump().get("mail_events_queue_url")
        or boto3.client("sqs").get_queue_url(QueueName="test-MailEventsQueue")["QueueUrl"]
    )
    bounce: dict[str, Any] = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": ADA["email"]}]},
        "mail": {"messageId": "ses-1", "tags": {}},
    }
    transient = {**bounce, "bounce": {**bounce["bounce"], "bounceType": "Transient"}}
    for event in (transient, bounce):
        boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
    pump.drain()
    assert deps.mail.suppression(ADA["email"]) == "bounce"
    assert send(client, admin_key, people["ada"], "k-b").json_body["status"] == "suppressed"


def test_double_opt_in_raises_consent_after_a_withdrawal(
    client: Any, admin_key: str, people: dict[str, str], deps: Any
) -> None:
    put_json(client, f"/v1/contacts/{people['ada']}/consent", {"level": "none"}, admin_key)
    asked = post_json(
        client,
        f"/v1/contacts/{people['ada']}/confirm-request",
        {"level": "marketing"},
        {"X-Api-Key": admin_key, "Idempotency-Key": "c-1"},
    )
    assert asked.status_code == 201 and asked.json_body["status"] == "sent", asked.body
    path = _tracked_links_k(deps, asked.json_body["message_id"])
    assert client.http.get(path).status_code == 200
    assert deps.store.get_contact(people["ada"]).consent == "none"  # a GET (a mail scanner) changes nothing
    assert client.http.post(path).status_code == 200
    contact = deps.store.get_contact(people["ada"])
    assert contact.consent == "marketing" and contact.consent_history[-1].source.startswith("double-opt-in:")
    assert client.http.get("/t/k/" + "A" * 30).headers["Location"] == "../gone"


def _tracked_links_k(deps: Any, message_id: str) -> str:
    import re

    match = re.search(r"http://[^\"]+(/t/k/[^\"]+)", deps.mail.get_message(message_id).html)
    assert match is not None
    return match.group(1)


def test_an_erasure_deletes_what_was_sent_to_the_person_and_the_send_is_then_refused(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("ERASURE_SETTLE_SECONDS", "0")
    wiring.reset()
    deps = wiring.deps()
    sent = send(client, admin_key, people["ada"], "k-e").json_body
    assert deps.mail.get_message(sent["message_id"]) is not None
    answer = client.http.delete(f"/v1/contacts/{people['ada']}", headers={"X-Api-Key": admin_key})
    assert answer.status_code == 202, answer.body
    pump.drain()  # both passes (ERASURE_SETTLE_SECONDS is 0 here)
    job = get(client, f"/v1/jobs/{answer.json_body['job_id']}", admin_key).json_body
    assert job["state"] == "done" and job["result"]["counts"]["email_messages"] == 1, job
    assert deps.mail.get_message(sent["message_id"]) is None
    assert get(client, f"/v1/messages?contact_id={people['ada']}", admin_key).json_body["items"] == []
    assert send(client, admin_key, people["ada"], "k-e2").status_code == 409
