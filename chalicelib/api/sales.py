"""Qualification rules, triggers, the lead lifecycle (sales callbacks) and timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import (
    caller,
    endpoint,
    idempotency_key,
    json_response,
    read_json,
    replay_safe,
)

if TYPE_CHECKING:
    from chalicelib.api.schemas.queries import ContactsQuery

bp = Blueprint(__name__)
_OBJECT: dict[str, Any] = {"type": "object"}
DISQUALIFY_BODY = {"type": "object", "properties": {"reason": {"type": "string"}}}


@endpoint(
    bp,
    "/v1/qualification-rules/{rule_id}",
    "PUT",
    scope="admin",
    summary="a qualification rule",
    body=_OBJECT,
    ok=("200", "201"),
)
def put_rule(request: Request, rule_id: str) -> Response:
    from chalicelib.services import rules

    created, stored = rules.put_rule(rule_id, read_json(request), wiring.deps())
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/qualification-rules/{rule_id}", "GET", scope="admin", summary="a qualification rule")
def get_rule(request: Request, rule_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import rules

    return json_response(
        200, views.definition(rules.get_definition(rules.QUALIFICATION, rule_id, wiring.deps()))
    )


@endpoint(bp, "/v1/qualification-rules", "GET", scope="admin", summary="qualification rules")
def list_rules(request: Request) -> Response:
    from chalicelib.services import rules

    return json_response(200, {"rules": rules.list_definitions(rules.QUALIFICATION, wiring.deps())})


@endpoint(
    bp,
    "/v1/triggers/{trigger_id}",
    "PUT",
    scope="admin",
    summary="a trigger",
    body=_OBJECT,
    ok=("200", "201"),
)
def put_trigger(request: Request, trigger_id: str) -> Response:
    from chalicelib.services import rules

    created, stored = rules.put_trigger(trigger_id, read_json(request), wiring.deps())
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/triggers/{trigger_id}", "GET", scope="admin", summary="a trigger")
def get_trigger(request: Request, trigger_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import rules

    return json_response(
        200, views.definition(rules.get_definition(rules.TRIGGER, trigger_id, wiring.deps()))
    )


@endpoint(bp, "/v1/triggers", "GET", scope="admin", summary="triggers")
def list_triggers(request: Request) -> Response:
    from chalicelib.services import rules

    return json_response(200, {"triggers": rules.list_definitions(rules.TRIGGER, wiring.deps())})


def _transition(request: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.api import views
    from chalicelib.services import lifecycle

    done = lifecycle.transition(
        request["lead_id"], request["action"], request["payload"], request["by"], wiring.deps()
    )
    return {"status": 200, "body": views.transition_done(done)}


def _lifecycle(request: Request, lead_id: str, action: str) -> Response:
    body = read_json(request) if request.raw_body else {}
    key = caller.get()
    by = key.actor if key else "anonymous"
    from chalicelib.api.people import acting_user
    from chalicelib.services import assignment

    assignment.check_may_act(lead_id, acting_user(), wiring.deps())
    return replay_safe(
        bp,
        f"lead_{action}",
        _transition,
        idempotency_key(request),
        {"lead_id": lead_id, "action": action, "payload": body, "by": by},
    )


@endpoint(
    bp,
    "/v1/leads/{lead_id}/accept",
    "POST",
    scope="sales",
    summary="accept",
    body=_OBJECT,
    optional_body=True,
    idempotent=True,
)
def accept(request: Request, lead_id: str) -> Response:
    return _lifecycle(request, lead_id, "accept")


@endpoint(
    bp,
    "/v1/leads/{lead_id}/contacted",
    "POST",
    scope="sales",
    summary="mark contacted (from new or marketing_qualified)",
    body=_OBJECT,
    optional_body=True,
    idempotent=True,
)
def contacted(request: Request, lead_id: str) -> Response:
    return _lifecycle(request, lead_id, "contacted")


@endpoint(
    bp,
    "/v1/leads/{lead_id}/qualify",
    "POST",
    scope="sales",
    summary="qualify",
    body=_OBJECT,
    optional_body=True,
    idempotent=True,
)
def qualify(request: Request, lead_id: str) -> Response:
    return _lifecycle(request, lead_id, "qualify")


@endpoint(
    bp,
    "/v1/leads/{lead_id}/disqualify",
    "POST",
    scope="sales",
    summary="disqualify",
    body=DISQUALIFY_BODY,
    optional_body=True,
    idempotent=True,
)
def disqualify(request: Request, lead_id: str) -> Response:
    return _lifecycle(request, lead_id, "disqualify")


@endpoint(
    bp,
    "/v1/leads/{lead_id}/reopen",
    "POST",
    scope="sales",
    summary="reopen",
    body=_OBJECT,
    optional_body=True,
    idempotent=True,
)
def reopen(request: Request, lead_id: str) -> Response:
    return _lifecycle(request, lead_id, "reopen")


@endpoint(bp, "/v1/leads/{lead_id}/timeline", "GET", scope="sales", summary="a lead's timeline")
def timeline(request: Request, lead_id: str) -> Response:
    from chalicelib.services import lifecycle

    return json_response(200, lifecycle.timeline(lead_id, wiring.deps()))


@endpoint(
    bp,
    "/v1/contacts",
    "GET",
    scope="sales",
    summary="list contacts (newest first), or find one by email",
    query="queries.ContactsQuery",
)
def list_contacts(request: Request, query: ContactsQuery) -> Response:
    """Sales reps find the person behind a lead here (by email, or the sales view:
    ``marketing_only=false``); the contact itself, its export and erasure stay admin routes."""
    from chalicelib.api import views
    from chalicelib.services import leads

    if query.email is not None:
        return json_response(200, views.contacts_found(leads.contact_by_email(query.email, wiring.deps())))
    page = leads.list_contacts(query.marketing_only, query.limit, query.cursor, wiring.deps())
    return json_response(200, views.contact_page(page))
