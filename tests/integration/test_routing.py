"""People, routing and SLAs on moto, through the API and the real streams (the local pump): a lead is
assigned when it becomes marketing-qualified and its hand-off names the owner; reps list their leads
from the owner index; reassigning is on the timeline; an SLA lapse acts once; turns are taken once
under concurrency."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json
from tests.integration.test_handoff import MODEL, RULE, make_ready, queue
from tests.integration.test_scoring import publish


def delete(client: Any, path: str, key: str) -> Any:
    return client.http.request("DELETE", path, headers={"X-Api-Key": key})


def key_of(deps: Any, user_id: str | None, scopes: tuple[str, ...] = ("sales",)) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key(user_id or "machine", list(scopes), deps.store, user_id=user_id)
    return secret


@pytest.fixture
def team(client: Any, admin_key: str) -> None:
    """EMEA (round robin, managed by Mia) with Ann and Bob; Americas (load-balanced) with Dan."""
    assert put_json(client, "/v1/teams/emea", {"name": "EMEA"}, admin_key).status_code == 201
    assert (
        put_json(
            client, "/v1/teams/amer", {"name": "Americas", "distribution": "load_balanced"}, admin_key
        ).status_code
        == 201
    )
    for user_id, teams, roles, capacity in (
        ("ann", ["emea"], ["sales_rep"], 10),
        ("bob", ["emea"], ["sales_rep"], 10),
        ("dan", ["amer"], ["sales_rep"], 10),
        ("mia", ["emea", "amer"], ["sales_manager"], 0),
    ):
        body = {
            "name": user_id.title(),
            "email": f"{user_id}@example.com",
            "roles": roles,
            "teams": teams,
            "capacity": capacity,
        }
        created = put_json(client, f"/v1/users/{user_id}", body, admin_key)
        assert created.status_code == 201, created.body
    assert (
        put_json(client, "/v1/teams/emea", {"name": "EMEA", "manager": "mia"}, admin_key).status_code == 200
    )


def test_people_are_validated_naming_the_field_and_listed(client: Any, admin_key: str, team: None):
    bad_email = put_json(
        client, "/v1/users/zoe", {"name": "Zoe", "email": "not-an-address", "roles": ["sales_rep"]}, admin_key
    )
    assert bad_email.status_code == 422 and bad_email.json_body["error"]["field"] == "email"
    no_team = put_json(
        client,
        "/v1/users/zoe",
        {"name": "Zoe", "email": "zoe@example.com", "roles": ["sales_rep"], "teams": ["apac"]},
        admin_key,
    )
    assert no_team.status_code == 422 and no_team.json_body["error"]["field"] == "teams"
    bad_role = put_json(
        client, "/v1/users/zoe", {"name": "Zoe", "email": "zoe@example.com", "roles": ["boss"]}, admin_key
    )
    assert bad_role.status_code == 422 and bad_role.json_body["error"]["field"] == "roles"
    no_manager = put_json(client, "/v1/teams/apac", {"name": "APAC", "manager": "ghost"}, admin_key)
    assert no_manager.status_code == 422 and no_manager.json_body["error"]["field"] == "manager"
    users = get(client, "/v1/users", admin_key).json_body["users"]
    assert [u["user_id"] for u in users] == ["ann", "bob", "dan", "mia"]
    emea = get(client, "/v1/teams/emea", admin_key).json_body
    assert (emea["manager"], emea["members"]) == ("mia", ["ann", "bob", "mia"])
    assert get(client, "/v1/users/nobody", admin_key).status_code == 404


def test_assignment_rules_are_validated_listed_in_order_and_deleted(client: Any, admin_key: str, team: None):
    put_json(client, "/v1/teams/empty", {"name": "Empty"}, admin_key)
    empty = put_json(
        client, "/v1/assignment-rules/r1", {"priority": 1, "assign": {"team": "empty"}}, admin_key
    )
    assert empty.status_code == 422 and empty.json_body["error"]["field"] == "assign.team"
    ghost = put_json(
        client, "/v1/assignment-rules/r1", {"priority": 1, "assign": {"user": "ghost"}}, admin_key
    )
    assert ghost.status_code == 422 and ghost.json_body["error"]["field"] == "assign.user"
    uk = {
        "priority": 10,
        "when": {"field": "contact.country", "op": "eq", "value": "GB"},
        "assign": {"team": "emea"},
    }
    assert put_json(client, "/v1/assignment-rules/uk", uk, admin_key).status_code == 201
    catch_all = {"priority": 1000, "assign": {"team": "amer"}}
    assert put_json(client, "/v1/assignment-rules/default", catch_all, admin_key).status_code == 201
    listed = get(client, "/v1/assignment-rules", admin_key).json_body["rules"]
    assert [r["rule_id"] for r in listed] == ["uk", "default"]
    assert delete(client, "/v1/assignment-rules/default", admin_key).status_code == 204
    assert delete(client, "/v1/assignment-rules/default", admin_key).status_code == 404
    assert get(client, "/v1/assignment-rules/default", admin_key).status_code == 404


def test_a_lead_becoming_mql_is_assigned_and_its_handoff_names_owner_and_team(
    client: Any, admin_key: str, aws: Any, deps: Any, pump: Any, team: None
):
    rule = {
        "priority": 10,
        "assign": {"team": "emea"},
        "sla": {"accept_within_minutes": 60, "on_lapse": "escalate"},
    }
    assert put_json(client, "/v1/assignment-rules/emea-all", rule, admin_key).status_code == 201
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    created = make_ready(client, admin_key, pump)
    lead_id = created["lead_id"]

    lead = get(client, f"/v1/leads/{lead_id}", admin_key).json_body
    assert (lead["status"], lead["owner"], lead["team"]) == ("marketing_qualified", "ann", "emea")
    for message in queue(aws):
        work = message["body"]["data"]["handoff"]
        assert (work["owner"], work["team"]) == ("ann", "emea")

    ann, bob, dan = key_of(deps, "ann"), key_of(deps, "bob"), key_of(deps, "dan")
    mine = get(client, "/v1/leads?owner=me", ann).json_body["leads"]
    assert [row["lead_id"] for row in mine] == [lead_id] and mine[0]["name"]
    assert get(client, "/v1/leads?owner=bob", ann).json_body["leads"] == []
    machine = get(client, "/v1/leads?owner=me", admin_key)
    assert machine.status_code == 422 and machine.json_body["error"]["field"] == "owner"

    # a rep of another team may neither reassign nor accept it
    refused = post_json(client, f"/v1/leads/{lead_id}/assign", {"owner": "dan"}, {"X-Api-Key": dan})
    assert refused.status_code == 403
    assert post_json(client, f"/v1/leads/{lead_id}/accept", {}, {"X-Api-Key": dan}).status_code == 403
    unknown = post_json(client, f"/v1/leads/{lead_id}/assign", {"owner": "zed"}, {"X-Api-Key": ann})
    assert unknown.status_code == 422 and unknown.json_body["error"]["field"] == "owner"

    moved = post_json(
        client, f"/v1/leads/{lead_id}/assign", {"owner": "bob", "reason": "Ann is out"}, {"X-Api-Key": ann}
    )
    assert moved.status_code == 200 and moved.json_body["owner"] == "bob"
    entries = get(client, f"/v1/leads/{lead_id}/timeline", admin_key).json_body["entries"]
    reassigned = next(e for e in entries if e["kind"] == "assignment" and e["to"] == "bob")
    assert (reassigned["from"], reassigned["by"], reassigned["why"]) == ("ann", "user:ann", "Ann is out")
    assert [row["lead_id"] for row in get(client, "/v1/leads?owner=me", bob).json_body["leads"]] == [lead_id]

    accepted = post_json(client, f"/v1/leads/{lead_id}/accept", {}, {"X-Api-Key": bob})
    assert accepted.status_code == 200 and accepted.json_body["transition"]["by"] == "user:bob"
    report = get(client, "/v1/reports/speed-to-lead", admin_key).json_body
    assert report["reps"]["bob"]["accepted"] == 1 and report["teams"]["emea"]["leads"] == 1


def _mql_ready(deps: Any, count: int, country: str = "GB") -> list[str]:
    """Open leads whose (field) qualification rule holds: qualification assigns them."""
    from chalicelib.domain.entities import Contact, Lead
    from chalicelib.services import rules
    from chalicelib.store.dynamo import contact_record, lead_record

    rules.put_rule(
        "web",
        {
            "when": {"field": "lead.source", "op": "eq", "value": "web"},
            "actions": [{"type": "task", "subject": "Follow up"}],
        },
        deps,
    )
    now = datetime.now(UTC)
    ids = []
    for n in range(count):
        lead_id = f"l_{country}_{n:04d}"
        contact = Contact(
            f"c_{country}_{n:04d}",
            f"p{n}@example.org",
            {"country": country},
            now,
            now,
            lead_ids=[lead_id],
            consent="marketing",
        )
        contact_record(contact).save()
        lead_record(Lead(lead_id, contact.contact_id, {"source": "web"}, now, now)).save()
        ids.append(lead_id)
    return ids


def test_leads_qualified_at_once_never_take_the_same_turn(client: Any, admin_key: str, deps: Any, team: None):
    from chalicelib.services import qualification

    rule = {"priority": 1, "assign": {"team": "emea"}}
    assert put_json(client, "/v1/assignment-rules/emea-all", rule, admin_key).status_code == 201
    ids = _mql_ready(deps, 12)
    now = datetime.now(UTC)
    failures: list[BaseException] = []

    def work(chunk: list[str]) -> None:
        try:
            for lead_id in chunk:
                qualification.qualify_lead(lead_id, deps, now)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    owners = Counter(deps.store.get_lead(lead_id).owner for lead_id in ids)
    assert owners == {"ann": 6, "bob": 6}, "round robin: each turn taken once"
    roster = deps.people.roster()
    assert roster.turns["emea"] >= 12 and roster.open_leads == {"ann": 6, "bob": 6}
    assert all(len(deps.assignments.assignments_of(lead_id)) == 1 for lead_id in ids)


def test_an_sla_lapse_reassigns_once_and_never_twice(client: Any, admin_key: str, deps: Any, team: None):
    from chalicelib.handlers.assignment import sla_sweep
    from chalicelib.services import qualification

    rule = {"priority": 1, "assign": {"team": "emea"}, "sla": {"accept_within_minutes": 1}}
    assert put_json(client, "/v1/assignment-rules/emea-all", rule, admin_key).status_code == 201
    (lead_id,) = _mql_ready(deps, 1)
    qualification.qualify_lead(lead_id, deps, datetime.now(UTC))
    assert deps.store.get_lead(lead_id).owner == "ann"
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert sla_sweep(later)["reassigned"] == 1
    assert sla_sweep(later)["due"] == 0, "the timer was settled with the reassignment"
    lead = deps.store.get_lead(lead_id)
    assert (lead.owner, lead.assignment) == ("bob", 2)
    assert deps.people.roster().open_leads == {"ann": 0, "bob": 1}
    history = get(client, f"/v1/leads/{lead_id}/assignments", admin_key).json_body["assignments"]
    assert [(a["owner"], a["by"]) for a in history] == [("ann", "routing"), ("bob", "sla")]
    assert json.loads(json.dumps(history))[0]["due_at"]


def test_marking_a_lead_contacted_takes_its_sla_timer_out_of_the_due_index_on_dynamodb(
    client: Any, admin_key: str, deps: Any, team: None
):
    """``contacted`` removes ``due_shard`` in the transition's own transaction, so the sweep never
    sees the timer (an owner working the lead keeps it)."""
    from chalicelib.handlers.assignment import sla_sweep
    from chalicelib.services import qualification

    rule = {"priority": 1, "assign": {"team": "emea"}, "sla": {"accept_within_minutes": 1}}
    assert put_json(client, "/v1/assignment-rules/emea-all", rule, admin_key).status_code == 201
    first, second = _mql_ready(deps, 2)
    for lead_id in (first, second):
        qualification.qualify_lead(lead_id, deps, datetime.now(UTC))
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert len(deps.assignments.due_timers(later, 10)) == 2
    owner = deps.store.get_lead(first).owner
    contacted = post_json(client, f"/v1/leads/{first}/contacted", {}, {"X-Api-Key": key_of(deps, owner)})
    assert contacted.status_code == 200, contacted.body
    assert [lead for lead, _ in deps.assignments.due_timers(later, 10)] == [second]
    assert sla_sweep(later)["reassigned"] == 1
    assert deps.store.get_lead(first).owner == owner, "the owner who acted keeps the lead"


def test_erasing_a_contact_releases_its_owners_open_lead_and_deletes_the_assignments(
    client: Any, admin_key: str, deps: Any, pump: Any, team: None, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib import wiring

    monkeypatch.setenv("ERASURE_SETTLE_SECONDS", "0")
    wiring.reset()
    created = post_json(
        client, "/v1/leads", {"contact": {"email": "forget.me@example.org"}}, {"X-Api-Key": admin_key}
    ).json_body
    reason = {"owner": "ann", "reason": "Ann met forget.me@example.org at the fair"}
    assert (
        post_json(
            client, f"/v1/leads/{created['lead_id']}/assign", reason, {"X-Api-Key": admin_key}
        ).status_code
        == 200
    )
    assert wiring.deps().people.roster().open_leads == {"ann": 1}
    erased = client.http.request(
        "DELETE", f"/v1/contacts/{created['contact_id']}", headers={"X-Api-Key": admin_key}
    )
    assert erased.status_code == 202, erased.body
    pump.drain()
    job = get(client, f"/v1/jobs/{erased.json_body['job_id']}", admin_key).json_body
    assert job["state"] == "done" and job["result"]["counts"]["assignments"] == 1
    assert wiring.deps().people.roster().open_leads == {"ann": 0}
    assert wiring.deps().assignments.assignments_of(created["lead_id"]) == []


def test_speed_to_first_activity_keeps_the_first_activity_once_on_dynamodb(
    client: Any, admin_key: str, deps: Any, pump: Any, team: None
):
    """The first activity is a conditional update (attribute_not_exists) on the current assignment: a
    retry, a second activity and the later ``contacted`` transition (if_not_exists in its transaction)
    change nothing; the report times it beside acceptance."""
    rule = {"priority": 10, "assign": {"user": "ann"}}
    assert put_json(client, "/v1/assignment-rules/ann-all", rule, admin_key).status_code == 201
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    lead_id = make_ready(client, admin_key, pump)["lead_id"]
    ann = key_of(deps, "ann")
    assignments = get(client, f"/v1/leads/{lead_id}/assignments", admin_key).json_body["assignments"]
    assert assignments[-1]["owner"] == "ann" and assignments[-1]["first_activity_at"] is None

    when = datetime.now(UTC)  # after the assignment: one dated before it is not its first activity
    call = {"type": "call", "subject": "Discovery call", "occurred_at": when.isoformat()}
    headers = {"X-Api-Key": ann, "Idempotency-Key": "first-call"}
    for _ in range(2):  # the second is a retry
        assert post_json(client, f"/v1/leads/{lead_id}/activities", call, headers).status_code == 201
    later = {"type": "meeting", "subject": "Demo", "occurred_at": (when + timedelta(minutes=5)).isoformat()}
    second = post_json(client, f"/v1/leads/{lead_id}/activities", later, {"X-Api-Key": ann})
    assert second.status_code == 201
    contacted = post_json(client, f"/v1/leads/{lead_id}/contacted", {}, {"X-Api-Key": ann})
    assert contacted.status_code == 200, contacted.body
    assignments = get(client, f"/v1/leads/{lead_id}/assignments", admin_key).json_body["assignments"]
    kept = datetime.fromisoformat(assignments[-1]["first_activity_at"])
    assert abs(kept - when) < timedelta(milliseconds=1), "the API shows milliseconds"

    report = get(client, "/v1/reports/speed-to-lead", admin_key).json_body
    assert report["reps"]["ann"]["first_activity"] == 1 and report["reps"]["ann"]["accepted"] == 0
    assert report["reps"]["ann"]["first_activity_median_minutes"] is not None


def test_contacted_is_the_first_activity_on_dynamodb_when_nothing_was_logged(
    client: Any, admin_key: str, deps: Any, pump: Any, team: None
):
    rule = {"priority": 10, "assign": {"user": "ann"}}
    assert put_json(client, "/v1/assignment-rules/ann-all", rule, admin_key).status_code == 201
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    lead_id = make_ready(client, admin_key, pump)["lead_id"]
    ann = key_of(deps, "ann")
    contacted = post_json(client, f"/v1/leads/{lead_id}/contacted", {}, {"X-Api-Key": ann})
    assert contacted.status_code == 200, contacted.body
    assignments = get(client, f"/v1/leads/{lead_id}/assignments", admin_key).json_body["assignments"]
    assert assignments[-1]["first_activity_at"] is not None
    report = get(client, "/v1/reports/speed-to-lead", admin_key).json_body
    assert report["overall"]["first_activity"] == 1 and report["reps"]["ann"]["first_activity"] == 1
