"""Journeys (issue 18, docs/journeys.md): definitions in versions, their states, entering people by
hand, the report (counters kept by the engine, no scan) and the e-mails a journey sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.http import endpoint, json_response, read_json

if TYPE_CHECKING:
    from chalicelib.api.schemas.journeys import EnrollRequest, JourneyMessagesQuery, JourneyRequest

bp = Blueprint(__name__)


def _deps():  # type: ignore[no-untyped-def]
    from chalicelib import wiring

    return wiring.deps()


@endpoint(
    bp,
    "/v1/journeys/{journey_id}",
    "PUT",
    scope="admin",
    summary=(
        "save a journey (a new version; 201 first, 200 after); 422 names the step that is wrong"
        " (steps[2].template_id: a missing template, segment, form or link, a wait of zero or over a"
        " year, a loop without a wait, a template that does not render)"
    ),
    body="journeys.JourneyRequest",
    response="journeys.JourneyAnswer",
    ok=("200", "201"),
)
def put_journey(request: Request, journey_id: str, body: JourneyRequest) -> Response:
    from chalicelib.api import journey_views
    from chalicelib.services import journeys

    definition = read_json(request)
    head, _ = journeys.put_journey(journey_id, definition, _deps())
    return json_response(201 if head.version == 1 else 200, journey_views.journey(head, definition))


@endpoint(
    bp,
    "/v1/journeys/{journey_id}",
    "GET",
    scope="admin",
    summary="a journey: its state and current version's definition",
    response="journeys.JourneyAnswer",
)
def get_journey(request: Request, journey_id: str) -> Response:
    from chalicelib.api import journey_views
    from chalicelib.services import journeys

    deps = _deps()
    head = journeys.head_of(journey_id, deps)
    return json_response(
        200, journey_views.journey(head, deps.journeys.get_version(journey_id, head.version))
    )


@endpoint(bp, "/v1/journeys", "GET", scope="admin", summary="every journey with its funnel (the report)")
def list_journeys(request: Request) -> Response:
    from chalicelib.api import journey_views
    from chalicelib.services import journeys

    deps = _deps()
    items = [
        {**journey_views.journey(head), "report": journeys.report(head.journey_id, deps)}
        for head in journeys.list_journeys(deps)
    ]
    return json_response(200, {"items": items})


def _move(journey_id: str, action: str) -> Response:
    from chalicelib.api import journey_views
    from chalicelib.services import journeys

    return json_response(200, journey_views.journey(journeys.move(journey_id, action, _deps())))


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/activate",
    "POST",
    scope="admin",
    summary="draft or paused -> live (a segment journey enters the people who match now); 409 when stopped",
    response="journeys.JourneyAnswer",
    optional_body=True,
)
def activate(request: Request, journey_id: str) -> Response:
    return _move(journey_id, "activate")


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/pause",
    "POST",
    scope="admin",
    summary=(
        "live -> paused: people stay where they are until it is activated again (an exit still takes"
        " them out: an unsubscribe, a lead qualified, the goal)"
    ),
    response="journeys.JourneyAnswer",
    optional_body=True,
)
def pause(request: Request, journey_id: str) -> Response:
    return _move(journey_id, "pause")


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/stop",
    "POST",
    scope="admin",
    summary=(
        "-> stopped (for good): its people leave at once, through the queue a page of them at a time"
        " (exited: stopped); the answer does not wait for them"
    ),
    response="journeys.JourneyAnswer",
    optional_body=True,
)
def stop(request: Request, journey_id: str) -> Response:
    return _move(journey_id, "stop")


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/enroll",
    "POST",
    scope="admin",
    summary=(
        "enter a contact (or a lead's contact) into a live journey, on its current version; 201 enrolled,"
        " 200 with the reason otherwise (already, not_again, not_live)"
    ),
    body="journeys.EnrollRequest",
    response="journeys.EnrollAnswer",
    ok=("200", "201"),
)
def enroll(request: Request, journey_id: str, body: EnrollRequest) -> Response:
    from chalicelib.api import journey_views
    from chalicelib.services import journeys

    done = journeys.enroll_request(journey_id, body.contact_id, body.lead_id, _deps())
    answer = journey_views.enrollment(done.result, journey_id, body.contact_id or "", done.enrollment)
    return json_response(201 if done.result == "enrolled" else 200, answer)


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/report",
    "GET",
    scope="admin",
    summary="the funnel: per step entered, at the step, sent, refused, opened, clicked; exits by reason",
    response="journeys.ReportAnswer",
)
def report(request: Request, journey_id: str) -> Response:
    from chalicelib.services import journeys

    return json_response(200, journeys.report(journey_id, _deps()))


@endpoint(
    bp,
    "/v1/journeys/{journey_id}/messages",
    "GET",
    scope="admin",
    summary="the e-mails the journey sent (or refused), newest first, a page at a time (next_cursor)",
    query="journeys.JourneyMessagesQuery",
)
def messages(request: Request, journey_id: str, query: JourneyMessagesQuery) -> Response:
    from chalicelib.api import mail_views
    from chalicelib.services import journeys

    found = journeys.messages(journey_id, query.limit, _deps(), cursor=query.cursor)
    items = [mail_views.message(m) for m in found.messages]
    return json_response(200, {"items": items, "next_cursor": found.next_cursor})
