"""Validating scoring models (``parse_model``): every error names the rule and the field (scoring.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.scoring import parse_model

MODEL_FILE = Path(__file__).resolve().parents[2] / "events" / "models" / "b2b_default.json"
B2B: dict[str, Any] = json.loads(MODEL_FILE.read_text())


def example() -> dict[str, Any]:
    return copy.deepcopy(B2B)


def with_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid model around one rule."""
    return {"rules": [rule], "grades": [{"grade": "A", "min_score": 10}, {"grade": "B"}]}


def errors_of(spec: Any) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as caught:
        parse_model("m", 1, spec)
    errors = caught.value.errors
    assert errors, "ValidationFailed must name at least one field"
    assert all(isinstance(error, FieldError) for error in errors)
    return errors


def fields_of(spec: Any) -> list[str]:
    return [error.field for error in errors_of(spec)]


def only_error(spec: Any) -> FieldError:
    errors = errors_of(spec)
    assert len(errors) == 1, errors
    return errors[0]


# ---------------------------------------------------------------- valid models


def test_example_model_is_valid_without_warnings() -> None:
    model = parse_model("b2b-default", 1, example())
    assert len(model.rules) == 7
    assert model.warnings == ()
    assert model.definition == B2B


def test_unknown_interaction_type_is_a_warning_not_an_error() -> None:
    spec = with_rule({"id": "watched", "points": 5, "when": {"event": "webinar_watched"}})
    model = parse_model("m", 1, spec)
    assert [rule.rule_id for rule in model.rules] == ["watched"]
    assert len(model.warnings) == 1
    assert "webinar_watched" in model.warnings[0]
    assert "rules[watched].when.event" in model.warnings[0]


def test_any_event_type_star_gives_no_warning() -> None:
    spec = with_rule({"id": "any", "points": 1, "when": {"event": "*", "within_days": 3}})
    assert parse_model("m", 1, spec).warnings == ()


# ---------------------------------------------------------------- rule conditions


def test_unknown_operator_names_the_rule_and_the_op() -> None:
    error = only_error(
        with_rule(
            {"id": "x", "points": 1, "when": {"field": "contact.country", "op": "equals", "value": "US"}}
        )
    )
    assert error.field == "rules[x].when.op"
    assert "rules[x]" in error.message
    assert "'equals'" in error.message


def test_unknown_operator_deep_in_a_combinator_names_its_path() -> None:
    when = {
        "all": [
            {"field": "contact.country", "op": "eq", "value": "US"},
            {"any": [{"field": "account.employees", "op": "bigger", "value": 10}]},
        ]
    }
    error = only_error(with_rule({"id": "deep", "points": 1, "when": when}))
    assert error.field == "rules[deep].when.all[1].any[0].op"
    assert "rules[deep].when.all[1].any[0]" in error.message


def test_bad_regular_expression_names_the_rule_and_the_value() -> None:
    error = only_error(
        with_rule(
            {
                "id": "title",
                "points": 1,
                "when": {"field": "contact.job_title", "op": "matches", "value": "(vp"},
            }
        )
    )
    assert error.field == "rules[title].when.value"
    assert "rules[title]" in error.message
    assert "regular expression" in error.message


def test_bad_regular_expression_inside_an_event_where_names_its_path() -> None:
    when = {"event": "page_visited", "where": {"field": "url", "op": "matches", "value": "[pricing"}}
    error = only_error(with_rule({"id": "visit", "points": 1, "when": when}))
    assert error.field == "rules[visit].when.where.value"


def test_per_event_rule_with_a_combinator_is_refused() -> None:
    when = {"any": [{"event": "email_clicked"}, {"event": "email_opened"}]}
    error = only_error(with_rule({"id": "engaged", "points": 5, "per_event": True, "when": when}))
    assert error.field == "rules[engaged].when"
    assert "engaged" in error.message
    assert "per-event" in error.message


def test_per_event_rule_with_an_attribute_condition_is_refused() -> None:
    when = {"field": "contact.country", "op": "eq", "value": "US"}
    assert fields_of(with_rule({"id": "pe", "points": 5, "per_event": True, "when": when})) == [
        "rules[pe].when"
    ]


def test_per_event_rule_under_not_is_refused() -> None:
    when = {"not": {"event": "email_clicked"}}
    assert fields_of(with_rule({"id": "pe", "points": 5, "per_event": True, "when": when})) == [
        "rules[pe].when"
    ]


@pytest.mark.parametrize("path", ["person.email", "email", "contact", "contact.Email", "lead."])
def test_unknown_entity_or_malformed_field_path_is_refused(path: str) -> None:
    error = only_error(with_rule({"id": "who", "points": 1, "when": {"field": path, "op": "exists"}}))
    assert error.field == "rules[who].when.field"
    assert repr(path) in error.message


def test_in_with_a_non_list_is_refused() -> None:
    error = only_error(
        with_rule({"id": "geo", "points": 1, "when": {"field": "contact.country", "op": "in", "value": "US"}})
    )
    assert error.field == "rules[geo].when.value"
    assert "list" in error.message


