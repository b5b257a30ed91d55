"""Signed lead webhooks through the real routes, on moto: authentic deliveries are captured once;
unsigned, mis-signed, stale and replayed ones are 401 and store nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.integrations.webhooks import sign
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


def deliver(
    client: Any,
    secret: str,
    body: bytes,
    delivery: str = "d-1",
    timestamp: int | None = None,
    signature: str | None = None,
    source: str = SOURCE,
) -> Any:
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "X-Leadflow-Delivery": delivery,
        "X-Leadflow-Timestamp": str(stamp),
        "X-Leadflow-Signature": signature if signature is not None else sign(secret, stamp, body),
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


def test_signed_delivery_is_mapped_from_nested_json_and_captured(
    client: Any, secret: str, admin_key: str, deps: Any
):
    response = deliver(client, secret, BODY)

    assert response.status_code == 201, response.json_body
    answer = response.json_body
    assert answer["delivery_id"] == "d-1" and answer["lead_created"] is True
    lead = get(client, f"/v1/leads/{answer['lead_id']}", admin_key).json_body
    assert lead["source"] == "typeform" and lead["topic"] == "Demo request"
    assert lead["contact"]["email"] == "lin.wei@harbour-freight.co.uk"
    assert lead["contact"]["fields"]["first_name"] == "Lin"
    assert lead["contact"]["consent"] == "marketing"
    assert lead["account"]["name"] == "Harbour Freight Ltd" and lead["account"]["fields"]["employees"] == 420
    [interaction] = list(deps.store.interactions_of(answer["contact_id"]))
    assert interaction.type == "form_submitted" and interaction.properties["delivery_id"] == "d-1"
    assert interaction.source == "webhook:typeform"


def test_replayed_delivery_is_401_and_changes_nothing(client: Any, secret: str, deps: Any):
    first = deliver(client, secret, BODY)
    before = stored(deps)

    again = deliver(client, secret, BODY)  # freshly signed, same delivery id: a replay

    assert first.status_code == 201
    assert again.status_code == 401 and again.json_body["error"]["code"] == "replayed"
    assert again.json_body["error"]["field"] == "X-Leadflow-Delivery"
    assert stored(deps) == before == (1, 1, 1, ["receipt#webhook#typeform#d-1"])


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("unsigned", "X-Leadflow-Signature"),
        ("wrong secret", "X-Leadflow-Signature"),
        ("body changed after signing", "X-Leadflow-Signature"),
        ("stale timestamp", "X-Leadflow-Timestamp"),
        ("timestamp from the future", "X-Leadflow-Timestamp"),
        ("no delivery id", "X-Leadflow-Delivery"),
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
        kwargs["signature"] = sign("whsec_not-the-one", now, BODY)
    elif case == "body changed after signing":
        kwargs["signature"] = sign(secret, now, BODY)
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


def test_any_flipped_bit_of_the_signature_is_401(client: Any, secret: str, deps: Any):
    now = int(time.time())
    good = sign(secret, now, BODY).removeprefix("v1=")
    for position in range(0, len(good), 7):
        flipped = format(int(good[position], 16) ^ 1, "x")
        bad = good[:position] + flipped + good[position + 1 :]
        assert deliver(client, secret, BODY, timestamp=now, signature=f"v1={bad}").status_code == 401
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


def test_unknown_source_is_404_and_a_source_without_a_secret_is_409(client: Any, admin_key: str, deps: Any):
    assert deliver(client, "whsec_x", BODY, source="nobody").status_code == 404
    put_json(
        client, "/v1/integrations/webhooks/unsigned", load_event("webhooks/typeform_source.json"), admin_key
    )
    assert deliver(client, "whsec_x", BODY, source="unsigned").status_code == 409
    assert stored(deps) == (0, 0, 0, [])


def test_configuring_sources_needs_an_admin_key(client: Any, deps: Any):
    from chalicelib.services.access import create_key

    ingest, _ = create_key("ingest only", ["ingest"], deps.store)
    path = f"/v1/integrations/webhooks/{SOURCE}"
    assert put_json(client, path, load_event("webhooks/typeform_source.json"), ingest).status_code == 403
    assert client.http.post(f"{path}/secrets", headers={"X-Api-Key": ingest}).status_code == 403
    assert client.http.post(f"{path}/secrets").status_code == 401
