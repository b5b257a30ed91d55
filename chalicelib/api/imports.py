"""CSV imports (ingest): post a file, or ask for an upload URL for a large one; follow its progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.errors import UnsupportedMediaType
from chalicelib.api.http import endpoint, json_parameter, json_response, media_type, raw_body, read_json
from chalicelib.domain.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from chalicelib.api.schemas.queries import ImportQuery
    from chalicelib.integrations.csv_import import ImportMapping

bp = Blueprint(__name__)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


def _mapping(params: ImportQuery) -> ImportMapping:
    """``?mapping=<json>&topic=...``: the query's shortcuts (``source``, ``topic``, ``campaign``,
    ``consent``) fill what the JSON mapping leaves out."""
    from chalicelib.integrations import csv_import

    spec: Any = {}
    if params.mapping:
        spec = json_parameter(params.mapping, "mapping")  # 400 naming the field, as a body would
        if not isinstance(spec, dict):
            raise ValidationFailed([FieldError("mapping", "mapping must be a JSON object")])
    for name in ("source", "topic", "campaign", "consent"):
        if getattr(params, name):
            spec.setdefault(name, getattr(params, name))
    return csv_import.parse_mapping(spec)


@endpoint(
    bp,
    "/v1/imports",
    "POST",
    scope="ingest",
    summary="a CSV import (text/csv body, mapping in the query) or an upload URL (JSON body)",
    body={"type": "string"},
    media=("text/csv",),
    query="queries.ImportQuery",
    ok=("201", "202"),
)
def create_import(request: Request, query: ImportQuery) -> Response:
    """``text/csv``: the file itself (up to ``IMPORT_MAX_BODY_BYTES``), mapping in the query string;
    ``application/json``: ``{"mapping", "name"}`` for an upload URL."""
    from chalicelib.api import views
    from chalicelib.api.schemas.bodies import UploadRequest
    from chalicelib.api.schemas.common import parse
    from chalicelib.integrations import csv_import
    from chalicelib.services import imports

    deps = wiring.deps()
    media = media_type(request)
    if media == "application/json":
        upload = parse(UploadRequest, read_json(request))
        mapping = csv_import.parse_mapping(upload.mapping or {})
        return json_response(201, views.upload_offered(imports.create_upload(mapping, upload.name, deps)))
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv, or JSON to get an upload URL", "Content-Type")
    data = raw_body(request, deps.settings.import_max_body_bytes)
    accepted = imports.create_from_csv(data, _mapping(query), query.name, deps)
    headers = {"Location": f"/v1/imports/{accepted.import_id}"}
    return json_response(202, views.import_accepted(accepted), headers)


@endpoint(bp, "/v1/imports/{import_id}", "GET", scope="ingest", summary="an import's progress")
def get_import(request: Request, import_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import imports

    return json_response(200, views.import_progress(imports.get_import(import_id, wiring.deps())))
