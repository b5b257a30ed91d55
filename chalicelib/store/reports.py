"""What the console's reports read: leads per state from the state index (``by_state_shard``) and a
model's scores from the ``by_model_score`` index. Queries only, never a scan of a table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.reports import LeadStage, ScoreLine
from chalicelib.store import state_index
from chalicelib.store.records import LeadRecord, ScoreRecord


def leads_in_state(state: str, since: datetime | None, until: datetime | None) -> Iterator[LeadStage]:
    """The leads in ``state`` created in ``[since, until]``, newest first (one paged index query)."""
    condition: Any = None
    if since is not None and until is not None:
        condition = LeadRecord.created_at.between(since, until)
    elif since is not None:
        condition = LeadRecord.created_at >= since
    elif until is not None:
        condition = LeadRecord.created_at <= until
    results = state_index.newest(
        state,
        condition,
        attributes_to_get=["lead_id", "state", "status", "fired_rules", "fields", "created_at"],
    )
    for record in results:
        source = record.fields.as_dict().get("source") if record.fields else None
        yield LeadStage(
            lead_id=record.lead_id,
            state=record.state,
            status=record.status,
            rules_fired=bool(record.fired_rules),
            source=source if isinstance(source, str) else None,
        )


def scores_of_model(model_id: str) -> Iterator[ScoreLine]:
    """Every current score of a model, highest first (the index holds no removed scores)."""
    for record in ScoreRecord.by_model.query(model_id, scan_index_forward=False):
        yield ScoreLine(
            lead_id=record.lead_id,
            score=int(record.score),
            grade=record.grade,
            sales_ready=bool(record.sales_ready),
        )


class ReportStore:
    """The console's report queries (``ReportReads``), on the tables ``wiring.deps()`` binds."""

    def leads_in_state(
        self, state: str, since: datetime | None, until: datetime | None
    ) -> Iterator[LeadStage]:
        return leads_in_state(state, since, until)

    def scores_of_model(self, model_id: str) -> Iterator[ScoreLine]:
        return scores_of_model(model_id)
