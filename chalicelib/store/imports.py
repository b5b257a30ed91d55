"""CSV imports: the head (mapping, status, counters) and one item per chunk done (``records``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.import_jobs import ChunkResult, ImportChunk, ImportHead
from chalicelib.store.records import ImportChunkRecord, ImportRecord

#: Counters a chunk adds to its import's head.
COUNTERS = ("created", "updated", "duplicates", "rejected", "interactions")


def head_from(record: ImportRecord) -> ImportHead:
    return ImportHead(
        import_id=record.import_id,
        name=record.name,
        status=record.status,
        mapping=dict(json.loads(record.mapping)),
        object_key=record.object_key,
        created_at=record.created_at,
        updated_at=record.updated_at,
        encoding=record.encoding,
        delimiter=record.delimiter,
        columns=list(json.loads(record.columns)) if record.columns is not None else None,
        error=dict(json.loads(record.error)) if record.error else None,
        rows_total=int(record.rows_total) if record.rows_total is not None else None,
        chunks_total=int(record.chunks_total) if record.chunks_total is not None else None,
        chunks_done=int(record.chunks_done or 0),
        rows_done=int(record.rows_done or 0),
        created=int(record.created or 0),
        updated=int(record.updated or 0),
        duplicates=int(record.duplicates or 0),
        rejected=int(record.rejected or 0),
        interactions=int(record.interactions or 0),
    )


def chunk_from(record: ImportChunkRecord) -> ImportChunk:
    return ImportChunk(
        chunk=int(record.item.removeprefix("chunk#")),
        rows=int(record.rows),
        errors=list(json.loads(record.errors)) if record.errors else [],
    )


class ImportStore:
    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)

    def create(
        self,
        import_id: str,
        name: str | None,
        mapping: dict[str, Any],
        object_key: str,
        now: datetime,
        status: str = "awaiting_upload",
    ) -> bool:
        """A new import waiting for its file (``awaiting_upload``), or whose file is stored already and
        waits to be split (``planning``); ``False`` when one with this id exists already."""
        record = ImportRecord(
            import_id,
            "head",
            status=status,
            name=name,
            mapping=json.dumps(mapping),
            object_key=object_key,
            created_at=now,
            updated_at=now,
            expires_at=now + self._retention,
        )
        try:
            record.save(condition=ImportRecord.import_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def head(self, import_id: str) -> ImportHead | None:
        try:
            return head_from(ImportRecord.get(import_id, "head", consistent_read=True))
        except DoesNotExist:
            return None

    def chunks(self, import_id: str) -> list[ImportChunk]:
        query = ImportChunkRecord.query(
            import_id, ImportChunkRecord.item.startswith("chunk#"), consistent_read=True
        )
        return [chunk_from(record) for record in query]

    def start_planning(self, import_id: str, now: datetime) -> bool:
        """``awaiting_upload`` (or a planning that died half way) becomes ``planning``; ``False`` when the
        import is planned already (an S3 event delivered twice)."""
        try:
            ImportRecord(import_id, "head").update(
                actions=[ImportRecord.status.set("planning"), ImportRecord.updated_at.set(now)],
                condition=ImportRecord.status.is_in("awaiting_upload", "planning"),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def planned(self, import_id: str, facts: dict[str, Any], rows: int, chunks: int, now: datetime) -> None:
        ImportRecord(import_id, "head").update(
            actions=[
                ImportRecord.status.set("processing" if chunks else "completed"),
                ImportRecord.rows_total.set(rows),
                ImportRecord.chunks_total.set(chunks),
                ImportRecord.encoding.set(facts["encoding"]),
                ImportRecord.delimiter.set(facts["delimiter"]),
                ImportRecord.columns.set(json.dumps(facts["columns"])),
                ImportRecord.updated_at.set(now),
            ],
            condition=ImportRecord.status == "planning",
        )
        self._complete_if_done(import_id)  # the chunks may all be done before the plan is recorded

    def failed(self, import_id: str, error: dict[str, Any], now: datetime) -> None:
        ImportRecord(import_id, "head").update(
            actions=[
                ImportRecord.status.set("failed"),
                ImportRecord.error.set(json.dumps(error)),
                ImportRecord.updated_at.set(now),
            ]
        )

    def chunk_done(self, import_id: str, result: ChunkResult, now: datetime) -> bool:
        """Record a chunk and add its counts to the head, once: ``False`` when it was recorded before
        (a redelivered work message). The import completes with its last chunk."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(
                    ImportChunkRecord(
                        import_id,
                        f"chunk#{result.chunk:06d}",
                        rows=result.rows,
                        errors=json.dumps(result.errors) if result.errors else None,
                        done_at=now,
                        expires_at=now + self._retention,
                    ),
                    condition=ImportChunkRecord.import_id.does_not_exist(),
                )
                tx.update(
                    ImportRecord(import_id, "head"),
                    actions=[
                        ImportRecord.chunks_done.add(1),
                        ImportRecord.rows_done.add(result.rows),
                        ImportRecord.updated_at.set(now),
                        *(getattr(ImportRecord, name).add(result.counts.get(name, 0)) for name in COUNTERS),
                    ],
                )
        except TransactWriteError as exc:
            reasons = getattr(exc, "cancellation_reasons", None) or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            raise
        self._complete_if_done(import_id)
        return True

    @staticmethod
    def _complete_if_done(import_id: str) -> None:
        try:
            ImportRecord(import_id, "head").update(
                actions=[ImportRecord.status.set("completed")],
                condition=(ImportRecord.status == "processing")
                & (ImportRecord.chunks_done == ImportRecord.chunks_total),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
