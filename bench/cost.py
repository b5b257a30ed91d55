"""What a capture costs on AWS, all in, from the counts the lifecycle bench measures (issue 19, item 3).

Prices: AWS's public list prices for us-east-1, on-demand, read on the price pages on **2026-12-07**
(none of the free tiers is counted). They are the only constants here; every count comes from a run
(``bench/lifecycle.py: units_figures``): requests, computed DynamoDB units, Lambda invocations with the
duration each took in this process and the memory it is given (``.chalice/config.json``), SQS
requests, and the bytes the functions log.

What a deployed function's duration adds to the in-process one is the network: every AWS request
(DynamoDB, SQS) is a round trip that moto answers in-process. ``AWS_REQUEST_MS`` adds that per request
(an allowance, not a measurement: single-digit milliseconds inside a region is DynamoDB's published
figure); the report names both parts.

Lambda bills each invocation's duration rounded up to the millisecond, so the figure is the measured
seconds x the memory in GB x the arm64 price (``.chalice/config.json``: ``lambda_architecture`` arm64).
Stream batches: the lifecycle bench delivers each lead's records alone (one lead in flight), so every
record is an invocation of its own: the worst case; with leads arriving together a batch carries many.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PRICES_DATE = "2026-12-07"
PRICES_USD = {
    # API Gateway REST API (Chalice deploys a REST API): first 333 million requests a month
    "api_gateway_rest_per_million_requests": 3.50,
    # Lambda, arm64: per GB-second (first 6 billion GB-s a month) and per million requests
    "lambda_arm64_per_gb_second": 0.0000133334,
    "lambda_per_million_requests": 0.20,
    # DynamoDB on-demand (standard table class): per million write / read request units
    "dynamodb_per_million_wru": 0.625,
    "dynamodb_per_million_rru": 0.125,
    # DynamoDB storage: per GB-month (standard table class; first 25 GB free, not counted)
    "dynamodb_storage_per_gb_month": 0.25,
    # DynamoDB Streams read by Lambda: free (GetRecords by a Lambda trigger is not charged)
    "dynamodb_streams_lambda_reads": 0.0,
    # SQS: per million requests, FIFO (the hand-off queue) and standard
    "sqs_fifo_per_million_requests": 0.50,
    "sqs_standard_per_million_requests": 0.40,
    # CloudWatch Logs: ingestion (standard class) per GB; storage per GB-month (compressed)
    "cloudwatch_logs_ingest_per_gb": 0.50,
    # X-Ray: per million traces recorded (the API's trace; sampling: 1/s + 5%, so 5% at volume)
    "xray_per_million_traces": 5.00,
}
#: DynamoDB provisioned capacity (standard table class, us-east-1): per unit-hour, whether used or not.
#: Not read on the price page in this session (the machine has no internet): AWS's list prices as
#: published for years; on-demand's per-request prices were halved in November 2024, these were not.
PROVISIONED_USD = {"wcu_hour": 0.00065, "rcu_hour": 0.00013}
#: ``CapacityTargetUtilization``'s default (infra/capacity.py): auto scaling keeps capacity at
#: about used / 0.7, so each unit used is paid for 1 / 0.7 times.
TARGET_UTILIZATION = 0.70
HOURS_PER_MONTH = 730
#: The volume the provisioned figure is given at: a stage with steady traffic, where each table's
#: demand is above its minimum (at a lower volume the minimum capacity dominates: the figure says so).
PROVISIONED_CAPTURES_PER_MONTH = 10_000_000
XRAY_SAMPLED_SHARE = 0.05
#: Network allowance per AWS request (DynamoDB, SQS), added to the in-process durations (see above).
AWS_REQUEST_MS = 6.0
#: What DynamoDB adds to each stored item (its per-item overhead, counted in storage).
ITEM_OVERHEAD_BYTES = 100


def memory_mb(function: str) -> int:
    """The memory ``.chalice/config.json`` gives a function (Chalice's name: ``api_handler``,
    ``interactions_stream``...), else the project's default."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    own = config.get("lambda_functions", {}).get(function, {})
    return int(own.get("lambda_memory_size", config.get("lambda_memory_size", 128)))


