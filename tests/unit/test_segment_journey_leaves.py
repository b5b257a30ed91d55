"""Segments by journey activity (issue 18 item 5), pure: ``journey.<id>.<attribute>`` leaves compile,
refuse what is not one naming the field, and read the enrollments' facts (``journey_facts``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.journeys import Enrollment, journey_facts
from chalicelib.domain.rules import Facts
from chalicelib.domain.segments import compile_condition, journeys_named

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
IN = Enrollment("spring", "c1", 1, 1, "pause", "active", 2, NOW, NOW, NOW)
LEFT = Enrollment("spring", "c2", 1, 1, None, "done", 5, NOW, NOW, None, reason="goal", finished_at=NOW)


def holds(condition: dict[str, object], *enrollments: Enrollment) -> bool:
    compiled, _ = compile_condition(condition)
    return compiled.test(Facts(None, None, None, [], NOW, journey_facts(list(enrollments))))[0]


def test_a_person_in_a_journey_is_in_it_at_a_step_and_one_who_left_has_the_reason():
    state_in = {"field": "journey.spring.state", "op": "eq", "value": "in"}
    assert holds(state_in, IN) and not holds(state_in, LEFT) and not holds(state_in)
    assert holds({"field": "journey.spring.step", "op": "eq", "value": "pause"}, IN)
    assert holds({"field": "journey.spring.exit_reason", "op": "eq", "value": "goal"}, LEFT)
    assert holds({"field": "journey.spring.exited_at", "op": "gte", "value": "2026-12-01"}, LEFT)
    assert not holds({"field": "journey.spring.exited_at", "op": "exists"}, IN)


def test_a_person_never_enrolled_has_no_values():
    assert holds({"field": "journey.spring.state", "op": "missing"})
    assert not holds({"field": "journey.spring.state", "op": "eq", "value": "exited"})


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"field": "journey.spring.mood", "op": "eq", "value": "x"}, "condition.field"),
        ({"field": "journey..state", "op": "eq", "value": "in"}, "condition.field"),
        ({"field": "journey.spring.state", "op": "near", "value": "in"}, "condition.op"),
        ({"field": "journey.spring.state", "op": "eq"}, "condition.value"),
        ({"field": "journey.spring.entered_at", "op": "gte", "value": "soon"}, "condition.value"),
        (
            {"all": [{"field": "journey.spring.state", "op": "eq", "value": "in", "x": 1}]},
            "condition.all[0].x",
        ),
    ],
)
def test_what_is_not_a_journey_leaf_is_refused_naming_the_field(condition: dict[str, object], field: str):
    with pytest.raises(ValidationFailed) as refused:
        compile_condition(condition)
    assert refused.value.errors[0].field == field


def test_the_journeys_a_condition_names_are_found_anywhere_in_it():
    condition = {
        "any": [
            {"field": "journey.spring.state", "op": "eq", "value": "in"},
            {"not": {"field": "journey.autumn.state", "op": "exists"}},
            {"field": "contact.country", "op": "eq", "value": "GB"},
        ]
    }
    assert journeys_named(condition) == ["spring", "autumn"]


def test_a_journey_leaf_that_needs_an_enrollment_pins_the_segment_to_that_journeys_enrollments():
    from chalicelib.domain.segments import pinned_journey

    assert pinned_journey({"field": "journey.spring.state", "op": "eq", "value": "in"}) == "spring"
    assert pinned_journey({"field": "journey.spring.state", "op": "ne", "value": "in"}) == "spring"
    assert (
        pinned_journey(
            {
                "all": [
                    {"field": "lead.source", "op": "eq", "value": "web"},
                    {"field": "journey.b.step", "op": "exists"},
                ]
            }
        )
        == "b"
    )
    # one never enrolled satisfies ``missing``; under ``any``/``not`` a leaf is not required
    assert pinned_journey({"field": "journey.spring.state", "op": "missing"}) is None
    assert pinned_journey({"any": [{"field": "journey.spring.state", "op": "exists"}]}) is None
    assert pinned_journey({"not": {"field": "journey.spring.state", "op": "exists"}}) is None
    assert pinned_journey({"field": "journey.spring.mood", "op": "exists"}) is None
