"""A segment by journey activity is read from the journey's enrollments (``by_journey``), never by
paging through every lead (issue 19, item 5): on main the same query read every lead (``"scanned":
true``) and each page's people's enrollments, so its reads grew with the lead table, not the journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.journeys import Enrollment
from chalicelib.domain.segments import SegmentQuery
from chalicelib.services.segments import query_segment
from chalicelib.store.dynamo import contact_record, lead_record
from tests.integration.helpers import aws_calls as dynamodb_calls

START = datetime(2026, 11, 1, tzinfo=UTC)


def people(deps: Any, count: int, enrolled_every: int) -> dict[str, list[str]]:
    """``count`` contacts with one lead each (two for every fifth); every ``enrolled_every``-th is
    enrolled in ``nurture`` (the later ones exited). Their lead ids, by whether they are enrolled."""
    leads: dict[str, list[str]] = {"in": [], "out": []}
    for n in range(count):
        at = START + timedelta(minutes=n)
        lead_ids = [f"l_{n:03d}"] + ([f"l_{n:03d}b"] if n % 5 == 0 else [])
        contact_record(Contact(f"c_{n:03d}", f"p{n}@example.com", {}, at, at, lead_ids=lead_ids)).save()
        for lead_id in lead_ids:
            lead_record(Lead(lead_id, f"c_{n:03d}", {"source": "web"}, at, at)).save()
        enrolled = n % enrolled_every == 0
        leads["in" if enrolled else "out"] += lead_ids
        if enrolled:
            done = n > count // 2
            assert deps.journeys.enroll(
                Enrollment(
                    journey_id="nurture",
                    contact_id=f"c_{n:03d}",
                    version=1,
                    run=1,
                    step="hello",
                    state="done" if done else "active",
                    seq=1,
                    entered_at=at,
                    step_at=at,
                    due_at=None if done else at + timedelta(days=1),
                    reason="completed" if done else None,
                    finished_at=at + timedelta(hours=1) if done else None,
                ),
                None,
                waiting=False,
            )
    return leads


def every_page(deps: Any, condition: dict[str, Any], limit: int) -> tuple[list[Any], list[Any]]:
    pages, cursor = [], None
    for _ in range(100):
        page = query_segment(SegmentQuery.of(condition=condition, limit=limit, cursor=cursor), deps)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages, [lead for p in pages for m in p.matches for lead in m.matching_lead_ids]
    raise AssertionError("paging did not end")


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynamodb.connection import Connection, TableConnection

    def scanned(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("scanned a table to serve a segment by journey activity")

    monkeypatch.setattr(Connection, "scan", scanned)
    monkeypatch.setattr(TableConnection, "scan", scanned)


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_a_segment_by_journey_activity_pages_through_the_journeys_enrollments_only(
    deps: Any, no_scan: None, limit: int
) -> None:
    leads = people(deps, 40, enrolled_every=4)  # 10 people enrolled, 12 leads
    pages, matched = every_page(deps, {"field": "journey.nurture.state", "op": "exists"}, limit)
    assert sorted(matched) == sorted(leads["in"])
    assert len(matched) == len(set(matched))  # each lead once across the pages
    assert {(p.index, p.scanned) for p in pages} == {("by_journey", False)}
    # only the enrolled people's leads were read, not the 50 leads of the table
    assert sum(p.leads_read for p in pages) == len(leads["in"])


def test_the_rest_of_the_condition_still_decides_within_the_journey(deps: Any, no_scan: None) -> None:
    people(deps, 40, enrolled_every=4)
    _, active = every_page(deps, {"field": "journey.nurture.state", "op": "eq", "value": "in"}, 100)
    _, exited = every_page(
        deps,
        {"all": [{"field": "journey.nurture.exit_reason", "op": "eq", "value": "completed"}]},
        100,
    )
    assert sorted(active) == ["l_000", "l_000b", "l_004", "l_008", "l_012", "l_016", "l_020", "l_020b"]
    assert sorted(exited) == ["l_024", "l_028", "l_032", "l_036"]
    _, nobody = every_page(deps, {"field": "journey.other.state", "op": "exists"}, 100)
    assert nobody == []


def test_a_journey_segments_dynamodb_calls_do_not_grow_with_the_lead_table(deps: Any) -> None:
    """The same 10 enrolled people among 40 and among 120 contacts: the same calls."""
    condition = {"field": "journey.nurture.state", "op": "exists"}
    people(deps, 40, enrolled_every=4)
    with dynamodb_calls() as small:
        query_segment(SegmentQuery.of(condition=condition, limit=100), deps)
    for n in range(40, 120):  # 80 more contacts with leads, none enrolled
        at = START + timedelta(minutes=n)
        contact_record(Contact(f"c_{n:03d}", f"p{n}@example.com", {}, at, at, lead_ids=[f"l_{n:03d}"])).save()
        lead_record(Lead(f"l_{n:03d}", f"c_{n:03d}", {}, at, at)).save()
    with dynamodb_calls() as large:
        query_segment(SegmentQuery.of(condition=condition, limit=100), deps)
    assert sorted(small) == sorted(large)
    assert not [call for call in large if call.startswith("Scan")], large
    # the journey's 8 shards, the people's contacts and leads (one batch each), their enrollments
    assert sum(call.endswith("by_journey") for call in large) == 8
    assert len(large) <= 8 + 2 + 10 + 2, large


def test_missing_is_not_pinned_it_reads_every_lead(deps: Any) -> None:
    """``missing`` holds for people never enrolled: the journey's enrollments cannot answer it."""
    leads = people(deps, 12, enrolled_every=4)
    pages, matched = every_page(deps, {"field": "journey.nurture.state", "op": "missing"}, 100)
    assert sorted(matched) == sorted(leads["out"])
    assert pages[0].scanned is True and pages[0].index is None


def test_enrollments_written_before_the_index_are_found_after_the_backfill(deps: Any) -> None:
    from chalicelib.store.backfill import backfill_enrollments
    from chalicelib.store.journeys import JourneyRecord

    leads = people(deps, 12, enrolled_every=4)
    for record in JourneyRecord.scan(JourneyRecord.journey_shard.exists()):  # as written before
        record.update(actions=[JourneyRecord.journey_shard.remove()])
    condition = {"field": "journey.nurture.state", "op": "exists"}
    assert every_page(deps, condition, 100)[1] == []
    assert backfill_enrollments() == 3
    assert sorted(every_page(deps, condition, 100)[1]) == sorted(leads["in"])
    assert backfill_enrollments() == 0, "a second run finds nothing to do"
