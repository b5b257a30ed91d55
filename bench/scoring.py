"""Scoring benchmark: the engine against a hand-coded evaluator, the local pipeline from
``POST /v1/interactions`` to stored scores, and rescoring many leads on the local stack.

The ``engine`` and bulk ``rescoring`` sections of ``make bench`` / ``make bench-full`` (``bench/run.py``);
``make bench-scoring`` (``python bench/scoring.py [--leads 10000] [--skip-stack]``) also measures the
``POST /v1/interactions``-to-score pipeline.
Prints a table and writes ``bench/results/scoring.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
MODEL = json.loads((ROOT / "events/models/b2b_default.json").read_text())

from chalicelib.domain.entities import Account, Contact, Interaction, Lead  # noqa: E402
from chalicelib.domain.scoring import parse_model, score  # noqa: E402

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
TYPES = ["email_clicked", "page_visited", "email_opened", "form_submitted", "webinar_attended"]


def sample(seed: int) -> tuple[Lead, Contact, Account, list[Interaction]]:
    rng = random.Random(seed)
    lead = Lead("l1", "c1", {"source": "landing_page", "topic": "Pricing"}, NOW, NOW)
    contact = Contact(
        "c1",
        "a@b.org",
        {"job_title": rng.choice(["Head of Data", "Engineer", "VP Sales"])},
        NOW,
        NOW,
        consent="marketing",
    )
    account = Account("a1", "Acme", "acme.org", {"employees": rng.choice([50, 250, 1000])}, NOW, NOW)
    interactions = [
        Interaction(
            f"i{n}",
            "c1",
            rng.choice(TYPES),
            NOW - timedelta(days=rng.uniform(0, 120)),
            {
                "url": rng.choice(["/pricing", "/blog", "/docs"]),
                "form_id": rng.choice(["landing-demo", "contact"]),
            },
        )
        for n in range(50)
    ]
    return lead, contact, account, interactions


def hand_coded(  # noqa: C901 - one straight pass on purpose: the floor an interpreter is held to
    lead: Lead, contact: Contact, account: Account, interactions: list[Interaction], as_of: datetime
) -> int | None:
    """The example model written out by hand for this one model: the floor an interpreter pays."""
    if lead.fields.get("source") not in ("landing_page", "linkedin", "import") or contact.consent not in (
        "marketing",
        "profiling",
    ):
        return None
    import re

    total = 0.0
    if re.search(r"(?i)\b(director|vp|chief|head)\b", str(contact.fields.get("job_title", ""))):
        total += 20
    if (account.fields.get("employees") or 0) >= 200:
        total += 10
    clicks = 0.0
    pricing = 0
    recent = 0
    asked = False
    unsubscribed = False
    for i in interactions:
        if i.occurred_at > as_of:
            continue
        age = (as_of - i.occurred_at).total_seconds() / 86400
        if i.type == "email_clicked" and age <= 30:
            clicks += 5 * 0.5 ** (age / 30)
        if i.type == "page_visited" and age <= 14 and "/pricing" in str(i.properties.get("url", "")).lower():
            pricing += 1
        if i.type == "form_submitted" and age <= 30 and i.properties.get("form_id") == "landing-demo":
            asked = True
        if age <= 90:
            recent += 1
        if i.type == "email_unsubscribed":
            unsubscribed = True
    total += (
        (40 if asked else 0)
        + min(clicks, 25)
        + (15 if pricing >= 2 else 0)
        + (-10 if recent == 0 else 0)
        + (-50 if unsubscribed else 0)
    )
    return int(math.floor(abs(total) + 0.5) * (1 if total >= 0 else -1))


def engine_figures(evaluations: int = 20000) -> dict[str, Any]:
    model = parse_model("b2b-default", 1, MODEL)
    samples = [sample(seed) for seed in range(200)]
    for lead, contact, account, interactions in samples:
        engine = score(model, lead, contact, account, interactions, NOW)
        assert (engine.score if engine else None) == hand_coded(lead, contact, account, interactions, NOW)
    # in turns, several rounds: a burst of load on a shared machine hits both alike; median per round
    rounds, per_round = 9, max(1, evaluations // 9)
    engine_rates, hand_rates, ratios = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for n in range(per_round):
            lead, contact, account, interactions = samples[n % len(samples)]
            score(model, lead, contact, account, interactions, NOW)
        engine_rates.append(per_round / (time.perf_counter() - start))
        start = time.perf_counter()
        for n in range(per_round):
            lead, contact, account, interactions = samples[n % len(samples)]
            hand_coded(lead, contact, account, interactions, NOW)
        hand_rates.append(per_round / (time.perf_counter() - start))
        ratios.append(hand_rates[-1] / engine_rates[-1])
    engine_rate, hand_rate = statistics.median(engine_rates), statistics.median(hand_rates)
    return {
        "engine_evaluations_per_second": round(engine_rate),
        "hand_coded_per_second": round(hand_rate),
        "hand_coded_over_engine": round(statistics.median(ratios), 2),
        "rounds": rounds,
        "interactions_per_contact": 50,
    }


# ---------------------------------------------------------------- the local stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(method: str, url: str, body: Any, key: str) -> Any:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - our own local stack, http only
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "X-Api-Key": key},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local stack
        return json.loads(response.read() or b"null")


def wait_for(predicate: Any, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise TimeoutError("the pipeline did not finish in time")


def pipeline_figures(stack: Any, contacts: int = 100, rounds: int = 5) -> dict[str, Any]:
    """Interactions per second from POST to stored scores, and each one's delay (p50, p99)."""
    from chalicelib.store.records import ScoreRecord

    api, key = stack.api_url, stack.api_key
    people = []
    for n in range(contacts):
        created = call(
            "POST",
            f"{api}/v1/leads",
            {
                "contact": {"email": f"pipe{n}@acme{n}.example.org", "job_title": "Engineer"},
                "lead": {"topic": "Pricing", "source": "landing_page"},
                "consent": "marketing",
            },
            key,
        )
        people.append((created["lead_id"], created["contact_id"]))
    stack.pump_idle(60)
    delays: list[float] = []
    started = time.perf_counter()
    for round_no in range(rounds):
        posted = {}
        for lead_id, contact_id in people:
            at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            item = {
                "id": f"r{round_no}-{contact_id}",
                "type": "email_clicked",
                "occurred_at": at,
                "contact_id": contact_id,
            }
            call("POST", f"{api}/v1/interactions", {"interactions": [item]}, key)
            posted[lead_id] = (item["id"], time.perf_counter())
        pending = dict(posted)

        def scored(pending: dict[str, Any] = pending) -> bool:
            # one scan per look (a look per lead would load moto more than the pipeline does)
            seen = time.perf_counter()
            for record in ScoreRecord.scan(ScoreRecord.model_id == "b2b-default"):
                if record.lead_id in pending and pending[record.lead_id][0] in record.breakdown:
                    delays.append(seen - pending.pop(record.lead_id)[1])
            return not pending

        wait_for(scored, 600, every=0.25)
    elapsed = time.perf_counter() - started
    delays.sort()
    return {
        "interactions": contacts * rounds,
        "interactions_per_second_post_to_score": round(contacts * rounds / elapsed, 1),
        "delay_p50_seconds": round(statistics.median(delays), 3),
        "delay_p99_seconds": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 3),
    }


