"""What the console's reports read: one lead's stage, one score line (projections of stored items)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeadStage:
    """What the funnel needs of one lead (a projection of its item)."""

    lead_id: str
    state: str
    status: str
    rules_fired: bool
    source: str | None


@dataclass(frozen=True)
class ScoreLine:
    lead_id: str
    score: int
    grade: str | None
    sales_ready: bool
