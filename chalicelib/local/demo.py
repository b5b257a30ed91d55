"""``leadflow local --demo``: a sample form and a few submissions, posted over HTTP like a landing page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events" / "http"


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked below
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def run(api_url: str, api_key: str) -> list[dict[str, Any]]:
    """Define the ``contact-us`` form and post the sample submissions; returns each answer."""
    form = json.loads((EVENTS / "form_contact_us.json").read_text())
    status, body = call("PUT", f"{api_url}/v1/forms/contact-us", form, {"X-Api-Key": api_key})
    if status not in (200, 201):
        raise RuntimeError(f"the demo form was refused: {status} {body}")
    answers = []
    for submission in json.loads((EVENTS / "form_submissions.json").read_text()):
        status, body = call("POST", f"{api_url}/v1/forms/contact-us/submissions", submission)
        answers.append({"status": status, **(body or {})})
    return answers