def seed_leads(stack: Any, count: int) -> None:
    """Contacts and leads written straight to the tables (setup, not measured)."""
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint)
    tables = stack.resources.tables
    now = NOW.strftime("%Y-%m-%dT%H:%M:%S.000000+0000")
    for start in range(0, count, 25):
        contacts, leads = [], []
        for n in range(start, min(count, start + 25)):
            contacts.append(
                {
                    "PutRequest": {
                        "Item": {
                            "contact_id": {"S": f"c_seed{n}"},
                            "email": {"S": f"seed{n}@example.org"},
                            "fields": {
                                "M": {
                                    "email": {"S": f"seed{n}@example.org"},
                                    "job_title": {"S": "Head of Sales" if n % 3 == 0 else "Analyst"},
                                }
                            },
                            "lead_ids": {"L": [{"S": f"l_seed{n}"}]},
                            "marketing_only": {"BOOL": True},
                            "consent": {"S": "marketing"},
                            "consent_history": {"L": []},
                            "created_at": {"S": now},
                            "updated_at": {"S": now},
                            "version": {"N": "1"},
                        }
                    }
                }
            )
            leads.append(
                {
                    "PutRequest": {
                        "Item": {
                            "lead_id": {"S": f"l_seed{n}"},
                            "contact_id": {"S": f"c_seed{n}"},
                            "state": {"S": "open"},
                            "status": {"S": "new"},
                            "fields": {"M": {"source": {"S": "partner"}, "topic": {"S": "Seed"}}},
                            "created_at": {"S": now},
                            "updated_at": {"S": now},
                            "version": {"N": "1"},
                        }
                    }
                }
            )
        dynamodb.batch_write_item(
            RequestItems={tables["ContactsTable"]: contacts, tables["LeadsTable"]: leads}
        )


