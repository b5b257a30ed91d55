"""Capture routes: forms (definitions and public submissions), leads by API, interactions, and the
review of quarantined submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api import abuse
from chalicelib.api.errors import Forbidden
from chalicelib.api.http import (
    authorize_if_keyed,
    body_digest,
    endpoint,
    idempotency_key,
    json_response,
    read_fields,
    read_json,
    replay_safe,
)

if TYPE_CHECKING:
    from chalicelib.api.schemas.bodies import InteractionsRequest
    from chalicelib.api.schemas.queries import QuarantineQuery
    from chalicelib.services import capture

bp = Blueprint(__name__)
CORS_HEADERS = "Content-Type, Idempotency-Key"
MAX_INTERACTIONS_BODY = 512 * 1024
_OBJECT: dict[str, Any] = {"type": "object"}
SUBMISSION_BODY = {
    "type": "object",
    "description": "the form's fields by name; fields the form does not declare are ignored",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
LEAD_BODY = {
    "type": "object",
    "required": ["contact"],
    "properties": {
        "contact": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}},
        "account": _OBJECT,
        "lead": _OBJECT,
        "consent": {"type": "string"},
        "update_policy": {"enum": ["fill_empty", "overwrite"]},
    },
}


def _submission_answer(outcome: capture.SubmissionOutcome) -> dict[str, Any]:
    """The full answer, as kept for a replay: 201 taken (or erased: nothing kept), 202 set aside."""
    from chalicelib.api.schemas import answers
    from chalicelib.services import capture

    if isinstance(outcome, capture.SubmissionQuarantined):
        body = {"submission_id": outcome.quarantine_id, "status": "quarantined", "reason": outcome.reason}
        return {"status": 202, "body": body}
    captured = outcome.captured
    body = {"submission_id": outcome.submission_id, "status": outcome.status}
    if captured is not None:
        body.update(answers.Captured.model_validate(captured, from_attributes=True).model_dump())
    return {"status": 201, "body": body}


def _captcha() -> Any:
    """The CAPTCHA client (only forms with a CAPTCHA ask it)."""
    from chalicelib.integrations.captcha import CaptchaClient
    from chalicelib.secrets import secret

    settings = wiring.deps().settings
    return CaptchaClient(
        lambda: secret("CAPTCHA_SECRETS", settings),
        settings.turnstile_verify_url,
        settings.recaptcha_verify_url,
        settings.captcha_timeout_seconds,
    )


def _submit(request: dict[str, Any]) -> dict[str, Any]:
    """Screen (honeypot, fill time, origin, CAPTCHA: ``domain/screening.py``), then capture or set
    aside. Runs inside the replay-safe call, so a retry gets the first answer and a single-use CAPTCHA
    token is checked once."""
    from chalicelib.domain.screening import screen
    from chalicelib.services import capture, forms

    deps = wiring.deps()
    form_id, fields = request["form_id"], request["payload"]
    form = capture.load_form(form_id, deps)
    verdict = screen(form, fields, request.get("signals") or {}, bool(request.get("from_page")), _captcha())
    return _submission_answer(forms.submit(form_id, fields, deps, verdict))


def _create_lead(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api.schemas import answers
    from chalicelib.services import capture

    captured = capture.create_lead(request["payload"], wiring.deps())
    return {
        "status": 201,
        "body": answers.Captured.model_validate(captured, from_attributes=True).model_dump(),
    }


def _accept_interactions(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api.schemas import answers
    from chalicelib.services import interactions

    accepted = interactions.accept_batch(request["payload"]["interactions"], wiring.deps())
    body = answers.InteractionsAccepted.model_validate(accepted, from_attributes=True).model_dump()
    return {"status": 202, "body": body}


def _cors(request: Request, params: dict[str, str]) -> dict[str, str]:
    """Allow-Origin for a listed origin; a browser posting from anywhere else is refused (403)."""
    from chalicelib.services import capture

    origin = request.headers.get("origin")
    form = capture.load_form(params["form_id"], wiring.deps())
    if not form.allows_origin(origin):
        raise Forbidden(f"origin {origin} may not post this form", "Origin")
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


@endpoint(
    bp,
    "/v1/forms/{form_id}",
    "PUT",
    scope="admin",
    summary="define a form",
    body="chalicelib.domain.forms.FormDefinition",
    ok=("200", "201"),
)
def put_form(request: Request, form_id: str) -> Response:
    from chalicelib.services import forms

    created, stored = forms.put_form(form_id, read_json(request), wiring.deps())
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/forms/{form_id}", "GET", scope="admin", summary="a form definition")
def get_form(request: Request, form_id: str) -> Response:
    from chalicelib.services import capture

    form = capture.load_form(form_id, wiring.deps())
    return json_response(200, {"form_id": form_id, **form.model_dump(exclude_none=True)})


@endpoint(
    bp,
    "/v1/forms/{form_id}/submissions",
    "OPTIONS",
    scope=None,
    summary="CORS preflight",
    ok=("204",),
    empty=True,
    cors=_cors,
)
def preflight(request: Request, form_id: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": "600",
    }
    return Response(body="", status_code=204, headers=headers)


def public_answer(body: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous visitor is told (:class:`answers.PublicSubmission`)."""
    from chalicelib.api.schemas import answers

    return answers.PublicSubmission(submission_id=body["submission_id"], status="accepted").model_dump()


