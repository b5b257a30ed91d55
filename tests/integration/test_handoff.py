"""Qualification and hand-off on moto, through the real streams (the local pump): exactly once."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from tests.integration.helpers import FORM, get, post_json, put_json, submit_as_server
from tests.integration.test_scoring import ADA, publish

MODEL = load_event("models/b2b_default.json")
RULE = load_event("rules/mql_default.json")


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def queue(aws: Any, name: str = "SalesHandoffQueue") -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=aws.queue_urls[name], MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(
                {
                    "body": json.loads(message["Body"]),
                    "group": message["Attributes"]["MessageGroupId"],
                    "dedup": message["Attributes"]["MessageDeduplicationId"],
                }
            )
            sqs.delete_message(QueueUrl=aws.queue_urls[name], ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def ready(client: Any, admin_key: str, pump: Any) -> dict[str, Any]:
    """Ada: a form, five clicks and two pricing visits: 20 + 10 + 25 + 15 = 70, sales-ready, grade B."""
    publish(client, admin_key, MODEL, pump)
    assert put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key).status_code == 201
    assert (
        put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key).status_code
        == 201
    )
    return make_ready(client, admin_key, pump)


def kept(lead: Any) -> Any:
    """Store the lead and its contact (consent given) as a capture would: a hand-off is only sent for
    a lead whose contact exists and is not being erased."""
    from chalicelib.domain.entities import Contact
    from chalicelib.store.dynamo import contact_record, lead_record

    now = lead.created_at
    contact = Contact(
        lead.contact_id, "kept@example.org", {}, now, now, lead_ids=[lead.lead_id], consent="marketing"
    )
    contact_record(contact).save()
    lead_record(lead).save()
    return lead


def make_ready(client: Any, admin_key: str, pump: Any) -> dict[str, Any]:
    """Submit Ada's form, then five clicks and two pricing visits (the model and rules are in place)."""
    created = submit_as_server(client, ADA, admin_key).json_body
    items = [
        {"id": f"c{n}", "type": "email_clicked", "occurred_at": ago(1), "contact_id": created["contact_id"]}
        for n in range(5)
    ]
    items += [
        {
            "id": f"p{n}",
            "type": "page_visited",
            "occurred_at": ago(2 + n),
            "contact_id": created["contact_id"],
            "properties": {"url": "https://www.example.com/pricing"},
        }
        for n in range(2)
    ]
    post_json(client, "/v1/interactions", {"interactions": items}, {"X-Api-Key": admin_key})
    pump.drain()
    return dict(created)


def test_a_sales_ready_lead_becomes_mql_and_each_action_is_one_cloudevent(
    client: Any, admin_key: str, aws: Any, ready: dict[str, Any]
):
    lead = get(client, f"/v1/leads/{ready['lead_id']}", admin_key).json_body
    assert (lead["state"], lead["status"]) == ("open", "marketing_qualified")
    messages = queue(aws)
    assert sorted(m["body"]["type"] for m in messages) == [
        "leadflow.handoff.opportunity",
        "leadflow.handoff.phone_call",
    ]
    for message in messages:
        event = message["body"]
        assert event["specversion"] == "1.0" and event["subject"] == ready["lead_id"]
        assert message["group"] == ready["lead_id"] and message["dedup"] == event["id"]
        assert event["data"]["handoff"]["id"] == event["id"]
        assert event["data"]["contact"]["email"] == "ada.lovelace@analytical-engines.co.uk"
        [score] = event["data"]["scores"]
        assert score["sales_ready"] is True and score["top_reasons"]
    call = next(m["body"]["data"]["handoff"] for m in messages if m["body"]["type"].endswith("phone_call"))
    assert call["subject"] == "Call Ada about Pricing" and call["due_at"]


def test_replayed_records_and_publishes_make_no_second_handoff(
    client: Any, admin_key: str, aws: Any, deps: Any, ready: dict[str, Any], pump: Any
):
    from chalicelib.services import handoffs as handoffs_service
    from chalicelib.services import qualification

    first = queue(aws)
    now = datetime.now(UTC)
    assert qualification.qualify_lead(ready["lead_id"], deps, now) == 0, "the rules fired once this round"
    for message in first:
        assert handoffs_service.publish_handoff(message["body"]["id"], deps, now) is False
    pump.drain()
    assert queue(aws) == []