def per_million_captures(figures: dict[str, Any]) -> dict[str, Any]:
    """The cost of a million captures, by service, from ``units_figures``' per-lead counts."""
    p = PRICES_USD
    million = 1_000_000
    functions: dict[str, Any] = figures["functions"]
    aws_requests = figures["dynamodb_calls_per_lead"] + figures["sqs_sends_per_lead"]
    invocations = sum(f["invocations_per_lead"] for f in functions.values())
    gb_seconds_measured = sum(f["seconds_per_lead"] * f["memory_mb"] / 1024 for f in functions.values())
    # the network allowance, charged at the memory of the functions that make the requests (the mean
    # memory weighted by invocations: an approximation, named as such)
    mean_gb = (
        sum(f["invocations_per_lead"] * f["memory_mb"] for f in functions.values()) / invocations / 1024
        if invocations
        else 0.0
    )
    gb_seconds_network = aws_requests * AWS_REQUEST_MS / 1000 * mean_gb
    lines = {
        "api_gateway": figures["api_requests_per_lead"] * p["api_gateway_rest_per_million_requests"],
        "lambda_requests": invocations * p["lambda_per_million_requests"],
        "lambda_compute_measured": gb_seconds_measured * million * p["lambda_arm64_per_gb_second"],
        "lambda_compute_network_allowance": gb_seconds_network * million * p["lambda_arm64_per_gb_second"],
        "dynamodb_writes": figures["wcu_per_lead"] * p["dynamodb_per_million_wru"],
        "dynamodb_reads": figures["rcu_per_lead"] * p["dynamodb_per_million_rru"],
        "sqs": figures["sqs_requests_per_lead"] * p["sqs_fifo_per_million_requests"],
        "cloudwatch_logs": figures["log_bytes_per_lead"] * million / 1e9 * p["cloudwatch_logs_ingest_per_gb"],
        "xray": XRAY_SAMPLED_SHARE * figures["api_requests_per_lead"] * p["xray_per_million_traces"],
    }
    return {
        "usd_by_service": {k: round(v, 2) for k, v in lines.items()},
        "usd_total": round(sum(lines.values()), 2),
        "lambda_gb_seconds_per_lead": round(gb_seconds_measured + gb_seconds_network, 4),
        "lambda_invocations_per_lead": round(invocations, 2),
        "prices_date": PRICES_DATE,
        "aws_request_ms_allowance": AWS_REQUEST_MS,
    }


def provisioned(
    figures: dict[str, Any], captures_per_month: int = PROVISIONED_CAPTURES_PER_MONTH
) -> dict[str, Any]:
    """The all-in cost per million captures on a stage deployed with ``TableCapacity=provisioned``
    (infra/capacity.py), at ``captures_per_month`` arriving evenly: each provisioned table (and its
    indexes, one unit each at least: ``CapacityMinUnits``) holds the larger of its minimum and its
    demand / ``TARGET_UTILIZATION``, billed every hour; the other tables stay on demand. Demand is the
    lifecycle's units per table (``units_by_table``, index writes included) x the capture rate; the
    split between a table and its indexes is not measured, so each gets the table's floor only."""
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    tables = {
        name: 1 + len(r["Properties"].get("GlobalSecondaryIndexes", []))
        for name, r in template["Resources"].items()
        if r.get("Type") == "AWS::DynamoDB::Table" and r["Properties"].get("BillingMode") != "PAY_PER_REQUEST"
    }
    floor = int(template["Parameters"]["CapacityMinUnits"]["Default"])
    rate = captures_per_month / (HOURS_PER_MONTH * 3600)  # captures a second
    millions = captures_per_month / 1_000_000
    p, hourly = PRICES_USD, PROVISIONED_USD
    writes = reads = minimum = 0.0
    for table, units in figures["units_by_table"].items():
        if table not in tables:  # on demand
            writes += units["wcu"] * p["dynamodb_per_million_wru"]
            reads += units["rcu"] * p["dynamodb_per_million_rru"]
            continue
        for kind, price in (("wcu", hourly["wcu_hour"]), ("rcu", hourly["rcu_hour"])):
            needed = units[kind] * rate / TARGET_UTILIZATION
            held = max(needed, floor * tables[table])
            usd = held * price * HOURS_PER_MONTH / millions
            minimum += (held - needed) * price * HOURS_PER_MONTH / millions
            if kind == "wcu":
                writes += usd
            else:
                reads += usd
    # tables the lifecycle does not touch still hold their minimum
    for table, entities in tables.items():
        if table not in figures["units_by_table"]:
            usd = floor * entities * (hourly["wcu_hour"] + hourly["rcu_hour"]) * HOURS_PER_MONTH / millions
            writes += usd
            minimum += usd
    on_demand = per_million_captures(figures)
    lines = dict(on_demand["usd_by_service"])
    lines["dynamodb_writes"], lines["dynamodb_reads"] = round(writes, 2), round(reads, 2)
    total = on_demand["usd_total"] - sum(
        on_demand["usd_by_service"][k] for k in ("dynamodb_writes", "dynamodb_reads")
    )
    return {
        "captures_per_month": captures_per_month,
        "target_utilization": TARGET_UTILIZATION,
        "usd_by_service": lines,
        "usd_total": round(total + writes + reads, 2),
        "usd_of_unused_minimum_capacity": round(minimum, 2),
        "minimum_capacity_usd_per_month": round(
            floor * sum(tables.values()) * (hourly["wcu_hour"] + hourly["rcu_hour"]) * HOURS_PER_MONTH, 2
        ),
    }


def stored_per_million_per_month(bytes_per_lead: float, items_per_lead: float) -> dict[str, Any]:
    """Storage of a million stored leads for a month: every item a lead keeps (lead, contact, account,
    interactions, scores, history, claims, keys), plus DynamoDB's per-item overhead."""
    gb = (bytes_per_lead + items_per_lead * ITEM_OVERHEAD_BYTES) * 1_000_000 / 1e9
    return {
        "gb": round(gb, 2),
        "usd_storage": round(gb * PRICES_USD["dynamodb_storage_per_gb_month"], 2),
    }
