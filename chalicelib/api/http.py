"""The shared shape of every route: its declaration (the registry the OpenAPI document is made from),
key check, request reading, and the one HTTP middleware (correlation, error mapping, CORS).

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
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response
from chalice.app import ChaliceUnhandledError, Request

from chalicelib.api.errors import (
    ApiError,
    Forbidden,
    MalformedBody,
    PayloadTooLarge,
    PreconditionRequired,
    Unauthenticated,
    UnsupportedMediaType,
    error_body,
    translate,
)
from chalicelib.domain import jsontext
from chalicelib.domain.access import ApiKey
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.observability import (
    CORRELATION_HEADER,
    bind_correlation_id,
    logger,
    valid_correlation_id,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chalicelib.api.schemas.common import RequestModel

MAX_BODY_BYTES = 64 * 1024
MAX_ID_BYTES = 256
JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
View = Callable[..., Response]
#: A model a route declares, by name: ``"bodies.LeadPatch"`` (a module of :mod:`chalicelib.api.schemas`
#: and a class in it) or a full path (``"chalicelib.domain.forms.FormDefinition"``). Named, not
#: imported, so ``import app`` builds no pydantic class: each model loads when its route is first
#: served, or when the OpenAPI document is made (docs/house-report.md has the cold-start figures).
ModelName = str


def model(name: ModelName) -> type[BaseModel]:
    """The model a route names (``"queries.LeadsQuery"``), imported on first use."""
    from pydantic import BaseModel

    module, _, cls = name.rpartition(".")
    package = "" if module.startswith("chalicelib.") else "chalicelib.api.schemas."
    found = getattr(import_module(package + module), cls)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise TypeError(f"{name} is not a pydantic model")
    return found


def _new_id() -> str:
    import uuid  # lazily: API Gateway gives every request an id, only local servers lack one

    return uuid.uuid4().hex


@dataclass(frozen=True)
class Operation:
    """One route, declared once on its view (:func:`endpoint`): who may call it, what it reads and
    answers. ``api/openapi.py`` turns the registry of these into the OpenAPI document."""

    method: str
    path: str
    scope: str | None
    summary: str
    ok: tuple[str, ...]
    #: The body: a request model's name (parsed before the view runs when it is a request model; else
    #: a model the service parses itself), or a JSON schema.
    body: ModelName | dict[str, Any] | None = None
    optional_body: bool = False
    max_body: int = MAX_BODY_BYTES
    media: tuple[str, ...] = (JSON,)
    #: The query string's request model, by name.
    query: ModelName | None = None
    #: Request headers worth documenting (signatures).
    request_headers: tuple[str, ...] = ()
    #: The answer's model, by name (documented).
    response: ModelName | None = None
    idempotent: bool = False
    #: A public route that takes a key of this scope when one is sent.
    optional_key: str | None = None
    produces: str | None = None
    empty: bool = False
    any_id: bool = False
    #: Headers on every answer of the route, errors included (the console's security headers).
    headers: dict[str, str] = field(default_factory=dict)
    #: The route's CORS headers for a request (raising refuses it: 403 for an origin not allowed).
    cors: Callable[[Request, dict[str, str]], dict[str, str]] | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @cached_property
    def body_model(self) -> type[BaseModel] | None:
        return model(self.body) if isinstance(self.body, str) else None

    @cached_property
    def query_model(self) -> type[RequestModel] | None:
        return _request_model(self.query) if self.query is not None else None

    @cached_property
    def response_model(self) -> type[BaseModel] | None:
        return model(self.response) if self.response is not None else None

    @cached_property
    def parse_body(self) -> type[RequestModel] | None:
        """The request model parsed before the view runs (``None``: the view reads the body)."""
        from chalicelib.api.schemas.common import RequestModel

        found = self.body_model
        return found if found is not None and issubclass(found, RequestModel) else None


def _request_model(name: ModelName) -> type[RequestModel]:
    from chalicelib.api.schemas.common import RequestModel

    found = model(name)
    if not issubclass(found, RequestModel):
        raise TypeError(f"{name} is not a request model")
    return found


#: Every route of the app, ``"METHOD /path"`` -> its :class:`Operation`.
OPERATIONS: dict[str, Operation] = {}


class RouteFailed(ChaliceUnhandledError):
    """Carries a view's exception (``__cause__``) past Chalice to :func:`serve`, which maps it."""


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def model_response(status: int, answer: BaseModel, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, answer.model_dump(mode="json"), headers)


