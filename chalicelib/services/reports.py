"""The console's reports: the funnel and a model's score distribution.

Both read indexes (leads per state from ``by_state``, a model's scores from ``by_model_score``), never a
table scan, and stop at ``REPORT_MAX_LEADS`` leads with ``"truncated": true``. Nothing is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.entities import LEAD_DISQUALIFIED, LEAD_OPEN, LEAD_QUALIFIED
from chalicelib.domain.reports import LeadStage, ScoreLine
from chalicelib.services import scoring
from chalicelib.wiring import Deps

#: The funnel, in order; a lead counts at every stage up to the one its current state shows (the item
#: keeps no history: a reopened lead counts from its new round).
STAGES = ("captured", "scored", "marketing_qualified", "accepted", "qualified")
REPORT_MAX_LEADS = 20_000
BUCKET_WIDTH = 10


@dataclass(frozen=True)
class Funnel:
    """Leads created in ``[since, until]`` (of one ``source``, when given): how many reached each of
    ``STAGES`` in order, the open ones by status, the disqualified ones by reason."""

    since: datetime | None
    until: datetime | None
    source: str | None
    stages: list[tuple[str, int]]
    open: dict[str, int]
    disqualified: dict[str, int]
    leads_counted: int
    truncated: bool


@dataclass(frozen=True)
class Distribution:
    """A model's current scores: ``buckets`` of ``(lowest score, count)``, ``BUCKET_WIDTH`` wide."""

    model_id: str
    scored: int
    sales_ready: int
    buckets: list[tuple[int, int]]
    grades: dict[str, int]
    truncated: bool


def _reached(lead: LeadStage, scored: set[str]) -> int:
    """The index in ``STAGES`` of the furthest stage the lead's item shows. A disqualified lead shows
    whether its rules fired (marketing-qualified) and whether it is scored, not whether sales had
    accepted it before disqualifying it."""
    if lead.state == LEAD_QUALIFIED:
        return 4
    if lead.state == LEAD_OPEN and lead.status == "sales_accepted":
        return 3
    if lead.rules_fired or (lead.state == LEAD_OPEN and lead.status == "marketing_qualified"):
        return 2
    return 1 if lead.lead_id in scored else 0


def _scored_leads(deps: Deps) -> tuple[set[str], bool]:
    scored: set[str] = set()
    for model in scoring.active_models(deps):
        for n, line in enumerate(deps.reports.scores_of_model(model.model_id)):
            if n >= REPORT_MAX_LEADS:
                return scored, True
            scored.add(line.lead_id)
    return scored, False


def funnel(since: datetime | None, until: datetime | None, source: str | None, deps: Deps) -> Funnel:
    """Leads created in ``[since, until]`` (optionally of one ``source``) through the funnel, with the
    disqualified ones by reason and the open ones by status."""
    scored, truncated = _scored_leads(deps)
    reached: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    open_statuses: Counter[str] = Counter()
    counted = 0
    for state in (LEAD_OPEN, LEAD_QUALIFIED, LEAD_DISQUALIFIED):
        for lead in deps.reports.leads_in_state(state, since, until):
            if source is not None and lead.source != source:
                continue
            if counted >= REPORT_MAX_LEADS:
                truncated = True
                break
            counted += 1
            reached[_reached(lead, scored)] += 1
            if state == LEAD_DISQUALIFIED:
                reasons[lead.status] += 1
            elif state == LEAD_OPEN:
                open_statuses[lead.status] += 1
    stages = [
        (stage, sum(n for at, n in reached.items() if at >= index)) for index, stage in enumerate(STAGES)
    ]
    return Funnel(
        since=since,
        until=until,
        source=source,
        stages=stages,
        open=dict(sorted(open_statuses.items())),
        disqualified=dict(sorted(reasons.items())),
        leads_counted=counted,
        truncated=truncated,
    )


def distribution(model_id: str, deps: Deps) -> Distribution:
    """A model's current scores in buckets of ``BUCKET_WIDTH`` points, per grade, and how many are
    sales-ready (from the ``by_model_score`` index)."""
    return summarise(model_id, deps.reports.scores_of_model(model_id))


def summarise(model_id: str, lines: Iterable[ScoreLine]) -> Distribution:
    buckets: Counter[int] = Counter()
    grades: Counter[str] = Counter()
    ready = counted = 0
    truncated = False
    for line in lines:
        if counted >= REPORT_MAX_LEADS:
            truncated = True
            break
        counted += 1
        buckets[(line.score // BUCKET_WIDTH) * BUCKET_WIDTH] += 1
        grades[line.grade or "(none)"] += 1
        ready += line.sales_ready
    return Distribution(
        model_id=model_id,
        scored=counted,
        sales_ready=ready,
        buckets=[(low, buckets[low]) for low in sorted(buckets)],
        grades=dict(sorted(grades.items())),
        truncated=truncated,
    )
