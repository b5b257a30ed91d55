"""The largest CSV body the import API accepts reaches Lambda intact and within its 6 MB event limit,
once API Gateway has base64-encoded it (CSV is a binary media type so that non-UTF-8 exports keep
their bytes)."""

from __future__ import annotations

import base64
import json

from chalice.local import LambdaEventConverter, RouteMatcher

from app import app
from chalicelib.settings import Settings

#: Lambda's limit on a synchronous invocation's request (API Gateway's proxy event).
LAMBDA_EVENT_BYTES = 6 * 1024 * 1024


def event_for(body: bytes) -> dict:
    converter = LambdaEventConverter(RouteMatcher(["/v1/imports"]), app.api.binary_types)
    headers = {"content-type": "text/csv", "x-api-key": "lf_" + "k" * 40, "user-agent": "x" * 512}
    headers.update({f"x-forwarded-header-{n}": "v" * 200 for n in range(20)})  # headers a CDN may add
    return converter.create_lambda_event("POST", "/v1/imports?topic=Spring%20fair", headers, body)


def test_csv_is_a_binary_media_type_so_latin_1_bytes_arrive_unchanged():
    assert {"text/csv", "application/csv"} <= set(app.api.binary_types)
    latin1 = "Email,Company\r\nzoe@example.org,Société Générale\r\n".encode("latin-1")
    event = event_for(latin1)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == latin1


def test_the_largest_accepted_body_fits_lambdas_event_after_base64():
    limit = Settings().import_max_body_bytes
    assert limit == 4 * 1024 * 1024
    size = len(json.dumps(event_for(b"a" * limit)))
    assert size < LAMBDA_EVENT_BYTES, f"{size:,} bytes"
    # the previous limit (5 MiB) did not fit: 7.0 MB once encoded
    assert len(json.dumps(event_for(b"a" * 5 * 1024 * 1024))) > LAMBDA_EVENT_BYTES
