"""Journeys measured (issue 18, the report): a three-step journey over 1,000 contacts on in-process moto
with every table and queue of the cloud template, through the real code paths.

The journey (``nurture``): e-mail ``hello`` -> wait 2 days -> branch "clicked the link ``pricing`` within
72 hours": yes -> a phone call for sales (the existing hand-off) -> exit; no -> e-mail ``nudge``.

- 1,000 contacts with a lead each (consent marketing) are captured, the example scoring model
  (``b2b-default``: 5 points a click) published; all are enrolled (``services/journeys.py: enroll``, what
  ``POST /v1/journeys/{id}/enroll`` calls).
- The engine's queue (JourneySteps) is drained by this script with a clock it controls (the worker's
  ``run(..., now)``), the streams by the local stack's pump (scoring, the interactions stream that wakes
  engagement branches). The sweep (``sweep(deps, now)``, the minute schedule's function) runs with the
  clock 2 days, then 5 days ahead.
- 300 people click ``pricing`` during the wait and 100 unsubscribe (one-click, ``POST /t/u``) through the
  public routes: the unsubscribers leave at once (the contacts stream's ``qualify`` consumer wakes them:
  a phase of its own); 50 more click while their branch waits: each click is timed from the request to
  the person leaving the branch (stream -> wake -> queue -> worker).
- Then a second journey (``hold``: a 7-day wait, then an e-mail) takes everyone in and is stopped: its
  people leave through the queue, a page of its enrollments per message (``leave_stopped``).
- Every phase runs twice (a redelivery of each message): nothing more is sent.
- Checked on moto's SES backend: each person got ``hello`` once; ``nudge`` went once to each person who
  neither clicked nor unsubscribed and to no one else; each clicker got one phone-call hand-off.
- Metered (``bench/units.py``): DynamoDB units (computed from item sizes) and AWS calls per person for
  each phase.

Run: ``.venv/bin/python bench/journey.py [--people N]`` (1,000 by default, or ``BENCH_JOURNEY_PEOPLE``;
at least 20; prints the figures, writes bench/results/journey.json)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
#: The smallest run in which every cohort below has someone (a twentieth clicks late).
MIN_PEOPLE = 20
TEMPLATE = {
    "subject": "Hello {{ contact.first_name | default('there') }}",
    "html": (
        "<html><body><p>Hi {{ contact.first_name }}</p>"
        '<a data-link="pricing" href="https://example.com/pricing">Pricing</a>'
        '<a data-link="docs" href="https://example.com/docs">Docs</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
    ),
    "text": "Hi {{ contact.first_name | default('there') }}",
}
#: The journey the tests run too (``events/journeys/pricing_nurture.json``): e-mail, wait 2 days, branch
#: on a click on "pricing" within 72 hours, a phone call for who clicked, a nudge for who did not.
JOURNEY = json.loads((ROOT / "events" / "journeys" / "pricing_nurture.json").read_text())
#: The journey that is stopped while everyone waits in it.
HOLD = {
    "name": "Hold",
    "entry": {"api": True},
    "steps": [
        {"id": "week", "type": "wait", "days": 7},
        {"id": "later", "type": "email", "template_id": "nudge"},
    ],
}


def _sent() -> list[Any]:
    from moto.backends import get_backend

    return list(get_backend("ses")["123456789012"]["us-east-1"].sent_messages)


class Engine:
    """The JourneySteps queue drained with the bench's clock (the worker's function, ``run``)."""

    def __init__(self, deps: Any, url: str) -> None:
        import boto3

        self.deps = deps
        self.url = url
        self.sqs = boto3.client("sqs")
        self.handled = 0

    def drain(self, now: datetime, twice: bool = True) -> int:
        from chalicelib.services import journeys

        moved = 0
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return moved
            for message in messages:
                body = json.loads(message["Body"])
                if "stop" in body:  # a stopped journey's page: its people leave, the next page queued
                    moved += journeys.leave_stopped(body["stop"], body.get("cursor"), self.deps, now)
                    self.handled += 1
                    continue
                moved += len(journeys.run(body["contact_id"], body["journey_id"], self.deps, now))
                if twice:  # a redelivery of the same message: must change nothing
                    assert journeys.run(body["contact_id"], body["journey_id"], self.deps, now) == []
                self.handled += 1
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )


def _phase(name: str, meter: Any, people: int, seconds: float) -> dict[str, Any]:
    print(f"phase done: {name} ({seconds:.1f} s)", file=sys.stderr, flush=True)
    calls = dict(sorted(meter.calls.items()))
    return {
        "phase": name,
        "people": people,
        "seconds": round(seconds, 2),
        "wcu_per_person": round(meter.wcu / max(1, people), 2),
        "rcu_per_person": round(meter.rcu / max(1, people), 2),
        "dynamodb_calls_per_person": round(meter.dynamodb_calls / max(1, people), 2),
        "aws_calls_per_person": round(sum(calls.values()) / max(1, people), 2),
        "calls": calls,
        "by_table": {k: [round(w, 1), round(r, 1)] for k, (w, r) in sorted(meter.by_table.items())},
    }


def _tracked(deps: Any, message_id: str, kind: str, link: str = "") -> str:
    import re
    from urllib.parse import urlparse

    from chalicelib.domain.email import read_token

    html = deps.mail.get_message(message_id).html
    for match in re.finditer(rf"http://[^\"]+/t/{kind}/[^\"]+", html):
        claims = read_token(match.group(0).rsplit("/", 1)[1])
        if claims is not None and (not link or claims.link == link):
            return urlparse(match.group(0)).path
    raise AssertionError(f"no {kind} link {link} in {message_id}")


def _journey_messages(journey_id: str, deps: Any) -> list[Any]:
    """Every e-mail of the journey, page by page (``GET /v1/messages?journey_id=``'s service)."""
    from chalicelib.services import mail

    found: list[Any] = []
    cursor: str | None = None
    while True:
        page = mail.list_messages(deps, journey_id=journey_id, limit=200, cursor=cursor)
        found += page.messages
        if not page.next_cursor:
            return found
        cursor = page.next_cursor


def run(people: int) -> dict[str, Any]:  # noqa: PLR0915 - one scenario, read top to bottom
    clicking = range(0, people * 3 // 10)  # 300 of 1,000
    unsubscribing = range(people * 3 // 10, people * 4 // 10)  # 100
    clicking_late = range(people * 4 // 10, people * 9 // 20)  # 50
    import logging

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    logging.disable(logging.CRITICAL)
    with mock_aws():
        from bench.capture import _environment  # the benches' one moto environment
        from bench.units import Meter, metering, moto_peek

        found, indexes = _environment()
        from app import app
        from chalicelib import wiring
        from chalicelib.domain.capture import Capture
        from chalicelib.services import capture, journeys
        from chalicelib.services.access import create_key
        from leadflow_local.stack import build_pump

        deps = wiring.deps()
        boto3.client("sesv2").create_email_identity(EmailIdentity=deps.settings.mail_from)
        pump = build_pump(app, found, None)
        # the journeys' queue is drained below with the bench's clock, not by the pump's real one
        pump.pollers = [
            p for p in pump.pollers if getattr(p, "queue_url", None) != found.queue_urls["JourneyStepsQueue"]
        ]
        engine = Engine(deps, found.queue_urls["JourneyStepsQueue"])
        key, _ = create_key("bench", ["admin"], deps.store)
        headers = {"Content-Type": "application/json", "X-Api-Key": key}
        phases: list[dict[str, Any]] = []
        with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:

            def put(path: str, body: dict[str, Any]) -> None:
                answer = client.http.put(path, headers=headers, body=json.dumps(body))
                assert answer.status_code in (200, 201), (path, answer.body)

            put(
                "/v1/scoring-models/b2b-default",
                json.loads((ROOT / "events/models/b2b_default.json").read_text()),
            )
            assert (
                client.http.post(
                    "/v1/scoring-models/b2b-default/publish", headers=headers, body="{}"
                ).status_code
                == 202
            )
            put("/v1/email-templates/hello", TEMPLATE)
            put(
                "/v1/email-templates/nudge",
                {**TEMPLATE, "subject": "Still curious, {{ contact.first_name }}?"},
            )
            put("/v1/journeys/nurture", JOURNEY)
            assert (
                client.http.post("/v1/journeys/nurture/activate", headers=headers, body="{}").status_code
                == 200
            )

            contacts: list[str] = []
            for n in range(people):
                made = capture.capture(
                    Capture(
                        contact={"email": f"person{n}@example.com", "first_name": f"P{n}"},
                        lead={"topic": "Pricing", "source": "landing_page"},  # in b2b-default's audience
                        consent="marketing",
                        origin="api",
                        update_policy="overwrite",
                    ),
                    deps,
                )
                contacts.append(made.contact_id)
            pump.drain(600)
            t0 = datetime.now(UTC)

            # 1. enter (the API's enroll), then the first step (the e-mail), each message delivered twice
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                entered = Counter(journeys.enroll("nurture", c, deps, t0).result for c in contacts)
                phases.append(_phase("enter (enroll)", meter, people, time.perf_counter() - started))
            assert entered == {"enrolled": people}, entered
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                engine.drain(t0)
                phases.append(
                    _phase(
                        "step 1: e-mail hello (x2 deliveries)", meter, people, time.perf_counter() - started
                    )
                )
            hello = Counter(m.destinations["ToAddresses"][0] for m in _sent())
            assert len(hello) == people, "hello sent to each"
            assert set(hello.values()) == {1}, "hello sent once to each"

            # during the wait: 300 click pricing (public routes), the streams score them
            message_of = {m.contact_id: m.message_id for m in _journey_messages("nurture", deps)}
            for n in clicking:
                assert (
                    client.http.get(_tracked(deps, message_of[contacts[n]], "c", "pricing")).status_code
                    == 302
                )
            started = time.perf_counter()
            pump.drain(600)
            stream_seconds = time.perf_counter() - started
            assert engine.drain(t0) == 0  # a click during a wait wakes nothing: the wait is not over

            # and 100 unsubscribe (one-click): the contacts stream wakes each, who leaves at once
            unsubscribe_paths = [_tracked(deps, message_of[contacts[n]], "u") for n in unsubscribing]
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                for path in unsubscribe_paths:
                    answer = client.http.post(
                        path,
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        body="List-Unsubscribe=One-Click",
                    )
                    assert answer.status_code == 200, answer.body
                pump.drain(600)  # contacts stream -> qualify consumer -> the wake -> JourneySteps
                left = engine.drain(t0)  # each wake delivered twice: the second moves nothing
                phases.append(
                    _phase(
                        "during the wait: unsubscribe -> exit now (woken)",
                        meter,
                        len(unsubscribing),
                        time.perf_counter() - started,
                    )
                )
            assert left == len(unsubscribing), left
            early = journeys.report("nurture", deps)
            assert early["exited"] == {"unsubscribed": len(unsubscribing)}, early["exited"]

            # 2. the wait ends (the sweep, clock 2 days ahead): clickers go to sales, the rest wait
            t1 = t0 + timedelta(days=2, minutes=1)
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                queued = journeys.sweep(deps, t1)["queued"]
                engine.drain(t1)
                phases.append(
                    _phase(
                        "step 2: wait ends (sweep + branch)",
                        meter,
                        people - len(unsubscribing),
                        time.perf_counter() - started,
                    )
                )
            assert queued == people - len(unsubscribing), queued  # who left has no timer any more
            assert journeys.sweep(deps, t1)["queued"] == 0  # no timer left due

            # 3. a click while the branch waits: timed from the request to the person leaving the branch
            latencies = []
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                for n in clicking_late:
                    started = time.perf_counter()
                    assert (
                        client.http.get(_tracked(deps, message_of[contacts[n]], "c", "pricing")).status_code
                        == 302
                    )
                    pump.drain(60)  # interactions stream -> scoring, triggers, the journey wake -> queue
                    engine.drain(t1 + timedelta(seconds=1), twice=False)
                    enrollment = deps.journeys.get_enrollment(contacts[n], "nurture")
                    assert enrollment is not None, contacts[n]
                    assert (enrollment.state, enrollment.reason) == ("done", "exit_step"), enrollment
                    latencies.append(time.perf_counter() - started)
                phases.append(
                    _phase(
                        "step 3: click -> branch yes -> sales (woken)",
                        meter,
                        len(clicking_late),
                        sum(latencies),
                    )
                )

            # 4. the window closes (clock 5 days ahead): the rest get the nudge
            t2 = t0 + timedelta(days=5, hours=1)
            rest = people - len(clicking) - len(unsubscribing) - len(clicking_late)
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                journeys.sweep(deps, t2)
                engine.drain(t2)
                phases.append(
                    _phase(
                        "step 4: window closes -> e-mail nudge", meter, rest, time.perf_counter() - started
                    )
                )
            assert journeys.sweep(deps, t2 + timedelta(days=30))["queued"] == 0
            pump.drain(600)

            # 5. stop a journey everyone waits in: they leave through the queue, a page per message
            put("/v1/journeys/hold", HOLD)
            assert (
                client.http.post("/v1/journeys/hold/activate", headers=headers, body="{}").status_code == 200
            )
            holding = Counter(journeys.enroll("hold", c, deps, t2).result for c in contacts)
            assert holding == {"enrolled": people}, holding
            with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                started = time.perf_counter()
                stopped = client.http.post("/v1/journeys/hold/stop", headers=headers, body="{}")
                assert stopped.status_code == 200, stopped.body
                left_hold = engine.drain(t2)
                phases.append(
                    _phase(
                        f"stop: everyone leaves (pages of {journeys.STOP_PAGE})",
                        meter,
                        people,
                        time.perf_counter() - started,
                    )
                )
            assert left_hold == people, left_hold
            hold = journeys.report("hold", deps)
            assert hold["exited"] == {"stopped": people}, hold
            assert hold["active"] == 0, hold
            pump.drain(600)

        sent = _sent()
        by_subject = Counter(m.subject.split(",")[0].split(" ")[0] for m in sent)
        nudged = {m.destinations["ToAddresses"][0] for m in sent if m.subject.startswith("Still")}
        expected_nudged = {
            f"person{n}@example.com"
            for n in range(people)
            if n not in clicking and n not in unsubscribing and n not in clicking_late
        }
        assert nudged == expected_nudged, "nudge to the rest"
        assert by_subject["Still"] == len(expected_nudged), "nudge once"
        report = journeys.report("nurture", deps)
        handoffs = 0
        scored: dict[str, list[float]] = {"clicked": [], "did not click": []}
        clickers = {contacts[n] for n in (*clicking, *clicking_late)}
        for contact_id in contacts:
            contact = deps.store.get_contact(contact_id)
            assert contact is not None, contact_id
            lead_id = contact.lead_ids[0]
            history = deps.handoffs.history(lead_id, 50)
            handoffs += sum(1 for h in history if "journey:nurture" in json.dumps(h, default=str))
            score = deps.scoring.scores_of(lead_id).get("b2b-default")
            scored["clicked" if contact_id in clickers else "did not click"].append(
                score.score if score else 0.0
            )
        assert handoffs == len(clickers), handoffs
        unsubscribed_exits = report["exited"].get("unsubscribed", 0)
        assert unsubscribed_exits == len(unsubscribing), report["exited"]

    return {
        "measured_on": datetime.now(UTC).date().isoformat(),
        "people": people,
        "ses_sent": len(sent),
        "hello_sent": by_subject["Hello"],
        "nudge_sent": by_subject["Still"],
        "clickers": len(clickers),
        "unsubscribed": len(unsubscribing),
        "sales_handoffs_from_the_journey": handoffs,
        "mean_score": {k: round(statistics.mean(v), 1) for k, v in scored.items()},
        "click_to_next_step_seconds": {
            "median": round(statistics.median(latencies), 3),
            "max": round(max(latencies), 3),
            "clicks": len(latencies),
        },
        "streams_after_the_wait_clicks_seconds": round(stream_seconds, 1),
        "report": report,
        "phases": phases,
    }


def _people(text: str) -> int:
    value = int(text)
    if value < MIN_PEOPLE:
        raise argparse.ArgumentTypeError(f"at least {MIN_PEOPLE} (a twentieth of them clicks late)")
    return value


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """``--people N`` (default: ``BENCH_JOURNEY_PEOPLE``, else 1,000); anything else is refused."""
    parser = argparse.ArgumentParser(description="A three-step journey measured on in-process moto.")
    parser.add_argument(
        "--people",
        type=_people,
        default=_people(os.environ.get("BENCH_JOURNEY_PEOPLE", "1000")),
        help="how many contacts go through the journey (default: BENCH_JOURNEY_PEOPLE, else 1000)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    figures = run(arguments(argv).people)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "journey.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"e-mails on moto's SES: {figures['ses_sent']}"
        f" (hello {figures['hello_sent']}, nudge {figures['nudge_sent']})"
    )
    print(
        f"clickers {figures['clickers']}, handed to sales {figures['sales_handoffs_from_the_journey']};"
        f" unsubscribed {figures['unsubscribed']}; mean score {figures['mean_score']}"
    )
    print(f"click -> next step: {figures['click_to_next_step_seconds']}")
    print(f"{'phase':48} {'people':>6} {'WCU/p':>6} {'RCU/p':>6} {'DDB/p':>6} {'AWS/p':>6} {'s':>6}")
    for p in figures["phases"]:
        print(
            f"{p['phase']:48} {p['people']:>6} {p['wcu_per_person']:>6} {p['rcu_per_person']:>6}"
            f" {p['dynamodb_calls_per_person']:>6} {p['aws_calls_per_person']:>6} {p['seconds']:>6}"
        )
    print(json.dumps(figures["report"]["steps"]))


if __name__ == "__main__":
    main()
