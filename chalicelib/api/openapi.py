"""The OpenAPI 3 document of the whole API, generated from the one schema source: the routes'
declarations (``api/http.py``'s ``endpoint``: scope, idempotency, query, body and answer models) and
pydantic's JSON schema of those models (so every limit a model enforces is in the document).
``docs/openapi.json`` is this document, committed; ``tests/contract/test_openapi.py`` checks it is
current and names every route the app serves. Regenerate it with
``python -m chalicelib.api.openapi > docs/openapi.json`` (and ``python docs/api_reference.py``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

ERROR_STATUSES = {
    "400": "malformed request (syntax, an over-long id, an unknown parameter)",
    "401": "no or bad credentials or signature",
    "403": "the key's scope does not allow this (or the origin, or an unverified CAPTCHA)",
    "404": "not found",
    "409": "conflict: an impossible transition, a concurrent change, an erased contact",
    "412": "If-Match names a version that is no longer current (read the resource again)",
    "413": "body too large",
    "415": "unsupported content type",
    "422": "well-formed but invalid; names each field",
    "428": "a change that needs If-Match (the version read) came without it",
    "429": "rate limited; Retry-After says when to retry",
}

_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
_OBJECT: dict[str, Any] = {"type": "object"}
REF = "#/components/schemas/{model}"


def operations() -> dict[str, Any]:
    """Every declared route (importing the app declares them all)."""
    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib.api.http import OPERATIONS

    return dict(OPERATIONS)


def _schema(model: type[BaseModel], schemas: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    """``model``'s JSON schema as a reference into ``components/schemas`` (with what it refers to)."""
    found = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(found.pop("$defs", {}))
    schemas[model.__name__] = found
    return {"$ref": REF.format(model=model.__name__)}


def _body_schema(op: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    return _schema(op.body_model, schemas) if op.body_model is not None else op.body


def _path_parameters(path: str, any_id: bool = False) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    schema = {"type": "string", "minLength": 1} if any_id else _ID
    return [{"name": n, "in": "path", "required": True, "schema": schema} for n in names]


def _query_parameters(model: Any) -> list[dict[str, Any]]:
    if model is None:
        return []
    parameters = []
    for name, info in model.model_fields.items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
        }
        if info.description:
            parameter["description"] = info.description
        parameters.append(parameter)
    return parameters


def _operation(op: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = _path_parameters(op.path, op.any_id) + _query_parameters(op.query_model)
    parameters += [
        {"name": h, "in": "header", "required": False, "schema": {"type": "string"}}
        for h in op.request_headers
    ]
    if op.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    response = op.response_model
    answer = _schema(response, schemas, "serialization") if response is not None else _OBJECT
    responses: dict[str, Any] = {}
    for status in op.ok:
        if op.empty:
            responses[status] = {"description": "no content"}
        elif op.produces is not None:
            responses[status] = {"description": "success", "content": {op.produces: {"schema": {}}}}
        else:
            responses[status] = {
                "description": "success",
                "content": {"application/json": {"schema": answer}},
            }
    for status in ERROR_STATUSES:
        responses.setdefault(status, {"$ref": f"#/components/responses/E{status}"})
    operation: dict[str, Any] = {
        "operationId": op.method.lower()
        + "_"
        + "_".join(p.strip("{}") for p in op.path.strip("/").split("/")),
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
        "security": [{"apiKey": []}, {"cognito": []}]
        if op.scope
        else ([{}, {"apiKey": []}, {"cognito": []}] if op.optional_key else []),
        "x-scope": op.scope or "public",
    }
    if op.idempotent:
        operation["x-idempotent"] = True
    if op.body is not None:
        schema = _body_schema(op, schemas)
        operation["requestBody"] = {
            "required": not op.optional_body,
            "content": {m: {"schema": schema} for m in op.media},
        }
    return operation


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for op in operations().values():
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        },
    }
    responses = {
        f"E{status}": {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status, description in ERROR_STATUSES.items()
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Leadflow",
            "version": "1",
            "description": (
                "Lead capture, scoring, qualification and hand-off (see README.md). Every request may "
                "send `X-Correlation-Id` (1-128 of `A-Za-z0-9._:/=+-`; otherwise API Gateway's request "
                "id is used) and every answer carries it back in `X-Correlation-Id`: the records, "
                "queue messages and the hand-off's CloudEvent (`correlationid`) the request leads to "
                "carry it too (docs/deploy.md, Tracing)."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8000"}],
        "paths": {path: dict(sorted(paths[path].items())) for path in sorted(paths)},
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                # a person signed in with the stage's Cognito user pool (docs/auth.md): the ID or
                # access token; the groups give the same scopes keys have
                "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {"Error": error, **dict(sorted(schemas.items()))},
            "responses": responses,
        },
    }


def routes_of(app: Any) -> set[str]:
    """``"METHOD /path"`` for every route the Chalice app serves."""
    return {f"{method} {path}" for path, by_method in app.routes.items() for method in by_method}


def main() -> None:
    sys.stdout.write(json.dumps(document(), indent=2, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
