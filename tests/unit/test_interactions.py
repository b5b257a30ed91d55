"""Interactions as received by ``POST /v1/interactions`` (chalicelib/domain/interactions.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.fields import InvalidValue
from chalicelib.domain.interactions import (
    MAX_PROPERTIES_BYTES,
    InteractionInput,
    iso,
    parse_interaction,
    parse_time,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "evt-1",
        "type": "page_visited",
        "occurred_at": "2026-11-24T09:30:00Z",
        "email": "ada@example.org",
        "properties": {"url": "https://www.example.com/pricing"},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refused(data: Any) -> str:
    with pytest.raises(InvalidValue) as caught:
        parse_interaction(data, NOW)
    return str(caught.value)


# ---------------------------------------------------------------- parse_interaction


def test_valid_interaction_by_email_is_parsed():
    parsed = parse_interaction(item(lead_id="l_1"), NOW)
    assert parsed == InteractionInput(
        interaction_id="evt-1",
        type="page_visited",
        occurred_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        contact_id=None,
        email="ada@example.org",
        lead_id="l_1",
        properties={"url": "https://www.example.com/pricing"},
    )


def test_valid_interaction_by_contact_id_is_parsed():
    parsed = parse_interaction(item(email=None, contact_id="c_01hx"), NOW)
    assert parsed.contact_id == "c_01hx"
    assert parsed.email is None


def test_email_is_normalised():
    assert parse_interaction(item(email="Ada.Lovelace@Example.ORG"), NOW).email == "ada.lovelace@example.org"


def test_id_lead_id_and_properties_are_optional():
    parsed = parse_interaction(item(id=None, properties=None), NOW)
    assert parsed.interaction_id is None
    assert parsed.lead_id is None
    assert parsed.properties == {}


def test_interaction_needs_a_contact_id_or_an_email():
    assert "exactly one of contact_id or email" in refused(item(email=None))


def test_interaction_cannot_name_both_a_contact_id_and_an_email():
    assert "exactly one of contact_id or email" in refused(item(contact_id="c_1"))


def test_invalid_email_is_refused():
    assert refused(item(email="not-an-email")).startswith("email is not a valid email address")


def test_email_must_be_text():
    assert refused(item(email=["ada@example.org"])) == "email must be text"


@pytest.mark.parametrize("key", ["contact_id", "lead_id", "id"])
@pytest.mark.parametrize("value", ["", "has space", "x" * 129, "a/b", 42])
def test_ids_must_be_short_plain_tokens(key, value):
    data = item(email=None, contact_id="c_1") if key != "contact_id" else item(email=None)
    data[key] = value
    assert refused(data).startswith(f"{key} must be an id")


@pytest.mark.parametrize("kind", ["page_visited", "email_opened", "demo_requested", "x", "webinar2_attended"])
def test_known_and_custom_lower_snake_case_types_are_accepted(kind):
    assert parse_interaction(item(type=kind), NOW).type == kind


@pytest.mark.parametrize(
    "kind", ["PageVisited", "page-visited", "page visited", "1st_visit", "_visit", "", "x" * 65, 7, None]
)
def test_type_must_be_lower_snake_case(kind):
    assert "lower_snake_case" in refused({**item(), "type": kind})


def test_type_with_a_trailing_newline_is_refused():
    refused(item(type="page_visited\n"))


def test_occurred_at_with_an_offset_is_stored_in_utc():
    parsed = parse_interaction(item(occurred_at="2026-11-24T11:30:00+02:00"), NOW)
    assert parsed.occurred_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2026-11-24T09:30:00", "2026-11-24"])
def test_occurred_at_without_a_zone_is_refused(value):
    assert "time zone" in refused(item(occurred_at=value))


@pytest.mark.parametrize("value", ["yesterday", "24/11/2026 09:30", 1764000000, None, ""])
def test_occurred_at_must_be_an_iso_time(value):
    assert refused({**item(), "occurred_at": value}).startswith("occurred_at must be")


def test_occurred_at_up_to_24_hours_ahead_is_accepted_for_clock_drift():
    ahead = NOW + timedelta(hours=24)
    assert parse_interaction(item(occurred_at=ahead.isoformat()), NOW).occurred_at == ahead


def test_occurred_at_more_than_24_hours_ahead_is_refused():
    ahead = NOW + timedelta(hours=24, seconds=1)
    assert "more than 24 hours in the future" in refused(item(occurred_at=ahead.isoformat()))


def test_old_interactions_within_retention_are_accepted():
    parsed = parse_interaction(item(occurred_at="2025-01-01T00:00:00Z"), NOW)
    assert parsed.occurred_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_interactions_older_than_retention_are_refused_rather_than_expired_at_once():
    with pytest.raises(InvalidValue, match="retention period"):
        parse_interaction(item(occurred_at="2019-01-01T00:00:00Z"), NOW, retention_days=730)


@pytest.mark.parametrize(
    "properties",
    [
        {"x": float("nan")},
        {"x": 1e200},
        {"x": 1e-200},
        {"x": 10**40 + 1},
        {"": 1},
        {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]},
    ],
)
def test_properties_dynamodb_cannot_store_are_refused(properties):
    with pytest.raises(InvalidValue, match="properties"):
        parse_interaction(item(properties=properties), NOW)


def test_times_that_overflow_in_utc_are_refused():
    with pytest.raises(InvalidValue, match="out of range"):
        parse_interaction(item(occurred_at="9999-12-31T23:59:59-23:59"), NOW)


def _properties_of_size(size: int) -> dict[str, str]:
    overhead = len(json.dumps({"k": ""}))
    properties = {"k": "x" * (size - overhead)}
    assert len(json.dumps(properties)) == size
    return properties


def test_properties_up_to_4096_bytes_are_accepted():
    properties = _properties_of_size(MAX_PROPERTIES_BYTES)
    assert parse_interaction(item(properties=properties), NOW).properties == properties


def test_properties_over_4096_bytes_are_refused():
    assert "larger than 4096 bytes" in refused(item(properties=_properties_of_size(MAX_PROPERTIES_BYTES + 1)))


@pytest.mark.parametrize("properties", [["url"], "url=/pricing", 5])
def test_properties_must_be_an_object(properties):
    assert refused(item(properties=properties)) == "properties must be an object"


@pytest.mark.parametrize("data", [None, [], "page_visited", 42])
def test_interaction_must_be_an_object(data):
    assert refused(data) == "must be an object"


# ---------------------------------------------------------------- the queue message


def test_message_round_trip_gives_the_same_interaction():
    original = parse_interaction(
        item(occurred_at="2026-11-24T09:30:00.123Z", lead_id="l_1", properties={"n": 1, "tags": ["a"]}), NOW
    )
    assert InteractionInput.from_message(original.as_message()) == original


def test_message_round_trip_survives_json():
    original = parse_interaction(item(email=None, contact_id="c_1", id=None), NOW)
    message = json.loads(json.dumps(original.as_message()))
    assert InteractionInput.from_message(message) == original


def test_message_names_every_part_and_times_in_utc_milliseconds():
    message = parse_interaction(item(occurred_at="2026-11-24T11:30:00.5+02:00"), NOW).as_message()
    assert message == {
        "id": "evt-1",
        "type": "page_visited",
        "occurred_at": "2026-11-24T09:30:00.500Z",
        "contact_id": None,
        "email": "ada@example.org",
        "lead_id": None,
        "properties": {"url": "https://www.example.com/pricing"},
    }


def test_message_without_properties_reads_as_empty_properties():
    message = {"type": "page_visited", "occurred_at": "2026-11-24T09:30:00.000Z", "contact_id": "c_1"}
    assert InteractionInput.from_message(message).properties == {}


def test_time_before_1970_is_refused():
    with pytest.raises(InvalidValue, match="1970 or later"):
        parse_interaction(item(occurred_at="0999-12-31T00:00:00Z"), NOW)


def test_time_at_the_edge_of_the_calendar_is_refused_not_crashing():
    with pytest.raises(InvalidValue):
        parse_time("0001-01-01T00:00:00+01:00")


# ---------------------------------------------------------------- iso() and parse_time()


def test_iso_is_utc_with_milliseconds_and_z():
    moment = datetime(2026, 11, 24, 11, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2026-11-24T09:30:05.123Z"


def test_iso_pads_milliseconds():
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 7000, tzinfo=UTC)) == "2026-01-02T03:04:05.007Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_iso_strings_sort_in_time_order():
    base = datetime(2026, 11, 24, 23, 59, 59, 998000, tzinfo=UTC)
    moments = [
        base,
        base + timedelta(milliseconds=1),
        base + timedelta(milliseconds=2),  # crosses midnight and the day
        datetime(2026, 11, 25, 1, 0, tzinfo=timezone(timedelta(hours=3))),  # 2026-11-24T22:00Z
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2009, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    ]
    texts = [iso(m) for m in moments]
    assert all(ISO_MS_Z.match(t) for t in texts)
    assert sorted(texts) == [iso(m) for m in sorted(moments)]


def test_parse_time_reads_what_iso_writes():
    moment = datetime(2026, 11, 24, 9, 30, 5, 123000, tzinfo=UTC)
    assert parse_time(iso(moment)) == moment


def test_interaction_email_with_surrounding_spaces_is_read_like_a_capture():
    parsed = parse_interaction(
        {"type": "page_visited", "occurred_at": "2026-11-20T10:00:00Z", "email": "  Ada@Example.ORG "}, NOW
    )
    assert parsed.email == "ada@example.org"
