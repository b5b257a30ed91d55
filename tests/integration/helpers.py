"""Small helpers for talking to the app through Chalice's test client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FORM = "contact-us"


def post_json(client: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, headers={"Content-Type": "application/json", **(headers or {})}, body=json.dumps(body)
    )


def put_json(client: Any, path: str, body: Any, key: str) -> Any:
    return client.http.put(
        path, headers={"Content-Type": "application/json", "X-Api-Key": key}, body=json.dumps(body)
    )


def get(client: Any, path: str, key: str) -> Any:
    return client.http.get(path, headers={"X-Api-Key": key})


def submit_as_server(
    client: Any, body: Any, key: str, form: str = FORM, headers: dict[str, str] | None = None
) -> Any:
    """A form submission posted with an API key, as a server posting a form does: the answer is the
    full capture (lead, contact and account ids). An anonymous visitor's answer holds only
    ``submission_id`` and ``status`` (``tests/security/test_security.py``)."""
    return post_json(client, f"/v1/forms/{form}/submissions", body, {"X-Api-Key": key, **(headers or {})})


def item_text(item: dict[str, Any]) -> str:
    """A stored item as text for a search of what it holds: binary attributes (the outbox keeps the
    hand-off's envelope zlib-compressed) are opened first, so a search for a person sees inside them."""
    import base64
    import zlib

    def opened(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: opened(v) for k, v in value.items()}
        if isinstance(value, list):
            return [opened(v) for v in value]
        if isinstance(value, bytes | bytearray):
            try:
                return zlib.decompress(value).decode()
            except zlib.error:
                return base64.b64encode(value).decode()
        return value

    return json.dumps(opened(item), ensure_ascii=False)


@contextmanager
def aws_calls(with_table: bool = True) -> Iterator[list[str]]:
    """Every AWS operation botocore makes meanwhile (PynamoDB's and boto3's clients both go through
    ``BaseClient._make_api_call``), as ``Operation Table Index`` (``Operation Index`` without
    ``with_table``), for tests that count what a request reads."""
    from botocore.client import BaseClient

    made: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        table = f" {params.get('TableName', '')}" if with_table else ""
        made.append(f"{operation}{table} {params.get('IndexName', '')}".strip())
        return original(self, operation, params)

    BaseClient._make_api_call = counting
    try:
        yield made
    finally:
        BaseClient._make_api_call = original


def submit_people(client: Any, key: str, people: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The contact-us form defined (``events/http/form_contact_us.json``) and each body submitted to it
    with the admin key: each person's contact id by name, and their lead's as ``<name>_lead``."""
    from tests.conftest import load_event

    form = load_event("http/form_contact_us.json")
    assert put_json(client, f"/v1/forms/{FORM}", form, key).status_code == 201
    ids: dict[str, str] = {}
    for name, body in people.items():
        answer = post_json(client, f"/v1/forms/{FORM}/submissions", body, {"X-Api-Key": key})
        assert answer.status_code == 201, answer.body
        ids[name] = answer.json_body["contact_id"]
        ids[f"{name}_lead"] = answer.json_body["lead_id"]
    return ids
