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
