"""Filtered list routes never scan a whole table (issue 19, item 5): ``GET /v1/contacts?marketing_only=``
reads the contacts' ``by_audience`` index and the quarantine list the quarantine's ``by_state`` index
(``<group>#<shard>`` keys, merged newest first). Every test here runs with PynamoDB's ``Scan`` made to
fail: on main (a filtered scan) each of them failed with "scanned"."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.connection import Connection, TableConnection

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ValidationFailed
from chalicelib.store.dynamo import contact_record

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any ``Scan`` (a Model's or a connection's) fails the test."""

    def scanned(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("scanned a whole table to serve a filtered list")

    monkeypatch.setattr(Connection, "scan", scanned)
    monkeypatch.setattr(TableConnection, "scan", scanned)


def put_contacts(count: int) -> dict[bool, list[str]]:
    """``count`` contacts, every third one a sales contact; ids per ``marketing_only``, newest first."""
    ids: dict[bool, list[str]] = {True: [], False: []}
    for n in range(count):
        at = START + timedelta(minutes=n)
        marketing = n % 3 != 0
        contact_record(
            Contact(f"c_{n:03d}", f"p{n}@example.com", {}, at, at, marketing_only=marketing)
        ).save()
        ids[marketing].insert(0, f"c_{n:03d}")
    return ids


def every_page(read: Any, limit: int) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    for _ in range(200):
        items, cursor = read(limit, cursor)
        assert len(items) <= limit
        seen += items
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("limit", [1, 4, 50])
def test_contacts_filtered_by_marketing_only_come_from_the_index_newest_first_each_once(
    deps: Any, no_scan: None, limit: int
):
    ids = put_contacts(30)
    for marketing in (True, False):

        def read(n: int, cursor: str | None, marketing: bool = marketing) -> tuple[list[Any], str | None]:
            page = deps.store.list_contacts(marketing, n, cursor)
            return page.items, page.next_cursor

        listed = every_page(read, limit)
        assert [c.contact_id for c in listed] == ids[marketing]
        assert all(c.marketing_only is marketing for c in listed)
    everyone = every_page(lambda n, cursor: _contacts(deps, None, n, cursor), limit)
    assert sorted(c.contact_id for c in everyone) == sorted(ids[True] + ids[False])
    assert [c.created_at for c in everyone] == sorted((c.created_at for c in everyone), reverse=True)


def _contacts(deps: Any, marketing: bool | None, n: int, cursor: str | None) -> tuple[list[Any], str | None]:
    page = deps.store.list_contacts(marketing, n, cursor)
    return page.items, page.next_cursor


def test_a_contact_that_becomes_a_sales_contact_moves_to_the_sales_list(deps: Any, no_scan: None):
    put_contacts(3)
    contact = deps.store.get_contact("c_001")
    assert contact.marketing_only
    contact_record(Contact(**{**contact.__dict__, "marketing_only": False})).save()
    assert "c_001" in [c.contact_id for c in _contacts(deps, False, 10, None)[0]]
    assert "c_001" not in [c.contact_id for c in _contacts(deps, True, 10, None)[0]]


def test_a_contacts_cursor_changed_by_hand_or_for_the_other_filter_is_refused(deps: Any, no_scan: None):
    put_contacts(10)
    _, cursor = _contacts(deps, True, 2, None)
    assert cursor is not None
    with pytest.raises(ValidationFailed):
        _contacts(deps, False, 2, cursor)
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["shards"] = [{"id": "c_000", "at": "not a time"}] * len(data["shards"])
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    with pytest.raises(ValidationFailed):
        _contacts(deps, True, 2, forged)


def test_the_quarantine_list_filters_by_state_form_and_reason_from_the_index(deps: Any, no_scan: None):
    made: list[tuple[str, str, str]] = []
    for n in range(12):
        form, reason = f"form-{n % 2}", ("too_fast", "honeypot", "no_browser_origin")[n % 3]
        at = START + timedelta(minutes=n)
        made.append((deps.store.quarantine(form, reason, {"email": f"b{n}@x.example"}, at), form, reason))
    released = {made[0][0], made[5][0]}
    for quarantine_id in released:
        deps.store.mark_released(quarantine_id, {"lead_id": "l_x"}, START + timedelta(hours=1))
    newest_first = [q for q, _, _ in reversed(made)]

    def listed(wanted: dict[str, str], limit: int) -> list[str]:
        items = every_page(lambda n, cursor: deps.store.list_quarantined(wanted, n, cursor), limit)
        return [item["quarantine_id"] for item in items]

    for limit in (1, 5, 50):
        assert listed({}, limit) == newest_first
        assert listed({"state": "released"}, limit) == [q for q in newest_first if q in released]
        assert listed({"state": "held"}, limit) == [q for q in newest_first if q not in released]
    assert listed({"form_id": "form-1", "reason": "too_fast"}, 2) == [
        q for q, form, reason in reversed(made) if form == "form-1" and reason == "too_fast"
    ]


def test_items_written_before_the_indexes_are_listed_after_the_backfill(deps: Any):
    from chalicelib.store.backfill import backfill_list_keys
    from chalicelib.store.records import ContactRecord, QuarantineRecord

    put_contacts(3)
    old = deps.store.quarantine("form-0", "too_fast", {}, START)
    for record in ContactRecord.scan():  # as written before issue 19: no index key
        record.update(actions=[ContactRecord.audience_shard.remove()])
    QuarantineRecord(old).update(actions=[QuarantineRecord.state_shard.remove()])
    assert _contacts(deps, None, 10, None)[0] == [] and deps.store.list_quarantined({}, 10, None)[0] == []
    assert backfill_list_keys() == {
        "contacts": 3,
        "quarantine": 1,
        "messages": 0,
        "enrollments": 0,
        "interaction_counts": 3,
        "interaction_accounts": 0,
    }
    assert [c.contact_id for c in _contacts(deps, None, 10, None)[0]] == ["c_002", "c_001", "c_000"]
    assert [q["quarantine_id"] for q in deps.store.list_quarantined({}, 10, None)[0]] == [old]
    assert backfill_list_keys() == {
        "contacts": 0,
        "quarantine": 0,
        "messages": 0,
        "enrollments": 0,
        "interaction_counts": 0,
        "interaction_accounts": 0,
    }, "a second run finds nothing to do"
