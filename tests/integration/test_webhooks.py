"""Signed lead webhooks through the real routes, on moto (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature`` over ``id.timestamp.body``): authentic deliveries are
captured once; unsigned, mis-signed, stale, re-labelled and replayed ones are 401 and store nothing;
an unknown source looks exactly like a bad signature."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.conftest import load_event
from tests.integration.helpers import get, put_json

SOURCE = "typeform"
DELIVERY = load_event("webhooks/typeform_delivery.json")


@pytest.fixture
def secret(client: Any, admin_key: str) -> str:
    assert (
        put_json(
            client,
            f"/v1/integrations/webhooks/{SOURCE}",
            load_event("webhooks/typeform_source.json"),
            admin_key,
        ).status_code
        == 201
    )
    response = client.http.post(
        f"/v1/integrations/webhooks/{SOURCE}/secrets", headers={"X-Api-Key": admin_key}
    )
    assert response.status_code == 201
    return str(response.json_body["secret"])


def sign(secret: str, delivery: str, stamp: int, body: bytes) -> str:
    """What a sender using the Standard Webhooks reference library sends as ``webhook-signature``."""
    return Webhook(secret).sign(delivery, datetime.fromtimestamp(stamp, UTC), body)


def deliver(
    client: Any,
    secret: str,
    body: bytes,
    delivery: str = "d-1",
    timestamp: int | None = None,
    signature: str | None = None,
    source: str = SOURCE,
    signed_id: str | None = None,
) -> Any:
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = sign(secret, signed_id if signed_id is not None else delivery, stamp, body)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature if signature is not None else signed,
    }
    return client.http.post(f"/v1/webhooks/{source}", headers=headers, body=body)


def stored(deps: Any) -> tuple[int, int, int, list[str]]:
    from chalicelib.store.records import ContactRecord, InteractionRecord, KeyRecord, LeadRecord

    receipts = [k.key for k in KeyRecord.scan() if k.key.startswith("receipt#")]
    return (
        len(list(ContactRecord.scan())),
        len(list(LeadRecord.scan())),
        len(list(InteractionRecord.scan())),
        receipts,
    )


BODY = json.dumps(DELIVERY).encode()


def _all_contact_ids() -> list[str]:
    from chalicelib.store.records import ContactRecord

    return [c.contact_id for c in ContactRecord.scan()]


def test_the_secret_is_a_standard_webhooks_secret(secret: str):
    assert secret.startswith("whsec_")
    import base64

    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24


def test_changing_the_delivery_id_after_signing_is_401_and_stores_nothing(
    client: Any, secret: str, deps: Any
):
    response = deliver(client, secret, BODY, delivery="relabelled", signed_id="d-original")
    assert response.status_code == 401
    assert response.json_body["error"]["field"] == "webhook-signature"
    assert stored(deps) == (0, 0, 0, [])


def test_a_captured_delivery_resent_under_a_new_id_within_the_window_is_refused(
    client: Any, secret: str, deps: Any
):
    stamp = int(time.time()) - 60
    signature = sign(secret, "d-1", stamp, BODY)
    assert (
        deliver(client, secret, BODY, delivery="d-1", timestamp=stamp, signature=signature).status_code == 201
    )
    before = stored(deps)
    for new_id in ("d-2", "d-1 ", "D-1", "d-1.copy"):
        again = deliver(client, secret, BODY, delivery=new_id, timestamp=stamp, signature=signature)
        assert again.status_code == 401, new_id
    assert stored(deps) == before == (1, 1, 1, ["receipt#webhook#typeform#d-1"])


def test_signed_delivery_is_mapped_from_nested_json_and_captured(
    client: Any, secret: str, admin_key: str, deps: Any
):
    response = deliver(client, secret, BODY)

    assert response.status_code == 201, response.json_body
    assert response.json_body == {"delivery_id": "d-1", "status": "accepted"}, "no ids: no oracle"
    [contact_id] = [c.contact_id for c in deps.store.get_contacts(_all_contact_ids())]
    lead_id = deps.store.get_contact(contact_id).lead_ids[0]
    lead = get(client, f"/v1/leads/{lead_id}", admin_key).json_body
    assert lead["source"] == "typeform" and lead["topic"] == "Demo request"
    assert lead["contact"]["email"] == "lin.wei@harbour-freight.co.uk"
    assert lead["contact"]["fields"]["first_name"] == "Lin"
    assert lead["contact"]["consent"] == "marketing"
    assert lead["account"]["name"] == "Harbour Freight Ltd" and lead["account"]["fields"]["employees"] == 420
    [interaction] = list(deps.store.interactions_of(contact_id))
    assert interaction.type == "form_submitted" and interaction.properties["delivery_id"] == "d-1"
    assert interaction.source == "webhook:typeform"


def test_replayed_delivery_is_401_and_changes_nothing(client: Any, secret: str, deps: Any):
    first = deliver(client, secret, BODY)
    before = stored(deps)

    again = deliver(client, secret, BODY)  # freshly signed, same delivery id: a replay

    assert first.status_code == 201
    assert again.status_code == 401 and again.json_body["error"]["code"] == "replayed"
    assert again.json_body["error"]["field"] == "webhook-id"
    assert stored(deps) == before == (1, 1, 1, ["receipt#webhook#typeform#d-1"])


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("unsigned", "webhook-signature"),
        ("wrong secret", "webhook-signature"),
        ("body changed after signing", "webhook-signature"),
        ("stale timestamp", "webhook-timestamp"),
        ("timestamp from the future", "webhook-timestamp"),
        ("no delivery id", "webhook-id"),
    ],
)
def test_unauthentic_delivery_is_401_and_stores_nothing(
    client: Any, secret: str, deps: Any, case: str, field: str
):
    now = int(time.time())
    kwargs: dict[str, Any] = {}
    body = BODY
    if case == "unsigned":
        kwargs["signature"] = ""
    elif case == "wrong secret":
        kwargs["signature"] = sign("whsec_bm90LXRoZS1vbmUtYXQtYWxsLXJlYWxseQ==", "d-1", now, BODY)
    elif case == "body changed after signing":
        kwargs["signature"] = sign(secret, "d-1", now, BODY)
        body = BODY.replace(b"Lin", b"Eve")
    elif case == "stale timestamp":
        kwargs["timestamp"] = now - 301
    elif case == "timestamp from the future":
        kwargs["timestamp"] = now + 301
    elif case == "no delivery id":
        kwargs["delivery"] = ""

    response = deliver(client, secret, body, **kwargs)

    assert response.status_code == 401
    assert response.json_body["error"]["field"] == field
    assert secret not in json.dumps(response.json_body)
    assert stored(deps) == (0, 0, 0, [])


def test_any_changed_character_of_the_signature_is_401(client: Any, secret: str, deps: Any):
    now = int(time.time())
    good = sign(secret, "d-1", now, BODY).removeprefix("v1,")
    for position in range(0, len(good) - 1, 5):
        changed = "B" if good[position] == "A" else "A"
        bad = good[:position] + changed + good[position + 1 :]
        assert deliver(client, secret, BODY, timestamp=now, signature=f"v1,{bad}").status_code == 401
    assert stored(deps) == (0, 0, 0, [])


def test_two_secrets_are_active_during_rotation_and_a_retired_one_is_refused(
    client: Any, secret: str, admin_key: str
):
    path = f"/v1/integrations/webhooks/{SOURCE}/secrets"
    second = client.http.post(path, headers={"X-Api-Key": admin_key}).json_body
    assert deliver(client, secret, BODY, delivery="old-key").status_code == 201
    assert deliver(client, second["secret"], BODY, delivery="new-key").status_code == 201

    third = client.http.post(path, headers={"X-Api-Key": admin_key}).json_body  # the oldest is retired

    assert len(third["active_secret_ids"]) == 2 and second["secret_id"] in third["active_secret_ids"]
    assert deliver(client, secret, BODY, delivery="retired").status_code == 401
    assert deliver(client, third["secret"], BODY, delivery="newest").status_code == 201
    retire = client.http.delete(f"{path}/{second['secret_id']}", headers={"X-Api-Key": admin_key})
    assert retire.status_code == 200 and retire.json_body["active_secret_ids"] == [third["secret_id"]]
    assert deliver(client, second["secret"], BODY, delivery="after-retire").status_code == 401
    listed = get(client, f"/v1/integrations/webhooks/{SOURCE}", admin_key).json_body
    assert [s["secret_id"] for s in listed["secrets"]] == [third["secret_id"]]
    assert third["secret"] not in json.dumps(listed), "a secret is shown once, when it is made"


def test_authentic_delivery_of_the_wrong_shape_is_422_naming_the_field_and_stores_nothing(
    client: Any, secret: str, deps: Any
):
    no_email = json.loads(BODY)
    del no_email["form_response"]["hidden"]
    bad_email = json.loads(BODY)
    bad_email["form_response"]["hidden"]["email"] = "not an address"

    missing = deliver(client, secret, json.dumps(no_email).encode(), delivery="a")
    invalid = deliver(client, secret, json.dumps(bad_email).encode(), delivery="b")
    not_json = deliver(client, secret, b"{oops", delivery="c")
    not_object = deliver(client, secret, b"[1, 2]", delivery="d")

    assert missing.status_code == 422 and missing.json_body["error"]["field"] == "form_response.hidden.email"
    assert invalid.status_code == 422 and invalid.json_body["error"]["field"] == "form_response.hidden.email"
    assert not_json.status_code == 400 and not_object.status_code == 400
    assert stored(deps) == (0, 0, 0, [])
    assert deliver(client, secret, BODY, delivery="a").status_code == 201, (
        "a refused delivery can be sent again"
    )


OTHER_SECRET = "whsec_c29tZW9uZS1lbHNlcy1zZWNyZXQtMzItYnl0ZXM="


def test_an_unknown_source_or_one_without_a_secret_looks_like_a_bad_signature(
    client: Any, secret: str, admin_key: str, deps: Any
):
    put_json(
        client, "/v1/integrations/webhooks/unsigned", load_event("webhooks/typeform_source.json"), admin_key
    )
    bad_signature = deliver(client, OTHER_SECRET, BODY)
    unknown = deliver(client, OTHER_SECRET, BODY, source="nobody")
    no_secret = deliver(client, OTHER_SECRET, BODY, source="unsigned")
    assert bad_signature.status_code == unknown.status_code == no_secret.status_code == 401
    assert bad_signature.json_body == unknown.json_body == no_secret.json_body
    assert stored(deps) == (0, 0, 0, [])


def test_unknown_sources_create_no_rate_limit_items_and_rotating_names_do_not_escape_the_limit(
    client: Any, secret: str, deps: Any, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib import wiring
    from chalicelib.store.records import TABLES

    monkeypatch.setenv("RATE_LIMIT_WEBHOOK_PER_MINUTE", "1")
    monkeypatch.setenv("RATE_LIMIT_WEBHOOK_BURST", "2")
    wiring.reset()
    import boto3

    table = wiring.deps().settings.rate_limits_table
    for n in range(5):
        assert deliver(client, OTHER_SECRET, BODY, source=f"made-up-{n}").status_code == 401
    assert boto3.client("dynamodb").scan(TableName=table)["Items"] == [], "nothing about unknown sources"
    statuses = [deliver(client, OTHER_SECRET, BODY, delivery=f"x{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 429], "bad signatures to a real source spend the caller's tokens"
    assert TABLES  # the record classes stay bound


def test_configuring_sources_needs_an_admin_key(client: Any, deps: Any):
    from chalicelib.services.access import create_key

    ingest, _ = create_key("ingest only", ["ingest"], deps.store)
    path = f"/v1/integrations/webhooks/{SOURCE}"
    assert put_json(client, path, load_event("webhooks/typeform_source.json"), ingest).status_code == 403
    assert client.http.post(f"{path}/secrets", headers={"X-Api-Key": ingest}).status_code == 403
    assert client.http.post(f"{path}/secrets").status_code == 401
