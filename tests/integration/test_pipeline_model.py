"""A stateful, model-based test of the whole pipeline on moto (hypothesis ``RuleBasedStateMachine``).

Random captures (each delivered 1-5 times, as a client retrying with its Idempotency-Key would),
interactions posted in any order and up to 5 times, lifecycle calls, model publishes, and injected
faults: throttling errors on a fraction of the app's DynamoDB and SQS calls (``ThrottlingException``,
``ProvisionedThroughputExceededException``), a crash between two steps of a handler (a hand-off sent
but not marked sent; the first interaction of a message recorded, the second not), and a batch whose
middle record fails once. The streams and queues (the local pump: partial failures, retries, bisect,
dead-letter queues) deliver again, as Lambda would.

After every step (once the pump has drained) the store must agree with a small reference model:

- every accepted capture's contact and lead exist exactly once (one contact per email, one open lead
  per email and topic), and nothing was stored for an email the model never had accepted;
- every accepted interaction is stored exactly once;
- every stored score equals a fresh recomputation by the engine from the stored data;
- every hand-off in the outbox is on the sales queue or its DLQ exactly once, no message is there
  twice, and each qualified lead's round has exactly one phone call and one opportunity;
- each lead's state is the one its lifecycle calls left it in.

Bounded: ``LEADFLOW_MODEL_EXAMPLES`` examples (default 10) of ``LEADFLOW_MODEL_STEPS`` steps (default 15).
The counts (examples, steps, faults by kind) are printed and written to
``build/reliability/state_machine.json``."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import ROOT, load_event

EXAMPLES = int(os.environ.get("LEADFLOW_MODEL_EXAMPLES", "10"))
STEPS = int(os.environ.get("LEADFLOW_MODEL_STEPS", "15"))
ARTIFACT = ROOT / "build" / "reliability" / "state_machine.json"
FORM = "model-form"
TOPICS = ["Pricing", "Demo"]
MODEL = load_event("models/b2b_default.json")
RULE = load_event("rules/mql_default.json")
THROTTLES = {
    "dynamodb": ["ThrottlingException", "ProvisionedThroughputExceededException"],
    "sqs": ["ThrottlingException", "RequestThrottled"],
}
STATS: Counter[str] = Counter()
#: What a client retries with the same request: our faults, and the 409s/429 that say "try again".
RETRYABLE = ("request_in_progress", "rate_limited", "concurrent_update")


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Faults:
    """Throttling errors on a seeded fraction of the app's AWS calls, at most ``budget`` per step (so a
    retrying client, a queue's five receives and a stream's five retries always get through: the
    test is about what survives the faults, not about exhausting every retry)."""

    def __init__(self) -> None:
        self.armed = False
        self.rate = 0.0
        self.budget = 0
        self.rng = random.Random(0)
        self.counts: Counter[str] = Counter()
        self.original = BaseClient._make_api_call
        self.crash: dict[str, int] = {}
        self.middle_failures = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        faults = self

        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if (
                faults.armed
                and faults.budget > 0
                and service in THROTTLES
                and faults.rng.random() < faults.rate
            ):
                faults.budget -= 1
                code = faults.rng.choice(THROTTLES[service])
                faults.counts[f"throttle:{service}:{code}"] += 1
                raise ClientError({"Error": {"Code": code, "Message": "injected by the test"}}, operation)
            return faults.original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", call)

    def step(self, rate: float, budget: int, seed: int) -> None:
        self.rate, self.budget, self.rng = rate, budget, random.Random(seed)


class Pipeline(RuleBasedStateMachine):
    client: Any
    key: str
    pump: Any
    aws: Any
    faults: Faults
    deps: Any
    namespace = 0

    def __init__(self) -> None:
        super().__init__()
        Pipeline.namespace += 1
        STATS["examples"] += 1
        self.domain = f"ex{Pipeline.namespace}.example.org"
        self.accepted: dict[str, dict[str, Any]] = {}  # email -> contact_id
        self.leads: dict[str, dict[str, Any]] = {}  # lead_id -> {"email", "topic", "state", "status"}
        self.interactions: dict[str, set[str]] = {}  # email -> accepted interaction ids
        self.delivered: list[dict[str, Any]] = []  # hand-off messages read from the queue and its DLQ
        self.unanswered: set[str] = set()
        self.published = False  # emails whose capture never got an answer (may exist or not)
        self.faults.step(0.0, 0, 0)

    # ------------------------------------------------------------ talking to the app like a client

    def call(self, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        """A client that retries a 5xx, a 409 in-progress and a 429 with the same request (and so the
        same Idempotency-Key), as at-least-once senders do."""
        response = None
        for _ in range(8):
            self.faults.armed = True
            try:
                response = getattr(self.client.http, method)(
                    path,
                    headers={"Content-Type": "application/json", **(headers or {})},
                    body=json.dumps(body),
                )
            finally:
                self.faults.armed = False
            code = (
                response.json_body.get("error", {}).get("code")
                if isinstance(response.json_body, dict)
                else None
            )
            if response.status_code >= 500 or code in (
                "request_in_progress",
                "rate_limited",
                "concurrent_update",
            ):
                STATS[f"client_retries_{code or response.status_code}"] += 1
                continue
            return response
        return response

    def email(self, person: int) -> str:
        return f"p{person}@{self.domain}"

    def drain(self) -> None:
        self.faults.armed = False
        self.pump.drain(timeout=120)

    # ------------------------------------------------------------ rules

    @initialize(copies=st.integers(1, 5), data=st.data())
    def a_lead_that_qualifies(self, copies: int, data: Any) -> None:
        """Every example starts with one lead on its way to sales (a hot capture, then the clicks and
        pricing visits that make it sales-ready), so every example checks hand-offs too."""
        self.capture(person=0, topic="Pricing", hot=True, copies=copies)
        if self.accepted:
            self.interactions_out_of_order(data=data, heat=True, copies=data.draw(st.integers(1, 5)))

    @rule(
        rate=st.sampled_from([0.0, 0.05, 0.15, 0.3]),
        budget=st.integers(0, 4),
        seed=st.integers(0, 2**16),
    )
    def throttle_some_calls(self, rate: float, budget: int, seed: int) -> None:
        self.faults.step(rate, budget, seed)

    @rule(kind=st.sampled_from(["after_send_before_mark", "between_two_interactions"]))
    def crash_once_between_two_steps(self, kind: str) -> None:
        self.faults.crash[kind] = 1

    @rule()
    def fail_a_middle_record_once(self) -> None:
        self.faults.middle_failures = 1

    @rule(
        person=st.integers(0, 3),
        topic=st.sampled_from(TOPICS),
        hot=st.booleans(),
        copies=st.integers(1, 5),
    )
    def capture(self, person: int, topic: str, hot: bool, copies: int) -> None:
        email = self.email(person)
        body = {
            "email": email,
            "first_name": f"P{person}",
            "topic": topic,
            "newsletter": "on",
            "country": "GB",
        }
        if hot:
            body.update(
                {"job": "VP Engineering", "employees": "500", "company": f"Co {person} {self.domain}"}
            )
        open_lead = next(
            (
                lid
                for lid, lead in self.leads.items()
                if (lead["email"], lead["topic"]) == (email, topic) and lead["state"] == "open"
            ),
            None,
        )
        key = f"{self.domain}-{person}-{topic}-{STATS['steps']}"
        answers = []
        for _ in range(copies):
            # posted with a key, as a server posting a form does: the answer names the lead and contact
            headers = {"Idempotency-Key": key, "X-Api-Key": self.key}
            response = self.call("post", f"/v1/forms/{FORM}/submissions", body, headers)
            answers.append(response)
            STATS["deliveries"] += 1
        ok = [r.json_body for r in answers if r.status_code == 201]
        if not ok:
            self.unanswered.add(email)
            return
        assert all(a == ok[0] for a in ok), "a retry with the same key gets the first answer"
        first = ok[0]
        if open_lead is not None:
            assert first["lead_id"] == open_lead and not first["lead_created"]
        elif first["lead_id"] not in self.leads:
            self.leads[first["lead_id"]] = {"email": email, "topic": topic, "state": "open"}
        if email in self.accepted:
            assert first["contact_id"] == self.accepted[email]["contact_id"]
        self.accepted[email] = {"contact_id": first["contact_id"]}
        self.unanswered.discard(email)
        STATS["captures_accepted"] += 1
        self.drain()

    @precondition(lambda self: bool(self.accepted))
    @rule(
        data=st.data(),
        heat=st.booleans(),
        copies=st.integers(1, 5),
    )
    def interactions_out_of_order(self, data: Any, heat: bool, copies: int) -> None:
        email = data.draw(st.sampled_from(sorted(self.accepted)))
        stamp = STATS["steps"]
        items = (
            [
                {"id": f"c{stamp}-{n}", "type": "email_clicked", "occurred_at": ago(1 + n / 10)}
                for n in range(5)
            ]
            + [
                {
                    "id": f"v{stamp}-{n}",
                    "type": "page_visited",
                    "occurred_at": ago(2 + n),
                    "properties": {"url": "https://www.example.com/pricing"},
                }
                for n in range(2)
            ]
            if heat
            else [
                {
                    "id": f"o{stamp}",
                    "type": "email_opened",
                    "occurred_at": ago(data.draw(st.integers(0, 200))),
                }
            ]
        )
        items = data.draw(st.permutations(items))
        for item in items:
            item["email"] = email
        STATS["interaction_steps_hot" if heat else "interaction_steps"] += 1
        for _ in range(copies):
            # a sender re-sends the same interactions (same ids), sometimes as a fresh request
            response = self.call(
                "post", "/v1/interactions", {"interactions": list(items)}, {"X-Api-Key": self.key}
            )
            STATS["deliveries"] += 1
            if response.status_code == 202:
                assert response.json_body["rejected"] == []
                self.interactions.setdefault(email, set()).update(i["id"] for i in items)
        self.drain()

    @precondition(lambda self: bool(self.leads))
    @rule(data=st.data(), action=st.sampled_from(["accept", "disqualify", "reopen", "qualify"]))
    def lifecycle(self, data: Any, action: str) -> None:
        lead_id = data.draw(st.sampled_from(sorted(self.leads)))
        body = {"reason": "no_longer_interested"} if action == "disqualify" else {}
        response = self.call("post", f"/v1/leads/{lead_id}/{action}", body, {"X-Api-Key": self.key})
        assert response.status_code in (200, 409), response.json_body
        if response.status_code == 200:
            self.leads[lead_id]["state"] = response.json_body["state"]
        STATS[f"lifecycle_{action}_{response.status_code}"] += 1
        self.drain()

    @precondition(lambda self: not self.published)
    @rule()
    def publish_model_again(self) -> None:
        self.published = True
        model = {**MODEL, "name": f"B2B {STATS['steps']}"}
        assert (
            self.call("put", f"/v1/scoring-models/{MODEL['id']}", model, {"X-Api-Key": self.key}).status_code
            == 201
        )
        answer = self.call("post", f"/v1/scoring-models/{MODEL['id']}/publish", {}, {"X-Api-Key": self.key})
        assert answer.status_code == 202, answer.json_body
        STATS["publishes"] += 1
        self.drain()

    # ------------------------------------------------------------ the model agrees with the store

    @invariant()
    def count_step(self) -> None:
        STATS["steps"] += 1

    @invariant()
    def nothing_lost_nothing_duplicated(self) -> None:
        from chalicelib.store.records import ContactRecord, InteractionRecord, LeadRecord

        contacts = [c for c in ContactRecord.scan() if (c.email or "").endswith("@" + self.domain)]
        emails = Counter(c.email for c in contacts)
        assert all(n == 1 for n in emails.values()), f"a contact twice: {emails}"
        assert set(self.accepted) <= set(emails), "an accepted capture's contact is missing"
        assert set(emails) <= set(self.accepted) | self.unanswered, (
            "a contact nobody's capture was accepted for"
        )
        by_id = {c.contact_id: c.email for c in contacts}
        leads = [lead for lead in LeadRecord.scan() if lead.contact_id in by_id]
        assert {lead.lead_id for lead in leads} >= set(self.leads), "an accepted lead is missing"
        open_per_topic = Counter(
            (by_id[lead.contact_id], lead.fields.as_dict().get("topic"))
            for lead in leads
            if lead.state == "open" and lead.lead_id in self.leads
        )
        assert all(n == 1 for n in open_per_topic.values()), (
            f"two open leads for one email and topic: {open_per_topic}"
        )
        for lead in leads:
            if lead.lead_id in self.leads:
                assert lead.state == self.leads[lead.lead_id]["state"], lead.lead_id
        for email, ids in self.interactions.items():
            contact_id = self.accepted[email]["contact_id"]
            stored = [i.interaction_id for i in InteractionRecord.query(contact_id)]
            assert ids <= set(stored), f"accepted interactions missing for {email}: {ids - set(stored)}"
            assert len(stored) == len(set(stored))

    @invariant()
    def scores_equal_a_fresh_recomputation(self) -> None:
        from chalicelib.domain.predictive import evaluate
        from chalicelib.services.scoring import active_models, forget_models

        if not self.leads:
            return
        forget_models(self.deps)
        models = active_models(self.deps)
        for lead_id in self.leads:
            lead = self.deps.store.get_leads([lead_id])[0]
            contact = self.deps.store.get_contact(lead.contact_id)
            account = self.deps.store.get_account(contact.account_id) if contact.account_id else None
            stored = self.deps.scoring.scores_of(lead_id)
            for model in models:
                old = stored.get(model.model_id)
                interactions = self.deps.scoring.interactions_since(contact.contact_id, None)
                fresh_then = evaluate(model, lead, contact, account, interactions, old.as_of) if old else None
                fresh_now = evaluate(model, lead, contact, account, interactions, datetime.now(UTC))
                if old is None:
                    assert fresh_now is None, f"{lead_id} has no score but should: {fresh_now}"
                    continue
                assert old.model_version == fresh_now.model_version if fresh_now else True
                assert old.score in {
                    fresh_then.score if fresh_then else None,
                    fresh_now.score if fresh_now else None,
                }, (
                    lead_id,
                    old.score,
                    fresh_then,
                    fresh_now,
                )
                STATS["scores_checked"] += 1

    @invariant()
    def handoffs_on_the_queue_or_dlq_exactly_once(self) -> None:
        from chalicelib.store.records import HandoffRecord

        sqs = boto3.client("sqs")
        for name in ("SalesHandoffQueue", "SalesHandoffDeadLetterQueue"):
            while True:
                batch = sqs.receive_message(QueueUrl=self.aws.queue_urls[name], MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    break
                for message in batch:
                    self.delivered.append(json.loads(message["Body"]))
                    sqs.delete_message(
                        QueueUrl=self.aws.queue_urls[name], ReceiptHandle=message["ReceiptHandle"]
                    )
        ids = Counter(m["id"] for m in self.delivered)
        assert all(n == 1 for n in ids.values()), f"a hand-off delivered twice: {ids}"
        outbox = [h for h in HandoffRecord.scan() if h.lead_id in self.leads]
        assert {h.handoff_id for h in outbox} == {
            m["id"] for m in self.delivered if m["subject"] in self.leads
        }, "every hand-off in the outbox is delivered, and nothing else"
        assert all(h.state == "sent" for h in outbox)
        rounds: dict[tuple[str, Any], list[str]] = {}
        for message in self.delivered:
            key = (message["subject"], message["data"]["lead"].get("round"))
            rounds.setdefault(key, []).append(message["type"].rsplit(".", 1)[1])
        for key, kinds in rounds.items():
            assert sorted(kinds) == ["opportunity", "phone_call"], (key, kinds)

    def teardown(self) -> None:
        STATS["handoffs"] += len(self.delivered)
        STATS["leads"] += len(self.leads)
        STATS["contacts"] += len(self.accepted)


def _crash_points(monkeypatch: pytest.MonkeyPatch, faults: Faults, deps: Any) -> None:
    """Crashes between two steps of a handler, and a batch whose middle record fails, each once when
    the machine asks for it."""
    import chalicelib.handlers.qualification as qualification_handlers
    import chalicelib.handlers.scoring as scoring_handlers
    import chalicelib.handlers.tracking as tracking_handlers
    from chalicelib.handlers.batch import process

    real_mark = deps.handoffs.mark_sent

    def mark_sent(*args: Any, **kwargs: Any) -> Any:
        if faults.crash.get("after_send_before_mark"):
            faults.crash["after_send_before_mark"] = 0
            faults.counts["crash:after_send_before_mark"] += 1
            raise RuntimeError("crash: the hand-off was sent, the function died before marking it")
        return real_mark(*args, **kwargs)

    monkeypatch.setattr(deps.handoffs, "mark_sent", mark_sent)
    real_record = deps.store.record_interaction
    recorded_in_message = {"n": 0}

    def record_interaction(*args: Any, **kwargs: Any) -> Any:
        recorded_in_message["n"] += 1
        if faults.crash.get("between_two_interactions") and recorded_in_message["n"] == 2:
            faults.crash["between_two_interactions"] = 0
            faults.counts["crash:between_two_interactions"] += 1
            raise RuntimeError("crash: one interaction of the message recorded, the function died")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(deps.store, "record_interaction", record_interaction)

    def failing_middle(event: dict[str, Any], context: Any, kind: Any, handle: Any) -> dict[str, Any]:
        records = event.get("Records") or []
        recorded_in_message["n"] = 0
        if faults.middle_failures and len(records) >= 3:
            faults.middle_failures = 0
            faults.counts["middle_record_failed"] += 1
            middle = records[len(records) // 2]

            def handle_failing_middle(record: Any) -> None:
                if record.raw_event is middle or record.raw_event == middle:
                    raise RuntimeError("the batch's middle record fails (once)")
                handle(record)

            return process(event, context, kind, handle_failing_middle)
        return process(event, context, kind, handle)

    for module in (tracking_handlers, scoring_handlers, qualification_handlers):
        monkeypatch.setattr(module, "process", failing_middle)


@pytest.mark.filterwarnings("ignore")
def test_pipeline_agrees_with_the_reference_model_under_faults(
    client: Any, admin_key: str, pump: Any, aws: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
):
    import leadflow_local.pump as pump_module

    form = load_event("http/form_contact_us.json")
    form.pop("allowed_origins")
    assert client.http.put(
        f"/v1/forms/{FORM}",
        headers={"Content-Type": "application/json", "X-Api-Key": admin_key},
        body=json.dumps(form),
    ).status_code in (200, 201)
    for path, body in (
        (f"/v1/scoring-models/{MODEL['id']}", MODEL),
        (f"/v1/qualification-rules/{RULE['id']}", RULE),
    ):
        assert (
            client.http.put(
                path,
                headers={"Content-Type": "application/json", "X-Api-Key": admin_key},
                body=json.dumps(body),
            ).status_code
            == 201
        )
    published = client.http.post(
        f"/v1/scoring-models/{MODEL['id']}/publish",
        headers={"X-Api-Key": admin_key, "Content-Type": "application/json"},
        body=b"{}",
    )
    assert published.status_code == 202
    pump.drain()

    # one client IP sends everything: the rate limits are tested elsewhere (tests/security)
    monkeypatch.setattr(deps.settings, "rate_limit_ip_per_minute", 0)
    monkeypatch.setattr(deps.settings, "rate_limit_form_per_minute", 0)
    faults = Faults()
    faults.install(monkeypatch)
    _crash_points(monkeypatch, faults, deps)
    real_invoke = pump_module.invoke

    def armed_invoke(handler: Any, function: str, event: dict[str, Any]) -> Any:
        faults.armed = True
        try:
            return real_invoke(handler, function, event)
        finally:
            faults.armed = False

    monkeypatch.setattr(pump_module, "invoke", armed_invoke)
    Pipeline.client, Pipeline.key, Pipeline.pump, Pipeline.aws = client, admin_key, pump, aws
    Pipeline.faults, Pipeline.deps = faults, deps
    STATS.clear()
    run_state_machine_as_test(
        Pipeline,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        ),
    )
    summary: dict[str, Any] = {
        "examples": STATS["examples"],
        "steps": STATS["steps"],
        "faults": dict(sorted(faults.counts.items())),
        "faults_total": sum(faults.counts.values()),
        "stats": {k: v for k, v in sorted(STATS.items()) if k not in ("examples", "steps")},
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(summary, indent=2))
    print(f"\nstate machine: {json.dumps(summary)}")
    assert sum(faults.counts.values()) > 0, "the run injected faults"
