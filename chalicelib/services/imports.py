"""CSV imports: a file (posted, or uploaded to S3 by a pre-signed URL) is checked, split into chunks of
rows on a work queue, and each row is captured like a form submission, through the same mapping,
validation and matching. A broken row is reported and never stops the others.

Safe under at-least-once delivery everywhere: the S3 event plans an import once (a conditional status
change), a chunk is counted once (its item is written with the counters in one transaction), and a row
is captured once (its receipt ``receipt#import#<id>#<row>`` is claimed in the capture's transaction),
so a redelivered message or a crash half way through a chunk neither duplicates nor miscounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import NotFound, PersonErased, ValidationFailed
from chalicelib.domain.forms import capture_from_submission
from chalicelib.domain.ids import derived_id, new_id
from chalicelib.domain.import_jobs import ImportHead
from chalicelib.integrations import csv_import
from chalicelib.integrations.csv_import import CsvRow, ImportMapping, ResolvedImport
from chalicelib.observability import count, logger
from chalicelib.services.capture import Received, capture
from chalicelib.wiring import Deps

UPLOAD_URL_SECONDS = 900
#: The largest file an import reads (a Lambda holds it in memory while splitting it).
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Per-row errors ``GET /v1/imports/{id}`` returns at most (the counts cover every row).
MAX_ERRORS_SHOWN = 1000
_KEY = re.compile(r"imports/(imp_[0-9a-z]{26})\.csv")


def _resolve(
    data: bytes, mapping: ImportMapping
) -> tuple[csv_import.CsvTable, ResolvedImport, dict[str, Any]]:
    text, encoding = csv_import.decode(data)
    table = csv_import.read_table(text)
    resolved = csv_import.resolve(table.headers, mapping)
    facts = {"encoding": encoding, "delimiter": table.delimiter, "columns": table.headers}
    return table, resolved, facts


@dataclass(frozen=True)
class ImportAccepted:
    """A CSV import stored and planning: how its columns were read (mapped, unmapped, ignored)."""

    import_id: str
    resolved: ResolvedImport


@dataclass(frozen=True)
class UploadOffered:
    """An import waiting for its file: the pre-signed URL to ``PUT`` it to, valid ``expires_in`` s."""

    import_id: str
    url: str
    expires_in: int


def create_from_csv(data: bytes, mapping: ImportMapping, name: str | None, deps: Deps) -> ImportAccepted:
    """``POST /v1/imports`` with a CSV body: checked now (no email column: 422 before any row is
    processed), stored in the bucket, and processed from there."""
    _table, resolved, _facts = _resolve(data, mapping)
    import_id = new_id("imp")
    key = f"imports/{import_id}.csv"
    deps.imports.create(
        import_id,
        name,
        mapping.model_dump(exclude_none=True),
        key,
        datetime.now(UTC),
        status="planning",  # the file is stored below: its S3 event plans the chunks
    )
    deps.objects.put(key, data)
    count("ImportCreated")
    return ImportAccepted(import_id, resolved)


def create_upload(mapping: ImportMapping, name: str | None, deps: Deps) -> UploadOffered:
    """``POST /v1/imports`` with JSON ``{"mapping", "name"}``: a pre-signed URL to ``PUT`` a large file
    to; the upload starts the import. The headers are checked when the file arrives."""
    import_id = new_id("imp")
    key = f"imports/{import_id}.csv"
    deps.imports.create(import_id, name, mapping.model_dump(exclude_none=True), key, datetime.now(UTC))
    return UploadOffered(import_id, deps.objects.upload_url(key, UPLOAD_URL_SECONDS), UPLOAD_URL_SECONDS)


# ---------------------------------------------------------------- planning (the S3 event)


def object_created(key: str, deps: Deps) -> str | None:
    """A file arrived in the bucket: split it into work messages, once. A file dropped under
    ``imports/`` without an import (``aws s3 cp``) is imported with the automatic mapping."""
    if not key.startswith("imports/"):
        return None
    now = datetime.now(UTC)
    match = _KEY.fullmatch(key)
    import_id = match.group(1) if match else derived_id("imp", key)
    head = deps.imports.head(import_id)
    if head is None:  # a dropped file: the automatic mapping (a second delivery may create it first)
        deps.imports.create(import_id, key, {}, key, now)
    mapping = head.mapping if head is not None else {}
    if not deps.imports.start_planning(import_id, now):
        return import_id  # planned before: a repeated event
    try:
        data = deps.objects.get(key, MAX_FILE_BYTES)
        table, resolved, facts = _resolve(data, csv_import.parse_mapping(mapping))
    except (ValidationFailed, ValueError) as exc:
        error = _error_of(exc)
        deps.imports.failed(import_id, error, now)
        logger.info("import refused", extra={"import_id": import_id, "reason": error["message"]})
        return import_id
    emails = [h for h, target in resolved.mapped.items() if target == "contact.email"]
    wanted = set(resolved.column_of) | {
        c for c in (resolved.interaction_column, resolved.occurred_at_column) if c
    }
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for row in table.rows():
        item: dict[str, Any] = {"n": row.number, "line": row.line}
        if row.error is not None:
            item["error"] = row.error
        else:
            item["values"] = {h: v for h, v in row.values.items() if h in wanted and v != ""}
            email = row.values.get(emails[0], "").strip().casefold() if emails else ""
            if email and email in seen:
                item["dup"] = True
            seen.add(email)
        rows.append(item)
    messages = [
        {"import_id": import_id, "chunk": n, "rows": part}
        for n, part in enumerate(csv_import.chunks(rows, max_rows=deps.settings.import_chunk_rows), start=1)
    ]
    deps.import_queue.send_many(messages)
    deps.imports.planned(import_id, facts, len(rows), len(messages), datetime.now(UTC))
    logger.info("import planned", extra={"import_id": import_id, "rows": len(rows), "chunks": len(messages)})
    return import_id


def _error_of(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ValidationFailed):
        return {
            "code": exc.code,
            "message": exc.message,
            "field": exc.field,
            "fields": [e.as_dict() for e in exc.errors],
        }
    return {"code": "unreadable_file", "message": str(exc)}


# ---------------------------------------------------------------- rows (the work queue)


def process_chunk(message: dict[str, Any], deps: Deps) -> bool:
    """Capture a chunk's rows and count them once; ``False`` when the chunk was counted before."""
    import_id = str(message["import_id"])
    head = deps.imports.head(import_id)
    if head is None or head.columns is None:
        raise NotFound("import", import_id)  # planned rows always have a head: retry, then DLQ
    resolved = csv_import.resolve(head.columns, csv_import.parse_mapping(head.mapping))
    counts = dict.fromkeys(("created", "updated", "duplicates", "rejected", "interactions"), 0)
    errors: list[dict[str, Any]] = []
    for item in message["rows"]:
        row = CsvRow(
            number=item["n"], line=item["line"], values=item.get("values") or {}, error=item.get("error")
        )
        outcome = _import_row(import_id, resolved, row, bool(item.get("dup")), deps)
        if isinstance(outcome, list):
            counts["rejected"] += 1
            errors.append({"row": row.number, "line": row.line, "errors": outcome})
            continue
        counts[outcome[0]] += 1
        counts["interactions"] += outcome[1]
    from chalicelib.domain.import_jobs import ChunkResult  # lazily: the app's import needs none of it

    result = ChunkResult(chunk=int(message["chunk"]), rows=len(message["rows"]), counts=counts, errors=errors)
    done = deps.imports.chunk_done(import_id, result, datetime.now(UTC))
    if done:
        for name, value in counts.items():
            if value:
                count(f"ImportRows{name.title()}", value)
    return done


