"""Lifecycle benchmark: DynamoDB units and SQS requests per lead from capture to hand-off, the cost per
1,000 leads at on-demand prices, and the local stack's delay from form POST to the hand-off on the queue.

The ``lifecycle`` (units) and ``latency`` sections of ``make bench`` / ``make bench-full``
(``bench/run.py``); ``make bench-lifecycle`` (``python bench/lifecycle.py [--leads 200]``) runs both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

WCU_PRICE, RCU_PRICE, SQS_PRICE = 0.625 / 1e6, 0.125 / 1e6, 0.50 / 1e6
#: A model where the form submission itself makes a senior person at a big company sales-ready, so the
#: whole path runs from one POST.
HOT = {
    "id": "hot",
    "name": "Hot on submit",
    "rules": [
        {
            "id": "senior-title",
            "points": 20,
            "when": {
                "field": "contact.job_title",
                "op": "matches",
                "value": "(?i)\\b(director|vp|chief|head)\\b",
            },
        },
        {
            "id": "big-company",
            "points": 10,
            "when": {"field": "account.employees", "op": "gte", "value": 200},
        },
        {"id": "asked", "points": 40, "when": {"event": "form_submitted", "within_days": 30}},
    ],
    "grades": [{"grade": "A", "min_score": 70}, {"grade": "B"}],
    "sales_ready_score": 70,
}
RULE = {
    "id": "hot-mql",
    "when": {"sales_ready": "hot"},
    "actions": [
        {"type": "phone_call", "subject": "Call {contact.first_name} about {lead.topic}", "due_in_hours": 4}
    ],
}


#: Distinct people for the lifecycle figures: a lead's own cost, not the duplicate suspicions that many
#: submissions with one name and one phone would rightly raise.
_PEOPLE = [
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "John Backus",
    "Margaret Hamilton",
    "Ken Thompson",
    "Radia Perlman",
    "Tony Hoare",
    "Shafi Goldwasser",
    "Niklaus Wirth",
    "Leslie Lamport",
    "Karen Jones",
    "Dennis Ritchie",
    "Jean Sammet",
    "Butler Lampson",
    "Adele Goldberg",
    "Robin Milner",
    "Sophie Wilson",
    "Fran Bilas",
    "Kristen Nygaard",
    "Hedy Lamarr",
]


def _person(sample: dict[str, Any], n: int) -> dict[str, Any]:
    first, last = _PEOPLE[n % len(_PEOPLE)].split()
    return {
        **sample,
        "email": f"lead{n}@analytical-engines.co.uk",
        "first_name": first,
        "last_name": f"{last}{n // len(_PEOPLE) or ''}",
        "phone": f"+44 20 7946 {1000 + n:04d}",
    }


class _Counting:
    """A text stream that keeps only the number of bytes written to it (the functions' log lines)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)

    def flush(self) -> None:
        return None


@contextlib.contextmanager
def _observed(app: Any, timings: dict[str, list[float]]) -> Iterator[_Counting]:
    """While in the block: every function the pump invokes is timed into ``timings`` (by its Chalice
    name), and what the functions log at the deployed level (INFO) and print (metrics) is counted."""
    import logging

    from chalice.utils import to_cfn_resource_name

    from chalicelib.observability import logger
    from leadflow_local import pump as pump_module

    names = {to_cfn_resource_name(name): name for name in app.handler_map}
    invoke = pump_module.invoke

    def timed(handler: Any, function: str, event: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return invoke(handler, function, event)
        finally:
            timings.setdefault(names.get(function, function), []).append(time.perf_counter() - started)

    logged = _Counting()
    handler = logger.registered_handler
    previous_stream, previous_level = getattr(handler, "stream", None), logger.log_level
    logging.disable(logging.NOTSET)
    logger.setLevel("INFO")  # the deployed level (.chalice/config.json: prod)
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(logged)
    pump_module.invoke = timed
    try:
        with contextlib.redirect_stdout(logged):
            yield logged
    finally:
        pump_module.invoke = invoke
        if previous_stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(previous_stream)
        logger.setLevel(previous_level)
        logging.disable(logging.CRITICAL)


def units_figures(leads: int) -> dict[str, Any]:
    """Everything one lead costs, in-process on moto: capture, the scoring function, qualification, the
    outbox and the publisher (stream reads by Lambda are free; SQS polls and deletes are not). Also
    what the cost model (``bench/cost.py``) needs: every function invocation with the time it took, the
    API requests, the bytes logged at the deployed level (INFO) and the bytes a lead keeps stored."""
    import logging

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from bench.capture import _environment
    from bench.units import Meter, item_size, metering, moto_peek

    logging.disable(logging.CRITICAL)
    with mock_aws():
        found, indexes = _environment()
        from app import app
        from chalicelib import wiring
        from chalicelib.services.access import create_key
        from leadflow_local.stack import build_pump

        pump = build_pump(app, found, None)
        key, _ = create_key("bench", ["admin"], wiring.deps().store)
        headers = {"Content-Type": "application/json", "X-Api-Key": key}
        form = json.loads((ROOT / "events/http/form_contact_us.json").read_text())
        sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
        with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
            client.http.put("/v1/forms/contact-us", headers=headers, body=json.dumps(form))
            client.http.put("/v1/scoring-models/hot", headers=headers, body=json.dumps(HOT))
            client.http.post("/v1/scoring-models/hot/publish", headers=headers, body="{}")
            client.http.put("/v1/qualification-rules/hot-mql", headers=headers, body=json.dumps(RULE))
            client.http.post(
                "/v1/forms/contact-us/submissions",
                headers={"Content-Type": "application/json"},
                body=json.dumps({**sample, "email": "warm@analytical-engines.co.uk"}),
            )
            pump.drain()
            timings: dict[str, list[float]] = {}
            with _observed(app, timings) as logged, metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                for n in range(leads):
                    started = time.perf_counter()
                    response = client.http.post(
                        "/v1/forms/contact-us/submissions",
                        headers={"Content-Type": "application/json"},
                        body=json.dumps(_person(sample, n)),
                    )
                    timings.setdefault("api_handler", []).append(time.perf_counter() - started)
                    assert response.status_code == 201, response.body
                    pump.drain()
        handoffs = boto3.client("sqs").get_queue_attributes(
            QueueUrl=found.queue_urls["SalesHandoffQueue"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        stored_bytes, stored_items = _stored(boto3.client("dynamodb"), item_size)
    return _figures(leads, meter, int(handoffs), timings, logged.bytes, stored_bytes, stored_items)


def _figures(
    leads: int,
    meter: Any,
    handoffs: int,
    timings: dict[str, list[float]],
    logged_bytes: int,
    stored_bytes: int,
    stored_items: int,
) -> dict[str, Any]:
    from bench.cost import memory_mb, per_million_captures, provisioned, stored_per_million_per_month

    stream_reads = sum(v for k, v in meter.calls.items() if k.startswith("dynamodbstreams:"))
    # the lead's own SQS requests: what the functions send, and the sales system's receive and delete of
    # each hand-off (the Lambda pollers' requests run whether or not leads arrive, so they are not per lead)
    sends = sum(v for k, v in meter.calls.items() if k in ("sqs:SendMessage", "sqs:SendMessageBatch"))
    sqs_per_lead = sends / leads + 2 * handoffs / (leads + 1)
    wcu, rcu = meter.wcu / leads, meter.rcu / leads
    cost = 1000 * (wcu * WCU_PRICE + rcu * RCU_PRICE + sqs_per_lead * SQS_PRICE)
    figures: dict[str, Any] = {
        "leads": leads,
        "handoffs_on_queue": handoffs,
        "wcu_per_lead": round(wcu, 1),
        "rcu_per_lead": round(rcu, 1),
        "dynamodb_calls_per_lead": round(meter.dynamodb_calls / leads, 1),
        "reported_wcu_per_lead": round(meter.reported_wcu / leads, 1),
        "reported_rcu_per_lead": round(meter.reported_rcu / leads, 1),
        "units_source": "computed from item sizes (bench/units.py); reported_* is the service's "
        "ConsumedCapacity (moto: a constant)",
        "sqs_requests_per_lead": round(sqs_per_lead, 1),
        "sqs_sends_per_lead": round(sends / leads, 2),
        "stream_reads_by_the_local_pump_per_lead": round(stream_reads / leads, 1),
        "cost_per_1000_leads_usd": round(cost, 4),
        "api_requests_per_lead": 1.0,
        "log_bytes_per_lead": round(logged_bytes / leads),
        "functions": {
            name: {
                "invocations_per_lead": round(len(times) / leads, 2),
                "seconds_per_lead": round(sum(times) / leads, 4),
                "median_ms": round(1000 * statistics.median(times), 1),
                "memory_mb": memory_mb(name),
            }
            for name, times in sorted(timings.items())
        },
        "calls": {k: round(v / leads, 2) for k, v in sorted(meter.calls.items())},
        "units_by_table": {
            table: {"wcu": round(w / leads, 2), "rcu": round(r / leads, 2)}
            for table, (w, r) in sorted(meter.by_table.items())
        },
        # where the units go: table, operation, and the service and store functions that made the call
        "units_by_call_site": {
            site: {"wcu": round(w / leads, 2), "rcu": round(r / leads, 2), "calls": round(c / leads, 2)}
            for site, (w, r, c) in sorted(meter.by_site.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0]))
        },
    }
    # every lead stored (the warm-up's and the measured ones): what a lead keeps, on average
    kept = leads + 1
    figures["largest_item_bytes_by_table"] = dict(sorted(LARGEST.items()))
    figures["stored_bytes_per_lead"] = round(stored_bytes / kept)
    figures["stored_items_per_lead"] = round(stored_items / kept, 1)
    figures["cost_per_million_captures"] = per_million_captures(figures)
    figures["cost_per_million_captures_provisioned"] = provisioned(figures)
    figures["cost_per_million_stored_leads_per_month"] = stored_per_million_per_month(
        stored_bytes / kept, stored_items / kept
    )
    return figures


#: Tables whose items belong to leads (not configuration: forms, models, rules, keys of the API).
_LEAD_TABLES = (
    "ContactsTable",
    "AccountsTable",
    "LeadsTable",
    "InteractionsTable",
    "KeysTable",
    "ScoresTable",
    "HandoffsTable",
    "LeadHistoryTable",
    "IdentityTable",
)


#: The largest item of each lead table at the end of the last :func:`units_figures` run (bytes, as
#: DynamoDB sizes them): an item over 1 KB costs a write unit per started KB, each time it is written.
LARGEST: dict[str, int] = {}


def _stored(dynamodb: Any, item_size: Any) -> tuple[int, int]:
    """Bytes and items held in the lead tables (hand-offs expire after 90 days: counted all the same)."""
    size = items = 0
    LARGEST.clear()
    for name in dynamodb.list_tables()["TableNames"]:
        table = name.rsplit("-", 1)[-1]
        if table not in _LEAD_TABLES:
            continue
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            for item in page["Items"]:
                size += item_size(item)
                items += 1
                LARGEST[table] = max(LARGEST.get(table, 0), item_size(item))
    return size, items


def _consumer(sqs: Any, url: str) -> tuple[dict[str, float], threading.Event, threading.Thread]:
    """A sales system polling every 50 ms (the delay includes up to that): lead id -> arrival time."""
    arrived: dict[str, float] = {}
    done = threading.Event()

    def consume() -> None:
        while not done.is_set():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                arrived.setdefault(json.loads(message["Body"])["subject"], time.perf_counter())
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if not messages:
                time.sleep(0.05)

    return arrived, done, threading.Thread(target=consume, daemon=True)


def latency_figures(leads: int) -> dict[str, Any]:
    """Form POST to the hand-off on the queue, on the local stack (one process), over ``leads`` leads."""
    import logging
    import socket
    import urllib.request

    import boto3
    from chalice.local import ChaliceRequestHandler

    from leadflow_local import stack as local

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def quiet(*_args: Any) -> None:
        return None

    logging.disable(logging.CRITICAL)
    ChaliceRequestHandler.log_message = quiet
    os.environ.update(
        {
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "RATE_LIMIT_IP_PER_MINUTE": "0",
        }
    )
    form = json.loads((ROOT / "events/http/form_contact_us.json").read_text())
    sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
    with local.running(port=free_port(), aws_port=free_port()) as stack:

        def call(method: str, path: str, body: Any, key: str | None = stack.api_key) -> Any:
            headers = {"Content-Type": "application/json", **({"X-Api-Key": key} if key else {})}
            request = urllib.request.Request(  # noqa: S310 - our local stack, http
                stack.api_url + path,
                data=json.dumps(body).encode(),
                method=method,
                headers=headers,
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - local stack
                return json.loads(response.read() or b"null")

        call("PUT", "/v1/forms/contact-us", form)
        call("PUT", "/v1/scoring-models/hot", HOT)
        call("POST", "/v1/scoring-models/hot/publish", {})
        call("PUT", "/v1/qualification-rules/hot-mql", RULE)
        sqs = boto3.client("sqs", endpoint_url=stack.aws_endpoint)
        url = stack.resources.queue_urls["SalesHandoffQueue"]
        sent: dict[str, float] = {}
        arrived, done, consumer = _consumer(sqs, url)
        consumer.start()
        started = time.perf_counter()
        for n in range(leads):
            # one lead in flight at a time: the delay of the pipeline, not of a backlog of leads
            t0 = time.perf_counter()
            answer = call(
                "POST",
                "/v1/forms/contact-us/submissions",
                {**sample, "email": f"fast{n}@analytical-engines.co.uk"},
                key=stack.api_key,  # with a key the answer names the lead (a visitor's does not)
            )
            sent[answer["lead_id"]] = t0
            deadline = time.monotonic() + 120
            while answer["lead_id"] not in arrived and time.monotonic() < deadline:
                time.sleep(0.01)
        elapsed = time.perf_counter() - started
        done.set()
        consumer.join(timeout=5)
    delays = sorted(arrived[lead] - sent[lead] for lead in sent if lead in arrived)
    return {
        "leads": leads,
        "handoffs_received": len(delays),
        "seconds": round(elapsed, 1),
        "delay_p50_seconds": round(statistics.median(delays), 2),
        "delay_p99_seconds": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--unit-leads", type=int, default=20)
    args = parser.parse_args()
    results = {"units": units_figures(args.unit_leads), "latency": latency_figures(args.leads)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lifecycle.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
