"""Which range of a model's stored scores a segment condition is read from (``domain/segments.py:
pinned_score``, ``services/segments.py: score_range``): pure, no AWS. The range must hold every lead
the condition can match (the condition is checked again on every lead read)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.scoring import Grade, ScoringModel
from chalicelib.domain.segments import ScorePin, compile_condition, pinned_score
from chalicelib.services.segments import score_range

M = "b2b-default"


def model() -> Any:
    grades = (Grade("A", 80), Grade("B", 50), Grade("C", 25), Grade("D", None))
    return ScoringModel(model_id=M, version=1, name="B2B", rules=(), grades=grades, sales_ready_score=70)


@pytest.mark.parametrize(
    ("condition", "low", "below"),
    [
        ({"score": M, "op": "gte", "value": 60}, 60, None),
        ({"score": M, "op": "lt", "value": 60}, None, 60),
        ({"score": M, "op": "lte", "value": 60}, None, math.nextafter(60, math.inf)),
        ({"score": M, "op": "exists"}, None, None),
        ({"grade": M, "op": "eq", "value": "B"}, 50, 80),
        ({"grade": M, "op": "in", "value": ["B", "C"]}, 25, 80),
        ({"grade": M, "op": "eq", "value": "D"}, None, 25),
        ({"sales_ready": M}, 70, None),
        (
            {
                "all": [
                    {"sales_ready": M},
                    {"grade": M, "op": "eq", "value": "B"},
                    {"score": M, "op": "lt", "value": 75},
                ]
            },
            70,
            75,
        ),
    ],
)
def test_a_top_level_score_leaf_bounds_the_index_range_by_the_models_lines(
    condition: dict[str, Any], low: float | None, below: float | None
):
    compile_condition(condition, known_models=frozenset({M}))
    pin = pinned_score(condition)
    assert pin is not None and pin.model_id == M
    assert score_range(pin, model()) == (low, below)


@pytest.mark.parametrize(
    "condition",
    [
        {
            "any": [
                {"grade": M, "op": "eq", "value": "A"},
                {"field": "contact.country", "op": "eq", "value": "GB"},
            ]
        },
        {"not": {"grade": M, "op": "eq", "value": "A"}},
        {"score": M, "op": "missing"},
        {"field": "lead.state", "op": "eq", "value": "open"},
    ],
)
def test_a_condition_a_lead_without_that_score_can_match_pins_no_range(condition: dict[str, Any]):
    assert pinned_score(condition) is None


def test_grades_named_twice_keep_only_the_grades_both_allow():
    both = {
        "all": [{"grade": M, "op": "in", "value": ["A", "B"]}, {"grade": M, "op": "in", "value": ["B", "C"]}]
    }
    assert pinned_score(both) == ScorePin(M, grades=("B",))


def test_a_score_leaf_naming_an_unknown_model_is_refused_naming_the_leaf():
    with pytest.raises(ValidationFailed) as refused:
        compile_condition({"all": [{"sales_ready": "nope"}]}, known_models=frozenset({M}))
    assert refused.value.errors[0].field == "condition.all[0].sales_ready"


def test_an_event_condition_is_still_refused_in_a_segment():
    with pytest.raises(ValidationFailed) as refused:
        compile_condition({"event": "email_clicked"}, known_models=frozenset())
    assert refused.value.errors[0].field == "condition.event"
