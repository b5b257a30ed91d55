"""``GET /v1/messages`` without a contact (issue 18, increment 3): by journey, template and status, and
all of them newest first, each from a keyed query of the mail table's ``by_list`` index (never a
scan), paged with signed cursors that cannot be forged or moved to another list."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json
from tests.integration.test_mail import ADA, GRACE, TEMPLATE
from tests.integration.test_segments_by_score import aws_calls


@pytest.fixture
def outbox(client: Any, admin_key: str, deps: Any) -> dict[str, Any]:
    """Five messages: welcome to Ada (sent) and Grace (no consent), news to Ada by the API and by a
    journey's step, and a transactional receipt to Grace."""
    from chalicelib.services import mail

    assert put_json(
        client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key
    ).status_code
    people = {}
    for name, body in (("ada", ADA), ("grace", GRACE)):
        people[name] = post_json(
            client, f"/v1/forms/{FORM}/submissions", body, {"X-Api-Key": admin_key}
        ).json_body["contact_id"]
    for template in ("welcome", "news"):
        assert put_json(client, f"/v1/email-templates/{template}", TEMPLATE, admin_key).status_code == 201
    receipt = {**TEMPLATE, "consent": "consent_given"}
    assert put_json(client, "/v1/email-templates/receipt", receipt, admin_key).status_code == 201
    sent = {
        "welcome-ada": mail.send_template("welcome", people["ada"], "api:1", deps).message,
        "welcome-grace": mail.send_template("welcome", people["grace"], "api:2", deps).message,
        "news-ada": mail.send_template("news", people["ada"], "api:3", deps).message,
        "journey-ada": mail.send_template("news", people["ada"], "journey:spring:1:s1", deps).message,
        "receipt-grace": mail.send_template("receipt", people["grace"], "api:4", deps).message,
    }
    assert sent["welcome-grace"].status == "no_consent" and sent["news-ada"].status == "sent"
    return {name: m.message_id for name, m in sent.items()}


def every_page(client: Any, key: str, query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        answer = get(client, f"/v1/messages?{query}" + (f"&cursor={cursor}" if cursor else ""), key)
        assert answer.status_code == 200, answer.json_body
        pages.append([m["message_id"] for m in answer.json_body["items"]])
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["receipt-grace", "journey-ada", "news-ada", "welcome-grace", "welcome-ada"]),
        ("template_id=welcome", ["welcome-grace", "welcome-ada"]),
        ("template_id=news", ["journey-ada", "news-ada"]),
        ("journey_id=spring", ["journey-ada"]),
        ("status=no_consent", ["welcome-grace"]),
        ("status=sent", ["receipt-grace", "journey-ada", "news-ada", "welcome-ada"]),
        ("template_id=news&status=sent", ["journey-ada", "news-ada"]),
        ("journey_id=nobody", []),
    ],
)
def test_the_outbox_by_journey_template_or_status_comes_newest_first_without_a_scan(
    client: Any, admin_key: str, outbox: dict[str, str], query: str, names: list[str]
):
    want = [outbox[name] for name in names]
    with aws_calls() as made:
        pages = every_page(client, admin_key, f"{query}&limit=2")
    assert [m for page in pages for m in page] == want
    assert all(len(page) <= 2 for page in pages)
    assert not [call for call in made if call.startswith("Scan")], made
    assert every_page(client, admin_key, f"{query}&limit=100") == [want]


def test_a_forged_or_borrowed_cursor_is_refused_naming_the_cursor(
    client: Any, admin_key: str, outbox: dict[str, str]
):
    first = get(client, "/v1/messages?template_id=welcome&limit=1", admin_key).json_body
    borrowed = get(client, f"/v1/messages?template_id=news&limit=1&cursor={first['next_cursor']}", admin_key)
    assert borrowed.status_code == 422 and borrowed.json_body["error"]["field"] == "cursor"
    merged = get(client, "/v1/messages?limit=1", admin_key).json_body["next_cursor"]
    on_a_list = get(client, f"/v1/messages?status=sent&cursor={merged}", admin_key)
    assert on_a_list.status_code == 422 and on_a_list.json_body["error"]["field"] == "cursor"
    forged = (
        base64.urlsafe_b64encode(json.dumps({"sent": {"S": "x"}}).encode()).decode()
        + ".AAAAAAAAAAAAAAAAAAAAAA"
    )
    for cursor in (forged, "not-a-cursor", first["next_cursor"][:-2] + "AA"):
        answer = get(client, f"/v1/messages?cursor={cursor}", admin_key)
        assert answer.status_code == 422 and answer.json_body["error"]["field"] == "cursor", cursor
    unknown = get(client, "/v1/messages?status=delivered", admin_key)
    assert unknown.status_code == 422 and unknown.json_body["error"]["field"] == "status"


def test_an_erasure_removes_the_messages_listing_items_too(
    client: Any, admin_key: str, outbox: dict[str, str], deps: Any, aws: Any
):
    import boto3

    from chalicelib.store.records import MailRecord

    ada = deps.mail.get_message(outbox["news-ada"]).contact_id
    removed = deps.mail.forget_contact(ada)
    assert removed == 3
    table = MailRecord.Meta.table_name
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert not [i for i in items if i.get("contact_id", {}).get("S") == ada]
    assert get(client, "/v1/messages?journey_id=spring", admin_key).json_body["items"] == []


def test_messages_written_before_the_index_are_listed_after_the_backfill(
    client: Any, admin_key: str, outbox: dict[str, str]
):
    from chalicelib.store.backfill import backfill_message_listings
    from chalicelib.store.records import MailRecord

    pk = f"message#{outbox['journey-ada']}"
    for listing in MailRecord.query(pk, MailRecord.sk.startswith("list#")):
        listing.delete()
    MailRecord.get(pk, "message").update(actions=[MailRecord.list_key.remove()])  # as increment 1 wrote it
    assert get(client, "/v1/messages?journey_id=spring", admin_key).json_body["items"] == []
    assert backfill_message_listings() == 1
    assert backfill_message_listings() == 0, "a second run finds nothing to do"
    listed = get(client, "/v1/messages?journey_id=spring", admin_key).json_body["items"]
    assert [m["message_id"] for m in listed] == [outbox["journey-ada"]]
    every = every_page(client, admin_key, "limit=100")
    assert outbox["journey-ada"] in every[0]