@endpoint(
    bp,
    "/v1/forms/{form_id}/submissions",
    "POST",
    scope=None,
    optional_key="ingest",
    summary=(
        "a landing page posts a form: 201 {submission_id, status}, nothing about the person (suspected"
        " spam kept for review: 202, the same body); a caller with an ingest key gets the full capture"
    ),
    body=SUBMISSION_BODY,
    media=("application/json", "application/x-www-form-urlencoded"),
    ok=("201", "202"),
    response="answers.Submission",
    idempotent=True,
    cors=_cors,
)
def submit(request: Request, form_id: str) -> Response:
    """Public. A caller that sends an ingest key (a server posting a form) gets the full capture
    answer; everyone else gets :func:`public_answer`. Errors carry the form's CORS headers too."""
    from chalicelib.domain.screening import split_signals
    from chalicelib.services import capture

    keyed = authorize_if_keyed(request, "ingest") is not None
    deps = wiring.deps()
    abuse.limit_submission(request, form_id, capture.load_form(form_id, deps), deps)
    fields, signals = split_signals(read_fields(request))
    key = idempotency_key(request) or body_digest(fields)
    attempt = {
        "form_id": form_id,
        "payload": fields,  # what the idempotency record compares: the person's fields only
        "signals": signals,
        "from_page": request.headers.get("origin") is not None,
    }
    return replay_safe(
        bp, "submit_form", _submit, f"{form_id}:{key}", attempt, view=None if keyed else public_answer
    )


@endpoint(
    bp,
    "/v1/leads",
    "POST",
    scope="ingest",
    summary="create a lead",
    body=LEAD_BODY,
    ok=("201",),
    response="answers.Captured",
    idempotent=True,
)
def create_lead(request: Request) -> Response:
    body = read_json(request)
    return replay_safe(bp, "create_lead", _create_lead, idempotency_key(request), {"payload": body})


@endpoint(
    bp,
    "/v1/interactions",
    "POST",
    scope="ingest",
    summary="track interactions",
    body="bodies.InteractionsRequest",
    max_body=MAX_INTERACTIONS_BODY,
    ok=("202",),
    response="answers.InteractionsAccepted",
    idempotent=True,
)
def post_interactions(request: Request, body: InteractionsRequest) -> Response:
    """The batch's size is checked here; each item by the service (``rejected`` by index). What the
    idempotency record compares is the body as sent."""
    return replay_safe(
        bp,
        "accept_interactions",
        _accept_interactions,
        idempotency_key(request),
        {"payload": read_json(request, MAX_INTERACTIONS_BODY)},
    )


# ---------------------------------------------------------------- quarantine review


@endpoint(
    bp,
    "/v1/quarantine",
    "GET",
    scope="admin",
    summary="suspected spam kept for review (newest first)",
    query="queries.QuarantineQuery",
)
def list_quarantined(request: Request, query: QuarantineQuery) -> Response:
    from chalicelib.services import quarantine

    answer = quarantine.list_quarantined(query.filters(), query.limit, query.cursor, wiring.deps())
    return json_response(200, answer)


@endpoint(
    bp,
    "/v1/quarantine/{quarantine_id}",
    "GET",
    scope="admin",
    summary="a quarantined submission with what was submitted",
)
def get_quarantined(request: Request, quarantine_id: str) -> Response:
    from chalicelib.services import quarantine

    return json_response(200, quarantine.get_quarantined(quarantine_id, wiring.deps()))


@endpoint(
    bp,
    "/v1/quarantine/{quarantine_id}/release",
    "POST",
    scope="admin",
    summary="capture a quarantined submission as if accepted (201; a repeat: 200, the same ids)",
    body=_OBJECT,
    optional_body=True,
    ok=("200", "201"),
)
def release_quarantined(request: Request, quarantine_id: str) -> Response:
    """Capture it as if it had been accepted; a repeat answers 200 with the same ids."""
    from chalicelib.services import quarantine

    created, answer = quarantine.release(quarantine_id, wiring.deps())
    return json_response(201 if created else 200, answer)