def _import_row(
    import_id: str, resolved: ResolvedImport, row: CsvRow, duplicate: bool, deps: Deps
) -> tuple[str, int] | list[dict[str, str]]:
    """``(created | updated | duplicates, interactions recorded)``, or the row's errors."""
    try:
        submitted = csv_import.row_submission(resolved, row)
        activity = csv_import.row_interaction(resolved, row)
        submission = capture_from_submission("import", resolved.form, submitted, origin=f"import:{import_id}")
    except ValidationFailed as exc:
        return [e.as_dict() for e in csv_import.column_errors(resolved, exc).errors]
    received = Received(
        derived_id("imp", import_id, str(row.number)),
        type=activity[0] if activity else None,
        properties={"import_id": import_id, "row": row.number},
        receipt=f"receipt#import#{import_id}#{row.number}",
        occurred_at=activity[1] if activity else None,
    )
    try:
        result = capture(submission, deps, received)
    except ValidationFailed as exc:  # too many fields for one person, say
        return [e.as_dict() for e in exc.errors]
    except PersonErased as exc:  # the importer holds a key: it may know the row was not imported, and why
        header = resolved.header_of.get(_email_column(resolved), "contact.email")
        return [{"field": header, "message": f"{exc.message}; the row was not imported", "code": exc.code}]
    if duplicate:
        return "duplicates", int(activity is not None)
    return ("created" if result.lead_created else "updated"), int(activity is not None)


def _email_column(resolved: ResolvedImport) -> str:
    return next((n for n, spec in resolved.form.fields.items() if spec.maps_to == "contact.email"), "")


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class ImportProgress:
    """An import as it stands: its head, and the first ``MAX_ERRORS_SHOWN`` row errors by row."""

    head: ImportHead
    errors: list[dict[str, Any]]
    errors_truncated: bool


def get_import(import_id: str, deps: Deps) -> ImportProgress:
    head = deps.imports.head(import_id)
    if head is None:
        raise NotFound("import", import_id)
    errors: list[dict[str, Any]] = []
    for chunk in deps.imports.chunks(import_id):
        errors.extend(chunk.errors)
    errors.sort(key=lambda e: int(e["row"]))
    return ImportProgress(head, errors[:MAX_ERRORS_SHOWN], len(errors) > MAX_ERRORS_SHOWN)