@pytest.mark.parametrize("value", [[], [["US"]], [{"c": "US"}]])
def test_in_with_an_empty_or_nested_list_is_refused(value: Any) -> None:
    spec = with_rule(
        {"id": "geo", "points": 1, "when": {"field": "contact.country", "op": "not_in", "value": value}}
    )
    assert fields_of(spec) == ["rules[geo].when.value"]


@pytest.mark.parametrize("value", ["big", None, [1]])
def test_ordering_op_needs_a_number_or_a_date(value: Any) -> None:
    spec = with_rule(
        {"id": "size", "points": 1, "when": {"field": "account.employees", "op": "gte", "value": value}}
    )
    assert fields_of(spec) == ["rules[size].when.value"]


def test_op_without_a_value_is_refused() -> None:
    spec = with_rule({"id": "v", "points": 1, "when": {"field": "contact.country", "op": "eq"}})
    assert fields_of(spec) == ["rules[v].when.value"]


def test_event_inside_an_event_where_is_refused() -> None:
    when = {"event": "page_visited", "where": {"event": "email_clicked"}}
    assert fields_of(with_rule({"id": "nest", "points": 1, "when": when})) == ["rules[nest].when.where"]


def test_max_count_below_min_count_is_refused() -> None:
    when = {"event": "email_clicked", "min_count": 3, "max_count": 2}
    error = only_error(with_rule({"id": "few", "points": 1, "when": when}))
    assert error.field == "rules[few].when.max_count"
    assert "rules[few]" in error.message


@pytest.mark.parametrize("within", [0, -1, -0.5, 36501, "7", True])
def test_within_days_must_be_a_positive_number_of_days(within: Any) -> None:
    when = {"event": "email_clicked", "within_days": within}
    error = only_error(with_rule({"id": "win", "points": 1, "when": when}))
    assert error.field == "rules[win].when.within_days"
    assert "rules[win]" in error.message


@pytest.mark.parametrize(("key", "value"), [("min_count", -1), ("max_count", 1.5), ("min_count", "2")])
def test_counts_must_be_non_negative_integers(key: str, value: Any) -> None:
    when = {"event": "email_clicked", key: value}
    assert fields_of(with_rule({"id": "cnt", "points": 1, "when": when})) == [f"rules[cnt].when.{key}"]


def test_within_days_nan_is_a_validation_error() -> None:
    spec = json.loads(
        '{"rules": [{"id": "nan", "points": 1, "when": {"event": "email_clicked", "within_days": NaN}}]}'
    )
    assert fields_of(spec) == ["rules[nan].when.within_days"]


def test_unknown_condition_key_is_refused() -> None:
    when = {"field": "contact.country", "op": "eq", "value": "US", "ignore_case": True}
    assert fields_of(with_rule({"id": "k", "points": 1, "when": when})) == ["rules[k].when.ignore_case"]


@pytest.mark.parametrize("when", [None, {}, [], "contact.country", {"something": 1}])
def test_rule_needs_a_condition_object(when: Any) -> None:
    spec = with_rule({"id": "w", "points": 1, "when": when})
    if when is None:
        spec["rules"][0].pop("when")
    assert fields_of(spec) == ["rules[w].when"]


# ---------------------------------------------------------------- rule properties


def test_duplicate_rule_ids_are_refused() -> None:
    spec = {
        "rules": [
            {"id": "dup", "points": 1, "when": {"event": "email_clicked"}},
            {"id": "dup", "points": 2, "when": {"event": "email_opened"}},
        ]
    }
    error = only_error(spec)
    assert error.field == "rules[dup].id"
    assert "dup" in error.message
    assert "twice" in error.message


def test_max_points_without_per_event_is_refused() -> None:
    error = only_error(
        with_rule({"id": "cap", "points": 5, "max_points": 10, "when": {"event": "email_clicked"}})
    )
    assert error.field == "rules[cap].max_points"
    assert "cap" in error.message


@pytest.mark.parametrize("max_points", [-1, 2.5, True, "10"])
def test_max_points_must_be_a_non_negative_integer(max_points: Any) -> None:
    rule = {
        "id": "cap",
        "points": 5,
        "per_event": True,
        "max_points": max_points,
        "when": {"event": "email_clicked"},
    }
    assert fields_of(with_rule(rule)) == ["rules[cap].max_points"]


@pytest.mark.parametrize("points", [1.5, "5", None, True, 10**6 + 1])
def test_points_must_be_an_integer(points: Any) -> None:
    rule = {"id": "p", "points": points, "when": {"event": "email_clicked"}}
    error = only_error(with_rule(rule))
    assert error.field == "rules[p].points"


def test_unknown_rule_key_is_refused() -> None:
    rule = {"id": "r", "points": 1, "weight": 2, "when": {"event": "email_clicked"}}
    error = only_error(with_rule(rule))
    assert error.field == "rules[r].weight"
    assert "'weight'" in error.message


@pytest.mark.parametrize("rule_id", [None, "", "   ", "x" * 65, 7])
def test_rule_needs_an_id(rule_id: Any) -> None:
    rule = {"id": rule_id, "points": 1, "when": {"event": "email_clicked"}}
    assert fields_of(with_rule(rule)) == ["rules[0].id"]


