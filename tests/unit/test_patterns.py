"""``matches`` conditions run operators' patterns on anonymous visitors' text: they run on a
linear-time engine (RE2), so a catastrophic pattern such as ``(a+)+$`` costs microseconds, not seconds
(issue 15, item 7); patterns RE2 cannot run in linear time (backreferences, lookaround) are refused
when the model is saved, naming the field."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.rules import Compiler, Facts
from chalicelib.domain.scoring import parse_model

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def contact_facts(title: str) -> Facts:
    return Facts(None, Contact("c_1", "a@b.example.org", {"job_title": title}, NOW, NOW), None, [], NOW)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)+$", r"(a*)*b", r"^(\w+\s?)*$"])
def test_a_catastrophic_pattern_on_a_long_title_takes_bounded_time(pattern: str):
    condition = Compiler().condition(
        {"field": "contact.job_title", "op": "matches", "value": pattern}, "when"
    )
    assert condition is not None
    title = "a" * 25 + "!"  # about 9 s in Python's backtracking engine (issue 15)
    started = time.perf_counter()
    condition.test(contact_facts(title))
    assert time.perf_counter() - started < 0.05
    long_title = "a" * 2000 + "!"  # the longest text a field keeps
    started = time.perf_counter()
    condition.test(contact_facts(long_title))
    assert time.perf_counter() - started < 0.1


def test_ordinary_patterns_still_match_as_before():
    senior = Compiler().condition(
        {"field": "contact.job_title", "op": "matches", "value": r"(?i)\b(director|vp|chief|head)\b"}, "when"
    )
    assert senior is not None
    assert senior.test(contact_facts("Head of Sales"))[0]
    assert senior.test(contact_facts("VP Engineering"))[0]
    assert not senior.test(contact_facts("Headhunter"))[0]
    unicode = Compiler().condition(
        {"field": "contact.job_title", "op": "matches", "value": r"^Zoë\s\pL+$"}, "when"
    )
    assert unicode is not None and unicode.test(contact_facts("Zoë Ørsted"))[0]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"(?<!x)y", r"(?P<n>a)(?P=n)"])
def test_patterns_without_a_linear_time_match_are_refused_on_save(pattern: str):
    model = {
        "name": "m",
        "rules": [
            {
                "id": "r",
                "points": 5,
                "when": {"field": "contact.job_title", "op": "matches", "value": pattern},
            }
        ],
    }
    with pytest.raises(ValidationFailed) as refused:
        parse_model("m", 1, model)
    assert refused.value.errors[0].field == "rules[r].when.value"
    assert "linear" in refused.value.errors[0].message
