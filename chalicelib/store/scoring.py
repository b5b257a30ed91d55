"""Storage of scoring models (versions and the head that names draft and active), scores, and
rescoring jobs. Conditional writes keep each invariant in the database."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Account, Interaction, Lead
from chalicelib.domain.errors import ConcurrentUpdate, Conflict
from chalicelib.domain.interactions import iso
from chalicelib.domain.ports import Job, ModelHead, ModelVersion, Page
from chalicelib.domain.scoring import RuleScore, Score
from chalicelib.observability import correlation_id
from chalicelib.store import state_index
from chalicelib.store.dynamo import (
    _BAD_CURSOR,
    account_from,
    decode_cursor,
    encode_cursor,
    interaction_from,
    lead_from,
)
from chalicelib.store.records import (
    AccountRecord,
    ContactRecord,
    InteractionRecord,
    JobRecord,
    LeadRecord,
    ModelHeadRecord,
    ModelVersionRecord,
    ScoreRecord,
)

JOB_RETENTION = timedelta(days=30)


def version_key(number: int) -> str:
    return f"v#{number:06d}"


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


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


def score_from(record: ScoreRecord) -> Score:
    return Score(
        model_id=record.model_id,
        model_version=int(record.model_version),
        as_of=record.as_of,
        score=int(record.score),
        grade=record.grade,
        sales_ready=bool(record.sales_ready),
        breakdown=tuple(
            RuleScore(e["rule_id"], float(e["points"]), tuple(e["interaction_ids"]), e.get("kind", "rule"))
            for e in json.loads(record.breakdown)
        ),
        previous_score=int(record.previous_score) if record.previous_score is not None else None,
    )


class ScoringStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # ------------------------------------------------------------ models

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

    # ------------------------------------------------------------ scores

    def scores_of(self, lead_id: str) -> dict[str, Score]:
        records = ScoreRecord.query(lead_id, consistent_read=True)
        return {r.model_id: score_from(r) for r in records if r.score is not None}

    def scores_for(self, lead_ids: Sequence[str], model_ids: Sequence[str]) -> dict[str, dict[str, Score]]:
        """``scores_of`` for many leads at once, these models only: one ``BatchGetItem`` per 100 keys."""
        keys = [(lead_id, model_id) for lead_id in dict.fromkeys(lead_ids) for model_id in model_ids]
        found: dict[str, dict[str, Score]] = {lead_id: {} for lead_id in lead_ids}
        for r in ScoreRecord.batch_get(keys, consistent_read=True) if keys else []:
            if r.score is not None:
                found[r.lead_id][r.model_id] = score_from(r)
        return found

    def put_score(self, lead: Lead, score: Score, ages: bool) -> bool:
        """Write a score unless a newer evaluation (a later ``as_of``) is stored already."""
        record = ScoreRecord(
            lead.lead_id,
            score.model_id,
            contact_id=lead.contact_id,
            model_version=score.model_version,
            score=score.score,
            grade=score.grade,
            model_grade=f"{score.model_id}#{score.grade}" if score.grade is not None else None,
            sales_ready=score.sales_ready,
            as_of=score.as_of,
            breakdown=json.dumps([entry.as_dict() for entry in score.breakdown], separators=(",", ":")),
            ages=ages,
            previous_score=score.previous_score,
            correlation_id=correlation_id(),
        )
        try:
            record.save(condition=ScoreRecord.as_of.does_not_exist() | (ScoreRecord.as_of <= score.as_of))
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def delete_score(self, lead_id: str, model_id: str, as_of: datetime) -> bool:
        """Replace the score by a tombstone (no score, this ``as_of``), unless a newer one is stored."""
        try:
            ScoreRecord(lead_id, model_id).update(
                actions=[
                    ScoreRecord.score.remove(),
                    ScoreRecord.grade.remove(),
                    ScoreRecord.model_grade.remove(),
                    ScoreRecord.breakdown.remove(),
                    ScoreRecord.sales_ready.set(False),
                    ScoreRecord.as_of.set(as_of),
                ],
                condition=ScoreRecord.lead_id.exists() & (ScoreRecord.as_of <= as_of),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def leads_by_score(
        self, model_id: str, grade: str | None, min_score: float | None, limit: int, cursor: str | None
    ) -> Page:
        """``(lead_id, score)`` pairs, highest score first, from an index (never a scan)."""
        condition = ScoreRecord.score >= min_score if min_score is not None else None
        if grade is not None:
            start = decode_cursor(
                cursor, frozenset({"lead_id", "model_id", "model_grade", "score"}), numbers={"score"}
            )
            results: Any = ScoreRecord.by_grade.query(
                f"{model_id}#{grade}",
                condition,
                limit=limit,
                last_evaluated_key=start,
                scan_index_forward=False,
            )
        else:
            start = decode_cursor(cursor, frozenset({"lead_id", "model_id", "score"}), numbers={"score"})
            results = ScoreRecord.by_model.query(
                model_id, condition, limit=limit, last_evaluated_key=start, scan_index_forward=False
            )
        try:
            items = [(r.lead_id, int(r.score)) for r in results]
        except Exception as exc:
            if start is not None and getattr(exc, "cause_response_code", None) == "ValidationException":
                raise _BAD_CURSOR from None
            raise
        more = len(items) >= limit and results.last_evaluated_key
        return Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key) if more else None)

    # ------------------------------------------------------------ what scoring reads

    def contacts_of_account(self, account_id: str) -> list[str]:
        return [r.contact_id for r in ContactRecord.by_account.query(account_id)]

    def interactions_since(self, contact_id: str, since: datetime | None) -> list[Interaction]:
        """One query: the contact's interactions from ``since`` (all when ``None``)."""
        condition = InteractionRecord.at >= iso(since) if since is not None else None
        return [interaction_from(r) for r in InteractionRecord.by_time.query(contact_id, condition)]

    def latest_interactions(self, contact_id: str, limit: int) -> list[Interaction]:
        query = InteractionRecord.by_time.query(contact_id, scan_index_forward=False, limit=limit)
        return [interaction_from(r) for r in query]

    def scan_leads(
        self, segment: int, segments: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Lead], dict[str, Any] | None]:
        results = LeadRecord.scan(
            segment=segment, total_segments=segments, limit=limit, last_evaluated_key=start
        )
        leads = [lead_from(r) for r in results]
        return leads, results.last_evaluated_key if len(leads) >= limit else None

    def leads_in_state(self, state: str, limit: int) -> list[Lead]:
        """The newest ``limit`` leads in a lifecycle state (the state index, its shards merged), for
        training."""
        return [lead_from(r) for r in itertools.islice(state_index.newest(state, page_size=500), limit)]

    def get_accounts(self, account_ids: Sequence[str], consistent: bool = False) -> list[Account]:
        ids = list(dict.fromkeys(account_ids))
        found = AccountRecord.batch_get(ids, consistent_read=consistent) if ids else []
        return [account_from(r) for r in found]

    def iter_leads(self, page_size: int) -> Iterator[Lead]:
        for record in LeadRecord.scan(page_size=page_size):
            yield lead_from(record)

    # ------------------------------------------------------------ jobs

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
