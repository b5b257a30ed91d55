"""Provider routes: signed lead webhooks and LinkedIn Lead Sync (public, authenticated by signature),
and the admin routes that configure them.

The LinkedIn challenge is answered with the standard library only: LinkedIn allows three seconds,
cold start included, so nothing heavier is imported before the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.http import (
    MAX_BODY_BYTES,
    endpoint,
    json_response,
    parse_json_bytes,
    raw_body,
    read_json,
)

if TYPE_CHECKING:
    from chalicelib.api.schemas.queries import ChallengeQuery

bp = Blueprint(__name__)
_OBJECT: dict[str, Any] = {"type": "object"}


def _deps():  # type: ignore[no-untyped-def]
    from chalicelib import wiring

    return wiring.deps()


# ---------------------------------------------------------------- signed webhooks


@endpoint(
    bp,
    "/v1/integrations/webhooks/{source}",
    "PUT",
    scope="admin",
    summary="a webhook source's mapping",
    body=_OBJECT,
    ok=("200", "201"),
)
def put_source(request: Request, source: str) -> Response:
    from chalicelib.services import webhooks

    created, stored = webhooks.put_source(source, read_json(request), _deps())
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/integrations/webhooks/{source}", "GET", scope="admin", summary="a webhook source")
def get_source(request: Request, source: str) -> Response:
    from chalicelib.services import webhooks

    return json_response(200, webhooks.get_source(source, _deps()))


@endpoint(
    bp,
    "/v1/integrations/webhooks/{source}/secrets",
    "POST",
    scope="admin",
    summary="a new signing secret (shown once)",
    ok=("201",),
)
def add_secret(request: Request, source: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import webhooks

    added = webhooks.add_secret(source, _deps())
    return json_response(201, views.secret_added(added), {"Cache-Control": "no-store"})


@endpoint(
    bp,
    "/v1/integrations/webhooks/{source}/secrets/{secret_id}",
    "DELETE",
    scope="admin",
    summary="retire a secret",
)
def retire_secret(request: Request, source: str, secret_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import webhooks

    return json_response(200, views.active_secrets(webhooks.retire_secret(source, secret_id, _deps())))


@endpoint(
    bp,
    "/v1/webhooks/{source}",
    "POST",
    scope=None,
    summary=(
        "a signed lead webhook, Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature ="
        " v1,<base64 HMAC-SHA256 of id.timestamp.body>): 201 {delivery_id, status}"
    ),
    body=_OBJECT,
    request_headers=("webhook-id", "webhook-timestamp", "webhook-signature"),
    ok=("201",),
)
def deliver(request: Request, source: str) -> Response:
    """The signature is checked on the raw bytes before the body is parsed or anything is stored."""
    from chalicelib.api import abuse
    from chalicelib.services import webhooks

    deps = _deps()
    body = raw_body(request, MAX_BODY_BYTES)
    integration, delivery_id = webhooks.authenticate(
        source, dict(request.headers), body, deps, lambda: abuse.limit_webhook(request, deps)
    )
    payload = parse_json_bytes(request, body)
    return json_response(201, webhooks.ingest(source, integration, delivery_id, payload, deps))


# ---------------------------------------------------------------- LinkedIn Lead Sync


@endpoint(
    bp,
    "/v1/webhooks/linkedin",
    "GET",
    scope=None,
    summary="LinkedIn's challenge",
    query="queries.ChallengeQuery",
    response="answers.LinkedInChallenge",
)
def linkedin_challenge(request: Request, query: ChallengeQuery) -> Response:
    from chalicelib.services import linkedin

    return json_response(200, linkedin.challenge(query.challengeCode, _deps()))


@endpoint(
    bp,
    "/v1/webhooks/linkedin",
    "POST",
    scope=None,
    summary="LinkedIn lead notifications (X-LI-Signature)",
    body=_OBJECT,
    request_headers=("X-LI-Signature",),
)
def linkedin_notification(request: Request) -> Response:
    from chalicelib.api import abuse
    from chalicelib.services import linkedin

    deps = _deps()
    abuse.limit_linkedin(request, deps)
    body = raw_body(request, MAX_BODY_BYTES)
    return json_response(200, linkedin.notified(body, request.headers.get("x-li-signature"), deps))


@endpoint(
    bp,
    "/v1/integrations/linkedin/forms/{form_urn}",
    "PUT",
    scope="admin",
    summary="a LinkedIn form's mapping",
    body=_OBJECT,
    ok=("200", "201"),
)
def put_linkedin_form(request: Request, form_urn: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import linkedin

    created, stored = linkedin.put_form(form_urn, read_json(request), _deps())
    return json_response(201 if created else 200, views.linkedin_mapping(stored))


@endpoint(
    bp,
    "/v1/integrations/linkedin/forms/{form_urn}",
    "GET",
    scope="admin",
    summary="a LinkedIn form's mapping",
)
def get_linkedin_form(request: Request, form_urn: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import linkedin

    return json_response(200, views.linkedin_mapping(linkedin.get_form(form_urn, _deps())))
