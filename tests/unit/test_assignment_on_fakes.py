"""Assignment use cases (services/assignment.py, services/people.py) on the in-memory fakes: a lead is
assigned when it becomes marketing-qualified (the hand-off carries the owner and team), by hand, and on
an SLA lapse, each exactly once, including when a write loses its race."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.api.views import lead_view
from chalicelib.domain.entities import Contact, Lead
from chalicelib.domain.errors import NotPermitted, ValidationFailed
from chalicelib.domain.routing import Team, User
from chalicelib.services import assignment, lifecycle, people, qualification, rules
from chalicelib.wiring import Deps
from tests.fakes import FakeHandoffs, FakeRecordStore, FakeRouting, fake_deps

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MQL_RULE = {
    "when": {"field": "lead.source", "op": "eq", "value": "web"},
    "actions": [{"type": "phone_call", "subject": "Call {contact.first_name}", "owner": "inside-sales"}],
}


def routing_of(deps: Deps) -> FakeRouting:
    assert isinstance(deps.people, FakeRouting)
    return deps.people


def records(deps: Deps) -> FakeRecordStore:
    assert isinstance(deps.store, FakeRecordStore)
    return deps.store


@pytest.fixture
def deps() -> Deps:
    deps = fake_deps()
    people.put_team(Team("emea", "EMEA", "round_robin", manager=None), deps.people)
    for user_id in ("ann", "bob", "cat"):
        people.put_user(
            User(user_id, user_id.title(), f"{user_id}@example.com", ("sales_rep",), ("emea",), 10),
            deps.people,
        )
    people.put_user(User("mia", "Mia", "mia@example.com", ("sales_manager",), ("emea",), 0), deps.people)
    people.put_team(Team("emea", "EMEA", "round_robin", manager="mia"), deps.people)
    rules.put_rule("mql-web", MQL_RULE, deps)
    return deps


def add_lead(deps: Deps, lead_id: str, **kw: Any) -> None:
    contact = Contact(f"c_{lead_id}", f"{lead_id}@example.com", {"first_name": "Ada"}, NOW, NOW)
    contact.lead_ids = [lead_id]
    records(deps).add(contact, Lead(lead_id, contact.contact_id, {"source": "web"}, NOW, NOW, **kw))


def sla_rule(deps: Deps, minutes: int = 60, on_lapse: str = "reassign") -> None:
    body = {
        "priority": 10,
        "assign": {"team": "emea"},
        "sla": {"accept_within_minutes": minutes, "on_lapse": on_lapse},
    }
    people.put_assignment_rule("emea-all", body, deps.people, deps.scoring)


def test_a_lead_becoming_mql_is_assigned_in_turn_and_its_handoff_names_the_owner_and_team(deps: Deps):
    sla_rule(deps)
    for n in range(4):
        add_lead(deps, f"l{n}")
        assert qualification.qualify_lead(f"l{n}", deps, NOW) == 1
    owners = [records(deps).leads[f"l{n}"].owner for n in range(4)]
    # members in id order: ann, bob, cat, mia; mia (the manager, capacity 0) takes no turn
    assert owners == ["ann", "bob", "cat", "ann"]
    assert routing_of(deps).turns == {"emea": 5}
    assert routing_of(deps).loads == {"ann": 2, "bob": 1, "cat": 1}
    assert isinstance(deps.handoffs, FakeHandoffs)
    first = next(h for h in deps.handoffs.outbox.values() if h["lead_id"] == "l0")
    work = json.loads(first["envelope"])["data"]["handoff"]
    assert (work["owner"], work["team"]) == ("ann", "emea"), "the assigned user, not the rule's fixed text"


def test_without_assignment_rules_the_handoff_keeps_the_rules_owner_text(deps: Deps):
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    assert records(deps).leads["l1"].owner is None
    assert isinstance(deps.handoffs, FakeHandoffs)
    (entry,) = deps.handoffs.outbox.values()
    assert json.loads(entry["envelope"])["data"]["handoff"]["owner"] == "inside-sales"


def test_a_qualification_that_loses_its_race_takes_one_turn_not_two(deps: Deps):
    sla_rule(deps)
    add_lead(deps, "l1")
    records(deps).races.lose(1)
    assert qualification.qualify_lead("l1", deps, NOW) == 1
    assert routing_of(deps).turns == {"emea": 1}
    assert routing_of(deps).loads == {"ann": 1}


def test_a_turn_taken_meanwhile_makes_the_decision_again_on_the_next_turn(deps: Deps):
    """Two leads at once: the second decided on turn 0 too, but the first moved it; the second's write
    is refused and it decides again on turn 1 (never both on the same turn)."""
    sla_rule(deps)
    add_lead(deps, "l1")
    add_lead(deps, "l2")
    original = deps.people.roster
    calls = {"n": 0}

    def stale_once() -> Any:
        calls["n"] += 1
        seen = original()
        if calls["n"] == 2:  # l2's first read happens before l1's write lands
            qualification_l1 = routing_of(deps).turns.get("emea", 0)
            assert qualification_l1 == 1
            from dataclasses import replace

            return replace(seen, turns={"emea": 0})
        return seen

    routing_of(deps).roster = stale_once  # type: ignore[method-assign]
    qualification.qualify_lead("l1", deps, NOW)
    qualification.qualify_lead("l2", deps, NOW)
    assert [records(deps).leads[i].owner for i in ("l1", "l2")] == ["ann", "bob"]
    assert routing_of(deps).turns == {"emea": 2}


def test_assigning_by_hand_refuses_unknown_and_away_users_naming_owner(deps: Deps):
    add_lead(deps, "l1")
    with pytest.raises(ValidationFailed) as unknown:
        assignment.assign_lead("l1", "zed", None, "key:k1", None, deps)
    assert unknown.value.errors[0].field == "owner"
    people.put_user(User("bob", "Bob", "bob@example.com", ("sales_rep",), ("emea",), 10, False), deps.people)
    with pytest.raises(ValidationFailed) as away:
        assignment.assign_lead("l1", "bob", None, "key:k1", None, deps)
    assert "away" in away.value.errors[0].message


def test_reassigning_moves_the_load_and_the_timeline_says_who_from_to_and_why(deps: Deps):
    sla_rule(deps)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    answer = lead_view(assignment.assign_lead("l1", "cat", "ann is on leave", "user:mia", None, deps))
    assert (answer["owner"], answer["team"]) == ("cat", "emea")
    assert routing_of(deps).loads == {"ann": 0, "cat": 1}
    assert isinstance(deps.handoffs, FakeHandoffs)
    again = lead_view(assignment.assign_lead("l1", "cat", "retry", "user:mia", None, deps))
    assert again["owner"] == "cat" and routing_of(deps).loads == {"ann": 0, "cat": 1}, (
        "a retry changes nothing"
    )
    history = [(a.owner, a.previous_owner, a.by, a.why) for a in deps.assignments.assignments_of("l1")]
    assert history == [
        ("ann", None, "routing", "rule emea-all: round_robin"),
        ("cat", "ann", "user:mia", "ann is on leave"),
    ]


def test_a_rep_cannot_assign_another_teams_lead_a_manager_can(deps: Deps):
    people.put_team(Team("amer", "Americas"), deps.people)
    people.put_user(User("dan", "Dan", "dan@example.com", ("sales_rep",), ("amer",), 10), deps.people)
    add_lead(deps, "l1", owner="ann", team="emea")
    dan = deps.people.get_user("dan")
    with pytest.raises(NotPermitted):
        assignment.assign_lead("l1", "dan", None, "user:dan", dan, deps)
    with pytest.raises(NotPermitted):
        assignment.check_may_act("l1", dan, deps)
    mia = deps.people.get_user("mia")
    assert assignment.assign_lead("l1", "dan", None, "user:mia", mia, deps).owner == "dan"


def test_an_sla_lapse_reassigns_once_and_a_second_sweep_does_nothing(deps: Deps):
    sla_rule(deps, minutes=60)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    assert assignment.sweep_lapsed(deps, NOW + timedelta(minutes=59))["due"] == 0
    done = assignment.sweep_lapsed(deps, NOW + timedelta(minutes=61))
    assert done["reassigned"] == 1
    lead = records(deps).leads["l1"]
    assert (lead.owner, lead.assignment) == ("bob", 2), "the next in the team, never ann again"
    assert assignment.sweep_lapsed(deps, NOW + timedelta(minutes=200))["due"] == 0, "no new timer: once"
    assert routing_of(deps).loads == {"ann": 0, "bob": 1}


def test_an_sla_lapse_escalates_to_the_manager(deps: Deps):
    sla_rule(deps, minutes=5, on_lapse="escalate")
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    assert assignment.sweep_lapsed(deps, NOW + timedelta(minutes=6))["escalated"] == 1
    assert records(deps).leads["l1"].owner == "mia"


def test_an_accepted_lead_is_not_reassigned_and_speed_to_lead_times_it(deps: Deps):
    sla_rule(deps, minutes=60)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    lifecycle.transition("l1", "accept", {}, "user:ann", deps)
    assert assignment.sweep_lapsed(deps, datetime.now(UTC) + timedelta(days=1)) == {
        "due": 0,
        "reassigned": 0,
        "escalated": 0,
        "settled": 0,
        "unassigned": 0,
    }, "acceptance stopped the timer"
    report = assignment.speed_to_lead(NOW - timedelta(days=1), NOW + timedelta(days=1), deps)
    assert report["reps"]["ann"]["accepted"] == 1


def test_an_owner_who_marked_the_lead_contacted_keeps_it_when_the_sla_lapses(deps: Deps):
    """Acting on a lead is a response: ``contacted`` stops the SLA timer as acceptance does, so the
    sweep neither reassigns nor escalates a lead its owner is working."""
    sla_rule(deps, minutes=60)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    lifecycle.transition("l1", "contacted", {}, "user:ann", deps)
    done = assignment.sweep_lapsed(deps, datetime.now(UTC) + timedelta(days=1))
    assert (done["reassigned"], done["escalated"]) == (0, 0)
    assert records(deps).leads["l1"].owner == "ann"


def test_an_owner_who_logged_an_activity_keeps_the_lead_when_the_sla_lapses(deps: Deps):
    from chalicelib.domain import working as activities
    from chalicelib.services import working

    qualified = datetime.now(UTC) - timedelta(minutes=30)  # an activity is never dated in the future
    sla_rule(deps, minutes=60, on_lapse="escalate")
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, qualified)
    call = activities.parse_activity("call", "Call", None, None, datetime.now(UTC))
    working.log_activity("l1", call, "i_call", "user:ann", deps.store, deps.assignments)
    done = assignment.sweep_lapsed(deps, qualified + timedelta(minutes=61))
    assert (done["reassigned"], done["escalated"]) == (0, 0)
    assert records(deps).leads["l1"].owner == "ann"


def test_a_due_timer_whose_owner_already_acted_is_only_settled(deps: Deps):
    """The sweep checks the first activity itself: a timer still in the index (written before the
    activity stopped timers) is settled, not acted on."""
    sla_rule(deps, minutes=60)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    held = deps.assignments.get_assignment("l1", 1)
    assert held is not None
    routing_of(deps).items[("l1", 1)] = replace(held, first_activity_at=NOW + timedelta(minutes=5))
    done = assignment.sweep_lapsed(deps, NOW + timedelta(minutes=61))
    assert done["settled"] == 1 and records(deps).leads["l1"].owner == "ann"


def test_a_lapse_whose_lead_moved_on_only_settles_the_timer(deps: Deps):
    sla_rule(deps, minutes=60)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    assignment.assign_lead("l1", "cat", None, "user:mia", None, deps)  # a new assignment, no timer
    done = assignment.sweep_lapsed(deps, NOW + timedelta(minutes=61))
    assert done["settled"] == 1 and records(deps).leads["l1"].owner == "cat"


def test_closing_a_lead_takes_it_from_its_owners_open_leads(deps: Deps):
    sla_rule(deps)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    lifecycle.transition("l1", "disqualify", {"reason": "spam"}, "user:ann", deps)
    assert routing_of(deps).loads == {"ann": 0}
    lifecycle.transition("l1", "reopen", {}, "user:ann", deps)
    assert routing_of(deps).loads == {"ann": 1}


def test_people_definitions_name_what_does_not_exist(deps: Deps):
    with pytest.raises(ValidationFailed) as user:
        people.put_user(User("zoe", "Zoe", "zoe@example.com", ("sales_rep",), ("nope",)), deps.people)
    assert user.value.errors[0].field == "teams"
    with pytest.raises(ValidationFailed) as team:
        people.put_team(Team("t2", "T2", manager="ghost"), deps.people)
    assert team.value.errors[0].field == "manager"
    people.put_team(Team("empty", "Empty"), deps.people)
    with pytest.raises(ValidationFailed) as rule:
        people.put_assignment_rule(
            "r", {"priority": 1, "assign": {"team": "empty"}}, deps.people, deps.scoring
        )
    assert (rule.value.errors[0].field, rule.value.errors[0].message) == (
        "assign.team",
        "team empty has no members",
    )


def test_an_erasure_releases_the_owners_open_lead_once_and_deletes_its_assignments(deps: Deps):
    sla_rule(deps)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, NOW)
    assert assignment.forget_leads(["l1"], deps, NOW) == 1
    assert assignment.forget_leads(["l1"], deps, NOW) == 0, "a second pass finds nothing to do"
    assert routing_of(deps).loads == {"ann": 0}, "released once"
    assert deps.assignments.assignments_of("l1") == [] and routing_of(deps).due == {}
    assert records(deps).leads["l1"].owner is None


def test_the_first_logged_activity_is_kept_once_and_timed_beside_acceptance(deps: Deps):
    from chalicelib.domain import working as activities
    from chalicelib.services import working

    qualified = datetime.now(UTC) - timedelta(hours=2)
    sla_rule(deps, minutes=600)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, qualified)
    call = activities.parse_activity("call", "Call", None, None, datetime.now(UTC))
    working.log_activity("l1", call, "i_call", "user:ann", deps.store, deps.assignments)
    first = deps.assignments.get_assignment("l1", 1)
    assert first is not None and first.first_activity_at == call.occurred_at
    # a retry of the same activity, a second activity and the contacted transition change nothing
    working.log_activity("l1", call, "i_call", "user:ann", deps.store, deps.assignments)
    mail = activities.parse_activity("email", "Mail", None, None, datetime.now(UTC))
    working.log_activity("l1", mail, "i_mail", "user:ann", deps.store, deps.assignments)
    lifecycle.transition("l1", "contacted", {}, "user:ann", deps)
    again = deps.assignments.get_assignment("l1", 1)
    assert again is not None and again.first_activity_at == call.occurred_at
    report = assignment.speed_to_lead(qualified - timedelta(hours=1), datetime.now(UTC), deps)
    ann = report["reps"]["ann"]
    assert (ann["accepted"], ann["first_activity"]) == (0, 1)
    assert ann["first_activity_median_minutes"] == round(
        (call.occurred_at - qualified).total_seconds() / 60, 2
    )


def test_contacted_is_the_first_activity_when_nothing_was_logged_before(deps: Deps):
    qualified = datetime.now(UTC) - timedelta(minutes=30)
    sla_rule(deps, minutes=600)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, qualified)
    lifecycle.transition("l1", "contacted", {}, "user:ann", deps)
    record = deps.assignments.get_assignment("l1", 1)
    assert record is not None and record.first_activity_at is not None
    report = assignment.speed_to_lead(qualified - timedelta(hours=1), datetime.now(UTC), deps)
    assert report["teams"]["emea"]["first_activity"] == 1


def test_an_activity_dated_before_the_assignment_is_not_its_first_activity(deps: Deps):
    from chalicelib.domain import working as activities
    from chalicelib.services import working

    qualified = datetime.now(UTC) - timedelta(minutes=30)
    sla_rule(deps, minutes=600)
    add_lead(deps, "l1")
    qualification.qualify_lead("l1", deps, qualified)
    earlier = (qualified - timedelta(hours=1)).isoformat()
    call = activities.parse_activity("call", "Call", None, earlier, datetime.now(UTC))
    working.log_activity("l1", call, "i_old", "user:ann", deps.store, deps.assignments)
    record = deps.assignments.get_assignment("l1", 1)
    assert record is not None and record.first_activity_at is None