def test_a_crash_between_send_and_mark_resends_the_same_id_which_the_fifo_queue_drops(
    deps: Any, aws: Any, monkeypatch: Any
):
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.qualification import Action, handoffs
    from chalicelib.services import handoffs as handoffs_service

    now = datetime.now(UTC)
    lead = kept(Lead("l_crash", "c_x", {"topic": "Pricing"}, now, now))
    [work] = handoffs(
        [Action("task", {"subject": "Call"})], "rule:r", ("l_crash", "r", "1"), lead, None, None, {}, now
    )
    assert deps.handoffs.write_handoffs(handoffs_service.encoded([work], deps, now), now)
    real_mark = deps.handoffs.mark_sent
    monkeypatch.setattr(deps.handoffs, "mark_sent", lambda *a: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        handoffs_service.publish_handoff(work.handoff_id, deps, now)
    monkeypatch.setattr(deps.handoffs, "mark_sent", real_mark)
    assert handoffs_service.publish_handoff(work.handoff_id, deps, now) is True  # the retry sends again
    messages = queue(aws)
    assert [m["body"]["id"] for m in messages] == [work.handoff_id]


def test_lifecycle_transitions_are_recorded_and_impossible_ones_are_409(
    client: Any, admin_key: str, deps: Any, ready: dict[str, Any], aws: Any, pump: Any
):
    lead_id = ready["lead_id"]
    key = {"X-Api-Key": admin_key}
    assert post_json(client, f"/v1/leads/{lead_id}/accept", {}, key).json_body["status"] == "sales_accepted"
    again = post_json(client, f"/v1/leads/{lead_id}/accept", {}, key)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "invalid_transition"
    bad_reason = post_json(client, f"/v1/leads/{lead_id}/disqualify", {"reason": "bored"}, key)
    assert bad_reason.status_code == 422 and bad_reason.json_body["error"]["field"] == "reason"
    converted = post_json(client, f"/v1/leads/{lead_id}/qualify", {}, key).json_body
    assert (converted["state"], converted["status"]) == ("qualified", "qualified")
    opportunity = deps.handoffs.get_opportunity(converted["opportunity_id"])
    assert opportunity is not None and opportunity.name == "Analytical Engines Ltd: Pricing"
    assert deps.store.get_contact(ready["contact_id"]).marketing_only is False
    sales_view = get(client, "/v1/contacts?marketing_only=false", admin_key).json_body["contacts"]
    assert [c["contact_id"] for c in sales_view] == [ready["contact_id"]]
    refused = post_json(client, f"/v1/leads/{lead_id}/disqualify", {"reason": "lost"}, key)
    assert refused.status_code == 409 and "qualified" in refused.json_body["error"]["message"]

    queue(aws)
    reopened = post_json(client, f"/v1/leads/{lead_id}/reopen", {}, key).json_body
    assert (reopened["state"], reopened["transition"]["round"]) == ("open", 2)
    pump.drain()  # the reopened lead's change reaches the qualification function on the leads stream
    second_round = queue(aws)
    assert len(second_round) == 2, "a new round lets the rule fire once more"
    assert all(m["body"]["data"]["lead"]["round"] == 2 for m in second_round)

    timeline = get(client, f"/v1/leads/{lead_id}/timeline", admin_key).json_body["entries"]
    kinds = {entry["kind"] for entry in timeline}
    assert {"transition", "score", "interaction", "handoff"} <= kinds
    actions = [e["action"] for e in timeline if e["kind"] == "transition"]
    assert actions[:3] == ["marketing_qualify", "reopen", "qualify"]


def test_rules_naming_unknown_models_or_placeholders_are_422(client: Any, admin_key: str):
    bad = {**RULE, "when": {"sales_ready": "nope"}}
    response = put_json(client, "/v1/qualification-rules/mql-default", bad, admin_key)
    assert response.status_code == 422 and response.json_body["error"]["field"] == "when.sales_ready"
    template = json.loads(json.dumps(RULE))
    template["when"] = {"field": "contact.country", "op": "eq", "value": "GB"}
    template["actions"][0]["subject"] = "Call {person.name}"
    response = put_json(client, "/v1/qualification-rules/mql-default", template, admin_key)
    assert response.status_code == 422 and response.json_body["error"]["field"] == "actions[0].subject"


def stored_time(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def test_a_trigger_creates_the_lead_and_the_task_once_per_interaction(
    client: Any, admin_key: str, aws: Any, deps: Any, pump: Any
):
    from chalicelib.handlers.qualification import run_triggers

    trigger = load_event("rules/webinar_signup_trigger.json")
    assert put_json(client, "/v1/triggers/webinar-signup", trigger, admin_key).status_code == 201
    grace = deps.store.contact_for_email("grace@cobol.example.org", datetime.now(UTC))
    consent = {"level": "consent_given", "source": "webinar-registration"}  # no hand-off without consent
    assert put_json(client, f"/v1/contacts/{grace}/consent", consent, admin_key).status_code == 200
    signup = {
        "id": "reg-1",
        "type": "event_registered",
        "occurred_at": ago(0.1),
        "email": "grace@cobol.example.org",
        "properties": {"event_id": "summit-2027"},
    }
    post_json(client, "/v1/interactions", {"interactions": [signup]}, {"X-Api-Key": admin_key})
    pump.drain()
    [message] = queue(aws)
    assert message["body"]["type"] == "leadflow.handoff.task"
    lead = message["body"]["data"]["lead"]
    assert (lead["topic"], lead["source"]) == ("Summit 2027", "event")
    contact_id = deps.store.contact_for_email("grace@cobol.example.org", datetime.now(UTC))
    from tests.conftest import load_event as _load  # the stored interaction, replayed through the handler

    event = _load("streams/interaction_inserted.json")
    record = event["Records"][0]
    image = record["dynamodb"]["NewImage"]
    image.update(
        {
            "contact_id": {"S": contact_id},
            "interaction_id": {"S": "reg-1"},
            "type": {"S": "event_registered"},
            "occurred_at": {"S": stored_time(ago(0.1))},  # as the interactions table holds it
            "properties": {"M": {"event_id": {"S": "summit-2027"}}},
        }
    )
    record["dynamodb"]["Keys"] = {"contact_id": {"S": contact_id}, "interaction_id": {"S": "reg-1"}}
    assert run_triggers({"Records": [record]}, None) == {"batchItemFailures": []}
    pump.drain()
    assert queue(aws) == [], "a replayed interaction makes no second task"
    assert len(deps.store.get_contact(contact_id).lead_ids) == 1, "nor a second lead"


def test_a_consumer_that_fails_gets_the_message_again_and_handles_it_once(deps: Any, aws: Any):
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.qualification import Action, handoffs
    from chalicelib.integrations.handoff_consumer import consume
    from chalicelib.services import handoffs as handoffs_service

    now = datetime.now(UTC)
    lead = kept(Lead("l_consumer", "c_x", {"topic": "Pricing"}, now, now))
    [work] = handoffs(
        [Action("task", {"subject": "Call"})], "rule:r", ("l_consumer", "r", "1"), lead, None, None, {}, now
    )
    deps.handoffs.write_handoffs(handoffs_service.encoded([work], deps, now), now)
    handoffs_service.publish_handoff(work.handoff_id, deps, now)
    sqs = boto3.client("sqs")
    url = aws.queue_urls["SalesHandoffQueue"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    attempts: list[str] = []

    def flaky(event: dict[str, Any]) -> None:
        attempts.append(event["id"])
        if len(attempts) == 1:
            raise RuntimeError("CRM is down")

    seen: set[str] = set()
    assert consume(sqs, url, flaky, seen, wait_seconds=0) == 1
    assert attempts == [work.handoff_id, work.handoff_id]
    assert consume(sqs, url, flaky, seen, wait_seconds=0) == 0


def test_redrive_moves_dead_lettered_handoffs_back(aws: Any):
    from chalicelib.integrations.handoff_consumer import redrive

    sqs = boto3.client("sqs")
    body = json.dumps({"id": "h_dead", "subject": "l_1", "type": "leadflow.handoff.task"})
    sqs.send_message(
        QueueUrl=aws.queue_urls["SalesHandoffDeadLetterQueue"],
        MessageBody=body,
        MessageGroupId="l_1",
        MessageDeduplicationId="h_dead",
    )
    assert (
        redrive(sqs, aws.queue_urls["SalesHandoffDeadLetterQueue"], aws.queue_urls["SalesHandoffQueue"]) == 1
    )
    assert [m["body"]["id"] for m in queue(aws)] == ["h_dead"]


def test_two_rules_firing_for_one_lead_each_hand_off_once(
    client: Any, admin_key: str, aws: Any, deps: Any, pump: Any
):
    from chalicelib.services import qualification

    publish(client, admin_key, MODEL, pump)
    second = {
        "id": "big-account-task",
        "when": {"field": "account.employees", "op": "gte", "value": 200},
        "actions": [{"type": "task", "subject": "Research {account.name}"}],
    }
    put_json(client, "/v1/qualification-rules/mql-default", RULE, admin_key)
    put_json(client, "/v1/qualification-rules/big-account-task", second, admin_key)
    put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    created = make_ready(client, admin_key, pump)
    kinds = sorted(
        m["body"]["data"]["origin"] + ":" + m["body"]["type"].rsplit(".", 1)[1] for m in queue(aws)
    )
    assert kinds == [
        "rule:big-account-task:task",
        "rule:mql-default:opportunity",
        "rule:mql-default:phone_call",
    ]
    assert qualification.qualify_lead(created["lead_id"], deps, datetime.now(UTC)) == 0
    pump.drain()
    assert queue(aws) == []
    assert sorted(deps.store.get_lead(created["lead_id"]).fired_rules) == ["big-account-task", "mql-default"]


def test_many_rules_with_many_actions_fire_in_transactions_that_fit(
    client: Any, admin_key: str, aws: Any, deps: Any, pump: Any
):
    publish(client, admin_key, MODEL, pump)
    tasks = [{"type": "task", "subject": f"Task {n}"} for n in range(10)]
    for n in range(5):
        rule = {"when": {"sales_ready": "b2b-default"}, "actions": tasks}
        assert put_json(client, f"/v1/qualification-rules/r{n}", rule, admin_key).status_code == 201
    put_json(client, f"/v1/forms/{FORM}", load_event("http/form_contact_us.json"), admin_key)
    created = make_ready(client, admin_key, pump)
    assert len(queue(aws)) == 50
    assert sorted(deps.store.get_lead(created["lead_id"]).fired_rules) == [f"r{n}" for n in range(5)]
    assert queue(aws, "StreamFailuresQueue") == []


def test_numeric_where_and_counts_in_triggers_read_stream_numbers(
    client: Any, admin_key: str, aws: Any, pump: Any
):
    deep = {
        "on": {"event": "page_visited", "where": {"field": "pages", "op": "gte", "value": 3}},
        "actions": [{"type": "task", "subject": "Deep reader"}],
    }
    never = {"on": {"event": "page_visited", "max_count": 0}, "actions": [{"type": "task", "subject": "No"}]}
    put_json(client, "/v1/triggers/deep", deep, admin_key)
    put_json(client, "/v1/triggers/never", never, admin_key)
    post_json(
        client,
        "/v1/leads",
        {"contact": {"email": "reader@example.org"}, "consent": "consent_given"},  # no hand-off without
        {"X-Api-Key": admin_key},
    )
    visit = {
        "id": "v-deep",
        "type": "page_visited",
        "occurred_at": ago(0.1),
        "email": "reader@example.org",
        "properties": {"pages": 5},
    }
    post_json(client, "/v1/interactions", {"interactions": [visit]}, {"X-Api-Key": admin_key})
    pump.drain()
    assert [m["body"]["data"]["origin"] for m in queue(aws)] == ["trigger:deep"]


def test_a_removed_score_does_not_come_back_from_an_older_evaluation(deps: Any):
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.scoring import Score

    now = datetime.now(UTC)
    lead = Lead("l_tomb", "c_tomb", {}, now, now)
    newer = Score("m", 1, now, 99, "A", True, ())
    older = Score("m", 1, now - timedelta(seconds=5), 50, "B", False, ())
    assert deps.scoring.put_score(lead, newer, False)
    assert deps.scoring.delete_score("l_tomb", "m", now)
    assert deps.scoring.scores_of("l_tomb") == {}
    assert deps.scoring.put_score(lead, older, False) is False
    assert deps.scoring.scores_of("l_tomb") == {}


def test_odd_numbers_and_patterns_in_rules_and_models_are_422(client: Any, admin_key: str, pump: Any):
    publish(client, admin_key, MODEL, pump)
    for when in (
        {"score": "b2b-default", "op": "matches", "value": "("},
        {"score": "b2b-default", "op": "eq"},
    ):
        response = put_json(
            client, "/v1/qualification-rules/odd", {"when": when, "actions": [{"type": "task"}]}, admin_key
        )
        assert response.status_code == 422, response.body
    huge = 10**400
    model = {**MODEL, "sales_ready_score": huge}
    assert put_json(client, "/v1/scoring-models/b2b-default", model, admin_key).status_code == 422
    trigger = {"on": {"event": "page_visited", "within_days": huge}, "actions": [{"type": "task"}]}
    assert put_json(client, "/v1/triggers/huge", trigger, admin_key).status_code == 422


def test_a_publish_whose_fan_out_failed_is_finished_by_a_retry(
    client: Any, admin_key: str, deps: Any, pump: Any, monkeypatch: Any
):
    assert put_json(client, "/v1/scoring-models/b2b-default", MODEL, admin_key).status_code == 201
    real = deps.rescore_queue.send_many
    monkeypatch.setattr(
        deps.rescore_queue, "send_many", lambda bodies: (_ for _ in ()).throw(RuntimeError("down"))
    )
    key = {"X-Api-Key": admin_key}
    assert post_json(client, "/v1/scoring-models/b2b-default/publish", {}, key).status_code == 500
    monkeypatch.setattr(deps.rescore_queue, "send_many", real)
    retry = post_json(client, "/v1/scoring-models/b2b-default/publish", {}, key)
    assert retry.status_code == 202
    pump.drain()
    assert get(client, f"/v1/jobs/{retry.json_body['job_id']}", admin_key).json_body["state"] == "done"


def test_the_sweeper_sends_hand_offs_the_publisher_never_sent(deps: Any, aws: Any):
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.qualification import Action, handoffs
    from chalicelib.services import handoffs as handoffs_service

    then = datetime.now(UTC) - timedelta(minutes=10)
    lead = kept(Lead("l_stuck", "c_x", {"topic": "Pricing"}, then, then))
    [work] = handoffs(
        [Action("task", {"subject": "Call"})], "rule:r", ("l_stuck", "r", "1"), lead, None, None, {}, then
    )
    deps.handoffs.write_handoffs(
        handoffs_service.encoded([work], deps, then), then
    )  # its stream record was lost
    now = datetime.now(UTC)
    assert handoffs_service.republish_unsent(deps, now) == 1
    assert handoffs_service.republish_unsent(deps, now) == 0, "sent once; no longer pending"
    assert [m["body"]["id"] for m in queue(aws)] == [work.handoff_id]


def test_an_outbox_item_is_under_one_write_unit_and_sends_the_envelope_it_decided(
    client: Any, admin_key: str, aws: Any, ready: dict[str, Any]
):
    """Issue 19: the envelope is kept compressed, so a hand-off's outbox item is one write unit (it was
    about 1.4 KB: two), and what reaches the queue is the envelope as decided."""
    import boto3

    from bench.units import item_size

    dynamodb = boto3.client("dynamodb")
    items = dynamodb.scan(TableName=aws.tables["HandoffsTable"])["Items"]
    assert items and all(item_size(item) < 1024 for item in items), [item_size(i) for i in items]
    sent = {m["body"]["id"]: m["body"] for m in queue(aws)}
    from chalicelib.store.outbox import envelope_of
    from chalicelib.store.records import HandoffRecord

    for record in HandoffRecord.scan():
        assert json.loads(envelope_of(record)) == sent[record.handoff_id]


def test_an_outbox_item_of_the_old_layout_is_read_with_its_plain_envelope(deps: Any, aws: Any):
    from chalicelib.store.outbox import pending_key
    from chalicelib.store.records import HandoffRecord

    now = datetime.now(UTC)
    body = json.dumps({"id": "h_old", "subject": "l_old", "type": "leadflow.handoff.task", "data": {}})
    HandoffRecord(
        "h_old",
        lead_id="l_old",
        kind="task",
        origin="rule:x",
        envelope=body,
        state="pending",
        pending=pending_key("h_old"),
        created_at=now,
    ).save()
    entry = deps.handoffs.get_handoff("h_old")
    assert entry is not None and entry.envelope == body


def test_transition_and_handoff_entries_live_on_the_lead_and_the_oldest_move_to_history_items(
    aws: Any, deps: Any
):
    """Issue 19: a lead change's timeline entries are kept on the lead item (no LeadHistory item in the
    transaction) while they fit; the oldest then move to LeadHistory items in the same transaction. The
    timeline reads both: every entry once, newest first, as before."""
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.lifecycle import Transition
    from chalicelib.store.history import LEAD_TIMELINE_BYTES, pack_timeline
    from chalicelib.store.records import LeadHistoryRecord, LeadRecord

    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    lead = kept(Lead("l-tl", "c-tl", {"topic": "Pricing"}, start, start))
    written: list[str] = []
    for n in range(8):
        lead = deps.store.get_lead("l-tl")
        at = start + timedelta(minutes=n + 1)
        action = ("reopen", "marketing_qualify")[n % 2]
        # random text, as real subjects and reasons are: entries that compress like real ones
        reason = secrets.token_hex(24)
        transition = Transition("l-tl", action, "open", "new", "open", "new", at, "test", reason, n + 1)
        body = json.dumps({"id": f"h{n}", "data": {"work": {"subject": f"Call {secrets.token_hex(12)}"}}})
        deps.handoffs.write_lead_change(lead, transition, [(f"h{n}", "l-tl", "task", "rule:r", body)], at)
        written += [f"transition:{action}", f"handoff:h{n}"]
    record = LeadRecord.get("l-tl", consistent_read=True)
    held = deps.store.get_lead("l-tl").timeline
    moved = list(LeadHistoryRecord.query("l-tl"))
    assert held and moved, "the newest entries are on the lead, the oldest moved to history items"
    assert len(held) + len(moved) == 16 and {m.sk for m in moved}.isdisjoint(e["sk"] for e in held)
    assert len(pack_timeline(held) or b"") <= LEAD_TIMELINE_BYTES and record.timeline_z is not None

    timeline = deps.handoffs.history("l-tl", 200, held)
    shown = [f"{e['kind']}:{e.get('action') or e.get('handoff_id')}" for e in timeline]
    # newest first; at one moment the transition's key sorts after the hand-off's (as LeadHistory did)
    expected = [entry for pair in zip(written[0::2], written[1::2], strict=True) for entry in pair[::-1]]
    assert shown == expected[::-1]
    assert [e["at"] for e in timeline] == sorted((e["at"] for e in timeline), reverse=True)
    assert deps.handoffs.history("l-tl", 3, held) == timeline[:3]


def test_a_heavy_lead_keeps_no_timeline_entry_that_would_take_it_over_one_kilobyte(aws: Any, deps: Any):
    """Issue 19: the entries a lead keeps never make it cost a second write unit (nor its indexes that
    project it): a lead already near 1 KB moves them to LeadHistory items, as before."""
    from chalicelib.domain.entities import Lead
    from chalicelib.domain.lifecycle import Transition
    from chalicelib.store.records import LeadHistoryRecord, LeadRecord

    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    heavy = {"topic": "Pricing", "notes": secrets.token_hex(400)}  # 800 characters of fields
    kept(Lead("l-heavy", "c-heavy", heavy, start, start))
    lead = deps.store.get_lead("l-heavy")
    transition = Transition("l-heavy", "marketing_qualify", "open", "new", "open", "new", start, "t", None, 1)
    body = json.dumps({"id": "hh", "data": {"work": {"subject": "Call"}}})
    deps.handoffs.write_lead_change(lead, transition, [("hh", "l-heavy", "task", "rule:r", body)], start)
    record = LeadRecord.get("l-heavy", consistent_read=True)
    assert record.timeline_z is None
    assert len(list(LeadHistoryRecord.query("l-heavy"))) == 2
    kinds = [e["kind"] for e in deps.handoffs.history("l-heavy", 10, deps.store.get_lead("l-heavy").timeline)]
    assert kinds == ["transition", "handoff"]
