"""The routing decision (chalicelib/domain/routing.py), pure: rules in order, targets, distributions,
SLA lapses, the write an assignment makes, speed to lead. No moto."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import routing
from chalicelib.domain.entities import Account, Contact, Lead
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.routing import (
    Assigned,
    AssignmentRecord,
    Roster,
    Sla,
    Team,
    Unassigned,
    User,
    parse_assignment_rule,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def rep(user_id: str, teams: tuple[str, ...], capacity: int = 10, available: bool = True) -> User:
    return User(
        user_id, user_id.title(), f"{user_id}@example.com", ("sales_rep",), teams, capacity, available
    )


def roster(
    *users: User,
    teams: tuple[Team, ...] = (),
    turns: dict[str, int] | None = None,
    loads: dict[str, int] | None = None,
) -> Roster:
    return Roster({u.user_id: u for u in users}, {t.team_id: t for t in teams}, loads or {}, turns or {})


EMEA = Team("emea", "EMEA", "round_robin", manager="mia")
AMER = Team("amer", "Americas", "load_balanced", manager="mia")


def lead(country: str = "GB", **kw: Any) -> tuple[Lead, Contact, Account | None]:
    contact = Contact("c1", "ada@example.com", {"country": country}, NOW, NOW)
    return Lead("l1", "c1", {"source": "web"}, NOW, NOW, **kw), contact, None


def facts(country: str = "GB", account: Account | None = None) -> Any:
    found, contact, _ = lead(country)
    return routing.facts_for(found, contact, account, [], {}, NOW)


def rule(
    rule_id: str,
    priority: int,
    assign: dict[str, Any],
    when: dict[str, Any] | None = None,
    sla: dict[str, Any] | None = None,
) -> routing.AssignmentRule:
    spec: dict[str, Any] = {"priority": priority, "assign": assign}
    if when is not None:
        spec["when"] = when
    if sla is not None:
        spec["sla"] = sla
    return parse_assignment_rule(rule_id, spec, frozenset())


UK = {"field": "contact.country", "op": "in", "value": ["GB", "FR"]}


def test_round_robin_takes_turns_in_user_id_order_and_skips_who_is_away():
    people = roster(
        rep("ann", ("emea",)), rep("bob", ("emea",), available=False), rep("cat", ("emea",)), teams=(EMEA,)
    )
    given = []
    turn = 0
    for _ in range(4):
        picked = routing.pick_in_team(EMEA, Roster(people.users, people.teams, {}, {"emea": turn}))
        assert picked is not None
        user_id, on = picked
        assert on == turn
        given.append(user_id)
        turn = routing.next_turn(EMEA, people, user_id, turn)
    assert given == ["ann", "cat", "ann", "cat"], "bob is away: skipped, never given a turn"


def test_a_rep_back_from_away_takes_their_place_in_the_rotation_again():
    everyone = [rep("ann", ("emea",)), rep("bob", ("emea",)), rep("cat", ("emea",))]
    people = roster(*everyone, teams=(EMEA,))
    # after ann (turn 0 -> 1) bob is next
    assert routing.next_turn(EMEA, people, "ann", 0) == 1
    assert routing.pick_in_team(EMEA, Roster(people.users, people.teams, {}, {"emea": 1})) == ("bob", 1)


def test_load_balanced_gives_leads_in_proportion_to_capacity():
    people = [rep("dan", ("amer",), capacity=30), rep("eve", ("amer",), capacity=10)]
    loads: dict[str, int] = {}
    given: Counter[str] = Counter()
    for turn in range(40):
        picked = routing.pick_in_team(AMER, roster(*people, teams=(AMER,), loads=loads, turns={"amer": turn}))
        assert picked is not None
        given[picked[0]] += 1
        loads[picked[0]] = loads.get(picked[0], 0) + 1
    assert given == {"dan": 30, "eve": 10}


def test_load_balanced_skips_the_away_and_capacity_zero():
    people = roster(rep("dan", ("amer",), available=False), rep("eve", ("amer",), capacity=0), teams=(AMER,))
    assert routing.pick_in_team(AMER, people) is None


def test_rules_are_tried_by_priority_and_the_catch_all_is_the_default_team():
    people = roster(rep("ann", ("emea",)), rep("dan", ("amer",)), teams=(EMEA, AMER))
    rules = [
        rule("default", 1000, {"team": "amer"}),
        rule("uk", 10, {"team": "emea"}, when=UK),
    ]
    uk = routing.decide(rules, facts("GB"), people)
    assert isinstance(uk, Assigned) and (uk.user_id, uk.team_id, uk.rule_id) == ("ann", "emea", "uk")
    us = routing.decide(rules, facts("US"), people)
    assert isinstance(us, Assigned) and (us.user_id, us.team_id, us.rule_id) == ("dan", "amer", "default")


def test_no_matching_rule_leaves_the_lead_unassigned_saying_why():
    people = roster(rep("ann", ("emea",)), teams=(EMEA,))
    decision = routing.decide([rule("uk", 1, {"team": "emea"}, when=UK)], facts("US"), people)
    assert isinstance(decision, Unassigned) and "no assignment rule matched" in decision.reason


def test_a_target_who_cannot_take_the_lead_passes_it_to_the_next_matching_rule():
    people = roster(rep("ann", ("emea",), available=False), rep("dan", ("amer",)), teams=(EMEA, AMER))
    rules = [rule("ann-first", 1, {"user": "ann"}), rule("default", 2, {"team": "amer"})]
    decision = routing.decide(rules, facts(), people)
    assert isinstance(decision, Assigned) and decision.user_id == "dan"
    nobody = routing.decide(rules[:1], facts(), people)
    assert isinstance(nobody, Unassigned) and "ann is away" in nobody.reason


def test_the_accounts_owner_comes_first_else_the_otherwise_target():
    people = roster(rep("ann", ("emea",)), rep("dan", ("amer",)), teams=(EMEA, AMER))
    rules = [rule("owner", 1, {"account_owner": True, "otherwise": {"team": "amer"}})]
    owned = Account("a1", "Acme", None, {"owner": "ann"}, NOW, NOW)
    decision = routing.decide(rules, facts(account=owned), people)
    assert isinstance(decision, Assigned) and (decision.user_id, decision.team_id) == ("ann", "emea")
    unowned = Account("a2", "Other", None, {}, NOW, NOW)
    decision = routing.decide(rules, facts(account=unowned), people)
    assert isinstance(decision, Assigned) and decision.user_id == "dan"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"priority": 1}, "assign"),
        ({"priority": 1, "assign": {"user": "a", "team": "b"}}, "assign"),
        ({"priority": 1, "assign": {"account_owner": True}}, "assign.otherwise"),
        ({"priority": "1", "assign": {"team": "t"}}, "priority"),
        (
            {"priority": 1, "assign": {"team": "t"}, "sla": {"accept_within_minutes": 0}},
            "sla.accept_within_minutes",
        ),
        (
            {"priority": 1, "assign": {"team": "t"}, "sla": {"accept_within_minutes": 5, "on_lapse": "x"}},
            "sla.on_lapse",
        ),
        (
            {"priority": 1, "assign": {"team": "t"}, "when": {"field": "nope", "op": "eq", "value": 1}},
            "when.field",
        ),
        ({"priority": 1, "assign": {"team": "t"}, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(spec: dict[str, Any], field: str):
    with pytest.raises(ValidationFailed) as refused:
        parse_assignment_rule("r1", spec, frozenset())
    assert field in [e.field for e in refused.value.errors]


def test_a_lapse_reassigns_to_another_member_or_escalates_to_the_manager():
    people = roster(
        rep("ann", ("emea",)),
        rep("cat", ("emea",)),
        User("mia", "Mia", "mia@example.com", ("sales_manager",), ("emea",), 0),
        teams=(EMEA,),
    )
    held, _, _ = lead(owner="ann", team="emea", assignment=1)
    again = routing.on_lapse(held, Sla(5, "reassign"), people)
    assert isinstance(again, Assigned) and again.user_id == "cat", "never the owner who let it lapse"
    up = routing.on_lapse(held, Sla(5, "escalate"), people)
    assert isinstance(up, Assigned) and up.user_id == "mia"


def test_an_assignment_moves_the_turn_the_loads_and_sets_the_sla_timer():
    people = roster(rep("ann", ("emea",)), rep("cat", ("emea",)), teams=(EMEA,), turns={"emea": 4})
    held, _, _ = lead(owner="cat", team="emea", assignment=2)
    decision = Assigned("ann", "emea", "uk", Sla(30, "escalate"), 4, "rule uk")
    updated, write = routing.assign(held, decision, people, NOW, "routing", NOW)
    assert (updated.owner, updated.team, updated.assignment) == ("ann", "emea", 3)
    assert write.turn == routing.TurnAdvance("emea", 4, 5)
    assert write.load == {"cat": -1, "ann": 1}
    assert write.record is not None and write.record.due_at == NOW + timedelta(minutes=30)
    assert write.history is not None and (write.history["from"], write.history["to"]) == ("cat", "ann")


def test_a_rep_acts_only_on_their_teams_leads_a_manager_on_any():
    ann = rep("ann", ("emea",))
    mia = User("mia", "Mia", "mia@example.com", ("sales_manager",), (), 0)
    theirs, _, _ = lead(owner="dan", team="amer")
    ours, _, _ = lead(owner="cat", team="emea")
    assert not routing.may_act_on(ann, theirs)
    assert routing.may_act_on(ann, ours)
    assert routing.may_act_on(mia, theirs)
    assert routing.may_act_on(None, theirs), "a machine's key (no person) is governed by its scope"


def test_speed_to_lead_is_median_and_p90_minutes_per_team_and_rep():
    def record(lead_id: str, owner: str, minutes: float | None, number: int = 1) -> AssignmentRecord:
        accepted = NOW + timedelta(minutes=minutes) if minutes is not None else None
        return AssignmentRecord(
            lead_id, number, owner, "emea", NOW, "routing", "r", qualified_at=NOW, accepted_at=accepted
        )

    records = [record(f"l{i}", "ann", float(i)) for i in range(1, 11)]
    records += [record("l99", "cat", None), record("l99", "ann", 3.0, number=2)]
    report = routing.speed_to_lead(records)
    assert report["reps"]["ann"] == {
        "leads": 11,
        "accepted": 11,
        "median_minutes": 5.0,
        "p90_minutes": 9.0,
        "first_activity": 0,
        "first_activity_median_minutes": None,
        "first_activity_p90_minutes": None,
    }
    assert "cat" not in report["reps"], "a lead counts once, for its last assignment"
    assert report["teams"]["emea"]["leads"] == 11


def test_speed_to_first_activity_is_median_and_p90_minutes_beside_acceptance():
    def record(lead_id: str, owner: str, active: float | None, accepted: float | None) -> AssignmentRecord:
        return AssignmentRecord(
            lead_id,
            1,
            owner,
            "emea",
            NOW,
            "routing",
            "r",
            qualified_at=NOW,
            accepted_at=NOW + timedelta(minutes=accepted) if accepted is not None else None,
            first_activity_at=NOW + timedelta(minutes=active) if active is not None else None,
        )

    records = [record(f"l{i}", "ann", float(i), float(i * 10)) for i in range(1, 11)]
    records += [record("l98", "bob", None, 5.0), record("l99", "bob", 2.0, None)]
    report = routing.speed_to_lead(records)
    ann, bob = report["reps"]["ann"], report["reps"]["bob"]
    assert (
        ann["first_activity"],
        ann["first_activity_median_minutes"],
        ann["first_activity_p90_minutes"],
    ) == (
        10,
        5.0,
        9.0,
    )
    assert (ann["median_minutes"], ann["p90_minutes"]) == (50.0, 90.0)
    assert (bob["leads"], bob["accepted"], bob["first_activity"]) == (2, 1, 1)
    assert report["overall"]["first_activity"] == 11 and report["teams"]["emea"]["first_activity"] == 11


def test_qualification_batches_leave_room_for_the_assignment_in_the_transaction():
    """DynamoDB takes 100 items per transaction: the lead, its transition, two per hand-off, and the
    assignment's five (turn, two counters, record, timeline entry)."""
    from chalicelib.domain.qualification import MAX_TRANSACTION_ITEMS, first_batch, parse_rule

    def rule(n: int, count: int) -> Any:
        tasks = [{"type": "task", "subject": f"Task {i}"} for i in range(count)]
        when = {"field": "lead.source", "op": "eq", "value": "web"}
        return parse_rule(f"r{n}", {"when": when, "actions": tasks}, frozenset())

    # 2 + 4 x 20 + 18 = 100 items without the assignment: the fifth rule no longer fits with it
    rules = [rule(n, 10) for n in range(4)] + [rule(4, 9)]
    chosen = first_batch(rules)
    assert len(chosen) == 4 and 2 + 5 + 20 * len(chosen) <= MAX_TRANSACTION_ITEMS


def test_the_api_models_name_the_same_roles_and_distributions_as_the_domain():
    from chalicelib.api.schemas import people

    assert people.ROLES == routing.ROLES and people.DISTRIBUTIONS == routing.DISTRIBUTIONS