@pytest.mark.parametrize("rules", [None, [], {"id": "x"}, "rules"])
def test_rules_must_be_a_non_empty_list(rules: Any) -> None:
    spec = example()
    spec["rules"] = rules
    assert fields_of(spec) == ["rules"]


# ---------------------------------------------------------------- grades


def test_grades_out_of_order_are_refused() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": 50}, {"grade": "B", "min_score": 80}, {"grade": "D"}]
    error = only_error(spec)
    assert error.field == "grades[1].min_score"
    assert "'B'" in error.message


def test_grades_with_equal_thresholds_are_refused() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": 50}, {"grade": "B", "min_score": 50}]
    assert fields_of(spec) == ["grades[1].min_score"]


def test_duplicate_grade_is_refused() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": 80}, {"grade": "A", "min_score": 50}, {"grade": "D"}]
    errors = errors_of(spec)
    assert {error.field for error in errors} == {"grades[0].grade", "grades[1].grade"}
    assert all("'A'" in error.message for error in errors)


def test_catch_all_grade_must_be_last() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": 80}, {"grade": "D"}, {"grade": "C", "min_score": 25}]
    error = only_error(spec)
    assert error.field == "grades[1]"
    assert "'D'" in error.message


@pytest.mark.parametrize(
    "entry",
    [{"min_score": 10}, {"grade": ""}, {"grade": 5}, "A", {"grade": "A", "min_score": "10"}],
)
def test_malformed_grade_entry_is_refused(entry: Any) -> None:
    spec = example()
    spec["grades"] = [entry]
    assert fields_of(spec)[0].startswith("grades[0]")


def test_grade_entry_with_an_unknown_key_is_refused() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": 10, "colour": "red"}]
    assert fields_of(spec) == ["grades[0]"]


def test_grade_min_score_nan_is_refused() -> None:
    spec = example()
    spec["grades"] = [{"grade": "A", "min_score": float("nan")}, {"grade": "D"}]
    assert fields_of(spec) == ["grades[0].min_score"]


# ---------------------------------------------------------------- model properties


def test_unknown_consent_level_is_refused() -> None:
    spec = example()
    spec["min_consent"] = "opt_in"
    error = only_error(spec)
    assert error.field == "min_consent"
    assert "'opt_in'" in error.message


def test_unknown_model_key_is_refused() -> None:
    spec = example()
    spec["colour"] = "blue"
    error = only_error(spec)
    assert error.field == "colour"
    assert "colour" in error.message


def test_unknown_scope_is_refused() -> None:
    spec = example()
    spec["scope"] = "team"
    assert fields_of(spec) == ["scope"]


@pytest.mark.parametrize("decay", [{"half_life_days": 0}, {"half_life_days": -3}, {"half_life": 30}, 30])
def test_decay_needs_a_positive_half_life(decay: Any) -> None:
    spec = example()
    spec["decay"] = decay
    assert fields_of(spec) == ["decay.half_life_days"]


@pytest.mark.parametrize("key", ["sales_ready_score", "max_score", "min_score"])
@pytest.mark.parametrize("value", ["70", True, float("inf")])
def test_score_settings_must_be_finite_numbers(key: str, value: Any) -> None:
    spec = example()
    spec[key] = value
    assert fields_of(spec) == [key]


def test_max_score_below_min_score_is_refused() -> None:
    spec = example()
    spec["max_score"] = 10
    spec["min_score"] = 20
    assert fields_of(spec) == ["max_score"]


def test_audience_errors_name_the_audience() -> None:
    spec = example()
    spec["audience"] = {"field": "lead.source", "op": "oneof", "value": ["x"]}
    assert fields_of(spec) == ["audience.op"]


@pytest.mark.parametrize("body", [None, [], "model", 3])
def test_model_must_be_an_object(body: Any) -> None:
    assert fields_of(body) == ["body"]


def test_all_errors_are_reported_at_once() -> None:
    spec = example()
    spec["colour"] = "blue"
    spec["min_consent"] = "opt_in"
    rule = {r["id"]: r for r in spec["rules"]}
    rule["senior-title"]["when"]["value"] = "(director"  # bad regex
    rule["big-company"]["when"]["op"] = "at_least"  # unknown operator
    rule["email-clicks"]["per_event"] = False  # max_points without per_event
    rule["silent-90-days"]["when"]["within_days"] = 0
    spec["rules"].append({"id": "unsubscribed", "points": -1, "when": {"event": "email_unsubscribed"}})
    spec["grades"] = [{"grade": "B", "min_score": 50}, {"grade": "A", "min_score": 80}]
    with pytest.raises(ValidationFailed) as caught:
        parse_model("m", 1, spec)
    fields = {error.field for error in caught.value.errors}
    assert fields == {
        "colour",
        "min_consent",
        "rules[senior-title].when.value",
        "rules[big-company].when.op",
        "rules[email-clicks].max_points",
        "rules[silent-90-days].when.within_days",
        "rules[unsubscribed].id",
        "grades[1].min_score",
    }
    assert caught.value.message == "8 fields are invalid"