def endpoint(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    scope: str | None,
    summary: str,
    ok: tuple[str, ...] = ("200",),
    body: ModelName | dict[str, Any] | None = None,
    optional_body: bool = False,
    max_body: int = MAX_BODY_BYTES,
    media: tuple[str, ...] = (JSON,),
    query: ModelName | None = None,
    request_headers: tuple[str, ...] = (),
    response: ModelName | None = None,
    idempotent: bool = False,
    optional_key: str | None = None,
    produces: str | None = None,
    empty: bool = False,
    any_id: bool = False,
    headers: dict[str, str] | None = None,
    cors: Callable[[Request, dict[str, str]], dict[str, str]] | None = None,
) -> Callable[[View], View]:
    """Register a route and declare it. ``scope=None`` marks a public route; every other route needs an
    API key whose scopes allow ``scope`` (401 without a valid key, 403 with the wrong scope). A
    ``query`` model parses the query string (the view gets ``query=``); a request-model ``body`` is
    parsed from JSON (the view gets ``body=``). Models are named (:data:`ModelName`) and load when the
    route is first served."""
    operation = Operation(
        method=method,
        path=path,
        scope=scope,
        summary=summary,
        ok=ok,
        body=body,
        optional_body=optional_body,
        max_body=max_body,
        media=media,
        query=query,
        request_headers=request_headers,
        response=response,
        idempotent=idempotent,
        optional_key=optional_key,
        produces=produces,
        empty=empty,
        any_id=any_id,
        headers=dict(headers or {}),
        cors=cors,
    )
    if operation.key in OPERATIONS:
        raise ValueError(f"{operation.key} is declared twice")
    OPERATIONS[operation.key] = operation

    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            try:
                return _answer(view, operation, bp.current_request, path_params)
            except Exception as exc:  # mapped once, by serve()
                raise RouteFailed(type(exc).__name__) from exc

        bp.route(path, methods=[method], content_types=["*/*"])(handle)
        return handle

    return register


def _answer(view: View, operation: Operation, request: Request, path_params: dict[str, str]) -> Response:
    serving.set(operation)
    caller.set(_authorize(request, operation.scope) if operation.scope is not None else None)
    arguments: dict[str, Any] = dict(path_params)
    if operation.query is not None or isinstance(operation.body, str):  # a model is named
        from chalicelib.api.schemas.common import parse

        if (query_model := operation.query_model) is not None:
            arguments["query"] = parse(query_model, query(request))
        if (body_model := operation.parse_body) is not None:
            data = (
                read_json(request, operation.max_body)
                if request.raw_body or not operation.optional_body
                else {}
            )
            arguments["body"] = parse(body_model, data)
    return view(request, **arguments)


