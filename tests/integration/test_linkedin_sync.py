"""LinkedIn Lead Sync end to end on moto, with a fake LinkedIn API on a local HTTP server: the
challenge, signed notifications, the worker fetching and capturing responses, LinkedIn's failures
(500, 429, timeouts) delaying a lead but never losing it, deletions erasing it, duplicates ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import load_event
from tests.integration.helpers import get, put_json

CLIENT_SECRET = "li-client-secret-for-tests"
TOKEN = "AQV-token-for-tests"
CREATED = load_event("webhooks/linkedin_lead_created.json")
RESPONSE = load_event("webhooks/linkedin_form_response.json")
RESPONSE_ID = RESPONSE["id"]
FORM_URN = "urn:li:leadGenForm:7234246"
MAPPING = {
    "name": "LinkedIn: logistics whitepaper",
    "topic": "Whitepaper",
    "fields": {
        "107234246": {"maps_to": "contact.first_name"},
        "207234246": {"maps_to": "contact.last_name"},
        "307234246": {"maps_to": "contact.email", "required": True},
        "407234246": {"maps_to": "account.name"},
        "507234246": {"maps_to": "contact.job_title"},
        "consent_1": {"maps_to": "consent", "level": "marketing"},
    },
}


@pytest.fixture
def linkedin(aws: Any, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    from chalicelib import wiring

    monkeypatch.setenv("LINKEDIN_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("LINKEDIN_API_URL", httpserver.url_for("/rest"))
    monkeypatch.setenv("LINKEDIN_TIMEOUT_SECONDS", "0.5")
    wiring.reset()
    yield httpserver
    wiring.reset()


@pytest.fixture
def mapped(client: Any, admin_key: str, linkedin: HTTPServer) -> None:
    response = put_json(client, f"/v1/integrations/linkedin/forms/{FORM_URN}", MAPPING, admin_key)
    assert response.status_code == 201, response.json_body


def signed(body: bytes) -> str:
    return hmac.new(CLIENT_SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def notify(client: Any, notification: dict[str, Any], signature: str | None = None) -> Any:
    body = json.dumps(notification).encode()
    headers = {"Content-Type": "application/json", "X-LI-Signature": signature or signed(body)}
    return client.http.post("/v1/webhooks/linkedin", headers=headers, body=body)


def respond(server: HTTPServer, *answers: tuple[int, Any]) -> None:
    path = f"/rest/leadFormResponses/{RESPONSE_ID}"
    for status, body in answers:
        server.expect_ordered_request(path, method="GET").respond_with_json(body, status=status)


def queued(deps: Any) -> list[dict[str, Any]]:
    sqs = deps.linkedin_queue._sqs()
    url = deps.settings.linkedin_queue_url
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    for message in messages:  # taken, as the worker's event source would
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def people(email: str) -> list[Any]:
    from chalicelib.store.records import ContactRecord

    return [c for c in ContactRecord.scan() if c.email == email]


def test_challenge_is_answered_with_the_hmac_of_the_code(client: Any, linkedin: HTTPServer):
    response = client.http.get("/v1/webhooks/linkedin?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0")

    assert response.status_code == 200
    expected = hmac.new(CLIENT_SECRET.encode(), b"890e4665-4dfe-4ab1-b689-ed553bceeed0", hashlib.sha256)
    assert response.json_body == {
        "challengeCode": "890e4665-4dfe-4ab1-b689-ed553bceeed0",
        "challengeResponse": expected.hexdigest(),
    }
    missing = client.http.get("/v1/webhooks/linkedin")
    assert missing.status_code == 422 and missing.json_body["error"]["field"] == "challengeCode"


def test_notification_with_a_bad_or_missing_signature_is_401_and_queues_nothing(
    client: Any, linkedin: HTTPServer, deps: Any
):
    body = json.dumps(CREATED).encode()
    wrong = hmac.new(b"another secret", b"hmacsha256=" + body, hashlib.sha256).hexdigest()

    assert notify(client, CREATED, signature=wrong).status_code == 401
    unsigned = client.http.post(
        "/v1/webhooks/linkedin", headers={"Content-Type": "application/json"}, body=body
    )
    assert unsigned.status_code == 401 and unsigned.json_body["error"]["field"] == "X-LI-Signature"
    assert queued(deps) == []


def test_both_readings_of_the_documented_signature_are_accepted(client: Any, linkedin: HTTPServer, deps: Any):
    other = {**CREATED, "leadGenFormResponse": "urn:li:leadGenFormResponse:another-response-1"}
    assert notify(client, CREATED).status_code == 200  # hex(HMAC(secret, "hmacsha256=" + body))
    body = json.dumps(other).encode()
    prefixed_digest = "hmacsha256=" + hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (
        notify(client, other, signature=prefixed_digest).status_code == 200
    )  # "hmacsha256=" + hex(HMAC(body))
    assert len(queued(deps)) == 2


def test_a_replayed_notification_queues_no_work_again(client: Any, linkedin: HTTPServer, deps: Any):
    first = notify(client, CREATED)
    replays = [notify(client, CREATED) for _ in range(5)]
    assert first.status_code == 200 and first.json_body["accepted"] is True
    assert all(r.status_code == 200 and r.json_body.get("duplicate") is True for r in replays)
    assert len(queued(deps)) == 1, "one piece of work however often it comes"
    deleted = {**CREATED, "leadAction": "DELETED"}
    assert notify(client, deleted).status_code == 200
    assert [m["action"] for m in queued(deps)] == ["DELETED"], "a deletion is its own notification"


def test_created_lead_is_fetched_mapped_and_captured_once(
    client: Any, mapped: None, linkedin: HTTPServer, pump: Any, admin_key: str, deps: Any
):
    respond(linkedin, (200, RESPONSE))

    assert notify(client, CREATED).status_code == 200
    assert notify(client, CREATED).status_code == 200  # LinkedIn delivers again
    pump.drain()

    [contact] = people("amira.haddad@example.com")
    assert contact.fields["first_name"] == "Amira" and contact.fields["job_title"] == "Head of Operations"
    assert contact.consent == "marketing"
    [lead_id] = contact.lead_ids
    lead = get(client, f"/v1/leads/{lead_id}", admin_key).json_body
    assert lead["source"] == "linkedin" and lead["topic"] == "Whitepaper"
    assert lead["account"]["name"] == "Northwind Logistics"
    [interaction] = list(deps.store.interactions_of(contact.contact_id))
    assert interaction.type == "form_submitted" and interaction.source == f"linkedin:{FORM_URN}"
    assert interaction.properties["response_id"] == RESPONSE_ID
    assert interaction.properties["consents"] == {"1": True}
    assert len(linkedin.log) == 1, "the second notification found the receipt and did not fetch again"
    headers = linkedin.log[0][0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["X-Restli-Protocol-Version"] == "2.0.0"


def test_test_leads_are_flagged(client: Any, mapped: None, linkedin: HTTPServer, pump: Any, admin_key: str):
    respond(linkedin, (200, {**RESPONSE, "testLead": True}))

    notify(client, CREATED)
    pump.drain()

    [contact] = people("amira.haddad@example.com")
    lead = get(client, f"/v1/leads/{contact.lead_ids[0]}", admin_key).json_body
    assert lead["fields"]["test_lead"] is True


def test_linkedin_failures_delay_the_lead_and_it_is_captured_when_linkedin_recovers(
    client: Any, mapped: None, linkedin: HTTPServer, deps: Any
):
    from app import linkedin_leads
    from leadflow_local.pump import LambdaContext

    respond(linkedin, (500, {}), (429, {}), (503, {}))  # the client's three attempts, all refused
    notify(client, CREATED)
    [message] = queued(deps)

    def run(body: dict[str, Any]) -> dict[str, Any]:
        event = {
            "Records": [
                {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(body), "eventSource": "aws:sqs"}
            ]
        }
        return dict(linkedin_leads(event, LambdaContext("linkedin_leads")))

    assert run(message) == {"batchItemFailures": []}  # handled: the notification was deferred
    assert people("amira.haddad@example.com") == []
    [deferred] = _wait_for_deferred(deps)
    assert deferred == {**message, "deferrals": 1}

    respond(linkedin, (200, RESPONSE))
    assert run(deferred) == {"batchItemFailures": []}
    assert len(people("amira.haddad@example.com")) == 1


def _wait_for_deferred(deps: Any) -> list[dict[str, Any]]:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = queued(deps)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("the deferred notification never came back")


def test_a_timeout_is_retried_later_not_lost(client: Any, mapped: None, linkedin: HTTPServer, deps: Any):
    import time as clock

    from app import linkedin_leads
    from leadflow_local.pump import LambdaContext

    def slow(_request: Any) -> Any:
        clock.sleep(1.0)  # longer than LINKEDIN_TIMEOUT_SECONDS
        from werkzeug import Response

        return Response(json.dumps(RESPONSE), content_type="application/json")

    linkedin.expect_request(f"/rest/leadFormResponses/{RESPONSE_ID}").respond_with_handler(slow)
    notify(client, CREATED)
    [message] = queued(deps)
    event = {
        "Records": [
            {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(message), "eventSource": "aws:sqs"}
        ]
    }

    assert linkedin_leads(event, LambdaContext("linkedin_leads")) == {"batchItemFailures": []}
    assert people("amira.haddad@example.com") == []
    assert [m["deferrals"] for m in _wait_for_deferred(deps)] == [1]


def test_without_a_question_mapping_the_notification_fails_so_the_queue_keeps_it(
    client: Any, linkedin: HTTPServer, deps: Any
):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from app import linkedin_leads
    from leadflow_local.pump import LambdaContext

    notify(client, CREATED)
    [message] = queued(deps)
    record = {"messageId": "m1", "receiptHandle": "r1", "body": json.dumps(message), "eventSource": "aws:sqs"}

    with pytest.raises(BatchProcessingError, match="no question mapping"):
        linkedin_leads({"Records": [record]}, LambdaContext("linkedin_leads"))  # retried, then dead-lettered
    assert linkedin.log == []


def test_deleted_response_erases_its_lead_interaction_and_contact_and_a_late_created_stores_nothing(
    client: Any, mapped: None, linkedin: HTTPServer, pump: Any, deps: Any
):
    from chalicelib.store.records import InteractionRecord, KeyRecord, LeadRecord

    respond(linkedin, (200, RESPONSE))
    notify(client, CREATED)
    pump.drain()
    [contact] = people("amira.haddad@example.com")

    notify(client, {**CREATED, "leadAction": "DELETED"})
    pump.drain()
    notify(client, CREATED)  # a late (or repeated) CREATED for the erased response
    notify(client, {**CREATED, "leadAction": "DELETED"})  # and the deletion again
    pump.drain()

    assert people("amira.haddad@example.com") == []
    assert [lead for lead in LeadRecord.scan() if lead.contact_id == contact.contact_id] == []
    assert list(InteractionRecord.query(contact.contact_id)) == []
    keys = {k.key: k for k in KeyRecord.scan()}
    assert "contact-email#amira.haddad@example.com" not in keys
    receipt = keys[f"receipt#linkedin#{RESPONSE_ID}"]
    assert json.loads(receipt.detail)["status"] == "erased"
    assert "amira" not in receipt.detail.lower(), "the receipt keeps no personal data"
    assert len(linkedin.log) == 1


def test_notifications_of_other_types_are_acknowledged_and_ignored(
    client: Any, linkedin: HTTPServer, deps: Any
):
    response = notify(client, {"type": "ORGANIZATION_SOCIAL_ACTION", "anything": 1})

    assert response.status_code == 200 and response.json_body["accepted"] is False
    assert queued(deps) == []


def test_signed_notification_of_the_wrong_shape_is_422_naming_the_field(
    client: Any, linkedin: HTTPServer, deps: Any
):
    response = notify(client, {**CREATED, "leadAction": "EXPLODED"})

    assert response.status_code == 422 and response.json_body["error"]["field"] == "leadAction"
    assert queued(deps) == []
