"""Qualification rules and triggers (``RuleStore``), stored whole under ``(kind, rule id)``."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from chalicelib.store.records import (
    RuleRecord,
)


class RuleRepository:
    """The rules of each kind, kept a few seconds per container for the stream functions."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rules: dict[str, tuple[float, list[tuple[str, dict[str, Any]]]]] = {}

    def put_rule(self, kind: str, rule_id: str, definition: dict[str, Any], now: datetime) -> bool:
        created = self.get_rule(kind, rule_id) is None
        RuleRecord(kind, rule_id, definition=json.dumps(definition), updated_at=now).save()
        self._rules.pop(kind, None)
        return created

    def get_rule(self, kind: str, rule_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(RuleRecord.get(kind, rule_id, consistent_read=True).definition))
        except DoesNotExist:
            return None

    def rules(self, kind: str, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """Every rule of a kind; with ``max_age``, a list read at most that many seconds ago (the stream
        functions read them per batch: a new rule takes effect within ``max_age`` everywhere, at once
        in the container that wrote it)."""
        cached = self._rules.get(kind)
        if max_age > 0 and cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = [(r.rule_id, json.loads(r.definition)) for r in RuleRecord.query(kind)]
        self._rules[kind] = (time.monotonic() + max_age, found)
        return found
