"""Journeys' pure domain (issue 18, item 1): definitions validated on save naming the step, and the
engine's decisions (when a step is due, branches, splits, exits, re-entry) without moto."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.entities import Contact, Interaction, Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.journeys import (
    Catalog,
    Enrollment,
    after,
    decide_branch,
    due_at,
    engaged,
    event_keys,
    exit_reason,
    may_enter,
    parse_journey,
    split_choice,
    time_zone,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
CATALOG = Catalog(
    templates={
        "hello": (frozenset({"pricing", "docs"}), None),
        "broken": (frozenset(), "html: line 1: boom"),
    },
    segments=frozenset({"uk"}),
    forms=frozenset({"contact-us"}),
    models=frozenset({"b2b"}),
)
BODY: dict[str, Any] = {
    "name": "Nurture",
    "entry": {"segment_id": "uk"},
    "steps": [
        {"id": "hello", "type": "email", "template_id": "hello"},
        {"id": "pause", "type": "wait", "days": 2},
        {
            "id": "clicked",
            "type": "branch",
            "engagement": {"clicked": "pricing"},
            "within_hours": 48,
            "no": "end",
        },
        {
            "id": "hot",
            "type": "branch",
            "condition": {"score": "b2b", "op": "gte", "value": 50},
            "yes": "call",
        },
        {"id": "ab", "type": "split", "percent": 50, "a": "call", "b": "end"},
        {"id": "call", "type": "sales_work", "action": {"type": "task", "subject": "Call"}},
        {"id": "end", "type": "exit"},
    ],
}


def _fields(body: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as raised:
        parse_journey("j", body, CATALOG)
    return [e.field for e in raised.value.errors]


def _with(change: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    change(body)
    return body


def test_a_good_definition_parses_into_a_graph_of_steps() -> None:
    journey = parse_journey("j", BODY, CATALOG, 3)
    assert journey.version == 3 and journey.first == "hello"
    assert journey.step("hello").exits == {"next": "pause"}  # the following step by default
    assert journey.step("clicked").exits == {"yes": "hot", "no": "end"}
    assert journey.step("end").exits == {}
    assert journey.re_entry == "never" and journey.consent == "marketing"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["steps"][0].update(template_id="gone"), "steps[0].template_id"),
        (lambda b: b["steps"][0].update(template_id="broken"), "steps[0].template_id"),
        (lambda b: b["steps"][1].update(days=0), "steps[1].days"),
        (lambda b: b["steps"][1].update(days=366), "steps[1].days"),
        (lambda b: b["steps"][1].update(hours=-1, days=None) or b["steps"][1].pop("days"), "steps[1].hours"),
        (
            lambda b: b["steps"][1].update(until="next tuesday", days=None) or b["steps"][1].pop("days"),
            "steps[1].until",
        ),
        (
            lambda b: b["steps"][1].update(time_of_day="25:00") or b["steps"][1].pop("days"),
            "steps[1].time_of_day",
        ),
        (lambda b: b["steps"][2]["engagement"].update(clicked="careers"), "steps[2].engagement.clicked"),
        (lambda b: b["steps"][2].update(within_hours=0), "steps[2].within_hours"),
        (lambda b: b["steps"][2].update(within_hours=0.02), "steps[2].within_hours"),
        (lambda b: b["steps"][2].update(within_hours=1.5), "steps[2].within_hours"),
        (lambda b: b["steps"][1].update(days=1e-9), "steps[1].days"),
        (
            lambda b: b["steps"][1].update(minutes=0.5, days=None) or b["steps"][1].pop("days"),
            "steps[1].minutes",
        ),
        (
            lambda b: b.update(
                goal={"field": "lead.status", "op": "eq", "value": "won"},
                exits={"goal": {"field": "lead.status", "op": "eq", "value": "lost"}},
            ),
            "exits.goal",
        ),
        (lambda b: b["steps"][3]["condition"].update(score="nope"), "steps[3].condition.score"),
        (lambda b: b["steps"][4].update(percent=100), "steps[4].percent"),
        (lambda b: b["steps"][4].update(a="nowhere"), "steps[4].a"),
        (lambda b: b["steps"][5]["action"].update(type="fax"), "steps[5].action[0].type"),
        (lambda b: b["steps"][6].update(type="teleport"), "steps[6].type"),
        (lambda b: b["steps"][6].update(id="hello"), "steps[6].id"),
        (lambda b: b.update(entry={"segment_id": "fr"}), "entry.segment_id"),
        (lambda b: b.update(entry={"trigger": {"form_id": "nope"}}), "entry.trigger.form_id"),
        (
            lambda b: b.update(entry={"trigger": {"field": "lead.topic", "op": "eq", "value": 1}}),
            "entry.trigger",
        ),
        (lambda b: b.update(re_entry={"after_days": 0}), "re_entry"),
        (lambda b: b.update(consent="none"), "consent"),
        (lambda b: b.update(colour="red"), "colour"),
    ],
)
def test_each_mistake_is_refused_naming_its_place(change: Any, field: str) -> None:
    assert field in _fields(_with(change))


def test_the_shortest_wait_is_a_minute_and_the_goal_may_be_given_in_either_place() -> None:
    minute = _with(lambda b: b["steps"][1].update(minutes=1, days=None) or b["steps"][1].pop("days"))
    assert parse_journey("j", minute, CATALOG).step("pause").spec["minutes"] == 1
    goal = {"field": "lead.status", "op": "eq", "value": "won"}
    assert parse_journey("j", {**BODY, "goal": goal}, CATALOG).goal is not None
    assert parse_journey("j", {**BODY, "exits": {"goal": goal}}, CATALOG).goal is not None


def test_a_loop_without_a_wait_is_refused_and_one_with_a_wait_is_not() -> None:
    runaway = _with(lambda b: b["steps"][5].update(next="hot"))  # hot -> call -> hot
    fields = _fields(runaway)
    assert fields == ["steps[3]"]
    reminder = _with(lambda b: b["steps"][5].update(next="pause"))  # ... call -> pause (a wait) -> ...
    assert parse_journey("j", reminder, CATALOG).step("call").exits == {"next": "pause"}


def test_not_a_list_of_steps_and_not_an_object_are_refused() -> None:
    assert _fields({**BODY, "steps": []}) == ["steps"]
    assert _fields([1]) == ["body"]
    assert "steps[0]" in _fields({**BODY, "steps": [None]})


def test_waits_are_due_after_their_duration_at_a_date_or_at_the_next_time_of_day_in_the_zone() -> None:
    journey = parse_journey("j", BODY, CATALOG)
    assert due_at(journey.step("pause"), NOW) == NOW + timedelta(days=2)
    assert due_at(journey.step("hello"), NOW) == NOW
    assert due_at(journey.step("clicked"), NOW) == NOW + timedelta(hours=48)
    at_nine = parse_journey(
        "j", _with(lambda b: b["steps"][1].pop("days") and b["steps"][1].update(time_of_day="09:00")), CATALOG
    ).step("pause")
    contact = _contact(fields={"time_zone": "America/New_York"})
    zone = time_zone(contact, None, at_nine)
    # 10:00 UTC is 05:00 in New York: 09:00 there the same day, 14:00 UTC
    assert due_at(at_nine, NOW, zone) == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert due_at(at_nine, NOW) == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # UTC: 09:00 has passed
    assert time_zone(_contact(fields={"time_zone": "Mars/Olympus"}), None, at_nine) == UTC


def _contact(consent: str = "marketing", fields: dict[str, Any] | None = None) -> Contact:
    return Contact("c1", "a@example.com", fields or {}, NOW, NOW, consent=consent)


def _enrollment(**changes: Any) -> Enrollment:
    base = Enrollment("j", "c1", 1, 1, "clicked", "active", 3, NOW, NOW, NOW + timedelta(hours=48))
    return Enrollment(**{**base.__dict__, **changes})


def test_an_engagement_branch_says_yes_on_the_click_no_after_the_window_and_waits_between() -> None:
    step = parse_journey("j", BODY, CATALOG).step("clicked")
    waiting = _enrollment()
    assert decide_branch(step, waiting, None, NOW + timedelta(hours=1)).stay
    clicked = _enrollment(events={"clicked:pricing": NOW + timedelta(minutes=5)})
    assert decide_branch(step, clicked, None, NOW + timedelta(minutes=6)).next_step == "hot"
    other = _enrollment(events={"clicked:docs": NOW + timedelta(minutes=5)})
    assert decide_branch(step, other, None, NOW + timedelta(hours=49)).next_step == "end"
    before = _enrollment(events={"clicked:pricing": NOW - timedelta(days=1)})  # before entering: not counted
    assert decide_branch(step, before, None, NOW + timedelta(hours=49)).next_step == "end"


def test_interactions_become_the_engagement_keys_branches_look_for() -> None:
    click = Interaction("i1", "c1", "email_clicked", NOW, {"link": "pricing", "message_id": "m"})
    assert event_keys(click) == ["clicked:*", "clicked:pricing"]
    visit = Interaction("i2", "c1", "page_visited", NOW, {"url": "https://x.example/pricing?a=1"})
    step = parse_journey(
        "j", _with(lambda b: b["steps"][2].update(engagement={"visited": "/pricing"})), CATALOG
    ).step("clicked")
    assert engaged(step, dict.fromkeys(event_keys(visit), NOW), NOW)
    assert event_keys(Interaction("i3", "c1", "meeting_completed", NOW, {})) == []


def test_a_split_is_deterministic_and_near_its_percent() -> None:
    step = parse_journey("j", BODY, CATALOG).step("ab")
    choices = [split_choice(f"c{n}", "j", step) for n in range(2000)]
    assert choices == [split_choice(f"c{n}", "j", step) for n in range(2000)]
    assert 900 < choices.count("a") < 1100


def test_exits_qualified_unsubscribed_and_the_last_step_completes() -> None:
    journey = parse_journey("j", BODY, CATALOG)
    lead = Lead("l1", "c1", {}, NOW, NOW, status="marketing_qualified")
    assert exit_reason(journey, _contact(), [lead], None) == "qualified"
    assert exit_reason(journey, _contact("subscriptions"), [], None) == "unsubscribed"
    assert exit_reason(journey, _contact(), [], None) is None
    assert after(journey.step("end")).reason == "exit_step"
    last = parse_journey("j", {**BODY, "steps": [BODY["steps"][0], BODY["steps"][5]]}, CATALOG)
    assert after(last.step("call")).reason == "completed"


def test_re_entry_never_always_or_after_days() -> None:
    done = _enrollment(state="done", finished_at=NOW)
    assert may_enter(None, "never", NOW)
    assert not may_enter(_enrollment(), "always", NOW)  # still in: never twice at once
    assert not may_enter(done, "never", NOW + timedelta(days=999))
    assert may_enter(done, "always", NOW)
    assert not may_enter(done, 7, NOW + timedelta(days=6))
    assert may_enter(done, 7, NOW + timedelta(days=7))