def serve(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The one HTTP middleware: the request's correlation id (its ``X-Correlation-Id`` when it is one,
    else API Gateway's request id) bound while it is served and answered back; path ids checked; every
    error a client can cause mapped to its status and JSON body (anything else: 500, logged); the
    route's CORS headers (on its errors too, so a page can read the field errors) and fixed headers."""
    supplied = valid_correlation_id(request.headers.get(CORRELATION_HEADER.lower()))
    context = request.context if isinstance(request.context, dict) else {}
    value = supplied or valid_correlation_id(context.get("requestId")) or _new_id()
    bind_correlation_id(value)
    operation = OPERATIONS.get(f"{request.method} {context.get('resourcePath')}")
    try:
        response = _serve(request, get_response, operation)
    finally:
        bind_correlation_id(None)
    if operation is not None and operation.headers:
        response.headers = {**operation.headers, **response.headers}
    response.headers[CORRELATION_HEADER] = value
    return response


def _serve(
    request: Request, get_response: Callable[[Request], Response], operation: Operation | None
) -> Response:
    try:
        cors: dict[str, str] = {}
        if operation is not None:
            params = dict(request.uri_params or {})
            for name, param in params.items():
                # a public token route (any_id) answers a malformed token (too long, control
                # characters) as it answers a forged one: the token check (domain/email.py:
                # read_token) refuses it, the person lands on the neutral page, nothing is recorded
                if not operation.any_id:
                    _check_path_id(name, param)
            cors = operation.cors(request, params) if operation.cors is not None else {}
    except Exception as exc:  # refused before the route ran: no CORS (the origin may not read it)
        return error_response(exc, request)
    try:
        response = get_response(request)
    except RouteFailed as failed:
        response = error_response(failed.__cause__ or failed, request)
    response.headers.update(cors)
    return response


def error_response(exc: BaseException, request: Request) -> Response:
    mapped = translate(exc) if isinstance(exc, Exception) else None
    if mapped is None:
        context = request.context if isinstance(request.context, dict) else {}
        logger.exception(
            "unhandled error",
            extra={"path": context.get("resourcePath"), "method": request.method},
            exc_info=exc,
        )
        return json_response(500, error_body("internal_error", "something went wrong on our side"))
    status, body, headers = mapped
    return json_response(status, body, headers)


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


#: The route being served (``replay_safe`` checks it is declared idempotent).
serving: ContextVar[Operation | None] = ContextVar("serving", default=None)
#: The API key of the request being handled (``None`` on public routes).
caller: ContextVar[ApiKey | None] = ContextVar("caller", default=None)


def _authorize(request: Request, scope: str) -> ApiKey:
    """The caller: an API key (``X-Api-Key``) or a signed-in person (``Authorization: Bearer`` with a
    Cognito token, ``services/signin.py``), each allowed only the scopes it has."""
    from chalicelib import wiring

    bearer = _bearer(request)
    if bearer is not None and request.headers.get("x-api-key") is None:
        person = _token_caller(bearer)
        if not person.allows(scope):
            raise Forbidden(f"your role does not allow the {scope!r} scope", "Authorization")
        return person
    from chalicelib.services.access import authenticate

    key = authenticate(request.headers.get("x-api-key"), wiring.deps().store, wiring.deps().keys_cache)
    if key is None:
        raise Unauthenticated(
            "send a valid API key in X-Api-Key or a sign-in token as Authorization: Bearer", "X-Api-Key"
        )
    if not key.allows(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope", "X-Api-Key")
    return key


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    kind, _, token = value.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'", "Authorization")
    return token.strip()


def _token_caller(token: str) -> ApiKey:
    from chalicelib import wiring
    from chalicelib.api.errors import SignInUnavailable
    from chalicelib.domain.tokens import InvalidToken, KeysUnavailable
    from chalicelib.services import signin

    try:
        return signin.caller_for(token, wiring.deps())
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": exc.reason})
        raise Unauthenticated(f"the sign-in token is refused: {exc.reason}", "Authorization") from None
    except signin.NotLinked as exc:
        raise Forbidden(exc.reason, "Authorization") from None
    except (signin.SignInNotConfigured, KeysUnavailable) as exc:
        raise SignInUnavailable(str(exc), "Authorization") from None


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
    sent = request.headers.get("x-api-key") is not None or request.headers.get("authorization") is not None
    key = _authorize(request, scope) if sent else None
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
    ``view`` shapes the body shown (the full answer is what is kept for a replay). Only a route declared
    ``idempotent=True`` may use it, so the document's ``Idempotency-Key`` is never a promise unkept."""
    from chalicelib import wiring

    route = serving.get()
    if route is None or not route.idempotent:
        raise RuntimeError(f"{route.key if route else 'this route'} is not declared idempotent=True")

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


#: ``If-Match``: the version as an entity tag (``"3"``, weak ``W/"3"``) or bare (``3``).
_IF_MATCH = re.compile(r'\s*(?:W/)?"?([0-9]{1,12})"?\s*')


def etag(version: int | None) -> dict[str, str]:
    """The ``ETag`` header of a versioned resource (its optimistic-concurrency version)."""
    return {"ETag": f'"{version or 0}"'}


def if_match_version(request: Request) -> int:
    """The version a change was made from (``If-Match``): 428 without one, 422 when it is not one."""
    header = request.headers.get("if-match")
    if header is None:
        raise PreconditionRequired("send If-Match with the version you read (its ETag)", "If-Match")
    matched = _IF_MATCH.fullmatch(header)
    if matched is None:
        raise ValidationFailed(
            [FieldError("If-Match", 'If-Match must be a version, as the ETag gave it ("3")')]
        )
    return int(matched.group(1))


def idempotency_key(request: Request) -> str | None:
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    if not 1 <= len(value) <= 255:
        raise ApiError("Idempotency-Key must be 1-255 characters", "Idempotency-Key")
    return value
