"""``leadflow local --demo``: sample forms and a few submissions, posted over HTTP like a landing page."""

from __future__ import annotations

import json
from typing import Any

from leadflow_local import project
from leadflow_local.http import call

EVENTS = project.ROOT / "events" / "http"
SAMPLE_IMPORT = project.ROOT / "events" / "imports" / "hubspot_export_latin1.csv"
LANDING_FORM = project.ROOT / "examples" / "landing" / "form.json"


def run(api_url: str, api_key: str) -> list[dict[str, Any]]:
    """Define the ``contact-us`` form and post the sample submissions; returns each answer."""
    form = json.loads((EVENTS / "form_contact_us.json").read_text())
    status, body = call("PUT", f"{api_url}/v1/forms/contact-us", form, {"X-Api-Key": api_key})
    if status not in (200, 201):
        raise RuntimeError(f"the demo form was refused: {status} {body}")
    answers = []
    for submission in json.loads((EVENTS / "form_submissions.json").read_text()):
        # with the key, as a server posting a form: the answers name the leads the banner points at
        # (a landing page's visitors are told only that their submission was taken)
        status, body = call(
            "POST", f"{api_url}/v1/forms/contact-us/submissions", submission, {"X-Api-Key": api_key}
        )
        answers.append({**(body or {}), "http_status": status})
    return answers


def start_import(api_url: str, api_key: str) -> str:
    """Post the sample HubSpot export (Latin-1, ``;``, a broken row, a duplicate); the import id."""
    status, body = call(
        "POST",
        f"{api_url}/v1/imports?topic=Spring%20fair&name=demo",
        headers={"X-Api-Key": api_key, "Content-Type": "text/csv"},
        data=SAMPLE_IMPORT.read_bytes(),
    )
    if status != 202:
        raise RuntimeError(f"the demo import was refused: {status} {body}")
    return str(body["import_id"])


def landing_form(api_url: str, api_key: str, page_origin: str | None) -> dict[str, Any]:
    """Define the sample landing page's form (``examples/landing/form.json``, as ``leadflow forms apply``
    sends it), its ``allowed_origins`` extended by the origin the stack serves the page from."""
    form = json.loads(LANDING_FORM.read_text())
    form_id = form.pop("id")
    origins = list(form.get("allowed_origins", []))
    if page_origin and page_origin not in origins:
        form["allowed_origins"] = [*origins, page_origin]
    status, body = call("PUT", f"{api_url}/v1/forms/{form_id}", form, {"X-Api-Key": api_key})
    if status not in (200, 201):
        raise RuntimeError(f"the landing page's form was refused: {status} {body}")
    return form
