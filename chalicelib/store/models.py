"""Scoring models: versions and the head that names draft and active (``ModelStore``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdate, Conflict
from chalicelib.domain.stored import ModelHead, ModelVersion
from chalicelib.store.records import (
    ModelHeadRecord,
    ModelVersionRecord,
)


def version_key(number: int) -> str:
    return f"v#{number:06d}"


def head_from(record: ModelHeadRecord) -> ModelHead:
    return ModelHead(
        model_id=record.model_id,
        name=record.name,
        latest_version=int(record.latest_version or 0),
        draft_version=int(record.draft_version) if record.draft_version is not None else None,
        active_version=int(record.active_version) if record.active_version is not None else None,
        updated_at=record.updated_at,
    )


def version_from(record: ModelVersionRecord) -> ModelVersion:
    return ModelVersion(
        model_id=record.model_id,
        number=int(record.number),
        definition=json.loads(record.definition),
        state=record.state,
        warnings=list(record.warnings or []),
        created_at=record.created_at,
        published_at=record.published_at,
    )


class ModelRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _head(self, model_id: str) -> ModelHeadRecord | None:
        try:
            return ModelHeadRecord.get(model_id, "head", consistent_read=True)
        except DoesNotExist:
            return None

    def get_head(self, model_id: str) -> ModelHead | None:
        record = self._head(model_id)
        return head_from(record) if record else None

    def heads(self) -> list[ModelHead]:
        return [head_from(r) for r in ModelHeadRecord.scan(ModelHeadRecord.sk == "head")]

    def versions(self, model_id: str) -> list[ModelVersion]:
        query = ModelVersionRecord.query(
            model_id, ModelVersionRecord.sk.startswith("v#"), consistent_read=True
        )
        return [version_from(r) for r in query]

    def get_version(self, model_id: str, number: int) -> ModelVersion | None:
        try:
            return version_from(ModelVersionRecord.get(model_id, version_key(number), consistent_read=True))
        except DoesNotExist:
            return None

    def save_draft(
        self, model_id: str, name: str, definition: dict[str, Any], warnings: Sequence[str], now: datetime
    ) -> int:
        """A new draft version (the previous unpublished draft is superseded), or ConcurrentUpdate."""
        head = self._head(model_id) or ModelHeadRecord(
            model_id, "head", name=name, latest_version=0, updated_at=now
        )
        number = int(head.latest_version or 0) + 1
        previous_draft = head.draft_version
        head.name, head.latest_version, head.draft_version, head.updated_at = name, number, number, now
        draft = ModelVersionRecord(
            model_id,
            version_key(number),
            number=number,
            definition=json.dumps(definition),
            state="draft",
            warnings=list(warnings),
            created_at=now,
        )
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(head)
                tx.save(draft, condition=ModelVersionRecord.sk.does_not_exist())
                if previous_draft is not None:
                    tx.update(
                        ModelVersionRecord(model_id, version_key(int(previous_draft))),
                        actions=[ModelVersionRecord.state.set("superseded")],
                        condition=ModelVersionRecord.state == "draft",
                    )
        except TransactWriteError as exc:
            raise ConcurrentUpdate("the model changed while it was being saved; send it again") from exc
        return number

    def publish(self, model_id: str, now: datetime) -> tuple[int, int | None]:
        """Draft -> active, the active -> retired, in one transaction. Returns (published, retired)."""
        head = self._head(model_id)
        if head is None or head.draft_version is None:
            raise Conflict(f"scoring model {model_id!r} has no draft to publish")
        draft, retired = int(head.draft_version), head.active_version
        head.active_version, head.draft_version, head.updated_at = draft, None, now
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(head)
                tx.update(
                    ModelVersionRecord(model_id, version_key(draft)),
                    actions=[
                        ModelVersionRecord.state.set("active"),
                        ModelVersionRecord.published_at.set(now),
                    ],
                    condition=ModelVersionRecord.state == "draft",
                )
                if retired is not None:
                    tx.update(
                        ModelVersionRecord(model_id, version_key(int(retired))),
                        actions=[ModelVersionRecord.state.set("retired")],
                    )
        except TransactWriteError as exc:
            raise ConcurrentUpdate("the model changed while it was being published; try again") from exc
        return draft, int(retired) if retired is not None else None

    def active_definitions(self) -> list[tuple[str, int, dict[str, Any]]]:
        keys = [
            (h.model_id, version_key(h.active_version)) for h in self.heads() if h.active_version is not None
        ]
        found = ModelVersionRecord.batch_get(keys) if keys else []
        return sorted((r.model_id, int(r.number), json.loads(r.definition)) for r in found)
