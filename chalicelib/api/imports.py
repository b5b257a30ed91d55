"""CSV imports (ingest): post a file, or ask for an upload URL for a large one; follow its progress."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.errors import UnsupportedMediaType
from chalicelib.api.http import endpoint, json_response, media_type, query, raw_body, read_json
from chalicelib.services import imports

bp = Blueprint(__name__)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@endpoint(bp, "/v1/imports", "POST", scope="ingest")
def create_import(request: Request) -> Response:
    """``text/csv``: the file itself (up to ``IMPORT_MAX_BODY_BYTES``), mapping in the query string;
    ``application/json``: ``{"mapping", "name"}`` for an upload URL."""
    deps = wiring.deps()
    media = media_type(request)
    if media == "application/json":
        return json_response(201, imports.create_upload(read_json(request), deps))
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv, or JSON to get an upload URL", "Content-Type")
    data = raw_body(request, deps.settings.import_max_body_bytes)
    answer = imports.create_from_csv(data, query(request), deps)
    return json_response(202, answer, {"Location": f"/v1/imports/{answer['import_id']}"})


@endpoint(bp, "/v1/imports/{import_id}", "GET", scope="ingest")
def get_import(request: Request, import_id: str) -> Response:
    return json_response(200, imports.get_import(import_id, wiring.deps()))
