"""The identity services' typed inputs (pure): they refuse what the hand-written checks refused, in the
same words, so the routes that build them answer as before."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.consent import ConsentUpdate
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.merging import MergeOrder
from chalicelib.domain.segments import SegmentQuery

GB = {"field": "contact.country", "op": "eq", "value": "GB"}


def refusal(build: Any) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        build()
    (error,) = refused.value.errors
    return error.field, error.message


def test_a_consent_update_needs_a_known_level_and_a_source_of_1_to_100_characters():
    assert ConsentUpdate("none") == ConsentUpdate("none", "api"), "the source defaults to api"
    field, message = refusal(lambda: ConsentUpdate(None))
    assert field == "level" and message.startswith("level must be one of none, consent_given")
    assert refusal(lambda: ConsentUpdate("marketing", None))[0] == "source"
    assert refusal(lambda: ConsentUpdate("marketing", "x" * 101)) == (
        "source",
        "source must be text of 1-100 characters",
    )
    assert refusal(lambda: ConsentUpdate("maybe", ""))[0] == "level", "the level is judged first"


@pytest.mark.parametrize("ids", [None, "c_1", [""], [1], [f"c_{n}" for n in range(21)]])
def test_a_merge_order_is_a_list_of_1_to_20_contact_ids(ids: Any):
    assert refusal(lambda: MergeOrder(ids)) == (
        "duplicate_ids",
        "duplicate_ids must be a list of 1-20 contact ids",
    )


def test_a_merge_order_of_contact_ids_is_kept_as_given():
    assert MergeOrder(["c_2", "c_1"]).duplicate_ids == ["c_2", "c_1"]


@pytest.mark.parametrize("limit", [0, 101, "ten", True, 5.0, None, -1])
def test_a_segment_query_limit_is_an_integer_from_1_to_100(limit: Any):
    assert refusal(lambda: SegmentQuery.of(condition=GB, limit=limit)) == (
        "limit",
        "limit must be an integer from 1 to 100",
    )


def test_a_segment_query_reads_limit_digits_ignores_a_cursor_that_is_not_text_and_defaults_to_100():
    assert SegmentQuery.of(GB, limit="7").limit == 7
    assert SegmentQuery.of(GB, cursor=12).cursor is None
    assert SegmentQuery.of(GB, cursor="abc").cursor == "abc"
    assert SegmentQuery.of(segment_id=42).segment_id == "42"
    assert SegmentQuery.of(GB).limit == 100


def test_a_segment_query_judges_its_condition_before_its_page_size():
    assert refusal(lambda: SegmentQuery.of(limit=0))[0] == "condition"
    assert refusal(lambda: SegmentQuery.of({}, limit=0))[0] == "condition"
