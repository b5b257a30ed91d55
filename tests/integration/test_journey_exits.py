"""Journey exits are prompt (issue 18: "exits: the lead is marketing-qualified, the person withdrew
consent or unsubscribed, a goal reached"; a stopped journey stops), on moto through the real streams
and queue (the local pump). On main each of these people stayed ``active`` at their wait until its
timer fired; here the change that ends their journey wakes them (the ``qualify`` consumer: one keyed
query of the person's enrollments), and a stop pages the journey's enrollments through the queue."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, aws_calls, get, post_json, put_json, submit_people
from tests.integration.test_journeys import GRACE, HELLO, JOURNEY, NUDGE, enroll, live
from tests.integration.test_mail import ses_sent

ADA = {**load_event("http/form_submissions.json")[0], "newsletter": "on"}  # consent: marketing


@pytest.fixture
def deps(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stream consumers keep the journeys' list a few seconds (MODELS_CACHE_SECONDS); these tests
    make their journeys after the consumers first read it."""
    from chalicelib import wiring

    monkeypatch.setenv("MODELS_CACHE_SECONDS", "0")
    wiring.reset()
    return wiring.deps()


@pytest.fixture
def people(client: Any, admin_key: str, deps: Any) -> dict[str, str]:
    ids = submit_people(client, admin_key, {"ada": ADA, "grace": GRACE})
    assert put_json(client, "/v1/email-templates/hello", HELLO, admin_key).status_code == 201
    assert put_json(client, "/v1/email-templates/nudge", NUDGE, admin_key).status_code == 201
    return ids


def _report(client: Any, key: str, journey_id: str = "nurture") -> dict[str, Any]:
    answer = get(client, f"/v1/journeys/{journey_id}/report", key)
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def _at_step(report: dict[str, Any], step: str) -> int:
    return int(next(s for s in report["steps"] if s["step"] == step)["at_step"])


def _waiting(client: Any, key: str, pump: Any, *contact_ids: str, journey_id: str = "nurture") -> None:
    """Enter each person and let the worker send the first e-mail: each waits two days at ``pause``."""
    for contact_id in contact_ids:
        assert enroll(client, key, contact_id, journey_id).json_body["result"] == "enrolled"
    pump.drain()
    assert _at_step(_report(client, key, journey_id), "pause") == len(contact_ids)


def _withdraw(client: Any, key: str, contact_id: str) -> None:
    """An admin records that the person withdrew consent (``PUT /v1/contacts/{id}/consent``)."""
    answer = put_json(client, f"/v1/contacts/{contact_id}/consent", {"level": "none"}, key)
    assert answer.status_code == 200, answer.body


def _unsubscribe_path(deps: Any, contact_id: str) -> str:
    from chalicelib.services import journeys

    [message] = journeys.messages("nurture", 10, deps, contact_id=contact_id).messages
    found = re.search(r"http://[^\"]+/t/u/[^\"]+", message.html)
    assert found is not None
    return urlparse(found.group(0)).path


