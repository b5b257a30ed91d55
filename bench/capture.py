"""Capture benchmark: cold start, DynamoDB units per form submission, submissions per second.

The ``cold`` and ``ingest`` sections of ``make bench`` (``bench/run.py``, which prints the table and
writes ``bench/results/bench.json``; ``python bench/capture.py`` runs these two). Every figure is
compared with its floor, measured in the same run:
- cold start: ``import app`` against ``import boto3`` plus one DynamoDB client, fresh interpreters;
- units: computed from the items each call writes and reads (see ``bench/units.py``);
- throughput: submissions through the real route handler on in-process moto against raw ``put_item``
  calls on the same moto (a capture writes at least three items: contact, lead, interaction).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
RUNS = 7
SUBMISSIONS = 200


def _fresh(code: str) -> float:
    # bytecode as pip leaves it for boto3: with PYTHONDONTWRITEBYTECODE set, every ``import app`` would
    # compile our sources and the ratio would measure the compiler (seen here: 1.30 against 0.90)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def _importtime_total(module: str) -> float:
    """Sum of the top-level cumulative times of ``python -X importtime -c "import <module>"`` (ms)."""
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or "cumulative" in line:
            continue
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):  # one space: imported at the top level
            total += int(parts[1])
    return total / 1000


def cold_start(runs: int = RUNS, importtime: bool = True) -> dict[str, float]:
    """``import app`` against ``import boto3`` plus one DynamoDB client: each in ``runs`` fresh
    interpreters, taken in turns (so a burst of load on a shared machine hits both alike), medians."""
    timer = "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
    bodies = {
        "app": "import app",
        "boto3": "import boto3",
        "client": "import boto3; boto3.client('dynamodb', region_name='us-east-1')",
    }
    times: dict[str, list[float]] = {name: [] for name in bodies}
    for body in bodies.values():  # a first run of each writes what it compiles; not counted
        _fresh(timer.format(body=body))
    for _ in range(runs):
        for name, body in bodies.items():
            times[name].append(_fresh(timer.format(body=body)))
    app, client = statistics.median(times["app"]), statistics.median(times["client"])
    figures = {
        "runs": runs,
        "import_app_ms": round(app * 1000, 1),
        "import_boto3_ms": round(statistics.median(times["boto3"]) * 1000, 1),
        "import_boto3_and_client_ms": round(client * 1000, 1),
        "ratio_app_to_boto3_and_client": round(app / client, 3),
    }
    if importtime:
        figures["importtime_app_total_ms"] = round(_importtime_total("app"), 1)
        figures["importtime_boto3_total_ms"] = round(_importtime_total("boto3"), 1)
    return figures


def _environment() -> Any:
    import boto3

    from bench.units import indexes_of, install
    from leadflow_local import moto_transactions
    from leadflow_local.resources import create_resources, environment, load_template

    install()  # before any client is built: every DynamoDB call asks for its consumed capacity
    moto_transactions.install()  # the local stack's and the tests' moto: no whole-table copies
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # every bench submission comes from one address: its per-IP limit is off, the per-form bucket
        # (and its write) stays
        "RATE_LIMIT_IP_PER_MINUTE": "0",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    template = load_template()
    found = create_resources(
        template, boto3.client("dynamodb"), boto3.client("sqs"), "bench-", boto3.client("s3")
    )
    os.environ.update(environment(template, found))
    os.environ["MAIL_SCAN_SECONDS"] = "0"  # the benches click within seconds of a send (simulated days)
    if "chalicelib.wiring" in sys.modules:  # forget adapters built for another environment
        sys.modules["chalicelib.wiring"].reset()
    indexes = {found.tables[name]: specs for name, specs in indexes_of(template).items()}
    return found, indexes


def capture_figures(submissions: int = SUBMISSIONS) -> dict[str, Any]:
    import logging

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from bench.units import Meter, metering, moto_peek

    logging.disable(logging.CRITICAL)
    with mock_aws():
        found, indexes = _environment()
        from app import app

        form = json.loads((ROOT / "events/http/form_contact_us.json").read_text())
        sample = json.loads((ROOT / "events/http/form_submissions.json").read_text())[0]
        with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
            from chalicelib import wiring
            from chalicelib.services.access import create_key

            secret, _ = create_key("bench", ["admin"], wiring.deps().store)
            client.http.put(
                "/v1/forms/bench",
                headers={"Content-Type": "application/json", "X-Api-Key": secret},
                body=json.dumps(form),
            )

            def submit(body: dict[str, Any]) -> None:
                response = client.http.post(
                    "/v1/forms/bench/submissions",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps(body),
                )
                assert response.status_code == 201, response.body

            submit({**sample, "email": "warmup@bench.example.org"})
            per_case = {}
            for case, make in (
                ("new_contact", lambda n: {**sample, "email": f"person{n}@company{n}.example.org"}),
                (
                    "repeat_contact",
                    lambda n: {**sample, "email": "warmup@bench.example.org", "first_name": f"P{n}"},
                ),
            ):
                with metering(Meter(indexes=indexes, peek=moto_peek)) as meter:
                    for n in range(20):
                        submit(make(n))
                per_case[case] = {
                    "wcu_per_submission": round(meter.wcu / 20, 2),
                    "rcu_per_submission": round(meter.rcu / 20, 2),
                    "dynamodb_calls_per_submission": round(meter.dynamodb_calls / 20, 2),
                    "reported_wcu_per_submission": round(meter.reported_wcu / 20, 2),
                    "reported_rcu_per_submission": round(meter.reported_rcu / 20, 2),
                    "calls": {k: v / 20 for k, v in sorted(meter.calls.items())},
                }

            start = time.perf_counter()
            for n in range(submissions):
                submit({**sample, "email": f"speed{n}@firm{n}.example.org"})
            handler_rate = submissions / (time.perf_counter() - start)

        raw = boto3.client("dynamodb")
        table = found.tables["ContactsTable"]
        start = time.perf_counter()
        for n in range(submissions):
            raw.put_item(
                TableName=table, Item={"contact_id": {"S": f"raw{n}"}, "email": {"S": f"raw{n}@x.org"}}
            )
        put_rate = submissions / (time.perf_counter() - start)
        start = time.perf_counter()
        for n in range(submissions):
            raw.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {"contact_id": {"S": f"tx{n}"}}}},
                    {
                        "Put": {
                            "TableName": found.tables["LeadsTable"],
                            "Item": {
                                "lead_id": {"S": f"tx{n}"},
                                "state": {"S": "open"},
                                "created_at": {"S": "2026-11-24"},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": found.tables["InteractionsTable"],
                            "Item": {
                                "contact_id": {"S": f"tx{n}"},
                                "interaction_id": {"S": "1"},
                                "at": {"S": "2026-11-24#1"},
                            },
                        }
                    },
                ]
            )
        transact_rate = submissions / (time.perf_counter() - start)
    return {
        "units": per_case,
        "submissions_per_second": round(handler_rate, 1),
        "raw_put_item_per_second": round(put_rate, 1),
        "floor_captures_per_second": round(put_rate / 3, 1),
        "ratio_to_floor": round(handler_rate / (put_rate / 3), 2),
        "floor_over_handler": round((put_rate / 3) / handler_rate, 2),
        "raw_three_item_transactions_per_second": round(transact_rate, 1),
        "ratio_to_transaction_floor": round(handler_rate / transact_rate, 2),
    }


def main() -> None:
    """The cold-start and ingest sections of ``bench/run.py`` (one table, one JSON file)."""
    from bench.run import main as run

    run(["--only", "cold,ingest"])


if __name__ == "__main__":
    main()
