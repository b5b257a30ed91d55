"""Render ``docs/openapi.json`` (the OpenAPI 3 document of the API) as ``docs/api-reference.md``.

    python docs/api_reference.py [--input docs/openapi.json] [--output docs/api-reference.md]

Standard library only; the markdown lists each operation with its scope, parameters, body fields and
answers, in the document's order."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent


def _ref(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


_LIMITS = (
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("minProperties", "at least {} entries"),
    ("maxProperties", "at most {} entries"),
    ("pattern", "matching `{}`"),
)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema or "oneOf" in schema:
        options = [s for s in schema.get("anyOf", schema.get("oneOf", [])) if s.get("type") != "null"]
        return " or ".join(_type(s) for s in options) or "any"
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    if kind == "array":
        kind = f"array of {_type(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        kind = f"object of {_type(schema['additionalProperties'])}"
    limits = [text.format(schema[key]) for key, text in _LIMITS if key in schema]
    return f"{kind} ({', '.join(limits)})" if limits else str(kind)


def _fields(document: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    schema = _ref(document, schema)
    required = set(schema.get("required", []))
    rows = []
    for name, found in schema.get("properties", {}).items():
        prop = _ref(document, found)
        need = "yes" if name in required else ""
        rows.append(f"| `{prefix}{name}` | {_type(prop)} | {need} | {prop.get('description', '')} |")
        if prop.get("type") == "object" and prop.get("properties") and len(prefix) < 40:
            rows += _fields(document, prop, f"{prefix}{name}.")
    return rows


def _operation(document: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> list[str]:
    scope = op.get("x-scope") or ("public" if not op.get("security") else "key")
    idempotent = " Retry-safe: send `Idempotency-Key`." if op.get("x-idempotent") else ""
    lines = [
        f"### `{method.upper()} {path}`",
        "",
        f"{op.get('summary', '')}. Scope: **{scope}**.{idempotent}",
        "",
    ]
    if op.get("description"):
        lines += [op["description"], ""]
    params = [_ref(document, p) for p in op.get("parameters", [])]
    if params:
        lines += ["| parameter | in | type | required | |", "|---|---|---|---|---|"]
        for p in params:
            need = "yes" if p.get("required") else ""
            about = p.get("description", "")
            lines.append(f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {need} | {about} |")
        lines.append("")
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        rows = _fields(document, content.get("schema", {}))
        lines.append(f"Body: `{media}`" + (":" if rows else "."))
        if rows:
            lines += ["", "| field | type | required | |", "|---|---|---|---|", *rows]
        lines.append("")
    success, errors = [], []
    for status, answer in op.get("responses", {}).items():
        if status.startswith(("2", "3")):
            success.append(f"{status} {_ref(document, answer).get('description', '')}".strip())
        else:
            errors.append(status)
    lines += [f"Answers: {'; '.join(success)}. Errors: {', '.join(errors) or 'none'}.", ""]
    return lines


def render(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    lines = [
        f"# {info.get('title', 'API')} HTTP API reference",
        "",
        "Generated from `docs/openapi.json` by `python docs/api_reference.py`; do not edit by hand.",
        "Conventions (errors, keys, paging, idempotency) are in `docs/quickstart.md` and the README.",
        "",
        'Errors are `{"error": {"code", "message", "field"}}`; a 422 also lists `error.fields`.',
        "",
    ]
    for status, answer in document.get("components", {}).get("responses", {}).items():
        lines.append(f"- {status.lstrip('E')}: {answer.get('description', '')}")
    lines.append("")
    groups: dict[str, list[str]] = {}
    for path, operations in document.get("paths", {}).items():
        group = path.split("/")[2] if path.startswith("/v1/") else path.strip("/").split("/")[0]
        for method, op in operations.items():
            if method in ("get", "put", "post", "delete", "patch", "options"):
                groups.setdefault(group, []).extend(_operation(document, method, path, op))
    for group, lines_of_group in groups.items():
        lines += [f"## {group}", "", *lines_of_group]
    models = {
        name: schema
        for name, schema in document.get("components", {}).get("schemas", {}).items()
        if name != "Error" and schema.get("properties")
    }
    if models:
        lines += ["## Schemas", "", "The request and answer models the operations above refer to.", ""]
    for name, schema in models.items():
        lines += [f"### `{name}`", ""]
        if schema.get("description"):
            lines += [" ".join(schema["description"].split()), ""]
        lines += ["| field | type | required | |", "|---|---|---|---|", *_fields(document, schema), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=DOCS / "openapi.json")
    parser.add_argument("--output", type=Path, default=DOCS / "api-reference.md")
    args = parser.parse_args()
    args.output.write_text(render(json.loads(args.input.read_text())))


if __name__ == "__main__":
    main()