@pytest.mark.parametrize(
    ("how", "body"),
    [
        ("one-click", "List-Unsubscribe=One-Click"),
        ("preference page", "List-Unsubscribe=One-Click&level=transactional"),
    ],
)
def test_an_unsubscribe_during_the_wait_exits_the_person_at_once_with_no_second_email(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any, how: str, body: str
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    _waiting(client, admin_key, pump, people["grace"], people["ada"])
    path = _unsubscribe_path(deps, people["grace"])
    if how == "preference page":
        assert client.http.get(path).status_code == 200  # the page she chooses on
    answer = client.http.post(path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200, answer.body
    pump.drain()  # the contacts stream -> qualify consumer -> JourneySteps -> the worker
    enrollment = deps.journeys.get_enrollment(people["grace"], "nurture")
    assert (enrollment.state, enrollment.reason) == ("done", "unsubscribed")
    report = _report(client, admin_key)
    assert report["exited"] == {"unsubscribed": 1} and report["active"] == 1
    assert _at_step(report, "pause") == 1  # Ada still waits there; Grace left it
    # two days later: only Ada's wait ends; Grace gets nothing more
    later = datetime.now(UTC) + timedelta(days=5, hours=1)
    assert journeys.sweep(deps, later) == {"queued": 1}
    assert journeys.run(people["grace"], "nurture", deps, later) == []
    assert journeys.run(people["ada"], "nurture", deps, later) == ["pause->clicked"]
    assert journeys.run(people["ada"], "nurture", deps, later + timedelta(days=4)) == [
        "clicked->nudge",
        "nudge->exit:completed",
    ]
    assert sorted(m.subject for m in ses_sent()) == ["Hello Ada", "Hello Grace", "Still curious, Ada?"]


def test_a_redelivered_wake_moves_nothing_twice(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    live(client, admin_key)
    _waiting(client, admin_key, pump, people["grace"])
    _withdraw(client, admin_key, people["grace"])
    wake = {"contact_id": people["grace"], "journey_id": "nurture"}
    deps.journey_queue.send_many([wake, wake])  # the wake's message delivered three times in all
    pump.drain()
    deps.journey_queue.send_json(wake)  # and once more after the exit
    pump.drain()
    report = _report(client, admin_key)
    assert report["exited"] == {"unsubscribed": 1} and report["entered"] == 1
    pause = next(s for s in report["steps"] if s["step"] == "pause")
    assert (pause["entered"], pause["at_step"]) == (1, 0)
    assert len(ses_sent()) == 1


def test_a_lead_qualified_by_the_rules_during_the_wait_exits_qualified(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    """Qualification's own status write is not something qualification re-reads (``leads_to_qualify``),
    yet it ends the person's journey: the exit check is its own."""
    from chalicelib.domain.working import LeadEdit
    from chalicelib.services.working import edit_lead

    rule = {
        "when": {"field": "lead.budget", "op": "eq", "value": "50k"},
        "actions": [{"type": "task", "subject": "Call {contact.first_name}"}],
    }
    assert put_json(client, "/v1/qualification-rules/big-budget", rule, admin_key).status_code == 201
    live(client, admin_key)
    _waiting(client, admin_key, pump, people["ada"], people["grace"])
    lead_id = people["ada_lead"]
    lead = deps.store.get_lead(lead_id)
    edit_lead(lead_id, lead.version or 0, LeadEdit(lead={"budget": "50k"}), "user:ann", deps.store, deps.work)
    pump.drain()
    assert deps.store.get_lead(lead_id).status == "marketing_qualified"
    enrollment = deps.journeys.get_enrollment(people["ada"], "nurture")
    assert (enrollment.state, enrollment.reason) == ("done", "qualified")
    report = _report(client, admin_key)
    assert report["exited"] == {"qualified": 1} and report["qualified"] == 1
    assert _at_step(report, "pause") == 1
    assert deps.journeys.get_enrollment(people["grace"], "nurture").state == "active"


def test_a_goal_reached_during_the_wait_exits_goal(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    from chalicelib.domain.working import LeadEdit
    from chalicelib.services.working import edit_lead

    body = {**copy.deepcopy(JOURNEY), "goal": {"field": "lead.budget", "op": "eq", "value": "50k"}}
    live(client, admin_key, body=body)
    _waiting(client, admin_key, pump, people["ada"], people["grace"])
    lead_id = people["ada_lead"]
    lead = deps.store.get_lead(lead_id)
    edit_lead(lead_id, lead.version or 0, LeadEdit(lead={"budget": "50k"}), "user:ann", deps.store, deps.work)
    pump.drain()
    enrollment = deps.journeys.get_enrollment(people["ada"], "nurture")
    assert (enrollment.state, enrollment.reason) == ("done", "goal")
    report = _report(client, admin_key)
    assert report["exited"] == {"goal": 1} and _at_step(report, "pause") == 1
    # a change that reaches no goal wakes the person, who stays where they are
    grace_lead = deps.store.get_lead(people["grace_lead"])
    edit_lead(
        grace_lead.lead_id,
        grace_lead.version or 0,
        LeadEdit(lead={"budget": "5k"}),
        "user:ann",
        deps.store,
        deps.work,
    )
    pump.drain()
    assert deps.journeys.get_enrollment(people["grace"], "nurture").step == "pause"
    assert len(ses_sent()) == 2


def test_stop_exits_everyone_through_pages_of_the_journeys_enrollments(
    client: Any,
    admin_key: str,
    people: dict[str, str],
    deps: Any,
    pump: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.services import journeys

    more = []
    for n in range(5):
        body = {**ADA, "email": f"person{n}@example.org", "first_name": f"P{n}"}
        answer = post_json(client, f"/v1/forms/{FORM}/submissions", body, {"X-Api-Key": admin_key})
        assert answer.status_code == 201, answer.body
        more.append(answer.json_body["contact_id"])
    everyone = [people["ada"], people["grace"], *more]
    live(client, admin_key)
    _waiting(client, admin_key, pump, *everyone)
    # one of them left already: the stop skips her
    _withdraw(client, admin_key, people["grace"])
    pump.drain()
    monkeypatch.setattr(journeys, "STOP_PAGE", 2)
    pages: list[int] = []
    original = journeys.leave_stopped

    def counted(*args: Any, **kwargs: Any) -> int:
        left = original(*args, **kwargs)
        pages.append(left)
        return left

    monkeypatch.setattr(journeys, "leave_stopped", counted)
    answer = post_json(client, "/v1/journeys/nurture/stop", {}, {"X-Api-Key": admin_key})
    assert answer.status_code == 200 and answer.json_body["state"] == "stopped"
    assert _report(client, admin_key)["active"] == 6, "not in the request: through the queue"
    pump.drain()
    assert len(pages) == 4 and sum(pages) == 6, pages  # 7 enrollments, 2 a page
    report = _report(client, admin_key)
    assert report["exited"] == {"stopped": 6, "unsubscribed": 1} and report["active"] == 0
    assert _at_step(report, "pause") == 0
    reasons = {c: deps.journeys.get_enrollment(c, "nurture").reason for c in everyone}
    assert reasons == {c: "unsubscribed" if c == people["grace"] else "stopped" for c in everyone}
    # a redelivered page, and the sweep when their waits end, change nothing
    assert journeys.leave_stopped("nurture", None, deps) == 0
    later = datetime.now(UTC) + timedelta(days=3)
    assert journeys.sweep(deps, later) == {"queued": 0}
    assert len(ses_sent()) == 7


def test_a_paused_journey_keeps_its_people_and_stopping_it_from_paused_lets_them_leave(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    from chalicelib.services import journeys

    live(client, admin_key)
    _waiting(client, admin_key, pump, people["ada"], people["grace"])
    headers = {"X-Api-Key": admin_key}
    assert post_json(client, "/v1/journeys/nurture/pause", {}, headers).json_body["state"] == "paused"
    later = datetime.now(UTC) + timedelta(days=3)
    assert journeys.sweep(deps, later) == {"queued": 0}  # paused: nobody moves on
    assert journeys.run(people["ada"], "nurture", deps, later) == []
    # an exit still applies while paused: an unsubscribe leaves at once
    _withdraw(client, admin_key, people["grace"])
    pump.drain()
    assert deps.journeys.get_enrollment(people["grace"], "nurture").reason == "unsubscribed"
    assert deps.journeys.get_enrollment(people["ada"], "nurture").step == "pause"
    assert post_json(client, "/v1/journeys/nurture/stop", {}, headers).json_body["state"] == "stopped"
    pump.drain()
    report = _report(client, admin_key)
    assert report["exited"] == {"stopped": 1, "unsubscribed": 1} and report["active"] == 0
    assert len(ses_sent()) == 2


def test_a_wake_costs_one_keyed_query_and_a_queue_message_and_its_look_five_calls(
    client: Any, admin_key: str, people: dict[str, str], deps: Any, pump: Any
) -> None:
    """What a wake costs, measured: the consumer's part (the enrollments of the person: one query of
    their partition; one SendMessageBatch) and the worker's look that finds the exit."""
    from chalicelib.domain.changes import ContactChange
    from chalicelib.services import journeys

    live(client, admin_key)
    _waiting(client, admin_key, pump, people["grace"])
    before = deps.store.get_contact(people["grace"])
    _withdraw(client, admin_key, people["grace"])
    after = deps.store.get_contact(people["grace"])
    change = ContactChange(event="MODIFY", sequence="1", contact_id=people["grace"], old=before, new=after)
    wakes = journeys.ExitWakes(deps)
    wakes.heads()  # the batch's list of journeys (kept a few seconds: usually no read)
    journeys.running_watch(deps, wakes.heads())  # the versions (read once per container)
    with aws_calls(with_table=False) as woken:
        assert wakes.offer(change) == 1
        assert wakes.offer(change) == 0  # the same person twice in a batch: once
    assert sorted(woken) == ["Query", "SendMessageBatch"], woken
    with aws_calls(with_table=False) as looked:
        assert journeys.run(people["grace"], "nurture", deps) == ["pause->exit:unsubscribed"]
    assert sorted(looked) == [
        "BatchGetItem",
        "GetItem",
        "GetItem",
        "GetItem",
        "GetItem",
        "TransactWriteItems",
    ], looked


def test_with_no_journey_running_a_lead_or_contact_change_costs_no_extra_read(
    client: Any, admin_key: str, people: dict[str, str], pump: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifecycle bench has no journey: the exit check must add nothing to a change. A draft and a
    stopped journey run nothing either."""
    from chalicelib import wiring
    from chalicelib.domain.working import LeadEdit
    from chalicelib.services.working import edit_lead

    monkeypatch.setenv("MODELS_CACHE_SECONDS", "60")
    wiring.reset()
    deps = wiring.deps()
    assert put_json(client, "/v1/journeys/nurture", JOURNEY, admin_key).status_code == 201  # a draft
    assert put_json(client, "/v1/journeys/old", JOURNEY, admin_key).status_code == 201
    assert post_json(client, "/v1/journeys/old/stop", {}, {"X-Api-Key": admin_key}).status_code == 200
    pump.drain()
    table = deps.settings.journeys_table
    deps.journeys.heads(60)  # the consumers' list of journeys, as a running container keeps it
    lead = deps.store.get_lead(people["ada_lead"])
    assert lead is not None
    with aws_calls() as calls:
        _withdraw(client, admin_key, people["grace"])
        edit_lead(
            lead.lead_id,
            lead.version or 0,
            LeadEdit(lead={"budget": "50k"}),
            "user:ann",
            deps.store,
            deps.work,
        )
        pump.drain()
    assert [c for c in calls if f" {table}" in c] == [], calls
