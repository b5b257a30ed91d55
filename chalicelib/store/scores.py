"""Each lead's score per model, written only over an older evaluation (``ScoreStore``)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.domain.entities import Lead
from chalicelib.domain.scoring import Aging, RuleScore, Score
from chalicelib.domain.stored import Page
from chalicelib.observability import correlation_id
from chalicelib.store.dynamo import (
    _BAD_CURSOR,
    decode_cursor,
    encode_cursor,
)
from chalicelib.store.history import (
    SCORE_TIMELINE_BYTES,
    entries_budget,
    entry_item,
    keep_on_lead,
    pack_timeline,
    unpack_timeline,
)
from chalicelib.store.records import (
    ScoreRecord,
)
from chalicelib.store.scoring_table import _conditional_failed

#: Timers spread over this many index key values (a minute's crossings of a big model on one value
#: would be one hot key: docs/scaling.md).
DUE_SHARDS = 8


def due_key(lead_id: str) -> str:
    return f"due#{int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) % DUE_SHARDS}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def score_from(record: ScoreRecord, now: datetime | None = None) -> Score:
    """The stored score as it is ``now`` (default: the time of reading): a score that ages is computed
    from its stored evaluation (``Score.at``), never rewritten for time alone."""
    stored = _stored_score(record)
    return stored.at(now or datetime.now(UTC))


def _stored_score(record: ScoreRecord) -> Score:
    aging = (
        Aging.from_dict(
            json.loads(record.aging), _parse_iso(record.next_check_at) if record.next_check_at else None
        )
        if record.aging
        else None
    )
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
        aging=aging,
        timeline=tuple(unpack_timeline(record.timeline_z)),
    )


def _score_now(record: ScoreRecord, now: datetime) -> int:
    if not record.aging or record.as_of is None:
        return int(record.score)
    return Aging.from_dict(json.loads(record.aging), None).value_at(int(record.score), record.as_of, now)


class ScoreRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

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

    def put_score(
        self, lead: Lead, score: Score, ages: bool, replacing: Score | None = None, *, compare: bool = False
    ) -> bool:
        """Write a score unless a newer evaluation (a later ``as_of``) is stored already; with
        ``compare``, also only if the stored score is still ``replacing`` (none, or a tombstone, for
        ``None``): two evaluations of the same moment cannot both replace the same score. Its timeline
        entries stay on the item while they fit; the oldest move to ``LeadHistory`` items first (a
        failure in between shows them once: the timeline merges by key)."""
        record = ScoreRecord(
            lead.lead_id,
            score.model_id,
            contact_id=lead.contact_id,
            model_version=score.model_version,
            score=score.score,
            grade=score.grade,
            sales_ready=score.sales_ready,
            as_of=score.as_of,
            breakdown=json.dumps([entry.as_dict() for entry in score.breakdown], separators=(",", ":")),
            ages=ages,
            previous_score=score.previous_score,
            correlation_id=correlation_id(),
            aging=json.dumps(score.aging.as_dict(), separators=(",", ":")) if score.aging else None,
            next_check_at=_iso(score.next_check_at) if score.next_check_at else None,
            due=due_key(lead.lead_id) if score.next_check_at else None,
        )
        kept, spilled = keep_on_lead(score.timeline, [], entries_budget(record, SCORE_TIMELINE_BYTES))
        for entry in spilled:
            entry_item(lead.lead_id, entry).save()
        record.timeline_z = pack_timeline(kept)
        condition = ScoreRecord.as_of.does_not_exist() | (ScoreRecord.as_of <= score.as_of)
        if compare:
            condition &= (
                ScoreRecord.score.does_not_exist()
                if replacing is None
                else ScoreRecord.as_of == replacing.as_of
            )
        try:
            record.save(condition=condition)
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def delete_score(
        self, lead_id: str, model_id: str, as_of: datetime, held: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Replace the score by a tombstone (no score, this ``as_of``), unless a newer one is stored.
        The timeline entries it ``held`` become ``LeadHistory`` items first (a tombstone keeps none)."""
        for entry in held:
            entry_item(lead_id, entry).save()
        try:
            ScoreRecord(lead_id, model_id).update(
                actions=[
                    ScoreRecord.score.remove(),
                    ScoreRecord.grade.remove(),
                    ScoreRecord.model_grade.remove(),
                    ScoreRecord.breakdown.remove(),
                    ScoreRecord.aging.remove(),
                    ScoreRecord.next_check_at.remove(),
                    ScoreRecord.due.remove(),
                    ScoreRecord.timeline_z.remove(),
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

    def due_scores(self, now: datetime, limit: int = 500) -> list[tuple[str, str, str]]:
        """``(lead_id, model_id, contact_id)`` of the scores whose timer is due at ``now``, from the
        sparse ``by_due`` index (one query per shard; never a scan)."""
        found: list[tuple[str, str, str]] = []
        for shard in range(DUE_SHARDS):
            for r in ScoreRecord.by_due.query(
                f"due#{shard}", ScoreRecord.next_check_at <= _iso(now), limit=limit
            ):
                found.append((r.lead_id, r.model_id, r.contact_id))
        return found

    def clear_timer(self, lead_id: str, model_id: str, now: datetime) -> bool:
        """Drop a due timer nobody will move (its model is no longer active, its lead or contact is
        gone), unless the score was rewritten with a later one meanwhile."""
        try:
            ScoreRecord(lead_id, model_id).update(
                actions=[ScoreRecord.due.remove(), ScoreRecord.next_check_at.remove()],
                condition=ScoreRecord.next_check_at <= _iso(now),
            )
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def leads_by_score(
        self,
        model_id: str,
        grade: str | None,
        min_score: float | None,
        limit: int,
        cursor: str | None,
        below: float | None = None,
    ) -> Page:
        """``(lead_id, score)`` pairs, highest score first, from the ``by_model_score`` index (never a
        scan). A grade is a range of scores (the service gives its lower line as ``min_score`` and the
        next grade's as ``below``): the range bounds the query, and the grade the index holds is checked
        on each item (issue 19: no index of its own, one write a score less)."""
        low = ScoreRecord.score >= min_score if min_score is not None else None
        high = ScoreRecord.score < below if below is not None else None
        condition = (
            ScoreRecord.score.between(min_score, math.nextafter(below, -math.inf))
            if low is not None and high is not None and min_score is not None and below is not None
            else low
            if low is not None
            else high
        )
        start = decode_cursor(cursor, frozenset({"lead_id", "model_id", "score"}), numbers={"score"})
        results: Any = ScoreRecord.by_model.query(
            model_id,
            condition,
            filter_condition=(ScoreRecord.grade == grade) if grade is not None else None,
            limit=limit,
            last_evaluated_key=start,
            scan_index_forward=False,
        )
        now = datetime.now(UTC)
        try:
            # the stored score is exact when written and at each crossing; one that decays is computed as
            # it is now, and ``min_score`` checked again on that (the index holds how it ages)
            items = [(r.lead_id, _score_now(r, now)) for r in results]
        except Exception as exc:
            if start is not None and getattr(exc, "cause_response_code", None) == "ValidationException":
                raise _BAD_CURSOR from None
            raise
        more = len(items) >= limit and results.last_evaluated_key
        if min_score is not None:
            items = [(lead_id, value) for lead_id, value in items if value >= min_score]
        return Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key) if more else None)