def rescoring_figures(stack: Any, leads: int) -> dict[str, Any]:
    """Seed ``leads`` leads, publish a model whose audience is them, and time the job to ``done``; with
    the DynamoDB calls made meanwhile (the rescoring pages, and the stream functions that react to the
    new scores), per lead."""
    from bench.units import Meter, metering

    seed_leads(stack, leads)
    stack.pump_idle(3600)
    # the seeded leads come from "partner", outside the pipeline's model, inside this one
    model = {**MODEL, "id": "bulk", "audience": {"field": "lead.source", "op": "eq", "value": "partner"}}
    api, key = stack.api_url, stack.api_key
    call("PUT", f"{api}/v1/scoring-models/bulk", model, key)
    with metering(Meter()) as meter:
        started = time.perf_counter()
        job = call("POST", f"{api}/v1/scoring-models/bulk/publish", {}, key)
        wait_for(
            lambda: call("GET", f"{api}/v1/jobs/{job['job_id']}", None, key)["state"] == "done",
            7200,
            every=1,
        )
        elapsed = time.perf_counter() - started
    done = call("GET", f"{api}/v1/jobs/{job['job_id']}", None, key)
    scored = int(done["leads_scored"])
    return {
        "leads_scored": scored,
        "seeded": leads,
        "seconds": round(elapsed, 1),
        "leads_per_second": round(scored / elapsed, 1),
        "dynamodb_calls_per_lead": round(meter.dynamodb_calls / max(1, scored), 2),
        "calls_per_lead": {k: round(v / max(1, scored), 2) for k, v in meter.calls.most_common(10)},
        "note": "calls include the rescoring pages and the stream functions reacting to the new scores",
    }


@contextlib.contextmanager
def _stack() -> Iterator[Any]:
    """The local stack in this process, quiet, with ``pump_idle(timeout)``."""
    import logging

    from chalice.local import ChaliceRequestHandler

    from bench.units import install
    from leadflow_local import stack as local

    install()  # count calls of the clients the stack builds
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    logging.disable(logging.CRITICAL)

    def quiet(*_args: Any) -> None:
        return None

    ChaliceRequestHandler.log_message = quiet
    with local.running(port=free_port(), aws_port=free_port()) as running:

        def pump_idle(timeout: float) -> None:
            running.pump.idle.clear()
            wait_for(running.pump.idle.is_set, timeout)

        running.pump_idle = pump_idle  # type: ignore[attr-defined]
        yield running


def stack_figures(leads: int) -> dict[str, Any]:
    with _stack() as running:
        call("PUT", f"{running.api_url}/v1/scoring-models/b2b-default", MODEL, running.api_key)
        call("POST", f"{running.api_url}/v1/scoring-models/b2b-default/publish", {}, running.api_key)
        running.pump_idle(60)
        figures = {"pipeline": pipeline_figures(running)}
        figures["rescoring"] = rescoring_figures(running, leads)
    return figures


def bulk_rescoring(leads: int) -> dict[str, Any]:
    """Rescoring ``leads`` seeded leads on a fresh local stack, next to raw ``put_item``/s on its moto."""
    from bench.imports import _put_items_per_second

    with _stack() as running:
        floor = _put_items_per_second(running.aws_endpoint, running.resources.tables["KeysTable"])
        figures = rescoring_figures(running, leads)
    return {**figures, "floor_put_item_per_second": round(floor, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10000)
    parser.add_argument("--skip-stack", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"engine": engine_figures()}
    if not args.skip_stack:
        results.update(stack_figures(args.leads))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scoring.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
