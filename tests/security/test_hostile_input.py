# ruff: noqa: E501 - the hostile bodies read best on one line each
"""What a hostile client sends is refused with a 4xx naming the field, never a 500 (issue 15, item 6):
lone surrogates, NaN and Infinity, duplicate keys, deep nesting (bodies, query parameters, signed
bodies), empty and odd path ids, forged or truncated cursors, a parameter given twice. Every case goes
through the real routes on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_event

FORM = "contact-us"


def send(
    client: Any, method: str, path: str, key: str | None, body: bytes | None = None, **headers: str
) -> Any:
    found = {"Content-Type": "application/json", **headers}
    if key:
        found["X-Api-Key"] = key
    return client.http.request(method, path, headers=found, body=body or b"")


@pytest.fixture
def ready(client: Any, admin_key: str) -> str:
    definition = json.dumps(load_event("http/form_contact_us.json")).encode()
    assert send(client, "PUT", f"/v1/forms/{FORM}", admin_key, definition).status_code == 201
    return admin_key


def refused(answer: Any, field: str | None = None, statuses: tuple[int, ...] = (400, 404, 422)) -> None:
    assert answer.status_code in statuses, (answer.status_code, answer.body[:300])
    error = answer.json_body["error"]
    if field is not None:
        assert field in (error.get("field") or ""), error


LONE = b'"\\ud800"'
BODIES: dict[str, tuple[str, str, bytes, str]] = {
    "surrogate in a form field": (
        "POST",
        f"/v1/forms/{FORM}/submissions",
        b'{"email": "a@b.example.org", "first_name": ' + LONE + b"}",
        "first_name",
    ),
    "surrogate in a lead": (
        "POST",
        "/v1/leads",
        b'{"contact": {"email": "a@b.example.org", "city": ' + LONE + b"}}",
        "contact.city",
    ),
    "surrogate in a key": (
        "POST",
        "/v1/leads",
        b'{"contact": {"email": "a@b.example.org"}, "lead": {' + LONE + b': "x"}}',
        "lead",
    ),
    "surrogate in interaction properties": (
        "POST",
        "/v1/interactions",
        b'{"interactions": [{"type": "page_visited", "occurred_at": "2026-12-01T10:00:00Z", "email": "a@b.example.org", "properties": {"url": '
        + LONE
        + b"}}]}",
        "interactions",
    ),
    "surrogate in a form definition": (
        "PUT",
        "/v1/forms/other",
        b'{"name": ' + LONE + b', "fields": {"email": {"maps_to": "contact.email"}}}',
        "name",
    ),
    "surrogate in a model": (
        "PUT",
        "/v1/scoring-models/m1",
        b'{"name": '
        + LONE
        + b', "rules": [{"id": "r", "points": 1, "when": {"field": "contact.city", "op": "eq", "value": "x"}}]}',
        "name",
    ),
    "surrogate in a segment": (
        "POST",
        "/v1/segments/query",
        b'{"condition": {"field": "contact.city", "op": "eq", "value": ' + LONE + b"}}",
        "condition",
    ),
    "NaN in a lead": (
        "POST",
        "/v1/leads",
        b'{"contact": {"email": "a@b.example.org"}, "account": {"employees": NaN}}',
        "account.employees",
    ),
    "Infinity in properties": (
        "POST",
        "/v1/interactions",
        b'{"interactions": [{"type": "page_visited", "occurred_at": "2026-12-01T10:00:00Z", "email": "a@b.example.org", "properties": {"n": Infinity}}]}',
        "interactions",
    ),
    "-Infinity in a model": (
        "PUT",
        "/v1/scoring-models/m1",
        b'{"name": "m", "rules": [{"id": "r", "points": -Infinity, "when": {"field": "contact.city", "op": "eq", "value": "x"}}]}',
        "points",
    ),
    "1e400 in a model": (
        "PUT",
        "/v1/scoring-models/m1",
        b'{"name": "m", "rules": [{"id": "r", "points": 1e400, "when": {"field": "contact.city", "op": "eq", "value": "x"}}]}',
        "points",
    ),
    "duplicate keys": (
        "POST",
        "/v1/leads",
        b'{"contact": {"email": "a@b.example.org", "email": "c@d.example.org"}}',
        "contact.email",
    ),
    "deep nesting in a body": (
        "POST",
        "/v1/leads",
        b'{"contact": {"email": "a@b.example.org"}, "lead": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        "lead.x",
    ),
    "nesting past DynamoDB's 32 levels": (
        "POST",
        "/v1/interactions",
        b'{"interactions": [{"type": "page_visited", "occurred_at": "2026-12-01T10:00:00Z", "email": "a@b.example.org", "properties": {"p": '
        + b"[" * 40
        + b"]" * 40
        + b"}}]}",
        "interactions",
    ),
    "deep nesting in a segment": (
        "POST",
        "/v1/segments/query",
        b'{"condition": '
        + b'{"not": ' * 300
        + b'{"field": "contact.city", "op": "eq", "value": "x"}'
        + b"}" * 300
        + b"}",
        "condition",
    ),
    "deep nesting in a model": (
        "PUT",
        "/v1/scoring-models/m1",
        b'{"name": "m", "audience": '
        + b'{"not": ' * 300
        + b'{"field": "contact.city", "op": "eq", "value": "x"}'
        + b"}" * 300
        + b', "rules": []}',
        "audience",
    ),
}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_hostile_json_is_refused_naming_the_field(client: Any, ready: str, case: str):
    method, path, body, field = BODIES[case]
    refused(send(client, method, path, ready, body), field)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/leads//timeline",
        "/v1/leads/%20",
        "/v1/contacts//export",
        "/v1/scoring-models//publish",
        "/v1/jobs/%00",
        "/v1/leads/%ED%A0%80",
        "/v1/leads/..%2F..%2Fv1%2Fforms",
    ],
)
def test_empty_or_odd_path_ids_are_refused(client: Any, ready: str, path: str):
    method = "POST" if path.endswith("publish") else "GET"
    refused(send(client, method, path, ready, b"{}" if method == "POST" else None))


CURSOR_ROUTES = [
    "/v1/leads?cursor={c}",
    "/v1/leads?state=open&cursor={c}",
    "/v1/leads?contact_id=c_1&cursor={c}",
    "/v1/leads?model_id=m1&cursor={c}",
    "/v1/contacts?cursor={c}",
    "/v1/duplicates?cursor={c}",
]
CURSORS = [
    "x",
    "eyJsZWFkX2lkIjp7IlMiOiJsXzEifX0",  # {"lead_id": {"S": "l_1"}}: well formed, never issued
    "eyJsZWFkX2lkIjp7Ik4iOiIxIn19",  # a number where text belongs
    "e30",  # {}
    "%ED%A0%80",
    "W10",  # []
]


@pytest.mark.parametrize("route", CURSOR_ROUTES)
def test_forged_cursors_are_refused_naming_the_cursor(client: Any, ready: str, route: str):
    for cursor in CURSORS:
        refused(send(client, "GET", route.format(c=cursor), ready), "cursor")


def test_a_parameter_given_twice_is_refused_naming_it(client: Any, ready: str):
    refused(send(client, "GET", "/v1/leads?state=open&state=qualified", ready), "state")


def test_deep_nesting_in_a_query_parameter_is_refused(client: Any, ready: str):
    mapping = "[" * 5000 + "]" * 5000
    answer = client.http.request(
        "POST",
        f"/v1/imports?mapping={mapping}",
        headers={"Content-Type": "text/csv", "X-Api-Key": ready},
        body=b"email\na@b.example.org\n",
    )
    refused(answer, "mapping")
    control = client.http.request(
        "POST",
        "/v1/imports?topic=Spring%1b%5b2J",
        headers={"Content-Type": "text/csv", "X-Api-Key": ready},
        body=b"email\na@b.example.org\n",
    )
    refused(control, "topic")
