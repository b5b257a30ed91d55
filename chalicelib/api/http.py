"""The shared shape of every route: key check, request reading, error mapping, metrics flush.

Reading a request is done here and only here, strictly, so no route needs its own defences: JSON
bodies through :mod:`chalicelib.domain.jsontext` (no ``NaN``/``Infinity``, lone surrogates, duplicate
keys or nesting past 32 levels: 400 naming the field), query parameters through :func:`query` (each
at most once, text without control characters), path ids by :func:`endpoint` (not empty, not longer
than DynamoDB keys allow, text without control characters). Cursors are signed where they are made
(``store/dynamo.py``)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.errors import (
    ApiError,
    Forbidden,
    MalformedBody,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    error_body,
    translate,
)
from chalicelib.domain import jsontext
from chalicelib.domain.access import ApiKey
from chalicelib.observability import (
    CORRELATION_HEADER,
    bind_correlation_id,
    flush,
    logger,
    valid_correlation_id,
)

MAX_BODY_BYTES = 64 * 1024
MAX_ID_BYTES = 256
JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
View = Callable[..., Response]


def _new_id() -> str:
    import uuid  # lazily: API Gateway gives every request an id, only local servers lack one

    return uuid.uuid4().hex


def correlate(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware for HTTP: the request's correlation id (its ``X-Correlation-Id`` when it is
    one, else API Gateway's request id) is bound while the request is served and answered back."""
    supplied = valid_correlation_id(request.headers.get(CORRELATION_HEADER.lower()))
    context = request.context if isinstance(request.context, dict) else {}
    value = supplied or valid_correlation_id(context.get("requestId")) or _new_id()
    bind_correlation_id(value)
    try:
        response = get_response(request)
    finally:
        bind_correlation_id(None)
    response.headers[CORRELATION_HEADER] = value
    return response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def endpoint(
    bp: Blueprint, path: str, method: str, scope: str | None, headers: dict[str, str] | None = None
) -> Callable[[View], View]:
    """Register a route. ``scope=None`` marks a public route; every other route needs an API key
    whose scopes allow ``scope`` (401 without a valid key, 403 with the wrong scope). ``headers`` go
    on every answer of the route, errors included (the console's security headers)."""

    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            request = bp.current_request
            response = _answer(view, request, path_params, scope, path, method)
            if headers:
                response.headers = {**headers, **response.headers}
            return response

        bp.route(path, methods=[method], content_types=["*/*"])(handle)
        return handle

    return register


def _answer(
    view: View, request: Request, path_params: dict[str, str], scope: str | None, path: str, method: str
) -> Response:
    try:
        for name, value in path_params.items():
            _check_path_id(name, value)
        caller.set(_authorize(request, scope) if scope is not None else None)
        return view(request, **path_params)
    except Exception as exc:  # every client error is mapped; anything else is our fault
        mapped = translate(exc)
        if mapped is None:
            logger.exception("unhandled error", extra={"path": path, "method": method})
            return json_response(500, error_body("internal_error", "something went wrong on our side"))
        status, body, headers = mapped
        return json_response(status, body, headers)
    finally:
        flush()


def _check_path_id(name: str, value: str) -> None:
    if not value.strip():
        raise ApiError(f"{name} must not be empty", name)
    if not _is_text(value):
        raise ApiError(f"{name} must be text without control characters", name)
    if len(value.encode()) > MAX_ID_BYTES:  # no id is this long; DynamoDB would refuse the key
        raise ApiError(f"{name} is longer than {MAX_ID_BYTES} bytes", name)


