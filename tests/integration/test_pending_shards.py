"""Unsent hand-offs are indexed over several key values (no hot partition for every hand-off decided and
sent), and the sweeper that republishes them reads every shard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.store.outbox import PENDING_SHARDS, pending_key
from chalicelib.store.records import HandoffRecord

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def put_pending(count: int, age: timedelta) -> list[str]:
    ids = []
    for n in range(count):
        handoff_id = f"h_{age.seconds}_{n:03d}"
        HandoffRecord(
            handoff_id,
            lead_id=f"l_{n}",
            kind="task",
            origin="rule:x",
            envelope="{}",
            state="pending",
            pending=pending_key(handoff_id),
            created_at=NOW - age,
        ).save()
        ids.append(handoff_id)
    return ids


def test_unsent_hand_offs_spread_over_the_shards_and_the_sweeper_finds_every_one(deps: Any):
    old = put_pending(40, timedelta(minutes=5))
    put_pending(10, timedelta(seconds=30))  # too recent: the publisher may still be at it
    assert len({r.pending for r in HandoffRecord.scan()}) == PENDING_SHARDS
    assert sorted(deps.handoffs.unsent(NOW - timedelta(minutes=2), 1000)) == sorted(old)
    assert len(deps.handoffs.unsent(NOW - timedelta(minutes=2), 7)) == 7
