"""The OpenAPI 3 document of the whole API: generated from the Chalice app's routes and the small
registry below (who may call each route, its body, query and answers). ``docs/openapi.json`` is this
document, committed; ``tests/contract/test_openapi.py`` checks that every route is in the registry and
the document and nothing else is, and that the committed file is current. Regenerate it with
``python -m chalicelib.api.openapi > docs/openapi.json``."""

from __future__ import annotations

import json
import sys
from typing import Any

ERROR_STATUSES = {
    "400": "malformed request (syntax, an over-long id, an unknown parameter)",
    "401": "no or bad credentials or signature",
    "403": "the key's scope does not allow this (or the origin, or an unverified CAPTCHA)",
    "404": "not found",
    "409": "conflict: an impossible transition, a concurrent change, an erased contact",
    "413": "body too large",
    "415": "unsupported content type",
    "422": "well-formed but invalid; names each field",
    "429": "rate limited; Retry-After says when to retry",
}

_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
_OBJECT: dict[str, Any] = {"type": "object"}
_FIELD_SPEC = {
    "type": "object",
    "required": ["maps_to"],
    "properties": {
        "maps_to": {"type": "string"},
        "required": {"type": "boolean"},
        "type": {"type": "string"},
        "level": {"type": "string"},
        "max_length": {"type": "integer", "minimum": 1, "maximum": 10000},
    },
    "additionalProperties": False,
}
FORM_DEFINITION = {
    "type": "object",
    "required": ["name", "fields"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "source": {"type": "string", "minLength": 1, "maxLength": 64},
        "topic": {"type": "string", "maxLength": 500},
        "campaign": {"type": "string", "maxLength": 200},
        "fields": {"type": "object", "additionalProperties": _FIELD_SPEC, "minProperties": 1},
        "lead_matching": {
            "oneOf": [{"const": "new_lead_always"}, {"type": "array", "items": {"type": "string"}}]
        },
        "contact_matching": {"const": "email"},
        "consent_on_submit": {"type": "string"},
        "allowed_origins": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        "honeypot_field": {"type": "string"},
        "phone_region": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
        "min_fill_ms": {"type": "integer", "minimum": 0, "maximum": 600000},
        "fill_time_required": {"type": "boolean"},
        "captcha": {
            "type": "object",
            "required": ["provider"],
            "properties": {
                "provider": {"enum": ["turnstile", "recaptcha"]},
                "secret_ref": {"type": "string"},
            },
        },
        "update_policy": {"enum": ["fill_empty", "overwrite"]},
        "rate_limit": {
            "type": "object",
            "required": ["per_minute"],
            "properties": {
                "per_minute": {"type": "integer", "minimum": 1, "maximum": 100000},
                "burst": {"type": "integer", "minimum": 1, "maximum": 100000},
            },
        },
    },
    "additionalProperties": False,
}
SUBMISSION = {
    "type": "object",
    "description": "the form's fields by name; fields the form does not declare are ignored",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
LEAD_BODY = {
    "type": "object",
    "required": ["contact"],
    "properties": {
        "contact": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}},
        "account": _OBJECT,
        "lead": _OBJECT,
        "consent": {"type": "string"},
        "update_policy": {"enum": ["fill_empty", "overwrite"]},
    },
}
INTERACTIONS_BODY = {
    "type": "object",
    "required": ["interactions"],
    "properties": {
        "interactions": {
            "type": "array",
            "maxItems": 100,
            "description": (
                "each {id, type, occurred_at, contact_id or email, lead_id?, properties}; an invalid "
                "item is listed in the answer's rejected (by index), the others are accepted"
            ),
            "items": {},
        }
    },
}
LEAD_LIST_QUERY = [
    "state",
    "status",
    "model_id",
    "grade",
    "min_score",
    "contact_id",
    "source",
    "limit",
    "cursor",
]