def _is_text(value: str) -> bool:
    """Encodable (no lone surrogates) and without control characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return value.isprintable() or all(c.isprintable() or c in "\t" for c in value)


def query(request: Request) -> dict[str, str]:
    """The query parameters, each given at most once (a repeated one is ambiguous: 400 naming it) and
    text without control characters."""
    params: Any = request.query_params or {}
    found: dict[str, str] = {}
    for name in params:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if not _is_text(name):
            raise ApiError("query parameter names must be text", "query")
        if len(values) > 1:
            raise ApiError(f"{name} is given {len(values)} times; give it once", name)
        if not _is_text(values[0]):
            raise ApiError(f"{name} must be text without control characters", name)
        found[name] = values[0]
    return found


def json_parameter(value: str, name: str) -> Any:
    """JSON given in a query parameter (``?mapping=``), read as strictly as a body."""
    return jsontext.loads(value, name)


#: The API key of the request being handled (``None`` on public routes).
caller: ContextVar[ApiKey | None] = ContextVar("caller", default=None)


def _authorize(request: Request, scope: str) -> ApiKey:
    from chalicelib import wiring
    from chalicelib.services.access import authenticate

    key = authenticate(request.headers.get("x-api-key"), wiring.deps().store, wiring.deps().keys_cache)
    if key is None:
        raise Unauthenticated("send a valid API key in X-Api-Key", "X-Api-Key")
    if not key.allows(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope", "X-Api-Key")
    return key


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def raw_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The body's bytes as sent (signatures are computed on these); 413 when too large."""
    body = request.raw_body or b""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    return raw


def _json(raw: bytes) -> Any:
    return jsontext.loads(raw, "body")


def read_json(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The JSON object in the body: 415 for another type, 413 too large, 400 not JSON or not an object."""
    if media_type(request) != JSON:
        raise UnsupportedMediaType("send the body as application/json", "Content-Type")
    return parse_json_bytes(request, raw_body(request, max_bytes))


def parse_json_bytes(request: Request, raw: bytes) -> dict[str, Any]:
    """A body already read (and, for webhooks, authenticated) as a JSON object."""
    if media_type(request) not in (JSON, ""):
        raise UnsupportedMediaType("send the body as application/json", "Content-Type")
    body = _json(raw)
    if not isinstance(body, dict):
        raise MalformedBody("the body must be a JSON object")
    return body


def read_fields(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """A form's fields, sent as JSON or urlencoded."""
    media = media_type(request)
    if media == JSON:
        return read_json(request, max_bytes)
    if media != URLENCODED:
        raise UnsupportedMediaType(f"send the form as {JSON} or {URLENCODED}", "Content-Type")
    raw = raw_body(request, max_bytes)
    try:
        parsed = parse_qs(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=1000
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody(f"the body is not a valid urlencoded form ({exc})") from None
    return {name: values[-1] if len(values) == 1 else values for name, values in parsed.items()}


def body_digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def authorize_if_keyed(request: Request, scope: str) -> ApiKey | None:
    """On a public route: the caller's key when one is sent (checked like on any route: 401 wrong,
    403 without ``scope``), ``None`` for an anonymous caller."""
    key = _authorize(request, scope) if request.headers.get("x-api-key") is not None else None
    caller.set(key)
    return key


def replay_safe(
    bp: Blueprint,
    operation: str,
    function: Callable[[dict[str, Any]], dict[str, Any]],
    key: str | None,
    request: dict[str, Any],
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response:
    """Run ``function(request) -> {"status", "body"}`` once per key: a retry with the same key (the
    ``Idempotency-Key`` header, or for forms the payload's digest) gets the first answer again. Keys are
    kept apart per API key, so two integrations choosing the same key never see each other's answer.
    ``view`` shapes the body shown (the full answer is what is kept for a replay)."""
    from chalicelib import wiring

    if key is None:
        result = function(request)
    else:
        key_owner = caller.get()
        key = f"{key_owner.key_id}:{key}" if key_owner is not None else key
        call = wiring.idempotent(operation, function)
        context = getattr(bp, "lambda_context", None)
        config = getattr(call, "idempotency_config", None)
        if context is not None and config is not None and hasattr(context, "get_remaining_time_in_millis"):
            config.register_lambda_context(context)
        result = call(request={**request, "key": f"{operation}:{key}"})
    body = view(result["body"]) if view is not None else result["body"]
    return json_response(result["status"], body, result.get("headers"))


def idempotency_key(request: Request) -> str | None:
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    if not 1 <= len(value) <= 255:
        raise ApiError("Idempotency-Key must be 1-255 characters", "Idempotency-Key")
    return value
