"""Opportunities: what a qualified lead becomes for sales, worked through stages to won or lost.

Pure rules: which changes a sales rep may make (``apply_changes``), how an opportunity closes when its
lead is reopened or disqualified (``close_for_lead``), and the pipeline report (``pipeline``). The
version is the optimistic-concurrency token: every change is written conditioned on the version read
(``If-Match`` on the API), so two reps never overwrite each other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.errors import Conflict, FieldError, ValidationFailed

STAGES = ("qualify", "develop", "propose", "close")
STATUSES = ("open", "won", "lost")
CLOSED = ("won", "lost")
#: The reasons the system gives when it closes an opportunity because its lead moved.
LEAD_DISQUALIFIED = "lead disqualified"
LEAD_REOPENED = "lead reopened"
MAX_REASON = 500
MAX_VALUE = Decimal("1e15")


@dataclass(frozen=True)
class Opportunity:
    opportunity_id: str
    lead_id: str
    contact_id: str
    account_id: str | None
    name: str
    created_at: datetime
    updated_at: datetime
    stage: str = "qualify"
    status: str = "open"
    owner: str | None = None
    estimated_value: Decimal | None = None
    close_date: date | None = None
    reason: str | None = None
    closed_at: datetime | None = None
    #: ``None`` until first stored; each write adds one.
    version: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class StaleVersion(Conflict):
    """``If-Match`` named a version that is no longer the current one (412)."""

    code = "stale_version"

    def __init__(self, current: int | None) -> None:
        super().__init__("the opportunity changed since that version was read; read it again", "If-Match")
        self.details = {"current_version": current}


@dataclass(frozen=True)
class OpportunityChanges:
    """What a PATCH asks for; a field left ``...`` (not given) is kept."""

    stage: Any = ...
    status: Any = ...
    reason: Any = ...
    estimated_value: Any = ...
    close_date: Any = ...
    owner: Any = ...


def apply_changes(opportunity: Opportunity, changes: OpportunityChanges, now: datetime) -> Opportunity:
    """The opportunity after the changes, or :class:`ValidationFailed` naming each field that cannot
    change so. Closing (``won``/``lost``) needs a ``reason`` and moves the stage to ``close``; a closed
    opportunity only reopens (``status: open``) before anything else changes on it."""
    errors: list[FieldError] = []
    status = opportunity.status if changes.status is ... else changes.status
    if changes.status is not ... and changes.status not in STATUSES:
        errors.append(FieldError("status", f"status must be one of {', '.join(STATUSES)}"))
    if changes.stage is not ... and changes.stage not in STAGES:
        errors.append(FieldError("stage", f"stage must be one of {', '.join(STAGES)}"))
    if errors:
        raise ValidationFailed(errors)
    reopening = not opportunity.is_open and status == "open"
    if not opportunity.is_open and not reopening:
        edited = [
            n
            for n in ("stage", "estimated_value", "close_date", "owner", "reason")
            if getattr(changes, n) is not ...
        ]
        if edited or changes.status is not ...:
            raise ValidationFailed(
                [
                    FieldError(
                        (edited or ["status"])[0],
                        f"the opportunity is {opportunity.status}: reopen it (status: open) to change it",
                    )
                ]
            )
    reason = opportunity.reason if changes.reason is ... else changes.reason
    closing = status in CLOSED and opportunity.is_open
    if closing and not (isinstance(reason, str) and reason.strip()):
        errors.append(FieldError("reason", f"closing as {status} needs a reason"))
    if changes.reason is not ... and not closing:
        errors.append(FieldError("reason", "a reason is given when closing (status: won or lost)"))
    if isinstance(reason, str) and len(reason) > MAX_REASON:
        errors.append(FieldError("reason", f"reason is longer than {MAX_REASON} characters"))
    if errors:
        raise ValidationFailed(errors)
    stage = opportunity.stage if changes.stage is ... else changes.stage
    return replace(
        opportunity,
        stage="close" if closing else stage,
        status=status,
        reason=reason.strip()
        if closing and isinstance(reason, str)
        else (None if reopening else opportunity.reason),
        closed_at=now if closing else (None if reopening else opportunity.closed_at),
        estimated_value=opportunity.estimated_value
        if changes.estimated_value is ...
        else changes.estimated_value,
        close_date=opportunity.close_date if changes.close_date is ... else changes.close_date,
        owner=opportunity.owner if changes.owner is ... else changes.owner,
        updated_at=now,
    )


def close_for_lead(opportunity: Opportunity, action: str, now: datetime) -> Opportunity | None:
    """An open opportunity closes as lost when its lead is disqualified or reopened (the work it stood
    for is over or starts again as a new round); ``None`` when nothing changes."""
    if not opportunity.is_open or action not in ("disqualify", "reopen"):
        return None
    reason = LEAD_DISQUALIFIED if action == "disqualify" else LEAD_REOPENED
    return replace(opportunity, status="lost", stage="close", reason=reason, closed_at=now, updated_at=now)


def pipeline(opportunities: Iterable[Opportunity]) -> dict[str, Any]:
    """Open opportunities counted and valued by stage and by owner (an opportunity without a value
    counts with 0), and the closed ones by outcome."""
    by_stage: dict[str, dict[str, Any]] = {stage: {"count": 0, "value": Decimal(0)} for stage in STAGES}
    by_owner: dict[str, dict[str, Any]] = {}
    closed: dict[str, dict[str, Any]] = {status: {"count": 0, "value": Decimal(0)} for status in CLOSED}
    for opportunity in opportunities:
        value = opportunity.estimated_value or Decimal(0)
        if opportunity.is_open:
            buckets = [by_stage[opportunity.stage]]
            owner = by_owner.setdefault(
                opportunity.owner or "unassigned",
                {"count": 0, "value": Decimal(0), "by_stage": dict.fromkeys(STAGES, 0)},
            )
            owner["by_stage"][opportunity.stage] += 1
            buckets.append(owner)
        else:
            buckets = [closed[opportunity.status]]
        for bucket in buckets:
            bucket["count"] += 1
            bucket["value"] += value
    return {
        "open": {
            "count": sum(b["count"] for b in by_stage.values()),
            "value": sum((b["value"] for b in by_stage.values()), Decimal(0)),
        },
        "by_stage": by_stage,
        "by_owner": dict(sorted(by_owner.items())),
        "closed": closed,
    }
