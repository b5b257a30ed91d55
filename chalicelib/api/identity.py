"""Identity and data rights: duplicates, merges, consent, export, erasure, segments."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import endpoint, json_response, query, read_json

bp = Blueprint(__name__)


def _service(name: str) -> Any:
    """An identity service (duplicates, merges, consent, data_rights, segments), imported on the first
    request: its store pulls PynamoDB, which the other routes' cold starts need not pay for."""
    from importlib import import_module

    return import_module(f"chalicelib.services.{name}")


@endpoint(bp, "/v1/duplicates", "GET", scope="admin")
def list_duplicates(request: Request) -> Response:
    params = query(request)
    return json_response(200, _service("duplicates").list_duplicates(params, wiring.deps()))


@endpoint(bp, "/v1/contacts/{contact_id}/merge", "POST", scope="admin")
def merge(request: Request, contact_id: str) -> Response:
    body = read_json(request)
    return json_response(200, _service("merges").merge(contact_id, body, wiring.deps()))


@endpoint(bp, "/v1/merges/{merge_id}/undo", "POST", scope="admin")
def undo_merge(request: Request, merge_id: str) -> Response:
    return json_response(200, _service("merges").undo_merge(merge_id, wiring.deps()))


@endpoint(bp, "/v1/contacts/{contact_id}/consent", "PUT", scope="admin")
def set_consent(request: Request, contact_id: str) -> Response:
    body = read_json(request)
    return json_response(200, _service("consent").set_consent(contact_id, body, wiring.deps()))


@endpoint(bp, "/v1/contacts/{contact_id}/export", "GET", scope="admin")
def export(request: Request, contact_id: str) -> Response:
    return json_response(200, _service("data_rights").export(contact_id, wiring.deps()))


@endpoint(bp, "/v1/contacts/{contact_id}", "DELETE", scope="admin")
def erase(request: Request, contact_id: str) -> Response:
    """202 and the erasure job (``GET /v1/jobs/{job_id}``); effective at once, the same job on a repeat."""
    from chalicelib.services import erasure

    return json_response(202, erasure.request_erasure(contact_id, wiring.deps()))


@endpoint(bp, "/v1/segments/query", "POST", scope="admin")
def query_segment(request: Request) -> Response:
    return json_response(200, _service("segments").query_segment(read_json(request), wiring.deps()))


@endpoint(bp, "/v1/segments/{segment_id}", "PUT", scope="admin")
def put_segment(request: Request, segment_id: str) -> Response:
    created, body = _service("segments").put_segment(segment_id, read_json(request), wiring.deps().identity)
    return json_response(201 if created else 200, body)


@endpoint(bp, "/v1/segments/{segment_id}", "GET", scope="admin")
def get_segment(request: Request, segment_id: str) -> Response:
    return json_response(200, _service("segments").get_segment(segment_id, wiring.deps().identity))
