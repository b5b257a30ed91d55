"""Issue 19, pure: what lets the stream functions skip work they would repeat (no AWS)."""

from __future__ import annotations

from chalicelib.domain.predictive import parse_any, paths_read
from chalicelib.domain.qualification import needs_score, parse_rule

MODELS = frozenset({"hot"})
ACTIONS = [{"type": "phone_call", "subject": "Call", "due_in_hours": 4}]


def rule(when: dict) -> object:
    return parse_rule("r", {"when": when, "actions": ACTIONS}, MODELS)


def test_a_rule_on_a_score_cannot_hold_for_an_unscored_lead():
    assert needs_score(rule({"sales_ready": "hot"}))
    assert needs_score(rule({"score": "hot", "op": "gte", "value": 50}))
    assert needs_score(rule({"all": [{"sales_ready": "hot"}, {"field": "lead.topic", "op": "exists"}]}))
    assert needs_score(rule({"any": [{"sales_ready": "hot"}, {"grade": "hot", "op": "eq", "value": "A"}]}))


def test_a_rule_that_can_hold_without_a_score_is_evaluated_for_an_unscored_lead():
    assert not needs_score(rule({"field": "lead.topic", "op": "exists"}))
    assert not needs_score(rule({"score": "hot", "op": "missing"}))
    assert not needs_score(rule({"any": [{"sales_ready": "hot"}, {"field": "lead.topic", "op": "exists"}]}))
    assert not needs_score(rule({"not": {"sales_ready": "hot"}}))


def test_a_models_paths_are_those_its_rules_and_audience_read():
    spec = {
        "name": "m",
        "rules": [
            {"id": "a", "points": 5, "when": {"field": "contact.job_title", "op": "exists"}},
            {"id": "b", "points": 5, "when": {"all": [{"field": "lead.status", "op": "eq", "value": "new"}]}},
        ],
        "audience": {"field": "account.employees", "op": "gte", "value": 10},
        "grades": [{"grade": "A", "min_score": 10}, {"grade": "B"}],
    }
    assert paths_read(parse_any("m", 1, spec)) >= {"contact.job_title", "lead.status", "account.employees"}
    assert "lead.state" not in paths_read(parse_any("m", 1, spec))
