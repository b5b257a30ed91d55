"""A CSV import as its store keeps it: the head (mapping, status, counters) and each chunk done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk of an import did: counted once on the import's head."""

    chunk: int
    rows: int
    counts: dict[str, int]
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportHead:
    """An import: its mapping, status and counters (``rows_total`` etc. once its file is planned)."""

    import_id: str
    name: str | None
    status: str
    mapping: dict[str, Any]
    object_key: str
    created_at: datetime
    updated_at: datetime
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] | None = None
    error: dict[str, Any] | None = None
    rows_total: int | None = None
    chunks_total: int | None = None
    chunks_done: int = 0
    rows_done: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    interactions: int = 0


@dataclass(frozen=True)
class ImportChunk:
    chunk: int
    rows: int
    errors: list[dict[str, Any]]
