"""Submissions held back by screening, until an operator releases them (``QuarantineStore``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import (
    DoesNotExist,
    UpdateError,
)
from pynamodb.expressions.condition import Condition

from chalicelib.domain.ids import new_id
from chalicelib.domain.interactions import iso
from chalicelib.store.records import (
    QuarantineRecord,
)
from chalicelib.store.sharded_index import ShardedIndex

#: A quarantined submission's states; the list without ``state`` merges both.
QUARANTINE_STATES = ("held", "released")
#: 4 shards: suspected spam arrives in bursts (a bot), well below 4 x 1,000 writes/s after rate limits.
BY_STATE = ShardedIndex(
    index=QuarantineRecord.by_state,
    id_attribute="quarantine_id",
    key_attribute="state_shard",
    time_attribute="received_at",
    time_serializer=QuarantineRecord.received_at,
    shards=4,
)


def _quarantined(record: QuarantineRecord) -> dict[str, Any]:
    return {
        "quarantine_id": record.quarantine_id,
        "form_id": record.form_id,
        "reason": record.reason,
        "signals": json.loads(record.signals) if record.signals else [record.reason],
        "received_at": iso(record.received_at),
        "state": record.state or "held",
        "released_at": iso(record.released_at) if record.released_at else None,
        "released": json.loads(record.released) if record.released else None,
        "payload": _payload(record.payload),
    }


def _payload(text: str) -> dict[str, Any]:
    try:  # records kept before whole payloads were (cut at 20,000 characters) may not be JSON
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class QuarantineRepository:
    def quarantine(
        self,
        form_id: str,
        reason: str,
        payload: dict[str, Any],
        now: datetime,
        signals: Sequence[str] = (),
    ) -> str:
        """Keep a suspected bot's submission for review (30 days); the whole payload, so a release can
        capture it (a body is at most 64 KB: far within an item)."""
        quarantine_id = new_id("q")
        QuarantineRecord(
            quarantine_id,
            form_id=form_id,
            reason=reason,
            received_at=now,
            payload=json.dumps(payload, default=str),
            signals=json.dumps(list(signals or [reason])),
            expires_at=now + timedelta(days=30),
            state_shard=BY_STATE.key("held", quarantine_id),
        ).save()
        return quarantine_id

    def get_quarantined(self, quarantine_id: str) -> dict[str, Any] | None:
        try:
            return _quarantined(QuarantineRecord.get(quarantine_id, consistent_read=True))
        except DoesNotExist:
            return None

    def list_quarantined(
        self, wanted: dict[str, str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the quarantine, newest first, filtered by ``form_id``, ``reason`` and ``state``:
        queried from the ``by_state`` index (one state's shards, or both states' merged), never a scan
        (issue 19); the page's items are then read from the table, consistently."""
        condition: Condition | None = None
        for attribute, value in (
            (QuarantineRecord.form_id, wanted.get("form_id")),
            (QuarantineRecord.reason, wanted.get("reason")),
        ):
            if value is not None:
                clause = attribute == value
                condition = clause if condition is None else condition & clause
        state = wanted.get("state")
        states = (state,) if state is not None else QUARANTINE_STATES
        entries, next_cursor = BY_STATE.page(states, limit, cursor, condition)
        ids = [e.quarantine_id for e in entries]
        records = QuarantineRecord.batch_get(ids, consistent_read=True) if ids else []
        found = {r.quarantine_id: r for r in records}
        return [_quarantined(found[i]) for i in ids if i in found], next_cursor

    def mark_released(self, quarantine_id: str, capture: dict[str, Any], now: datetime) -> None:
        """Record what the release captured; the first release's time stays."""
        record = QuarantineRecord(quarantine_id)
        try:
            record.update(
                actions=[
                    QuarantineRecord.state.set("released"),
                    QuarantineRecord.state_shard.set(BY_STATE.key("released", quarantine_id)),
                    QuarantineRecord.released_at.set(now),
                    QuarantineRecord.released.set(json.dumps(capture)),
                ],
                condition=QuarantineRecord.quarantine_id.exists() & (QuarantineRecord.state != "released"),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
