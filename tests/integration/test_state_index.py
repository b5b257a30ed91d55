"""Leads per state are indexed on ``<state>#<shard>`` (no hot partition for every new lead), and reading
them merges the shards: newest first, every lead exactly once across pages, and a cursor that cannot be
turned into another query."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.entities import Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.stored import LeadFilter
from chalicelib.store import state_index
from chalicelib.store.dynamo import lead_record
from chalicelib.store.records import LeadRecord
from tests.integration.helpers import get

START = datetime(2026, 11, 1, tzinfo=UTC)


def put_leads(count: int, state: str = "open", same_time: bool = False, status: str = "new") -> list[str]:
    ids = []
    for n in range(count):
        created = START if same_time else START + timedelta(minutes=n)
        lead = Lead(
            f"l_{state}_{n:03d}", f"c_{n}", {"topic": "x"}, created, created, state=state, status=status
        )
        lead_record(lead).save()
        ids.append(lead.lead_id)
    return ids


def read_all(deps: Any, where: LeadFilter, limit: int) -> list[Lead]:
    seen: list[Lead] = []
    cursor = None
    for _ in range(100):
        page = deps.store.list_leads(where, limit, cursor)
        assert len(page.items) <= limit
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


def test_new_leads_spread_over_the_shards_instead_of_one_partition(deps: Any):
    put_leads(100)
    keys = [r.state_shard for r in LeadRecord.scan()]
    assert all(key.startswith("open#") for key in keys)
    assert len(set(keys)) == state_index.SHARDS, "100 leads land on every shard"
    assert max(keys.count(key) for key in set(keys)) <= 15, "none takes much more than its share (6.25)"


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_paging_merges_the_shards_newest_first_each_lead_once(deps: Any, limit: int):
    expected = list(reversed(put_leads(37)))
    put_leads(5, state="qualified")
    seen = read_all(deps, LeadFilter(state="open"), limit)
    assert [lead.lead_id for lead in seen] == expected


def test_leads_created_at_the_same_instant_are_each_read_once(deps: Any):
    ids = put_leads(20, same_time=True)
    seen = [lead.lead_id for lead in read_all(deps, LeadFilter(state="open"), 3)]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


def test_a_filter_on_status_keeps_paging_exact(deps: Any):
    put_leads(12, status="new")
    wanted = list(reversed([f"l_open_{n:03d}" for n in range(12, 30)]))
    for n in range(12, 30):
        created = START + timedelta(minutes=n)
        lead_record(Lead(f"l_open_{n:03d}", "c", {}, created, created, status="marketing_qualified")).save()
    seen = read_all(deps, LeadFilter(state="open", status="marketing_qualified"), 4)
    assert [lead.lead_id for lead in seen] == wanted


def test_the_newest_of_a_state_come_merged_for_training_and_reports(deps: Any):
    ids = put_leads(25, state="qualified")
    assert [lead.lead_id for lead in deps.scoring.leads_in_state("qualified", 10)] == list(reversed(ids))[:10]


def _tampered(cursor: str, change: Any) -> str:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    change(data)
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_for_another_state_or_changed_by_hand_is_refused(client: Any, admin_key: str, deps: Any):
    put_leads(40)
    page = get(client, "/v1/leads?state=open&limit=2", admin_key).json_body
    cursor = page["next_cursor"]
    assert get(client, f"/v1/leads?state=open&limit=2&cursor={cursor}", admin_key).status_code == 200
    shard = next(
        i
        for i, p in enumerate(json.loads(base64.urlsafe_b64decode(cursor + "==="))["shards"])
        if isinstance(p, dict)
    )
    bad = [
        cursor[:-3],
        _tampered(cursor, lambda d: d.update(state="qualified")),
        _tampered(cursor, lambda d: d["shards"].pop()),
        _tampered(cursor, lambda d: d["shards"][shard].update(state_shard="qualified#0")),
        _tampered(cursor, lambda d: d["shards"][shard].update(created_at="yesterday")),
        _tampered(cursor, lambda d: d["shards"][shard].update(lead_id={"S": "x"})),
        _tampered(
            cursor, lambda d: d.update(shards=["done"] * 7 + [{"lead_id": "l\u0000", "created_at": "x"}])
        ),
    ]
    for forged in bad:
        answer = get(client, f"/v1/leads?state=open&limit=2&cursor={forged}", admin_key)
        assert answer.status_code == 422, forged
        assert answer.json_body["error"]["field"] == "cursor"
    with pytest.raises(ValidationFailed):
        state_index.decode(cursor, "disqualified")
