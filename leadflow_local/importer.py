"""``leadflow import FILE``: send a CSV file to the API (the body for small files, a pre-signed upload
for large ones) and follow the import until it is done."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from leadflow_local.http import call

#: Files up to this size are posted as the request body (the API's IMPORT_MAX_BODY_BYTES); larger ones
#: go to S3 by an upload URL.
BODY_LIMIT = 4 * 1024 * 1024
FINISHED = ("completed", "failed")


class ImportRefused(Exception):
    def __init__(self, status: int, answer: Any) -> None:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        super().__init__(f"{status}: {error.get('message', answer)}")
        self.status = status
        self.answer = answer


def start(api_url: str, key: str, path: Path, mapping: dict[str, Any] | None, options: dict[str, str]) -> str:
    """Send the file; returns the import id. A file the API refuses raises :class:`ImportRefused`."""
    headers = {"X-Api-Key": key}
    data = path.read_bytes()
    if len(data) <= BODY_LIMIT:
        query = {k: v for k, v in options.items() if v}
        if mapping:
            query["mapping"] = json.dumps(mapping)
        status, answer = call(
            "POST",
            f"{api_url}/v1/imports?{urlencode(query)}",
            headers={**headers, "Content-Type": "text/csv"},
            data=data,
        )
        if status != 202:
            raise ImportRefused(status, answer)
        return str(answer["import_id"])
    status, answer = call(
        "POST",
        f"{api_url}/v1/imports",
        {"mapping": {**(mapping or {}), **_shortcuts(options)}, "name": options.get("name")},
        headers,
    )
    if status != 201:
        raise ImportRefused(status, answer)
    upload = answer["upload"]
    status, body = call(upload["method"], upload["url"], headers=upload["headers"], data=data, timeout=600)
    if status >= 300:
        raise ImportRefused(status, body)
    return str(answer["import_id"])


def _shortcuts(options: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in options.items() if k in ("source", "topic", "campaign", "consent") and v}


def follow(
    api_url: str,
    key: str,
    import_id: str,
    on_progress: Callable[[dict[str, Any]], None],
    timeout: float = 3600,
    interval: float = 0.5,
) -> dict[str, Any]:
    """Poll ``GET /v1/imports/{id}`` until the import completes or fails; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status, answer = call("GET", f"{api_url}/v1/imports/{import_id}", headers={"X-Api-Key": key})
        if status != 200:
            raise ImportRefused(status, answer)
        on_progress(answer)
        if answer["status"] in FINISHED or time.monotonic() > deadline:
            return dict(answer)
        time.sleep(interval)
