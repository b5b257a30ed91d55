"""bench/cost.py's provisioned figure: what auto-scaled capacity costs per million captures, from the
lifecycle's units per table, the template's provisioned tables and their minimum capacity."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost


def _figures(units_by_table: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {
        "functions": {
            "api_handler": {"invocations_per_lead": 1.0, "seconds_per_lead": 0.01, "memory_mb": 1024}
        },
        "dynamodb_calls_per_lead": 10.0,
        "sqs_sends_per_lead": 1.0,
        "api_requests_per_lead": 1.0,
        "wcu_per_lead": sum(u["wcu"] for u in units_by_table.values()),
        "rcu_per_lead": sum(u["rcu"] for u in units_by_table.values()),
        "sqs_requests_per_lead": 3.0,
        "log_bytes_per_lead": 1000,
        "units_by_table": units_by_table,
    }


def test_at_volume_a_provisioned_write_costs_the_hourly_price_over_the_utilization():
    figures = _figures({"LeadsTable": {"wcu": 10.0, "rcu": 0.0}})
    steady = cost.provisioned(figures, captures_per_month=1_000_000_000)
    per_million_units = cost.PROVISIONED_USD["wcu_hour"] / 3600 / cost.TARGET_UTILIZATION * 1e6
    # every other provisioned table holds its minimum: a few cents per million captures at this volume
    assert steady["usd_by_service"]["dynamodb_writes"] == pytest.approx(10 * per_million_units, abs=0.05)
    on_demand = cost.per_million_captures(figures)["usd_by_service"]["dynamodb_writes"]
    assert steady["usd_by_service"]["dynamodb_writes"] < on_demand / 2


def test_at_low_volume_the_minimum_capacity_dominates_and_is_reported():
    figures = _figures({"LeadsTable": {"wcu": 10.0, "rcu": 1.0}})
    quiet = cost.provisioned(figures, captures_per_month=10_000)
    assert quiet["usd_of_unused_minimum_capacity"] > 0.9 * (
        quiet["usd_by_service"]["dynamodb_writes"] + quiet["usd_by_service"]["dynamodb_reads"]
    )
    assert quiet["usd_total"] > cost.per_million_captures(figures)["usd_total"]  # on demand is cheaper here
    assert quiet["minimum_capacity_usd_per_month"] > 0


def test_a_table_left_on_demand_is_priced_per_request():
    figures = _figures({"FormsTable": {"wcu": 4.0, "rcu": 2.0}})
    steady = cost.provisioned(figures, captures_per_month=1_000_000_000)
    on_demand = cost.per_million_captures(figures)["usd_by_service"]
    # the forms table's units at on-demand prices, plus the provisioned tables' minimum (cents)
    assert steady["usd_by_service"]["dynamodb_writes"] == pytest.approx(
        on_demand["dynamodb_writes"], abs=0.05
    )
    assert steady["usd_by_service"]["dynamodb_reads"] == pytest.approx(on_demand["dynamodb_reads"], abs=0.05)