#: ``"METHOD /path"`` -> who may call it (``None``: public), a summary, the request body schema (and
#: media types), query parameters, and the success statuses.
ROUTES: dict[str, dict[str, Any]] = {
    "GET /v1/health": {"scope": None, "summary": "liveness", "ok": ["200"]},
    "PUT /v1/forms/{form_id}": {
        "scope": "admin",
        "summary": "define a form",
        "body": FORM_DEFINITION,
        "ok": ["200", "201"],
    },
    "GET /v1/forms/{form_id}": {"scope": "admin", "summary": "a form definition", "ok": ["200"]},
    "OPTIONS /v1/forms/{form_id}/submissions": {
        "scope": None,
        "summary": "CORS preflight",
        "ok": ["204"],
        "empty": True,
    },
    "POST /v1/forms/{form_id}/submissions": {
        "scope": None,
        "optional_key": "ingest",
        "summary": (
            "a landing page posts a form: 201 {submission_id, status}, nothing about the person (suspected"
            " spam kept for review: 202, the same body); a caller with an ingest key gets the full capture"
        ),
        "body": SUBMISSION,
        "media": ["application/json", "application/x-www-form-urlencoded"],
        "ok": ["201", "202"],
    },
    "GET /v1/quarantine": {
        "scope": "admin",
        "summary": "suspected spam kept for review (newest first per page)",
        "query": ["form_id", "reason", "state", "limit", "cursor"],
        "ok": ["200"],
    },
    "GET /v1/quarantine/{quarantine_id}": {
        "scope": "admin",
        "summary": "a quarantined submission with what was submitted",
        "ok": ["200"],
    },
    "POST /v1/quarantine/{quarantine_id}/release": {
        "scope": "admin",
        "summary": "capture a quarantined submission as if accepted (201; a repeat: 200, the same ids)",
        "body": _OBJECT,
        "optional_body": True,
        "ok": ["200", "201"],
    },
    "POST /v1/leads": {"scope": "ingest", "summary": "create a lead", "body": LEAD_BODY, "ok": ["201"]},
    "GET /v1/leads": {"scope": "sales", "summary": "list leads", "query": LEAD_LIST_QUERY, "ok": ["200"]},
    "GET /v1/leads/{lead_id}": {
        "scope": "sales",
        "summary": "a lead with contact, account and scores",
        "ok": ["200"],
    },
    "GET /v1/leads/{lead_id}/timeline": {"scope": "sales", "summary": "a lead's timeline", "ok": ["200"]},
    "POST /v1/leads/{lead_id}/accept": {
        "scope": "sales",
        "summary": "accept",
        "body": _OBJECT,
        "optional_body": True,
        "ok": ["200"],
    },
    "POST /v1/leads/{lead_id}/qualify": {
        "scope": "sales",
        "summary": "qualify",
        "body": _OBJECT,
        "optional_body": True,
        "ok": ["200"],
    },
    "POST /v1/leads/{lead_id}/disqualify": {
        "scope": "sales",
        "summary": "disqualify",
        "body": {"type": "object", "properties": {"reason": {"type": "string"}}},
        "optional_body": True,
        "ok": ["200"],
    },
    "POST /v1/leads/{lead_id}/reopen": {
        "scope": "sales",
        "summary": "reopen",
        "body": _OBJECT,
        "optional_body": True,
        "ok": ["200"],
    },
    "GET /v1/contacts": {
        "scope": "admin",
        "summary": "list contacts, or find one by email",
        "query": ["marketing_only", "limit", "cursor", "email"],
        "ok": ["200"],
    },
    "GET /v1/contacts/{contact_id}": {"scope": "admin", "summary": "a contact with its leads", "ok": ["200"]},
    "POST /v1/interactions": {
        "scope": "ingest",
        "summary": "track interactions",
        "body": INTERACTIONS_BODY,
        "ok": ["202"],
    },
    "POST /v1/imports": {
        "scope": "ingest",
        "summary": "a CSV import (text/csv body) or an upload URL (JSON)",
        "body": {"type": "string"},
        "media": ["text/csv"],
        "query": ["mapping", "form_id"],
        "ok": ["201", "202"],
    },
    "GET /v1/imports/{import_id}": {"scope": "ingest", "summary": "an import's progress", "ok": ["200"]},
    "PUT /v1/scoring-models/{model_id}": {
        "scope": "admin",
        "summary": "save a model draft",
        "body": _OBJECT,
        "ok": ["201"],
    },
    "GET /v1/scoring-models": {"scope": "admin", "summary": "models", "ok": ["200"]},
    "GET /v1/scoring-models/{model_id}": {"scope": "admin", "summary": "a model", "ok": ["200"]},
    "POST /v1/scoring-models/{model_id}/publish": {
        "scope": "admin",
        "summary": "publish the draft",
        "ok": ["200", "202"],
    },
    "POST /v1/scoring-models/{model_id}/simulate": {
        "scope": "admin",
        "summary": "simulate the draft",
        "ok": ["200"],
    },
    "POST /v1/scoring-models/{model_id}/train": {
        "scope": "admin",
        "summary": "train a predictive model",
        "body": _OBJECT,
        "optional_body": True,
        "ok": ["200", "201", "202"],
    },
    "GET /v1/jobs/{job_id}": {"scope": "admin", "summary": "a rescoring job", "ok": ["200"]},
    "PUT /v1/qualification-rules/{rule_id}": {
        "scope": "admin",
        "summary": "a qualification rule",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "GET /v1/qualification-rules": {"scope": "admin", "summary": "qualification rules", "ok": ["200"]},
    "GET /v1/qualification-rules/{rule_id}": {
        "scope": "admin",
        "summary": "a qualification rule",
        "ok": ["200"],
    },
    "PUT /v1/triggers/{trigger_id}": {
        "scope": "admin",
        "summary": "a trigger",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "GET /v1/triggers": {"scope": "admin", "summary": "triggers", "ok": ["200"]},
    "GET /v1/triggers/{trigger_id}": {"scope": "admin", "summary": "a trigger", "ok": ["200"]},
    "PUT /v1/integrations/webhooks/{source}": {
        "scope": "admin",
        "summary": "a webhook source's mapping",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "GET /v1/integrations/webhooks/{source}": {
        "scope": "admin",
        "summary": "a webhook source",
        "ok": ["200"],
    },
    "POST /v1/integrations/webhooks/{source}/secrets": {
        "scope": "admin",
        "summary": "a new signing secret (shown once)",
        "ok": ["201"],
    },
    "DELETE /v1/integrations/webhooks/{source}/secrets/{secret_id}": {
        "scope": "admin",
        "summary": "retire a secret",
        "ok": ["200"],
    },
    "POST /v1/webhooks/{source}": {
        "scope": None,
        "summary": (
            "a signed lead webhook, Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature ="
            " v1,<base64 HMAC-SHA256 of id.timestamp.body>): 201 {delivery_id, status}"
        ),
        "body": _OBJECT,
        "headers": ["webhook-id", "webhook-timestamp", "webhook-signature"],
        "ok": ["201"],
    },
    "GET /v1/webhooks/linkedin": {
        "scope": None,
        "summary": "LinkedIn's challenge",
        "query": ["challengeCode"],
        "ok": ["200"],
    },
    "POST /v1/webhooks/linkedin": {
        "scope": None,
        "summary": "LinkedIn lead notifications (X-LI-Signature)",
        "body": _OBJECT,
        "headers": ["X-LI-Signature"],
        "ok": ["200"],
    },
    "PUT /v1/integrations/linkedin/forms/{form_urn}": {
        "scope": "admin",
        "summary": "a LinkedIn form's mapping",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "GET /v1/integrations/linkedin/forms/{form_urn}": {
        "scope": "admin",
        "summary": "a LinkedIn form's mapping",
        "ok": ["200"],
    },
    # identity and data rights
    "GET /v1/duplicates": {
        "scope": "admin",
        "summary": "suspected duplicate contacts",
        "query": ["limit", "cursor", "strength"],
        "ok": ["200"],
    },
    "POST /v1/contacts/{contact_id}/merge": {
        "scope": "admin",
        "summary": "merge a duplicate into this contact",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "POST /v1/merges/{merge_id}/undo": {
        "scope": "admin",
        "summary": "undo a merge",
        "ok": ["200"],
    },
    "PUT /v1/contacts/{contact_id}/consent": {
        "scope": "admin",
        "summary": "set a contact's consent",
        "body": _OBJECT,
        "ok": ["200"],
    },
    "GET /v1/contacts/{contact_id}/export": {
        "scope": "admin",
        "summary": "everything held about a contact",
        "ok": ["200"],
    },
    "DELETE /v1/contacts/{contact_id}": {
        "scope": "admin",
        "summary": (
            "erase a contact's personal data: 202 and the erasure job (GET /v1/jobs/{job_id}); effective"
            " at once, the same job when asked again"
        ),
        "ok": ["200", "202", "204"],
    },
    "POST /v1/segments/query": {
        "scope": "admin",
        "summary": "contacts of the leads matching a condition",
        "body": _OBJECT,
        "ok": ["200"],
    },
    "PUT /v1/segments/{segment_id}": {
        "scope": "admin",
        "summary": "a saved segment",
        "body": _OBJECT,
        "ok": ["200", "201"],
    },
    "GET /v1/segments/{segment_id}": {"scope": "admin", "summary": "a saved segment", "ok": ["200"]},
    # the console, the capture script, reports, hand-off dead letters
    "GET /console": {
        "scope": None,
        "summary": "the operator console (HTML)",
        "ok": ["200"],
        "produces": "text/html",
    },
    "GET /console/{asset}": {"scope": None, "summary": "a console asset", "ok": ["200"], "produces": "*/*"},
    "GET /capture.js": {
        "scope": None,
        "summary": "the capture script for landing pages",
        "ok": ["200"],
        "produces": "text/javascript",
    },
    "GET /v1/reports/funnel": {
        "scope": "sales",
        "summary": "the lead funnel",
        "query": ["from", "to", "source"],
        "ok": ["200"],
    },
    "GET /v1/reports/scores/{model_id}": {
        "scope": "sales",
        "summary": "score distribution of a model (an unknown id: an empty report)",
        "any_id": True,
        "ok": ["200"],
    },
    "GET /v1/handoffs/dead-letters": {
        "scope": "admin",
        "summary": "hand-offs in the dead-letter queue",
        "ok": ["200"],
    },
    "POST /v1/handoffs/dead-letters/redrive": {
        "scope": "admin",
        "summary": "redrive dead-lettered hand-offs",
        "ok": ["200", "202"],
    },
}


#: The POSTs that take ``Idempotency-Key`` (a retry gets the first answer).
IDEMPOTENT = {
    "POST /v1/forms/{form_id}/submissions",
    "POST /v1/leads",
    "POST /v1/interactions",
    "POST /v1/scoring-models/{model_id}/publish",
    "POST /v1/scoring-models/{model_id}/train",
    *(f"POST /v1/leads/{{lead_id}}/{action}" for action in ("accept", "qualify", "disqualify", "reopen")),
}


def _path_parameters(path: str, any_id: bool = False) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    schema = {"type": "string", "minLength": 1} if any_id else _ID
    return [{"name": n, "in": "path", "required": True, "schema": schema} for n in names]


def _operation(method: str, path: str, spec: dict[str, Any]) -> dict[str, Any]:
    parameters = _path_parameters(path, spec.get("any_id", False))
    parameters += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
        for q in spec.get("query", [])
    ]
    parameters += [
        {"name": h, "in": "header", "required": False, "schema": {"type": "string"}}
        for h in spec.get("headers", [])
    ]
    if f"{method} {path}" in IDEMPOTENT:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    responses: dict[str, Any] = {}
    for status in spec["ok"]:
        if spec.get("empty"):
            responses[status] = {"description": "no content"}
        elif "produces" in spec:
            responses[status] = {"description": "success", "content": {spec["produces"]: {"schema": {}}}}
        else:
            responses[status] = {
                "description": "success",
                "content": {"application/json": {"schema": _OBJECT}},
            }
    for status in ERROR_STATUSES:
        responses.setdefault(status, {"$ref": f"#/components/responses/E{status}"})
    operation: dict[str, Any] = {
        "operationId": method.lower() + "_" + "_".join(p.strip("{}") for p in path.strip("/").split("/")),
        "summary": spec["summary"],
        "parameters": parameters,
        "responses": responses,
        "security": [{"apiKey": []}]
        if spec["scope"]
        else ([{}, {"apiKey": []}] if "optional_key" in spec else []),
        "x-scope": spec["scope"] or "public",
    }
    if "body" in spec:
        media = spec.get("media", ["application/json"])
        operation["requestBody"] = {
            "required": not spec.get("optional_body", False),
            "content": {m: {"schema": spec["body"]} for m in media},
        }
    return operation


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route, spec in ROUTES.items():
        method, path = route.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, spec)
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
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
            "schemas": {"Error": error},
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
