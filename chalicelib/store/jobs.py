"""Background jobs (rescoring, training, erasure): pages and segments counted once (``JobStore``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.stored import Job
from chalicelib.store.records import (
    JobRecord,
)
from chalicelib.store.scoring_table import _conditional_failed

JOB_RETENTION = timedelta(days=30)


class JobRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create_job(
        self, job_id: str, kind: str, model_id: str, model_version: int, segments: int, now: datetime
    ) -> bool:
        """``True`` when this call created the job (so it, and only it, fans the work out)."""
        try:
            JobRecord(
                job_id,
                kind=kind,
                model_id=model_id,
                model_version=model_version,
                segments=segments,
                created_at=now,
                expires_at=now + JOB_RETENTION,
            ).save(condition=JobRecord.job_id.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def get_job(self, job_id: str) -> Job | None:
        try:
            record = JobRecord.get(job_id, consistent_read=True)
        except DoesNotExist:
            return None
        return Job(
            job_id=record.job_id,
            kind=record.kind,
            model_id=record.model_id,
            model_version=int(record.model_version),
            segments=int(record.segments),
            segments_done=int(record.segments_done or 0),
            pages_done=int(record.pages_done or 0),
            leads_scored=int(record.leads_scored or 0),
            created_at=record.created_at,
            result=json.loads(record.result) if record.result else None,
        )

    def finish_job(self, job_id: str, result: dict[str, Any], leads: int) -> None:
        """A one-step job (a training run: one segment) is done, with its answer."""
        JobRecord(job_id).update(
            actions=[
                JobRecord.result.set(json.dumps(result, separators=(",", ":"))),
                JobRecord.segments_done.set(1),
                JobRecord.pages_done.set(1),
                JobRecord.leads_scored.set(leads),
            ],
            condition=JobRecord.job_id.exists(),
        )

    def set_job_result(self, job_id: str, result: dict[str, Any]) -> None:
        """A job's answer so far (an erasure's ids and counts)."""
        JobRecord(job_id).update(
            actions=[JobRecord.result.set(json.dumps(result, separators=(",", ":"), default=str))],
            condition=JobRecord.job_id.exists(),
        )

    def record_page(self, job_id: str, page_id: str, leads: int, segment_done: bool) -> None:
        """Count a page once, however often its message is delivered."""
        actions: list[Action] = [
            JobRecord.pages_done.add(1),
            JobRecord.leads_scored.add(leads),
            JobRecord.pages.add({page_id}),
        ]
        if segment_done:
            actions.append(JobRecord.segments_done.add(1))
        try:
            JobRecord(job_id).update(
                actions=actions,
                condition=JobRecord.job_id.exists() & ~JobRecord.pages.contains(page_id),
            )
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
