"""Capture routes: forms (definitions and public submissions), leads by API, interactions."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api import abuse
from chalicelib.api.errors import Forbidden, translate
from chalicelib.api.http import (
    authorize_if_keyed,
    body_digest,
    endpoint,
    idempotency_key,
    json_response,
    query,
    read_fields,
    read_json,
    replay_safe,
)
from chalicelib.services import capture, forms, interactions

bp = Blueprint(__name__)
CORS_HEADERS = "Content-Type, Idempotency-Key"
MAX_INTERACTIONS_BODY = 512 * 1024


def _submit(request: dict[str, Any]) -> dict[str, Any]:
    deps = wiring.deps()
    # abuse protection: a CAPTCHA-failed submission, or one with two weak signals, is quarantined; one
    # weak signal is noted on the capture (chalicelib/api/abuse.py)
    screening = abuse.screen_submission(request, deps)
    return screening.quarantine or capture.submit_form(request, deps, list(screening.signals))


def _create_lead(request: dict[str, Any]) -> dict[str, Any]:
    return capture.create_lead(request, wiring.deps())


def _accept_interactions(request: dict[str, Any]) -> dict[str, Any]:
    return interactions.accept_batch(request, wiring.deps())


def _cors(request: Request, form_id: str) -> dict[str, str]:
    """Allow-Origin for a listed origin; a browser posting from anywhere else is refused (403)."""
    origin = request.headers.get("origin")
    form = capture.load_form(form_id, wiring.deps())
    if not form.allows_origin(origin):
        raise Forbidden(f"origin {origin} may not post this form", "Origin")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


@endpoint(bp, "/v1/forms/{form_id}", "PUT", scope="admin")
def put_form(request: Request, form_id: str) -> Response:
    created, stored = forms.put_form(form_id, read_json(request), wiring.deps())
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/forms/{form_id}", "GET", scope="admin")
def get_form(request: Request, form_id: str) -> Response:
    form = capture.load_form(form_id, wiring.deps())
    return json_response(200, {"form_id": form_id, **form.model_dump(exclude_none=True)})


@endpoint(bp, "/v1/forms/{form_id}/submissions", "OPTIONS", scope=None)
def preflight(request: Request, form_id: str) -> Response:
    headers: dict[str, str | list[str]] = {**_cors(request, form_id)}
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    )
    return Response(body="", status_code=204, headers=headers)


def public_answer(body: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous visitor is told: that the submission was taken, never whether the person was
    known (no ``contact_created``, no stable contact or account id: that was an enumeration oracle)."""
    return {"submission_id": body["submission_id"], "status": "accepted"}


@endpoint(bp, "/v1/forms/{form_id}/submissions", "POST", scope=None)
def submit(request: Request, form_id: str) -> Response:
    """Public. A caller that sends an ingest key (a server posting a form) gets the full capture
    answer; everyone else gets :func:`public_answer`."""
    cors = _cors(request, form_id)
    try:
        keyed = authorize_if_keyed(request, "ingest") is not None
        deps = wiring.deps()
        abuse.limit_submission(request, form_id, capture.load_form(form_id, deps), deps.settings)
        fields, signals = abuse.split_signals(read_fields(request))
        key = idempotency_key(request) or body_digest(fields)
        attempt = {
            "form_id": form_id,
            "payload": fields,  # what the idempotency record compares: the person's fields only
            "signals": signals,
            "from_page": request.headers.get("origin") is not None,
        }
        response = replay_safe(
            bp, "submit_form", _submit, f"{form_id}:{key}", attempt, view=None if keyed else public_answer
        )
    except Exception as exc:
        # a page on an allowed origin must be able to read the field errors, so they carry CORS too
        mapped = translate(exc)
        if mapped is None:
            raise
        status, body, headers = mapped
        return json_response(status, body, {**headers, **cors})
    response.headers.update(cors)
    return response


@endpoint(bp, "/v1/leads", "POST", scope="ingest")
def create_lead(request: Request) -> Response:
    body = read_json(request)
    return replay_safe(bp, "create_lead", _create_lead, idempotency_key(request), {"payload": body})


@endpoint(bp, "/v1/interactions", "POST", scope="ingest")
def post_interactions(request: Request) -> Response:
    body = read_json(request, MAX_INTERACTIONS_BODY)
    return replay_safe(
        bp, "accept_interactions", _accept_interactions, idempotency_key(request), {"payload": body}
    )


# ---------------------------------------------------------------- quarantine review


@endpoint(bp, "/v1/quarantine", "GET", scope="admin")
def list_quarantined(request: Request) -> Response:
    from chalicelib.services import quarantine

    return json_response(200, quarantine.list_quarantined(query(request), wiring.deps()))


@endpoint(bp, "/v1/quarantine/{quarantine_id}", "GET", scope="admin")
def get_quarantined(request: Request, quarantine_id: str) -> Response:
    from chalicelib.services import quarantine

    return json_response(200, quarantine.get_quarantined(quarantine_id, wiring.deps()))


@endpoint(bp, "/v1/quarantine/{quarantine_id}/release", "POST", scope="admin")
def release_quarantined(request: Request, quarantine_id: str) -> Response:
    """Capture it as if it had been accepted; a repeat answers 200 with the same ids."""
    from chalicelib.services import quarantine

    created, answer = quarantine.release(quarantine_id, wiring.deps())
    return json_response(201 if created else 200, answer)
