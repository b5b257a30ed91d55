"""Plain values the stores take and hand back (filters, pages, model heads and versions, jobs): what the
ports of ``ports.py`` exchange besides the entities and the values of ``import_jobs``, ``outbox`` and
``reports``. Kept apart from the ports so that importing them costs no ``Protocol`` classes (the cold
start imports these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LeadFilter:
    state: str | None = None
    status: str | None = None
    source: str | None = None
    contact_id: str | None = None


@dataclass(frozen=True)
class OpportunityFilter:
    stage: str | None = None
    owner: str | None = None
    status: str | None = None
    lead_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class ModelHead:
    """Which version of a scoring model is the draft and which is active."""

    model_id: str
    name: str
    latest_version: int
    draft_version: int | None
    active_version: int | None
    updated_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    model_id: str
    number: int
    definition: dict[str, Any]
    state: str
    warnings: list[str]
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    model_id: str
    model_version: int
    segments: int
    segments_done: int
    pages_done: int
    leads_scored: int
    created_at: datetime
    result: dict[str, Any] | None = None
