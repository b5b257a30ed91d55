"""Small helpers for talking to the app through Chalice's test client."""

from __future__ import annotations

import json
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
