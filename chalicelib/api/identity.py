"""Identity and data rights: duplicates, merges, consent, export, erasure, segments.

The request models here refuse unknown keys and document the bodies; the routes build the services'
typed inputs from them (``domain.consent.ConsentUpdate``, ``domain.merging.MergeOrder``,
``domain.segments.SegmentQuery``), which check the values in the words the API has always used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, json_response, read_json

if TYPE_CHECKING:
    from chalicelib.api.schemas.bodies import ConsentRequest, MergeRequest, SegmentQueryRequest
    from chalicelib.api.schemas.queries import DuplicatesQuery

bp = Blueprint(__name__)
_OBJECT: dict[str, Any] = {"type": "object"}


def _service(name: str) -> Any:
    """An identity service (duplicates, merges, consent, data_rights, segments), imported on the first
    request: its store pulls PynamoDB, which the other routes' cold starts need not pay for."""
    from importlib import import_module

    return import_module(f"chalicelib.services.{name}")


def _given(model: Any) -> dict[str, Any]:
    """What the caller sent (a key sent as null is told from one not sent)."""
    return dict(model.model_dump(include=model.model_fields_set))


@endpoint(
    bp,
    "/v1/duplicates",
    "GET",
    scope="admin",
    summary="suspected duplicate contacts",
    query="queries.DuplicatesQuery",
)
def list_duplicates(request: Request, query: DuplicatesQuery) -> Response:
    answer = _service("duplicates").list_duplicates(
        wiring.deps(), limit=query.limit, cursor=query.cursor, strength=query.strength
    )
    return json_response(200, answer)


@endpoint(
    bp,
    "/v1/contacts/{contact_id}/merge",
    "POST",
    scope="admin",
    summary="merge a duplicate into this contact",
    body="bodies.MergeRequest",
    ok=("200", "201"),
)
def merge(request: Request, contact_id: str, body: MergeRequest) -> Response:
    from chalicelib.domain.merging import MergeOrder

    order = MergeOrder(duplicate_ids=body.duplicate_ids)
    from chalicelib.api import views

    return json_response(200, views.merge_done(_service("merges").merge(contact_id, order, wiring.deps())))


@endpoint(bp, "/v1/merges/{merge_id}/undo", "POST", scope="admin", summary="undo a merge")
def undo_merge(request: Request, merge_id: str) -> Response:
    from chalicelib.api import views

    return json_response(200, views.merge_undone(_service("merges").undo_merge(merge_id, wiring.deps())))


@endpoint(
    bp,
    "/v1/contacts/{contact_id}/consent",
    "PUT",
    scope="admin",
    summary="set a contact's consent",
    body="bodies.ConsentRequest",
)
def set_consent(request: Request, contact_id: str, body: ConsentRequest) -> Response:
    from chalicelib.domain.consent import ConsentUpdate

    given = _given(body)  # a source not sent is "api"; one sent as null is refused
    update = ConsentUpdate(level=body.level, source=given.get("source", "api"))
    from chalicelib.api import views

    updated = _service("consent").set_consent(contact_id, update, wiring.deps())
    return json_response(200, views.contact(updated))


@endpoint(
    bp, "/v1/contacts/{contact_id}/export", "GET", scope="admin", summary="everything held about a contact"
)
def export(request: Request, contact_id: str) -> Response:
    from chalicelib.api import views

    return json_response(200, views.contact_export(_service("data_rights").export(contact_id, wiring.deps())))


@endpoint(
    bp,
    "/v1/contacts/{contact_id}",
    "DELETE",
    scope="admin",
    summary=(
        "erase a contact's personal data: 202 and the erasure job (GET /v1/jobs/{job_id}); effective"
        " at once, the same job when asked again"
    ),
    ok=("200", "202", "204"),
)
def erase(request: Request, contact_id: str) -> Response:
    """202 and the erasure job (``GET /v1/jobs/{job_id}``); effective at once, the same job on a repeat."""
    from chalicelib.api import views
    from chalicelib.services import erasure

    return json_response(202, views.erasure_requested(erasure.request_erasure(contact_id, wiring.deps())))


@endpoint(
    bp,
    "/v1/segments/query",
    "POST",
    scope="admin",
    summary="contacts of the leads matching a condition",
    body="bodies.SegmentQueryRequest",
)
def query_segment(request: Request, body: SegmentQueryRequest) -> Response:
    from chalicelib.domain.segments import SegmentQuery

    given = _given(body)
    if "segment_id" in given:
        given["segment_id"] = str(given["segment_id"])  # sent as null, it names a segment "None" (404)
    query = SegmentQuery.of(**given)
    from chalicelib.api import views

    return json_response(200, views.segment_page(_service("segments").query_segment(query, wiring.deps())))


@endpoint(
    bp,
    "/v1/segments/{segment_id}",
    "PUT",
    scope="admin",
    summary="a saved segment",
    body=_OBJECT,
    ok=("200", "201"),
)
def put_segment(request: Request, segment_id: str) -> Response:
    from chalicelib.api import views

    deps = wiring.deps()
    created, saved = _service("segments").put_segment(
        segment_id, read_json(request), deps.identity, deps.scoring
    )
    return json_response(201 if created else 200, views.saved_segment(saved))


@endpoint(bp, "/v1/segments/{segment_id}", "GET", scope="admin", summary="a saved segment")
def get_segment(request: Request, segment_id: str) -> Response:
    from chalicelib.api import views

    return json_response(
        200, views.saved_segment(_service("segments").get_segment(segment_id, wiring.deps().identity))
    )
